# A build kept in a cache directory, rebuilt only when its key changes
# (scripts/build-dpdk-example.sh, scripts/build-guest-module.sh): source
# after defining die(); FORCE=1 rebuilds anyway.
#
#   cached_begin OUT FILE KEY   when OUT/FILE was built with KEY, print its
#                               path and exit 0; else make OUT, take its
#                               lock (one build at a time: tests that run
#                               at once) and look again, then return: the
#                               caller builds
#   cached_done OUT FILE KEY BUILT
#                               put BUILT in place as OUT/FILE (renamed
#                               into place), record KEY, print the path

cached_fresh() {
	[ "${FORCE:-0}" = 0 ] && [ -f "$1/$2" ] && [ "$(cat "$1/key" 2>/dev/null)" = "$3" ]
}

cached_begin() {
	if cached_fresh "$1" "$2" "$3"; then
		echo "$1/$2"
		exit 0
	fi
	mkdir -p "$1" 2>/dev/null && [ -w "$1" ] ||
		die "cannot write $1 (give an OUTDIR, or set VLINK_CACHE to a writable directory)"
	exec 9>"$1/lock"
	flock 9
	if cached_fresh "$1" "$2" "$3"; then
		echo "$1/$2"
		exit 0
	fi
	rm -f "$1/key" "$1/$2"
}

cached_done() {
	cp -L "$4" "$1/$2.tmp"
	mv -f "$1/$2.tmp" "$1/$2"
	echo "$3" >"$1/key"
	echo "$1/$2"
}
