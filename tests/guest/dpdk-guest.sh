#!/bin/sh
# DPDK inside the guest: Debian's dpdk-testpmd in a TCG guest drives the
# pci-vlink device with net_vlink's guest mode, the same plugin as on the
# host.  The guest is told when to stop each testpmd through vlinkd: the
# host creates a link STOPn in its domain, which the guest sees in the
# device's link table (vlink-peer --pci list).
#
#  1. --vdev net_vlink0,end=guest,link=G (the device bound to no kernel
#     driver): the guest's testpmd forwards (io) what comes on G back to G.
#     tests/vlink-hostend (proto/vlink_hostend.c, the PMD's host-end code)
#     sends N numbered packets of 60-1500 B and checks that every one comes
#     back intact and in order, every buffer home; vlinkd is killed (-9)
#     under that traffic and started again.  The guest's testpmd is
#     stopped (SIGINT: its port closes) and a new one in the same VM takes
#     the link; a malicious host end (tests/vlink-evilhost: forged
#     descriptors, impossible indices, garbage epochs) lies to it for 4 s:
#     it counts the bad descriptors and survives, and N more go through.
#  2. the PCI driver: the device bound to uio_pci_generic, testpmd -a ADDR,
#     link=M (2 data channels, 2 queues, macswap) against dpdk-testpmd with
#     net_vlink's host end (rxonly after tx_first bursts, 1920 packets a
#     batch, exact counts); the guest's testpmd killed (-9) and a new one
#     in the same VM; the host's testpmd killed (-9) and a new one; then
#     txonly -> rxonly both ways on 2 queues, the counts at both ends
#     equal; every buffer handed back at each of the guest's clean closes,
#     every buffer home at the host's close.
# QEMU is the same process throughout.  VLINK_GUEST_COUNT overrides N.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
N=${VLINK_GUEST_COUNT:-20000}
SIZES=60-1500
BATCH=1920 # tx_first 30: 30 bursts of 32 on each of 2 queues

need_dpdk_vm
pick_accel
[ -f "$PLUGIN" ] || { not_ok "the PMD is built ($PLUGIN)"; finish; }
start_daemon --no-hugepages || exit 1
check "create G (1 channel) in domain vm1" ctl create-link G 02:00:00:00:00:01 1 --domain vm1
check "create M (2 channels) in domain vm1" ctl create-link M 02:00:00:00:00:02 2 --domain vm1

# The guest's script.  run STOP HOW TESTPMD-ARGS...: a testpmd until the
# host creates link STOP, then SIGINT (HOW int) or SIGKILL (kill).
# The PCI bus wants IOVA as PA for a device bound to uio_pci_generic: so
# hugepages (with --no-huge EAL has no physical addresses), and PCI
PCI_EAL="--lcores 0@0,1@0 -m 64 -d /usr/lib/vlink"
cat >"$T/guest.sh" <<EOF
until_link() { until vlink-peer --pci list 2>/dev/null | grep -q "^\$1 "; do sleep 0.2; done; }
run() {
	stop=\$1 how=\$2; shift 2
	dpdk-testpmd "\$@" &
	tp=\$!
	until_link \$stop
	if [ \$how = kill ]; then kill -9 \$tp; else kill -INT \$tp; fi
	wait \$tp
	echo "GUEST-TESTPMD \$stop exit \$?"
}
G="$GUEST_EAL --vdev net_vlink0,end=guest,link=G,wait=60 -- $GUEST_TP_ARGS --port-topology=loop --stats-period 10 --forward-mode=io"
run STOP1 int \$G
run STOP2 int \$G
echo 64 >/proc/sys/vm/nr_hugepages
insmod /lib/modules/uio.ko && insmod /lib/modules/uio_pci_generic.ko &&
	echo "1234 564c" >/sys/bus/pci/drivers/uio_pci_generic/new_id
for d in /sys/bus/pci/devices/*; do
	[ "\$(cat \$d/device)" = 0x564c ] && echo "GUEST-BOUND \${d##*/} \$(readlink \$d/driver)" && dev=\${d##*/}
done
M="$PCI_EAL -a \$dev,link=M -- $GUEST_TP_ARGS --rxq=2 --txq=2 --port-topology=loop --stats-period 10"
run STOP3 kill \$M --forward-mode=macswap
run STOP4 int \$M --forward-mode=macswap
run STOP5 int \$M --forward-mode=txonly
run STOP6 int \$M --forward-mode=rxonly
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
booted g
QEMU_FIRST=$QEMU_PID

# forwarding K: the guest's K-th testpmd has begun to forward (it drains
# its queues first: what comes before is dropped)
forwarding() { [ "$(grep -c "forwards packets on" "$T/g.serial")" -ge "$1" ]; }
# stop K: the guest's testpmd K stops, and says how it ended (STOPK is a
# link of ring 64: 512 KiB of the domain's 64 MiB pool)
stop() {
	ctl create-link "STOP$1" "02:00:00:00:01:0$1" 1 --domain vm1 --ring-size 64 >/dev/null &&
		wait_serial g "^GUEST-TESTPMD STOP$1 exit" 60
}
pingpong() {
	host_end G pingpong "$N" "$SIZES" 1 >"$T/h$1" 2>&1 && ok "$2: host end exit 0" ||
		not_ok "$2: host end failed"
	expect_line "$T/h$1" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
		"$2: $N packets of $SIZES B through the guest's testpmd and back, intact, in order, ledger full"
}

# --- 1. end=guest, no kernel driver; vlinkd killed under traffic ----------
if until_ok 120 forwarding 1; then
	ok "the guest's testpmd forwards on G ($(elapsed) s after boot)"
else
	not_ok "the guest's testpmd did not start"; show_serial g; finish
fi
expect_line "$T/g.serial" "net_vlink0: guest end of link 'G' \\(MAC 02:00:00:00:00:01, 1 data channel" \
	"the guest's port: the guest end of G with G's MAC"
host_end G pingpong "$N" "$SIZES" 1 >"$T/h1" 2>&1 &
HOST=$!
until_ok 30 grep -q "host end of G up" "$T/h1" || not_ok "the host end came up"
stop_daemon KILL
start_daemon --no-hugepages || { show_serial g; finish; }
wait_exit "$HOST" 300
[ "$RC" = 0 ] && ok "host end exit 0 across the vlinkd restart" ||
	not_ok "host end across the vlinkd restart: $RC"
expect_line "$T/h1" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"$N packets through the guest's testpmd and back while vlinkd died and came back: intact, in order, ledger full"
until_ok 60 grep -q "net_vlink0: vlinkd is back: the device reconnected (connection 2)" "$T/g.serial" &&
	ok "the guest's PMD saw the device reconnect (no remap)" ||
	not_ok "the guest's PMD saw the device reconnect"
stop 1 || not_ok "the guest's testpmd 1 stopped"
expect_line "$T/g.serial" "^GUEST-TESTPMD STOP1 exit 0" "the guest's testpmd 1 closed its port and exited 0"

# a new testpmd in the same VM takes the link (a new epoch), first from a
# malicious host end, then from a good one
until_ok 120 forwarding 2 || { not_ok "the guest's second testpmd did not start"; show_serial g; finish; }
if "$BUILDDIR/tests/vlink-evilhost" -s "$SOCK" -t 4 -w 60 G >"$T/evil" 2>&1; then
	ok "a malicious host end lied to the guest's testpmd for 4 s (every kind)"
else
	not_ok "the malicious host end ran"; cat "$T/evil"
fi
grep "^evilhost" "$T/evil" | sed 's/^/# /'
pingpong 2 "a good host end after the malicious one, same guest testpmd"
stop 2 || not_ok "the guest's testpmd 2 stopped"
expect_line "$T/g.serial" "^GUEST-TESTPMD STOP2 exit 0" "the guest's testpmd 2 survived the lies and exited 0"
n=$(sed -n 's/.*net_vlink0: closed: .*, \([0-9]*\) bad descriptors.*/\1/p' "$T/g.serial" | tail -n1)
[ "${n:-0}" -gt 0 ] && ok "the guest's PMD refused and counted $n bad descriptors" ||
	not_ok "the guest's PMD counted the malicious host's descriptors (${n:-none})"

# --- 2. the PCI driver (uio_pci_generic), mq, kills ------------------------
wait_serial g "^GUEST-BOUND 0000:[0-9a-f:.]+ .*uio_pci_generic" 60 &&
	ok "the guest bound the device to uio_pci_generic" ||
	not_ok "the guest bound the device to uio_pci_generic"
until_ok 120 forwarding 3 || { not_ok "the guest's PCI testpmd did not start"; show_serial g; finish; }
expect_line "$T/g.serial" "[0-9a-f:.]+_M: guest end of link 'M' \\(MAC 02:00:00:00:00:02, 2 data channel" \
	"the PCI driver probed the device: a port for link M with its MAC, 2 channels"

# batches ID FROM TO WHAT: 1920 packets out, all back, per batch
batches() {
	r=$(tp_batches "$1" "$2" "$3" $BATCH) want=$(($3 * BATCH))
	[ "$r" = "$want $want" ] &&
		ok "$4: the host's testpmd sent ${r% *} on 2 queues, got ${r#* } back from the guest's (want $want each)" ||
		not_ok "$4: the host's testpmd sent ${r% *}, got ${r#* } back (want $want each)"
}
host_tp() {
	tp_start "$1" --vdev "net_vlink0,link=M,socket=$SOCK"
	tp_cmd "$1" "set fwd rxonly"
	tp_cmd "$1" "show port info 0"
	tp_wait "$1" 'Link status: up' 30 || not_ok "host testpmd $1: link up"
}
TP_ARGS="--rxq=2 --txq=2"
host_tp 1
batches 1 1 2 "macswap in the guest"

# the guest's testpmd dies holding what it holds; a new one takes over
stop 3
until_ok 120 forwarding 4 || { not_ok "the guest's testpmd after the kill did not start"; show_serial g; finish; }
tp_wait 1 "a new peer end asks for a new epoch" 60 >/dev/null
until_ok 30 eval 'tp_cmd 1 "show port info 0"; tp_wait 1 "Link status: up" 1'
batches 1 3 4 "after the guest's testpmd was killed and a new one started"

# the host's testpmd dies; a new one
kill -9 "$(tp_pid 1)"
host_tp 2
batches 2 1 2 "a new host testpmd after the old one was killed"
stop 4 || not_ok "the guest's testpmd 4 stopped"
expect_line "$T/g.serial" "^GUEST-TESTPMD STOP4 exit 0" "the guest's testpmd 4 closed its port and exited 0"

# guest_stat K FIELD: the guest's testpmd K's final count (its accumulated
# forward statistics, printed as it exits)
guest_stat() {
	tr -d '\r' <"$T/g.serial" | awk -v f="$2:" -v end="^GUEST-TESTPMD STOP$1 exit" '
		/Accumulated forward statistics/ { acc = 1 }
		acc { for (k = 1; k < NF; k++) if ($k == f) { v = $(k + 1); acc = 0 } }
		$0 ~ end { print v; exit }'
}
# rx_empty LINK: nothing waiting on any rx ring of LINK (the peer took all)
rx_empty() {
	"$PEER" --socket "$SOCK" stats "$1" 2>/dev/null |
		awk '$2 == "rx" { n++; if ($5 != 0) bad = 1 } END { exit bad || !n }'
}

# txonly in the guest -> rxonly here: every packet the guest's testpmd
# counted as sent arrives, on 2 queues
tp_cmd 2 "set fwd rxonly"
tp_cmd 2 "start"
rx0=$(tp_stat 2 0 RX-packets)
until_ok 120 forwarding 5 || { not_ok "the guest's txonly testpmd did not start"; show_serial g; finish; }
until_ok 60 eval '[ "$(tp_stat 2 0 RX-packets)" -gt $((rx0 + 20000)) ]'
stop 5 || not_ok "the guest's txonly testpmd stopped"
gtx=$(guest_stat 5 TX-packets)
until_ok 30 eval '[ "$(tp_stat 2 0 RX-packets)" = $((rx0 + ${gtx:-0})) ]'
got=$(($(tp_stat 2 0 RX-packets) - rx0))
[ "${gtx:-0}" -gt 0 ] && [ "$got" = "$gtx" ] &&
	ok "guest txonly -> host rxonly: the guest sent $gtx, the host received $got" ||
	not_ok "guest txonly -> host rxonly: the guest sent ${gtx:-?}, the host received $got"
tp_cmd 2 "stop"
tp_wait 2 "Done\\." 10 >/dev/null

# txonly here -> rxonly in the guest
until_ok 120 forwarding 6 || { not_ok "the guest's rxonly testpmd did not start"; show_serial g; finish; }
tx0=$(tp_stat 2 0 TX-packets)
tp_cmd 2 "set fwd txonly"
tp_cmd 2 "start"
until_ok 60 eval '[ "$(tp_stat 2 0 TX-packets)" -gt $((tx0 + 20000)) ]'
tp_cmd 2 "stop"
tp_wait 2 "Done\\." 10 >/dev/null
htx=$(($(tp_stat 2 0 TX-packets) - tx0))
until_ok 30 rx_empty M || not_ok "the guest took everything from M's rx rings"
[ "$QEMU_PID" = "$QEMU_FIRST" ] && kill -0 "$QEMU_PID" 2>/dev/null &&
	ok "the same QEMU process throughout" || not_ok "QEMU was restarted or died"
stop 6 || not_ok "the guest's rxonly testpmd stopped"
grx=$(guest_stat 6 RX-packets)
[ "$htx" -gt 0 ] && [ "${grx:-}" = "$htx" ] &&
	ok "host txonly -> guest rxonly: the host sent $htx, the guest received $grx" ||
	not_ok "host txonly -> guest rxonly: the host sent $htx, the guest received ${grx:-?}"
expect_line "$T/g.serial" "^GUEST-TESTPMD STOP6 exit 0" "the guest's last testpmd closed its port and exited 0"
# every clean close while the host end polls (testpmds 4 and 5): what the
# guest's PMD took, it handed back.  (The rxonly one closes after the host
# stopped: what no longer fits its full done ring stays until the host's
# next reset or its close, which must find every buffer home, below.)
n=$(grep -Ec "_M: closed: ([0-9]+) buffers taken .*, \1 handed back .*, 0 held, 0 bad descriptors" "$T/g.serial")
[ "$n" -ge 2 ] && ok "the guest's PCI ports handed back every buffer they took, at their clean closes ($n of 3)" ||
	{ not_ok "the guest's PCI ports handed back every buffer at their clean closes ($n of 3, want 2 at least)"; grep -a "closed:" "$T/g.serial"; }
n=$(grep -Ec "net_vlink0: closed: ([0-9]+) buffers taken .*, \1 handed back .*, 0 held, 0 bad descriptors" "$T/g.serial")
[ "$n" = 1 ] && ok "the first end=guest testpmd on G handed back every buffer it took, at its close" ||
	{ not_ok "the first end=guest testpmd handed back every buffer ($n)"; grep -a "closed:" "$T/g.serial"; }
tp_quit 2
[ "$(tp_all_home 2)" = 1 ] && ok "host testpmd: every buffer home at close" ||
	{ not_ok "host testpmd: every buffer home at close"; grep closed "$T/tp2.log"; }

wait_guest_exit 120 && ok "the guest powered off" || not_ok "the guest did not power off"
[ "$FAILED" = 0 ] || show_serial g
finish
