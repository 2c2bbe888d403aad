#!/usr/bin/env python3
"""Writes the man page of spate or spate-bench (roff, section 1) from the
option tables the built binary prints with its hidden --dump-options: the
same tables as --help, so the page cannot drift from the program.

    gen_man.py --binary build/spate --name spate --version 0.1.0 -o spate.1

The text around the options (NAME, DESCRIPTION, EXIT STATUS, FILES, SEE
ALSO) is kept here, per program.
"""
import argparse
import datetime
import os
import re
import subprocess
import sys

PAGES = {
    "spate": {
        "summary": "flow probe: packets to bidirectional flow records (JSON Lines)",
        "description": [
            "spate reads packets from capture files (pcap, nanosecond pcap or pcapng, plain or "
            "gzip, zstd or xz compressed; stdin, FIFOs and pipes as a stream), from a live "
            "interface through libpcap, or from NIC ports through DPDK, and writes one JSON "
            "record per bidirectional flow when the flow ends (idle, active or TCP-close "
            "timeout, eviction, or the end of input).",
            "Flows are kept per worker thread, each with its own flow table. Records can carry "
            "intraflow features (packet lengths and times, byte distribution, TLS, DNS, HTTP, "
            "SSH, DHCP and IKE fields, application labels, content-rule matches); see "
            "--features. Every long option is also a key of the --config INI file; the command "
            "line wins.",
            "On a terminal, reading -r files shows a progress line on stderr (--progress, "
            "--no-progress). Counters go to stderr at exit, and every --stats-interval seconds "
            "when asked.",
        ],
        "exit": [
            ("0", "success (a truncated capture file is a warning; records shed under "
                  "--backpressure drop are counted, not an error)"),
            ("1", "an input error, or records lost to output errors"),
            ("2", "a usage or configuration error (the message names the option, key or file)"),
        ],
        "signals": "SIGINT and SIGTERM export every active flow and exit; a second one exits at "
                   "once (status 1). SIGHUP recompiles the --rules files.",
        "files": [
            ("/etc/spate/spate.ini", "the configuration read by the systemd unit (--config)"),
            ("share/spate/apps.rules", "the application rule set (also built into the binary)"),
            ("share/doc/spate/dpdk-config/", "example configurations, one per deployment shape"),
            ("lib/systemd/system/spate.service", "the systemd unit"),
        ],
        "see_also": ["spate-bench(1)", "tcpdump(8)", "pcap-filter(7)", "systemd.service(5)"],
    },
    "spate-bench": {
        "summary": "replay captures from memory through spate's pipeline and measure it",
        "description": [
            "spate-bench replays capture files, or N synthetic concurrent TCP flows, from memory "
            "through spate's unchanged pipeline (decoder, dispatcher, workers and their flow "
            "tables and feature units, exporter) and reports per configuration (workers x "
            "feature set x flows) the median of several runs and their min..max: Mpps, Gbps, "
            "CPU cycles per packet, packets per CPU-second, records per second, ring-full "
            "waits, drops, peak flows and exporter backlog.",
            "Options after -- are spate options applied to every run. Output paths (--output, "
            "--json, --plot), the spate options and the --compare baseline are checked before "
            "the first run.",
        ],
        "exit": [
            ("0", "success"),
            ("1", "a run failed"),
            ("2", "a usage error, or a path or baseline that cannot be used (named in the message)"),
        ],
        "signals": None,
        "files": [],
        "see_also": ["spate(1)", "gnuplot(1)"],
    },
}


def esc(text):
    """roff-escapes text: backslashes, and the dashes of a word that starts
    with one (an option, a negative number) as minus signs."""
    text = text.replace("\\", "\\e")
    # Option names (a word that starts with a dash) keep ASCII dashes
    # throughout, so they can be copied from the rendered page.
    text = re.sub(r"(?<![\w-])-[\w.-]*", lambda m: m.group(0).replace("-", "\\-"), text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def tag(short, long, param):
    """The .TP line of one option: names in bold, the value in italics, and
    what --help shows in parentheses as the default."""
    names = []
    if short:
        names.append("\\fB" + esc(short) + "\\fR")
    names.append("\\fB" + esc(long) + "\\fR")
    out = ", ".join(names)
    extra = []
    m = re.match(r"^\[=([^(\]]+)\(=([^)]*)\)\]\s*(?:\(=(.*)\))?$", param)
    if m:  # "[=BOOL(=true)] (=false)": the value is optional
        out += "[=\\fI" + esc(m.group(1)) + "\\fR]"
        if m.group(3) is not None:
            extra.append("default: " + (m.group(3) or "empty"))
        extra.append("alone: " + m.group(2))
    elif param:
        m = re.match(r"^(\S+)(?:\s+\(=(.*)\))?$", param)
        value, default = (m.group(1), m.group(2)) if m else (param, None)
        out += " \\fI" + esc(value) + "\\fR"
        if default is not None:
            extra.append("default: " + (default if default != "" else "empty"))
    if extra:
        out += " (" + esc("; ".join(extra)) + ")"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--name", required=True, choices=sorted(PAGES))
    ap.add_argument("--version", required=True)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    page = PAGES[args.name]

    dump = subprocess.run([args.binary, "--dump-options"], check=True, capture_output=True,
                          text=True).stdout
    synopsis, groups = [], []
    for line in dump.splitlines():
        fields = line.split("\t")
        if fields[0] == "S":
            synopsis.append(fields[1])
        elif fields[0] == "G":
            groups.append((fields[1], []))
        elif fields[0] == "O" and len(fields) == 5 and groups:
            groups[-1][1].append(fields[1:])
        else:
            sys.exit("gen_man.py: unexpected line from %s --dump-options: %r" % (args.binary, line))
    if not groups or not any(opts for _, opts in groups):
        sys.exit("gen_man.py: %s --dump-options listed no options" % args.binary)

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch else None
    date = when.strftime("%Y-%m-%d") if when else ""
    out = []
    out.append('.\\" Generated by man/gen_man.py from `%s --dump-options`; do not edit.'
               % args.name)
    out.append('.TH %s 1 "%s" "%s %s" "User Commands"'
               % (args.name.upper().replace("-", "\\-"), date, esc(args.name), args.version))
    out.append(".nh")  # no hyphenation: option names stay whole
    out.append(".ad l")
    out.append(".SH NAME")
    out.append("%s \\- %s" % (esc(args.name), esc(page["summary"])))
    out.append(".SH SYNOPSIS")
    out.append(".nf")
    for s in synopsis:
        prog, _, rest = s.partition(" ")
        out.append("\\fB%s\\fR %s" % (esc(prog), esc(rest)))
    out.append(".fi")
    out.append(".SH DESCRIPTION")
    for i, para in enumerate(page["description"]):
        if i:
            out.append(".PP")
        out.append(esc(para))
    out.append(".SH OPTIONS")
    for caption, opts in groups:
        if caption and caption != "Options":
            out.append(".SS " + esc(caption))
        for short, long, param, desc in opts:
            out.append(".TP")
            out.append(tag(short, long, param))
            out.append(esc(desc))
    out.append(".SH EXIT STATUS")
    for code, what in page["exit"]:
        out.append(".TP")
        out.append(code)
        out.append(esc(what))
    if page["signals"]:
        out.append(".SH SIGNALS")
        out.append(esc(page["signals"]))
    if page["files"]:
        out.append(".SH FILES")
        for path, what in page["files"]:
            out.append(".TP")
            out.append("\\fI" + esc(path) + "\\fR")
            out.append(esc(what) + (" (under the installation prefix)"
                                    if not path.startswith("/") else ""))
    out.append(".SH SEE ALSO")
    out.append(", ".join("\\fB%s\\fR(%s)" % (esc(n.split("(")[0]), n.split("(")[1].rstrip(")"))
                         for n in page["see_also"]))
    text = "\n".join(out) + "\n"
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
