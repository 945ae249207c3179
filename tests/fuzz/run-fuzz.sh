#!/bin/sh
# Run libFuzzer targets, each for a while, from its corpus: one PASS/FAIL
# line per target.
#
#   tests/fuzz/run-fuzz.sh [--seconds N] [--corpus DIR] [--out DIR] TARGET...
#
# TARGET is a fuzz binary (tests/fuzz/fuzz_frame).  Its seeds are read from
# CORPUS/NAME (never written); inputs it finds interesting go to
# OUT/work/NAME (kept between runs), a failing input to
# OUT/artifacts/NAME/, its output to OUT/NAME.log.  A crash, a leak, a
# sanitizer report, an invariant broken or an input running longer than
# $FUZZ_TIMEOUT seconds (default 25) fails the target, and its output is
# printed.  Exit status: 0 if every target passed.
set -u
SECONDS_EACH=60 CORPUS=tests/fuzz/corpus OUT=tests/fuzz
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECONDS_EACH=$2; shift 2 ;;
	--corpus) CORPUS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run-fuzz: unknown option '$1' (try --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
case "$SECONDS_EACH" in
''|*[!0-9]*|0) echo "run-fuzz: --seconds wants a positive number, not '$SECONDS_EACH'" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || { echo "run-fuzz: no target given (try --help)" >&2; exit 2; }

fail=0
for t in "$@"; do
	name=$(basename "$t")
	log=$OUT/$name.log
	seeds=$CORPUS/$name
	mkdir -p "$OUT/work/$name" "$OUT/artifacts/$name"
	if [ ! -x "$t" ] || [ ! -d "$seeds" ]; then
		echo "FAIL: $name (no program $t or no corpus $seeds)"
		fail=1
		continue
	fi
	rc=0
	UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	"$t" -max_total_time="$SECONDS_EACH" -timeout="${FUZZ_TIMEOUT:-25}" \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/artifacts/$name/" \
		"$OUT/work/$name" "$seeds" >"$log" 2>&1 || rc=$?
	# a sanitizer report is a failure even if the process got to exit 0
	if [ "$rc" = 0 ] && ! grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant broken' "$log"; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
		cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
		ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
		corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
		echo "PASS: $name ($SECONDS_EACH s: ${runs:-?} runs, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?})"
	else
		echo "FAIL: $name (exit $rc; input kept in $OUT/artifacts/$name/)"
		echo "--- $log"
		cat "$log"
		fail=1
	fi
done
exit $fail
