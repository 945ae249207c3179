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
for i in $(seq 1 50); do
	head -c $((i * 97)) /dev/urandom | python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect('$SOCK')
s.sendall(sys.stdin.buffer.read()); s.close()" 2>/dev/null
done
ok "50 random byte streams sent"
sleep 0.5
kill -0 "$DAEMON_PID" && ok "daemon still running" || not_ok "daemon died"
ctl --json list >"$T/after"
cmp -s "$T/before" "$T/after" && ok "links intact" || not_ok "links changed"
fds_after=$(daemon_fds)
[ "$fds_after" -le "$fds_before" ] && ok "no fd leak in vlinkd ($fds_before -> $fds_after)" ||
	not_ok "vlinkd fds grew: $fds_before -> $fds_after"
grep -q "bad frame magic" "$T/vlinkd.log" && ok "bad frames logged with the reason" ||
	not_ok "no reason logged"
finish
