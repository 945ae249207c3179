#!/bin/sh
# The net_vlink PMD in the real dpdk-testpmd, against real peers:
#  - the host end with vlink-peer echo: link status, counts on both sides;
#  - vlink-peer send -> testpmd (io) -> vlink-peer recv on a second link,
#    both directions, 60-9000 B packets, every byte checked by recv;
#  - the host end and the peer end of one link in one testpmd, io
#    forwarding: counters grow, no errors, every buffer home at close;
#  - mq with 4 data channels and 2 forwarding cores; bond mode over 4
#    channels (flows spread over every channel), the peer in a second
#    testpmd: zero copy on both ends;
#  - vlinkd killed and restarted under traffic: traffic goes on, the PMD
#    re-attaches without remapping;
#  - bad devargs, a missing link, no daemon: the probe fails and says why.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
need_root

PEER="$BUILDDIR/tools/vlink-peer"
COUNT=${VLINK_PMD_COUNT:-100000}
# testpmd forwards without back-pressure: a sender faster than the
# receiver checks bytes would overflow the rings (counted as drops)
RATE=${VLINK_PMD_RATE:-50000}

if [ ! -f "$PLUGIN" ]; then
	not_ok "the PMD is built ($PLUGIN missing: configure found no DPDK SDK?)"
	finish
fi
command -v "$TESTPMD" >/dev/null || { not_ok "dpdk-testpmd installed"; finish; }

start_daemon --pool-size 256M || { not_ok "vlinkd starts"; finish; }
ctl create-link A 02:00:00:00:0a:01 1 >/dev/null
ctl create-link B 02:00:00:00:0b:01 1 >/dev/null
ctl create-link C 02:00:00:00:0c:01 1 >/dev/null
ctl create-link M 02:00:00:00:0d:01 4 >/dev/null
ctl create-link N 02:00:00:00:0e:01 4 >/dev/null

vdev() { echo "net_vlink$1,link=$2,socket=$SOCK${3:+,$3}"; }

# --- 1. host end + vlink-peer echo -----------------------------------------
tp_start 1 --vdev "$(vdev 0 A)"
tp_cmd 1 "show port info 0"
tp_wait 1 'Link status: down' && ok "link down while no peer is attached" ||
	not_ok "link down while no peer is attached"
"$PEER" --socket "$SOCK" echo A -q >"$T/echo.out" 2>&1 &
ECHO=$!
BG_PIDS="$BG_PIDS $ECHO"
tp_wait 1 'Port 0: link state change event' && ok "LSC event when the peer attaches" ||
	not_ok "LSC event when the peer attaches"
tp_cmd 1 "show port info 0"
tp_wait 1 'Link status: up' && ok "link up with the peer" || not_ok "link up with the peer"
grep -q 'MAC address: 02:00:00:00:0A:01' "$T/tp1.log" && ok "MAC from the link description" ||
	not_ok "MAC from the link description"
tp_cmd 1 "set fwd rxonly"
tp_cmd 1 "set txpkts 64"
tp_cmd 1 "start tx_first 30" # 30 bursts of 32: 960 packets, less than a ring
i=0
while [ "$(tp_stat 1 0 RX-packets)" != 960 ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
tx=$(tp_stat 1 0 TX-packets)
rx=$(tp_stat 1 0 RX-packets)
[ "$tx" = 960 ] && [ "$rx" = 960 ] && ok "960 sent, 960 back (testpmd TX $tx RX $rx)" ||
	not_ok "960 sent, 960 back (testpmd TX $tx RX $rx)"
tp_cmd 1 "stop"
kill "$ECHO"; wait "$ECHO"
grep -q '^echo: 960 descriptors' "$T/echo.out" && ok "the peer echoed exactly 960" ||
	{ not_ok "the peer echoed exactly 960"; cat "$T/echo.out"; }
tp_cmd 1 "show port info 0"
tp_wait 1 'Link status: down' && ok "link down when the peer leaves" ||
	not_ok "link down when the peer leaves"
tp_quit 1
[ "$(tp_all_home 1)" = 1 ] &&
	ok "every buffer home at close" || { not_ok "every buffer home at close"; tail "$T/tp1.log"; }

# --- 2. send -> testpmd io -> recv, both directions, payloads checked ------
tp_start 2 --vdev "$(vdev 0 A)" --vdev "$(vdev 1 B)"
# testpmd's io forwarding drops what a full ring refuses: retry instead,
# so that a receiver checking every byte is not outrun
tp_cmd 2 "set fwd io retry"
tp_cmd 2 "set burst tx delay 100 retry 10000"
tp_cmd 2 "start"
for dir in "A B 0 1" "B A 1 0"; do
	set -- $dir
	tp_cmd 2 "clear port stats all"
	"$PEER" --socket "$SOCK" recv "$2" --count "$COUNT" -q >"$T/recv.out" 2>&1 &
	RECV=$!
	wait_peer "$2" || not_ok "vlink-peer recv attached $2"
	"$PEER" --socket "$SOCK" send "$1" --count "$COUNT" --size 60-9000 \
		--rate "$RATE" -q >"$T/send.out" 2>&1
	src=$?
	wait "$RECV"
	rrc=$?
	rx=$(tp_stat 2 "$3" RX-packets)
	tx=$(tp_stat 2 "$4" TX-packets)
	if [ $src = 0 ] && [ $rrc = 0 ] && [ "$rx" = "$COUNT" ] && [ "$tx" = "$COUNT" ]; then
		ok "$1 -> $2: $COUNT packets of 60-9000 B through testpmd, all intact (port $3 RX $rx, port $4 TX $tx)"
	else
		not_ok "$1 -> $2: send $src recv $rrc, port $3 RX $rx, port $4 TX $tx (want $COUNT)"
		cat "$T/send.out" "$T/recv.out"
	fi
	# the peers have left: wait for the PMD's control thread to see it
	sleep 0.3
done
copies=$(tp_xstat 2 0 tx_q0_copies)
[ "${copies:-0}" -gt 0 ] && ok "packets from another port's pool are copied ($copies)" ||
	not_ok "packets from another port's pool are copied (tx_q0_copies '$copies')"
tp_cmd 2 "stop"
tp_quit 2
[ "$(tp_all_home 2)" = 2 ] && ok "both ports: every buffer home at close" ||
	{ not_ok "both ports: every buffer home at close"; grep closed "$T/tp2.log"; }

# --- 3. host and peer end of one link in one testpmd -----------------------
# the peer is port 0 so that it closes first and gives back what it holds
tp_start 3 --vdev "$(vdev 0 C end=peer)" --vdev "$(vdev 1 C)"
# both ports come up before anything is forwarded (the peer end's control
# thread answers the host's new epoch: an application may wait for link up)
i=0 up=0
while [ $i -lt 50 ] && [ $up != 2 ]; do
	n=$(grep -c 'Link status: up' "$T/tp3.log")
	tp_cmd 3 "show port info 0"
	tp_cmd 3 "show port info 1"
	sleep 0.2
	up=$(($(grep -c 'Link status: up' "$T/tp3.log") - n))
	i=$((i + 1))
done
[ $up = 2 ] && ok "host + peer: both ports up before forwarding starts" ||
	not_ok "host + peer: both ports up before forwarding starts ($up of 2 up after 10 s)"
tp_cmd 3 "set fwd io"
tp_cmd 3 "start tx_first"
sleep 1
a0=$(tp_stat 3 0 RX-packets) a1=$(tp_stat 3 1 RX-packets)
sleep 2
b0=$(tp_stat 3 0 RX-packets) b1=$(tp_stat 3 1 RX-packets)
e=$(($(tp_stat 3 0 RX-errors) + $(tp_stat 3 1 RX-errors) + $(tp_stat 3 0 TX-errors) + \
	$(tp_stat 3 1 TX-errors)))
if [ "$b0" -gt "$a0" ] && [ "$b1" -gt "$a1" ] && [ "$a0" -gt 0 ] && [ $e = 0 ]; then
	ok "host + peer in one testpmd: counts grow on both ports ($a0 -> $b0, $a1 -> $b1), no errors"
else
	not_ok "host + peer: port 0 $a0 -> $b0, port 1 $a1 -> $b1, errors $e"
fi
tp_cmd 3 "stop"
tp_quit 3
[ "$(tp_all_home 3 net_vlink1)" = 1 ] && ok "host + peer: every buffer home at port close" ||
	{ not_ok "host + peer: every buffer home at port close"; grep closed "$T/tp3.log"; }

# --- 4. mq: 4 channels, 4 queues, 2 forwarding cores ------------------------
TP_ARGS="--rxq=4 --txq=4 --nb-cores=2" tp_start 4 --lcores 0@0,1@1,2@0 \
	--vdev "$(vdev 0 M end=peer)" --vdev "$(vdev 1 M)"
tp_cmd 4 "set fwd io"
tp_cmd 4 "start tx_first"
sleep 2
tp_cmd 4 "stop"
tp_wait 4 'Accumulated forward statistics' 10
allq=yes
for q in 0 1 2 3; do
	v=$(tp_xstat 4 1 "rx_q${q}_packets")
	[ "${v:-0}" -gt 0 ] || allq="no (rx_q${q}_packets '$v')"
done
[ "$allq" = yes ] && ok "mq: traffic on all 4 queues of the host port" || not_ok "mq: $allq"
grep -Eq 'Logical Core 1 .*forwards packets on [1-9]' "$T/tp4.log" &&
	grep -Eq 'Logical Core 2 .*forwards packets on [1-9]' "$T/tp4.log" &&
	ok "mq: 2 forwarding cores served the queues" ||
	{ not_ok "mq: 2 forwarding cores served the queues"; grep -i 'core' "$T/tp4.log" | head; }
tp_quit 4
[ "$(tp_all_home 4 net_vlink1)" = 1 ] && ok "mq: every buffer home at close" ||
	{ not_ok "mq: every buffer home at close"; grep closed "$T/tp4.log"; }

# --- 5. bond: one queue over 4 channels, flows spread by hash --------------
# the peer in its own testpmd, 4 queues, reflecting
TP_ARGS="--rxq=4 --txq=4" tp_start 5 --vdev "$(vdev 0 N end=peer)"
tp_cmd 5 "set fwd io"
tp_cmd 5 "start"
TP_ARGS="--txonly-multi-flow" tp_start 6 --vdev "$(vdev 0 N mode=bond)"
tp_cmd 6 "show port info 0"
tp_wait 6 'Max possible RX queues: 1' && ok "bond: one queue pair" || not_ok "bond: one queue pair"
tp_cmd 6 "set fwd io"
tp_cmd 6 "start tx_first 4"
sleep 2
spread=yes
for q in 0 1 2 3; do
	v=$(tp_xstat 5 0 "rx_q${q}_packets")
	[ "${v:-0}" -gt 0 ] || spread="no (peer rx_q${q}_packets '$v')"
done
[ "$spread" = yes ] && ok "bond: flows spread over all 4 channels" || not_ok "bond: $spread"
rx=$(tp_stat 6 0 RX-packets)
[ "${rx:-0}" -gt 128 ] && ok "bond: the host port receives from every channel ($rx)" ||
	not_ok "bond: the host port receives ($rx)"
# after the first 4 bursts (testpmd's own mbufs: copied), nothing is copied
# any more: the peer passes buffers up and reflects them, the host sends
# back the mbufs of its own pool
hc=$(tp_xstat 6 0 tx_q0_copies)
pc=0
for q in 0 1 2 3; do pc=$((pc + $(tp_xstat 5 0 "tx_q${q}_copies"))); done
[ "$hc" = 128 ] && [ "$pc" = 0 ] &&
	ok "two processes: zero copy both ways after the first bursts (host copied $hc, peer $pc)" ||
	not_ok "two processes: host copied '$hc' (want 128), peer copied '$pc' (want 0)"
tp_cmd 6 "stop"
tp_cmd 5 "stop"
tp_quit 5
tp_quit 6
[ "$(tp_all_home 6)" = 1 ] && ok "bond: every buffer home at close" ||
	{ not_ok "bond: every buffer home at close"; grep closed "$T/tp6.log"; }

# --- 6. vlinkd dies and comes back under traffic ----------------------------
"$PEER" --socket "$SOCK" echo A -q >"$T/echo.out" 2>&1 &
ECHO=$!
BG_PIDS="$BG_PIDS $ECHO"
tp_start 3 --vdev "$(vdev 0 A)"
tp_cmd 3 "show port info 0"
tp_wait 3 'Link status: up'
tp_cmd 3 "set fwd io" # one port: what comes back goes out again, for ever
tp_cmd 3 "start tx_first"
sleep 1
stop_daemon KILL
a=$(tp_stat 3 0 RX-packets)
sleep 1
b=$(tp_stat 3 0 RX-packets)
[ "$b" -gt "$a" ] && ok "vlinkd killed: traffic goes on ($a -> $b)" ||
	not_ok "vlinkd killed: traffic goes on ($a -> $b)"
start_daemon --pool-size 256M
tp_wait 3 'vlinkd is back: link .A. re-attached, same memory' 15 &&
	ok "the PMD re-attaches to the new vlinkd without remapping" ||
	not_ok "the PMD re-attaches to the new vlinkd without remapping"
c=$(tp_stat 3 0 RX-packets)
sleep 1
d=$(tp_stat 3 0 RX-packets)
[ "$d" -gt "$c" ] && ok "traffic after the restart ($c -> $d)" ||
	not_ok "traffic after the restart ($c -> $d)"
r=$(tp_xstat 3 0 reconnects)
[ "$r" = 1 ] && ok "xstats: reconnects 1" || not_ok "xstats: reconnects '$r', want 1"
ctl status --json >"$T/out" && grep -q 'link A (host)' "$T/out" &&
	ok "the new vlinkd sees the host end attached" ||
	not_ok "the new vlinkd sees the host end attached"
tp_cmd 3 "stop"
tp_quit 3
kill "$ECHO"; wait "$ECHO"

# --- the link's MTU: both ends honour it -----------------------------------------
ctl create-link M1 02:00:00:00:0a:11 1 --mtu 1500 >/dev/null
expect 0 "mtu: 1500 \\(packets of up to 1518 B\\)" "show: the link's MTU 1500" ctl show M1
"$PEER" --socket "$SOCK" echo M1 -q >/dev/null 2>&1 &
MECHO=$!
BG_PIDS="$BG_PIDS $MECHO"
wait_peer M1 || not_ok "vlink-peer echo attached M1's peer end"
tp_start 7 --vdev "$(vdev 0 M1)"
tp_cmd 7 "show port info 0"
tp_wait 7 'Maximum configurable length of RX packet: 1518' &&
	ok "the PMD's largest packet: MTU 1500 + 18 (dev_info)" ||
	{ not_ok "the PMD's largest packet"; grep -i 'length\|mtu' "$T/tp7.log" | sed 's/^/    /'; }
tp_wait 7 'Link status: up' 10
# stat_above_0 ID PORT FIELD: testpmd's counter is above 0
stat_above_0() { _v=$(tp_stat "$1" "$2" "$3") && [ "$_v" -gt 0 ] 2>/dev/null; }
# 2000 B frames do not fit: the PMD drops them (TX-errors), sends none;
# 1000 B frames go (txonly: testpmd does not receive the echo's)
tp_cmd 7 "set fwd txonly"
tp_cmd 7 "set txpkts 2000"
tp_cmd 7 "start"
until_ok 10 stat_above_0 7 0 TX-errors
tp_cmd 7 "stop"
te=$(tp_stat 7 0 TX-errors) tx=$(tp_stat 7 0 TX-packets) rx=$(tp_stat 7 0 RX-packets)
[ "${te:-0}" -gt 0 ] && [ "$tx" = 0 ] && [ "$rx" = 0 ] &&
	ok "frames of 2000 B on an MTU 1500 link: dropped by the PMD ($te TX-errors), none sent" ||
	not_ok "frames of 2000 B on an MTU 1500 link: TX-errors '$te', TX-packets '$tx', RX-packets '$rx' (want >0, 0, 0)"
tp_cmd 7 "set txpkts 1000"
tp_cmd 7 "start"
until_ok 10 stat_above_0 7 0 TX-packets
tp_cmd 7 "stop"
tx=$(tp_stat 7 0 TX-packets) te2=$(tp_stat 7 0 TX-errors)
[ "${tx:-0}" -gt 0 ] && [ "$te2" = "$te" ] &&
	ok "frames of 1000 B on the same link: sent ($tx), no more TX-errors" ||
	not_ok "frames of 1000 B: TX-packets '$tx', TX-errors '$te2' (was $te)"
kill "$MECHO"; wait "$MECHO"
tp_cmd 7 "port stop 0"
tp_cmd 7 "port config mtu 0 9000"
tp_wait 7 'MTU \(9000\) > device max MTU \(1500\)' &&
	ok "an MTU above the link's is refused (port config mtu 0 9000)" ||
	not_ok "an MTU above the link's is refused"
tp_quit 7
expect 1 "packets of up to 2000 B do not fit link M1: its MTU is 1500 \\(packets of at most 1518 B\\)" \
	"vlink-peer send refuses packets larger than the link's MTU" \
	"$PEER" --socket "$SOCK" send M1 --count 10 --size 64-2000 --wait 5

# --- 7. bad input: the probe fails and says why ----------------------------
# testpmd goes on without a device whose probe failed: the probe's failure
# is EAL's "failed to initialize" plus our message saying why
probe_fails() {
	d=$1 pat=$2; shift 2
	timeout 60 "$TESTPMD" --no-pci --no-huge -m 256 --file-prefix "vlt$$-bad" -d "$PLUGIN" \
		"$@" -- --total-num-mbufs=2048 >"$T/out" 2>&1 </dev/null
	rc=$?
	if [ $rc != 124 ] && grep -q 'failed to initialize net_vlink0' "$T/out" &&
	   grep -q 'No probed ethernet devices' "$T/out" && grep -Eq -- "$pat" "$T/out"; then
		ok "$d"
	else
		not_ok "$d (exit $rc; want a failed probe and /$pat/)"
		sed 's/^/    /' "$T/out" | head -15
	fi
}
probe_fails "unknown devarg named" "unknown argument 'colour'" --vdev "$(vdev 0 A colour=red)"
probe_fails "missing link=" "missing argument link=NAME" --vdev "net_vlink0,socket=$SOCK"
probe_fails "bad end=" "end=middle: must be host, peer or guest" --vdev "$(vdev 0 A end=middle)"
probe_fails "dev= without end=guest" "dev=0000:00:04.0 is for end=guest" \
	--vdev "$(vdev 0 A dev=0000:00:04.0)"
probe_fails "end=guest on a machine without a pci-vlink device" "pci-vlink" \
	--vdev "$(vdev 0 A end=guest,wait=0)"
probe_fails "bad mode=" "mode=ring: must be mq or bond" --vdev "$(vdev 0 A mode=ring)"
probe_fails "bond on the peer end" "mode=bond is for the host end" \
	--vdev "$(vdev 0 A end=peer,mode=bond)"
probe_fails "bad link name" "link is longer than 32 characters" \
	--vdev "net_vlink0,link=abcdefghijklmnopqrstuvwxyz0123456789,socket=$SOCK"
probe_fails "bad wait=" "wait=soon: must be a number of seconds" --vdev "$(vdev 0 A wait=soon)"
probe_fails "bad rx_copybreak=" "rx_copybreak=70000: must be a number of bytes, 0 to 65535" --vdev "$(vdev 0 A rx_copybreak=70000)"
probe_fails "a link vlinkd does not have" "refused to attach link 'nosuch'.*no link" \
	--vdev "$(vdev 0 nosuch)"
probe_fails "the peer end of a missing link" "nosuch" --vdev "$(vdev 0 nosuch end=peer)"
t0=$(date +%s)
probe_fails "no daemon: the probe waits wait= seconds, then fails" \
	"$T/none.sock" --vdev "net_vlink0,link=A,socket=$T/none.sock,wait=2"
t1=$(date +%s)
[ $((t1 - t0)) -ge 2 ] && ok "no daemon: the probe waited ($((t1 - t0)) s)" ||
	not_ok "no daemon: the probe waited only $((t1 - t0)) s"
ctl create-link A2 02:00:00:00:0a:02 1 >/dev/null
"$PEER" --socket "$SOCK" echo A2 -q >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_attached A2 peer true || not_ok "vlink-peer echo attached A2's peer end"
probe_fails "a second peer end of one link is refused" "peer end of link 'A2' is already attached" \
	--vdev "$(vdev 0 A2 end=peer)"
ctl list >"$T/out" 2>&1
grep -q A2 "$T/out" && ok "vlinkd unharmed by the refused probes" ||
	not_ok "vlinkd unharmed by the refused probes"

finish
