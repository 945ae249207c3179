# The DPDK source package, for the scripts and tests that build DPDK's own
# examples against the installed libdpdk (sourced; needs nothing else).

# dpdk_src_dir: the dpdk source tree scripts/install-deps.sh unpacked under
# ${VLINK_CACHE:-/var/cache/vlink}/src: the one of the installed libdpdk's
# version (pkg-config), else the newest there (Debian's upstream version
# may differ in the last digit).  Prints nothing and returns 1 if none.
dpdk_src_dir() {
	_src=${VLINK_CACHE:-/var/cache/vlink}/src
	_v=$(pkg-config --modversion libdpdk 2>/dev/null) || _v=none
	if [ -d "$_src/dpdk-$_v/examples" ]; then
		echo "$_src/dpdk-$_v"
		return 0
	fi
	_d=$(ls -d "$_src"/dpdk-*/examples 2>/dev/null | sort -V | tail -n1)
	[ -n "$_d" ] || return 1
	echo "${_d%/examples}"
}
