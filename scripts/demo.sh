#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The body of `make demo`: build the modules and the clients for Debian's
# own kernel, boot that kernel in QEMU, load torusmm, run the demo client,
# unload, and show what happened inside the VM.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TORUSMM_TOP"

# make check and make demo share build/: one at a time per checkout.
tmm_lock build/.lock "make check or make demo to finish with build/"

build=$TORUSMM_TOP/build
dir=$build/stock
log=$build/logs/vm-demo.log
mkdir -p "$build/logs"

abi=$(tmm_stock_abi)
echo "demo: building the modules for $abi in $dir"
tmm_build_stock "$dir" "$build/logs/build-demo.log"

clients=()
if [ -f clients/Makefile ]; then
	echo "demo: building the clients"
	make -s -C clients
	for client in clients/torusmm-demo clients/torusmmctl; do
		[ -x "$client" ] && clients+=(-a "$client=/$client")
	done
fi

plan=$build/plan-demo.sh
cat >"$plan" <<'EOF'
# Demo plan written by scripts/demo.sh; run by /init in the VM.
set -e
insmod /modules/torusmm_core.ko
insmod /modules/torusmm.ko
echo "\$ ls -l /dev/torusmm"
ls -l /dev/torusmm
if [ -x /clients/torusmm-demo ]; then
	echo "\$ torusmm-demo"
	/clients/torusmm-demo
else
	echo "(no clients/torusmm-demo yet: showing the module instead)"
	for param in /sys/module/torusmm/parameters/*; do
		echo "torusmm.${param##*/} = $(cat "$param")"
	done
	dmesg | grep -i torusmm || true
fi
rmmod torusmm
rmmod torusmm_core
echo "modules unloaded"
EOF
initrd=$build/initramfs-demo.cpio.gz
scripts/mkinitramfs.sh -o "$initrd" -p "$plan" \
	-m "$dir/torusmm_core.ko" -m "$dir/torusmm.ko" "${clients[@]}"

echo "demo: booting Debian's kernel $abi in QEMU (console log: $log)"
start=$(date +%s)
scripts/run-vm.sh -k stock -i "$initrd" -l "$log" -t 300 || true
echo "demo: the VM ran for $(($(date +%s) - start)) s; inside it:"
echo
tr -d '\r' <"$log" | sed -n '/TORUSMM-PLAN-BEGIN/,/TORUSMM-PLAN-END/p'
echo
scripts/check-log.py --label demo "$log" | grep -E '^demo: (PASS|FAIL)'
