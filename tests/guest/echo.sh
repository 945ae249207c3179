#!/bin/sh
# A real guest: a Debian kernel and the busybox initramfs of
# scripts/mkinitramfs.sh under QEMU (TCG) with the pci-vlink device,
# running `vlink-peer --pci echo L` (libvlinkguest guest mode).  The host
# end (host_end in lib.sh: tests/vlink-hostend, or another one through
# VLINK_HOST_END) sends N packets of 60-1500 bytes and checks that every one
# comes back intact, in order, with every buffer home.  Then vlinkd is
# killed (-9) and started again on the same state dir while the guest runs:
# the device reconnects (CONNECTS 2, GENERATION moves on), the guest's echo
# finds its link unchanged and a second batch of N packets goes through
# without restarting QEMU.  VLINK_GUEST_COUNT overrides N (100000).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
N=${VLINK_GUEST_COUNT:-100000}
SIZES=60-1500 # one buffer each: the echo counts 2N descriptors and stops

need_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create L in domain vm1" ctl create-link L 02:00:00:00:00:01 1 --domain vm1
boot_guest vm1 echo "vlink-peer --pci echo L --count $((2 * N)) --wait 900 --timeout 60; rc=\$?; vlink-peer --pci device; exit \$rc"
booted echo
wait_serial echo "^VLINK-GUEST: pci-vlink device at 0000:" 30 &&
	ok "the guest sees the pci-vlink device" || not_ok "the guest sees no pci-vlink device"
if wait_peer_up L 120 resetting; then
	ok "guest echo is L's peer end ($(elapsed) s after boot)"
else
	not_ok "the guest's echo did not come up"; show_serial echo; finish
fi

t0=$(date +%s.%N)
host_end L pingpong "$N" "$SIZES" 1 >"$T/h1" 2>&1 && ok "host end: pingpong exit 0" ||
	not_ok "host end pingpong failed"
expect_line "$T/h1" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"$N packets of $SIZES B through the guest and back, intact, in order, ledger full"
echo "# batch 1: $(grep -h '^hostend' "$T/h1") (wall $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s)"

# vlinkd dies and comes back; QEMU stays
stop_daemon KILL
start_daemon --no-hugepages || { show_serial echo; finish; }
if wait_serial echo "generation [0-9]+ \\(connects 2\\): link L checked, unchanged" 60; then
	ok "the device reconnected (connects 2) and the guest found L unchanged"
else
	not_ok "no reconnect seen by the guest"; show_serial echo
fi
t0=$(date +%s.%N)
host_end L pingpong "$N" "$SIZES" 1 >"$T/h2" 2>&1 && ok "host end after the vlinkd restart: exit 0" ||
	not_ok "host end after the restart failed"
expect_line "$T/h2" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"after the vlinkd restart: $N more packets, intact, ledger full, QEMU not restarted"
echo "# batch 2: $(grep -h '^hostend' "$T/h2") (wall $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s)"

if wait_guest_exit 120; then ok "the guest powered off"; else not_ok "the guest did not power off"; fi
expect_line "$T/echo.serial" "^echo: $((2 * N)) descriptors \\([0-9]+ bytes\\) sent back, 0 bad descriptors" \
	"guest echo: $((2 * N)) descriptors sent back, no bad descriptor"
expect_line "$T/echo.serial" "^device 0000:[0-9a-f:.]+ domain=vm1 status=connected,mapped generation=([2-9]|[1-9][0-9]+) connects=2 " \
	"device registers read in the guest: connected, mapped, generation >= 2, connects 2"
expect_line "$T/echo.serial" "^VLINK-GUEST: exit 0" "guest command exit 0"
grep -h "^device \|generation .*checked" "$T/echo.serial" | sed 's/^/# guest: /'
[ "$FAILED" = 0 ] || show_serial echo
finish
