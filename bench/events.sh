#!/bin/sh
# bench/events.sh: event mode (docs/shm.md "Sleeping"): what sleeping ends
# cost and save, in one run, on one link of a private vlinkd:
#
#  1. idle CPU (% of a core over --idle seconds, utime + stime from
#     /proc/PID/stat) of vlink-peer recv in poll, adaptive and event mode
#     with a host end (tests/vlink-hostend) attached and silent; and of the
#     PMD's host end in DPDK's l3fwd-power --interrupt-only against
#     dpdk-testpmd (rxonly, polling) on the same link, a silent vlink-peer
#     at the other end (root; the PMD; l3fwd-power from
#     scripts/build-dpdk-example.sh);
#  2. wake-up latency: the round trip of one packet at a time, vlink-hostend
#     latency -> vlink-peer echo -> back, --samples round trips --gap ms
#     apart (so that an adaptive or event peer is asleep when the packet
#     comes), the echo in poll, adaptive and event mode, the host end
#     polling for the echo or asleep (--event);
#  3. throughput at full load, --count packets of 64 B, vlink-hostend send
#     -> vlink-peer recv --mode poll|adaptive|event and vlink-peer send ->
#     vlink-hostend recv (polling or --event); Mpps from the receiver's
#     summary, the median of --repeat interleaved rounds, as a ratio to
#     poll mode;
#  4. from the same runs' summaries: wake-ups sent per packet and sleeps.
#
# A table on stdout and in --out.  No assertions: a run that fails is
# reported and the script exits 1.  See bench/README.md and
# bench/notes/events.md.
#
#   bench/events.sh [--repeat 3] [--count 5000000] [--samples 1000] [--gap 5]
#                   [--idle 10] [--cpus 0,1] [--no-pmd] [--out FILE]
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${BUILDDIR:-$SRCDIR}

usage() {
	cat <<EOF
Usage: bench/events.sh [OPTION]...
Measure event mode (ends that sleep when idle) against polling: idle CPU,
wake-up latency, throughput at full load and notifications per packet.
  --repeat N     throughput rounds, each configuration once a round; the
                 table gives the median and the range (default 3)
  --count N      packets per throughput run (default 5000000)
  --samples N    round trips per latency run (default 1000)
  --gap MS       idle between two round trips (default 5: more than
                 adaptive mode's 1 ms, so an adaptive peer is asleep)
  --idle S       seconds of idle CPU measured per row (default 10)
  --cpus A,B     the host end on CPU A, the peer on CPU B (default 0,1;
                 "none": no pinning)
  --no-pmd       leave out the PMD rows (l3fwd-power, testpmd); they are
                 also left out, with the reason, when not root, the PMD is
                 not built or l3fwd-power cannot be built
  --out FILE     the table, markdown (default bench/results/events.md)
  --builddir DIR the vlink build tree (default \$BUILDDIR or the source tree)
  -h, --help     this text
Needs make, make tests/vlink-hostend; about 2 minutes with the defaults.
vlinkd runs with --no-hugepages (pools and rings on tmpfs under /dev/shm).
Exit status 0 when every run worked, 1 when one failed, 2 on a usage or
set-up error.
EOF
}

die() { echo "events.sh: $*" >&2; exit 2; }
isint() { case $1 in ''|*[!0-9]*) return 1 ;; esac; }

REPEAT=3 COUNT=5000000 SAMPLES=1000 GAP=5 IDLE=10 CPUS=0,1 PMD=1 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--repeat) REPEAT=${2:?}; shift ;;
	--count) COUNT=${2:?}; shift ;;
	--samples) SAMPLES=${2:?}; shift ;;
	--gap) GAP=${2:?}; shift ;;
	--idle) IDLE=${2:?}; shift ;;
	--cpus) CPUS=${2:?}; shift ;;
	--no-pmd) PMD=0 ;;
	--out) OUT=${2:?}; shift ;;
	--builddir) BUILDDIR=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "events.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for v in "$REPEAT" "$COUNT" "$SAMPLES" "$IDLE"; do
	isint "$v" && [ "$v" -ge 1 ] || die "--repeat, --count, --samples, --idle: 1 or more"
done
isint "$GAP" || die "--gap: milliseconds"
if [ "$CPUS" = none ]; then
	PIN_H='' PIN_P=''
else
	CPU_H=${CPUS%,*} CPU_P=${CPUS#*,}
	isint "$CPU_H" && isint "$CPU_P" && [ "$CPU_H" != "$CPU_P" ] ||
		die "--cpus: two different CPU numbers, e.g. 0,1, or none"
	command -v taskset >/dev/null || die "--cpus needs taskset (util-linux), or --cpus none"
	PIN_H="taskset -c $CPU_H" PIN_P="taskset -c $CPU_P"
fi
OUT=${OUT:-$SRCDIR/bench/results/events.md}
mkdir -p "$(dirname "$OUT")" || die "cannot create $(dirname "$OUT")"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
export SRCDIR BUILDDIR

# the tests' libraries: a private vlinkd, testpmd under a fifo, and the
# cleanup (background processes, vlinkd, the temporary directory, the
# plugin's copy) on exit
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/scripts/lib/testpmd.sh"
trap 'echo "events.sh: interrupted" >&2; exit 130' INT TERM
HOSTEND=$BUILDDIR/tests/vlink-hostend
PEER=$BUILDDIR/tools/vlink-peer
for b in "$VLINKD" "$VLINKCTL" "$PEER" "$HOSTEND"; do
	[ -x "$b" ] || die "$b is not built (make; make tests/vlink-hostend)"
done
"$HOSTEND" 2>&1 | grep -q latency || die "$HOSTEND has no latency mode: rebuild it (make tests/vlink-hostend)"

# pools and rings on tmpfs (not /tmp's disk, whose writeback would
# write-protect the rings now and then)
SHM=$(mktemp -d /dev/shm/vlink-events.XXXXXX) || die "mktemp in /dev/shm failed"
CLEANUP_PATHS="${CLEANUP_PATHS:-} $SHM"

. "$SRCDIR/bench/lib.sh"
bench_stamp
HZ=$(getconf CLK_TCK)
# all CPUs' "total steal" jiffies from /proc/stat
cpu_jiffies() { awk '$1 == "cpu" { t = 0; for (k = 2; k <= 9; k++) t += $k; print t, $9 }' /proc/stat; }
set -- $(cpu_jiffies)
J0=$1 S0=$2
NFAIL=0
fail() { NFAIL=$((NFAIL + 1)); echo "FAILED: $*" >&2; }
log() { echo "[$(( $(date +%s) - T0 )) s] $*" >&2; }

# bg_end PID: wait for a background process and forget it (its exit
# status is returned)
bg_end() {
	wait "$1"
	_rc=$?
	BG_PIDS=$(echo " $BG_PIDS " | sed "s/ $1 / /")
	return $_rc
}
# stop PID [SIGNAL]: end a background process of ours (5 s, then -9)
stop() {
	[ -n "$1" ] || return 0
	kill "-${2:-TERM}" "$1" 2>/dev/null
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -9 "$1" 2>/dev/null
	bg_end "$1"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# idle_cpu PID: the share of a core PID used over IDLE seconds, "12.3"
idle_cpu() {
	_a=$(cpu_ticks "$1"); sleep "$IDLE"; _b=$(cpu_ticks "$1")
	awk -v d=$((_b - _a)) -v hz="$HZ" -v s="$IDLE" 'BEGIN { printf "%.1f", d * 100 / hz / s }'
}
# field FILE SED-EXPR: the first match of a sed -n expression in FILE
field() { sed -n "$2" "$1" | head -n1; }

# median and range of a list of numbers: "MEDIAN MIN MAX"
stats() {
	echo "$@" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 }
		END { if (!NR) { print "- - -"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR] }'
}

start_daemon --no-hugepages --shm-dir "$SHM" || die "vlinkd did not start"
L=ev
ctl create-link $L 02:00:00:00:0e:01 1 >/dev/null || die "create-link $L failed"
log "vlinkd up, link $L (1 channel, ring 1024); pins: host end ${PIN_H:-none}, peer ${PIN_P:-none}"

# ------------------------------------------------------------- 1. idle CPU

# idle_peer MODE: vlink-peer recv in MODE, the host end attached and silent
# (one packet, then a gap longer than the measurement)
idle_peer() {
	$PIN_H "$HOSTEND" --gaps 1,$(( (IDLE + 20) * 1000 )) "$SOCK" $L send 2 64 >"$T/h" 2>&1 &
	_h=$!; BG_PIDS="$BG_PIDS $_h"
	$PIN_P "$PEER" --socket "$SOCK" recv $L --count 2 --mode "$1" --timeout $((IDLE + 60)) \
		>"$T/p" 2>"$T/p.err" &
	_p=$!; BG_PIDS="$BG_PIDS $_p"
	if until_ok 20 grep -q "recv: 1 packets" "$T/p.err"; then
		sleep 1
		IDLE_PEER_CPU=$(idle_cpu "$_p")
	else
		IDLE_PEER_CPU=-
		fail "idle, $1 mode: the first packet did not arrive: $(tail -3 "$T/p.err" "$T/h")"
	fi
	stop "$_p" INT
	stop "$_h"
}
for m in poll adaptive event; do
	idle_peer $m
	eval "IDLE_$m=\$IDLE_PEER_CPU"
	log "idle vlink-peer recv --mode $m: $IDLE_PEER_CPU% of a core over $IDLE s"
done

# the PMD's host end: l3fwd-power --interrupt-only, then dpdk-testpmd
# polling (rxonly), a silent vlink-peer recv in event mode at the other end
PMD_WHY=
if [ "$PMD" = 0 ]; then
	PMD_WHY="--no-pmd"
elif [ "$(id -u)" != 0 ]; then
	PMD_WHY="needs root (DPDK's EAL)"
elif [ ! -f "$PLUGIN" ]; then
	PMD_WHY="the PMD is not built ($BUILDDIR/pmd/librte_net_vlink.so)"
elif ! command -v "$TESTPMD" >/dev/null; then
	PMD_WHY="no $TESTPMD"
elif ! L3=$(sh "$SRCDIR/scripts/build-dpdk-example.sh" l3fwd-power 2>"$T/build.err"); then
	PMD_WHY="l3fwd-power did not build: $(tail -1 "$T/build.err")"
fi
IDLE_L3=- IDLE_TP=-
silent_peer() {
	$PIN_P "$PEER" --socket "$SOCK" recv $L --count 1 --mode event --timeout $((IDLE + 120)) -q \
		>"$T/sp" 2>&1 &
	SP=$!; BG_PIDS="$BG_PIDS $SP"
	wait_attached $L peer true && wait_attached $L host true
}
if [ -z "$PMD_WHY" ]; then
	lcore=0${CPU_H:+@$CPU_H}
	CLEANUP_PATHS="$CLEANUP_PATHS /var/run/dpdk/vlev$$-l3"
	stdbuf -oL "$L3" --no-pci --no-huge -m 256 --file-prefix "vlev$$-l3" --lcores "$lcore" \
		-d "$PLUGIN" --vdev "net_vlink0,link=$L,socket=$SOCK" \
		-- -p 0x1 --config '(0,0,0)' --interrupt-only --parse-ptype \
		</dev/null >"$T/l3.log" 2>&1 &
	L3_PID=$!; BG_PIDS="$BG_PIDS $L3_PID"
	if until_ok 30 grep -q "entering main interrupt loop" "$T/l3.log" && silent_peer; then
		sleep 1
		IDLE_L3=$(idle_cpu "$L3_PID")
		log "idle l3fwd-power --interrupt-only (host end): $IDLE_L3% of a core over $IDLE s"
	else
		fail "l3fwd-power did not come up: $(tail -5 "$T/l3.log" | tr '\n' ' ')"
	fi
	cp "$T/l3.log" "$T/l3-idle.log"
	stop "${SP:-}" INT
	stop "$L3_PID" INT
	wait_attached $L host false
	tpl=0${CPU_H:+@$CPU_H},1${CPU_H:+@$CPU_H}
	if TP_ARGS="--forward-mode=rxonly" tp_start 1 --lcores "$tpl" \
		--vdev "net_vlink0,link=$L,socket=$SOCK" >"$T/tp.err" 2>&1; then
		tp_cmd 1 start
		if tp_wait 1 "rxonly packet forwarding" 10 >/dev/null && silent_peer; then
			sleep 1
			IDLE_TP=$(idle_cpu "$(tp_pid 1)")
			log "idle dpdk-testpmd rxonly (host end, polling): $IDLE_TP% of a core over $IDLE s"
		else
			fail "testpmd did not start forwarding: $(tail -5 "$T/tp1.log" | tr '\n' ' ')"
		fi
		stop "${SP:-}" INT
		tp_quit 1 >/dev/null
		BG_PIDS=$(echo " $BG_PIDS " | sed "s/ $(tp_pid 1) / /")
	else
		fail "testpmd did not start: $(cat "$T/tp.err")"
	fi
	wait_attached $L host false
else
	log "PMD rows left out: $PMD_WHY"
fi

# ------------------------------------------------------------- 2. latency

# latency PEER-MODE HOST-OPTION: vlink-peer echo in PEER-MODE, vlink-hostend
# latency (polling, or --event); sets LAT ("p50 p99 max", us), LAT_PS and
# LAT_HS (sleeps of the peer and of the host end), LAT_W (wake-ups both
# ends sent, per round trip)
latency() {
	LAT="- - -" LAT_PS=- LAT_HS=- LAT_W=-
	$PIN_P "$PEER" --socket "$SOCK" echo $L --mode "$1" -q >"$T/e" 2>"$T/e.err" &
	_e=$!; BG_PIDS="$BG_PIDS $_e"
	wait_attached $L peer true
	# shellcheck disable=SC2086
	$PIN_H "$HOSTEND" $2 --gaps 1,"$GAP" "$SOCK" $L latency "$SAMPLES" 64 >"$T/h" 2>"$T/h.err"
	_hrc=$?
	stop "$_e" INT
	_l=$(field "$T/h" 's/^latency: [0-9]* samples, p50 \([0-9.]*\) us, p99 \([0-9.]*\) us, max \([0-9.]*\) us$/\1 \2 \3/p')
	if [ "$_hrc" != 0 ] || [ -z "$_l" ]; then
		fail "latency, echo --mode $1, host ${2:-polling}: exit $_hrc: $(cat "$T/h" "$T/h.err" | tail -5)"
		return
	fi
	LAT=$_l
	LAT_HS=$(field "$T/h" 's/^hostend: event mode: \([0-9]*\) sleeps.*/\1/p')
	LAT_PS=$(field "$T/e" 's/^echo: \([0-9]*\) sleeps.*/\1/p')
	LAT_PS=${LAT_PS:-0}
	LAT_W=$(awk -v h="$(field "$T/h" 's/^hostend: event mode: [0-9]* sleeps, \([0-9]*\) wake-ups.*/\1/p')" \
		-v p="$(field "$T/e" 's/^echo: [0-9]* sleeps, [0-9]* late, \([0-9]*\) wake-ups.*/\1/p')" \
		-v n="$SAMPLES" 'BEGIN { printf "%.2f", (h + p) / n }')
}
for hm in poll event; do
	for m in poll adaptive event; do
		latency $m "$([ $hm = event ] && echo --event)"
		eval "LAT_${m}_$hm=\$LAT LATPS_${m}_$hm=\$LAT_PS LATHS_${m}_$hm=\$LAT_HS LATW_${m}_$hm=\$LAT_W"
		log "latency, echo --mode $m, host end ${hm}: p50/p99/max $LAT us; sleeps: peer $LAT_PS, host $LAT_HS; wake-ups per round trip $LAT_W"
	done
done

# ------------------------------------------------------------- 3, 4. throughput

# h2p MODE: vlink-hostend send -> vlink-peer recv --mode MODE.  p2h MODE:
# vlink-peer send -> vlink-hostend recv (MODE poll, or event: --event).  The
# receiver starts first: the peer waits for the host end, and the host end
# starts counting once the peer acknowledged its epoch.  Sets MPPS, WAKE
# (wake-ups sent by the sender), SLEEPS (the receiver's), PKTS.
thr() {
	MPPS='' WAKE='' SLEEPS='' PKTS=''
	if [ "$1" = h2p ]; then
		$PIN_P "$PEER" --socket "$SOCK" recv $L --count "$COUNT" --mode "$2" --timeout 10 -q \
			>"$T/p" 2>"$T/p.err" &
		_p=$!; BG_PIDS="$BG_PIDS $_p"
		wait_attached $L peer true
		$PIN_H "$HOSTEND" "$SOCK" $L send "$COUNT" 64 >"$T/h" 2>"$T/h.err" &
		_h=$!; BG_PIDS="$BG_PIDS $_h"
		bg_end "$_p"; _prc=$?
		bg_end "$_h"; _hrc=$?
		set -- "$1" "$2" $(field "$T/p" 's/^recv: \([0-9]*\) packets ([0-9]* bytes) in \([0-9.]*\) s: .*/\1 \2/p')
		WAKE=$(field "$T/h" 's/^hostend: event mode: [0-9]* sleeps, \([0-9]*\) wake-ups.*/\1/p')
		SLEEPS=$(field "$T/p" 's/^recv: \([0-9]*\) sleeps.*/\1/p')
		SLEEPS=${SLEEPS:-0}
	else
		_o=
		[ "$2" = event ] && _o=--event
		$PIN_P "$PEER" --socket "$SOCK" send $L --count "$COUNT" --size 64 -q \
			>"$T/p" 2>"$T/p.err" &
		_p=$!; BG_PIDS="$BG_PIDS $_p"
		wait_attached $L peer true
		$PIN_H "$HOSTEND" $_o "$SOCK" $L recv "$COUNT" 64 >"$T/h" 2>"$T/h.err" &
		_h=$!; BG_PIDS="$BG_PIDS $_h"
		bg_end "$_h"; _hrc=$?
		bg_end "$_p"; _prc=$?
		set -- "$1" "$2" $(field "$T/h" 's/^hostend recv: .*received \([0-9]*\) (.* in \([0-9.]*\) s; .*/\1 \2/p')
		WAKE=$(field "$T/p" 's/^send: \([0-9]*\) wake-ups.*/\1/p')
		SLEEPS=$(field "$T/h" 's/^hostend: event mode: \([0-9]*\) sleeps.*/\1/p')
	fi
	if [ "$_prc" != 0 ] || [ "$_hrc" != 0 ] || [ "${3:-0}" != "$COUNT" ]; then
		fail "$1 $2: exit status peer $_prc, host end $_hrc: $(cat "$T/p" "$T/p.err" "$T/h" "$T/h.err" | tail -6 | tr '\n' ' ')"
		return 1
	fi
	PKTS=$3
	MPPS=$(awk -v n="$3" -v s="$4" 'BEGIN { printf "%.3f", n / s / 1e6 }')
}
CONFS="h2p:poll h2p:adaptive h2p:event p2h:poll p2h:event"
for r in $(seq "$REPEAT"); do
	for c in $CONFS; do
		k=$(echo "$c" | tr : _)
		if thr "${c%:*}" "${c#*:}"; then
			eval "RUNS_$k=\"\${RUNS_$k:-} $MPPS\" WAKES_$k=\"\${WAKES_$k:-} $WAKE\""
			eval "SLEEPS_$k=\"\${SLEEPS_$k:-} $SLEEPS\" PKTS_$k=\"\${PKTS_$k:-} $PKTS\""
			eval "R${r}_$k=$MPPS"
			log "round $r, $c: $MPPS Mpps, $WAKE wake-ups sent, $SLEEPS sleeps"
		fi
	done
done

set -- $(cpu_jiffies)
STEAL=$(awk -v j=$(($1 - J0)) -v s=$(($2 - S0)) 'BEGIN { if (j > 0) printf "%.1f", s * 100 / j; else print "?" }')
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T0 ))

# ------------------------------------------------------------- the table

# ratio K: the median of K's runs / the median of poll's (same direction),
# and the range of the per-round ratios: "R (A-B)"
ratio() {
	_base=${1%_*}_poll
	_r=
	for r in $(seq "$REPEAT"); do
		eval "_a=\${R${r}_$1:-} _b=\${R${r}_$_base:-}"
		[ -n "$_a" ] && [ -n "$_b" ] && _r="$_r $(awk -v a="$_a" -v b="$_b" 'BEGIN { printf "%.3f", a / b }')"
	done
	eval "set -- \$(stats \${RUNS_$1:-}) \$(stats \${RUNS_$_base:-}) \$(stats $_r)"
	[ "$1" = - ] || [ "$4" = - ] && { echo "-"; return; }
	awk -v a="$1" -v b="$4" -v lo="$8" -v hi="$9" -v n="$REPEAT" 'BEGIN {
		printf "%.2f", a / b; if (n > 1 && lo != "-") printf " (%.2f-%.2f)", lo, hi }'
}
thr_row() { # KEY LABEL MODE-LABEL
	eval "set -- \"\$1\" \"\$2\" \"\$3\" \$(stats \${RUNS_$1:-}) \"\${WAKES_$1:-}\" \"\${PKTS_$1:-}\" \"\${SLEEPS_$1:-}\""
	_k=$1 _n=$(echo "${7:-}" | wc -w)
	if [ "$4" = - ]; then
		echo "| $2 | $3 | - | - | - | - | every run failed |"
		return
	fi
	_w=$(echo "$7" | tr ' ' '\n' | grep . | awk '{ s += $1 } END { print s + 0 }')
	_p=$(echo "$8" | tr ' ' '\n' | grep . | awk '{ s += $1 } END { print s + 0 }')
	set -- "$@" $(stats $9)
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$2" "$3" \
		"$(awk -v m="$4" -v a="$5" -v b="$6" -v n="$_n" 'BEGIN {
			printf "%.2f", m; if (n > 1) printf " (%.2f-%.2f)", a, b }')" \
		"$(case $_k in *_poll) echo 1.00 ;; *) ratio "$_k" ;; esac)" \
		"$(awk -v w="$_w" -v p="$_p" 'BEGIN { if (p > 0) printf "%.2g", w / p; else print "-" }')" \
		"$(awk -v w="$_w" -v n="$_n" 'BEGIN { printf "%.0f", w / n }')" \
		"$(awk -v s="${10}" 'BEGIN { if (s == "-") print "-"; else printf "%.0f", s }')"
}
lat_row() { # PEER-MODE HOST-MODE
	eval "set -- \"\$1\" \"\$2\" \$LAT_$1_$2 \"\$LATPS_$1_$2\" \"\$LATHS_$1_$2\" \"\$LATW_$1_$2\""
	# the ends that sleep between round trips: each is woken once a trip
	_w=$([ "$1" = poll ] && echo 0 || echo 1)
	[ "$2" = event ] && _w=$((_w + 1))
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" \
		"$([ "$2" = event ] && echo "asleep (--event)" || echo polling)" "$3" "$4" "$5" "$_w" "$8" "$6" "$7"
}
goal() { # KEY: "R, met" / "R, NOT met" for ratio >= 0.9
	_r=$(ratio "$1")
	_r=${_r%% *}
	[ "$_r" = - ] && { echo "n/a"; return; }
	awk -v r="$_r" 'BEGIN { printf "%s, %s", r, (r >= 0.9 ? "met" : "NOT met") }'
}
pmd_cell() { [ -n "$PMD_WHY" ] && echo "not run: $PMD_WHY" || echo "$1"; }

{
	echo "# Event mode (bench/events.sh)"
	echo
	echo "- Date: $DATE; tree $TREE; $MACHINE; $ELAPSED s"
	echo "- Load average at start $LOAD0, at end $LOAD1 (other jobs on this machine show there and move every figure here); CPU steal by the hypervisor over the run: $STEAL%"
	echo "- Arguments: --repeat $REPEAT --count $COUNT --samples $SAMPLES --gap $GAP --idle $IDLE --cpus $CPUS"
	echo "- One private vlinkd (--no-hugepages: pools and rings on tmpfs, 4 KiB pages), one link of 1 data channel, ring 1024; the host end (tests/vlink-hostend, or the PMD) on CPU ${CPU_H:-any}, the peer (tools/vlink-peer, socket mode) on CPU ${CPU_P:-any}"
	echo
	echo "### Idle CPU"
	echo
	echo "% of one core over $IDLE s (utime + stime from /proc/PID/stat, clock ticks of 1/$HZ s: a resolution of $(awk -v h="$HZ" -v s="$IDLE" 'BEGIN { printf "%.2g", 100 / h / s }')%), the other end attached and silent."
	echo
	echo "| end | mode | idle CPU |"
	echo "|---|---|---:|"
	echo "| vlink-peer recv (socket peer) | poll | $IDLE_poll% |"
	echo "| vlink-peer recv (socket peer) | adaptive | $IDLE_adaptive% |"
	echo "| vlink-peer recv (socket peer) | event | $IDLE_event% |"
	echo "| net_vlink host end, dpdk-testpmd rxonly | polling | $(pmd_cell "$IDLE_TP%") |"
	echo "| net_vlink host end, l3fwd-power --interrupt-only | rx interrupts | $(pmd_cell "$IDLE_L3%") |"
	echo
	echo "### Wake-up latency"
	echo
	echo "Round trip of one 64 B packet, vlink-hostend latency -> vlink-peer echo -> back to the host end, in microseconds: $SAMPLES samples, $GAP ms apart (an adaptive peer sleeps after 1 ms idle). A round trip includes one wake-up of a sleeping peer (adaptive, event), and one more when the host end sleeps too (--event): \"wake-ups in a round trip\"; \"signals sent\" is what both ends' summaries counted (eventfd writes, over the samples; a few at start-up). Sleeps: how many times each end slept during the run."
	echo
	echo "| peer (echo --mode) | host end waits | p50 | p99 | max | wake-ups in a round trip | signals sent per round trip | peer sleeps | host sleeps |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for hm in poll event; do
		for m in poll adaptive event; do lat_row $m $hm; done
	done
	echo
	echo "### Throughput at full load, and notifications"
	echo
	echo "$COUNT packets of 64 B flat out; Mpps = packets / seconds from the receiver's summary; the median of $REPEAT interleaved rounds (min-max); ratio = median / the poll row's median (in brackets the range of the per-round ratios). Wake-ups: signals the sender wrote to the receiver's notifier (all runs' sum / all runs' packets, and per run); sleeps: the receiver's, median per run."
	echo
	echo "| direction (sender -> receiver) | receiver | Mpps | ratio to poll | wake-ups per packet | wake-ups per run | receiver sleeps per run (arms, some end at once) |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	thr_row h2p_poll "vlink-hostend send -> vlink-peer recv" "poll"
	thr_row h2p_adaptive "vlink-hostend send -> vlink-peer recv" "adaptive"
	thr_row h2p_event "vlink-hostend send -> vlink-peer recv" "event"
	thr_row p2h_poll "vlink-peer send -> vlink-hostend recv" "polling"
	thr_row p2h_event "vlink-peer send -> vlink-hostend recv" "--event"
	echo
	echo "Goals: throughput at full load >= 0.9 x poll mode: peer adaptive $(goal h2p_adaptive), peer event $(goal h2p_event), host end --event $(goal p2h_event); wake-ups per packet << 0.01 (see the table)."
	[ "$NFAIL" = 0 ] || { echo; echo "**$NFAIL run(s) failed: see the log (stderr).**"; }
} >"$T/out"
cat "$T/out"
cp "$T/out" "$OUT"
echo "events.sh: written $OUT" >&2
# shellcheck disable=SC2015
[ "$NFAIL" = 0 ] && exit 0 || exit 1
