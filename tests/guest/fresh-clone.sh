#!/bin/sh
# What the README tells a newcomer, on the tree under test: `git clone`,
# then, as root in the clone, the demo with a guest (./scripts/demo.sh) and
# without (./scripts/demo.sh --no-vm).  The first run builds everything from
# the clean clone with the demo's own make -jN (QEMU from the cache), the
# second reuses that build; both must exit 0 with every check of their
# summary shown and leave nothing behind.  The clone holds what is
# committed: uncommitted changes are not tested (said in the log).
#
# The clone lives in the build tree, not under /tmp: EAL refuses a -d
# plugin below a world-writable directory.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../integration/demo-lib.sh"
need_root

if ! command -v git >/dev/null || ! git -C "$SRCDIR" rev-parse --verify -q HEAD >/dev/null 2>&1; then
	echo "SKIP: $SRCDIR is not a git clone (a release tarball): nothing to clone"
	exit 77
fi
CLONE="$BUILDDIR/tests/guest/fresh-clone.d"
CLEANUP_PATHS="$CLONE"
rm -rf "$CLONE"
[ -z "$(git -C "$SRCDIR" status --porcelain --untracked-files=no)" ] ||
	echo "# note: $SRCDIR has uncommitted changes; the clone tests commit $(git -C "$SRCDIR" rev-parse --short HEAD) without them"
check "git clone of $(git -C "$SRCDIR" rev-parse --short HEAD)" git clone -q "$SRCDIR" "$CLONE"

# demo WHAT ARGS...: run the clone's demo; one summary line per check in
# the log, the whole output where a check failed
demo() {
	what=$1 f0=$FAILED
	shift
	demo_script "$CLONE/scripts/demo.sh" "$@"
	if [ "$DEMO_RC" = 0 ]; then
		demo_checks "$PEER"
		n_ok=$(sed -n '/^== what the demo showed$/,$p' "$T/demo.out" | grep -c '^   ok  ')
		n_bad=$(sed -n '/^== what the demo showed$/,$p' "$T/demo.out" | grep -vc '^   ok  \|^== \|^demo: ')
		[ "$n_ok" -ge 5 ] && [ "$n_bad" = 0 ] &&
			ok "$what: every check of its summary ok ($n_ok)" ||
			not_ok "$what: every check of its summary ok ($n_ok ok, $n_bad other lines)"
		[ "$PEER" = peer ] || expect_line "$T/demo.out" \
			"^   QEMU: pid ([0-9]+) at boot, pid \\1 at the end of the traffic; the guest's device: connects=2$" \
			"$what: QEMU not restarted, the guest's device reconnected once (connects=2)"
	else
		not_ok "$what exits 0 (exit $DEMO_RC)"
	fi
	demo_left_nothing
	grep -E '^(demo: |   (traffic|vlinkd|buffers|stages|QEMU):|   (ok|FAILED) )' "$T/demo.out" |
		sed "s|^|# $what: |"
	[ "$FAILED" = "$f0" ] || { echo "--- $what: the demo's output ---"; sed 's/^/    /' "$T/demo.out"; }
}

# the guest form first: it builds from the clean clone, vlink-peer-static too
PEER=guest demo "./scripts/demo.sh"
expect_line "$T/demo.out" "^== \\[ *[0-9]+ s\\] building vlink in $CLONE\$" "the guest demo built vlink in the clone"
PEER=peer demo "./scripts/demo.sh --no-vm" --no-vm
finish
