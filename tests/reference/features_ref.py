#!/usr/bin/python3
"""Independent reference for spate's intraflow features (docs/record-schema.md).

Reads one capture file (pcap or pcapng, chosen by magic) and prints one JSON
object per flow, in order of each flow's first packet, with the flow identity
and the fields of the units splt, bd, entropy, idp, ip and tcp.

Written from the schema alone, with the Python standard library and dpkt (for
the capture-file headers), so that it can serve as the golden reference for the
C++ implementation. It is deliberately narrow:

* link types Ethernet (with 802.1Q/802.1ad tags), Linux SLL, raw IP and NULL;
* IPv4 and IPv6 (hop-by-hop, routing, destination options and AH are walked);
* no tunnel decapsulation and no fragment handling: IP fragments and tunnelled
  packets are skipped, not counted, and a warning goes to stderr, so a capture
  that produces a warning must not be used as a golden capture;
* no timeouts: one flow per (version, protocol, unordered endpoints).

Timestamps are kept as exact integer nanoseconds (record headers are read
here, not through dpkt's float timestamps).
"""

import argparse
import ipaddress
import json
import math
import struct
import sys
from fractions import Fraction

import dpkt

M32 = 0xFFFFFFFF

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# UDP ports whose traffic tshark/spate decapsulate as tunnels (VXLAN, Geneve,
# GTP-U, Teredo, L2TP, AYIYA). This reference does not decapsulate them.
TUNNEL_UDP_PORTS = {4789, 6081, 2152, 3544, 1701, 5072}
# IP protocols that carry IP or Ethernet: IPv4, IPv6, GRE, EtherIP, L2TPv3.
TUNNEL_IP_PROTOS = {4, 41, 47, 97, 115}


class Warnings:
    """Counts of the packets this reference did not handle, by reason."""

    def __init__(self):
        self.counts = {}

    def add(self, reason):
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def report(self, name):
        for reason, n in sorted(self.counts.items()):
            print(f"WARNING: {name}: {n} packet(s): {reason}; "
                  "do not use this capture as a golden reference", file=sys.stderr)
        return bool(self.counts)


# --------------------------------------------------------------------------
# Capture files: (integer ns timestamp, link type, frame bytes)
# --------------------------------------------------------------------------

def read_pcap(f):
    """Yields (ts_ns, linktype, data, wire_len) from a classic pcap file."""
    f.seek(0)
    reader = dpkt.pcap.Reader(f)  # validates the magic and the file header
    linktype = reader.datalink()
    f.seek(0)
    magic_bytes = f.read(4)
    f.seek(dpkt.pcap.FileHdr.__hdr_len__)
    le = magic_bytes in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    nano = magic_bytes in (b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1")
    hdr_cls = dpkt.pcap.LEPktHdr if le else dpkt.pcap.PktHdr
    hdr_len = hdr_cls.__hdr_len__
    while True:
        buf = f.read(hdr_len)
        if not buf:
            return
        if len(buf) < hdr_len:
            print("WARNING: capture ends inside a record header", file=sys.stderr)
            return
        hdr = hdr_cls(buf)
        data = f.read(hdr.caplen)
        if len(data) < hdr.caplen:
            print("WARNING: capture ends inside a record", file=sys.stderr)
            return
        frac = hdr.tv_usec if nano else hdr.tv_usec * 1000
        yield hdr.tv_sec * 1_000_000_000 + frac, linktype, data, hdr.len


def read_pcapng(f):
    """Yields (ts_ns, linktype, data, wire_len) from a pcapng file, all interfaces."""
    f.seek(0)
    dpkt.pcapng.Reader(f)  # validates the section header and the first IDB
    f.seek(0)
    le = True
    interfaces = []  # (linktype, units per second as (base, exponent), offset s)
    while True:
        head = f.read(8)
        if len(head) < 8:
            return
        btype = struct.unpack("<I", head[:4])[0]
        if btype == dpkt.pcapng.PCAPNG_BT_SHB:
            bom = f.read(4)
            le = bom == b"\x4d\x3c\x2b\x1a"
            blen = struct.unpack("<I" if le else ">I", head[4:])[0]
            f.read(blen - 12)
            interfaces = []
            continue
        blen = struct.unpack("<I" if le else ">I", head[4:])[0]
        if blen < 12:
            print("WARNING: bad pcapng block length", file=sys.stderr)
            return
        body = f.read(blen - 8)
        if len(body) < blen - 8:
            print("WARNING: capture ends inside a pcapng block", file=sys.stderr)
            return
        buf = head + body
        btype = struct.unpack("<I" if le else ">I", head[:4])[0]
        if btype == dpkt.pcapng.PCAPNG_BT_IDB:
            idb = (dpkt.pcapng.InterfaceDescriptionBlockLE(buf) if le
                   else dpkt.pcapng.InterfaceDescriptionBlock(buf))
            base, exp, offset = 10, 6, 0
            for opt in idb.opts:
                if opt.code == dpkt.pcapng.PCAPNG_OPT_IF_TSRESOL:
                    v = opt.data[0]
                    base, exp = (2, v & 0x7F) if v & 0x80 else (10, v)
                elif opt.code == dpkt.pcapng.PCAPNG_OPT_IF_TSOFFSET:
                    offset = struct.unpack("<q" if le else ">q", opt.data[:8])[0]
            interfaces.append((idb.linktype, base, exp, offset))
        elif btype in (dpkt.pcapng.PCAPNG_BT_EPB, dpkt.pcapng.PCAPNG_BT_PB):
            fmt = "<IIIII" if le else ">IIIII"
            if_id, ts_high, ts_low, caplen, origlen = struct.unpack(fmt, buf[8:28])
            if btype == dpkt.pcapng.PCAPNG_BT_PB:
                if_id &= 0xFFFF
            linktype, base, exp, offset = interfaces[if_id]
            ticks = (ts_high << 32) | ts_low
            ts_ns = ticks * 1_000_000_000 // (base ** exp) + offset * 1_000_000_000
            yield ts_ns, linktype, buf[28:28 + caplen], origlen
        elif btype == 3:  # simple packet block: no timestamp
            print("WARNING: simple packet block without timestamp skipped", file=sys.stderr)


def read_capture(f):
    magic = f.read(4)
    f.seek(0)
    if magic == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(f)
    return read_pcap(f)


# --------------------------------------------------------------------------
# Packet decoding
# --------------------------------------------------------------------------

class Pkt:
    """What the features need from one IP packet."""
    __slots__ = ("ts", "version", "proto", "src", "dst", "sport", "dport",
                 "ip_bytes", "ttl", "ipid", "payload_len", "payload",
                 "tcp_seq", "tcp_flags", "tcp_win", "tcp_opts", "tcp_opt_len")


def link_to_ip(linktype, data, warn):
    """Returns the offset of the IP header, or None for a frame without IP."""
    if linktype == 1:  # Ethernet
        if len(data) < 14:
            return None
        off = 12
        etype = struct.unpack_from(">H", data, off)[0]
        off += 2
        while etype in (0x8100, 0x88A8, 0x9100):
            if len(data) < off + 4:
                return None
            etype = struct.unpack_from(">H", data, off + 2)[0]
            off += 4
        if etype in (0x0800, 0x86DD):
            return off
        if etype in (0x8847, 0x8848, 0x8864, 0x88BE, 0x22EB):
            warn.add(f"ethertype 0x{etype:04x} (MPLS/PPPoE/ERSPAN) not decoded, skipped")
        return None
    if linktype == 113:  # Linux cooked capture v1
        if len(data) < 16:
            return None
        etype = struct.unpack_from(">H", data, 14)[0]
        return 16 if etype in (0x0800, 0x86DD) else None
    if linktype in (101, 12, 14, 228, 229):  # raw IP
        return 0
    if linktype == 0:  # BSD loopback: address family in the writer's byte order
        if len(data) < 4:
            return None
        fam = struct.unpack_from("<I", data, 0)[0]
        if fam > 0xFFFF:
            fam = struct.unpack_from(">I", data, 0)[0]
        return 4 if fam in (2, 24, 28, 30) else None
    warn.add(f"link type {linktype} not supported, skipped")
    return None


def parse_tcp_options(raw):
    """The option list as the schema prints it; stops at a malformed length."""
    names = {(2, 4): "mss", (3, 3): "ws", (4, 2): "sackp", (8, 10): "ts"}
    opts = []
    i = 0
    while i < len(raw):
        kind = raw[i]
        if kind == 0:
            opts.append({"kind": 0, "name": "eol"})
            break
        if kind == 1:
            opts.append({"kind": 1, "name": "nop"})
            i += 1
            continue
        if i + 1 >= len(raw):
            break
        length = raw[i + 1]
        if length < 2 or i + length > len(raw):
            break
        body = raw[i + 2:i + length]
        o = {"kind": kind}
        if (kind, length) in names:
            o["name"] = names[(kind, length)]
        o["len"] = length
        if kind == 2 and length == 4:
            o["value"] = struct.unpack(">H", body)[0]
        elif kind == 3 and length == 3:
            o["value"] = body[0]
        elif kind == 8 and length == 10:
            o["tsval"], o["tsecr"] = struct.unpack(">II", body)
        opts.append(o)
        i += length
    return opts


def decode(ts, linktype, data, wire_len, warn):
    """Returns a Pkt, or None for a frame this reference does not count."""
    off = link_to_ip(linktype, data, warn)
    if off is None or len(data) < off + 1:
        return None
    version = data[off] >> 4
    p = Pkt()
    p.ts = ts
    if version == 4:
        if len(data) < off + 20:
            warn.add("IPv4 header cut by the snaplen, skipped")
            return None
        ihl = (data[off] & 0x0F) * 4
        total_len, ipid, frag, ttl, proto = struct.unpack_from(">HHHBB", data, off + 2)
        if ihl < 20 or len(data) < off + ihl:
            warn.add("malformed IPv4 header, skipped")
            return None
        if total_len < ihl:
            warn.add("IPv4 total length smaller than the header (0 from TSO?), skipped")
            return None
        if frag & 0x3FFF:  # MF set or a non-zero offset
            warn.add("IP fragment, skipped (not handled by this reference)")
            return None
        p.src, p.dst = data[off + 12:off + 16], data[off + 16:off + 20]
        p.ip_bytes = total_len
        p.ttl, p.ipid = ttl, ipid
        l4 = off + ihl
        l4_len = total_len - ihl  # transport bytes according to the header
        if proto == 51:  # AH: the protocol is the one after it
            if len(data) < l4 + 2:
                warn.add("AH header cut by the snaplen, skipped")
                return None
            ah_len = (data[l4 + 1] + 2) * 4
            proto = data[l4]
            l4 += ah_len
            l4_len -= ah_len
    elif version == 6:
        if len(data) < off + 40:
            warn.add("IPv6 header cut by the snaplen, skipped")
            return None
        plen, nh, hlim = struct.unpack_from(">HBB", data, off + 4)
        p.src, p.dst = data[off + 8:off + 24], data[off + 24:off + 40]
        p.ip_bytes = plen + 40
        p.ttl, p.ipid = hlim, None
        l4 = off + 40
        l4_len = plen
        while nh in (0, 43, 60, 51, 44):
            if nh == 44:
                warn.add("IP fragment, skipped (not handled by this reference)")
                return None
            if len(data) < l4 + 2:
                warn.add("IPv6 extension header cut by the snaplen, skipped")
                return None
            ext_len = (data[l4 + 1] + 2) * 4 if nh == 51 else (data[l4 + 1] + 1) * 8
            nh = data[l4]
            l4 += ext_len
            l4_len -= ext_len
        proto = nh
    else:
        return None

    if off + p.ip_bytes > wire_len:
        # Not a snaplen cut: the frame on the wire was shorter than the IP
        # header says. Counted with the header's lengths as the schema says,
        # but tshark bounds tcp.len by the frame, so the oracle differs.
        warn.add("IP length larger than the frame's wire length (counted from the headers)")
    p.version = version
    p.proto = proto
    p.sport = p.dport = 0
    p.payload_len = 0
    p.payload = b""
    p.tcp_seq = None
    if proto in TUNNEL_IP_PROTOS:
        warn.add(f"tunnel (IP protocol {proto}) not decapsulated by this reference, skipped")
        return None
    if proto == 6:
        if len(data) < l4 + 20:
            warn.add("TCP header cut by the snaplen, skipped")
            return None
        p.sport, p.dport, seq, _ack, doff_byte, flags, win = struct.unpack_from(
            ">HHIIBBH", data, l4)
        doff = (doff_byte >> 4) * 4
        if doff < 20:
            warn.add("malformed TCP data offset, skipped")
            return None
        p.tcp_seq, p.tcp_flags, p.tcp_win = seq, flags, win
        p.tcp_opt_len = doff - 20
        p.tcp_opts = parse_tcp_options(data[l4 + 20:min(l4 + doff, len(data))])
        p.payload_len = max(0, l4_len - doff)
        start = l4 + doff
    elif proto == 17:
        if len(data) < l4 + 8:
            warn.add("UDP header cut by the snaplen, skipped")
            return None
        p.sport, p.dport, ulen = struct.unpack_from(">HHH", data, l4)
        if p.sport in TUNNEL_UDP_PORTS or p.dport in TUNNEL_UDP_PORTS:
            warn.add("UDP tunnel port (VXLAN/Geneve/GTP-U/Teredo/L2TP/AYIYA) not decapsulated, skipped")
            return None
        p.payload_len = max(0, ulen - 8)
        start = l4 + 8
    else:
        start = None
    if start is not None and p.payload_len > 0:
        p.payload = data[start:start + p.payload_len]
    # The IP packet as captured, for idp: never beyond the header's length
    # (Ethernet padding is not part of it).
    p_ip = data[off:off + p.ip_bytes]
    return p, p_ip


# --------------------------------------------------------------------------
# Flows and features
# --------------------------------------------------------------------------

class Flow:
    def __init__(self, index, pkt):
        self.index = index
        if pkt.proto == 6 and pkt.tcp_flags & (SYN | ACK) == (SYN | ACK):
            self.init = (pkt.dst, pkt.dport)  # a SYN-ACK first: its receiver
        else:
            self.init = (pkt.src, pkt.sport)
        self.resp = (pkt.dst, pkt.dport) if self.init == (pkt.src, pkt.sport) \
            else (pkt.src, pkt.sport)
        self.version, self.proto = pkt.version, pkt.proto
        self.pkts = []  # (direction 0 out / 1 in, Pkt, captured IP bytes)


def sdiff(a, b):
    """a - b in 32-bit serial arithmetic, as a signed number."""
    d = (a - b) & M32
    return d - (1 << 32) if d & 0x80000000 else d


def tcp_classify(flow):
    """Per packet: 'retrans', 'ooo', 'in', or None (no payload); per direction counts."""
    high = [None, None]
    labels = []
    for d, p, _ in flow.pkts:
        syn = 1 if p.tcp_flags & SYN else 0
        L = p.payload_len
        if high[d] is None:
            # The direction's first segment sets high; its data is in order.
            high[d] = (p.tcp_seq + syn + L) & M32
            labels.append("in" if L > 0 else None)
            continue
        if L == 0:
            labels.append(None)
            continue
        start = (p.tcp_seq + syn) & M32  # a SYN's data starts after the SYN
        end = (start + L) & M32
        if sdiff(end, high[d]) <= 0:
            labels.append("retrans")
        elif sdiff(start, high[d]) > 0:
            labels.append("ooo")
        else:
            labels.append("in")
        if sdiff(end, high[d]) > 0:
            high[d] = end
    return labels


def addr_text(b):
    return str(ipaddress.ip_address(bytes(b)))


def flow_record(flow, args):
    out = {
        "sa": addr_text(flow.init[0]), "da": addr_text(flow.resp[0]),
        "sp": flow.init[1], "dp": flow.resp[1], "pr": flow.proto,
        "ip_version": flow.version,
        "num_pkts_out": sum(1 for d, _, _ in flow.pkts if d == 0),
        "num_pkts_in": sum(1 for d, _, _ in flow.pkts if d == 1),
    }
    is_tcp = flow.proto == 6
    labels = tcp_classify(flow) if is_tcp else [None] * len(flow.pkts)

    # splt
    packets = []
    truncated = False
    prev_ts = None
    for (d, p, _), label in zip(flow.pkts, labels):
        ipt = 0 if prev_ts is None else max(0, (p.ts - prev_ts) // 1_000_000)
        prev_ts = p.ts
        if p.payload_len == 0 and not args.splt_zero:
            continue
        if label == "retrans" and not args.splt_retrans:
            continue
        if len(packets) < args.splt:
            packets.append({"b": p.payload_len, "dir": ">" if d == 0 else "<", "ipt": ipt})
        else:
            truncated = True
    out["packets"] = packets
    if truncated:
        out["packets_truncated"] = True

    # bd and entropy
    counts = [0] * 256
    n = 0
    bd_truncated = False
    for _, p, _ in flow.pkts:
        data = p.payload
        if args.bd_bytes:
            room = args.bd_bytes - n
            if len(data) > room:
                data = data[:room]
                bd_truncated = True
        for b in data:
            counts[b] += 1
        n += len(data)
    out["byte_dist"] = counts
    if n:
        s1 = sum(v * c for v, c in enumerate(counts))
        s2 = sum(v * v * c for v, c in enumerate(counts))
        out["byte_dist_mean"] = float(Fraction(s1, n))
        out["byte_dist_std"] = math.sqrt(Fraction(n * s2 - s1 * s1, n * n))
    else:
        out["byte_dist_mean"] = 0.0
        out["byte_dist_std"] = 0.0
    out["compact_byte_dist"] = [sum(counts[i * 16:(i + 1) * 16]) for i in range(16)]
    if bd_truncated:
        out["byte_dist_truncated"] = True
    if n:
        h = -math.fsum((c / n) * math.log2(c / n) for c in counts if c)
        h = h + 0.0  # no -0.0
        out["entropy"] = h
        out["total_entropy"] = h * n

    # idp
    for d, name in ((0, "out"), (1, "in")):
        for dd, p, ip_bytes in flow.pkts:
            if dd == d and p.payload_len > 0:
                raw = ip_bytes[:args.idp]
                out["idp_" + name] = raw.hex()
                out["idp_len_" + name] = len(raw)
                break

    # ip
    ip = {}
    for d, name in ((0, "out"), (1, "in")):
        dp = [p for dd, p, _ in flow.pkts if dd == d]
        if dp:
            ip[name] = {
                "ttl": min(p.ttl for p in dp),
                "id": [p.ipid for p in dp[:10]] if flow.version == 4 else [],
            }
    out["ip"] = ip

    # tcp
    if is_tcp:
        tcp = {}
        first_out = next((p for d, p, _ in flow.pkts if d == 0), None)
        if first_out is not None:
            tcp["first_seq"] = first_out.tcp_seq
        for d, name in ((0, "out"), (1, "in")):
            dp = [(p, lab) for (dd, p, _), lab in zip(flow.pkts, labels) if dd == d]
            if not dp:
                continue
            flags = 0
            for p, _ in dp:
                flags |= p.tcp_flags
            opt_pkt = next((p for p, _ in dp if p.tcp_flags & SYN), dp[0][0])
            tcp[name] = {
                "flags": flags,
                "first_window_size": dp[0][0].tcp_win,
                "opt_len": opt_pkt.tcp_opt_len,
                "opts": opt_pkt.tcp_opts,
                "retrans": sum(1 for _, lab in dp if lab == "retrans"),
                "out_of_order": sum(1 for _, lab in dp if lab == "ooo"),
                "zero_window": sum(1 for p, _ in dp
                                   if p.tcp_win == 0 and not p.tcp_flags & RST),
            }
        out["tcp"] = tcp
    return out


def run(path, args, stream=sys.stdout):
    warn = Warnings()
    flows = {}
    order = []
    with open(path, "rb") as f:
        last_ts = None
        for ts, linktype, data, wire_len in read_capture(f):
            if last_ts is not None and ts < last_ts:
                warn.add("timestamp earlier than the previous frame's (ipt clamped to 0)")
            last_ts = ts
            r = decode(ts, linktype, data, wire_len, warn)
            if r is None:
                continue
            p, ip_bytes = r
            a, b = (p.src, p.sport), (p.dst, p.dport)
            key = (p.version, p.proto) + ((a, b) if a <= b else (b, a))
            flow = flows.get(key)
            if flow is None:
                flow = flows[key] = Flow(len(order), p)
                order.append(flow)
            d = 0 if (p.src, p.sport) == flow.init else 1
            flow.pkts.append((d, p, ip_bytes))
    for flow in order:
        stream.write(json.dumps(flow_record(flow, args)) + "\n")
    return warn.report(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--splt", type=int, default=50)
    ap.add_argument("--splt-zero", action="store_true")
    ap.add_argument("--splt-retrans", action="store_true")
    ap.add_argument("--bd-bytes", type=int, default=0)
    ap.add_argument("--idp", type=int, default=1500)
    ap.add_argument("--fail-on-warning", action="store_true",
                    help="exit with status 3 when packets were skipped")
    args = ap.parse_args(argv)
    if not 1 <= args.splt <= 1000:
        ap.error("--splt must be between 1 and 1000")
    if not 1 <= args.idp <= 1500:
        ap.error("--idp must be between 1 and 1500")
    if args.bd_bytes < 0:
        ap.error("--bd-bytes must be >= 0")
    warned = run(args.capture, args)
    return 3 if warned and args.fail_on_warning else 0


if __name__ == "__main__":
    sys.exit(main())
