#!/bin/sh
# Build the guest image for the VM tests: a busybox initramfs carrying a
# statically linked vlink-peer and an /init that runs one command.
#
#   scripts/mkinitramfs.sh OUT.cpio.gz [VLINK_PEER [EXTRA...]]
#
# VLINK_PEER: a statically linked vlink-peer (default: BUILDDIR/tools/
# vlink-peer-static, `make tools/vlink-peer-static`; BUILDDIR defaults to
# the tree above this script).  Busybox is Debian's busybox-static
# (/bin/busybox).  Write OUT into the build tree or a temporary or cache
# directory, not the source tree.  EXTRA: more statically linked programs,
# copied to /bin under their own names.  Takes well under a second.
#
# The guest's /init mounts proc, sysfs and devtmpfs, prints the pci-vlink
# devices it sees, runs the command given on the kernel command line as
#   vlink.cmd64=BASE64   (any shell command line, base64-encoded), or
#   vlink.cmd="..."      (no double quotes inside), or vlink.cmd=WORD
# with `sh -c`, prints its exit status and powers the machine off
# (poweroff -f; run QEMU with -no-reboot).  vlink.shell=1 gives a shell on
# the console after the command instead of powering off.  Every line of its
# own starts with "VLINK-GUEST: ": "VLINK-GUEST: up ...", "VLINK-GUEST:
# run: CMD", "VLINK-GUEST: exit RC", "VLINK-GUEST: poweroff".
#
#   scripts/mkinitramfs.sh --dpdk PLUGIN [--dpdk PLUGIN...] OUT ...
#
# --dpdk PLUGIN: the image also carries DPDK's testpmd (VLINK_TESTPMD,
# default /usr/bin/dpdk-testpmd) as /usr/bin/dpdk-testpmd and the plugin
# PLUGIN (a DPDK driver .so, e.g. BUILDDIR/pmd/librte_net_vlink.so) in
# /usr/lib/vlink; given again, another plugin.  DPDK's
# librte_mempool_ring.so (the mbuf pools' "ring_mp_mc", a driver of its
# own) always goes there too: `dpdk-testpmd -d /usr/lib/vlink` loads them
# all.  Exactly the shared libraries they need go in with them (ldd's
# closure of testpmd and of each plugin, stripped, the dynamic loader,
# and libgcc_s, which glibc loads itself), all in /lib/MULTIARCH: DPDK's
# driver directory (pmds-*) is left out on purpose, so EAL loads no
# driver on its own, only the -d ones.  /var/run is a link to /run (EAL's
# runtime dir), and the /init of such an image mounts hugetlbfs on
# /dev/hugepages (for pages, write /proc/sys/vm/nr_hugepages).  The image
# is ~10 MB instead of 1.5 (gzip; 23 MB unpacked, in the guest's RAM),
# boots ~0.5 s later under TCG, takes a few seconds to build, and fails
# if a library a binary needs (NEEDED) is not in it.
#
# --dpdk-app PROGRAM (repeatable, with --dpdk): another DPDK program (e.g.
# l3fwd-power, built by scripts/build-dpdk-example.sh) in /usr/bin under
# its own name, with the closure of its libraries as for testpmd.
#
# --module KO (repeatable): a kernel module of the guest's kernel, copied
# to /lib/modules/VER/ (VER: the kernel version of its vermagic) with
# busybox depmod's modules.dep, and linked as /lib/modules/NAME.ko: in the
# guest `modprobe NAME` loads it after what it depends on (e.g. modprobe
# virtio_net: virtio_ring, virtio, failover, net_failover first), or
# `insmod /lib/modules/NAME.ko` it alone (e.g. uio.ko, uio_pci_generic.ko,
# the virtio-net-pci stack, which scripts/install-deps.sh keeps in
# $VLINK_CACHE/kernel/modules).  Every module a module depends on
# (modinfo -F depends) must be given too, and all of one kernel version.
set -eu

usage() { sed -n '2,55p' "$0" | sed 's/^# \{0,1\}//'; }
DPDK_PLUGINS=
DPDK_APPS=
MODULES=
while :; do
	case "${1:-}" in
	-h|--help) usage; exit 0 ;;
	--module) [ $# -ge 2 ] || { usage >&2; exit 2; }
		[ -f "$2" ] || { echo "mkinitramfs: no kernel module at $2" >&2; exit 1; }
		MODULES="$MODULES $2"; shift 2 ;;
	--dpdk) [ $# -ge 2 ] || { usage >&2; exit 2; }
		DPDK_PLUGINS="$DPDK_PLUGINS $2"; shift 2 ;;
	--dpdk=*) DPDK_PLUGINS="$DPDK_PLUGINS ${1#--dpdk=}"; shift ;;
	--dpdk-app) [ $# -ge 2 ] || { usage >&2; exit 2; }
		[ -x "$2" ] || { echo "mkinitramfs: no program at $2" >&2; exit 1; }
		DPDK_APPS="$DPDK_APPS $2"; shift 2 ;;
	""|-*) usage >&2; exit 2 ;;
	*) break ;;
	esac
done
OUT=$1
TESTPMD=${VLINK_TESTPMD:-/usr/bin/dpdk-testpmd}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILDDIR=${BUILDDIR:-$(cd "$HERE/.." && pwd)}
PEER=${2:-$BUILDDIR/tools/vlink-peer-static}
BUSYBOX=${VLINK_BUSYBOX:-/bin/busybox}

die() { echo "mkinitramfs: $*" >&2; exit 1; }
# static: an ELF without a program interpreter
is_static() {
	readelf -l "$1" >"$W.readelf" 2>&1 && ! grep -q "program interpreter" "$W.readelf"
}
W=$(mktemp -d "${TMPDIR:-/tmp}/vlink-initramfs.XXXXXX")
trap 'rm -rf "$W" "$W.readelf" "$W.ldd"' EXIT
[ -x "$PEER" ] || die "no vlink-peer at $PEER (make tools/vlink-peer-static)"
is_static "$PEER" || die "$PEER is not statically linked"
[ -x "$BUSYBOX" ] || die "no busybox at $BUSYBOX (apt-get install busybox-static)"
is_static "$BUSYBOX" || die "$BUSYBOX is not statically linked (apt-get install busybox-static)"
command -v cpio >/dev/null || die "no cpio (apt-get install cpio)"

mkdir -p "$W/root/bin" "$W/root/sbin" "$W/root/usr/bin" "$W/root/usr/sbin" \
	"$W/root/proc" "$W/root/sys" "$W/root/dev" "$W/root/tmp" "$W/root/run" "$W/root/etc"
cp "$BUSYBOX" "$W/root/bin/busybox"
cp "$PEER" "$W/root/bin/vlink-peer"
strip "$W/root/bin/vlink-peer" 2>/dev/null || true
shift $(($# < 2 ? $# : 2))
for x in "$@"; do
	[ -x "$x" ] || die "no program at $x"
	is_static "$x" || die "$x is not statically linked"
	cp "$x" "$W/root/bin/" && strip "$W/root/bin/${x##*/}" 2>/dev/null || true
done

if [ -n "$MODULES" ]; then
	command -v modinfo >/dev/null || die "no modinfo (apt-get install kmod)"
	kver='' names=''
	for m in $MODULES; do
		v=$(modinfo -F vermagic "$m" 2>/dev/null | cut -d' ' -f1)
		[ -n "$v" ] || die "$m: not a kernel module (modinfo: no vermagic)"
		[ -z "$kver" ] || [ "$v" = "$kver" ] || die "$m is for kernel $v, not $kver like the others"
		kver=$v
		n=${m##*/}
		names="$names ${n%%.ko*}"
	done
	for m in $MODULES; do
		for d in $(modinfo -F depends "$m" | tr , ' '); do
			case " $names " in *" $d "*) ;;
			*) die "${m##*/} depends on $d: give --module .../$d.ko too" ;;
			esac
		done
	done
	mkdir -p "$W/root/lib/modules/$kver"
	# shellcheck disable=SC2086 # paths without blanks
	cp $MODULES "$W/root/lib/modules/$kver/"
	for m in $MODULES; do ln -s "$kver/${m##*/}" "$W/root/lib/modules/${m##*/}"; done
	"$BUSYBOX" depmod -b "$W/root" "$kver" || die "busybox depmod failed"
fi

# --dpdk: testpmd and the plugins with the closure of their libraries
# (ldd lists it whole, through RUNPATH too: testpmd's runpath is DPDK's
# driver dir), each copied under its soname into the one directory of the
# system search path, then every NEEDED checked against that directory
dpdk_files=
if [ -n "$DPDK_PLUGINS" ]; then
	command -v ldd >/dev/null || die "no ldd"
	[ -x "$TESTPMD" ] || die "no dpdk-testpmd at $TESTPMD (apt-get install dpdk)"
	libc=$(ldd "$TESTPMD" | awk '$1 == "libc.so.6" { print $3 }')
	[ -n "$libc" ] || die "ldd $TESTPMD: no libc"
	# /lib/x86_64-linux-gnu on Debian (/usr/lib/... of a merged /usr too)
	LIBDIR=/lib/${libc#*/lib/}
	LIBDIR=${LIBDIR%/*}
	mkdir -p "$W/root$LIBDIR" "$W/root/usr/lib/vlink" "$W/root/lib64"
	# EAL refuses a -d plugin below a world-writable directory
	chmod 755 "$W/root/usr" "$W/root/usr/lib" "$W/root/usr/lib/vlink"
	# ldd_libs FILE: "SONAME PATH" per library; the loader as LOADER
	ldd_libs() {
		ldd "$1" >"$W.ldd" 2>&1 || die "ldd $1: $(cat "$W.ldd")"
		! grep -q "not found" "$W.ldd" || die "ldd $1: $(grep "not found" "$W.ldd")"
		awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 } $1 ~ /^\// { print "LOADER", $1 }' "$W.ldd"
	}
	copy_libs() {
		ldd_libs "$1" | while read -r soname path; do
			if [ "$soname" = LOADER ]; then
				soname=${path##*/}
				[ -e "$W/root$path" ] || ln -s "..$LIBDIR/$soname" "$W/root$path"
			fi
			[ -e "$W/root$LIBDIR/$soname" ] && continue
			cp -L "$path" "$W/root$LIBDIR/$soname"
			strip --strip-unneeded "$W/root$LIBDIR/$soname" 2>/dev/null || true
		done
	}
	cp -L "$TESTPMD" "$W/root/usr/bin/dpdk-testpmd"
	strip "$W/root/usr/bin/dpdk-testpmd" 2>/dev/null || true
	copy_libs "$TESTPMD"
	for a in $DPDK_APPS; do
		cp -L "$a" "$W/root/usr/bin/${a##*/}"
		strip "$W/root/usr/bin/${a##*/}" 2>/dev/null || true
		copy_libs "$a"
	done
	# one library ldd cannot see: glibc dlopen()s libgcc_s for
	# pthread_cancel and unwinding (EAL cancels its threads at exit)
	gcc_s=$(ldconfig -p 2>/dev/null | awk '$1 == "libgcc_s.so.1" && /x86-64/ { print $NF; exit }')
	[ -n "$gcc_s" ] || gcc_s=$(dirname "$libc")/libgcc_s.so.1
	[ -f "$gcc_s" ] || die "no libgcc_s.so.1 (glibc loads it for pthread_cancel)"
	cp -L "$gcc_s" "$W/root$LIBDIR/libgcc_s.so.1"
	# the mempool driver "ring_mp_mc" (testpmd's mbuf pools, the PMD's
	# pools) is a plugin of DPDK's driver dir, not linked into testpmd
	eal=$(ldd "$TESTPMD" | awk '$1 ~ /^librte_eal\.so/ { print $3 }')
	pmddir=$(strings -n 8 "$eal" | sed -n 's/^DPDK_PLUGIN_PATH=//p' | head -n1)
	ring=$(ls "$pmddir"/librte_mempool_ring.so.[0-9]* 2>/dev/null | sort -V | head -n1)
	[ -f "$ring" ] || die "no librte_mempool_ring.so in DPDK's driver dir '$pmddir'"
	for p in "$ring" $DPDK_PLUGINS; do
		[ -f "$p" ] || die "no DPDK plugin at $p"
		[ -e "$W/root/usr/lib/vlink/${p##*/}" ] && die "two plugins named ${p##*/}"
		n=${p##*/}
		[ "$p" = "$ring" ] && n=librte_mempool_ring.so
		cp -L "$p" "$W/root/usr/lib/vlink/$n"
		strip --strip-unneeded "$W/root/usr/lib/vlink/$n" 2>/dev/null || true
		copy_libs "$p"
		dpdk_files="$dpdk_files $n"
	done
	for f in "$W/root/usr/bin/dpdk-testpmd" $(for a in $DPDK_APPS; do echo "$W/root/usr/bin/${a##*/}"; done) \
		 "$W/root/usr/lib/vlink/"* "$W/root$LIBDIR/"*; do
		readelf -d "$f" >"$W.readelf" 2>&1 || die "readelf $f: $(cat "$W.readelf")"
		for n in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p' "$W.readelf"); do
			[ -e "$W/root$LIBDIR/$n" ] || die "${f#"$W/root"} needs $n, which ldd did not list"
		done
	done
	mkdir -p "$W/root/var" && ln -s /run "$W/root/var/run"
fi
# the console for the kernel to open before /init (devtmpfs comes later)
mknod -m 600 "$W/root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$W/root/dev/null" c 1 3 2>/dev/null || true

cat >"$W/root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
if [ -x /usr/bin/dpdk-testpmd ]; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
fi
exec </dev/console >/dev/console 2>&1
say() { echo "VLINK-GUEST: $*"; }
say "up: kernel $(uname -r), $(cut -d' ' -f1 /proc/uptime) s after boot"
n=0
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x564c ]; then
		say "pci-vlink device at ${d##*/}"
		n=$((n + 1))
	fi
done
[ $n -gt 0 ] || say "no pci-vlink device"
cmdline=$(cat /proc/cmdline)
cmd= shell=0
for w in $cmdline; do
	case $w in
	vlink.cmd64=*) cmd=$(echo "${w#vlink.cmd64=}" | base64 -d) ;;
	vlink.cmd=\"*) cmd=$(echo "$cmdline" | sed -n 's/.*vlink\.cmd="\([^"]*\)".*/\1/p') ;;
	vlink.cmd=*) cmd=${w#vlink.cmd=} ;;
	vlink.shell=1) shell=1 ;;
	esac
done
if [ -n "$cmd" ]; then
	say "run: $cmd"
	sh -c "$cmd"
	say "exit $?"
else
	say "no vlink.cmd on the kernel command line"
	shell=1
fi
if [ $shell = 1 ]; then
	say "shell (exit it to power off)"
	setsid cttyhack sh
fi
say "poweroff"
sync
poweroff -f
INIT
chmod 755 "$W/root/init"

mkdir -p "$(dirname "$OUT")"
(cd "$W/root" && find . | sort | cpio -o -H newc --quiet) | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(du -k "$OUT" | cut -f1) KiB): busybox, vlink-peer ($PEER)${DPDK_PLUGINS:+, \
dpdk-testpmd ($TESTPMD) and $(ls "$W/root$LIBDIR" | wc -l) libraries in $LIBDIR, \
plugins in /usr/lib/vlink:$dpdk_files}${MODULES:+, modules:$MODULES}"
