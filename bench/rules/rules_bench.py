#!/usr/bin/env python3
"""Cost of content rules on the whole pipeline: spate -r BENCH.pcap -o /dev/null
with one worker, for these configurations, interleaved, RUNS times each:

  basic       --features none
  app         --features app              (the shipped app set, built in)
  rules4      --rules 4 small rules       (HTTP GET, TLS ClientHello, SSH, DNS)
  rules1000   --rules N generated rules   (bench/rules/gen_rules.py N)

CPU-seconds of the spate process (user + system) are measured per run; the
start-up (reading and compiling the rules) is measured apart on a capture
with one packet and subtracted, so the figure per packet is the packet
path's. Reports medians, min..max, and the cost per packet over basic from
the medians of the same run.

Usage: rules_bench.py [--spate build-rel/spate] [--pcap build-rel/bench.pcap]
                      [--runs 5] [--rules-n 1000] [--json OUT]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

SMALL = """1 http-get dir=client proto=tcp depth=16 /^GET /
2 tls-hello dir=client proto=tcp depth=8 /^\\x16\\x03[\\x00-\\x04]..\\x01/s
3 ssh-banner proto=tcp depth=8 /^SSH-2\\.0-/
4 dns-query proto=udp port=53 depth=16 /^..[\\x00-\\x01][\\x00-\\x20]\\x00\\x01/s
"""


def cpu_of(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def packets_in(pcap):
    # pcap (not pcapng): count records by walking the headers.
    n = 0
    with open(pcap, "rb") as f:
        magic = f.read(24)[:4]
        little = magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            incl = int.from_bytes(h[8:12], "little" if little else "big")
            f.seek(incl, 1)
            n += 1
    return n


def one_packet(pcap, out):
    with open(pcap, "rb") as f:
        hdr = f.read(24)
        rec = f.read(16)
        little = hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
        incl = int.from_bytes(rec[8:12], "little" if little else "big")
        data = f.read(incl)
    with open(out, "wb") as f:
        f.write(hdr + rec + data)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spate", default=os.path.join(ROOT, "build-rel", "spate"))
    ap.add_argument("--pcap", default=os.path.join(ROOT, "build-rel", "bench.pcap"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rules-n", type=int, default=1000)
    ap.add_argument("--json")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="spate-rules-bench-")
    small = os.path.join(tmp, "small.rules")
    with open(small, "w") as f:
        f.write(SMALL)
    gen = os.path.join(tmp, "gen.rules")
    subprocess.run([sys.executable, os.path.join(HERE, "gen_rules.py"), str(a.rules_n), gen], check=True)
    tiny = os.path.join(tmp, "one.pcap")
    one_packet(a.pcap, tiny)
    npk = packets_in(a.pcap)
    configs = {
        "basic": ["--features", "none"],
        "app": ["--features", "app"],
        "rules4": ["--rules", small],
        "rules%d" % a.rules_n: ["--rules", gen],
    }
    base = [a.spate, "-q", "-o", "/dev/null", "--workers", "1"]
    cpu = {k: [] for k in configs}
    start = {k: [] for k in configs}
    for _ in range(a.runs):
        for k, extra in configs.items():
            start[k].append(cpu_of(base + ["-r", tiny] + extra))
            cpu[k].append(cpu_of(base + ["-r", a.pcap] + extra))
    med = {k: statistics.median(v) for k, v in cpu.items()}
    smed = {k: statistics.median(v) for k, v in start.items()}
    path = {k: med[k] - smed[k] for k in configs}
    print("%d packets, %d runs each, medians (CPU-s of the process)" % (npk, a.runs))
    print("%-10s %8s %17s %9s %9s %12s" % ("config", "CPU-s", "min..max", "start-up", "packets", "ns/pkt vs basic"))
    out = {"packets": npk, "runs": a.runs, "configs": {}}
    for k in configs:
        d = (path[k] - path["basic"]) / npk * 1e9
        print("%-10s %8.3f %8.3f..%-8.3f %9.3f %9.3f %12s" % (
            k, med[k], min(cpu[k]), max(cpu[k]), smed[k], path[k], "" if k == "basic" else "%+.0f" % d))
        out["configs"][k] = {"cpu_median": med[k], "cpu_min": min(cpu[k]), "cpu_max": max(cpu[k]),
                             "startup_median": smed[k], "packet_path": path[k],
                             "ns_per_packet_over_basic": None if k == "basic" else d}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
