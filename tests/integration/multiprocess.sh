#!/bin/sh
# Secondary processes see the primary's net_vlink port, as operators use
# them: a dpdk-testpmd (primary, hugepages) with a host-end port whose peer
# is vlink-peer echo, and, in the same run, a net_null port to compare:
#  - dpdk-proc-info --stats / --xstats print the port, with the primary's
#    counts and vlink's own xstats;
#  - dpdk-dumpcap attaches to the port (both directions) under traffic;
#    what it captures is compared with net_null's capture in the same
#    primary, and the primary's counts are unaffected;
#  - dpdk-telemetry.py: /ethdev/list, /ethdev/info, /ethdev/xstats and
#    vlink's /vlink/list and /vlink/info.
# dpdk-dumpcap takes no -d: like any DPDK program it finds drivers in
# DPDK's plugin directory, where the test links the plugin while it runs.
#
# Why dumpcap captured nothing here, on any port (net_null too): a mempool
# records its driver as an index into a per-process table of mempool ops,
# filled in the order the drivers' constructors run.  dpdk-testpmd links
# librte_mempool_dpaa (its "dpaa" ops come first); dpdk-dumpcap loads every
# mempool driver from the plugin directory, in directory order.  So the
# primary, copying packets into dumpcap's pool ("ring_mp_mc" there), used
# another driver's ops: every allocation failed, every packet counted
# dropped.  Preloading into dumpcap the mempool drivers the primary links,
# in its order, gives both the same table (docs/troubleshooting.md).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
need_root

PEER="$BUILDDIR/tools/vlink-peer"
NR=/proc/sys/vm/nr_hugepages
HP_ORIG=$(cat $NR)
# EAL's built-in plugin directory (RTE_EAL_PMD_PATH)
PMDDIR=$(strings "$(pkg-config --variable=libdir libdpdk)/librte_eal.so" |
	sed -n 's/^DPDK_PLUGIN_PATH=//p' | head -n1)
mp_cleanup() {
	[ -L "$PMDDIR/librte_net_vlink.so" ] && rm -f "$PMDDIR/librte_net_vlink.so"
	cleanup
	echo "$HP_ORIG" >$NR
}
trap mp_cleanup EXIT

if [ ! -f "$PLUGIN" ]; then
	not_ok "the PMD is built"
	finish
fi
for p in dpdk-proc-info dpdk-dumpcap dpdk-telemetry.py capinfos; do
	command -v "$p" >/dev/null || { not_ok "$p installed"; finish; }
done
if [ ! -d "$PMDDIR" ] || [ -e "$PMDDIR/librte_net_vlink.so" ]; then
	not_ok "DPDK's plugin directory $PMDDIR exists and has no net_vlink of its own"
	finish
fi
ln -s "$PLUGIN" "$PMDDIR/librte_net_vlink.so"

# secondaries share the primary's hugepage memory: 256 MiB free
if ! "$SRCDIR/scripts/hugepages.sh" reserve 128 2>"$T/hp"; then
	not_ok "128 free 2 MiB hugepages"; sed 's/^/    /' "$T/hp"
	finish
fi

start_daemon --no-hugepages --pool-size 64M || { not_ok "vlinkd starts"; finish; }
ctl create-link A 02:00:00:00:0a:01 1 >/dev/null
"$PEER" --socket "$SOCK" echo A -q >"$T/echo.out" 2>&1 &
BG_PIDS="$BG_PIDS $!"

PREFIX="vlt$$-1"
CLEANUP_PATHS="${CLEANUP_PATHS:-} /var/run/dpdk/$PREFIX"
TP_MEM="--socket-mem 128" tp_start 1 --vdev "net_vlink0,link=A,socket=$SOCK" --vdev net_null0 ||
	{ not_ok "testpmd (primary, hugepages) starts"; finish; }
tp_cmd 1 "show port info 0"
tp_wait 1 'Link status: up' || not_ok "vlink port up"
tp_cmd 1 "set fwd rxonly"
tp_cmd 1 "start tx_first 10" # 320 to the echo (back: 320); net_null: 320, and rx without end
i=0
while [ "$(tp_stat 1 0 RX-packets)" != 320 ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
tp_cmd 1 "stop"

# --- proc-info ----------------------------------------------------------------
pi() { timeout 30 dpdk-proc-info --file-prefix "$PREFIX" --log-level=pmd.net.vlink:info -- "$@"; }
pi --stats >"$T/pi.out" 2>&1
rx=$(awk '/NIC statistics for port 0/ { p = 1 } p && /RX-packets:/ { print $2; exit }' "$T/pi.out")
tx=$(awk '/NIC statistics for port 0/ { p = 1 } p && /TX-packets:/ { print $2; exit }' "$T/pi.out")
[ "$rx" = 320 ] && [ "$tx" = 320 ] &&
	ok "dpdk-proc-info --stats: port 0 RX $rx TX $tx, as the primary counted" ||
	{ not_ok "dpdk-proc-info --stats (RX '$rx' TX '$tx', want 320)"; cat "$T/pi.out"; }
pi --xstats >"$T/px.out" 2>&1
grep -Eq 'resets: [1-9]' "$T/px.out" && grep -q 'buffers_lent' "$T/px.out" &&
	grep -q 'rx_q0_copies' "$T/px.out" &&
	ok "dpdk-proc-info --xstats: vlink's own (resets $(awk '$1 == "resets:" {print $2; exit}' "$T/px.out"))" ||
	{ not_ok "dpdk-proc-info --xstats shows vlink's own"; cat "$T/px.out"; }
grep -q 'failed to initialize net_vlink0' "$T/pi.out" "$T/px.out" &&
	not_ok "no probe failure in the secondary" || ok "no probe failure in the secondary"

# --- dumpcap ------------------------------------------------------------------
# capture N packets of a port while the primary sends N/2 and gets N/2 back
capture() { # NAME PORT-INDEX [COUNT]
	timeout 60 env ${DUMPCAP_ENV:-} dpdk-dumpcap --file-prefix="$PREFIX" -i "$2" ${3:+-c "$3"} -w "$T/$1.pcapng" \
		>"$T/$1.dc" 2>&1 &
	DC=$!
	BG_PIDS="$BG_PIDS $DC"
	i=0
	until grep -q 'Capturing on' "$T/$1.dc"; do
		i=$((i + 1)); [ $i -gt 200 ] && break; sleep 0.1
		kill -0 "$DC" 2>/dev/null || break
	done
}
DUMPCAP_ENV="LD_PRELOAD=$(readelf -d "$(command -v "$TESTPMD")" |
	sed -n 's/.*NEEDED.*\[\(librte_mempool_[a-z0-9_]*\.so[.0-9]*\)\].*/\1/p' | tr '\n' ':')"
echo "# dumpcap runs with $DUMPCAP_ENV (the primary's mempool drivers, in its order)"
capture vlink 0 640
before=$(tp_stat 1 0 RX-packets)
tp_cmd 1 "start tx_first 10"
i=0
while [ "$(tp_stat 1 0 RX-packets)" != $((before + 320)) ] && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.1; done
tp_cmd 1 "stop"
after=$(tp_stat 1 0 RX-packets)
# dumpcap stops at -c; if it never got them, stop it and read its count
i=0
while kill -0 "$DC" 2>/dev/null && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
kill -INT "$DC" 2>/dev/null; wait "$DC"
grep -q 'Capturing on' "$T/vlink.dc" && ! grep -q 'failed\|not found' "$T/vlink.dc" &&
	ok "dpdk-dumpcap attaches to the vlink port ($(grep 'Capturing on' "$T/vlink.dc"))" ||
	{ not_ok "dpdk-dumpcap attaches to the vlink port"; cat "$T/vlink.dc"; }
[ "$after" = $((before + 320)) ] && ok "the primary's counts unaffected by the capture (+320)" ||
	not_ok "the primary's counts unaffected by the capture ($before -> $after)"
vcap=$(capinfos -Mc "$T/vlink.pcapng" 2>/dev/null | awk '/Number of packets/ { print $NF }')
vline=$(grep -E 'Packets (received|captured)' "$T/vlink.dc" | tail -1)

# the same with net_null (port 1) in the same primary.  Its traffic never
# ends, so dumpcap runs without -c and is stopped (SIGINT: it disables the
# capture, then exits) after forwarding stopped: a dumpcap that exits on
# its own at -c while the primary still copies into its pool (freed at
# exit) crashed testpmd (dpaa's process_portal_map(): the pool's memory
# reused), a race of DPDK 22.11's dumpcap/pdump, not of any port
capture null 1
n0=$(tp_stat 1 1 RX-packets)
tp_cmd 1 "start"
i=0
while [ "$(tp_stat 1 1 RX-packets)" = "$n0" ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
tp_cmd 1 "stop"
tp_stat 1 1 RX-packets >/dev/null # the stop is done
kill -INT "$DC" 2>/dev/null; wait "$DC"
ncap=$(capinfos -Mc "$T/null.pcapng" 2>/dev/null | awk '/Number of packets/ { print $NF }')
nline=$(grep -E 'Packets (received|captured)' "$T/null.dc" | tail -1)
echo "# dumpcap on vlink: ${vcap:-no file} packets in the file ($vline)"
echo "# dumpcap on net_null: ${ncap:-no file} packets in the file ($nline)"
[ "${vcap:-0}" = 640 ] &&
	ok "dpdk-dumpcap captured all 640 packets of the vlink port, both directions" ||
	{ not_ok "dpdk-dumpcap captured 640 packets of the vlink port (${vcap:-0})"; cat "$T/vlink.dc"; }
[ "${ncap:-0}" -gt 0 ] && ok "dpdk-dumpcap captured net_null's too (${ncap})" ||
	not_ok "dpdk-dumpcap captured net_null's too (${ncap:-0})"

# --- telemetry ------------------------------------------------------------------
tel() { printf '%s\n' "$@" | timeout 20 dpdk-telemetry.py -f "$PREFIX" 2>&1; }
tel /ethdev/list /ethdev/info,0 /ethdev/xstats,0 /vlink/list /vlink/info,0 >"$T/tel.out"
grep -q '"/ethdev/list": \[0, 1\]' "$T/tel.out" && ok "telemetry /ethdev/list has the port" ||
	{ not_ok "telemetry /ethdev/list has the port"; cat "$T/tel.out"; }
grep -q '"name": "net_vlink0"' "$T/tel.out" && ok "telemetry /ethdev/info,0 names net_vlink0" ||
	not_ok "telemetry /ethdev/info,0 names net_vlink0"
grep -q '"buffers_lent"' "$T/tel.out" && ok "telemetry /ethdev/xstats,0 has vlink's xstats" ||
	not_ok "telemetry /ethdev/xstats,0 has vlink's xstats"
grep -q '"/vlink/list": \[0\]' "$T/tel.out" && grep -q '"link": "A"' "$T/tel.out" &&
	grep -q '"epoch": [1-9]' "$T/tel.out" &&
	ok "telemetry /vlink/list and /vlink/info,0: link A, end, epoch, buffers" ||
	{ not_ok "telemetry /vlink/list and /vlink/info"; cat "$T/tel.out"; }

tp_quit 1
[ "$(tp_all_home 1)" = 1 ] && ok "every buffer home at close" ||
	{ not_ok "every buffer home at close"; grep closed "$T/tp1.log"; }
finish
