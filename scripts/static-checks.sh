#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks of the torusmm sources, each counted as a pass or a fail:
# checkpatch.pl --strict on every C source and header, kernel-doc -none
# -Werror on the module sources and headers, the uapi header compiled on
# its own as C and C++ (64- and 32-bit) with -Wall -Werror, and a sparse
# (C=2) build of the modules against the debug kernel without a warning,
# and the ABI document checked against the header and the sources.
# Ends with "static checks: N passed, N failed".
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TORUSMM_TOP"

src=$(tmm_source_dir)
[ -f "$src/scripts/checkpatch.pl" ] ||
	tmm_die "$src missing: run scripts/build-test-kernel.sh first"
build=$TORUSMM_TOP/build
mkdir -p "$build"
passed=0
failed=0

pass() {
	passed=$((passed + 1))
	echo "PASS: $*"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL: $*"
}

# Files in the checkout (tracked, or new and not ignored) under the given
# path specs.
sources() {
	git ls-files --cached --others --exclude-standard -- "$@" |
		sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done
}

echo "--- checkpatch.pl --strict"
while read -r f; do
	out=$("$src/scripts/checkpatch.pl" --no-tree --strict --show-types \
		--quiet -f "$f" 2>&1) || true
	if [ -z "$out" ]; then
		pass "checkpatch $f"
	else
		fail "checkpatch $f"
		echo "$out" | sed 's/^/    /'
	fi
done < <(sources '*.c' '*.h' ':!:build/')

echo "--- kernel-doc -none -Werror"
while read -r f; do
	if out=$("$src/scripts/kernel-doc" -none -Werror "$f" 2>&1) &&
		[ -z "$out" ]; then
		pass "kernel-doc $f"
	else
		fail "kernel-doc $f"
		echo "$out" | sed 's/^/    /'
	fi
done < <(sources ':(glob)*.[ch]' ':(glob)kunit/*.[ch]' ':(glob)include/**/*.h')

echo "--- uapi header on its own in userspace"
tu=$(mktemp -d)
trap 'rm -rf "$tu"' EXIT
while read -r header; do
	name=${header#include/uapi/}
	printf '#include <%s>\n' "$name" >"$tu/t.c"
	cp "$tu/t.c" "$tu/t.cpp"
	for compiler in gcc g++; do
		file=$tu/t.c
		[ $compiler = gcc ] || file=$tu/t.cpp
		for bits in 64 32; do
			if out=$($compiler -m$bits -Wall -Wextra -Werror -fsyntax-only \
				-I include/uapi "$file" 2>&1); then
				pass "$name compiles alone with $compiler -m$bits -Wall -Wextra -Werror"
			else
				fail "$name compiles alone with $compiler -m$bits -Wall -Wextra -Werror"
				echo "$out" | sed 's/^/    /'
			fi
		done
	done
done < <(sources ':(glob)include/uapi/**/*.h')

echo "--- sparse (C=2) against the debug kernel"
kdir=$(tmm_debug_dir)
dir=$build/sparse
tmm_sync_sources "$dir"
log=$build/sparse.log
if ! make -C "$kdir" M="$dir" C=2 TORUSMM_TEST_HOOKS=1 modules >"$log" 2>&1; then
	fail "sparse build failed (see $log)"
	tail -n 20 "$log" | sed 's/^/    /'
elif grep -qE '(warning|error):' "$log"; then
	fail "sparse reports warnings"
	grep -E '(warning|error):' "$log" | sed 's/^/    /'
else
	pass "sparse: $(grep -c '^  CHECK' "$log") files checked, no warnings"
fi

echo "--- ABI document against the header and the sources"
if out=$(python3 scripts/check-abi-doc.py 2>&1); then
	pass "Documentation/torusmm-api.rst documents every ioctl, field and errno"
else
	fail "Documentation/torusmm-api.rst is out of step with the ABI"
	echo "$out" | sed 's/^/    /'
fi

echo "static checks: $passed passed, $failed failed"
