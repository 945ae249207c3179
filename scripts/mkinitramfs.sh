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
set -eu

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
-h|--help) usage; exit 0 ;;
""|-*) usage >&2; exit 2 ;;
esac
OUT=$1
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
trap 'rm -rf "$W" "$W.readelf"' EXIT
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
echo "mkinitramfs: $OUT ($(du -k "$OUT" | cut -f1) KiB): busybox, vlink-peer ($PEER)"
