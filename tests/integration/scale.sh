#!/bin/sh
# vlinkd with 1000 links (100 domains x 10, socket mode, no hugepages):
# `monitor` sees every creation; list, list --json, show, status answer
# with all of them (LinkList goes over several frames: protocol version
# 2, docs/protocol.md "Replies over several frames"); a socket-mode peer
# attaches; a restart keeps all 1000; a protocol version 1 client gets
# E2BIG for a list that needs more than one frame and its one-frame
# answers as before; with VLINKD_PART_ROOM=1024 (parts of 1 KiB: status
# splits too) every answer is the same as with whole frames.
# VLINK_SCALE_DOMAINS, VLINK_SCALE_LINKS: domains, links per domain
# (100, 10).  Timings are printed, not checked (bench/scale.sh).
. "$(dirname "$0")/lib.sh"

D=${VLINK_SCALE_DOMAINS:-100}
L=${VLINK_SCALE_LINKS:-10}
N=$((D * L))
# 10 links of ring 64 take 10 x 2 MiB of buffers (one 2 MiB-aligned area
# each); files under $T, allocated in full
POOL=$((L * 2))M
OPTS="--no-hugepages --pool-size $POOL --segment-size $POOL"

now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'; }
# the link names, sorted as vlinkd sorts them (strcmp: LC_ALL=C)
names_expected() {
	d=1
	while [ $d -le "$D" ]; do
		l=1
		while [ $l -le "$L" ]; do echo "d$d.l$l"; l=$((l + 1)); done
		d=$((d + 1))
	done | LC_ALL=C sort
}
names_expected >"$T/names"


# json_names FILE: the "name" of every element of the JSON array in FILE
json_names() {
	python3 -c "import json,sys; [print(x['name']) for x in json.load(open(sys.argv[1]))]" "$1"
}

# the answers that must not change (restart, parts of 1 KiB): list's text
# and JSON, status without what changes by itself (uptime, pid, clients)
answers() { # DIR
	mkdir -p "$1"
	ctl list >"$1/list" 2>&1
	ctl --json list >"$1/list.json" 2>&1
	ctl --json status >"$1/status.json.raw" 2>&1 &&
		python3 -c "import json,sys; j=json.load(open(sys.argv[1]));
[j.pop(k) for k in ('uptime', 'pid', 'clients')]; print(json.dumps(j, sort_keys=True))" \
			"$1/status.json.raw" >"$1/status.json"
	ctl status 2>&1 | grep -v '^vlinkd \|^clients:\|^  #' >"$1/status"
	ctl show "d$D.l$L" >"$1/show" 2>&1
}
# same_answers DIR1 DIR2 WHAT
same_answers() {
	_bad=
	for f in list list.json status.json status show; do
		cmp -s "$1/$f" "$2/$f" || _bad="$_bad $f"
	done
	if [ -z "$_bad" ]; then ok "$3: list, list --json, status, status --json, show the same"
	else
		not_ok "$3: differ:$_bad"
		for f in $_bad; do diff "$1/$f" "$2/$f" | head -n 10 | cut -c1-200 | sed 's/^/    /'; done
	fi
}

start_daemon $OPTS || exit 1
ctl monitor --count "$N" >"$T/events" 2>"$T/events.err" &
MON=$!; BG_PIDS="$BG_PIDS $MON"
until_ok 10 grep -Eq "monitoring vlinkd events" "$T/events.err" || not_ok "monitor subscribed"

# --- create 1000 ----------------------------------------------------------------
t0=$(now) fails=0
d=1
while [ $d -le "$D" ]; do
	l=1
	while [ $l -le "$L" ]; do
		mac=$(printf '02:00:00:%02x:%02x:%02x' $((d / 256)) $((d % 256)) "$l")
		ctl create-link "d$d.l$l" "$mac" 1 --domain "vm$d" --ring-size 64 >/dev/null 2>>"$T/create.err" ||
			fails=$((fails + 1))
		l=$((l + 1))
	done
	d=$((d + 1))
done
echo "# created $N links in $(since "$t0") s"
[ "$fails" = 0 ] && ok "create-link $N times ($D domains x $L links)" ||
	{ not_ok "create-link failed $fails times"; head -n 5 "$T/create.err" | sed 's/^/    /'; }

wait_exit "$MON" 60
mon=$RC
awk '$1 == "link-created" && $2 == "link" { print $3 }' "$T/events" | LC_ALL=C sort >"$T/mon.names"
[ "$mon" = 0 ] && cmp -s "$T/mon.names" "$T/names" &&
	ok "monitor: $N link-created events, one for each link, then exits (--count $N)" ||
	{ not_ok "monitor: exit $mon, $(wc -l <"$T/mon.names") link-created events of $N"
	  head -n 3 "$T/events" | sed 's/^/    /'; cat "$T/events.err"; }

# --- every command answers with all 1000 ---------------------------------------
t0=$(now)
answers "$T/a1"
echo "# list, list --json, status, status --json, show: $(since "$t0") s"
[ "$(head -n 1 "$T/a1/list" | cut -c1-4)" = NAME ] &&
	tail -n +2 "$T/a1/list" | cut -d' ' -f1 | cmp -s - "$T/names" &&
	ok "list: a header and $N lines, every link, in name order" ||
	{ not_ok "list: $(($(wc -l <"$T/a1/list") - 1)) lines (want $N)"; head -n 3 "$T/a1/list" | sed 's/^/    /'; }
json_names "$T/a1/list.json" >"$T/json.names" && cmp -s "$T/json.names" "$T/names" &&
	ok "list --json: $N links, every one, in name order" ||
	{ not_ok "list --json: $(wc -l <"$T/json.names") names (want $N)"; head -c 300 "$T/a1/list.json" | sed 's/^/    /'; }
python3 -c "import json,sys
j = json.load(open(sys.argv[1])); D, L = int(sys.argv[2]), int(sys.argv[3])
doms = {d['name']: d['links'] for d in j['domains']}
want = {'vm%d' % i: L for i in range(1, D + 1)}
sys.exit(0 if j['links'] == D * L and doms == want else 1)" "$T/a1/status.json.raw" "$D" "$L" &&
	ok "status --json: $N links, $D domains of $L links each" ||
	{ not_ok "status --json"; head -c 300 "$T/a1/status.json.raw" | sed 's/^/    /'; }
grep -q "^links: $N\$" "$T/a1/status" && [ "$(grep -c '^domain vm[0-9]*: .*, '"$L"' link(s)$' "$T/a1/status")" = "$D" ] &&
	ok "status: links: $N and the $D domains" ||
	{ not_ok "status (want links: $N, $D domains)"; head -n 5 "$T/a1/status" | sed 's/^/    /'; }
expect_line "$T/a1/show" "^link: d$D.l$L\$" "show d$D.l$L (the last created)"
expect 0 "^link: d1.l1\$" "show d1.l1 (the first created)" ctl show d1.l1
[ "$(grep -c 'dropped\|not reading' "$T/vlinkd.log")" = 0 ] &&
	ok "vlinkd dropped no client" || { not_ok "vlinkd dropped a client"; grep 'dropped\|not reading' "$T/vlinkd.log"; }

# a socket-mode peer and host attach to links of the first and last domain
"$TESTCLIENT" "$SOCK" attach d1.l1 host write 5 >"$T/att1" 2>&1 &&
	"$TESTCLIENT" "$SOCK" attach d1.l1 peer check 5 >"$T/att2" 2>&1 &&
	"$TESTCLIENT" "$SOCK" attach "d$D.l$L" peer write 6 >"$T/att3" 2>&1 &&
	ok "attach: host and peer of d1.l1 share its buffers, a peer of d$D.l$L" ||
	{ not_ok "attach"; cat "$T/att1" "$T/att2" "$T/att3" | tail -n 5 | sed 's/^/    /'; }

# --- a protocol version 1 client ------------------------------------------------
# hand-made frames (docs/protocol.md): header magic 0x4c56, version 1, no
# fds, length; Envelope{id=1, hello=10{role=1, version=1}}, then
# Envelope{id=2, list_links=14{}}, Envelope{id=3, show_link=15{name}}
v1() {
	python3 - "$SOCK" "d1.l1" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
def send(payload): s.sendall(struct.pack('<HBBI', 0x4c56, 1, 0, len(payload)) + payload)
def recv():
    h = b''
    while len(h) < 8: h += s.recv(8 - len(h))
    magic, ver, nfds, n = struct.unpack('<HBBI', h)
    b = b''
    while len(b) < n: b += s.recv(n - len(b))
    return b
def fields(b):  # protobuf: {field: [values]} for varints and byte strings
    out, i = {}, 0
    def varint():
        nonlocal i
        v, sh = 0, 0
        while True:
            c = b[i]; i += 1; v |= (c & 0x7f) << sh; sh += 7
            if c < 0x80: return v
    while i < len(b):
        k = varint(); f, t = k >> 3, k & 7
        if t == 0: out.setdefault(f, []).append(varint())
        elif t == 2:
            n = varint(); out.setdefault(f, []).append(b[i:i + n]); i += n
        else: raise SystemExit('wire type %d' % t)
    return out
name = sys.argv[2].encode()
send(b'\x08\x01' + b'\x52\x04\x08\x01\x10\x01')              # id 1, hello
hr = fields(fields(recv())[11][0])
print('hello_reply version', hr.get(3, [0])[0])
send(b'\x08\x02' + b'\x72\x00')                              # id 2, list_links
e = fields(recv())
if 28 in e:
    err = fields(e[28][0])
    print('list error', err[1][0], err[2][0].decode())
else:
    print('list', sorted(e))
send(b'\x08\x04' + b'\x82\x01\x00')                          # id 4, status (16)
e = fields(recv())
if 28 in e:
    err = fields(e[28][0])
    print('status error', err[1][0], err[2][0].decode())
else:
    print('status', 'status_reply' if 25 in e else sorted(e), 'more' if 2 in e else 'one frame')
send(b'\x08\x03' + b'\x7a' + bytes([len(name) + 2, 0x0a, len(name)]) + name)  # id 3, show
e = fields(recv())
print('show', 'link_info' if 23 in e else sorted(e), 'more' if 2 in e else 'one frame')
EOF
}
v1 >"$T/v1" 2>&1
cat "$T/v1" | sed 's/^/# v1: /'
expect_line "$T/v1" "^hello_reply version 1\$" "a version 1 client's Hello: HelloReply says version 1"
expect_line "$T/v1" "^list error 7 the reply \\($N links\\) needs more than one frame: protocol version 1 clients get one" \
	"a version 1 client's list: Error E2BIG, the reply needs more than one frame"
expect_line "$T/v1" "^show link_info one frame" "a version 1 client's show: its LinkInfo, one frame"
expect_line "$T/v1" "^status status_reply one frame" "a version 1 client's status ($D domains): one frame"
kill -0 "$DAEMON_PID" && ok "vlinkd still runs" || not_ok "vlinkd died"

# --- restart: all 1000 kept --------------------------------------------------
stop_daemon && ok "SIGTERM: clean exit" || not_ok "SIGTERM: exit status"
t0=$(now)
start_daemon $OPTS || { not_ok "vlinkd restarts"; finish; }
echo "# restart to the first answer: $(since "$t0") s"
answers "$T/a2"
same_answers "$T/a1" "$T/a2" "after a restart"

# --- parts of 1 KiB ---------------------------------------------------------
stop_daemon
VLINKD_PART_ROOM=1024 start_daemon $OPTS || { not_ok "vlinkd starts with VLINKD_PART_ROOM=1024"; finish; }
expect_line "$T/vlinkd.log" "reply parts of at most 1024 bytes" "VLINKD_PART_ROOM=1024 taken"
answers "$T/a3"
same_answers "$T/a1" "$T/a3" "in parts of 1 KiB"
v1 >"$T/v1b" 2>&1
expect_line "$T/v1b" "^status error 7 the reply \\([0-9]+ clients and domains\\) needs more than one frame" \
	"in parts of 1 KiB a status needs several frames (a version 1 client gets E2BIG)"
stop_daemon
expect 1 "VLINKD_PART_ROOM: a number of bytes from 256 to [0-9]+, not '100'" \
	"VLINKD_PART_ROOM=100 is refused, and says why" \
	env VLINKD_PART_ROOM=100 "$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" \
	--shm-dir "$T/shm" $OPTS
start_daemon $OPTS || { not_ok "vlinkd starts after the refused start"; finish; }
answers "$T/a4"
same_answers "$T/a1" "$T/a4" "after a refused start"
finish
