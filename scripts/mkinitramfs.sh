#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the initramfs of a test VM: busybox-static with its applet links,
# an /init that runs /plan.sh between two console markers and powers the
# VM off, the kernel modules, and any client or test binaries (with the
# shared libraries they need, 32-bit ones included).
#
# usage: mkinitramfs.sh -o OUT.cpio.gz -p PLAN.sh [-m MODULE.ko]...
#                       [-a SRC=DEST]...
#   -m  copy a module into /modules/ (keeping its file name)
#   -a  copy a file or a directory (recursively) to DEST in the VM
set -euo pipefail
source "$(dirname "$0")/lib.sh"

out='' plan=''
modules=() adds=()
while getopts "o:p:m:a:" opt; do
	case $opt in
	o) out=$OPTARG ;;
	p) plan=$OPTARG ;;
	m) modules+=("$OPTARG") ;;
	a) adds+=("$OPTARG") ;;
	*) tmm_die "usage: $0 -o OUT -p PLAN [-m KO]... [-a SRC=DEST]..." ;;
	esac
done
[ -n "$out" ] && [ -n "$plan" ] || tmm_die "usage: $0 -o OUT -p PLAN [-m KO]... [-a SRC=DEST]..."
out=$(realpath "$out")
[ -x /bin/busybox ] || tmm_die "/bin/busybox missing: run 'make deps'"
readelf -l /bin/busybox | grep -q INTERP &&
	tmm_die "/bin/busybox is not static: install busybox-static"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,modules}

cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

cat >"$root/init" <<'INIT'
#!/bin/sh
# Mount the pseudo file systems, run the test plan, report and power off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug
echo "TORUSMM-PLAN-BEGIN $(uname -r)"
sh /plan.sh
rc=$?
echo "TORUSMM-PLAN-END rc=$rc"
poweroff -f
INIT
chmod 0755 "$root/init"

# Free, slab and per-CPU-list pages after dropping caches, as the plans
# report them in TORUSMM-FREE-PAGES lines (see scripts/check-log.py).
cat >"$root/bin/tmm-free-pages" <<'HELPER'
#!/bin/sh
sync
echo 3 >/proc/sys/vm/drop_caches
awk '$1 == "nr_free_pages" { free = $2 }
	$1 ~ /^nr_slab_/ { slab += $2 }
	END { printf "%d slab=%d", free, slab }' /proc/vmstat
awk '$1 == "count:" { pcp += $2 } END { print " pcp=" pcp }' /proc/zoneinfo
HELPER
chmod 0755 "$root/bin/tmm-free-pages"
install -m 0755 "$plan" "$root/plan.sh"

for ko in "${modules[@]}"; do
	[ -f "$ko" ] || tmm_die "module $ko missing"
	install -m 0644 "$ko" "$root/modules/"
done

# Copy the shared libraries (and the loader) an ELF executable needs, so
# that dynamically linked 64-bit and 32-bit binaries run in the VM.
copy_libs() {
	local lib
	readelf -l "$1" 2>/dev/null | grep -q INTERP || return 0
	for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

for pair in "${adds[@]}"; do
	src=${pair%%=*}
	dest=${pair#*=}
	[ -e "$src" ] || tmm_die "$src missing"
	mkdir -p "$root$(dirname "$dest")"
	cp -a "$src" "$root$dest"
	while read -r exe; do
		copy_libs "$exe"
	done < <(find "$root$dest" -type f -perm -u+x)
done

(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out"
