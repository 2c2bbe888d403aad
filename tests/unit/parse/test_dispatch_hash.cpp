// DispatchHasher: the dispatcher's hash must pick, for every frame, the
// address pair the worker's decoder will key the frame on (else a flow is
// split between workers). Checked on hand-built frames of every shape the
// fast path reads or refuses, and frame by frame on every capture of the
// corpus against a full decoder.
#include "spate/parse/dispatch_hash.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "packet_builder.hpp"
#include "spate/port/capture_file.hpp"

using namespace spate;
using namespace spate::test;

namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kGre = 47;

const V4 kA{10, 0, 0, 1}, kB{10, 0, 0, 2}, kC{192, 168, 7, 7}, kD{192, 168, 7, 8};

PacketRef frame_ref(const Bytes& b, uint16_t linktype = 1) {
    PacketRef r;
    r.data = b.data();
    r.caplen = static_cast<uint32_t>(b.size());
    r.wirelen = r.caplen;
    r.linktype = linktype;
    r.ts_ns = 1'000'000'000;
    return r;
}

/// The hash of frame `b`, and whether it took the fast path.
struct Hashed {
    uint64_t hash;
    bool fast;
};
Hashed hash_of(parse::DispatchHasher& h, const Bytes& b, uint16_t linktype = 1) {
    const uint64_t fast_before = h.fast();
    const uint64_t v = h.hash(frame_ref(b, linktype));
    return {v, h.fast() != fast_before};
}

uint64_t pair(const V4& a, const V4& b) {
    return parse::address_pair_hash(addr(a), addr(b), 4);
}

TEST(DispatchHash, PlainFramesAreReadDirectlyAndBothDirectionsAgree) {
    parse::DispatchHasher h(parse::DecoderConfig{});
    const Hashed ab = hash_of(h, eth(kIpv4, ipv4(kA, kB, kTcp, tcp(1234, 80))));
    const Hashed ba = hash_of(h, eth(kIpv4, ipv4(kB, kA, kTcp, tcp(80, 1234))));
    EXPECT_TRUE(ab.fast);
    EXPECT_TRUE(ba.fast);
    EXPECT_EQ(ab.hash, ba.hash);
    EXPECT_EQ(ab.hash, pair(kA, kB));
    EXPECT_NE(ab.hash, pair(kA, kC));
    // Ports do not matter: every flow between two hosts, and its fragments, meet.
    EXPECT_EQ(hash_of(h, eth(kIpv4, ipv4(kA, kB, kUdp, udp(5000, 53, zeros(10))))).hash, ab.hash);
    Ip4Opt later;
    later.frag = 0x0010;  // a later TCP fragment: no ports, same pair
    const Hashed frag = hash_of(h, eth(kIpv4, ipv4(kA, kB, kTcp, zeros(16), later)));
    EXPECT_TRUE(frag.fast);
    EXPECT_EQ(frag.hash, ab.hash);
    // VLAN tags, Linux cooked captures, raw IP.
    EXPECT_EQ(
        hash_of(h, eth_tagged({{0x8100, 10}, {0x8100, 20}}, kIpv4, ipv4(kA, kB, kTcp, tcp(1, 2))))
            .hash,
        ab.hash);
    EXPECT_EQ(hash_of(h, sll(kIpv4, ipv4(kA, kB, kTcp, tcp(1, 2))), 113).hash, ab.hash);
    EXPECT_EQ(hash_of(h, sll2(kIpv4, ipv4(kA, kB, kTcp, tcp(1, 2))), 276).hash, ab.hash);
    EXPECT_EQ(hash_of(h, ipv4(kA, kB, kTcp, tcp(1, 2)), 101).hash, ab.hash);
    // IPv6.
    const Hashed six = hash_of(h, eth(kIpv6, ipv6(v6(1, 1), v6(2, 2), kTcp, tcp(1, 2))));
    EXPECT_TRUE(six.fast);
    EXPECT_EQ(six.hash, hash_of(h, eth(kIpv6, ipv6(v6(2, 2), v6(1, 1), kTcp, tcp(2, 1)))).hash);
    EXPECT_EQ(six.hash, parse::address_pair_hash(addr(v6(1, 1)), addr(v6(2, 2)), 6));
}

TEST(DispatchHash, TunnelsAndUdpFragmentsGoThroughTheDecoderAndHashTheInnerPair) {
    parse::DispatchHasher h(parse::DecoderConfig{});
    const Bytes inner = ipv4(kC, kD, kTcp, tcp(1234, 443));
    const uint64_t want = pair(kC, kD);
    struct Case {
        const char* name;
        Bytes frame;
    };
    const Case cases[] = {
        {"ip-in-ip", eth(kIpv4, ipv4(kA, kB, 4, inner))},
        {"gre", eth(kIpv4, ipv4(kA, kB, kGre, gre(0, kIpv4, inner)))},
        {"vxlan", eth(kIpv4, ipv4(kA, kB, kUdp, udp(49152, 4789, vxlan(7, eth(kIpv4, inner)))))},
        {"vxlan from the tunnel port",
         eth(kIpv4, ipv4(kB, kA, kUdp, udp(4789, 49153, vxlan(7, eth(kIpv4, inner)))))},
        {"geneve", eth(kIpv4, ipv4(kA, kB, kUdp, udp(49152, 6081, geneve(kIpv4, 0, inner))))},
        {"gtp-u", eth(kIpv4, ipv4(kA, kB, kUdp, udp(2152, 2152, gtpu(inner))))},
        {"mpls", eth(0x8847, mpls({100}, inner))},
        {"pppoe", eth(0x8864, pppoe(0x0021, inner))},
    };
    for (const Case& c : cases) {
        const Hashed r = hash_of(h, c.frame);
        EXPECT_FALSE(r.fast) << c.name;
        EXPECT_EQ(r.hash, want) << c.name;
    }
    // A UDP datagram in fragments: the first may hide a tunnel, the later
    // ones have no ports. Both take the decoder, and both land together.
    Ip4Opt first;
    first.frag = 0x2000;
    first.id = 77;
    Ip4Opt later;
    later.frag = 0x0003;
    later.id = 77;
    const Hashed f1 = hash_of(h, eth(kIpv4, ipv4(kA, kB, kUdp, udp(5000, 53, zeros(16)), first)));
    const Hashed f2 = hash_of(h, eth(kIpv4, ipv4(kA, kB, kUdp, zeros(24), later)));
    EXPECT_FALSE(f1.fast);
    EXPECT_FALSE(f2.fast);
    EXPECT_EQ(f1.hash, pair(kA, kB));
    EXPECT_EQ(f2.hash, pair(kA, kB));
    // IPv6 extension headers take the decoder too.
    const Hashed ext = hash_of(h, eth(kIpv6, ipv6(v6(1, 1), v6(2, 2), 0, ext6(kTcp) + tcp(1, 2))));
    EXPECT_FALSE(ext.fast);
    EXPECT_EQ(ext.hash, parse::address_pair_hash(addr(v6(1, 1)), addr(v6(2, 2)), 6));
}

TEST(DispatchHash, WithoutDecapTheOuterPairIsTheKeyAndTunnelsAreReadDirectly) {
    parse::DecoderConfig cfg;
    cfg.decap = false;
    parse::DispatchHasher h(cfg);
    const Bytes inner = ipv4(kC, kD, kTcp, tcp(1234, 443));
    const Hashed r = hash_of(h, eth(kIpv4, ipv4(kA, kB, kGre, gre(0, kIpv4, inner))));
    EXPECT_TRUE(r.fast);
    EXPECT_EQ(r.hash, pair(kA, kB));
}

TEST(DispatchHash, NotIpAndMalformedHashToZero) {
    parse::DispatchHasher h(parse::DecoderConfig{});
    EXPECT_EQ(hash_of(h, eth(0x0806, zeros(28))).hash, 0u);         // ARP
    EXPECT_EQ(hash_of(h, eth(kIpv4, Bytes{0x45, 0, 0})).hash, 0u);  // cut IPv4 header
    EXPECT_EQ(hash_of(h, Bytes{1, 2, 3}).hash, 0u);                 // cut Ethernet header
    EXPECT_EQ(hash_of(h, eth(kIpv4, ipv4(kA, kB, kTcp, {})), 9999).hash, 0u);  // unknown link
}

/// Every frame of every corpus capture: the dispatch hash is the hash of
/// the address pair a decoder keys the frame on.
TEST(DispatchHash, EveryCorpusFrameHashesTheDecodersKeyingPair) {
    namespace fs = std::filesystem;
    const char* env = std::getenv("SPATE_CORPUS");
    const fs::path corpus = env != nullptr ? fs::path(env) : fs::path("../shared/corpus");
    std::vector<fs::path> files;
    if (fs::is_directory(corpus / "pcaps")) {
        for (const auto& e : fs::recursive_directory_iterator(corpus / "pcaps")) {
            if (e.is_regular_file()) {
                files.push_back(e.path());  // the malformed ones too: whatever decodes must agree
            }
        }
    }
    const char* root = std::getenv("SPATE_SOURCE_ROOT");
    for (const auto& e :
         fs::directory_iterator(fs::path(root != nullptr ? root : ".") / "tests/data")) {
        const std::string ext = e.path().extension().string();
        if (ext == ".pcap" || ext == ".pcapng") {
            files.push_back(e.path());
        }
    }
    if (files.size() < 10) {
        GTEST_SKIP() << "corpus not found at " << corpus << " (set SPATE_CORPUS)";
    }
    uint64_t frames = 0, fast = 0;
    for (bool decap : {true, false}) {
        for (const fs::path& f : files) {
            parse::DecoderConfig cfg;
            cfg.decap = decap;
            parse::DispatchHasher hasher(cfg);
            parse::Decoder reference(cfg);
            parse::DecodedPacket d;
            std::optional<CaptureFile> opened;
            try {
                opened.emplace(CaptureFile::open(f.string()));
            } catch (const std::exception&) {
                continue;  // not a capture at all (a malformed sample)
            }
            CaptureFile& file = *opened;
            PacketRef pkt;
            uint64_t n = 0;
            while (file.next(pkt) == CaptureFile::Next::packet) {
                const uint64_t fast_before = hasher.fast();
                const uint64_t h = hasher.hash(pkt);
                ++n;
                if (reference.decode(pkt, d) != parse::DecodeStatus::ok) {
                    continue;
                }
                const uint64_t want =
                    parse::address_pair_hash(d.key.src, d.key.dst, d.key.ip_version);
                ASSERT_EQ(h, want) << f.filename() << " frame " << n << " decap " << decap
                                   << (hasher.fast() != fast_before ? " (fast path)" : "");
            }
            frames += n;
            fast += hasher.fast();
        }
    }
    // Most real frames never need the decoder.
    std::printf("%llu of %llu corpus frames hashed from the headers (decap on and off)\n",
                static_cast<unsigned long long>(fast), static_cast<unsigned long long>(frames));
    EXPECT_GT(fast * 10, frames * 8) << fast << " of " << frames << " frames on the fast path";
}

}  // namespace
