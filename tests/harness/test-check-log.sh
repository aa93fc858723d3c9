#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Self-tests of the result checker, scripts/check-log.py: feed it console
# logs recorded from real debug VM runs (tests/harness/fixtures/) and
# require that each bad one is rejected for the right reason, and that the
# clean one passes (so the checker cannot simply always fail).
# Ends with "result checker self-tests: N passed, N failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/scripts/lib.sh"

fixtures=$top/tests/harness/fixtures
source_dir=$(tmm_source_dir)
kunit_py=$source_dir/tools/testing/kunit/kunit.py
passed=0
failed=0

# fixture|checker options|expected exit status|the reason it must give
# (an extended regex, matched against the checker's FAIL lines).
cases=(
	"clean.log|--expect-kunit --expect-free-pages|0|"
	"kunit-second-suite-fails.log|--expect-kunit|1|KUnit: 1 of 5 test cases failed: torusmm_pagetable\.pt_unmap_frees_empty_table$"
	"kunit-second-suite-fails-no-header.log|--expect-kunit|1|KUnit: 1 of 5 test cases failed: torusmm_pagetable\.pt_unmap_frees_empty_table$"
	"kasan.log||1|KASAN report: BUG: KASAN: use-after-free in "
	"lockdep.log||1|lockdep report: WARNING: possible circular locking dependency detected"
	"kmemleak.log||1|kmemleak report: kmemleak: 4 new suspected memory leaks"
	"no-end-marker.log||1|no TORUSMM-PLAN-END marker: the VM timed out, hung, panicked or died"
	"fault-injection-verbose.log||1|fault injection report \\(torusmm fault attrs must be verbose=0\\): FAULT_INJECTION: forcing a failure"
	"kselftest-fails.log|--expect-kunit --expect-free-pages|1|kselftest: /tests/32/failing_test: 1 of 2 failed: global\.brk_shrink_frees_pages$"
)

for entry in "${cases[@]}"; do
	IFS='|' read -r fixture options expected_status expected <<<"$entry"
	status=0
	# shellcheck disable=SC2086 # options are words
	out=$("$top/scripts/check-log.py" --label "$fixture" \
		--source-dir "$source_dir" $options "$fixtures/$fixture" 2>&1) ||
		status=$?
	reasons=$(echo "$out" | sed -n "s/^$fixture: FAIL: //p")
	if [ "$expected_status" -eq 0 ]; then
		if [ $status -eq 0 ]; then
			echo "PASS: check-log accepts $fixture"
			passed=$((passed + 1))
		else
			echo "FAIL: check-log rejects the clean $fixture (exit $status):"
			echo "$reasons" | sed 's/^/    /'
			failed=$((failed + 1))
		fi
	elif [ $status -eq "$expected_status" ] && echo "$reasons" | grep -qE "^$expected"; then
		echo "PASS: check-log rejects $fixture, saying why:"
		echo "$reasons" | sed 's/^/    /'
		passed=$((passed + 1))
	else
		echo "FAIL: check-log on $fixture: exit $status, expected $expected_status" \
			"with a reason matching \"$expected\"; it said:"
		echo "$out" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done

# Show the trap the checker avoids: given only the kernel's own output,
# kunit.py misreads the failing suite of the headerless log as passing.
section() {
	sed -n '/TORUSMM-KUNIT-BEGIN/,/TORUSMM-KUNIT-END/p' "$1" | tr -d '\r' |
		sed -n 's/^\[ *[0-9.]*\] //p' | grep -v 'TORUSMM-KUNIT-'
}
for fixture in kunit-second-suite-fails-no-header.log kunit-second-suite-fails.log; do
	verdict=$(section "$fixtures/$fixture" | python3 "$kunit_py" parse 2>&1 |
		grep -oE '\[(PASSED|FAILED)\] torusmm_pagetable' || true)
	echo "note: kunit.py parse alone on $fixture says: ${verdict:-nothing}"
done

echo "result checker self-tests: $passed passed, $failed failed"
