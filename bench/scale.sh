#!/bin/sh
# bench/scale.sh: vlinkd with many links.  For each size (default 1000 and
# 4000 links, 10 per domain, socket mode, no hugepages): the time to
# create them (vlinkctl create-link, one process each), then each command
# as a user runs it (a vlinkctl process: start, connect, answer, print;
# the median of --repeat runs), a socket-mode attach (vlink-testclient:
# attach, map, write, detach), a vlinkd restart to its first answer, and
# vlinkd's RSS and open fds.  A table on stdout and in --out.
#
#   bench/scale.sh [--sizes 1000,4000] [--per-domain 10] [--repeat 7]
#                  [--out FILE] [--builddir DIR]
set -eu
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${BUILDDIR:-$SRCDIR}
SIZES=1000,4000 PER=10 REPEAT=7 OUT=

usage() {
	cat <<EOF
Usage: bench/scale.sh [OPTION]...
Time vlinkd's commands with many links (socket mode, no hugepages).
  --sizes N,N...   link counts to measure (default 1000,4000)
  --per-domain N   links per domain (default 10; 1-63)
  --repeat N       runs of each command; the median is reported (default 7)
  --out FILE       also write the table to FILE
  --builddir DIR   the vlink build tree (default \$BUILDDIR or the source tree)
  -h, --help       this text
Pools are files in a directory under /var/tmp, allocated in full: 2 MiB
per link (8 GiB of disk for 4000), removed at the end.
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--sizes) SIZES=${2:?}; shift ;;
	--per-domain) PER=${2:?}; shift ;;
	--repeat) REPEAT=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--builddir) BUILDDIR=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "scale.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $PER in *[!0-9]*|'') PER=0 ;; esac
[ "$PER" -ge 1 ] && [ "$PER" -le 63 ] || { echo "scale.sh: --per-domain wants 1-63" >&2; exit 2; }
VLINKD="$BUILDDIR/vlinkd/vlinkd"
VLINKCTL="$BUILDDIR/tools/vlinkctl"
TESTCLIENT="$BUILDDIR/tests/vlink-testclient"
for b in "$VLINKD" "$VLINKCTL" "$TESTCLIENT"; do
	[ -x "$b" ] || { echo "scale.sh: $b is not built (make; make tests/vlink-testclient)" >&2; exit 2; }
done

W=$(mktemp -d /var/tmp/vlink-scale.XXXXXX)
SOCK="$W/run/vlinkd.sock"
DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ctl() { "$VLINKCTL" --socket "$SOCK" "$@"; }
daemon_start() { # POOL
	"$VLINKD" --foreground --run-dir "$W/run" --state-dir "$W/state" --shm-dir "$W/shm" \
		--no-hugepages --pool-size "$1" --segment-size "$1" >>"$W/vlinkd.log" 2>&1 &
	DPID=$!
}
# daemon_stop: SIGTERM, until it has gone (after a restart it is
# first_answer's python's child, not ours)
daemon_stop() {
	kill "$DPID"
	while kill -0 "$DPID" 2>/dev/null; do sleep 0.02; done
	wait "$DPID" 2>/dev/null || true
	DPID=
}
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$DPID/status"; }
fds() { ls "/proc/$DPID/fd" | wc -l; }

# ms_median COMMAND...: wall-clock milliseconds, median of REPEAT runs
# (output discarded; a failed run fails the benchmark)
ms_median() {
	python3 - "$REPEAT" "$@" <<'EOF'
import statistics, subprocess, sys, time
n, cmd = int(sys.argv[1]), sys.argv[2:]
t = []
for _ in range(n):
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    t.append((time.perf_counter() - t0) * 1000)
print("%.1f" % statistics.median(t))
EOF
}

# first_answer POOL: start vlinkd and time the exec to its first
# HelloReply (a Hello every 2 ms), in ms; vlinkd's pid in $W/vlinkd.pid
first_answer() {
	python3 - "$SOCK" "$VLINKD" "$W" "$1" >/dev/null 2>&1 <<'EOF' &
import os, socket, struct, subprocess, sys, time
sock, vlinkd, w, pool = sys.argv[1:]
t0 = time.perf_counter()
log = open(w + "/vlinkd.log", "a")
p = subprocess.Popen([vlinkd, "--foreground", "--run-dir", w + "/run", "--state-dir", w + "/state",
                      "--shm-dir", w + "/shm", "--no-hugepages", "--pool-size", pool,
                      "--segment-size", pool], stdout=log, stderr=log)
open(w + "/vlinkd.pid", "w").write(str(p.pid))
hello = b'\x08\x01\x52\x04\x08\x01\x10\x02'
while True:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock)
        s.sendall(struct.pack('<HBBI', 0x4c56, 1, 0, len(hello)) + hello)
        if len(s.recv(8)) == 8:
            break
    except OSError:
        pass
    if p.poll() is not None or time.perf_counter() - t0 > 60:
        sys.exit("vlinkd did not answer")
    time.sleep(0.002)
open(w + "/first.ms", "w").write("%.0f" % ((time.perf_counter() - t0) * 1000))
p.wait()
EOF
	_py=$!
	while [ ! -s "$W/first.ms" ]; do
		kill -0 "$_py" 2>/dev/null || { echo "scale.sh: vlinkd did not restart" >&2; exit 1; }
		sleep 0.01
	done
	cat "$W/first.ms"; rm -f "$W/first.ms"
}

echo "| links (domains x links) | create, all (s) | create, last 100 (ms each) | list | list --json | show | status | status --json | attach (socket peer) | restart to first answer (ms) | RSS (MiB) | fds |" >"$W/table"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" >>"$W/table"
base=
for N in $(echo "$SIZES" | tr ',' ' '); do
	D=$(( (N + PER - 1) / PER ))
	POOL=$((PER * 2))M
	rm -rf "$W/run" "$W/state" "$W/shm"
	mkdir -p "$W/shm"
	daemon_start "$POOL"
	ctl --wait 10 status >/dev/null
	[ -n "$base" ] || base="$(rss_mib) MiB, $(fds) fds with no link"
	echo "== $N links: $D domains x $PER ($(date +%T))" >&2
	t0=$(date +%s.%N) k=0 tl=
	d=1
	while [ $k -lt "$N" ]; do
		l=1
		while [ $l -le "$PER" ] && [ $k -lt "$N" ]; do
			[ $k = $((N - 100)) ] && tl=$(date +%s.%N)
			ctl create-link "d$d.l$l" "$(printf '02:00:00:%02x:%02x:%02x' $((d / 256)) $((d % 256)) "$l")" 1 \
				--domain "vm$d" --ring-size 64 >/dev/null
			l=$((l + 1)) k=$((k + 1))
		done
		d=$((d + 1))
	done
	t1=$(date +%s.%N)
	create=$(echo "$t1 $t0" | awk '{ printf "%.1f", $1 - $2 }')
	last=$(echo "$t1 ${tl:-$t0}" | awk -v n="$N" '{ printf "%.1f", ($1 - $2) * 1000 / (n < 100 ? n : 100) }')
	[ "$(ctl list | tail -n +2 | wc -l)" = "$N" ] || { echo "scale.sh: list does not show $N links" >&2; exit 1; }
	last_link="d$((D)).l$(( N - (D - 1) * PER ))"
	list=$(ms_median "$VLINKCTL" --socket "$SOCK" list)
	listj=$(ms_median "$VLINKCTL" --socket "$SOCK" --json list)
	show=$(ms_median "$VLINKCTL" --socket "$SOCK" show "$last_link")
	status=$(ms_median "$VLINKCTL" --socket "$SOCK" status)
	statusj=$(ms_median "$VLINKCTL" --socket "$SOCK" --json status)
	attach=$(ms_median "$TESTCLIENT" "$SOCK" attach "$last_link" peer write 1)
	rss=$(rss_mib) nfd=$(fds)
	daemon_stop
	restart=$(first_answer "$POOL")
	DPID=$(cat "$W/vlinkd.pid") # first_answer's python's child
	[ "$(ctl list | tail -n +2 | wc -l)" = "$N" ] || { echo "scale.sh: $N links not all back after the restart" >&2; exit 1; }
	rss2=$(rss_mib)
	daemon_stop
	echo "| $N ($D x $PER) | $create | $last | $list | $listj | $show | $status | $statusj | $attach | $restart | $rss ($rss2 after the restart) | $nfd |" >>"$W/table"
	rm -rf "$W/shm" "$W/state"
done
{
	echo "Each command: milliseconds, wall clock of one vlinkctl (or vlink-testclient) process, median of $REPEAT runs."
	echo "vlinkd at the start: $base."
	echo
	cat "$W/table"
} >"$W/out"
cat "$W/out"
[ -z "$OUT" ] || cp "$W/out" "$OUT"
