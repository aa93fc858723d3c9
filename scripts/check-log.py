#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Judge the serial console log of one torusmm test VM run.

A run fails when the plan never finished (no end marker: the VM hung,
panicked or died), when the plan exited non-zero, when the kernel printed
any splat (BUG, WARNING, KASAN, UBSAN, lockdep, kmemleak, Oops, panic, a
bare stack trace), when a KUnit case or a kselftest failed, or when the
host lost free pages between the start and the end of the plan.  Every
reason is printed on its own line, prefixed with the run's label.

KUnit output is cut from between the TORUSMM-KUNIT-BEGIN/END markers and
parsed with the source tree's `tools/testing/kunit/kunit.py parse`.  Suites
run from a module print indented headers but unindented results, so
without a top-level "KTAP version 1" / "1..N" header kunit.py strips four
characters from every line and reads "not ok 2 suite" as "ok 2 suite".
The test plan writes that header to /dev/kmsg before loading the module;
when a log lacks it, this checker adds it, and it never trusts a "pass"
from kunit.py while a "not ok" line is present.

Fault injection: the torusmm fault points are created with verbose=0, as
the tests fire them on purpose; any "FAULT_INJECTION: forcing a failure"
message (and the stack a verbose fault attr dumps) therefore counts as a
failure here.  The two must stay in agreement.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TIMESTAMP = re.compile(r'^\[\s*\d+\.\d+\] ?')
# A kernel message may start in the middle of a line of the plan's output.
KERNEL_MESSAGE = re.compile(r'\[\s*\d+\.\d+\] (.*)')

# (kind, pattern), most specific first: a kernel message is attributed to
# the first kind whose pattern it matches.  Only kernel messages (they
# carry a timestamp) are searched, so a test's own output cannot pass for
# a splat; kmemleak's report, read from debugfs by the plan, is the one
# exception (KMEMLEAK_REPORT).
SPLATS = [
    ('KASAN report', re.compile(r'BUG: KASAN: .*|KASAN: .*')),
    ('UBSAN report', re.compile(r'UBSAN: .*')),
    ('lockdep report', re.compile(
        r'WARNING: possible circular locking dependency.*'
        r'|WARNING: possible recursive locking.*'
        r'|WARNING: .*lock.* detected.*'
        r'|inconsistent lock state.*'
        r'|DEBUG_LOCKS_WARN_ON.*')),
    ('kernel INFO report (lockdep, RCU stall, hung task)',
     re.compile(r'INFO: .*')),
    ('kmemleak report', re.compile(
        r'kmemleak: \d+ new suspected memory leaks.*')),
    ('fault injection report (torusmm fault attrs must be verbose=0)',
     re.compile(r'FAULT_INJECTION: forcing a failure.*')),
    ('kernel panic', re.compile(r'Kernel panic.*')),
    ('kernel Oops', re.compile(
        r'Oops.*|general protection fault.*|kernel BUG at .*')),
    ('kernel BUG', re.compile(r'BUG: .*')),
    ('kernel WARNING', re.compile(r'WARNING: .*')),
]
KMEMLEAK_REPORT = re.compile(r'^unreferenced object 0x[0-9a-f]+.*')
CALL_TRACE = re.compile(r'Call Trace:')
# A stack trace this many lines after a recognised report belongs to it.
TRACE_WINDOW = 200

PLAN_BEGIN = re.compile(r'TORUSMM-PLAN-BEGIN')
PLAN_END = re.compile(r'TORUSMM-PLAN-END rc=(\d+)')
STEP_FAILED = re.compile(r'TORUSMM-STEP-FAILED rc=(\d+) (.*)')
KUNIT_BEGIN = 'TORUSMM-KUNIT-BEGIN'
KUNIT_END = 'TORUSMM-KUNIT-END'
TEST_BEGIN = re.compile(r'TORUSMM-TEST-BEGIN (\S+)')
TEST_END = re.compile(r'TORUSMM-TEST-END (\S+) rc=(\d+)')
FREE_PAGES = re.compile(
    r'TORUSMM-FREE-PAGES (start|end)=(\d+)(?: slab=(\d+))?(?: pcp=(\d+))?')

TAP_RESULT = re.compile(r'^(not )?ok (\d+)\b(.*)$')
TAP_PLAN = re.compile(r'^1\.\.(\d+)')
# Printed by tests/torusmm_badinput_test.c: how many rows of its table ran.
BADINPUT_ROWS = re.compile(r'^# bad-input rows run: (\d+)')
KSFT_SKIP = 4


class Verdict:
    """The reasons a run failed, and what it counted."""

    def __init__(self, label):
        self.label = label
        self.reasons = []
        # Reasons that no failed test case in the counts stands for.
        self.other_failures = 0
        self.unfinished = False
        self.notes = []
        self.counts = {
            'kunit_passed': 0, 'kunit_failed': 0, 'kunit_skipped': 0,
            'kselftest_passed': 0, 'kselftest_failed': 0,
            'kselftest_skipped': 0, 'badinput_rows': 0,
        }

    def fail(self, kind, detail='', counted=False):
        """Record a reason; counted: the failed cases are in the counts."""
        self.reasons.append(f'{kind}: {detail}' if detail else kind)
        if not counted:
            self.other_failures += 1

    def note(self, text):
        self.notes.append(text)


def read_log(path):
    """The log's lines without line ends (the serial console adds CRs)."""
    with open(path, 'r', encoding='utf-8', errors='backslashreplace') as f:
        return [line.rstrip('\r\n').replace('\r', '') for line in f]


def check_markers(lines, verdict):
    if not any(PLAN_BEGIN.search(line) for line in lines):
        verdict.fail('no TORUSMM-PLAN-BEGIN marker',
                     'the VM never started the test plan '
                     '(boot failed, or the log is not a test VM console)')
    ends = [m for m in (PLAN_END.search(line) for line in lines) if m]
    if not ends:
        verdict.unfinished = True
        verdict.fail('no TORUSMM-PLAN-END marker',
                     'the VM timed out, hung, panicked or died before '
                     'the test plan finished')
        return
    steps = [m for m in (STEP_FAILED.search(line) for line in lines) if m]
    for step in steps:
        verdict.fail('test plan step failed',
                     f'"{step.group(2).strip()}" exited with rc={step.group(1)}')
    rc = int(ends[-1].group(1))
    if rc != 0 and not steps:
        verdict.fail('test plan failed', f'it exited with rc={rc}')


def check_splats(lines, verdict):
    found = {}
    last_report = None
    for number, line in enumerate(lines, 1):
        message = KERNEL_MESSAGE.search(line)
        if not message:
            if KMEMLEAK_REPORT.match(line):
                found.setdefault('kmemleak report', []).append(
                    (number, line))
            continue
        text = message.group(1)
        for kind, pattern in SPLATS:
            match = pattern.search(text)
            if match:
                found.setdefault(kind, []).append((number, match.group(0)))
                last_report = number
                break
        else:
            if CALL_TRACE.search(text) and (
                    last_report is None
                    or number - last_report > TRACE_WINDOW):
                found.setdefault('kernel stack trace', []).append(
                    (number, 'Call Trace: without a recognised report '
                     'before it (dump_stack?)'))
    for kind, hits in found.items():
        number, text = hits[0]
        more = f' (and {len(hits) - 1} more lines)' if len(hits) > 1 else ''
        verdict.fail(kind, f'{text.strip()} [log line {number}]{more}')


def kunit_sections(lines):
    """Each KUnit run's kernel lines, without timestamps or markers."""
    sections = []
    current = None
    for line in lines:
        if KUNIT_BEGIN in line:
            current = []
            sections.append({'lines': current, 'finished': False})
            continue
        if current is None:
            continue
        if KUNIT_END in line:
            sections[-1]['finished'] = True
            current = None
            continue
        # Only kernel messages: the plan's own shell output has no
        # timestamp and is not KTAP.
        if TIMESTAMP.match(line):
            current.append(TIMESTAMP.sub('', line))
    return sections


def add_ktap_header(section, verdict):
    """Give module-loaded suites the top-level header kunit.py needs."""
    for line in section:
        if re.match(r'KTAP version \d+$', line):
            return section
        if re.match(r'\s+KTAP version \d+$', line):
            break
    suites = sum(1 for line in section if line.startswith('    # Subtest: '))
    verdict.note(f'KUnit output had no top-level KTAP header; added one '
                 f'for {suites} suites')
    return ['KTAP version 1', f'1..{suites}'] + section


def run_kunit_parse(kunit_py, section):
    """kunit.py parse's printed report, exit status and JSON result."""
    with tempfile.TemporaryDirectory() as tmp:
        json_path = os.path.join(tmp, 'kunit.json')
        proc = subprocess.run(
            [sys.executable, kunit_py, 'parse', f'--json={json_path}'],
            input='\n'.join(section) + '\n', capture_output=True, text=True,
            check=False)
        result = None
        if os.path.exists(json_path):
            with open(json_path, encoding='utf-8') as f:
                result = json.load(f)
    return proc.stdout + proc.stderr, proc.returncode, result


def leaf_cases(group):
    """(suite.case, status) for every leaf of kunit.py's JSON tree."""
    cases = []

    def walk(node, names):
        for case in node.get('test_cases', []):
            cases.append(('.'.join(names + [case['name']]), case['status']))
        for sub in node.get('sub_groups', []):
            walk(sub, names + [sub['name']])

    walk(group, [])
    return cases


def summarise(names, limit=8):
    """A readable list of failed case names; kunit.py leaves the names of
    cases that never printed a result empty."""
    names = [f'{name}(no result)' if not name or name.endswith('.')
             else name for name in names]
    missing = [name for name in names if name.endswith('(no result)')]
    named = [name for name in names if not name.endswith('(no result)')]
    shown = named[:limit]
    if len(named) > limit:
        shown.append(f'and {len(named) - limit} more')
    if missing:
        shown.append(f'{len(missing)} cases without a result')
    return ', '.join(shown)


def check_kunit(lines, args, verdict):
    sections = kunit_sections(lines)
    if not sections:
        if args.expect_kunit:
            verdict.fail('KUnit', 'no KUnit output between '
                         f'{KUNIT_BEGIN} and {KUNIT_END}')
        return
    kunit_py = os.path.join(args.source_dir, 'tools/testing/kunit/kunit.py')
    if not os.path.exists(kunit_py):
        verdict.fail('KUnit', f'{kunit_py} missing: cannot parse results')
        return
    for index, section in enumerate(sections, 1):
        body = add_ktap_header(section['lines'], verdict)
        if not section['finished']:
            verdict.fail('KUnit', f'run {index} never reached '
                         f'{KUNIT_END} (the module load hung or crashed)')
        report, status, result = run_kunit_parse(kunit_py, body)
        print(f'{args.label}: kunit.py parse (run {index}):')
        for line in report.splitlines():
            if 'Test results stored in' not in line:
                print(f'  {line}')
        cases = leaf_cases(result) if result else []
        passed = [name for name, st in cases if st == 'PASS']
        skipped = [name for name, st in cases if st == 'SKIP']
        failed = [name for name, st in cases if st not in ('PASS', 'SKIP')]
        verdict.counts['kunit_passed'] += len(passed)
        verdict.counts['kunit_skipped'] += len(skipped)
        verdict.counts['kunit_failed'] += len(failed)
        not_ok = [line.strip() for line in body
                  if re.match(r'\s*not ok \d+', line)]
        if failed:
            verdict.fail('KUnit', f'{len(failed)} of {len(cases)} test cases '
                         f'failed: {summarise(failed)}', counted=True)
        if status != 0 and not failed:
            verdict.fail('KUnit', f'kunit.py parse exited with {status} '
                         '(missing, crashed or unparsable results)')
        if not cases:
            verdict.fail('KUnit', 'kunit.py parse found no test cases')
        if not_ok and status == 0:
            verdict.fail('KUnit', 'kunit.py parse reported success but the '
                         f'log has "{not_ok[0]}" (misparsed KTAP)')


def check_kselftests(lines, verdict):
    running = None
    results = []
    for line in lines:
        begin = TEST_BEGIN.search(line)
        end = TEST_END.search(line)
        if begin:
            if running:
                verdict.fail('kselftest', f'{running} never finished')
            running, results, planned = begin.group(1), [], None
            continue
        if end and running:
            judge_kselftest(running, int(end.group(2)), planned, results,
                            verdict)
            running = None
            continue
        if running is None or TIMESTAMP.match(line):
            continue
        rows = BADINPUT_ROWS.match(line)
        if rows:
            verdict.counts['badinput_rows'] += int(rows.group(1))
        plan = TAP_PLAN.match(line)
        if plan:
            planned = int(plan.group(1))
        result = TAP_RESULT.match(line)
        if result:
            results.append(result)
    if running:
        verdict.fail('kselftest', f'{running} never finished '
                     '(the VM died or timed out while it ran)')


def judge_kselftest(name, rc, planned, results, verdict):
    failed = []
    for result in results:
        directive = result.group(3)
        if '# SKIP' in directive:
            verdict.counts['kselftest_skipped'] += 1
        elif result.group(1):
            verdict.counts['kselftest_failed'] += 1
            failed.append(result.group(3).strip())
        else:
            verdict.counts['kselftest_passed'] += 1
    if failed:
        verdict.fail('kselftest', f'{name}: {len(failed)} of {len(results)} '
                     f'failed: {", ".join(failed)}', counted=True)
    if rc in (124, 137, 143):
        verdict.fail('kselftest', f'{name} was killed: timed out, or out of '
                     f'memory (rc={rc})')
    elif rc == KSFT_SKIP and not failed:
        verdict.note(f'{name} skipped itself (rc=4)')
    elif rc != 0 and not failed:
        verdict.fail('kselftest', f'{name} exited with rc={rc}')
    if planned is not None and planned != len(results):
        verdict.fail('kselftest', f'{name} planned {planned} tests but '
                     f'reported {len(results)} (did it crash?)')


def check_free_pages(lines, args, verdict):
    """Compare the pages the plan saw free at its start and at its end.

    kmemleak never sees pages taken straight from the page allocator, as
    the torus frames are, so a leaked torus shows only here.  Besides
    nr_free_pages, two kinds of pages count as free: those parked on the
    per-CPU free lists (Debian's kernel keeps up to ~7000 there per CPU
    with 1 GiB, and freeing a torus fills them), and slab pages (slab
    leaks are kmemleak's business, and the debug kernel's KASAN
    quarantine holds freed slab objects, up to 1/32 of memory, long after
    the module is gone).  What remains moves by a few pages; the tolerance
    of 1024 pages (4 MiB, a quarter of the smallest torus of 16 MiB =
    4096 pages) leaves room for caches that kernel code fills on first use
    and never gives back, while a leaked torus cannot hide in it.
    """
    seen = {}
    for line in lines:
        match = FREE_PAGES.search(line)
        if match:
            seen[match.group(1)] = [int(value or 0)
                                    for value in match.groups()[1:]]
    if 'start' not in seen or 'end' not in seen:
        # A plan that never finished has already failed for that.
        if args.expect_free_pages and not verdict.unfinished:
            verdict.fail('free pages', 'the plan did not report free pages '
                         'at its start and end')
        return
    start, end = seen['start'], seen['end']
    lost = sum(start) - sum(end)
    verdict.note(f'free pages (free + slab + per-CPU lists): {sum(start)} '
                 f'{tuple(start)} at the start, {sum(end)} {tuple(end)} at '
                 f'the end ({-lost:+d})')
    if lost > args.free_pages_tolerance:
        verdict.fail('free pages', f'{lost} fewer free pages after '
                     'unloading than before loading (tolerance '
                     f'{args.free_pages_tolerance}): pages leaked from the '
                     'page allocator, which kmemleak cannot see')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('log', help='the serial console log of the run')
    parser.add_argument('--label', default=None,
                        help='name of the run, printed on every line')
    parser.add_argument('--source-dir', default=os.environ.get(
        'TORUSMM_SOURCE_DIR', ''),
                        help='kernel source tree holding tools/testing/kunit')
    parser.add_argument('--expect-kunit', action='store_true',
                        help='fail when the log holds no KUnit results')
    parser.add_argument('--expect-free-pages', action='store_true',
                        help='fail when the plan did not report free pages')
    parser.add_argument('--free-pages-tolerance', type=int, default=1024)
    parser.add_argument('--counts', help='write key=value counts here')
    args = parser.parse_args()
    args.label = args.label or os.path.basename(args.log)

    verdict = Verdict(args.label)
    lines = read_log(args.log)
    check_markers(lines, verdict)
    check_splats(lines, verdict)
    check_kunit(lines, args, verdict)
    check_kselftests(lines, verdict)
    check_free_pages(lines, args, verdict)

    if args.counts:
        with open(args.counts, 'w', encoding='utf-8') as f:
            for key, value in verdict.counts.items():
                f.write(f'{key}={value}\n')
            f.write(f'other_failures={verdict.other_failures}\n')
    for note in verdict.notes:
        print(f'{args.label}: note: {note}')
    c = verdict.counts
    print(f'{args.label}: KUnit cases: {c["kunit_passed"]} passed, '
          f'{c["kunit_failed"]} failed, {c["kunit_skipped"]} skipped; '
          f'kselftests: {c["kselftest_passed"]} passed, '
          f'{c["kselftest_failed"]} failed, '
          f'{c["kselftest_skipped"]} skipped; '
          f'bad-input rows: {c["badinput_rows"]}')
    for reason in verdict.reasons:
        print(f'{args.label}: FAIL: {reason}')
    if verdict.reasons:
        return 1
    print(f'{args.label}: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
