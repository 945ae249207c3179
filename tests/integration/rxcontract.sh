#!/bin/sh
# The rx contract, on both ends of the PMD: every mbuf rx_burst returns
# comes from the mempool given to the rx queue, with its private area as
# the application left it (OVS and VPP keep their metadata there), and
# still without a copy (the link buffer attached as an external buffer).
# tests/vlink-rxcheck is the application: it stamps the private area of
# every mbuf of its pool, checks each received segment, frees through
# clones in both orders, or sends the packet back.
#  a. host end <- vlink-peer send, 64-4000 B (chains of up to 2 buffers):
#     all attached, none from another pool, every buffer home at close;
#     then with rx_copybreak=300: the small single-buffer ones copied into
#     the queue's mbufs instead, the rest attached, the same guarantees;
#  b. host end echoing to a testpmd peer end: testpmd gets every packet
#     back, the host end sent them in their own buffers (no tx copy);
#  c. peer end echoing to a testpmd host end: the same from the other side;
#  d. a. and c. again with vlink-rxcheck (the PMD inside it) under
#     valgrind memcheck: no error, same counts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
need_root

RXCHECK="$BUILDDIR/tests/vlink-rxcheck"
PEER="$BUILDDIR/tools/vlink-peer"
COUNT=${VLINK_RXCHECK_COUNT:-20000}
if [ ! -f "$PLUGIN" ] || [ ! -x "$RXCHECK" ]; then
	not_ok "the PMD and tests/vlink-rxcheck are built"
	finish
fi

start_daemon --pool-size 128M || { not_ok "vlinkd starts"; finish; }
ctl create-link A 02:00:00:00:0a:01 1 >/dev/null
ctl create-link B 02:00:00:00:0b:01 1 >/dev/null

rxcheck() { # LOG DEVARGS ARGS... (run it with &: it execs)
	log=$1 dev=$2; shift 2
	exec ${VG:-} "$RXCHECK" --no-pci --no-huge -m 256 --file-prefix "vlrx$$" -d "$PLUGIN" \
		--vdev "$dev" --log-level=pmd.net.vlink:info -- "$@" >"$T/$log" 2>&1
}

# counts LOG: "PKTS SEGS ATTACHED WRONG_POOL PRIV_CHANGED CLONES ECHOED"
counts() {
	sed -n 's/^vlink-rxcheck: \([0-9]*\) packets, \([0-9]*\) segments, \([0-9]*\) attached, \([0-9]*\) from another pool, \([0-9]*\) with the private area changed, \([0-9]*\) clones, \([0-9]*\) echoed$/\1 \2 \3 \4 \5 \6 \7/p' "$T/$1"
}
xstat() { awk -v n="$2" '$1 == "xstat" && $2 == n { v = $3 } END { print v + 0 }' "$T/$1"; }
# grep_wait LOG PATTERN [SECONDS]: until the log has it (default 30 s)
grep_wait() {
	i=0
	until grep -q "$2" "$T/$1"; do
		i=$((i + 1)); [ $i -gt $((${3:-30} * 10)) ] && return 1; sleep 0.1
	done
}
home() { grep -Ec 'closed: ([0-9]+) of \1 buffers home, \1 of \1 mbufs in the pool, 0 bad' "$T/$1"; }

# --- a. host end receives -------------------------------------------------
rxcheck a.log "net_vlink0,link=A,socket=$SOCK" --count "$COUNT" &
RX=$!
BG_PIDS="$BG_PIDS $RX"
"$PEER" --socket "$SOCK" send A --count "$COUNT" --size 64-4000 --rate 20000 -q \
	>"$T/send.out" 2>&1
wait "$RX"; rc=$?
set -- $(counts a.log)
if [ "$rc" = 0 ] && [ "${1:-}" = "$COUNT" ] && [ "$4" = 0 ] && [ "$5" = 0 ]; then
	ok "host end: $1 packets ($2 segments) from the queue's pool, private areas intact"
else
	not_ok "host end: $COUNT packets from the queue's pool, private areas intact (rc $rc)"
	cat "$T/a.log" "$T/send.out"
fi
[ "${3:-}" = "${2:-x}" ] && [ "$2" -gt "$1" ] &&
	ok "host end: every segment attached, none copied ($3 of $2; chains: $(($2 - $1)))" ||
	not_ok "host end: every segment attached (${3:-?} of ${2:-?})"
[ "$(xstat a.log rx_q0_copies)" = 0 ] && ok "host end: rx_q0_copies 0" ||
	not_ok "host end: rx_q0_copies $(xstat a.log rx_q0_copies)"
[ "${6:-0}" -gt 0 ] && [ "$(home a.log)" = 1 ] &&
	ok "host end: through ${6} clones, every buffer home once at close" ||
	{ not_ok "host end: every buffer home at close"; grep 'closed' "$T/a.log"; }
grep -q 'pool 8191 of 8191 mbufs free after close' "$T/a.log" &&
	ok "host end: the application's pool whole after close" ||
	not_ok "host end: the application's pool whole after close"

# --- a2. the same with rx_copybreak: small single-buffer packets copied ----
rxcheck a2.log "net_vlink0,link=A,socket=$SOCK,rx_copybreak=300" --count 5000 &
RX=$!
BG_PIDS="$BG_PIDS $RX"
"$PEER" --socket "$SOCK" send A --count 5000 --size 64-4000 --rate 20000 -q \
	>"$T/send2.out" 2>&1
wait "$RX"; rc=$?
set -- $(counts a2.log)
cp=$(xstat a2.log rx_q0_copies)
if [ "$rc" = 0 ] && [ "${1:-}" = 5000 ] && [ "$4" = 0 ] && [ "$5" = 0 ] && [ "$cp" -gt 0 ] &&
	[ "$3" = $(($2 - cp)) ] && [ "$(home a2.log)" = 1 ]; then
	ok "rx_copybreak=300: $cp small packets copied into the queue's mbufs, the other $3 segments attached; private areas intact, every buffer home"
else
	not_ok "rx_copybreak=300: counts '$*', rx_q0_copies $cp, home $(home a2.log) (rc $rc)"
	cat "$T/a2.log" "$T/send2.out"
fi

# --- b. host end echoes to a testpmd peer end --------------------------------
tp_start 1 --vdev "net_vlink0,link=A,socket=$SOCK,end=peer"
rxcheck b.log "net_vlink0,link=A,socket=$SOCK" --count 640 --echo --hold &
RX=$!
BG_PIDS="$BG_PIDS $RX"
grep_wait b.log 'port 0 up' || not_ok "host end up (b)"
tp_cmd 1 "set fwd rxonly"
tp_cmd 1 "start tx_first 20" # 640 packets of 64 B
i=0
while [ "$(tp_stat 1 0 RX-packets)" != 640 ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
rx=$(tp_stat 1 0 RX-packets)
kill -TERM "$RX"
wait "$RX"; rc=$?
set -- $(counts b.log)
[ "$rc" = 0 ] && [ "${7:-}" = 640 ] && [ "$rx" = 640 ] &&
	ok "host end echoed 640 received mbufs, the peer got 640 back" ||
	{ not_ok "host end echoed 640 (rc $rc, echoed ${7:-?}, peer RX $rx)"; cat "$T/b.log"; }
[ "$(xstat b.log tx_q0_copies)" = 0 ] && ok "host end: sent them in their own buffers (tx_q0_copies 0)" ||
	not_ok "host end: tx_q0_copies $(xstat b.log tx_q0_copies)"
[ "$(home b.log)" = 1 ] && ok "host end: every buffer home at close (b)" ||
	{ not_ok "host end: every buffer home at close (b)"; grep 'closed' "$T/b.log"; }
tp_cmd 1 "stop"
tp_quit 1

# --- c. peer end echoes to a testpmd host end --------------------------------
tp_start 2 --vdev "net_vlink0,link=B,socket=$SOCK"
rxcheck c.log "net_vlink0,link=B,socket=$SOCK,end=peer" --count 640 --echo &
RX=$!
BG_PIDS="$BG_PIDS $RX"
grep_wait c.log 'port 0 up' || not_ok "peer end up (c)"
tp_cmd 2 "set fwd rxonly"
tp_cmd 2 "start tx_first 20"
wait "$RX"; rc=$?
i=0
while [ "$(tp_stat 2 0 RX-packets)" != 640 ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
rx=$(tp_stat 2 0 RX-packets)
set -- $(counts c.log)
[ "$rc" = 0 ] && [ "${1:-}" = 640 ] && [ "$4" = 0 ] && [ "$5" = 0 ] && [ "$3" = "$2" ] &&
	ok "peer end: 640 packets attached to mbufs of the queue's pool, private areas intact" ||
	{ not_ok "peer end: 640 packets from the queue's pool (rc $rc)"; cat "$T/c.log"; }
[ "${7:-}" = 640 ] && [ "$rx" = 640 ] && [ "$(xstat c.log tx_q0_copies)" = 0 ] &&
	ok "peer end echoed all 640 in their own buffers, the host got 640" ||
	not_ok "peer end echo (echoed ${7:-?}, host RX $rx, tx copies $(xstat c.log tx_q0_copies))"
tp_cmd 2 "stop"
tp_quit 2
[ "$(tp_all_home 2)" = 1 ] && ok "the host end: every buffer home at close (c)" ||
	{ not_ok "the host end: every buffer home at close (c)"; grep closed "$T/tp2.log"; }

# --- d. under valgrind ------------------------------------------------------------
if command -v valgrind >/dev/null; then
	VG="valgrind -q --error-exitcode=9 --log-file=$T/vg.%p.log"
	rxcheck d1.log "net_vlink0,link=A,socket=$SOCK" --count 2000 --timeout 120 &
	RX=$!
	BG_PIDS="$BG_PIDS $RX"
	# the link comes up when the peer attaches: the sender waits for it
	"$PEER" --socket "$SOCK" send A --count 2000 --size 64-4000 --rate 2000 -q --wait 120 \
		>"$T/send2.out" 2>&1
	wait "$RX"; rc=$?
	set -- $(counts d1.log)
	[ "$rc" = 0 ] && [ "${1:-}" = 2000 ] && [ "$3" = "$2" ] && [ "$(home d1.log)" = 1 ] &&
		ok "valgrind: host end, 2000 packets ($2 segments) attached, clones, all home, no error" ||
		{ not_ok "valgrind: host end (rc $rc)"; cat "$T/d1.log" "$T"/vg.*.log; }

	tp_start 3 --vdev "net_vlink0,link=B,socket=$SOCK"
	rxcheck d2.log "net_vlink0,link=B,socket=$SOCK,end=peer" --count 640 --echo --timeout 120 &
	RX=$!
	BG_PIDS="$BG_PIDS $RX"
	grep_wait d2.log 'port 0 up' 120 || not_ok "peer end up under valgrind"
	tp_cmd 3 "set fwd rxonly"
	tp_cmd 3 "start tx_first 20"
	wait "$RX"; rc=$?
	set -- $(counts d2.log)
	[ "$rc" = 0 ] && [ "${1:-}" = 640 ] && [ "$3" = 640 ] && [ "${7:-}" = 640 ] &&
		ok "valgrind: peer end, 640 attached and echoed, no error" ||
		{ not_ok "valgrind: peer end (rc $rc)"; cat "$T/d2.log" "$T"/vg.*.log; }
	tp_cmd 3 "stop"
	tp_quit 3
	VG=
else
	not_ok "valgrind installed"
fi
finish
