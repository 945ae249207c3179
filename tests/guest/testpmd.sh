#!/bin/sh
# A real guest against dpdk-testpmd with the net_vlink PMD on the host.
# One guest (Debian kernel, busybox initramfs, pci-vlink) runs three peers
# in guest mode: `vlink-peer echo L`, `vlink-peer recv R` and
# `vlink-peer send S`.
#  1. testpmd, host end of L, sends batches of 960 packets (tx_first 30)
#     and receives them all back from the guest's echo: TX and RX counts
#     match exactly.  vlinkd is killed (-9) and restarted while the guest
#     and testpmd run: the device and the PMD reconnect, QEMU is not
#     restarted, and more batches go through, counts still exact.
#  2. testpmd, host ends of S and R, forwards (io, with retries) what the
#     guest sends on S back to the guest on R: guest -> host -> guest, every
#     packet's bytes checked by the guest's recv, counts equal on testpmd's
#     ports and in the guest.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
N=${VLINK_GUEST_COUNT:-20000}
BATCHES=5

need_vm
pick_accel
[ -f "$PLUGIN" ] || { not_ok "the PMD is built ($PLUGIN)"; finish; }
start_daemon --no-hugepages || exit 1
for l in L:01 S:02 R:03; do
	check "create ${l%:*} in domain vm1" ctl create-link "${l%:*}" "02:00:00:00:00:${l#*:}" 1 \
		--domain vm1
done
P="vlink-peer --pci"
W="--wait 900 --timeout 600 -q"
# the echo ends after phase 1's packets, leaving the one vCPU to send/recv
boot_guest vm1 g "$P echo L --count $((2 * BATCHES * 960)) $W & E=\$!; $P recv R --count $N $W & RP=\$!; \
$P send S --count $N --size 60-1500 --rate 5000 $W; s=\$?; wait \$RP; r=\$?; \
echo \"SENDRECV send=\$s recv=\$r\"; wait \$E; $P device; [ \$s = 0 ] && [ \$r = 0 ]"
booted g
QEMU_FIRST=$QEMU_PID
wait_peer_up L 120 resetting && ok "the guest's echo is L's peer end" ||
	{ not_ok "the guest's echo did not come up"; show_serial g; finish; }

# --- 1. testpmd <-> guest echo, across a vlinkd restart --------------------
tp_start 1 --vdev "net_vlink0,link=L,socket=$SOCK"
tp_cmd 1 "show port info 0"
tp_wait 1 'Link status: up' 30 && ok "testpmd: link up with the guest" ||
	not_ok "testpmd: link up with the guest"
tp_cmd 1 "set fwd rxonly"
# batch K: 960 packets out, all 960 back before the next
batches() {
	r=$(tp_batches 1 "$1" "$2" 960) want=$(($2 * 960))
	[ "$r" = "$want $want" ] &&
		ok "$3: testpmd sent ${r% *}, got ${r#* } back from the guest (want $want each)" ||
		not_ok "$3: testpmd sent ${r% *}, got ${r#* } back (want $want each)"
}
batches 1 $BATCHES "before the restart"

stop_daemon KILL
start_daemon --no-hugepages || { show_serial g; finish; }
wait_serial g "generation [0-9]+ \\(connects 2\\): link L checked, unchanged" 60 &&
	ok "the device reconnected and the guest found L unchanged" ||
	{ not_ok "no reconnect seen by the guest"; show_serial g; }
tp_wait 1 "vlinkd is back: link 'L' re-attached, same memory" 20 &&
	ok "the PMD re-attached to the new vlinkd without remapping" ||
	not_ok "the PMD re-attached to the new vlinkd"
batches $((BATCHES + 1)) $((2 * BATCHES)) "after the restart"
[ "$QEMU_PID" = "$QEMU_FIRST" ] && kill -0 "$QEMU_PID" 2>/dev/null &&
	ok "the same QEMU process throughout" || not_ok "QEMU was restarted or died"
tp_quit 1

# --- 2. guest send -> testpmd -> guest recv, bytes checked ------------------
# the guest sends as soon as the port is up: keep what arrives before start
TP_ARGS=--no-flush-rx tp_start 2 --vdev "net_vlink0,link=S,socket=$SOCK" --vdev "net_vlink1,link=R,socket=$SOCK"
tp_cmd 2 "set fwd io retry"
tp_cmd 2 "set burst tx delay 1000 retry 10000" # a TCG guest can be slow
tp_cmd 2 "start"
if wait_serial g "^SENDRECV " 120; then
	expect_line "$T/g.serial" "^SENDRECV send=0 recv=0" "guest: send and recv exit 0"
	expect_line "$T/g.serial" "^recv: $N packets \\([0-9]+ bytes\\) in .*: $N intact, 0 corrupt, 0 lost, 0 out of order" \
		"guest -> testpmd -> guest: $N packets of 60-1500 B, every byte checked"
else
	not_ok "the guest's send/recv did not finish"; show_serial g
fi
rx=$(tp_stat 2 0 RX-packets) tx=$(tp_stat 2 1 TX-packets)
[ "$rx" = "$N" ] && [ "$tx" = "$N" ] &&
	ok "testpmd: $rx received from the guest on S, $tx sent to it on R" ||
	not_ok "testpmd: S RX $rx, R TX $tx (want $N each)"
tp_cmd 2 "stop"
if [ "$FAILED" != 0 ]; then
	tp_xstat 2 1 tx_q0_ring_full >/dev/null
	tp_xstat 2 0 rx_q0_bad_desc >/dev/null
	tail -120 "$T/tp2.log" | grep -v ': 0$' | sed 's/^/    /'
fi

wait_guest_exit 120 && ok "the guest powered off" || not_ok "the guest did not power off"
expect_line "$T/g.serial" "^VLINK-GUEST: exit 0" "guest command exit 0"
tp_quit 2
[ "$(tp_all_home 2 net_vlink1)" = 1 ] && ok "testpmd R: every buffer home at close after the guest left" ||
	{ not_ok "testpmd R: every buffer home at close"; grep closed "$T/tp2.log"; }
grep -h "^device \|generation .*checked" "$T/g.serial" | sed 's/^/# guest: /'
[ "$FAILED" = 0 ] || show_serial g
finish
