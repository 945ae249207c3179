# shellcheck shell=bash
# Shared by the bench scripts (sourced):
# - bench_stamp, for those that write a results table (bench/guest.sh,
#   bench/guest-netdev.sh, bench/events.sh: /bin/sh);
# - for the benchmarks that drive dpdk-testpmd (bench/peers.sh,
#   bench/ovs.sh: bash): testpmd processes under the script's control
#   (commands through a fifo, answers awaited in the log from a byte offset
#   on), the hugepages they need, a private mount namespace with their own
#   hugetlbfs, CSV quoting and a cell's median.  That part is bash: a
#   POSIX shell returns before it (it never parses it).
# SRCDIR set.

# bench_stamp: what a table's header says about the run: MACHINE (CPU
# model and count, kernel), DATE (UTC), TREE (git revision, "+ local
# changes" when the tree differs from it: what bench/report.sh wrote
# before this run is not a change of the tree), LOAD0 (load average now),
# T0 (seconds, for the run's duration)
# shellcheck disable=SC2034 # for the caller
bench_stamp() {
	MACHINE="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), $(nproc) CPUs, Linux $(uname -r)"
	DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
	TREE=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo "?")
	git -C "$SRCDIR" diff --quiet HEAD -- . ':!bench/results' ':!bench/RESULTS.md' 2>/dev/null ||
		TREE="$TREE + local changes"
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	T0=$(date +%s)
}

# ------------------------------------------------------------- bash only
[ -n "${BASH_VERSION:-}" ] || return 0

# The caller of this part also sets: T (its private directory: the
# fifos, logs, hugetlbfs), LOGS (where save_logs copies a run's logs),
# TESTPMD, MEM_MB (-m), MBUFS (--total-num-mbufs), NICE, TP_PREFIX (the EAL
# --file-prefix of testpmd ID is TP_PREFIX-ID), TP_APP (more testpmd
# arguments, may be empty) and R_NOTE (tp_quit adds to it); it kills what
# is left with tp_kill for every ID of TP_IDS on exit.

declare -A TP_PID TP_FD TP_LOG
TP_IDS=
HP_SET=0

# run_opt OPTION VALUE: the options with a value both benchmarks take:
# sets INTERVAL, WARMUP, REPEAT, SIZES, ONLY, CPUS, OUT or BUILDDIR (the
# caller then shifts twice); 1 when OPTION is not one of them
# shellcheck disable=SC2034 # for the caller
run_opt() {
	case $1 in
	--interval) INTERVAL=${2:?} ;;
	--warmup) WARMUP=${2:?} ;;
	--repeat) REPEAT=${2:?} ;;
	--sizes) SIZES=${2:?} ;;
	--only) ONLY=${2:?} ;;
	--cpus) CPUS=${2:?} ;;
	--out) OUT=${2:?} ;;
	--builddir) BUILDDIR=${2:?} ;;
	*) return 1 ;;
	esac
}

# check_run_opts: the options both benchmarks take: INTERVAL, WARMUP
# (seconds), REPEAT (runs), SIZES (64,1500: becomes "64 1500"), CPUS (A,B:
# sets CPU_A, CPU_B); die() on a bad one
check_run_opts() {
	local s
	[[ $INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--interval: a number of seconds"
	[[ $WARMUP =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--warmup: a number of seconds"
	[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "--repeat: a number of runs, 1 or more"
	[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--sizes: e.g. 64,1500"
	[[ $CPUS =~ ^[0-9]+,[0-9]+$ ]] || die "--cpus: two CPU numbers, e.g. 0,1"
	SIZES=${SIZES//,/ }
	for s in $SIZES; do
		# up to an MTU of 1500: 1514 B frames without CRC
		[ "$s" -ge 64 ] && [ "$s" -le 1514 ] || die "--sizes: $s is not within 64-1514 bytes"
	done
	CPU_A=${CPUS%,*}
	CPU_B=${CPUS#*,}
	[ "$CPU_A" != "$CPU_B" ] || die "--cpus: two different CPUs"
}

# end_pid PID: SIGTERM, SIGKILL after 5 s, and reap it
end_pid() {
	local i
	if kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$1" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
}

# private_ns VAR ARGS...: unless VAR is set in the environment, run this
# script again (with ARGS) in a private mount namespace, VAR set: the
# hugetlbfs it mounts (private_mounts) and the tmpfs over /run/dpdk are
# then invisible to everyone else -- in particular to other vlinkd
# instances, which take the first hugetlbfs in /proc/mounts -- and vanish
# with it even if it is killed
private_ns() {
	local var=$1
	shift
	[ -z "${!var:-}" ] || return 0
	export "$var=1"
	exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
}

# private_mounts NAME: in that namespace, detach every other hugetlbfs
# (so that a vlinkd started here uses ours), mount one on T/huge and a
# tmpfs over /run/dpdk
private_mounts() {
	local m
	for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	mkdir -p "$T/huge" /run/dpdk
	mount -t hugetlbfs -o pagesize=2M "$1-hugetlbfs" "$T/huge" || die "cannot mount hugetlbfs"
	mount -t tmpfs -o mode=0700,size=64m "$1-dpdk-run" /run/dpdk || die "cannot mount /run/dpdk"
}

# Hugepages: hp_ensure PAGES makes sure PAGES 2 MiB pages are free (other
# programs may take some between runs); HP_SET=1 once it raised
# vm.nr_hugepages.
HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
hp_free() { cat $HP_SYS/free_hugepages; }
hp_ensure() { # PAGES
	[ "$(hp_free)" -lt "$1" ] || return 0
	HP_SET=1
	"$SRCDIR/scripts/hugepages.sh" reserve "$1"
}

tp_kill() { # ID: make sure testpmd ID is gone
	local id=$1 pid=${TP_PID[$1]:-}
	[ -n "$pid" ] || return 0
	if [ -n "${TP_FD[$id]:-}" ]; then
		exec {TP_FD[$id]}>&-
		TP_FD[$id]=
	fi
	end_pid "$pid"
	TP_PID[$id]=
}

now() { echo "$EPOCHREALTIME"; }
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# tp_start ID EAL-ARGS...: start a testpmd reading commands from a fifo
tp_start() {
	local id=$1 fifo=$T/$1.in
	shift
	TP_LOG[$id]=$T/$id.log
	mkfifo "$fifo"
	TP_IDS="$TP_IDS $id"
	set -- "$TESTPMD" "$@" --no-pci --huge-dir "$T/huge" --file-prefix "$TP_PREFIX-$id" \
		-m "$MEM_MB" --single-file-segments -- -i --nb-cores=1 --total-num-mbufs="$MBUFS" ${TP_APP:-}
	echo "+ $*" >"${TP_LOG[$id]}"
	nice -n "$NICE" stdbuf -oL -eL "$@" <"$fifo" >>"${TP_LOG[$id]}" 2>&1 &
	TP_PID[$id]=$!
	exec {TP_FD[$id]}>"$fifo"
	rm -f "$fifo"
}

tp_alive() { [ -n "${TP_PID[$1]:-}" ] && kill -0 "${TP_PID[$1]}" 2>/dev/null; }

# tp_cmd ID COMMAND: send a command line (returns 1 if the process is gone)
tp_cmd() {
	tp_alive "$1" || return 1
	printf '%s\n' "$2" >&"${TP_FD[$1]}" 2>/dev/null
}

tp_size() { stat -c %s "${TP_LOG[$1]}"; }

# tp_wait ID OFFSET REGEX COUNT TIMEOUT: wait until the log, from byte
# OFFSET on, has COUNT lines matching REGEX; 1 if the process died, 2 on
# timeout
tp_wait() {
	local id=$1 off=$2 re=$3 count=$4 timeout=$5 n i=0
	while :; do
		n=$(tail -c +$((off + 1)) "${TP_LOG[$id]}" | grep -cE -- "$re")
		[ "$n" -ge "$count" ] && return 0
		tp_alive "$id" || return 1
		i=$((i + 1))
		[ $((i * 100)) -ge $((timeout * 1000)) ] && return 2
		sleep 0.1
	done
}

# tp_run ID REGEX COUNT TIMEOUT COMMAND: send a command and wait for its output
tp_run() {
	local off
	off=$(tp_size "$1")
	tp_cmd "$1" "$5" || return 1
	tp_wait "$1" "$off" "$2" "$3" "$4"
	TP_OFF=$off
}

tp_out() { tail -c +$(($2 + 1)) "${TP_LOG[$1]}"; }

FAIL=
fail() { # ID MESSAGE: the run failed; show the end of the process's log
	local id=$1
	shift
	FAIL=$*
	{
		echo "FAILED: $*"
		if [ -n "$id" ] && [ -n "${TP_LOG[$id]:-}" ]; then
			if ! tp_alive "$id" && [ -n "${TP_PID[$id]:-}" ]; then
				wait "${TP_PID[$id]}" 2>/dev/null
				echo "  ($id exited with status $?)"
			fi
			echo "  --- last lines of $id's log (${TP_LOG[$id]##*/}) ---"
			tail -n 15 "${TP_LOG[$id]}" | awk '{ print "  | " $0 }'
		fi
	} >&2
	return 1
}

# tp_ready ID: wait for the first prompt
tp_ready() {
	tp_wait "$1" 0 'testpmd> ' 1 60
	case $? in
	0) return 0 ;;
	1) fail "$1" "testpmd $1 exited during start-up" ;;
	*) fail "$1" "testpmd $1 gave no prompt within 60 s" ;;
	esac
}

# tp_links_up ID NPORTS: wait (20 s) until NPORTS ports are up
tp_links_up() {
	local id=$1 nports=$2 i up re='^[0-9]+ +([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2} +'
	for i in $(seq 40); do
		tp_run "$id" "$re" "$nports" 5 'show port summary all' ||
			{ fail "$id" "testpmd $id: no answer to 'show port summary all'"; return 1; }
		up=$(tp_out "$id" "$TP_OFF" | grep -E "$re" | awk '$5 == "up"' | wc -l)
		[ "$up" -ge "$nports" ] && return 0
		sleep 0.5
	done
	fail "$id" "testpmd $id: link(s) still down after 20 s ($up of $nports up)"
}

# tp_stats ID NPORTS: show port stats all; sets ST (summed over the ports:
# "rx rx-bytes tx errors missed nombuf rx-pps") and ST_T (when it was sent).
# Rx-pps is testpmd's own "Throughput (since last show)": the RX-packets
# delta over the time between the two shows as testpmd executed them.
tp_stats() {
	local id=$1 nports=$2
	ST_T=$(now)
	tp_run "$id" '^ *#+ *$' "$nports" 10 'show port stats all' ||
		{ fail "$id" "testpmd $id: no answer to 'show port stats all'"; return 1; }
	ST=$(tp_out "$id" "$TP_OFF" | awk '
		/RX-packets:/ { rx += $2; miss += $4; rxb += $6 }
		/RX-errors:/ { err += $2 }
		/RX-nombuf:/ { nombuf += $2 }
		/TX-packets:/ { tx += $2; err += $4 }
		/Rx-pps:/ { pps += $2 }
		END { printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f", rx, rxb, tx, err, miss, nombuf, pps }')
}

# tp_stop ID: stop forwarding (waits for "Done.")
tp_stop() { tp_run "$1" '^Done\.' 1 15 stop >/dev/null 2>&1; }

# tp_quit ID: quit and wait (10 s, then kill); an exit status other than 0
# goes to R_NOTE
tp_quit() {
	local id=$1 pid=${TP_PID[$1]:-} i rc
	[ -n "$pid" ] || return 0
	tp_cmd "$id" quit
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		tp_kill "$id"
		R_NOTE="$R_NOTE${R_NOTE:+; }$id killed after quit"
		return
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	exec {TP_FD[$id]}>&-
	TP_FD[$id]=
	TP_PID[$id]=
	[ "$rc" = 0 ] || R_NOTE="$R_NOTE${R_NOTE:+; }$id exit status $rc at quit"
}

save_logs() { # NAME: keep this run's logs as LOGS/NAME.ID.log
	local id
	for id in $TP_IDS; do
		[ -e "${TP_LOG[$id]:-}" ] && cp "${TP_LOG[$id]}" "$LOGS/$1.$id.log"
	done
}

csvq() { local v=${1//\"/\'}; echo "\"$v\""; }

# median_of VALUES...: "MEDIAN MIN MAX N" of the numbers
median_of() {
	echo "$@" | tr ' ' '\n' | sort -g | awk 'NF { v[++n] = $1 } END {
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%.6f %.6f %.6f %d\n", m, v[1], v[n], n }'
}
