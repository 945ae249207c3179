#!/bin/sh
# vlinkd killed (-9) and restarted under running peers: the peer ends
# attach again by themselves and the new daemon knows them.
#  1. vlink-peer echo (libvlinkguest, socket mode) with the host-end test
#     program's pingpong running: the peer end is attached again (vlinkctl
#     show), the traffic never stopped (every packet back, intact), a
#     second peer end is refused, and when the echo dies the new vlinkd
#     sees it go and tells the others (END_DOWN);
#  2. the daemon comes back without the link: the echo ends, -ENOLINK;
#     with other memory for it (its region file lost): -ESTALE;
#  3. another peer end took the link before the echo came back: the echo
#     keeps its mapping, keeps trying, and attaches once that one leaves;
#  4. the PMD, both ends of one link in one testpmd (end=peer and
#     end=host): both attach again, traffic goes on, xstat reconnects 1;
#     a daemon with other memory for the link: the peer port goes down.
# VLINK_RECONNECT_COUNT: packets of the pingpong that spans the restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
need_root
HOSTEND="$BUILDDIR/tests/vlink-hostend"
PEER="$BUILDDIR/tools/vlink-peer"
N=${VLINK_RECONNECT_COUNT:-8000000}

# attached LINK END: vlinkctl show says that end of LINK is attached
attached() {
	ctl show "$1" --json >"$T/show.json" 2>&1 &&
		python3 -c "import json,sys; sys.exit(not json.load(open('$T/show.json'))['$2_attached'])"
}

# in_log PATTERN [FILE]: the file matches (default: what the running
# vlinkd logged, not its predecessors)
LOG_FROM=0
new_log() { tail -n "+$((LOG_FROM + 1))" "$T/vlinkd.log"; }
in_log() {
	if [ $# -gt 1 ]; then grep -Eq -- "$1" "$2"; else new_log | grep -Eq -- "$1"; fi
}

# restart_daemon [SIGNAL [vlinkd options]]: stop vlinkd (default kill -9)
# and start it again on the same state
restart_daemon() {
	stop_daemon "${1:-KILL}"
	[ $# -gt 0 ] && shift
	LOG_FROM=$(wc -l <"$T/vlinkd.log")
	start_daemon --pool-size 256M "$@"
}

# gone PID: the process has exited
gone() { ! kill -0 "$1" 2>/dev/null; }

# echo_on LINK: vlink-peer echo on LINK in the background ($E), attached
# and serving (a short pingpong goes through it); under valgrind when
# ECHO_VG is set (its reports in $T/vg.PID)
echo_on() {
	${ECHO_VG:-} "$PEER" --socket "$SOCK" echo "$1" >"$T/e.$1" 2>"$T/e.$1.err" &
	E=$!; BG_PIDS="$BG_PIDS $E"
	until_ok 30 attached "$1" peer &&
		"$HOSTEND" "$SOCK" "$1" pingpong 1000 60-1500 1 >"$T/h.$1" 2>&1
}

# echo_ends DESCRIPTION PATTERN: the echo on G ($E) exits 1, saying PATTERN
echo_ends() {
	if until_ok 30 gone "$E"; then wait "$E"; rc=$?; else rc=running; fi
	if [ "$rc" = 1 ] && in_log "$2" "$T/e.G.err"; then ok "$1"
	else not_ok "$1 (exit $rc, want 1 and /$2/)"; sed 's/^/    /' "$T/e.G.err"; fi
}

start_daemon --pool-size 256M || { not_ok "vlinkd starts"; finish; }

# --- 1. echo + pingpong across a restart -------------------------------------
check "create L" ctl create-link L 02:00:00:00:00:01 1
echo_on L && ok "echo on L attached and serving" ||
	{ not_ok "echo on L attached and serving"; cat "$T/e.L.err" "$T/h.L"; }
"$HOSTEND" "$SOCK" L pingpong "$N" 60-1500 1 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
until_ok 30 attached L host || not_ok "the pingpong's host end attached"
restart_daemon || { not_ok "vlinkd starts again"; finish; }
until_ok 30 attached L peer && ok "the new vlinkd knows the echo's peer end (peer_attached)" ||
	not_ok "the new vlinkd knows the echo's peer end (peer_attached)"
in_log "pid $E\\): attached the peer end of link 'L'" &&
	ok "it is the echo that attached again (pid $E)" ||
	not_ok "it is the echo that attached again (pid $E)"
CL=$(new_log | sed -n "s/.*client \([0-9]*\) (peer, pid $E): attached the peer end of link 'L'.*/\1/p")
kill -0 "$H" 2>/dev/null && ok "the pingpong was still running when the echo came back" ||
	not_ok "the pingpong was still running when the echo came back (raise VLINK_RECONNECT_COUNT)"
expect 1 "peer end of link 'L' is already attached" "a second peer end of L is refused" \
	timeout 20 "$PEER" --socket "$SOCK" --wait 1 echo L
wait "$H" && ok "pingpong: exit 0" || not_ok "pingpong exit status"
grep -Eq "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"$T/h" && ok "traffic never stopped: $N packets back intact, ledger full" ||
	{ not_ok "traffic never stopped"; sed 's/^/    /' "$T/h"; }
ctl monitor --count 1 --timeout 30 >"$T/mon" 2>&1 &
MON=$!; BG_PIDS="$BG_PIDS $MON"
until_ok 30 in_log "monitoring vlinkd events" "$T/mon" || not_ok "monitor started"
kill -9 "$E"; wait "$E" 2>/dev/null
wait "$MON"
in_log "^end-down link L domain default end peer$" "$T/mon" &&
	ok "the echo killed: the new vlinkd broadcasts END_DOWN for L's peer end" ||
	{ not_ok "END_DOWN for L's peer end"; sed 's/^/    /' "$T/mon"; }
in_log "client ${CL:-none}: peer end of link 'L' detached" &&
	ok "vlinkd logs the echo's peer end detached (client ${CL:-none})" ||
	not_ok "vlinkd logs the echo's peer end detached (client ${CL:-none})"
attached L peer && not_ok "peer_attached false after the echo died" ||
	ok "peer_attached false after the echo died"

# --- 2. the daemon comes back without the link, or with other memory --------
# (these echoes under valgrind: the re-attach paths leak nothing)
ECHO_VG="$BUILDDIR/libtool --mode=execute valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
	--error-exitcode=99 --log-file=$T/vg.%p"
check "create G" ctl create-link G 02:00:00:00:00:02 1 --domain g
echo_on G || { not_ok "echo on G"; cat "$T/e.G.err"; }
stop_daemon KILL
mv "$T/state" "$T/state.kept"
restart_daemon || { not_ok "vlinkd starts without state"; finish; }
echo_ends "a daemon without the link: the echo on G ends (-ENOLINK)" \
	"link G: the link was deleted"
stop_daemon
rm -rf "$T/state"
mv "$T/state.kept" "$T/state"
restart_daemon || { not_ok "vlinkd starts with the state back"; finish; }
echo_on G || { not_ok "echo on G again"; cat "$T/e.G.err"; }
stop_daemon KILL
region=$(find "$T/shm" -name g.chan | head -1)
[ -n "$region" ] && rm "$region" || not_ok "G's region file found in $T/shm: $(ls "$T/shm")"
restart_daemon || { not_ok "vlinkd starts with a new region"; finish; }
echo_ends "other memory for the link: the echo on G ends (-ESTALE)" \
	"link G: the link changed under us"

# --- 3. another peer end took the link meanwhile ----------------------------
check "create B" ctl create-link B 02:00:00:00:00:03 1
echo_on B || { not_ok "echo on B"; cat "$T/e.B.err"; }
kill -STOP "$E"
restart_daemon KILL --verbose || { not_ok "vlinkd starts"; finish; }
"$TESTCLIENT" "$SOCK" attach B peer check 0 600 >"$T/holder" 2>&1 &
HOLDER=$!; BG_PIDS="$BG_PIDS $HOLDER"
until_ok 30 attached B peer || not_ok "another peer end holds B"
kill -CONT "$E"
# the echo asks, is refused, asks again... (each try is a new connection)
tries() { [ "$(new_log | grep -c "hello from peer 'libvlinkguest' (pid $E ")" -ge "$1" ]; }
until_ok 30 tries 2 && ! in_log "pid $E\\): attached" &&
	ok "refused while another peer end holds B, the echo keeps trying" ||
	not_ok "the echo keeps trying while another peer end holds B"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null
until_ok 30 in_log "pid $E\\): attached the peer end of link 'B'" &&
	ok "that one gone, the echo attaches B again" || not_ok "the echo attaches B again"
"$HOSTEND" "$SOCK" B pingpong 10000 60-1500 1 >"$T/h" 2>&1 &&
	ok "and serves with its old mapping (10000 packets back intact)" ||
	{ not_ok "the echo serves B after all"; sed 's/^/    /' "$T/h"; }
kill "$E"; wait "$E"
rc=$?
[ $rc = 0 ] && grep -q "^echo: .* 0 bad descriptors" "$T/e.B" &&
	ok "the echo on B ends cleanly on SIGTERM" || not_ok "the echo on B: exit $rc"
for f in "$T"/vg.*; do
	[ -s "$f" ] && { not_ok "valgrind: $(basename "$f") (echo)"; sed 's/^/    /' "$f"; }
done
n=$(ls "$T"/vg.* | wc -l)
[ "$n" = 3 ] && ok "valgrind clean in the 3 echoes of parts 2 and 3" ||
	not_ok "valgrind ran for $n echoes, want 3"
ECHO_VG=

# --- 4. the PMD: peer and host end of one link in one testpmd ---------------
if [ ! -f "$PLUGIN" ] || ! command -v "$TESTPMD" >/dev/null; then
	not_ok "the PMD and dpdk-testpmd are there ($PLUGIN)"
	finish
fi
check "create C" ctl create-link C 02:00:00:00:00:04 1
vdev() { echo "net_vlink$1,link=$2,socket=$SOCK${3:+,$3}"; }
tp_start 1 --vdev "$(vdev 0 C end=peer)" --vdev "$(vdev 1 C)"
tp_cmd 1 "set fwd io"
tp_cmd 1 "start tx_first"
until_ok 30 attached C peer && attached C host || not_ok "both ends of C attached"
restart_daemon || { not_ok "vlinkd starts"; finish; }
tp_wait 1 'net_vlink0: vlinkd is back: link .C. re-attached' 30 &&
	tp_wait 1 'net_vlink1: vlinkd is back: link .C. re-attached' 30 &&
	ok "both ports say they attached again, nothing remapped" ||
	not_ok "both ports say they attached again"
until_ok 30 attached C peer && attached C host &&
	ok "the new vlinkd knows both ends of C" || not_ok "the new vlinkd knows both ends of C"
a0=$(tp_stat 1 0 RX-packets) a1=$(tp_stat 1 1 RX-packets)
sleep 1
b0=$(tp_stat 1 0 RX-packets) b1=$(tp_stat 1 1 RX-packets)
[ "$b0" -gt "$a0" ] && [ "$b1" -gt "$a1" ] &&
	ok "traffic goes on after the restart (port 0 $a0 -> $b0, port 1 $a1 -> $b1)" ||
	not_ok "traffic after the restart (port 0 $a0 -> $b0, port 1 $a1 -> $b1)"
r0=$(tp_xstat 1 0 reconnects) r1=$(tp_xstat 1 1 reconnects)
d0=$(tp_xstat 1 0 daemon_losses)
[ "$r0" = 1 ] && [ "$r1" = 1 ] && [ "$d0" = 1 ] &&
	ok "xstats: reconnects 1 on both ports, daemon_losses 1 on the peer end" ||
	not_ok "xstats: reconnects '$r0' '$r1' (want 1 1), peer daemon_losses '$d0' (want 1)"
tp_cmd 1 "stop"
tp_quit 1
[ "$(tp_all_home 1 net_vlink1)" = 1 ] && ok "every buffer home at close" ||
	{ not_ok "every buffer home at close"; grep closed "$T/tp1.log"; }

# vlinkd comes back with other memory for D (its region file lost): the
# host port keeps the old memory, the peer port stops, link down
check "create D in its own domain" ctl create-link D 02:00:00:00:00:05 1 --domain d
tp_start 2 --vdev "$(vdev 0 D end=peer)" --vdev "$(vdev 1 D)"
tp_cmd 2 "set fwd io"
tp_cmd 2 "start tx_first"
until_ok 30 attached D peer && attached D host || not_ok "both ends of D attached"
tp_cmd 2 "show port info 0"
tp_wait 2 'Link status: up' || not_ok "the peer port of D is up"
stop_daemon KILL
rm -f "$(find "$T/shm" -name d.chan | head -1)"
restart_daemon || { not_ok "vlinkd starts with a new region"; finish; }
tp_wait 2 "net_vlink0: link 'D': vlinkd now has other memory for it" 30 &&
	tp_wait 2 "net_vlink1: reconnecting: vlinkd now has other memory for link 'D'" 30 &&
	ok "other memory for D: both ports say so" || not_ok "other memory for D: both ports say so"
tp_cmd 2 "show port info 0"
tp_wait 2 'Link status: down' && ok "the peer port's link is down for good" ||
	not_ok "the peer port's link is down for good"
tp_cmd 2 "stop"
tp_quit 2
finish
