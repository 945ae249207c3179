#!/bin/sh
# bench/guest-netdev.sh: two TCG guests talking through Open vSwitch's
# DPDK datapath with their kernel's IP stack, vlink against virtio-net on
# vhost-user, in one run and one ovs-vswitchd:
#
#   vlink   each guest with a pci-vlink device of a domain of its own and
#           the guest kernel driver vlink_net.ko (vlink0); OVS ports vlG1,
#           vlG2: net_vlink host ends of links G1, G2 (MTU 1500)
#   virtio  each guest with one virtio-net-pci (the kernel's virtio_net,
#           eth0) on a vhost-user netdev, QEMU the server, guest RAM a
#           shared memfd; OVS ports vh1, vh2: dpdkvhostuserclient
#
# Flows in_port=vlG1 <-> vlG2 and vh1 <-> vh2; link-local addresses;
# no other network device in the guests.  Per pair (scripts/lib/
# guest-pair.sh): guest 2 pings guest 1 (busybox ping: the round trip of
# each), then sends MB MiB of random bytes over TCP (busybox nc), timed by
# guest 1 from accept to the last byte, md5sum checked at both ends.  The
# pairs run one after the other (vlink, then virtio, each round), never
# at once.  TCG: informational, noisy.  See bench/notes/guest-netdev.md.
#
#   sudo bench/guest-netdev.sh [--pings N] [--ping-interval S] [--mb N] [--repeat N] [--only vlink,virtio] [--out FILE]
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${BUILDDIR:-$SRCDIR}

usage() {
	cat <<EOF
Usage: sudo bench/guest-netdev.sh [OPTION]...
Two TCG guests switched by OVS-DPDK, each pair with the guest kernel's IP
stack: through vlink (pci-vlink, vlink_net.ko, OVS net_vlink ports) and
through virtio-net-pci (virtio_net, OVS dpdkvhostuserclient ports, QEMU
the vhost-user server).  Guest 2 -> guest 1: ping round trips (p50, p99,
max) and the rate of a TCP transfer (busybox nc, md5sum checked).

  --pings N          pings per measurement (default 200)
  --ping-interval S  seconds between pings (default 0.01)
  --mb N             MiB sent over TCP per measurement (default 16)
  --repeat N         measurements per configuration, in rounds (vlink
                     and virtio alternate; each boots its two guests;
                     default 3)
  --only LIST        vlink and/or virtio (default both)
  --out FILE         the table, markdown (default
                     bench/results/guest-netdev.md); every measurement
                     also goes to FILE's .csv sibling
  --builddir DIR     vlink build tree (default \$BUILDDIR or the source tree)
  -h, --help         this text

Needs root, QEMU with pci-vlink and vhost-user (make qemu), the kernel,
its headers and modules (scripts/install-deps.sh: vlink_net.ko is built
with scripts/build-guest-module.sh, virtio_net comes from the kernel
package), OVS-DPDK (openvswitch-switch-dpdk), the PMD, ethtool, and
$(( (640 / 2) + 16 )) free 2 MiB hugepages for OVS (reserved, given back at exit).
OVS polls on CPU 1 (pmd-cpu-mask 0x2); the guests' vCPUs are not pinned.
Takes about 30 s + repeat x 1-2 min (two TCG boots per pair).  Exit
status 0 when every measurement worked, 1 when one failed, 2 on a usage
or set-up error.
EOF
}

die() { echo "guest-netdev.sh: $*" >&2; exit 2; }
isnum() { case $1 in ''|*[!0-9.]*|*.*.*|.) return 1 ;; esac; }
isint() { case $1 in ''|*[!0-9]*|0) return 1 ;; esac; }

PINGS=200 PING_I=0.01 MB=16 REPEAT=3 ONLY=vlink,virtio OUT=""
while [ $# -gt 0 ]; do
	case $1 in
	--pings) PINGS=${2:?}; shift ;;
	--ping-interval) PING_I=${2:?}; shift ;;
	--mb) MB=${2:?}; shift ;;
	--repeat) REPEAT=${2:?}; shift ;;
	--only) ONLY=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--builddir) BUILDDIR=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "guest-netdev.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
isint "$PINGS" || die "--pings: 1 or more"
isnum "$PING_I" || die "--ping-interval: seconds, e.g. 0.01"
isint "$MB" && [ "$MB" -le 128 ] || die "--mb: 1 to 128 (MiB; the guest has 512 MiB of RAM)"
isint "$REPEAT" || die "--repeat: 1 or more"
CONFIGS=
for c in $(echo "$ONLY" | tr , ' '); do
	case $c in vlink|virtio) CONFIGS="$CONFIGS $c" ;; *) die "--only: vlink, virtio" ;; esac
done
CONFIGS=${CONFIGS# }
[ -n "$CONFIGS" ] || die "--only: vlink, virtio"
[ "$(id -u)" = 0 ] || die "needs root: sudo $0"
OUT=${OUT:-$SRCDIR/bench/results/guest-netdev.md}
LOGS=$(dirname "$OUT")/logs
mkdir -p "$LOGS" || die "cannot create $LOGS"
CSV=${OUT%.md}.csv
ARGS="--pings $PINGS --ping-interval $PING_I --mb $MB --repeat $REPEAT --only $(echo "$CONFIGS" | tr ' ' ,)"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
export SRCDIR BUILDDIR

# the tests' libraries: a private vlinkd, QEMU guests, OVS, and the
# cleanup (QEMU, OVS, vlinkd, hugepages, the temporary directory) on exit
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/scripts/lib/guest.sh"
. "$SRCDIR/scripts/lib/guest-pair.sh"
# shellcheck disable=SC2034 # ovs-lib.sh's ports
OVS_LINKS="G1 G2" # vlG1 net_vlink0 (ofport 1), vlG2 net_vlink1 (2)
. "$SRCDIR/tests/integration/ovs-lib.sh"
trap 'guest_cleanup; ovs_cleanup' EXIT
trap 'echo "guest-netdev.sh: interrupted" >&2; exit 130' INT TERM

ovs_guest_need
qemu_has_vhost_user || die "$QEMU has no vhost-user netdev (qemu/build-qemu.sh enables it: make qemu)"
need_netdev_vm
[ "$FAILED" = 0 ] || exit 2
pick_accel

. "$SRCDIR/bench/lib.sh"
bench_stamp

# --- host side: vlinkd, OVS with both pairs of ports ----------------------
ovs_plugin || die "a copy of the plugin under /run"
start_daemon --no-hugepages || die "vlinkd did not start"
ctl create-link G1 02:00:00:00:00:31 1 --domain vm1 --mtu 1500 >/dev/null || die "create-link G1 failed"
ctl create-link G2 02:00:00:00:00:32 1 --domain vm2 --mtu 1500 >/dev/null || die "create-link G2 failed"
ovs_bridge 0x2 # one polling thread, on CPU 1, for the four ports
add_vhost_port vh1 "$T/vh1.sock" 3 && add_vhost_port vh2 "$T/vh2.sock" 4 ||
	die "dpdkvhostuserclient ports vh1, vh2 not added"
ofctl del-flows "$BR" && flows_between vlG1 vlG2 && flows_between vh1 vh2 ||
	die "flows vlG1 <-> vlG2, vh1 <-> vh2 not set"

# shellcheck disable=SC2034 # for pair_cmd
PAIR_MB=$MB PAIR_I=$PING_I
# RESULTS: "CONFIG ROUND PINGS RECEIVED P50 P99 MAX MIB SECONDS MBIT" lines
: >"$T/results"
record() { echo "$*" >>"$T/results"; echo "# $*"; }

# pair_kill NAME...: the guests' QEMU (a pair that failed: the next pair
# starts clean)
pair_kill() {
	for n in "$@"; do
		eval "QEMU_PID=\${QPID_$n:-}"
		[ -n "$QEMU_PID" ] || continue
		kill -9 "$(cat "$T/$n.qemu.pid" 2>/dev/null)" "$QEMU_PID" 2>/dev/null
		wait "$QEMU_PID" 2>/dev/null
	done
}
# pair_logs NAME...: the guests' consoles and QEMU's output to LOGS
pair_logs() {
	for n in "$@"; do
		cp "$T/$n.serial" "$LOGS/guest-netdev.$n.serial" 2>/dev/null
		cp "$T/$n.qemu.log" "$LOGS/guest-netdev.$n.qemu.log" 2>/dev/null
	done
}
# pair_fail WHAT NAME...: not_ok, the end of the guests' consoles and
# QEMU's output (all of them in LOGS)
pair_fail() {
	not_ok "$1"; shift
	pair_kill "$@"
	pair_logs "$@"
	for n in "$@"; do
		echo "    --- $n: console (last 15 lines; all in $LOGS/guest-netdev.$n.serial) ---"
		grep -av '^VLINK-GUEST: run:' "$T/$n.serial" 2>/dev/null | tail -n 15 | sed 's/^/    /'
		echo "    --- $n: QEMU ---"
		tail -n 5 "$T/$n.qemu.log" 2>/dev/null | sed 's/^/    /'
	done
}

# measure CONFIG ROUND: boot the pair, wait for its figures, record them
measure() {
	c=$1 r=$2 g1=${1}_${2}_1 g2=${1}_${2}_2
	# shellcheck disable=SC2034 # PAIR_*: for pair_cmd
	case $c in
	vlink)
		PAIR_IF=vlink0 PAIR_LOAD="insmod /lib/modules/vlink_net.ko" PAIR_UNLOAD="rmmod vlink_net"
		boot_guest vm1 "$g1" "$(pair_cmd 1 2 recv 0)"; pair_booted "$g1"
		boot_guest vm2 "$g2" "$(pair_cmd 2 1 send "$PINGS")"; pair_booted "$g2" ;;
	virtio)
		PAIR_IF=eth0 PAIR_LOAD="modprobe virtio_pci&&modprobe virtio_net" PAIR_UNLOAD="rmmod virtio_net"
		boot_virtio_guest "$g1" "$T/vh1.sock" 02:00:00:00:00:41 "$(pair_cmd 1 2 recv 0)"; pair_booted "$g1"
		boot_virtio_guest "$g2" "$T/vh2.sock" 02:00:00:00:00:42 "$(pair_cmd 2 1 send "$PINGS")"; pair_booted "$g2" ;;
	esac
	for n in $g1 $g2; do
		wait_g "$n" "^GUEST-UP " 300 && grep -aq "^GUEST-UP 0 1500" "$T/$n.serial" ||
			{ pair_fail "$c round $r: $n did not bring $PAIR_IF up (MTU 1500)" $g1 $g2; return 1; }
	done
	wait_g "$g2" "^GUEST-RTT" $((120 + PINGS)) ||
		{ pair_fail "$c round $r: no ping figures" $g1 $g2; return 1; }
	wait_g "$g1" "^GUEST-SUM" $((300 + 10 * MB)) && wait_g "$g2" "^GUEST-NC" 60 ||
		{ pair_fail "$c round $r: the TCP transfer did not end" $g1 $g2; return 1; }
	for n in $g1 $g2; do
		wait_g "$n" "^GUEST-BAD-DMESG" 120
		eval "QEMU_PID=\$QPID_$n"
		wait_guest_exit 120 || echo "# $n did not power off (killed)"
	done
	pair_kill $g1 $g2
	pair_logs $g1 $g2
	ping=$(pair_field "$g2" PING)
	got=$(echo "$ping" | sed -n 's/.* \([0-9]*\) packets received.*/\1/p')
	rtt=$(pair_rtt "$g2")
	s1=$(pair_sum "$g1") s2=$(pair_sum "$g2")
	rate=$(pair_rate "$g1" "$MB")
	if [ -z "$rtt" ] || [ -z "$got" ]; then
		pair_fail "$c round $r: ping: '$ping'" ; return 1
	fi
	[ "$got" = "$PINGS" ] || echo "# $c round $r: $got of $PINGS pings answered"
	if [ -z "$s2" ] || [ "$s1" != "$s2" ] || [ "${s2%% *}" != $((MB << 20)) ] || [ -z "$rate" ]; then
		not_ok "$c round $r: TCP: guest 2 sent '$s2', guest 1 received '$s1' (nc: $(pair_field "$g1" NC))"
		rate="- -"
	fi
	set -- $rtt
	record "$c $r $PINGS $got $1 $2 $3 $MB $rate"
	grep -ahE "^GUEST-S .*(tx_dropped|rx_dropped)" "$T/$g2.serial" "$T/$g1.serial" | tr -d '\r' |
		awk '$NF != "0"' | sed "s/^/# $c round $r: /"
	case $rate in -*) return 1 ;; esac
}

r=1
while [ $r -le "$REPEAT" ]; do
	for c in $CONFIGS; do measure "$c" "$r"; done
	r=$((r + 1))
done
cp "$OVSLOG" "$LOGS/guest-netdev.ovs-vswitchd.log" 2>/dev/null
stop_ovs || echo "# ovs-vswitchd exited with $RC"

# --- the table ------------------------------------------------------------
{
	echo "config,round,pings,received,rtt_p50_ms,rtt_p99_ms,rtt_max_ms,tcp_mib,tcp_seconds,tcp_mbit_s"
	tr ' ' , <"$T/results"
} >"$CSV"
# med COLUMN CONFIG: "MEDIAN MIN MAX N" of a column of CONFIG's rows
med() {
	awk -v c="$2" -v k="$1" '$1 == c && $k != "-" { print $k }' "$T/results" | sort -g |
		awk '{ v[NR] = $1 } END { if (!NR) exit
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m, v[1], v[NR], NR }'
}
{
	echo "# Two TCG guests through OVS-DPDK: vlink_net vs virtio-net/vhost-user (bench/guest-netdev.sh)"
	echo
	echo "TCG: informational. Each guest is one vCPU under TCG emulation: the figures"
	echo "measure QEMU's translated code and the host's scheduling more than either"
	echo "device; noisy (two vCPU threads and OVS's polling thread on a shared 2-CPU host)."
	echo
	echo "- \`bench/guest-netdev.sh $ARGS\`; $DATE; tree $TREE; $(( $(date +%s) - T0 )) s"
	echo "- $MACHINE; load average at the start $LOAD0; accelerator $ACCEL"
	echo "- guest 2 -> guest 1: $PINGS pings ${PING_I} s apart (busybox ping; p = nearest rank);"
	echo "  $MB MiB over TCP (busybox nc), timed by the receiver from accept to the last byte, md5sum checked"
	echo "- OVS 3.1 DPDK datapath, one polling thread on CPU 1; flows in_port=vlG1 <-> vlG2, vh1 <-> vh2"
	echo
	echo "| configuration | RTT p50 ms | RTT p99 ms | RTT max ms | TCP Mbit/s | TCP min-max | runs |"
	echo "|---|---:|---:|---:|---:|---|---:|"
	for c in $CONFIGS; do
		case $c in
		vlink) cn="vlink: vlink_net.ko, net_vlink ports" ;;
		*) cn="virtio: virtio_net, dpdkvhostuserclient ports" ;;
		esac
		p50=$(med 5 "$c") p99=$(med 6 "$c") mx=$(med 7 "$c") tcp=$(med 10 "$c")
		if [ -z "$p50" ]; then
			echo "| $cn | - | - | - | - | - | 0 of $REPEAT |"
			continue
		fi
		set -- $tcp
		t="- | -"
		[ $# = 4 ] && t="$1 | $2-$3"
		echo "| $cn | ${p50%% *} | ${p99%% *} | $(echo "$mx" | cut -d' ' -f3) | $t | $(echo "$p50" | cut -d' ' -f4) of $REPEAT |"
	done
	echo
	echo "RTT and TCP columns: the median over the runs (RTT max: the largest of all)."
	echo "Each measurement (config round pings received p50 p99 max MiB seconds Mbit/s):"
	echo
	echo '```'
	cat "$T/results"
	echo '```'
} >"$OUT"
echo
cat "$OUT"
[ "$FAILED" = 0 ]
exit $?
