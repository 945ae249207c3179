#!/bin/sh
# Build one of DPDK's example programs, unmodified, from Debian's dpdk
# source package against the installed libdpdk (pkg-config libdpdk), with
# the example's own Makefile, and print the binary's path (the only line
# on stdout; progress goes to stderr).
#
#   scripts/build-dpdk-example.sh [--force] NAME [OUTDIR]
#
# NAME     a directory under examples/: l3fwd-power, l2fwd, skeleton,
#          multi_process/simple_mp, ...
# OUTDIR   the build's place (default $VLINK_CACHE/dpdk-examples/NAME,
#          VLINK_CACHE defaulting to /var/cache/vlink)
# --force  rebuild even when OUTDIR holds a build of the same inputs
#
# The source is the one scripts/install-deps.sh unpacks under
# $VLINK_CACHE/src.  examples/NAME (with examples/common, which some
# include) is copied to OUTDIR/src and built there; the binary is copied to
# OUTDIR/APP (APP from the Makefile: skeleton's is basicfwd).  OUTDIR/key
# holds a hash of the example's sources, pkg-config's flags for libdpdk,
# the compiler's version and this script: while it matches, a run only
# prints the path.
set -eu

ME=build-dpdk-example
usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
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
[ $# -ge 1 ] && [ $# -le 2 ] || { usage >&2; exit 2; }
NAME=${1%/}
case "/$NAME/" in
//|*/../*|*/./*|///*) die "'$1' is not an example name (a directory under examples/)" ;;
esac
CACHE=${VLINK_CACHE:-/var/cache/vlink}
OUT=${2:-$CACHE/dpdk-examples/$NAME}
case "$OUT" in /*) ;; *) OUT=$PWD/$OUT ;; esac

. "$(dirname "$0")/lib/dpdk.sh"

for t in cc make pkg-config; do
	command -v $t >/dev/null 2>&1 ||
		die "no $t (apt-get install build-essential pkg-config, or run scripts/install-deps.sh)"
done
pkg-config --exists libdpdk ||
	die "pkg-config finds no libdpdk (apt-get install libdpdk-dev, or run scripts/install-deps.sh)"
SRC=$(dpdk_src_dir) ||
	die "no dpdk source in $CACHE/src (run scripts/install-deps.sh, or set VLINK_CACHE)"
EX=$SRC/examples
[ -f "$EX/$NAME/Makefile" ] || die "no example '$NAME' (no $EX/$NAME/Makefile)"
APP=$(sed -n 's/^APP[[:space:]]*:\{0,1\}=[[:space:]]*\([^[:space:]]*\).*/\1/p' "$EX/$NAME/Makefile" | head -n1)
[ -n "$APP" ] || die "$EX/$NAME/Makefile names no APP"

KEY=$( {
	echo "$SRC"
	pkg-config --modversion --cflags --libs libdpdk
	cc --version | head -n1
	sha256sum <"$0"
	cd "$EX"
	{ find "$NAME" -type f; [ ! -d common ] || find common -type f; } | LC_ALL=C sort | xargs sha256sum
} | sha256sum | cut -c1-16)

cached_begin "$OUT" "$APP" "$KEY"

echo "$ME: building $NAME from $EX/$NAME (libdpdk $(pkg-config --modversion libdpdk), key $KEY)" >&2
rm -rf "$OUT/src"
mkdir -p "$OUT/src/$NAME"
cp -R "$EX/$NAME/." "$OUT/src/$NAME/"
[ ! -d "$EX/common" ] || cp -R "$EX/common" "$OUT/src/"
if ! make -C "$OUT/src/$NAME" >"$OUT/build.log" 2>&1; then
	tail -n 20 "$OUT/build.log" >&2
	die "make failed for $NAME (log: $OUT/build.log)"
fi
[ -x "$OUT/src/$NAME/build/$APP" ] || die "make left no build/$APP (log: $OUT/build.log)"
cached_done "$OUT" "$APP" "$KEY" "$OUT/src/$NAME/build/$APP"
