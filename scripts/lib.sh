# SPDX-License-Identifier: GPL-2.0
# Shared settings for the torusmm scripts: where things are cached.
# Sourced, not run.

TORUSMM_CACHE=${TORUSMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/torusmm}
TORUSMM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Version of Debian's linux-source-6.1 package, e.g. 6.1.192-2.
tmm_source_version() {
	dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null
}

# The unpacked kernel source tree (for checkpatch, kernel-doc, kunit.py,
# the kselftest harness and the debug kernel build).
tmm_source_dir() {
	echo "$TORUSMM_CACHE/src/linux-$(tmm_source_version)"
}

# Build directory of the debug kernel, keyed by source version and the
# hash of the config fragment.
tmm_debug_dir() {
	local hash
	hash=$(sha256sum "$TORUSMM_TOP/scripts/debug-kernel.config" | cut -c1-12)
	echo "$TORUSMM_CACHE/debug-$(tmm_source_version)-$hash"
}

# ABI of Debian's kernel that matches the installed linux-headers-amd64,
# e.g. 6.1.0-56-amd64.
tmm_stock_abi() {
	dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		sed -n 's/.*linux-headers-\([^ ,]*-amd64\).*/\1/p'
}

tmm_stock_dir() {
	echo "$TORUSMM_CACHE/stock-$(tmm_stock_abi)"
}

tmm_die() {
	echo "torusmm: $*" >&2
	exit 1
}

# tmm_sync_sources DIR: copy the module sources (not the tree's objects)
# into a build directory of their own, so that objects built for one kernel
# never meet the other kernel.
tmm_sync_sources() {
	rm -rf "$1"
	mkdir -p "$1"
	rsync -a --include='/Kbuild' --include='/*.c' --include='/*.h' \
		--include='/include/***' --include='/kunit/' \
		--include='/kunit/*.[ch]' \
		--exclude='*' "$TORUSMM_TOP/" "$1/"
}

# tmm_build_stock DIR LOG: fetch Debian's kernel when it is not cached and
# build the modules for it in DIR, from a copy of the sources, with the
# compiler's output in LOG (its tail is shown when the build fails).
tmm_build_stock() {
	"$TORUSMM_TOP/scripts/fetch-stock-kernel.sh" >/dev/null
	tmm_sync_sources "$1"
	make -s -C "/lib/modules/$(tmm_stock_abi)/build" M="$1" modules >"$2" 2>&1 ||
		{ tail -n 20 "$2"; tmm_die "module build failed"; }
}

# The accelerator the test VMs use: kvm when /dev/kvm is usable, which
# needs both the device and the CPU's virtualisation extensions (some
# sandboxes offer a /dev/kvm that cannot run a guest); tcg otherwise, or
# when TORUSMM_ACCEL=tcg forces it.
tmm_accel() {
	if [ "${TORUSMM_ACCEL:-}" != tcg ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] &&
		grep -qwE 'vmx|svm' /proc/cpuinfo; then
		echo kvm
	else
		echo tcg
	fi
}

# tmm_lock FILE WHAT: hold an exclusive lock on FILE (on descriptor 9) until
# the script exits, saying so when WHAT has to wait for another holder.
tmm_lock() {
	mkdir -p "$(dirname "$1")"
	exec 9>"$1"
	if ! flock -n 9; then
		echo "torusmm: waiting for another $2" >&2
		flock 9
	fi
}
