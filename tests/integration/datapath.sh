#!/bin/sh
# The data path in socket mode: vlink-peer (libvlinkguest) against the
# host-end test program (rings, ledger, linkmem: the PMD's code), through a
# real vlinkd.  10 million packets each way, sizes 60-9000 bytes (chains of
# 2 KiB buffers), every byte checked, every buffer back in the host's ledger.
# VLINK_DATAPATH_COUNT overrides the count.
. "$(dirname "$0")/lib.sh"
HOSTEND="$BUILDDIR/tests/vlink-hostend"
PEER="$BUILDDIR/tools/vlink-peer"
N=${VLINK_DATAPATH_COUNT:-10000000}

start_daemon || exit 1
check "create l1 (2 data channels)" ctl create-link l1 02:00:00:00:00:01 2

# host -> peer: the peer receives and checks
"$HOSTEND" "$SOCK" l1 send "$N" 60-9000 1 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
"$PEER" --socket "$SOCK" recv l1 --count "$N" --timeout 30 >"$T/p" 2>"$T/p.err"
prc=$?; wait "$H"; hrc=$?
summary() { grep -hE '^(hostend [a-z]+|recv|send|echo):' "$@" | sed 's/^/# /'; }
[ $prc = 0 ] && ok "peer recv: exit 0" || not_ok "peer recv exit $prc: $(cat "$T/p" "$T/p.err")"
expect_line "$T/p" "^recv: $N packets .*: $N intact, 0 corrupt, 0 lost, 0 out of order" \
	"host -> peer: $N packets of 60-9000 B, every byte intact, in order"
[ $hrc = 0 ] && ok "host end: exit 0" || not_ok "host end exit $hrc"
expect_line "$T/h" "ledger: ([0-9]+) of \\1 buffers home, 0 bad descriptors" \
	"host -> peer: every buffer back in the ledger"
summary "$T/h" "$T/p"

# peer -> host: the host receives and checks, on channel 2
"$HOSTEND" "$SOCK" l1 recv "$N" 60-9000 2 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
"$PEER" --socket "$SOCK" send l1 --channel 2 --count "$N" --size 60-9000 --timeout 30 \
	>"$T/p" 2>"$T/p.err"
prc=$?; wait "$H"; hrc=$?
[ $prc = 0 ] && ok "peer send: exit 0" || not_ok "peer send exit $prc: $(cat "$T/p" "$T/p.err")"
expect_line "$T/h" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\)" \
	"peer -> host: $N packets, every byte intact, in order"
expect_line "$T/h" "ledger: ([0-9]+) of \\1 buffers home, 0 bad descriptors" \
	"peer -> host: every buffer back in the ledger"
[ $hrc = 0 ] && ok "host end: exit 0" || not_ok "host end exit $hrc"
summary "$T/h" "$T/p"

# echo: the peer reflects, zero copy
"$PEER" --socket "$SOCK" echo l1 >"$T/e" 2>"$T/e.err" &
E=$!; BG_PIDS="$BG_PIDS $E"
M=$((N / 10))
"$HOSTEND" "$SOCK" l1 pingpong "$M" 60-9000 1 >"$T/h" 2>&1 &&
	ok "host end: pingpong exit 0" || not_ok "pingpong exit status"
expect_line "$T/h" "received $M \\($M intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"echo: $M packets reflected intact, ledger full"
# three host ends came and went, each opened an epoch of its own
ep=$(ctl --json show l1 | python3 -c "import json,sys; print(json.load(sys.stdin)['epoch'])")
[ "${ep:-0}" -ge 3 ] && ok "show: epoch $ep, the link header's (three host ends opened one each)" ||
	not_ok "show: epoch '$ep' (want 3 or more: three host ends opened one each)"
# stats reads the link's memory while echo holds the peer end
"$PEER" --socket "$SOCK" stats l1 >"$T/s" 2>&1 && ok "stats while another process is the peer" ||
	not_ok "stats: $(cat "$T/s")"
expect_line "$T/s" "^host end: down, epoch ([0-9]+); peer end: up, acked epoch \\1\$" \
	"stats: host gone, peer (echo) up in the host's last epoch"
# (cumulative counters: what the peer took from rx went back on done or tx)
awk '$1 == 1 && $2 == "rx" { rx = $3 } $1 == 1 && $2 == "done" { dn = $3 }
     $1 == 1 && $2 == "tx" { tx = $3 } $1 ~ /^[0-9]+$/ { w += $5 }
     END { exit !(rx > 0 && tx > 0 && rx == dn + tx && w == 0) }' "$T/s" &&
	ok "stats: every rx descriptor of channel 1 came back on done or tx, none waiting" ||
	not_ok "stats counters: $(cat "$T/s")"
sleep 1.2 # echo prints a progress line once a second
kill "$E"; wait "$E"
expect_line "$T/e" "^echo: [0-9]+ descriptors .* 0 bad descriptors" "echo: summary, no bad descriptor"
grep -q "packets, .* pkt/s" "$T/e.err" && ok "echo: a progress line every second" ||
	not_ok "no progress line"

expect 2 "needs --count" "send without --count is a usage error" "$PEER" --socket "$SOCK" send l1
expect 1 "has data channels 1-2, not 3" "a channel the link does not have" \
	"$PEER" --socket "$SOCK" --wait 0 recv l1 --channel 3 --count 1
expect 1 "cannot attach to link nope: no link named 'nope'" "a missing link" \
	"$PEER" --socket "$SOCK" recv nope --count 1
expect 1 "cannot observe link nope: no link named 'nope'" "stats of a missing link" \
	"$PEER" --socket "$SOCK" stats nope
expect 0 "^Usage: vlink-peer" "vlink-peer --help" "$PEER" --help
finish
