#!/bin/sh
# Two guests, each in a domain of its own, switched by Open vSwitch's DPDK
# datapath, each through the guest kernel driver (vlink_net.ko): link G1
# (domain vm1) is guest 1's vlink0 and OVS port vlG1, G2 (domain vm2)
# guest 2's and vlG2; two flows, in_port=vlG1 -> vlG2 and back (ARP
# included).  The links have MTU 1500, as OVS's ports.
#  1. each guest: insmod, up with a link-local address (169.254.1.1 and
#     .2), until the other answers; then 50 pings each way at once, none
#     lost (RTT p50/p99 printed: informational, TCG);
#  2. guest 2 sends 4 MiB of random bytes over TCP to guest 1 (busybox nc;
#     guest 1 listens with nc -e 'cat > file'), both sides' byte count and
#     md5sum agree (the throughput printed: informational);
#  3. ethtool -S: no bad descriptor or index, nothing dropped on transmit
#     (the queue waits for fill instead); rmmod; no WARNING, BUG, Oops or
#     call trace in either kernel log; both guests power off;
#  4. OVS: both flows counted packets, no bad descriptor or index in the
#     ports' xstats, each port closes with every buffer home.
# Needs root, QEMU with pci-vlink, the kernel (else SKIP, 77), OVS-DPDK
# (else SKIP), the PMD, 2 MiB hugepages (reserved, given back at exit).
. "$(dirname "$0")/../integration/lib.sh"
need_root
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/guest-pair.sh"
# shellcheck disable=SC2034 # ovs-lib.sh's ports
OVS_LINKS="G1 G2" # vlG1 net_vlink0, vlG2 net_vlink1
. "$(dirname "$0")/../integration/ovs-lib.sh"
trap 'guest_cleanup; ovs_cleanup' EXIT
MB=4

ovs_guest_need
need_netdev_vm
pick_accel
ovs_plugin || { not_ok "a copy of the plugin under /run"; finish; }
start_daemon --no-hugepages || { not_ok "vlinkd starts"; finish; }
check "create G1 in domain vm1 (MTU 1500)" ctl create-link G1 02:00:00:00:00:31 1 --domain vm1 --mtu 1500
check "create G2 in domain vm2 (MTU 1500)" ctl create-link G2 02:00:00:00:00:32 1 --domain vm2 --mtu 1500

# the guests' part: scripts/lib/guest-pair.sh (guest 1 receives, guest 2
# sends; both ping the other 50 times, 0.1 s apart, at once)
# shellcheck disable=SC2034 # for pair_cmd
PAIR_MB=$MB PAIR_I=0.1 PAIR_IF=vlink0 PAIR_LOAD="insmod /lib/modules/vlink_net.ko" PAIR_UNLOAD="rmmod vlink_net"

# OVS while the guests boot
ovs_bridge 0x2 # one polling thread, on core 1; the guests' vCPUs compete
ofctl del-flows "$BR" && flows_between vlG1 vlG2 &&
	ok "flows: vlG1 -> vlG2, vlG2 -> vlG1" ||
	{ not_ok "flows set"; ofctl dump-flows "$BR" | sed 's/^/    /'; }

boot_guest vm1 g1 "$(pair_cmd 1 2 recv 50)"
pair_booted g1
boot_guest vm2 g2 "$(pair_cmd 2 1 send 50)"
pair_booted g2
booted g2
wait_g g1 "^VLINK-GUEST: up" 60 && ok "guest 1 booted too" || { not_ok "guest 1 did not boot"; show_serial g1; finish; }

for g in 1 2; do
	wait_g g$g "^GUEST-UP " 120
	expect_line "$T/g$g.serial" "^GUEST-LOAD 0" "guest $g: insmod vlink_net.ko"
	expect_line "$T/g$g.serial" "^GUEST-UP 0 1500" "guest $g: vlink0 up, MTU 1500, 169.254.1.$g/16"
done
for g in 1 2; do
	o=$((3 - g))
	wait_g g$g "^GUEST-RTT" 600 || { not_ok "guest $g: no ping phase"; show_serial g$g; finish; }
	expect_line "$T/g$g.serial" "^GUEST-REACH ([0-9]|[1-9][0-9]|[12][0-9][0-9])[^0-9]*\$" \
		"guest $g reaches guest $o through OVS"
	expect_line "$T/g$g.serial" "^GUEST-PING 0 50 packets transmitted, 50 packets received, 0% packet loss" \
		"guest $g -> guest $o: 50 pings, none lost"
	pair_rtt g$g | awk -v g=$g -v o=$o '{ printf "# guest %s -> %s RTT ms: p50 %s, p99 %s (of %d; TCG)\n", g, o, $1, $2, $4 }'
done

# the TCP transfer
wait_g g1 "^GUEST-SUM" 900
wait_g g2 "^GUEST-NC" 60
s1=$(pair_sum g1) s2=$(pair_sum g2)
[ -n "$s2" ] && [ "$s1" = "$s2" ] && [ "${s2%% *}" = $((MB << 20)) ] &&
	ok "TCP, guest 2 -> guest 1 (busybox nc): $MB MiB, md5sum ${s2#* } at both ends" ||
	not_ok "TCP transfer: guest 2 sent '$s2', guest 1 received '$s1'"
expect_line "$T/g1.serial" "^GUEST-NC 0" "guest 1's nc exits 0"
pair_rate g1 $MB | awk -v mb=$MB -v n="$(pair_field g2 NC)" \
	'{ printf "# TCP: %d MiB in %s s: %s Mbit/s (TCG; %d connect retries)\n", mb, $1, $2, n }'

for g in 1 2; do
	wait_g g$g "^GUEST-BAD-DMESG " 120
	for s in rx_bad_desc fill_bad_desc bad_index tx_dropped; do
		expect_line "$T/g$g.serial" "^GUEST-S ch1_$s: 0[^0-9]*\$" "guest $g: ethtool -S ch1_$s 0"
	done
	expect_line "$T/g$g.serial" "^GUEST-UNLOAD 0" "guest $g: rmmod"
	expect_line "$T/g$g.serial" "^GUEST-BAD-DMESG 0[^0-9]*\$" \
		"guest $g: no WARNING, BUG, Oops or call trace in the kernel log"
	grep -E "^GUEST-S ch1_(rx_packets|tx_packets|rx_dropped|tx_dropped)" "$T/g$g.serial" | sed "s/^/# guest $g: /"
done
for g in g1 g2; do eval "QEMU_PID=\$QPID_$g"; wait_guest_exit 120 || not_ok "$g did not power off"; done
ok "both guests powered off"

f1=$(flow_packets in_port=vlG1) f2=$(flow_packets in_port=vlG2)
[ "$f1" -gt 0 ] && [ "$f2" -gt 0 ] && ok "flows counted: vlG1 -> vlG2 $f1 packets, vlG2 -> vlG1 $f2" ||
	not_ok "flows: vlG1 -> vlG2 $f1, vlG2 -> vlG1 $f2"
bad=
for i in $OVS_PORTS; do bad="$bad $i=$(xstats_bad "$i")"; done
[ "$bad" = " vlG1=0 vlG2=0" ] && ok "no bad descriptor or ring index in the ports' xstats" ||
	{ not_ok "bad descriptors in the xstats:$bad"; for i in $OVS_PORTS; do xstats_show "$i"; done; }
echo "# vlG1: $(ofstat vlG1), vlG2: $(ofstat vlG2) (rx pkts, rx drop, tx pkts, tx drop)"
close_ports_all_home "del-port of vlG1, vlG2: each closes with every buffer home, 0 bad descriptors"
stop_ovs && ok "ovs-vswitchd exits (ovs-appctl exit)" || not_ok "ovs-vswitchd exits (status $RC)"
[ "$FAILED" = 0 ] || { show_serial g1; show_serial g2; ovs_log_tail 60; }
finish
