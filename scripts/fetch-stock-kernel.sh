#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's own kernel image that matches the installed
# linux-headers-amd64 and unpack it (never install it) into the cache.
# Prints the path of the kernel image (vmlinuz) on success.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

abi=$(tmm_stock_abi)
[ -n "$abi" ] || tmm_die "linux-headers-amd64 is not installed: run 'make deps'"
[ -d "/lib/modules/$abi/build" ] ||
	tmm_die "/lib/modules/$abi/build missing: run 'make deps'"

out=$(tmm_stock_dir)
vmlinuz="$out/boot/vmlinuz-$abi"
if [ -f "$out/.torusmm-fetched" ] && [ -f "$vmlinuz" ]; then
	echo "$vmlinuz"
	exit 0
fi

pkg="linux-image-$abi-unsigned"
echo "torusmm: fetching $pkg into $out" >&2
mkdir -p "$TORUSMM_CACHE"
tmp=$(mktemp -d "$TORUSMM_CACHE/.stock.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# apt-get download needs the package lists; refresh them only when the
# package is unknown (a machine that just ran `make deps` has them).
if ! apt-cache show "$pkg" >/dev/null 2>&1; then
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update >&2
fi
# As root, apt would drop to the _apt user, who cannot write into a
# cache under /root; download as root instead of warning about it.
sandbox=()
[ "$(id -u)" -ne 0 ] || sandbox=(-o APT::Sandbox::User=root)
(cd "$tmp" && apt-get "${sandbox[@]}" download "$pkg" >&2)
deb=$(ls "$tmp"/*.deb)
mkdir -p "$tmp/root"
dpkg -x "$deb" "$tmp/root"
[ -f "$tmp/root/boot/vmlinuz-$abi" ] || tmm_die "$deb has no boot/vmlinuz-$abi"
# The VM boots an initramfs and loads only torusmm: keep the kernel image
# and its config, not the 400 MB of Debian's own modules.
find "$tmp/root" -mindepth 1 -maxdepth 1 ! -name boot -exec rm -rf {} +

rm -rf "$out"
mv "$tmp/root" "$out"
touch "$out/.torusmm-fetched"
echo "$vmlinuz"
