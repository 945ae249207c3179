# Shared by the fault tests (sourced after tests/integration/lib.sh and
# scripts/lib/testpmd.sh): the traffic
#
#   vlink-peer send --> link S --> dpdk-testpmd (two net_vlink host ends,
#   io forwarding) --> link R --> a receiving peer (vlink-peer recv, on the
#   host or in a guest)
#
# its components, what is measured, and cases with a verdict each.
# Environment: FAULT_RATE (packets/s the sender offers, default 50000),
# FAULT_RESULTS (a file to write the table of recovery times to),
# FAULT_PEER_MODE (the receiver's --mode: poll, event or adaptive, the
# default; event: it sleeps whenever R is empty, woken by testpmd's host
# end through vlinkd's notifiers, swapped at every vlinkd restart).
PEER="$BUILDDIR/tools/vlink-peer"
RATE=${FAULT_RATE:-50000}
LIMIT=${FAULT_LIMIT:-30} # seconds a recovery may take before the check fails

now() { date +%s.%N; }
since() { echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'; }

# --- the components --------------------------------------------------------
SEQ=0 NSEND=0 NRECV=0 SEND_PID= RECV_PID= SEND_T0= TP_T0=
# the receiver's output (its progress lines): RECV_LOG is the current one's
RECV_LOG=

start_tp() {
	[ -f "$T/tp1.log" ] && cat "$T/tp1.log" >>"$T/tp-old.log"
	tp_start 1 --vdev "net_vlink0,link=S,socket=$SOCK" \
		--vdev "net_vlink1,link=R,socket=$SOCK" || return 1
	tp_cmd 1 "start"
	TP_T0=$(now)
}

kill_tp() {
	pid=$(tp_pid 1)
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	exec 4>&-
}

start_send() {
	NSEND=$((NSEND + 1))
	"$PEER" --socket "$SOCK" send S --count 1000000000000 --size 64-1500 --rate "$RATE" \
		--first "$SEQ" --timeout 3600 --wait 60 >"$T/send.$NSEND.out" 2>"$T/send.$NSEND.err" &
	SEND_PID=$! SEND_T0=$(now)
	BG_PIDS="$BG_PIDS $SEND_PID"
}

# a new sender goes on above anything the last one can have sent (the
# receiver counts the gap as lost, never as out of order)
kill_send() {
	kill "-${1:-9}" "$SEND_PID"; wait "$SEND_PID" 2>/dev/null
	SEQ=$(echo "$SEQ $(since "$SEND_T0") $RATE" | awk '{ printf "%.0f", $1 + ($2 + 2) * $3 }')
}

# a receiver on the host
start_recv() {
	NRECV=$((NRECV + 1))
	RECV_LOG="$T/recv.$NRECV.err"
	"$PEER" --socket "$SOCK" recv R --count 1000000000000 --timeout 3600 --wait 60 \
		--mode "${FAULT_PEER_MODE:-adaptive}" >"$T/recv.$NRECV.out" 2>"$RECV_LOG" &
	RECV_PID=$!
	BG_PIDS="$BG_PIDS $RECV_PID"
}

kill_recv() { kill "-${1:-9}" "$RECV_PID"; wait "$RECV_PID" 2>/dev/null; }

kill_vlinkd() { stop_daemon KILL 2>/dev/null; }
start_vlinkd() { start_daemon --no-hugepages; }

# --- what is measured -------------------------------------------------------

# packets testpmd has handed to R's receiver (port 1 TX)
delivered() {
	v=$(tp_stat 1 1 TX-packets)
	case $v in ''|*[!0-9]*) echo 0 ;; *) echo "$v" ;; esac
}

# wait_flow T0: until port 1's TX count grows past what it was when called;
# prints the seconds since T0 (a date +%s.%N), or fails after LIMIT s
wait_flow() {
	b=$(delivered)
	i=0
	while [ "$(delivered)" -le "$b" ]; do
		i=$((i + 1))
		[ $i -gt $((LIMIT * 5)) ] && return 1
		sleep 0.2
	done
	since "$1"
}

# recv_tally FILES...: the receivers' worst over every instance (the last
# progress line or summary of each): "CORRUPT OUT-OF-ORDER", both must stay 0
recv_tally() {
	cat "$@" 2>/dev/null | tr -d '\r' | awk '
		/ intact, [0-9]+ corrupt/ {
			for (k = 1; k < NF; k++) {
				if ($(k + 1) == "corrupt,") c = $k
				if ($(k + 1) == "out") r = $k
			}
			if (c > bad) bad = c
			if (r > ro) ro = r
		}
		END { printf "%d %d\n", bad + 0, ro + 0 }'
}

# the receivers' logs so far (the guest test overrides it)
recv_logs() { echo "$T"/recv.*.err "$T"/recv.*.out; }

# the current receiver's intact count (its last progress line)
recv_intact() {
	tr -d '\r' <"$RECV_LOG" | awk '/ intact, / {
		for (k = 1; k < NF; k++) if ($(k + 1) == "intact,") v = $k }
		END { print v + 0 }'
}

# check_delivery WHAT: the receiver's intact count grows (progress lines
# come once a second) and nothing corrupt or reordered was ever seen
check_delivery() {
	a=$(recv_intact)
	i=0
	while [ "$(recv_intact)" -le "$a" ] && [ $i -lt $((LIMIT * 5)) ]; do
		sleep 0.2; i=$((i + 1))
	done
	b=$(recv_intact)
	# shellcheck disable=SC2046
	set -- "$1" $(recv_tally $(recv_logs))
	if [ "$b" -gt "$a" ] && [ "$2" = 0 ] && [ "$3" = 0 ]; then
		ok "$1: the receiver goes on ($a -> $b intact), none corrupt or out of order"
	else
		not_ok "$1: receiver $a -> $b intact, $2 corrupt, $3 out of order"
		tail -3 "$RECV_LOG" | sed 's/^/    /'
	fi
}

# --- cases -----------------------------------------------------------------
CASES_OK=0 CASES_FAILED=0 CASE= CASE_FAILED0=0
RESULTS="$T/results"
: >"$RESULTS"

# record WHAT SECONDS: a measured recovery
record() { echo "$1 $2" >>"$RESULTS"; }

# case_begin NAME: testpmd, the receiver (start_recv, or what the caller
# started) and a sender; traffic checked
case_begin() {
	CASE=$1 CASE_FAILED0=$FAILED
	echo "# --- $CASE"
	start_tp || { not_ok "$CASE: testpmd started"; return 1; }
	[ "${2:-}" = keep-recv ] || start_recv
	start_send
	t=$(now)
	wait_flow "$t" >/dev/null && check_delivery "$CASE: before the fault" ||
		not_ok "$CASE: no traffic before the fault"
}

# case_stop [keep-recv]: stop the sender (and the receiver), close testpmd:
# every buffer home, nothing corrupt or reordered
case_stop() {
	kill_send TERM
	sleep 0.5
	[ "${1:-}" = keep-recv ] || kill_recv TERM
	tp_cmd 1 "stop"
	tp_quit 1
	n=$(tp_all_home 1)
	[ "$n" = 2 ] && ok "$CASE: every buffer of S and R home when testpmd closed its ports" ||
		{ not_ok "$CASE: buffers home at close ($n of 2 ports)"; grep "closed:" "$T/tp1.log"; }
	# shellcheck disable=SC2046
	set -- $(recv_tally $(recv_logs))
	[ "$1" = 0 ] && [ "$2" = 0 ] && ok "$CASE: no corrupt or reordered packet delivered" ||
		not_ok "$CASE: $1 corrupt, $2 out of order"
}

# case_verdict: the case passed if none of its checks failed
case_verdict() {
	if [ "$FAILED" = "$CASE_FAILED0" ]; then
		CASES_OK=$((CASES_OK + 1))
	else
		CASES_FAILED=$((CASES_FAILED + 1))
	fi
}

case_end() { case_stop "$@"; case_verdict; }

# restart WHAT: kill -9 WHAT (tp, send, recv, or what the caller defines as
# kill_WHAT/start_WHAT) under traffic, start it again, measure
restart() {
	"kill_$1"
	sleep 0.3
	t=$(now)
	"start_$1" || { not_ok "$CASE: $1 started again"; return 1; }
	if s=$(wait_flow "$t"); then
		if [ "$1" = tp ]; then
			ok "$CASE: traffic resumed $s s after the new testpmd started ($(echo \
				"$TP_T0 $t $s" | awk '{ printf "%.2f", $3 - ($1 - $2) }') s after its ports did)"
		else
			ok "$CASE: traffic resumed $s s after the new $1 started"
		fi
		case $1 in
		tp) w="testpmd" ;; send) w="sending peer" ;; recv) w="receiving peer" ;; *) w=$1 ;;
		esac
		record "${2:-$w}" "$s"
	else
		not_ok "$CASE: no traffic ${LIMIT} s after the new $1 started"
		return 1
	fi
}

# vlinkd_outage [COMMAND...]: kill -9 vlinkd, see traffic go on without
# it, run COMMAND meanwhile, start it again on the same state
vlinkd_outage() {
	kill_vlinkd
	t=$(now)
	if s=$(wait_flow "$t"); then
		ok "$CASE: traffic goes on while vlinkd is down (packets delivered $s s after the kill)"
		record "vlinkd (traffic while down)" "$s"
	else
		not_ok "$CASE: traffic stopped with vlinkd"
	fi
	[ $# = 0 ] || "$@"
	start_vlinkd
}

# fault_table TITLE: the recovery times, per fault
fault_table() {
	{
		echo "| fault | injected | recovery (s): min | avg | max |"
		echo "|---|---|---|---|---|"
		awk '{ w = $1; for (k = 2; k < NF; k++) w = w " " $k; v = $NF
		       n[w]++; s[w] += v; if (!(w in lo) || v < lo[w]) lo[w] = v
		       if (v > hi[w]) hi[w] = v }
		     END { for (w in n) printf "| %s | %d | %.2f | %.2f | %.2f |\n", w, n[w],
			   lo[w], s[w] / n[w], hi[w] }' "$RESULTS" | sort
	} >"$T/table"
	sed 's/^/# /' "$T/table"
	[ -z "${FAULT_RESULTS:-}" ] || { echo "$1"; echo; cat "$T/table"; echo; } >>"$FAULT_RESULTS"
	echo "# recovery: from the new process's start (vlinkd: from the kill, while it is"
	echo "# down) to the first packets testpmd hands to R's receiver, sampled every 0.2 s"
	echo "$NAME: $CASES_OK cases passed, $CASES_FAILED failed"
}
