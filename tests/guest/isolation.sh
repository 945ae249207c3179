#!/bin/sh
# Isolation of domains in a real guest: two domains, vmA and vmB, one link
# each.  A host process writes a marker into B's link buffers (start,
# middle, end of its buffer area) and, as a positive control, another into
# A's.  A guest with the pci-vlink device of domain vmA (BAR2 as large as
# the pool) maps its whole BAR2 (tests/guest/vlink-barscan) and finds A's
# marker at its pool offset and B's nowhere; it lists only A's link, and
# opening B's link fails with a message naming its domain.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
BARSCAN="$BUILDDIR/tests/guest/vlink-barscan"

[ -x "$BARSCAN" ] || { not_ok "built: $BARSCAN (make tests/guest/vlink-barscan)"; finish; }
VM_EXTRA=$BARSCAN
need_vm
pick_accel
start_daemon --no-hugepages --pool-size 64M || exit 1
check "create LA in domain vmA" ctl create-link LA 02:00:00:00:0a:01 1 --domain vmA
check "create LB in domain vmB" ctl create-link LB 02:00:00:00:0b:01 1 --domain vmB

# markers no stale memory can hold: random per run
R=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
MA="VLINK-ISOLATION-A-$R"
MB="VLINK-ISOLATION-B-$R"
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
layout() { ctl show "$1" --json | python3 -c "import json, sys; j = json.load(sys.stdin); print(j['buf_offset'], j['buf_area'], j['buf_size'])"; }
set -- $(layout LA)
offA=$1
check "marker A written into LA's first buffer (pool offset $offA)" \
	"$TESTCLIENT" "$SOCK" poke LA "$offA" "$(hex "$MA")"
set -- $(layout LB)
offsB="$1 $(($1 + $2 / $3 / 2 * $3)) $(($1 + $2 - $3))"
for o in $offsB; do
	check "marker B written into LB's buffers at pool offset $o" \
		"$TESTCLIENT" "$SOCK" poke LB "$o" "$(hex "$MB")"
	expect 0 "^$(hex "$MB")\$" "... and reads back through vmB's pool" \
		"$TESTCLIENT" "$SOCK" peek LB "$o" "${#MB}"
done

CMD='d=; for x in /sys/bus/pci/devices/*; do [ "$(cat $x/device)" = 0x564c ] && d=$x; done
vlink-peer --pci list --wait 120
vlink-barscan "$d" '"$MA $MB"'
vlink-peer --pci recv LB --count 1 --wait 5; echo "open LB: exit $?"'
run_qemu isoA "$ACCEL" "$CMD" -chardev "socket,id=vl0,path=$SOCK,reconnect=1" \
	-device "pci-vlink,chardev=vl0,vm_domain=vmA,bar-size=64M"
if wait_serial isoA "^VLINK-GUEST: up" 180; then
	ok "guest of domain vmA booted in $(elapsed) s ($ACCEL)"
else
	not_ok "guest did not boot"; show_serial isoA; finish
fi
if wait_serial isoA "^VLINK-GUEST: exit" 300; then
	ok "the guest ran its checks"
else
	not_ok "the guest's checks did not finish"; show_serial isoA; finish
fi
S="$T/isoA.serial" # its lines end in CR LF: [[:space:]]*$ below
expect_line "$S" "^LA +vmA " "the guest lists A's link"
grep -q "^LB " "$S" && not_ok "the guest lists B's link" || ok "the guest does not list B's link"
expect_line "$S" "^scanned 67108864 bytes of /sys/bus/pci/devices/[0-9a-f:.]+/resource2" \
	"the guest mapped and scanned its whole BAR2 (64 MiB)"
expect_line "$S" "^$MA: 1 match\\(es\\) at 0x$(printf '%x' "$offA")[[:space:]]*\$" \
	"A's marker is in BAR2, once, at its pool offset (positive control)"
expect_line "$S" "^$MB: 0 match\\(es\\)[[:space:]]*\$" "no byte string of B's pool is in the guest's BAR2"
expect_line "$S" "no link named 'LB' on [0-9a-f:.]+ \\(domain vmA, 1 link\\(s\\)\\)" \
	"opening B's link fails, naming the guest's domain"
expect_line "$S" "^open LB: exit 1[[:space:]]*\$" "... with exit status 1"
wait_guest_exit 60 && ok "the guest powered off" || not_ok "the guest did not power off"
[ "$FAILED" = 0 ] || show_serial isoA
finish
