#!/bin/sh
# Event mode (docs/shm.md "Sleeping", docs/protocol.md "Notifiers"): ends
# that sleep when idle, woken through vlinkd's notifiers, nothing lost.
#  - host -> peer: vlink-peer recv --mode event against a host end
#    (tests/vlink-hostend, the PMD's vlink_hostend) that sends 100000
#    packets in bursts of 1000 with 20 ms idle between: every packet intact
#    and in order, the receiver slept, the host end woke it, no sleep ran
#    into its timeout with packets waiting (no wake-up lost);
#  - peer -> host: the host end sleeps on its own notifier between the
#    packets of a paced vlink-peer send: every packet intact, it slept;
#  - an idle receiver in event mode uses under 1% of a core over 10 s
#    (/proc/PID/stat); the same in poll mode is logged beside it;
#  - DPDK's own l3fwd-power --interrupt-only on net_vlink ports, both ends
#    of a link (the host end, then the peer end), dpdk-testpmd at the other
#    end sending batches (tx_first) and counting what comes back: every
#    packet sent comes back (a sender to a host end asleep sends fewer
#    than it tried: only the fill stock is ready until the host wakes; see
#    tp_rounds in scripts/lib/testpmd.sh), l3fwd-power logs its wake-ups
#    from rx interrupts, and its idle CPU is low; then vlinkd is killed (-9) and restarted while both
#    stay up: new notifiers are swapped in at both ends, and the next
#    batches come back exactly;
#  - vlink-peer echo in event mode against testpmd's host end across a
#    vlinkd restart: every batch back, no late wake-up.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
HOSTEND="$BUILDDIR/tests/vlink-hostend"
PEER="$BUILDDIR/tools/vlink-peer"
N=100000

summary() { grep -hE '^(hostend|recv|send|echo)' "$@" | sed 's/^/# /'; }

# cpu_ticks PID: user + system time so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# idle_cpu PID SECONDS: the share of a core PID used over SECONDS, in
# hundredths of a percent (integer)
idle_cpu() {
	a=$(cpu_ticks "$1"); sleep "$2"; b=$(cpu_ticks "$1")
	echo $(( (b - a) * 10000 / (HZ * $2) ))
}
pct() { printf '%d.%02d%%' $(($1 / 100)) $(($1 % 100)); }

# restart_daemon: kill -9 vlinkd and start it again on the same state
restart_daemon() {
	kill -9 "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null
	start_daemon || not_ok "vlinkd starts again"
}
# both_attached LINK: until vlinkd shows both ends of LINK attached again
both_attached() {
	until_ok 15 sh -c "'$VLINKCTL' --socket '$SOCK' show $1 | grep -q 'host end: attached' &&
		'$VLINKCTL' --socket '$SOCK' show $1 | grep -q 'peer end: attached'" ||
		not_ok "both ends of $1 attached again within 15 s"
}

start_daemon || exit 1
check "create e1" ctl create-link e1 02:00:00:00:0e:01 1

# host -> peer, in bursts with idle gaps
"$HOSTEND" --gaps 1000,20 "$SOCK" e1 send $N 60-1500 1 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
"$PEER" --socket "$SOCK" recv e1 --count $N --mode event --timeout 30 >"$T/p" 2>"$T/p.err"
prc=$?; wait "$H"; hrc=$?
[ $prc = 0 ] && [ $hrc = 0 ] && ok "host -> peer in bursts: both ends exit 0" ||
	not_ok "exit status: peer $prc, host $hrc: $(cat "$T/p.err" "$T/h")"
expect_line "$T/p" "^recv: $N packets .*: $N intact, 0 corrupt, 0 lost, 0 out of order" \
	"host -> peer: $N packets intact, in order, to a receiver in event mode"
expect_line "$T/p" "^recv: [1-9][0-9]* sleeps, 0 late" \
	"the receiver slept between bursts and no wake-up was lost"
expect_line "$T/h" "event mode: [0-9]+ sleeps, [1-9][0-9]* wake-ups sent to the peer" \
	"the host end woke it"
expect_line "$T/h" "ledger: ([0-9]+) of \\1 buffers home, 0 bad descriptors" \
	"every buffer back in the host's ledger"
summary "$T/h" "$T/p"

# peer -> host: the host end sleeps between the paced packets
"$HOSTEND" --event "$SOCK" e1 recv 20000 60-1500 1 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
"$PEER" --socket "$SOCK" send e1 --count 20000 --size 60-1500 --rate 10000 >"$T/p" 2>"$T/p.err"
prc=$?; wait "$H"; hrc=$?
[ $prc = 0 ] && [ $hrc = 0 ] && ok "peer -> host, paced: both ends exit 0" ||
	not_ok "exit status: peer $prc, host $hrc: $(cat "$T/p.err" "$T/h")"
expect_line "$T/h" "received 20000 \\(20000 intact, 0 corrupt, 0 lost, 0 out of order\\)" \
	"peer -> host: 20000 packets intact to a host end that sleeps"
expect_line "$T/h" "event mode: [1-9][0-9]* sleeps" "the host end slept between packets"
summary "$T/h" "$T/p"

# an idle receiver: event mode against poll mode, the host end attached
# and silent (one packet, 13 s of gap, one packet)
for mode in event poll; do
	"$HOSTEND" --gaps 1,13000 "$SOCK" e1 send 2 64 1 >"$T/h" 2>&1 &
	H=$!; BG_PIDS="$BG_PIDS $H"
	"$PEER" --socket "$SOCK" recv e1 --count 2 --mode $mode --timeout 30 >"$T/p" 2>"$T/p.err" &
	P=$!; BG_PIDS="$BG_PIDS $P"
	until_ok 10 grep -q "recv: 1 packets" "$T/p.err"
	cpu=$(idle_cpu "$P" 10)
	echo "# idle receiver, $mode mode: $(pct "$cpu") of a core over 10 s"
	if [ $mode = event ]; then
		[ "$cpu" -lt 100 ] && ok "an idle receiver in event mode uses $(pct "$cpu") of a core (< 1%)" ||
			not_ok "an idle receiver in event mode uses $(pct "$cpu") of a core (want < 1%)"
	fi
	wait "$P"; prc=$?; wait "$H"
	[ $prc = 0 ] && ok "$mode mode: both packets received after the idle spell" ||
		not_ok "$mode mode: recv exit $prc: $(cat "$T/p" "$T/p.err")"
done

# DPDK's l3fwd-power in interrupt-only mode on each end of link L
if [ ! -f "$PLUGIN" ] || ! command -v "$TESTPMD" >/dev/null; then
	not_ok "the PMD and dpdk-testpmd are there for l3fwd-power ($PLUGIN)"
	finish
fi
need_root
if ! L3=$(sh "$SRCDIR/scripts/build-dpdk-example.sh" l3fwd-power 2>"$T/build.err"); then
	not_ok "l3fwd-power built: $(tail -5 "$T/build.err")"
	finish
fi
ok "l3fwd-power built from the dpdk source ($L3)"
check "create L" ctl create-link L 02:00:00:00:0f:01 1

# l3_start END: l3fwd-power on that end of L, one lcore, interrupt-only,
# --parse-ptype (the PMD gives no packet types); testpmd's packets are
# IPv4/UDP to 198.18.0.2, no route: back out of the port they came in by
l3_start() {
	CLEANUP_PATHS="${CLEANUP_PATHS:-} /var/run/dpdk/vle$$-l3"
	stdbuf -oL "$L3" --no-pci --no-huge -m 256 --file-prefix "vle$$-l3" --lcores '0@0' \
		-d "$PLUGIN" --log-level=pmd.net.vlink:info \
		--vdev "net_vlink0,end=$1,link=L,socket=$SOCK" \
		-- -p 0x1 --config '(0,0,0)' --interrupt-only --parse-ptype \
		</dev/null >"$T/l3-$1.log" 2>&1 &
	L3_PID=$!; BG_PIDS="$BG_PIDS $L3_PID"
	until_ok 20 grep -q "entering main interrupt loop" "$T/l3-$1.log"
}
l3_stop() {
	kill -INT "$L3_PID"
	wait_exit "$L3_PID" 20
}
wakes() { grep -c "is waked up from rx interrupt" "$T/l3-$1.log"; }

# l3_round END OTHER: l3fwd-power on END, testpmd on OTHER in rxonly: 3
# batches of 960 packets, all back; then idle CPU, a vlinkd restart, 3
# batches more
l3_round() {
	l3_start "$1"
	grep -E "RX interrupt won't enable|Intr handle unset|rx interrupts:" "$T/l3-$1.log" |
		sed 's/^/    /'
	TP_ARGS="--forward-mode=rxonly" tp_start 1 --lcores 0@1,1@1 \
		--vdev "net_vlink0,end=$2,link=L,socket=$SOCK"
	w0=$(wakes "$1")
	set -- "$1" "$2" $(tp_rounds 1 3)
	[ "$3" -gt 0 ] && [ "$3" = "$4" ] &&
		ok "l3fwd-power on the $1 end: 3 batches, $3 sent by testpmd, $4 back" ||
		not_ok "l3fwd-power on the $1 end: sent $3, back $4"
	[ "$(wakes "$1")" -gt "$w0" ] &&
		ok "l3fwd-power ($1 end) woke from rx interrupts ($(wakes "$1") times)" ||
		not_ok "l3fwd-power ($1 end) logged no wake-up from an rx interrupt"
	cpu=$(idle_cpu "$L3_PID" 5)
	echo "# l3fwd-power ($1 end) idle: $(pct "$cpu") of a core over 5 s"
	[ "$cpu" -lt 1000 ] && ok "l3fwd-power ($1 end) sleeps when idle: $(pct "$cpu") of a core" ||
		not_ok "l3fwd-power ($1 end) idle uses $(pct "$cpu") of a core (want < 10%)"
	# vlinkd restarts; both ends attach again and swap the new notifiers in
	restart_daemon
	both_attached L
	w0=$(wakes "$1") tx0=$3
	set -- "$1" "$2" $(tp_rounds 1 3)
	[ "$3" -gt "$tx0" ] && [ "$3" = "$4" ] &&
		ok "after a vlinkd restart: 3 batches more, all back ($4 of $3)" ||
		not_ok "after a vlinkd restart: sent $3, back $4 (before: $tx0)"
	[ "$(wakes "$1")" -gt "$w0" ] &&
		ok "l3fwd-power ($1 end) woke from rx interrupts after the restart" ||
		not_ok "l3fwd-power ($1 end) logged no wake-up after the restart"
	tp_quit 1
	l3_stop && ok "l3fwd-power ($1 end) exits on SIGINT" || not_ok "l3fwd-power did not exit"
	hlog=$T/tp1.log
	[ "$1" = host ] && hlog=$T/l3-host.log
	expect_line "$hlog" "net_vlink0: closed: ([0-9]+) of \\1 buffers home, .* 0 bad descriptors" \
		"the host end ($(basename "$hlog")) closed with every buffer home"
}
l3_round host peer
l3_round peer host

# vlink-peer in event mode against testpmd's host end, across a restart
TP_ARGS="--forward-mode=rxonly" tp_start 2 --lcores 0@1,1@1 \
	--vdev "net_vlink0,link=e1,socket=$SOCK"
"$PEER" --socket "$SOCK" echo e1 --mode event >"$T/e" 2>"$T/e.err" &
E=$!; BG_PIDS="$BG_PIDS $E"
wait_peer e1
set -- $(tp_rounds 2 3)
[ "$1" = 2880 ] && [ "$2" = 2880 ] && ok "vlink-peer echo (event mode): 2880 of 2880 back" ||
	not_ok "vlink-peer echo (event mode): sent $1, back $2"
restart_daemon
both_attached e1
set -- $(tp_rounds 2 3)
[ "$1" = 5760 ] && [ "$2" = 5760 ] &&
	ok "after a vlinkd restart: 2880 more through the echo, all back (5760 of 5760)" ||
	not_ok "after a vlinkd restart: sent $1, back $2 (want 5760, 5760)"
kill -INT "$E"; wait "$E"
expect_line "$T/e" "^echo: [1-9][0-9]* sleeps, [0-2] late" \
	"the echo slept between batches; no wake-up lost (0-2 late: a sleep may end as one comes)"
summary "$T/e"
tp_quit 2
finish
