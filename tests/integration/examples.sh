#!/bin/sh
# DPDK's own example programs, unmodified, with net_vlink ports: built
# from the dpdk source package (install-deps.sh unpacks it under
# $VLINK_CACHE/src) against the installed libdpdk, run with the plugin
# loaded by -d, fed and drained by socket-mode vlink-peer:
#  - l2fwd (-p 0x3, --no-mac-updating): vlink-peer send on link A ->
#    l2fwd -> vlink-peer recv on link B, then B -> A, every byte checked
#    by recv, l2fwd's own counters exact; SIGINT: it stops and closes both
#    ports with every buffer home;
#  - l2fwd as documented (MAC updating on): every packet arrives, with the
#    Ethernet header rewritten (recv counts them corrupt: vlink-peer's
#    payload starts at byte 0, where l2fwd writes the MACs);
#  - skeleton (basicfwd): A -> B and B -> A, exact (it counts nothing: the
#    PMD's counters are read through DPDK's telemetry socket); it has no
#    signal handler and never closes its ports: killed, vlinkd sees both
#    host ends go, and the next program attaches the links again;
#  - l3fwd-power: no cpufreq here, so it falls back to interrupt-only mode
#    and, with no rx interrupts from the PMD, polls; the PMD gives no
#    packet types, so it runs with --parse-ptype; it routes IPv4/IPv6 only
#    and vlink-peer's packets are neither: it receives and drops them, and
#    every buffer is home when it closes its ports.
# multi_process examples are not run: they need hugepages shared between
# processes, and the PMD refuses secondary processes.
#
# l2fwd and basicfwd drop what a port cannot send (no retry): a sender
# starts only once the receiver's link is up in the current epoch, and
# the links' rings are larger than the default, so that a receiver the
# scheduler holds back for a while loses nothing.
#
# Environment: VLINK_CACHE (default /var/cache/vlink), VLINK_EXAMPLES (which
# to run, default "l2fwd skeleton l3fwd-power"), VLINK_EXAMPLES_COUNT
# (packets per direction, default 20000), VLINK_EXAMPLES_RATE (packets/s,
# default 10000), VLINK_EXAMPLES_RING (descriptors per ring, default 8192).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
. "$(dirname "$0")/../../scripts/lib/dpdk.sh"
need_root

# run a private copy of the plugin in any case: the build copies a new one
# over it in place, which would crash (SIGBUS) a program that has it mapped
if [ -f "$PLUGIN" ] && [ -z "${PLUGIN_DIR:-}" ]; then
	PLUGIN_DIR=$(mktemp -d /run/vlink-plugin.XXXXXX)
	cp "$PLUGIN" "$PLUGIN_DIR/"
	PLUGIN="$PLUGIN_DIR/librte_net_vlink.so"
	CLEANUP_PATHS="${CLEANUP_PATHS:-} $PLUGIN_DIR"
fi

PEER="$BUILDDIR/tools/vlink-peer"
COUNT=${VLINK_EXAMPLES_COUNT:-20000}
RATE=${VLINK_EXAMPLES_RATE:-10000}
# l2fwd and basicfwd drop what the ring towards a receiver has no room
# for: room for 8192 descriptors, some 300 ms of traffic at 10000 packets
# of 60-9000 B a second, for a receiver that the scheduler holds back
RING=${VLINK_EXAMPLES_RING:-8192}
CACHE=${VLINK_CACHE:-/var/cache/vlink}

if [ ! -f "$PLUGIN" ]; then
	not_ok "the PMD is built ($PLUGIN missing: configure found no DPDK SDK?)"
	finish
fi
if ! pkg-config --exists libdpdk; then
	echo "SKIP: $NAME needs libdpdk-dev (pkg-config libdpdk)"
	exit 77
fi
EXSRC=$(dpdk_src_dir)/examples
if [ ! -d "$EXSRC/l2fwd" ]; then
	echo "SKIP: $NAME needs the dpdk source package under $CACHE/src (scripts/install-deps.sh)"
	exit 77
fi

# build EXAMPLE: copy examples/EXAMPLE out of the (read-only) source cache
# and build it with its own Makefile (pkg-config libdpdk, shared)
build() {
	mkdir -p "$T/ex"
	cp -R "$EXSRC/$1" "$T/ex/"
	if make -C "$T/ex/$1" >"$T/build-$1.log" 2>&1; then
		ok "$1 built from $EXSRC/$1"
	else
		not_ok "$1 built from $EXSRC/$1"
		tail -20 "$T/build-$1.log" | sed 's/^/    /'
		return 1
	fi
}

start_daemon --pool-size 256M || { not_ok "vlinkd starts"; finish; }
ctl create-link A 02:00:00:00:0a:01 1 --ring-size "$RING" >/dev/null
ctl create-link B 02:00:00:00:0b:01 1 --ring-size "$RING" >/dev/null

vdevs="--vdev net_vlink0,link=A,socket=$SOCK --vdev net_vlink1,link=B,socket=$SOCK"

# ex_start ID PROGRAM APP-ARGS...: start a built example in the background,
# one lcore that may run on either CPU, no hugepages, both links as ports
# 0 (A) and 1 (B); its output goes to $T/exID.log
ex_start() {
	id=$1 prog=$2; shift 2
	CLEANUP_PATHS="${CLEANUP_PATHS:-} /var/run/dpdk/vlx$$-$id"
	# shellcheck disable=SC2086
	stdbuf -oL "$prog" --no-pci --no-huge -m 512 --file-prefix "vlx$$-$id" --lcores '0@(0,1)' \
		-d "$PLUGIN" --log-level=pmd.net.vlink:info $vdevs -- "$@" \
		</dev/null >"$T/ex$id.log" 2>&1 &
	eval "EX_PID_$id=$!"
	BG_PIDS="$BG_PIDS $!"
}

ex_pid() { eval "echo \$EX_PID_$1"; }

# ex_wait ID REGEX [SECONDS]: until the log matches; fails (and shows the
# log) if the program exits first or after SECONDS
ex_wait() {
	id=$1 pat=$2 max=${3:-20}
	i=0
	while ! grep -Eq -- "$pat" "$T/ex$id.log"; do
		i=$((i + 1))
		if ! kill -0 "$(ex_pid "$id")" 2>/dev/null || [ $i -gt $((max * 10)) ]; then
			if kill -0 "$(ex_pid "$id")" 2>/dev/null; then
				echo "    (example $id: no /$pat/ after ${max} s; its log:)"
			else
				wait "$(ex_pid "$id")"
				echo "    (example $id exited, status $?, before /$pat/; its log:)"
			fi
			tail -30 "$T/ex$id.log" | sed 's/^/    /'
			if grep -q 'undefined symbol: rte_vdev_register' "$T/ex$id.log"; then
				echo "    (the plugin lacks a NEEDED entry for librte_bus_vdev: programs"
				echo "     that do not link it themselves cannot load the plugin)"
			fi
			return 1
		fi
		sleep 0.1
	done
}

# ex_stop ID SIGNAL [SECONDS]: signal it and wait for it (killed after
# SECONDS); the program's exit status (128 + n if killed by signal n)
ex_stop() {
	id=$1 pid=$(ex_pid "$1")
	kill "-$2" "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $((${3:-20} * 10)) ]; then
			echo "    (example $id did not stop in ${3:-20} s)"
			kill -9 "$pid" 2>/dev/null
			break
		fi
		sleep 0.1
	done
	wait "$pid"
}

# ex_tm ID COMMAND [KEYS]: ask the program's telemetry socket (e.g.
# /ethdev/stats,0 or /ethdev/xstats,1); KEYS: print only these of the
# answer, "key=value" each (every program here has DPDK's telemetry)
ex_tm() {
	python3 - "/var/run/dpdk/vlx$$-$1/dpdk_telemetry.v2" "$2" "${3:-}" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.recv(4096)  # the greeting
s.send(sys.argv[2].encode())
v = json.loads(s.recv(1 << 20).decode())[sys.argv[2].split(",")[0]]
keys = sys.argv[3].split()
print(" ".join("%s=%s" % (k, v[k]) for k in (keys or sorted(v)) if k in v))
EOF
}

# port_diag ID RXPORT TXPORT: the PMD's counters, for a failure
port_diag() {
	echo "    port $2: $(ex_tm "$1" "/ethdev/stats,$2" "ipackets ierrors rx_nombuf")"
	echo "    port $3: $(ex_tm "$1" "/ethdev/stats,$3" "opackets oerrors")"
	echo "    port $3: $(ex_tm "$1" "/ethdev/xstats,$3" "tx_q0_ring_full tx_q0_nobuf tx_q0_copies resets")"
	grep -c 'resetting the link' "$T/ex$1.log" | sed 's/^/    resets logged: /'
}

# all_home ID: how many net_vlink ports logged, at close, every buffer home
# and every mbuf in its pool with no bad descriptor
all_home() {
	grep -Ec "net_vlink[0-9]+: closed: ([0-9]+) of \\1 buffers home, ([0-9]+) of \\2 mbufs in the pool, 0 bad" \
		"$T/ex$1.log"
}

# wait_up LINK: until both ends are up in the same epoch: the host end
# sends only to a peer that acknowledged its epoch, and an application
# that does not wait for link up (basicfwd) drops what it could not send
both_up() {
	"$PEER" --socket "$SOCK" stats "$1" 2>/dev/null |
		grep -Eq 'host end: up, epoch ([0-9]+); peer end: up, acked epoch \1$'
}
wait_up() {
	until_ok 30 both_up "$1" && return 0
	echo "    (link $1 not up after 30 s:)"
	"$PEER" --socket "$SOCK" stats "$1" 2>&1 | sed 's/^/    /'
	return 1
}

# recv_start LINK [COUNT]: vlink-peer recv in the background, attached
recv_start() {
	"$PEER" --socket "$SOCK" recv "$1" --count "${2:-$COUNT}" -t 20 -q >"$T/recv.out" 2>&1 &
	RECV=$!
	BG_PIDS="$BG_PIDS $RECV"
	wait_peer "$1" || echo "    (vlink-peer recv did not attach to $1)"
}

# send_start LINK [COUNT]: vlink-peer send in the background, 60-9000 B
send_start() {
	"$PEER" --socket "$SOCK" send "$1" --count "${2:-$COUNT}" --size 60-9000 \
		--rate "$RATE" -t 20 -q >"$T/send.out" 2>&1 &
	SEND=$!
	BG_PIDS="$BG_PIDS $SEND"
}

# flow SRC DST [COUNT]: once the receiver on DST is up, the sender on SRC
flow() {
	wait_up "$2"
	send_start "$1" ${3:-}
}

# peers_done: wait for both (each gives up after 20 s without progress);
# sets SRC and RRC
peers_done() {
	wait "$SEND"
	SRC=$?
	wait "$RECV"
	RRC=$?
}

# l2fwd's periodic statistics (-T 1): l2_blocks counts the blocks printed
# so far; l2_stat PORT sent|received|dropped reads the last complete one
l2_blocks() { grep -c '^====================================================$' "$T/ex$1.log"; }
l2_stat() {
	awk -v p="$2" -v f="$3:" '
		/^Statistics for port/ { cur = $4 }
		/^Aggregate statistics/ { cur = "" }
		$1 == "Packets" && $2 == f && cur == p { v = $3 }
		/^====================================================$/ { out = v }
		END { print out }' "$T/ex$1.log"
}
# l2_fresh ID: until a block is printed after this call
l2_fresh() {
	n=$(l2_blocks "$1")
	i=0
	while [ "$(l2_blocks "$1")" -le "$n" ]; do
		i=$((i + 1))
		[ $i -gt 50 ] && return 1
		sleep 0.1
	done
}

# l2_start ID L2FWD-ARGS...: l2fwd forwarding, with the receiver on B
# (started before) up and nothing sent yet.  l2fwd waits (up to 9 s) for
# both links up before it forwards: a placeholder peer holds link A up
# meanwhile and leaves before the sender comes (a sender started earlier
# would fill A's ring, and l2fwd would pour it all at once towards B)
l2_start() {
	l2id=$1; shift
	"$PEER" --socket "$SOCK" echo A -q >"$T/echo.out" 2>&1 &
	ECHO=$!
	BG_PIDS="$BG_PIDS $ECHO"
	wait_peer A || echo "    (vlink-peer echo did not attach to A)"
	ex_start "$l2id" "$L2FWD" "$@"
	ex_wait "$l2id" 'entering main loop on lcore' 30
	rc=$?
	kill "$ECHO"
	wait "$ECHO"
	wait_attached A peer false || echo "    (vlink-peer echo did not leave A)"
	return $rc
}

# --- 1. l2fwd, both directions, exact ---------------------------------------
l2fwd() {
	L2FWD="$T/ex/l2fwd/build/l2fwd"
	recv_start B
	if ! l2_start 1 -p 0x3 -q 2 -T 1 --no-mac-updating; then
		not_ok "l2fwd starts with two net_vlink ports"
		kill "$RECV" 2>/dev/null
		wait "$RECV" 2>/dev/null
		return 1
	fi
	ok "l2fwd starts with two net_vlink ports"
	grep -Eq '^Port 0 Link up' "$T/ex1.log" && grep -Eq '^Port 1 Link up' "$T/ex1.log" &&
		ok "l2fwd: both links up when it starts forwarding" ||
		{ not_ok "l2fwd: both links up when it starts forwarding"; grep '^Port' "$T/ex1.log"; }
	for dir in "A B 0 1" "B A 1 0"; do
		set -- $dir
		if [ "$1" = A ]; then
			flow A B
		else
			recv_start A
			flow B A
		fi
		peers_done
		l2_fresh 1
		rx=$(l2_stat 1 "$3" received) tx=$(l2_stat 1 "$4" sent)
		if [ $SRC = 0 ] && [ $RRC = 0 ] && [ "$rx" = "$COUNT" ] && [ "$tx" = "$COUNT" ]; then
			ok "l2fwd $1 -> $2: $COUNT packets of 60-9000 B, all intact (l2fwd: port $3 received $rx, port $4 sent $tx)"
		else
			not_ok "l2fwd $1 -> $2: send $SRC recv $RRC, l2fwd port $3 received '$rx', port $4 sent '$tx' (want $COUNT), dropped '$(l2_stat 1 "$4" dropped)'"
			sed 's/^/    /' "$T/send.out" "$T/recv.out"
			port_diag 1 "$3" "$4"
		fi
	done
	d0=$(l2_stat 1 0 dropped) d1=$(l2_stat 1 1 dropped)
	[ "$d0" = 0 ] && [ "$d1" = 0 ] && ok "l2fwd dropped nothing" ||
		not_ok "l2fwd dropped '$d0' on port 0, '$d1' on port 1"
	ex_stop 1 INT
	rc=$?
	[ $rc = 0 ] && grep -q '^Bye' "$T/ex1.log" && ok "l2fwd stops on SIGINT, exit 0" ||
		{ not_ok "l2fwd stops on SIGINT (exit $rc)"; tail -10 "$T/ex1.log" | sed 's/^/    /'; }
	[ "$(all_home 1)" = 2 ] && ok "l2fwd: both ports closed with every buffer home" ||
		{ not_ok "l2fwd: both ports closed with every buffer home"; grep closed "$T/ex1.log"; }
}

# --- 2. l2fwd with its MAC rewriting (the default) ---------------------------
l2fwd_mac() {
	n=2000
	recv_start B $n
	if ! l2_start 2 -p 0x3 -q 2 -T 1; then
		not_ok "l2fwd with MAC updating starts"
		kill "$RECV" 2>/dev/null
		wait "$RECV" 2>/dev/null
		return 1
	fi
	flow A B $n
	peers_done
	# vlink-peer recv: every packet arrives, none intact (its check starts
	# at byte 0: magic, size and sequence number under the MACs)
	if [ $SRC = 0 ] && [ $RRC = 1 ] &&
	   grep -Eq "^recv: $n packets .*: 0 intact, $n corrupt, 0 lost" "$T/recv.out"; then
		ok "l2fwd with MAC updating: all $n arrive, every header rewritten"
	else
		not_ok "l2fwd with MAC updating: send $SRC recv $RRC (want all $n received, all rewritten; l2fwd dropped '$(l2_stat 2 1 dropped)')"
		sed 's/^/    /' "$T/send.out" "$T/recv.out"
	fi
	ex_stop 2 TERM
	rc=$?
	[ $rc = 0 ] && [ "$(all_home 2)" = 2 ] &&
		ok "l2fwd stops on SIGTERM, both ports closed with every buffer home" ||
		{ not_ok "l2fwd stops on SIGTERM (exit $rc), every buffer home"; tail -6 "$T/ex2.log"; }
}

# --- 3. skeleton (basicfwd) ---------------------------------------------------
skeleton() {
	recv_start B
	ex_start 3 "$T/ex/skeleton/build/basicfwd"
	if ! ex_wait 3 'forwarding packets' 30; then
		not_ok "basicfwd starts with two net_vlink ports"
		kill "$RECV" 2>/dev/null
		wait "$RECV" 2>/dev/null
		return 1
	fi
	ok "basicfwd starts with two net_vlink ports"
	# basicfwd counts nothing: the PMD's counters, through telemetry
	for dir in "A B 0 1" "B A 1 0"; do
		set -- $dir
		if [ "$1" = A ]; then
			flow A B
		else
			recv_start A
			flow B A
		fi
		peers_done
		rx=$(ex_tm 3 "/ethdev/stats,$3" ipackets) tx=$(ex_tm 3 "/ethdev/stats,$4" opackets)
		if [ $SRC = 0 ] && [ $RRC = 0 ] && [ "$rx" = "ipackets=$COUNT" ] && [ "$tx" = "opackets=$COUNT" ]; then
			ok "basicfwd $1 -> $2: $COUNT packets of 60-9000 B, all intact (port $3 $rx, port $4 $tx)"
		else
			not_ok "basicfwd $1 -> $2: send $SRC recv $RRC, port $3 $rx, port $4 $tx (want $COUNT)"
			sed 's/^/    /' "$T/send.out" "$T/recv.out"
			port_diag 3 "$3" "$4"
		fi
	done
	# no signal handler: SIGTERM ends it without closing its ports
	ex_stop 3 TERM
	wait_attached A host false && wait_attached B host false &&
		ok "basicfwd killed: vlinkd lets both host ends go" ||
		{ not_ok "basicfwd killed: vlinkd lets both host ends go"; sed 's/^/    /' "$T/wait.json"; }
}

# --- 4. l3fwd-power -----------------------------------------------------------
l3fwd_power() {
	n=2000
	"$PEER" --socket "$SOCK" echo B -q >"$T/echo.out" 2>&1 &
	ECHO=$!
	BG_PIDS="$BG_PIDS $ECHO"
	"$PEER" --socket "$SOCK" send A --count $n --size 64-1500 --rate "$RATE" -t 20 -q \
		>"$T/send.out" 2>&1 &
	SEND=$!
	BG_PIDS="$BG_PIDS $SEND"
	ex_start 4 "$T/ex/l3fwd-power/build/l3fwd-power" -p 0x3 --config '(0,0,0),(1,0,0)' --parse-ptype
	if ! ex_wait 4 'entering main (interrupt )?loop on lcore' 30; then
		not_ok "l3fwd-power starts with two net_vlink ports"
		kill "$SEND" "$ECHO" 2>/dev/null
		wait "$SEND" "$ECHO" 2>/dev/null
		return 1
	fi
	mode=$(sed -n 's/.*Selected operation mode: //p' "$T/ex4.log")
	ok "l3fwd-power starts with two net_vlink ports (mode: $mode)"
	wait "$SEND"
	SRC=$?
	# what port 0 received, from the PMD's counters through telemetry
	i=0
	while rx=$(ex_tm 4 /ethdev/stats,0 ipackets) && [ "$rx" != "ipackets=$n" ] && [ $i -lt 50 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	[ $SRC = 0 ] && [ "$rx" = "ipackets=$n" ] && ok "l3fwd-power received all $n packets (not IP: dropped)" ||
		{ not_ok "l3fwd-power received all $n packets (send $SRC, port 0 $rx)"
		  sed 's/^/    /' "$T/send.out"; }
	ex_stop 4 INT
	rc=$?
	[ $rc = 0 ] && [ "$(all_home 4)" = 2 ] &&
		ok "l3fwd-power stops on SIGINT, both ports closed with every buffer home" ||
		{ not_ok "l3fwd-power stops on SIGINT (exit $rc), every buffer home"; tail -8 "$T/ex4.log"; }
	kill "$ECHO" 2>/dev/null
	wait "$ECHO" 2>/dev/null
}

for ex in ${VLINK_EXAMPLES:-l2fwd skeleton l3fwd-power}; do
	case $ex in
	l2fwd) build l2fwd && l2fwd && l2fwd_mac ;;
	skeleton) build skeleton && skeleton ;;
	l3fwd-power) build l3fwd-power && l3fwd_power ;;
	*) not_ok "no example '$ex' here" ;;
	esac
done

finish
