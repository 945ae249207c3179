#!/bin/sh
# AttachLink / AttachDomain: the fds in LinkMap map the same memory in two
# processes; one client per end; deleting an attached link is refused unless
# --force; events reach monitors and the other end.
. "$(dirname "$0")/lib.sh"

start_daemon --segment-size 8M || exit 1
check "create l1" ctl create-link l1 02:00:00:00:00:01 2
check "create l2" ctl create-link l2 02:00:00:00:00:02 1

ctl monitor --json --count 21 >"$T/events" 2>"$T/events.err" &
MON=$!; BG_PIDS="$BG_PIDS $MON"
sleep 0.3

# host end writes a pattern and stays attached
"$TESTCLIENT" "$SOCK" attach l1 host write 42 30 >"$T/host" 2>&1 &
HOST=$!; BG_PIDS="$BG_PIDS $HOST"
i=0; while ! grep -q "^wrote" "$T/host" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
grep -q "^wrote .*: ok" "$T/host" && ok "host end attached and wrote its buffers" ||
	not_ok "host attach: $(cat "$T/host")"
[ "$(grep -c '^segment' "$T/host")" = 8 ] && ok "64 MiB pool passed as 8 segment fds" ||
	not_ok "segment count: $(grep -c '^segment' "$T/host")"
expect 0 "host end: attached" "show: host end attached" ctl show l1

"$TESTCLIENT" "$SOCK" attach l1 peer check 42 >"$T/peer" 2>&1 &&
	ok "peer end reads the host's pattern through its own mapping" ||
	not_ok "peer check: $(cat "$T/peer")"
cut -d' ' -f1-4 "$T/host" | grep -E "^(segment|region)" >"$T/a"
cut -d' ' -f1-4 "$T/peer" | grep -E "^(segment|region)" >"$T/b"
cmp -s "$T/a" "$T/b" && ok "both ends got the same files" || not_ok "different files"
"$TESTCLIENT" "$SOCK" attach l2 peer check 42 >"$T/out" 2>&1
[ $? = 1 ] && grep -q MISMATCH "$T/out" && ok "l2's buffers are not l1's (check fails there)" ||
	not_ok "l2 check should fail: $(cat "$T/out")"

expect 3 "the host end of link 'l1' is already attached \(client [0-9]+, pid $HOST\)" \
	"a second host end is refused" "$TESTCLIENT" "$SOCK" attach l1 host check 42
expect 3 "no link named 'zz'" "attach to a missing link" "$TESTCLIENT" "$SOCK" attach zz host check 1
expect 1 "link 'l1' has its host end attached; detach it first or use --force" \
	"delete of an attached link refused" ctl delete-link l1
expect 0 "^l1 " "l1 still there" ctl list

expect 0 "domain default pool 67108864 segments 8 links 2" "AttachDomain: DomainMap" \
	"$TESTCLIENT" "$SOCK" domain default
expect 0 "domain newdom pool 67108864 segments 8 links 0" \
	"AttachDomain creates an empty domain (QEMU before any link)" \
	"$TESTCLIENT" "$SOCK" domain newdom

# QEMU holding the domain is the peer end of its links
"$TESTCLIENT" "$SOCK" domain vm9 30 >"$T/qemu" 2>&1 &
QEMU=$!; BG_PIDS="$BG_PIDS $QEMU"
i=0; while ! grep -q "^domain vm9" "$T/qemu" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
check "create l9 in the attached domain vm9" ctl create-link l9 02:00:00:00:00:09 1 --domain vm9
expect 0 "peer end: attached" "show: QEMU counts as the peer end" ctl show l9
expect 1 "link 'l9' is in domain 'vm9', which QEMU \(client [0-9]+, pid $QEMU\) has attached" \
	"delete refused while QEMU holds the domain" ctl delete-link l9
expect 3 "domain 'vm9' is already attached by client [0-9]+ \(pid $QEMU\)" \
	"a second QEMU for the same domain is refused" "$TESTCLIENT" "$SOCK" domain vm9
# the guest is the peer end of every link of its domain: no socket peer
# beside it, and no QEMU for a domain whose link has a socket peer
expect 3 "link 'l9' is in domain 'vm9', which QEMU \(client [0-9]+, pid $QEMU\) has attached: its peer end is the guest" \
	"a socket peer cannot attach a link of a domain QEMU holds" \
	"$TESTCLIENT" "$SOCK" attach l9 peer check 42
expect 0 "^region " "the host end of that link may attach" "$TESTCLIENT" "$SOCK" attach l9 host write 9
check "create l8 in domain vm8" ctl create-link l8 02:00:00:00:00:08 1 --domain vm8
"$TESTCLIENT" "$SOCK" attach l8 peer write 8 30 >"$T/p8" 2>&1 &
P8=$!; BG_PIDS="$BG_PIDS $P8"
i=0; while ! grep -q "^wrote" "$T/p8" && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
expect 3 "domain 'vm8': the peer end of its link 'l8' is attached through the socket \(client [0-9]+, pid $P8\)" \
	"QEMU cannot attach a domain whose link has a socket peer" "$TESTCLIENT" "$SOCK" domain vm8
kill "$P8"; wait "$P8" 2>/dev/null
i=0; until "$TESTCLIENT" "$SOCK" domain vm8 >"$T/out" 2>&1 || [ $i -gt 50 ]; do
	sleep 0.1; i=$((i+1)); done
grep -q "^domain vm8 " "$T/out" && ok "... and can once that peer has gone" ||
	not_ok "domain vm8 after the peer left: $(cat "$T/out")"
check "delete l8" ctl delete-link l8
expect 0 "deleted link l9" "delete --force while QEMU holds the domain" ctl delete-link --force l9
kill "$QEMU"; wait "$QEMU" 2>/dev/null

expect 0 "deleted link l1" "delete --force while attached" ctl delete-link --force l1
kill "$HOST" 2>/dev/null; wait "$HOST" 2>/dev/null
check "create l3" ctl create-link l3 02:00:00:00:00:03 1
wait "$MON"
python3 - "$T/events" >"$T/out" 2>&1 <<'PY'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
got = [(e['event'], e['link'], e.get('end', '')) for e in ev]
want = [('end-up', 'l1', 'host'),                              # host client
        ('end-up', 'l1', 'peer'), ('end-down', 'l1', 'peer'),  # peer check
        ('end-up', 'l2', 'peer'), ('end-down', 'l2', 'peer'),  # l2 check
        ('end-up', 'l2', 'peer'), ('end-up', 'l1', 'peer'),    # domain attach:
        ('end-down', 'l2', 'peer'), ('end-down', 'l1', 'peer'),  # QEMU is the peer
        ('link-created', 'l9', ''),                            # in vm9
        ('end-up', 'l9', 'host'), ('end-down', 'l9', 'host'),
        ('link-created', 'l8', ''),                            # vm8: a peer,
        ('end-up', 'l8', 'peer'), ('end-down', 'l8', 'peer'),
        ('end-up', 'l8', 'peer'), ('end-down', 'l8', 'peer'),  # then QEMU
        ('link-deleted', 'l8', ''), ('link-deleted', 'l9', ''),
        ('link-deleted', 'l1', ''), ('link-created', 'l3', '')]
assert got == want, got
print("events ok:", got)
PY
[ $? = 0 ] && ok "monitor saw end-up/end-down and link events in order" ||
	not_ok "events: $(cat "$T/out")"

# notifiers (GetNotifiers): 9 channels take two reply parts (8 + 1, 16 fds
# a frame); each end sees the other's marks on every channel, so both were
# handed the same eventfds
check "create n9 with 9 channels" ctl create-link n9 02:00:00:00:00:09 9 --ring-size 64
"$TESTCLIENT" "$SOCK" notify n9 peer >"$T/npeer" 2>&1 &
NPEER=$!; BG_PIDS="$BG_PIDS $NPEER"
expect 0 "exchanged marks on 9 channels" "host end: marks exchanged on 9 channels" \
	"$TESTCLIENT" "$SOCK" notify n9 host
wait "$NPEER"
[ $? = 0 ] && grep -q "^exchanged marks on 9 channels" "$T/npeer" &&
	ok "peer end: marks exchanged on 9 channels" || not_ok "peer end: $(cat "$T/npeer")"
finish
