#!/bin/sh
# The vlink demo: the whole system in one command, as root on Debian 12.
#
#   scripts/demo.sh [--no-vm] [--duration S] [--no-deps] [--no-build]
#                   [--builddir DIR] [--no-hugepages]
#
# Installs what is missing (scripts/install-deps.sh), builds vlink, QEMU
# with pci-vlink and the guest's static vlink-peer.  Then, in a private run
# directory (/run/vlink-demo.XXXXXX: a vlinkd of yours is not disturbed):
# starts vlinkd, creates link demo0 in domain demo, boots a guest (QEMU,
# Debian kernel, busybox) whose vlink-peer echoes every packet of demo0,
# and runs dpdk-testpmd with the net_vlink PMD as the host end, sending
# back out whatever comes back; packets per second both ways every second.
# A third of the way in vlinkd is killed (-9), halfway it is started again:
# traffic goes on and QEMU is not restarted.  Then everything is stopped
# and removed (also on Ctrl-C or failure) and a summary says what was shown.
#
#   --no-vm          the peer is vlink-peer in socket mode on the host
#                    (no QEMU, no guest; under a minute once built)
#   --duration S     seconds of traffic (default 30, at least 6)
#   --no-deps        do not run scripts/install-deps.sh
#   --no-build       build nothing: use what the build tree has
#   --builddir DIR   the build tree (default $BUILDDIR, else the source tree)
#   --no-hugepages   leave the hugepage reserve alone (the pool goes to
#                    shared memory files)
#
# VLINK_ACCEL: auto (default: KVM if a probe guest boots with it within
# 15 s, else TCG), tcg or kvm.  Exit status: 0 when the demo showed all it
# claims, 1 when it did not or failed, 2 for a usage error.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
ME=demo
VM=1 DURATION=30 DEPS=1 BUILD=1 HUGE=1
BUILDDIR=${BUILDDIR:-$SRCDIR}
LINK=demo0 DOMAIN=demo MAC=02:00:00:00:de:01
POOL_MB=16 # the link's buffers take 8 MiB of it

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
usage_error() { echo "$ME: $* (try --help)" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--no-vm) VM=0 ;;
	--duration) [ $# -ge 2 ] || usage_error "--duration needs seconds"; DURATION=$2; shift ;;
	--duration=*) DURATION=${1#*=} ;;
	--no-deps) DEPS=0 ;;
	--no-build) BUILD=0 ;;
	--builddir) [ $# -ge 2 ] || usage_error "--builddir needs a directory"; BUILDDIR=$2; shift ;;
	--builddir=*) BUILDDIR=${1#*=} ;;
	--no-hugepages) HUGE=0 ;;
	-h|--help) usage; exit 0 ;;
	*) usage_error "unknown option '$1'" ;;
	esac
	shift
done
case $DURATION in
''|0*|*[!0-9]*) usage_error "--duration wants a whole number of seconds, not '$DURATION'" ;;
esac
[ "$DURATION" -ge 6 ] && [ "$DURATION" -le 86400 ] ||
	usage_error "--duration must be 6 to 86400 s (vlinkd is killed a third of the way in)"
BUILDDIR=$(cd "$BUILDDIR" 2>/dev/null && pwd) || usage_error "--builddir: no directory '$BUILDDIR'"
if [ "$(id -u)" != 0 ]; then
	echo "$ME: run it as root (sudo $0): it installs packages, reserves hugepages" \
		"and runs vlinkd, QEMU and dpdk-testpmd" >&2
	exit 1
fi
if [ "$VM" = 1 ]; then PEER_NAME=guest; else PEER_NAME=peer; fi

VLINKD="$BUILDDIR/vlinkd/vlinkd"
VLINKCTL="$BUILDDIR/tools/vlinkctl"
PMD_SO="$BUILDDIR/pmd/librte_net_vlink.so"
QEMU_CACHE=${VLINK_CACHE:-/var/cache/vlink}/qemu-build

# --- state, cleanup ---------------------------------------------------------
T=$(mktemp -d /run/vlink-demo.XXXXXX) || { echo "$ME: cannot create a directory in /run" >&2; exit 1; }
SOCK="$T/run/vlinkd.sock"
JOB= JOB_KILL=1 TP_PID= ECHO_PID= QEMU_PID= VLINKD_PID= DAEMON_ID= HP_OLD= NOHUGE=
BG_PIDS= CLEANUP_PATHS= # for the sourced test libraries
STAGE= STAGE_T0= STAGES= NOTED= FAILS=0
# what the summary reports
TX=0 RX=0 TR_SECS= KILLED_AT= KILLED_S= DOWNTIME= OUT_TX= OUT_RX= QEMU_REAL= QEMU_END=
GUEST_DEVICE= PEER_RC= PEER_SAID= CLOSED= ALL_HOME=
T0=$(date +%s)

# Whatever happened: testpmd, the peer, QEMU, vlinkd (and its pool files),
# the run directory, the hugepage reserve.  Idempotent: what the normal end
# stopped is not there any more.
cleanup() {
	trap '' PIPE INT TERM
	if [ -n "$JOB" ]; then
		if [ "$JOB_KILL" = 1 ]; then
			kill -- "-$JOB" 2>/dev/null
		else
			echo "$ME: waiting for install-deps to finish (stopping apt-get half-way would leave dpkg broken)"
		fi
		wait "$JOB" 2>/dev/null
	fi
	if [ -n "$TP_PID" ] && kill -0 "$TP_PID" 2>/dev/null; then
		tp_quit 1 >/dev/null 2>&1 || kill -9 "$TP_PID" 2>/dev/null
	fi
	[ -z "$ECHO_PID" ] || { kill "$ECHO_PID" 2>/dev/null; wait "$ECHO_PID" 2>/dev/null; }
	if [ -n "$QEMU_PID" ]; then
		guest_cleanup
		wait "$QEMU_PID" 2>/dev/null
	fi
	if [ -n "$VLINKD_PID" ]; then
		ctl delete-link "$LINK" --force >/dev/null 2>&1
		kill "$VLINKD_PID" 2>/dev/null
		wait "$VLINKD_PID" 2>/dev/null
	fi
	# pool files on a hugetlbfs outside the run dir (a killed vlinkd
	# leaves them): named after this daemon's id
	if [ -n "$DAEMON_ID" ]; then
		for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
			rm -rf "$m/vlink-$DAEMON_ID"
		done
	fi
	for m in $(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/mounts); do
		umount "$m" 2>/dev/null
	done
	rm -rf "$T" "/var/run/dpdk/vlt$$-1" $CLEANUP_PATHS
	if [ -n "$HP_OLD" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" != "$HP_OLD" ]; then
		echo "$HP_OLD" >/proc/sys/vm/nr_hugepages
	fi
	HP_OLD=
}
trap cleanup EXIT
trap 'echo; echo "$ME: interrupted; cleaning up"; exit 130' INT
trap 'echo "$ME: terminated; cleaning up"; exit 143' TERM

# --- output -------------------------------------------------------------------
say() { printf '   %s\n' "$*"; }
now() { date +%s.%N; }
# since T: seconds from T (a now() value) until now, one decimal
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
last_line() { tail -n1 "$1" 2>/dev/null | tr -d '\r' | cut -c1-90; }

# stage KEY TITLE: the next stage (KEY names it in the summary's times);
# stage "" ends the last one
stage() {
	st_t=$(date +%s)
	[ -z "$STAGE" ] || STAGES="$STAGES${STAGES:+, }$STAGE $((st_t - STAGE_T0)) s"
	STAGE=$1 STAGE_T0=$st_t
	[ -z "$1" ] || printf '\n== [%4d s] %s\n' $((st_t - T0)) "$2"
}

# die MESSAGE [LOG...]: the message, the end of each log, exit 1 (cleanup)
die() {
	say "FAILED: $1"
	shift
	for f in "$@"; do
		[ -s "$f" ] || continue
		say "--- the end of $(basename "$f"):"
		tail -n 25 "$f" | tr -d '\r' | sed 's/^/     | /'
	done
	exit 1
}

# alive WHAT EVERY LIMIT CHECK HINT: until the command CHECK returns 0
# (done; 2: failed), looked at every second, with a line every EVERY
# seconds that says WHAT is still alive and what the command HINT prints;
# 1 after LIMIT seconds
alive() {
	a_t0=$(date +%s) a_next=$2
	while :; do
		$4
		a_rc=$?
		[ $a_rc = 1 ] || return $a_rc
		a_n=$(($(date +%s) - a_t0))
		[ $a_n -lt "$3" ] || return 1
		if [ $a_n -ge $a_next ]; then
			a_h=$($5)
			printf '   ... %s: %d s%s\n' "$1" $a_n "${a_h:+, $a_h}"
			a_next=$((a_n + $2))
		fi
		sleep 1
	done
}

job_done() { ! kill -0 "$JOB" 2>/dev/null; }

# slow NAME WHAT HINT CMD...: CMD in its own process group (so that
# cleanup can stop all of it), output in $T/NAME.log, a line every 15 s
# while it runs, its time at the end; 1 with its log's end when it fails
slow() {
	s_name=$1 s_what=$2 s_hint=$3
	shift 3
	s_t0=$(date +%s)
	setsid "$@" >"$T/$s_name.log" 2>&1 </dev/null &
	JOB=$!
	alive "$s_what" 15 86400 job_done "$s_hint"
	wait "$JOB"
	s_rc=$?
	JOB= JOB_KILL=1
	[ $s_rc = 0 ] || die "$s_what (exit $s_rc)" "$T/$s_name.log"
	say "$s_what: done in $(($(date +%s) - s_t0)) s"
}

# --- 1. dependencies and build ---------------------------------------------------
deps() {
	stage deps "installing what is missing (scripts/install-deps.sh)"
	JOB_KILL=0
	slow deps "install-deps" "last_line $T/deps.log" sh "$SRCDIR/scripts/install-deps.sh"
}

# the QEMU build's own ninja progress ([N/M]), from build-qemu.sh's log
qemu_progress() {
	qp=$(tail -n 50 "$QEMU_CACHE/build.log.new" 2>/dev/null | grep -o '^\[[0-9]*/[0-9]*\]' | tail -n1)
	if [ -n "$qp" ]; then echo "ninja $qp"; else last_line "$T/qemu.log"; fi
}

build() {
	stage build "building vlink in $BUILDDIR"
	cd "$BUILDDIR" || die "cannot enter $BUILDDIR"
	if [ "$BUILDDIR" = "$SRCDIR" ] && { [ ! -x configure ] || [ configure.ac -nt configure ] ||
			[ Makefile.am -nt configure ]; }; then
		mkdir -p m4
		slow autoreconf "autoreconf" "last_line $T/autoreconf.log" autoreconf -fi
	fi
	[ -f Makefile ] || slow configure "configure" "last_line $T/configure.log" "$SRCDIR/configure" -q
	# one goal per make: automake's `all` runs make again for all-am (the
	# tree has BUILT_SOURCES), so a second goal on the same command line
	# built the same objects at the same time as that inner make
	slow make "make" "last_line $T/make.log" make -j"$(nproc)" all
	[ "$VM" = 0 ] || slow make-static "make tools/vlink-peer-static" \
		"last_line $T/make-static.log" make -j"$(nproc)" tools/vlink-peer-static
	if [ "$VM" = 1 ]; then
		stage qemu "QEMU 7.2 with pci-vlink (make qemu: about 5 minutes the first time, then cached)"
		slow qemu "make qemu" qemu_progress make qemu
	fi
	cd "$SRCDIR" || exit 1
}

# everything the run needs, whether we built it or not
need() {
	nd=
	for f in "$VLINKD" "$VLINKCTL" "$BUILDDIR/tools/vlink-peer"; do
		[ -e "$f" ] || nd="$nd $f"
	done
	[ -e "$PMD_SO" ] || nd="$nd $PMD_SO (configure builds it when it finds DPDK's driver-SDK headers, docs/pmd.md)"
	if [ "$VM" = 1 ]; then
		[ -x "$BUILDDIR/qemu/qemu-system-x86_64" ] || nd="$nd $BUILDDIR/qemu/qemu-system-x86_64"
		[ -x "$BUILDDIR/tools/vlink-peer-static" ] || nd="$nd $BUILDDIR/tools/vlink-peer-static"
	fi
	command -v dpdk-testpmd >/dev/null || nd="$nd dpdk-testpmd"
	[ -z "$nd" ] || die "missing:$nd (run without --no-build and --no-deps)"
	[ "$VM" = 0 ] || [ -n "$(find_kernel)" ] ||
		die "no guest kernel in ${VLINK_CACHE:-/var/cache/vlink}/kernel (scripts/install-deps.sh)"
}

# --- 2. vlinkd and the link ---------------------------------------------------------
ctl() { "$VLINKCTL" --socket "$SOCK" "$@"; }

hugepages_reserve() {
	if [ "$HUGE" = 0 ]; then
		NOHUGE=--no-hugepages
		say "--no-hugepages: the pool goes to shared memory files"
		return
	fi
	HP_OLD=$(cat /proc/sys/vm/nr_hugepages)
	if sh "$SRCDIR/scripts/hugepages.sh" reserve $((POOL_MB / 2)) 2>"$T/hugepages.log"; then
		say "hugepages: $((POOL_MB / 2)) free 2 MiB pages for the $POOL_MB MiB pool" \
			"(vm.nr_hugepages $HP_OLD -> $(cat /proc/sys/vm/nr_hugepages), put back at the end)"
	else
		NOHUGE=--no-hugepages
		say "hugepages: the kernel could not free $((POOL_MB / 2)) 2 MiB pages; the pool goes" \
			"to shared memory files instead (slower). What it had:"
		sed 's/^/     | /' "$T/hugepages.log"
	fi
}

vlinkd_start() {
	"$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" --shm-dir "$T/shm" \
		--pool-size "${POOL_MB}M" $NOHUGE >>"$T/vlinkd.log" 2>&1 &
	VLINKD_PID=$!
	vs_i=0
	until ctl status >/dev/null 2>&1; do
		vs_i=$((vs_i + 1))
		if [ $vs_i -gt 300 ] || ! kill -0 "$VLINKD_PID" 2>/dev/null; then
			VLINKD_PID=
			die "vlinkd did not start" "$T/vlinkd.log"
		fi
		sleep 0.1
	done
}

daemon_and_link() {
	stage vlinkd "vlinkd in $T (socket run/vlinkd.sock, state/, shm/), link $LINK"
	hugepages_reserve
	vlinkd_start
	DAEMON_ID=$(ctl status --json | sed -n 's/.*"daemon_id": *"\([0-9a-f]*\)".*/\1/p')
	say "vlinkd: pid $VLINKD_PID, daemon id $DAEMON_ID"
	ctl create-link "$LINK" "$MAC" 1 --domain "$DOMAIN" >"$T/out" 2>&1 ||
		die "vlinkctl create-link" "$T/out"
	say "$(cat "$T/out")"
	ctl status | grep "^domain $DOMAIN: " | while IFS= read -r l; do say "$l"; done
}

# --- 3. the peer: a guest, or vlink-peer on the host -------------------------------
# The guest's command: echo until testpmd's port has been up and gone
# down again (the host end's state in the link header), then the device's
# registers (connects=2 after the vlinkd restart), then power off.
GUEST_CMD="vlink-peer --pci echo $LINK --wait 600 -q & e=\$!
host() { vlink-peer --pci list 2>/dev/null | grep -q \"^$LINK .* host \$1 \"; }
until host up; do sleep 1; done
until host down; do sleep 1; done
kill \$e; wait \$e; s=\$?
vlink-peer --pci device
exit \$s"

console_hint() {
	ch=$(tr -d '\r' <"$T/g.serial" 2>/dev/null | grep . | tail -n1 | cut -c1-70)
	[ -z "$ch" ] || echo "console: $ch"
}

guest_booted() {
	grep -q '^VLINK-GUEST: up' "$T/g.serial" 2>/dev/null && return 0
	kill -0 "$QEMU_PID" 2>/dev/null || return 2
	return 1
}

# attached: asking for an epoch (there is no host end yet)
peer_attached() {
	wait_peer_up "$LINK" 1 resetting && return 0
	if [ "$VM" = 1 ]; then kill -0 "$QEMU_PID"; else kill -0 "$ECHO_PID"; fi 2>/dev/null || return 2
	return 1
}

guest_start() {
	stage guest "booting the guest: QEMU with pci-vlink (domain $DOMAIN), running vlink-peer --pci echo $LINK"
	"$SRCDIR/scripts/mkinitramfs.sh" "$T/initramfs.cpio.gz" "$PEER_STATIC" >"$T/out" 2>&1 ||
		die "scripts/mkinitramfs.sh" "$T/out"
	KERNEL=$(find_kernel)
	[ "$ACCEL" != auto ] || [ ! -w /dev/kvm ] ||
		say "probing KVM (a guest with KVM hangs on some machines; 15 s at most)"
	pick_accel 15 >"$T/accel" 2>&1
	say "kernel $(basename "$KERNEL"), accelerator $ACCEL$(sed -n 's/^# accelerator: [a-z]*//p' "$T/accel")"
	boot_guest "$DOMAIN" g "$GUEST_CMD"
	alive "guest booting ($ACCEL)" 5 300 guest_booted console_hint ||
		die "the guest did not boot" "$T/g.serial" "$T/g.qemu.log"
	QEMU_REAL=$(cat "$T/g.qemu.pid")
	say "guest up after $(elapsed) s: QEMU pid $QEMU_REAL"
	alive "waiting for the guest's vlink-peer echo" 5 300 peer_attached console_hint ||
		die "the guest's vlink-peer did not attach to $LINK" "$T/g.serial" "$T/g.qemu.log"
	say "the guest's vlink-peer echo is the peer end of $LINK"
}

echo_start() {
	stage peer "the peer: vlink-peer --socket ... echo $LINK on the host (socket mode)"
	"$PEER" --socket "$SOCK" echo "$LINK" --wait 120 -q >"$T/echo.log" 2>&1 &
	ECHO_PID=$!
	alive "waiting for vlink-peer" 5 60 peer_attached "" ||
		die "vlink-peer did not attach to $LINK" "$T/echo.log"
	say "vlink-peer echo (pid $ECHO_PID) is the peer end of $LINK"
}

# --- 4. testpmd and the traffic ---------------------------------------------------
testpmd_start() {
	stage testpmd "dpdk-testpmd with net_vlink: --vdev net_vlink0,link=$LINK,socket=... (host end)"
	tp_start 1 --vdev "net_vlink0,link=$LINK,socket=$SOCK" || die "testpmd did not start" "$T/tp1.log"
	TP_PID=$(tp_pid 1)
	tp_cmd 1 "show port info 0"
	tp_wait 1 'Link status: up' 30 >/dev/null || die "testpmd: the link did not come up" "$T/tp1.log"
	say "testpmd pid $TP_PID: port 0 up ($(grep -m1 'host end of link' "$T/tp1.log" | sed 's/^.*net_vlink: //'))"
	tp_cmd 1 "set fwd io"
}

# note KEY FILE REGEX WHO: FILE's first line matching REGEX, once
note() {
	case " $NOTED " in *" $1 "*) return 0 ;; esac
	n_l=$(tr -d '\r' <"$2" 2>/dev/null | grep -E -m1 -- "$3") || return 0
	NOTED="$NOTED $1"
	say "   $4: $(echo "$n_l" | sed 's/^.*net_vlink: //; s/^qemu-system-x86_64: //' | cut -c1-110)"
}
noted() { case " $NOTED " in *" $1 "*) return 0 ;; esac; return 1; }

# what the components say about vlinkd going away and coming back
events() {
	note lost "$T/tp1.log" "lost vlinkd" PMD
	note back "$T/tp1.log" "vlinkd is back: link '$LINK' re-attached, same memory" PMD
	[ "$VM" = 1 ] || return 0
	note qemu2 "$T/g.qemu.log" "connected to vlinkd .*connection 2" QEMU
	note connects "$T/g.serial" "generation [0-9]+ \\(connects 2\\): link $LINK checked, unchanged" guest
}
reattached() { noted back && { [ "$VM" = 0 ] || noted connects; }; }

# counters: TX (host -> peer) and RX (peer -> host), fresh
counters() { RX=$(tp_stat 1 0 RX-packets); TX=$(tp_field 1 0 TX-packets); }

rates() {
	counters
	printf '   %7s s %10s %12s %10s %12s   %s\n' "$1" "$(tp_field 1 0 Tx-pps)" "$TX" \
		"$(tp_field 1 0 Rx-pps)" "$RX" "$VSTATE"
}

vlinkd_kill() {
	say ">>> kill -9 vlinkd (pid $VLINKD_PID): the data path does not go through it"
	kill -9 "$VLINKD_PID"
	wait "$VLINKD_PID" 2>/dev/null
	VLINKD_PID=
	KILLED_AT=$(now) KILLED_S=$1
	counters
	K_RX=$RX K_TX=$TX
	VSTATE="DOWN (killed)"
}

vlinkd_restart() {
	say ">>> starting vlinkd again, same state dir"
	vlinkd_start
	DOWNTIME=$(since "$KILLED_AT")
	counters
	OUT_TX=$((TX - K_TX)) OUT_RX=$((RX - K_RX))
	say "vlinkd is back (pid $VLINKD_PID) after $DOWNTIME s; meanwhile $OUT_TX packets" \
		"host -> $PEER_NAME, $OUT_RX $PEER_NAME -> host"
	VSTATE="up again"
}

traffic() {
	stage traffic "traffic for $DURATION s: testpmd io-forwards port 0 to itself, the $PEER_NAME echoes"
	tr_kill=$((DURATION / 3)) tr_back=$((DURATION / 2))
	say "vlinkd is killed at $tr_kill s and started again at $tr_back s"
	printf '   %9s %23s %23s\n' "" "host -> $PEER_NAME" "$PEER_NAME -> host"
	printf '   %9s %10s %12s %10s %12s   %s\n' time pps total pps total vlinkd
	KILLED_AT= DOWNTIME= VSTATE=up
	tp_stat 1 0 RX-packets >/dev/null # from now on Rx-pps is per second
	tp_cmd 1 "start tx_first 4"
	TR_T0=$(now)
	while :; do
		# to the next whole second of traffic
		sleep "$(awk -v a="$TR_T0" -v b="$(now)" 'BEGIN { e = b - a; printf "%.2f", int(e) + 1 - e }')"
		tr_el=$(since "$TR_T0")
		tr_s=${tr_el%.*}
		rates "$tr_el"
		if [ -z "$KILLED_AT" ] && [ "$tr_s" -ge $tr_kill ]; then
			vlinkd_kill "$tr_s"
		elif [ -n "$KILLED_AT" ] && [ -z "$DOWNTIME" ] && [ "$tr_s" -ge $tr_back ]; then
			vlinkd_restart
		fi
		events
		[ "$tr_s" -ge "$DURATION" ] || continue
		reattached && break
		if [ "$tr_s" -ge $((DURATION + 30)) ]; then
			say "no re-attachment seen 30 s after the end"
			break
		fi
	done
	if [ "$VM" = 1 ]; then
		QEMU_END=$(cat "$T/g.qemu.pid" 2>/dev/null)
		kill -0 "$QEMU_END" 2>/dev/null || QEMU_END="(gone)"
	fi
	tp_cmd 1 "stop"
	TR_SECS=$(since "$TR_T0")
	counters
}

# --- 5. the end ---------------------------------------------------------------------
peer_stop() {
	if [ "$VM" = 0 ]; then
		kill "$ECHO_PID"
		wait "$ECHO_PID"
		PEER_RC=$?
		ECHO_PID=
		PEER_SAID=$(grep -m1 '^echo: ' "$T/echo.log")
		return
	fi
	say "the guest sees the host end down, stops its echo and powers off"
	if wait_guest_exit 120; then
		QEMU_PID=
		PEER_RC=$(tr -d '\r' <"$T/g.serial" | sed -n 's/^VLINK-GUEST: exit //p')
	else
		PEER_RC="(still running after 120 s)"
	fi
	PEER_SAID=$(tr -d '\r' <"$T/g.serial" | grep -m1 '^echo: ')
	GUEST_DEVICE=$(tr -d '\r' <"$T/g.serial" | grep -m1 '^device ')
	say "guest: $GUEST_DEVICE"
}

shutdown() {
	stage shutdown "stopping testpmd's port, the $PEER_NAME, testpmd, vlinkd; removing $T"
	tp_cmd 1 "port stop 0"
	peer_stop
	say "$PEER_NAME: ${PEER_SAID:-no summary}; exit status $PEER_RC"
	tp_quit 1
	TP_PID=
	CLOSED=$(grep -m1 'closed: .* buffers home' "$T/tp1.log" | sed 's/^.*net_vlink: //')
	ALL_HOME=$(tp_all_home 1)
	say "testpmd: ${CLOSED:-no 'closed:' line}"
	if ctl delete-link "$LINK" >"$T/out" 2>&1; then
		say "link $LINK deleted (its pool files with it)"
	else
		say "vlinkctl delete-link: $(cat "$T/out")"
	fi
	kill "$VLINKD_PID"
	wait "$VLINKD_PID"
	say "vlinkd stopped (exit status $?)"
	VLINKD_PID=
	hp=$HP_OLD
	cleanup
	say "run directory removed${hp:+, vm.nr_hugepages back to $(cat /proc/sys/vm/nr_hugepages)}"
	stage "" ""
}

# shown COND TEXT: one line of the verdict (COND: a shell condition)
shown() {
	if eval "$1"; then
		say "ok      $2"
	else
		say "FAILED  $2"
		FAILS=$((FAILS + 1))
	fi
}

pps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }

summary() {
	printf '\n== summary\n'
	say "traffic: $TR_SECS s; host -> $PEER_NAME $TX packets, $(pps "$TX" "$TR_SECS") pps on" \
		"average; $PEER_NAME -> host $RX packets, $(pps "$RX" "$TR_SECS") pps on average"
	say "vlinkd: killed -9 at $KILLED_S s, down ${DOWNTIME:-?} s; meanwhile host -> $PEER_NAME" \
		"${OUT_TX:-0} packets, $PEER_NAME -> host ${OUT_RX:-0} packets"
	[ "$VM" = 0 ] || say "QEMU: pid $QEMU_REAL at boot, pid $QEMU_END at the end of the traffic;" \
		"the guest's device: $(echo "$GUEST_DEVICE" | grep -o 'connects=[0-9]*')"
	say "buffers: ${CLOSED:-testpmd logged no 'closed:' line}"
	say "stages: $STAGES; total $(($(date +%s) - T0)) s"
	printf '\n== what the demo showed\n'
	shown '[ "$TX" -gt 0 ] && [ "$RX" -gt 0 ]' "traffic both ways (host -> $PEER_NAME $TX, $PEER_NAME -> host $RX)"
	shown '[ "${OUT_TX:-0}" -gt 0 ] && [ "${OUT_RX:-0}" -gt 0 ]' \
		"traffic while vlinkd was down (${OUT_TX:-0} and ${OUT_RX:-0} packets)"
	shown 'noted back' "the PMD re-attached to the new vlinkd without remapping"
	if [ "$VM" = 1 ]; then
		shown '[ "$QEMU_REAL" = "$QEMU_END" ]' "QEMU not restarted (pid $QEMU_REAL throughout)"
		shown 'noted connects && echo "$GUEST_DEVICE" | grep -q " connects=2 "' \
			"the guest saw vlinkd come back, same link (connects=2)"
	fi
	shown '[ "$PEER_RC" = 0 ]' "the $PEER_NAME's echo ended cleanly"
	shown '[ "$ALL_HOME" = 1 ]' "every buffer home when testpmd closed the port"
	if [ "$FAILS" = 0 ]; then
		echo "demo: PASS"
	else
		echo "demo: FAIL ($FAILS of the above not shown)"
	fi
}

# --- main ---------------------------------------------------------------------------
printf 'vlink demo: %s, %s s of traffic, vlinkd killed and restarted on the way\n' \
	"$([ "$VM" = 1 ] && echo "a QEMU guest and dpdk-testpmd" || echo "vlink-peer and dpdk-testpmd (--no-vm)")" \
	"$DURATION"
[ "$DEPS" = 0 ] || deps
[ "$BUILD" = 0 ] || build
. "$SRCDIR/scripts/lib/testpmd.sh"
. "$SRCDIR/scripts/lib/guest.sh"
trap cleanup EXIT # scripts/lib/guest.sh sets its own
ACCEL=${VLINK_ACCEL:-auto}
need
daemon_and_link
if [ "$VM" = 1 ]; then guest_start; else echo_start; fi
testpmd_start
traffic
shutdown
summary
[ "$FAILS" = 0 ]
