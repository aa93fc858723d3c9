#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check that Documentation/torusmm-api.rst documents the whole ABI.

Fails, naming what is missing, when the document lacks:

- a section for an ioctl of include/uapi/linux/torusmm.h (a heading that
  names it, with :Capability:, :Type:, :Parameters: and :Returns:);
- any other TORUSMM_* constant of the header;
- a uapi structure: a literal block with the same fields, of the same
  types, in the same order as the header, and for each field a line that
  starts with ``field`` (a row of a field table) after that block, before
  the next heading;
- an errno that the module can return: every -E... in torusmm.c and the
  sources of torusmm_core.ko that Kbuild lists;

and when the document or the header drifts:

- an errno named in an ioctl's Errors table that no source returns;
- a field of a uapi structure without a kernel-doc line (@field:) in the
  header, or a kernel-doc line for a field the structure does not have;
- a phrase of WORDING, which says one thing two ways (the quota is
  "reached", never passed: section 4.1 defines the term once).

Python standard library only.  Exit status 0 when everything is
documented, 1 when something is missing, 2 on a usage error.
"""

import argparse
import os
import re
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Phrases that contradicted the document's own definitions once, and what
# to say instead.
WORDING = (
    (r'quota (is |was )?reached', 'say "the quota has no frame left" '
     '(section 4.1): a quota may be reached, never passed'),
    (r'would exceed (it|the quota)', 'say what fails: an operation that '
     'needs a frame when the space holds max_frames'),
    (r'a clone copies them', 'a clone keeps dirty and starts with '
     'accessed clear (section 7.11)'),
    (r'unless the range ends at 4 GiB', '4 GiB is a multiple of 64 pages: '
     'no range is exempt from whole units'),
)
IOCTL_FIELDS = (':Capability:', ':Type:', ':Parameters:', ':Returns:')
HEADING_UNDERLINE = re.compile(r'^([=\-~^"\'`#*+])\1{2,}\s*$')


def strip_comments(text):
    """Remove C comments, keeping line structure."""
    return re.sub(r'/\*.*?\*/',
                  lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)


def parse_header(path):
    """Return (ioctls, constants, structs) of the uapi header.

    structs maps a name to its list of (type, field) in order.
    """
    with open(path, encoding='utf-8') as f:
        text = strip_comments(f.read())
    ioctls, constants = [], []
    for name, value in re.findall(r'^#define\s+(TORUSMM\w*)\s+(.*)$', text,
                                  flags=re.M):
        if re.match(r'_IO(R|W|WR)?\s*\(', value.strip()):
            ioctls.append(name)
        else:
            constants.append(name)
    structs = {}
    for name, body in re.findall(r'struct\s+(torusmm_\w+)\s*\{(.*?)\};',
                                 text, flags=re.S):
        structs[name] = parse_fields(body)
    return ioctls, constants, structs


def parse_fields(body):
    """The (type, name) pairs of a structure body."""
    fields = []
    for decl in body.split(';'):
        decl = ' '.join(decl.split())
        if not decl:
            continue
        m = re.match(r'(.*?)\s*\b(\w+)\s*(\[[^\]]*\])?$', decl)
        if m:
            fields.append((m.group(1), m.group(2) + (m.group(3) or '')))
    return fields


def headings(lines):
    """Indexes of the title lines of reStructuredText headings."""
    found = []
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1]
        if (title.strip() and not title.startswith((' ', '\t')) and
                HEADING_UNDERLINE.match(under) and
                len(under.rstrip()) >= len(title.rstrip())):
            found.append(i)
    return found


def section_of(lines, heads, start):
    """The text from line @start to the next heading."""
    end = next((h for h in heads if h > start), len(lines))
    return '\n'.join(lines[start:end])


def check_ioctls(doc_lines, heads, ioctls, problems):
    for ioctl in ioctls:
        titles = [h for h in heads
                  if re.search(r'\b%s\b' % ioctl, doc_lines[h])]
        if not titles:
            problems.append(f'ioctl {ioctl}: no section (a heading naming '
                            f'it)')
            continue
        section = section_of(doc_lines, heads, titles[0])
        for field in IOCTL_FIELDS:
            if field not in section:
                problems.append(f'ioctl {ioctl}: its section has no '
                                f'{field} line')


def check_constants(doc, constants, problems):
    for name in constants:
        if not re.search(r'\b%s\b' % name, doc):
            problems.append(f'constant {name} is not mentioned')


def check_structs(doc_lines, heads, structs, problems):
    doc = '\n'.join(doc_lines)
    for name, fields in structs.items():
        blocks = re.findall(r'^[ \t]+struct\s+%s\s*\{(.*?)\};' % name, doc,
                            flags=re.S | re.M)
        if not blocks:
            problems.append(f'struct {name}: no literal block with its '
                            f'definition')
            continue
        documented = parse_fields(blocks[0])
        if documented != fields:
            problems.append(f'struct {name}: the document lists '
                            f'{fmt(documented)}, the header has '
                            f'{fmt(fields)}')
        start = next(i for i, line in enumerate(doc_lines)
                     if re.match(r'^[ \t]+struct\s+%s\s*\{' % name, line))
        after = section_of(doc_lines, heads, start)
        for _, field in fields:
            row = r'^[ \t]*``%s``(\s|$)' % re.escape(field)
            if not re.search(row, after, flags=re.M):
                problems.append(f'struct {name}: field {field} is not '
                                f'described (no line starting with '
                                f'``{field}`` after its definition)')


def fmt(fields):
    return '{' + ', '.join(f'{t} {n}' for t, n in fields) + '}'


def sources(source_dir):
    """torusmm.c and the objects of torusmm_core.ko that Kbuild names."""
    with open(os.path.join(source_dir, 'Kbuild'), encoding='utf-8') as f:
        kbuild = f.read().replace('\\\n', ' ')
    objs = []
    for line in re.findall(r'^torusmm_core-y\s*:?\+?=(.*)$', kbuild, re.M):
        objs += [o for o in line.split()
                 if o.endswith('.o') and '/' not in o]
    # The park points of the test build answer debugfs, not the ABI.
    return ['torusmm.c'] + [o[:-2] + '.c' for o in objs
                            if o != 'test_hooks.o']


def check_errnos(doc, source_dir, problems, notes):
    errnos = {}
    for source in sources(source_dir):
        path = os.path.join(source_dir, source)
        if not os.path.exists(path):
            notes.append(f'{source} does not exist yet: its errnos are not '
                         f'checked')
            continue
        with open(path, encoding='utf-8') as f:
            for errno in re.findall(r'-(E[A-Z0-9]+)\b', f.read()):
                errnos.setdefault(errno, []).append(source)
    for errno in sorted(errnos):
        if not re.search(r'\b%s\b' % errno, doc):
            where = ', '.join(sorted(set(errnos[errno])))
            problems.append(f'errno {errno} (returned in {where}) is not '
                            f'documented')
    return errnos


def check_error_tables(doc_lines, heads, errnos, problems):
    """Every errno of an Errors table is one some source returns."""
    for start in heads:
        section = section_of(doc_lines, heads, start).splitlines()
        for i, line in enumerate(section):
            if not line.startswith('Errors'):
                continue
            for row in section[i + 1:]:
                m = re.match(r'^  (E[A-Z0-9]+)\s', row)
                if m and m.group(1) not in errnos:
                    problems.append(f'{doc_lines[start].strip()}: its '
                                    f'Errors table lists {m.group(1)}, '
                                    f'which no source returns')
                if row.startswith(('::', ':')) or (
                        row and not row.startswith(' ')):
                    break


def check_kernel_doc(header, structs, problems):
    """Each uapi structure field has its @field: line in the header."""
    with open(header, encoding='utf-8') as f:
        text = f.read()
    for name, fields in structs.items():
        m = re.search(r'/\*\*\s*\n \* struct %s\b(.*?)\*/' % name, text,
                      re.S)
        if not m:
            problems.append(f'struct {name}: no kernel-doc comment in the '
                            f'header')
            continue
        documented = set(re.findall(r'^ \* @(\w+):', m.group(1), re.M))
        names = {f.split('[')[0] for _, f in fields}
        for field in sorted(names - documented):
            problems.append(f'struct {name}: field {field} has no @{field}: '
                            f'line in the header\'s kernel-doc')
        for field in sorted(documented - names):
            problems.append(f'struct {name}: the header\'s kernel-doc '
                            f'describes @{field}, which it does not have')


def check_wording(doc, header, problems):
    """No phrase of WORDING, in the document or the header."""
    for path, text in (('the document', doc), ('the header', header)):
        flat = ' '.join(re.sub(r'^\s*\*', ' ', text, flags=re.M).split())
        for phrase, instead in WORDING:
            for m in re.finditer(phrase, flat, re.I):
                problems.append(f'{path} says "{m.group(0)}": {instead}')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--header', default=os.path.join(
        TOP, 'include/uapi/linux/torusmm.h'))
    parser.add_argument('--doc', default=os.path.join(
        TOP, 'Documentation/torusmm-api.rst'))
    parser.add_argument('--source-dir', default=TOP,
                        help='where torusmm.c and the core sources are')
    args = parser.parse_args()

    for path in (args.header, args.doc):
        if not os.path.exists(path):
            print(f'check-abi-doc: {path} does not exist', file=sys.stderr)
            return 2 if path == args.header else 1
    ioctls, constants, structs = parse_header(args.header)
    with open(args.doc, encoding='utf-8') as f:
        doc = f.read()
    doc_lines = doc.splitlines()
    heads = headings(doc_lines)

    problems, notes = [], []
    check_ioctls(doc_lines, heads, ioctls, problems)
    check_constants(doc, constants, problems)
    check_structs(doc_lines, heads, structs, problems)
    errnos = check_errnos(doc, args.source_dir, problems, notes)
    nr_errnos = len(errnos)
    check_error_tables(doc_lines, heads, errnos, problems)
    check_kernel_doc(args.header, structs, problems)
    with open(args.header, encoding='utf-8') as f:
        check_wording(doc, f.read(), problems)

    doc_name = os.path.relpath(args.doc, TOP)
    for note in notes:
        print(f'check-abi-doc: note: {note}')
    for problem in problems:
        print(f'check-abi-doc: {doc_name} is missing: {problem}')
    nr_fields = sum(len(f) for f in structs.values())
    summary = (f'{len(ioctls)} ioctls, {len(structs)} structs '
               f'({nr_fields} fields), {len(constants)} constants, '
               f'{nr_errnos} errnos')
    if problems:
        print(f'check-abi-doc: FAIL: {len(problems)} gaps in {doc_name} '
              f'({summary} checked)')
        return 1
    print(f'check-abi-doc: PASS: {doc_name} documents {summary}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
