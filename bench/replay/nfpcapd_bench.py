#!/usr/bin/env python3
"""spate against nfpcapd (nfdump's pcap-to-flows tool) on the bench capture.

Runs, interleaved, RUNS times each:
  nfpcapd -r BENCH.pcap -w DIR              (NetFlow records to nfcapd files)
  spate -r BENCH.pcap -o FILE               (basic records, JSON Lines)
  spate -r BENCH.pcap -o FILE --features joy
  spate -r BENCH.pcap -o FILE --features joy --compress zstd
each as one worker writing to a file on the same disk, and reports the
median (min..max) packets per CPU-second (user + system of the process and
its threads) and the ratio of each median to nfpcapd's, measured in the same
series. The issue 12 targets: basic >= 4x, joy >= 2x, joy + zstd >= 1.2x.

Usage: nfpcapd_bench.py [--spate build-rel/spate] [--pcap PATH] [--runs 5]
                        [--baseline OTHER/spate] [--json out.json] [-- extra spate args]
With --baseline, the same three spate configurations of another binary run
in the same series (rows "base ...").
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_bench import ensure_pcap, count_packets  # noqa: E402


def run(cmd):
    """Runs cmd; returns (cpu seconds, wall seconds, stderr). stderr goes to a
    file (a pipe read only at the end would block a chatty process)."""
    with tempfile.TemporaryFile(mode="w+") as errf:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errf, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        errf.seek(0)
        err = errf.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code}):\n{err[-4000:]}")
    return ru.ru_utime + ru.ru_stime, wall, err


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spate", default=os.path.join(ROOT, "build-rel", "spate"))
    ap.add_argument("--pcap", default=os.path.join(ROOT, "build", "bench", "bench.pcap"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--baseline", help="another spate binary, run in the same series (A/B)")
    ap.add_argument("--json")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    if shutil.which("nfpcapd") is None:
        sys.exit("nfpcapd not found (apt-get install nfdump)")
    pcap = ensure_pcap(a.pcap, a.shared)
    work = tempfile.mkdtemp(prefix="spate-nfpcapd-")
    out = os.path.join(work, "records.jsonl")
    configs = [
        ("nfpcapd", None),
        ("spate basic", []),
        ("spate joy", ["--features", "joy"]),
        ("spate joy zstd", ["--features", "joy", "--compress", "zstd"]),
    ]
    binary = {name: a.spate for name, _ in configs}
    if a.baseline:
        for name, args in list(configs[1:]):
            configs.append(("base " + name[len("spate "):], args))
            binary[configs[-1][0]] = a.baseline
    packets = None
    samples = {name: [] for name, _ in configs}
    walls = {name: [] for name, _ in configs}
    for r in range(a.runs):
        for name, args in configs:
            if args is None:
                d = os.path.join(work, "nf")
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                cpu, wall, _ = run(["nfpcapd", "-r", pcap, "-w", d])
            else:
                cpu, wall, err = run([binary[name], "-r", pcap, "-o", out, "--workers", "1"] + args +
                                     a.extra)
                packets = count_packets(err)
            samples[name].append(cpu)
            walls[name].append(wall)
            print(f"run {r + 1}/{a.runs} {name}: {cpu:.2f} CPU-s, {wall:.2f} s", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    rows = []
    base = None
    for name, _ in configs:
        pps = sorted(packets / c for c in samples[name])
        med = statistics.median(pps)
        if base is None:
            base = med
        rows.append({"config": name, "pkts_per_cpu_s_median": med, "min": pps[0], "max": pps[-1],
                     "wall_s_median": statistics.median(walls[name]), "ratio_to_nfpcapd": med / base})
    print(f"{packets} packets, {a.runs} runs each, interleaved")
    print(f"{'config':<16} {'Mpkt/CPU-s (min..max)':>28} {'wall s':>8} {'x nfpcapd':>10}")
    for x in rows:
        print(f"{x['config']:<16} {x['pkts_per_cpu_s_median'] / 1e6:>10.3f} "
              f"({x['min'] / 1e6:.3f}..{x['max'] / 1e6:.3f}) {x['wall_s_median']:>8.2f} "
              f"{x['ratio_to_nfpcapd']:>10.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"packets": packets, "runs": a.runs, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
