# QEMU guests with pci-vlink, for scripts/demo.sh and the guest-mode tests
# (tests/guest/*.sh, tests/fault/guest.sh), sourced after
# tests/integration/lib.sh or what the demo defines in its place (a
# private vlinkd, ok/not_ok, cleanup).
#
# Environment: VLINK_QEMU (default: BUILDDIR/qemu/qemu-system-x86_64),
# VLINK_KERNEL (default: the newest vmlinuz-* in $VLINK_CACHE/kernel,
# VLINK_CACHE default /var/cache/vlink), VLINK_ACCEL (tcg, the default;
# kvm; or auto: KVM if a probe guest boots with it within 30 s, else TCG),
# VLINK_HOST_END (hostend: tests/vlink-hostend, the default),
# VLINK_GUEST_TIMEOUT (seconds a guest may live, default 900).
HOSTEND="$BUILDDIR/tests/vlink-hostend"
PEER="$BUILDDIR/tools/vlink-peer"
PEER_STATIC="$BUILDDIR/tools/vlink-peer-static"
QEMU=${VLINK_QEMU:-$BUILDDIR/qemu/qemu-system-x86_64}
QEMU_PID=
ACCEL=${VLINK_ACCEL:-tcg}

# QEMU goes too, whatever happens (the integration cleanup does the rest)
guest_cleanup() {
	for f in "$T"/*.qemu.pid; do
		[ -e "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	return 0
}
trap 'guest_cleanup; cleanup' EXIT

# The host end of a link.  One function, so that another host end (the
# DPDK PMD under dpdk-testpmd) can take its place: VLINK_HOST_END chooses.
#   host_end LINK send|recv|pingpong COUNT SIZE[-MAX] CHANNEL
# Exit 0 only if every packet was intact and in order (recv, pingpong) and
# every buffer it lent came back; prints the tests/vlink-hostend summary
# line ("hostend MODE: sent N ..., received N (N intact, ...) ...;
# ledger: B of B buffers home, 0 bad descriptors; ...").
host_end() {
	case ${VLINK_HOST_END:-hostend} in
	hostend) "$HOSTEND" "$SOCK" "$@" ;;
	*) echo "host_end: unknown VLINK_HOST_END '$VLINK_HOST_END'" >&2; return 2 ;;
	esac
}

# set_reg FILE OFFSET VALUE: a 32-bit little-endian register of a fake BAR0
set_reg() {
	python3 -c "import struct; f = open('$1', 'r+b'); f.seek($2); f.write(struct.pack('<I', $3))"
}

# fake_pci_dev DIR DOMAIN: a fake pci-vlink device in DIR made of plain
# files: registers in resource0 (register layout VERSION 2, VECTORS 65, as
# QEMU's device), the domain's pool file (one segment) as resource2, its
# channel-region file as resource4.
fake_pci_dev() {
	dir=$1 dom=$2
	chan=$(ls "$T"/shm/vlink-*/"$dom.chan" 2>/dev/null | head -n1)
	pool=$(ls "$T"/shm/vlink-*/"$dom.pool0" "$T"/run/hugepages-*/vlink-*/"$dom.pool0" 2>/dev/null |
		head -n1)
	if [ -z "$chan" ] || [ -z "$pool" ]; then
		not_ok "fake device: no files of domain $dom under $T"; return 1
	fi
	if ls "$(dirname "$pool")/$dom.pool1" >/dev/null 2>&1; then
		not_ok "fake device: domain $dom has more than one pool segment"; return 1
	fi
	mkdir -p "$dir"
	echo 0x1234 >"$dir/vendor"; echo 0x564c >"$dir/device"; echo 0 >"$dir/enable"
	ln -sf "$pool" "$dir/resource2"
	ln -sf "$chan" "$dir/resource4"
	python3 - "$dir/resource0" "$(stat -L -c %s "$pool")" "$(stat -L -c %s "$chan")" "$dom" <<'PY'
import struct, sys
path, pool, region, dom = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
r = bytearray(4096)
struct.pack_into('<IIIIIIIIII', r, 0, 0x4b4e4c56, 2, 3, 1, pool & 0xffffffff, pool >> 32,
                 region & 0xffffffff, region >> 32, 1, 1)
r[0x40:0x40 + len(dom)] = dom.encode()
struct.pack_into('<I', r, 0x60, 65)
open(path, 'wb').write(r)
PY
}

# wait_peer_up LINK [SECONDS [STATE]]: until the link's peer end is up, or
# in STATE ("resetting": attached, asking a host end for a new epoch), seen
# from the host through vlinkd, as an observer
wait_peer_up() {
	i=0 lim=$((${2:-30} * 10))
	while ! "$PEER" --socket "$SOCK" stats "$1" 2>/dev/null | grep -q "peer end: ${3:-up}"; do
		i=$((i + 1))
		[ $i -lt $lim ] || return 1
		sleep 0.1
	done
}

# --- real guests ---------------------------------------------------------

# find_kernel: the Debian kernel scripts/install-deps.sh unpacked
find_kernel() {
	if [ -n "${VLINK_KERNEL:-}" ]; then echo "$VLINK_KERNEL"; return; fi
	ls "${VLINK_CACHE:-/var/cache/vlink}"/kernel/vmlinuz-* 2>/dev/null | sort -V | tail -n1
}

# need_vm: QEMU (with pci-vlink), the kernel, the static vlink-peer; a
# missing one is a failure, not a skip.  VM_EXTRA: more static programs
# for the initramfs.
need_vm() {
	KERNEL=$(find_kernel)
	missing=
	[ -x "$QEMU" ] || missing="$missing QEMU at $QEMU (make qemu, or VLINK_QEMU);"
	[ -n "$KERNEL" ] && [ -r "$KERNEL" ] ||
		missing="$missing a kernel in ${VLINK_CACHE:-/var/cache/vlink}/kernel (scripts/install-deps.sh, or VLINK_KERNEL);"
	[ -x "$PEER_STATIC" ] || missing="$missing $PEER_STATIC (make tools/vlink-peer-static);"
	if [ -n "$missing" ]; then
		not_ok "guest test prerequisites: missing$missing"
		finish
	fi
	if ! "$QEMU" -device help 2>/dev/null | grep -q '"pci-vlink"'; then
		not_ok "$QEMU has no pci-vlink device"
		finish
	fi
	# shellcheck disable=SC2086
	"$SRCDIR/scripts/mkinitramfs.sh" "$T/initramfs.cpio.gz" "$PEER_STATIC" \
		${VM_EXTRA:-} >"$T/mkinitramfs.log" 2>&1 ||
		{ not_ok "mkinitramfs: $(cat "$T/mkinitramfs.log")"; finish; }
}

# need_dpdk_vm [PLUGIN...]: need_vm, with an initramfs that also carries
# Debian's dpdk-testpmd (TESTPMD, default dpdk-testpmd), the libraries it
# needs and the DPDK plugins in /usr/lib/vlink: librte_mempool_ring.so
# (always: the mbuf pools' "ring_mp_mc") and each PLUGIN (default
# BUILDDIR/pmd/librte_net_vlink.so), through scripts/mkinitramfs.sh
# --dpdk.  The image (about 10 MB, +0.5 s of boot under TCG) is built once
# into DPDK_VM_IMAGE (default BUILDDIR/tests/guest/initramfs-dpdk.cpio.gz:
# a caller with other plugins names its own, or each would rebuild the
# other's) and reused while it is newer than everything in it and made
# from the same files.  Sets
# VM_QEMU_ARGS to -cpu max (Debian's DPDK needs SSE4.2, which QEMU's
# default TCG CPU lacks), and for testpmd in the guest:
#   GUEST_EAL     EAL arguments: "--lcores 0@0,1@0 --no-huge -m 64
#                 --no-pci -d /usr/lib/vlink".  Two lcores on the one vCPU
#                 (testpmd forwards on a lcore other than the main one); no
#                 hugepages: none to reserve in the guest, EAL picks IOVA
#                 as VA by itself, and EAL init takes ~1 s (~3 s the first
#                 time after boot; -m 256: 2 s more: under TCG, EAL's
#                 memory costs ~10 ms per MB); --no-huge means legacy
#                 memory, which --in-memory refuses: EAL's runtime dir is
#                 /var/run/dpdk (tmpfs; add --no-shconf for no files).
#                 --no-pci: DPDK 22.11's PCI bus drops every device with no
#                 kernel driver bound, pci-vlink included, so a guest PMD
#                 maps /sys/bus/pci/devices/ADDR/resourceN itself (a vdev)
#   GUEST_TP_ARGS testpmd arguments: "--total-num-mbufs=2048" (its default
#                 pool, sized for RTE_MAX_ETHPORTS ports, needs ~300 MB)
# e.g. boot_guest vm1 g "dpdk-testpmd $GUEST_EAL --vdev net_vlink0,... --
#   $GUEST_TP_ARGS -i".  The console is a tty: testpmd's output comes line
# by line.  The image also has the kernel's modules that are in
# $VLINK_CACHE/kernel/modules (scripts/install-deps.sh), in /lib/modules
# (insmod, or modprobe with their dependencies): uio.ko and
# uio_pci_generic.ko (bound to uio_pci_generic, the device is seen by
# DPDK's PCI bus, -a ADDRESS) and the virtio-net-pci stack (modprobe
# virtio_pci virtio_net: an eth interface on virtio-net-pci).
# VM_DPDK_APPS: more DPDK programs for the image (mkinitramfs --dpdk-app;
# name a DPDK_VM_IMAGE of your own then).  VM_KMODS: more kernel modules
# (paths to .ko files of the guest's kernel, e.g. vlink_net.ko from
# scripts/build-guest-module.sh) for /lib/modules (mkinitramfs --module;
# an image of your own too).
need_dpdk_vm() {
	need_vm
	[ $# -gt 0 ] || set -- "$BUILDDIR/pmd/librte_net_vlink.so"
	tp=$(command -v "${TESTPMD:-dpdk-testpmd}" 2>/dev/null)
	if [ -z "$tp" ]; then
		not_ok "guest test prerequisites: no dpdk-testpmd (apt-get install dpdk)"
		finish
	fi
	img=${DPDK_VM_IMAGE:-$BUILDDIR/tests/guest/initramfs-dpdk.cpio.gz}
	kmods=
	for f in "$(dirname "$KERNEL")"/modules/*.ko; do
		[ -f "$f" ] && kmods="$kmods $f"
	done
	kmods="$kmods ${VM_KMODS:-}"
	# shellcheck disable=SC2086
	inputs="$SRCDIR/scripts/mkinitramfs.sh $PEER_STATIC $tp $* ${VM_EXTRA:-}$kmods ${VM_DPDK_APPS:-}"
	fresh=0
	if [ -f "$img" ] && [ "$(cat "$img.inputs" 2>/dev/null)" = "$inputs" ]; then
		fresh=1
		for f in $inputs; do
			[ -n "$(find -L "$f" -newer "$img" 2>/dev/null)" ] && fresh=0
		done
	fi
	if [ $fresh = 0 ]; then
		# its own name first: tests running at once each build a whole one
		tmp="$img.$$"
		dp=
		for p in "$@"; do dp="$dp --dpdk $p"; done
		for m in $kmods; do dp="$dp --module $m"; done
		for a in ${VM_DPDK_APPS:-}; do dp="$dp --dpdk-app $a"; done
		# shellcheck disable=SC2086
		VLINK_TESTPMD=$tp "$SRCDIR/scripts/mkinitramfs.sh" $dp "$tmp" "$PEER_STATIC" \
			${VM_EXTRA:-} >"$T/mkinitramfs.log" 2>&1 ||
			{ rm -f "$tmp"; not_ok "mkinitramfs --dpdk: $(cat "$T/mkinitramfs.log")"; finish; }
		echo "$inputs" >"$tmp.inputs"
		mv "$tmp.inputs" "$img.inputs"
		mv "$tmp" "$img"
	fi
	cp "$img" "$T/initramfs.cpio.gz"
	VM_QEMU_ARGS="-cpu max"
	# shellcheck disable=SC2034 # for the test that sources this
	GUEST_EAL="--lcores 0@0,1@0 --no-huge -m 64 --no-pci -d /usr/lib/vlink"
	# shellcheck disable=SC2034
	GUEST_TP_ARGS="--total-num-mbufs=2048"
}

# need_netdev_vm: need_dpdk_vm with the guest kernel driver: vlink_net.ko
# (scripts/build-guest-module.sh; KO is its path) and ethtool in an image
# of their own, shared by the netdev tests; ok/not_ok for the module
need_netdev_vm() {
	if ! KO=$(sh "$SRCDIR/scripts/build-guest-module.sh" 2>"$T/build.err"); then
		not_ok "vlink_net.ko built: $(tail -5 "$T/build.err")"
		finish
	fi
	ok "vlink_net.ko built ($KO)"
	ETHTOOL=$(command -v ethtool 2>/dev/null) ||
		{ not_ok "no ethtool on the host (apt-get install ethtool)"; finish; }
	VM_KMODS=$KO
	VM_DPDK_APPS=$ETHTOOL
	DPDK_VM_IMAGE=$BUILDDIR/tests/guest/initramfs-netdev.cpio.gz
	need_dpdk_vm
}

# run_qemu NAME ACCEL COMMAND [QEMU ARGS...]: a guest in the background,
# console in $T/NAME.serial, pid in $T/NAME.qemu.pid; sets QEMU_PID.
# VM_QEMU_ARGS: more QEMU arguments for every guest (need_dpdk_vm sets it)
run_qemu() {
	name=$1 accel=$2 c64=$(printf '%s' "$3" | base64 -w0)
	shift 3
	# bounded: a guest that never powers off is killed here or by the trap
	# shellcheck disable=SC2086 # VM_QEMU_ARGS: words
	timeout -s KILL "${VLINK_GUEST_TIMEOUT:-900}" "$QEMU" \
		-L /usr/share/seabios -L /usr/share/qemu \
		-machine pc -accel "$accel" -m 512 -smp 1 -nodefaults -no-user-config \
		-display none -monitor none -no-reboot \
		-serial "file:$T/$name.serial" -pidfile "$T/$name.qemu.pid" \
		-kernel "$KERNEL" -initrd "$T/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 quiet vlink.cmd64=$c64" \
		${VM_QEMU_ARGS:-} "$@" >"$T/$name.qemu.log" 2>&1 &
	QEMU_PID=$!
	BG_PIDS="$BG_PIDS $QEMU_PID"
	BOOT_T0=$(date +%s.%N)
}

# pick_accel [SECONDS]: ACCEL from VLINK_ACCEL; auto: a probe guest with
# KVM (no device, SECONDS (30) at most: a KVM guest can hang on some
# hosts), else TCG
pick_accel() {
	[ "$ACCEL" = auto ] || return 0
	ACCEL=tcg
	[ -w /dev/kvm ] || return 0
	run_qemu kvmprobe kvm true
	if wait_serial kvmprobe "^VLINK-GUEST: exit 0" "${1:-30}"; then
		ACCEL=kvm
	fi
	kill -9 "$(cat "$T/kvmprobe.qemu.pid" 2>/dev/null)" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	echo "# accelerator: $ACCEL (KVM probe $( [ $ACCEL = kvm ] && echo booted || echo failed))"
}

# boot_guest DOMAIN NAME COMMAND: start a VM (in the background) with a
# pci-vlink device of DOMAIN on our vlinkd's socket, running COMMAND (a
# shell command line) in the guest; its serial console goes to
# $T/NAME.serial.  Sets QEMU_PID.
boot_guest() {
	run_qemu "$2" "$ACCEL" "$3" -chardev "socket,id=vl0,path=$SOCK,reconnect=1" \
		-device "pci-vlink,chardev=vl0,vm_domain=$1"
}

# boot_virtio_guest NAME SOCKET MAC COMMAND: a VM (in the background) whose
# one network device is a virtio-net-pci (MAC) on a vhost-user netdev,
# QEMU the server on SOCKET (a dpdkvhostuserclient port of OVS connects
# to it, and again when it goes), guest RAM a shared memfd (the
# vhost-user back end maps it); no pci-vlink device.  Runs COMMAND as
# boot_guest does (modprobe virtio_pci virtio_net there: need_dpdk_vm's
# image has them).  Sets QEMU_PID.  MSI-X as under KVM: without KVM,
# Debian's QEMU 7.2 needs qemu/patches/virtio-pci-tcg-irqfd.patch for it.
boot_virtio_guest() {
	run_qemu "$1" "$ACCEL" "$4" -object memory-backend-memfd,id=mem,size=512M,share=on \
		-numa node,memdev=mem -chardev "socket,id=vh,path=$2,server=on,wait=off" \
		-netdev vhost-user,id=n0,chardev=vh \
		-device "virtio-net-pci,netdev=n0,mac=$3,romfile="
}

# qemu_has_vhost_user: QEMU was built with the vhost-user netdev
# (qemu/build-qemu.sh enables it)
qemu_has_vhost_user() {
	! timeout 10 "$QEMU" -machine none -nodefaults -display none \
		-netdev vhost-user,id=n0,chardev=none 2>&1 | grep -q "not compiled"
}

# wait_serial NAME REGEX SECONDS: until the guest's console shows REGEX
wait_serial() {
	i=0 lim=$(($3 * 10))
	while ! grep -Eq -- "$2" "$T/$1.serial" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge $lim ] || ! kill -0 "$QEMU_PID" 2>/dev/null; then
			grep -Eq -- "$2" "$T/$1.serial" 2>/dev/null && return 0
			return 1
		fi
		sleep 0.1
	done
}

# booted NAME: the guest NAME (boot_guest) has reached its /init (180 s at
# most): ok, or not_ok with its console, and the test ends there
booted() {
	if wait_serial "$1" "^VLINK-GUEST: up" 180; then
		ok "guest booted to /init in $(elapsed) s ($ACCEL)"
	else
		not_ok "guest did not boot"; show_serial "$1"; finish
	fi
}

# wait_guest_exit SECONDS: QEMU gone (the guest powered off); 0 if it did
wait_guest_exit() {
	i=0 lim=$(($1 * 10))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt $lim ] || return 1
		sleep 0.1
	done
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}

# guest_off_tp_home ID: the guest powers off (120 s at most), then
# testpmd ID (scripts/lib/testpmd.sh) quits with every buffer of its
# net_vlink0 home: ok/not_ok for each (the end of the netdev tests)
guest_off_tp_home() {
	if wait_guest_exit 120; then ok "the guest powered off"; else not_ok "the guest did not power off"; fi
	tp_quit "$1"
	expect_line "$T/tp$1.log" "net_vlink0: closed: ([0-9]+) of \\1 buffers home" \
		"testpmd $1 closed with every buffer home"
}

# elapsed: seconds since boot_guest, one decimal
elapsed() { echo "$(date +%s.%N) $BOOT_T0" | awk '{ printf "%.1f", $1 - $2 }'; }

# show_serial NAME: the guest's console and QEMU's output, indented
show_serial() {
	echo "--- guest console ($1) ---"; sed 's/^/    /' "$T/$1.serial" 2>/dev/null
	echo "--- QEMU ($1) ---"; sed 's/^/    /' "$T/$1.qemu.log" 2>/dev/null
}
