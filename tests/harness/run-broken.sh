#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Expected-failure runs: build the deliberately broken module against the
# debug kernel, boot the debug VM once per bug, and require that
# scripts/check-log.py rejects each run for the right reason.  A run that
# is rejected for that reason counts as a pass ("caught"); a run that
# passes, or fails for another reason only, counts as a fail.
# Ends with "expected-failure runs: N passed, N failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/scripts/lib.sh"

build=$top/build/broken
logs=$top/build/logs
mkdir -p "$logs"
passed=0
failed=0

# bug|the reason check-log.py must give for it (an extended regex).
cases=(
	"uaf|KASAN report: BUG: KASAN: use-after-free in tmm_broken_use_after_free"
	"leak|kmemleak report: kmemleak: [0-9]+ new suspected memory leaks"
	"lockorder|lockdep report: WARNING: possible circular locking dependency"
	"ubsan|UBSAN report: UBSAN: shift-out-of-bounds in .*torusmm_broken"
	"pageleak|free pages: [0-9]+ fewer free pages after unloading"
)

kdir=$(tmm_debug_dir)
rm -rf "$build"
mkdir -p "$build"
cp "$top/tests/harness/broken/Kbuild" "$top/tests/harness/broken/torusmm_broken.c" "$build/"
if ! make -C "$kdir" M="$build" modules >"$logs/build-broken.log" 2>&1; then
	tail -n 20 "$logs/build-broken.log"
	echo "FAIL: the broken module did not build (see $logs/build-broken.log)"
	echo "expected-failure runs: 0 passed, ${#cases[@]} failed"
	exit 1
fi

for entry in "${cases[@]}"; do
	bug=${entry%%|*}
	expected=${entry#*|}
	label="EXPECTED-FAILURE run (broken module, bug=$bug)"
	plan=$build/plan-$bug.sh
	log=$logs/expected-failure-$bug.log
	{
		echo 'echo "TORUSMM-FREE-PAGES start=$(tmm-free-pages)"'
		echo "insmod /modules/torusmm_broken.ko bug=$bug || exit 1"
		echo "rmmod torusmm_broken || exit 1"
		if [ "$bug" = leak ]; then
			echo "echo scan >/sys/kernel/debug/kmemleak"
			echo "sleep 6"
			echo "echo scan >/sys/kernel/debug/kmemleak"
			echo "cat /sys/kernel/debug/kmemleak"
		fi
		echo 'echo "TORUSMM-FREE-PAGES end=$(tmm-free-pages)"'
	} >"$plan"
	if ! "$top/scripts/mkinitramfs.sh" -o "$build/initramfs-$bug.cpio.gz" \
		-p "$plan" -m "$build/torusmm_broken.ko"; then
		echo "FAIL: $label: could not build its initramfs"
		failed=$((failed + 1))
		continue
	fi
	"$top/scripts/run-vm.sh" -k debug -i "$build/initramfs-$bug.cpio.gz" \
		-l "$log" -t 300 || true
	status=0
	verdict=$("$top/scripts/check-log.py" --label "$label" \
		--source-dir "$(tmm_source_dir)" --expect-free-pages "$log") ||
		status=$?
	echo "$verdict" | grep ': FAIL: ' | sed 's/^/    /' || true
	if [ $status -eq 1 ] && echo "$verdict" | grep -qE ": FAIL: $expected"; then
		echo "PASS: $label: caught: ${expected%%:*}"
		passed=$((passed + 1))
	else
		echo "FAIL: $label: NOT caught: check-log.py exited $status without \"$expected\" (see $log)"
		failed=$((failed + 1))
	fi
done
echo "expected-failure runs: $passed passed, $failed failed"
