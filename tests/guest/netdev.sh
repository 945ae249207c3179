#!/bin/sh
# The guest kernel driver (libvlinkguest/linux, vlink_net.ko) in a real
# guest (TCG): the link is a network interface of the guest's kernel and
# its IP stack talks to a DPDK application on the host.
#  1. insmod: the interface appears with the link's MAC, MTU and name
#     (ifalias); ethtool -i names the driver and the device;
#  2. `ip link set up`, an IPv4 link-local address; the host end of the link
#     is dpdk-testpmd --forward-mode=icmpecho (net_vlink's host end, mode
#     bond: its one queue serves both data channels of the link), which
#     answers ARP and ICMP echo for any address: 1000 pings 10 ms apart,
#     none lost; 8 flows at once to other addresses, all answered, over
#     both channels both ways; ethtool -S counts them, no bad descriptor,
#     no bad index;
#  3. vlinkd killed (-9) and started again under 400 pings 50 ms apart:
#     none lost (the data path does not need vlinkd; QEMU reconnects and
#     the driver finds the link unchanged), QEMU the same process;
#  4. testpmd killed (-9) and a new one started under 600 pings: the
#     carrier drops (the new host end opens a new epoch) and comes back,
#     pings resume: at most 6 s of them lost, then 200 more all answered;
#     the new host end's reset counted (ethtool -S resets);
#  5. rmmod (once with the interface up) and insmod five times, a few
#     pings each time;
#  6. no WARNING, BUG, Oops or call trace in the guest's kernel log; the
#     host's testpmd closes with every buffer home.
# The guests have no other network device (QEMU -nodefaults): nothing
# leaves the guest-vlink-testpmd path.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
MAC=02:00:00:00:00:21
GUEST_IP=169.254.0.2
HOST_IP=169.254.0.1

need_root
need_netdev_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create N (2 data channels) in domain vm1" ctl create-link N $MAC 2 --domain vm1

# the host end: testpmd answering ARP and ICMP echo on the link
TP_ARGS="--forward-mode=icmpecho" tp_start 1 --vdev "net_vlink0,link=N,socket=$SOCK,mode=bond" ||
	{ not_ok "testpmd started"; finish; }
tp_cmd 1 "start"

# the guest's part (its kernel command line holds it: at most 2048 bytes,
# base64: hence the terse shell).  s: a line for the test; e: wait for
# vlink0; u: up with our address, wait for the carrier; p NAME COUNT
# INTERVAL: pings, "GUEST-PHASE-NAME" before, "GUEST-PING-NAME rc summary"
# and "GUEST-LOST-NAME" with the sequence numbers never answered after
cat >"$T/guest.sh" <<'EOF'
s(){ echo "GUEST-$*";}
N=/sys/class/net/vlink0
e(){ i=0;until [ -e $N ]||[ $i -ge 99 ];do i=$((i+1));sleep .1;done;}
u(){ ip l set vlink0 up&&ip a add 169.254.0.2/16 dev vlink0||return 1;i=0;until [ "$(cat $N/carrier)" = 1 ];do i=$((i+1));[ $i -lt 600 ]||return 1;sleep .1;done;}
p(){ s PHASE-$1;ping -c$2 -i$3 -W9 169.254.0.1 >/tmp/p 2>&1;s "PING-$1 $? $(grep tra /tmp/p)";s "LOST-$1 $(sed -n 's/.*seq=\([0-9]*\).*/\1/p' /tmp/p|sort -n|awk '$1>n{printf "%d-%d ",n,$1-1}{n=$1+1}')";}
insmod /lib/modules/vlink_net.ko;s INSMOD $?;e
s IF $(cat $N/address) alias=$(cat $N/ifalias) mtu=$(cat $N/mtu)
ethtool -i vlink0|sed 's/^/GUEST-I /'
u;s UP $?
p 1 1000 .01;tail -1 /tmp/p
for a in 1 3 4 5 6 7 8 9;do ping -c20 -i.05 169.254.0.$a>/tmp/m$a&done;wait;s MULTI $(cat /tmp/m?|grep -c ', 20 packets r')
ethtool -S vlink0|sed 's/^ */GUEST-S /';s STATS
p A 400 .05
d=$(cat $N/carrier_down_count)
p B 600 .05
s DOWNS $(($(cat $N/carrier_down_count)-d)) now $(cat $N/carrier)
p C 200 .02
ethtool -S vlink0|sed 's/^ */GUEST-T /';s STATS2
for k in 1 2 3 4 5;do [ $k = 3 ]||ip l set vlink0 down;rmmod vlink_net;r=$?;[ -e $N ]&&r=x;insmod /lib/modules/vlink_net.ko;r="$r $?";e;u;r="$r $?";p R$k 5 .05;s RELOAD $k $r;done
ip l set vlink0 down;rmmod vlink_net;s RMMOD $?
dmesg|grep vlink|sed 's/^/GUEST-D /'
s BAD-DMESG $(dmesg|grep -cE 'WARNING|BUG|Oops|Call Trace|general protection|RIP:')
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
booted g

wait_serial g "^GUEST-INSMOD " 120
expect_line "$T/g.serial" "^GUEST-INSMOD 0" "insmod vlink_net.ko"
wait_serial g "^GUEST-IF " 60
expect_line "$T/g.serial" "^GUEST-IF $MAC alias=N mtu=9000" \
	"the interface has the link's MAC, its name as ifalias and its MTU"
wait_serial g "^GUEST-UP " 120
expect_line "$T/g.serial" "^GUEST-I driver: vlink_net" "ethtool -i: driver vlink_net"
expect_line "$T/g.serial" "^GUEST-I bus-info: 0000:" "ethtool -i: the PCI device"
expect_line "$T/g.serial" "^GUEST-UP 0" "ip link set up, $GUEST_IP/16: carrier up (the host end in our epoch)"
wait_serial g "^GUEST-PING-1 " 600
expect_line "$T/g.serial" "^GUEST-PING-1 0 1000 packets transmitted, 1000 packets received, 0% packet loss" \
	"1000 pings to $HOST_IP (testpmd icmpecho on the host end), none lost"
grep -hE "^round-trip|^GUEST-PING-1 " "$T/g.serial" | sed 's/^/# guest: /'
wait_serial g "^GUEST-STATS" 60
expect_line "$T/g.serial" "^GUEST-MULTI 8" "8 ping flows at once (other addresses), each answered 20 times"
# the flows spread over both channels both ways (the guest: its tx queue
# by flow hash; testpmd's host end in bond mode: a channel by flow hash)
stat() { sed -n "s/^GUEST-S $1: \([0-9]*\).*/\1/p" "$T/g.serial" | head -n1; }
rx=$(( $(stat ch1_rx_packets) + $(stat ch2_rx_packets) ))
tx=$(( $(stat ch1_tx_packets) + $(stat ch2_tx_packets) ))
[ "$rx" -ge 1160 ] && [ "$tx" -ge 1160 ] &&
	ok "ethtool -S: $tx packets sent and $rx received on the two channels" ||
	not_ok "ethtool -S: sent $tx, received $rx (want at least 1160 each)"
for d in rx tx; do
	[ "$(stat ch1_${d}_packets)" -gt 0 ] && [ "$(stat ch2_${d}_packets)" -gt 0 ] &&
		ok "ethtool -S: both channels carry $d ($(stat ch1_${d}_packets), $(stat ch2_${d}_packets))" ||
		not_ok "ethtool -S: $d on channel 1 $(stat ch1_${d}_packets), on 2 $(stat ch2_${d}_packets)"
done
for s in rx_bad_desc fill_bad_desc bad_index; do
	expect_line "$T/g.serial" "^GUEST-S ch1_$s: 0[^0-9]*\$" "ethtool -S: ch1_$s 0"
	expect_line "$T/g.serial" "^GUEST-S ch2_$s: 0[^0-9]*\$" "ethtool -S: ch2_$s 0"
done

# 3. vlinkd dies and comes back under the pings; QEMU stays
until_ok 10 test -s "$T/g.qemu.pid"
QEMU_REAL=$(cat "$T/g.qemu.pid")
wait_serial g "^GUEST-PHASE-A" 120 || not_ok "the guest did not start phase A"
sleep 3
stop_daemon KILL
sleep 1
start_daemon --no-hugepages || { show_serial g; finish; }
until_ok 30 sh -c "grep -c 'pci-vlink .*notifiers:' '$T/g.qemu.log' | grep -q '^[2-9]'" &&
	ok "vlinkd killed and started again under the pings; QEMU reconnected" ||
	not_ok "QEMU did not reconnect to the new vlinkd: $(grep pci-vlink "$T/g.qemu.log" | tail -3)"
wait_serial g "^GUEST-PING-A " 300
expect_line "$T/g.serial" "^GUEST-PING-A 0 400 packets transmitted, 400 packets received" \
	"400 pings across vlinkd's kill and restart: none lost"
tp_cmd 1 "show port xstats 0" # for the record (shown on failure)
[ "$(cat "$T/g.qemu.pid")" = "$QEMU_REAL" ] && kill -0 "$QEMU_REAL" 2>/dev/null &&
	ok "QEMU (pid $QEMU_REAL) lives through vlinkd's kill and restart" ||
	not_ok "QEMU was restarted or died with vlinkd"

# 4. testpmd dies, a new one takes the host end
wait_serial g "^GUEST-PHASE-B" 120 || not_ok "the guest did not start phase B"
sleep 3
kill -9 "$(tp_pid 1)"
wait "$(tp_pid 1)" 2>/dev/null
exec 4>&-
sleep 1
TP_ARGS="--forward-mode=icmpecho" tp_start 2 --vdev "net_vlink0,link=N,socket=$SOCK,mode=bond" ||
	not_ok "a new testpmd started"
tp_cmd 2 "start"
wait_serial g "^GUEST-DOWNS " 300
expect_line "$T/g.serial" "^GUEST-DOWNS [1-9][0-9]* now 1" \
	"testpmd killed, a new one: the carrier dropped and came back"
lost=$(sed -n 's/^GUEST-PING-B [0-9]* \([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/\1 \2/p' "$T/g.serial" |
	awk '{ print $1 - $2 }')
[ -n "$lost" ] && [ "$lost" -le 120 ] &&
	ok "pings across testpmd's kill and restart: $lost of 600 lost (the window: at most 120 at 50 ms)" ||
	not_ok "pings across testpmd's restart: $(grep '^GUEST-PING-B ' "$T/g.serial") (want at most 120 lost)"
wait_serial g "^GUEST-STATS2" 300
expect_line "$T/g.serial" "^GUEST-PING-C 0 200 packets transmitted, 200 packets received" \
	"after the restart: 200 pings, none lost"
expect_line "$T/g.serial" "^GUEST-T resets: [1-9]" "ethtool -S: the new host end's epoch counted (resets)"
grep -hE "^GUEST-PING-[ABC] |^GUEST-LOST-[ABC] |^GUEST-T (resets|ch[12]_(stale|tx_dropped|rx_bad|fill_bad|bad))" "$T/g.serial" | sed 's/^/# /'

# 5. rmmod/insmod
wait_serial g "^GUEST-RELOAD 5 " 600
n=$(grep -cE "^GUEST-RELOAD [1-5] 0 0 0" "$T/g.serial")
m=$(grep -cE "^GUEST-PING-R[1-5] 0 5 packets transmitted, 5 packets received" "$T/g.serial")
[ "$n" = 5 ] && [ "$m" = 5 ] && ok "rmmod, insmod, up and 5 pings: 5 times over" ||
	not_ok "rmmod/insmod: $n of 5 rounds good: $(grep -E '^GUEST-(RELOAD|PING-R)' "$T/g.serial" | tr '\n' ';')"
wait_serial g "^GUEST-BAD-DMESG " 120
expect_line "$T/g.serial" "^GUEST-RMMOD 0" "the last rmmod"
expect_line "$T/g.serial" "^GUEST-BAD-DMESG 0[^0-9]*\$" "no WARNING, BUG, Oops or call trace in the guest's kernel log"
guest_off_tp_home 2
if [ "$FAILED" != 0 ]; then
	show_serial g
	for f in "$T"/tp*.log; do
		echo "--- ${f##*/} (net_vlink's lines, counters not 0) ---"
		grep -aE 'net_vlink|: [1-9]' "$f" | sed 's/^/    /'
	done
fi
finish
