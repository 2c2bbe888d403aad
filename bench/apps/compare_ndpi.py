#!/usr/bin/env python3
"""Compare spate's application labels with nDPI's on a directory of captures.

For each capture (*.pcap, *.pcapng; subdirectories are skipped):

  nDPI   ndpiReader -i FILE -C CSV -q      (with nDPI's port guessing)
         ndpiReader -i FILE -C CSV -q -d   (DPI only: guessing disabled)
         ndpiReader's CSV has no "guessed" column, so a label is taken as a
         DPI label when the -d run gives it too, and as a guess when only the
         run with guessing gives it.
  spate  SPATE --features FEATURES -r FILE -q -o OUT --idle-timeout 0
         (FEATURES: app,tls,dns,http,ssh,dhcp,ike unless --features)
         app.proto and app.by of each record ("unit", "rule" or "port").
         --legacy-matches, for binaries without the app unit: --rules RULES
         and the label of the first (lowest line) app= rule in "matches";
         port guesses then come from the table in src/match/app_ports.cpp.

Flows are matched on the unordered 5-tuple; only TCP and UDP flows count.
nDPI names are mapped to spate's (NDPI_TO_SPATE); nDPI protocols outside the
set are "other". Prints a Markdown report (or --markdown FILE), writes a JSON
summary with --json, lists disagreeing flows with --disagreements, and exits 1
when --min-agreement is given and the agreement is below it.

stdlib only.
"""
import argparse
import concurrent.futures
import ipaddress
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# nDPI 4.x protocol names (ndpiReader -h) -> spate app names. Only the master
# protocol (the left part of "TLS.Google") is looked up, except for the full
# names in NDPI_FULL_TO_SPATE.
NDPI_TO_SPATE = {
    "HTTP": "http", "HTTP_Connect": "http_connect", "HTTP_Proxy": "http_proxy",
    "TLS": "tls", "IMAPS": "tls", "POPS": "tls", "POP3S": "tls", "SMTPS": "tls",
    "FTPS": "tls", "DoH_DoT": "tls",
    "DTLS": "dtls", "QUIC": "quic", "SSH": "ssh",
    "DNS": "dns", "MDNS": "mdns", "LLMNR": "llmnr",
    "NetBIOS": "netbios", "SMBv1": "smb", "SMBv23": "smb", "DCE_RPC": "dcerpc",
    "NFS": "nfs",
    "SMTP": "smtp", "IMAP": "imap", "POP3": "pop3", "Usenet": "nntp",
    "IRC": "irc", "Jabber": "xmpp", "XMPP": "xmpp",
    "FTP_CONTROL": "ftp", "TFTP": "tftp", "RSYNC": "rsync", "Git": "git",
    "BitTorrent": "bittorrent", "Dropbox": "dropbox",
    "DHCP": "dhcp", "DHCPV6": "dhcpv6", "SSDP": "ssdp", "WSD": "wsd",
    "LDAP": "ldap", "Kerberos": "kerberos", "Radius": "radius", "RADIUS": "radius",
    "TACACS": "tacacs", "Diameter": "diameter",
    "BGP": "bgp", "SNMP": "snmp", "Zabbix": "zabbix", "sFlow": "sflow",
    "NetFlow": "netflow", "IPFIX": "netflow", "NTP": "ntp", "Syslog": "syslog",
    "MySQL": "mysql", "PostgreSQL": "postgresql", "MsSQL-TDS": "mssql",
    "Oracle": "oracle", "Redis": "redis", "Memcached": "memcached",
    "MongoDB": "mongodb", "Cassandra": "cassandra", "MQTT": "mqtt",
    "AMQP": "amqp", "Nats": "nats", "AJP": "ajp",
    "STUN": "stun", "WireGuard": "wireguard", "OpenVPN": "openvpn",
    "IPsec": "ike", "L2TP": "l2tp", "PPTP": "pptp", "SOCKS": "socks",
    "SIP": "sip", "RTSP": "rtsp", "RTP": "rtp", "RTCP": "rtcp", "MGCP": "mgcp",
    "RTMP": "rtmp", "Spotify": "spotify", "Steam": "steam",
    "TeamViewer": "teamviewer", "RDP": "rdp", "VNC": "vnc", "Citrix": "citrix",
    "Telnet": "telnet", "X11": "x11",
    "s7comm": "s7comm", "DNP3": "dnp3", "IEC60870": "iec104",
    "EthernetIP": "ethernetip", "Modbus": "modbus", "COAP": "coap",
    "BACnet": "bacnet", "OPC-UA": "opcua", "Whois-DAS": "whois",
    "Teredo": "teredo",
}
# SMB over the NetBIOS session service (TCP 139): nDPI names NetBIOS as the
# master, spate the protocol carried ("smb", rules/apps.rules). On UDP (138,
# browser announcements: SMB mailslots in NetBIOS datagrams) the master,
# NetBIOS, stands. Keys: (full nDPI name, IP protocol).
NDPI_FULL_TO_SPATE = {
    ("NetBIOS.SMBv1", 6): "smb",
    ("NetBIOS.SMBv23", 6): "smb",
}
OTHER = "other"

CSV_LINE = re.compile(r"^\d+,\d+,\d+(\.\d+)?,\d+(\.\d+)?,")


def norm_addr(a):
    try:
        return str(ipaddress.ip_address(a))
    except ValueError:
        return a


def flow_key(pr, a, ap, b, bp):
    ends = sorted([(norm_addr(a), int(ap)), (norm_addr(b), int(bp))])
    return (int(pr), ends[0][0], ends[0][1], ends[1][0], ends[1][1])


def key_text(k):
    def ep(addr, port):
        return ("[%s]:%d" % (addr, port)) if ":" in addr else ("%s:%d" % (addr, port))
    return "%s %s <-> %s" % ({6: "tcp", 17: "udp"}.get(k[0], str(k[0])), ep(k[1], k[2]), ep(k[3], k[4]))


def map_ndpi(name, pr):
    """nDPI label ("TLS.Google", "Unknown") -> spate name, "other" or None."""
    if not name or name == "Unknown":
        return None
    if (name, pr) in NDPI_FULL_TO_SPATE:
        return NDPI_FULL_TO_SPATE[(name, pr)]
    master = name.split(".", 1)[0]
    return NDPI_TO_SPATE.get(master, OTHER)


# ------------------------------------------------------------------ nDPI
def read_ndpi_csv(path):
    """{key: (raw label, payload bytes)} from ndpiReader -C.

    Quirk: free-text fields (server_name_sni holds the SSH client banner
    with its CR LF) are written unquoted, so a record can run over several
    lines and fields can hold commas. Only lines that start a record are
    read, and only their first 18 fields, which are all numbers, addresses
    and the protocol name."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        header = f.readline().lstrip("#").rstrip("\r\n").split(",")
        col = {name: i for i, name in enumerate(header)}
        need = ["protocol", "src_ip", "src_port", "dst_ip", "dst_port", "ndpi_proto",
                "c_to_s_goodput_bytes", "s_to_c_goodput_bytes"]
        missing = [n for n in need if n not in col]
        if missing:
            raise RuntimeError("%s: nDPI CSV lacks columns %s" % (path, missing))
        for line in f:
            if not CSV_LINE.match(line):
                continue
            v = line.rstrip("\r\n").split(",")
            if len(v) <= col["ndpi_proto"]:
                continue
            pr = int(v[col["protocol"]])
            if pr not in (6, 17):
                continue
            k = flow_key(pr, v[col["src_ip"]], v[col["src_port"]], v[col["dst_ip"]], v[col["dst_port"]])
            # server_name_sni (after ndpi_proto) may hold commas: read the
            # goodput columns only when the line has the header's width.
            payload = None
            if len(v) == len(header):
                try:
                    payload = int(v[col["c_to_s_goodput_bytes"]]) + int(v[col["s_to_c_goodput_bytes"]])
                except ValueError:
                    payload = None
            label = v[col["ndpi_proto"]]
            prev = out.get(k)
            if prev is None or (prev[0] == "Unknown" and label != "Unknown"):
                out[k] = (label, payload)
    return out


def run_ndpi(ndpi, pcap, tmp, dpi_only):
    csv = os.path.join(tmp, os.path.basename(pcap) + (".dpi" if dpi_only else ".guess") + ".csv")
    cmd = [ndpi, "-i", pcap, "-C", csv, "-q"] + (["-d"] if dpi_only else [])
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0 or not os.path.exists(csv):
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.decode(errors="replace")[-500:]))
    return read_ndpi_csv(csv)


# ----------------------------------------------------------------- spate
def read_rules(path):
    """{rule id: (line number, app)} of the app= rules of a rule file."""
    rules = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            head = s.split("/", 1)[0].split()
            app = next((t[4:] for t in head[2:] if t.startswith("app=")), None)
            if app:
                rules[int(head[0])] = (n, app)
    return rules


def read_port_table(path):
    """[(proto, lo, hi, app)] from src/match/app_ports.cpp."""
    ent = re.compile(r"PortApp\{k(Tcp|Udp), (\d+), (\d+), \"([a-z0-9_.-]+)\"\}")
    table = []
    with open(path, encoding="utf-8") as f:
        for m in ent.finditer(f.read()):
            table.append((6 if m.group(1) == "Tcp" else 17, int(m.group(2)), int(m.group(3)), m.group(4)))
    return table


def port_guess(table, pr, dport, sport):
    # As the app unit does: the responder's port, then the initiator's.
    for p in (dport, sport):
        for tp, lo, hi, app in table:
            if tp == pr and lo <= p <= hi:
                return app
    return None


def run_spate(args, pcap, tmp, rules, table):
    out = os.path.join(tmp, os.path.basename(pcap) + ".jsonl")
    cmd = [args.spate, "-r", pcap, "-q", "-o", out, "--idle-timeout", "0"]
    if args.legacy_matches:
        cmd += ["--rules", args.rules, "--features", "content"]
    else:
        cmd += ["--features", args.features]
        if args.rules_given:
            cmd += ["--app-rules", args.rules]
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.decode(errors="replace")[-500:]))
    flows = {}
    with open(out, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            pr = rec.get("pr")
            if pr not in (6, 17):
                continue
            k = flow_key(pr, rec["sa"], rec["sp"], rec["da"], rec["dp"])
            payload = rec.get("bytes_out", 0) + rec.get("bytes_in", 0)
            label = by = None
            if args.legacy_matches:
                best = None
                for m in rec.get("matches", []):
                    r_ = rules.get(m.get("id"))
                    if r_ and (best is None or r_[0] < best[0]):
                        best = r_
                if best:
                    label, by = best[1], "rule"
                else:
                    label = port_guess(table, pr, rec["dp"], rec["sp"])
                    by = "port" if label else None
            else:
                app = rec.get("app")
                if app:
                    label, by = app.get("proto"), app.get("by")
            prev = flows.get(k)
            if prev is None:
                flows[k] = [label, by, payload]
            else:
                prev[2] += payload
                # any record with a label names the key; evidence beats a guess
                if label and (prev[0] is None or (prev[1] == "port" and by != "port")):
                    prev[0], prev[1] = label, by
    return flows


# ---------------------------------------------------------------- compare
def process(args, pcap, rules, table):
    with tempfile.TemporaryDirectory(prefix="cmpndpi.") as tmp:
        guess = run_ndpi(args.ndpi, pcap, tmp, dpi_only=False)
        dpi = run_ndpi(args.ndpi, pcap, tmp, dpi_only=True)
        sp = run_spate(args, pcap, tmp, rules, table)
    rows = []
    for k in sorted(set(guess) | set(dpi) | set(sp)):
        g_raw, g_pl = guess.get(k, (None, None))
        d_raw, d_pl = dpi.get(k, (None, None))
        s_label, s_by, s_pl = sp.get(k, (None, None, None))
        payload = s_pl if s_pl is not None else (g_pl if g_pl is not None else d_pl)
        rows.append({
            "file": os.path.basename(pcap), "key": k,
            "ndpi_raw": g_raw or d_raw, "ndpi_dpi": map_ndpi(d_raw, k[0]), "ndpi_guess": map_ndpi(g_raw, k[0]),
            "ndpi_dpi_raw": d_raw,
            "spate": s_label, "spate_by": s_by, "in_spate": k in sp,
            "payload": payload,
        })
    return rows


def tally(rows, ndpi_col, spate_ok):
    """Per-protocol counts; ndpi_col picks nDPI's label, spate_ok(row)
    whether spate's label counts."""
    per = defaultdict(lambda: {"spate": 0, "ndpi": 0, "both": 0, "agree": 0,
                               "spate_only": 0, "ndpi_only": 0, "conflict": 0})
    tot = {"flows": 0, "both_in_set": 0, "agree": 0, "spate_labelled": 0,
           "ndpi_labelled": 0, "ndpi_other": 0, "spate_only": 0, "ndpi_only": 0}
    dis = []
    for r in rows:
        tot["flows"] += 1
        s = r["spate"] if spate_ok(r) else None
        n = r[ndpi_col]
        n_in = n is not None and n != OTHER
        if s:
            tot["spate_labelled"] += 1
            per[s]["spate"] += 1
        if n_in:
            tot["ndpi_labelled"] += 1
            per[n]["ndpi"] += 1
        elif n == OTHER:
            tot["ndpi_other"] += 1
        if s and n_in:
            tot["both_in_set"] += 1
            per[s]["both"] += 1
            if s == n:
                tot["agree"] += 1
                per[s]["agree"] += 1
            else:
                per[n]["both"] += 1
                per[s]["conflict"] += 1
                per[n]["conflict"] += 1
                dis.append(("conflict", r))
        elif s and not n:
            tot["spate_only"] += 1
            per[s]["spate_only"] += 1
            dis.append(("spate-only", r))
        elif n_in and not s:
            tot["ndpi_only"] += 1
            per[n]["ndpi_only"] += 1
            dis.append(("ndpi-only", r))
    tot["agreement_pct"] = round(100.0 * tot["agree"] / tot["both_in_set"], 2) if tot["both_in_set"] else None
    return dict(per), tot, dis


def payload_counts(rows):
    pl = [r for r in rows if r["payload"]]
    return {
        "flows_with_payload": len(pl),
        "spate_by_evidence": sum(1 for r in pl if r["spate"] and r["spate_by"] in ("rule", "unit")),
        "spate_with_port": sum(1 for r in pl if r["spate"]),
        "ndpi_dpi": sum(1 for r in pl if r["ndpi_dpi"]),
        "ndpi_with_guess": sum(1 for r in pl if r["ndpi_guess"]),
        "ndpi_dpi_in_set": sum(1 for r in pl if r["ndpi_dpi"] and r["ndpi_dpi"] != OTHER),
        "ndpi_with_guess_in_set": sum(1 for r in pl if r["ndpi_guess"] and r["ndpi_guess"] != OTHER),
    }


def md_table(per):
    lines = ["| protocol | spate | nDPI | both | agree | spate only | nDPI only | conflict |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for p in sorted(per, key=lambda p: (-(per[p]["spate"] + per[p]["ndpi"]), p)):
        c = per[p]
        lines.append("| %s | %d | %d | %d | %d | %d | %d | %d |" % (
            p, c["spate"], c["ndpi"], c["both"], c["agree"], c["spate_only"], c["ndpi_only"], c["conflict"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", nargs="?", default="/work/shared/corpus/pcaps", help="directory of captures")
    ap.add_argument("--spate", default=os.path.join(ROOT, "build", "spate"))
    ap.add_argument("--ndpi", default="ndpiReader")
    ap.add_argument("--features", default="app,tls,dns,http,ssh,dhcp,ike",
                    help="spate's --features: app with the protocol units that name flows (default)")
    ap.add_argument("--rules", default=None, help="app rule file (default rules/apps.rules; "
                    "with --features app only passed when given)")
    ap.add_argument("--ports", default=os.path.join(ROOT, "src", "match", "app_ports.cpp"),
                    help="port table for --legacy-matches port guesses")
    ap.add_argument("--legacy-matches", action="store_true",
                    help="binary without the app unit: label from the first matched app= rule")
    ap.add_argument("--markdown", help="write the report here instead of stdout")
    ap.add_argument("--json", help="write a JSON summary here")
    ap.add_argument("--skip-missing", action="store_true",
                    help="exit 77 (a skipped test) when the capture directory or ndpiReader is missing")
    ap.add_argument("--min-agreement", type=float, help="exit 1 when agreement (percent) is below")
    ap.add_argument("--disagreements", action="store_true",
                    help="list every conflicting, spate-only and nDPI-only flow (DPI labels)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    args.rules_given = args.rules is not None
    if args.rules is None:
        args.rules = os.path.join(ROOT, "rules", "apps.rules")

    if args.skip_missing:
        # As a test: exit 77 (skipped) when a part that cannot run here is missing.
        import shutil
        if not os.path.isdir(args.dir):
            print("compare_ndpi: skipped: no corpus at %s" % args.dir)
            return 77
        if shutil.which(args.ndpi) is None:
            print("compare_ndpi: skipped: %s not found (Debian: libndpi-bin)" % args.ndpi)
            return 77
    pcaps = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir)
                   if f.endswith((".pcap", ".pcapng")) and os.path.isfile(os.path.join(args.dir, f)))
    if not pcaps:
        print("no captures in %s" % args.dir, file=sys.stderr)
        return 2
    rules = read_rules(args.rules)
    table = read_port_table(args.ports) if args.legacy_matches else []

    rows, errors = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futs = {ex.submit(process, args, p, rules, table): p for p in pcaps}
        for fut in concurrent.futures.as_completed(futs):
            try:
                rows.extend(fut.result())
            except Exception as e:  # one bad capture must not hide the rest
                errors.append("%s: %s" % (os.path.basename(futs[fut]), e))
    rows.sort(key=lambda r: (r["file"], r["key"]))

    evidence = lambda r: r["spate_by"] in ("rule", "unit")
    per, tot, dis = tally(rows, "ndpi_dpi", evidence)
    per_g, tot_g, _ = tally(rows, "ndpi_guess", lambda r: True)
    pl = payload_counts(rows)
    ndpi_other = defaultdict(int)
    for r in rows:
        if r["ndpi_dpi"] == OTHER:
            ndpi_other[r["ndpi_dpi_raw"].split(".", 1)[0]] += 1

    mode = "legacy (first matched app= rule of %s)" % os.path.relpath(args.rules, ROOT) if args.legacy_matches \
        else "--features " + args.features
    out = []
    out.append("# spate vs nDPI application labels\n")
    out.append("- captures: %d in `%s` (%d failed)" % (len(pcaps), args.dir, len(errors)))
    out.append("- spate: `%s`, %s" % (args.spate, mode))
    out.append("- nDPI: `ndpiReader -d` (DPI only) for the main table; without `-d` (with port guesses) for the second")
    out.append("- TCP and UDP flows (unordered 5-tuple): %d\n" % tot["flows"])
    out.append("## Agreement\n")
    out.append("| | both label (nDPI in set) | agree | agreement | spate only | nDPI only | nDPI other |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for name, t in (("evidence (spate rule/unit, nDPI DPI)", tot), ("with guesses (spate port, nDPI guess)", tot_g)):
        out.append("| %s | %d | %d | %s | %d | %d | %d |" % (
            name, t["both_in_set"], t["agree"], "-" if t["agreement_pct"] is None else "%.1f%%" % t["agreement_pct"],
            t["spate_only"], t["ndpi_only"], t["ndpi_other"]))
    out.append("\n## Flows with payload (%d)\n" % pl["flows_with_payload"])
    out.append("| | labelled by evidence | with guesses |")
    out.append("|---|---:|---:|")
    out.append("| spate (rule or unit / + port) | %d | %d |" % (pl["spate_by_evidence"], pl["spate_with_port"]))
    out.append("| nDPI, any label (DPI / + guess) | %d | %d |" % (pl["ndpi_dpi"], pl["ndpi_with_guess"]))
    out.append("| nDPI, label in spate's set | %d | %d |" % (pl["ndpi_dpi_in_set"], pl["ndpi_with_guess_in_set"]))
    out.append("\n## Per protocol (spate rule/unit vs nDPI DPI)\n")
    out.append(md_table(per))
    out.append("\n## Per protocol with guesses (spate incl. port vs nDPI incl. guess)\n")
    out.append(md_table(per_g))
    if ndpi_other:
        out.append("\n## nDPI labels outside spate's set (DPI)\n")
        out.append(", ".join("%s %d" % (k, v) for k, v in sorted(ndpi_other.items(), key=lambda kv: -kv[1])))
    if errors:
        out.append("\n## Errors\n")
        out.extend("- " + e for e in errors)
    if args.disagreements:
        out.append("\n## Disagreements (spate rule/unit vs nDPI DPI)\n")
        out.append("| kind | file | flow | spate | nDPI | payload |")
        out.append("|---|---|---|---|---|---:|")
        order = {"conflict": 0, "ndpi-only": 1, "spate-only": 2}
        for kind, r in sorted(dis, key=lambda d: (order[d[0]], d[1]["file"], d[1]["key"])):
            s = "%s (%s)" % (r["spate"], r["spate_by"]) if r["spate"] else ("-" if r["in_spate"] else "(no record)")
            out.append("| %s | %s | %s | %s | %s | %s |" % (
                kind, r["file"], key_text(r["key"]), s, r["ndpi_dpi_raw"] or "-",
                "" if r["payload"] is None else r["payload"]))
    text = "\n".join(out) + "\n"
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)

    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "captures": len(pcaps), "errors": errors, "spate": args.spate, "mode": mode,
                "ndpi_modes": {"evidence": "ndpiReader -d", "with_guesses": "ndpiReader"},
                "evidence": {"totals": tot, "per_protocol": per},
                "with_guesses": {"totals": tot_g, "per_protocol": per_g},
                "payload": pl, "ndpi_outside_set": dict(ndpi_other),
            }, f, indent=1, sort_keys=True)
            f.write("\n")

    if errors:
        print("compare_ndpi: %d capture(s) failed" % len(errors), file=sys.stderr)
    if args.min_agreement is not None:
        pct = tot["agreement_pct"]
        if pct is None or pct < args.min_agreement:
            print("compare_ndpi: agreement %s%% is below --min-agreement %.1f%% (%d of %d flows both label)"
                  % ("n/a" if pct is None else "%.1f" % pct, args.min_agreement, tot["agree"], tot["both_in_set"]),
                  file=sys.stderr)
            return 1
        # The other half of the target: spate labels (by rule or unit) at
        # least as many flows with payload as nDPI does by DPI.
        if pl["spate_by_evidence"] < pl["ndpi_dpi"]:
            print("compare_ndpi: spate labels %d flows with payload by rule or unit, nDPI %d by DPI"
                  % (pl["spate_by_evidence"], pl["ndpi_dpi"]), file=sys.stderr)
            return 1
        if errors:
            return 1
        print("compare_ndpi: agreement %.1f%% (at least %.1f%%) on %d flows both label; flows with "
              "payload labelled: spate %d, nDPI %d" % (pct, args.min_agreement, tot["both_in_set"],
                                                       pl["spate_by_evidence"], pl["ndpi_dpi"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
