#!/bin/bash
# bench/peers.sh: net_vlink against its peers (memif copy, memif zero-copy,
# vhost-user + virtio-user at its default and its tuned settings) on one
# harness: dpdk-testpmd `set fwd macswap` (every packet's Ethernet header
# read and written) and `set fwd io` (descriptors passed untouched), `start
# tx_first 32`, packets counted from `show port stats all` over a fixed
# interval; 1 process with 1 forwarding core and 2 processes on 2 cores;
# at least 7 runs a cell, interleaved round the matrix; a markdown table
# (min/median/max, goals), CSVs and a PNG chart.  See bench/README.md.
#
#   sudo bench/peers.sh [--interval S] [--repeat N] [--fwd io,macswap] [--sizes 64,1500] [--only LIST] [--out DIR]
#
# Environment: BUILDDIR (the vlink build tree, default the source tree),
# TESTPMD (default dpdk-testpmd), VLINK_HOST_DEVARGS (more devargs for
# net_vlink's host end, e.g. rx_copybreak=0; printed with the table).
set -u
# The braces (closed at the end of the file) make the shell read the whole
# script before it runs any of it: a long run must not pick up an edit or
# a checkout of this file made meanwhile (a shell reads as it goes).
{

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
VHOST_CONFIGS="vhost-user vhost-user-tuned vhost-user-packed vhost-user-vec vhost-user-packed-vec"
ALL_CONFIGS="vlink memif memif-zc $VHOST_CONFIGS"

usage() {
	cat <<EOF
Usage: sudo bench/peers.sh [OPTION]...
Compare net_vlink with net_memif (copy and zero-copy) and net_vhost +
net_virtio_user (default and tuned settings) in dpdk-testpmd (macswap and
io forwarding, start tx_first 32).

  --interval S     seconds counted per run (default 5)
  --warmup S       seconds of forwarding before counting (default 2)
  --repeat N       runs per cell, interleaved round the whole matrix; the
                   table gives min/median/max (default 7)
  --fwd LIST       testpmd forwarding modes, comma separated: macswap (every
                   packet's Ethernet header read and written; the headline
                   table) and/or io (descriptors only) (default io,macswap)
  --nice N         run the testpmds at this nice level, e.g. -10 on a machine
                   where other jobs run (default 0)
  --sizes LIST     packet sizes in bytes, comma separated (default 64,1500)
  --only LIST      configurations, comma separated, from: vlink, memif,
                   memif-zc, vhost-user (virtio-user's defaults),
                   vhost-user-tuned, vhost-user-packed, vhost-user-vec,
                   vhost-user-packed-vec, or vhost (all five vhost-user ones)
                   (default: all)
  --layouts LIST   1p (one testpmd, one forwarding core, both ends) and/or
                   2p (two testpmd, one end each, on two CPUs) (default 1p,2p)
  --cpus A,B       the two CPUs to run on (default 0,1)
  --out DIR        results directory (default bench/results)
  --builddir DIR   vlink build tree (default \$BUILDDIR or the source tree)
  --hugepages N    free 2 MiB hugepages to have at start (default 512; the
                   script also tops up to what each run needs)
  --keep           keep the temporary directory (sockets, logs)
  -h, --help       this text

Writes DIR/peers.md (the tables and goals, also printed), DIR/peers.csv
(one row per cell), DIR/peers-runs.csv (every run), DIR/peers.png (the
chart) and DIR/logs/ (every process's log:
CONFIG-LAYOUT-SIZE-FWD[.rREPEAT].A|B.log).  Exit status 0 when every run
worked (vlink rows skipped for want of the PMD count as worked), 1 when one
failed, 2 on a usage or set-up error.  Needs root (hugepages, a private
mount namespace).
EOF
}

die() { echo "peers.sh: $*" >&2; exit 2; }

INTERVAL=5
WARMUP=2
REPEAT=7
FWDS=io,macswap
NICE=0
SIZES=64,1500
ONLY=
LAYOUTS=1p,2p
CPUS=0,1
OUT=$SRCDIR/bench/results
BUILDDIR=${BUILDDIR:-$SRCDIR}
HUGEPAGES=512
KEEP=0
TESTPMD=${TESTPMD:-dpdk-testpmd}
BURSTS=32          # start tx_first BURSTS: bursts of 32 packets per port
MEM_MB=256         # -m per testpmd
MBUFS=16384        # --total-num-mbufs per testpmd
RING=1024          # ring / queue size for every configuration
TP_PREFIX=peers    # testpmd ID's EAL --file-prefix: peers-ID

while [ $# -gt 0 ]; do
	case $1 in
	--fwd) FWDS=${2:?}; shift ;;
	--nice) NICE=${2:?}; shift ;;
	--layouts) LAYOUTS=${2:?}; shift ;;
	--hugepages) HUGEPAGES=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) run_opt "$@" || { usage >&2; exit 2; }; shift ;;
	esac
	shift
done

check_run_opts
[[ $NICE =~ ^-?[0-9]+$ ]] && [ "$NICE" -ge -20 ] && [ "$NICE" -le 19 ] || die "--nice: -20 to 19"
[[ $HUGEPAGES =~ ^[0-9]+$ ]] || die "--hugepages: a number of pages"
CONFIGS=
for c in ${ONLY//,/ }; do
	case $c in
	vhost) CONFIGS="$CONFIGS $VHOST_CONFIGS" ;;
	*) [[ " $ALL_CONFIGS " == *" $c "* ]] ||
		die "--only: unknown configuration '$c' (${ALL_CONFIGS// /, }, vhost)"
	   CONFIGS="$CONFIGS $c" ;;
	esac
done
CONFIGS=${CONFIGS:-$ALL_CONFIGS}
sel=$CONFIGS CONFIGS=
for c in $ALL_CONFIGS; do [[ " $sel " == *" $c "* ]] && CONFIGS="$CONFIGS $c"; done
CONFIGS=${CONFIGS# }
LAYOUTS=${LAYOUTS//,/ }
for l in $LAYOUTS; do
	case $l in 1p|2p) ;; *) die "--layouts: 1p and/or 2p" ;; esac
done
# macswap first: the headline table
sel=" ${FWDS//,/ } " FWDS=
for f in $sel; do
	case $f in io|macswap) ;; *) die "--fwd: io and/or macswap" ;; esac
done
for f in macswap io; do [[ $sel == *" $f "* ]] && FWDS="$FWDS $f"; done
FWDS=${FWDS# }
[ -n "$FWDS" ] || die "--fwd: io and/or macswap"

[ "$(id -u)" = 0 ] || die "needs root (hugepages, mounts): sudo $0"
command -v "$TESTPMD" >/dev/null || die "$TESTPMD not found (apt-get install dpdk)"

# Run in a private mount namespace (bench/lib.sh: private_ns, private_mounts)
private_ns VLINK_PEERS_NS \
	--interval "$INTERVAL" --warmup "$WARMUP" --repeat "$REPEAT" --fwd "${FWDS// /,}" --nice "$NICE" --sizes "${SIZES// /,}" \
	--only "${CONFIGS// /,}" --layouts "${LAYOUTS// /,}" --cpus "$CPUS" \
	--out "$OUT" --builddir "$BUILDDIR" --hugepages "$HUGEPAGES" \
	$([ $KEEP = 1 ] && echo --keep)

mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
VLINKD=$BUILDDIR/vlinkd/vlinkd
VLINKCTL=$BUILDDIR/tools/vlinkctl
PLUGIN=$BUILDDIR/pmd/librte_net_vlink.so
[ -e "$PLUGIN" ] && PLUGIN=$(cd "$(dirname "$PLUGIN")" && pwd)/$(basename "$PLUGIN")

# under /run (root's, not world-writable): DPDK loads a plugin only when no
# directory above it is world-writable, and the plugin is copied in here
T=$(mktemp -d /run/vlink-peers.XXXXXX) || die "mktemp failed"
chmod 755 "$T"
LOGS=$OUT/logs
rm -rf "$LOGS"
mkdir -p "$LOGS"

VLINKD_PID=
HP_PREV=

# ------------------------------------------------------------- cleanup

cleanup() {
	local id m i
	trap - EXIT
	trap '' INT TERM        # a second Ctrl-C must not cut the cleanup short
	for id in $TP_IDS; do tp_kill "$id"; done
	[ -n "$VLINKD_PID" ] && end_pid "$VLINKD_PID"
	for m in $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	umount /run/dpdk 2>/dev/null
	if [ "$HP_SET" = 1 ]; then
		echo "$HP_PREV" >/proc/sys/vm/nr_hugepages 2>/dev/null ||
			echo "peers.sh: could not restore vm.nr_hugepages to $HP_PREV" >&2
	fi
	if [ "$KEEP" = 1 ]; then
		echo "peers.sh: kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'echo "peers.sh: interrupted" >&2; exit 130' INT
trap 'echo "peers.sh: terminated" >&2; exit 143' TERM
trap '' PIPE            # a dead testpmd must not kill us through its fifo

# ------------------------------------------------------------- set-up

# Hugepages: have enough free 2 MiB pages (HUGEPAGES at start, and again
# before every run, since other programs may take some meanwhile); the old
# vm.nr_hugepages comes back at exit.
HP_PREV=$(cat /proc/sys/vm/nr_hugepages)
hp_ensure "$HUGEPAGES" || exit 2

# Our own hugetlbfs and /run/dpdk, seen only in this mount namespace.
private_mounts peers

# Machine description.
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
CPU_MHZ=$(awk -F': *' '/^cpu MHz/ { printf "%.0f", $2; exit }' /proc/cpuinfo)
NCPU=$(nproc --all)
KERNEL="$(uname -sr) $(uname -m)"
DPDK_VER=$(pkg-config --modversion libdpdk 2>/dev/null ||
	dpkg-query -W -f '${Version}' dpdk 2>/dev/null || echo unknown)
OS=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------- vlinkd

VSOCK=$T/vlinkd/vlinkd.sock
VLINK_MISSING=
if [[ " $CONFIGS " == *" vlink "* ]]; then
	if [ ! -e "$PLUGIN" ]; then
		VLINK_MISSING="PMD not built (pmd/librte_net_vlink.so missing)"
	elif ! cp "$PLUGIN" "$T/librte_net_vlink.so"; then
		VLINK_MISSING="cannot copy $PLUGIN"
	elif [ ! -x "$VLINKD" ] || [ ! -x "$VLINKCTL" ]; then
		VLINK_MISSING="vlinkd or vlinkctl not built (make)"
	else
		mkdir -p "$T/vlinkd/run" "$T/vlinkd/state" "$T/vlinkd/shm"
		# the channel region on tmpfs, as with the default /dev/shm (not on
		# /tmp's disk, where writeback would write-protect the rings)
		mount -t tmpfs -o size=256m,mode=0755 peers-shm "$T/vlinkd/shm" ||
			echo "peers.sh: cannot mount a tmpfs for vlinkd's --shm-dir" >&2
		"$VLINKD" --foreground --socket "$VSOCK" --run-dir "$T/vlinkd/run" \
			--state-dir "$T/vlinkd/state" --shm-dir "$T/vlinkd/shm" \
			>"$T/vlinkd.log" 2>&1 &
		VLINKD_PID=$!
		i=0
		while ! "$VLINKCTL" --socket "$VSOCK" status >/dev/null 2>&1; do
			i=$((i + 1))
			if [ $i -gt 100 ] || ! kill -0 "$VLINKD_PID" 2>/dev/null; then
				VLINK_MISSING="vlinkd did not start (see logs/vlinkd.log)"
				sed 's/^/  | /' "$T/vlinkd.log" >&2
				break
			fi
			sleep 0.1
		done
	fi
	[ -n "$VLINK_MISSING" ] && echo "vlink: $VLINK_MISSING" >&2
fi
LINKNO=0
# which PMD was measured: the plugin is copied once at start, so a rebuild
# during the run changes nothing
PLUGIN_ID=
if [ -z "$VLINK_MISSING" ] && [ -e "$T/librte_net_vlink.so" ]; then
	PLUGIN_ID="$PLUGIN (built $(date -u -r "$PLUGIN" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$T/librte_net_vlink.so" | cut -c1-12)"
	rev=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null) &&
		PLUGIN_ID="$PLUGIN_ID, tree $rev$(git -C "$SRCDIR" diff --quiet HEAD -- pmd libvlinkguest proto 2>/dev/null || echo ' with local changes in pmd/, libvlinkguest/ or proto/')"
	PLUGIN_ID="$PLUGIN_ID)"
fi

# ------------------------------------------------------------- one run

is_vhost() { [[ $1 == vhost-user* ]]; }

# settings CONFIG: what the configuration sets beyond the harness's common
# arguments (the table prints it).  virtio-user (DPDK 22.11,
# virtio_user_ethdev.c) defaults to in_order=1, mrg_rxbuf=1, packed_vq=0,
# vectorized=0.  Its split-ring vectorized Rx path is turned off when
# IN_ORDER is negotiated, hence in_order=0 with vectorized=1 on a split
# ring; the packed-ring vectorized paths (AVX512, which Debian's build has)
# need IN_ORDER and an EAL max SIMD width of 512.  mrg_rxbuf=0 everywhere
# but in the defaults: the vectorized Rx paths refuse mergeable buffers,
# and without them a received packet never spans descriptors.
settings() {
	case $1 in
	vlink) echo "end=host / end=peer" ;;
	memif) echo "rsize=10" ;;
	memif-zc) echo "rsize=10, client zero-copy=yes" ;;
	vhost-user) echo "virtio-user defaults (in_order=1,mrg_rxbuf=1,packed_vq=0)" ;;
	vhost-user-packed-vec) echo "$(vu_args "$1"); EAL --force-max-simd-bitwidth=512" ;;
	*) vu_args "$1" ;;
	esac
}
vu_args() { # CONFIG: net_virtio_user devargs beyond path, queues, queue_size
	case $1 in
	vhost-user-tuned) echo "in_order=1,mrg_rxbuf=0" ;;
	vhost-user-packed) echo "packed_vq=1,in_order=1,mrg_rxbuf=0" ;;
	vhost-user-vec) echo "vectorized=1,in_order=0,mrg_rxbuf=0" ;;
	vhost-user-packed-vec) echo "packed_vq=1,vectorized=1,in_order=1,mrg_rxbuf=0" ;;
	esac
}
vu_eal() { # CONFIG: EAL arguments of the process with net_virtio_user
	# info from the virtio init log: it names the Rx/Tx paths chosen
	is_vhost "$1" || return 0
	echo " --log-level=pmd.net.virtio.init:info"
	[ "$1" != vhost-user-packed-vec ] || echo " --force-max-simd-bitwidth=512"
}

# vdev arguments of one end: vdev_args CONFIG END(a|b) INDEX
# a = host / memif server / vhost, b = peer / memif client / virtio-user
vdev_args() {
	local c=$1 e=$2 i=$3 s=$T/sock-$RUN
	case $c-$e in
	vlink-a) echo "--vdev net_vlink$i,link=$LINK,end=host,socket=$VSOCK${VLINK_HOST_DEVARGS:+,$VLINK_HOST_DEVARGS}" ;;
	vlink-b) echo "--vdev net_vlink$i,link=$LINK,end=peer,socket=$VSOCK" ;;
	memif-a|memif-zc-a)
		echo "--vdev net_memif$i,role=server,socket=$s,socket-abstract=no,rsize=10" ;;
	memif-b) echo "--vdev net_memif$i,role=client,socket=$s,socket-abstract=no,rsize=10" ;;
	memif-zc-b)
		echo "--vdev net_memif$i,role=client,socket=$s,socket-abstract=no,rsize=10,zero-copy=yes" ;;
	vhost-user*-a) echo "--vdev net_vhost$i,iface=$s,queues=1" ;;
	vhost-user*-b) echo "net_virtio_user$i,path=$s,queues=1,queue_size=$RING$(a=$(vu_args "$c"); echo "${a:+,$a}")" ;;
	esac
}

# vu_path ID: the Rx and Tx paths virtio-user took in testpmd ID (its log)
vu_path() {
	grep -oE 'virtio: using .* (Rx|Tx) path' "${TP_LOG[$1]}" |
		sed -E 's/virtio: using (.*) (Rx|Tx) path/\2 \1/' | sort -u | paste -sd, | sed 's/,/, /g'
}

# run_one CONFIG LAYOUT SIZE FWD: sets R_MPPS R_RX R_TX R_ERR R_MISS R_NOMBUF
# R_SECS R_NOTE R_PATH, or FAIL
run_one() {
	local c=$1 l=$2 size=$3 fwd=$4 ids id plug= rx=0 rxb=0 tx=0 err=0 miss=0 nombuf=0 mpps=0
	local secs wall avg r0 b0 t0 e0 m0 n0 r1 b1 t1 e1 m1 n1 pps
	local low= cpu
	local -A T0 S0 C0
	R_SECS= R_WALL= R_CPU= R_LOW=0 R_PATH=
	FAIL=
	R_NOTE=
	TP_IDS=
	RUN=$c-$l-$size-$fwd
	# two processes' -m, and room for vlinkd's pool
	hp_ensure $((MEM_MB + 64)) || { fail "" "not enough free hugepages"; return 1; }
	if [ "$c" = vlink ]; then
		LINKNO=$((LINKNO + 1))
		LINK=bench$LINKNO
		plug="-d $T/librte_net_vlink.so"
		"$VLINKCTL" --socket "$VSOCK" create-link "$LINK" 02:00:00:00:00:01 1 \
			--ring-size "$RING" >"$T/vlinkctl.out" 2>&1 ||
			{ fail "" "vlinkctl create-link: $(cat "$T/vlinkctl.out")"; return 1; }
	fi
	if [ "$l" = 1p ]; then
		ids=A
		if is_vhost "$c"; then
			# virtio-user must connect to a listening vhost socket, which
			# net_vhost creates when the port is configured: add it afterwards.
			tp_start A -l "$CPU_A,$CPU_B" $(vu_eal "$c") $(vdev_args "$c" a 0) || return 1
			tp_ready A || return 1
			tp_run A 'Port [0-9]+ is attached|[Ff]ail|[Ee]rror' 1 30 \
				"port attach $(vdev_args "$c" b 0)" ||
				{ fail A "port attach net_virtio_user0: no answer"; return 1; }
			tp_out A "$TP_OFF" | grep -q 'is attached' ||
				{ fail A "port attach net_virtio_user0 failed"; return 1; }
			tp_run A 'testpmd> ' 1 20 'port start all' ||
				{ fail A "port start all: no answer"; return 1; }
		else
			tp_start A -l "$CPU_A,$CPU_B" $plug $(vdev_args "$c" a 0) \
				$(vdev_args "$c" b 1) || return 1
			tp_ready A || return 1
		fi
		tp_links_up A 2 || return 1
		nports=2
	else
		ids="A B"
		# each process on one CPU: main lcore 0 and forwarding lcore 1
		# share it (the main lcore only sleeps in the command line)
		tp_start A --lcores "(0,1)@$CPU_A" $plug $(vdev_args "$c" a 0) || return 1
		tp_ready A || return 1
		if is_vhost "$c"; then
			tp_start B --lcores "(0,1)@$CPU_B" $(vu_eal "$c") --vdev $(vdev_args "$c" b 0) || return 1
		else
			tp_start B --lcores "(0,1)@$CPU_B" $plug $(vdev_args "$c" b 0) || return 1
		fi
		tp_ready B || return 1
		tp_links_up A 1 || return 1
		tp_links_up B 1 || return 1
		nports=1
	fi
	if is_vhost "$c"; then
		R_PATH=$(vu_path "${ids##* }")
		[ -n "$R_PATH" ] || R_NOTE="$R_NOTE${R_NOTE:+; }virtio-user's Rx/Tx path not in the log"
	fi
	for id in $ids; do
		tp_run "$id" "Set $fwd packet forwarding mode" 1 5 "set fwd $fwd" ||
			{ fail "$id" "set fwd $fwd: no answer"; return 1; }
		tp_run "$id" 'testpmd> ' 1 5 "set txpkts $size" ||
			{ fail "$id" "set txpkts: no answer"; return 1; }
	done
	for id in $ids; do
		tp_run "$id" 'packet forwarding - ports=' 1 10 "start tx_first $BURSTS" ||
			{ fail "$id" "start tx_first $BURSTS: forwarding did not start"; return 1; }
	done
	sleep "$WARMUP"
	# the first show sets testpmd's baseline; the second gives the rates
	for id in $ids; do
		tp_stats "$id" "$nports" || return 1
		S0[$id]=$ST T0[$id]=$ST_T C0[$id]=$(cpu_ticks "${TP_PID[$id]}")
	done
	sleep "$INTERVAL"
	for id in $ids; do
		tp_stats "$id" "$nports" || return 1
		read -r r0 b0 t0 e0 m0 n0 _ <<<"${S0[$id]}"
		read -r r1 b1 t1 e1 m1 n1 pps <<<"$ST"
		[ "$pps" -gt 0 ] || { fail "$id" "testpmd $id: no packets received (Rx-pps 0)"; return 1; }
		secs=$(awk -v d=$((r1 - r0)) -v p="$pps" 'BEGIN { printf "%.3f", d / p }')
		wall=$(awk -v a="${T0[$id]}" -v b="$ST_T" 'BEGIN { printf "%.3f", b - a }')
		# the CPU the process got (its forwarding lcore spins: ideally 100%)
		cpu=$(awk -v a="${C0[$id]}" -v b="$(cpu_ticks "${TP_PID[$id]}")" -v w="$wall" -v hz="$HZ" \
			'BEGIN { printf "%.0f", (b - a) / hz / w * 100 }')
		R_CPU="$R_CPU${R_CPU:+/}$cpu"
		[ "$cpu" -ge 90 ] || low="$low${low:+, }$id $cpu%"
		mpps=$(awk -v m="$mpps" -v p="$pps" 'BEGIN { printf "%.6f", m + p / 1e6 }')
		rx=$((rx + r1 - r0)) rxb=$((rxb + b1 - b0)) tx=$((tx + t1 - t0))
		err=$((err + e1 - e0)) miss=$((miss + m1 - m0)) nombuf=$((nombuf + n1 - n0))
		R_SECS="$R_SECS${R_SECS:+/}$secs"
		R_WALL="$R_WALL${R_WALL:+/}$wall"
	done
	# stop every process before any quits (a memif zero-copy client has been
	# seen to crash in stop when its server quit first); then clients first
	for id in $ids; do tp_stop "$id"; done
	if is_vhost "$c" && [ "$l" = 1p ]; then
		# close virtio-user while its vhost end still answers
		tp_run A 'testpmd> ' 1 10 'port stop 1' >/dev/null 2>&1
		tp_run A 'testpmd> ' 1 10 'port close 1' >/dev/null 2>&1
	fi
	for id in $(echo $ids | tr ' ' '\n' | sort -r); do tp_quit "$id"; done
	R_MPPS=$mpps R_RX=$rx R_TX=$tx R_ERR=$err R_MISS=$miss R_NOMBUF=$nombuf
	if [ "$rx" = 0 ]; then
		fail "${ids%% *}" "no packets forwarded (RX 0 over ${R_SECS} s)"
		return 1
	fi
	# the packets that went round must be the size asked for
	avg=$(awk -v b="$rxb" -v p="$rx" 'BEGIN { printf "%.1f", b / p }')
	if awk -v a="$avg" -v s="$size" 'BEGIN { exit !(a < s - 0.5 || a > s + 0.5) }'; then
		R_NOTE="$R_NOTE${R_NOTE:+; }average RX size $avg B"
	fi
	R_LOW=$([ -n "$low" ] && echo 1 || echo 0)
	[ $((err + miss + nombuf)) -gt 0 ] &&
		R_NOTE="$R_NOTE${R_NOTE:+; }errors $err, missed $miss, nombuf $nombuf"
	return 0
}

finish_run() { # CONFIG REPEAT: after run_one: logs, processes, the vlink link
	local id
	save_logs "$RUN$([ "$REPEAT" -gt 1 ] && echo ".r$2")"
	for id in $TP_IDS; do tp_kill "$id"; done
	if [ "$1" = vlink ] && [ -n "$VLINKD_PID" ]; then
		"$VLINKCTL" --socket "$VSOCK" delete-link "$LINK" --force >/dev/null 2>&1
	fi
	rm -f "$T"/sock-*
}

# ------------------------------------------------------------- the runs

RUNS_CSV=$OUT/peers-runs.csv
echo "size,layout,fwd,config,repeat,mpps,gbps,rx_packets,tx_packets,errors,missed,nombuf,seconds,cpu_percent,virtio_path,status" >"$RUNS_CSV"
declare -A MPPS SAMPLES GOOD FAILS NOTE CPUS_OF LOW VPATH

layout_name() {
	case $1 in
	1p) echo "1 process, 1 fwd core" ;;
	2p) echo "2 processes, 2 cores" ;;
	esac
}

words() { echo $#; }
addnote() { # VAR TEXT: append TEXT to the note in VAR unless it has it
	local -n n=$1
	[ -n "$2" ] && [[ "$n" != *"$2"* ]] && n="$n${n:+; }$2"
	return 0
}

nruns=$(( $(words $FWDS) * $(words $SIZES) * $(words $LAYOUTS) * $(words $CONFIGS) * REPEAT ))
echo "peers.sh: $nruns runs of ${WARMUP}+${INTERVAL} s; CPUs $CPU_A,$CPU_B; DPDK $DPDK_VER; logs in $LOGS" >&2
k=0
NFAILED=0
# repeats go round the whole matrix (run 1 of every cell, then run 2 of
# every cell, ...), so that each cell's samples are spread over the whole
# run (the load of a shared machine drifts)
for rep in $(seq "$REPEAT"); do
for f in $FWDS; do
for size in $SIZES; do
	for l in $LAYOUTS; do
		for c in $CONFIGS; do
			k=$((k + 1))
			key=$size/$f/$l/$c
			what="$c, $size B, $(layout_name $l), $f"
			if [ "$c" = vlink ] && [ -n "$VLINK_MISSING" ]; then
				FAILS[$key]="vlink: $VLINK_MISSING"
				echo "$size,$l,$f,$c,$rep,,,,,,,,,,,$(csvq "vlink: $VLINK_MISSING")" >>"$RUNS_CSV"
				echo "[$k/$nruns] $what: skipped: $VLINK_MISSING" >&2
				continue
			fi
			printf '[%d/%d] %s: ' $k $nruns "$what" >&2
			if run_one "$c" "$l" "$size" "$f"; then
				SAMPLES[$key]="${SAMPLES[$key]:-} $R_MPPS"
				[ "$R_LOW" = 1 ] || GOOD[$key]="${GOOD[$key]:-} $R_MPPS"
				CPUS_OF[$key]="${CPUS_OF[$key]:-}${CPUS_OF[$key]:+, }$R_CPU"
				LOW[$key]=$((${LOW[$key]:-0} + R_LOW))
				addnote "NOTE[$key]" "$R_NOTE"
				addnote "VPATH[$c]" "$R_PATH"
				gbps=$(awk -v m="$R_MPPS" -v s="$size" 'BEGIN { printf "%.3f", m * s * 8 / 1000 }')
				printf '%.3f Mpps, %s Gbit/s (RX %d in %s s, wall %s s, CPU %s%%%s%s%s)\n' "$R_MPPS" "$gbps" \
					"$R_RX" "$R_SECS" "$R_WALL" "$R_CPU" \
					"$([ "$R_LOW" = 1 ] && echo ": forwarding got less than a CPU, machine busy")" \
					"${R_PATH:+; virtio-user $R_PATH}" "${R_NOTE:+; $R_NOTE}" >&2
				echo "$size,$l,$f,$c,$rep,$R_MPPS,$gbps,$R_RX,$R_TX,$R_ERR,$R_MISS,$R_NOMBUF,$R_SECS,$R_CPU,$(csvq "$R_PATH"),$(csvq "ok${R_NOTE:+; $R_NOTE}")" >>"$RUNS_CSV"
			else
				FAILS[$key]="${FAILS[$key]:-}${FAILS[$key]:+; }$FAIL"
				NFAILED=$((NFAILED + 1))
				echo "$size,$l,$f,$c,$rep,,,,,,,,,,,$(csvq "failed: $FAIL")" >>"$RUNS_CSV"
			fi
			finish_run "$c" "$rep"
		done
	done
done
done
done
[ -n "$VLINKD_PID" ] && cp "$T/vlinkd.log" "$LOGS/vlinkd.log" 2>/dev/null

# ------------------------------------------------------------- cells, goals

# Each cell (size/fwd/layout/config): the median, min and max of the runs
# whose forwarding lcores had their CPUs (>= 90%; the others measured the
# machine's other jobs), or of all runs when none had; NUSED of NOK runs;
# STARVED=1 when only starved runs were there.
declare -A MIN MAX NOK NUSED STARVED
for key in "${!SAMPLES[@]}"; do
	NOK[$key]=$(words ${SAMPLES[$key]})
	use=${GOOD[$key]:-}
	STARVED[$key]=0
	[ -n "$use" ] || { use=${SAMPLES[$key]}; STARVED[$key]=1; }
	read -r MPPS[$key] MIN[$key] MAX[$key] NUSED[$key] < <(median_of $use)
done

PEERS=
VUS=
for c in $CONFIGS; do
	[ "$c" = vlink ] || PEERS="$PEERS $c"
	is_vhost "$c" && VUS="$VUS $c"
done
# The table's rows: vlink, memif, memif-zc, virtio-user at its defaults and
# "vhost-user-best", the vhost-user configuration with the best median in
# that cell (every vhost-user configuration is in the settings table and
# the CSV).
ROWS=
for c in vlink memif memif-zc vhost-user; do
	[[ " $CONFIGS " == *" $c "* ]] && ROWS="$ROWS $c"
done
[ -n "${VUS# vhost-user}" ] && ROWS="$ROWS vhost-user-best"
ROWS=${ROWS# }

best_of() { # SIZE/FWD/LAYOUT CONFIG...: the configuration with the best median
	local cell=$1 c b= bm=-1 m
	shift
	for c in "$@"; do
		m=${MPPS[$cell/$c]:-}
		[ -n "$m" ] || continue
		awk -v m="$m" -v b="$bm" 'BEGIN { exit !(m > b) }' && { b=$c; bm=$m; }
	done
	echo "$b"
}
declare -A BEST_VU BEST_PEER
for f in $FWDS; do for size in $SIZES; do for l in $LAYOUTS; do
	cell=$size/$f/$l
	BEST_VU[$cell]=$(best_of "$cell" $VUS)
	BEST_PEER[$cell]=$(best_of "$cell" $PEERS)
done; done; done

row_config() { # CELL ROW: the configuration a table row shows
	if [ "$2" = vhost-user-best ]; then echo "${BEST_VU[$1]}"; else echo "$2"; fi
}

ratio() { # CELL CONFIG: vlink's median / this configuration's, or n/a
	local v=${MPPS[$1/vlink]:-} p=${MPPS[$1/$2]:-}
	if [ -n "$v" ] && [ -n "$p" ]; then
		awk -v v="$v" -v p="$p" 'BEGIN { if (p > 0) printf "%.2f", v / p; else print "n/a" }'
	else
		echo n/a
	fi
}

# goal CELL: vlink >= 2 x the best peer's median, or "not decided" when the
# spread (max - min) of either side is wider than its median's distance to
# the goal (vlink's median to 2 x the peer's, the peer's to half vlink's).
# Prints "VERDICT|TEXT".
GOAL=2
goal() {
	local cell=$1 p=${BEST_PEER[$1]} v r
	if [ -z "${MPPS[$cell/vlink]:-}" ] || [ -z "$p" ]; then
		echo "n/a|no vlink or no peer figure"
		return
	fi
	r=$(ratio "$cell" "$p")
	if [ "${STARVED[$cell/vlink]}" = 1 ] || [ "${STARVED[$cell/$p]}" = 1 ]; then
		v="not decided"
		r="$r (UNRELIABLE: forwarding starved by other jobs in every run of a cell)"
	else
		v=$(awk -v v="${MPPS[$cell/vlink]}" -v a="${MIN[$cell/vlink]}" -v b="${MAX[$cell/vlink]}" \
			-v p="${MPPS[$cell/$p]}" -v c="${MIN[$cell/$p]}" -v d="${MAX[$cell/$p]}" -v g="$GOAL" '
			function abs(x) { return x < 0 ? -x : x }
			BEGIN {
				if (b - a > abs(v - g * p) || d - c > abs(p - v / g)) print "not decided"
				else if (v >= g * p) print "met"
				else print "missed" }')
	fi
	printf '%s|vlink %s / %s %s = %s\n' "$v" "$(mmm "$cell/vlink")" "$p" "$(mmm "$cell/$p")" "$r"
}
mmm() { # KEY: "median (min-max)"
	awk -v m="${MPPS[$1]}" -v a="${MIN[$1]}" -v b="${MAX[$1]}" 'BEGIN { printf "%.2f (%.2f-%.2f)", m, a, b }'
}

status() { # KEY: what the note column says
	local key=$1 s=
	if [ -z "${MPPS[$key]:-}" ]; then
		s=${FAILS[$key]:-not run}
		[[ $s == vlink:* ]] || s="failed: $s"
	else
		s=${NOTE[$key]:-}
		if [ "${STARVED[$key]}" = 1 ]; then
			s="$s${s:+; }UNRELIABLE: forwarding got < 90% of a CPU in every run (CPU% per run: ${CPUS_OF[$key]})"
		elif [ "${LOW[$key]:-0}" -gt 0 ]; then
			s="$s${s:+; }left out ${LOW[$key]} run(s) where forwarding got < 90% of a CPU (CPU% per run: ${CPUS_OF[$key]})"
		fi
		[ -n "${FAILS[$key]:-}" ] && s="$s${s:+; }$((REPEAT - NOK[$key])) of $REPEAT runs failed: ${FAILS[$key]}"
	fi
	echo "$s"
}

# ------------------------------------------------------------- CSV

CSV=$OUT/peers.csv
{
	echo "size,layout,fwd,config,settings,mpps,mpps_min,mpps_max,gbps,vlink_ratio,runs_used,runs,goal,status"
	for f in $FWDS; do for size in $SIZES; do for l in $LAYOUTS; do
		cell=$size/$f/$l
		for c in $CONFIGS $([ -n "$VUS" ] && echo vhost-user-best); do
			rc=$(row_config "$cell" "$c")
			key=$cell/$rc
			set_=$(settings "$rc")
			[ "$c" = vhost-user-best ] && set_="$rc${set_:+: $set_}"
			g=
			if [ "$c" = vlink ]; then
				if [ "$l" = 1p ]; then g="no goal (1 process: vlink copies twice by design)"
				else g=$(goal "$cell"); g="${g%%|*}: ${g#*|}"; fi
			fi
			if [ -n "$rc" ] && [ -n "${MPPS[$key]:-}" ]; then
				st=$(status "$key")
				echo "$size,$l,$f,$c,$(csvq "$set_"),${MPPS[$key]},${MIN[$key]},${MAX[$key]},$(awk -v m="${MPPS[$key]}" -v s="$size" 'BEGIN { printf "%.3f", m * s * 8 / 1000 }'),$(ratio "$cell" "$rc"),${NUSED[$key]},${NOK[$key]},$(csvq "$g"),$(csvq "ok${st:+; $st}")"
			else
				echo "$size,$l,$f,$c,$(csvq "$set_"),,,,,,0,0,$(csvq "$g"),$(csvq "$([ -n "$rc" ] && status "$key" || echo "no figure")")"
			fi
		done
	done; done; done
} >"$CSV"

# ------------------------------------------------------------- table

fwd_title() {
	case $1 in
	macswap) echo "macswap forwarding: every packet's Ethernet header read and written" ;;
	io) echo "io forwarding: descriptors passed on, packets untouched" ;;
	esac
}

MD=$OUT/peers.md
{
	echo "## vlink and its peers (bench/peers.sh)"
	echo
	echo "- Date: $DATE; load average at start $LOAD, at end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- Machine: $CPU_MODEL ($CPU_MHZ MHz), $NCPU CPUs, $KERNEL, $OS"
	echo "- DPDK $DPDK_VER ($(command -v "$TESTPMD")); vlink: ${VLINK_MISSING:-$PLUGIN_ID}"
	echo "- Harness: dpdk-testpmd \`set fwd macswap\` (swaps the MAC addresses: reads and writes"
	echo "  every packet's Ethernet header) and \`set fwd io\` (passes descriptors on, touches no"
	echo "  packet), \`set txpkts SIZE\`, \`start tx_first $BURSTS\` ($BURSTS bursts of 32 packets on"
	echo "  every port), ${WARMUP} s warm-up, then \`show port stats all\` twice, ${INTERVAL} s apart."
	echo "  Mpps = the RX-packets delta summed over both ends of the link (both directions) / the"
	echo "  time between the two shows as testpmd timed them (its \"Rx-pps since last show\");"
	echo "  Gbit/s = median Mpps x size x 8 / 1000 (frame bytes, no CRC/preamble/gap). Rings"
	echo "  of $RING everywhere; $MBUFS mbufs, -m $MEM_MB, --single-file-segments, --no-pci, nice $NICE"
	echo "  for every process."
	echo "- Runs: $REPEAT per cell, interleaved round the whole matrix (run 1 of every cell, then"
	echo "  run 2, ...). A cell gives min / median / max of its runs whose processes got >= 90%"
	echo "  of a CPU between the two shows (a spinning forwarding lcore should get 100%; less"
	echo "  means other jobs set the figure), or of all its runs, marked UNRELIABLE, when none did."
	echo "- Layouts: 1p = one testpmd \`-l $CPU_A,$CPU_B\` (main lcore on CPU $CPU_A, the one"
	echo "  forwarding lcore on CPU $CPU_B polls both ends); 2p = two testpmd, one end each,"
	echo "  A \`--lcores (0,1)@$CPU_A\`, B \`--lcores (0,1)@$CPU_B\` (main and forwarding lcore share"
	echo "  the CPU; the main lcore sleeps in the command line), both \`start tx_first\`."
	echo "- Ends: vlink A host / B peer (end=host${VLINK_HOST_DEVARGS:+,$VLINK_HOST_DEVARGS}, end=peer); memif A server / B client"
	echo "  (memif-zc: client zero-copy=yes); vhost-user A net_vhost / B net_virtio_user"
	echo "  \`queues=1,queue_size=$RING\` plus the settings column (1p: virtio-user added with"
	echo "  \`port attach\` once net_vhost listens). \"vhost-user-best\" is, per cell, the"
	echo "  virtio-user settings with the best median (all of them: the settings table below)."
	echo "- vlink / this: vlink's median Mpps divided by this row's, same size, forwarding, layout."
	echo "- Goal: vlink >= $GOAL x the best peer (the peer row with the best median: memif,"
	echo "  memif-zc or any vhost-user settings), per size and forwarding mode, 2 processes."
	echo "  Met when the ratio of the medians is >= $GOAL, missed when below, but *not decided*"
	echo "  when either side's spread (max - min) is wider than its median's distance to the"
	echo "  goal (vlink's median to $GOAL x the peer's; the peer's to vlink's / $GOAL). No goal rests"
	echo "  on the 1-process layout: there both ends of the link sit in one process and io or"
	echo "  macswap sends every packet out of the other end than it came in on, so vlink copies"
	echo "  it twice by design (host end and peer end each own their buffers)."
	for f in $FWDS; do
		echo
		echo "### $(fwd_title "$f")"
		echo
		echo "| size | layout | configuration | settings | Mpps min / median / max | Gbit/s | vlink / this | runs used | note |"
		echo "|---:|---|---|---|---:|---:|---:|---|---|"
		for size in $SIZES; do for l in $LAYOUTS; do
			cell=$size/$f/$l
			ln="$(layout_name $l)$([ "$l" = 1p ] && echo " (no goal)")"
			for c in $ROWS; do
				rc=$(row_config "$cell" "$c")
				key=$cell/$rc
				set_=$(settings "$rc")
				is_vhost "$rc" && [ -n "${VPATH[$rc]:-}" ] && set_="$set_${set_:+ }(${VPATH[$rc]})"
				[ "$c" = vhost-user-best ] && set_="$rc${set_:+: $set_}"
				if [ -n "$rc" ] && [ -n "${MPPS[$key]:-}" ]; then
					r=$(ratio "$cell" "$rc")
					[ "$c" = vlink ] && r=1.00
					awk -v m="${MPPS[$key]}" -v a="${MIN[$key]}" -v b="${MAX[$key]}" -v s="$size" \
						-v u="${NUSED[$key]}" -v n="${NOK[$key]}" -v pre="| $size B | $ln | $c | $set_ |" \
						-v r="$r" -v st="$(status "$key")" \
						'BEGIN { printf "%s %.2f / **%.2f** / %.2f | %.2f | %s | %d of %d | %s |\n",
							pre, a, m, b, m * s * 8 / 1000, r, u, n, st }'
				else
					echo "| $size B | $ln | $c | $set_ | - | - | - | - | $([ -n "$rc" ] && status "$key" || echo "no figure") |"
				fi
			done
		done; done
		echo
		echo "Goals, $f: vlink >= $GOAL x the best peer, median (min-max) Mpps:"
		echo
		for size in $SIZES; do for l in $LAYOUTS; do
			cell=$size/$f/$l
			g=$(goal "$cell")
			if [ "$l" = 1p ]; then
				echo "- $size B, $(layout_name $l): no goal (vlink copies twice by design); ${g#*|}"
			else
				echo "- $size B, $(layout_name $l): **${g%%|*}**: ${g#*|}"
			fi
		done; done
	done
	if [ -n "$VUS" ]; then
		echo
		echo "### vhost-user: every virtio-user setting"
		echo
		echo "net_virtio_user \`queues=1,queue_size=$RING\` plus:"
		echo
		for c in $VUS; do
			echo "- $c: $(settings "$c")${VPATH[$c]:+; paths as logged: ${VPATH[$c]}}"
		done
		echo
		printf '| size | forwarding | layout |'
		for c in $VUS; do printf ' %s |' "$c"; done
		printf '\n|---:|---|---|'
		for c in $VUS; do printf -- '---:|'; done
		echo
		for f in $FWDS; do for size in $SIZES; do for l in $LAYOUTS; do
			cell=$size/$f/$l
			printf '| %s B | %s | %s |' "$size" "$f" "$(layout_name $l)"
			for c in $VUS; do
				if [ -n "${MPPS[$cell/$c]:-}" ]; then
					m=$(mmm "$cell/$c")
					[ "$c" = "${BEST_VU[$cell]}" ] && m="**$m**"
					[ "${STARVED[$cell/$c]}" = 1 ] && m="$m UNRELIABLE"
					printf ' %s |' "$m"
				else
					printf ' - |'
				fi
			done
			echo
		done; done; done
		echo
		echo "Median (min-max) Mpps; the best median of a row in bold."
	fi
} >"$MD"

# ------------------------------------------------------------- chart

# One panel per forwarding mode and size, bars of median Mpps (the table's
# rows) grouped by layout, min-max as error bars.
PNG=$OUT/peers.png
nrows=$(words $ROWS)
nsizes=$(words $SIZES)
nfwds=$(words $FWDS)
: >"$T/chart.dat"
for f in $FWDS; do for size in $SIZES; do
	li=0
	for l in $LAYOUTS; do
		ci=0
		for c in $ROWS; do
			x=$((li * (nrows + 1) + ci))
			rc=$(row_config "$size/$f/$l" "$c")
			key=$size/$f/$l/$rc
			if [ -n "$rc" ] && [ -n "${MPPS[$key]:-}" ]; then
				echo "$f $size $ci $x ${MPPS[$key]} ${MIN[$key]} ${MAX[$key]} $([ "${STARVED[$key]}" = 1 ] && echo starved || echo ok)"
			else
				echo "$f $size $ci $x 0 0 0 missing"
			fi
			ci=$((ci + 1))
		done
		li=$((li + 1))
	done
done; done >"$T/chart.dat"
if command -v gnuplot >/dev/null; then
	{
		w=$((560 * nsizes + 200))
		echo "set terminal pngcairo size $((w < 900 ? 900 : w)),$((420 * nfwds + 140)) font 'sans,10'"
		echo "set output '$PNG'"
		echo "set termoption noenhanced"
		echo "set multiplot layout $nfwds,$nsizes title \"vlink and its peers in dpdk-testpmd ($DATE)\\nmedian Mpps over both directions, bars from min to max of $REPEAT run(s) a cell\\n$CPU_MODEL, $NCPU CPUs, $KERNEL, DPDK $DPDK_VER$([ -n "$(printf '%s\n' "${STARVED[@]}" | grep 1)" ] && echo '\n* = unreliable: forwarding got < 90% of a CPU in every run')\""
		echo "set style fill solid 0.85 border -1"
		echo "set boxwidth 0.9"
		echo "set grid ytics"
		echo "set yrange [0:*]"
		echo "set ylabel 'Mpps'"
		echo "set key outside bottom center horizontal reverse Left"
		echo "set offsets 0, 0, graph 0.1, 0"
		for f in $FWDS; do for size in $SIZES; do
			tics=
			li=0
			for l in $LAYOUTS; do
				tics="$tics${tics:+, }\"$(layout_name $l)\" $(awk -v a=$((li * (nrows + 1))) -v n="$nrows" 'BEGIN { print a + (n - 1) / 2 }')"
				li=$((li + 1))
			done
			echo "set title '$f, $size-byte packets'"
			echo "set xtics ($tics) scale 0"
			echo "set xrange [-1:$((li * (nrows + 1) - 1))]"
			sel="strcol(1) eq '$f' && \$2 == $size"
			plot="plot"
			ci=0
			for c in $ROWS; do
				case $c in
				vlink) color='#d62728' ;;
				memif) color='#1f77b4' ;;
				memif-zc) color='#2ca02c' ;;
				vhost-user) color='#ff7f0e' ;;
				*) color='#9467bd' ;;
				esac
				plot="$plot '$T/chart.dat' using ($sel && \$3 == $ci ? \$4 : 1/0):5 with boxes lc rgb '$color' title '$c',"
				ci=$((ci + 1))
			done
			plot="$plot '$T/chart.dat' using ($sel && strcol(8) ne 'missing' ? \$4 : 1/0):5:6:7 with yerrorbars lc rgb 'black' pointsize 0 notitle,"
			echo "$plot '$T/chart.dat' using ($sel ? \$4 : 1/0):7:(strcol(8) eq 'missing' ? 'n/a' : sprintf('%.1f', \$5).(strcol(8) eq 'starved' ? '*' : '')) with labels offset 0,0.7 font ',8' notitle"
		done; done
		echo "unset multiplot"
	} >"$T/chart.gp"
	gnuplot "$T/chart.gp" 2>"$T/gnuplot.err" ||
		{ echo "peers.sh: gnuplot failed:" >&2; cat "$T/gnuplot.err" >&2; }
else
	echo "peers.sh: gnuplot not installed, no chart" >&2
fi

echo
cat "$MD"
echo
echo "Written: $MD, $CSV, $RUNS_CSV$([ -s "$PNG" ] && echo ", $PNG"); logs in $LOGS"
[ "$NFAILED" = 0 ] || { echo "peers.sh: $NFAILED run(s) failed" >&2; exit 1; }
exit 0
}
