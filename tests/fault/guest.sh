#!/bin/sh
# The fault matrix with the receiving peer in a guest: vlink-peer --pci
# recv in a VM under QEMU with pci-vlink (domain vm1, link R), fed by
# vlink-peer send (socket mode, link S) through dpdk-testpmd.  vlinkd dies
# and comes back (QEMU reconnects, traffic never stops), testpmd dies and
# comes back, QEMU dies and a new QEMU boots for the same domain: after
# each, traffic resumes, nothing corrupt or reordered reaches the guest,
# every buffer is home when testpmd closes its ports.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/lib.sh"
need_root
need_vm
pick_accel
LIMIT=${FAULT_LIMIT:-180} # a TCG guest boots in 10-20 s on a quiet machine

# the receiver is a guest: its console is its log; killing it kills QEMU
start_recv() {
	NRECV=$((NRECV + 1))
	RECV_LOG="$T/g$NRECV.serial"
	boot_guest vm1 "g$NRECV" "$PEER_GUEST recv R --count 1000000000000 --timeout 3600 --wait 900"
	RECV_PID=$QEMU_PID
	wait_serial "g$NRECV" "^VLINK-GUEST: up" "$LIMIT" &&
		echo "# guest $NRECV booted in $(elapsed) s ($ACCEL)"
}
# (RECV_PID is the timeout(1) that bounds QEMU's life; QEMU wrote its own)
kill_recv() {
	kill -9 "$(cat "$T/g$NRECV.qemu.pid")"
	wait "$RECV_PID" 2>/dev/null
}
recv_logs() { echo "$T"/g*.serial; }
PEER_GUEST="vlink-peer --pci"

start_vlinkd || exit 1
check "create S" ctl create-link S 02:00:00:00:00:01 1
check "create R in the guest's domain" ctl create-link R 02:00:00:00:00:02 1 --domain vm1

case_begin "guest: kill -9 vlinkd"
q=$RECV_PID
vlinkd_outage || exit 1
wait_serial "g$NRECV" "generation [0-9]+ \\(connects 2\\): link R checked, unchanged" 60 &&
	ok "$CASE: QEMU reconnected, the guest found R unchanged" ||
	not_ok "$CASE: the guest saw no reconnect"
check_delivery "$CASE: after the restart"
[ "$RECV_PID" = "$q" ] && kill -0 "$q" && ok "$CASE: the same QEMU throughout" ||
	not_ok "$CASE: QEMU was restarted"
case_end keep-recv

case_begin "guest: kill -9 testpmd" keep-recv
restart tp
check_delivery "$CASE: after the restart"
case_end keep-recv

case_begin "guest: kill -9 QEMU, a new QEMU for the same domain" keep-recv
restart recv "QEMU (new guest, boot included)"
grep -q "net_vlink1: vlinkd says the peer end is gone: resetting the link" "$T/tp1.log" &&
	ok "$CASE: vlinkd told testpmd the guest was gone; it took R's buffers back" ||
	not_ok "$CASE: testpmd was not told that the guest was gone"
check_delivery "$CASE: after the restart"
case_end

fault_table "### Fault matrix (the receiving peer in a guest, $ACCEL)"
finish
