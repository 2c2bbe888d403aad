// Decoder tests for encapsulations (every tunnel, decap on and off,
// nesting, look-alikes, failures) and IP fragment attribution (IPv4, IPv6,
// timeouts, eviction, fragments outside and inside tunnels).
#include <gtest/gtest.h>

#include "decoder_test_util.hpp"
#include "spate/parse/decoder.hpp"

namespace spate::parse {
namespace {

using namespace spate::parse::dtest;

// ---------------------------------------------------------------- tunnels

TEST(Decoder, EveryTunnelDecapsulated) {
    for (const auto& c : tunnel_cases()) {
        SCOPED_TRACE(c.name);
        Decoder d;
        auto r = run(d, c.frame);
        ASSERT_EQ(r.status, DecodeStatus::ok) << to_string(r.why);
        const auto& p = r.pkt;
        EXPECT_EQ(p.key.proto, 6);
        EXPECT_EQ(p.key.sport, 40000);
        EXPECT_EQ(p.key.dport, 443);
        if (p.key.ip_version == 4) {
            EXPECT_EQ(p.key.src, addr(kA));
            EXPECT_EQ(p.key.dst, addr(kB));
        } else {
            EXPECT_EQ(p.key.src, addr(kA6));
            EXPECT_EQ(p.key.dst, addr(kB6));
        }
        EXPECT_EQ(p.payload_len, 10u);
        EXPECT_EQ(p.tunnel_count, 1);
        EXPECT_EQ(p.tunnels[0], c.tunnel);
        EXPECT_EQ(p.outer_ip_version, c.outer_version);
        EXPECT_EQ(p.outer_src, c.outer_src);
        EXPECT_EQ(p.outer_dst, c.outer_dst);
        EXPECT_EQ(p.vlan_count, 0);  // inner Ethernet tags are not the probe's VLAN
        EXPECT_GE(p.l3_off, 34);
        EXPECT_EQ(d.counters().tunnels[static_cast<size_t>(c.tunnel)], 1u);
    }
}

TEST(Decoder, EveryTunnelKeyedOnOuterWithDecapOff) {
    for (const auto& c : tunnel_cases()) {
        SCOPED_TRACE(c.name);
        Decoder d(no_decap());
        auto r = run(d, c.frame);
        ASSERT_EQ(r.status, DecodeStatus::ok) << to_string(r.why);
        const auto& p = r.pkt;
        EXPECT_EQ(p.key.ip_version, c.outer_version);
        EXPECT_EQ(p.key.src, c.outer_src);
        EXPECT_EQ(p.key.dst, c.outer_dst);
        EXPECT_EQ(p.key.proto, c.outer_proto);
        EXPECT_EQ(p.key.sport, c.outer_sport);
        EXPECT_EQ(p.key.dport, c.outer_dport);
        EXPECT_EQ(p.tunnel_count, 0);
        EXPECT_EQ(p.outer_ip_version, 0);
        EXPECT_EQ(p.l3_off, 14);
    }
}

TEST(Decoder, NestedTunnelsAndDepthLimit) {
    // VXLAN inside GRE: two layers, outermost first.
    Bytes vx = ipv4(kOuterA, kOuterB, 17, udp(1, 4789, vxlan(1, eth(kIpv4, tcp4()))));
    auto r = run1(eth(kIpv6, ipv6(kOuterA6, kOuterB6, 47, gre(0, kIpv4, vx))));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.tunnel_count, 2);
    EXPECT_EQ(r.pkt.tunnels[0], Tunnel::gre);
    EXPECT_EQ(r.pkt.tunnels[1], Tunnel::vxlan);
    EXPECT_EQ(r.pkt.outer_ip_version, 6);
    EXPECT_EQ(r.pkt.outer_src, addr(kOuterA6));
    expect_key(r.pkt.key, 4, kA, kB, 6, 40000, 443);

    Bytes p = tcp4();
    for (int i = 0; i < kMaxTunnels; ++i) {
        p = ipv4(kOuterA, kOuterB, 4, p);
    }
    auto four = run1(eth(kIpv4, p));
    ASSERT_EQ(four.status, DecodeStatus::ok);
    EXPECT_EQ(four.pkt.tunnel_count, kMaxTunnels);
    auto five = run1(eth(kIpv4, ipv4(kOuterA, kOuterB, 4, p)));
    EXPECT_EQ(five.status, DecodeStatus::malformed);
    EXPECT_EQ(five.why, Malformed::tunnel_too_deep);
}

TEST(Decoder, TunnelsThatAreNot) {
    // GTP echo request: plain UDP.
    auto echo = run1(outer_udp4(2152, 2152, gtpu({}, 0x02, 1)));
    ASSERT_EQ(echo.status, DecodeStatus::ok);
    expect_key(echo.pkt.key, 4, kOuterA, kOuterB, 17, 2152, 2152);
    EXPECT_EQ(echo.pkt.tunnel_count, 0);
    // GTPv2-C style version on 2152: plain UDP.
    Bytes v2 = gtpu(tcp4());
    v2[0] = 0x48;
    EXPECT_EQ(run1(outer_udp4(2152, 2152, v2)).pkt.tunnel_count, 0);
    // Teredo port carrying something that is not IPv6 / inconsistent length.
    auto t = run1(outer_udp4(3544, 3544, zeros(40, 0x11)));
    ASSERT_EQ(t.status, DecodeStatus::ok);
    EXPECT_EQ(t.pkt.tunnel_count, 0);
    EXPECT_EQ(t.pkt.key.sport, 3544);
    auto t2 = run1(outer_udp4(3544, 3544, tcp6() + zeros(3)));
    ASSERT_EQ(t2.status, DecodeStatus::ok);
    EXPECT_EQ(t2.pkt.tunnel_count, 0);
    // GRE with an unlisted protocol, or with routing, stays a GRE flow.
    auto g = run1(outer4(47, gre(0, 0x883E, zeros(20))));
    ASSERT_EQ(g.status, DecodeStatus::ok);
    expect_key(g.pkt.key, 4, kOuterA, kOuterB, 47, 0, 0);
    EXPECT_EQ(g.pkt.tunnel_count, 0);
    EXPECT_EQ(run1(outer4(47, gre(0x4000, kIpv4, tcp4()))).pkt.tunnel_count, 0);
    // PPTP carrying LCP, or an ack without payload: the GRE flow.
    Bytes lcp_hdr{0x00, 0x06, 0x40, 0x00, 0, 0, 0, 1};
    auto lcp = run1(outer4(47, gre(0x3001, 0x880B, Bytes{0xFF, 0x03, 0xC0, 0x21, 1, 1}, lcp_hdr)));
    ASSERT_EQ(lcp.status, DecodeStatus::ok);
    EXPECT_EQ(lcp.pkt.tunnel_count, 0);
    EXPECT_EQ(lcp.pkt.key.proto, 47);
    Bytes ack_hdr{0x00, 0x00, 0x40, 0x00, 0, 0, 0, 1};
    EXPECT_EQ(run1(outer4(47, gre(0x2081, 0x880B, {}, ack_hdr))).pkt.tunnel_count, 0);
    // Geneve version 1: plain UDP.
    Bytes gv = geneve(kIpv4, 0, tcp4());
    gv[0] = 0x40;
    EXPECT_EQ(run1(outer_udp4(1, 6081, gv)).pkt.tunnel_count, 0);
}

TEST(Decoder, TunnelFailures) {
    // Inner ARP in VXLAN / Geneve with a non-IP protocol: not IP.
    Decoder d;
    EXPECT_EQ(run(d, outer_udp4(1, 4789, vxlan(1, eth(0x0806, zeros(28))))).status,
              DecodeStatus::non_ip);
    EXPECT_EQ(run(d, outer_udp4(1, 6081, geneve(0x0806, 0, zeros(28)))).status,
              DecodeStatus::non_ip);
    EXPECT_EQ(d.counters().non_ip, 2u);
    // Headers cut short (the datagrams say so, not only the capture).
    EXPECT_EQ(run1(outer_udp4(1, 4789, zeros(5))).why, Malformed::tunnel_truncated);
    // Geneve announcing 4 option words, one byte of them present.
    EXPECT_EQ(run1(outer_udp4(1, 6081, Bytes{0x04, 0, 0x65, 0x58, 0, 0, 0, 0, 1})).why,
              Malformed::tunnel_truncated);
    EXPECT_EQ(run1(outer4(47, Bytes{0x00, 0x00})).why, Malformed::tunnel_truncated);
    EXPECT_EQ(run1(outer4(47, gre(0xB000, kIpv4, {}, zeros(6)))).why, Malformed::tunnel_truncated);
    EXPECT_EQ(run1(outer4(47, gre(0x1000, 0x22EB, zeros(5), zeros(4)))).why,
              Malformed::tunnel_truncated);
    Bytes bad_ext = gtpu(tcp4(), 0x04, 0xFF, {{0x85, Bytes{0, 0}}});
    bad_ext[12] = 0;  // extension length 0
    EXPECT_EQ(run1(outer_udp4(1, 2152, bad_ext)).why, Malformed::tunnel_truncated);
    EXPECT_EQ(run1(outer_udp4(1, 2152, gtpu({}))).why, Malformed::tunnel_truncated);
    EXPECT_EQ(run1(outer_udp4(1, 2152, gtpu(zeros(20, 0x55)))).why, Malformed::ip_bad_version);
    // Inner IP cut by the capture: the inner header's reason.
    Bytes cut = outer_udp4(1, 4789, vxlan(1, eth(kIpv4, tcp4())));
    cut.resize(cut.size() - tcp4().size() + 10);
    EXPECT_EQ(run1(cut).why, Malformed::ipv4_truncated);
}

// ---------------------------------------------------------------- fragments

TEST(Decoder, Ipv4FragmentsShareTheFirstFragmentsKey) {
    Decoder d;
    auto [f1, f2] = fragment4(kA, kB, 17, udp(5000, 53, zeros(2000)), 1480, 0x4242);
    auto r1 = run(d, eth(kIpv4, f1), 1, 100);
    ASSERT_EQ(r1.status, DecodeStatus::ok);
    EXPECT_EQ(r1.pkt.frag, FragKind::first);
    expect_key(r1.pkt.key, 4, kA, kB, 17, 5000, 53);
    EXPECT_EQ(r1.pkt.payload_len, 2000u);  // the whole datagram's, once

    auto r2 = run(d, eth(kIpv4, f2), 1, 200);
    ASSERT_EQ(r2.status, DecodeStatus::ok);
    EXPECT_EQ(r2.pkt.frag, FragKind::later);
    EXPECT_EQ(r2.pkt.key, r1.pkt.key);
    EXPECT_EQ(r2.pkt.payload_len, 0u);
    EXPECT_EQ(r2.pkt.ip_len, f2.size());
    EXPECT_EQ(r2.pkt.l4_off, 0);

    // Same id, other source: unmatched, ports 0, proto from the header.
    auto [g1, g2] = fragment4(kB, kA, 17, udp(5000, 53, zeros(2000)), 1480, 0x4242);
    (void)g1;
    auto r3 = run(d, eth(kIpv4, g2), 1, 300);
    ASSERT_EQ(r3.status, DecodeStatus::ok);
    EXPECT_EQ(r3.pkt.frag, FragKind::unmatched);
    expect_key(r3.pkt.key, 4, kB, kA, 17, 0, 0);

    const auto& c = d.counters();
    EXPECT_EQ(c.fragments, 3u);
    EXPECT_EQ(c.fragments_matched, 1u);
    EXPECT_EQ(c.fragments_unmatched, 1u);
    EXPECT_EQ(c.decoded, 3u);
}

TEST(Decoder, FragmentTimeoutAndOverwrite) {
    DecoderConfig cfg;
    cfg.frag_slots = 1;  // one slot: every new datagram evicts the last
    cfg.frag_timeout_ns = 1'000;
    Decoder d(cfg);
    auto [a1, a2] = fragment4(kA, kB, 6, tcp(1, 2, 100), 64, 1);
    auto [b1, b2] = fragment4(kA, kB, 6, tcp(3, 4, 100), 64, 2);
    ASSERT_EQ(run(d, eth(kIpv4, a1), 1, 10).status, DecodeStatus::ok);
    ASSERT_EQ(run(d, eth(kIpv4, b1), 1, 20).status, DecodeStatus::ok);
    EXPECT_EQ(d.counters().frag_table_overwrites, 1u);
    EXPECT_EQ(run(d, eth(kIpv4, a2), 1, 30).pkt.frag, FragKind::unmatched);
    auto late = run(d, eth(kIpv4, b2), 1, 20 + 1'001);  // past the timeout
    EXPECT_EQ(late.pkt.frag, FragKind::unmatched);
    EXPECT_EQ(late.pkt.key.sport, 0);
    auto in_time = run(d, eth(kIpv4, b1), 1, 5'000);
    ASSERT_EQ(in_time.status, DecodeStatus::ok);
    EXPECT_EQ(d.counters().frag_table_overwrites, 1u);  // the old entry had expired
    auto m = run(d, eth(kIpv4, b2), 1, 5'500);
    EXPECT_EQ(m.pkt.frag, FragKind::later);
    EXPECT_EQ(m.pkt.key.sport, 3);
}

TEST(Decoder, Ipv6Fragments) {
    Decoder d;
    Bytes dgram = tcp(2000, 3000, 100);
    Bytes part1(dgram.begin(), dgram.begin() + 64);
    Bytes part2(dgram.begin() + 64, dgram.end());
    Bytes f1 = ipv6(kA6, kB6, 0, ext6(44) + frag6(6, 0, true, 0xabcdef01) + part1);
    Bytes f2 = ipv6(kA6, kB6, 44, frag6(6, 8, false, 0xabcdef01) + part2);
    auto r1 = run(d, eth(kIpv6, f1));
    ASSERT_EQ(r1.status, DecodeStatus::ok);
    EXPECT_EQ(r1.pkt.frag, FragKind::first);
    expect_key(r1.pkt.key, 6, kA6, kB6, 6, 2000, 3000);
    auto r2 = run(d, eth(kIpv6, f2));
    ASSERT_EQ(r2.status, DecodeStatus::ok);
    EXPECT_EQ(r2.pkt.frag, FragKind::later);
    EXPECT_EQ(r2.pkt.key, r1.pkt.key);
    EXPECT_EQ(r2.pkt.ip_len, f2.size());
    EXPECT_EQ(r2.pkt.ip_id, 0);

    Bytes f3 = ipv6(kA6, kB6, 44, frag6(17, 8, false, 7) + zeros(16));
    auto r3 = run(d, eth(kIpv6, f3));
    ASSERT_EQ(r3.status, DecodeStatus::ok);
    EXPECT_EQ(r3.pkt.frag, FragKind::unmatched);
    expect_key(r3.pkt.key, 6, kA6, kB6, 17, 0, 0);
    EXPECT_EQ(d.counters().fragments, 3u);
}

TEST(Decoder, TinyFirstFragmentIsKeptWithoutPorts) {
    Decoder d;
    Ip4Opt f1;
    f1.frag = 0x2000;
    auto r = run(d, eth(kIpv4, ipv4(kA, kB, 6, Bytes{0x1f, 0x90}, f1)));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.frag, FragKind::first);
    EXPECT_EQ(r.pkt.key.sport, 0);
}

TEST(Decoder, OuterFragmentOfGtpuTunnelMapsToInnerKey) {
    Decoder d;
    Bytes inner = ipv4(kA, kB, 6, tcp(40000, 443, 1500));
    Bytes outer_payload = udp(2152, 2152, gtpu(inner));
    auto [f1, f2] = fragment4(kOuterA, kOuterB, 17, outer_payload, 1448, 0x7777);
    auto r1 = run(d, eth(kIpv4, f1), 1, 1'000);
    ASSERT_EQ(r1.status, DecodeStatus::ok);
    EXPECT_EQ(r1.pkt.frag, FragKind::first);
    expect_key(r1.pkt.key, 4, kA, kB, 6, 40000, 443);
    EXPECT_EQ(r1.pkt.tunnel_count, 1);

    auto r2 = run(d, eth(kIpv4, f2), 1, 2'000);
    ASSERT_EQ(r2.status, DecodeStatus::ok);
    EXPECT_EQ(r2.pkt.frag, FragKind::later);
    EXPECT_EQ(r2.pkt.key, r1.pkt.key);
    EXPECT_EQ(r2.pkt.tunnel_count, 1);
    EXPECT_EQ(r2.pkt.tunnels[0], Tunnel::gtpu);
    EXPECT_EQ(r2.pkt.outer_ip_version, 4);
    EXPECT_EQ(r2.pkt.outer_src, addr(kOuterA));
    EXPECT_EQ(r2.pkt.outer_dst, addr(kOuterB));
    EXPECT_EQ(r2.pkt.ip_len, f2.size());
    EXPECT_EQ(r2.pkt.payload_len, 0u);
    EXPECT_EQ(d.counters().fragments_matched, 1u);
    EXPECT_EQ(d.counters().tunnels[static_cast<size_t>(Tunnel::gtpu)], 2u);

    // With decap off the same fragments map to the outer UDP flow.
    Decoder off(no_decap());
    auto o1 = run(off, eth(kIpv4, f1));
    auto o2 = run(off, eth(kIpv4, f2));
    expect_key(o1.pkt.key, 4, kOuterA, kOuterB, 17, 2152, 2152);
    EXPECT_EQ(o2.pkt.key, o1.pkt.key);
    EXPECT_EQ(o2.pkt.tunnel_count, 0);
}

TEST(Decoder, InnerFragmentInsideTunnel) {
    // Outer GRE datagrams are whole; the inner IPv4 datagram is fragmented.
    Decoder d;
    auto [i1, i2] = fragment4(kA, kB, 17, udp(9, 10, zeros(100)), 56, 5);
    auto r1 = run(d, outer4(47, gre(0, kIpv4, i1)));
    auto r2 = run(d, outer4(47, gre(0, kIpv4, i2)));
    ASSERT_EQ(r2.status, DecodeStatus::ok);
    EXPECT_EQ(r1.pkt.frag, FragKind::first);
    EXPECT_EQ(r2.pkt.frag, FragKind::later);
    EXPECT_EQ(r2.pkt.key, r1.pkt.key);
    EXPECT_EQ(r2.pkt.tunnel_count, 1);
    EXPECT_EQ(r2.pkt.outer_src, addr(kOuterA));
}

}  // namespace
}  // namespace spate::parse
