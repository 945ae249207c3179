#!/bin/sh
# contrib/vlinkd.service.in: systemd-analyze verify accepts the unit (every
# directive parses, ExecStart and ExecReload are executables, the man pages
# it names exist) with ExecStart pointing at the vlinkd of this build, and
# the unit make writes carries the configured sbindir.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not installed"
	exit 77
fi
UNIT_IN="$SRCDIR/contrib/vlinkd.service.in"
mkdir -p "$T/unit" "$T/man/man8"
cp "$SRCDIR/vlinkd/vlinkd.8" "$SRCDIR/tools/vlinkctl.8" "$T/man/man8/"
sed "s|@sbindir@|$BUILDDIR/vlinkd|g" "$UNIT_IN" >"$T/unit/vlinkd.service"

# any message (even a directive it ignores) is a defect
MANPATH="$T/man" systemd-analyze verify "$T/unit/vlinkd.service" >"$T/v" 2>&1
rc=$?
[ $rc = 0 ] && [ ! -s "$T/v" ] && ok "systemd-analyze verify: no error, no warning" ||
	{ not_ok "systemd-analyze verify (exit $rc)"; sed 's/^/    /' "$T/v"; }

# the check can fail: a unit whose ExecStart is missing is refused
sed "s|@sbindir@|$T/nowhere|g" "$UNIT_IN" >"$T/unit/vlinkd.service"
MANPATH="$T/man" systemd-analyze verify "$T/unit/vlinkd.service" >"$T/v" 2>&1
grep -q "nowhere/vlinkd" "$T/v" && ok "verify refuses a unit whose vlinkd is missing" ||
	{ not_ok "verify accepted a missing ExecStart"; sed 's/^/    /' "$T/v"; }

# what make wrote: the configured sbindir, nothing left to substitute
sbindir=$(sed -n 's/^sbindir = //p' "$BUILDDIR/Makefile")
prefix=$(sed -n 's/^prefix = //p' "$BUILDDIR/Makefile")
exec_prefix=$(sed -n 's/^exec_prefix = //p' "$BUILDDIR/Makefile")
sbindir=$(echo "$sbindir" | sed "s|\${exec_prefix}|$exec_prefix|; s|\${prefix}|$prefix|")
expect 0 "^ExecStart=$sbindir/vlinkd \\\$VLINKD_OPTS$" "contrib/vlinkd.service: ExecStart in $sbindir" \
	grep '^ExecStart=' "$BUILDDIR/contrib/vlinkd.service"
grep -n '@' "$BUILDDIR/contrib/vlinkd.service" >"$T/at"
[ ! -s "$T/at" ] && ok "contrib/vlinkd.service: no @...@ left" ||
	{ not_ok "contrib/vlinkd.service: @ left"; sed 's/^/    /' "$T/at"; }
finish
