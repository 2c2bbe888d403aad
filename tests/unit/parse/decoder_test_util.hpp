#pragma once
// Shared by the decoder tests: addresses, a decode helper, the table of
// tunnel frames, and an IPv4 fragmenter.
#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "packet_builder.hpp"
#include "spate/parse/decoder.hpp"

namespace spate::parse::dtest {

using namespace spate::test;

inline const V4 kA{10, 0, 0, 1};
inline const V4 kB{10, 0, 0, 2};
inline const V4 kOuterA{192, 0, 2, 1};
inline const V4 kOuterB{192, 0, 2, 2};
inline const V6 kA6 = v6(0, 1);
inline const V6 kB6 = v6(0, 2);
inline const V6 kOuterA6 = v6(1, 1);
inline const V6 kOuterB6 = v6(1, 2);

struct Result {
    DecodeStatus status;
    DecodedPacket pkt;
    Malformed why;
};

inline Result run(Decoder& d, const Bytes& frame, uint16_t linktype = 1, uint64_t ts = 1'000,
                  uint32_t wirelen = 0) {
    PacketRef ref;
    ref.data = frame.data();
    ref.caplen = static_cast<uint32_t>(frame.size());
    ref.wirelen = wirelen != 0 ? wirelen : ref.caplen;
    ref.ts_ns = ts;
    ref.linktype = linktype;
    Result r{};
    r.status = d.decode(ref, r.pkt);
    r.why = d.last_malformed();
    return r;
}

inline Result run1(const Bytes& frame, uint16_t linktype = 1, DecoderConfig cfg = {}) {
    Decoder d(cfg);
    return run(d, frame, linktype);
}

inline DecoderConfig no_decap() {
    DecoderConfig c;
    c.decap = false;
    return c;
}

template <typename A>
void expect_key(const FlowKey& k, uint8_t version, const A& src, const A& dst, uint8_t proto,
                uint16_t sport, uint16_t dport) {
    EXPECT_EQ(k.ip_version, version);
    EXPECT_EQ(k.src, addr(src));
    EXPECT_EQ(k.dst, addr(dst));
    EXPECT_EQ(k.proto, proto);
    EXPECT_EQ(k.sport, sport);
    EXPECT_EQ(k.dport, dport);
}

inline Bytes tcp4(uint16_t sport = 40000, uint16_t dport = 443, size_t payload = 10) {
    return ipv4(kA, kB, 6, tcp(sport, dport, payload));
}
inline Bytes tcp6(uint16_t sport = 40000, uint16_t dport = 443, size_t payload = 10) {
    return ipv6(kA6, kB6, 6, tcp(sport, dport, payload));
}

struct TunnelCase {
    const char* name;
    Bytes frame;
    Tunnel tunnel;
    uint8_t outer_version;
    IpAddr outer_src;
    IpAddr outer_dst;
    uint8_t outer_proto;  // the key with decap off
    uint16_t outer_sport;
    uint16_t outer_dport;
};

inline Bytes outer4(uint8_t proto, const Bytes& payload) {
    return eth(kIpv4, ipv4(kOuterA, kOuterB, proto, payload));
}
inline Bytes outer6(uint8_t proto, const Bytes& payload) {
    return eth(kIpv6, ipv6(kOuterA6, kOuterB6, proto, payload));
}
inline Bytes outer_udp4(uint16_t sport, uint16_t dport, const Bytes& payload) {
    return outer4(17, udp(sport, dport, payload));
}

inline std::vector<TunnelCase> tunnel_cases() {
    const IpAddr oa = addr(kOuterA), ob = addr(kOuterB);
    const IpAddr oa6 = addr(kOuterA6), ob6 = addr(kOuterB6);
    const Bytes inner4 = tcp4();
    const Bytes inner_eth = eth(kIpv4, inner4);
    Bytes seq{0, 0, 0, 9};
    Bytes erspan2_hdr{0x10, 0x64, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05};
    Bytes erspan3_hdr{0x20, 0x64, 0x00, 0x01, 1, 2, 3, 4, 0x00, 0x00, 0x00, 0x00};
    Bytes erspan3_o = erspan3_hdr;
    erspan3_o[11] = 0x01;
    Bytes pptp_hdr;
    put16(pptp_hdr, static_cast<uint16_t>(4 + inner4.size()));  // payload length
    put16(pptp_hdr, 0x4000);                                    // call id
    Bytes pptp_ack = pptp_hdr;
    pptp_hdr = pptp_hdr + seq;
    pptp_ack = pptp_ack + seq + Bytes{0, 0, 0, 3};
    Bytes pptp_pfc;  // no address/control, compressed protocol
    put16(pptp_pfc, static_cast<uint16_t>(1 + inner4.size()));
    put16(pptp_pfc, 0x4000);

    return {
        {"4in4", outer4(4, inner4), Tunnel::ip, 4, oa, ob, 4, 0, 0},
        {"6in4", outer4(41, tcp6()), Tunnel::ip, 4, oa, ob, 41, 0, 0},
        {"4in6", outer6(4, inner4), Tunnel::ip, 6, oa6, ob6, 4, 0, 0},
        {"6in6", outer6(41, tcp6()), Tunnel::ip, 6, oa6, ob6, 41, 0, 0},
        {"gre ipv4", outer4(47, gre(0, kIpv4, inner4)), Tunnel::gre, 4, oa, ob, 47, 0, 0},
        {"gre ipv6 ck s", outer4(47, gre(0xB000, kIpv6, tcp6(), zeros(12, 0x33))), Tunnel::gre, 4,
         oa, ob, 47, 0, 0},
        {"gre eth over v6", outer6(47, gre(0x2000, 0x6558, inner_eth, zeros(4))), Tunnel::gre, 6,
         oa6, ob6, 47, 0, 0},
        {"erspan I", outer4(47, gre(0, 0x88BE, inner_eth)), Tunnel::erspan, 4, oa, ob, 47, 0, 0},
        {"erspan II", outer4(47, gre(0x1000, 0x88BE, erspan2_hdr + inner_eth, seq)), Tunnel::erspan,
         4, oa, ob, 47, 0, 0},
        {"erspan III", outer4(47, gre(0x1000, 0x22EB, erspan3_hdr + inner_eth, seq)),
         Tunnel::erspan, 4, oa, ob, 47, 0, 0},
        {"erspan III O", outer4(47, gre(0x1000, 0x22EB, erspan3_o + zeros(8) + inner_eth, seq)),
         Tunnel::erspan, 4, oa, ob, 47, 0, 0},
        {"pptp", outer4(47, gre(0x3001, 0x880B, Bytes{0xFF, 0x03, 0x00, 0x21} + inner4, pptp_hdr)),
         Tunnel::gre, 4, oa, ob, 47, 0, 0},
        {"pptp ack",
         outer4(47, gre(0x3081, 0x880B, Bytes{0xFF, 0x03, 0x00, 0x21} + inner4, pptp_ack)),
         Tunnel::gre, 4, oa, ob, 47, 0, 0},
        {"pptp pfc", outer4(47, gre(0x2001, 0x880B, Bytes{0x21} + inner4, pptp_pfc)), Tunnel::gre,
         4, oa, ob, 47, 0, 0},
        {"vxlan dst", outer_udp4(51000, 4789, vxlan(42, inner_eth)), Tunnel::vxlan, 4, oa, ob, 17,
         51000, 4789},
        {"vxlan src", outer_udp4(4789, 51000, vxlan(42, inner_eth)), Tunnel::vxlan, 4, oa, ob, 17,
         4789, 51000},
        {"vxlan tagged inner",
         outer_udp4(2152, 4789, vxlan(42, eth_tagged({{0x8100, 9}}, kIpv4, inner4))), Tunnel::vxlan,
         4, oa, ob, 17, 2152, 4789},
        {"geneve eth", outer_udp4(1000, 6081, geneve(0x6558, 2, inner_eth)), Tunnel::geneve, 4, oa,
         ob, 17, 1000, 6081},
        {"geneve ip", outer_udp4(6081, 1000, geneve(kIpv4, 0, inner4)), Tunnel::geneve, 4, oa, ob,
         17, 6081, 1000},
        {"gtpu", outer_udp4(2152, 2152, gtpu(inner4)), Tunnel::gtpu, 4, oa, ob, 17, 2152, 2152},
        {"gtpu seq", outer_udp4(3000, 2152, gtpu(tcp6(), 0x02)), Tunnel::gtpu, 4, oa, ob, 17, 3000,
         2152},
        {"gtpu ext",
         outer6(17, udp(2152, 9,
                        gtpu(inner4, 0x04, 0xFF, {{0x85, Bytes{0x00, 0x09}}, {0xC0, zeros(6)}}))),
         Tunnel::gtpu, 6, oa6, ob6, 17, 2152, 9},
        {"teredo", outer_udp4(3544, 50000, tcp6()), Tunnel::teredo, 4, oa, ob, 17, 3544, 50000},
        {"teredo origin", outer_udp4(50000, 3544, teredo_origin() + tcp6()), Tunnel::teredo, 4, oa,
         ob, 17, 50000, 3544},
        {"teredo auth origin", outer_udp4(50000, 3544, teredo_auth() + teredo_origin() + tcp6()),
         Tunnel::teredo, 4, oa, ob, 17, 50000, 3544},
    };
}

/// Splits an IPv4 datagram payload in two fragments at `first_len` (a
/// multiple of 8).
inline std::pair<Bytes, Bytes> fragment4(const V4& s, const V4& d, uint8_t proto,
                                         const Bytes& payload, size_t first_len, uint16_t id) {
    Ip4Opt f1;
    f1.id = id;
    f1.frag = 0x2000;
    Ip4Opt f2;
    f2.id = id;
    f2.frag = static_cast<uint16_t>(first_len / 8);
    Bytes a(payload.begin(), payload.begin() + static_cast<long>(first_len));
    Bytes b(payload.begin() + static_cast<long>(first_len), payload.end());
    return {ipv4(s, d, proto, a, f1), ipv4(s, d, proto, b, f2)};
}

}  // namespace spate::parse::dtest
