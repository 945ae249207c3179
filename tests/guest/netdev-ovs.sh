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

# the guests' part (M: its address's last byte, O: the other's, R: recv
# or send).  RTT: the 50 ping times, sorted; SUM: bytes and md5sum of what
# was sent or received; NC: connect retries, start and end (uptime)
cat >"$T/guest.sh" <<'EOF'
s(){ echo "GUEST-$*";}
N=/sys/class/net/vlink0
u(){ cut -d' ' -f1 /proc/uptime;}
insmod /lib/modules/vlink_net.ko;s INSMOD $?
i=0;until [ -e $N ]||[ $i -ge 99 ];do i=$((i+1));sleep .1;done
ip l set vlink0 up&&ip a add 169.254.1.$M/16 dev vlink0;s UP $? $(cat $N/mtu)
i=0;until ping -c1 -W1 169.254.1.$O >/dev/null||[ $i -ge 300 ];do i=$((i+1));sleep .5;done;s REACH $i
ping -c50 -i.1 -W9 169.254.1.$O >/tmp/p 2>&1;s "PING $? $(grep tra /tmp/p)"
s RTT $(sed -n 's/.*time=\([0-9.]*\).*/\1/p' /tmp/p|sort -n|tr '\n' ' ')
if [ $R = recv ];then
nc -l -p 5000 -e sh -c 'cat>/tmp/r';s NC $?
s SUM $(wc -c </tmp/r) $(md5sum </tmp/r)
else
dd if=/dev/urandom of=/tmp/f bs=64k count=$((MB*16)) 2>/dev/null
s SUM $(wc -c </tmp/f) $(md5sum </tmp/f)
i=0;t=$(u);until nc 169.254.1.$O 5000 </tmp/f;do i=$((i+1));[ $i -lt 120 ]||break;sleep 1;t=$(u);done;s NC $i $t $(u)
fi
ethtool -S vlink0|sed 's/^ */GUEST-S /'
ip l set vlink0 down;rmmod vlink_net;s RMMOD $?
s BAD-DMESG $(dmesg|grep -cE 'WARNING|BUG|Oops|Call Trace|general protection|RIP:|soft lockup|hung task')
EOF

# OVS while the guests boot
ovs_hugepages || finish
if ! start_ovsdb; then not_ok "ovsdb-server starts"; cat "$O/ovsdb-server.log"; finish; fi
ovs_dpdk_config 0x2 # one polling thread, on core 1; the guests' vCPUs compete
if start_ovs; then
	ok "ovs-vswitchd starts with DPDK and the plugin"
else
	not_ok "ovs-vswitchd starts with DPDK and the plugin"; finish
fi
vsctl add-br "$BR" -- set bridge "$BR" datapath_type=netdev
add_ports
if ports_ready; then
	ok "two vlink ports: vlG1, vlG2 (ofport $(vsctl get interface vlG1 ofport), $(vsctl get interface vlG2 ofport))"
else
	not_ok "two vlink ports added"; ovs_log_tail; finish
fi
ofctl del-flows "$BR" &&
	ofctl add-flow "$BR" "in_port=vlG1,actions=output:vlG2" &&
	ofctl add-flow "$BR" "in_port=vlG2,actions=output:vlG1" &&
	ok "flows: vlG1 -> vlG2, vlG2 -> vlG1" ||
	{ not_ok "flows set"; ofctl dump-flows "$BR" | sed 's/^/    /'; }

boot_guest vm1 g1 "M=1 O=2 R=recv MB=$MB; $(cat "$T/guest.sh")"
Q1=$QEMU_PID
boot_guest vm2 g2 "M=2 O=1 R=send MB=$MB; $(cat "$T/guest.sh")"
Q2=$QEMU_PID
# wait_g N REGEX SECONDS: wait_serial for guest N (its QEMU's life)
wait_g() { eval "QEMU_PID=\$Q$1"; wait_serial "g$1" "$2" "$3"; }
booted g2
wait_g 1 "^VLINK-GUEST: up" 60 && ok "guest 1 booted too" || { not_ok "guest 1 did not boot"; show_serial g1; finish; }

for g in 1 2; do
	wait_g $g "^GUEST-UP " 120
	expect_line "$T/g$g.serial" "^GUEST-INSMOD 0" "guest $g: insmod vlink_net.ko"
	expect_line "$T/g$g.serial" "^GUEST-UP 0 1500" "guest $g: vlink0 up, MTU 1500, 169.254.1.$g/16"
done
for g in 1 2; do
	o=$((3 - g))
	wait_g $g "^GUEST-RTT" 600 || { not_ok "guest $g: no ping phase"; show_serial g$g; finish; }
	expect_line "$T/g$g.serial" "^GUEST-REACH ([0-9]|[1-9][0-9]|[12][0-9][0-9])[^0-9]*\$" \
		"guest $g reaches guest $o through OVS"
	expect_line "$T/g$g.serial" "^GUEST-PING 0 50 packets transmitted, 50 packets received, 0% packet loss" \
		"guest $g -> guest $o: 50 pings, none lost"
	# p50 of the 50 (sorted): the 25th; with 50, p99 is the largest
	sed -n 's/^GUEST-RTT //p' "$T/g$g.serial" | tr -d '\r' |
		awk -v g=$g -v o=$o '{ printf "# guest %s -> %s RTT ms: p50 %s, p99 (the largest of %d) %s (TCG)\n", g, o, $25, NF, $NF }'
done

# the TCP transfer
wait_g 1 "^GUEST-SUM" 900
wait_g 2 "^GUEST-NC" 60
s1=$(sed -n 's/^GUEST-SUM \([0-9]*\) \([0-9a-f]*\).*/\1 \2/p' "$T/g1.serial")
s2=$(sed -n 's/^GUEST-SUM \([0-9]*\) \([0-9a-f]*\).*/\1 \2/p' "$T/g2.serial")
[ -n "$s2" ] && [ "$s1" = "$s2" ] && [ "${s2%% *}" = $((MB << 20)) ] &&
	ok "TCP, guest 2 -> guest 1 (busybox nc): $MB MiB, md5sum ${s2#* } at both ends" ||
	not_ok "TCP transfer: guest 2 sent '$s2', guest 1 received '$s1'"
expect_line "$T/g1.serial" "^GUEST-NC 0" "guest 1's nc exits 0"
sed -n 's/^GUEST-NC \([0-9]*\) \([0-9.]*\) \([0-9.]*\).*/\1 \2 \3/p' "$T/g2.serial" | tr -d '\r' |
	awk -v mb=$MB '{ d = $3 - $2; printf "# TCP: %d MiB in %.2f s: %.1f Mbit/s (TCG; %d connect retries)\n", mb, d, (d > 0 ? mb * 8.388608 / d : 0), $1 }'

for g in 1 2; do
	wait_g $g "^GUEST-BAD-DMESG " 120
	for s in rx_bad_desc fill_bad_desc bad_index tx_dropped; do
		expect_line "$T/g$g.serial" "^GUEST-S ch1_$s: 0[^0-9]*\$" "guest $g: ethtool -S ch1_$s 0"
	done
	expect_line "$T/g$g.serial" "^GUEST-RMMOD 0" "guest $g: rmmod"
	expect_line "$T/g$g.serial" "^GUEST-BAD-DMESG 0[^0-9]*\$" \
		"guest $g: no WARNING, BUG, Oops or call trace in the kernel log"
	grep -E "^GUEST-S ch1_(rx_packets|tx_packets|rx_dropped|tx_dropped)" "$T/g$g.serial" | sed "s/^/# guest $g: /"
done
for q in $Q1 $Q2; do QEMU_PID=$q; wait_guest_exit 120 || not_ok "a guest did not power off (QEMU $q)"; done
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
