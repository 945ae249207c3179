#!/bin/sh
# pci-vlink under qtest, against a real vlinkd: bad properties are refused
# naming the property; the device enumerates with its ids and BAR sizes;
# the registers read as docs/pci-vlink.md says before and after vlinkd
# comes up; pool bytes written by a host process read back through BAR2 at
# the same offset (and the other way round); the link table, link headers
# and ring headers read back through BAR4; creating and deleting links
# while QEMU runs bumps GENERATION; vlinkd killed with SIGKILL and started
# again: the same QEMU reconnects, keeps its mappings and the bytes.  Event
# mode: a doorbell wakes the host end's process on its channel, the host
# end's signal fires the channel's MSI-X vector (or ISR and INTx with MSI-X
# off), also with new notifiers after vlinkd's restart.
. "$(dirname "$0")/qemu-lib.sh"
need_qemu

DOM=vm1
CHR="-chardev socket,id=vl0,path=$SOCK,reconnect=1"
Q="timeout 20 $QEMU $QEMU_BASE"

# --- properties -----------------------------------------------------------------
expect 0 "vm_domain=<str>.*" "-device pci-vlink,help lists vm_domain" $Q -device pci-vlink,help
expect 0 "bar-size=<size>" "-device pci-vlink,help lists bar-size" $Q -device pci-vlink,help
expect 0 "region-size=<size>" "-device pci-vlink,help lists region-size" $Q -device pci-vlink,help
expect 0 "vectors=<uint32> .*default: 65" "-device pci-vlink,help lists vectors (65)" $Q -device pci-vlink,help
expect 1 "property 'vectors' must be from 2 to 2048, not 1" "vectors=1: refused" \
	$Q $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM,vectors=1
expect 1 "property 'vectors' must be from 2 to 2048, not 2049" "vectors=2049: refused" \
	$Q $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM,vectors=2049
expect 1 "property 'chardev' is required" "no chardev: refused" \
	$Q -device pci-vlink,vm_domain=$DOM
expect 1 "property 'vm_domain' is required" "no vm_domain: refused" \
	$Q $CHR -device pci-vlink,chardev=vl0
expect 1 "property 'vm_domain' is empty" "empty vm_domain: refused" \
	$Q $CHR -device pci-vlink,chardev=vl0,vm_domain=
expect 1 "property 'vm_domain' 'a b' contains a space" "vm_domain with a space: refused" \
	$Q $CHR -device "pci-vlink,chardev=vl0,vm_domain=a b"
expect 1 "property 'vm_domain' is longer than 32 characters" "vm_domain of 33 characters: refused" \
	$Q $CHR -device pci-vlink,chardev=vl0,vm_domain=abcdefghijabcdefghijabcdefghijabc
expect 1 "property 'bar-size' must be a power of two from 2M to 1G.*not 3 MiB" \
	"bar-size=3M: refused" $Q $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM,bar-size=3M
expect 1 "property 'bar-size' must be a power of two from 2M to 1G.*not 2 GiB" \
	"bar-size=2G: refused" $Q $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM,bar-size=2G
expect 1 "property 'region-size' must be a power of two from 8K to 1G, not 4 KiB" \
	"region-size=4K: refused" $Q $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM,region-size=4K
expect 1 "property 'chardev': 'n0' must be a Unix socket chardev" "a null chardev: refused" \
	$Q -chardev null,id=n0 -device pci-vlink,chardev=n0,vm_domain=$DOM
expect 1 "property 'chardev': 's0' must connect to vlinkd, not listen" \
	"a listening chardev: refused" $Q -chardev socket,id=s0,path="$T/listen.sock",server=on,wait=off \
	-device pci-vlink,chardev=s0,vm_domain=$DOM

# --- enumeration and registers before vlinkd runs -----------------------------
start_qemu $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM || finish_qemu
qt probe >"$T/probe" 2>&1
cat "$T/probe" >"$T/out"
expect 0 "vendor 0x1234 device 0x564c revision 1 class 0x0500" \
	"enumerates: vendor 1234, device 564c, revision 1, class memory/RAM" cat "$T/probe"
expect 0 "^bar0 size 4096 mem32$" "BAR0: 4 KiB, 32-bit memory" cat "$T/probe"
expect 0 "^bar1 size 4096 mem32$" "BAR1 (MSI-X, 65 vectors): 4 KiB, 32-bit memory" cat "$T/probe"
expect 0 "^bar2 size 1073741824 mem64 prefetchable$" "BAR2: 1 GiB, 64-bit prefetchable" cat "$T/probe"
expect 0 "^bar4 size 16777216 mem64 prefetchable$" "BAR4: 16 MiB, 64-bit prefetchable" cat "$T/probe"
expect 0 "^bar2 address 0x100000000$" "BAR2 assigned above 4 GiB" cat "$T/probe"

qt regs >"$T/regs0" 2>&1
expect 0 "^magic 0x4b4e4c56$" "MAGIC reads VLNK" cat "$T/regs0"
expect 0 "^version 2$" "VERSION 2" cat "$T/regs0"
expect 0 "^vectors 65$" "VECTORS 65 (the default)" cat "$T/regs0"
expect 0 "^status 0x0$" "STATUS 0 before vlinkd runs (not connected)" cat "$T/regs0"
expect 0 "^generation 0$" "GENERATION 0 before vlinkd runs" cat "$T/regs0"
expect 0 "^connects 0$" "CONNECTS 0 before vlinkd runs" cat "$T/regs0"
expect 0 "^pool_size 0$" "POOL_SIZE 0 before vlinkd runs" cat "$T/regs0"
expect 0 "^domain $DOM$" "DOMAIN reads the vm_domain" cat "$T/regs0"
expect 0 "reg_0x28 0x0 reg_0x64 0x0 reg_0x6c 0x0 reg_0xffc 0x0" \
	"unused registers and DOORBELL (write-only) read 0" cat "$T/regs0"
expect 0 "^isr 0x0$" "ISR 0 before vlinkd runs (the read arms INTx)" qt isr
expect 0 "^intx 0$" "INTx not asserted" qt intx
qt write 0 0 ffffffff >/dev/null && qt write 0 0x0c 07000000 >/dev/null &&
	qt write 0 0x40 41424344 >/dev/null
qt regs >"$T/out" 2>&1
grep -q "^magic 0x4b4e4c56$" "$T/out" && grep -q "^generation 0$" "$T/out" &&
	grep -q "^domain $DOM$" "$T/out" && ok "BAR0 writes are ignored" ||
	not_ok "BAR0 writes: $(cat "$T/out")"
sleep 1.5
[ "$(qt read 2 0 16)" = 00000000000000000000000000000000 ] && [ "$(qt read 4 0 16)" = 00000000000000000000000000000000 ] &&
	ok "BAR2 and BAR4 read 0 before anything is mapped" || not_ok "empty BARs: $(qt read 2 0 16) $(qt read 4 0 16)"
qemu_alive && reg_is status 0x0 && ok "QEMU runs without vlinkd (not connected)" ||
	not_ok "QEMU without vlinkd"

# --- vlinkd comes up ------------------------------------------------------------
start_daemon --segment-size 16M || finish_qemu
wait_until 10 reg_is status 0x3 && ok "QEMU connects: STATUS connected|mapped" ||
	not_ok "not connected: $(qt regs 2>&1 | tr '\n' ' ')"
qt regs >"$T/regs1" 2>&1
expect 0 "^generation 1$" "GENERATION 1 after the first DomainMap" cat "$T/regs1"
expect 0 "^connects 1$" "CONNECTS 1" cat "$T/regs1"
expect 0 "^pool_size 67108864$" "POOL_SIZE 64 MiB" cat "$T/regs1"
expect 0 "^nsegments 4$" "NSEGMENTS 4 (16 MiB segments)" cat "$T/regs1"
expect 0 "^region_size 8192$" "REGION_SIZE 8 KiB (no links yet)" cat "$T/regs1"
ctl status --json >"$T/out" 2>&1
[ "$(json_get "[c['attached'] for c in j.get('clients', []) if c.get('role') == 'qemu']")" = \
	"['domain $DOM']" ] && ok "vlinkd sees QEMU attached to domain $DOM" ||
	not_ok "status: $(cat "$T/out")"
expect 0 "^region magic 0x4b4e4c56 version 1 generation [0-9]+ nlinks 0 .* domain $DOM$" \
	"BAR4: the region header of domain $DOM" qt links

# --- a link created while QEMU runs ------------------------------------------
check "create l1 in $DOM" ctl create-link l1 02:00:00:00:00:01 2 --domain $DOM
wait_until 5 reg_is generation 2 && ok "create-link: GENERATION 2" ||
	not_ok "generation after create-link: $(reg generation)"
ctl show --json l1 >"$T/out"
HDR=$(json_get "hex(j['header_offset'])")
BUF=$(json_get "j['buf_offset']")
expect 0 "^link l1 channels 2 ring 1024 stride 16512 hdr $HDR buf .* magic ok channels-hdr 2 ring-hdr 1024 rings ok$" \
	"BAR4: l1 in the link table, link header magic, every ring's size" qt links
ctl status --json >"$T/out"
RSIZE=$(json_get "[d['region_size'] for d in j['domains'] if d['name'] == '$DOM'][0]")
reg_is region_size "$RSIZE" && ok "REGION_SIZE follows the grown region ($RSIZE)" ||
	not_ok "region_size $(reg region_size), vlinkd says $RSIZE"

# pool bytes: host process -> BAR2, and BAR2 -> host process
OFF1=$((BUF + 4096))
OFF2=$((64 * 1024 * 1024 - 64))     # the last bytes of the last segment
OFF3=$((BUF + 8192))
H1=$(randhex 64) H2=$(randhex 64) H3=$(randhex 64)
check "a host process writes 64 bytes at pool offset $OFF1" "$TESTCLIENT" "$SOCK" poke l1 $OFF1 "$H1"
check "a host process writes 64 bytes at pool offset $OFF2" "$TESTCLIENT" "$SOCK" poke l1 $OFF2 "$H2"
[ "$(qt read 2 $OFF1 64)" = "$H1" ] && ok "BAR2 at $OFF1 reads the host's bytes" ||
	not_ok "BAR2 at $OFF1: $(qt read 2 $OFF1 64) != $H1"
[ "$(qt read 2 $OFF2 64)" = "$H2" ] && ok "BAR2 at $OFF2 (last segment) reads the host's bytes" ||
	not_ok "BAR2 at $OFF2: $(qt read 2 $OFF2 64) != $H2"
qt write 2 $OFF3 "$H3" >/dev/null
[ "$("$TESTCLIENT" "$SOCK" peek l1 $OFF3 64)" = "$H3" ] &&
	ok "bytes written through BAR2 reach the host process" ||
	not_ok "peek at $OFF3: $("$TESTCLIENT" "$SOCK" peek l1 $OFF3 64 2>&1)"

check "create l2 in $DOM while QEMU runs" ctl create-link l2 02:00:00:00:00:02 1 --domain $DOM \
	--ring-size 256
wait_until 5 reg_is generation 3 && ok "second create-link: GENERATION 3" ||
	not_ok "generation: $(reg generation)"
qt links >"$T/links" 2>&1
expect 0 "^link l2 channels 1 ring 256 .* magic ok channels-hdr 1 ring-hdr 256 rings ok$" \
	"BAR4: the new link l2 appears in the link table" cat "$T/links"
expect 0 "nlinks 2 " "BAR4: nlinks 2" cat "$T/links"

# --- notifiers (event mode) -------------------------------------------------
# After each DomainMap the device asks for the notifiers of the domain's
# links: l1 (2 channels) and l2 (1) make 3.
notifiers_seen() { [ "$(grep -c "notifiers: $1 channels of $2 links" "$T/qemu.log")" -ge "$3" ]; }
wait_until 5 notifiers_seen 3 2 1 && ok "QEMU has the notifiers of l1 and l2 (3 channels)" ||
	not_ok "no notifiers: $(grep notifiers "$T/qemu.log")"
S1=$(qt slot l1)
vec() { echo $((1 + ($1 + $2 - 1) % ($3 - 1))); }    # vlink_pci_vector()
V1=$(vec "$S1" 1 65) V2=$(vec "$S1" 2 65)
echo "# l1 is in slot $S1: channel 1 on vector $V1, channel 2 on vector $V2"
# MSI-X is off so far: the connection, the maps and the notifiers' swap went
# to ISR and INTx
expect 0 "^intx 1$" "MSI-X off: the config changes and the notifiers raised INTx" qt intx
expect 0 "^isr 0x3$" "ISR config|data; reading it clears it" qt isr
expect 0 "^isr 0x0$" "ISR reads 0 the second time" qt isr
expect 0 "^intx 0$" "reading ISR lowered INTx" qt intx

# a doorbell from the guest wakes the host end's process on that channel
woken() {   # woken SLOT CH TAG [LINK]: the host end of LINK (l1) waits, the guest rings
	"$TESTCLIENT" "$SOCK" woken "${4:-l1}" "$2" 10 >"$T/woken.$3" 2>&1 &
	W_PID=$!
	wait_until 10 grep -q "^ready" "$T/woken.$3" || { kill "$W_PID"; cat "$T/woken.$3"; return 1; }
	qt doorbell "$1" "$2" >/dev/null
	wait "$W_PID"
}
woken "$S1" 2 a && expect 0 "^woken on channel 2$" \
	"a guest doorbell (slot $S1, channel 2) wakes l1's host end on channel 2" cat "$T/woken.a" ||
	not_ok "doorbell: $(cat "$T/woken.a")"
grep -q "also woken" "$T/woken.a" && not_ok "other channels woken too: $(cat "$T/woken.a")" ||
	ok "and no other channel"
woken "$S1" 1 b && expect 0 "^woken on channel 1$" "the doorbell of channel 1 wakes channel 1" \
	cat "$T/woken.b" || not_ok "doorbell channel 1: $(cat "$T/woken.b")"
S2=$(qt slot l2)
woken "$S2" 1 b2 l2 && expect 0 "^woken on channel 1$" \
	"the doorbell of l2 (slot $S2, channel 1) wakes l2's host end" cat "$T/woken.b2" ||
	not_ok "doorbell of l2: $(cat "$T/woken.b2")"
qt doorbell 62 64 >/dev/null
qt doorbell 62 64 >/dev/null
wait_until 5 grep -q "doorbell 0x003e0040 (slot 62, channel 64) wakes no channel: ignored" "$T/qemu.log" &&
	ok "a doorbell for no channel is ignored, said on QEMU's log" || not_ok "no log of the stray doorbell"
[ "$(grep -c "wakes no channel" "$T/qemu.log")" = 1 ] && ok "said once" ||
	not_ok "said $(grep -c "wakes no channel" "$T/qemu.log") times"

# the host end's signal fires the channel's MSI-X vector (a write to RAM
# under qtest)
MSI=0x300000
qt isr >/dev/null   # what the host ends' GetNotifiers signalled so far
expect 0 "^msix on 65 vectors$" "MSI-X enabled, every vector pointed at guest RAM" qt msix on $MSI
# ring TAG CH WANT: a host end of l1 that signals channel CH once GO is
# there; its GetNotifiers signals every channel first (WANT: the vectors
# that then fire), those are cleared before it signals
ring() {
	rm -f "$T/go"
	"$TESTCLIENT" "$SOCK" ring l1 "$2" "$T/go" >"$T/ring.$1" 2>&1 &
	R_PID=$!
	wait_until 10 grep -q "^ready" "$T/ring.$1" || { kill "$R_PID"; cat "$T/ring.$1"; return 1; }
	wait_until 5 sh -c "$QTEST $QT_SOCK fired $MSI | grep -q '$3'" || { kill "$R_PID"; return 1; }
	sleep 0.2
	qt fired $MSI clear >/dev/null
	touch "$T/go"
	wait "$R_PID"
}
if ring a 2 "fired $V1 $V2\$"; then
	wait_until 5 sh -c "$QTEST $QT_SOCK fired $MSI | grep -q 'fired $V2'" &&
		expect 0 "^fired $V2$" "the host end's signal on l1 channel 2 fires vector $V2 (only)" \
		qt fired $MSI clear || not_ok "vector $V2 did not fire: $(qt fired $MSI)"
else
	not_ok "ring: $(cat "$T/ring.a"); $(qt fired $MSI)"
fi
expect 0 "^isr 0x0$" "with MSI-X on, ISR stays 0" qt isr
# with MSI-X off: ISR bit 1 and INTx
intx_up() { [ "$(qt intx)" = "intx 1" ]; }
qt msix off >/dev/null
rm -f "$T/go"
"$TESTCLIENT" "$SOCK" ring l1 2 "$T/go" >"$T/ring.b" 2>&1 &
R_PID=$!
# its GetNotifiers' own signals first, cleared
wait_until 10 grep -q "^ready" "$T/ring.b" && wait_until 5 intx_up && sleep 0.2 &&
	qt isr >/dev/null && sleep 0.2 && ! intx_up && touch "$T/go"
wait "$R_PID"
wait_until 5 intx_up && ok "MSI-X off: the host end's signal asserts INTx" ||
	not_ok "no INTx: $(cat "$T/ring.b")"
expect 0 "^isr 0x2$" "ISR bit 1 (data)" qt isr
expect 0 "^isr 0x0$" "cleared by the read" qt isr
expect 0 "^intx 0$" "and INTx is down" qt intx
qt msix on $MSI >/dev/null
qt fired $MSI clear >/dev/null

sleep 0.5   # the regions the link-table changes replaced are freed after an RCU period
FDS1=$(qemu_fds)

# --- vlinkd killed and started again ---------------------------------------
# host ends of l1 and l2 that outlive vlinkd: the device keeps the
# notifiers until new ones come
rm -f "$T/go"
"$TESTCLIENT" "$SOCK" ring l1 2 "$T/go" >"$T/ring.e" 2>&1 &
RE_PID=$!
"$TESTCLIENT" "$SOCK" woken l2 1 20 >"$T/woken.e" 2>&1 &
WE_PID=$!
wait_until 10 grep -q "^ready" "$T/ring.e" && wait_until 10 grep -q "^ready" "$T/woken.e" ||
	not_ok "host ends: $(cat "$T/ring.e" "$T/woken.e")"
sleep 0.5   # their GetNotifiers' own signals
qt fired $MSI clear >/dev/null
kill -KILL "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait_until 5 reg_is status 0x2 && ok "vlinkd killed: STATUS mapped, not connected" ||
	not_ok "status after kill: $(reg status)"
expect 0 "^fired 0$" "the STATUS change fired the config vector (0), no other" qt fired $MSI clear
qt doorbell "$S2" 1 >/dev/null
wait "$WE_PID" && expect 0 "^woken on channel 1$" \
	"vlinkd gone: the doorbell still wakes l2's host end (the notifiers stay)" cat "$T/woken.e" ||
	not_ok "doorbell without vlinkd: $(cat "$T/woken.e")"
touch "$T/go"
wait "$RE_PID"
wait_until 5 sh -c "$QTEST $QT_SOCK fired $MSI | grep -q 'fired $V2'" &&
	expect 0 "^fired $V2$" "and l1's host end still interrupts the guest on vector $V2" \
	qt fired $MSI clear || not_ok "vector $V2 without vlinkd: $(qt fired $MSI) $(cat "$T/ring.e")"
[ "$(qt read 2 $OFF1 64)" = "$H1" ] && ok "without vlinkd the bytes still read through BAR2" ||
	not_ok "BAR2 without vlinkd"
expect 0 "^link l1 .* magic ok .* rings ok$" "without vlinkd the link table still reads" qt links
start_daemon --segment-size 16M || finish_qemu
wait_until 10 reg_is connects 2 && ok "vlinkd restarted: the same QEMU reconnects (CONNECTS 2)" ||
	not_ok "connects: $(reg connects)"
wait_until 5 reg_is status 0x3 && ok "STATUS connected|mapped again" || not_ok "status $(reg status)"
reg_is generation 4 && ok "GENERATION 4 after the reconnect" || not_ok "generation $(reg generation)"
expect_log "the reconnect kept every mapping (same files)" \
	"generation 4: pool 64 MiB in 4 segments \(4 kept, 0 mapped\), channel region [0-9]+ KiB \(kept\), 2 links"
[ "$(qt read 2 $OFF1 64)" = "$H1" ] && [ "$(qt read 2 $OFF2 64)" = "$H2" ] &&
	ok "the bytes are still there through BAR2" || not_ok "BAR2 after the restart"
[ "$("$TESTCLIENT" "$SOCK" peek l1 $OFF3 64)" = "$H3" ] &&
	ok "and the host still reads what BAR2 wrote" || not_ok "peek after the restart"
wait_until 5 notifiers_seen 3 2 2 && ok "QEMU has the new vlinkd's notifiers" ||
	not_ok "no new notifiers: $(grep notifiers "$T/qemu.log")"
V3=$(vec "$S2" 1 65)
F=" $(qt fired $MSI clear | sed 's/^fired //') "
case "$F" in *" 0 "*) ok "the reconnect fired the config vector (0)" ;;
	*) not_ok "config vector: fired$F" ;; esac
miss=
for v in $V1 $V2 $V3; do case "$F" in *" $v "*) ;; *) miss="$miss $v" ;; esac; done
[ -z "$miss" ] && ok "and the swap every data vector in use ($V1 $V2 $V3)" ||
	not_ok "vectors$miss did not fire: fired$F"
woken "$S1" 2 c && expect 0 "^woken on channel 2$" \
	"after the restart a doorbell wakes a new host end on channel 2" cat "$T/woken.c" ||
	not_ok "doorbell after the restart: $(cat "$T/woken.c")"
if ring c 2 "fired $V1 $V2\$"; then
	wait_until 5 sh -c "$QTEST $QT_SOCK fired $MSI | grep -q 'fired $V2'" &&
		expect 0 "^fired $V2$" "and its signal fires vector $V2 again" qt fired $MSI clear ||
		not_ok "vector $V2 after the restart: $(qt fired $MSI)"
else
	not_ok "ring after the restart: $(cat "$T/ring.c"); $(qt fired $MSI)"
fi
wait_until 5 sh -c "[ \$(ls /proc/$QEMU_PID/fd | wc -l) = $FDS1 ]" &&
	ok "QEMU holds as many fds as before the restart ($FDS1)" ||
	not_ok "QEMU fds: $(qemu_fds), before: $FDS1"

check "delete l2 (QEMU holds the domain: --force)" ctl delete-link --force l2
wait_until 5 reg_is generation 5 && ok "delete-link: GENERATION 5" ||
	not_ok "generation: $(reg generation)"
qt links >"$T/links" 2>&1
grep -q "^link l2 " "$T/links" && not_ok "l2 still in the link table" ||
	ok "BAR4: l2 left the link table"
expect 0 "^link l1 .* magic ok .* rings ok$" "BAR4: l1 is still there" cat "$T/links"
qemu_alive && ok "QEMU is still running" || not_ok "QEMU died"

# a second QEMU for the same domain: vlinkd refuses it (EBUSY)
M_PID=$QEMU_PID M_SOCK=$QT_SOCK
QT_SOCK="$T/qtest2.sock"
start_qemu $CHR -device pci-vlink,chardev=vl0,vm_domain=$DOM
qt probe >/dev/null 2>&1
wait_until 5 reg_is status 0x5 &&
	ok "a second QEMU for $DOM: STATUS connected|error, nothing mapped" ||
	not_ok "second QEMU: $(qt regs 2>&1 | tr '\n' ' ')"
expect_log "the daemon's refusal is on QEMU's log" \
	"vlinkd refused AttachDomain: domain '$DOM' is already attached by client [0-9]+ \(pid $M_PID\) \(.*\)"
reg_is generation 0 && ok "its GENERATION stays 0" || not_ok "generation $(reg generation)"
stop_qemu
QEMU_PID=$M_PID QT_SOCK=$M_SOCK
stop_qemu && ok "QEMU exits 0 on SIGTERM" || not_ok "QEMU's exit status on SIGTERM"

# a QEMU started while vlinkd runs maps at once; without reconnect= it warns
: >"$T/qemu.log"
start_qemu -chardev socket,id=vl9,path="$SOCK" -device pci-vlink,chardev=vl9,vm_domain=$DOM,vectors=2
wait_until 5 grep -q "chardev 'vl9' has no reconnect=: the device will not reconnect" "$T/qemu.log" &&
	ok "a chardev without reconnect=: QEMU starts and warns" ||
	not_ok "no warning about reconnect="
qt probe >/dev/null 2>&1
wait_until 5 reg_is status 0x3 && ok "QEMU started after vlinkd: connected and mapped" ||
	not_ok "status: $(reg status)"
[ "$(qt read 2 $OFF1 64)" = "$H1" ] && ok "a new QEMU for the domain gets the same memory" ||
	not_ok "BAR2 in the second QEMU"
# vectors=2: the config vector and one that every data channel shares
reg_is vectors 2 && ok "vectors=2: VECTORS 2" || not_ok "vectors $(reg vectors)"
wait_until 5 notifiers_seen 2 1 1 && ok "it has l1's notifiers" ||
	not_ok "notifiers: $(grep notifiers "$T/qemu.log")"
expect 0 "^intx 0$" "MSI-X off but ISR never read (no driver): INTx stays down" qt intx
expect 0 "^isr 0x3$" "while ISR holds the causes" qt isr
expect 0 "^msix on 2 vectors$" "MSI-X with 2 vectors" qt msix on $MSI
qt fired $MSI clear >/dev/null
if ring d 2 "fired 1\$"; then
	wait_until 5 sh -c "$QTEST $QT_SOCK fired $MSI | grep -q 'fired 1'" &&
		ok "l1 channel 2 interrupts on vector $(vec "$S1" 2 2), shared" ||
		not_ok "vector 1 did not fire: $(qt fired $MSI)"
else
	not_ok "ring with 2 vectors: $(cat "$T/ring.d"); $(qt fired $MSI)"
fi
finish_qemu
