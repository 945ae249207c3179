#!/bin/sh
# Event mode in a real guest (TCG): `vlink-peer --pci ... --mode event` on
# the pci-vlink device bound to uio_pci_generic, so the host end's wake-ups
# reach it as the device's INTx (docs/guest.md, "Event mode"), and its
# sends ring the device's doorbell, which QEMU turns into the host end's
# notifier.
#  1. host -> guest: 20000 packets in bursts of 500 with 50 ms gaps to a
#     receiver in event mode: every packet intact and in order, it slept,
#     no sleep ran into its timeout with packets waiting (no lost wake-up);
#  2. an idle receiver: QEMU's CPU time over 10 s while the guest waits in
#     event mode (the vCPU halts), against the same in poll mode;
#  3. guest -> host: 20000 paced packets to a host end that sleeps on its
#     notifier between them, woken by the guest's doorbell writes;
#  4. vlinkd killed (-9) and restarted; once QEMU has reconnected and
#     swapped the new notifiers in, a new host end: 20000 more to the guest
#     in event mode, no lost wake-up; QEMU the same process;
#  5. DPDK's l3fwd-power --interrupt-only in the guest (net_vlink's guest
#     end, its rx queue asleep on INTx; scripts/build-dpdk-example.sh, in
#     an image of its own) against the host's testpmd: 3 batches all back,
#     wake-ups from rx interrupts, QEMU nearly idle between them.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../../scripts/lib/testpmd.sh"
HOSTEND="$BUILDDIR/tests/vlink-hostend"
N=20000

need_root
if ! L3=$(sh "$SRCDIR/scripts/build-dpdk-example.sh" l3fwd-power 2>"$T/build.err"); then
	not_ok "l3fwd-power built: $(tail -5 "$T/build.err")"
	finish
fi
# the image with l3fwd-power: one of its own (need_dpdk_vm)
VM_DPDK_APPS=$L3
DPDK_VM_IMAGE=$BUILDDIR/tests/guest/initramfs-events.cpio.gz
need_dpdk_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create E in domain vm1" ctl create-link E 02:00:00:00:00:0e 1 --domain vm1

# cpu_ticks PID: user + system time so far, in clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

P="vlink-peer --pci"
W="--wait 900 --timeout 120"
cat >"$T/guest.sh" <<EOF
insmod /lib/modules/uio.ko && insmod /lib/modules/uio_pci_generic.ko &&
	echo "1234 564c" >/sys/bus/pci/drivers/uio_pci_generic/new_id
for d in /sys/bus/pci/devices/*; do
	[ "\$(cat \$d/device)" = 0x564c ] && echo "GUEST-BOUND \${d##*/} \$(readlink \$d/driver)"
done
$P recv E --count $N --mode event $W; echo "GUEST-RECV1 \$?"
$P recv E --count 2 --mode event $W; echo "GUEST-IDLE-event \$?"
$P recv E --count 2 --mode poll $W; echo "GUEST-IDLE-poll \$?"
$P send E --count $N --size 60-1500 --rate 2000 $W; echo "GUEST-SEND \$?"
$P recv E --count $N --mode event $W; echo "GUEST-RECV2 \$?"
l3fwd-power --lcores 0@0 --no-huge -m 256 --no-pci -d /usr/lib/vlink \\
	--vdev net_vlink0,end=guest,link=E,wait=60 --log-level=pmd.net.vlink:info \\
	-- -p 0x1 --config '(0,0,0)' --interrupt-only --parse-ptype &
L=\$!
until vlink-peer --pci list 2>/dev/null | grep -q "^STOP "; do sleep 0.2; done
kill -INT \$L; wait \$L; echo "GUEST-L3 exit \$?"
EOF
boot_guest vm1 g "$(cat "$T/guest.sh")"
booted g
# QEMU_PID is the timeout(1) around it: QEMU's own pid is in its pidfile
until_ok 10 test -s "$T/g.qemu.pid"
QEMU_REAL=$(cat "$T/g.qemu.pid")
wait_serial g "^GUEST-BOUND 0000:[0-9a-f:.]+ .*uio_pci_generic" 60 &&
	ok "the guest bound the device to uio_pci_generic" ||
	not_ok "the guest bound the device to uio_pci_generic"

# 1. host -> guest in bursts
"$HOSTEND" --gaps 500,50 "$SOCK" E send $N 60-1500 1 >"$T/h1" 2>&1 && ok "host end: bursts sent, exit 0" ||
	not_ok "host end (bursts): $(cat "$T/h1")"
wait_serial g "^GUEST-RECV1 " 120
expect_line "$T/g.serial" "^GUEST-RECV1 0" "the guest's event-mode receiver exits 0"
expect_line "$T/g.serial" "^recv: $N packets .*: $N intact, 0 corrupt, 0 lost, 0 out of order" \
	"host -> guest: $N packets intact, in order, to a receiver in event mode"
expect_line "$T/g.serial" "^recv: [1-9][0-9]* sleeps, [0-2] late" \
	"the guest slept between bursts, woken by INTx; no wake-up lost (0-2 late)"
expect_line "$T/h1" "event mode: [0-9]+ sleeps, [1-9][0-9]* wake-ups sent to the peer" \
	"the host end woke it through its notifier (QEMU: INTx)"
grep -h "^recv:\|^hostend" "$T/g.serial" "$T/h1" | sed 's/^/# /'

# 2. an idle receiver: event mode, then poll mode (one packet, 15 s of gap,
# one packet); QEMU's CPU time over 10 s of the gap, from the guest's first
# progress line with the one packet
ones() { grep -c "^vlink-peer recv: 1 packets" "$T/g.serial"; }
more_ones() { [ "$(ones)" -gt "$1" ]; }
for mode in event poll; do
	n0=$(ones)
	"$HOSTEND" --gaps 1,15000 "$SOCK" E send 2 64 1 >"$T/h-$mode" 2>&1 &
	H=$!; BG_PIDS="$BG_PIDS $H"
	until_ok 120 more_ones "$n0" || not_ok "$mode mode: the guest did not report the first packet"
	a=$(cpu_ticks "$QEMU_REAL"); sleep 10; b=$(cpu_ticks "$QEMU_REAL")
	cpu=$(( (b - a) * 10000 / (HZ * 10) ))
	pct=$(printf '%d.%02d%%' $((cpu / 100)) $((cpu % 100)))
	echo "# QEMU (TCG) while the guest's receiver waits in $mode mode: $pct of a core over 10 s"
	eval "CPU_$mode=$cpu"
	wait "$H" || not_ok "host end ($mode idle phase) failed: $(cat "$T/h-$mode")"
	wait_serial g "^GUEST-IDLE-$mode " 60
	expect_line "$T/g.serial" "^GUEST-IDLE-$mode 0" "$mode mode: both packets received after the idle spell"
done
[ "$CPU_event" -lt 1000 ] && [ "$CPU_event" -lt "$CPU_poll" ] &&
	ok "an idle guest receiver in event mode leaves QEMU nearly idle ($((CPU_event / 100)).$((CPU_event % 100 / 10))% of a core; poll mode $((CPU_poll / 100))%)" ||
	not_ok "QEMU's CPU with an idle receiver: event mode $CPU_event, poll mode $CPU_poll (hundredths of a percent; want event < 10% and below poll)"

# 3. guest -> host: the host sleeps between paced packets, the doorbell wakes it
"$HOSTEND" --event "$SOCK" E recv $N 60-1500 1 >"$T/h3" 2>&1 && ok "host end (event mode) received, exit 0" ||
	not_ok "host end (event mode): $(cat "$T/h3")"
expect_line "$T/h3" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\)" \
	"guest -> host: $N packets intact to a host end that sleeps"
expect_line "$T/h3" "event mode: [1-9][0-9]* sleeps" "the host end slept between packets"
wait_serial g "^GUEST-SEND " 60
expect_line "$T/g.serial" "^send: [1-9][0-9]* wake-ups sent to the host end" \
	"the guest's doorbell writes woke the host end"
grep -h "^send:\|^hostend" "$T/g.serial" "$T/h3" | sed 's/^/# /'

# 4. vlinkd dies and comes back, a new host end; QEMU stays
stop_daemon KILL
start_daemon --no-hugepages || { show_serial g; finish; }
[ "$(cat "$T/g.qemu.pid")" = "$QEMU_REAL" ] && kill -0 "$QEMU_REAL" 2>/dev/null &&
	ok "QEMU (pid $QEMU_REAL) lives through vlinkd's kill and restart" ||
	not_ok "QEMU was restarted or died with vlinkd"
# a host end that attaches to the new vlinkd before QEMU has reconnected
# (its chardev retries every second) signals notifiers nobody watches yet:
# the guest's sleeps would run to their bound until QEMU swaps them in.
# The test waits for that, so that a late wake-up after it is a lost one.
until_ok 30 sh -c "grep -c 'pci-vlink .*notifiers:' '$T/g.qemu.log' | grep -q '^[2-9]'" &&
	ok "QEMU reconnected and took the new vlinkd's notifiers" ||
	not_ok "QEMU did not take new notifiers: $(grep pci-vlink "$T/g.qemu.log" | tail -3)"
"$HOSTEND" --gaps 500,50 "$SOCK" E send $N 60-1500 1 >"$T/h4" 2>&1 &&
	ok "after a vlinkd restart: a new host end sent in bursts, exit 0" ||
	not_ok "host end after the restart: $(cat "$T/h4")"
wait_serial g "^GUEST-RECV2 " 120
expect_line "$T/g.serial" "^GUEST-RECV2 0" "after the restart: the guest's receiver exits 0"
[ "$(grep -c "^recv: $N packets .*: $N intact, 0 corrupt, 0 lost, 0 out of order" "$T/g.serial")" = 2 ] &&
	ok "after the restart: $N more packets intact, in order" ||
	not_ok "after the restart: $(grep '^recv: ' "$T/g.serial" | tail -2)"
[ "$(grep -cE "^recv: [1-9][0-9]* sleeps, [0-2] late" "$T/g.serial")" -ge 3 ] &&
	ok "after the restart: the guest slept and no wake-up was lost (0-2 late)" ||
	not_ok "after the restart: $(grep 'sleeps' "$T/g.serial" | tail -1)"
grep -h "^recv:" "$T/g.serial" | tail -2 | sed 's/^/# /'

# 5. DPDK's l3fwd-power --interrupt-only in the guest (the PMD's guest end,
# its rx queue asleep on the device's INTx) against the host's testpmd
wait_serial g "L3FWD_POWER: entering main interrupt loop" 120 &&
	ok "l3fwd-power runs in the guest in interrupt-only mode" ||
	not_ok "l3fwd-power in the guest: $(grep -E 'L3FWD|net_vlink|EAL' "$T/g.serial" | tail -5)"
grep -E "rx interrupts|RX interrupt won't enable|Intr handle unset" "$T/g.serial" | sed 's/^/# /'
TP_ARGS="--forward-mode=rxonly" tp_start 1 --lcores 0@1,1@1 \
	--vdev "net_vlink0,link=E,socket=$SOCK"
wakes() { grep -c "is waked up from rx interrupt" "$T/g.serial"; }
w0=$(wakes)
set -- $(tp_rounds 1 3 60)
[ "$1" = 2880 ] && [ "$2" = 2880 ] &&
	ok "l3fwd-power in the guest: 3 batches, 2880 sent by the host's testpmd, 2880 back" ||
	not_ok "l3fwd-power in the guest: sent $1, back $2 (want 2880, 2880)"
[ "$(wakes)" -gt "$w0" ] && ok "l3fwd-power in the guest woke from rx interrupts ($(wakes) times)" ||
	not_ok "l3fwd-power in the guest logged no wake-up from an rx interrupt"
a=$(cpu_ticks "$QEMU_REAL"); sleep 5; b=$(cpu_ticks "$QEMU_REAL")
cpu=$(( (b - a) * 10000 / (HZ * 5) ))
echo "# QEMU (TCG) while l3fwd-power in the guest waits: $((cpu / 100)).$((cpu % 100 / 10))% of a core over 5 s"
[ "$cpu" -lt 2000 ] && ok "l3fwd-power in the guest sleeps when idle (QEMU $((cpu / 100))% of a core)" ||
	not_ok "QEMU uses $((cpu / 100))% of a core while l3fwd-power in the guest is idle (want < 20%)"
tp_quit 1
expect_line "$T/tp1.log" "net_vlink0: closed: ([0-9]+) of \\1 buffers home, .* 0 bad descriptors" \
	"the host's testpmd closed with every buffer home"
check "create STOP (the guest's l3fwd-power stops)" ctl create-link STOP 02:00:00:00:00:5f 1 \
	--domain vm1 --ring-size 64
wait_serial g "^GUEST-L3 exit" 60
expect_line "$T/g.serial" "^GUEST-L3 exit 0" "l3fwd-power in the guest exits 0 on SIGINT"
if wait_guest_exit 120; then ok "the guest powered off"; else not_ok "the guest did not power off"; fi
finish
