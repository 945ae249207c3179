#!/bin/sh
# vlinkctl against a real vlinkd: create, list, show, delete (text and
# JSON), refusals with clear messages and exit codes, --help everywhere.
. "$(dirname "$0")/lib.sh"

expect 1 "is vlinkd running" "no daemon: clear error, exit 1" ctl list
start_daemon || exit 1

expect 0 "created link l1 \(domain default, 02:00:00:00:00:01, 2 data channels, ring 1024, MTU 9000\)" \
	"create-link with defaults" ctl create-link l1 02:00:00:00:00:01 2
expect 0 "created link vm-a.eth0 \(domain vm1, 02:aa:bb:cc:dd:ee, 1 data channel, ring 256, MTU 9000\)" \
	"create-link with --domain and --ring-size after the operands" \
	ctl create-link vm-a.eth0 02:AA:BB:CC:DD:EE 1 --domain vm1 --ring-size 256
ctl --json delete-link vm-a.eth0 >"$T/out" 2>&1 && ctl --json create-link vm-a.eth0 \
	02:AA:BB:CC:DD:EE 1 --domain vm1 --ring-size 256 >/dev/null
[ "$(json_get "j['deleted']")" = vm-a.eth0 ] && ok "delete-link --json" ||
	not_ok "delete-link --json: $(cat "$T/out")"
check "create-link --json prints the link" sh -c \
	"$VLINKCTL --socket $SOCK --json create-link j1 02:00:00:00:00:03 4 > $T/out"
[ "$(json_get "j['name'], j['channels'], j['ring_size'], j['domain']")" = "j1 4 1024 default" ] &&
	ok "create-link --json fields" || not_ok "create-link --json fields: $(cat "$T/out")"

expect 0 "^l1 +default +02:00:00:00:00:01 +2 +1024" "list shows l1" ctl list
expect 0 "^vm-a.eth0 +vm1 +02:aa:bb:cc:dd:ee +1 +256" "list shows the MAC in lower case" ctl list
ctl --json list >"$T/out"
[ "$(json_get "' '.join(l['name'] for l in j)")" = "j1 l1 vm-a.eth0" ] &&
	ok "list --json: every link, sorted" || not_ok "list --json: $(cat "$T/out")"
expect 0 "data channels: 2 \(plus control channel 0\)" "show l1" ctl show l1
ctl show --json l1 >"$T/out"
[ "$(json_get "j['mac'], j['host_attached'], j['peer_attached'], j['buf_area']")" = \
	"02:00:00:00:00:01 False False 16777216" ] &&
	ok "show --json fields" || not_ok "show --json: $(cat "$T/out")"
ctl status --json >"$T/out"
[ "$(json_get "j['links'], sorted(d['name'] for d in j['domains'])")" = "3 ['default', 'vm1']" ] &&
	ok "status --json: links and domains" || not_ok "status --json: $(cat "$T/out")"
expect 0 "^domain vm1: pool 64 MiB" "status text" ctl status

# refusals: exit 1, a message that says what was wrong, nothing changed
ctl --json list >"$T/before"
expect 1 "link 'l1' already exists \(domain 'default'\)" "duplicate name refused" \
	ctl create-link l1 02:00:00:00:00:09 1
expect 1 "MAC 01:00:5e:00:00:01 is a multicast address" "multicast MAC refused" \
	ctl create-link m1 01:00:5e:00:00:01 1
expect 1 "MAC 00:00:00:00:00:00 is not a valid address" "zero MAC refused" \
	ctl create-link m1 00:00:00:00:00:00 1
expect 1 "MAC '02:00:00:00:00' is malformed" "short MAC refused" \
	ctl create-link m1 02:00:00:00:00 1
expect 1 "channel count 0 out of range \(1-64" "0 channels refused" \
	ctl create-link m1 02:00:00:00:00:09 0
expect 1 "channel count 65 out of range \(1-64" "65 channels refused" \
	ctl create-link m1 02:00:00:00:00:09 65
expect 1 "link name is longer than 32 characters" "long name refused" \
	ctl create-link aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 02:00:00:00:00:09 1
expect 1 "domain 'a b' contains a space" "domain with a space refused" \
	ctl create-link m1 02:00:00:00:00:09 1 --domain "a b"
expect 1 "the pool has [0-9]+ MiB free of 64 MiB, link 'huge' needs 512 MiB" \
	"link larger than the pool refused" ctl create-link huge 02:00:00:00:00:09 64
expect 1 "no link named 'nope'" "show unknown link" ctl show nope
expect 1 "no link named 'nope'" "delete unknown link" ctl delete-link nope
ctl --json list >"$T/after"
cmp -s "$T/before" "$T/after" && ok "refusals changed nothing" || not_ok "refusals changed the links"

# usage errors: exit 2
expect 2 "bad --ring-size '100'" "ring size not a power of two" \
	ctl create-link m1 02:00:00:00:00:09 1 --ring-size 100
expect 2 "NCHANNELS 'two' is not a number" "NCHANNELS not a number" \
	ctl create-link m1 02:00:00:00:00:09 two
expect 2 "missing NAME MAC NCHANNELS" "missing operands" ctl create-link m1
expect 2 "too many arguments" "extra operand" ctl show l1 l2
expect 2 "unknown command 'frobnicate'" "unknown command" ctl frobnicate
expect 2 "unknown option '--bogus'" "unknown option" ctl list --bogus
expect 2 "option '--domain' needs a value" "option without its value" \
	ctl create-link m1 02:00:00:00:00:09 1 --domain
expect 2 "--wait wants seconds \(0-3600\), not 'soon'" "bad --wait=" "$VLINKCTL" --wait=soon list
expect 2 "--timeout wants a number of seconds \(0-86400\)" "monitor --timeout too large" \
	ctl monitor --timeout 999999
expect 0 "^l1 " "--wait=N before the command" "$VLINKCTL" --wait=1 --socket "$SOCK" list
for c in create-link delete-link list show status monitor help; do
	expect 0 "^Usage: vlinkctl $c" "$c --help" ctl "$c" --help
done
expect 0 "^Usage: vlinkctl \[--socket PATH\]" "vlinkctl --help" "$VLINKCTL" --help
expect 0 "^Usage: vlinkd" "vlinkd --help" "$VLINKD" --help
expect 2 "unknown option|unrecognized option" "vlinkd bad option" "$VLINKD" --frob
expect 2 "bad size for --pool-size" "vlinkd bad pool size" "$VLINKD" --pool-size lots
expect 2 "above 1G" "vlinkd pool above 1 GiB" "$VLINKD" --pool-size 2G

expect 0 "deleted link l1" "delete-link" ctl delete-link l1
expect 0 "^j1 " "list after delete" ctl list
if ctl list | grep -q "^l1 "; then not_ok "l1 gone after delete"; else ok "l1 gone after delete"; fi
finish
