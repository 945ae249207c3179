#!/bin/sh
# Build the guest kernel driver for pci-vlink, vlink_net.ko
# (libvlinkguest/linux/, docs/kernel-driver.md), out of tree with kbuild
# against the headers of exactly the kernel the guest tests boot, and
# print the module's path (the only line on stdout; progress goes to
# stderr).
#
#   scripts/build-guest-module.sh [--force] [OUTDIR]
#
# OUTDIR   the build's place (default $VLINK_CACHE/guest-module,
#          VLINK_CACHE defaulting to /var/cache/vlink)
# --force  rebuild even when OUTDIR holds a build of the same inputs
#
# The kernel is the guests' (VLINK_KERNEL, else the newest vmlinuz-VER in
# $VLINK_CACHE/kernel, as scripts/lib/guest.sh finds it); its headers are
# the ones scripts/install-deps.sh unpacks into $VLINK_CACHE/kernel/headers
# (linux-headers-VER, its -common part and linux-kbuild; VLINK_KDIR names
# another kernel build directory).  libvlinkguest/linux and the repo's
# proto/ are copied to OUTDIR/src (kbuild writes its objects next to the
# sources) and built there with the compiler the kernel was built with;
# the module is copied to OUTDIR/vlink_net.ko.  OUTDIR/key holds a hash of
# the sources, the headers' .config and Module.symvers, the compiler's
# version and this script: while it matches, a run only prints the path.
set -eu

ME=build-guest-module
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "$ME: $*" >&2; exit 1; }
. "$(dirname "$0")/lib/cached.sh"

FORCE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--force) FORCE=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "$ME: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
[ $# -le 1 ] || { usage >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
SRCDIR=$(cd "$HERE/.." && pwd)
CACHE=${VLINK_CACHE:-/var/cache/vlink}
OUT=${1:-$CACHE/guest-module}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac
MOD=vlink_net.ko

KERNEL=${VLINK_KERNEL:-$(ls "$CACHE"/kernel/vmlinuz-* 2>/dev/null | sort -V | tail -n1)}
[ -n "$KERNEL" ] || die "no guest kernel in $CACHE/kernel (run scripts/install-deps.sh, or set VLINK_CACHE or VLINK_KERNEL)"
KVER=${KERNEL##*/vmlinuz-}
KDIR=${VLINK_KDIR:-$CACHE/kernel/headers/usr/src/linux-headers-$KVER}
[ -f "$KDIR/Module.symvers" ] && [ -f "$KDIR/.config" ] && [ -f "$KDIR/Makefile" ] ||
	die "no headers for the guest kernel $KVER in $KDIR (run scripts/install-deps.sh: it fetches linux-headers-$KVER and linux-kbuild of the same version; or set VLINK_KDIR)"
[ -e "$KDIR/scripts/mod/modpost" ] ||
	die "$KDIR has no kbuild (scripts/mod/modpost): linux-kbuild is missing (run scripts/install-deps.sh)"
CC=$(sed -n 's/^CC = .*)\([^ )]*gcc[^ ]*\)$/\1/p' "$KDIR/.kernelvariables" 2>/dev/null | head -n1)
CC=${CC:-gcc}
command -v "$CC" >/dev/null 2>&1 ||
	die "no $CC, the compiler of kernel $KVER (apt-get install $CC, or run scripts/install-deps.sh)"
command -v make >/dev/null 2>&1 || die "no make (apt-get install build-essential)"
[ -f "$SRCDIR/libvlinkguest/linux/Kbuild" ] || die "no $SRCDIR/libvlinkguest/linux/Kbuild"

KEY=$( {
	echo "$KVER $KDIR"
	"$CC" --version | head -n1
	sha256sum <"$0"
	sha256sum <"$KDIR/.config"
	sha256sum <"$KDIR/Module.symvers"
	cd "$SRCDIR"
	{ find libvlinkguest/linux -type f; ls proto/*.[ch]; } | LC_ALL=C sort | xargs sha256sum
} | sha256sum | cut -c1-16)

cached_begin "$OUT" "$MOD" "$KEY"

echo "$ME: building $MOD for kernel $KVER ($KDIR, key $KEY)" >&2
rm -rf "$OUT/src"
mkdir -p "$OUT/src/proto"
cp -R "$SRCDIR/libvlinkguest/linux/." "$OUT/src/"
cp "$SRCDIR"/proto/*.[ch] "$OUT/src/proto/"
if ! make -C "$KDIR" M="$OUT/src" -j"${VLINK_JOBS:-2}" modules >"$OUT/build.log" 2>&1; then
	grep -E "error|warning" "$OUT/build.log" | head -n 20 >&2 || tail -n 20 "$OUT/build.log" >&2
	die "kbuild failed (log: $OUT/build.log)"
fi
[ -f "$OUT/src/$MOD" ] || die "kbuild left no $MOD (log: $OUT/build.log)"
if grep -q "warning:" "$OUT/build.log"; then
	grep "warning:" "$OUT/build.log" | head -n 10 >&2
	die "the module compiles with warnings (log: $OUT/build.log)"
fi
cached_done "$OUT" "$MOD" "$KEY" "$OUT/src/$MOD"
