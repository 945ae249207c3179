#!/bin/sh
# A real guest (see echo.sh) sending and receiving through pci-vlink:
# `vlink-peer --pci send` in the guest -> the host end receives and checks
# every byte; then the host end sends -> `vlink-peer --pci recv` in the
# guest checks every byte.  Counts must match exactly both ways, every
# buffer back in the host's ledger.  VLINK_GUEST_COUNT overrides N (100000).
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
N=${VLINK_GUEST_COUNT:-100000}
SIZES=60-1500

need_vm
pick_accel
start_daemon --no-hugepages || exit 1
check "create L in domain vm1" ctl create-link L 02:00:00:00:00:01 1 --domain vm1
boot_guest vm1 sr "echo 'VLINK-GUEST: step send'; vlink-peer --pci send L --count $N --size $SIZES --wait 900 --timeout 60 || exit 1; echo 'VLINK-GUEST: step recv'; vlink-peer --pci recv L --count $N --wait 900 --timeout 60"
booted sr

# guest -> host
if wait_serial sr "^VLINK-GUEST: step send" 60 && wait_peer_up L 120 resetting; then
	ok "guest send is L's peer end"
else
	not_ok "the guest's send did not come up"; show_serial sr; finish
fi
t0=$(date +%s.%N)
host_end L recv "$N" "$SIZES" 1 >"$T/h1" 2>&1 && ok "host end recv: exit 0" || not_ok "host end recv failed"
expect_line "$T/h1" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"guest -> host: $N packets of $SIZES B, every byte intact, in order, ledger full"
echo "# guest -> host: $(grep -h '^hostend' "$T/h1") (wall $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s)"

# host -> guest
if wait_serial sr "^VLINK-GUEST: step recv" 120 && wait_peer_up L 120 resetting; then
	ok "guest recv is L's peer end"
else
	not_ok "the guest's recv did not come up"; show_serial sr; finish
fi
t0=$(date +%s.%N)
host_end L send "$N" "$SIZES" 1 >"$T/h2" 2>&1 && ok "host end send: exit 0" || not_ok "host end send failed"
expect_line "$T/h2" "sent $N .*ledger: ([0-9]+) of \\1 buffers home, 0 bad descriptors" \
	"host -> guest: $N packets sent, every buffer back in the ledger"
if wait_guest_exit 120; then ok "the guest powered off"; else not_ok "the guest did not power off"; fi
echo "# host -> guest: $(grep -h '^hostend' "$T/h2") (wall $(echo "$(date +%s.%N) $t0" | awk '{ printf "%.1f", $1 - $2 }') s)"
expect_line "$T/sr.serial" "^send: $N packets \\([0-9]+ bytes\\)" "guest send: $N packets"
expect_line "$T/sr.serial" "^recv: $N packets .*: $N intact, 0 corrupt, 0 lost, 0 out of order" \
	"host -> guest: the guest received $N packets, every byte intact, in order"
expect_line "$T/sr.serial" "^VLINK-GUEST: exit 0" "guest commands exit 0"
grep -h "^send:\|^recv:" "$T/sr.serial" | sed 's/^/# guest: /'
[ "$FAILED" = 0 ] || show_serial sr
finish
