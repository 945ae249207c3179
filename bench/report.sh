#!/bin/sh
# bench/report.sh: regenerate bench/RESULTS.md in one go: the translation
# index (bench/xlate), the ring (bench/ring), net_vlink against its peers
# in dpdk-testpmd (bench/peers.sh: macswap and io forwarding, tables with
# min/median/max of 7 runs a cell, the goals, a PNG chart), vlinkd with 1000
# and 4000 links (bench/scale.sh), DPDK in a TCG guest through vlink and
# through virtio-net/vhost-user (bench/guest.sh, where QEMU is built;
# informational), event mode (bench/events.sh: idle CPU, wake-up latency,
# throughput and notifications of ends that sleep), and the recovery
# times of the fault matrix (tests/fault/matrix.sh and, where QEMU is
# built, tests/fault/guest.sh), with the machine and the date; with --ovs
# also OVS-DPDK with vlink, vhost-user and memif ports (bench/ovs.sh); with
# --guest-netdev also two TCG guests through OVS-DPDK, vlink_net against
# virtio-net (bench/guest-netdev.sh: ~5 more minutes, so not by default).
# The hand-written analysis comes from bench/notes/*.md.
#
#   sudo bench/report.sh [--quick] [--repeat N] [--peers-repeat N] [--kills N] [--no-guest] [--ovs] [--guest-netdev]
set -eu
# The braces (closed at the end of the file) make the shell read the whole
# script before it runs any of it: a long run must not pick up an edit or
# a checkout of this file made meanwhile (a shell reads as it goes).
{
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${BUILDDIR:-$SRCDIR}
REPEAT=3 PEERS_REPEAT=7 KILLS=50 GUEST=1 OVS=0 NETDEV=0 WRITE_ONLY=0 INTERVAL=5 ARGS="$*"

usage() {
	cat <<EOF
Usage: sudo bench/report.sh [OPTION]...
Run every benchmark and the fault matrix, and write bench/RESULTS.md
(figures in bench/results/: peers.md, peers.csv, peers.png, xlate.txt,
ring.txt, scale.md, guest.md, events.md, fault.md, and the logs).  Takes
about 95 minutes, 75 of them in bench/peers.sh.
  --repeat N     bench/guest.sh and bench/events.sh rounds (default 3)
  --peers-repeat N  bench/peers.sh runs per cell (default 7: the goals need
                 the spread of several runs)
  --kills N      random kills in the fault matrix (default 50)
  --no-guest     leave out the runs with a guest: the fault matrix with the
                 peer in a guest and bench/guest.sh (they also are left out
                 when QEMU is not built: make qemu)
  --ovs          also run bench/ovs.sh (OVS-DPDK with vlink, vhost-user and
                 memif ports; about 3 minutes per repeat): not by default
  --guest-netdev also bench/guest-netdev.sh (two TCG guests through
                 OVS-DPDK: vlink_net.ko against virtio-net; --repeat
                 rounds, 1-2 min each); without it RESULTS.md shows
                 the figures of bench/results/guest-netdev.md, if any,
                 as of their own run
  --write-only   run nothing: write RESULTS.md from the figures already in
                 bench/results (each benchmark's own header dates its run;
                 e.g. after running some of them by hand)
  --quick        --repeat 1 --peers-repeat 1 --kills 10 and 3 s intervals:
                 a check of the script, not figures to publish
  --builddir DIR the vlink build tree (default \$BUILDDIR or the source tree)
  -h, --help     this text
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--repeat) REPEAT=${2:?}; shift ;;
	--peers-repeat) PEERS_REPEAT=${2:?}; shift ;;
	--kills) KILLS=${2:?}; shift ;;
	--no-guest) GUEST=0 ;;
	--ovs) OVS=1 ;;
	--guest-netdev) NETDEV=1 ;;
	--write-only) WRITE_ONLY=1 ;;
	--quick) REPEAT=1 PEERS_REPEAT=1 KILLS=10 INTERVAL=3 ;;
	--builddir) BUILDDIR=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "report.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$WRITE_ONLY" = 1 ] || [ "$(id -u)" = 0 ] || { echo "report.sh: run as root (hugepages, testpmd)" >&2; exit 2; }

R="$SRCDIR/bench/results"
OUT="$SRCDIR/bench/RESULTS.md"
mkdir -p "$R/logs"
t0=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - t0 )) s)" >&2; }

# --- the machine --------------------------------------------------------
machine() {
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	. /etc/os-release
	tree=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo "?")
	git -C "$SRCDIR" diff --quiet HEAD 2>/dev/null || tree="$tree + local changes"
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); tree $tree"
	echo "- Machine: $cpu, $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r) $(uname -m), $PRETTY_NAME"
	echo "- Load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs on the host move the absolute figures; compare the ratios)"
	echo "- $(gcc --version | head -n1); DPDK $(dpkg-query -W -f '${Version}' libdpdk-dev 2>/dev/null || echo '?')"
}
prc=0 src=0 grc=0 nrc=0 erc=0 orc=0 frc=0 NETDEV_OLD=
if [ "$WRITE_ONLY" = 1 ]; then
	# the sections of the benchmarks whose figures are there
	[ -f "$R/ovs.md" ] && OVS=1
else
	# not straight into machine.md: the shell empties that tracked file before
	# machine() asks git whether the tree has local changes
	machine >"$R/machine.md.new"
	mv "$R/machine.md.new" "$R/machine.md"

	# --- micro-benchmarks ---------------------------------------------------
	step "build bench/xlate, bench/ring"
	make -C "$BUILDDIR" -s bench/xlate bench/ring >/dev/null

	step "bench/xlate"
	"$BUILDDIR/bench/xlate" >"$R/xlate.txt" 2>&1

	step "bench/ring"
	{
		echo "| ring size | descriptors | M descriptors/s | out of sequence |"
		echo "|---:|---:|---:|---:|"
		for size in 256 1024 4096; do
			"$BUILDDIR/bench/ring" 200000000 "$size" | awk -v s="$size" '
				/descriptors\/s/ { for (k = 1; k <= NF; k++) {
					if ($k == "M") m = $(k - 1)
					if ($k == "out") o = $(k - 1) }
					printf "| %s | 200,000,000 | %s | %s |\n", s, m, o }'
		done
	} >"$R/ring.md"

	# --- net_vlink and its peers ----------------------------------------------
	# 64 cells (8 configurations, 2 sizes, 2 layouts, 2 forwarding modes); a
	# run is the 2 s warm-up, the interval and about 3 s of start-up and quit
	step "bench/peers.sh --repeat $PEERS_REPEAT (about $((PEERS_REPEAT * 64 * (INTERVAL + 5) / 60)) min)"
	prc=0
	"$SRCDIR/bench/peers.sh" --repeat "$PEERS_REPEAT" --interval "$INTERVAL" --nice -10 \
		--builddir "$BUILDDIR" --out "$R" >"$R/logs/peers.out" 2>&1 || prc=$?

	# --- vlinkd with many links -------------------------------------------------
	step "bench/scale.sh (1000 and 4000 links)"
	src=0
	"$SRCDIR/bench/scale.sh" --builddir "$BUILDDIR" --out "$R/scale.md" >"$R/logs/scale.out" 2>&1 || src=$?

	# --- DPDK in a guest (TCG) -----------------------------------------------
	grc=0
	if [ "$GUEST" = 1 ] && [ -x "$BUILDDIR/qemu/qemu-system-x86_64" ]; then
		step "bench/guest.sh --repeat $REPEAT (about $((60 + REPEAT * 4 * (INTERVAL + 12))) s)"
		"$SRCDIR/bench/guest.sh" --repeat "$REPEAT" --interval "$INTERVAL" \
			--builddir "$BUILDDIR" --out "$R/guest.md" >"$R/logs/guest.out" 2>&1 || grc=$?
	else
		{
			echo "# DPDK in a TCG guest"
			echo
			echo "Not run: $([ "$GUEST" = 1 ] && echo "no QEMU at $BUILDDIR/qemu/qemu-system-x86_64 (make qemu)" || echo "--no-guest")."
		} >"$R/guest.md"
	fi

	# --- two guests through OVS (TCG), with --guest-netdev --------------------
	nrc=0 NETDEV_OLD=
	if [ "$NETDEV" = 1 ] && [ "$GUEST" = 1 ]; then
		step "bench/guest-netdev.sh --repeat $REPEAT (about $((30 + REPEAT * 90)) s)"
		"$SRCDIR/bench/guest-netdev.sh" --repeat "$REPEAT" --builddir "$BUILDDIR" \
			--out "$R/guest-netdev.md" >"$R/logs/guest-netdev.out" 2>&1 || nrc=$?
	elif [ -f "$R/guest-netdev.md" ]; then
		NETDEV_OLD="Not run by this report (\`--guest-netdev\`): the figures of an earlier run, dated below."
	fi

	# --- event mode -----------------------------------------------------------
	step "bench/events.sh --repeat $REPEAT (about $((110 + REPEAT * 8)) s)"
	erc=0
	"$SRCDIR/bench/events.sh" --repeat "$REPEAT" --builddir "$BUILDDIR" --out "$R/events.md" \
		>"$R/logs/events.out" 2>&1 || erc=$?

	# --- OVS-DPDK (only with --ovs) -------------------------------------------
	orc=0
	if [ "$OVS" = 1 ]; then
		step "bench/ovs.sh --repeat $REPEAT (about $((30 + REPEAT * 10 * (INTERVAL + 10))) s)"
		"$SRCDIR/bench/ovs.sh" --repeat "$REPEAT" --interval "$INTERVAL" --builddir "$BUILDDIR" \
			--out "$R" >"$R/logs/ovs.out" 2>&1 || orc=$?
	fi

	# --- recovery times -------------------------------------------------------
	: >"$R/fault.md"
	frc=0
	step "tests/fault/matrix.sh ($KILLS random kills)"
	FAULT_KILLS=$KILLS FAULT_RESULTS="$R/fault.md" BUILDDIR=$BUILDDIR SRCDIR=$SRCDIR \
		sh "$SRCDIR/tests/fault/matrix.sh" >"$R/logs/fault-matrix.log" 2>&1 || frc=$?
	if [ "$GUEST" = 1 ]; then
		step "tests/fault/guest.sh"
		FAULT_RESULTS="$R/fault.md" BUILDDIR=$BUILDDIR SRCDIR=$SRCDIR \
			sh "$SRCDIR/tests/fault/guest.sh" >"$R/logs/fault-guest.log" 2>&1 || frc=$?
	fi
fi
verdicts=$(grep -h "cases passed" "$R"/logs/fault-*.log 2>/dev/null | sed 's/^/- /')

# --- RESULTS.md -----------------------------------------------------------
step "write $OUT"
{
	echo "# Benchmark results"
	echo
	if [ "$WRITE_ONLY" = 1 ]; then
		echo "Assembled by \`bench/report.sh${ARGS:+ $ARGS}\` from the figures in bench/results:"
		echo "each section's own header says when and on what tree it ran."
	else
		echo "Generated by \`bench/report.sh${ARGS:+ $ARGS}\` (as root) in $(( ($(date +%s) - t0) / 60 )) min;"
		echo "every figure below comes from that one run unless a note names another."
	fi
	echo
	cat "$R/machine.md"
	echo
	echo "## Translation index (bench/xlate)"
	echo
	echo '```'
	grep -E '^(\||index:|EAL:|note:|xlate speedup)' "$R/xlate.txt"
	echo '```'
	echo
	sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/xlate.md"
	echo
	echo "## SPSC ring, two threads (bench/ring)"
	echo
	echo "Producer pinned to CPU 0, consumer to CPU 1, bursts of 32, every"
	echo "descriptor checked for sequence by the consumer."
	echo
	cat "$R/ring.md"
	echo
	echo "## net_vlink and its peers in dpdk-testpmd (bench/peers.sh)"
	echo
	[ "$prc" = 0 ] || echo "**bench/peers.sh exited $prc: see bench/results/logs/peers.out.**"
	sed '1d' "$R/peers.md"
	echo
	echo "![Mpps per configuration](results/peers.png)"
	echo
	sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/peers.md"
	echo
	echo "## vlinkd with many links (bench/scale.sh)"
	echo
	[ "$src" = 0 ] || echo "**bench/scale.sh exited $src: see bench/results/logs/scale.out.**"
	cat "$R/scale.md"
	echo
	sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/scale.md"
	echo
	echo "## DPDK in a TCG guest: vlink and virtio-net/vhost-user (bench/guest.sh)"
	echo
	[ "$grc" = 0 ] || echo "**bench/guest.sh exited $grc: see bench/results/logs/guest.out.**"
	sed '1d' "$R/guest.md"
	echo
	sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/guest.md"
	echo
	if [ -f "$R/guest-netdev.md" ]; then
		echo "## Two TCG guests through OVS-DPDK: vlink_net and virtio-net (bench/guest-netdev.sh)"
		echo
		[ -z "$NETDEV_OLD" ] || { echo "$NETDEV_OLD"; echo; }
		[ "$nrc" = 0 ] || echo "**bench/guest-netdev.sh exited $nrc: see bench/results/logs/guest-netdev.out.**"
		sed '1d' "$R/guest-netdev.md"
		echo
		sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/guest-netdev.md"
		echo
	fi
	echo "## Event mode: ends that sleep (bench/events.sh)"
	echo
	[ "$erc" = 0 ] || echo "**bench/events.sh exited $erc: see bench/results/logs/events.out.**"
	sed '1d' "$R/events.md"
	echo
	sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/events.md"
	echo
	if [ "$OVS" = 1 ]; then
		echo "## OVS-DPDK with vlink, vhost-user and memif ports (bench/ovs.sh)"
		echo
		[ "$orc" = 0 ] || echo "**bench/ovs.sh exited $orc: see bench/results/logs/ovs.out.**"
		sed '1d' "$R/ovs.md"
		echo
		sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/ovs.md"
		echo
	fi
	echo "## Recovery times (tests/fault)"
	echo
	[ "$frc" = 0 ] || echo "**A fault test failed: see bench/results/logs/fault-*.log.**"
	echo "$verdicts"
	echo
	sed 's/^### /### /' "$R/fault.md"
	sed '/^<!--/,/-->$/d' "$SRCDIR/bench/notes/fault.md"
} >"$OUT.new"
mv "$OUT.new" "$OUT"
step "done: $OUT"
[ "$prc" = 0 ] && [ "$frc" = 0 ] && [ "$src" = 0 ] && [ "$grc" = 0 ] && [ "$erc" = 0 ] && [ "$nrc" = 0 ] && [ "$orc" = 0 ] || exit 1
exit 0
}
