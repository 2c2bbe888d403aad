#!/usr/bin/python3
"""Tests of features_ref.py on tiny captures built byte by byte here.

The captures are written with struct.pack (not with dpkt), and every expected
value below was worked out by hand from docs/record-schema.md.
Run: cd tests/reference && /usr/bin/python3 -m unittest -v test_features_ref
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "features_ref.py")

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")


# ---------------------------------------------------------------- builders

def ip4(text):
    return bytes(int(x) for x in text.split("."))


def eth(payload, ethertype=0x0800, vlan=None, pad_byte=0xEE):
    """Ethernet II frame, padded to 60 bytes with pad_byte (not zeros, so that
    padding counted as payload would show in the byte distribution)."""
    hdr = MAC_B + MAC_A
    if vlan is not None:
        hdr += struct.pack(">HH", 0x8100, vlan)
    frame = hdr + struct.pack(">H", ethertype) + payload
    if len(frame) < 60:
        frame += bytes([pad_byte]) * (60 - len(frame))
    return frame


def ipv4(src, dst, proto, l4, ttl=64, ident=0, frag=0x4000):
    total = 20 + len(l4)
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, ident, frag, ttl, proto, 0,
                       ip4(src), ip4(dst)) + l4


def ipv6(src, dst, nh, l4, hlim=64, ext=b""):
    return struct.pack(">IHBB16s16s", 6 << 28, len(ext) + len(l4), nh, hlim,
                       src, dst) + ext + l4


def tcp(sport, dport, seq, ack, flags, win, opts=b"", data=b""):
    assert len(opts) % 4 == 0
    doff = (20 + len(opts)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, win,
                       0, 0) + opts + data


def udp(sport, dport, data):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def pcap(records, linktype=1, nano=False, big_endian=False):
    """records: (ts_ns, frame). Microsecond files need whole microseconds."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for ts, frame in records:
        sec, frac = divmod(ts, 1_000_000_000)
        if not nano:
            assert frac % 1000 == 0
            frac //= 1000
        out += struct.pack(e + "IIII", sec, frac, len(frame), len(frame)) + frame
    return out


def pcapng(records, linktype=1):
    """Little-endian pcapng, one interface with if_tsresol 9 (nanoseconds)."""
    def block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = len(body) + 12
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    tsresol = struct.pack("<HH", 9, 1) + b"\x09\0\0\0" + struct.pack("<HH", 0, 0)
    idb = block(1, struct.pack("<HHI", linktype, 0, 65535) + tsresol)
    out = shb + idb
    for ts, frame in records:
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF,
                                    len(frame), len(frame)) + frame)
    return out


def entropy(counts):
    n = sum(counts)
    return -sum(c / n * math.log2(c / n) for c in counts if c)


def run_ref(path, *opts):
    proc = subprocess.run([sys.executable, SCRIPT, *opts, path],
                          capture_output=True, text=True, check=True)
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


# ---------------------------------------------------------------- captures

C, S = "10.0.0.1", "10.0.0.2"
T0 = 1_700_000_000 * 1_000_000_000
MS = 1_000_000
US = 1_000

# SYN options: mss 1460, sackp, ts(100, 0), nop, ws 7 (20 bytes, Linux order)
SYN_OPTS = bytes.fromhex("020405b4") + bytes.fromhex("0402") + \
    bytes.fromhex("080a0000006400000000") + b"\x01" + bytes.fromhex("030307")
# SYN-ACK options: mss 1400, nop, nop, sackp, nop, ws 5 (12 bytes)
SYNACK_OPTS = bytes.fromhex("02040578") + b"\x01\x01" + bytes.fromhex("0402") + \
    b"\x01" + bytes.fromhex("030305")


def tcp_capture():
    """One TCP connection on Ethernet, microsecond pcap."""
    def c2s(i, ts, seq, flags, win, opts=b"", data=b"", ttl=64):
        return (ts, eth(ipv4(C, S, 6, tcp(40000, 80, seq, 5001, flags, win, opts, data),
                             ttl=ttl, ident=i)))

    def s2c(i, ts, seq, flags, win, opts=b"", data=b""):
        return (ts, eth(ipv4(S, C, 6, tcp(80, 40000, seq, 1001, flags, win, opts, data),
                             ttl=60, ident=i)))
    return [
        c2s(1, T0, 1000, SYN, 64240, SYN_OPTS),                               # 1
        s2c(0, T0 + 1500 * US, 5000, SYN | ACK, 65160, SYNACK_OPTS),          # 2
        c2s(2, T0 + 2 * MS, 1001, ACK, 502),                                  # 3 padded
        c2s(3, T0 + 10 * MS, 1001, PSH | ACK, 502, data=b"ABCD"),             # 4 padded
        c2s(4, T0 + 20999 * US, 1005, PSH | ACK, 502, data=b"EFGH"),          # 5
        c2s(5, T0 + 30 * MS, 1001, PSH | ACK, 502, data=b"ABCD"),             # 6 retrans
        c2s(6, T0 + 40 * MS, 1013, PSH | ACK, 502, data=b"MNOP", ttl=63),     # 7 out of order
        c2s(7, T0 + 50 * MS, 1009, PSH | ACK, 502, data=b"IJKL"),             # 8 retrans (fills gap)
        c2s(8, T0 + 52 * MS, 1013, PSH | ACK, 502, data=b"MNOP"),             # 8b retrans, S+L == high
        c2s(9, T0 + 53 * MS, 1015, PSH | ACK, 502, data=b"OPQR"),             # 8c overlap: in order
        s2c(100, T0 + 55 * MS, 5001, PSH | ACK, 65160, data=b"xyz"),          # 9
        s2c(101, T0 + 60 * MS, 5004, ACK, 0),                                 # 10 zero window
        s2c(102, T0 + 70 * MS, 5004, RST | ACK, 0),                           # 11 RST: not counted
    ]


def synack_first_capture():
    """A flow whose first packet is a SYN-ACK, on Linux SLL."""
    def sll(ip_pkt):
        return struct.pack(">HHH8sH", 0, 1, 6, MAC_A + b"\0\0", 0x0800) + ip_pkt
    srv, cli = "10.1.1.2", "10.1.1.1"
    # unknown kind 30 len 4, nop, eol, then zero padding after the eol
    odd_opts = bytes.fromhex("1e04aabb") + b"\x01\x00\x00\x00"
    # mss 1460, then a SACK option claiming 9 bytes where only 4 are left
    bad_opts = bytes.fromhex("020405b4") + bytes.fromhex("05090000")
    return [
        (T0, sll(ipv4(srv, cli, 6, tcp(443, 51000, 7000, 3001, SYN | ACK, 1000, odd_opts),
                      ttl=50, ident=9))),
        (T0 + 3 * MS, sll(ipv4(cli, srv, 6, tcp(51000, 443, 3001, 7001, ACK, 2000, bad_opts),
                               ttl=128, ident=1))),
        (T0 + 7 * MS, sll(ipv4(cli, srv, 6, tcp(51000, 443, 3001, 7001, PSH | ACK, 2000,
                                                data=b"hi"), ttl=128, ident=2))),
        (T0 + 8 * MS, sll(ipv4(srv, cli, 6, tcp(443, 51000, 7001, 3003, PSH | ACK, 1000,
                                                data=b"ok!"), ttl=50, ident=10))),
    ]


V6A = bytes.fromhex("20010db8000000000000000000000001")
V6B = bytes.fromhex("20010db8000000000000000000000002")
# hop-by-hop header: next header UDP, length 0 (8 bytes), PadN of 4 + 2 bytes
HBH = bytes([17, 0]) + bytes.fromhex("0104000000000000")[:6]
TN = 10 * 1_000_000_000 + 500  # nanosecond timestamps


def udp_capture():
    """Nanosecond big-endian pcap: an IPv6 UDP flow with a hop-by-hop header,
    and an IPv4 UDP flow on VLAN 7 with 12 packets one way."""
    recs = [
        (TN, eth(ipv6(V6A, V6B, 0, udp(5353, 53, b"\x00\xff\x10"), hlim=64, ext=HBH),
                 ethertype=0x86DD)),
        (TN + 1_999_999, eth(ipv6(V6B, V6A, 0, udp(53, 5353, b"\x10\x10"), hlim=255,
                                  ext=HBH), ethertype=0x86DD)),
        (TN + 1_999_999 + 1_000_001, eth(ipv6(V6A, V6B, 0, udp(5353, 53, b""), hlim=30,
                                              ext=HBH), ethertype=0x86DD)),
    ]
    t = TN + 5 * MS
    for i in range(12):
        data = b"" if i == 5 else bytes([i, 0x41])
        recs.append((t + i * MS, eth(ipv4("192.0.2.1", "192.0.2.9", 17, udp(1234, 5678, data),
                                          ttl=40 + i, ident=1000 + i), vlan=7, pad_byte=0xAA)))
    return recs


def skip_capture():
    """pcapng with one good UDP packet, an IPv4 fragment and a GRE packet."""
    good = eth(ipv4("192.0.2.1", "192.0.2.2", 17, udp(1000, 2000, b"abc")))
    frag = eth(ipv4("192.0.2.1", "192.0.2.2", 17, udp(1000, 2000, b"xxxxxxxx"), frag=0x2000))
    gre = eth(ipv4("192.0.2.5", "192.0.2.6", 47, b"\0\0\x08\0" + ipv4(C, S, 17, udp(1, 2, b"z"))))
    return [(TN, good), (TN + 1, frag), (TN + 2, gre)]


# ---------------------------------------------------------------- tests

class Base(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.files = {}
        for name, data in (
                ("tcp.pcap", pcap(tcp_capture())),
                ("synack.pcap", pcap(synack_first_capture(), linktype=113)),
                ("udp.pcap", pcap(udp_capture(), nano=True, big_endian=True)),
                ("skip.pcapng", pcapng(skip_capture()))):
            path = os.path.join(cls.tmp.name, name)
            with open(path, "wb") as f:
                f.write(data)
            cls.files[name] = path

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def one(self, name, *opts):
        flows, err = run_ref(self.files[name], *opts)
        self.assertEqual(err, "")
        return flows


class TcpFlow(Base):
    def test_identity(self):
        flows = self.one("tcp.pcap")
        self.assertEqual(len(flows), 1)
        f = flows[0]
        self.assertEqual((f["sa"], f["da"], f["sp"], f["dp"], f["pr"], f["ip_version"]),
                         (C, S, 40000, 80, 6, 4))
        self.assertEqual((f["num_pkts_out"], f["num_pkts_in"]), (9, 4))

    def test_splt_default(self):
        f = self.one("tcp.pcap")[0]
        # payload packets without retransmissions; ipt from the previous packet of
        # the flow, listed or not: 10.000-2.000 ms, 20.999-10 ms, 40-30 ms, 53-52 ms,
        # 55-53 ms
        self.assertEqual(f["packets"], [
            {"b": 4, "dir": ">", "ipt": 8},
            {"b": 4, "dir": ">", "ipt": 10},
            {"b": 4, "dir": ">", "ipt": 10},
            {"b": 4, "dir": ">", "ipt": 1},
            {"b": 3, "dir": "<", "ipt": 2},
        ])
        self.assertNotIn("packets_truncated", f)

    def test_splt_retrans(self):
        f = self.one("tcp.pcap", "--splt-retrans")[0]
        self.assertEqual([(p["b"], p["ipt"]) for p in f["packets"]],
                         [(4, 8), (4, 10), (4, 9), (4, 10), (4, 10), (4, 2), (4, 1), (3, 2)])

    def test_splt_zero_and_bound(self):
        f = self.one("tcp.pcap", "--splt-zero", "--splt", "3")[0]
        # SYN (0), SYN-ACK after 1.5 ms (1), ACK after 0.5 ms (0); more qualify
        self.assertEqual(f["packets"], [
            {"b": 0, "dir": ">", "ipt": 0},
            {"b": 0, "dir": "<", "ipt": 1},
            {"b": 0, "dir": ">", "ipt": 0},
        ])
        self.assertIs(f["packets_truncated"], True)
        g = self.one("tcp.pcap", "--splt-zero")[0]
        # all but the three retransmissions; the RST comes 10 ms after the zero window
        self.assertEqual(len(g["packets"]), 10)
        self.assertEqual(g["packets"][-1], {"b": 0, "dir": "<", "ipt": 10})

    def test_byte_dist(self):
        f = self.one("tcp.pcap")[0]
        # payloads incl. retransmissions: ABCD EFGH ABCD MNOP IJKL MNOP OPQR xyz;
        # the 0xEE padding is not counted
        counts = [0] * 256
        for ch in "ABCDMNOP":
            counts[ord(ch)] = 2
        counts[ord("O")] = counts[ord("P")] = 3
        for ch in "EFGHIJKLQRxyz":
            counts[ord(ch)] = 1
        self.assertEqual(f["byte_dist"], counts)
        self.assertEqual(f["byte_dist"][0xEE], 0)
        compact = [0] * 16
        # 65..79: A-O = 2*4 + 4 + 4 + 2*2 + 3 = 23; 80..95: P Q R = 3 + 1 + 1; x y z
        compact[4], compact[5], compact[7] = 23, 5, 3
        self.assertEqual(f["compact_byte_dist"], compact)
        values = [v for v, c in enumerate(counts) for _ in range(c)]
        self.assertEqual(len(values), 31)
        mean = sum(values) / 31
        self.assertAlmostEqual(f["byte_dist_mean"], mean, places=12)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / 31)  # population
        self.assertAlmostEqual(f["byte_dist_std"], std, places=9)
        # 6 values twice (A-D, M, N), 2 three times (O, P), 13 once: 12 + 6 + 13 = 31
        h = -(6 * (2 / 31) * math.log2(2 / 31) + 2 * (3 / 31) * math.log2(3 / 31)
              + 13 * (1 / 31) * math.log2(1 / 31))
        self.assertAlmostEqual(f["entropy"], h, places=12)
        self.assertAlmostEqual(f["total_entropy"], h * 31, places=9)
        self.assertNotIn("byte_dist_truncated", f)

    def test_byte_dist_limit(self):
        f = self.one("tcp.pcap", "--bd-bytes", "10")[0]
        # the first 10 payload bytes: ABCD EFGH AB
        counts = [0] * 256
        for ch in "ABCDEFGHAB":
            counts[ord(ch)] += 1
        self.assertEqual(f["byte_dist"], counts)
        self.assertIs(f["byte_dist_truncated"], True)
        self.assertAlmostEqual(f["entropy"], entropy(counts), places=12)
        self.assertAlmostEqual(f["total_entropy"], entropy(counts) * 10, places=9)

    def test_idp(self):
        f = self.one("tcp.pcap")[0]
        # packet 4: 20 IP + 20 TCP + 4 data = 44 bytes; the 2 padding bytes excluded
        exp_out = ipv4(C, S, 6, tcp(40000, 80, 1001, 5001, PSH | ACK, 502, data=b"ABCD"),
                       ident=3)
        self.assertEqual(f["idp_out"], exp_out.hex())
        self.assertEqual(f["idp_len_out"], 44)
        exp_in = ipv4(S, C, 6, tcp(80, 40000, 5001, 1001, PSH | ACK, 65160, data=b"xyz"),
                      ttl=60, ident=100)
        self.assertEqual(f["idp_in"], exp_in.hex())
        self.assertEqual(f["idp_len_in"], 43)
        g = self.one("tcp.pcap", "--idp", "30")[0]
        self.assertEqual(g["idp_out"], exp_out[:30].hex())
        self.assertEqual(g["idp_len_out"], 30)

    def test_ip(self):
        f = self.one("tcp.pcap")[0]
        self.assertEqual(f["ip"], {"out": {"ttl": 63, "id": [1, 2, 3, 4, 5, 6, 7, 8, 9]},
                                   "in": {"ttl": 60, "id": [0, 100, 101, 102]}})

    def test_tcp(self):
        f = self.one("tcp.pcap")[0]
        self.assertEqual(f["tcp"], {
            "first_seq": 1000,
            "out": {"flags": SYN | ACK | PSH, "first_window_size": 64240, "opt_len": 20,
                    "opts": [{"kind": 2, "name": "mss", "len": 4, "value": 1460},
                             {"kind": 4, "name": "sackp", "len": 2},
                             {"kind": 8, "name": "ts", "len": 10, "tsval": 100, "tsecr": 0},
                             {"kind": 1, "name": "nop"},
                             {"kind": 3, "name": "ws", "len": 3, "value": 7}],
                    # 1001+4 again: retrans; 1013 > high 1009: out of order;
                    # 1009+4 <= high 1017: retrans (filling the gap); 1013+4 == high:
                    # retrans; 1015+4 > high, 1015 <= high: in order
                    "retrans": 3, "out_of_order": 1, "zero_window": 0},
            "in": {"flags": SYN | ACK | PSH | RST, "first_window_size": 65160, "opt_len": 12,
                   "opts": [{"kind": 2, "name": "mss", "len": 4, "value": 1400},
                            {"kind": 1, "name": "nop"}, {"kind": 1, "name": "nop"},
                            {"kind": 4, "name": "sackp", "len": 2}, {"kind": 1, "name": "nop"},
                            {"kind": 3, "name": "ws", "len": 3, "value": 5}],
                   "retrans": 0, "out_of_order": 0, "zero_window": 1},
        })


class SequenceWrap(Base):
    def test_serial_arithmetic(self):
        # raw IP (DLT 101); the client's sequence numbers wrap past 2^32
        def c2s(ts, seq, flags, data=b""):
            return (ts, ipv4(C, S, 6, tcp(40001, 22, seq, 0, flags, 100, data=data)))
        rec = [
            c2s(T0, 0xFFFFFFF0, SYN),                               # high = ...F1
            c2s(T0 + MS, 0xFFFFFFF1, ACK, b"a" * 16),               # in order, high = 1
            c2s(T0 + 2 * MS, 0x00000001, ACK, b"b" * 4),            # in order, high = 5
            c2s(T0 + 3 * MS, 0xFFFFFFF1, ACK, b"a" * 16),           # retrans (end 1 <= 5)
            c2s(T0 + 4 * MS, 0x00000010, ACK, b"c" * 4),            # out of order (gap)
            c2s(T0 + 5 * MS, 0xFFFFFFFB, ACK, b"d" * 8),            # end 3 <= 0x14: retrans
            # the responder's first packet is a RST with window 0 and 4 nops, and
            # its SYN-ACK only comes later: the options are the SYN-ACK's
            (T0 + 6 * MS, ipv4(S, C, 6, tcp(22, 40001, 500, 0, RST | ACK, 0, b"\x01" * 4))),
            (T0 + 7 * MS, ipv4(S, C, 6, tcp(22, 40001, 900, 0xFFFFFFF1, SYN | ACK, 0,
                                            bytes.fromhex("020404b0")))),
        ]
        path = os.path.join(self.tmp.name, "wrap.pcap")
        with open(path, "wb") as f:
            f.write(pcap(rec, linktype=101))
        f = run_ref(path)[0][0]
        self.assertEqual(f["tcp"]["first_seq"], 0xFFFFFFF0)
        self.assertEqual((f["tcp"]["out"]["retrans"], f["tcp"]["out"]["out_of_order"]), (2, 1))
        self.assertEqual([p["b"] for p in f["packets"]], [16, 4, 4])
        self.assertEqual([p["ipt"] for p in f["packets"]], [1, 1, 1])
        self.assertEqual(f["tcp"]["in"], {
            "flags": RST | ACK | SYN, "first_window_size": 0, "opt_len": 4,
            "opts": [{"kind": 2, "name": "mss", "len": 4, "value": 1200}], "retrans": 0, "out_of_order": 0,
            "zero_window": 1})  # the SYN-ACK with window 0; the RST is not counted


class SynAckFirst(Base):
    def test_flow(self):
        flows = self.one("synack.pcap")
        self.assertEqual(len(flows), 1)
        f = flows[0]
        self.assertEqual((f["sa"], f["sp"], f["da"], f["dp"]), ("10.1.1.1", 51000, "10.1.1.2", 443))
        self.assertEqual((f["num_pkts_out"], f["num_pkts_in"]), (2, 2))
        self.assertEqual(f["packets"], [{"b": 2, "dir": ">", "ipt": 4},
                                        {"b": 3, "dir": "<", "ipt": 1}])
        self.assertEqual(f["ip"], {"out": {"ttl": 128, "id": [1, 2]},
                                   "in": {"ttl": 50, "id": [9, 10]}})
        self.assertEqual(f["tcp"], {
            "first_seq": 3001,  # the initiator's first packet is the plain ACK
            # no SYN from the initiator: options of its first packet, cut at the bad SACK
            "out": {"flags": ACK | PSH, "first_window_size": 2000, "opt_len": 8,
                    "opts": [{"kind": 2, "name": "mss", "len": 4, "value": 1460}],
                    "retrans": 0, "out_of_order": 0, "zero_window": 0},
            "in": {"flags": SYN | ACK | PSH, "first_window_size": 1000, "opt_len": 8,
                   "opts": [{"kind": 30, "len": 4}, {"kind": 1, "name": "nop"},
                            {"kind": 0, "name": "eol"}],
                   "retrans": 0, "out_of_order": 0, "zero_window": 0},
        })
        self.assertEqual(f["idp_len_out"], 42)
        self.assertEqual(f["idp_len_in"], 43)


class Udp(Base):
    def test_ipv6_flow(self):
        flows = self.one("udp.pcap")
        self.assertEqual(len(flows), 2)
        f = flows[0]
        self.assertEqual((f["sa"], f["da"], f["sp"], f["dp"], f["pr"], f["ip_version"]),
                         ("2001:db8::1", "2001:db8::2", 5353, 53, 17, 6))
        self.assertEqual((f["num_pkts_out"], f["num_pkts_in"]), (2, 1))
        # 1.999999 ms -> 1; the empty datagram is left out
        self.assertEqual(f["packets"], [{"b": 3, "dir": ">", "ipt": 0},
                                        {"b": 2, "dir": "<", "ipt": 1}])
        counts = [0] * 256
        counts[0x00], counts[0xFF], counts[0x10] = 1, 1, 3
        self.assertEqual(f["byte_dist"], counts)
        self.assertAlmostEqual(f["byte_dist_mean"], (255 + 48) / 5, places=12)
        mean = (255 + 48) / 5
        var = ((0 - mean) ** 2 + (255 - mean) ** 2 + 3 * (16 - mean) ** 2) / 5
        self.assertAlmostEqual(f["byte_dist_std"], math.sqrt(var), places=9)
        self.assertEqual(f["ip"], {"out": {"ttl": 30, "id": []}, "in": {"ttl": 255, "id": []}})
        self.assertNotIn("tcp", f)
        # 40 IPv6 + 8 hop-by-hop + 8 UDP + 3 data
        self.assertEqual(f["idp_len_out"], 59)
        self.assertEqual(f["idp_out"][:2], "60")
        self.assertEqual(f["idp_len_in"], 58)
        g = self.one("udp.pcap", "--splt-zero")[0]
        self.assertEqual(g["packets"][-1], {"b": 0, "dir": ">", "ipt": 1})  # 1.000001 ms

    def test_ipv4_vlan_flow(self):
        f = self.one("udp.pcap")[1]
        self.assertEqual((f["sa"], f["da"], f["sp"], f["dp"], f["pr"]),
                         ("192.0.2.1", "192.0.2.9", 1234, 5678, 17))
        self.assertEqual((f["num_pkts_out"], f["num_pkts_in"]), (12, 0))
        # 1 ms apart; the empty datagram (i=5) is not listed but still resets ipt
        self.assertEqual(f["packets"][0], {"b": 2, "dir": ">", "ipt": 0})
        self.assertEqual([p["ipt"] for p in f["packets"]], [0] + [1] * 10)
        self.assertEqual(len(f["packets"]), 11)
        self.assertEqual(f["ip"], {"out": {"ttl": 40, "id": list(range(1000, 1010))}})
        # payloads i, 0x41 for 11 packets; the 0xAA padding is not payload
        self.assertEqual(f["byte_dist"][0x41], 11)
        self.assertEqual(f["byte_dist"][0xAA], 0)
        self.assertEqual(sum(f["byte_dist"]), 22)
        self.assertNotIn("idp_in", f)
        self.assertNotIn("idp_len_in", f)
        self.assertEqual(f["idp_len_out"], 30)  # 20 + 8 + 2, padding excluded


class Skipped(Base):
    def test_fragment_and_tunnel_warn(self):
        flows, err = run_ref(self.files["skip.pcapng"])
        self.assertEqual(len(flows), 1)
        self.assertEqual((flows[0]["num_pkts_out"], flows[0]["num_pkts_in"]), (1, 0))
        self.assertEqual(flows[0]["packets"], [{"b": 3, "dir": ">", "ipt": 0}])
        self.assertIn("fragment", err)
        self.assertIn("tunnel", err)
        self.assertIn("WARNING", err)

    def test_no_payload_flow(self):
        # a flow without any payload byte: no entropy, no idp
        rec = [(T0, eth(ipv4(C, S, 6, tcp(1, 2, 0, 0, SYN, 0))))]
        path = os.path.join(self.tmp.name, "syn.pcap")
        with open(path, "wb") as f:
            f.write(pcap(rec))
        flows, err = run_ref(path)
        f = flows[0]
        self.assertEqual(f["packets"], [])
        self.assertNotIn("entropy", f)
        self.assertNotIn("total_entropy", f)
        self.assertNotIn("idp_out", f)
        self.assertEqual(sum(f["byte_dist"]), 0)
        self.assertEqual(f["tcp"]["out"]["zero_window"], 1)
        self.assertNotIn("in", f["tcp"])
        self.assertNotIn("in", f["ip"])


if __name__ == "__main__":
    unittest.main()
