#!/bin/sh
# Socket access: mode 0660, SO_PEERCRED checked against root and
# --allow-uid / --allow-gid; a refused client gets a clear error.
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || { echo "setpriv missing (util-linux)"; exit 1; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

start_daemon || exit 1
check "create l1" ctl create-link l1 02:00:00:00:00:01 1
[ "$(stat -c %a "$SOCK")" = 660 ] && ok "socket mode 0660" || not_ok "socket mode $(stat -c %a "$SOCK")"
expect 1 "Permission denied" "uid 65534 cannot open the socket" as_nobody "$VLINKCTL" --socket "$SOCK" list
chmod 666 "$SOCK"
expect 1 "uid 65534 is not allowed to use vlinkd" "SO_PEERCRED refuses uid 65534" \
	as_nobody "$VLINKCTL" --socket "$SOCK" list
grep -q "refused a connection from pid [0-9]* uid 65534" "$T/vlinkd.log" &&
	ok "refusal logged" || not_ok "refusal not logged"
stop_daemon

start_daemon --allow-uid 65534 || exit 1
chmod 666 "$SOCK"
expect 0 "^l1 " "--allow-uid 65534 lets it in" as_nobody "$VLINKCTL" --socket "$SOCK" list
stop_daemon
start_daemon --allow-uid 65534 --group nogroup || exit 1
[ "$(stat -c %G "$SOCK")" = nogroup ] && ok "--group: socket group nogroup" ||
	not_ok "socket group $(stat -c %G "$SOCK")"
expect 0 "^l1 " "--group lets an allowed uid in the group open the 0660 socket" \
	as_nobody "$VLINKCTL" --socket "$SOCK" list
stop_daemon
start_daemon --allow-gid 65534 || exit 1
chmod 666 "$SOCK"
expect 0 "^l1 " "--allow-gid 65534 lets it in" as_nobody "$VLINKCTL" --socket "$SOCK" list
finish
