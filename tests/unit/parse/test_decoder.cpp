// Decoder tests on hand-built frames: the cursor, every link type, every
// Ethertype path, IPv4 / IPv6 (extension chains), transport fields, snaplen
// truncation, each malformation reason, every truncation of a set of valid
// frames, and no allocation. Tunnels and fragments: test_decoder_tunnels.cpp.
#include "spate/parse/decoder.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <set>
#include <string>

#include "decoder_test_util.hpp"
#include "spate/parse/cursor.hpp"

// Counts heap allocations so a test can prove decode() makes none.
namespace {
std::atomic<size_t> g_allocs{0};
}
[[gnu::noinline]] void* operator new(size_t n) {
    ++g_allocs;
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
// Out of line: inlined into callers, gcc would flag new/free as mismatched.
[[gnu::noinline]] void operator delete(void* p) noexcept {
    std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept {
    std::free(p);
}

namespace spate::parse {
namespace {

using namespace spate::parse::dtest;

// ---------------------------------------------------------------- cursor

TEST(Cursor, ReadsInNetworkOrderAndFailsSticky) {
    const uint8_t buf[] = {0x12, 0x34, 0x56, 0x78, 0x9a};
    Cursor c(buf, sizeof buf);
    EXPECT_EQ(c.read_u16(), 0x1234);
    EXPECT_EQ(c.offset(), 2u);
    EXPECT_EQ(c.peek_u8(), 0x56);
    EXPECT_EQ(c.peek_u16(1), 0x789a);
    EXPECT_EQ(c.peek_u16(2), 0);  // out of range: 0, no failure
    EXPECT_TRUE(c.ok());
    EXPECT_EQ(c.read_u32(), 0u);  // only 3 left
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.remaining(), 0u);
    EXPECT_EQ(c.read_u8(), 0);  // sticky
    EXPECT_FALSE(c.ok());
}

TEST(Cursor, SubCursorsKeepFrameOffsets) {
    const uint8_t buf[] = {1, 2, 3, 4, 5, 6, 7, 8};
    Cursor c(buf, sizeof buf);
    c.skip(2);
    Cursor s = c.sub(3);
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.offset(), 2u);
    EXPECT_EQ(s.remaining(), 3u);
    EXPECT_EQ(c.offset(), 5u);
    EXPECT_EQ(s.read_u8(), 3);
    s.skip(3);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(c.ok());  // the parent is unaffected

    Cursor t = c.sub_at_most(100);
    EXPECT_TRUE(t.ok());
    EXPECT_EQ(t.remaining(), 3u);
    EXPECT_EQ(c.remaining(), 0u);
    Cursor u = c.sub(1);
    EXPECT_FALSE(u.ok());
    EXPECT_FALSE(c.ok());

    Cursor e(nullptr, 0);
    EXPECT_EQ(e.read_u16(), 0);
    EXPECT_FALSE(e.ok());
}

// ---------------------------------------------------------------- basics

TEST(Decoder, EthernetIpv4TcpFields) {
    Decoder d;
    TcpOpt o;
    o.flags = 0x12;
    o.seq = 0x01020304;
    o.ack = 0x0a0b0c0d;
    o.window = 512;
    o.doff = 8;
    Ip4Opt io;
    io.ttl = 33;
    io.id = 0xbeef;
    io.ihl = 6;  // one option word
    Bytes ip = ipv4(kA, kB, 6, tcp(1234, 80, 100, o), io);
    Bytes f = eth(kIpv4, ip) + zeros(7);  // trailing Ethernet padding
    auto r = run(d, f, 1, 777, 2000);
    ASSERT_EQ(r.status, DecodeStatus::ok);
    const auto& p = r.pkt;
    expect_key(p.key, 4, kA, kB, 6, 1234, 80);
    EXPECT_EQ(p.key.vlan, 0);
    EXPECT_EQ(p.ts_ns, 777u);
    EXPECT_EQ(p.wire_len, 2000u);
    EXPECT_EQ(p.cap_len, f.size());
    EXPECT_EQ(p.ip_len, ip.size());
    EXPECT_EQ(p.ttl, 33);
    EXPECT_EQ(p.ip_id, 0xbeef);
    EXPECT_EQ(p.l3_off, 14);
    EXPECT_EQ(p.l4_off, 14 + 24);
    EXPECT_EQ(p.tcp_hdr_len, 32);
    EXPECT_EQ(p.payload_off, 14 + 24 + 32);
    EXPECT_EQ(p.payload_len, 100u);  // padding ignored
    EXPECT_EQ(p.tcp_flags, 0x12);
    EXPECT_EQ(p.tcp_seq, 0x01020304u);
    EXPECT_EQ(p.tcp_ack, 0x0a0b0c0du);
    EXPECT_EQ(p.tcp_window, 512);
    EXPECT_FALSE(p.l4_truncated);
    EXPECT_EQ(p.frag, FragKind::none);
    EXPECT_EQ(p.tunnel_count, 0);
    EXPECT_EQ(p.vlan_count, 0);
    EXPECT_EQ(d.counters().frames, 1u);
    EXPECT_EQ(d.counters().decoded, 1u);
    EXPECT_EQ(d.counters().malformed_total(), 0u);
}

TEST(Decoder, Ipv4Udp) {
    auto r = run1(eth(kIpv4, ipv4(kA, kB, 17, udp(5353, 53, zeros(30)))));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    expect_key(r.pkt.key, 4, kA, kB, 17, 5353, 53);
    EXPECT_EQ(r.pkt.payload_len, 30u);
    EXPECT_EQ(r.pkt.l4_off, 34);
    EXPECT_EQ(r.pkt.payload_off, 42);
}

TEST(Decoder, UdpPayloadClampedToIpPayload) {
    // UDP length claims more than the IP datagram holds.
    auto r = run1(eth(kIpv4, ipv4(kA, kB, 17, udp(1, 2, zeros(10), 500))));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.payload_len, 10u);
}

TEST(Decoder, SctpIcmpAndOtherProtocols) {
    auto s = run1(eth(kIpv4, ipv4(kA, kB, 132, sctp(3868, 3869))));
    ASSERT_EQ(s.status, DecodeStatus::ok);
    expect_key(s.pkt.key, 4, kA, kB, 132, 3868, 3869);
    EXPECT_EQ(s.pkt.payload_len, 0u);
    EXPECT_FALSE(s.pkt.l4_truncated);

    auto i = run1(eth(kIpv4, ipv4(kA, kB, 1, icmp(8, 0, zeros(40)))));
    ASSERT_EQ(i.status, DecodeStatus::ok);
    expect_key(i.pkt.key, 4, kA, kB, 1, 0, 0);
    EXPECT_EQ(i.pkt.icmp_type, 8);
    EXPECT_EQ(i.pkt.icmp_code, 0);
    EXPECT_EQ(i.pkt.payload_len, 0u);

    auto i6 = run1(eth(kIpv6, ipv6(kA6, kB6, 58, icmp(135, 0, zeros(20)), 255)));
    ASSERT_EQ(i6.status, DecodeStatus::ok);
    expect_key(i6.pkt.key, 6, kA6, kB6, 58, 0, 0);
    EXPECT_EQ(i6.pkt.icmp_type, 135);
    EXPECT_EQ(i6.pkt.ttl, 255);

    auto esp = run1(eth(kIpv4, ipv4(kA, kB, 50, zeros(40, 0x77))));
    ASSERT_EQ(esp.status, DecodeStatus::ok);
    expect_key(esp.pkt.key, 4, kA, kB, 50, 0, 0);
    EXPECT_EQ(esp.pkt.l4_off, 34);
    EXPECT_EQ(esp.pkt.payload_off, 0);
}

TEST(Decoder, IcmpErrorKeysOnTheIcmpPacketNotTheQuote) {
    // Destination unreachable from a router quoting B -> A UDP.
    Bytes quoted = ipv4(kB, kA, 17, udp(4444, 53, zeros(4)));
    auto r = run1(eth(kIpv4, ipv4(kOuterA, kB, 1, icmp(3, 3, zeros(4) + quoted))));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    expect_key(r.pkt.key, 4, kOuterA, kB, 1, 0, 0);
    EXPECT_EQ(r.pkt.icmp_type, 3);
    EXPECT_EQ(r.pkt.icmp_code, 3);
    EXPECT_EQ(r.pkt.tunnel_count, 0);

    Bytes quoted6 = ipv6(kB6, kA6, 17, udp(4444, 53, zeros(4)));
    auto r6 = run1(eth(kIpv6, ipv6(kOuterA6, kB6, 58, icmp(1, 4, zeros(4) + quoted6))));
    ASSERT_EQ(r6.status, DecodeStatus::ok);
    expect_key(r6.pkt.key, 6, kOuterA6, kB6, 58, 0, 0);
    EXPECT_EQ(r6.pkt.icmp_type, 1);
    EXPECT_EQ(r6.pkt.icmp_code, 4);
}

// ---------------------------------------------------------------- link types

TEST(Decoder, EveryLinkType) {
    const Bytes ip4 = tcp4();
    const Bytes ip6 = tcp6();
    struct Case {
        const char* name;
        uint16_t linktype;
        Bytes frame;
        uint8_t version;
        uint16_t l3_off;
    };
    const Case cases[] = {
        {"ethernet", 1, eth(kIpv4, ip4), 4, 14},
        {"sll v4", 113, sll(kIpv4, ip4), 4, 16},
        {"sll v6", 113, sll(kIpv6, ip6), 6, 16},
        {"sll2 v4", 276, sll2(kIpv4, ip4), 4, 20},
        {"sll2 v6", 276, sll2(kIpv6, ip6), 6, 20},
        {"raw v4", 101, ip4, 4, 0},
        {"raw v6", 101, ip6, 6, 0},
        {"ipv4", 228, ip4, 4, 0},
        {"ipv6", 229, ip6, 6, 0},
        {"null le v4", 0, Bytes{2, 0, 0, 0} + ip4, 4, 4},
        {"null be v4", 0, Bytes{0, 0, 0, 2} + ip4, 4, 4},
        {"null le v6 24", 0, Bytes{24, 0, 0, 0} + ip6, 6, 4},
        {"null le v6 28", 0, Bytes{28, 0, 0, 0} + ip6, 6, 4},
        {"null le v6 30", 0, Bytes{30, 0, 0, 0} + ip6, 6, 4},
        {"null be v6 30", 0, Bytes{0, 0, 0, 30} + ip6, 6, 4},
        {"loop v4", 108, Bytes{0, 0, 0, 2} + ip4, 4, 4},
        {"loop v6", 108, Bytes{0, 0, 0, 24} + ip6, 6, 4},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        auto r = run1(c.frame, c.linktype);
        ASSERT_EQ(r.status, DecodeStatus::ok);
        EXPECT_EQ(r.pkt.key.ip_version, c.version);
        EXPECT_EQ(r.pkt.key.sport, 40000);
        EXPECT_EQ(r.pkt.key.dport, 443);
        EXPECT_EQ(r.pkt.l3_off, c.l3_off);
    }
}

TEST(Decoder, LinkTypeFailures) {
    auto u = run1(tcp4(), 147);
    EXPECT_EQ(u.status, DecodeStatus::malformed);
    EXPECT_EQ(u.why, Malformed::unknown_linktype);

    EXPECT_EQ(run1(Bytes(10, 0), 1).why, Malformed::l2_truncated);
    EXPECT_EQ(run1(Bytes(15, 0), 113).why, Malformed::l2_truncated);
    EXPECT_EQ(run1(Bytes(19, 0), 276).why, Malformed::l2_truncated);
    EXPECT_EQ(run1(Bytes{2, 0}, 0).why, Malformed::l2_truncated);
    EXPECT_EQ(run1(Bytes{0x50, 0, 0, 0}, 101).why, Malformed::ip_bad_version);
    EXPECT_EQ(run1(Bytes{}, 101).why, Malformed::ip_bad_version);
    // NULL family that is neither IPv4 nor IPv6 (AF_APPLETALK 16)
    EXPECT_EQ(run1(Bytes{16, 0, 0, 0} + tcp4(), 0).status, DecodeStatus::non_ip);
    // SLL carrying ARP
    EXPECT_EQ(run1(sll(0x0806, zeros(28)), 113).status, DecodeStatus::non_ip);
}

// ---------------------------------------------------------------- ethertypes

TEST(Decoder, NonIpEthertypes) {
    Decoder d;
    for (uint16_t type : {0x0806, 0x88CC, 0x8863, 0x88E5, 0x8035}) {
        SCOPED_TRACE(type);
        auto r = run(d, eth(type, zeros(46)));
        EXPECT_EQ(r.status, DecodeStatus::non_ip);
        EXPECT_EQ(r.why, Malformed::none);
    }
    // 802.3 length field with plain LLC (STP)
    EXPECT_EQ(run(d, eth(38, Bytes{0x42, 0x42, 0x03} + zeros(35))).status, DecodeStatus::non_ip);
    EXPECT_EQ(d.counters().non_ip, 6u);
    EXPECT_EQ(d.counters().decoded, 0u);
    EXPECT_EQ(d.counters().frames, 6u);
}

TEST(Decoder, LlcSnapCarryingIpv4) {
    Bytes snap{0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00};
    Bytes ip = tcp4();
    auto r = run1(eth(static_cast<uint16_t>(snap.size() + ip.size()), snap + ip));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.l3_off, 22);
    expect_key(r.pkt.key, 4, kA, kB, 6, 40000, 443);
}

TEST(Decoder, VlanQinQAndVlanInKey) {
    Bytes f = eth_tagged({{0x88A8, 0x2064}, {0x8100, 0x00C8}}, kIpv4, tcp4());
    auto r = run1(f);
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.vlan_count, 2);
    EXPECT_EQ(r.pkt.vlans[0], 100);  // priority bits dropped
    EXPECT_EQ(r.pkt.vlans[1], 200);
    EXPECT_EQ(r.pkt.key.vlan, 0);
    EXPECT_EQ(r.pkt.l3_off, 22);

    DecoderConfig cfg;
    cfg.vlan_in_key = true;
    auto k = run1(f, 1, cfg);
    ASSERT_EQ(k.status, DecodeStatus::ok);
    EXPECT_EQ(k.pkt.key.vlan, 100);

    // Three tags, one of them the old 0x9100: all counted, two recorded.
    Bytes f3 = eth_tagged({{0x9100, 7}, {0x8100, 8}, {0x8100, 9}}, kIpv6, tcp6());
    auto r3 = run1(f3, 1, cfg);
    ASSERT_EQ(r3.status, DecodeStatus::ok);
    EXPECT_EQ(r3.pkt.vlan_count, 3);
    EXPECT_EQ(r3.pkt.vlans[0], 7);
    EXPECT_EQ(r3.pkt.vlans[1], 8);
    EXPECT_EQ(r3.pkt.key.vlan, 7);
    EXPECT_EQ(r3.pkt.l3_off, 26);

    // A tagged ARP is still not IP; a cut tag is vlan_truncated.
    EXPECT_EQ(run1(eth_tagged({{0x8100, 5}}, 0x0806, zeros(28))).status, DecodeStatus::non_ip);
    EXPECT_EQ(run1(eth(0x8100, Bytes{0x00, 0x05, 0x08})).why, Malformed::vlan_truncated);
}

TEST(Decoder, Mpls) {
    auto r = run1(eth(0x8847, mpls({1000, 2000}, tcp4())));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.mpls_count, 2);
    EXPECT_EQ(r.pkt.mpls_top, 1000u);
    EXPECT_EQ(r.pkt.l3_off, 22);
    expect_key(r.pkt.key, 4, kA, kB, 6, 40000, 443);

    auto r6 = run1(eth_tagged({{0x8100, 12}}, 0x8848, mpls({77}, tcp6())));
    ASSERT_EQ(r6.status, DecodeStatus::ok);
    EXPECT_EQ(r6.pkt.mpls_count, 1);
    EXPECT_EQ(r6.pkt.mpls_top, 77u);
    EXPECT_EQ(r6.pkt.vlan_count, 1);
    EXPECT_EQ(r6.pkt.key.ip_version, 6);

    // Pseudowire control word + Ethernet: not followed.
    EXPECT_EQ(run1(eth(0x8847, mpls({5}, zeros(4) + eth(kIpv4, tcp4())))).status,
              DecodeStatus::non_ip);
    // Stack without bottom-of-stack running out of bytes, or nothing after it.
    Bytes no_bos;
    put32(no_bos, 5u << 12);
    EXPECT_EQ(run1(eth(0x8847, no_bos)).why, Malformed::mpls_truncated);
    EXPECT_EQ(run1(eth(0x8847, mpls({5}, {}))).why, Malformed::mpls_truncated);
}

TEST(Decoder, PppoeSession) {
    auto r = run1(eth(0x8864, pppoe(0x0021, tcp4())));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.l3_off, 22);
    expect_key(r.pkt.key, 4, kA, kB, 6, 40000, 443);

    // PPPoE in double VLAN tagging, IPv6
    auto r6 = run1(eth_tagged({{0x8100, 1}, {0x8100, 2}}, 0x8864, pppoe(0x0057, tcp6())));
    ASSERT_EQ(r6.status, DecodeStatus::ok);
    EXPECT_EQ(r6.pkt.key.ip_version, 6);
    EXPECT_EQ(r6.pkt.vlan_count, 2);

    EXPECT_EQ(run1(eth(0x8864, pppoe(0xC021, zeros(20)))).status, DecodeStatus::non_ip);
    EXPECT_EQ(run1(eth(0x8864, Bytes{0x11, 0, 0, 1, 0})).why, Malformed::pppoe_truncated);
}

// ---------------------------------------------------------------- IPv4 / IPv6

TEST(Decoder, Ipv4Malformations) {
    Ip4Opt bad_ihl;
    bad_ihl.ihl = 4;
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2), bad_ihl))).why,
              Malformed::ipv4_bad_header);
    Ip4Opt bad_ver;
    bad_ver.version = 5;
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2), bad_ver))).why,
              Malformed::ipv4_bad_header);
    Ip4Opt short_total;
    short_total.total = 12;
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2), short_total))).why,
              Malformed::ipv4_bad_header);
    EXPECT_EQ(run1(eth(kIpv4, zeros(19, 0x45))).why, Malformed::ipv4_truncated);
    Ip4Opt opts;
    opts.ihl = 8;
    Bytes cut = ipv4(kA, kB, 6, {}, opts);
    cut.resize(28);  // IHL says 32
    EXPECT_EQ(run1(eth(kIpv4, cut)).why, Malformed::ipv4_truncated);
}

TEST(Decoder, Ipv4TotalLengthZeroIsTso) {
    // Captured on a sender with segmentation offload: the length is 0 and
    // the datagram is the rest of the frame (as tshark reads it).
    Ip4Opt tso;
    tso.total = 0;
    Bytes f = eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2, 3000), tso));
    Decoder d;
    auto r = run(d, f);
    ASSERT_EQ(r.status, DecodeStatus::ok);
    EXPECT_EQ(r.pkt.ip_len, 20u + 20 + 3000);
    EXPECT_EQ(r.pkt.payload_len, 3000u);
    // Cut by snaplen: the wire length still counts.
    Bytes cut(f.begin(), f.begin() + 100);
    auto c = run(d, cut, 1, 1, static_cast<uint32_t>(f.size()));
    ASSERT_EQ(c.status, DecodeStatus::ok);
    EXPECT_EQ(c.pkt.ip_len, 20u + 20 + 3000);
    EXPECT_EQ(c.pkt.payload_len, 3000u);
}

TEST(Decoder, Ipv6ExtensionChain) {
    // hop-by-hop -> routing -> destination options -> AH -> TCP
    Bytes chain = ext6(43, 0) + ext6(60, 1) + ext6(51, 0) + ah6(6, 4);
    Bytes ip = ipv6(kA6, kB6, 0, chain + tcp(1111, 22, 5), 17);
    auto r = run1(eth(kIpv6, ip));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    expect_key(r.pkt.key, 6, kA6, kB6, 6, 1111, 22);
    EXPECT_EQ(r.pkt.ttl, 17);
    EXPECT_EQ(r.pkt.ip_len, ip.size());
    EXPECT_EQ(r.pkt.ip_id, 0);
    EXPECT_EQ(r.pkt.l4_off, 14 + 40 + chain.size());
    EXPECT_EQ(r.pkt.payload_len, 5u);

    // ESP and No Next Header are protocols.
    auto esp = run1(eth(kIpv6, ipv6(kA6, kB6, 0, ext6(50) + zeros(32))));
    ASSERT_EQ(esp.status, DecodeStatus::ok);
    expect_key(esp.pkt.key, 6, kA6, kB6, 50, 0, 0);
    auto nnh = run1(eth(kIpv6, ipv6(kA6, kB6, 60, ext6(59))));
    ASSERT_EQ(nnh.status, DecodeStatus::ok);
    EXPECT_EQ(nnh.pkt.key.proto, 59);
}

TEST(Decoder, Ipv6ExtensionLimits) {
    Bytes eight;
    for (int i = 0; i < 7; ++i) {
        eight = eight + ext6(60);
    }
    eight = eight + ext6(17);
    auto ok = run1(eth(kIpv6, ipv6(kA6, kB6, 60, eight + udp(1, 2, zeros(4)))));
    ASSERT_EQ(ok.status, DecodeStatus::ok);
    EXPECT_EQ(ok.pkt.key.dport, 2);

    Bytes nine = ext6(60) + eight;
    EXPECT_EQ(run1(eth(kIpv6, ipv6(kA6, kB6, 60, nine + udp(1, 2, zeros(4))))).why,
              Malformed::ipv6_too_many_ext);

    // An extension header longer than what follows.
    EXPECT_EQ(run1(eth(kIpv6, ipv6(kA6, kB6, 0, Bytes{6, 3} + zeros(6)))).why,
              Malformed::ipv6_ext_truncated);
    // ... or longer than the payload length (with bytes captured after it).
    EXPECT_EQ(run1(eth(kIpv6, ipv6(kA6, kB6, 0, ext6(6, 1), 64, 8) + zeros(20))).why,
              Malformed::ipv6_ext_truncated);
    EXPECT_EQ(run1(eth(kIpv6, zeros(39, 0x60))).why, Malformed::ipv6_truncated);
    EXPECT_EQ(run1(eth(kIpv6, ipv4(kA, kB, 6, tcp(1, 2)) + zeros(20))).why,
              Malformed::ip_bad_version);
}

TEST(Decoder, Ipv6AtomicFragmentIsNotAFragment) {
    Decoder d;
    auto r = run(d, eth(kIpv6, ipv6(kA6, kB6, 44, frag6(6, 0, false, 99) + tcp(80, 8080))));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    expect_key(r.pkt.key, 6, kA6, kB6, 6, 80, 8080);
    EXPECT_EQ(r.pkt.frag, FragKind::none);
    EXPECT_EQ(d.counters().fragments, 0u);
}

// ---------------------------------------------------------------- transport

TEST(Decoder, TransportMalformations) {
    TcpOpt low;
    low.doff = 4;
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2, 10, low)))).why, Malformed::tcp_bad_header);
    Bytes t = tcp(1, 2, 10);
    t[12] = 0xF0;  // 60 bytes of header, the datagram holds 20 + 10
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 6, t))).why, Malformed::tcp_bad_header);
    // IP payload shorter than a TCP / UDP header
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 6, zeros(12)))).why, Malformed::tcp_bad_header);
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 17, zeros(6)))).why, Malformed::udp_bad_header);
    EXPECT_EQ(run1(eth(kIpv4, ipv4(kA, kB, 17, udp(1, 2, zeros(8), 4)))).why,
              Malformed::udp_bad_header);
}

TEST(Decoder, SnaplenTruncatedTcpKeepsPorts) {
    Decoder d;
    Bytes full = eth(kIpv4, ipv4(kA, kB, 6, tcp(40000, 443, 1400)));
    Bytes cut(full.begin(), full.begin() + 14 + 20 + 8);  // ports + seq
    auto r = run(d, cut, 1, 5, static_cast<uint32_t>(full.size()));
    ASSERT_EQ(r.status, DecodeStatus::ok);
    expect_key(r.pkt.key, 4, kA, kB, 6, 40000, 443);
    EXPECT_TRUE(r.pkt.l4_truncated);
    EXPECT_EQ(r.pkt.tcp_seq, 0u);
    EXPECT_EQ(r.pkt.tcp_flags, 0);
    EXPECT_EQ(r.pkt.payload_off, 0);
    EXPECT_EQ(r.pkt.ip_len, 20u + 20 + 1400);  // from the header
    EXPECT_EQ(r.pkt.wire_len, full.size());
    EXPECT_EQ(r.pkt.cap_len, cut.size());
    EXPECT_EQ(d.counters().l4_truncated, 1u);

    // The header whole but the payload cut: a normal packet.
    Bytes cut2(full.begin(), full.begin() + 14 + 20 + 20 + 6);
    auto r2 = run(d, cut2);
    ASSERT_EQ(r2.status, DecodeStatus::ok);
    EXPECT_FALSE(r2.pkt.l4_truncated);
    EXPECT_EQ(r2.pkt.payload_len, 1400u);
    EXPECT_EQ(r2.pkt.tcp_seq, 1000u);

    // Options cut: ports only.
    TcpOpt o;
    o.doff = 10;
    Bytes opt = eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2, 0, o)));
    opt.resize(opt.size() - 4);
    auto r3 = run(d, opt);
    ASSERT_EQ(r3.status, DecodeStatus::ok);
    EXPECT_TRUE(r3.pkt.l4_truncated);
    EXPECT_EQ(r3.pkt.tcp_hdr_len, 0);

    // Not even the ports: skipped.
    Bytes cut4(full.begin(), full.begin() + 14 + 20 + 3);
    auto r4 = run(d, cut4);
    EXPECT_EQ(r4.status, DecodeStatus::malformed);
    EXPECT_EQ(r4.why, Malformed::l4_truncated);
    EXPECT_EQ(d.counters().malformed[static_cast<size_t>(Malformed::l4_truncated)], 1u);

    // UDP and SCTP the same way.
    Bytes u = eth(kIpv4, ipv4(kA, kB, 17, udp(53, 5353, zeros(100))));
    u.resize(14 + 20 + 5);
    auto ru = run(d, u);
    ASSERT_EQ(ru.status, DecodeStatus::ok);
    EXPECT_TRUE(ru.pkt.l4_truncated);
    EXPECT_EQ(ru.pkt.key.sport, 53);
    Bytes s = eth(kIpv6, ipv6(kA6, kB6, 132, sctp(7, 9)));
    s.resize(14 + 40 + 6);
    auto rs = run(d, s);
    ASSERT_EQ(rs.status, DecodeStatus::ok);
    EXPECT_TRUE(rs.pkt.l4_truncated);
    EXPECT_EQ(rs.pkt.key.dport, 9);
    EXPECT_EQ(d.counters().l4_truncated, 4u);
}

// ---------------------------------------------------------------- robustness

struct Sample {
    Bytes frame;
    uint16_t linktype;
};

std::vector<Sample> samples() {
    std::vector<Sample> s;
    for (auto& c : tunnel_cases()) {
        s.push_back({c.frame, 1});
    }
    TcpOpt o;
    o.doff = 12;
    Ip4Opt io;
    io.ihl = 7;
    s.push_back({eth(kIpv4, ipv4(kA, kB, 6, tcp(1, 2, 30, o), io)), 1});
    s.push_back({eth_tagged({{0x88A8, 1}, {0x8100, 2}}, 0x8864, pppoe(0x0057, tcp6())), 1});
    s.push_back({eth(0x8847, mpls({1, 2, 3}, tcp4())), 1});
    s.push_back({eth(kIpv6, ipv6(kA6, kB6, 0,
                                 ext6(43, 1) + ext6(44) + frag6(51, 0, true, 1) + ah6(17) +
                                     udp(1, 2, zeros(9)))),
                 1});
    s.push_back({eth(kIpv4, ipv4(kA, kB, 132, sctp(1, 2))), 1});
    s.push_back({eth(kIpv4, ipv4(kA, kB, 1, icmp(3, 1, zeros(4) + tcp4()))), 1});
    s.push_back({sll(kIpv4, tcp4()), 113});
    s.push_back({sll2(kIpv6, tcp6()), 276});
    s.push_back({Bytes{30, 0, 0, 0} + tcp6(), 0});
    s.push_back({Bytes{0, 0, 0, 2} + tcp4(), 108});
    s.push_back({tcp4(), 101});
    s.push_back({tcp6(), 229});
    s.push_back({eth(38, Bytes{0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00} + tcp4()), 1});
    return s;
}

TEST(Decoder, EveryTruncationOfEverySample) {
    Decoder on;
    Decoder off(no_decap());
    size_t runs = 0;
    for (const auto& s : samples()) {
        for (Decoder* d : {&on, &off}) {
            auto full = run(*d, s.frame, s.linktype);
            ASSERT_EQ(full.status, DecodeStatus::ok) << to_string(full.why);
        }
        for (size_t n = 0; n <= s.frame.size(); ++n) {
            // An exactly-sized heap copy: ASan flags any read past n.
            Bytes cut(s.frame.begin(), s.frame.begin() + static_cast<long>(n));
            for (Decoder* d : {&on, &off}) {
                auto r = run(*d, cut, s.linktype, 1, static_cast<uint32_t>(s.frame.size()));
                ++runs;
                switch (r.status) {
                    case DecodeStatus::ok:
                        EXPECT_TRUE(r.pkt.key.ip_version == 4 || r.pkt.key.ip_version == 6);
                        EXPECT_LE(r.pkt.l3_off, n);
                        EXPECT_LE(r.pkt.l4_off, n);
                        EXPECT_LE(r.pkt.payload_off, n);
                        EXPECT_EQ(r.why, Malformed::none);
                        break;
                    case DecodeStatus::non_ip:
                        EXPECT_EQ(r.why, Malformed::none);
                        break;
                    case DecodeStatus::malformed:
                        EXPECT_NE(r.why, Malformed::none);
                        EXPECT_NE(r.why, Malformed::count_);
                        break;
                }
            }
        }
    }
    const auto& c = on.counters();
    EXPECT_EQ(c.frames, c.decoded + c.non_ip + c.malformed_total());
    EXPECT_GT(runs, 1000u);
}

TEST(Decoder, DecodeDoesNotAllocate) {
    Decoder d;
    auto [f1, f2] = fragment4(kA, kB, 17, udp(5000, 53, zeros(2000)), 1480, 1);
    std::vector<Bytes> frames;
    for (auto& c : tunnel_cases()) {
        frames.push_back(c.frame);
    }
    frames.push_back(eth(kIpv4, f1));
    frames.push_back(eth(kIpv4, f2));
    frames.push_back(eth(0x0806, zeros(28)));
    frames.push_back(Bytes(5, 0));
    PacketRef ref;
    DecodedPacket out;
    size_t before = g_allocs.load();
    for (const auto& f : frames) {
        ref.data = f.data();
        ref.caplen = ref.wirelen = static_cast<uint32_t>(f.size());
        d.decode(ref, out);
    }
    EXPECT_EQ(g_allocs.load(), before);
}

TEST(Decoder, MovedDecoderKeepsWorking) {
    Decoder a;
    auto [f1, f2] = fragment4(kA, kB, 17, udp(1, 2, zeros(100)), 48, 9);
    run(a, eth(kIpv4, f1));
    Decoder b(std::move(a));
    auto r = run(b, eth(kIpv4, f2));
    EXPECT_EQ(r.pkt.frag, FragKind::later);
    EXPECT_EQ(b.counters().frames, 2u);
}

// ---------------------------------------------------------------- names, counters

TEST(Decoder, NamesAreSnakeCaseAndUnique) {
    std::set<std::string> seen;
    for (size_t i = 0; i < static_cast<size_t>(Malformed::count_); ++i) {
        std::string n(to_string(static_cast<Malformed>(i)));
        EXPECT_NE(n, "unknown");
        EXPECT_TRUE(seen.insert(n).second) << n;
    }
    EXPECT_EQ(to_string(Malformed::ipv4_truncated), "ipv4_truncated");
    EXPECT_EQ(to_string(Malformed::tunnel_too_deep), "tunnel_too_deep");
    seen.clear();
    for (size_t i = 0; i < static_cast<size_t>(Tunnel::count_); ++i) {
        std::string n(to_string(static_cast<Tunnel>(i)));
        EXPECT_NE(n, "unknown");
        EXPECT_TRUE(seen.insert(n).second) << n;
    }
    EXPECT_EQ(to_string(Tunnel::vxlan), "vxlan");
    EXPECT_EQ(to_string(Tunnel::gtpu), "gtpu");
}

TEST(Decoder, CountersAdd) {
    Decoder a;
    Decoder b;
    run(a, eth(kIpv4, tcp4()));
    run(a, eth(0x0806, zeros(28)));
    run(b, Bytes(3, 0));
    run(b, outer_udp4(1, 4789, vxlan(1, eth(kIpv4, tcp4()))));
    DecoderCounters sum = a.counters();
    sum += b.counters();
    EXPECT_EQ(sum.frames, 4u);
    EXPECT_EQ(sum.decoded, 2u);
    EXPECT_EQ(sum.non_ip, 1u);
    EXPECT_EQ(sum.malformed[static_cast<size_t>(Malformed::l2_truncated)], 1u);
    EXPECT_EQ(sum.malformed_total(), 1u);
    EXPECT_EQ(sum.tunnels[static_cast<size_t>(Tunnel::vxlan)], 1u);
}

}  // namespace
}  // namespace spate::parse
