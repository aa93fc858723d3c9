#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages that building, testing and demonstrating
# torusmm need.  With --if-missing, apt is only touched when at least one
# of them is not installed yet, so a repeated `make check` stays offline.
set -euo pipefail

packages=(
	linux-source-6.1 linux-headers-amd64
	qemu-system-x86 busybox-static
	sparse gcc-multilib g++-multilib libc6-dev-i386
	flex bison libelf-dev bc dwarves cpio kmod xz-utils rsync
	python3 perl make gcc
	dkms gnuplot-nox
)

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$pkg")
done

if [ "${1:-}" = --if-missing ] && [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
if [ ${#missing[@]} -gt 0 ]; then
	echo "torusmm: installing ${missing[*]}" >&2
fi
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${packages[@]}"
