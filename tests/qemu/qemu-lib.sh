# Shared by the QEMU tests: everything of tests/integration/lib.sh (private
# dirs, a vlinkd under our control, ok/not_ok/check/expect, cleanup) plus a
# QEMU with pci-vlink under qtest (no guest code runs) and its helpers.
. "$(dirname "$0")/../integration/lib.sh"

QEMU="$BUILDDIR/qemu/qemu-system-x86_64"
QTEST="$BUILDDIR/tests/qemu/vlink-qtest"
FAKED="$BUILDDIR/tests/qemu/vlink-faked"
QT_SOCK="$T/qtest.sock"
QEMU_PID=
# a machine without guest code: qtest drives it
QEMU_BASE="-machine pc -accel qtest -nodefaults -display none -m 128M
	-L /usr/share/seabios -L /usr/share/qemu"

# A QEMU without pci-vlink is a failure, not a skip.
need_qemu() {
	for f in "$QEMU" "$QTEST" "$FAKED"; do
		if [ ! -x "$f" ]; then
			not_ok "$f is missing (make qemu; make check builds it)"
			touch "$T/vlinkd.log"
			finish
		fi
	done
}

# start_qemu QEMU-ARGS...: a QEMU in the background with a qtest socket
# ($QT_SOCK); its stdout and stderr go to $T/qemu.log (QTEST_LOG=FILE
# logs the qtest traffic)
start_qemu() {
	rm -f "$QT_SOCK"
	# shellcheck disable=SC2086
	"$QEMU" $QEMU_BASE -qtest "unix:$QT_SOCK,server=on,wait=off" \
		-qtest-log "${QTEST_LOG:-none}" "$@" \
		>>"$T/qemu.log" 2>&1 &
	QEMU_PID=$!
	BG_PIDS="$BG_PIDS $QEMU_PID"
	i=0
	while ! [ -S "$QT_SOCK" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$QEMU_PID" 2>/dev/null; then
			echo "QEMU did not start:"; sed 's/^/    /' "$T/qemu.log"
			QEMU_PID=
			return 1
		fi
		sleep 0.1
	done
}

# stop_qemu: SIGTERM, wait; returns QEMU's exit status
stop_qemu() {
	[ -n "$QEMU_PID" ] || return 0
	kill "$QEMU_PID"
	wait "$QEMU_PID"
	rc=$?
	QEMU_PID=
	return $rc
}

qemu_alive() { [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; }
qemu_fds() { ls "/proc/$QEMU_PID/fd" | wc -l; }

qt() { "$QTEST" "$QT_SOCK" "$@"; }

# reg NAME: one BAR0 register as `vlink-qtest regs` prints it
reg() { qt regs | awk -v n="$1" '$1 == n { print $2 }'; }

# wait_until SECONDS COMMAND...: poll COMMAND every 0.1 s until it succeeds
wait_until() {
	n=$(($1 * 10)); shift
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le $n ] || return 1
		sleep 0.1
	done
}

# reg_is NAME VALUE
reg_is() { [ "$(reg "$1")" = "$2" ]; }

# expect_log WHAT PATTERN: QEMU's log matches the extended regex PATTERN
# (the ok line quotes what matched)
expect_log() {
	if grep -Eq -- "$2" "$T/qemu.log"; then
		ok "$1: $(grep -Eo -- "$2" "$T/qemu.log" | head -n1)"
	else
		not_ok "$1: no /$2/ in QEMU's log"
	fi
}

# hexof TEXT: the bytes of TEXT as lower-case hex
hexof() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }

# randhex N: N random bytes as hex
randhex() { od -An -v -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# finish_qemu: the QEMU log on failure, QEMU's exit status, then finish
finish_qemu() {
	if qemu_alive; then
		stop_qemu
		rc=$?
		[ $rc = 0 ] && ok "QEMU exits 0 on SIGTERM" || not_ok "QEMU exit status $rc"
	fi
	if [ "$FAILED" != 0 ] && [ -f "$T/qemu.log" ]; then
		echo "--- QEMU log ---"; sed 's/^/    /' "$T/qemu.log"
	fi
	finish
}
