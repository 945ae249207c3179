#!/bin/sh
# The guest kernel driver (vlink_net.ko) against a malicious host end
# (tests/vlink-evilhost: descriptors on rx and fill outside the link's
# buffers or not fitting one, fill buffers with no room to speak of (the
# driver must drop rather than wait on them), ring indices no correct
# host publishes, host_state/host_epoch garbage, one kind per round, a new
# epoch after each), then a good one (dpdk-testpmd icmpecho, as netdev.sh):
#  1. the interface up, the guest pinging (a static ARP entry keeps it
#     transmitting every 20 ms, so that fill and tx are used); evilhost
#     lies for 8 s: the guest's script still answers, the interface is
#     there, ethtool -S has counted bad rx and fill descriptors and bad
#     indices;
#  2. evilhost again (another seed) while the guest takes the interface
#     down and up, and rmmods and insmods the driver, over and over: the
#     stop path gives back under lies, bounded;
#  3. testpmd takes the host end: the carrier comes back, 200 pings, none
#     lost; no bad descriptor or index counted since; rmmod;
#  4. no WARNING, BUG, Oops or call trace in the guest's kernel log, the
#     guest powers off; testpmd closes with every buffer home (the driver
#     handed back what the good host lent).
# The guest learns that a phase is over from the link table: the host
# creates link GO1 or GO2 in its domain, which appears as an interface
# with that ifalias.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
MAC=02:00:00:00:00:21
EVIL="$BUILDDIR/tests/vlink-evilhost"

need_root
[ -x "$EVIL" ] || { not_ok "$EVIL is built (make tests/vlink-evilhost)"; finish; }
need_netdev_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create N (2 data channels) in domain vm1" ctl create-link N $MAC 2 --domain vm1

# the guest's part (on its kernel command line: terse).  w ALIAS: wait
# (300 s at most) for an interface with that ifalias; a: up, address
cat >"$T/guest.sh" <<'EOF'
s(){ echo "GUEST-$*";}
N=/sys/class/net/vlink0
w(){ i=0;until grep -qsx $1 /sys/class/net/*/ifalias||[ $i -ge 3000 ];do i=$((i+1));sleep .1;done;}
a(){ ip l set vlink0 up||return 1;ip a add 169.254.0.2/16 dev vlink0 2>/dev/null;arp -s 169.254.0.9 02:00:00:00:00:99;}
insmod /lib/modules/vlink_net.ko;s INSMOD $?;w N;a;s UP $?
ping -i.02 169.254.0.9 >/dev/null 2>&1&P1=$!
ping -i.05 169.254.0.1 >/dev/null 2>&1&P2=$!
w GO1;kill $P1 $P2;s ALIVE $(cat $N/operstate)
ethtool -S vlink0|sed 's/^ */GUEST-E /';s STATS1
j=0;until grep -qsx GO2 /sys/class/net/*/ifalias;do j=$((j+1));ip l set vlink0 down;s DOWN $j $?;[ $((j%3)) = 0 ]&&{ rmmod vlink_net;s RMMOD $j $?;insmod /lib/modules/vlink_net.ko;w N;};a;ping -c9 -i.05 -W1 169.254.0.9 >/dev/null;done;s CYCLES $j
i=0;until ping -c1 -W1 169.254.0.1 >/dev/null||[ $i -ge 60 ];do i=$((i+1));done;s FIRST $i
ethtool -S vlink0|sed 's/^ */GUEST-F /'
ping -c200 -i.02 -W9 169.254.0.1 >/tmp/p 2>&1;s "PING $? $(grep tra /tmp/p)"
ethtool -S vlink0|sed 's/^ */GUEST-T /';s STATS2
ip l set vlink0 down;rmmod vlink_net;s RMMOD-LAST $?
dmesg|grep -i vlink|sed 's/^/GUEST-D /'
s BAD-DMESG $(dmesg|grep -cE 'WARNING|BUG|Oops|Call Trace|general protection|RIP:|soft lockup|hung task')
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
booted g
wait_serial g "^GUEST-UP " 120
expect_line "$T/g.serial" "^GUEST-INSMOD 0" "insmod vlink_net.ko"
expect_line "$T/g.serial" "^GUEST-UP 0" "vlink0 up with an address, pinging"

# 1. lies, the interface up and transmitting
if "$EVIL" -s "$SOCK" -t 8 -S 1 -w 120 N >"$T/evil1" 2>&1; then
	ok "a malicious host end lied to the guest's driver for 8 s (every kind)"
else
	not_ok "the malicious host end ran: $(tail -3 "$T/evil1")"
fi
grep "^evilhost" "$T/evil1" | sed 's/^/# /'
check "create GO1 in domain vm1" ctl create-link GO1 02:00:00:00:01:01 1 --domain vm1 --ring-size 64
if wait_serial g "^GUEST-STATS1" 120; then
	ok "the guest's script goes on after the lies (its kernel did not hang)"
else
	not_ok "the guest did not answer after the lies"; show_serial g; finish
fi
expect_line "$T/g.serial" "^GUEST-ALIVE (up|unknown|down)" "vlink0 still there"
# sum CH-STAT-SUFFIX: over both channels, from the GUEST-E lines
sum() { sed -n "s/^GUEST-$1 ch[12]_$2: \([0-9]*\).*/\1/p" "$T/g.serial" | awk '{ n += $1 } END { print n + 0 }'; }
for s in rx_bad_desc fill_bad_desc bad_index; do
	n=$(sum E $s)
	[ "$n" -gt 0 ] && ok "ethtool -S: the driver refused and counted $s: $n" ||
		not_ok "ethtool -S: $s not counted (0)"
done
grep -E "^GUEST-E (resets|ch[12]_(rx_packets|tx_packets|rx_dropped|rx_bad_desc|fill_bad_desc|bad_index|tx_dropped|stale))" \
	"$T/g.serial" | sed 's/^/# /'

# 2. lies while the guest stops and starts the interface, and reloads the
# driver
if "$EVIL" -s "$SOCK" -t 8 -S 2 -w 120 N >"$T/evil2" 2>&1; then
	ok "the malicious host end lied for 8 s more while the guest took vlink0 down and up"
else
	not_ok "the second malicious host end ran: $(tail -3 "$T/evil2")"
fi
grep "^evilhost" "$T/evil2" | sed 's/^/# /'

# 3. a good host end
TP_ARGS="--forward-mode=icmpecho" tp_start 1 --vdev "net_vlink0,link=N,socket=$SOCK,mode=bond" ||
	{ not_ok "testpmd started"; finish; }
tp_cmd 1 "start"
check "create GO2 in domain vm1" ctl create-link GO2 02:00:00:00:01:02 1 --domain vm1 --ring-size 64
wait_serial g "^GUEST-CYCLES " 300 || { not_ok "the guest's down/up cycles did not end"; show_serial g; finish; }
c=$(sed -n 's/^GUEST-CYCLES \([0-9]*\).*/\1/p' "$T/g.serial")
r=$(grep -c "^GUEST-RMMOD [0-9]* 0" "$T/g.serial")
d=$(grep -c "^GUEST-DOWN [0-9]* 0" "$T/g.serial")
[ "${c:-0}" -ge 3 ] && [ "$d" = "$c" ] && [ "$r" = $((c / 3)) ] &&
	ok "vlink0 down and up $c times under the lies, $r rmmod/insmod, each fine" ||
	not_ok "down/up under the lies: $c cycles, $d downs and $r rmmods fine: $(grep -E '^GUEST-(DOWN|RMMOD) ' "$T/g.serial" | tr '\n' ';')"
wait_serial g "^GUEST-STATS2" 300
expect_line "$T/g.serial" "^GUEST-FIRST ([0-9]|[1-5][0-9])[^0-9]*\$" "testpmd answers pings"
expect_line "$T/g.serial" "^GUEST-PING 0 200 packets transmitted, 200 packets received, 0% packet loss" \
	"then 200 pings, none lost"
for s in rx_bad_desc fill_bad_desc bad_index; do
	n=$(($(sum T $s) - $(sum F $s)))
	[ "$n" = 0 ] && ok "ethtool -S: no $s counted under the good host end" ||
		not_ok "ethtool -S: $s $n more under the good host end"
done
wait_serial g "^GUEST-BAD-DMESG " 120
expect_line "$T/g.serial" "^GUEST-RMMOD-LAST 0" "the last rmmod"
expect_line "$T/g.serial" "^GUEST-BAD-DMESG 0[^0-9]*\$" \
	"no WARNING, BUG, Oops, call trace, lockup or hung task in the guest's kernel log"
guest_off_tp_home 1
if [ "$FAILED" != 0 ]; then
	show_serial g
	echo "--- evilhost ---"; cat "$T/evil1" "$T/evil2" | sed 's/^/    /'
	grep -aE 'net_vlink|: [1-9]' "$T/tp1.log" | sed 's/^/    /'
fi
finish
