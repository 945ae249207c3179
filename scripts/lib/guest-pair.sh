# Two guests that talk to each other through a switch with their kernel's
# IP stack, for tests/guest/netdev-ovs.sh and bench/guest-netdev.sh:
# the guests' part (load the driver, a link-local address, pings, a TCP
# transfer with busybox nc) and the reading of what they print.  Sourced
# after scripts/lib/guest.sh (run_qemu, wait_serial: $T/NAME.serial).
#
# The guest's part runs with these variables set before it (pair_cmd):
#   M, O      the last byte of its own and of the other's address
#             (169.254.1.M/16)
#   R         recv (listens on TCP port 5000 with nc -e 'cat > file') or
#             send (MB MiB of random bytes to the other, retrying the
#             connection once a second for up to 2 min)
#   P, I      pings to the other, I seconds apart, after it answered one
#             (P 0: none)
#   IF        the interface (vlink0, eth0), LOAD and UNLOAD: the shell
#             commands that load and unload its driver
# It prints lines that begin with GUEST-:
#   LOAD RC; UP RC MTU; REACH TRIES (pings, 0.5 s apart, until one was
#   answered, at most 300); PING RC SUMMARY and RTT MS... (the P round
#   trips, sorted); SUM BYTES MD5 (what was sent, or received); NC RC
#   T0 T1 (recv: nc's status and the receiver's /proc/uptime when the
#   connection was accepted and when the last byte came: the transfer's
#   time, on one clock) or NC TRIES (send: failed connections); S NAME:
#   VALUE (ethtool -S); UNLOAD RC; BAD-DMESG N (kernel log lines with a
#   WARNING, BUG, Oops, call trace, lockup...).

# pair_cmd M O R P: the guest's command line (for boot_guest and
# boot_virtio_guest), with PAIR_MB, PAIR_I, PAIR_IF, PAIR_LOAD and
# PAIR_UNLOAD (no single quotes in them) for MB, I, IF, LOAD, UNLOAD
pair_cmd() {
	printf "M=%s O=%s R=%s P=%s I=%s MB=%s IF=%s LOAD='%s' UNLOAD='%s'\n" \
		"$1" "$2" "$3" "$4" "${PAIR_I:-0.1}" "${PAIR_MB:-4}" "$PAIR_IF" "$PAIR_LOAD" "$PAIR_UNLOAD"
	cat <<'EOF'
s(){ echo "GUEST-$*";}
N=/sys/class/net/$IF
eval "$LOAD";s LOAD $?
i=0;until [ -e $N ]||[ $i -ge 99 ];do i=$((i+1));sleep .1;done
ip l set $IF up&&ip a add 169.254.1.$M/16 dev $IF;s UP $? $(cat $N/mtu)
i=0;until ping -c1 -W1 169.254.1.$O >/dev/null||[ $i -ge 300 ];do i=$((i+1));sleep .5;done;s REACH $i
if [ $P -gt 0 ];then
ping -c$P -i$I -W9 169.254.1.$O >/tmp/p 2>&1;s "PING $? $(grep tra /tmp/p)"
s RTT $(sed -n 's/.*time=\([0-9.]*\).*/\1/p' /tmp/p|sort -n|tr '\n' ' ')
fi
if [ $R = recv ];then
nc -l -p 5000 -e sh -c 'cat /proc/uptime>/tmp/t0;cat>/tmp/r;cat /proc/uptime>/tmp/t1';s NC $? $(cut -d' ' -f1 /tmp/t0 /tmp/t1)
s SUM $(wc -c </tmp/r) $(md5sum </tmp/r)
else
dd if=/dev/urandom of=/tmp/f bs=64k count=$((MB*16)) 2>/dev/null
s SUM $(wc -c </tmp/f) $(md5sum </tmp/f)
i=0;until nc 169.254.1.$O 5000 </tmp/f;do i=$((i+1));[ $i -lt 120 ]||break;sleep 1;done;s NC $i
fi
ethtool -S $IF|sed 's/^ */GUEST-S /'
ip l set $IF down;eval "$UNLOAD";s UNLOAD $?
s BAD-DMESG $(dmesg|grep -cE 'WARNING|BUG|Oops|Call Trace|general protection|RIP:|soft lockup|hung task')
EOF
}

# pair_booted NAME: remember the QEMU of the guest just booted as NAME's
# (for wait_g)
pair_booted() { eval "QPID_$1=\$QEMU_PID"; }
# wait_g NAME REGEX SECONDS: wait_serial for guest NAME, while its QEMU lives
wait_g() { eval "QEMU_PID=\$QPID_$1"; wait_serial "$1" "$2" "$3"; }

# pair_field NAME WHAT: the rest of guest NAME's last "GUEST-WHAT ..." line
pair_field() { sed -n "s/^GUEST-$2 //p" "$T/$1.serial" | tr -d '\r' | tail -n1; }
# pair_sum NAME: "BYTES MD5" of what guest NAME sent or received
pair_sum() { pair_field "$1" SUM | awk '{ print $1, $2 }'; }
# pair_rtt NAME: "P50 P99 MAX COUNT" of guest NAME's round trips, ms
# (nearest rank: p of n is the ceil(p * n / 100)th smallest), "" if none
pair_rtt() {
	pair_field "$1" RTT | awk '
		function rank(p,  k) { k = int((p * NF + 99) / 100); return $(k < 1 ? 1 : k) }
		NF { print rank(50), rank(99), $NF, NF }'
}
# pair_rate NAME MB: "SECONDS MBIT/S" of the transfer guest NAME received
# (MB MiB from accept to the last byte, on its clock), "" if none
pair_rate() {
	pair_field "$1" NC | awk -v mb="$2" 'NF >= 3 { d = $3 - $2
		printf "%.2f %.1f\n", d, (d > 0 ? mb * 8.388608 / d : 0) }'
}
