#!/bin/sh
# The example program of docs/libvlinkguest.md (examples/vlink-example.c)
# against a real vlinkd and the host-end test program: it must reflect
# exactly the packets the host sends, every byte intact, every buffer back
# in the host's ledger, and close the link so that another peer can attach.
. "$(dirname "$0")/lib.sh"
HOSTEND="$BUILDDIR/tests/vlink-hostend"
EXAMPLE="$BUILDDIR/examples/vlink-example"
N=${VLINK_EXAMPLE_COUNT:-20000}

start_daemon || exit 1
check "create ex (2 data channels)" ctl create-link ex 02:00:00:00:00:0e 2

# the example reflects N packets of 60-9000 bytes (chains of 2 KiB buffers)
# that the host end sends on channel 2 and checks when they come back
"$EXAMPLE" --socket "$SOCK" --timeout 30 ex "$N" >"$T/e" 2>"$T/e.err" &
E=$!; BG_PIDS="$BG_PIDS $E"
"$HOSTEND" "$SOCK" ex pingpong "$N" 60-9000 2 >"$T/h" 2>&1
hrc=$?
wait "$E"; erc=$?
[ $erc = 0 ] && ok "example: exit 0" || not_ok "example exit $erc: $(cat "$T/e" "$T/e.err")"
expect_line "$T/e" "^vlink-example: link ex \\(domain default, MAC 02:00:00:00:00:0e\\): 2 data channel\\(s\\), ring 1024$" \
	"example: prints the link it opened"
expect_line "$T/e" "^vlink-example: reflected $N packets \\([0-9]+ descriptors, [0-9]+ bytes\\)$" \
	"example: counts exactly $N packets"
[ $hrc = 0 ] && ok "host end: exit 0" || not_ok "host end exit $hrc"
expect_line "$T/h" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\)" \
	"host end: $N packets back, every byte intact, in order"
expect_line "$T/h" "ledger: ([0-9]+) of \\1 buffers home, 0 bad descriptors" \
	"host end: every buffer back in the ledger"
# the descriptors and bytes the example counted are what the host sent
sent=$(sed -n 's/^hostend pingpong: sent [0-9]* (\([0-9]*\) bytes).*/\1/p' "$T/h")
expect_line "$T/e" "descriptors, ${sent:-x} bytes\\)$" "example: reflected the $sent bytes the host sent"

# the example closed its end: the peer end is free again (the daemon sees
# the connection close in its own time: look for up to 10 s)
i=0
while ctl show ex >"$T/s" 2>&1 && ! grep -q '^  peer end: not attached$' "$T/s" && [ $i -lt 100 ]; do
	i=$((i + 1)); sleep 0.1
done
grep -q '^  peer end: not attached$' "$T/s" && ok "peer end free after the example closed" ||
	not_ok "peer end still attached: $(cat "$T/s")"

expect 1 "cannot open link nope: no link named 'nope'" "a missing link: exit 1 with the daemon's reason" \
	"$EXAMPLE" --socket "$SOCK" --timeout 0 nope 1
expect 1 "host end: (Connection timed out|Timer expired)" "no host end: gives up after --timeout" \
	"$EXAMPLE" --socket "$SOCK" --timeout 1 ex 1
expect 2 "^Usage: vlink-example" "no LINK: usage error" "$EXAMPLE"
expect 2 "bad COUNT 'x'" "a bad COUNT: usage error" "$EXAMPLE" ex x
expect 0 "^Usage: vlink-example" "--help" "$EXAMPLE" --help
finish
