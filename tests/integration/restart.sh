#!/bin/sh
# Persistence: a restarted vlinkd finds its links and reopens the same
# memory files (same inodes, same contents); SIGTERM removes the socket;
# one daemon per pid file; --config at start-up and on SIGHUP.
. "$(dirname "$0")/lib.sh"

start_daemon || exit 1
check "create l1" ctl create-link l1 02:00:00:00:00:01 2
check "create l2 in vm1" ctl create-link l2 02:00:00:00:00:02 1 --domain vm1
"$TESTCLIENT" "$SOCK" attach l1 host write 7 >"$T/attach1" 2>&1 &&
	ok "pattern written into l1's buffers" || not_ok "write pattern: $(cat "$T/attach1")"
grep -E "^(segment|region)" "$T/attach1" >"$T/inodes1"
ctl --json list >"$T/list1"
id1=$(ctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon_id'])")

expect 1 "already running \(pid [0-9]+" "a second daemon on the same run dir is refused" \
	"$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm"
stop_daemon && ok "SIGTERM: clean exit" || not_ok "SIGTERM exit status"
[ ! -e "$SOCK" ] && ok "socket removed at exit" || not_ok "socket left behind"
[ ! -e "$T/run/vlinkd.pid" ] && ok "pid file removed at exit" || not_ok "pid file left"
[ -s "$T/state/state" ] && [ ! -e "$T/state/state.tmp" ] && ok "state saved" || not_ok "state file"

start_daemon || exit 1
ctl --json list >"$T/list2"
cmp -s "$T/list1" "$T/list2" && ok "links reloaded after restart" ||
	not_ok "links differ after restart: $(diff "$T/list1" "$T/list2")"
id2=$(ctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['daemon_id'])")
[ "$id1" = "$id2" ] && ok "daemon id kept ($id1)" || not_ok "daemon id changed: $id1 -> $id2"
"$TESTCLIENT" "$SOCK" attach l1 peer check 7 >"$T/attach2" 2>&1 &&
	ok "l1's buffer contents survived the restart" || not_ok "pattern check: $(cat "$T/attach2")"
grep -E "^(segment|region)" "$T/attach2" >"$T/inodes2"
cmp -s "$T/inodes1" "$T/inodes2" && ok "same pool and region files (inodes)" ||
	not_ok "inodes differ: $(diff "$T/inodes1" "$T/inodes2")"

# kill -9: state was saved at every change, memory files stay
check "create l3" ctl create-link l3 02:00:00:00:00:03 1
stop_daemon KILL
start_daemon || exit 1
expect 0 "^l3 " "link created before kill -9 is there after restart" ctl list
"$TESTCLIENT" "$SOCK" attach l1 peer check 7 >"$T/out" 2>&1 &&
	ok "buffers intact after kill -9" || not_ok "after kill -9: $(cat "$T/out")"
stop_daemon

# config file
cat >"$T/links.conf" <<EOC
# test links
c1 02:00:00:00:01:01 1
c2 02:00:00:00:01:02 2 vm2   # trailing comment
EOC
start_daemon --config "$T/links.conf" || exit 1
expect 0 "^c2 +vm2 +02:00:00:00:01:02 +2" "config file applied at start-up" ctl list
ctl show --json c1 >"$T/out"
[ "$(json_get "j['from_config']")" = True ] && ok "config links marked" || not_ok "from_config"
echo "c3 02:00:00:00:01:03 1" >>"$T/links.conf"
sed -i '/^c1 /d' "$T/links.conf"
kill -HUP "$DAEMON_PID"
i=0; while ! ctl list | grep -q "^c3 " && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
expect 0 "^c3 " "SIGHUP: new config line applied" ctl list
if ctl list | grep -q "^c1 "; then not_ok "SIGHUP: dropped config link c1 deleted"
else ok "SIGHUP: dropped config link c1 deleted"; fi
expect 0 "^l1 " "SIGHUP: links not from the config kept" ctl list
echo "bad 01:00:00:00:00:01 1" >>"$T/links.conf"
ctl --json list >"$T/before"
kill -HUP "$DAEMON_PID"
# the reload has run once it has logged the bad line
i=0; while ! grep -q "links.conf:4: " "$T/vlinkd.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ctl --json list >"$T/after"
cmp -s "$T/before" "$T/after" && ok "SIGHUP with a bad file changes nothing" || not_ok "bad reload changed links"
grep -q "links.conf:4: MAC 01:00:00:00:00:01 is a multicast address" "$T/vlinkd.log" &&
	ok "bad reload logged with file:line" || not_ok "no file:line message in the log"
stop_daemon

printf 'x1 02:00:00:00:02:01 1\nx2 02:00:00:00:02:02 sixty\n' >"$T/bad.conf"
expect 1 "bad.conf:2: channel count 'sixty' is not a number" \
	"bad config at start-up: exit 1, file:line" \
	"$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm" \
	--config "$T/bad.conf"
printf 'x1 02:00:00:00:02:01 1 a b\n' >"$T/bad.conf"
expect 1 "bad.conf:1: too many fields" "config: too many fields" \
	"$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm" \
	--config "$T/bad.conf"
expect 1 "cannot open" "config: missing file" \
	"$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm" \
	--config "$T/nonexistent.conf"

# a corrupt state file: refuse to start rather than forget the links
start_daemon || exit 1
stop_daemon
cp "$T/state/state" "$T/state.good"
head -c 100 /dev/urandom >"$T/state/state"
expect 1 "state is corrupt" "corrupt state file: clear error" \
	"$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm"
cp "$T/state.good" "$T/state/state"

# daemon mode: the parent returns once the socket is up
"$VLINKD" --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm" &&
	ok "daemon mode: started" || not_ok "daemon mode start"
expect 0 "^l1 " "daemon mode: answering as soon as vlinkd returned" ctl list
pid=$(cat "$T/run/vlinkd.pid")
kill "$pid"; i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
kill -0 "$pid" 2>/dev/null && not_ok "daemon mode: SIGTERM" || ok "daemon mode: SIGTERM stops it"
finish
