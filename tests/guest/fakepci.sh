#!/bin/sh
# Guest mode without a VM: libvlinkguest's sysfs code on a fake PCI device
# made of plain files.  resource0 is a 4 KiB file holding the registers
# (written by this script), resource2 and resource4 are vlinkd's own pool
# and channel-region files of the domain (pool offset == file offset, as
# in BAR2), so vlink-peer --pci=DIR runs the real data path against
# tests/vlink-hostend through a real vlinkd.  Covers: find by id, enable,
# registers, list, device, echo/send/recv with payload checks, the
# per-link lock, a vlinkd restart (GENERATION bump: link found unchanged),
# link deletion (-ENOLINK), a recreated link (-ESTALE), not MAPPED,
# bad magic, and the tool under valgrind.
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/../../scripts/lib/guest.sh"
N=${VLINK_FAKEPCI_COUNT:-200000}

start_daemon --no-hugepages || exit 1
check "create L (domain vm1, 2 data channels)" ctl create-link L 02:00:00:00:00:01 2 --domain vm1
check "create M (domain vm1)" ctl create-link M 02:00:00:00:00:02 1 --domain vm1
D="$T/pci/0000:00:04.0"
fake_pci_dev "$D" vm1 || exit 1
# a device of another kind next to it: the search must skip it
mkdir -p "$T/pci/0000:00:01.0"
echo 0x8086 >"$T/pci/0000:00:01.0/vendor"; echo 0x1237 >"$T/pci/0000:00:01.0/device"

expect 0 "^device 0000:00:04.0 domain=vm1 status=connected,mapped generation=1 connects=1 pool=67108864 segments=1" \
	"device: the registers" "$PEER" --pci="$T/pci" device
[ "$(cat "$D/enable")" = 1 ] && ok "the device was enabled (1 written to enable)" ||
	not_ok "enable reads '$(cat "$D/enable")'"
expect 0 "^L +vm1 +02:00:00:00:00:01 2 channel\\(s\\) host down peer down device 0000:00:04.0" \
	"list: the device's link table" "$PEER" --pci="$T/pci" list
grep -q "^M " "$T/out" && ok "list: both links" || not_ok "list: M missing"
expect 1 "is not a pci-vlink device" "a device of another kind is refused" \
	"$PEER" --pci="$T/pci/0000:00:01.0" list
expect 1 "no link named 'nope' on 0000:00:04.0 \\(domain vm1, 2 link\\(s\\)\\)" \
	"a link the domain does not have" "$PEER" --pci="$T/pci" recv nope --count 1

# echo: the guest-mode peer reflects, the host end checks every byte
"$PEER" --pci="$T/pci" echo L >"$T/e" 2>"$T/e.err" &
E=$!; BG_PIDS="$BG_PIDS $E"
# no host end yet: the new peer asks for an epoch and waits
wait_peer_up L 30 resetting || not_ok "echo's peer end did not attach: $(cat "$T/e.err")"
expect 1 "link L is already open in this guest" "a second peer end of L is refused (lock)" \
	"$PEER" --pci="$T/pci" --wait 0 echo L
expect 0 "^host end: down, epoch 0; peer end: resetting" "stats --pci while echo is the peer" \
	"$PEER" --pci="$T/pci" stats L
host_end L pingpong "$N" 60-1500 1 >"$T/h" 2>&1 && ok "host end: pingpong exit 0" ||
	not_ok "pingpong exit status: $(cat "$T/h")"
expect_line "$T/h" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"echo: $N packets of 60-1500 B reflected intact, ledger full"

# vlinkd dies and comes back; the device would reconnect and bump
# GENERATION: the echo re-reads the table, finds L unchanged, goes on
stop_daemon KILL
start_daemon --no-hugepages || exit 1
set_reg "$D/resource0" 0x24 2; set_reg "$D/resource0" 0x0c 2 # connects, then generation
# echo looks at the device once a second
i=0; until grep -q "device 0000:00:04.0 generation 2" "$T/e.err" || [ $i -ge 100 ]; do
	sleep 0.1; i=$((i + 1))
done
grep -q "device 0000:00:04.0 generation 2 (connects 2): link L checked, unchanged" "$T/e.err" &&
	ok "echo: generation 2 seen, link L unchanged" || not_ok "no generation line: $(cat "$T/e.err")"
host_end L pingpong "$N" 60-1500 2 >"$T/h" 2>&1 && ok "host end after the restart: exit 0" ||
	not_ok "pingpong after restart: $(cat "$T/h")"
expect_line "$T/h" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"echo after the restart (channel 2): $N packets intact, ledger full"

# M deleted and created again (same place: L keeps the domain and its
# place) while its peer sleeps: same table entry, but the rings start from
# zero: the peer must not go on
"$PEER" --pci="$T/pci" echo M >"$T/em" 2>"$T/em.err" &
EM=$!; BG_PIDS="$BG_PIDS $EM"
wait_peer_up M 30 resetting || not_ok "echo M did not attach"
host_end M pingpong 1000 64 1 >"$T/h" 2>&1 || not_ok "pingpong on M: $(cat "$T/h")"
kill -STOP "$EM"
ctl delete-link M --force >/dev/null && ctl create-link M 02:00:00:00:00:02 1 --domain vm1 >/dev/null
set_reg "$D/resource0" 0x0c 3
kill -CONT "$EM"
i=0; while kill -0 "$EM" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
kill "$EM" 2>/dev/null; wait "$EM"; erc=$?
grep -q "link M: the link changed under us" "$T/em.err" && [ $erc = 1 ] &&
	ok "a link recreated under a peer: -ESTALE, exit 1" || not_ok "echo M exit $erc: $(cat "$T/em.err")"


# L is deleted: the echo notices (header magic, then the table) and stops
check "delete L" ctl delete-link L
set_reg "$D/resource0" 0x0c 4
i=0; while kill -0 "$E" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$E" 2>/dev/null; then not_ok "echo still runs after L was deleted"; kill "$E"; fi
wait "$E"; erc=$?
[ $erc = 1 ] && ok "echo exits 1 once L is deleted" || not_ok "echo exit $erc"
grep -q "link L: the link was deleted" "$T/e.err" && ok "echo says the link was deleted" ||
	not_ok "echo: $(cat "$T/e.err")"

# send and receive, both directions, payloads checked
host_end M recv "$N" 60-1500 1 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
"$PEER" --pci="$T/pci" send M --count "$N" --size 60-1500 >"$T/p" 2>&1 &&
	ok "guest send: exit 0" || not_ok "guest send: $(cat "$T/p")"
wait "$H" && ok "host recv: exit 0" || not_ok "host recv exit status"
expect_line "$T/h" "received $N \\($N intact, 0 corrupt, 0 lost, 0 out of order\\).*([0-9]+) of \\1 buffers home, 0 bad" \
	"guest -> host: $N packets intact, ledger full"
host_end M send "$N" 60-1500 1 >"$T/h" 2>&1 &
H=$!; BG_PIDS="$BG_PIDS $H"
"$PEER" --pci="$T/pci" recv M --count "$N" >"$T/p" 2>&1 &&
	ok "guest recv: exit 0" || not_ok "guest recv: $(cat "$T/p")"
wait "$H" && ok "host send: exit 0" || not_ok "host send exit status"
expect_line "$T/p" "^recv: $N packets .*: $N intact, 0 corrupt, 0 lost, 0 out of order" \
	"host -> guest: $N packets intact, in order"
expect_line "$T/h" "ledger: ([0-9]+) of \\1 buffers home, 0 bad descriptors" \
	"host -> guest: ledger full"

# the device not mapped, or not a vlink device at all
set_reg "$D/resource0" 0x08 1
expect 1 "not mapped after 1000 ms \\(status 0x1: connected to vlinkd\\)" \
	"STATUS without MAPPED: bounded wait, then a clear error" \
	"$PEER" --pci="$T/pci" --wait 1 recv M --count 1
set_reg "$D/resource0" 0x08 3
set_reg "$D/resource0" 0x00 0x12345678
expect 1 "registers say magic 0x12345678" "bad MAGIC is refused" \
	"$PEER" --pci="$D" recv M --count 1
set_reg "$D/resource0" 0x00 0x4b4e4c56
# bound to the guest kernel driver: said so, not a mapping error
mkdir -p "$T/pci-drivers/vlink_net"
ln -s "$T/pci-drivers/vlink_net" "$D/driver"
expect 1 "is bound to vlink_net, the guest kernel driver: .*unbind it first \\(echo 0000:00:04.0 > /sys/bus/pci/drivers/vlink_net/unbind\\)" \
	"a device bound to vlink_net is refused with what to do" "$PEER" --pci="$D" recv M --count 1
rm "$D/driver"
expect 2 "exclude each other" "--pci with --socket is a usage error" \
	"$PEER" --pci --socket "$SOCK" list
expect 2 "device is for guest mode" "device without --pci is a usage error" "$PEER" device

# the tool and the library under valgrind (guest mode, both directions)
if command -v valgrind >/dev/null; then
	VG="$BUILDDIR/libtool --mode=execute valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
	host_end M send 2000 60-9000 1 >"$T/h" 2>&1 &
	H=$!; BG_PIDS="$BG_PIDS $H"
	$VG "$PEER" --pci="$T/pci" recv M --count 2000 >"$T/p" 2>&1 &&
		ok "valgrind: guest recv of 2000 packets (chains), clean" ||
		not_ok "valgrind recv: $(cat "$T/p")"
	wait "$H" || not_ok "host send under valgrind recv: $(cat "$T/h")"
	$VG "$PEER" --pci="$T/pci" list >"$T/p" 2>&1 && ok "valgrind: list, clean" ||
		not_ok "valgrind list: $(cat "$T/p")"
	$VG "$PEER" --pci="$T/pci" stats M >"$T/p" 2>&1 && ok "valgrind: stats, clean" ||
		not_ok "valgrind stats: $(cat "$T/p")"
	$VG "$PEER" --pci="$T/pci" device >"$T/p" 2>&1 && ok "valgrind: device, clean" ||
		not_ok "valgrind device: $(cat "$T/p")"
fi
finish
