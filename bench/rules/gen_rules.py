#!/usr/bin/env python3
"""Writes N generated content rules (docs/rules.md) for benchmarks: half
literals, half regular expressions with classes and bounded repeats, spread
over directions and transports, deterministic (seeded).

Usage: gen_rules.py N OUT.rules [--seed S]
"""
import argparse
import random
import string

WORDS = ["GET", "POST", "HTTP", "User-Agent", "Host", "SSH", "USER", "PASS", "EHLO",
         "HELO", "RCPT", "MAIL", "LOGIN", "SELECT", "INSERT", "admin", "passwd", "cmd.exe",
         "powershell", "wget", "curl", "base64", "eval", "union", "script", "iframe"]


def literal(rng):
    w = rng.choice(WORDS)
    tail = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 8)))
    return (w + tail).replace("/", "\\/").replace(".", "\\.")


def regex(rng):
    w = rng.choice(WORDS).replace(".", "\\.")
    parts = [w, "[ \\t]+", rng.choice(["[a-z]{2,8}", "[0-9]{1,5}", "\\w+", "[^\\r\\n]{4,32}"])]
    if rng.random() < 0.5:
        parts.append(rng.choice([":", "=", "\\/", "\\?"]))
        parts.append(rng.choice(["[a-z0-9]{3,}", "\\d+", "[A-Za-z]+"]))
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with open(a.out, "w") as f:
        f.write(f"# {a.n} generated rules (bench/rules/gen_rules.py --seed {a.seed})\n")
        for i in range(a.n):
            pat = literal(rng) if i % 2 == 0 else regex(rng)
            opts = []
            d = rng.choice(["client", "server", "any"])
            if d != "any":
                opts.append("dir=" + d)
            p = rng.choice(["tcp", "tcp", "udp", "any"])
            if p != "any":
                opts.append("proto=" + p)
            flags = rng.choice(["", "", "i"])
            f.write(f"{i + 1} gen{i + 1} {' '.join(opts)} /{pat}/{flags}\n".replace("  ", " "))


if __name__ == "__main__":
    main()
