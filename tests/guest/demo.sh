#!/bin/sh
# scripts/demo.sh with a real guest on this build tree: QEMU with
# pci-vlink runs vlink-peer --pci echo, dpdk-testpmd with the PMD is the
# host end, vlinkd is killed and restarted on the way.  Its summary must
# show packets both ways, packets while vlinkd was down, every buffer home,
# QEMU's pid unchanged and the guest's device at connects=2; it must leave
# no process, run directory or hugepage change behind.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
. "$(dirname "$0")/../integration/demo-lib.sh"
need_root
need_vm
# TCG unless told: a KVM probe costs the demo 15 s where KVM hangs
VLINK_ACCEL=$ACCEL
export VLINK_ACCEL

demo_run --duration "${VLINK_DEMO_DURATION:-20}"
demo_checks guest
expect_line "$T/demo.out" "^   QEMU: pid ([0-9]+) at boot, pid \\1 at the end of the traffic; the guest's device: connects=2$" \
	"QEMU not restarted, the guest's device reconnected once (connects=2)"
expect_line "$T/demo.out" "^   guest: device .* connects=2 " "the guest printed its device's registers"
demo_left_nothing
[ "$FAILED" = 0 ] || { echo "--- the demo's output ---"; sed 's/^/    /' "$T/demo.out"; }
finish
