#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug test kernel from Debian's linux-source-6.1: allnoconfig
# plus scripts/debug-kernel.config.  The tree and the build are cached
# outside the checkout and rebuilt only when the source version or the
# fragment changes.  Prints the build directory on success.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

tarball=/usr/src/linux-source-6.1.tar.xz

# The cache is shared by every checkout on the machine: two builds into one
# tree would corrupt it, so a second caller waits for the first.
tmm_lock "$TORUSMM_CACHE/.build-test-kernel.lock" "debug kernel build to finish"
[ -r "$tarball" ] || tmm_die "$tarball missing: run 'make deps'"

src=$(tmm_source_dir)
if [ ! -f "$src/Makefile" ]; then
	echo "torusmm: unpacking $tarball into $src" >&2
	mkdir -p "$TORUSMM_CACHE/src"
	tmp=$(mktemp -d "$TORUSMM_CACHE/src/.unpack.XXXXXX")
	tar -C "$tmp" -xf "$tarball"
	mv "$tmp/linux-source-6.1" "$src"
	rmdir "$tmp"
fi

out=$(tmm_debug_dir)
stamp="$out/.torusmm-built"
if [ -f "$stamp" ] && [ -f "$out/arch/x86/boot/bzImage" ]; then
	echo "$out"
	exit 0
fi

fragment="$TORUSMM_TOP/scripts/debug-kernel.config"
mkdir -p "$out"
echo "torusmm: building the debug kernel in $out (minutes: 3.5 on 2 cores)" >&2
make -s -C "$src" O="$out" KCONFIG_ALLCONFIG="$fragment" allnoconfig >&2

missing=0
while read -r line; do
	case "$line" in ''|'#'*) continue ;; esac
	if ! grep -qxF "$line" "$out/.config"; then
		echo "torusmm: $line is not in the final .config" >&2
		missing=1
	fi
done <"$fragment"
[ $missing -eq 0 ] || tmm_die "config fragment not applied; see above"

jobs=$(($(nproc) + 1))
make -s -C "$src" O="$out" -j"$jobs" bzImage modules >&2
touch "$stamp"
echo "$out"
