#!/bin/sh
# Make sure some 2 MiB hugepages are free, as root.
#
#   scripts/hugepages.sh reserve N    at least N free pages (raises vm.nr_hugepages)
#   scripts/hugepages.sh show         total, free and surplus pages
#
# Raising vm.nr_hugepages is not always enough at once: the kernel needs
# contiguous 2 MiB blocks, and page cache (after a big build) or memory
# the kernel has not initialised yet (deferred_init, seen on these VMs
# shortly after boot) leave it with too few.  So, when it falls short:
# drop clean caches and compact, then make the kernel grow every zone by
# touching (and freeing) some memory, and ask again.  Exit 0 when N pages
# are free; 1 with what the kernel has (meminfo, buddyinfo) on stderr and
# vm.nr_hugepages as it was.
set -u
SYS=/sys/kernel/mm/hugepages/hugepages-2048kB
NR=/proc/sys/vm/nr_hugepages

free_pages() { cat $SYS/free_hugepages; }
meminfo_mb() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' /proc/meminfo; }

# ask N: nr_hugepages so that N are free (pages in use stay counted)
ask() {
	f=$(free_pages)
	[ "$f" -lt "$1" ] || return 0
	echo $(($(cat $SYS/nr_hugepages) - f + $1)) >$NR 2>/dev/null
	[ "$(free_pages)" -ge "$1" ]
}

reserve() {
	want=$1 prev=$(cat $NR)
	ask "$want" && return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
	ask "$want" && return 0
	# touch more anonymous memory than the kernel has free (initialised),
	# then free it: the kernel grows its zones and afterwards holds whole
	# free blocks
	mb=$(meminfo_mb MemFree)
	mb=$((mb / 4 + want * 2 + 512))
	for try in 1 2 3; do
		[ $mb -le 8192 ] || mb=8192
		# never more than half of what is available: no OOM killer
		half=$(($(meminfo_mb MemAvailable) / 2))
		[ $mb -le $half ] || mb=$half
		python3 -c "b = b'x' * ($mb << 20)" 2>/dev/null
		mb=$((mb * 2))
		echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
		ask "$want" && return 0
		sleep 1
	done
	echo "hugepages: only $(free_pages) free 2 MiB hugepages (want $want) after" \
		"raising vm.nr_hugepages to $(cat $NR), dropping caches and compacting" >&2
	grep -E '^(MemTotal|MemFree|MemAvailable|HugePages_|Hugetlb)' /proc/meminfo | sed 's/^/    /' >&2
	sed 's/^/    /' /proc/buddyinfo >&2
	echo "$prev" >$NR 2>/dev/null
	return 1
}

case "${1:-}" in
reserve)
	case "${2:-}" in
	''|*[!0-9]*) echo "hugepages: reserve needs a number of pages" >&2; exit 2 ;;
	esac
	[ "$(id -u)" = 0 ] || { echo "hugepages: must run as root" >&2; exit 2; }
	reserve "$2"
	;;
show)
	echo "2 MiB hugepages: $(cat $SYS/nr_hugepages) total, $(free_pages) free," \
		"$(cat $SYS/surplus_hugepages) surplus"
	;;
-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' ;;
*) echo "usage: hugepages.sh reserve N | show (try --help)" >&2; exit 2 ;;
esac
