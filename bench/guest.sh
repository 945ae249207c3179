#!/bin/sh
# bench/guest.sh: DPDK in a TCG guest, vlink against virtio-net on
# vhost-user, in one run and one guest.  Debian's dpdk-testpmd in the
# guest, dpdk-testpmd on the host, 64-byte packets (txonly at one end,
# rxonly at the other), both directions:
#
#   vlink   host: --vdev net_vlink0,link=G (the host end, vlinkd's link G)
#           guest: --vdev net_vlink0,end=guest,link=G (pci-vlink, no driver)
#   virtio  host: --vdev net_vhost0,iface=SOCK,client=0 (Debian's net_vhost)
#           guest: virtio-net-pci (modern, 1af4:1041) on -netdev vhost-user,
#           guest RAM a shared memory-backend-file; bound to uio_pci_generic,
#           the virtio PMD with hugepages (-a ADDR: EAL wants IOVA as PA)
#
# The guest has both devices; it is driven through a second serial port
# (a pipe chardev read on ttyS1: no polling in the guest while it
# forwards).  Mpps = received-counter delta / wall time of the window:
# guest -> host from the host's `show port stats` around the window (host
# clock); host -> guest from the guest's testpmd stats (--stats-period 1)
# stamped in the guest with /proc/uptime as each line comes out.  TCG:
# informational, noisy.  See bench/notes/guest.md.
#
#   sudo bench/guest.sh [--interval S] [--warmup S] [--repeat N] [--only vlink,virtio] [--out FILE]
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${BUILDDIR:-$SRCDIR}

usage() {
	cat <<EOF
Usage: sudo bench/guest.sh [OPTION]...
dpdk-testpmd in a TCG guest against dpdk-testpmd on the host, 64 B
packets, guest txonly -> host rxonly and host txonly -> guest rxonly,
through vlink (pci-vlink, net_vlink end=guest) and through virtio-net-pci
on vhost-user (net_vhost on the host, the virtio PMD in the guest), in
one guest that has both devices.

  --interval S   seconds counted per measurement (default 5)
  --warmup S     seconds of traffic before counting (default 2)
  --repeat N     measurements per configuration and direction, in rounds
                 (vlink and virtio alternate; default 3)
  --only LIST    vlink and/or virtio (default both)
  --cpus A,B     QEMU (all its threads: the vCPU) on CPU A, the host
                 testpmds' forwarding lcore on CPU B, their main lcore on A
                 (default 0,1)
  --out FILE     the table, markdown (default bench/results/guest.md);
                 every measurement also goes to FILE's .csv sibling
  --builddir DIR vlink build tree (default \$BUILDDIR or the source tree)
  -h, --help     this text

Needs root (the vhost-user socket and testpmd as the tests run them),
QEMU with pci-vlink (make qemu), the kernel and modules
(scripts/install-deps.sh), Debian's dpdk (testpmd, net_vhost,
net_virtio).  The host's testpmds run with --no-huge (no hugepages are
reserved on the host); the guest reserves 64 of its own for the virtio
PMD.  Takes about 1 min + 2 x repeat x (interval + warmup + ~10 s) per
configuration.  Exit status 0 when every measurement worked, 1 when one
failed, 2 on a usage or set-up error.
EOF
}

die() { echo "guest.sh: $*" >&2; exit 2; }
isnum() { case $1 in ''|*[!0-9.]*|*.*.*) return 1 ;; esac; }

INTERVAL=5 WARMUP=2 REPEAT=3 ONLY=vlink,virtio OUT="" CPUS=0,1
while [ $# -gt 0 ]; do
	case $1 in
	--interval) INTERVAL=${2:?}; shift ;;
	--warmup) WARMUP=${2:?}; shift ;;
	--repeat) REPEAT=${2:?}; shift ;;
	--only) ONLY=${2:?}; shift ;;
	--cpus) CPUS=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--builddir) BUILDDIR=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "guest.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
isnum "$INTERVAL" && isnum "$WARMUP" || die "--interval, --warmup: seconds"
case $REPEAT in ''|*[!0-9]*|0) die "--repeat: 1 or more" ;; esac
CONFIGS=
for c in $(echo "$ONLY" | tr , ' '); do
	case $c in vlink|virtio) CONFIGS="$CONFIGS $c" ;; *) die "--only: vlink, virtio" ;; esac
done
CONFIGS=${CONFIGS# }
[ -n "$CONFIGS" ] || die "--only: vlink, virtio"
CPU_A=${CPUS%,*} CPU_B=${CPUS#*,}
case $CPU_A,$CPU_B in *[!0-9,]*|,*|*,|*,*,*) die "--cpus: two CPU numbers, e.g. 0,1" ;; esac
[ "$CPU_A" != "$CPU_B" ] || die "--cpus: two different CPUs"
[ "$(id -u)" = 0 ] || die "needs root: sudo $0"
OUT=${OUT:-$SRCDIR/bench/results/guest.md}
mkdir -p "$(dirname "$OUT")/logs" || die "cannot create $(dirname "$OUT")/logs"
CSV=${OUT%.md}.csv
ARGS="--interval $INTERVAL --warmup $WARMUP --repeat $REPEAT --only $(echo "$CONFIGS" | tr ' ' ,) --cpus $CPUS"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
export SRCDIR BUILDDIR

# the tests' libraries: a private vlinkd, QEMU, testpmd under a fifo, and
# the cleanup (QEMU, testpmds, vlinkd, the temporary directory) on exit
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/scripts/lib/guest.sh"
. "$SRCDIR/scripts/lib/testpmd.sh"
trap 'echo "guest.sh: interrupted" >&2; exit 130' INT TERM

PMDDIR=$(strings -n 8 /usr/lib/x86_64-linux-gnu/librte_eal.so.23 2>/dev/null |
	sed -n 's/^DPDK_PLUGIN_PATH=//p' | head -n1)
VIRTIO_PMD=$PMDDIR/librte_net_virtio.so
[ -f "$VIRTIO_PMD" ] || die "no librte_net_virtio.so in DPDK's driver dir '$PMDDIR'"
[ -f "$PLUGIN" ] || die "the PMD is not built ($BUILDDIR/pmd/librte_net_vlink.so)"

# its own image: the tests' one has no virtio PMD
# shellcheck disable=SC2034 # for need_dpdk_vm
DPDK_VM_IMAGE=$BUILDDIR/tests/guest/initramfs-dpdk-virtio.cpio.gz
need_dpdk_vm "$BUILDDIR/pmd/librte_net_vlink.so" "$VIRTIO_PMD"
[ "$FAILED" = 0 ] || exit 2
pick_accel

. "$SRCDIR/bench/lib.sh"
bench_stamp

now() { date +%s.%N; }
fail() { not_ok "$*"; }

# --- host side ------------------------------------------------------------
start_daemon --no-hugepages || die "vlinkd did not start"
ctl create-link G 02:00:00:00:00:01 1 --domain vm1 >/dev/null || die "create-link G failed"

# testpmd 1: net_vlink's host end of G; testpmd 2: net_vhost, listening
# on the socket QEMU connects to at start (so it starts first)
# shellcheck disable=SC2034 # for tp_start
TP_ARGS="--port-topology=loop"
VIRTIO=0
case " $CONFIGS " in *" virtio "*) VIRTIO=1 ;; esac
tp_start 1 -l "$CPU_A,$CPU_B" --vdev "net_vlink0,link=G,socket=$SOCK" || die "host testpmd (vlink) did not start"
tp_cmd 1 "set txpkts 64"
if [ $VIRTIO = 1 ]; then
	qemu_has_vhost_user || die "$QEMU has no vhost-user netdev (qemu/build-qemu.sh enables it: make qemu)"
	tp_start 2 -l "$CPU_A,$CPU_B" --vdev "net_vhost0,iface=$T/vhost.sock,client=0" || die "host testpmd (vhost) did not start"
	tp_cmd 2 "set txpkts 64"
	until_ok 10 test -S "$T/vhost.sock" || die "net_vhost does not listen on $T/vhost.sock"
fi

# the guest's control port: ttyS1 on a pipe chardev (CTL.in: to the
# guest, held open here read-write so that a write never blocks; CTL.out:
# the tty's echo, drained)
mkfifo "$T/ctl.in" "$T/ctl.out"
exec 9<>"$T/ctl.in"
cat 0<>"$T/ctl.out" >"$T/ctl.echo" &
BG_PIDS="$BG_PIDS $!"
[ $VIRTIO = 1 ] && VM_QEMU_ARGS="$VM_QEMU_ARGS -object memory-backend-file,id=mem,size=512M,mem-path=/dev/shm,share=on
 -numa node,memdev=mem -chardev socket,id=vh,path=$T/vhost.sock
 -netdev vhost-user,id=n0,chardev=vh
 -device virtio-net-pci,netdev=n0,disable-legacy=on,rx_queue_size=1024,tx_queue_size=1024,romfile="
VM_QEMU_ARGS="$VM_QEMU_ARGS -chardev pipe,id=ctl,path=$T/ctl -serial chardev:ctl"

# --- the guest ------------------------------------------------------------
# Commands on ttyS1, one a line: "run NAME TESTPMD-ARGS" (testpmd in the
# background; its RX-packets and TX-packets lines stamped with the guest's
# uptime: "GST NAME UPTIME RX-packets: N ..."), "stop" (SIGINT, then -9
# after 20 s; "GUEST-STOPPED NAME RC"), "sh CMD" ("GUEST-SH RC"), "quit".
# The 8250 driver empties the UART's FIFO when the port is opened: what
# comes before is lost, so the host waits for GUEST-READY.
cat >"$T/guest.sh" <<'EOF'
exec 3</dev/ttyS1
echo GUEST-READY
mkfifo /tmp/out
stamp() {
	while IFS= read -r l; do
		case $l in
		*RX-packets:*|*TX-packets:*) read -r up _ </proc/uptime; echo "GST $1 $up $l" ;;
		*"#####"*|*RX-errors:*|*RX-nombuf:*|*Throughput*|*-bps:*|*"Port statistics"*|*"[2J"*|"") ;;
		*) echo "$l" ;;
		esac
	done
}
name= tp=
while read -r cmd args <&3; do
	case $cmd in
	run)
		name=${args%% *}
		stamp "$name" </tmp/out &
		st=$!
		dpdk-testpmd ${args#* } </dev/null >/tmp/out 2>&1 &
		tp=$!
		echo "GUEST-RUN $name" ;;
	stop)
		kill -INT $tp 2>/dev/null
		i=0
		while kill -0 $tp 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 $tp 2>/dev/null
		wait $tp
		rc=$?
		wait $st
		echo "GUEST-STOPPED $name $rc" ;;
	sh)
		eval "$args"
		echo "GUEST-SH $?" ;;
	quit) break ;;
	esac
done
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
# every thread of QEMU on CPU A (the pidfile comes before the machine)
until_ok 30 test -s "$T/g.qemu.pid" &&
	taskset -a -p -c "$CPU_A" "$(cat "$T/g.qemu.pid")" >/dev/null ||
	echo "# QEMU not pinned to CPU $CPU_A"
wait_serial g "^GUEST-READY" 180 || { show_serial g; die "the guest did not boot"; }
echo "# guest up in $(elapsed) s ($ACCEL)"

# gcmd LINE: a command to the guest
gcmd() { printf '%s\n' "$1" >&9; }
# serial_count REGEX: lines of the guest's console matching
serial_count() { grep -Eac -- "$1" "$T/g.serial"; }
# serial_more REGEX N: more than N such lines (for until_ok)
serial_more() { [ "$(serial_count "$1")" -gt "$2" ]; }

GUEST_TP="--total-num-mbufs=4096 --port-topology=loop --stats-period 1 --txpkts=64"
VLINK_EAL="$GUEST_EAL --vdev net_vlink0,end=guest,link=G,wait=60"
VIRTIO_EAL=
if [ $VIRTIO = 1 ]; then
	n=$(serial_count "^GUEST-SH ")
	gcmd "sh insmod /lib/modules/uio.ko && insmod /lib/modules/uio_pci_generic.ko && echo 64 >/proc/sys/vm/nr_hugepages && echo '1af4 1041' >/sys/bus/pci/drivers/uio_pci_generic/new_id && for d in /sys/bus/pci/devices/*; do [ \$(cat \$d/vendor):\$(cat \$d/device) = 0x1af4:0x1041 ] && echo GUEST-VIRTIO \${d##*/} \$(readlink \$d/driver); done; grep HugePages_Total /proc/meminfo"
	until_ok 60 serial_more "^GUEST-SH " "$n"
	addr=$(sed -n 's/^GUEST-VIRTIO \([0-9a-f:.]*\) .*uio_pci_generic.*/\1/p' "$T/g.serial" | head -n1)
	if [ -n "$addr" ]; then
		VIRTIO_EAL="--lcores 0@0,1@0 -m 64 -d /usr/lib/vlink -a $addr"
		echo "# guest: virtio-net at $addr bound to uio_pci_generic"
	else
		fail "the guest bound virtio-net to uio_pci_generic"
		show_serial g
	fi
fi

# RESULTS: "CONFIG DIRECTION ROUND MPPS PACKETS SECONDS NOTE" lines
: >"$T/results"
record() { echo "$*" >>"$T/results"; echo "# $*"; }
RUNS=0

# guest_run NAME EAL MODE: the guest's testpmd; 0 when it prints its first
# stats (it forwards)
guest_run() {
	gcmd "run $1 $2 -- $GUEST_TP --forward-mode=$3"
	until_ok 120 grep -aq "^GST $1 " "$T/g.serial" && return 0
	fail "$1: the guest's testpmd did not start"
	tail -n 30 "$T/g.serial" | sed 's/^/    /'
	return 1
}
guest_stop() {
	n=$(serial_count "^GUEST-STOPPED ")
	gcmd stop
	until_ok 60 serial_more "^GUEST-STOPPED " "$n" ||
		fail "$1: the guest's testpmd did not stop"
	grep -aq "^GUEST-STOPPED $1 0" "$T/g.serial" ||
		echo "# $1: $(grep -a "^GUEST-STOPPED $1 " "$T/g.serial")"
}
# gst NAME FIELD: "UPTIME COUNT" of each of the guest's stamped lines
gst() { awk -v n="$1" -v f="$2:" '$1 == "GST" && $2 == n && $4 == f { print $3, $5 }' "$T/g.serial"; }

# guest txonly -> host rxonly: the host's RX-packets over INTERVAL s
to_host() {
	conf=$1 r=$2 id=$3 eal=$4 name=$1-to-host-$2
	tp_cmd "$id" "set fwd rxonly"
	tp_cmd "$id" "start"
	guest_run "$name" "$eal" txonly || { tp_cmd "$id" stop; return 1; }
	if ! until_ok 60 eval "[ \"\$(tp_stat $id 0 RX-packets)\" -gt 0 ]"; then
		fail "$name: nothing from the guest reached the host's testpmd"
	else
		sleep "$WARMUP"
		t0=$(now); c0=$(tp_stat "$id" 0 RX-packets)
		sleep "$INTERVAL"
		t1=$(now); c1=$(tp_stat "$id" 0 RX-packets)
		# what the guest sent meanwhile (its own stamps): the offered load
		# (its last INTERVAL s of stamps)
		off=$(gst "$name" TX-packets | awk -v i="$INTERVAL" '
			{ u[NR] = $1; n[NR] = $2 }
			END { for (k = 1; k < NR && u[NR] - u[k] > i + 0.5; k++) ;
				if (u[NR] - u[k] > 0) printf "%.3f", (n[NR] - n[k]) / (u[NR] - u[k]) / 1e6; else print "?" }')
		m=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.3f %d %.2f", (b - a) / (e - s) / 1e6, b - a, e - s }')
		record "$conf to-host $r $m guest-tx-Mpps=$off"
		RUNS=$((RUNS + 1))
	fi
	guest_stop "$name"
	tp_cmd "$id" "stop"
	tp_wait "$id" "Done\\." 10 >/dev/null
}

# host txonly -> guest rxonly: the guest's RX-packets, stamped in the
# guest, from the first line WARMUP s after the first packet to the
# first line INTERVAL s after that
to_guest() {
	conf=$1 r=$2 id=$3 eal=$4 name=$1-to-guest-$2
	guest_run "$name" "$eal" rxonly || return 1
	tp_cmd "$id" "set fwd txonly"
	tp_cmd "$id" "start"
	first() { gst "$name" RX-packets | awk '$2 > 0 { print $1; exit }'; }
	has_first() { [ -n "$(first)" ]; }
	if ! until_ok 60 has_first; then
		fail "$name: nothing from the host reached the guest's testpmd"
	else
		u0=$(first)
		want=$(awk -v u="$u0" -v w="$WARMUP" -v i="$INTERVAL" 'BEGIN { print u + w + i + 0.5 }')
		win() { gst "$name" RX-packets | awk -v u="$u0" -v w="$WARMUP" -v i="$INTERVAL" '
			!a && $1 >= u + w { a = 1; ua = $1; na = $2; next }
			a && $1 >= ua + i { printf "%.3f %d %.2f\n", ($2 - na) / ($1 - ua) / 1e6, $2 - na, $1 - ua; exit }'; }
		has_win() { [ -n "$(win)" ]; }
		if until_ok $((3 * (${WARMUP%.*} + ${INTERVAL%.*}) + 30)) has_win; then
			record "$conf to-guest $r $(win) stamped-in-guest"
			RUNS=$((RUNS + 1))
		else
			fail "$name: the guest's stats did not cover $WARMUP + $INTERVAL s (up to $want)"
		fi
	fi
	tp_cmd "$id" "stop"
	tp_wait "$id" "Done\\." 10 >/dev/null
	guest_stop "$name"
}

r=1
while [ $r -le "$REPEAT" ]; do
	for c in $CONFIGS; do
		case $c in
		vlink) id=1 eal=$VLINK_EAL ;;
		virtio) id=2 eal=$VIRTIO_EAL; [ -n "$eal" ] || continue ;;
		esac
		to_host "$c" "$r" "$id" "$eal"
		to_guest "$c" "$r" "$id" "$eal"
	done
	r=$((r + 1))
done
gcmd quit
wait_guest_exit 60 || echo "# the guest did not power off (killed at exit)"
cp "$T/g.serial" "$(dirname "$OUT")/logs/guest.serial" 2>/dev/null
cp "$T/tp1.log" "$(dirname "$OUT")/logs/guest.tp1.log" 2>/dev/null
tp_quit 1
if [ $VIRTIO = 1 ]; then
	cp "$T/tp2.log" "$(dirname "$OUT")/logs/guest.tp2.log" 2>/dev/null
	tp_quit 2
fi

# --- the table ------------------------------------------------------------
{
	echo "config,direction,round,mpps,packets,seconds,note"
	tr ' ' , <"$T/results"
} >"$CSV"
{
	echo "# DPDK in a TCG guest: vlink vs virtio-net/vhost-user (bench/guest.sh)"
	echo
	echo "TCG: informational. One vCPU under TCG emulation: the guest's figures"
	echo "measure QEMU's translated code more than either device; noisy (a shared"
	echo "2-CPU host runs the vCPU thread and the host testpmd's forwarding lcore)."
	echo
	echo "- \`bench/guest.sh $ARGS\`; $DATE; tree $TREE; $(( $(date +%s) - T0 )) s"
	echo "- $MACHINE; load average at the start $LOAD0; accelerator $ACCEL"
	echo "- 64 B packets; $WARMUP s of warm-up, then $INTERVAL s counted; Mpps = received-counter delta / wall time"
	echo
	echo "| direction | configuration | Mpps (median) | min-max | runs |"
	echo "|---|---|---:|---|---:|"
	for d in to-host to-guest; do
		for c in $CONFIGS; do
			awk -v c="$c" -v d="$d" '$1 == c && $2 == d { print $4 }' "$T/results" | sort -n >"$T/v"
			n=$(wc -l <"$T/v")
			case $d in
			to-host) dn="guest txonly -> host rxonly (host's RX)" ;;
			*) dn="host txonly -> guest rxonly (guest's RX)" ;;
			esac
			if [ "$n" = 0 ]; then
				echo "| $dn | $c | - | - | 0 of $REPEAT |"
			else
				awk -v d="$dn" -v c="$c" -v r="$REPEAT" '{ v[NR] = $1 }
					END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
						printf "| %s | %s | %.3f | %.3f-%.3f | %d of %d |\n", d, c, m, v[1], v[NR], NR, r }' "$T/v"
			fi
		done
	done
	echo
	echo "Each measurement (round: vlink and virtio alternate within a round):"
	echo
	echo '```'
	cat "$T/results"
	echo '```'
} >"$OUT"
echo
cat "$OUT"
[ "$FAILED" = 0 ] || { show_serial g >"$T/show" 2>&1; tail -n 60 "$T/show"; }
[ "$FAILED" = 0 ]
exit $?
