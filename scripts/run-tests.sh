#!/bin/sh
# Run every vlink test on a Debian 12 machine, as root: install what is
# missing, build, run the unit and integration tests, then run them again
# with valgrind (unit tests, and vlinkd under the daemon tests), then run
# each fuzz target $FUZZ_SECONDS seconds (default 30; tests/fuzz/README.md).
#
#   scripts/run-tests.sh [--no-deps] [--no-valgrind] [--no-fuzz]
#
# Prints one line per test program and ends with "tests: N passed, N failed".
set -eu
cd "$(dirname "$0")/.."
DEPS=1 VG=1 FUZZ=1
for a in "$@"; do
	case "$a" in
	--no-deps) DEPS=0 ;;
	--no-valgrind) VG=0 ;;
	--no-fuzz) FUZZ=0 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-tests: unknown option '$a'" >&2; exit 2 ;;
	esac
done

t0=$(date +%s)
stamp() { echo "== $* ($(( $(date +%s) - t0 )) s)"; }

if [ "$DEPS" = 1 ]; then
	stamp "dependencies"
	sh scripts/install-deps.sh
fi
stamp "build"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	mkdir -p m4
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
[ -f Makefile ] || ./configure -q --enable-werror
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" check TESTS= >/dev/null

stamp "tests"
# serial: the hugepage test changes the machine's hugepage reserve
rc=0
make -j1 check >check.out 2>&1 || rc=$?
# -a: a log may hold a crashing input's bytes; grep would then only say
# "binary file matches"
results=$(grep -aE '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR): ' check.out || true)
echo "$results"
pass=$(echo "$results" | grep -c '^PASS: ' || true)
fail=$(echo "$results" | grep -Evc '^(PASS: |$)' || true)
# what each program checked
for f in tests/unit/check_*.log; do
	[ -e "$f" ] && sed -n "s|^\([0-9]*%: Checks: .*\)|  $(basename "$f" .log): \1|p" "$f"
done
for f in tests/integration/*.log tests/guest/*.log tests/fault/*.log; do
	[ -e "$f" ] && grep -aE '^[a-z-]+: [0-9]+ (cases )?passed, [0-9]+ failed$' "$f" | sed 's/^/  /'
done
# the fault matrix's recovery times
for f in tests/fault/*.log; do
	[ -e "$f" ] && grep -aE '^# (\||seed)' "$f" | sed "s|^# |  $(basename "$f" .log): |"
done
# the logs of what did not pass
for t in $(echo "$results" | sed -n 's/^\(FAIL\|SKIP\|ERROR\|XPASS\): \([^ ]*\).*/\2/p'); do
	echo "--- ${t%.sh}.log"; cat "${t%.sh}.log"
done
[ "$rc" = 0 ] || [ "$fail" != 0 ] || { echo "make check failed:"; tail -n 30 check.out; fail=1; }

if [ "$VG" = 1 ]; then
	stamp "valgrind"
	vg=$(make -s check-valgrind 2>&1) || true
	vgres=$(echo "$vg" | grep -aE '^(PASS|FAIL): valgrind' || true)
	vfail=$(echo "$vgres" | grep -c '^FAIL: valgrind' || true)
	# a stage that ran nothing under valgrind has checked nothing
	if [ -z "$vgres" ]; then
		vgres="FAIL: valgrind (make check-valgrind ran no test)"
		vfail=1
		echo "$vg" | tail -n 20
	fi
	echo "$vgres"
	pass=$((pass + $(echo "$vgres" | grep -c '^PASS: valgrind' || true)))
	fail=$((fail + vfail))
	for f in $(echo "$vg" | sed -n 's/^FAIL: valgrind \([^ ]*\).*/\1.vg.log/p'); do
		echo "--- $f"; cat "$f"
	done
fi
if [ "$FUZZ" = 1 ]; then
	stamp "fuzz"
	fz=$(make -s check-fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}" 2>&1) || true
	fzres=$(echo "$fz" | grep -aE '^(PASS|FAIL): fuzz' || true)
	fzfail=$(echo "$fzres" | grep -c '^FAIL: ' || true)
	if [ -z "$fzres" ]; then
		fzres="FAIL: fuzz (make check-fuzz ran no target)"
		fzfail=1
	fi
	echo "$fzres"
	pass=$((pass + $(echo "$fzres" | grep -c '^PASS: ' || true)))
	fail=$((fail + fzfail))
	[ "$fzfail" = 0 ] || echo "$fz"
fi
stamp "done"
echo "tests: $pass passed, $fail failed"
[ "$fail" = 0 ]
