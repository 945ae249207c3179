#!/bin/sh
# Pools on hugetlbfs when hugepages are free (vlinkd mounts one under its
# run dir when none is mounted, and not another vlinkd's), the /dev/shm
# fallback with a warning when not, and memory that survives a restart in
# both cases.
. "$(dirname "$0")/lib.sh"
need_root
NR=/proc/sys/vm/nr_hugepages
orig=$(cat $NR)
restore() { echo "$orig" >$NR; cleanup; }
trap restore EXIT

free2m() { cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages; }

# 1. no free hugepages: fallback, with a warning that says what to do
echo 0 >$NR
if [ "$(free2m)" = 0 ]; then
	start_daemon || exit 1
	check "create l1 without hugepages" ctl create-link l1 02:00:00:00:00:01 1
	grep -q "not enough free 2 MiB hugepages (need 32, 0 free): using $T/shm" "$T/vlinkd.log" &&
		ok "fallback warning names the cause and the fix" || not_ok "no fallback warning"
	grep -q "nr_hugepages" "$T/vlinkd.log" && ok "warning says how to reserve pages" ||
		not_ok "warning without advice"
	ctl status --json >"$T/out"
	[ "$(json_get "j['domains'][0]['hugepages']")" = False ] &&
		ok "status: no hugepages" || not_ok "status: $(cat "$T/out")"
	check "delete l1" ctl delete-link l1
	stop_daemon
else
	not_ok "could not free the 2 MiB hugepages (in use elsewhere: $(free2m))"
fi

# 2. hugepages available
if ! "$SRCDIR/scripts/hugepages.sh" reserve 72 2>"$T/hp"; then
	not_ok "cannot reserve 72 hugepages (free: $(free2m))"; cat "$T/hp"
	finish
fi
start_daemon || exit 1
f0=$(free2m)
check "create l1 on hugepages" ctl create-link l1 02:00:00:00:00:01 1
ctl status --json >"$T/out"
[ "$(json_get "j['domains'][0]['hugepages'], j['domains'][0]['page_size']")" = "True 2097152" ] &&
	ok "status: 2 MiB hugepages" || not_ok "status: $(cat "$T/out")"
"$TESTCLIENT" "$SOCK" attach l1 host write 5 >"$T/w" 2>&1 && ok "pattern written" ||
	not_ok "write: $(cat "$T/w")"
[ "$(free2m)" -le $((f0 - 32)) ] && ok "32 hugepages taken by the pool" ||
	not_ok "free hugepages: $(free2m) of $f0"
grep -Eq "^segment 0 inode" "$T/w" || not_ok "no segment line"
# the daemon's pool file, on whichever hugetlbfs it chose: the daemon id
# names its directory there
pool_of() {
	_id=$(sed -n 's/.*daemon id \([0-9a-f]*\).*/\1/p' "$1" | head -n 1)
	for _m in $(awk '$3 == "hugetlbfs" { print $2 }' /proc/mounts); do
		[ -e "$_m/vlink-$_id/default.pool0" ] && echo "$_m/vlink-$_id/default.pool0"
	done
}
pool1=$(pool_of "$T/vlinkd.log")
[ -n "$pool1" ] && ok "pool file on hugetlbfs ($pool1)" || not_ok "no pool file on any hugetlbfs"

# 3. a second vlinkd next to it (a test's next to the system's) mounts a
# hugetlbfs of its own rather than putting its files in the first one's
# private mount, which goes with the first daemon
T2=$T/second
mkdir -p "$T2/shm"
"$VLINKD" --foreground --run-dir "$T2/run" --state-dir "$T2/state" --shm-dir "$T2/shm" \
	>"$T2/vlinkd.log" 2>&1 &
P2=$!
BG_PIDS="$BG_PIDS $P2"
CLEANUP_PATHS="${CLEANUP_PATHS:-} $T2"
until_ok 30 "$VLINKCTL" --socket "$T2/run/vlinkd.sock" status
"$VLINKCTL" --socket "$T2/run/vlinkd.sock" create-link l2 02:00:00:00:00:02 1 >"$T2/out" 2>&1 ||
	not_ok "the second vlinkd: create-link: $(cat "$T2/out")"
pool2=$(pool_of "$T2/vlinkd.log")
case $pool2 in
"$T2"/run/hugepages-2M/*) ok "a second vlinkd keeps its pool on a hugetlbfs of its own ($pool2)" ;;
*) not_ok "the second vlinkd's pool is '$pool2', not under its own $T2/run/hugepages-2M" ;;
esac
kill "$P2"; wait "$P2" 2>/dev/null
umount "$T2/run/hugepages-2M" 2>/dev/null
stop_daemon
start_daemon || exit 1
"$TESTCLIENT" "$SOCK" attach l1 peer check 5 >"$T/c" 2>&1 &&
	ok "hugepage memory survived the restart" || not_ok "check: $(cat "$T/c")"
grep "^segment" "$T/w" >"$T/a"; grep "^segment" "$T/c" >"$T/b"
cmp -s "$T/a" "$T/b" && ok "same hugetlbfs file after restart" || not_ok "inodes differ"
check "delete l1 frees the domain" ctl delete-link l1
[ "$(free2m)" -ge 40 ] && ok "hugepages returned when the domain went away" ||
	not_ok "hugepages still held: $(free2m) free"
finish
