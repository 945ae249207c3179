#!/bin/sh
# A real guest behind Open vSwitch's DPDK datapath: a TCG guest (see
# echo.sh) runs `vlink-peer --pci echo G`; OVS-DPDK (Debian's
# ovs-vswitchd-dpdk, as in tests/integration/ovs.sh, whose helpers are
# tests/integration/ovs-lib.sh) has three net_vlink ports, the host ends of
# links A, G and B, and two flows: in_port=vlA -> vlG, in_port=vlG -> vlB.
# Socket-mode peers on the host: `vlink-peer send` on A, `vlink-peer recv`
# on B.  So every packet goes
#   send (A) -> OVS -> G -> the guest's echo -> G -> OVS -> recv (B)
# and is counted at each step: sent = in on vlA = out on vlG (+ dropped
# there) = echoed by the guest = in on vlG = out on vlB (+ dropped) =
# received, intact and in order (recv checks every byte); the flows'
# n_packets, the link G's ring counters (vlink-peer stats) and the ports'
# bad-descriptor xstats agree.  QEMU is the same process throughout and
# the guest's echo still runs after the traffic; then a link STOP created
# in the guest's domain tells the guest to end its echo (its summary: the
# same count, 0 bad descriptors), and del-port of the three ports finds
# every buffer home.
# Needs root, QEMU with pci-vlink, the kernel (else SKIP, 77), OVS-DPDK
# (else SKIP), the PMD, 2 MiB hugepages (reserved, given back at exit).
# VLINK_GUEST_OVS_COUNT: packets (10000); VLINK_GUEST_OVS_RATE: packets/s
# (2500: a TCG guest's echo keeps up, it did with 30000/s).  What OVS
# drops is counted (tx_dropped: a full ring, no free buffer) and the
# counts must still add up exactly (seen: 100000 sent as fast as
# possible, 69946 dropped at vlG, 98 at vlB, the rest echoed, received).
. "$(dirname "$0")/../integration/lib.sh"
need_root
. "$(dirname "$0")/../../scripts/lib/guest.sh"
# shellcheck disable=SC2034 # ovs-lib.sh's ports
OVS_LINKS="A G B" # vlA net_vlink0, vlG net_vlink1, vlB net_vlink2
. "$(dirname "$0")/../integration/ovs-lib.sh"
# both libraries set an EXIT trap: QEMU goes, then OVS, vlinkd, the rest
trap 'guest_cleanup; ovs_cleanup' EXIT
N=${VLINK_GUEST_OVS_COUNT:-10000}
RATE=${VLINK_GUEST_OVS_RATE:-2500}
SIZES=64-1500

ovs_guest_need
need_vm
pick_accel
ovs_plugin || { not_ok "a copy of the plugin under /run"; finish; }
start_daemon --no-hugepages || { not_ok "vlinkd starts"; finish; }
check "create A (socket-mode peer)" ctl create-link A 02:00:00:00:0a:01 1
check "create B (socket-mode peer)" ctl create-link B 02:00:00:00:0b:01 1
check "create G in the guest's domain vm1" ctl create-link G 02:00:00:00:0c:01 1 --domain vm1

# the guest: echo on G until a link STOP appears in its domain, then ends
# it (SIGTERM: its summary line) and powers off
P="vlink-peer --pci"
boot_guest vm1 g "$P echo G --wait 900 & E=\$!
until $P list 2>/dev/null | grep -q '^STOP '; do sleep 1; done
kill \$E; wait \$E; s=\$?; echo \"ECHO-EXIT \$s\"; $P device; exit \$s"

# OVS while the guest boots
ovs_hugepages || finish
if ! start_ovsdb; then not_ok "ovsdb-server starts"; cat "$O/ovsdb-server.log"; finish; fi
ovs_dpdk_config 0x2 # one polling thread, on core 1; the guest's vCPU competes
if start_ovs; then
	ok "ovs-vswitchd starts with DPDK and the plugin, pmd-cpu-mask 0x2"
else
	not_ok "ovs-vswitchd starts with DPDK and the plugin"; finish
fi
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev
F=$(ovs_log_lines)
add_ports
if ports_ready; then
	ok "three vlink ports: vlA, vlG, vlB (ofport $(vsctl get interface vlA ofport)," \
		"$(vsctl get interface vlG ofport), $(vsctl get interface vlB ofport))"
else
	not_ok "three vlink ports added"; ovs_log_tail; finish
fi
in_log "$F" "net_vlink1: host end of link 'G'" && attached G host &&
	ok "the PMD is G's host end (log, vlinkctl show)" || not_ok "the PMD is G's host end"
# no NORMAL: only the two paths, nothing else (the bridge's own port) goes
# to the guest or to B
ofctl del-flows "$BR" &&
	ofctl add-flow "$BR" "in_port=vlA,actions=output:vlG" &&
	ofctl add-flow "$BR" "in_port=vlG,actions=output:vlB" &&
	[ "$(ofctl dump-flows "$BR" | grep -c 'actions=output')" = 2 ] &&
	ok "flows: in_port=vlA -> vlG, in_port=vlG -> vlB (and no other)" ||
	{ not_ok "flows set"; ofctl dump-flows "$BR" | sed 's/^/    /'; }

booted g
QEMU_REAL=$(cat "$T/g.qemu.pid" 2>/dev/null)
# the echo attaches, OVS's port opens an epoch with it: the link is up
if wait_peer_up G 120 && port_up vlG; then
	ok "the guest's echo is G's peer end, vlG up ($(elapsed) s after boot)"
else
	not_ok "the guest's echo did not come up on G"; show_serial g; ovs_log_tail; finish
fi

# --- send (A) -> OVS -> guest echo (G) -> OVS -> recv (B) ---------------------
# the guest's echo count: its last progress line ("vlink-peer echo: N
# packets, ...", one a second on the console)
echo_count() {
	awk '$1 == "vlink-peer" && $2 == "echo:" && $4 ~ /^packets/ { n = $3 } END { print n + 0 }' \
		"$T/g.serial"
}
echo_lines() { grep -c '^vlink-peer echo: ' "$T/g.serial"; }
echo_lines_above() { [ "$(echo_lines)" -gt "$1" ]; }
# the echo has sent back what OVS took in from it
echo_caught_up() { [ "$(echo_count)" = "$(ofstat vlG | cut -d' ' -f1)" ]; }
# ring RING COLUMN: link G's ring counter (vlink-peer stats: produced,
# consumed, waiting), channel 1
ring() { "$PEER" --socket "$SOCK" stats G | awk -v r="$1" -v c="$2" '$1 == 1 && $2 == r { print $c }'; }
ring_done() { # every descriptor the host put on rx came back on tx
	[ "$(ring rx 3)" = "$(ring tx 3)" ] && [ "$(ring rx 5)" = 0 ] && [ "$(ring tx 5)" = 0 ]
}
drops() { # what OVS dropped on the way: tx_dropped on vlG and vlB
	add "$(ofstat vlG | cut -d' ' -f4)" "$(ofstat vlB | cut -d' ' -f4)"
}
# recv is done: it has had every packet, or every one it has not had is
# counted dropped
recv_accounted() {
	! kill -0 "$RECV" 2>/dev/null || [ "$(add "$(recv_got)" "$(drops)")" = "$N" ]
}

R0RX=$(ring rx 3) R0TX=$(ring tx 3)
echo "# before: vlA $(ofstat vlA), vlG $(ofstat vlG), vlB $(ofstat vlB) (rx pkts, rx drop, tx pkts, tx drop); echo $(echo_count); G rings rx $R0RX, tx $R0TX"
t0=$(date +%s.%N)
if ! recv_on B "$N" 30 || ! port_up vlB; then
	not_ok "recv attached on B, vlB up"; peers_show; finish
fi
send_on A "$N" "$SIZES" 30
wait_exit "$SEND" $((N / RATE + 60)); src=$RC
until_ok 60 recv_accounted
recv_end; rrc=$RC
echo "# traffic: $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s"
# the echo's count and G's rings settle (the echo reports once a second)
until_ok 15 echo_caught_up
until_ok 10 ring_done
EC=$(echo_count)

set -- $(ofstat vlA) $(ofstat vlG) $(ofstat vlB)
inA=$1 rxdropA=$2 inG=$5 rxdropG=$6 outG=$7 dropG=$8 outB=${11} dropB=${12}
S=$(sed -n 's/^send: \([0-9]*\) packets.*/\1/p' "$T/send.out")
echo "# send: $(cat "$T/send.out")"
echo "# recv: $(cat "$T/recv.out")"
echo "# OVS: vlA in $inA; vlG out $outG (dropped $dropG), in $inG; vlB out $outB (dropped $dropB); guest echo $EC"
[ "$src" = 0 ] && [ "$S" = "$N" ] && ok "send on A: $N packets of $SIZES B, exit 0" ||
	{ not_ok "send on A: exit $src, sent ${S:-?} (want $N)"; peers_show; }
[ "$inA" = "$N" ] && [ "$rxdropA" = 0 ] && ok "OVS took in exactly $N on vlA, dropped none" ||
	not_ok "OVS took in $inA on vlA, dropped $rxdropA (want $N, 0)"
[ "$(add "$outG" "$dropG")" = "$inA" ] &&
	ok "OVS sent $outG to the guest on vlG, dropped $dropG (full ring): $inA in all" ||
	not_ok "vlG: out $outG + dropped $dropG != $inA in on vlA"
[ "$EC" = "$outG" ] && ok "the guest's echo sent back $EC packets: all OVS sent it" ||
	{ not_ok "the guest's echo says $EC, OVS sent it $outG"; tail -n 5 "$T/g.serial" | sed 's/^/    /'; }
[ "$inG" = "$EC" ] && [ "$rxdropG" = 0 ] && ok "OVS took in $inG back from the guest on vlG, dropped none" ||
	not_ok "OVS took in $inG on vlG, dropped $rxdropG (want $EC, 0)"
[ "$(add "$outB" "$dropB")" = "$inG" ] && ok "OVS sent $outB to B, dropped $dropB: $inG in all" ||
	not_ok "vlB: out $outB + dropped $dropB != $inG in on vlG"
if [ "$R_GOT" = "$outB" ] && [ "$R_OK" = "$R_GOT" ] && [ "$R_BAD" = 0 ] && [ "$R_REORDER" = 0 ] &&
   [ "$(add "$R_GOT" "$(add "$dropG" "$dropB")")" = "$N" ]; then
	ok "recv on B: $R_GOT packets, every byte intact, in order; with the $((dropG + dropB)) OVS dropped, all $N (recv exit $rrc, $R_LOST lost)"
else
	not_ok "recv on B: got $R_GOT, intact $R_OK, corrupt $R_BAD, lost $R_LOST, out of order $R_REORDER, exit $rrc (want got = $outB out on vlB, got + $dropG + $dropB dropped = $N)"
	peers_show
fi
[ "$dropG" = 0 ] && [ "$dropB" = 0 ] && [ "$R_GOT" = "$N" ] && [ "$rrc" = 0 ] &&
	echo "# none dropped: $N sent, $N echoed, $N received"
fA=$(flow_packets in_port=vlA) fG=$(flow_packets in_port=vlG)
[ "$fA" = "$inA" ] && [ "$fG" = "$inG" ] &&
	ok "flows: in_port=vlA n_packets $fA, in_port=vlG n_packets $fG" ||
	not_ok "flows: in_port=vlA n_packets $fA (want $inA), in_port=vlG $fG (want $inG)"
rx=$(sub "$(ring rx 3)" "$R0RX") tx=$(sub "$(ring tx 3)" "$R0TX")
[ "$rx" = "$outG" ] && [ "$tx" = "$EC" ] &&
	ok "link G's rings: host -> guest $rx descriptors, guest -> host $tx, none waiting" ||
	{ not_ok "link G's rings: rx +$rx (want $outG), tx +$tx (want $EC)"; "$PEER" --socket "$SOCK" stats G | sed 's/^/    /'; }
bad=
for i in $OVS_PORTS; do bad="$bad $i=$(xstats_bad "$i")"; done
[ "$bad" = " vlA=0 vlG=0 vlB=0" ] && ok "no bad descriptor or ring index in any port's xstats" ||
	{ not_ok "bad descriptors in the xstats:$bad"; for i in $OVS_PORTS; do xstats_show "$i"; done; }
# every packet OVS sent was copied into link buffers (OVS's mbufs are not
# the port's); a drop is the PMD's refusal: a full ring (tx_q0_ring_full
# counts the bursts cut short) or no buffer at home (tx_q0_nobuf)
tx_agrees() { # IFACE OUT DROPPED
	_x=$(add "$(xstat "$1" tx_q0_ring_full)" "$(xstat "$1" tx_q0_nobuf)")
	[ "$(xstat "$1" tx_q0_copies)" = "$2" ] && num "$_x" || return 1
	if [ "$3" = 0 ]; then [ "$_x" = 0 ]; else [ "$_x" -gt 0 ]; fi
}
tx_agrees vlG "$outG" "$dropG" && tx_agrees vlB "$outB" "$dropB" &&
	ok "xstats: tx_q0_copies = out on vlG and vlB; refusals (ring_full, nobuf) only where OVS counted drops (vlG $dropG, vlB $dropB)" ||
	{ not_ok "xstats disagree with OVS's tx counters (vlG out $outG dropped $dropG, vlB out $outB dropped $dropB)"; xstats_show vlG; xstats_show vlB; }
until_ok 15 db_agrees vlG && ok "the database's statistics of vlG agree with its counters" ||
	not_ok "vlG: database $(vsctl get interface vlG statistics), counters $(ofstat vlG)"

# --- still running; then the echo ends, every buffer home ----------------------
l=$(echo_lines)
[ -n "$QEMU_REAL" ] && [ "$(cat "$T/g.qemu.pid" 2>/dev/null)" = "$QEMU_REAL" ] &&
	kill -0 "$QEMU_REAL" 2>/dev/null && ok "the same QEMU process throughout (pid $QEMU_REAL)" ||
	not_ok "QEMU was restarted or died (pid $QEMU_REAL, now $(cat "$T/g.qemu.pid" 2>/dev/null))"
until_ok 10 echo_lines_above "$l" &&
	! grep -q '^echo: \|^ECHO-EXIT\|^VLINK-GUEST: exit' "$T/g.serial" && attached G peer &&
	"$PEER" --socket "$SOCK" stats G | grep -q 'peer end: up' &&
	ok "the guest's echo is still running after the traffic (progress on the console, G's peer end up)" ||
	{ not_ok "the guest's echo is not running"; show_serial g; }

ctl create-link STOP 02:00:00:00:0c:02 1 --domain vm1 >/dev/null
if wait_serial g "^ECHO-EXIT" 60; then
	expect_line "$T/g.serial" "^echo: $EC descriptors \\([0-9]+ bytes\\) sent back, 0 bad descriptors" \
		"the guest's echo, told to stop: $EC descriptors sent back, 0 bad descriptors"
	expect_line "$T/g.serial" "^ECHO-EXIT 0" "the guest's echo exits 0"
else
	not_ok "the guest's echo did not stop"; show_serial g
fi
close_ports_all_home "del-port of vlA, vlG, vlB: each closes with every buffer home, 0 bad descriptors"
closed_lines 0 | sed 's/^.*\(net_vlink[0-9]\)/# \1/'
wait_guest_exit 60 && ok "the guest powered off" || not_ok "the guest did not power off"
expect_line "$T/g.serial" "^VLINK-GUEST: exit 0" "guest command exit 0"
stop_ovs && ok "ovs-vswitchd exits (ovs-appctl exit)" || not_ok "ovs-vswitchd exits (status $RC)"
grep -h "^device " "$T/g.serial" | sed 's/^/# guest: /'
[ "$FAILED" = 0 ] || { show_serial g; ovs_log_tail 60; }
finish
