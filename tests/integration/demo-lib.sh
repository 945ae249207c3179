# Shared by tests/integration/demo.sh and tests/guest/demo.sh (source after
# lib.sh): run scripts/demo.sh on this build tree and check what its
# summary claims and what it leaves behind.
#
#   demo_run ARGS...     scripts/demo.sh --no-deps --no-build --builddir
#                        BUILDDIR ARGS (this build tree), as demo_script
#   demo_script DEMO ARGS...
#                        the demo script DEMO with ARGS alone, from DEMO's
#                        source tree, bounded (VLINK_DEMO_TIMEOUT, 900 s,
#                        then SIGTERM: the demo cleans up); output in
#                        $T/demo.out, exit status in DEMO_RC
#   demo_checks PEER     the checks both modes share (PEER: guest or peer)
#   demo_left_nothing    no process, run dir, mount or hugepage change left
DEMO="$SRCDIR/scripts/demo.sh"
DEMO_RC=

demo_script() {
	HP_BEFORE=$(cat /proc/sys/vm/nr_hugepages)
	ds=$1; shift
	# as from a login shell: not this test's build tree, nor make's job server
	(cd "$(dirname "$ds")/.." && exec env -u BUILDDIR -u SRCDIR -u MAKEFLAGS -u MFLAGS \
		-u MAKELEVEL -u MAKEOVERRIDES timeout -k 60 "${VLINK_DEMO_TIMEOUT:-900}" \
		"./scripts/$(basename "$ds")" "$@") >"$T/demo.out" 2>&1
	DEMO_RC=$?
}

demo_run() { demo_script "$DEMO" --no-deps --no-build --builddir "$BUILDDIR" "$@"; }

# demo_val SED-REGEX: what the regex's \1 captures in the demo's output
demo_val() { sed -n "s/$1/\\1/p" "$T/demo.out" | head -n1; }

# positive DESCRIPTION VALUE...: every VALUE a number above zero
positive() {
	d=$1; shift
	for v in "$@"; do
		case $v in ''|*[!0-9]*|0) not_ok "$d ($*)"; return 1 ;; esac
	done
	ok "$d ($*)"
}

demo_checks() {
	p=$1
	[ "$DEMO_RC" = 0 ] && grep -q '^demo: PASS$' "$T/demo.out" &&
		ok "the demo exits 0 and says PASS" || not_ok "the demo exits 0 and says PASS (exit $DEMO_RC)"
	positive "packets both ways in the summary" \
		"$(demo_val "^   traffic: .* host -> $p \\([0-9]*\\) packets.*")" \
		"$(demo_val "^   traffic: .*; $p -> host \\([0-9]*\\) packets.*")"
	positive "packets both ways while vlinkd was down" \
		"$(demo_val "^   vlinkd: killed -9 .* meanwhile host -> $p \\([0-9]*\\) packets.*")" \
		"$(demo_val "^   vlinkd: killed -9 .*, $p -> host \\([0-9]*\\) packets$")"
	expect_line "$T/demo.out" "PMD: net_vlink0: vlinkd is back: link 'demo0' re-attached, same memory" \
		"the PMD re-attached to the restarted vlinkd"
	expect_line "$T/demo.out" \
		"^   buffers: net_vlink0: closed: ([0-9]+) of \\1 buffers home, \\1 of \\1 mbufs in the pool, 0 bad" \
		"every buffer home when testpmd closed the port"
	expect_line "$T/demo.out" "^   $p: echo: [0-9]+ descriptors .* 0 bad descriptors; exit status 0$" \
		"the $p's echo ended with exit 0, no bad descriptor"
	expect_line "$T/demo.out" "^   stages: .*vlinkd [0-9]+ s, .*traffic [0-9]+ s, shutdown [0-9]+ s; total [0-9]+ s$" \
		"the summary gives each stage's time"
}

# every process the demo said it started, by pid
demo_pids() {
	sed -n 's/^   vlinkd: pid \([0-9]*\),.*/\1/p; s/^   vlinkd is back (pid \([0-9]*\)).*/\1/p;
		s/^   testpmd pid \([0-9]*\):.*/\1/p; s/^   vlink-peer echo (pid \([0-9]*\)).*/\1/p;
		s/^   guest up after .*: QEMU pid \([0-9]*\)$/\1/p' "$T/demo.out"
}

demo_left_nothing() {
	run=$(demo_val "^== .* vlinkd in \\(\\/run\\/vlink-demo\\.[A-Za-z0-9]*\\) .*")
	[ -n "$run" ] && [ ! -e "$run" ] && ! grep -q " $run/" /proc/mounts &&
		ok "run directory $run removed, nothing mounted under it" ||
		not_ok "run directory '$run' removed, nothing mounted under it"
	alive=
	for pid in $(demo_pids); do
		# the pid may have gone to another process since
		c=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
		case $c in vlinkd|dpdk-testpmd|vlink-peer|qemu-system-*) alive="$alive $c[$pid]" ;; esac
	done
	[ -n "$(demo_pids)" ] && [ -z "$alive" ] && ok "no process of the demo left ($(demo_pids | tr '\n' ' '))" ||
		not_ok "no process of the demo left (still running:$alive)"
	id=$(demo_val "^   vlinkd: pid [0-9]*, daemon id \\([0-9a-f]*\\)$")
	files=$(for m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
		ls -d "$m/vlink-$id" 2>/dev/null; done)
	[ -n "$id" ] && [ -z "$files" ] && ok "no pool file of daemon $id left on a hugetlbfs" ||
		not_ok "no pool file of daemon '$id' left ($files)"
	hp=$(cat /proc/sys/vm/nr_hugepages)
	[ "$hp" = "$HP_BEFORE" ] && ok "vm.nr_hugepages as before ($hp)" ||
		not_ok "vm.nr_hugepages $hp, was $HP_BEFORE"
}
