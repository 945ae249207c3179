#!/bin/sh
# pci-vlink against a hostile stand-in for vlinkd (tests/qemu/vlink-faked):
# bad DomainMaps (overlapping or oversized segments, a region larger than
# BAR4, fds that are not files or too short or read-only, wrong domain, bad
# fd indexes, unused fds), fds on other messages, undecodable payloads are
# refused with a message, STATUS ERROR set and the old mapping kept;
# garbage and broken framing drop the connection and the chardev
# reconnects.  Notifiers: an EPROTO refusal is said once, a good reply (in
# one part or two) is swapped in and every wake_host written once, a pipe,
# a missing channel, an unknown link are refused whole, a stray reply
# ignored.  QEMU never dies and leaks no fd.
. "$(dirname "$0")/qemu-lib.sh"
need_qemu

FSOCK="$T/faked.sock"
DROPS="garbage wrong-nfds fds-middle big-frame bad-version"
REFUSE="overlap oversize region-too-big not-a-file short-file readonly domain fd-index
	extra-fd fds-on-event undecodable"
NOTIFY="notifiers-eproto notifiers-eproto notifiers-good notifiers-pipe notifiers-missing
	notifiers-link notifiers-stray notifiers-parts"
# shellcheck disable=SC2086
"$FAKED" "$FSOCK" pause $NOTIFY remap $DROPS $REFUSE >"$T/faked.log" 2>&1 &
FAKED_PID=$!
BG_PIDS="$BG_PIDS $FAKED_PID"
wait_until 5 test -S "$FSOCK" || { not_ok "vlink-faked did not start"; finish_qemu; }

start_qemu -chardev socket,id=vl0,path="$FSOCK",reconnect=1 \
	-device pci-vlink,chardev=vl0,vm_domain=vm1 || finish_qemu
qt probe >/dev/null 2>&1 || not_ok "probe: $(qt probe 2>&1)"
wait_until 10 reg_is generation 1 && ok "the first good map is accepted (GENERATION 1)" ||
	not_ok "generation $(reg generation)"
expect 0 "Hello role 2 version 3 client 'qemu pci-vlink', AttachDomain 'vm1'" \
	"QEMU says Hello (role qemu, version 3, VLINK_PROTOCOL_VERSION) and AttachDomain vm1" cat "$T/faked.log"
[ "$(qt read 2 0x1000 13)" = "$(hexof "faked seg0 v1")" ] &&
	[ "$(qt read 2 0x401000 13)" = "$(hexof "faked seg1 v1")" ] &&
	ok "BAR2 shows both segments at their pool offsets" ||
	not_ok "BAR2: $(qt read 2 0x1000 13) $(qt read 2 0x401000 13)"
sleep 0.3
FDS1=$(qemu_fds)

kill -USR1 "$FAKED_PID"
wait_until 30 grep -q "^done" "$T/faked.log" && ok "vlink-faked played every scenario" ||
	{ not_ok "vlink-faked: $(cat "$T/faked.log")"; finish_qemu; }
qemu_alive && ok "QEMU survived" || { not_ok "QEMU died"; QEMU_PID=; finish_qemu; }

for d in $DROPS; do
	grep -q "QEMU dropped the connection after $d" "$T/faked.log" &&
		ok "$d: QEMU dropped the connection" || not_ok "$d: connection not dropped"
done
R="refused a DomainMap from vlinkd \(the old mapping stays\): "
expect_log notifiers-eproto "info: .*vlinkd refused GetNotifiers: GetNotifiers is not a request the daemon answers \(.*\); no notifiers: the guest polls"
[ "$(grep -c "refused GetNotifiers" "$T/qemu.log")" = 1 ] && ok "notifiers-eproto twice: said once" ||
	not_ok "said $(grep -c "refused GetNotifiers" "$T/qemu.log") times"
n=$(grep -c "notifiers: 2 channels of 1 links (65 vectors, 2 doorbell ioeventfds)" "$T/qemu.log")
[ "$n" = 2 ] && ok "notifiers-good and notifiers-parts: swapped in (2 channels of link fl)" ||
	not_ok "$n swaps: $(grep notifiers "$T/qemu.log")"
[ "$(grep -c "wake_host of channel [12] signalled" "$T/faked.log")" = 2 ] &&
	ok "after the swap QEMU wrote every wake_host once" ||
	not_ok "wake_host: $(grep wake_host "$T/faked.log")"
N="refused the notifiers from vlinkd \(the old ones stay\): "
expect_log notifiers-pipe "${N}a notifier is not an eventfd but 'pipe:\[[0-9]+\]'"
expect_log notifiers-missing "${N}the reply misses channels of link 'fl'"
expect_log notifiers-link "${N}link 'zz' is not in the DomainMap"
expect_log notifiers-stray "ignored a Notifiers from vlinkd that answers no request \(id 9999\)"
expect_log remap "generation 10: pool 8 MiB in 2 segments \(1 kept, 1 mapped\), channel region 64 KiB \(kept\)"
expect_log garbage "bad stream from vlinkd: bad frame magic 0x0a03; dropping the connection"
expect_log wrong-nfds "bad stream from vlinkd: the frame claims 3 fd\(s\), 2 came with it"
expect_log fds-middle "bad stream from vlinkd: 1 fd\(s\) arrived in the middle of a frame"
expect_log big-frame "bad stream from vlinkd: frame of 1048576 payload bytes \(at most 65528\)"
expect_log bad-version "bad stream from vlinkd: unsupported frame version 9 \(this end speaks 1\)"
expect_log overlap "${R}segments 0 and 1 overlap"
expect_log oversize "${R}a pool of 2147483648 bytes does not fit BAR2 \(bar-size=1073741824\)"
expect_log region-too-big "${R}the channel region of 33554432 bytes does not fit BAR4 \(region-size=16777216\)"
expect_log not-a-file "${R}segment 1: the fd is not a regular file"
expect_log short-file "${R}segment 1: the file has 2097152 bytes, the map says 4194304"
expect_log readonly "${R}segment 1: the file is not open read-write"
expect_log domain "${R}the map is for domain 'someone-else'"
expect_log fd-index "${R}segment 1: fd index 5 invalid or reused"
expect_log extra-fd "${R}the frame carries fds the map does not use"
expect_log fds-on-event "refused event from vlinkd: it carries 1 fd\(s\)"
expect_log undecodable "refused an undecodable message from vlinkd \(40 bytes, 0 fd\(s\)\)"
n=$(grep -c "connected to vlinkd faked" "$T/qemu.log")
[ "$n" = 6 ] && ok "QEMU reconnected after every drop (6 connections)" ||
	not_ok "$n connections"

qt regs >"$T/regs" 2>&1
expect 0 "^status 0x7 connected mapped error$" "STATUS connected|mapped|error after refusals" \
	cat "$T/regs"
expect 0 "^connects 6$" "CONNECTS 6" cat "$T/regs"
expect 0 "^generation 15$" "GENERATION 15: only the good maps count" cat "$T/regs"
expect 0 "^pool_size 8388608$" "POOL_SIZE of the last good map" cat "$T/regs"
expect 0 "^nsegments 2$" "NSEGMENTS of the last good map" cat "$T/regs"
expect 0 "^region_size 65536$" "REGION_SIZE of the last good map" cat "$T/regs"
[ "$(qt read 2 0x1000 13)" = "$(hexof "faked seg0 v1")" ] &&
	[ "$(qt read 2 0x401000 13)" = "$(hexof "faked seg1 v2")" ] &&
	ok "BAR2 still shows the last good mapping" ||
	not_ok "BAR2: $(qt read 2 0x1000 13) $(qt read 2 0x401000 13)"
expect 0 "^region magic 0x4b4e4c56 .* domain faked$" "BAR4 still shows the region" qt links
# and the 4 eventfds of the last notifiers it took (notifiers-parts)
wait_until 5 sh -c "[ \$(ls /proc/$QEMU_PID/fd | wc -l) = $((FDS1 + 4)) ]" &&
	ok "no fd leaked: QEMU holds $FDS1 fds as after the first map, and 4 eventfds" ||
	not_ok "QEMU holds $(qemu_fds) fds, $FDS1 after the first map (+ 4 eventfds)"

kill "$FAKED_PID"; wait "$FAKED_PID" 2>/dev/null
wait_until 5 reg_is status 0x6 && ok "daemon gone: STATUS mapped|error, not connected" ||
	not_ok "status $(reg status)"
qemu_alive && ok "QEMU is still running" || not_ok "QEMU died"
finish_qemu
