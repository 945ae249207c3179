#!/bin/bash
# bench/ovs.sh: Open vSwitch's DPDK datapath (Debian's ovs-vswitchd-dpdk:
# OVS 3.1, DPDK 22.11) with ONE polling thread forwarding between two
# ports, each port's other end in one dpdk-testpmd (io forwarding, both
# ports, `start tx_first`): packets go round testpmd -> OVS -> testpmd.
# Three port types in one run: net_vlink (vlink's PMD, the host ends in
# OVS), dpdkvhostuserclient with net_virtio_user servers (split and
# packed rings), net_memif (OVS the client, copy and zero-copy).  Mpps =
# the packets OVS sent out of both ports (ovs-ofctl dump-ports) over a
# fixed interval after a warm-up.  See bench/README.md.
#
#   sudo bench/ovs.sh [--quick] [--repeat N] [--sizes 64,1500] [--only LIST] [--cpus A,B]
#
# Environment: VLINK_HOST_DEVARGS (more devargs for OVS's net_vlink ports;
# default rx_copybreak=256, the setting docs/pmd.md gives for an
# application that forwards between ports; printed with the table).
set -u
VLINK_HOST_DEVARGS=${VLINK_HOST_DEVARGS-rx_copybreak=256}

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
ALL_CONFIGS="vlink vhost-user vhost-user-packed memif memif-zc"
# not run unless asked for: zero-copy on OVS's side, which mostly fails
# (bench/README.md)
EXTRA_CONFIGS="memif-zc-ovs"

usage() {
	cat <<EOF
Usage: sudo bench/ovs.sh [OPTION]...
OVS-DPDK with one PMD thread forwarding between two ports (in_port flows),
the ports' peers in one dpdk-testpmd (io forwarding, start tx_first):
net_vlink, vhost-user (dpdkvhostuserclient + net_virtio_user, split and
packed rings) and net_memif (copy, zero-copy) ports.

  --interval S     seconds counted per run (default 5)
  --warmup S       seconds of forwarding before counting (default 3)
  --repeat N       runs per cell, interleaved round the matrix; the table
                   gives min/median/max (default 7)
  --quick          a smoke run: --repeat 1 --interval 2 --warmup 1 unless
                   given
  --sizes LIST     packet sizes in bytes, comma separated (default 64,1500)
  --only LIST      configurations, comma separated, from: vlink, vhost-user,
                   vhost-user-packed, memif, memif-zc (default: these), and
                   memif-zc-ovs (zero-copy in OVS: mostly fails, can abort
                   OVS; see bench/README.md)
  --cpus A,B       OVS's PMD thread on CPU A; its other threads and the
                   testpmd on CPU B (default 0,1)
  --out DIR        results directory (default bench/results)
  --builddir DIR   vlink build tree (default \$BUILDDIR or the source tree)
  --keep           keep the temporary directory (sockets, logs)
  -h, --help       this text

Writes DIR/ovs.md (the table, also printed), DIR/ovs.csv (one row per
cell), DIR/ovs-runs.csv (one row per run) and DIR/logs/ovs-* (the testpmd
logs of each run, ovs-vswitchd's log).  Exit status 0 when every run
worked and every vlink port closed with all its buffers home, 1 when not,
2 on a usage or set-up error.  Needs root, OVS-DPDK
(openvswitch-switch-dpdk), dpdk-testpmd and 2 MiB hugepages (raised with
scripts/hugepages.sh, not given back: other jobs may be using them).
EOF
}

die() { echo "ovs.sh: $*" >&2; exit 2; }

ARGS=("$@")
INTERVAL=5
WARMUP=3
REPEAT=7
SIZES=64,1500
ONLY=
CPUS=0,1
OUT=$SRCDIR/bench/results
BUILDDIR=${BUILDDIR:-$SRCDIR}
KEEP=0
TESTPMD=${TESTPMD:-dpdk-testpmd}
BURSTS=32          # start tx_first BURSTS: bursts of 32 packets per port
MEM_MB=256         # testpmd -m
MBUFS=16384        # testpmd --total-num-mbufs
RING=1024          # vlink ring, memif rsize=10, virtio-user queue_size
NICE=0
TP_PREFIX=ovsb$$   # testpmd's EAL --file-prefix: ovsbPID-ID

# --quick sets the defaults: an explicit --repeat etc. still counts
[[ " $* " == *" --quick "* ]] && REPEAT=1 INTERVAL=2 WARMUP=1
while [ $# -gt 0 ]; do
	case $1 in
	--quick) ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) run_opt "$@" || { echo "ovs.sh: unknown option '$1' (see --help)" >&2; exit 2; }; shift ;;
	esac
	shift
done

check_run_opts
CONFIGS=
for c in ${ONLY//,/ }; do
	[[ " $ALL_CONFIGS $EXTRA_CONFIGS " == *" $c "* ]] ||
		die "--only: unknown configuration '$c' (${ALL_CONFIGS// /, }, $EXTRA_CONFIGS)"
done
for c in $ALL_CONFIGS $EXTRA_CONFIGS; do
	[ -n "$ONLY" ] || [[ " $EXTRA_CONFIGS " != *" $c "* ]] || continue
	[ -z "$ONLY" ] || [[ ",$ONLY," == *",$c,"* ]] && CONFIGS="$CONFIGS $c"
done
CONFIGS=${CONFIGS# }
NCPU=$(nproc --all)
[ "$CPU_A" -lt "$NCPU" ] && [ "$CPU_B" -lt "$NCPU" ] || die "--cpus: this machine has CPUs 0-$((NCPU - 1))"
[ "$(id -u)" = 0 ] || die "needs root (hugepages, mounts, OVS): sudo $0"
command -v "$TESTPMD" >/dev/null || die "$TESTPMD not found (apt-get install dpdk)"
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
BUILDDIR=$(cd "$BUILDDIR" && pwd) || die "--builddir: no such directory"

private_ns VLINK_OVS_BENCH_NS "${ARGS[@]}"

# the tests' libraries: a private vlinkd (T, SOCK, start_daemon, ctl,
# until_ok), a private ovsdb-server and ovs-vswitchd (ovs-lib.sh)
export SRCDIR BUILDDIR
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/integration/ovs-lib.sh"
# for ovs-lib.sh: zero-copy memif needs one file per memory segment; the
# main thread and the others on CPU B
# shellcheck disable=SC2034
OVS_EAL_EXTRA="--single-file-segments ${OVS_BENCH_EAL:-}"
# shellcheck disable=SC2034
OVS_WRAP="taskset -c $CPU_B"
missing=$(ovs_missing) && die "OVS-DPDK is not installed (no $missing; apt-get install openvswitch-switch-dpdk)"
LOGS=$OUT/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/ovs-*

bench_cleanup() {
	local id
	trap - EXIT
	trap '' INT TERM
	for id in $TP_IDS; do tp_kill "$id"; done
	[ -f "$OVSLOG" ] && cp "$OVSLOG" "$LOGS/ovs-vswitchd.log"
	[ -f "$T/vlinkd.log" ] && cp "$T/vlinkd.log" "$LOGS/ovs-vlinkd.log"
	if [ "$KEEP" = 1 ]; then
		cp -a "$T" "$T.kept" && echo "ovs.sh: kept $T.kept" >&2
	fi
	ovs_cleanup # OVS, ovsdb-server, vlinkd, the mounts and T
}
trap bench_cleanup EXIT
trap 'echo "ovs.sh: interrupted" >&2; exit 130' INT
trap 'echo "ovs.sh: terminated" >&2; exit 143' TERM
trap '' PIPE # a dead testpmd must not kill us through its fifo

# ------------------------------------------------------------- set-up

# OVS's DPDK memory, the testpmd's, vlinkd's pools
hp_ensure $((HUGEPAGES + MEM_MB / 2 + 64)) || die "not enough 2 MiB hugepages"
private_mounts ovsb
# vlinkd's channel regions on tmpfs (not /tmp's disk: writeback would
# write-protect the rings)
mkdir -p "$T/shm"
mount -t tmpfs -o size=256m,mode=0755 ovsb-shm "$T/shm" || die "cannot mount a tmpfs for vlinkd"

VLINK_MISSING=
if [[ " $CONFIGS " == *" vlink "* ]]; then
	if [ ! -f "$PLUGIN_SRC" ]; then
		VLINK_MISSING="PMD not built ($PLUGIN_SRC)"
	elif [ ! -x "$VLINKD" ] || [ ! -x "$VLINKCTL" ]; then
		VLINK_MISSING="vlinkd or vlinkctl not built (make)"
	elif ! start_daemon; then
		VLINK_MISSING="vlinkd did not start"
	fi
fi
if [ -f "$PLUGIN_SRC" ]; then
	ovs_plugin || die "cannot copy the plugin under /run"
else
	PLUGIN=
fi

start_ovsdb || die "ovsdb-server did not start: $(tail -n 5 "$O/ovsdb-server.log")"
ovs_dpdk_config "$(printf '0x%x' $((1 << CPU_A)))"
[ -n "$PLUGIN" ] || vsctl set Open_vSwitch . \
	"other_config:dpdk-extra=--no-pci --file-prefix $PREFIX $OVS_EAL_EXTRA"
start_ovs || die "ovs-vswitchd did not start (log: $OVSLOG)"
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev || die "add-br failed"
# set_flows: ports 1 and 2 forward to each other (OVS keeps no flows
# across a restart)
set_flows() {
	# (--no-wait: the bridge's OpenFlow socket comes a moment later)
	until_ok 30 ofctl show "$BR" || return 1
	ofctl del-flows "$BR" &&
		ofctl add-flow "$BR" "in_port=1,actions=output:2" &&
		ofctl add-flow "$BR" "in_port=2,actions=output:1"
}

CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
KERNEL="$(uname -sr) $(uname -m)"
OVS_VER=$("$VSWITCHD" --version 2>/dev/null | awk 'NR == 1 { print $NF }')
DPDK_VER=$(dpkg-query -W -f '${Version}' dpdk 2>/dev/null || echo unknown)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
TREE=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo "?")
git -C "$SRCDIR" diff --quiet HEAD -- pmd libvlinkguest proto vlinkd 2>/dev/null ||
	TREE="$TREE with local changes"

# ------------------------------------------------------------- one run

# ovs_ports: "TX-PKTS RX-PKTS TX-DROP RX-DROP" summed over ports 1 and 2,
# read live from the PMDs (ovs-ofctl dump-ports)
ovs_ports() {
	ofctl dump-ports "$BR" 2>/dev/null | awk '
		/^ *port +[0-9]+:/ { p = 1 } /^ *port +LOCAL/ { p = 0 }
		p { for (i = 1; i <= NF; i++) if ($i == "rx" || $i == "tx") d = $i
			else if (split($i, kv, "=") == 2) { sub(",", "", kv[2]); s[d "_" kv[1]] += kv[2] } }
		END { if (!("rx_pkts" in s)) exit 1
		      printf "%.0f %.0f %.0f %.0f\n", s["tx_pkts"], s["rx_pkts"], s["tx_drop"], s["rx_drop"] }'
}

# pmd_stats: "BUSY CYCLES" of the polling thread since the last
# dpif-netdev/pmd-stats-clear: its processing cycles in percent, and its
# processing cycles per packet (TSC cycles: time preempted counts too)
pmd_stats() {
	appctl dpif-netdev/pmd-stats-show 2>/dev/null | awk '
		/^pmd thread/ { p = 1 } /^main thread/ { p = 0 }
		p && /^ *processing cycles:/ { gsub(/[()%]/, "", $4); b = $4 }
		p && /avg processing cycles per packet:/ { c = $6 }
		END { print (b == "" ? "?" : b), (c == "" ? "?" : c) }'
}

# pmd_tid: the thread id of OVS's polling thread
pmd_tid() {
	local t
	for t in /proc/"$OVS_PID"/task/*; do
		case $(cat "$t/comm" 2>/dev/null) in pmd*) echo "${t##*/}"; return 0 ;; esac
	done
	return 1
}

# ports_gone: p0 and p1 are out of OVS's datapath
ports_gone() { ! appctl dpctl/show | grep -Eq ': p[01]( |$)'; }

# add_ovs_port NAME OFPORT TYPE OPTIONS...
add_ovs_port() {
	vsctl add-port "$BR" "$1" -- set interface "$1" type="$3" ofport_request="$2" "${@:4}"
}

# port_in: the interface has its ofport and no error
port_in() { vsctl get interface "$1" ofport | grep -qx "$2" && iface_is "$1" error '[]'; }

# device names of the vlink ports in OVS: numbered per run, so two digits
VDEV="net_vlink[0-9]+"

# run_one CONFIG SIZE: sets R_MPPS R_TP_MPPS R_BUSY R_CPP R_CPU R_LOW R_NOTE
# R_HOME, or FAIL
run_one() {
	local c=$1 size=$2 i d0 d1 tp_args=() ovs_first=1 plug=() n p m ovs_role tp_role
	local t0 t1 x0 x1 tx0 txd0 rxd0 tx1 txd1 rxd1 c0 c1 o0 o1 tid secs
	FAIL='' R_NOTE='' R_HOME='' R_LOW=0 TP_IDS='' TP_APP=
	RUNNO=$((RUNNO + 1))
	d0=$((2 * RUNNO)) d1=$((2 * RUNNO + 1))
	hp_ensure $((MEM_MB / 2 + 32)) || { fail "" "not enough free hugepages"; return 1; }
	# (started again when a run before crashed it: the flows with it)
	ensure_ovs >/dev/null || { fail "" "ovs-vswitchd does not start again"; return 1; }
	set_flows || { fail "" "cannot set the flows"; return 1; }
	case $c in
	vlink)
		for i in 0 1; do
			ctl create-link "b$RUNNO-$i" "02:00:00:00:0$i:01" 1 --ring-size "$RING" \
				>"$T/ctl.out" 2>&1 || { fail "" "create-link: $(cat "$T/ctl.out")"; return 1; }
		done
		add_ovs_port p0 1 dpdk "options:dpdk-devargs=net_vlink$d0,link=b$RUNNO-0,socket=$SOCK${VLINK_HOST_DEVARGS:+,$VLINK_HOST_DEVARGS}" &&
		add_ovs_port p1 2 dpdk "options:dpdk-devargs=net_vlink$d1,link=b$RUNNO-1,socket=$SOCK${VLINK_HOST_DEVARGS:+,$VLINK_HOST_DEVARGS}" ||
			{ fail "" "add-port (vlink) failed"; return 1; }
		plug=(-d "$PLUGIN" --log-level=pmd.net.vlink:info)
		tp_args=(--vdev "net_vlink0,link=b$RUNNO-0,end=peer,socket=$SOCK"
			--vdev "net_vlink1,link=b$RUNNO-1,end=peer,socket=$SOCK")
		ovs_first=0 ;;
	vhost-user|vhost-user-packed)
		# OVS is the vhost-user client: testpmd's virtio-user listens
		# (server=1) and its probe waits for OVS, which tries every second
		p=$([ "$c" = vhost-user-packed ] && echo ,packed_vq=1)
		for i in 0 1; do
			add_ovs_port "p$i" $((i + 1)) dpdkvhostuserclient \
				"options:vhost-server-path=$T/vh$RUNNO-$i.sock" ||
				{ fail "" "add-port (vhost-user) failed"; return 1; }
			tp_args+=(--vdev "net_virtio_user$i,path=$T/vh$RUNNO-$i.sock,server=1,queues=1,queue_size=$RING,in_order=1,mrg_rxbuf=0$p")
		done ;;
	memif*)
		# OVS gives a port one TX queue per PMD thread and one for its
		# other threads: the testpmd end must have as many RX rings (else
		# the server refuses the client: "Invalid ring index"); testpmd's
		# io forwarding answers on the queue a packet came in (1: the PMD
		# thread's), so OVS polls both of its RX queues
		TP_APP="--rxq=2 --txq=2"
		m="socket-abstract=no,rsize=10"
		if [ "$c" = memif-zc ]; then
			# OVS the server, testpmd the zero-copy client (its mbufs,
			# on hugetlbfs files, are the shared buffers)
			ovs_role=server tp_role="client,zero-copy=yes"
		else
			# OVS the client (memif-zc-ovs: zero-copy; its memory is
			# --in-memory), testpmd the server
			ovs_role=client${c#memif} tp_role=server
			ovs_role=${ovs_role/-zc-ovs/,zero-copy=yes}
			ovs_first=0
		fi
		for i in 0 1; do
			tp_args+=(--vdev "net_memif$i,role=$tp_role,socket=$T/m$RUNNO-$i.sock,$m")
		done ;;
	esac
	# vhost-user: testpmd's probe waits for OVS; memif: the server first
	memif_ports() {
		for i in 0 1; do
			add_ovs_port "p$i" $((i + 1)) dpdk options:n_rxq=2 \
				"options:dpdk-devargs=net_memif$((d0 + i)),role=$ovs_role,socket=$T/m$RUNNO-$i.sock,$m" ||
				{ fail "" "add-port (memif) failed"; return 1; }
		done
	}
	if [[ $c == memif* ]] && [ "$ovs_first" = 1 ]; then
		memif_ports || return 1
		# a memif client that finds no socket gives up: wait for OVS's
		for i in 0 1; do
			until_ok 30 test -S "$T/m$RUNNO-$i.sock" ||
				{ fail "" "OVS created no memif socket m$RUNNO-$i.sock: $(vsctl get interface "p$i" error 2>&1)"; return 1; }
		done
	fi
	tp_start A --lcores "(0,1)@$CPU_B" "${plug[@]}" "${tp_args[@]}" || return 1
	tp_ready A || return 1
	if [[ $c == memif* ]] && [ "$ovs_first" = 0 ]; then memif_ports || return 1; fi
	for i in 0 1; do
		until_ok 30 port_in "p$i" $((i + 1)) ||
			{ fail A "OVS did not take port p$i ($c): error $(vsctl get interface "p$i" error 2>&1)"; return 1; }
	done
	for i in 0 1; do
		until_ok 30 link_up "p$i" ||
			{ fail A "OVS port p$i ($c) is not up: link_state $(vsctl get interface "p$i" link_state 2>&1)"; return 1; }
	done
	tp_links_up A 2 || return 1
	tp_run A 'Set io packet forwarding mode' 1 5 'set fwd io' || { fail A "set fwd io: no answer"; return 1; }
	tp_run A 'testpmd> ' 1 5 "set txpkts $size" || { fail A "set txpkts: no answer"; return 1; }
	tp_run A 'packet forwarding - ports=' 1 10 "start tx_first $BURSTS" ||
		{ fail A "start tx_first $BURSTS: forwarding did not start"; return 1; }
	sleep "$WARMUP"
	tid=$(pmd_tid) || { fail "" "no pmd thread in ovs-vswitchd"; return 1; }
	# the window: OVS's counters (and the testpmd's) at both ends of it
	tp_stats A 2 || return 1
	appctl dpif-netdev/pmd-stats-clear >/dev/null
	c0=$(cpu_ticks "${TP_PID[A]}") o0=$(cpu_ticks "$tid")
	t0=$(now)
	read -r tx0 _ txd0 rxd0 < <(ovs_ports) || { fail "" "ovs-ofctl dump-ports failed"; return 1; }
	x0=$(now)
	sleep "$INTERVAL"
	t1=$(now)
	read -r tx1 _ txd1 rxd1 < <(ovs_ports) || { fail "" "ovs-ofctl dump-ports failed"; return 1; }
	x1=$(now)
	c1=$(cpu_ticks "${TP_PID[A]}") o1=$(cpu_ticks "$tid")
	read -r R_BUSY R_CPP < <(pmd_stats)
	tp_stats A 2 || return 1
	read -r _ _ _ _ _ _ n <<<"$ST"
	R_TP_MPPS=$(awk -v p="$n" 'BEGIN { printf "%.6f", p / 1e6 }')
	# each reading timed at the middle of its dump-ports call
	secs=$(awk -v a="$t0" -v b="$x0" -v c="$t1" -v d="$x1" 'BEGIN { printf "%.3f", (c + d) / 2 - (a + b) / 2 }')
	R_MPPS=$(awk -v n=$((tx1 - tx0)) -v s="$secs" 'BEGIN { printf "%.6f", n / s / 1e6 }')
	R_CPU=$(awk -v a=$((o1 - o0)) -v b=$((c1 - c0)) -v s="$secs" -v hz="$HZ" \
		'BEGIN { printf "%.0f/%.0f", a / hz / s * 100, b / hz / s * 100 }')
	[ "${R_CPU%/*}" -ge 90 ] && [ "${R_CPU#*/}" -ge 90 ] || R_LOW=1
	[ $((txd1 - txd0 + rxd1 - rxd0)) -gt 0 ] &&
		R_NOTE="OVS dropped $((txd1 - txd0)) tx, $((rxd1 - rxd0)) rx"
	R_TX=$((tx1 - tx0)) R_SECS=$secs
	tp_stop A
	# a memif client closes before its server (a zero-copy client has
	# been seen to crash in stop when its server quit first); vlink's
	# peer ends leave before the host ends close, which then must have
	# every buffer home
	case $c in vlink|memif-zc) tp_quit A ;; esac
	n=$(ovs_log_lines)
	if [ "$c" = vlink ]; then
		for i in 0 1; do until_ok 10 detached "b$RUNNO-$i" peer; done
	fi
	vsctl del-port "$BR" p0 >"$T/del.out" 2>&1 && vsctl del-port "$BR" p1 >>"$T/del.out" 2>&1 ||
		{ fail "" "del-port: $(cat "$T/del.out")"; return 1; }
	until_ok 30 ports_gone || echo "(ovs.sh: OVS still has p0 or p1 after 30 s)" >&2
	tp_alive A && tp_quit A
	if [ "$c" = vlink ]; then
		until_ok 30 eval '[ "$(closed_lines "$n" "$VDEV" | wc -l)" -ge 2 ]' ||
			echo "(ovs.sh: no 'closed' lines after line $n of $(ovs_log_lines) within 30 s)" >&2
		# the host ends (OVS): every buffer home; the peer ends
		# (testpmd): as many handed back as taken, none held
		p=$(grep -Ec 'closed: ([0-9]+) buffers taken .*, \1 handed back .*, 0 held, 0 bad' "${TP_LOG[A]}")
		R_HOME="$(all_home "$n" "$VDEV") of 2 OVS ports, $p of 2 testpmd ports"
		if [ "$(all_home "$n" "$VDEV")" != 2 ] || [ "$p" != 2 ]; then
			fail A "not every buffer home: $(closed_lines "$n" "$VDEV" | sed 's/.*|//' | tr '\n' ' ')"
			return 1
		fi
	fi
	# a crash at close (seen with memif zero-copy): the figures stand
	ovs_dead >"$T/dead.out" && R_NOTE="$R_NOTE${R_NOTE:+; }ovs-vswitchd crashed at close ($(head -n1 "$T/dead.out" | sed 's/^ *//'))"
	[ "$R_TX" -gt 0 ] || { fail A "OVS forwarded nothing"; return 1; }
	return 0
}

finish_run() { # CONFIG REPEAT SIZE
	local id
	save_logs "ovs-$1-$3$([ "$REPEAT" -gt 1 ] && echo ".r$2")"
	for id in $TP_IDS; do tp_kill "$id"; done
	vsctl --if-exists del-port "$BR" p0 -- --if-exists del-port "$BR" p1 >/dev/null 2>&1
	if [ "$1" = vlink ]; then
		ctl delete-link "b$RUNNO-0" --force >/dev/null 2>&1
		ctl delete-link "b$RUNNO-1" --force >/dev/null 2>&1
	fi
	rm -f "$T"/vh"$RUNNO"-* "$T"/m"$RUNNO"-*
}

# ------------------------------------------------------------- the runs

RUNNO=0
RUNS_CSV=$OUT/ovs-runs.csv
echo "size,config,repeat,mpps,testpmd_rx_mpps,pmd_busy_percent,pmd_cycles_per_packet,cpu_pmd_testpmd,ovs_tx_packets,seconds,buffers_home,status" >"$RUNS_CSV"
declare -A SAMPLES GOOD FAILS NOTE CPUS_OF HOMES TPM BUSY CPP
nruns=$(( $(echo $SIZES | wc -w) * $(echo $CONFIGS | wc -w) * REPEAT ))
echo "ovs.sh: $nruns runs of ${WARMUP}+${INTERVAL} s; OVS PMD on CPU $CPU_A, testpmd on CPU $CPU_B; logs in $LOGS" >&2
k=0
NFAILED=0
for rep in $(seq "$REPEAT"); do
for size in $SIZES; do
	for c in $CONFIGS; do
		k=$((k + 1))
		key=$size/$c
		if [ "$c" = vlink ] && [ -n "$VLINK_MISSING" ]; then
			FAILS[$key]="vlink: $VLINK_MISSING"
			echo "$size,$c,$rep,,,,,,,,,$(csvq "vlink: $VLINK_MISSING")" >>"$RUNS_CSV"
			echo "[$k/$nruns] $c, $size B: skipped: $VLINK_MISSING" >&2
			continue
		fi
		printf '[%d/%d] %s, %s B: ' $k $nruns "$c" "$size" >&2
		if run_one "$c" "$size"; then
			SAMPLES[$key]="${SAMPLES[$key]:-} $R_MPPS"
			TPM[$key]="${TPM[$key]:-} $R_TP_MPPS"
			BUSY[$key]="${BUSY[$key]:-} $R_BUSY"
			CPP[$key]="${CPP[$key]:-} $R_CPP"
			[ "$R_LOW" = 1 ] || GOOD[$key]="${GOOD[$key]:-} $R_MPPS"
			CPUS_OF[$key]="${CPUS_OF[$key]:-}${CPUS_OF[$key]:+, }$R_CPU"
			[ -n "$R_HOME" ] && HOMES[$key]=$R_HOME
			if [ -n "$R_NOTE" ] && [[ "${NOTE[$key]:-}" != *"$R_NOTE"* ]]; then
				NOTE[$key]="${NOTE[$key]:-}${NOTE[$key]:+; }$R_NOTE"
			fi
			printf '%.3f Mpps through OVS (testpmd RX %.3f Mpps; OVS PMD busy %s%%, %s cycles/packet; CPU%% PMD/testpmd %s%s%s)\n' \
				"$R_MPPS" "$R_TP_MPPS" "$R_BUSY" "$R_CPP" "$R_CPU" \
				"${R_HOME:+; buffers home: $R_HOME}" "${R_NOTE:+; $R_NOTE}" >&2
			echo "$size,$c,$rep,$R_MPPS,$R_TP_MPPS,$R_BUSY,$R_CPP,$R_CPU,$R_TX,$R_SECS,$(csvq "$R_HOME"),$(csvq "ok${R_NOTE:+; $R_NOTE}")" >>"$RUNS_CSV"
		else
			FAILS[$key]="${FAILS[$key]:-}${FAILS[$key]:+; }$FAIL"
			NFAILED=$((NFAILED + 1))
			echo "$size,$c,$rep,,,,,,,,,$(csvq "failed: $FAIL")" >>"$RUNS_CSV"
		fi
		finish_run "$c" "$rep" "$size"
	done
done
done

# ------------------------------------------------------------- table, CSV

# a cell: the median of the runs where OVS's PMD thread and the testpmd
# both got >= 90% of their CPUs (else other jobs set the figure), or of
# all runs, marked UNRELIABLE, when none did
declare -A MED MIN MAX NUSED NOK STARVED
for key in "${!SAMPLES[@]}"; do
	NOK[$key]=$(echo ${SAMPLES[$key]} | wc -w)
	use=${GOOD[$key]:-}
	STARVED[$key]=0
	[ -n "$use" ] || { use=${SAMPLES[$key]}; STARVED[$key]=1; }
	read -r MED[$key] MIN[$key] MAX[$key] NUSED[$key] < <(median_of $use)
done

status() { # KEY: the note column
	local key=$1 s
	if [ -z "${MED[$key]:-}" ]; then
		s=${FAILS[$key]:-not run}
		[[ $s == vlink:* ]] || s="failed: $s"
		echo "$s"
		return
	fi
	s=${NOTE[$key]:-}
	[ -n "${HOMES[$key]:-}" ] && s="$s${s:+; }buffers home at close: ${HOMES[$key]}"
	if [ "${STARVED[$key]}" = 1 ]; then
		s="$s${s:+; }UNRELIABLE: OVS's PMD or testpmd got < 90% of a CPU in every run"
	elif [ "${NUSED[$key]}" -lt "${NOK[$key]}" ]; then
		s="$s${s:+; }left out $((NOK[$key] - NUSED[$key])) run(s) with < 90% of a CPU"
	fi
	s="$s${s:+; }CPU% PMD/testpmd per run: ${CPUS_OF[$key]}"
	[ -n "${FAILS[$key]:-}" ] && s="$s; $((REPEAT - NOK[$key])) of $REPEAT runs failed: ${FAILS[$key]}"
	echo "$s"
}

CSV=$OUT/ovs.csv
MD=$OUT/ovs.md
{
	echo "size,config,mpps,mpps_min,mpps_max,runs_used,runs,testpmd_rx_mpps_median,pmd_busy_percent_median,pmd_cycles_per_packet_median,status"
	for size in $SIZES; do for c in $CONFIGS; do
		key=$size/$c
		if [ -n "${MED[$key]:-}" ]; then
			read -r tm _ < <(median_of ${TPM[$key]})
			bm=$(median_of ${BUSY[$key]//\?/} | awk '$4 { printf "%.1f", $1 }')
			cm=$(median_of ${CPP[$key]//\?/} | awk '$4 { printf "%.0f", $1 }')
			echo "$size,$c,${MED[$key]},${MIN[$key]},${MAX[$key]},${NUSED[$key]},${NOK[$key]},$tm,$bm,$cm,$(csvq "$(status "$key")")"
		else
			echo "$size,$c,,,,0,0,,,,$(csvq "$(status "$key")")"
		fi
	done; done
} >"$CSV"
{
	echo "## OVS-DPDK with vlink, vhost-user and memif ports (bench/ovs.sh)"
	echo
	echo "- Date: $DATE; load average at start $LOAD, at end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- Machine: $CPU_MODEL, $NCPU CPUs, $KERNEL; OVS $OVS_VER ($VSWITCHD), DPDK $DPDK_VER; tree $TREE"
	echo "- OVS: one PMD thread (pmd-cpu-mask CPU $CPU_A), its other threads on CPU $CPU_B; EAL --in-memory"
	echo "  on hugepages (dpdk-socket-mem 256, limit $SOCKET_LIMIT MiB), --single-file-segments; bridge"
	echo "  datapath_type=netdev, flows in_port=1 -> 2 and 2 -> 1."
	echo "- Peers: one dpdk-testpmd on CPU $CPU_B (\`--lcores (0,1)@$CPU_B\`), both ports, \`set fwd io\`,"
	echo "  \`set txpkts SIZE\`, \`start tx_first $BURSTS\`: packets go round testpmd -> OVS -> testpmd."
	echo "- Mpps = packets OVS sent out of both ports (ovs-ofctl dump-ports tx, live from the PMDs) over"
	echo "  ${INTERVAL} s after a ${WARMUP} s warm-up; \"testpmd\" = the testpmd's RX over the same window."
	echo "  OVS busy = the PMD thread's processing cycles (dpif-netdev/pmd-stats-show) in the window:"
	echo "  near 100% OVS is the bottleneck; lower, the testpmd is. OVS cycles/packet = its \"avg"
	echo "  processing cycles per packet\" there (TSC cycles: time preempted by other jobs counts)."
	echo "- Ports: vlink = type=dpdk net_vlinkN,link=L${VLINK_HOST_DEVARGS:+,$VLINK_HOST_DEVARGS} (host ends; testpmd the peer ends, rings of $RING);"
	echo "  vhost-user = dpdkvhostuserclient, testpmd net_virtio_user server=1,queue_size=$RING,in_order=1,"
	echo "  mrg_rxbuf=0 (vhost-user-packed: and packed_vq=1); memif = type=dpdk net_memif role=client"
	echo "  (memif-zc: zero-copy=yes) against testpmd's role=server, rsize=10."
	echo "- $REPEAT run(s) per cell, interleaved round the matrix; a cell is the median of its runs where"
	echo "  OVS's PMD thread and the testpmd both got >= 90% of a CPU (else all runs, UNRELIABLE)."
	echo
	echo "| size | ports | Mpps (median) | min-max | testpmd Mpps | OVS busy % | OVS cycles/packet | runs used | note |"
	echo "|---:|---|---:|---|---:|---:|---:|---|---|"
	for size in $SIZES; do for c in $CONFIGS; do
		key=$size/$c
		if [ -n "${MED[$key]:-}" ]; then
			IFS=, read -r _ _ _ _ _ _ _ tm bm cm _ < <(grep "^$size,$c," "$CSV")
			printf '| %s B | %s | %.2f | %.2f-%.2f | %.2f | %s | %s | %s of %s | %s |\n' "$size" "$c" \
				"${MED[$key]}" "${MIN[$key]}" "${MAX[$key]}" "$tm" "$bm" "$cm" \
				"${NUSED[$key]}" "${NOK[$key]}" "$(status "$key")"
		else
			echo "| $size B | $c | - | - | - | - | - | - | $(status "$key") |"
		fi
	done; done
} >"$MD"

echo
cat "$MD"
echo
echo "Written: $MD, $CSV, $RUNS_CSV; logs in $LOGS"
[ "$NFAILED" = 0 ] || { echo "ovs.sh: $NFAILED run(s) failed" >&2; exit 1; }
