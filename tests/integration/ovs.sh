#!/bin/sh
# net_vlink ports in Open vSwitch's DPDK datapath (Debian's
# openvswitch-switch-dpdk: OVS 3.1, DPDK 22.11), against vlink-peer at the
# other ends of links A and B; a private ovsdb-server and ovs-vswitchd (in
# a network namespace of its own: its tap devices go with it):
#  1. vlink-peer send on A -> OVS -> vlink-peer recv on B and back, 64-1500
#     B, then (mtu_request 9000) 1600-9000 B, every byte checked by recv;
#     with the NORMAL action and with in_port flows; exact counts on both
#     peers, in OVS's port counters, the database and the flows;
#  2. vlinkd killed (-9) and started again under traffic: traffic goes on,
#     both ports re-attach (log, xstat reconnects), every packet accounted
#     for (received intact, or counted dropped by OVS);
#  3. ovs-vswitchd killed (-9) and started again from the same database:
#     the peers keep running, traffic resumes, the counts add up, every
#     buffer home when the ports close;
#  4. del-port / add-port of both ports five times under traffic, then
#     exact counts again.
# Needs root, DPDK, the PMD, OVS-DPDK, 2 MiB hugepages (OVS runs EAL
# --in-memory: reserved here, vm.nr_hugepages restored at exit).
# VLINK_OVS_COUNT: packets per transfer (10000); VLINK_OVS_RATE: packets/s
# (5000); VLINK_OVS_CASES: which cases ("1 2 3 4"); VLINK_OVS_SOCKET_LIMIT:
# OVS's DPDK memory in MiB (640); VLINK_OVS_PLUGIN: another plugin file.
. "$(dirname "$0")/lib.sh"
need_root
. "$(dirname "$0")/ovs-lib.sh" # the OVS helpers; its trap: ovs_cleanup

COUNT=${VLINK_OVS_COUNT:-10000}
JCOUNT=$((COUNT / 5))
RATE=${VLINK_OVS_RATE:-5000}
if [ ! -f "$PLUGIN_SRC" ]; then
	not_ok "the PMD is built ($PLUGIN_SRC missing: configure found no DPDK SDK?)"
	finish
fi
for b in $(ovs_missing); do not_ok "$b installed (openvswitch-switch-dpdk)"; finish; done
ovs_plugin || { not_ok "a copy of the plugin under /run"; finish; }

# transfer FROM TO SIZE N WHAT: vlink-peer send on link FROM -> OVS ->
# vlink-peer recv on link TO; every packet, in order, intact (recv), and
# OVS counted exactly N in on FROM and out on TO, dropped none (the port
# counters, read live; T_FLOW: what the flows of in_port=FROM counted)
transfer() {
	from=$1 to=$2 size=$3 n=$4 what=$5 T_FLOW="?"
	d="$what: $from -> $to, $n packets of $size B"
	ports_ready || { not_ok "$d: ports in OVS"; return 1; }
	set -- $(ofstat "vl$from") $(ofstat "vl$to")
	in0=$1 rxdrop0=$2 out0=$7 txdrop0=$8
	F0=$(flow_packets "in_port=vl$from")
	if ! recv_on "$to" "$n" || ! port_up "vl$to"; then
		not_ok "$d: recv attached on $to, vl$to up"; peers_show; stop_peers; return 1
	fi
	send_on "$from" "$n" "$size"
	wait_exit "$SEND" $((n / RATE + 40)); src=$RC
	[ -n "$OVS_PID" ] || kill "$RECV" 2>/dev/null # OVS died: nothing comes
	wait_exit "$RECV" 20; rrc=$RC
	ovs_dead
	set -- $(ofstat "vl$from") $(ofstat "vl$to")
	in=$(sub "$1" "$in0") rxdrop=$(sub "$2" "$rxdrop0") out=$(sub "$7" "$out0") txdrop=$(sub "$8" "$txdrop0")
	if [ "$src" = 0 ] && [ "$rrc" = 0 ] &&
	   grep -q "^send: $n packets" "$T/send.out" &&
	   grep -Eq "^recv: $n packets .*: $n intact, 0 corrupt, 0 lost, 0 out of order" "$T/recv.out" &&
	   [ "$in" = "$n" ] && [ "$out" = "$n" ] && [ "$rxdrop" = 0 ] && [ "$txdrop" = 0 ]; then
		ok "$d: all in order and intact; OVS: in $in on vl$from, out $out on vl$to, 0 dropped"
	else
		not_ok "$d: send exit $src, recv exit $rrc; OVS: in $in on vl$from, out $out on vl$to, dropped $rxdrop rx $txdrop tx (want $n, $n, 0, 0)"
		peers_show
	fi
	SEND= RECV=
	T_FLOW=$(($(flow_packets "in_port=vl$from") - F0))
}

start_daemon --no-hugepages || { not_ok "vlinkd starts"; finish; }
ctl create-link A 02:00:00:00:0a:01 1 >/dev/null
ctl create-link B 02:00:00:00:0b:01 1 >/dev/null

ovs_hugepages || finish

# --- OVS with the plugin -----------------------------------------------------
if ! start_ovsdb; then not_ok "ovsdb-server starts"; cat "$O/ovsdb-server.log"; finish; fi
ovs_dpdk_config
if start_ovs; then
	ok "ovs-vswitchd starts with DPDK and the plugin (-d in dpdk-extra)"
else
	not_ok "ovs-vswitchd starts with DPDK and the plugin"
	finish
fi
grep -Eq 'EAL ARGS: .*-d [^ ]*librte_net_vlink.so.*--in-memory' "$OVSLOG" &&
	ok "EAL runs --in-memory with the plugin" || not_ok "EAL runs --in-memory with the plugin"
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev
F=$(ovs_log_lines)
add_ports
if until_ok 30 iface_is vlA ofport 1 && until_ok 30 iface_is vlB ofport 2; then
	ok "both vlink ports added (ofport 1, 2)"
else
	not_ok "both vlink ports added"
	for i in vlA vlB; do echo "    $i: ofport $(vsctl get interface $i ofport)," \
		"error $(vsctl get interface $i error)"; done
	ovs_log_tail
	finish
fi
until_ok 20 ofctl mod-port "$BR" "$BR" no-flood
in_log "$F" "net_vlink0: host end of link 'A'" && in_log "$F" "net_vlink1: host end of link 'B'" &&
	ok "the PMD probed both devices (log)" || not_ok "the PMD probed both devices (log)"
iface_is vlA link_state down && iface_is vlB link_state down &&
	ok "link_state down while no peer is attached" ||
	not_ok "link_state down while no peer is attached (vlA $(vsctl get interface vlA link_state), vlB $(vsctl get interface vlB link_state))"
iface_is vlA mac_in_use 02:00:00:00:0a:01 && iface_is vlA status:driver_name net_vlink &&
	ok "mac_in_use from the link, driver net_vlink" ||
	not_ok "mac_in_use $(vsctl get interface vlA mac_in_use), status $(vsctl get interface vlA status)"
attached A host && attached B host && ok "vlinkd: the host ends of A and B attached" ||
	not_ok "vlinkd: the host ends of A and B attached"
# a port for a link vlinkd does not have: the probe fails, OVS says so
F=$(ovs_log_lines)
vsctl add-port "$BR" vlbad -- set interface vlbad type=dpdk \
	"options:dpdk-devargs=net_vlink9,link=nosuch,socket=$SOCK"
until_ok 20 eval 'vsctl get interface vlbad error | grep -q "Error attaching device .net_vlink9"' &&
	in_log "$F" "net_vlink9: vlinkd refused to attach link 'nosuch': no link named 'nosuch'" &&
	ok "a port for a missing link: error in the database, the PMD's reason in the log" ||
	not_ok "a port for a missing link: error '$(vsctl get interface vlbad error)'"
vsctl del-port "$BR" vlbad

# --- 1. send -> OVS -> recv ------------------------------------------------------
# NORMAL: the default flow table.  vlink-peer's test packets are not real
# Ethernet: the destination is an address nobody has (flooded to the
# other port), the source is the sequence number's (learnt): to NORMAL
# every packet is a flow of its own, a datapath flow and an upcall each.
# OVS keeps the order of a flow, not across flows: packets of a batch
# that hit a datapath flow go out after the batch's misses.  So before a
# stream from sequence number 0 the datapath flows and the MAC table are
# flushed: every packet misses, and they stay in order.
flows_normal() {
	ofctl del-flows "$BR" && ofctl add-flow "$BR" "priority=0,actions=NORMAL" && dp_flush
}
dp_flush() { appctl revalidator/purge >/dev/null && appctl fdb/flush "$BR" >/dev/null; }
# in_port flows: one datapath flow each way (and the flush: datapath
# flows of NORMAL that the revalidator has not taken away yet would
# still forward some of a new stream's packets)
flows_ports() {
	ofctl del-flows "$BR" &&
		ofctl add-flow "$BR" "in_port=vlA,actions=output:vlB" &&
		ofctl add-flow "$BR" "in_port=vlB,actions=output:vlA" && dp_flush
}
both_ways() { # SIZES N: A -> B and B -> A, with NORMAL and with flows
	for mode in NORMAL flows; do
		for dir in "A B" "B A"; do
			set -- $dir
			ensure_ovs || { not_ok "ovs-vswitchd running for $mode $1 -> $2"; continue; }
			if [ $mode = NORMAL ]; then flows_normal; else flows_ports; fi ||
				{ not_ok "$mode: flow table set"; continue; }
			transfer "$1" "$2" "$SIZES" "$N" "$mode${MTU:+, MTU $MTU}"
			if [ $mode = flows ]; then
				[ "$T_FLOW" = "$N" ] && ok "flows: in_port=vl$1 n_packets +$T_FLOW" ||
					not_ok "flows: in_port=vl$1 n_packets +$T_FLOW, want $N"
			fi
		done
	done
}
case1() {
	SIZES=64-1500 N=$COUNT both_ways
	for i in vlA vlB; do
		until_ok 15 db_agrees $i ||
			{ not_ok "$i: database statistics agree with the port's counters ($(ofstat $i) vs $(vsctl get interface $i statistics))"; break; }
	done && ok "database statistics agree with the port's counters (vlA: $(vsctl get interface vlA statistics:rx_packets) in, vlB: $(vsctl get interface vlB statistics:tx_packets) out)"
	ensure_ovs
	vsctl get interface vlA statistics >"$T/out"
	grep -q 'rx_q0_dropped=0' "$T/out" && ok "the PMD's xstats in the statistics column (rx_q0_dropped=0)" ||
		{ not_ok "the PMD's xstats in the statistics column"; sed 's/^/    /' "$T/out"; }

	# jumbo: mtu_request 9000 on both ports (OVS reconfigures them: new
	# mempools of 9000-byte mbufs); a packet of more than one 2 KiB link
	# buffer is a chain of descriptors on the link
	MTU=9000
	vsctl set interface vlA mtu_request=$MTU -- set interface vlB mtu_request=$MTU
	if until_ok 30 iface_is vlA mtu $MTU && until_ok 30 iface_is vlB mtu $MTU; then
		ok "mtu_request=$MTU applied on both ports"
	else
		not_ok "mtu_request=$MTU applied (vlA $(vsctl get interface vlA mtu) $(vsctl get interface vlA error), vlB $(vsctl get interface vlB mtu))"
	fi
	SIZES=1600-9000 N=$JCOUNT both_ways
}

# rx_above IFACE N: OVS has taken in more than N packets on IFACE
rx_above() { [ "$(ofstat "$1" | cut -d' ' -f1)" -gt "$2" ] 2>/dev/null; }
# recv_has G0 OUT0: recv's count is G0 plus what vlB sent out since its
# counter said OUT0 (or recv is done: it had them all)
recv_has() {
	! kill -0 "$RECV" 2>/dev/null ||
		[ "$(sub "$(recv_got)" "$1")" = "$(sub "$(ofstat vlB | cut -d' ' -f3)" "$2")" ]
}
# stop_sender: SIGTERM: send stops, says how many it sent ($S)
stop_sender() {
	kill "$SEND" 2>/dev/null
	wait_exit "$SEND" 10
	S=$(sed -n 's/^send: \([0-9]*\) packets.*/\1/p' "$T/send.out")
	S=${S:-?}
}
LONG=$((RATE * 600)) # "for ever": the sender is stopped

# --- 2. vlinkd killed and started again under traffic --------------------------
# (in_port flows: with NORMAL, a stream from 0 again would meet datapath
# flows of the streams before; see flows_normal)
case2() {
	ensure_ovs && flows_ports
	F=$(ovs_log_lines)
	ports_ready || { not_ok "vlinkd restart: ports in OVS"; return; }
	set -- $(ofstat vlA) $(ofstat vlB); in0=$1 out0=$7 drop0=$8
	if ! recv_on B "$LONG" 30 || ! port_up vlB || ! send_on A "$LONG" 64-1500 30 ||
	   ! until_ok 15 rx_above vlA "$(add "$in0" "$RATE")"; then
		not_ok "vlinkd restart: traffic A -> B"; peers_show; stop_peers; return
	fi
	r0a=$(xstat vlA reconnects) r0b=$(xstat vlB reconnects)
	stop_daemon KILL
	a=$(ofstat vlA | cut -d' ' -f1)
	until_ok 10 rx_above vlA "$(add "$a" $((RATE / 2)))" &&
		ok "vlinkd killed: traffic goes on (vlA in $a -> $(ofstat vlA | cut -d' ' -f1))" ||
		not_ok "vlinkd killed: traffic goes on (vlA in $a -> $(ofstat vlA | cut -d' ' -f1))"
	until_ok 10 in_log "$F" "net_vlink0: lost vlinkd" && until_ok 10 in_log "$F" "net_vlink1: lost vlinkd" &&
		ok "both ports log the lost daemon" || not_ok "both ports log the lost daemon"
	start_daemon --no-hugepages || not_ok "vlinkd starts again"
	until_ok 20 in_log "$F" "net_vlink0: vlinkd is back: link .A. re-attached, same memory" &&
		until_ok 20 in_log "$F" "net_vlink1: vlinkd is back: link .B. re-attached, same memory" &&
		ok "both ports re-attach to the new vlinkd, same memory (log)" ||
		{ not_ok "both ports re-attach to the new vlinkd, same memory (log)"; grep -i vlink "$OVSLOG" | tail -n 8 | sed 's/^/    /'; }
	ra=$(sub "$(xstat vlA reconnects)" "$r0a") rb=$(sub "$(xstat vlB reconnects)" "$r0b")
	[ "$ra" = 1 ] && [ "$rb" = 1 ] && ok "xstats (DPDK telemetry): reconnects +1 on both ports" ||
		not_ok "xstats (DPDK telemetry): reconnects vlA +$ra vlB +$rb, want +1"
	until_ok 15 attached A host && until_ok 15 attached A peer &&
		until_ok 15 attached B host && until_ok 15 attached B peer &&
		ok "the new vlinkd has both ends of A and B attached" ||
		{ not_ok "the new vlinkd has both ends of A and B attached"; cat "$T/show.json"; }
	iface_is vlA link_state up && iface_is vlB link_state up &&
		ok "link_state stayed up" || not_ok "link_state stayed up"
	a=$(ofstat vlA | cut -d' ' -f1)
	until_ok 10 rx_above vlA "$(add "$a" "$RATE")" || not_ok "traffic after the restart ($a)"
	stop_sender
	# recv has what vlB sent out
	until_ok 20 recv_has 0 "$out0" ||
		echo "    (recv at $(recv_got) of $S)"
	recv_end
	set -- $(ofstat vlA) $(ofstat vlB)
	in=$(sub "$1" "$in0") out=$(sub "$7" "$out0") drop=$(sub "$8" "$drop0")
	# OVS does not retry a transmit the ring refuses: a receiver that
	# falls behind by a ring (1024 packets) loses packets, counted as
	# dropped on its port (tx_q0_ring_full).  Every packet is accounted
	# for; none lost otherwise.
	if [ "$R_GOT" = "$out" ] && [ "$R_OK" = "$out" ] && [ "$R_LOST" = "$drop" ] &&
	   [ "$R_REORDER" = 0 ] && [ "$R_BAD" = 0 ] && [ "$in" = "$S" ] &&
	   [ "$(add "$out" "$drop")" = "$in" ]; then
		ok "across the vlinkd restart: $S packets A -> B; OVS in $in, out $out, dropped $drop (vlB ring full); recv $R_GOT intact, in order, $R_LOST lost"
	else
		not_ok "across the vlinkd restart: sent $S; recv got $R_GOT, intact $R_OK, lost $R_LOST, out of order $R_REORDER; OVS in $in out $out dropped $drop (want got = out, lost = dropped, in = sent = out + dropped)"
		peers_show
	fi
	SEND= RECV=
}

# --- 3. ovs-vswitchd killed and started again -----------------------------------
# (NORMAL: the OpenFlow table is not in the database, the new
# ovs-vswitchd starts with NORMAL)
case3() {
	ensure_ovs && flows_normal
	M=$((RATE * 8))
	ports_ready && in0=$(ofstat vlA | cut -d' ' -f1)
	if ! ports_ready || ! recv_on B "$M" 60 || ! port_up vlB || ! send_on A "$M" 64-1500 60 ||
	   ! until_ok 15 rx_above vlA "$(add "$in0" "$RATE")" ||
	   ! until_ok 10 eval '[ "$(recv_got)" -gt 0 ]'; then
		not_ok "ovs-vswitchd restart: traffic A -> B"; peers_show; stop_peers; return
	fi
	kill -9 "$OVS_PID"
	wait "$OVS_PID" 2>/dev/null
	OVS_PID=
	until_ok 10 detached A host && until_ok 10 detached B host &&
		ok "ovs-vswitchd killed: vlinkd sees both host ends go" ||
		not_ok "ovs-vswitchd killed: vlinkd sees both host ends go"
	# recv's count stands still while nothing forwards
	STILL_FROM=$(grep -c '^vlink-peer recv:' "$T/recv.err")
	until_ok 10 recv_still
	g0=$(recv_got)
	kill -0 "$SEND" 2>/dev/null && kill -0 "$RECV" 2>/dev/null &&
		attached A peer && attached B peer &&
		ok "the peers keep running and attached without OVS (recv at $g0)" ||
		{ not_ok "the peers keep running and attached without OVS"; peers_show; }
	F=$(ovs_log_lines)
	if start_ovs && port_up vlA && port_up vlB; then
		ok "ovs-vswitchd started again from the same database: both ports up"
	else
		not_ok "ovs-vswitchd started again from the same database: both ports up"
	fi
	until_ok 15 rx_above vlA 0 && ok "traffic resumes through the new ovs-vswitchd" ||
		not_ok "traffic resumes through the new ovs-vswitchd"
	wait_exit "$SEND" 90; src=$RC
	grep -q "^send: $M packets" "$T/send.out" && [ "$src" = 0 ] &&
		ok "the sender got through its $M packets" ||
		{ not_ok "the sender got through its $M packets (exit $src)"; peers_show; }
	# recv has what the new OVS sent out (what it took in before vlB was
	# up again went nowhere: NORMAL has no port to flood to)
	until_ok 20 recv_has "$g0" 0 ||
		echo "    (recv at $(recv_got), $g0 before the kill; vlB out $(ofstat vlB | cut -d' ' -f3))"
	recv_end
	set -- $(ofstat vlA) $(ofstat vlB); in=$1 out=$7 drop=$8
	if [ "$R_OK" = "$R_GOT" ] && [ "$R_BAD" = 0 ] && [ "$R_REORDER" = 0 ] &&
	   [ "$(add "$R_GOT" "$R_LOST")" = "$M" ] && [ "$(sub "$R_GOT" "$g0")" = "$out" ]; then
		ok "counts add up: $M sent; recv $R_GOT intact, in order ($g0 before the kill, $out after = vlB out), $R_LOST lost; the new OVS took in $in on vlA, dropped $drop on vlB"
	else
		not_ok "counts: $M sent; recv got $R_GOT ($g0 before the kill), intact $R_OK, corrupt $R_BAD, lost $R_LOST, out of order $R_REORDER; new OVS in $in out $out (want got - $g0 = out, got + lost = $M)"
		peers_show
	fi
	SEND= RECV=
	# the peers have left: the ports close with every buffer home
	close_ports_all_home "del-port after the restart: every buffer home on both ports"
	add_ports
}

# --- 4. del-port / add-port five times under traffic ---------------------------
# a sender with more than it needs, stopped once the churn is over and
# traffic flows again: it says how many it sent
# (in_port flows: they outlive the ports, which come back with the same
# ofport numbers, ofport_request)
case4() {
	ensure_ovs && flows_ports
	if ! ports_ready || ! recv_on B "$LONG" 60 || ! port_up vlB || ! send_on A "$LONG" 64-1500 60 ||
	   ! until_ok 15 eval '[ "$(recv_got)" -gt 0 ]'; then
		not_ok "del/add-port: traffic A -> B"; peers_show; stop_peers; return
	fi
	F=$(ovs_log_lines)
	churn=ok
	for round in 1 2 3 4 5; do
		for p in "vlA A 0 1" "vlB B 1 2"; do
			set -- $p
			dev=net_vlink$3 a=$(recv_got)
			vsctl del-port "$BR" "$1" &&
				until_ok 20 eval '[ "$(closed_lines "$F" "$dev" | wc -l)" -ge $round ]' &&
				add_port "$@" && port_up "$1" &&
				until_ok 15 eval '[ "$(recv_got)" -gt $a ]' ||
				{ churn="round $round, $1: link_state $(vsctl get interface "$1" link_state), recv at $(recv_got) (was $a)"; break 2; }
		done
	done
	[ "$churn" = ok ] && kill -0 "$SEND" 2>/dev/null &&
		ok "del-port/add-port of both ports 5 times under traffic: traffic goes on after each" ||
		not_ok "del-port/add-port 5 times under traffic: $churn; sender running: $(kill -0 "$SEND" 2>/dev/null && echo yes || echo no)"
	n=$(closed_lines "$F" | wc -l) b=$(closed_lines "$F" | grep -c ', 0 bad')
	[ "$n" = 10 ] && [ "$b" = 10 ] && ok "10 port closes, 0 bad descriptors in each" ||
		{ not_ok "10 port closes ($n), 0 bad descriptors in each ($b)"; closed_lines "$F" | sed 's/^/    /'; }
	stop_sender
	recv_settle
	if [ "$S" != "?" ] && [ "$R_OK" = "$R_GOT" ] && [ "$R_BAD" = 0 ] && [ "$R_REORDER" = 0 ] &&
	   [ "$(add "$R_GOT" "$R_LOST")" = "$S" ]; then
		ok "through the churn: $S sent, $R_GOT arrived intact and in order, $R_LOST lost while a port was away"
	else
		not_ok "through the churn: sent $S; recv got $R_GOT, intact $R_OK, corrupt $R_BAD, lost $R_LOST, out of order $R_REORDER (want got + lost = sent)"
		peers_show
	fi
	SEND= RECV=
	ovs_dead && return
	transfer A B 64-1500 "$COUNT" "after the churn"
	transfer B A 64-1500 "$COUNT" "after the churn"
}

# VLINK_OVS_CASES: which of the cases to run (default all)
t0=$(date +%s)
for c in ${VLINK_OVS_CASES:-1 2 3 4}; do
	echo "# case $c ($(($(date +%s) - t0)) s)"
	case$c
done
echo "# the end ($(($(date +%s) - t0)) s)"

# --- the end: ports close with every buffer home, OVS exits ---------------------
if ensure_ovs; then
	close_ports_all_home "at the end: both ports close with every buffer home"
	stop_ovs && ok "ovs-vswitchd exits (ovs-appctl exit)" || not_ok "ovs-vswitchd exits (status $RC)"
fi
[ "$FAILED" != 0 ] && ovs_log_tail 60
finish
