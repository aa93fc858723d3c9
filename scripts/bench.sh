#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The body of `make bench`: build the modules and clients/torusmm-bench for
# Debian's own kernel, boot that kernel in QEMU with a 1 GiB torus, run the
# benchmark, and turn what it printed between its markers into the table on
# stdout, build/bench/bench.csv and gnuplot plots in build/bench/.
#
# usage: bench.sh [-n REPS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TORUSMM_TOP"

reps=5
while getopts "n:" opt; do
	case $opt in
	n) reps=$OPTARG ;;
	*) tmm_die "usage: $0 [-n REPS]" ;;
	esac
done
[[ $reps =~ ^[0-9]+$ ]] && [ "$reps" -ge 1 ] && [ "$reps" -le 101 ] ||
	tmm_die "REPS must be 1 to 101, not '$reps'"

# make check, make demo and make bench share build/stock: one at a time.
tmm_lock build/.lock "make check, demo or bench to finish with build/"

build=$TORUSMM_TOP/build
dir=$build/stock
out=$build/bench
log=$build/logs/vm-bench.log
mkdir -p "$build/logs" "$out"
start=$(date +%s)

abi=$(tmm_stock_abi)
echo "bench: building the modules for $abi and clients/torusmm-bench"
tmm_build_stock "$dir" "$build/logs/build-bench.log"
make -s -C clients torusmm-bench

# 4 KiB pages on the native side too, as in a torus.
plan=$build/plan-bench.sh
cat >"$plan" <<PLAN
# Bench plan written by scripts/bench.sh; run by /init in the VM.
set -e
dmesg -n 1
insmod /modules/torusmm_core.ko
insmod /modules/torusmm.ko torus_mb=1024
echo never >/sys/kernel/mm/transparent_hugepage/enabled
echo "bench-vm: \$(nproc) CPUs, \$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
rc=0
/clients/torusmm-bench -n $reps || rc=\$?
rmmod torusmm
rmmod torusmm_core
echo "bench-vm: up for \$(cut -d. -f1 /proc/uptime) s"
exit \$rc
PLAN
initrd=$build/initramfs-bench.cpio.gz
scripts/mkinitramfs.sh -o "$initrd" -p "$plan" \
	-m "$dir/torusmm_core.ko" -m "$dir/torusmm.ko" \
	-a clients/torusmm-bench=/clients/torusmm-bench

echo "bench: booting Debian's kernel $abi in QEMU ($(tmm_accel), 2 CPUs, 2560 MiB), $reps repetitions"
echo "bench: console log in $log"
vm_start=$(date +%s)
status=0
scripts/run-vm.sh -k stock -m 2560M -i "$initrd" -l "$log" -t 900 || status=$?
vm_time=$(($(date +%s) - vm_start))

# Kernel messages (timestamped) never belong to the client's output.
tr -d '\r' <"$log" | grep -v '^\[ *[0-9]*\.[0-9]*\]' >"$out/console.log" || true
# Progress and diagnostics of the client, then the table.
grep -E '^(bench-vm|torusmm-bench):' "$out/console.log" || true
echo
sed -n '/^TORUSMM-BENCH-TABLE-BEGIN$/,/^TORUSMM-BENCH-TABLE-END$/p' "$out/console.log" |
	sed '1d;$d' >"$out/table.txt"
sed -n '/^TORUSMM-BENCH-CSV-BEGIN$/,/^TORUSMM-BENCH-CSV-END$/p' "$out/console.log" |
	sed '1d;$d' >"$out/bench.csv"
if [ ! -s "$out/table.txt" ] || [ ! -s "$out/bench.csv" ]; then
	tail -n 30 "$out/console.log"
	tmm_die "no table in the VM's log (QEMU exit status $status): see $log"
fi
cat "$out/table.txt"
echo
echo "ratio = torusmm time / native time for the same work (MiB/s rows: native MiB/s /"
echo "torusmm MiB/s); above 1, torusmm is slower.  Medians of $reps, (min-max)."
echo "The 95%-full row's native column is the same populate on an empty torus."

# The series behind the plots, one file each (the CSV has no quoted commas).
series() {
	awk -F, -v s="$1" 'NR > 1 && $2 == s && $7 != "" {
		print $3, $7, $8, $9, $10, $11, $12 }' "$out/bench.csv" >"$out/$1.dat"
}
for s in populate munmap fault-write fault-shadow; do
	series "$s"
done
awk -F, 'NR > 1 && $2 == "copy" && $7 != "" {
	sub(/ vs /, " / ", $4); print $4 "\t" $7 "\t" $10 }' "$out/bench.csv" >"$out/copy.dat"
awk -F, 'NR > 1 && $1 == 1 && $13 != "" { print $4 "\t" $13 }' \
	"$out/bench.csv" >"$out/ratios.dat"
copy_mib=$(awk -F, '$2 == "copy" { print $3; exit }' "$out/bench.csv")
gnuplot -e "dir='$out'; reps='$reps'; copy_mib='${copy_mib:-?}'" scripts/bench-plot.gp
echo
echo "bench: CSV and plots in $out/:"
(cd "$out" && ls -1 bench.csv ./*.png | sed 's|^\./||; s|^|  |')
uptime=$(sed -n 's/^bench-vm: up for \([0-9]*\) s$/\1/p' "$out/console.log")
echo "bench: the VM was up for ${uptime:-?} s of the ${vm_time} s run-vm.sh took" \
	"(the rest: QEMU's start and waiting for other VMs);" \
	"make bench took $(($(date +%s) - start)) s"
# The checker's verdict and its reasons; a bench runs no KUnit or selftest.
scripts/check-log.py --label bench "$log" | grep -v 'KUnit cases' || status=1
exit $status
