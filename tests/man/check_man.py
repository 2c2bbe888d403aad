#!/usr/bin/env python3
"""The man page of a program lists exactly the options of its --help (long
and short names, same groups), has the sections a man page needs, and
--help names every value by what it takes (no boost "arg").

    check_man.py --binary build/spate --man build/man/spate.1
"""
import argparse
import re
import shutil
import subprocess
import sys


def help_options(text):
    """(long names, short names, group captions) of a --help text: option
    lines start with two spaces and a dash; wrapped descriptions are
    indented further."""
    longs, shorts, groups = set(), set(), []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^  (?:(-\w) \[ )?--([\w.-]+)", line)
        if m:
            longs.add(m.group(2))
            if m.group(1):
                shorts.add(m.group(1))
        elif (re.match(r"^\S.*:$", line) and line != "Options:" and i + 1 < len(lines)
              and lines[i + 1].startswith("  -")):
            groups.append(line[:-1])  # a caption: the options follow
    return longs, shorts, groups


def man_options(text):
    longs, shorts, groups, sections = set(), set(), [], []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(".SH "):
            sections.append(line[4:].strip('"'))
        if line.startswith(".SS ") and sections and sections[-1] == "OPTIONS":
            groups.append(line[4:].replace("\\-", "-"))
        if line == ".TP" and sections and sections[-1] == "OPTIONS" and i + 1 < len(lines):
            tag = lines[i + 1].replace("\\-", "-")
            for name in re.findall(r"\\fB(-[^\\]+)\\fR", tag):
                if name.startswith("--"):
                    longs.add(name[2:])
                else:
                    shorts.add(name)
    return longs, shorts, groups, sections


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--man", required=True)
    args = ap.parse_args()
    helptext = subprocess.run([args.binary, "--help"], check=True, capture_output=True,
                              text=True).stdout
    with open(args.man, encoding="utf-8") as f:
        man = f.read()
    failures = []

    h_long, h_short, h_groups = help_options(helptext)
    m_long, m_short, m_groups, sections = man_options(man)
    if len(h_long) < 5:
        failures.append("--help lists only %d options: %s" % (len(h_long), sorted(h_long)))
    if h_long != m_long:
        failures.append("long options differ: only in --help %s, only in the man page %s"
                        % (sorted(h_long - m_long), sorted(m_long - h_long)))
    if h_short != m_short:
        failures.append("short options differ: only in --help %s, only in the man page %s"
                        % (sorted(h_short - m_short), sorted(m_short - h_short)))
    if h_groups and h_groups != m_groups:
        failures.append("option groups differ: --help %s, man page %s" % (h_groups, m_groups))
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"):
        if s not in sections:
            failures.append("the man page has no %s section (it has %s)" % (s, sections))
    if not man.startswith('.\\"') or "\n.TH " not in man:
        failures.append("the man page has no .TH header")
    for line in helptext.splitlines():
        if re.match(r"^  -", line) and re.search(r" \[?=?arg\b", line):
            failures.append("--help shows boost's 'arg' placeholder: " + line.strip())
    # Rendered without a warning, where groff is installed.
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", args.man],
                           capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            failures.append("groff warns: " + r.stderr.strip())
    if failures:
        print("%s vs %s:" % (args.binary, args.man))
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("%s: %d long and %d short options, the same in --help and the man page"
          % (args.man, len(m_long), len(m_short)))


if __name__ == "__main__":
    main()
