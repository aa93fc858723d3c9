#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The body of `make fuzz`: run the model-checking fuzzer (tests/torusmm_fuzz.c)
# in the debug VM for as long as asked.  scripts/vm-exec.sh builds the
# modules, the clients and the tests, boots, loads torusmm and judges the
# console log as make check does, so a KASAN, lockdep, UBSAN or kmemleak
# report fails the run as a model mismatch does.
#
# usage: fuzz.sh [-s SEED] [-n OPS] [-T SECONDS] [-j THREADS] [-p PARAMS]
#                [-- MORE FUZZER OPTIONS...]
#   -s  the seed (default: a random one, printed); the same seed, op count
#       and threads replay a run
#   -n  operations (default 100000, about 4 minutes under TCG and KASAN;
#       unlimited when only -T is given)
#   -T  stop after this many seconds of fuzzing
#   -j  threads of the multi-threaded phases (default 4)
#   -p  parameters of torusmm.ko (default "nr_tori=2")
# The last line of the fuzzer is
#	fuzz: seed S, N ops, R ops/s, M model mismatches, F frames lost
# and every mismatch it reports comes with the command that replays it.
# Exit status: 0 only when the fuzzer found nothing and the log is clean.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$TORUSMM_TOP"

usage() {
	tmm_die "usage: $0 [-s SEED] [-n OPS] [-T SECONDS] [-j THREADS] [-p PARAMS] [-- ARGS...]"
}

seed='' ops='' secs='' threads=4 params='nr_tori=2'
while getopts "s:n:T:j:p:" opt; do
	case $opt in
	s) seed=$OPTARG ;;
	n) ops=$OPTARG ;;
	T) secs=$OPTARG ;;
	j) threads=$OPTARG ;;
	p) params=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
for n in "$seed" "$ops" "$secs" "$threads"; do
	[[ -z $n || $n =~ ^[0-9]+$ ]] || usage
done
[ -n "$seed" ] || seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
if [ -z "$ops" ]; then
	ops=100000
	[ -z "$secs" ] || ops=1000000000000
fi

args=(--seed "$seed" --ops "$ops" --threads "$threads" --progress 60)
[ -z "$secs" ] || args+=(--time "$secs")
# The VM's own deadline: boot and build slack, plus the run at a rate well
# below what TCG with KASAN manages (about 500 ops/s).
limit=$((ops / 100))
[ -z "$secs" ] || [ "$secs" -ge "$limit" ] || limit=$secs
timeout_s=$((limit + 300))

echo "fuzz.sh: seed $seed, $ops ops${secs:+, at most $secs s}, $threads threads, torusmm.ko $params"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
scripts/vm-exec.sh -p "$params" -t "$timeout_s" -- \
	/tests/fuzz/torusmm_fuzz "${args[@]}" "$@" | tee "$out" || status=$?
echo
tr -d '\r' <"$out" | grep -E '^(MISMATCH|INVARIANT|  replay:|fuzz: seed)' | tail -n 40 || true
summary=$(tr -d '\r' <"$out" | grep -E '^fuzz: seed' | tail -n 1) || true
[ -n "$summary" ] || echo "fuzz.sh: no summary line: the fuzzer or the VM died (see the log above)"
exit $status
