#!/bin/sh
# The vlink demo, as root on a Debian 12 machine: install what is missing,
# build, start vlinkd with its defaults, create a link, show it, and clean
# up.  (The full demo with a QEMU guest and dpdk-testpmd comes with the data
# path, the PMD and the QEMU device.)
#
#   scripts/demo.sh [--keep]     --keep leaves vlinkd and the link running
set -eu
cd "$(dirname "$0")/.."
KEEP=0
case "${1:-}" in
--keep) KEEP=1 ;;
-h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "demo: unknown option '$1'" >&2; exit 2 ;;
esac

t0=$(date +%s)
step() { printf '\n== %s (%d s)\n' "$*" $(( $(date +%s) - t0 )); }

step "installing dependencies (scripts/install-deps.sh)"
sh scripts/install-deps.sh
step "building"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
	mkdir -p m4
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
[ -f Makefile ] || ./configure -q
make -j"$(nproc)" >/dev/null
VLINKD=./vlinkd/vlinkd
CTL=./tools/vlinkctl

started=0
if $CTL status >/dev/null 2>&1; then
	step "vlinkd is already running"
else
	step "starting vlinkd (socket /run/vlink/vlinkd.sock, state /var/lib/vlink)"
	$VLINKD
	started=1
fi
$CTL status

LINK=demo0
step "creating link $LINK (MAC 02:00:00:00:00:01, 2 data channels)"
created=0
if $CTL show $LINK >/dev/null 2>&1; then
	echo "link $LINK exists already"
else
	$CTL create-link $LINK 02:00:00:00:00:01 2
	created=1
fi
step "vlinkctl list"
$CTL list
step "vlinkctl show $LINK"
$CTL show $LINK
step "vlinkctl status (pools: hugepages, or /dev/shm when none are reserved)"
$CTL status

if [ "$KEEP" = 1 ]; then
	step "left running (stop with: kill \$(cat /run/vlink/vlinkd.pid))"
	exit 0
fi
step "cleaning up"
[ "$created" = 1 ] && $CTL delete-link $LINK
if [ "$started" = 1 ]; then
	pid=$(cat /run/vlink/vlinkd.pid)
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	echo "vlinkd stopped"
fi
step "demo done"
