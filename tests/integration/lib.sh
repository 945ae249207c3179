# Shared by the integration tests: a private socket, state dir and memory
# dir per test, a vlinkd under our control, assertions, cleanup on exit.
#
# Environment: BUILDDIR (default: the tree above this file), VLINKD_WRAPPER
# (e.g. "valgrind ..." to run the daemon under valgrind: the test then also
# fails on any valgrind error in the daemon).
set -u

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR}
VLINKD="$BUILDDIR/vlinkd/vlinkd"
VLINKCTL="$BUILDDIR/tools/vlinkctl"
TESTCLIENT="$BUILDDIR/tests/vlink-testclient"
NAME=$(basename "$0" .sh)

T=$(mktemp -d "/tmp/vlink-$NAME.XXXXXX")
chmod 755 "$T"
SOCK="$T/run/vlinkd.sock"
PASSED=0
FAILED=0
DAEMON_PID=
BG_PIDS=

cleanup() {
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	# a hugetlbfs the daemon mounted under our run dir
	for m in $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts); do
		umount "$m" 2>/dev/null
	done
	rm -rf "$T" ${CLEANUP_PATHS:-}
}
trap cleanup EXIT
trap 'exit 1' INT TERM PIPE

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: COMMAND must succeed
check() {
	d=$1; shift
	if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/    /' "$T/out"; fi
}

# expect RC PATTERN DESCRIPTION COMMAND...: exit status RC and output
# (stdout+stderr) matching the extended regex PATTERN
expect() {
	rc=$1 pat=$2 d=$3; shift 3
	"$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" = "$rc" ] && grep -Eq -- "$pat" "$T/out"; then
		ok "$d"
	else
		not_ok "$d (exit $got, want $rc; output must match /$pat/)"
		sed 's/^/    /' "$T/out"
	fi
}

# expect_line FILE REGEX DESCRIPTION: a line of FILE matches the extended
# regex (else the whole file is shown)
expect_line() {
	if grep -Eq -- "$2" "$1"; then ok "$3"; else not_ok "$3"; sed 's/^/    /' "$1"; fi
}

ctl() { "$VLINKCTL" --socket "$SOCK" "$@"; }

# json_get FILTER: evaluate a Python expression on the JSON in $T/out (j)
json_get() { python3 -c "import json,sys; j=json.load(open('$T/out')); print($1)"; }

# start_daemon [extra vlinkd options]
start_daemon() {
	mkdir -p "$T/shm"
	vg=
	if [ -n "${VLINKD_WRAPPER:-}" ]; then
		n=$(ls "$T"/valgrind.*.log 2>/dev/null | wc -l)
		vg="$VLINKD_WRAPPER --log-file=$T/valgrind.$n.log"
	fi
	$vg "$VLINKD" --foreground --run-dir "$T/run" --state-dir "$T/state" \
		--shm-dir "$T/shm" "$@" >>"$T/vlinkd.log" 2>&1 &
	DAEMON_PID=$!
	i=0
	while ! "$VLINKCTL" --socket "$SOCK" status >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ] || ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			echo "vlinkd did not start:"; sed 's/^/    /' "$T/vlinkd.log"
			DAEMON_PID=
			return 1
		fi
		sleep 0.1
	done
}

# stop_daemon [SIGNAL]: stop it and wait; returns the daemon's exit status
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill "-${1:-TERM}" "$DAEMON_PID"
	wait "$DAEMON_PID"
	rc=$?
	DAEMON_PID=
	return $rc
}

# Waiting for a condition, never for a guess of how long it takes.  A test
# may define until_abort (e.g. "the program under test has died"): the
# waits below then give up at once when it succeeds.
until_abort() { return 1; }

# until_ok SECONDS COMMAND...: run COMMAND (its output discarded) every
# 0.1 s until it succeeds; 1 after SECONDS, or when until_abort succeeds
until_ok() {
	_umax=$1; shift
	_ui=0
	until "$@" >/dev/null 2>&1; do
		_ui=$((_ui + 1))
		[ $_ui -gt $((_umax * 10)) ] && return 1
		until_abort && return 1
		sleep 0.1
	done
}

# wait_exit PID SECONDS: until the process exits: its status in $RC; after
# SECONDS, or when until_abort succeeds, it is killed, RC=killed and 1
wait_exit() {
	_wi=0
	while kill -0 "$1" 2>/dev/null; do
		_wi=$((_wi + 1))
		if [ $_wi -gt $(($2 * 10)) ] || until_abort; then
			kill "$1" 2>/dev/null; wait "$1" 2>/dev/null
			RC=killed
			return 1
		fi
		sleep 0.1
	done
	wait "$1"
	RC=$?
}

# daemon_fds: number of open fds of the running daemon
daemon_fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: $NAME needs root"
		exit 77
	fi
}

# finish: valgrind verdict, summary line, exit status
finish() {
	if [ -n "$DAEMON_PID" ]; then
		stop_daemon || not_ok "vlinkd exited with an error at the end"
	fi
	for f in "$T"/valgrind.*.log; do
		[ -e "$f" ] || continue
		# run with -q: any output is an error or a leak
		if [ -s "$f" ]; then
			not_ok "valgrind clean ($(basename "$f"))"; sed 's/^/    /' "$f"
		else
			ok "valgrind clean ($(basename "$f"))"
		fi
	done
	if [ "$FAILED" != 0 ]; then
		echo "--- vlinkd log ---"; sed 's/^/    /' "$T/vlinkd.log"
	fi
	echo "$NAME: $PASSED passed, $FAILED failed"
	[ "$FAILED" = 0 ]
	exit $?
}
