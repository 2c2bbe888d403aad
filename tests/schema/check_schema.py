#!/usr/bin/env python3
"""Checks spate's records against docs/record.schema.json.

Runs spate with the given options over every capture (files or directories of
.pcap/.pcapng), then
  1. validates every record against the JSON Schema (2020-12), and
  2. checks that no key path has two JSON types across all records, in any
     unit (integer and number count as different types; an array's elements
     are the path with "[]" appended).

Exit status: 0 when every record validates and every path has one type,
1 otherwise (the first errors are printed), 77 when there is nothing to read
(--skip-missing) so meson reports a skip.
"""

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def walk(v, path, types, where):
    t = json_type(v)
    if path not in types or t not in types[path]:
        types[path][t] = where
    if t == "object":
        for k, x in v.items():
            walk(x, path + "." + k if path else k, types, where)
    elif t == "array":
        for x in v:
            walk(x, path + "[]", types, where)


def self_test(validator, rec):
    """The schema must reject records that break its rules: returns failures."""
    import copy
    if rec is None:
        print("FAIL self-test: no TCP record with packets to mutate")
        return 1
    bad = []
    def mutated(f):
        r = copy.deepcopy(rec)
        f(r)
        return r
    cases = {
        "an unknown field": lambda r: r.__setitem__("no_such_field", 1),
        "a null": lambda r: r.__setitem__("sa", None),
        "dir as a number": lambda r: r["packets"][0].__setitem__("dir", 0),
        "a port as a string": lambda r: r.__setitem__("sp", "80"),
        "a TCP option with a data key": lambda r: r["tcp"]["out"].__setitem__("opts", [{"mss": 1460}]),
        "a missing core field": lambda r: r.pop("time_start"),
    }
    for what, f in cases.items():
        if not list(validator.iter_errors(mutated(f))):
            bad.append(what)
            print(f"FAIL self-test: the schema accepts a record with {what}")
    print(f"self-test: {len(cases) - len(bad)} of {len(cases)} broken records rejected")
    return len(bad)


def captures(paths):
    out = []
    for p in paths:
        if os.path.isdir(p):
            for n in sorted(os.listdir(p)):
                if n.endswith((".pcap", ".pcapng")):
                    out.append(os.path.join(p, n))
        elif os.path.exists(p):
            out.append(p)
    return out


def run_one(spate, cap, extra):
    r = subprocess.run([spate, "-r", cap, "-q", "-o", "-"] + extra,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        return cap, None, r.stderr.decode(errors="replace")
    return cap, r.stdout.decode(), None


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="captures or directories of captures")
    ap.add_argument("--spate", required=True, help="the spate binary")
    ap.add_argument("--schema", required=True, help="docs/record.schema.json")
    ap.add_argument("--arg", action="append", default=[],
                    help="an extra spate argument (repeatable), e.g. --arg=--features=all")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (skip) when no capture exists")
    ap.add_argument("--self-test", action="store_true",
                    help="also check that the schema rejects broken copies of a record")
    ap.add_argument("--show-types", action="store_true",
                    help="print every key path with its types")
    a = ap.parse_args()

    caps = captures(a.inputs)
    if not caps:
        print("no captures found in " + " ".join(a.inputs))
        return 77 if a.skip_missing else 1

    with open(a.schema) as f:
        schema = json.load(f)
    validator = None
    try:
        import jsonschema
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
    except ImportError:
        print("python3-jsonschema missing: checking types only")

    types = defaultdict(dict)
    first_record = None
    errors = 0
    records = 0
    with ThreadPoolExecutor(max_workers=a.jobs) as ex:
        for cap, out, err in ex.map(lambda c: run_one(a.spate, c, a.arg), caps):
            name = os.path.basename(cap)
            if out is None:
                print(f"FAIL {name}: spate failed: {err.strip()}")
                errors += 1
                continue
            for i, line in enumerate(out.splitlines(), 1):
                rec = json.loads(line)
                records += 1
                if first_record is None and rec.get("packets") and rec.get("tcp", {}).get("out", {}).get("opts"):
                    first_record = rec
                walk(rec, "", types, f"{name}:{i}")
                if validator is not None:
                    for e in validator.iter_errors(rec):
                        errors += 1
                        if errors <= 30:
                            p = "/".join(str(x) for x in e.absolute_path)
                            print(f"FAIL {name} record {i}: /{p}: {e.message[:300]}")

    if validator is not None and a.self_test and records:
        errors += self_test(validator, first_record)

    mixed = {p: t for p, t in types.items() if len(t) > 1}
    for p, t in sorted(mixed.items()):
        errors += 1
        print(f"FAIL path {p} has types " +
              ", ".join(f"{k} (e.g. {w})" for k, w in sorted(t.items())))
    if a.show_types:
        for p, t in sorted(types.items()):
            print(p, " ".join(sorted(t)))
    print(f"{len(caps)} captures, {records} records, {len(types)} key paths, "
          f"{len(mixed)} with more than one type, {errors} errors")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
