#!/bin/sh
# The fault matrix: every component dies under continuous, sequence-numbered
# traffic and comes back.
#
#   vlink-peer send --> link S --> dpdk-testpmd (two net_vlink host ends,
#   io forwarding) --> link R --> vlink-peer recv
#
# After each fault: traffic resumes (the time from the new process's start,
# or from the fault, to the first packets testpmd hands to R's receiver),
# the receiver never saw a corrupted or reordered packet (packets lost
# while a component was down are expected and counted), and at the end of
# each case every buffer is home when testpmd closes its ports.  Then
# FAULT_KILLS (default 50) random kills in a row, each at a random moment
# and checked, then one kill of each client; vlinkd's fds and RSS are
# compared over the kills since its last restart (the same process).
#
# Environment: FAULT_KILLS, FAULT_SEED (the random sequence; printed), and
# those of tests/fault/lib.sh.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
. "$(dirname "$0")/lib.sh"
need_root
KILLS=${FAULT_KILLS:-50}
SEED=${FAULT_SEED:-$$}

start_daemon --no-hugepages || exit 1
check "create S" ctl create-link S 02:00:00:00:00:01 1
check "create R" ctl create-link R 02:00:00:00:00:02 1

# 1. vlinkd: the data path never needs it
case_begin "kill -9 vlinkd"
# while it is down, a link cannot be created (cleanly refused, nothing
# half-done after the restart)
vlinkd_outage expect 1 "cannot connect to .*is vlinkd running" \
	"$CASE: create-link while vlinkd is down is refused" ctl create-link X 02:00:00:00:00:09 1 ||
	exit 1
expect 1 "no link named 'X'" "$CASE: the refused link does not exist after the restart" ctl show X
tp_wait 1 "vlinkd is back: link 'R' re-attached, same memory" 20 &&
	ok "$CASE: testpmd re-attached without remapping" || not_ok "$CASE: testpmd did not re-attach"
check_delivery "$CASE: after the restart"
case_end

# 2. the DPDK process
case_begin "kill -9 testpmd"
restart tp
check_delivery "$CASE: after the restart"
case_end

# 3. the peers
case_begin "kill -9 the receiving peer"
restart recv
check_delivery "$CASE: after the restart"
case_end

case_begin "kill -9 the sending peer"
restart send
check_delivery "$CASE: after the restart"
case_end

# 4. a peer that stops polling: the host end counts ring-full, stays up;
# a new host end does not wait for it longer than reset_timeout (1 s) and
# takes back what it held; the peer, woken, drops the old epoch's buffers
case_begin "kill -STOP the receiving peer for 5 s"
f0=$(tp_xstat 1 1 tx_q0_ring_full)
kill -STOP "$RECV_PID"
sleep 5
f1=$(tp_xstat 1 1 tx_q0_ring_full)
case $f1 in ''|*[!0-9]*) f1=0 ;; esac
[ "$f1" -gt "${f0:-0}" ] && ok "$CASE: testpmd answers, R's ring full counted ($f0 -> $f1)" ||
	not_ok "$CASE: ring full not counted ($f0 -> $f1)"
kill_tp
start_tp
r=$(tp_xstat 1 1 reset_timeouts)
[ "$r" = 1 ] && ok "$CASE: a new testpmd came up without the stopped peer's ack (reset_timeouts 1)" ||
	not_ok "$CASE: new testpmd with a stopped peer: reset_timeouts '$r', want 1"
t=$(now)
kill -CONT "$RECV_PID"
if s=$(wait_flow "$t"); then
	ok "$CASE: traffic resumed $s s after SIGCONT"
	record "receiving peer (SIGSTOP 5 s, then a new testpmd)" "$s"
else
	not_ok "$CASE: no traffic after SIGCONT"
fi
check_delivery "$CASE: after SIGCONT"
case_stop
grep -q "^recv: 1 reset(s) of the link" "$T/recv.$NRECV.out" &&
	ok "$CASE: the receiver went through the new epoch (1 reset)" ||
	not_ok "$CASE: the receiver's resets: $(cat "$T/recv.$NRECV.out")"
case_verdict

# 5. random kills in a row
case_begin "$KILLS random kills"
# the daemon, with the same clients attached again (testpmd and the
# peers re-attach to a restarted vlinkd by themselves, with backoff)
attached() {
	ctl status >"$T/status" 2>&1 &&
	for e in "R (host)" "S (host)" "R (peer)" "S (peer)"; do
		grep -q "link $e" "$T/status" || return 1
	done
}
wait_attached_all() {
	i=0
	until attached || [ $i -gt 150 ]; do
		sleep 0.1; i=$((i + 1))
	done
	attached
}
# vlinkd's fds and RSS, with every end attached: the baseline is taken
# again after each vlinkd restart (at the next kill of a client), so that
# the check at the end compares one vlinkd process with itself over the
# client kills since its start
baseline() {
	wait_attached_all || return 1
	pid0=$DAEMON_PID k0=$k
	fds0=$(daemon_fds) rss0=$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")
}
k=0 rebase=1
echo "# seed $SEED (FAULT_SEED=$SEED repeats this sequence)"
# the random kills, then one of each client: the last vlinkd is measured
# over some client kills at least
awk -v n="$KILLS" -v s="$SEED" 'BEGIN { srand(s); split("vlinkd tp send recv", c, " ");
	for (i = 0; i < n; i++) printf "%s %.1f\n", c[int(rand() * 4) + 1], 0.2 + rand() * 1.8
	printf "tp 1.0\nsend 1.0\nrecv 1.0\ntp 1.0\n" }' >"$T/plan"
TOTAL=$((KILLS + 4))
while read -r what pause; do
	if [ "$rebase" = 1 ] && [ "$what" != vlinkd ]; then
		baseline || { not_ok "kill $((k + 1)): every end attached before it"; break; }
		rebase=0
	fi
	k=$((k + 1))
	sleep "$pause"
	if [ "$what" = vlinkd ]; then
		vlinkd_outage || { not_ok "kill $k: vlinkd started again"; break; }
		rebase=1
	else
		restart "$what" || { not_ok "kill $k/$TOTAL ($what after $pause s)"; break; }
	fi
	# shellcheck disable=SC2046
	set -- $(recv_tally $(recv_logs))
	[ "$1" = 0 ] && [ "$2" = 0 ] && ok "kill $k/$TOTAL: $what after $pause s; nothing corrupt or reordered" ||
		{ not_ok "kill $k/$TOTAL: $what: $1 corrupt, $2 out of order"; break; }
done <"$T/plan"
check_delivery "$CASE: after the last kill"
wait_attached_all && ok "$CASE: testpmd and both peers attached to vlinkd again" ||
	{ not_ok "$CASE: not every end attached again"; sed 's/^/    /' "$T/status"; }
fds1=$(daemon_fds) rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")
if [ "${pid0:-}" != "$DAEMON_PID" ]; then
	not_ok "$CASE: no baseline of the running vlinkd (pid ${pid0:-none}, now $DAEMON_PID)"
else
	[ "$fds1" -le "$fds0" ] &&
		ok "$CASE: vlinkd's fds $fds0 -> $fds1 over the last $((k - k0)) kills (the same vlinkd, pid $pid0)" ||
		not_ok "$CASE: vlinkd's fds grew $fds0 -> $fds1 over the last $((k - k0)) kills"
	[ "$rss1" -le $((rss0 + 1024)) ] && ok "$CASE: vlinkd's RSS $rss0 -> $rss1 kB" ||
		not_ok "$CASE: vlinkd's RSS grew $rss0 -> $rss1 kB"
fi
case_end

fault_table "### Fault matrix (socket-mode peers, $KILLS random kills, then one of each client)"
finish
