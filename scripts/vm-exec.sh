#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run commands in a test VM with the modules loaded: the quick loop of a
# developer, between two `make check` runs.  Builds the modules for the
# kernel (no W=1), the clients and the selftests, boots, loads torusmm with
# the given parameters, runs the commands with /tests, /clients and the
# files of -a in the VM, unloads, and judges the log as make check does.
#
# usage: vm-exec.sh [-k debug|stock] [-p "PARAMS"] [-t SECONDS]
#                   [-a SRC=DEST]... -- COMMAND...
#   -k  the kernel (default debug)
#   -p  parameters of torusmm.ko ("nr_tori=2 torus_mb=64")
#   -a  copy a file or directory into the VM
# Example: scripts/vm-exec.sh -- /tests/64/torusmm_api_test
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TORUSMM_TOP"

kind=debug params='' timeout_s=600
adds=()
while getopts "k:p:t:a:" opt; do
	case $opt in
	k) kind=$OPTARG ;;
	p) params=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	a) adds+=(-a "$OPTARG") ;;
	*) tmm_die "usage: $0 [-k debug|stock] [-p PARAMS] [-t S] [-a SRC=DEST]... -- CMD..." ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || tmm_die "usage: $0 [-k debug|stock] [-p PARAMS] [-t S] [-a SRC=DEST]... -- CMD..."

# Each run has a directory of its own: several may be waiting for the VM.
build=$TORUSMM_TOP/build
mkdir -p "$build/logs"
run=$(mktemp -d "$build/quick-$kind.XXXXXX")
trap 'rm -rf "$run"' EXIT
dir=$run/modules
log=$build/logs/$(basename "$run").log
case $kind in
debug) kdir=$(scripts/build-test-kernel.sh) ;;
stock) scripts/fetch-stock-kernel.sh >/dev/null; kdir=/lib/modules/$(tmm_stock_abi)/build ;;
*) tmm_die "unknown kernel kind '$kind'" ;;
esac

tmm_sync_sources "$dir"
make -s -C "$kdir" M="$dir" TORUSMM_TEST_HOOKS=1 modules >"$run/build.log" 2>&1 ||
	{ tail -n 30 "$run/build.log"; tmm_die "module build failed"; }
# Someone else's test being written must not stop yours: go on without it.
make -s -k -C clients >/dev/null || echo "vm-exec: some clients did not build" >&2
make -s -k -C tests KSFT_DIR="$(tmm_source_dir)/tools/testing/selftests" \
	>/dev/null || echo "vm-exec: some tests did not build" >&2

plan=$run/plan.sh
{
	echo "# Plan written by scripts/vm-exec.sh."
	echo "insmod /modules/torusmm_core.ko || exit 1"
	echo "insmod /modules/torusmm.ko $params || exit 1"
	echo "export TORUSMM_TEST_HOOKS=1"
	echo "rc=0"
	printf '%q ' "$@"
	echo ' || rc=$?'
	echo 'echo "vm-exec: command exit status $rc"'
	echo "rmmod torusmm; rmmod torusmm_core"
	echo 'exit $rc'
} >"$plan"
initrd=$run/initramfs.cpio.gz
clients=()
for client in clients/torusmm-*; do
	[ -x "$client" ] && [ -f "$client" ] && clients+=(-a "$client=/$client")
done
scripts/mkinitramfs.sh -o "$initrd" -p "$plan" \
	-m "$dir/torusmm_core.ko" -m "$dir/torusmm.ko" \
	-a tests/out=/tests "${clients[@]}" "${adds[@]}"
scripts/run-vm.sh -k "$kind" -i "$initrd" -l "$log" -t "$timeout_s" -s || true
echo "vm-exec: console log in $log"
scripts/check-log.py --label "vm-exec $kind" "$log"
