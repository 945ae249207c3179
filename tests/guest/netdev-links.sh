#!/bin/sh
# The guest kernel driver (vlink_net.ko) in a real guest (TCG), beyond
# netdev.sh: what a host end that stops receiving does to the guest's
# transmit, and links that come and go while the driver stays loaded.
#  1. back-pressure: the host end (dpdk-testpmd icmpecho on net_vlink) stops
#     forwarding while the guest pings 5 ms apart: once the host end's fill
#     stock is used up the driver stops its transmit queue (ethtool -S
#     tx_stops) and the packets wait in the qdisc instead of being dropped
#     (tx_dropped 0); testpmd starts again, its refill signals the guest
#     (need_wakeup on fill, the channel's MSI-X vector) and every ping is
#     answered: every packet the driver sent reached testpmd, every reply
#     reached the driver and the guest's IP stack (its InEchoReps; busybox
#     ping itself misses some of the burst of replies at the end: it sets
#     a socket buffer of about 7 KiB), the guest's IPv6 is off: nothing
#     else talks;
#  2. a link created in the guest's domain appears as a new interface (its
#     name as ifalias, its MAC) without reloading the driver, and goes when
#     the link is deleted; the first interface keeps working;
#  3. no WARNING, BUG, Oops or call trace in the guest's kernel log; the
#     host's testpmd closes with every buffer home.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
MAC=02:00:00:00:00:41
MAC2=02:00:00:00:00:42
NPING=800

need_root
need_netdev_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create N (1 data channel) in domain vm1" ctl create-link N $MAC 1 --domain vm1

# --no-flush-rx: testpmd would drop at "start" what waits on the link
TP_ARGS="--forward-mode=icmpecho --no-flush-rx" tp_start 1 --vdev "net_vlink0,link=N,socket=$SOCK" ||
	{ not_ok "testpmd started"; finish; }
tp_cmd 1 "start"

# the guest's part (terse: the kernel command line holds it).  s: a line
# for the test; f NAME: I, the sysfs directory of the interface whose
# ifalias is NAME, or empty; x 1|0 NAME: wait (60 s at most) until it
# exists (1) or is gone (0); t COUNTER: its sum over vlink0's channels
# (ethtool -S).  The host says "go" by creating link M in the domain.
cat >"$T/guest.sh" <<EOF
s(){ echo "GUEST-\$*";}
f(){ I=;for i in /sys/class/net/vlink*;do [ "\$(cat \$i/ifalias 2>/dev/null)" = \$1 ]&&I=\$i;done;}
x(){ j=0;f \$2;while [ \$((\${#I}>0)) != \$1 ]&&[ \$j -lt 600 ];do j=\$((j+1));sleep .1;f \$2;done;}
r(){ awk '/^Icmp:/{if(n++)print \$k;else for(i=1;i<=NF;i++)if(\$i=="InEchoReps")k=i}' /proc/net/snmp;}
t(){ ethtool -S vlink0|awk -v k="_\$1:" 'index(\$1,k){n+=\$2}END{print n+0}';}
echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6;echo 8388608 >/proc/sys/net/core/rmem_default
insmod /lib/modules/vlink_net.ko;s INSMOD \$?
x 1 N;ip l set vlink0 up;ip a add 169.254.0.2/16 dev vlink0
j=0;until [ "\$(cat \$I/carrier)" = 1 ]||[ \$j -ge 600 ];do j=\$((j+1));sleep .1;done
ping -c20 -i.05 -W9 169.254.0.1|grep tra|sed 's/^/GUEST-PING-0 /'
s READY
x 1 M;s ADDED \${I##*/} \$(cat \$I/address)
e=\$(r);ping -c$NPING -i.005 -W9 169.254.0.1>/tmp/p 2>&1&P=\$!
j=0;until [ "\$(t tx_stops)" -gt 0 ]||[ \$j -ge 300 ];do j=\$((j+1));sleep .1;done
s STOPPED \$(t tx_stops) tx \$(t tx_packets)
wait \$P;s "PING-1 \$? \$(grep tra /tmp/p)";s ECHO \$((\$(r)-e))
s COUNTS stops \$(t tx_stops) dropped \$(t tx_dropped) tx \$(t tx_packets) rx \$(t rx_packets)
x 0 M;s GONE \${I:-none}
ping -c20 -i.05 -W9 169.254.0.1|grep tra|sed 's/^/GUEST-PING-2 /'
ip l set vlink0 down;rmmod vlink_net;s RMMOD \$?
s BAD-DMESG \$(dmesg|grep -cE 'WARNING|BUG|Oops|Call Trace|general protection|RIP:')
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
booted g

wait_serial g "^GUEST-READY" 300 || { not_ok "the guest did not get ready"; show_serial g; finish; }
expect_line "$T/g.serial" "^GUEST-INSMOD 0" "insmod vlink_net.ko"
expect_line "$T/g.serial" "^GUEST-PING-0 20 packets transmitted, 20 packets received" \
	"vlink0 up: 20 pings to testpmd icmpecho, all answered"

# 1. the host end stops receiving, then says go (link M): the guest's
# transmit queue stops, the pings wait in the qdisc.  And M is a new
# interface.
tp_cmd 1 "stop"
check "create M in domain vm1 while the driver is loaded" ctl create-link M $MAC2 1 --domain vm1
wait_serial g "^GUEST-ADDED " 120
expect_line "$T/g.serial" "^GUEST-ADDED vlink1 $MAC2" \
	"the new link is a new interface (vlink1, its MAC, ifalias M)"
wait_serial g "^GUEST-STOPPED " 120
expect_line "$T/g.serial" "^GUEST-STOPPED [1-9]" \
	"testpmd stopped: the driver stopped its transmit queue once fill ran dry (ethtool -S tx_stops)"
tp_cmd 1 "start"
wait_serial g "^GUEST-COUNTS " 300
expect_line "$T/g.serial" "^GUEST-ECHO $NPING[^0-9]*\$" \
	"testpmd started again: all $NPING pings answered, those that waited too (the IP stack's InEchoReps)"
expect_line "$T/g.serial" "^GUEST-COUNTS stops [1-9][0-9]* dropped 0 " \
	"ethtool -S: tx_dropped 0 (the packets waited, none dropped)"
gtx=$(sed -n 's/^GUEST-COUNTS .* tx \([0-9]*\) rx \([0-9]*\).*/\1/p' "$T/g.serial")
grx=$(sed -n 's/^GUEST-COUNTS .* tx \([0-9]*\) rx \([0-9]*\).*/\2/p' "$T/g.serial")
hrx=$(tp_stat 1 0 RX-packets) htx=$(tp_stat 1 0 TX-packets)
tp_xstat 1 0 rx_good_packets >/dev/null # for the record
[ -n "$gtx" ] && [ "$gtx" = "$hrx" ] && [ "$grx" = "$htx" ] &&
	ok "every packet the guest's driver sent reached testpmd ($gtx) and every one testpmd sent reached the driver ($htx)" ||
	not_ok "the driver sent ${gtx:-?}, testpmd received $hrx; testpmd sent $htx, the driver received ${grx:-?}"
grep -hE "^GUEST-(STOPPED|PING-1|ECHO|COUNTS) " "$T/g.serial" | sed 's/^/# /'

# 2. the link goes
check "delete M (--force: the guest has its domain)" ctl delete-link M --force
wait_serial g "^GUEST-GONE " 120
expect_line "$T/g.serial" "^GUEST-GONE none" "deleted: its interface is gone"
wait_serial g "^GUEST-BAD-DMESG " 120
expect_line "$T/g.serial" "^GUEST-PING-2 20 packets transmitted, 20 packets received" \
	"vlink0 still answers: 20 pings"
expect_line "$T/g.serial" "^GUEST-RMMOD 0" "rmmod"
expect_line "$T/g.serial" "^GUEST-BAD-DMESG 0[^0-9]*\$" "no WARNING, BUG, Oops or call trace in the guest's kernel log"
guest_off_tp_home 1
if [ "$FAILED" != 0 ]; then
	show_serial g
	echo "--- testpmd (net_vlink's lines, counters not 0) ---"
	grep -aE 'net_vlink|: [1-9]' "$T/tp1.log" | sed 's/^/    /'
fi
finish
