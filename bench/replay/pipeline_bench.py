#!/usr/bin/env python3
"""Whole-pipeline benchmark: spate -r BENCH.pcap -o /dev/null.

Builds the standard bench capture with ../shared/bench/make_bench.py (cached),
then runs spate RUNS times for each worker count, in interleaved order, and
reports for each configuration the median and spread (min..max) of:
  - wall-clock packets per second,
  - packets per CPU-second (user + system time of the spate process),
and the ratio of each configuration to the one-worker baseline measured in
the same run. Results go to stdout as a table and, with --json, to a file.

With --baseline OTHER_SPATE, every run of spate is paired with a run of the
other binary (an older build, say) on the same configuration, interleaved,
and the table adds the ratio of the medians (spate / baseline) for each.

Usage: pipeline_bench.py [--spate build/spate] [--baseline OLD_SPATE] [--pcap PATH] [--runs 5]
                         [--workers 1,2] [--driver pcap|dpdk [--rx-map]] [--json out.json]
                         [-- extra spate args]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ensure_pcap(path, shared):
    if os.path.exists(path):
        return path
    maker = os.path.join(shared, "bench", "make_bench.py")
    base = os.path.join(shared, "bench", "base.pcap")
    if not os.path.exists(maker):
        sys.exit(f"bench capture {path} missing and {maker} not found")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print(f"building {path} with {maker} (once)", file=sys.stderr)
    subprocess.run([sys.executable, maker, path + ".tmp", base], check=True)
    os.rename(path + ".tmp", path)
    return path


def count_packets(stderr):
    for line in stderr.splitlines():
        if "packets read" in line:
            return int(line.split("packets read ")[1].split(",")[0])
    raise RuntimeError("no packet count in spate's stderr:\n" + stderr)


DRIVER = "pcap"
RX_MAP = False
RUN_SEQ = [0]


def input_args(pcap):
    if DRIVER == "pcap":
        return ["-r", pcap]
    RUN_SEQ[0] += 1
    # rx-map: one worker lcore (1) polls the queue; lcore 0 is the main lcore.
    lcores = "-l 0,1 " if RX_MAP else ""
    eal = (f"{lcores}--no-huge -m 1024 --no-pci --no-shconf --log-level=error --file-prefix spate-bench-{os.getpid()}-"
           f"{RUN_SEQ[0]} --vdev net_pcap0,rx_pcap={pcap}")
    args = ["--driver", "dpdk", "--idle-exit", "0.2", "--eal", eal]
    return args + (["--rx-map", "0:0@1"] if RX_MAP else [])


def rx_span(stderr):
    for line in stderr.splitlines():
        if "receive span" in line:
            return float(line.split("receive span ")[1].split()[0])
    return None


def run_once(spate, pcap, workers, extra):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    worker_args = [] if RX_MAP else ["--workers", str(workers)]
    p = subprocess.run([spate] + input_args(pcap) + ["-o", "/dev/null"] + worker_args + extra,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"spate exited {p.returncode}: {p.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    pkts = count_packets(p.stderr)
    span = rx_span(p.stderr)
    if DRIVER == "dpdk" and span:
        # The DPDK driver polls (busy) through EAL start-up and the idle exit:
        # rate over the receive span, CPU time scaled to it.
        cpu = cpu * span / wall
        wall = span
    return {"packets": pkts, "wall_s": wall, "cpu_s": cpu, "pps": pkts / wall, "pp_cpu_s": pkts / cpu}


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def sweep(a, pcap):
    sets = a.features_sweep.split(",")
    if sets[0] != "none":
        sets.insert(0, "none")
    run_once(a.spate, pcap, 1, a.extra)
    res = {s: [] for s in sets}
    for _ in range(a.runs):
        for s in sets:
            res[s].append(run_once(a.spate, pcap, 1, a.extra + ["--features", s.replace("+", ",")]))
    base_ns = statistics.median(1e9 / r["pp_cpu_s"] for r in res["none"])
    out = {"pcap": pcap, "packets": res["none"][0]["packets"], "runs": a.runs, "sets": []}
    print(f"{'features':>22} {'CPU ns/packet (median, min..max)':>34} {'cost over none':>15} {'Mpps wall':>10} {'ratio':>6}")
    for s in sets:
        ns = [1e9 / r["pp_cpu_s"] for r in res[s]]
        med = statistics.median(ns)
        pps = statistics.median(r["pps"] for r in res[s])
        row = {"features": s, "cpu_ns_per_packet": summary(ns), "cost_ns_over_none": med - base_ns,
               "pps_wall_median": pps, "ratio_cpu_vs_none": base_ns / med}
        out["sets"].append(row)
        print(f"{s:>22} {med:>14.1f} ({min(ns):.1f}..{max(ns):.1f})         {med - base_ns:>+10.1f} ns "
              f"{pps / 1e6:>10.3f} {base_ns / med:>6.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", default=os.path.join(ROOT, "build", "spate"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--pcap", default=os.path.join(ROOT, "build", "bench", "bench.pcap"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--json")
    ap.add_argument("--features-sweep",
                    help="comma-separated feature sets (use + inside a set, e.g. none,splt,bd+entropy,joy): "
                         "one worker each; reports CPU ns per packet and the cost over 'none'")
    ap.add_argument("--driver", choices=["pcap", "dpdk"], default="pcap",
                    help="dpdk: the capture replayed through the DPDK net_pcap vdev (no hugepages needed)")
    ap.add_argument("--rx-map", action="store_true",
                    help="with --driver dpdk: one worker lcore polls the queue itself (--rx-map 0:0@1)")
    ap.add_argument("--baseline", help="another spate binary, run interleaved on the same configurations")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    global DRIVER, RX_MAP
    DRIVER = a.driver
    RX_MAP = a.rx_map
    if RX_MAP:
        a.workers = "1"
    pcap = ensure_pcap(a.pcap, a.shared)
    if a.features_sweep:
        return sweep(a, pcap)
    workers = [int(w) for w in a.workers.split(",")]
    binaries = [a.spate] + ([a.baseline] if a.baseline else [])
    # Warm the page cache once so every run reads from memory.
    run_once(a.spate, pcap, workers[0], a.extra)
    results = {(b, w): [] for b in binaries for w in workers}
    for _ in range(a.runs):
        for w in workers:
            for b in binaries:
                results[(b, w)].append(run_once(b, pcap, w, a.extra))
    out = {"pcap": pcap, "packets": results[(a.spate, workers[0])][0]["packets"], "runs": a.runs,
           "spate_args": a.extra, "driver": a.driver, "rx_map": a.rx_map, "cpus": os.cpu_count(),
           "spate": a.spate, "baseline": a.baseline, "configs": []}
    print(f"{'binary':>8} {'workers':>7} {'Mpps wall (median, min..max)':>32} "
          f"{'M pkts/CPU-s (median, min..max)':>34} {'ratio wall':>10} {'ratio cpu':>9}")
    for b in binaries:
        base_pps = statistics.median(r["pps"] for r in results[(b, workers[0])])
        base_cpu = statistics.median(r["pp_cpu_s"] for r in results[(b, workers[0])])
        for w in workers:
            pps = summary([r["pps"] for r in results[(b, w)]])
            cpu = summary([r["pp_cpu_s"] for r in results[(b, w)]])
            row = {"binary": "baseline" if b != a.spate else "spate", "workers": w, "pps": pps,
                   "pkts_per_cpu_s": cpu,
                   "ratio_pps_vs_baseline": pps["median"] / base_pps,
                   "ratio_cpu_vs_baseline": cpu["median"] / base_cpu}
            out["configs"].append(row)
            print(f"{row['binary']:>8} {w:>7} {pps['median']/1e6:>12.3f} ({pps['min']/1e6:.3f}..{pps['max']/1e6:.3f})      "
                  f"{cpu['median']/1e6:>12.3f} ({cpu['min']/1e6:.3f}..{cpu['max']/1e6:.3f})        "
                  f"{row['ratio_pps_vs_baseline']:>10.2f} {row['ratio_cpu_vs_baseline']:>9.2f}")
    if a.baseline:
        print("spate / baseline, medians:")
        out["versus_baseline"] = []
        for w in workers:
            new = results[(a.spate, w)]
            old = results[(a.baseline, w)]
            r_pps = statistics.median(x["pps"] for x in new) / statistics.median(x["pps"] for x in old)
            r_cpu = (statistics.median(x["pp_cpu_s"] for x in new) /
                     statistics.median(x["pp_cpu_s"] for x in old))
            out["versus_baseline"].append({"workers": w, "pps": r_pps, "pkts_per_cpu_s": r_cpu})
            print(f"  {w} worker(s): wall {r_pps:.2f}x, packets per CPU-s {r_cpu:.2f}x")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
