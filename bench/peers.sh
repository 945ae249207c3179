#!/bin/bash
# bench/peers.sh: net_vlink against its peers (memif copy, memif zero-copy,
# vhost-user + virtio-user) on one harness: dpdk-testpmd io forwarding,
# `start tx_first 32`, packets counted from `show port stats all` over a
# fixed interval; 1 process with 1 forwarding core and 2 processes on 2
# cores; a markdown table, a CSV and a PNG chart.  See bench/README.md.
#
#   sudo bench/peers.sh [--interval S] [--sizes 64,1500] [--only LIST] [--out DIR]
#
# Environment: BUILDDIR (the vlink build tree, default the source tree),
# TESTPMD (default dpdk-testpmd).
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
ALL_CONFIGS="vlink memif memif-zc vhost-user"

usage() {
	cat <<EOF
Usage: sudo bench/peers.sh [OPTION]...
Compare net_vlink with net_memif (copy and zero-copy) and net_vhost +
net_virtio_user in dpdk-testpmd (io forwarding, start tx_first 32).

  --interval S     seconds counted per run (default 5)
  --warmup S       seconds of forwarding before counting (default 2)
  --repeat N       runs per cell; the table gives the median (default 1)
  --nice N         run the testpmds at this nice level, e.g. -10 on a machine
                   where other jobs run (default 0)
  --sizes LIST     packet sizes in bytes, comma separated (default 64,1500)
  --only LIST      configurations, comma separated, from: vlink, memif,
                   memif-zc, vhost-user (default: all)
  --layouts LIST   1p (one testpmd, one forwarding core, both ends) and/or
                   2p (two testpmd, one end each, on two CPUs) (default 1p,2p)
  --cpus A,B       the two CPUs to run on (default 0,1)
  --out DIR        results directory (default bench/results)
  --builddir DIR   vlink build tree (default \$BUILDDIR or the source tree)
  --hugepages N    free 2 MiB hugepages to have at start (default 512; the
                   script also tops up to what each run needs)
  --keep           keep the temporary directory (sockets, logs)
  -h, --help       this text

Writes DIR/peers.md (the table, also printed), DIR/peers.csv (the same
figures), DIR/peers-runs.csv (every run), DIR/peers.png (the chart) and
DIR/logs/ (every process's log: CONFIG-LAYOUT-SIZE[.rREPEAT].A|B.log).
Exit status 0 when every run worked (vlink rows skipped for want of the
PMD count as worked), 1 when one failed, 2 on a usage or set-up error.
Needs root (hugepages, a private mount namespace).
EOF
}

die() { echo "peers.sh: $*" >&2; exit 2; }

INTERVAL=5
WARMUP=2
REPEAT=1
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

while [ $# -gt 0 ]; do
	case $1 in
	--interval) INTERVAL=${2:?}; shift ;;
	--warmup) WARMUP=${2:?}; shift ;;
	--repeat) REPEAT=${2:?}; shift ;;
	--nice) NICE=${2:?}; shift ;;
	--sizes) SIZES=${2:?}; shift ;;
	--only) ONLY=${2:?}; shift ;;
	--layouts) LAYOUTS=${2:?}; shift ;;
	--cpus) CPUS=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--builddir) BUILDDIR=${2:?}; shift ;;
	--hugepages) HUGEPAGES=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

[[ $INTERVAL =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--interval: a number of seconds"
[[ $WARMUP =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--warmup: a number of seconds"
[[ $NICE =~ ^-?[0-9]+$ ]] && [ "$NICE" -ge -20 ] && [ "$NICE" -le 19 ] || die "--nice: -20 to 19"
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "--repeat: a number of runs, 1 or more"
[[ $SIZES =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--sizes: e.g. 64,1500"
[[ $CPUS =~ ^[0-9]+,[0-9]+$ ]] || die "--cpus: two CPU numbers, e.g. 0,1"
[[ $HUGEPAGES =~ ^[0-9]+$ ]] || die "--hugepages: a number of pages"
SIZES=${SIZES//,/ }
for s in $SIZES; do
	[ "$s" -ge 64 ] && [ "$s" -le 1514 ] || die "--sizes: $s is not within 64-1514 bytes"
done
CONFIGS=
for c in ${ONLY//,/ }; do
	case $c in
	vlink|memif|memif-zc|vhost-user) CONFIGS="$CONFIGS $c" ;;
	vhost) CONFIGS="$CONFIGS vhost-user" ;;
	*) die "--only: unknown configuration '$c' (vlink, memif, memif-zc, vhost-user)" ;;
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
CPU_A=${CPUS%,*}
CPU_B=${CPUS#*,}
[ "$CPU_A" != "$CPU_B" ] || die "--cpus: two different CPUs"

[ "$(id -u)" = 0 ] || die "needs root (hugepages, mounts): sudo $0"
command -v "$TESTPMD" >/dev/null || die "$TESTPMD not found (apt-get install dpdk)"

# Run in a private mount namespace: the hugetlbfs we mount (and the tmpfs
# over /run/dpdk) are then invisible to everyone else -- in particular to
# other vlinkd instances, which take the first hugetlbfs in /proc/mounts --
# and vanish with us even if we are killed.  Other hugetlbfs mounts are
# detached in here only, so that our vlinkd uses ours.
if [ -z "${VLINK_PEERS_NS:-}" ]; then
	export VLINK_PEERS_NS=1
	exec unshare --mount --propagation private -- "$BASH" "$0" \
		--interval "$INTERVAL" --warmup "$WARMUP" --repeat "$REPEAT" --nice "$NICE" --sizes "${SIZES// /,}" \
		--only "${CONFIGS// /,}" --layouts "${LAYOUTS// /,}" --cpus "$CPUS" \
		--out "$OUT" --builddir "$BUILDDIR" --hugepages "$HUGEPAGES" \
		$([ $KEEP = 1 ] && echo --keep)
fi

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

declare -A TP_PID TP_FD TP_LOG
TP_IDS=
VLINKD_PID=
HP_PREV=
HP_SET=0

# ------------------------------------------------------------- cleanup

tp_kill() { # ID: make sure testpmd ID is gone
	local id=$1 pid=${TP_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	if [ -n "${TP_FD[$id]:-}" ]; then
		exec {TP_FD[$id]}>&-
		TP_FD[$id]=
	fi
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	TP_PID[$id]=
}

cleanup() {
	local id m i
	trap - EXIT
	trap '' INT TERM        # a second Ctrl-C must not cut the cleanup short
	for id in $TP_IDS; do tp_kill "$id"; done
	if [ -n "$VLINKD_PID" ]; then
		kill -TERM "$VLINKD_PID" 2>/dev/null
		for i in $(seq 50); do
			kill -0 "$VLINKD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$VLINKD_PID" 2>/dev/null
		wait "$VLINKD_PID" 2>/dev/null
	fi
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
HP_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
hp_free() { cat $HP_SYS/free_hugepages; }
hp_ensure() { # PAGES
	[ "$(hp_free)" -lt "$1" ] || return 0
	HP_SET=1
	"$SRCDIR/scripts/hugepages.sh" reserve "$1"
}
hp_ensure "$HUGEPAGES" || exit 2

# Our own hugetlbfs and /run/dpdk, seen only in this mount namespace.
for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts | sort -r); do
	umount -l "$m" 2>/dev/null
done
mkdir -p "$T/huge" /run/dpdk
mount -t hugetlbfs -o pagesize=2M peers-hugetlbfs "$T/huge" || die "cannot mount hugetlbfs"
mount -t tmpfs -o mode=0700,size=64m peers-dpdk-run /run/dpdk || die "cannot mount /run/dpdk"

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

# ------------------------------------------------------------- testpmd control

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
	set -- "$TESTPMD" "$@" --no-pci --huge-dir "$T/huge" --file-prefix "peers-$id" \
		-m "$MEM_MB" --single-file-segments -- -i --nb-cores=1 --total-num-mbufs="$MBUFS"
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

# vdev arguments of one end: vdev_args CONFIG END(a|b) INDEX
# a = host / memif server / vhost, b = peer / memif client / virtio-user
vdev_args() {
	local c=$1 e=$2 i=$3 s=$T/sock-$RUN
	case $c-$e in
	vlink-a) echo "--vdev net_vlink$i,link=$LINK,end=host,socket=$VSOCK" ;;
	vlink-b) echo "--vdev net_vlink$i,link=$LINK,end=peer,socket=$VSOCK" ;;
	memif-a|memif-zc-a)
		echo "--vdev net_memif$i,role=server,socket=$s,socket-abstract=no,rsize=10" ;;
	memif-b) echo "--vdev net_memif$i,role=client,socket=$s,socket-abstract=no,rsize=10" ;;
	memif-zc-b)
		echo "--vdev net_memif$i,role=client,socket=$s,socket-abstract=no,rsize=10,zero-copy=yes" ;;
	vhost-user-a) echo "--vdev net_vhost$i,iface=$s,queues=1" ;;
	vhost-user-b) echo "net_virtio_user$i,path=$s,queues=1,queue_size=$RING" ;;
	esac
}

# run_one CONFIG LAYOUT SIZE: sets R_MPPS R_RX R_TX R_ERR R_MISS R_NOMBUF R_SECS
# R_NOTE, or FAIL
run_one() {
	local c=$1 l=$2 size=$3 ids id plug= rx=0 rxb=0 tx=0 err=0 miss=0 nombuf=0 mpps=0
	local secs wall avg r0 b0 t0 e0 m0 n0 r1 b1 t1 e1 m1 n1 pps
	local low= cpu
	local -A T0 S0 C0
	R_SECS= R_WALL= R_CPU= R_LOW=0
	FAIL=
	R_NOTE=
	TP_IDS=
	RUN=$c-$l-$size
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
		if [ "$c" = vhost-user ]; then
			# virtio-user must connect to a listening vhost socket, which
			# net_vhost creates when the port is configured: add it afterwards.
			tp_start A -l "$CPU_A,$CPU_B" $(vdev_args "$c" a 0) || return 1
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
		if [ "$c" = vhost-user ]; then
			tp_start B --lcores "(0,1)@$CPU_B" --vdev $(vdev_args "$c" b 0) || return 1
		else
			tp_start B --lcores "(0,1)@$CPU_B" $plug $(vdev_args "$c" b 0) || return 1
		fi
		tp_ready B || return 1
		tp_links_up A 1 || return 1
		tp_links_up B 1 || return 1
		nports=1
	fi
	for id in $ids; do
		tp_run "$id" 'Set io packet forwarding mode' 1 5 'set fwd io' ||
			{ fail "$id" "set fwd io: no answer"; return 1; }
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
	if [ "$c" = vhost-user ] && [ "$l" = 1p ]; then
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
echo "size,layout,config,repeat,mpps,gbps,rx_packets,tx_packets,errors,missed,nombuf,seconds,cpu_percent,status" >"$RUNS_CSV"
declare -A MPPS SAMPLES GOOD FAILS NOTE CPUS_OF LOW

layout_name() {
	case $1 in
	1p) echo "1 process, 1 fwd core" ;;
	2p) echo "2 processes, 2 cores" ;;
	esac
}

csvq() { local v=${1//\"/\'}; echo "\"$v\""; }

nruns=0
for size in $SIZES; do for l in $LAYOUTS; do for c in $CONFIGS; do nruns=$((nruns + 1)); done; done; done
nruns=$((nruns * REPEAT))
echo "peers.sh: $nruns runs of ${WARMUP}+${INTERVAL} s; CPUs $CPU_A,$CPU_B; DPDK $DPDK_VER; logs in $LOGS" >&2
k=0
NFAILED=0
# repeats go round the whole matrix, so that each cell's samples are spread
# over the run (the load of a shared machine drifts)
for rep in $(seq "$REPEAT"); do
for size in $SIZES; do
	for l in $LAYOUTS; do
		for c in $CONFIGS; do
			k=$((k + 1))
			key=$size/$l/$c
			if [ "$c" = vlink ] && [ -n "$VLINK_MISSING" ]; then
				FAILS[$key]="vlink: $VLINK_MISSING"
				echo "$size,$l,$c,$rep,,,,,,,,,,$(csvq "vlink: $VLINK_MISSING")" >>"$RUNS_CSV"
				echo "[$k/$nruns] $c, $size B, $(layout_name $l): skipped: $VLINK_MISSING" >&2
				continue
			fi
			printf '[%d/%d] %s, %s B, %s: ' $k $nruns "$c" "$size" "$(layout_name $l)" >&2
			if run_one "$c" "$l" "$size"; then
				SAMPLES[$key]="${SAMPLES[$key]:-} $R_MPPS"
				[ "$R_LOW" = 1 ] || GOOD[$key]="${GOOD[$key]:-} $R_MPPS"
				CPUS_OF[$key]="${CPUS_OF[$key]:-}${CPUS_OF[$key]:+, }$R_CPU"
				LOW[$key]=$((${LOW[$key]:-0} + R_LOW))
				if [ -n "$R_NOTE" ] && [[ "${NOTE[$key]:-}" != *"$R_NOTE"* ]]; then
					NOTE[$key]="${NOTE[$key]:-}${NOTE[$key]:+; }$R_NOTE"
				fi
				gbps=$(awk -v m="$R_MPPS" -v s="$size" 'BEGIN { printf "%.3f", m * s * 8 / 1000 }')
				printf '%.3f Mpps, %s Gbit/s (RX %d in %s s, wall %s s, CPU %s%%%s%s)\n' "$R_MPPS" "$gbps" \
					"$R_RX" "$R_SECS" "$R_WALL" "$R_CPU" \
					"$([ "$R_LOW" = 1 ] && echo ": forwarding got less than a CPU, machine busy")" \
					"${R_NOTE:+; $R_NOTE}" >&2
				echo "$size,$l,$c,$rep,$R_MPPS,$gbps,$R_RX,$R_TX,$R_ERR,$R_MISS,$R_NOMBUF,$R_SECS,$R_CPU,$(csvq "ok${R_NOTE:+; $R_NOTE}")" >>"$RUNS_CSV"
			else
				FAILS[$key]="${FAILS[$key]:-}${FAILS[$key]:+; }$FAIL"
				NFAILED=$((NFAILED + 1))
				echo "$size,$l,$c,$rep,,,,,,,,,,$(csvq "failed: $FAIL")" >>"$RUNS_CSV"
			fi
			finish_run "$c" "$rep"
		done
	done
done
done
[ -n "$VLINKD_PID" ] && cp "$T/vlinkd.log" "$LOGS/vlinkd.log" 2>/dev/null

# ------------------------------------------------------------- table, CSV, chart

# Each cell: the median of the runs whose forwarding lcores had their CPUs
# (>= 90%; the others measured the machine's other jobs), or of all runs
# when none had; NUSED of NOK runs, MIN-MAX of those used; STARVED=1 when
# only starved runs were there.
declare -A MIN MAX NOK NUSED STARVED
for key in "${!SAMPLES[@]}"; do
	NOK[$key]=$(echo ${SAMPLES[$key]} | wc -w)
	use=${GOOD[$key]:-}
	STARVED[$key]=0
	[ -n "$use" ] || { use=${SAMPLES[$key]}; STARVED[$key]=1; }
	read -r MPPS[$key] MIN[$key] MAX[$key] NUSED[$key] < <(echo $use | tr ' ' '\n' | sort -g |
		awk '{ v[NR] = $1 } END {
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%.6f %.6f %.6f %d\n", m, v[1], v[NR], NR }')
done

ratio() { # KEY: vlink / this configuration, or n/a
	local size=${1%%/*} rest=${1#*/} l
	l=${rest%%/*}
	local v=${MPPS[$size/$l/vlink]:-} p=${MPPS[$1]:-}
	if [ -n "$v" ] && [ -n "$p" ]; then
		awk -v v="$v" -v p="$p" 'BEGIN { if (p > 0) printf "%.2f", v / p; else print "n/a" }'
	else
		echo n/a
	fi
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

CSV=$OUT/peers.csv
{
	echo "size,layout,config,mpps,gbps,vlink_ratio,runs_used,runs,mpps_min,mpps_max,status"
	for size in $SIZES; do for l in $LAYOUTS; do for c in $CONFIGS; do
		key=$size/$l/$c
		if [ -n "${MPPS[$key]:-}" ]; then
			r=$(ratio "$key")
			echo "$size,$l,$c,${MPPS[$key]},$(awk -v m="${MPPS[$key]}" -v s="$size" 'BEGIN { printf "%.3f", m * s * 8 / 1000 }'),$r,${NUSED[$key]},${NOK[$key]},${MIN[$key]},${MAX[$key]},$(csvq "ok$(st=$(status "$key"); echo "${st:+; $st}")")"
		else
			echo "$size,$l,$c,,,,0,0,,,$(csvq "$(status "$key")")"
		fi
	done; done; done
} >"$CSV"

MD=$OUT/peers.md
{
	echo "## vlink and its peers (bench/peers.sh)"
	echo
	echo "- Date: $DATE; load average at start $LOAD, at end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- Machine: $CPU_MODEL ($CPU_MHZ MHz), $NCPU CPUs, $KERNEL, $OS"
	echo "- DPDK $DPDK_VER ($(command -v "$TESTPMD")); vlink: ${VLINK_MISSING:-$PLUGIN_ID}"
	echo "- Harness: dpdk-testpmd \`set fwd io\`, \`set txpkts SIZE\`, \`start tx_first $BURSTS\`"
	echo "  ($BURSTS bursts of 32 packets on every port), ${WARMUP} s warm-up, then \`show port stats all\`"
	echo "  twice, ${INTERVAL} s apart. Mpps = the RX-packets delta summed over both ends of the link"
	echo "  (both directions) / the time between the two shows as testpmd timed them (its"
	echo "  \"Rx-pps since last show\"); Gbit/s = Mpps x size x 8 / 1000 (frame bytes, no"
	echo "  CRC/preamble/gap). Rings of $RING everywhere; $MBUFS mbufs, -m $MEM_MB,"
	echo "  --single-file-segments, --no-pci, nice $NICE for every process. $REPEAT run(s) per cell"
	echo "  (repeats go round the whole matrix); a cell is the median of its runs whose"
	echo "  processes got >= 90% of a CPU between the two shows (a spinning forwarding lcore"
	echo "  should get 100%; less means other jobs set the figure), or of all its runs,"
	echo "  marked UNRELIABLE, when none did."
	echo "- Layouts: 1p = one testpmd \`-l $CPU_A,$CPU_B\` (main lcore on CPU $CPU_A, the one"
	echo "  forwarding lcore on CPU $CPU_B polls both ends); 2p = two testpmd, one end each,"
	echo "  A \`--lcores (0,1)@$CPU_A\`, B \`--lcores (0,1)@$CPU_B\` (main and forwarding lcore share"
	echo "  the CPU; the main lcore sleeps in the command line), both \`start tx_first\`."
	echo "- Ends: vlink A host / B peer (end=host, end=peer); memif A server / B client"
	echo "  (memif-zc: client zero-copy=yes); vhost-user A net_vhost / B net_virtio_user"
	echo "  (1p: virtio-user added with \`port attach\` once net_vhost listens)."
	echo "- vlink / this: vlink's Mpps divided by this configuration's, same size and layout."
	echo
	echo "| size | layout | configuration | Mpps | Gbit/s | vlink / this | runs used (min-max Mpps) | note |"
	echo "|---:|---|---|---:|---:|---:|---|---|"
	for size in $SIZES; do for l in $LAYOUTS; do for c in $CONFIGS; do
		key=$size/$l/$c
		if [ -n "${MPPS[$key]:-}" ]; then
			line=$(awk -v m="${MPPS[$key]}" -v s="$size" -v a="${MIN[$key]}" -v b="${MAX[$key]}" \
				-v u="${NUSED[$key]}" -v n="${NOK[$key]}" \
				'BEGIN { printf "%.2f | %.2f | RATIO | %d of %d", m, m * s * 8 / 1000, u, n
					if (u > 1) printf " (%.2f-%.2f)", a, b }')
			r=$(ratio "$key")
			[ "$c" = vlink ] && r=1.00
			echo "| $size B | $(layout_name $l) | $c | ${line/RATIO/$r} | $(status "$key") |"
		else
			echo "| $size B | $(layout_name $l) | $c | - | - | - | - | $(status "$key") |"
		fi
	done; done; done
	echo
	echo "Goals (vlink / peer, per layout):"
	echo
	goal() { # SIZE PEER MIN
		local l r v
		[[ " $SIZES " == *" $1 "* ]] || return 0
		[[ " $CONFIGS " == *" $2 "* ]] || return 0
		for l in $LAYOUTS; do
			r=$(ratio "$1/$l/$2")
			if [ "$r" = n/a ]; then v="n/a (no vlink or $2 figure)"
			elif awk -v r="$r" -v m="$3" 'BEGIN { exit !(r >= m) }'; then v="$r, met"
			else v="$r, NOT met"; fi
			if [ "${STARVED[$1/$l/vlink]:-0}" = 1 ] || [ "${STARVED[$1/$l/$2]:-0}" = 1 ]; then
				v="$v (UNRELIABLE: forwarding starved by other jobs in every run of a cell)"
			fi
			echo "- $1 B, $(layout_name $l): vlink >= $3 x $2: $v"
		done
	}
	goal 64 memif-zc 1.2
	goal 1500 memif 2
	for size in $SIZES; do goal "$size" vhost-user 1.0; done
} >"$MD"

# Chart: one panel per size, bars of Mpps grouped by layout.
PNG=$OUT/peers.png
nconf=$(echo $CONFIGS | wc -w)
nsizes=$(echo $SIZES | wc -w)
: >"$T/chart.dat"
for size in $SIZES; do
	li=0
	for l in $LAYOUTS; do
		ci=0
		for c in $CONFIGS; do
			x=$((li * (nconf + 1) + ci))
			m=${MPPS[$size/$l/$c]:-}
			if [ -n "$m" ]; then
				echo "$size $ci $x $m $([ "${STARVED[$size/$l/$c]}" = 1 ] && echo starved || echo ok)" >>"$T/chart.dat"
			else
				echo "$size $ci $x 0 missing" >>"$T/chart.dat"
			fi
			ci=$((ci + 1))
		done
		li=$((li + 1))
	done
done
if command -v gnuplot >/dev/null; then
	{
		echo "set terminal pngcairo size $((520 * nsizes + 200)),540 font 'sans,10'"
		echo "set output '$PNG'"
		echo "set termoption noenhanced"
		echo "set multiplot layout 1,$nsizes title \"vlink and its peers: dpdk-testpmd io forwarding, Mpps over both directions ($DATE)\\n$CPU_MODEL, $NCPU CPUs, $KERNEL, DPDK $DPDK_VER$([ -n "$(printf '%s\n' "${STARVED[@]}" | grep 1)" ] && echo '\n* = unreliable: forwarding got < 90% of a CPU in every run')\""
		echo "set style fill solid 0.85 border -1"
		echo "set boxwidth 0.9"
		echo "set grid ytics"
		echo "set yrange [0:*]"
		echo "set ylabel 'Mpps'"
		echo "set key outside bottom center horizontal reverse Left"
		echo "set offsets 0, 0, graph 0.08, 0"
		for size in $SIZES; do
			tics=
			li=0
			for l in $LAYOUTS; do
				tics="$tics${tics:+, }\"$(layout_name $l)\" $(awk -v a=$((li * (nconf + 1))) -v n=$nconf 'BEGIN { print a + (n - 1) / 2 }')"
				li=$((li + 1))
			done
			echo "set title '$size-byte packets'"
			echo "set xtics ($tics) scale 0"
			echo "set xrange [-1:$((li * (nconf + 1) - 1))]"
			plot="plot"
			ci=0
			for c in $CONFIGS; do
				case $c in
				vlink) color='#d62728' ;;
				memif) color='#1f77b4' ;;
				memif-zc) color='#2ca02c' ;;
				*) color='#ff7f0e' ;;
				esac
				plot="$plot '$T/chart.dat' using (\$1 == $size && \$2 == $ci ? \$3 : 1/0):4 with boxes lc rgb '$color' title '$c',"
				ci=$((ci + 1))
			done
			echo "$plot '$T/chart.dat' using (\$1 == $size ? \$3 : 1/0):4:(strcol(5) eq 'missing' ? 'n/a' : sprintf('%.1f', \$4).(strcol(5) eq 'starved' ? '*' : '')) with labels offset 0,0.7 font ',9' notitle"
		done
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
