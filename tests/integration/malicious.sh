#!/bin/sh
# A malicious peer end (tests/vlink-evilpeer): forged descriptors on tx and
# done, impossible ring indices, every word of the link header scribbled on.
#  a. against the PMD's host end in dpdk-testpmd (io forwarding, 2 data
#     channels): testpmd stays up and answers, the xstats count every kind
#     of refusal; vlinkd restores the header line the evil peer broke; then
#     a well-behaved vlink-peer attaches (the host opens a new epoch for
#     it) and exactly what testpmd sends comes back; at close every buffer
#     is home;
#  b. against tests/vlink-hostend under valgrind (memcheck): no access
#     outside mapped memory while it is lied to, then a vlink-peer send
#     whose every packet and byte is checked;
#  c. the same, the good peer in guest mode on a fake pci-vlink device
#     (vlinkd's own pool and region files as BAR2 and BAR4): it reads the
#     link table and line 0 without asking vlinkd, so it needs vlinkd's
#     periodic check to have restored them, and it gets a new epoch
#     although the evil peer left host_epoch 0 behind (--wedge).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh" # fake_pci_dev, wait_peer_up
need_root

EVIL="$BUILDDIR/tests/vlink-evilpeer"
HOSTEND="$BUILDDIR/tests/vlink-hostend"
PEER="$BUILDDIR/tools/vlink-peer"
SECONDS_EVIL=${VLINK_EVIL_SECONDS:-8}
VALGRIND=${VALGRIND:-valgrind}

for f in "$EVIL" "$HOSTEND" "$PEER"; do
	[ -x "$f" ] || { not_ok "built: $f (make check builds it)"; finish; }
done
start_daemon --pool-size 64M || { not_ok "vlinkd starts"; finish; }
check "create E (2 data channels)" ctl create-link E 02:00:00:00:0e:01 2
check "create H (1 data channel)" ctl create-link H 02:00:00:00:0e:02 1
check "create G (1 data channel)" ctl create-link G 02:00:00:00:0e:03 1

# every kind ran at least one round and did something
evil_did_all() {
	awk '/^evilpeer [a-z0-9-]+ +[0-9]+ round/ {
		n++; if ($3 == 0) bad = bad " " $2 " (no round)"
		else if ($5 + $8 + $11 == 0 && $2 != "wrong-channel") bad = bad " " $2 " (nothing done)"
	} END { if (n != 16 || bad != "") { print n " kinds:" bad; exit 1 } }' "$1"
}

# --- a. the PMD's host end ---------------------------------------------------
TP_ARGS="--rxq=2 --txq=2" tp_start 1 --vdev "net_vlink0,link=E,socket=$SOCK"
tp_cmd 1 "set fwd io"
tp_cmd 1 "start"
"$EVIL" --socket "$SOCK" --seconds "$SECONDS_EVIL" --wedge E >"$T/evil.out" 2>"$T/evil.err"
erc=$?
[ $erc = 0 ] && ok "the evil peer attached and ran ${SECONDS_EVIL} s" ||
	{ not_ok "evil peer exit $erc"; cat "$T/evil.err"; }
sed 's/^/    /' "$T/evil.out"
evil_did_all "$T/evil.out" >"$T/out" && ok "every kind of abuse ran" ||
	not_ok "kinds: $(cat "$T/out")"
kill -0 "$(tp_pid 1)" 2>/dev/null && ok "testpmd is alive" || not_ok "testpmd died"
rx=$(tp_stat 1 0 RX-packets)
case $rx in
''|*[!0-9]*) not_ok "testpmd answers show port stats ('$rx')" ;;
*) [ "$rx" -gt 0 ] && ok "testpmd answers; it forwarded the evil peer's good packets ($rx)" ||
	not_ok "testpmd forwarded nothing ($rx)" ;;
esac
ierr=$(tp_stat 1 0 RX-errors)
[ "${ierr:-0}" -gt 0 ] && ok "RX-errors counts the refused descriptors ($ierr)" ||
	not_ok "RX-errors '$ierr'"
for x in bad_desc_out_of_area bad_desc_misaligned bad_desc_bad_length bad_desc_not_lent \
	 bad_desc_wrong_channel ring_bad_index resets; do
	v=$(tp_xstat 1 0 "$x")
	[ "${v:-0}" -gt 0 ] && ok "xstats: $x $v" || not_ok "xstats: $x '$v', want > 0"
done

# vlinkd notices what it alone writes was overwritten and restores it
i=0
until grep -q "link 'E': line 0 of its header (magic, sizes).* overwritten .*restored by the periodic check" \
	"$T/vlinkd.log" || [ $i -gt 50 ]; do i=$((i + 1)); sleep 0.1; done
[ $i -le 50 ] && ok "vlinkd restored line 0 of E's header (periodic check, logged)" ||
	not_ok "vlinkd did not log restoring E's header"

# a well-behaved peer after it: a new epoch
tp_cmd 1 "stop"
tp_cmd 1 "set fwd rxonly"
tp_cmd 1 "clear port stats all"
"$PEER" --socket "$SOCK" echo E -q >"$T/echo.out" 2>&1 &
ECHO=$!
BG_PIDS="$BG_PIDS $ECHO"
wait_peer_up E 30 && ok "vlink-peer attaches after it and is up in a new epoch" ||
	{ not_ok "vlink-peer echo up on E"; cat "$T/echo.out"; }
tp_cmd 1 "start tx_first 15" # per queue: 15 bursts of 32, less than a ring
i=0
while [ "$(tp_stat 1 0 RX-packets)" != 960 ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
tx=$(tp_stat 1 0 TX-packets)
rx=$(tp_stat 1 0 RX-packets)
e=$(($(tp_stat 1 0 RX-errors) + $(tp_stat 1 0 TX-errors)))
[ "$tx" = 960 ] && [ "$rx" = 960 ] && [ $e = 0 ] &&
	ok "then traffic flows: 960 sent, 960 back, no error (TX $tx RX $rx)" ||
	not_ok "after the evil peer: TX $tx RX $rx errors $e (want 960, 960, 0)"
tp_cmd 1 "stop"
kill "$ECHO"; wait "$ECHO"
grep -q '^echo: 960 descriptors' "$T/echo.out" && ok "the peer echoed exactly 960" ||
	{ not_ok "the peer echoed exactly 960"; cat "$T/echo.out"; }
tp_quit 1 && ok "testpmd quits normally" || not_ok "testpmd quits normally"
grep -Eq 'net_vlink0: closed: ([0-9]+) of \1 buffers home, \1 of \1 mbufs in the pool, [1-9][0-9]* bad' \
	"$T/tp1.log" && ok "at close every buffer and mbuf is home (the bad descriptors counted)" ||
	{ not_ok "every buffer home at close"; grep -E 'closed|still held' "$T/tp1.log"; }

# --- b. vlink-hostend under valgrind -----------------------------------------
if ! command -v "$VALGRIND" >/dev/null; then
	not_ok "valgrind installed (scripts/install-deps.sh)"
	finish
fi
N=2000
"$VALGRIND" -q --error-exitcode=99 --log-file="$T/hostend.vg" \
	"$HOSTEND" --hostile "$SOCK" H recv "$N" >"$T/hostend.out" 2>"$T/hostend.err" &
HOST=$!
BG_PIDS="$BG_PIDS $HOST"
"$EVIL" --socket "$SOCK" --seconds "$SECONDS_EVIL" --wait 60 --wedge H >"$T/evil.out" \
	2>"$T/evil.err"
erc=$?
[ $erc = 0 ] && ok "b: the evil peer ran ${SECONDS_EVIL} s against vlink-hostend" ||
	{ not_ok "b: evil peer exit $erc"; cat "$T/evil.err"; }
evil_did_all "$T/evil.out" >"$T/out" && ok "b: every kind of abuse ran" ||
	not_ok "b: kinds: $(cat "$T/out")"
kill -0 "$HOST" 2>/dev/null && ok "b: vlink-hostend is alive" || not_ok "b: vlink-hostend died"
sleep 0.5
kill -USR1 "$HOST"
"$PEER" --socket "$SOCK" send H --count "$N" --size 60-3000 -q >"$T/send.out" 2>&1
src=$?
wait "$HOST"
hrc=$?
sed 's/^/    /' "$T/hostend.out"
[ $src = 0 ] && ok "b: vlink-peer send after it" || { not_ok "b: send exit $src"; cat "$T/send.out"; }
grep -q "^hostend recv: sent 0 .*received $N ($N intact, 0 corrupt, 0 lost, 0 out of order).*ledger: \([0-9]*\) of \1 buffers home, 0 bad descriptors" \
	"$T/hostend.out" && [ $hrc = 0 ] &&
	ok "b: every packet of the good peer intact, every buffer home (exit $hrc)" ||
	{ not_ok "b: vlink-hostend exit $hrc"; cat "$T/hostend.err"; }
grep -q "link 'H': line 0 of its header (magic, sizes).* overwritten .*restored" "$T/vlinkd.log" &&
	ok "b: vlinkd restored line 0 of H's header" || not_ok "b: H's header not restored"
grep -Eq "^hostend: before that, a hostile peer: [1-9][0-9]* bad descriptors refused .* [1-9][0-9]* impossible ring indices" \
	"$T/hostend.out" && ok "b: the hostile peer's descriptors and indices were counted" ||
	not_ok "b: no count of the hostile peer's abuse"
[ -s "$T/hostend.vg" ] && { not_ok "b: valgrind: no invalid access"; sed 's/^/    /' "$T/hostend.vg"; } ||
	ok "b: valgrind: no invalid read or write, no other error"

# --- c. the good peer in guest mode ------------------------------------------
PCI="$T/pci/0000:00:04.0"
fake_pci_dev "$PCI" default || finish
"$HOSTEND" --hostile "$SOCK" G recv "$N" >"$T/hg.out" 2>"$T/hg.err" &
HG=$!
BG_PIDS="$BG_PIDS $HG"
"$EVIL" --socket "$SOCK" --seconds "$SECONDS_EVIL" --wait 60 --wedge G >"$T/evil.out" \
	2>"$T/evil.err"
erc=$?
[ $erc = 0 ] && evil_did_all "$T/evil.out" >"$T/out" &&
	ok "c: the evil peer ran every kind against G" ||
	{ not_ok "c: evil peer exit $erc: $(cat "$T/out")"; cat "$T/evil.err"; }
# a guest-mode observer maps G from the fake BAR4 as a guest app would
i=0
until "$PEER" --pci="$T/pci" stats G >"$T/out" 2>&1 || [ $i -gt 100 ]; do
	i=$((i + 1)); sleep 0.1; done
[ $i -le 100 ] && ok "c: in guest mode G's table entry and header are intact again" ||
	not_ok "c: guest mode cannot map G: $(cat "$T/out")"
grep -q "link 'G': .*its link table entry overwritten .*restored by the periodic check" \
	"$T/vlinkd.log" && ok "c: vlinkd restored G's table entry (logged)" ||
	not_ok "c: no log of G's table entry restored"
kill -USR1 "$HG"
"$PEER" --pci="$T/pci" send G --count "$N" --size 60-3000 -q >"$T/send.out" 2>&1
src=$?
wait "$HG"
hrc=$?
sed 's/^/    /' "$T/hg.out"
[ $src = 0 ] && ok "c: vlink-peer --pci send after it" ||
	{ not_ok "c: guest-mode send exit $src"; cat "$T/send.out"; }
grep -q "^hostend recv: sent 0 .*received $N ($N intact, 0 corrupt, 0 lost, 0 out of order).*ledger: \([0-9]*\) of \1 buffers home, 0 bad descriptors" \
	"$T/hg.out" && [ $hrc = 0 ] &&
	ok "c: every packet of the guest-mode peer intact, every buffer home (exit $hrc)" ||
	{ not_ok "c: vlink-hostend exit $hrc"; cat "$T/hg.err"; }
finish
