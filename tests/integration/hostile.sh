#!/bin/sh
# Malformed frames and random byte streams: the daemon stays up, answers,
# loses no link, and does not leak fds.
. "$(dirname "$0")/lib.sh"

start_daemon || exit 1
check "create l1" ctl create-link l1 02:00:00:00:00:01 2
check "create l2" ctl create-link l2 02:00:00:00:00:02 1 --domain vm1
ctl --json list >"$T/before"
fds_before=$(daemon_fds)
expect 0 "sent 200 malformed inputs; daemon still answers" "200 malformed inputs" \
	"$TESTCLIENT" "$SOCK" garbage 200 1
expect 0 "sent 300 malformed inputs; daemon still answers" "300 more with another seed" \
	"$TESTCLIENT" "$SOCK" garbage 300 77
# each on its own connection: sent whole, or cut off by the daemon when it
# found a bad frame (it closes the connection); a refused connect fails
python3 - "$SOCK" >"$T/streams" 2>&1 <<'EOF'
import os, socket, sys
whole = cut = 0
for i in range(1, 51):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    try:
        s.sendall(os.urandom(i * 97))
        whole += 1
    except (BrokenPipeError, ConnectionResetError):
        cut += 1
    s.close()
print("%d connections: %d streams sent whole, %d cut off by vlinkd" % (whole + cut, whole, cut))
EOF
expect_line "$T/streams" "^50 connections: " "50 random byte streams, each on a connection vlinkd accepted"
# vlinkd has dropped them all once its fds are back where they were
i=0; while [ "$(daemon_fds)" -gt "$fds_before" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$DAEMON_PID" && ok "daemon still running" || not_ok "daemon died"
ctl --json list >"$T/after"
cmp -s "$T/before" "$T/after" && ok "links intact" || not_ok "links changed"
fds_after=$(daemon_fds)
[ "$fds_after" -le "$fds_before" ] && ok "no fd leak in vlinkd ($fds_before -> $fds_after)" ||
	not_ok "vlinkd fds grew: $fds_before -> $fds_after"
grep -q "bad frame magic" "$T/vlinkd.log" && ok "bad frames logged with the reason" ||
	not_ok "no reason logged"
finish
