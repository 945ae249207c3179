# Shared by the bench scripts that write a results table (bench/guest.sh,
# bench/guest-netdev.sh, bench/events.sh); SRCDIR set.

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
