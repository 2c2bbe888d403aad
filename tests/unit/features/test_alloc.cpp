// Zero heap allocations per packet in steady state: malloc, calloc, realloc
// and operator new are counted (the test binary interposes them, so calls
// from libcrypto count too) while a worker with the Joy-parity units handles
// thousands of packets: new TCP flows with TLS ClientHellos split across
// segments and out of order (buffer leases), QUIC Initials (decryption),
// DNS over UDP, HTTP, and flows evicted from a small table (records
// emitted). Only Worker::on_packet is counted; setup and the record
// consumer are not.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <new>
#include <string>
#include <vector>

#include "../parse/packet_builder.hpp"
#include "spate/worker/worker.hpp"

#include <openssl/evp.h>

// The replacement operators pair with the malloc below on purpose.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
}

namespace {
std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocs{0};

inline void note() {
    if (g_counting.load(std::memory_order_relaxed)) {
        g_allocs.fetch_add(1, std::memory_order_relaxed);
    }
}
}  // namespace

extern "C" void* malloc(size_t n) {
    note();
    return __libc_malloc(n);
}
extern "C" void* calloc(size_t a, size_t b) {
    note();
    return __libc_calloc(a, b);
}
extern "C" void* realloc(void* p, size_t n) {
    note();
    return __libc_realloc(p, n);
}
void* operator new(size_t n) {
    note();
    void* p = __libc_malloc(n == 0 ? 1 : n);
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    return p;
}
void* operator new[](size_t n) {
    return operator new(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
    std::free(p);
}

using namespace spate;
using namespace spate::test;

namespace {

constexpr uint64_t kMs = 1'000'000ULL;

Bytes str(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

Bytes load_seed(const std::string& dir, const std::string& name) {
    const char* root = std::getenv("SPATE_SOURCE_ROOT");
    std::filesystem::path p = std::filesystem::path(root != nullptr ? root : ".") / "tests" /
                              "fuzz" / "seeds" / dir / name;
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

/// A TLS record holding a ClientHello with SNI (enough to exercise the unit).
Bytes client_hello_record() {
    Bytes body;
    put16(body, 0x0303);
    body = body + zeros(32, 0x11);
    body.push_back(0);
    put16(body, 4);
    put16(body, 0x1301);
    put16(body, 0xc02b);
    body.push_back(1);
    body.push_back(0);
    Bytes name = str("alloc.example");
    Bytes sni;
    put16(sni, uint16_t(name.size() + 3));
    sni.push_back(0);
    put16(sni, uint16_t(name.size()));
    sni = sni + name;
    Bytes exts;
    put16(exts, 0);
    put16(exts, uint16_t(sni.size()));
    exts = exts + sni;
    put16(exts, 21);
    put16(exts, 200);
    exts = exts + zeros(200);
    put16(body, uint16_t(exts.size()));
    body = body + exts;
    Bytes hs{1, 0};
    put16(hs, uint16_t(body.size()));
    hs = hs + body;
    Bytes rec{22, 3, 1};
    put16(rec, uint16_t(hs.size()));
    return rec + hs;
}

Bytes dns_query(uint16_t id) {
    Bytes b;
    put16(b, id);
    put16(b, 0x0100);
    put16(b, 1);
    put16(b, 0);
    put16(b, 0);
    put16(b, 0);
    for (const char* label : {"www", "example", "com"}) {
        b.push_back(uint8_t(std::strlen(label)));
        b = b + str(label);
    }
    b.push_back(0);
    put16(b, 1);
    put16(b, 1);
    return b;
}

Bytes tcp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, uint8_t flags, uint32_t seq,
                const Bytes& payload) {
    TcpOpt o;
    o.flags = flags;
    o.seq = seq;
    o.ack = 1;
    return eth(kIpv4, ipv4(s, d, 6, tcp(sp, dp, 0, o) + payload));
}

Bytes udp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, const Bytes& payload) {
    return eth(kIpv4, ipv4(s, d, 17, udp(sp, dp, payload)));
}

struct Traffic {
    std::vector<Bytes> frames;
};

/// Round r of traffic: every flow has new addresses, so each round creates
/// flows (and the small table evicts older ones).
Traffic round(uint32_t r, const Bytes& quic) {
    Traffic t;
    const Bytes ch = client_hello_record();
    const Bytes first(ch.begin(), ch.begin() + 60);
    const Bytes second(ch.begin() + 60, ch.begin() + 150);
    const Bytes third(ch.begin() + 150, ch.end());
    const Bytes http =
        str("GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n");
    for (uint32_t i = 0; i < 16; ++i) {
        const V4 c{10, uint8_t(r >> 8), uint8_t(r), uint8_t(i)};
        const V4 s{192, 0, 2, uint8_t(i)};
        const uint16_t cp = uint16_t(20000 + i);
        // TLS: SYN, then the ClientHello in three segments, the last two swapped.
        t.frames.push_back(tcp_frame(c, s, cp, 443, 0x02, 1000, {}));
        t.frames.push_back(tcp_frame(c, s, cp, 443, 0x18, 1001, first));
        t.frames.push_back(tcp_frame(c, s, cp, 443, 0x18, 1001 + 150, third));
        t.frames.push_back(tcp_frame(c, s, cp, 443, 0x18, 1001 + 60, second));
        t.frames.push_back(tcp_frame(c, s, cp, 443, 0x11, 1001 + uint32_t(ch.size()), {}));
        // HTTP request, DNS query and answer, a QUIC client Initial.
        t.frames.push_back(tcp_frame(c, s, uint16_t(cp + 1000), 80, 0x02, 5000, {}));
        t.frames.push_back(tcp_frame(c, s, uint16_t(cp + 1000), 80, 0x18, 5001, http));
        t.frames.push_back(udp_frame(c, s, uint16_t(cp + 2000), 53, dns_query(uint16_t(i))));
        t.frames.push_back(udp_frame(s, c, 53, uint16_t(cp + 2000), dns_query(uint16_t(i))));
        t.frames.push_back(udp_frame(c, s, uint16_t(cp + 3000), 443, quic));
    }
    return t;
}

}  // namespace

TEST(Allocations, TheCounterSeesNewAndLibraryMallocs) {
    g_allocs.store(0);
    g_counting.store(true);
    auto* v = new std::vector<int>(100);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();  // malloc inside libcrypto
    g_counting.store(false);
    const uint64_t seen = g_allocs.load();
    EVP_MD_CTX_free(ctx);
    delete v;
    EXPECT_GE(seen, 3u) << "operator new (twice) and libcrypto's malloc must be counted";
    g_allocs.store(0);
}

TEST(Allocations, NonePerPacketInSteadyStateWithTheJoyParityUnits) {
    const Bytes quic = load_seed("quic", "rfc9001-a2-client");
    ASSERT_FALSE(quic.empty()) << "QUIC seed not found under SPATE_SOURCE_ROOT";
    features::FeatureConfig cfg;
    cfg.tls_buffers = 8;  // fewer buffers than flows in flight: leases are taken back too
    const features::FeatureSet fs = features::FeatureSet::parse("joy", cfg);
    SpscRing ring(64 << 20);
    FlowTableConfig tc;
    tc.max_flows = 128;  // fewer than a round's flows: evictions emit records
    tc.idle_timeout_ns = 0;
    tc.active_timeout_ns = 0;
    Worker w(0, tc, ring, fs);
    parse::Decoder dec;
    parse::DecodedPacket d;
    uint64_t ts = 1000 * kMs;
    uint64_t packets = 0;
    uint64_t counted_packets = 0;
    uint64_t records = 0;
    auto drain = [&] {
        SpscRing::Message m;
        while (ring.peek(m)) {
            records += static_cast<MsgType>(m.type) == MsgType::record;
            ring.pop(m);
        }
        ring.release();
    };
    for (uint32_t r = 0; r < 60; ++r) {
        Traffic t = round(r, quic);  // built outside the counted section
        const bool count = r >= 10;  // rounds 0..9 warm up (first leases, crypto contexts)
        for (const Bytes& f : t.frames) {
            PacketRef ref{f.data(), uint32_t(f.size()), uint32_t(f.size()), ts += kMs, 1, 0};
            ASSERT_EQ(dec.decode(ref, d), parse::DecodeStatus::ok);
            g_counting.store(count, std::memory_order_relaxed);
            w.on_packet(d, symmetric_hash(d.key), f.data());
            g_counting.store(false, std::memory_order_relaxed);
            ++packets;
            counted_packets += count;
        }
        w.publish();
        drain();
    }
    w.advance(ts);  // publishes the unit counters
    EXPECT_GT(records, 1000u) << "the table should have evicted flows into records";
    EXPECT_GE(w.stats().tls_messages.load(), 900u) << "ClientHellos should have been parsed";
    EXPECT_GE(w.stats().quic_initials.load(), 900u) << "QUIC Initials should have been decrypted";
    EXPECT_GT(w.stats().tls_ooo_held.load(), 0u);
    EXPECT_EQ(g_allocs.load(), 0u)
        << "heap allocations in " << counted_packets << " packets of steady state";
    std::cout << "[ alloc ] " << g_allocs.load() << " allocations in " << counted_packets
              << " counted packets (" << packets << " in all, " << records << " records)\n";
}
