#!/bin/sh
# scripts/demo.sh --no-vm on this build tree: vlink-peer echo in socket mode
# against dpdk-testpmd with the PMD, vlinkd killed and restarted on the
# way.  Its summary must show packets both ways, packets while vlinkd was
# down, the PMD re-attached and every buffer home; it must leave no
# process, run directory or hugepage change behind.  Bad options are
# refused before anything starts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/demo-lib.sh"
need_root

runs() { ls -d /run/vlink-demo.* 2>/dev/null | sort; }
before=$(runs)
expect 2 "unknown option '--bogus'" "an unknown option is refused" sh "$DEMO" --bogus
expect 2 "6 to 86400" "a duration under 6 s is refused" sh "$DEMO" --no-vm --duration 3
expect 2 "whole number of seconds" "a duration that is no number is refused" \
	sh "$DEMO" --no-vm --duration 1m
expect 0 "--no-vm" "--help says what the options are" sh "$DEMO" --help
[ "$(runs)" = "$before" ] && ok "the refused runs created no run directory" ||
	not_ok "the refused runs created no run directory ($(runs))"

demo_run --no-vm --duration "${VLINK_DEMO_DURATION:-9}"
demo_checks peer
demo_left_nothing
[ "$FAILED" = 0 ] || { echo "--- the demo's output ---"; sed 's/^/    /' "$T/demo.out"; }
finish
