# Shared by the tests that run Open vSwitch's DPDK datapath (Debian's
# openvswitch-switch-dpdk: OVS 3.1, DPDK 22.11) with net_vlink ports:
# tests/integration/ovs.sh, tests/guest/ovs.sh.  Sourced after
# tests/integration/lib.sh (private vlinkd, ok/not_ok, cleanup).
#
# A private ovsdb-server and ovs-vswitchd (in a network namespace of its
# own: its tap devices go with it), their database, sockets and logs in
# $T/ovs; EAL --in-memory on 2 MiB hugepages reserved by ovs_hugepages and
# given back by ovs_cleanup (the EXIT trap; a test that has more to clean
# up calls it from its own trap: it ends with lib.sh's cleanup).
#
# The ports: one per link in OVS_LINKS (default "A B"), in that order: the
# Nth (from 0) is interface vlLINK, DPDK device net_vlinkN, ofport N+1.
# The caller sets RATE (packets/s of send_on).
#
# The caller may set OVS_EAL_EXTRA (more EAL arguments for dpdk-extra) and
# OVS_WRAP (a command ovs-vswitchd runs under, e.g. "taskset -c 0").
#
# Environment: VLINK_OVS_SOCKET_LIMIT: OVS's DPDK memory in MiB (640);
# VLINK_OVS_PLUGIN: another plugin file; OVS_VSWITCHD, OVS_SCHEMA: another
# ovs-vswitchd, database schema.
PEER="$BUILDDIR/tools/vlink-peer"
VSWITCHD=${OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
SCHEMA=${OVS_SCHEMA:-/usr/share/openvswitch/vswitch.ovsschema}
OVS_BINARIES="$VSWITCHD ovsdb-server ovsdb-tool ovs-vsctl ovs-ofctl ovs-appctl"
# OVS's shared mempools take what they get: it asks for 262144 mbufs and
# halves until an allocation succeeds (16384 at least), so dpdk-socket-limit
# (MiB) caps it, and the pages reserved cover that cap
SOCKET_LIMIT=${VLINK_OVS_SOCKET_LIMIT:-640}
HUGEPAGES=$((SOCKET_LIMIT / 2 + 16))
BR=vlbr
O="$T/ovs" # OVS's database, sockets, logs
OVSLOG="$O/ovs-vswitchd.log"
PREFIX="vlovs$$" # EAL file prefix: the telemetry socket's directory
TELEMETRY="/var/run/dpdk/$PREFIX/dpdk_telemetry.v2"
export OVS_RUNDIR="$O" OVS_DBDIR="$O" OVS_LOGDIR="$O" OVS_SYSCONFDIR="$O"
OVS_PID= OVSDB_PID= HP_ORIG=
OVS_LINKS=${OVS_LINKS:-A B}
OVS_PORTS=$(for _l in $OVS_LINKS; do printf 'vl%s ' "$_l"; done)

# --- cleanup, diagnostics ------------------------------------------------------
# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 10)
stop_pid() {
	kill "$1" 2>/dev/null || return 0
	_si=0
	while kill -0 "$1" 2>/dev/null && [ $_si -lt $((${2:-10} * 10)) ]; do
		_si=$((_si + 1)); sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

ovs_cleanup() {
	for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
	[ -n "$OVS_PID" ] && stop_pid "$OVS_PID"
	[ -n "$OVSDB_PID" ] && stop_pid "$OVSDB_PID"
	OVS_PID= OVSDB_PID=
	[ -n "$HP_ORIG" ] && echo "$HP_ORIG" >/proc/sys/vm/nr_hugepages
	cleanup
}
trap ovs_cleanup EXIT

# the end of ovs-vswitchd's log, without the coverage dumps, and what it
# wrote to stdout/stderr (EAL's messages before the log takes them over)
ovs_log_tail() {
	echo "    --- ovs-vswitchd.log (last ${1:-40} lines) ---"
	grep -v '|coverage|' "$OVSLOG" 2>/dev/null | tail -n "${1:-40}" | sed 's/^/    /'
	if grep -qv 'opened log file' "$O/ovs-vswitchd.out" 2>/dev/null; then
		echo "    --- ovs-vswitchd's stdout/stderr ---"
		tail -n 10 "$O/ovs-vswitchd.out" | sed 's/^/    /'
	fi
}

# ovs_guest_need: what a test with OVS-DPDK and guests needs (source
# scripts/lib/guest.sh first): without OVS-DPDK, QEMU or a guest kernel
# the test is skipped (exit 77), without the PMD it fails
ovs_guest_need() {
	if missing=$(ovs_missing); then
		echo "SKIP: $NAME: OVS-DPDK is not installed (no $missing; apt-get install openvswitch-switch-dpdk)"
		exit 77
	fi
	if [ ! -x "$QEMU" ]; then
		echo "SKIP: $NAME: no QEMU at $QEMU (make qemu, or VLINK_QEMU)"
		exit 77
	fi
	if [ -z "$(find_kernel)" ]; then
		echo "SKIP: $NAME: no guest kernel in ${VLINK_CACHE:-/var/cache/vlink}/kernel (scripts/install-deps.sh, or VLINK_KERNEL)"
		exit 77
	fi
	[ -f "$PLUGIN_SRC" ] || { not_ok "the PMD is built ($PLUGIN_SRC)"; finish; }
}

# --- the plugin -----------------------------------------------------------------
PLUGIN_SRC=${VLINK_OVS_PLUGIN:-$BUILDDIR/pmd/librte_net_vlink.so}
# ovs_missing: prints the OVS programs that are not installed (status 1,
# nothing printed, when every one is)
ovs_missing() {
	_m=
	for b in $OVS_BINARIES; do command -v "$b" >/dev/null || _m="$_m $b"; done
	[ -n "$_m" ] && echo "${_m# }"
}
# ovs_plugin: the copy of the plugin OVS loads ($PLUGIN).  OVS loads it at
# every start: a private copy under /run, as built, so that a rebuild
# meanwhile changes nothing; DPDK refuses a plugin below a world-writable
# directory anyway
ovs_plugin() {
	PLUGIN_DIR=$(mktemp -d /run/vlink-ovs.XXXXXX) || return 1
	chmod 755 "$PLUGIN_DIR"
	CLEANUP_PATHS="${CLEANUP_PATHS:-} $PLUGIN_DIR /var/run/dpdk/$PREFIX"
	cp "$PLUGIN_SRC" "$PLUGIN_DIR/" || return 1
	PLUGIN="$PLUGIN_DIR/librte_net_vlink.so"
}

# --- waiting ----------------------------------------------------------------------
# ovs_dead: ovs-vswitchd was started and is gone (says how, once)
ovs_dead() {
	[ -n "$OVS_PID" ] || return 1
	kill -0 "$OVS_PID" 2>/dev/null && return 1
	wait "$OVS_PID"
	rc=$?
	OVS_PID=
	if [ $rc -gt 128 ]; then
		echo "    ovs-vswitchd died: signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
	else
		echo "    ovs-vswitchd exited with status $rc"
	fi
	ovs_log_tail 30
	return 0
}

# lib.sh's until_ok and wait_exit give up at once when ovs-vswitchd has
# died (the peers would only wait for their timeouts)
until_abort() { ovs_dead; }

vsctl() { ovs-vsctl --db="unix:$O/db.sock" --no-wait --timeout=10 "$@"; }
ofctl() { ovs-ofctl --timeout=10 "$@"; }
appctl() { ovs-appctl --timeout=10 --target="$O/ovs-vswitchd.ctl" "$@"; }

# ovs_log_lines: lines of the log so far (a check reads what comes after)
ovs_log_lines() { if [ -f "$OVSLOG" ]; then wc -l <"$OVSLOG"; else echo 0; fi; }
# in_log FROM REGEX: a line of the log after line FROM matches
in_log() { tail -n "+$(($1 + 1))" "$OVSLOG" | grep -Eq -- "$2"; }

iface_is() { [ "$(vsctl get interface "$1" "$2" 2>/dev/null | tr -d '"')" = "$3" ]; }
link_up() { iface_is "$1" link_state up; }
attached() { # attached LINK END: vlinkctl show says that end is attached
	ctl show "$1" --json >"$T/show.json" 2>&1 &&
		python3 -c "import json,sys; sys.exit(not json.load(open('$T/show.json'))['$2_attached'])"
}
detached() { ! attached "$@"; }

# ports_ready: wait (30 s) until every port is in OVS (an ofport, no
# error); else say why
port_ready() { vsctl get interface "$1" ofport | grep -Eq '^[1-9][0-9]*$' && iface_is "$1" error '[]'; }
ports_ready() {
	for _p in $OVS_PORTS; do
		until_ok 30 port_ready $_p && continue
		echo "    $_p: ofport $(vsctl get interface $_p ofport 2>&1), error $(vsctl get interface $_p error 2>&1)"
		return 1
	done
}
# port_up IFACE: wait (20 s) until OVS shows the port up (a peer end is
# attached); else say why
port_up() {
	until_ok 20 link_up "$1" && return 0
	echo "    $1: link_state '$(vsctl get interface "$1" link_state 2>&1)'," \
		"error $(vsctl get interface "$1" error 2>&1)"
	return 1
}

# --- OVS --------------------------------------------------------------------------
start_ovsdb() {
	mkdir -p "$O"
	ovsdb-tool create "$O/conf.db" "$SCHEMA" || return 1
	ovsdb-server "$O/conf.db" --remote="punix:$O/db.sock" --unixctl="$O/ovsdb-server.ctl" \
		--pidfile="$O/ovsdb-server.pid" --log-file="$O/ovsdb-server.log" -vconsole:off \
		>>"$O/ovsdb-server.out" 2>&1 &
	OVSDB_PID=$!
	until_ok 20 vsctl show || return 1
	vsctl init
}

# ovs_hugepages: HUGEPAGES free 2 MiB pages for OVS's DPDK memory
# (vm.nr_hugepages as it was restored by ovs_cleanup); else not_ok, 1
ovs_hugepages() {
	HP_ORIG=$(cat /proc/sys/vm/nr_hugepages)
	"$SRCDIR/scripts/hugepages.sh" reserve "$HUGEPAGES" 2>"$T/hp" && return 0
	not_ok "$HUGEPAGES free 2 MiB hugepages for OVS"; sed 's/^/    /' "$T/hp"
	return 1
}

# ovs_dpdk_config [PMD-CPU-MASK]: DPDK's keys in the database (before
# ovs-vswitchd starts): the plugin, EAL's file prefix, the memory, one
# polling thread on core 1 (0x2)
ovs_dpdk_config() {
	vsctl set Open_vSwitch . other_config:dpdk-init=true other_config:dpdk-socket-mem=256 \
		other_config:dpdk-socket-limit="$SOCKET_LIMIT" \
		other_config:pmd-cpu-mask="${1:-0x2}" \
		"other_config:dpdk-extra=-d $PLUGIN --no-pci --file-prefix $PREFIX --log-level=pmd.net.vlink:info${OVS_EAL_EXTRA:+ $OVS_EAL_EXTRA}"
}

# start_ovs: ovs-vswitchd on the database, in a network namespace of its
# own; until DPDK is up and, when the ports exist, they are in OVS
start_ovs() {
	OVS_FROM=$(ovs_log_lines)
	unshare --net ${OVS_WRAP:-} "$VSWITCHD" "unix:$O/db.sock" --unixctl="$O/ovs-vswitchd.ctl" \
		--pidfile="$O/ovs-vswitchd.pid" --log-file="$OVSLOG" -vconsole:off \
		>>"$O/ovs-vswitchd.out" 2>&1 &
	OVS_PID=$!
	if ! until_ok 60 in_log "$OVS_FROM" 'DPDK Enabled - initialized' ||
	   ! until_ok 30 appctl version; then
		echo "    ovs-vswitchd did not come up"
		[ -n "$OVS_PID" ] && ovs_log_tail # (else ovs_dead showed it)
		return 1
	fi
	vsctl br-exists "$BR" || return 0
	# the bridge's own port (a tap, down, in OVS's namespace) is left out
	# of NORMAL's flooding: only the other vlink port gets a packet
	until_ok 20 ofctl mod-port "$BR" "$BR" no-flood || echo "    mod-port $BR no-flood failed"
	vsctl port-to-br "vl${OVS_LINKS%% *}" >/dev/null 2>&1 || return 0
	ports_ready
}

# stop_ovs: ovs-appctl exit (the ports close), at most 30 s
stop_ovs() {
	[ -n "$OVS_PID" ] || return 0
	appctl exit >/dev/null 2>&1
	wait_exit "$OVS_PID" 30
	OVS_PID=
	[ "$RC" = 0 ]
}

# ovs_bridge [PMD-CPU-MASK]: OVS for a test with guests, in one go
# (ok/not_ok, the test ends at a failure): its hugepages, ovsdb-server,
# ovs_dpdk_config PMD-CPU-MASK (0x2), ovs-vswitchd, the bridge BR
# (datapath netdev) and the ports of OVS_LINKS, in OVS (ports_ready)
ovs_bridge() {
	ovs_hugepages || finish
	if ! start_ovsdb; then not_ok "ovsdb-server starts"; cat "$O/ovsdb-server.log"; finish; fi
	ovs_dpdk_config "${1:-0x2}"
	if start_ovs; then
		ok "ovs-vswitchd starts with DPDK and the plugin, pmd-cpu-mask ${1:-0x2}"
	else
		not_ok "ovs-vswitchd starts with DPDK and the plugin"; finish
	fi
	vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev
	add_ports
	if ports_ready; then
		ok "vlink ports in OVS:$(for _p in $OVS_PORTS; do printf ' %s (ofport %s)' $_p "$(vsctl get interface $_p ofport)"; done)"
	else
		not_ok "vlink ports added: $OVS_PORTS"; ovs_log_tail; finish
	fi
}

# add_vhost_port IFACE SOCKET OFPORT: a dpdkvhostuserclient port, OVS the
# vhost-user client of the server (QEMU) on SOCKET; it connects when the
# server comes, and again after it went
add_vhost_port() {
	vsctl add-port "$BR" "$1" -- set interface "$1" type=dpdkvhostuserclient \
		ofport_request="$3" "options:vhost-server-path=$2"
}

# flows_between A B: what comes in on port A goes out on B and back, ARP
# included (the other flows stay)
flows_between() {
	ofctl add-flow "$BR" "in_port=$1,actions=output:$2" &&
		ofctl add-flow "$BR" "in_port=$2,actions=output:$1"
}

# ensure_ovs: a case begins with ovs-vswitchd running (a crash in the case
# before is counted there; start it again for this one)
ensure_ovs() {
	[ -n "$OVS_PID" ] && kill -0 "$OVS_PID" 2>/dev/null && return 0
	ovs_dead >/dev/null
	echo "# ovs-vswitchd is not running: starting it again"
	start_ovs
}

# add_port IFACE LINK N OFPORT: the DPDK port net_vlinkN, host end of LINK
add_port() {
	vsctl add-port "$BR" "$1" -- set interface "$1" type=dpdk ofport_request="$4" \
		"options:dpdk-devargs=net_vlink$3,link=$2,socket=$SOCK" ${MTU:+mtu_request=$MTU}
}
# add_ports, del_ports: every port of OVS_LINKS
add_ports() {
	_n=0
	for _l in $OVS_LINKS; do
		add_port "vl$_l" "$_l" $_n $((_n + 1)) || return 1
		_n=$((_n + 1))
	done
}
del_ports() { for _p in $OVS_PORTS; do vsctl del-port "$BR" "$_p" || return 1; done; }

# closed_lines FROM [DEV]: the PMD's "closed: ..." lines after FROM
closed_lines() { tail -n "+$(($1 + 1))" "$OVSLOG" | grep -E "${2:-net_vlink[0-9]}: closed: "; }
# all_home FROM [DEV]: how many of them say every buffer home, every mbuf
# in the pool, no bad descriptor
all_home() {
	closed_lines "$1" "${2:-}" | grep -Ec \
		'closed: ([0-9]+) of \1 buffers home, ([0-9]+) of \2 mbufs in the pool, 0 bad'
}

# close_ports_all_home WHAT: once the peers have left, del-port every
# port; each closes with every buffer home (checked as WHAT)
close_ports_all_home() {
	_n=0
	for _l in $OVS_LINKS; do until_ok 10 detached "$_l" peer; _n=$((_n + 1)); done
	F=$(ovs_log_lines)
	del_ports
	until_ok 20 eval '[ "$(closed_lines "$F" | wc -l)" -ge $_n ]'
	[ "$(all_home "$F")" = $_n ] && ok "$1" ||
		{ not_ok "$1"; closed_lines "$F" | sed 's/^/    /'; }
}

# --- counters -------------------------------------------------------------------
# ofstat IFACE: "RX-PKTS RX-DROP TX-PKTS TX-DROP", read live from the PMD
# (ovs-ofctl dump-ports); "? ? ? ?" when OVS does not answer
ofstat() {
	ofctl dump-ports "$BR" "$1" 2>/dev/null | awk '
		{ for (i = 1; i <= NF; i++)
			if ($i == "rx" || $i == "tx") d = $i
			else if (split($i, kv, "=") == 2) { sub(",", "", kv[2]); s[d "_" kv[1]] = kv[2] } }
		END { if (!("rx_pkts" in s)) print "? ? ? ?"
		      else print s["rx_pkts"] + 0, s["rx_drop"] + 0, s["tx_pkts"] + 0, s["tx_drop"] + 0 }'
}
# sub A B, add A B: A - B, A + B; "?" when either is not a number
num() { case "$1" in ''|*[!0-9-]*) return 1 ;; esac; }
sub() { if num "$1" && num "$2"; then echo $(($1 - $2)); else echo "?"; fi; }
add() { if num "$1" && num "$2"; then echo $(($1 + $2)); else echo "?"; fi; }
# db_agrees IFACE: the database's statistics (what ovs-vsctl shows; written
# every 5 s) say what the port's counters say now
db_agrees() {
	set -- "$1" $(ofstat "$1")
	[ "$(vsctl get interface "$1" statistics:rx_packets)" = "$2" ] &&
		[ "$(vsctl get interface "$1" statistics:tx_packets)" = "$4" ]
}
# xstats_all IFACE: every xstat of IFACE's port, "NAME VALUE" a line, from
# DPDK telemetry (OVS's statistics column has only the *_errors,
# *_dropped and queue counters)
xstats_all() {
	port=$(vsctl get interface "$1" status:port_no 2>/dev/null | tr -d '"')
	python3 - "$TELEMETRY" "$port" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
json.loads(s.recv(65536).decode())
s.send(("/ethdev/xstats,%s" % sys.argv[2]).encode())
for k, v in json.loads(s.recv(1 << 20).decode())["/ethdev/xstats"].items():
    print(k, v)
EOF
}
# xstat IFACE NAME: one of them; "?" when telemetry does not answer
xstat() {
	_v=$(xstats_all "$1" 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }')
	echo "${_v:-?}"
}
# xstats_show IFACE: the ones that are not 0, on one line (diagnostics)
xstats_show() {
	echo "    $1 xstats: $(xstats_all "$1" 2>&1 | awk '$2 != "0" { printf "%s=%s ", $1, $2 }')"
}
# xstats_bad IFACE: the sum of the ones that count bad descriptors or ring
# indices (rx_qN_bad_desc, bad_desc_*, ring_bad_index); "?" when telemetry
# does not answer
xstats_bad() {
	xstats_all "$1" 2>/dev/null |
		awk '{ n++ } /bad_desc|bad_index/ { b += $2 } END { if (n) print b + 0; else print "?" }'
}
# flow_packets MATCH: n_packets of the flows that match (ovs-ofctl dump-flows)
flow_packets() {
	ofctl dump-flows "$BR" "$1" 2>/dev/null |
		sed -n 's/.*n_packets=\([0-9]*\),.*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

# --- peers ----------------------------------------------------------------------
# recv_on LINK N [TIMEOUT]: vlink-peer recv in the background ($RECV; its
# summary in $T/recv.out, progress in $T/recv.err), attached
recv_on() {
	"$PEER" --socket "$SOCK" recv "$1" --count "$2" --timeout "${3:-10}" \
		>"$T/recv.out" 2>"$T/recv.err" &
	RECV=$!
	BG_PIDS="$BG_PIDS $RECV"
	until_ok 10 attached "$1" peer
}
# send_on LINK N SIZE [TIMEOUT]: vlink-peer send in the background ($SEND;
# it waits for the host end itself, and may be done before it is seen)
send_on() {
	"$PEER" --socket "$SOCK" send "$1" --count "$2" --size "$3" --rate "$RATE" \
		--timeout "${4:-10}" >"$T/send.out" 2>"$T/send.err" &
	SEND=$!
	BG_PIDS="$BG_PIDS $SEND"
}
peers_show() {
	for f in send.out send.err recv.out recv.err; do
		[ -s "$T/$f" ] && tail -n 3 "$T/$f" | sed "s/^/    $f: /"
	done
	[ -n "$OVS_PID" ] || return 0
	for i in $OVS_PORTS; do
		echo "    $i: rx pkts, rx drop, tx pkts, tx drop: $(ofstat $i)"
		xstats_show $i
	done
}
# recv_got: packets recv has had so far (its last progress line)
recv_got() {
	awk '$1 == "vlink-peer" && $2 == "recv:" && $4 ~ /^packets/ { n = $3 } END { print n + 0 }' \
		"$T/recv.err"
}
# recv_still: recv's count stood still for its last two progress lines,
# both after line STILL_FROM of them
recv_still() {
	[ "$(grep -c '^vlink-peer recv:' "$T/recv.err")" -ge $((STILL_FROM + 2)) ] &&
		[ "$(grep '^vlink-peer recv:' "$T/recv.err" | tail -n 2 | awk '{ print $3 }' |
		     uniq | wc -l)" = 1 ]
}
# recv_end: end recv (SIGTERM: its summary, without the packets that
# never came counted as lost); its tally in R_GOT R_OK R_BAD R_LOST
# R_REORDER
recv_end() {
	kill "$RECV" 2>/dev/null
	wait_exit "$RECV" 10
	set -- $(sed -n 's/^recv: \([0-9]*\) packets .*: \([0-9]*\) intact, \([0-9]*\) corrupt, \([0-9]*\) lost, \([0-9]*\) out of order$/\1 \2 \3 \4 \5/p' \
		"$T/recv.out") "?" "?" "?" "?" "?"
	R_GOT=$1 R_OK=$2 R_BAD=$3 R_LOST=$4 R_REORDER=$5
}
# recv_settle: after a sender is done, until recv's count stands still
# (20 s at most), then recv_end
recv_settle() {
	STILL_FROM=$(grep -c '^vlink-peer recv:' "$T/recv.err")
	until_ok 20 recv_still ||
		echo "    (recv's count did not stand still: $(grep -c '^vlink-peer recv:' "$T/recv.err") lines, $STILL_FROM before)"
	recv_end
}
stop_peers() {
	for p in ${SEND:-} ${RECV:-}; do stop_pid "$p" 5; done
	SEND= RECV=
}

# transfer FROM TO SIZE N WHAT: vlink-peer send on link FROM -> OVS ->
# vlink-peer recv on link TO; every packet, in order, intact (recv), and
# OVS counted exactly N in on FROM and out on TO, dropped none (the port
# counters, read live; T_FLOW: what the flows of in_port=FROM counted)
