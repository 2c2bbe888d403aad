// The decoder's fast path (common Ethernet/IP/TCP frames read directly)
// gives exactly what the layer-by-layer walk gives: same status, same
// DecodedPacket, same counters, on well-formed frames and on every mutation
// of their header bytes and capture length.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "packet_builder.hpp"
#include "spate/core/packet.hpp"
#include "spate/parse/decoder.hpp"

using namespace spate;
using namespace spate::test;

namespace {

struct Pair {
    parse::Decoder fast{config(true)};
    parse::Decoder slow{config(false)};
    uint64_t fast_hits = 0;

    static parse::DecoderConfig config(bool fast_path) {
        parse::DecoderConfig c;
        c.fast_path = fast_path;
        return c;
    }

    /// Decodes with both; false (and a message) when they differ.
    ::testing::AssertionResult same(const Bytes& frame, uint32_t cap, uint32_t wire,
                                    uint16_t linktype = 1) {
        PacketRef ref;
        ref.data = frame.data();
        ref.caplen = cap;
        ref.wirelen = wire;
        ref.linktype = linktype;
        ref.ts_ns = 1'000'000'000;
        parse::DecodedPacket a, b;
        std::memset(static_cast<void*>(&a), 0, sizeof a);
        std::memset(static_cast<void*>(&b), 0, sizeof b);
        const parse::DecodeStatus sa = fast.decode(ref, a);
        const parse::DecodeStatus sb = slow.decode(ref, b);
        if (sa != sb || fast.last_malformed() != slow.last_malformed()) {
            return ::testing::AssertionFailure() << "status differs";
        }
        if (std::memcmp(&a, &b, sizeof a) != 0) {
            return ::testing::AssertionFailure() << "decoded packet differs";
        }
        const parse::DecoderCounters& ca = fast.counters();
        const parse::DecoderCounters& cb = slow.counters();
        if (ca.frames != cb.frames || ca.decoded != cb.decoded || ca.non_ip != cb.non_ip ||
            ca.l4_truncated != cb.l4_truncated || ca.fragments != cb.fragments ||
            ca.malformed != cb.malformed || ca.tunnels != cb.tunnels) {
            return ::testing::AssertionFailure() << "counters differ";
        }
        return ::testing::AssertionSuccess();
    }
};

std::vector<Bytes> base_frames() {
    const V4 a{10, 0, 0, 1}, b{192, 0, 2, 7};
    TcpOpt opts;
    opts.doff = 8;
    TcpOpt syn;
    syn.flags = 0x02;
    syn.doff = 10;
    Ip4Opt frag;
    frag.frag = 0x2000;  // MF
    Ip4Opt tso;
    tso.total = 0;
    Ip4Opt ihl6;
    ihl6.ihl = 6;
    return {
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443))),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443, 100))),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443, 1400, opts))),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443, 0, syn))),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443, 64), frag)),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443, 64), tso)),
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443, 10), ihl6)),
        eth(0x0800, ipv4(a, b, 17, udp(5353, 53, zeros(30)))),
        eth(0x86DD, ipv6(v6(1, 2), v6(3, 4), 6, tcp(1234, 80, 300))),
        eth(0x86DD, ipv6(v6(1, 2), v6(3, 4), 6, tcp(1234, 80, 0, opts))),
        eth(0x86DD, ipv6(v6(1, 2), v6(3, 4), 0, ext6(6) + tcp(1234, 80, 8))),
        eth_tagged({{0x8100, 5}}, 0x0800, ipv4(a, b, 6, tcp(1, 2, 5))),
        // Ethernet padding after a short datagram.
        eth(0x0800, ipv4(a, b, 6, tcp(40000, 443))) + zeros(6),
    };
}

}  // namespace

TEST(FastPath, TakenForCommonFramesAndEqualToTheWalk) {
    Pair p;
    for (const Bytes& f : base_frames()) {
        const auto n = static_cast<uint32_t>(f.size());
        EXPECT_TRUE(p.same(f, n, n));
        // Every capture length (snaplen cuts), and frames longer on the wire.
        for (uint32_t cap = 0; cap <= n; ++cap) {
            EXPECT_TRUE(p.same(f, cap, n + 4)) << "cap " << cap;
        }
    }
    // Other link types never take it.
    const Bytes f = base_frames()[1];
    EXPECT_TRUE(p.same(f, static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), 113));
}

TEST(FastPath, MutatedHeadersDecodeTheSameBothWays) {
    Pair p;
    std::mt19937_64 rng(12345);
    const std::vector<Bytes> bases = base_frames();
    for (int i = 0; i < 300000; ++i) {
        Bytes f = bases[rng() % bases.size()];
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < flips; ++k) {
            // Mostly the Ethernet, IP and TCP headers.
            const size_t at = 12 + rng() % std::min<size_t>(f.size() - 12, 80);
            f[at] = static_cast<uint8_t>(rng() % 4 == 0 ? rng() : f[at] ^ (1u << (rng() % 8)));
        }
        const auto n = static_cast<uint32_t>(f.size());
        const uint32_t cap = rng() % 4 == 0 ? static_cast<uint32_t>(rng() % (n + 1)) : n;
        ASSERT_TRUE(p.same(f, cap, n)) << "iteration " << i;
    }
}

TEST(FastPath, CountsTheFramesItTakes) {
    Pair p;
    const V4 a{10, 0, 0, 1}, b{192, 0, 2, 7};
    const Bytes common = eth(0x0800, ipv4(a, b, 6, tcp(1, 2, 10)));
    const Bytes tagged = eth_tagged({{0x8100, 5}}, 0x0800, ipv4(a, b, 6, tcp(1, 2, 5)));
    const Bytes six = eth(0x86DD, ipv6(v6(1, 2), v6(3, 4), 6, tcp(1234, 80, 300)));
    for (const Bytes* f : {&common, &tagged, &six, &common}) {
        const auto n = static_cast<uint32_t>(f->size());
        EXPECT_TRUE(p.same(*f, n, n));
    }
    EXPECT_EQ(p.fast.counters().fast_path, 3u);
    EXPECT_EQ(p.slow.counters().fast_path, 0u);
}
