#!/bin/sh
# Install everything vlink needs on a Debian 12 machine, as root.
#
#   scripts/install-deps.sh [--no-sources]
#
# Installs the Debian packages the build, the tests, the PMD and the QEMU
# device need, adds deb-src entries for Debian's archive, and unpacks Debian's
# dpdk and qemu source packages plus a Debian kernel and the headers and
# kbuild of exactly that kernel (for the guest kernel module) into a cache
# directory outside the repo ($VLINK_CACHE, default /var/cache/vlink).
# Idempotent: a second run only checks and returns in about a second.
set -eu

CACHE=${VLINK_CACHE:-/var/cache/vlink}
WANT_SOURCES=1
case "${1:-}" in
--no-sources) WANT_SOURCES=0 ;;
-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "install-deps: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: must run as root (apt-get install)" >&2
	exit 1
fi

PKGS="build-essential autoconf automake libtool pkg-config
      libuv1-dev libprotobuf-c-dev protobuf-c-compiler check valgrind
      libdpdk-dev dpdk-dev meson ninja-build python3 python3-venv
      libglib2.0-dev libpixman-1-dev seabios qemu-system-data busybox-static gnuplot-nox cpio
      dpkg-dev kmod procps psmisc iproute2 util-linux
      clang libclang-rt-14-dev
      openvswitch-switch-dpdk tshark ethtool"

t0=$(date +%s)
step() { printf 'install-deps: %s\n' "$*"; }

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in *" installed") ;; *) missing="$missing $p" ;; esac
done

SRCLIST=/etc/apt/sources.list.d/vlink-deb-src.sources
need_update=0
if [ "$WANT_SOURCES" = 1 ] && [ ! -f "$SRCLIST" ]; then
	# Mirror the deb entries of the machine's own sources as deb-src.
	uris=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[ -n "$uris" ] || uris=http://deb.debian.org/debian
	cat >"$SRCLIST" <<EOS
Types: deb-src
URIs: $uris
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
	need_update=1
fi
[ -n "$missing" ] && need_update=1

if [ "$need_update" = 1 ]; then
	step "apt-get update"
	apt-get update -qq
fi
if [ -n "$missing" ]; then
	step "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$WANT_SOURCES" = 1 ]; then
	mkdir -p "$CACHE/src"
	for src in dpdk qemu; do
		if ! ls -d "$CACHE/src/$src"-*/ >/dev/null 2>&1; then
			step "fetching Debian source package $src into $CACHE/src"
			(cd "$CACHE/src" && apt-get source -qq -o APT::Sandbox::User=root "$src" >/dev/null)
		fi
	done
	# A Debian kernel for the guest tests, unpacked rather than installed so
	# that no initramfs or boot-loader hooks run on this machine, with the
	# modules the guests load (KMODS: uio_pci_generic, to bind pci-vlink
	# for DPDK's PCI bus; virtio-net-pci's driver stack, for the guests of
	# bench/guest-netdev.sh); both from the same package.  A cached kernel
	# that lacks some of the modules gets them from its own package
	# (linux-image-VER), the rest of the cache left as it is.
	KMODS="uio uio_pci_generic virtio virtio_ring virtio_pci_legacy_dev
	       virtio_pci_modern_dev virtio_pci failover net_failover virtio_net"
	kmods_missing() {
		for m in $KMODS; do
			ls "$CACHE/kernel/modules/$m.ko"* >/dev/null 2>&1 || echo "$m"
		done
	}
	kpkg=
	if ! ls "$CACHE"/kernel/vmlinuz-* >/dev/null 2>&1; then
		kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			sed -n 's/.*Depends: \(linux-image-[0-9][^ ]*\)/\1/p' | head -n1)
		[ -n "$kpkg" ] || { echo "install-deps: cannot resolve linux-image-amd64" >&2; exit 1; }
		rm -rf "$CACHE/kernel"
	elif [ -n "$(kmods_missing)" ]; then
		kpkg=$(ls "$CACHE"/kernel/vmlinuz-* | sort -V | tail -n1)
		kpkg=linux-image-${kpkg##*/vmlinuz-}
	fi
	if [ -n "$kpkg" ]; then
		step "fetching kernel $kpkg into $CACHE/kernel (modules: $(kmods_missing | paste -sd " " -))"
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg" && dpkg-deb -x ./*.deb root)
		mkdir -p "$CACHE/kernel/modules"
		ls "$CACHE"/kernel/vmlinuz-* >/dev/null 2>&1 || cp "$tmp"/root/boot/vmlinuz-* "$CACHE/kernel/"
		for m in $(kmods_missing); do
			f=$(find "$tmp"/root/lib/modules -name "$m.ko*" | head -n1)
			[ -n "$f" ] || { echo "install-deps: $kpkg has no module $m" >&2; rm -rf "$tmp"; exit 1; }
			cp "$f" "$CACHE/kernel/modules/"
		done
		rm -rf "$tmp"
	fi
	# The headers of that very kernel, for the guest kernel module
	# (scripts/build-guest-module.sh): linux-headers-VER (its .config,
	# Module.symvers and generated headers), linux-headers-VER's -common
	# part and the linux-kbuild it depends on (scripts, modpost, objtool),
	# all of the headers' own version, unpacked under $CACHE/kernel/headers
	# (dpkg -x: nothing is installed).  The -VER Makefile includes the
	# -common one by its absolute path under /usr/src: pointed at the copy.
	# The compiler the kernel was built with (its linux-compiler-* package,
	# which only pulls in gcc-N) is installed if missing.  A kernel fetched
	# again (above) takes its headers with it: the whole directory goes.
	kver=$(ls "$CACHE"/kernel/vmlinuz-* | sort -V | tail -n1)
	kver=${kver##*/vmlinuz-}
	KH=$CACHE/kernel/headers
	if [ ! -f "$KH/usr/src/linux-headers-$kver/Module.symvers" ]; then
		hver=$(apt-cache show --no-all-versions "linux-headers-$kver" 2>/dev/null |
			sed -n 's/^Version: //p' | head -n1)
		if [ -z "$hver" ]; then
			echo "install-deps: no linux-headers-$kver in the archive for the cached kernel" \
				"$CACHE/kernel/vmlinuz-$kver (Debian moved on to a newer one): remove" \
				"$CACHE/kernel and run this again to fetch the current kernel with its headers" >&2
			exit 1
		fi
		deps=$(apt-cache show --no-all-versions "linux-headers-$kver" |
			sed -n 's/^Depends: //p' | head -n1 | tr ',' '\n' | sed 's/^ *//; s/ .*//')
		kbuild=$(echo "$deps" | grep '^linux-kbuild-' | head -n1)
		common=$(echo "$deps" | grep '^linux-headers-.*-common$' | head -n1)
		compiler=$(echo "$deps" | grep '^linux-compiler-' | head -n1)
		[ -n "$kbuild" ] && [ -n "$common" ] ||
			{ echo "install-deps: linux-headers-$kver names no linux-kbuild or -common package" >&2; exit 1; }
		if [ -n "$compiler" ] &&
		   ! dpkg-query -W -f='${Status}' "$compiler" 2>/dev/null | grep -q " installed"; then
			step "installing $compiler (the guest kernel's compiler)"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				"$compiler" >/dev/null
		fi
		step "fetching linux-headers-$kver, $common and $kbuild $hver into $KH"
		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "linux-headers-$kver=$hver" \
			"$common=$hver" "$kbuild=$hver" && for d in ./*.deb; do dpkg-deb -x "$d" root; done)
		sed -i "s|^include /usr/src/|include $KH/usr/src/|" "$tmp/root/usr/src/linux-headers-$kver/Makefile"
		rm -rf "$KH"
		mkdir -p "$KH"
		mv "$tmp/root/usr" "$KH/"
		rm -rf "$tmp"
	fi
fi

step "done in $(( $(date +%s) - t0 )) s (cache: $CACHE)"
