#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The body of `make check`: build the test kernels, build the modules
# against both with W=1, run the static checks, build the userspace
# clients and tests, test the result checker, install the modules with
# make install and DKMS into scratch trees, run the KUnit suites and the
# kselftests in the debug VM and the kselftests in the stock VM (which also
# modprobes the installed modules), load and unload twice and look for
# leaks, and prove with a deliberately broken module that each kind of bug
# is caught.  Every step prints a heading and PASS/FAIL lines, and goes on
# after a failure where that makes sense.
#
# The last line, "check: N passed, N failed", counts KUnit cases, kselftest
# cases, result-checker self-tests, expected-failure runs and static
# checks, plus one check per kernel, per build and per VM run (the run's
# own verdict: plan finished, no splat, no leak).  Exit status: 0 only if
# nothing failed.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TORUSMM_TOP"

# make check and make demo share build/: one at a time per checkout.
tmm_lock build/.lock "make check or make demo to finish with build/"

build=$TORUSMM_TOP/build
logs=$build/logs
mkdir -p "$logs"
started=$(date +%s)
passed=0
failed=0
failures=()

heading() {
	printf '\n=== %s\n' "$*"
}

pass() {
	passed=$((passed + 1))
	echo "PASS: $1"
}

fail() {
	failed=$((failed + 1))
	failures+=("$1")
	echo "FAIL: $1"
}

# Add the "NAME: N passed, N failed" line of a sub-script to the totals.
add_counts() {
	local line
	line=$(grep -E '^[a-z -]+: [0-9]+ passed, [0-9]+ failed$' "$1" | tail -n 1) || true
	if [ -z "$line" ]; then
		fail "$2: no result line (the script died; see $1)"
		return
	fi
	line=${line#*: }
	passed=$((passed + ${line%% passed*}))
	line=${line#*passed, }
	failed=$((failed + ${line%% failed*}))
	[ "${line%% failed*}" -eq 0 ] || failures+=("$2")
}

finish() {
	local f
	heading "Summary ($(($(date +%s) - started)) s; logs in $logs)"
	for f in "${failures[@]}"; do
		echo "failed: $f"
	done
	echo "check: $passed passed, $failed failed"
	[ "$failed" -ne 0 ] || exit 0
	exit 1
}

heading "1. Test kernels"
if debug_kdir=$(scripts/build-test-kernel.sh); then
	pass "debug kernel $(cat "$debug_kdir/include/config/kernel.release") in $debug_kdir"
else
	fail "debug kernel build (scripts/build-test-kernel.sh)"
	finish
fi
if stock_image=$(scripts/fetch-stock-kernel.sh); then
	pass "stock kernel $stock_image"
else
	fail "stock kernel fetch (scripts/fetch-stock-kernel.sh)"
	finish
fi
stock_kdir=/lib/modules/$(tmm_stock_abi)/build
source_dir=$(tmm_source_dir)

# build_modules NAME KDIR DIR [VAR=VALUE...]: a fresh W=1 build, which fails
# on any warning.
build_modules() {
	local name=$1 kdir=$2 dir=$3 log=$logs/build-$1.log
	shift 3
	tmm_sync_sources "$dir"
	if ! make -C "$kdir" M="$dir" W=1 "$@" modules >"$log" 2>&1; then
		fail "$name modules build (see $log)"
		tail -n 20 "$log"
		return 1
	fi
	if grep -q 'warning:' "$log"; then
		fail "$name modules build has warnings (W=1):"
		grep 'warning:' "$log"
		return 1
	fi
	pass "$name modules: $(cd "$dir" && find . -name '*.ko' | sort | tr '\n' ' ')(W=1, no warnings)"
}

heading "2. Modules (W=1, zero warnings)"
debug_ok=0 stock_ok=0
# The KUnit suites are linked into a second build of the core, loaded once.
build_modules debug "$debug_kdir" "$build/debug" TORUSMM_TEST_HOOKS=1 && debug_ok=1
build_modules debug-kunit "$debug_kdir" "$build/debug-kunit" TORUSMM_KUNIT=1 \
	TORUSMM_TEST_HOOKS=1 ||
	debug_ok=0
build_modules stock "$stock_kdir" "$build/stock" TORUSMM_TEST_HOOKS=1 && stock_ok=1

heading "3. Static checks"
scripts/static-checks.sh 2>&1 | tee "$logs/static-checks.log" || true
add_counts "$logs/static-checks.log" "static checks"

heading "4. Userspace clients and tests"
for part in clients tests; do
	if [ ! -f "$part/Makefile" ]; then
		echo "note: $part/Makefile does not exist yet: nothing to build"
		continue
	fi
	args=()
	[ "$part" = clients ] || args=(KSFT_DIR="$source_dir/tools/testing/selftests")
	if make -C "$part" "${args[@]}" >"$logs/build-$part.log" 2>&1; then
		pass "make -C $part"
	else
		fail "make -C $part (see $logs/build-$part.log)"
		tail -n 20 "$logs/build-$part.log"
	fi
done
test_dirs=()
nr_tests=0
for bits in 64 32; do
	dir=tests/out/$bits
	[ -d "$dir" ] || continue
	n=$(find "$dir" -maxdepth 1 -type f -perm -u+x | wc -l)
	nr_tests=$((nr_tests + n))
	test_dirs+=(-a "$dir=/tests/$bits")
done
clients=()
for client in clients/torusmm-demo clients/torusmmctl clients/torusmm-migrate; do
	[ -x "$client" ] && clients+=(-a "$client=/$client")
done
echo "test executables: $nr_tests (tests/out/64 and tests/out/32)"
[ "$nr_tests" -gt 0 ] || echo "note: no test executables yet: zero kselftests will run"
# The model-checking fuzzer, a bounded run in the debug VM: not a selftest,
# so it lives in tests/out/fuzz, which the plans do not run.  The seed is
# picked here and printed: make fuzz SEED=... OPS=... replays the run.
fuzz_dirs=()
[ -x tests/out/fuzz/torusmm_fuzz ] && fuzz_dirs+=(-a tests/out/fuzz=/fuzz)
fuzz_seed=${TORUSMM_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
fuzz_ops=${TORUSMM_FUZZ_OPS:-25000}
echo "fuzzer: seed $fuzz_seed, $fuzz_ops ops in the debug VM (make fuzz SEED=$fuzz_seed OPS=$fuzz_ops replays it)"

heading "5. Result checker self-tests"
tests/harness/test-check-log.sh 2>&1 | tee "$logs/test-check-log.log" || true
add_counts "$logs/test-check-log.log" "result checker self-tests"

# The stock kernel's release, and the root `make install` installs into:
# the stock VM loads torusmm from its /lib/modules/<release> with modprobe.
stock_release=$(tmm_stock_abi)
install_root=$build/install-root
installed=0

# installed_tree LABEL ROOT SUBDIR: both modules are in SUBDIR of ROOT's
# /lib/modules/<stock release>, built for that kernel, and its modules.dep
# makes modprobe load the core before torusmm.
installed_tree() {
	local label=$1 root=$2 sub=$3 lib magic m got want
	lib=$2/lib/modules/$stock_release
	for m in torusmm_core torusmm; do
		if [ ! -f "$lib/$sub/$m.ko" ]; then
			fail "$label: no $m.ko in $lib/$sub"
			return 1
		fi
		magic=$(modinfo -F vermagic "$lib/$sub/$m.ko")
		if [ "${magic%% *}" != "$stock_release" ]; then
			fail "$label: $sub/$m.ko has vermagic '${magic%% *}', not $stock_release"
			return 1
		fi
	done
	want="insmod $lib/$sub/torusmm_core.ko insmod $lib/$sub/torusmm.ko"
	got=$(modprobe -C /dev/null -d "$root" -S "$stock_release" --show-depends \
		torusmm 2>&1 | sed 's/ *$//' | paste -sd ' ') || true
	if [ "$got" != "$want" ]; then
		fail "$label: modprobe --show-depends torusmm in $root says '$got', not the core then torusmm"
		return 1
	fi
}

# make install as a packager runs it, from a copy of the tree: built for the
# stock kernel, installed under INSTALL_MOD_PATH, depmod run on that root.
make_install() {
	local dir=$build/install log=$logs/make-install.log
	# depmod and modprobe live in /usr/sbin, which a user's PATH may lack.
	local PATH=$PATH:/usr/sbin:/sbin
	tmm_sync_sources "$dir"
	cp Makefile "$dir/"
	rm -rf "$install_root"
	if ! make -j2 -C "$dir" KDIR="$stock_kdir" INSTALL_MOD_PATH="$install_root" \
		install >"$log" 2>&1; then
		fail "make install KDIR=$stock_kdir INSTALL_MOD_PATH=$install_root (see $log)"
		tail -n 20 "$log"
		return
	fi
	installed_tree "make install" "$install_root" extra || return 0
	installed=1
	pass "make install: extra/torusmm_core.ko, extra/torusmm.ko for $stock_release in $install_root, modules.dep loads the core first"
}

# DKMS with the tree's dkms.conf, against Debian's installed headers, in
# scratch trees under build/dkms.  DKMS signs what it builds with a key it
# makes in /var/lib/dkms unless told another (mok_signing_key in the
# environment), and runs depmod on the real /lib/modules/<release> unless
# --no-depmod.  dkms install and autoinstall want root, whatever
# --installtree says; a user who is not root gets add, build and remove.
dkms_package() {
	local ver top=$build/dkms log=$logs/dkms.log m magic built
	local PATH=$PATH:/usr/sbin:/sbin
	ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
	if [ -z "$ver" ]; then
		fail "dkms.conf has no PACKAGE_VERSION"
		return
	fi
	rm -rf "$top" "$log"
	mkdir -p "$top/usr/src" "$top/var/lib/dkms" "$top/lib/modules/$stock_release" "$top/tmp"
	tmm_sync_sources "$top/usr/src/torusmm-$ver"
	cp dkms.conf "$top/usr/src/torusmm-$ver/"
	built=$top/var/lib/dkms/torusmm/$ver/$stock_release/$(uname -m)/module

	# run_dkms ACTION ARGS...: dkms on the scratch trees, logged; a failure
	# is reported with the log's tail.
	run_dkms() {
		echo "+ dkms $*" >>"$log"
		if env mok_signing_key="$top/mok.key" mok_certificate="$top/mok.pub" \
			TMPDIR="$top/tmp" dkms "$@" --dkmstree "$top/var/lib/dkms" \
			--sourcetree "$top/usr/src" --installtree "$top/lib/modules" \
			>>"$log" 2>&1; then
			return 0
		fi
		fail "dkms $* (see $log)"
		tail -n 20 "$log"
		return 1
	}
	# removed: dkms remove --all took torusmm out of both scratch trees.
	removed() {
		run_dkms remove "torusmm/$ver" --all --no-depmod || return 1
		if [ -e "$top/var/lib/dkms/torusmm" ] ||
			[ -n "$(find "$top/lib/modules" -name 'torusmm*.ko')" ]; then
			fail "dkms remove torusmm/$ver --all left torusmm in $top"
			return 1
		fi
	}
	# dkms_installed: the modules DKMS installed, for the stock kernel, and
	# a depmod of the scratch root that loads the core first.
	dkms_installed() {
		depmod -b "$top" -a "$stock_release" >>"$log" 2>&1 ||
			{ fail "depmod -b $top (see $log)"; return 1; }
		installed_tree "$1" "$top" updates/dkms
	}

	run_dkms add "torusmm/$ver" -k "$stock_release" &&
		run_dkms build "torusmm/$ver" -k "$stock_release" -j 2 || return 0
	for m in torusmm_core torusmm; do
		magic=$(modinfo -F vermagic "$built/$m.ko" 2>/dev/null) || magic=''
		if [ "${magic%% *}" != "$stock_release" ]; then
			fail "dkms build: $built/$m.ko missing or built for '${magic%% *}', not $stock_release"
			return
		fi
	done
	pass "dkms add, dkms build torusmm/$ver -k $stock_release: torusmm_core.ko, torusmm.ko with its vermagic"
	if [ "$(id -u)" -ne 0 ]; then
		echo "note: dkms install and autoinstall need root (dkms checks the user id even with --installtree): not run"
	elif run_dkms install "torusmm/$ver" -k "$stock_release" --no-depmod &&
		dkms_installed "dkms install"; then
		pass "dkms install torusmm/$ver -k $stock_release: updates/dkms/torusmm_core.ko, torusmm.ko, modules.dep loads the core first"
	fi
	removed || return 0
	pass "dkms remove torusmm/$ver --all: nothing of torusmm left in the scratch trees"
	[ "$(id -u)" -eq 0 ] || return 0
	# What the kernel packages' hooks run for a new kernel: AUTOINSTALL=yes
	# has torusmm built and installed for it.
	if run_dkms add "torusmm/$ver" &&
		run_dkms autoinstall -k "$stock_release" --no-depmod &&
		dkms_installed "dkms autoinstall" && removed; then
		pass "dkms autoinstall -k $stock_release: AUTOINSTALL built and installed torusmm/$ver"
	fi
}

# What the host's own DKMS, source and module trees hold: none of the above
# may change them.
host_trees() {
	find /var/lib/dkms /usr/src /lib/modules -xdev -printf '%p %s %T@ %y\n' \
		2>/dev/null | sort | sha256sum
}

heading "6. Install: make install and DKMS, into scratch trees"
host_before=$(host_trees)
make_install
dkms_package
if [ "$(host_trees)" = "$host_before" ]; then
	pass "the host's /var/lib/dkms, /usr/src and /lib/modules are as they were"
else
	fail "the host's /var/lib/dkms, /usr/src or /lib/modules changed during the install step"
fi

# write_plan KIND NR_SUITES [MODPROBE]: the test plan /init runs in the VM;
# with MODPROBE=1, modprobe loads and removes torusmm from /lib/modules.
write_plan() {
	local kind=$1 nr_suites=$2 modprobe=${3:-0}
	cat <<'EOF'
# Test plan written by scripts/check.sh; run by /init in the test VM.
fail=0
run() {
	"$@" || { echo "TORUSMM-STEP-FAILED rc=$? $*"; fail=1; }
}
load() {
	run insmod /modules/torusmm_core.ko
	run insmod /modules/torusmm.ko
}
unload() {
	run rmmod torusmm
	run rmmod torusmm_core
}
echo "TORUSMM-FREE-PAGES start=$(tmm-free-pages)"
# The modules are a test build (TORUSMM_TEST_HOOKS=1): tests that need its
# park points fail, rather than skip, when they are missing.
export TORUSMM_TEST_HOOKS=1
EOF
	if [ "$kind" = debug ]; then
		cat <<EOF
# Suites loaded from a module print no top-level KTAP header; give them
# one, or kunit.py misreads their results (see scripts/check-log.py).  The
# suites are linked into a build of the core of their own and run as it loads.
echo TORUSMM-KUNIT-BEGIN >/dev/kmsg
echo "KTAP version 1" >/dev/kmsg
echo "1..$nr_suites" >/dev/kmsg
run insmod /modules/kunit/torusmm_core.ko
echo TORUSMM-KUNIT-END >/dev/kmsg
run rmmod torusmm_core
EOF
	fi
	cat <<'EOF'
load
ls -l /dev/torusmm
selftest() {
	echo "TORUSMM-TEST-BEGIN $1"
	timeout -s KILL 300 "$1" >/tmp/test.out 2>&1
	rc=$?
	cat /tmp/test.out
	rm -f /tmp/test.out
	echo "TORUSMM-TEST-END $1 rc=$rc"
}
for test in /tests/64/* /tests/32/*; do
	[ -f "$test" ] && [ -x "$test" ] || continue
	case $test in *_kill_test) continue ;; esac
	selftest "$test"
done
# A pre-copy live migration under a writer, and a working-set estimate:
# both must come out byte for byte and page for page.
[ ! -x /clients/torusmm-migrate ] || run /clients/torusmm-migrate
unload
# SIGKILL during long operations, on the largest torus the VM fits (3/4 of
# what is available): long enough that an operation that ignored the
# signal would show.
run insmod /modules/torusmm_core.ko
mb=$(( $(awk '/MemAvailable/ { print $2 }' /proc/meminfo) / 1024 * 3 / 4 ))
run insmod /modules/torusmm.ko torus_mb=$mb
echo "kill tests: one torus of $mb MiB"
for test in /tests/64/*_kill_test /tests/32/*_kill_test; do
	[ -f "$test" ] && [ -x "$test" ] && selftest "$test"
done
unload
for round in 1 2; do
	load
	unload
done
# Parameters out of range, and tori the host cannot spare, fail the load
# cleanly (the free-pages check at the end proves nothing stays reserved);
# two tori load and both show up.
refuse() {
	if insmod /modules/torusmm.ko "$@"; then
		echo "TORUSMM-STEP-FAILED insmod torusmm.ko $* was accepted"
		fail=1
		rmmod torusmm
	else
		echo "insmod torusmm.ko $*: refused, as it must be"
	fi
}
run insmod /modules/torusmm_core.ko
refuse nr_tori=0
refuse nr_tori=17
refuse torus_mb=15
refuse torus_mb=4096
refuse nr_tori=16 torus_mb=4095
run insmod /modules/torusmm.ko nr_tori=2 torus_mb=32
if [ -x /clients/torusmmctl ]; then
	/clients/torusmmctl info >/tmp/info.out 2>&1
	cat /tmp/info.out
	grep -q "^torus 1: 8192 frames" /tmp/info.out ||
		{ echo "TORUSMM-STEP-FAILED two tori of 32 MiB not reported"; fail=1; }
fi
unload
EOF
	if [ "$modprobe" = 1 ]; then
		cat <<'EOF'
# The modules as make install put them in /lib/modules/$(uname -r), with
# depmod's modules.dep: modprobe loads the core first, and modprobe -r
# takes both away.
echo "modprobe torusmm from /lib/modules/$(uname -r):"
run modprobe torusmm
grep -E '^torusmm(_core)? ' /proc/modules
for m in torusmm_core torusmm; do
	grep -q "^$m " /proc/modules ||
		{ echo "TORUSMM-STEP-FAILED rc=1 modprobe torusmm did not load $m"; fail=1; }
done
[ -c /dev/torusmm ] ||
	{ echo "TORUSMM-STEP-FAILED rc=1 modprobe torusmm: no /dev/torusmm"; fail=1; }
run modprobe -r torusmm
for m in torusmm_core torusmm; do
	! grep -q "^$m " /proc/modules ||
		{ echo "TORUSMM-STEP-FAILED rc=1 modprobe -r torusmm left $m loaded"; fail=1; }
done
echo "modprobe -r torusmm: $(grep -c '^torusmm' /proc/modules) torusmm modules left"
EOF
	fi
	if [ "$kind" = debug ]; then
		cat <<EOF
# The fuzzer, with two tori so that TORUSMM_TORUS_ANY has a choice; its
# verdict is its summary line and exit status (scripts/check.sh reads both).
if [ -x /fuzz/torusmm_fuzz ]; then
	run insmod /modules/torusmm_core.ko
	run insmod /modules/torusmm.ko nr_tori=2
	/fuzz/torusmm_fuzz --seed $fuzz_seed --ops $fuzz_ops
	echo "TORUSMM-FUZZ-END rc=\$?"
	unload
fi
EOF
		cat <<'EOF'
# kmemleak ignores objects younger than 5 s; scan twice to settle.
echo scan >/sys/kernel/debug/kmemleak
sleep 6
echo scan >/sys/kernel/debug/kmemleak
cat /sys/kernel/debug/kmemleak
EOF
	fi
	cat <<'EOF'
echo "TORUSMM-FREE-PAGES end=$(tmm-free-pages)"
exit $fail
EOF
}

# vm_run KIND DIR: boot KIND with the modules of DIR, the clients and the
# tests; judge the log and add its counts.
vm_run() {
	local kind=$1 dir=$2 nr_suites=0 initrd plan log counts status timeout
	local modules=(-m "$dir/torusmm_core.ko" -m "$dir/torusmm.ko")
	local checker_args=(--expect-free-pages) extra=() modprobe=0
	if [ "$kind" = debug ]; then
		nr_suites=$(kunit_suites "$dir-kunit/torusmm_core.ko")
		extra+=(-a "$dir-kunit/torusmm_core.ko=/modules/kunit/torusmm_core.ko")
		extra+=("${fuzz_dirs[@]}")
		checker_args+=(--expect-kunit)
	fi
	if [ "$kind" = stock ] && [ $installed -eq 1 ]; then
		extra+=(-a "$install_root/lib/modules/$stock_release=/lib/modules/$stock_release")
		modprobe=1
	fi
	plan=$build/plan-$kind.sh
	initrd=$build/initramfs-$kind.cpio.gz
	log=$logs/vm-$kind.log
	counts=$build/counts-$kind
	write_plan "$kind" "$nr_suites" $modprobe >"$plan"
	if ! scripts/mkinitramfs.sh -o "$initrd" -p "$plan" "${modules[@]}" \
		"${test_dirs[@]}" "${clients[@]}" "${extra[@]}"; then
		fail "$kind VM: could not build its initramfs"
		return
	fi
	status=0
	timeout=600
	[ "$kind" = stock ] || timeout=900
	scripts/run-vm.sh -k "$kind" -i "$initrd" -l "$log" -t $timeout || status=$?
	[ $status -ne 2 ] || { fail "$kind VM: refused to boot (vermagic)"; return; }
	rm -f "$counts"
	scripts/check-log.py --label "$kind VM" --source-dir "$source_dir" \
		--counts "$counts" "${checker_args[@]}" "$log" || true
	[ -f "$counts" ] || { fail "$kind VM: the checker died"; return; }
	tally "$kind VM" "$counts" "$log"
}

# fuzz_result LOG: echo the fuzzer's summary line from the debug VM's log;
# one check: no model mismatch, no frame lost, exit status 0.
fuzz_result() {
	local line rc
	# A VM that never booted leaves the last run's log behind.
	if [ ! "$1" -nt "$build/plan-debug.sh" ]; then
		fail "debug VM: fuzzer: the VM did not run"
		return
	fi
	line=$(tr -d '\r' <"$1" | grep -E '^fuzz: seed [0-9]+, ' | tail -n 1) || true
	rc=$(tr -d '\r' <"$1" | sed -n 's/^TORUSMM-FUZZ-END rc=\([0-9]*\).*/\1/p' | tail -n 1)
	if [ -z "$line" ]; then
		fail "debug VM: fuzzer: no summary line (it did not run or died; see $1)"
		return
	fi
	echo "$line"
	if [[ $line == *" 0 model mismatches, 0 frames lost" ]] && [ "$rc" = 0 ]; then
		pass "debug VM: fuzzer, seed $fuzz_seed, $fuzz_ops ops"
	else
		fail "debug VM: fuzzer, exit status ${rc:-unknown} (its MISMATCH lines are in $1; make fuzz SEED=$fuzz_seed OPS=$fuzz_ops replays it)"
	fi
}

# The number of KUnit suites a module holds: one pointer per suite in its
# .kunit_test_suites section.
kunit_suites() {
	local size
	size=$(objdump -h "$1" | awk '$2 == ".kunit_test_suites" { print $3 }') || true
	echo $((0x${size:-0} / 8))
}

# tally LABEL COUNTS LOG: add one VM run's test cases and its own verdict.
tally() {
	local label=$1 log=$3 key value
	local kp=0 kf=0 ks=0 tp=0 tf=0 ts=0 rows=0 other=0
	while IFS='=' read -r key value; do
		case $key in
		kunit_passed) kp=$value ;;
		kunit_failed) kf=$value ;;
		kunit_skipped) ks=$value ;;
		kselftest_passed) tp=$value ;;
		kselftest_failed) tf=$value ;;
		kselftest_skipped) ts=$value ;;
		badinput_rows) rows=$value ;;
		other_failures) other=$value ;;
		esac
	done <"$2"
	# Only the debug kernel has KUnit.
	[ "$label" = "stock VM" ] ||
		echo "$label: KUnit: $((kp + kf + ks)) cases ran, $kp passed, $kf failed, $ks skipped"
	echo "$label: kselftests: $((tp + tf + ts)) ran, $tp passed, $tf failed, $ts skipped ($rows of them bad-input rows)"
	passed=$((passed + kp + tp))
	failed=$((failed + kf + tf))
	[ $((kf + tf)) -eq 0 ] || failures+=("$label: $((kf + tf)) test cases (see $log)")
	if [ "$other" -eq 0 ]; then
		pass "$label: plan finished, no kernel splat, no leak"
	else
		fail "$label: $other problems besides failed test cases (see $log)"
	fi
}

heading "7. Debug VM: KUnit, kselftests, load/unload, kmemleak, free pages"
if [ $debug_ok -eq 1 ]; then
	vm_run debug "$build/debug"
	fuzz_result "$logs/vm-debug.log"
else
	fail "debug VM: skipped, the debug modules did not build"
fi

heading "8. Stock VM: kselftests, load/unload, modprobe, free pages"
if [ $stock_ok -eq 1 ]; then
	vm_run stock "$build/stock"
else
	fail "stock VM: skipped, the stock modules did not build"
fi

heading "9. Expected-failure runs: a deliberately broken module"
tests/harness/run-broken.sh 2>&1 | tee "$logs/run-broken.log" || true
add_counts "$logs/run-broken.log" "expected-failure runs"

finish
