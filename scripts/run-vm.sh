#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a test kernel in QEMU with an initramfs from mkinitramfs.sh and
# capture its serial console in a log file.  KVM when /dev/kvm is usable,
# TCG otherwise; a hard timeout ends a VM that hangs.  Before booting,
# every module in the initramfs must have been built for this kernel.
#
# usage: run-vm.sh -k debug|stock -i INITRD -l LOG [-t SECONDS] [-m MEM] [-s]
#   -m  the VM's memory, as QEMU's -m takes it (default 1G)
#   -s  also stream the console to stdout while the VM runs
# Exit status: QEMU's (0 after a clean power-off), 124 on timeout, 2 when
# a module's vermagic does not match the kernel.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

kind='' initrd='' log='' timeout_s=600 mem=1G stream=0
while getopts "k:i:l:t:m:s" opt; do
	case $opt in
	k) kind=$OPTARG ;;
	i) initrd=$OPTARG ;;
	l) log=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	m) mem=$OPTARG ;;
	s) stream=1 ;;
	*) tmm_die "usage: $0 -k debug|stock -i INITRD -l LOG [-t SECONDS] [-m MEM] [-s]" ;;
	esac
done
[ -n "$kind" ] && [ -f "$initrd" ] && [ -n "$log" ] ||
	tmm_die "usage: $0 -k debug|stock -i INITRD -l LOG [-t SECONDS] [-m MEM] [-s]"
initrd=$(realpath "$initrd")

# An Oops leaves the kernel unusable: panic, and so end the VM at once.
append="console=ttyS0 panic=-1 oops=panic printk.devkmsg=on"
case $kind in
debug)
	kdir=$(tmm_debug_dir)
	kernel=$kdir/arch/x86/boot/bzImage
	release=$(cat "$kdir/include/config/kernel.release")
	# Report every KASAN error, not only the first of the boot, and run
	# the KUnit suites of a module when it loads (off by default).
	append="$append kasan_multi_shot kunit.enable=1"
	;;
stock)
	release=$(tmm_stock_abi)
	kernel=$(tmm_stock_dir)/boot/vmlinuz-$release
	;;
*)
	tmm_die "unknown kernel kind '$kind' (debug or stock)"
	;;
esac
[ -f "$kernel" ] || tmm_die "$kernel missing: build or fetch the $kind kernel first"

# Two guests on a 2-core machine starve each other into timeouts: one VM at
# a time per machine, whichever checkout or script started it.
tmm_lock "$TORUSMM_CACHE/.vm.lock" "test VM to power off"

# A module built for one kernel is never loaded into the other.
kos=$(mktemp -d)
trap 'rm -rf "$kos"' EXIT
(cd "$kos" && zcat "$initrd" | cpio -idm --quiet '*.ko')
mismatch=0
while read -r ko; do
	magic=$(modinfo -F vermagic "$ko")
	if [ "${magic%% *}" != "$release" ]; then
		echo "torusmm: ${ko#"$kos"/} was built for '${magic%% *}'," \
			"not for the $kind kernel '$release'; refusing to boot" >&2
		mismatch=1
	fi
done < <(find "$kos" -name '*.ko')
[ $mismatch -eq 0 ] || exit 2

accel=(-accel tcg -cpu max)
[ "$(tmm_accel)" = tcg ] || accel=(-enable-kvm -cpu host)

out=/dev/null
[ $stream -eq 0 ] || out=/dev/stdout
rm -f "$log"
status=0
timeout -k 10 "$timeout_s" qemu-system-x86_64 "${accel[@]}" \
	-smp 2 -m "$mem" -nographic -no-reboot -nic none -monitor none \
	-chardev stdio,id=console,signal=on,logfile="$log" -serial chardev:console \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	</dev/null >"$out" || status=$?
if [ $status -eq 124 ]; then
	echo "torusmm: the $kind VM did not power off within ${timeout_s}s; killed" >&2
fi
exit $status
