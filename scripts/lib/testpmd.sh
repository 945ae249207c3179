# dpdk-testpmd under a script's control, for scripts/demo.sh and the tests
# (source after tests/integration/lib.sh, or the demo's own): each instance
# reads commands from a fifo and writes to a log in $T; its ports' counters
# are read back with `show port stats` and parsed.
#
#   tp_start ID EAL-ARGS...        start testpmd (interactive) with the
#                                  plugin, a private file prefix, no
#                                  hugepages (TP_MEM: other memory
#                                  arguments, e.g. hugepages that secondary
#                                  processes can share); EAL-ARGS are the
#                                  --vdev etc.; TP_ARGS holds extra testpmd
#                                  arguments
#   tp_cmd ID COMMAND              send one command
#   tp_wait ID REGEX [SECONDS]     wait until the log matches
#   tp_stat ID PORT FIELD          the value of FIELD (RX-packets,
#                                  TX-packets, RX-errors, TX-errors,
#                                  RX-nombuf) from a fresh `show port stats`
#   tp_field ID PORT FIELD         FIELD (also Rx-pps, Tx-pps) from the
#                                  last `show port stats` already logged
#   tp_quit ID                     quit and wait for the process
#   tp_round ID SECONDS COMMAND... one `start tx_first 30`, until COMMAND
#                                  succeeds (SECONDS at most), `stop`
#   tp_rounds ID K [SECONDS]       K rounds of `start tx_first 30` (ID in
#                                  rxonly), each until port 0 has received
#                                  back all it has sent (SECONDS, default
#                                  10, at most), then `stop`; prints port
#                                  0's "TX-packets RX-packets": for a
#                                  receiver that may refuse part of a burst
#                                  (an end asleep, with only its fill
#                                  stock), where a fixed count per batch
#                                  does not hold
#   tp_batches ID FROM TO PER      batches FROM..TO of `start tx_first 30`
#                                  (testpmd ID in rxonly, the other end
#                                  sends back), each until port 0 has
#                                  received PER a batch in all (30 s at
#                                  most), then `stop`; prints port 0's
#                                  "TX-packets RX-packets" after the last
PLUGIN="$BUILDDIR/pmd/librte_net_vlink.so"
TESTPMD=${TESTPMD:-dpdk-testpmd}

# DPDK refuses a plugin below a world-writable directory (a build tree in
# /tmp): load a copy from a private directory under /run then
world_writable_path() {
	d=$(dirname "$1")
	while [ "$d" != / ]; do
		[ -n "$(find "$d" -maxdepth 0 -perm -0002 2>/dev/null)" ] && return 0
		d=$(dirname "$d")
	done
	return 1
}
if [ -f "$PLUGIN" ] && world_writable_path "$PLUGIN"; then
	PLUGIN_DIR=$(mktemp -d /run/vlink-plugin.XXXXXX)
	cp "$PLUGIN" "$PLUGIN_DIR/"
	PLUGIN="$PLUGIN_DIR/librte_net_vlink.so"
	CLEANUP_PATHS="${CLEANUP_PATHS:-} $PLUGIN_DIR"
fi

# wait_attached LINK host|peer true|false: until vlinkd says that end of
# the link is (true) or is not (false) attached; 10 s at most
wait_attached() {
	i=0
	until ctl show "$1" --json >"$T/wait.json" 2>&1 &&
	      grep -q "\"$2_attached\": *$3" "$T/wait.json"; do
		i=$((i + 1))
		[ $i -gt 100 ] && return 1
		sleep 0.1
	done
}
# wait_peer LINK: until a peer end is attached (what a host end sends
# before is dropped: it sends only to a peer that is up)
wait_peer() { wait_attached "$1" peer true; }

tp_start() {
	id=$1; shift # 1..6: its fifo is held open on fd 3 + id
	rm -f "$T/tp$id.in"
	mkfifo "$T/tp$id.in"
	# shellcheck disable=SC2086
	# shellcheck disable=SC2086
	stdbuf -oL "$TESTPMD" --no-pci ${TP_MEM:---no-huge -m 512} --file-prefix "vlt$$-$id" -d "$PLUGIN" \
		--log-level=pmd.net.vlink:info "$@" -- -i --total-num-mbufs=16384 \
		${TP_ARGS:-} <"$T/tp$id.in" >"$T/tp$id.log" 2>&1 &
	eval "TP_PID_$id=$!"
	BG_PIDS="$BG_PIDS $!"
	# hold the fifo open for writing on fd 3+id
	eval "exec $((3 + id))>\"\$T/tp$id.in\""
	tp_wait "$id" 'testpmd> ' 30
}

tp_cmd() { echo "$2" >&$((3 + $1)); }

tp_pid() { eval "echo \$TP_PID_$1"; }

tp_wait() {
	id=$1 pat=$2 max=${3:-20}
	i=0
	while ! grep -Eq -- "$pat" "$T/tp$id.log"; do
		i=$((i + 1))
		if [ $i -gt $((max * 10)) ] || ! kill -0 "$(tp_pid "$id")" 2>/dev/null; then
			echo "    (testpmd $id: no /$pat/ after ${max} s; its log:)"
			tail -30 "$T/tp$id.log" | sed 's/^/    /'
			return 1
		fi
		sleep 0.1
	done
}

# Counting the blocks is how we know the answer to our command is complete.
tp_stat() {
	id=$1 port=$2 field=$3
	n=$(grep -c 'Tx-pps:' "$T/tp$id.log")
	tp_cmd "$id" "show port stats $port"
	i=0
	while [ "$(grep -c 'Tx-pps:' "$T/tp$id.log")" -le "$n" ]; do
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "?"; return 1; }
		sleep 0.1
	done
	tp_field "$id" "$port" "$field"
}

# tp_round ID SECONDS COMMAND...: one `start tx_first 30`; COMMAND every
# 0.1 s until it succeeds (SECONDS at most); then `stop`
tp_round() {
	_id=$1 _max=$(($2 * 10)); shift 2
	tp_cmd "$_id" "start tx_first 30"
	_i=0
	until "$@" || [ $_i -ge $_max ]; do _i=$((_i + 1)); sleep 0.1; done
	tp_cmd "$_id" "stop"
	tp_wait "$_id" "Done\\." 10 >/dev/null
}

# tp_rx_reached ID N: port 0 of testpmd ID has received N packets (or its
# stats cannot be read: no use waiting)
tp_rx_reached() {
	_r=$(tp_stat "$1" 0 RX-packets) || return 0
	[ "$_r" -ge "$2" ]
}

tp_batches() {
	for _k in $(seq "$2" "$3"); do
		tp_round "$1" 30 tp_rx_reached "$1" $((_k * $4))
	done
	echo "$(tp_stat "$1" 0 TX-packets) $(tp_stat "$1" 0 RX-packets)"
}

# tp_all_back ID FLOOR: testpmd ID has sent more than FLOOR packets on
# port 0 and received back as many as it sent
tp_all_back() {
	_tx=$(tp_stat "$1" 0 TX-packets); _rx=$(tp_stat "$1" 0 RX-packets)
	[ "$_tx" -gt "$2" ] && [ "$_tx" = "$_rx" ]
}

tp_rounds() {
	for _k in $(seq "$2"); do
		tp_round "$1" "${3:-10}" tp_all_back "$1" "$(tp_stat "$1" 0 TX-packets)"
	done
	echo "$(tp_stat "$1" 0 TX-packets) $(tp_stat "$1" 0 RX-packets)"
}

tp_field() {
	awk -v f="$3:" -v p="$2" '
		/NIC statistics for port/ { cur = $(NF - 1) }
		{ for (k = 1; k < NF; k++) if ($k == f && cur == p) v = $(k + 1) }
		END { print v }' "$T/tp$1.log"
}

# tp_xstat ID PORT NAME: one extended statistic (the stats block after it
# says the xstats are all out)
tp_xstat() {
	id=$1 port=$2 name=$3
	tp_cmd "$id" "show port xstats $port"
	tp_stat "$id" "$port" RX-packets >/dev/null
	awk -v f="$name:" '$1 == f { v = $2 } END { print v }' "$T/tp$id.log"
}

# tp_all_home ID [PORTS]: how many of testpmd ID's net_vlink ports logged,
# at close, every buffer home and every mbuf in its pool with no bad
# descriptor (PORTS: a regex of device names, default any)
tp_all_home() {
	grep -Ec "${2:-net_vlink[0-9]+}: closed: ([0-9]+) of \\1 buffers home, \\1 of \\1 mbufs in the pool, 0 bad" \
		"$T/tp$1.log"
}

tp_quit() {
	id=$1
	tp_cmd "$id" "quit"
	eval "exec $((3 + id))>&-"
	pid=$(tp_pid "$id")
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			kill -9 "$pid" 2>/dev/null
			echo "    (testpmd $id did not quit in 20 s)"
			return 1
		fi
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
}
