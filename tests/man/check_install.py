#!/usr/bin/env python3
"""`ninja install` (meson install into a scratch DESTDIR) puts the binaries,
the man pages, the systemd unit (ExecStart at the installed binary) and the
DPDK example configurations with their README where docs/deployment.md
says.

    check_install.py --meson meson --build BUILDDIR --prefix /usr/local \
        --bindir bin --mandir share/man --datadir share --unitdir lib/systemd/system
"""
import argparse
import os
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser()
    for a in ("--meson", "--build", "--prefix", "--bindir", "--mandir", "--datadir", "--unitdir",
              "--source"):
        ap.add_argument(a, required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="spate-install-") as dest:
        r = subprocess.run([args.meson, "install", "-C", args.build, "--destdir", dest,
                            "--no-rebuild", "--quiet"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("meson install failed:\n" + r.stdout + r.stderr)

        def under(*parts):
            path = os.path.join(args.prefix, *parts)
            return os.path.join(dest, path.lstrip("/"))

        want = [
            under(args.bindir, "spate"),
            under(args.bindir, "spate-bench"),
            under(args.mandir, "man1", "spate.1"),
            under(args.mandir, "man1", "spate-bench.1"),
            under(args.unitdir, "spate.service"),
            under(args.datadir, "spate", "apps.rules"),
            under(args.datadir, "doc", "spate", "dpdk-config", "README.md"),
        ]
        examples = sorted(f for f in os.listdir(os.path.join(args.source, "dpdk-config"))
                          if f.endswith(".ini"))
        if not examples:
            sys.exit("no dpdk-config/*.ini in the source tree")
        want += [under(args.datadir, "doc", "spate", "dpdk-config", f) for f in examples]
        missing = [w for w in want if not os.path.isfile(w)]
        if missing:
            sys.exit("not installed:\n  " + "\n  ".join(m[len(dest):] for m in missing))
        for b in want[:2]:
            if not os.access(b, os.X_OK):
                sys.exit(b[len(dest):] + " is not executable")
        with open(under(args.unitdir, "spate.service"), encoding="utf-8") as f:
            unit = f.read()
        exec_start = os.path.join(args.prefix, args.bindir, "spate") + " --config"
        if "ExecStart=" + exec_start not in unit:
            sys.exit("spate.service does not start %s:\n%s" % (exec_start, unit))
        with open(under(args.mandir, "man1", "spate.1"), encoding="utf-8") as f:
            if ".SH OPTIONS" not in f.read():
                sys.exit("the installed spate.1 has no OPTIONS section")
    print("installed: %d files checked" % len(want))


if __name__ == "__main__":
    main()
