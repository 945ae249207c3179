#!/bin/sh
# The guest kernel driver (libvlinkguest/linux, vlink_net.ko) in a real
# guest (TCG): the link is a network interface of the guest's kernel and
# its IP stack talks to a DPDK application on the host.
#  1. insmod: the interface appears with the link's MAC, MTU and name
#     (ifalias); ethtool -i names the driver and the device;
#  2. `ip link set up`, an IPv4 link-local address; the host end of the link
#     is dpdk-testpmd --forward-mode=icmpecho (net_vlink's host end), which
#     answers ARP and ICMP echo for any address: 1000 pings 10 ms apart,
#     none lost; ethtool -S counts them, no bad descriptor, no bad index;
#  3. rmmod and insmod five times, a few pings each time;
#  4. no WARNING, BUG, Oops or call trace in the guest's kernel log; the
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
if ! KO=$(sh "$SRCDIR/scripts/build-guest-module.sh" 2>"$T/build.err"); then
	not_ok "vlink_net.ko built: $(tail -5 "$T/build.err")"
	finish
fi
ok "vlink_net.ko built ($KO)"
ETHTOOL=$(command -v ethtool 2>/dev/null) || { not_ok "no ethtool on the host (apt-get install ethtool)"; finish; }
# the image with the module and ethtool (and its libraries): one of its own
VM_KMODS=$KO
VM_DPDK_APPS=$ETHTOOL
DPDK_VM_IMAGE=$BUILDDIR/tests/guest/initramfs-netdev.cpio.gz
need_dpdk_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create N in domain vm1" ctl create-link N $MAC 1 --domain vm1

# the host end: testpmd answering ARP and ICMP echo on the link
TP_ARGS="--forward-mode=icmpecho" tp_start 1 --vdev "net_vlink0,link=N,socket=$SOCK" ||
	{ not_ok "testpmd started"; finish; }
tp_cmd 1 "start"

cat >"$T/guest.sh" <<EOF
say() { echo "GUEST-\$*"; }
up() { # bring vlink0 up with our address, wait for the carrier
	ip link set vlink0 up && ip addr add $GUEST_IP/16 dev vlink0 || return 1
	i=0; until [ "\$(cat /sys/class/net/vlink0/carrier 2>/dev/null)" = 1 ]; do
		i=\$((i + 1)); [ \$i -lt 600 ] || return 1; sleep 0.1; done
}
insmod /lib/modules/vlink_net.ko; say "INSMOD \$?"
i=0; until [ -e /sys/class/net/vlink0 ] || [ \$i -ge 100 ]; do i=\$((i + 1)); sleep 0.1; done
say "IF \$(cat /sys/class/net/vlink0/address) alias=\$(cat /sys/class/net/vlink0/ifalias) mtu=\$(cat /sys/class/net/vlink0/mtu)"
ethtool -i vlink0 | sed 's/^/GUEST-ETHTOOL-I /'
up; say "UP \$?"
ping -c 1000 -i 0.01 -W 10 $HOST_IP >/tmp/ping.out 2>&1; say "PING \$?"
tail -3 /tmp/ping.out
ethtool -S vlink0 | sed 's/^ */GUEST-STAT /'; say "STATS-DONE"
for k in 1 2 3 4 5; do
	ip link set vlink0 down; rmmod vlink_net; r=\$?
	[ -e /sys/class/net/vlink0 ] && r=gone-not
	insmod /lib/modules/vlink_net.ko; r="\$r \$?"
	i=0; until [ -e /sys/class/net/vlink0 ] || [ \$i -ge 100 ]; do i=\$((i + 1)); sleep 0.1; done
	up; r="\$r \$?"
	ping -c 5 -i 0.05 -W 10 $HOST_IP >/tmp/ping.\$k 2>&1; r="\$r \$?"
	say "RELOAD \$k \$r \$(grep 'packets transmitted' /tmp/ping.\$k)"
done
ip link set vlink0 down
rmmod vlink_net; say "RMMOD \$?"
dmesg | grep -E 'vlink|pci-vlink' | sed 's/^/GUEST-DMESG /'
say "BAD-DMESG \$(dmesg | grep -cE 'WARNING|BUG|Oops|Call Trace|general protection|RIP:')"
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
booted g

wait_serial g "^GUEST-INSMOD " 120
expect_line "$T/g.serial" "^GUEST-INSMOD 0" "insmod vlink_net.ko"
expect_line "$T/g.serial" "^GUEST-IF $MAC alias=N mtu=9000" \
	"the interface has the link's MAC, its name as ifalias and its MTU"
wait_serial g "^GUEST-UP " 120
expect_line "$T/g.serial" "^GUEST-ETHTOOL-I driver: vlink_net" "ethtool -i: driver vlink_net"
expect_line "$T/g.serial" "^GUEST-ETHTOOL-I bus-info: 0000:" "ethtool -i: the PCI device"
expect_line "$T/g.serial" "^GUEST-UP 0" "ip link set up, $GUEST_IP/16: carrier up (the host end in our epoch)"
wait_serial g "^GUEST-PING " 600
expect_line "$T/g.serial" "^1000 packets transmitted, 1000 packets received, 0% packet loss" \
	"1000 pings to $HOST_IP (testpmd icmpecho on the host end), none lost"
expect_line "$T/g.serial" "^GUEST-PING 0" "ping exits 0"
grep -hE "^round-trip|^1000 packets transmitted" "$T/g.serial" | sed 's/^/# guest: /'
wait_serial g "^GUEST-STATS-DONE" 60
expect_line "$T/g.serial" "^GUEST-STAT ch1_rx_packets: 10[0-9][0-9]" \
	"ethtool -S: channel 1 received the replies (and ARP)"
expect_line "$T/g.serial" "^GUEST-STAT ch1_tx_packets: 10[0-9][0-9]" "ethtool -S: channel 1 sent the pings"
for s in rx_bad_desc fill_bad_desc bad_index; do
	expect_line "$T/g.serial" "^GUEST-STAT ch1_$s: 0[^0-9]*\$" "ethtool -S: ch1_$s 0"
done
wait_serial g "^GUEST-RELOAD 5 " 600
n=$(grep -cE "^GUEST-RELOAD [1-5] 0 0 0 0 5 packets transmitted, 5 packets received" "$T/g.serial")
[ "$n" = 5 ] && ok "rmmod, insmod, up and 5 pings: 5 times over" ||
	not_ok "rmmod/insmod: $n of 5 rounds good: $(grep '^GUEST-RELOAD' "$T/g.serial" | tr '\n' ';')"
wait_serial g "^GUEST-BAD-DMESG " 120
expect_line "$T/g.serial" "^GUEST-RMMOD 0" "the last rmmod"
expect_line "$T/g.serial" "^GUEST-BAD-DMESG 0[^0-9]*\$" "no WARNING, BUG, Oops or call trace in the guest's kernel log"
if wait_guest_exit 120; then ok "the guest powered off"; else not_ok "the guest did not power off"; fi
tp_quit 1
expect_line "$T/tp1.log" "net_vlink0: closed: ([0-9]+) of \\1 buffers home" \
	"the host's testpmd closed with every buffer home"
[ "$FAILED" = 0 ] || show_serial g
finish
