#!/bin/sh
# Build QEMU 7.2 (Debian's source package) with the pci-vlink device and
# install qemu-system-x86_64 into the build tree.
#
#   qemu/build-qemu.sh [--srcdir DIR] [--builddir DIR] [--jobs N] [--force]
#                      [--print-key]
#
# --srcdir    the vlink source tree (default: the tree this script is in)
# --builddir  the vlink build tree: proto/vlink.pb-c.[ch] are taken from it
#             (run `make` first) and the binary goes to
#             BUILDDIR/qemu/qemu-system-x86_64 (default: --srcdir)
# --jobs N    parallel compile jobs (default 2, or $VLINK_QEMU_JOBS)
# --force     rebuild even when the cache has this build
# --print-key print the cache key and exit
#
# The QEMU source comes from $VLINK_CACHE/src/qemu-7.2* (VLINK_CACHE
# defaults to /var/cache/vlink; scripts/install-deps.sh puts it there).  It
# is copied once to $VLINK_CACHE/qemu-build/tree, the device is added to
# the copy (hw/misc/pci-vlink.c, the protocol files in hw/misc/vlink/, a
# Kconfig entry and a meson line), the fixes in qemu/patches/ are applied
# to it, and only the x86_64 system emulator is configured and built, in
# $VLINK_CACHE/qemu-build/build.  Finished binaries are kept in
# $VLINK_CACHE/qemu-build/bin/KEY, KEY being a hash of the device source,
# the protocol files, the patches, this script and the QEMU version: a
# second run with the same inputs only installs the cached binary
# (seconds), and a changed device recompiles only what changed.  The first
# build takes about 4 minutes on 2 cores.
set -eu

ME=build-qemu
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
SRCDIR=$(cd "$SCRIPT_DIR/.." && pwd)
BUILDDIR=
JOBS=${VLINK_QEMU_JOBS:-2}
FORCE=0
PRINT_KEY=0

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "$ME: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--srcdir) [ $# -ge 2 ] || die "--srcdir needs a directory"; SRCDIR=$(cd "$2" && pwd); shift ;;
	--srcdir=*) SRCDIR=$(cd "${1#*=}" && pwd) ;;
	--builddir) [ $# -ge 2 ] || die "--builddir needs a directory"; BUILDDIR=$2; shift ;;
	--builddir=*) BUILDDIR=${1#*=} ;;
	--jobs|-j) [ $# -ge 2 ] || die "--jobs needs a number"; JOBS=$2; shift ;;
	--jobs=*) JOBS=${1#*=} ;;
	--force) FORCE=1 ;;
	--print-key) PRINT_KEY=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$ME: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$BUILDDIR" ] || BUILDDIR=$SRCDIR
mkdir -p "$BUILDDIR/qemu"
BUILDDIR=$(cd "$BUILDDIR" && pwd)
case "$JOBS" in ''|*[!0-9]*) die "--jobs wants a number, not '$JOBS'" ;; esac

CACHE=${VLINK_CACHE:-/var/cache/vlink}
WORK=$CACHE/qemu-build
OUT=$BUILDDIR/qemu/qemu-system-x86_64
T0=$(date +%s)
say() { printf '%s: [%3ds] %s\n' "$ME" $(( $(date +%s) - T0 )) "$*"; }

# --- inputs -------------------------------------------------------------
QSRC=${VLINK_QEMU_SRC:-}
if [ -z "$QSRC" ]; then
	for d in "$CACHE"/src/qemu-7.2*; do
		[ -f "$d/VERSION" ] && QSRC=$d
	done
fi
[ -n "$QSRC" ] && [ -f "$QSRC/VERSION" ] ||
	die "no QEMU 7.2 source in $CACHE/src (run scripts/install-deps.sh, or set VLINK_CACHE)"
QVER=$(cat "$QSRC/VERSION")
case "$QVER" in 7.2*) ;; *) die "$QSRC is QEMU $QVER, not 7.2" ;; esac
QDEB=$(head -n1 "$QSRC/debian/changelog" 2>/dev/null || true)

# Files copied into hw/misc/vlink/ (the device's own copy of the protocol
# code; nothing of it is duplicated in the repo).
PROTO_SRC="vlink_msg.c vlink_msg.h vlink_frame.c vlink_frame.h vlink_valid.c
	vlink_valid.h vlink_error.c vlink_error.h vlink_shm.h vlink_pci.h"
PROTO_GEN="vlink.pb-c.c vlink.pb-c.h"
DEVICE=$SRCDIR/qemu/pci-vlink.c
[ -f "$DEVICE" ] || die "$DEVICE is missing"
for f in $PROTO_SRC; do
	[ -f "$SRCDIR/proto/$f" ] || die "$SRCDIR/proto/$f is missing"
done
for f in $PROTO_GEN; do
	[ -f "$BUILDDIR/proto/$f" ] ||
		die "$BUILDDIR/proto/$f is missing: run 'make' in $BUILDDIR first"
done

# fixes Debian's QEMU 7.2 lacks (qemu/patches/README.md), one file each
PATCHES=$(ls "$SRCDIR"/qemu/patches/*.patch 2>/dev/null || true)
for p in $PATCHES; do
	[ "$(grep -c '^+++ ' "$p")" = 1 ] || die "$p: a patch here changes one file"
done

CONFIGURE_OPTS="--prefix=/usr --target-list=x86_64-softmmu --without-default-features
	--enable-kvm --enable-vhost-user --enable-vhost-net --disable-werror --meson=meson"
CONFIGURE_OPTS=$(echo $CONFIGURE_OPTS)

KEY=$( {
	echo "qemu $QVER $QDEB"
	echo "configure $CONFIGURE_OPTS"
	protoc-c --version 2>/dev/null | head -n1 || true
	for f in "$0" "$DEVICE" "$SRCDIR/proto/vlink.proto" $PATCHES; do sha256sum <"$f"; done
	for f in $PROTO_SRC; do sha256sum <"$SRCDIR/proto/$f"; done
	for f in $PROTO_GEN; do sha256sum <"$BUILDDIR/proto/$f"; done
} | sha256sum | cut -c1-16)
if [ "$PRINT_KEY" = 1 ]; then
	echo "$KEY"
	exit 0
fi

mkdir -p "$WORK/bin" 2>/dev/null && [ -w "$WORK" ] ||
	die "cannot write $WORK (set VLINK_CACHE to a writable directory)"

install_bin() {
	rm -f "$OUT.tmp"
	if ! [ "$1" -ef "$OUT" ]; then
		ln "$1" "$OUT.tmp" 2>/dev/null || cp "$1" "$OUT.tmp"
		mv -f "$OUT.tmp" "$OUT"
	fi
	touch "$OUT"   # newer than its inputs, for make
	echo "$KEY" >"$OUT.key"
}

# One build at a time per cache (two makes, or make -j and a manual run).
exec 9>"$WORK/lock"
if ! flock -n 9; then
	say "waiting for another build-qemu run (lock $WORK/lock)"
	flock 9
fi

if [ "$FORCE" = 0 ] && [ -x "$WORK/bin/$KEY/qemu-system-x86_64" ]; then
	install_bin "$WORK/bin/$KEY/qemu-system-x86_64"
	say "cached build $KEY installed as $OUT"
	exit 0
fi
say "building QEMU $QVER with pci-vlink (key $KEY) from $QSRC"

# --- the source tree copy -------------------------------------------------
TREE=$WORK/tree
BUILD=$WORK/build
SRCSTAMP="$QSRC $QVER $QDEB"
if [ ! -f "$TREE/.vlink-source" ] || [ "$(cat "$TREE/.vlink-source")" != "$SRCSTAMP" ]; then
	say "copying the QEMU source to $TREE"
	rm -rf "$TREE" "$TREE.tmp" "$BUILD"
	mkdir -p "$TREE.tmp"
	cp -a "$QSRC/." "$TREE.tmp/"   # the contents: $QSRC may be a symlink
	echo "$SRCSTAMP" >"$TREE.tmp/.vlink-source"
	mv "$TREE.tmp" "$TREE"
fi

# copy FILE DEST: only when the content differs, so that ninja rebuilds
# only what changed
put() {
	if ! cmp -s "$1" "$2"; then
		cp "$1" "$2.tmp" && mv -f "$2.tmp" "$2"
	fi
}

say "adding pci-vlink to hw/misc"
mkdir -p "$TREE/hw/misc/vlink"
put "$DEVICE" "$TREE/hw/misc/pci-vlink.c"
for f in $PROTO_SRC; do put "$SRCDIR/proto/$f" "$TREE/hw/misc/vlink/$f"; done
for f in $PROTO_GEN; do put "$BUILDDIR/proto/$f" "$TREE/hw/misc/vlink/$f"; done

# each patched file made afresh from the source package's, and one a patch
# no longer touches put back as it was
say "applying qemu/patches: $(echo $PATCHES | sed "s|$SRCDIR/qemu/patches/||g")"
touch "$TREE/.vlink-patched"
for f in $(cat "$TREE/.vlink-patched"); do put "$QSRC/$f" "$TREE/$f"; done
: >"$TREE/.vlink-patched"
for p in $PATCHES; do
	f=$(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p")
	cp "$QSRC/$f" "$TREE/$f.vlink"
	patch -s -N "$TREE/$f.vlink" <"$p" || die "$p does not apply to $QSRC/$f"
	put "$TREE/$f.vlink" "$TREE/$f"
	rm -f "$TREE/$f.vlink" "$TREE/$f.vlink.orig"
	echo "$f" >>"$TREE/.vlink-patched"
done

MARK="# vlink: pci-vlink, added by vlink's qemu/build-qemu.sh"
# glue FILE TEXT: FILE as in the source package plus TEXT at the end
glue() {
	{ cat "$QSRC/$1"; printf '\n%s\n%s\n' "$MARK" "$2"; } >"$TREE/$1.vlink"
	put "$TREE/$1.vlink" "$TREE/$1"
	rm -f "$TREE/$1.vlink"
}
glue hw/misc/Kconfig "config PCI_VLINK
    bool
    default y if PCI_DEVICES
    depends on PCI"
glue hw/misc/meson.build "softmmu_ss.add(when: 'CONFIG_PCI_VLINK', if_true: [files(
  'pci-vlink.c',
  'vlink/vlink.pb-c.c',
  'vlink/vlink_msg.c',
  'vlink/vlink_frame.c',
  'vlink/vlink_valid.c',
  'vlink/vlink_error.c',
), dependency('libprotobuf-c')])"

# --- configure ---------------------------------------------------------------
if [ ! -f "$BUILD/.vlink-configure" ] || [ "$(cat "$BUILD/.vlink-configure")" != "$CONFIGURE_OPTS" ]; then
	say "configuring: $CONFIGURE_OPTS"
	rm -rf "$BUILD"
	mkdir -p "$BUILD"
	# Debian's python3 and meson, not whatever python3 comes first in PATH
	if ! (cd "$BUILD" && PATH=/usr/bin:/bin:$PATH "$TREE/configure" $CONFIGURE_OPTS) \
		>"$WORK/configure.log" 2>&1; then
		tail -n 30 "$WORK/configure.log" >&2
		rm -rf "$BUILD"
		die "configure failed (log: $WORK/configure.log)"
	fi
	echo "$CONFIGURE_OPTS" >"$BUILD/.vlink-configure"
fi

# --- build -----------------------------------------------------------------
say "compiling with ninja -j$JOBS (log: $WORK/build.log)"
rm -f "$WORK/ninja.rc"
{
	PATH=/usr/bin:/bin:$PATH ninja -C "$BUILD" -j"$JOBS" qemu-system-x86_64 2>&1
	echo $? >"$WORK/ninja.rc"
} | {
	last=-1
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$WORK/build.log.new"
		case "$line" in
		\[*/*\]*)
			n=${line#\[}; n=${n%%/*}; m=${line#*/}; m=${m%%\]*}
			case "$n$m" in *[!0-9]*) continue ;; esac
			[ "$m" -gt 0 ] || continue
			p=$(( n * 10 / m * 10 ))
			if [ "$p" != "$last" ]; then
				last=$p
				say "compiled $n of $m ($p%)"
			fi
			;;
		esac
	done
}
mv -f "$WORK/build.log.new" "$WORK/build.log" 2>/dev/null || : >"$WORK/build.log"
rc=$(cat "$WORK/ninja.rc" 2>/dev/null || echo 1)
if [ "$rc" != 0 ]; then
	grep -E -A12 'error:|FAILED' "$WORK/build.log" | head -n 60 >&2 || tail -n 40 "$WORK/build.log" >&2
	die "the QEMU build failed (log: $WORK/build.log)"
fi
grep -q '^#define CONFIG_PCI_VLINK 1' "$BUILD/x86_64-softmmu-config-devices.h" ||
	die "CONFIG_PCI_VLINK is not enabled in $BUILD/x86_64-softmmu-config-devices.h"

rm -rf "$WORK/bin/$KEY.tmp"
mkdir -p "$WORK/bin/$KEY.tmp"
cp "$BUILD/qemu-system-x86_64" "$WORK/bin/$KEY.tmp/"
rm -rf "$WORK/bin/$KEY"
mv "$WORK/bin/$KEY.tmp" "$WORK/bin/$KEY"
# keep the three newest builds
ls -1td "$WORK"/bin/*/ 2>/dev/null | tail -n +4 | while IFS= read -r d; do rm -rf "$d"; done
install_bin "$WORK/bin/$KEY/qemu-system-x86_64"
say "built and installed $OUT"
