#!/bin/sh
# The PMD loads into any DPDK program, not only those that happen to link
# what it uses: EAL dlopen()s a plugin RTLD_NOW without RTLD_GLOBAL.
#  - every DPDK library whose symbols it uses is a NEEDED entry;
#  - tests/plugin-load (links no DPDK library) dlopen()s it: every symbol
#    resolves; the same check fails on a plugin linked with
#    `pkg-config --libs libdpdk` alone (as this one was);
#  - dpdk-proc-info (which links no bus_vdev) starts with it as -d.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
need_root

LOADER="$BUILDDIR/tests/plugin-load"
if [ ! -f "$PLUGIN" ]; then
	not_ok "the PMD is built ($PLUGIN missing: configure found no DPDK SDK?)"
	finish
fi

readelf -d "$PLUGIN" >"$T/dyn" 2>&1
grep -q 'NEEDED.*\[librte_bus_vdev\.so' "$T/dyn" && ok "librte_bus_vdev is NEEDED" ||
	{ not_ok "librte_bus_vdev is NEEDED"; cat "$T/dyn"; }

# every undefined rte_ symbol is defined by one of the NEEDED libraries
# (the same libraries the loader finds: ldd resolves them)
nm -D --undefined-only "$PLUGIN" | awk '$2 ~ /^rte_|^per_lcore_|^eal_/ {print $2}' |
	sed 's/@.*//' | sort -u >"$T/undef"
: >"$T/defined"
for lib in $(ldd "$PLUGIN" | awk '/=> \// {print $3}'); do
	nm -D --defined-only "$lib" 2>/dev/null | awk '{print $3}' | sed 's/@.*//' >>"$T/defined"
done
sort -u -o "$T/defined" "$T/defined"
missing=$(comm -23 "$T/undef" "$T/defined")
[ -s "$T/undef" ] && [ -z "$missing" ] &&
	ok "all $(wc -l <"$T/undef") DPDK symbols it uses come from its NEEDED libraries" ||
	not_ok "DPDK symbols it uses come from its NEEDED libraries (missing: $missing)"

"$LOADER" "$PLUGIN" >"$T/load.out" 2>&1 && ok "dlopen(RTLD_NOW) from a program without DPDK" ||
	{ not_ok "dlopen(RTLD_NOW) from a program without DPDK"; cat "$T/load.out"; }

# the check can fail: a plugin that uses rte_vdev_register without
# recording librte_bus_vdev (as this one did) is refused
printf '%s\n' 'extern int rte_vdev_register(void *);' \
	'int (*vlink_test_ref)(void *) = rte_vdev_register;' >"$T/bad.c"
if cc -shared -fPIC -o "$T/bad.so" "$T/bad.c" $(pkg-config --libs libdpdk) 2>"$T/cc.out"; then
	if "$LOADER" "$T/bad.so" >"$T/load2.out" 2>&1; then
		not_ok "a plugin without librte_bus_vdev is refused"
	else
		grep -q 'undefined symbol: rte_vdev_register' "$T/load2.out" &&
			ok "a plugin without librte_bus_vdev is refused ($(cat "$T/load2.out"))" ||
			{ not_ok "a plugin without librte_bus_vdev is refused for rte_vdev_register"
			  cat "$T/load2.out"; }
	fi
else
	not_ok "build a plugin without librte_bus_vdev"; cat "$T/cc.out"
fi

# a real program that does not link bus_vdev: dpdk-proc-info (a secondary
# process; with no primary EAL stops after loading the plugins)
if command -v dpdk-proc-info >/dev/null; then
	ldd "$(command -v dpdk-proc-info)" | grep -q librte_bus_vdev &&
		echo "# note: this dpdk-proc-info links librte_bus_vdev itself"
	timeout 30 dpdk-proc-info -d "$PLUGIN" --file-prefix "vlink-plugin-$$" --no-huge \
		-- --stats >"$T/pi.out" 2>&1
	if grep -q 'Cannot init plugins\|undefined symbol' "$T/pi.out"; then
		not_ok "dpdk-proc-info loads the plugin"; cat "$T/pi.out"
	else
		ok "dpdk-proc-info loads the plugin (no 'Cannot init plugins')"
	fi
else
	not_ok "dpdk-proc-info installed"
fi
finish
