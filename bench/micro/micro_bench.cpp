// Micro-benchmarks of the per-packet and per-record units. Each reports
// items per second (some bytes per second too); run with
// --benchmark_repetitions=5 --benchmark_report_aggregates_only=true for
// median and spread. Seeds (TLS, X.509, QUIC) are read from the source tree:
// SPATE_SOURCE_ROOT, else the first parent of the binary or of the working
// directory that holds tests/fuzz/seeds.
//
// Covered: decode; flow lookup and insert (with eviction) at 1k/100k/1M/10M
// flows; the worker's per-packet path; each feature unit's per-packet cost
// over a mix of TCP (HTTP, TLS) and UDP (DNS, media) flows; the JSON writer
// (plain and with the joy units); the zstd sink; the TLS ClientHello parser
// and fingerprints; the X.509 parser; QUIC Initial decryption; content
// rules (Hyperscan stream scan throughput, the content unit's per-flow path).
#include <benchmark/benchmark.h>

#include "spate_config.h"
#if SPATE_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "spate/export/record_json.hpp"
#include "spate/export/sink.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/flow/flow_table.hpp"
#include "spate/match/app.hpp"
#include "spate/match/content_db.hpp"
#include "spate/match/content_matcher.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/parse/dispatch_hash.hpp"
#include "spate/proto/fingerprint.hpp"
#include "spate/proto/quic.hpp"
#include "spate/proto/tls.hpp"
#include "spate/proto/x509.hpp"
#include "spate/worker/messages.hpp"
#include "spate/worker/worker.hpp"

using namespace spate;

namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- seeds

fs::path source_root() {
    static const fs::path root = [] {
        std::vector<fs::path> candidates;
        if (const char* r = std::getenv("SPATE_SOURCE_ROOT")) {
            candidates.emplace_back(r);
        }
        auto add_parents = [&](fs::path p) {
            while (!p.empty()) {
                candidates.push_back(p);
                fs::path up = p.parent_path();
                if (up == p) {
                    break;
                }
                p = up;
            }
        };
        std::error_code ec;
        const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
        if (!ec) {
            add_parents(exe.parent_path());
        }
        const fs::path cwd = fs::current_path(ec);
        if (!ec) {
            add_parents(cwd);
        }
        for (const auto& c : candidates) {
            if (fs::is_directory(c / "tests" / "fuzz" / "seeds", ec)) {
                return c;
            }
        }
        return fs::path();
    }();
    return root;
}

/// A seed file under tests/fuzz/seeds, or empty when not found.
Bytes load_seed(const std::string& rel) {
    const fs::path root = source_root();
    if (root.empty()) {
        return {};
    }
    std::ifstream f(root / "tests" / "fuzz" / "seeds" / rel, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// ---------------------------------------------------------------- frames

void put8(Bytes& b, uint8_t v) {
    b.push_back(v);
}
void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put24(Bytes& b, uint32_t v) {
    put8(b, static_cast<uint8_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
void append(Bytes& b, const Bytes& x) {
    b.insert(b.end(), x.begin(), x.end());
}
void append(Bytes& b, std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
}

using V4 = std::array<uint8_t, 4>;

/// Ethernet + IPv4 (DF) around an L4 header and payload.
Bytes ipv4_frame(const V4& src, const V4& dst, uint8_t proto, uint8_t ttl, uint16_t id,
                 const Bytes& l4) {
    Bytes f = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x08, 0x00};
    put8(f, 0x45);
    put8(f, 0);
    put16(f, static_cast<uint16_t>(20 + l4.size()));
    put16(f, id);
    put16(f, 0x4000);
    put8(f, ttl);
    put8(f, proto);
    put16(f, 0);
    f.insert(f.end(), src.begin(), src.end());
    f.insert(f.end(), dst.begin(), dst.end());
    append(f, l4);
    return f;
}

// Ethernet + IPv4 + TCP (SYN) frame, 60 bytes.
std::vector<uint8_t> tcp_frame(uint32_t src, uint16_t sport) {
    std::vector<uint8_t> f(14 + 20 + 20, 0);
    f[12] = 0x08;
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    ip[3] = 40;
    ip[8] = 64;
    ip[9] = 6;
    std::memcpy(ip + 12, &src, 4);
    ip[16] = 192;
    ip[17] = 0;
    ip[18] = 2;
    ip[19] = 1;
    uint8_t* tcp = ip + 20;
    tcp[0] = static_cast<uint8_t>(sport >> 8);
    tcp[1] = static_cast<uint8_t>(sport);
    tcp[3] = 80;
    tcp[12] = 0x50;
    tcp[13] = 0x02;
    return f;
}

// ---------------------------------------------------------------- TLS messages

Bytes vec8(const Bytes& v) {
    Bytes b{static_cast<uint8_t>(v.size())};
    append(b, v);
    return b;
}
Bytes vec16(const Bytes& v) {
    Bytes b;
    put16(b, static_cast<uint16_t>(v.size()));
    append(b, v);
    return b;
}
Bytes tls_ext(uint16_t type, const Bytes& data) {
    Bytes b;
    put16(b, type);
    append(b, vec16(data));
    return b;
}
Bytes tls_handshake(uint8_t type, const Bytes& body) {
    Bytes b{type};
    put24(b, static_cast<uint32_t>(body.size()));
    append(b, body);
    return b;
}
/// TLS records of `type` carrying `body` (cut at 16 KiB).
Bytes tls_records(uint8_t type, const Bytes& body, uint16_t version = 0x0303) {
    Bytes b;
    for (size_t off = 0; off < body.size(); off += 16384) {
        const size_t n = std::min<size_t>(16384, body.size() - off);
        put8(b, type);
        put16(b, version);
        put16(b, static_cast<uint16_t>(n));
        b.insert(b.end(), body.begin() + static_cast<long>(off),
                 body.begin() + static_cast<long>(off + n));
    }
    return b;
}

/// A Chrome-like TLS 1.3 ClientHello body (508 bytes: GREASE, 16 suites, 16
/// extensions, padding), used when the captured one is not found.
Bytes synthetic_client_hello_body() {
    Bytes b;
    put16(b, 0x0303);
    append(b, Bytes(32, 0x5a));
    append(b, vec8(Bytes(32, 0x33)));
    Bytes cs;
    for (uint16_t s : {0x8a8a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                       0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}) {
        put16(cs, s);
    }
    append(b, vec16(cs));
    append(b, vec8({0}));
    const std::string host = "www.example.com";
    Bytes sni{0};
    append(sni, vec16(Bytes(host.begin(), host.end())));
    Bytes groups;
    for (uint16_t g : {0x2a2a, 0x001d, 0x0017, 0x0018}) {
        put16(groups, g);
    }
    Bytes sigs;
    for (uint16_t s : {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}) {
        put16(sigs, s);
    }
    Bytes alpn;
    append(alpn, vec8(Bytes{'h', '2'}));
    append(alpn, vec8(Bytes{'h', 't', 't', 'p', '/', '1', '.', '1'}));
    Bytes versions;
    for (uint16_t v : {0x4a4a, 0x0304, 0x0303}) {
        put16(versions, v);
    }
    Bytes share;
    put16(share, 0x2a2a);
    append(share, vec16({0}));
    put16(share, 0x001d);
    append(share, vec16(Bytes(32, 0x44)));
    Bytes exts;
    append(exts, tls_ext(0x0a0a, {}));
    append(exts, tls_ext(0, vec16(sni)));
    append(exts, tls_ext(23, {}));
    append(exts, tls_ext(0xff01, {0}));
    append(exts, tls_ext(10, vec16(groups)));
    append(exts, tls_ext(11, vec8({0})));
    append(exts, tls_ext(35, {}));
    append(exts, tls_ext(16, vec16(alpn)));
    append(exts, tls_ext(5, {1, 0, 0, 0, 0}));
    append(exts, tls_ext(13, vec16(sigs)));
    append(exts, tls_ext(18, {}));
    append(exts, tls_ext(51, vec16(share)));
    append(exts, tls_ext(45, vec8({1})));
    append(exts, tls_ext(43, vec8(versions)));
    append(exts, tls_ext(27, vec8({0, 2})));
    append(exts, tls_ext(0x1a1a, {0}));
    // padding (21) up to a 508-byte body, as Chrome pads to 512 with the header
    const size_t without_pad = b.size() + 2 + exts.size() + 4;
    append(exts, tls_ext(21, Bytes(without_pad < 508 ? 508 - without_pad : 0, 0)));
    append(b, vec16(exts));
    return b;
}

/// One TCP payload of a captured TLS flow (tests/fuzz/seeds/tls format).
struct SeedSegment {
    bool from_server;
    Bytes data;
};

/// The contiguous start of the ndpi__chrome flow (ClientHello, ServerHello,
/// certificates, application data), or empty when the seed is not found.
std::vector<SeedSegment> chrome_tls_segments() {
    const Bytes d = load_seed("tls/ndpi__chrome.bin");
    std::vector<SeedSegment> out;
    size_t i = 0;
    while (i + 5 <= d.size()) {
        const uint8_t flags = d[i];
        const uint32_t delta = uint32_t(d[i + 1] << 8 | d[i + 2]);
        const size_t len = size_t(d[i + 3] << 8 | d[i + 4]);
        i += 5;
        if (delta != 0 || len > d.size() - i || (flags & 6) != 0) {
            break;  // a hole (a later part of the capture), or not a plain TCP segment
        }
        out.push_back({(flags & 1) != 0, Bytes(d.begin() + long(i), d.begin() + long(i + len))});
        i += len;
    }
    return out;
}

/// A real-size ClientHello body: Chrome's from the seed, else synthetic.
const Bytes& client_hello_body(std::string* source = nullptr) {
    static std::string src;
    static const Bytes body = [] {
        auto segs = chrome_tls_segments();
        if (!segs.empty() && !segs[0].from_server) {
            const Bytes& r = segs[0].data;
            // record header (5) + handshake header (4)
            if (r.size() > 9 && r[0] == 0x16 && r[5] == 1) {
                const size_t n = size_t(r[6]) << 16 | size_t(r[7]) << 8 | r[8];
                if (9 + n <= r.size()) {
                    src = "ndpi__chrome";
                    return Bytes(r.begin() + 9, r.begin() + 9 + long(n));
                }
            }
        }
        src = "synthetic";
        return synthetic_client_hello_body();
    }();
    if (source != nullptr) {
        *source = src;
    }
    return body;
}

// ---------------------------------------------------------------- the packet mix
//
// One "pass" of traffic: HTTP and TLS connections over TCP (handshake with
// options, payload in MSS-sized segments, ACKs, FIN exchange), DNS queries
// and answers, and media-like UDP streams, interleaved by time. Each pass is
// replayed with fresh client ports and later timestamps, so every pass
// creates new flows and the flows of earlier passes expire (TCP after the
// FINs, UDP when idle): the per-packet cost includes flow creation, feature
// init, expiry and the record copy, as in a real run.

constexpr uint64_t kMs = 1'000'000ULL;
constexpr uint64_t kUs = 1'000ULL;

struct MixPacket {
    Bytes frame;
    uint32_t flow = 0;
    bool from_client = true;
    uint64_t t = 0;  ///< from the start of the pass
    parse::DecodedPacket d;
};

struct Mix {
    std::vector<MixPacket> pkts;
    uint32_t flows = 0;
    uint64_t span_ns = 0;
    std::string tls_source;
    uint64_t payload_bytes = 0;
};

class FlowBuilder {
public:
    FlowBuilder(std::vector<MixPacket>& out, uint32_t flow, V4 cip, V4 sip, uint16_t sport,
                uint64_t start, uint64_t gap, std::mt19937& rng, uint8_t cttl)
        : out_(out),
          flow_(flow),
          cip_(cip),
          sip_(sip),
          sport_(sport),
          t_(start),
          gap_(gap),
          rng_(rng),
          cttl_(cttl) {}

    void handshake() {
        Bytes syn_opts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
        tcp(true, 0x02, syn_opts, {});
        Bytes synack_opts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1, 1, 3, 3, 9};
        tcp(false, 0x12, synack_opts, {});
        ++seq_[0];
        ++seq_[1];
        tcp(true, 0x10, ts_opts(), {});
    }
    /// Payload from one side in MSS-sized segments, the peer ACKing every second.
    void data(bool from_client, const Bytes& payload) {
        int unacked = 0;
        for (size_t off = 0; off < payload.size(); off += kMss) {
            const size_t n = std::min(kMss, payload.size() - off);
            Bytes piece(payload.begin() + long(off), payload.begin() + long(off + n));
            tcp(from_client, 0x18, ts_opts(), piece);
            if (++unacked == 2) {
                tcp(!from_client, 0x10, ts_opts(), {});
                unacked = 0;
            }
        }
        if (unacked != 0) {
            tcp(!from_client, 0x10, ts_opts(), {});
        }
    }
    void close() {
        tcp(true, 0x11, ts_opts(), {});
        ++seq_[0];
        tcp(false, 0x11, ts_opts(), {});
        ++seq_[1];
        tcp(true, 0x10, ts_opts(), {});
    }
    void udp(bool from_client, uint16_t cport_hint, const Bytes& payload) {
        Bytes l4;
        put16(l4, from_client ? cport_hint : sport_);
        put16(l4, from_client ? sport_ : cport_hint);
        put16(l4, static_cast<uint16_t>(8 + payload.size()));
        put16(l4, 0);
        append(l4, payload);
        emit(from_client, 17, l4);
    }

private:
    static constexpr size_t kMss = 1448;
    static constexpr uint16_t kClientPort = 40000;  // replaced per pass

    Bytes ts_opts() {
        ++tsval_;
        return {1,
                1,
                8,
                10,
                uint8_t(tsval_ >> 24),
                uint8_t(tsval_ >> 16),
                uint8_t(tsval_ >> 8),
                uint8_t(tsval_),
                0,
                0,
                0,
                7};
    }
    void tcp(bool from_client, uint8_t flags, const Bytes& opts, const Bytes& payload) {
        const int d = from_client ? 0 : 1;
        Bytes l4;
        put16(l4, from_client ? kClientPort : sport_);
        put16(l4, from_client ? sport_ : kClientPort);
        put32(l4, seq_[d]);
        put32(l4, (flags & 0x10) != 0 ? seq_[1 - d] : 0);
        put8(l4, static_cast<uint8_t>((20 + opts.size()) / 4 << 4));
        put8(l4, flags);
        put16(l4, (flags & 0x02) != 0 ? (from_client ? 64240 : 65160) : (from_client ? 502 : 509));
        put32(l4, 0);
        append(l4, opts);
        append(l4, payload);
        seq_[d] += static_cast<uint32_t>(payload.size());
        emit(from_client, 6, l4);
    }
    void emit(bool from_client, uint8_t proto, const Bytes& l4) {
        MixPacket p;
        p.flow = flow_;
        p.from_client = from_client;
        p.t = t_;
        p.frame = from_client ? ipv4_frame(cip_, sip_, proto, cttl_, id_[0]++, l4)
                              : ipv4_frame(sip_, cip_, proto, 56, id_[1]++, l4);
        out_.push_back(std::move(p));
        t_ += gap_ / 2 + rng_() % gap_;
    }

    std::vector<MixPacket>& out_;
    uint32_t flow_;
    V4 cip_, sip_;
    uint16_t sport_;
    uint64_t t_, gap_;
    std::mt19937& rng_;
    uint8_t cttl_;
    uint32_t seq_[2] = {0x1000, 0x80000};
    uint16_t id_[2] = {0x100, 0x7000};
    uint32_t tsval_ = 1000;
};

Bytes random_bytes(std::mt19937& rng, size_t n) {
    Bytes b(n);
    for (auto& x : b) {
        x = static_cast<uint8_t>(rng());
    }
    return b;
}

Bytes dns_name(const std::string& host) {
    Bytes b;
    size_t start = 0;
    while (start <= host.size()) {
        size_t dot = host.find('.', start);
        if (dot == std::string::npos) {
            dot = host.size();
        }
        put8(b, static_cast<uint8_t>(dot - start));
        append(b, std::string_view(host).substr(start, dot - start));
        start = dot + 1;
    }
    put8(b, 0);
    return b;
}

Mix build_mix(uint32_t seed) {
    Mix mx;
    std::mt19937 rng(seed);
    auto segs = chrome_tls_segments();
    mx.tls_source = segs.empty() ? "synthetic" : "ndpi__chrome";
    const Bytes cert = load_seed("x509/ndpi_443curl_www_ntop_org.der");
    const char* hosts[] = {"www.example.com",  "api.example.net",    "cdn.example.org",
                           "mail.example.com", "static.example.net", "images.example.org"};
    constexpr uint32_t kHttp = 48, kTls = 48, kDns = 96, kMedia = 16;
    constexpr uint64_t kWindow = 150 * kMs;  // flows start within this
    uint32_t flow = 0;
    auto client_ip = [&](uint32_t f) {
        return V4{10, 1, static_cast<uint8_t>(f >> 8), static_cast<uint8_t>(f)};
    };
    auto start = [&] { return rng() % kWindow; };
    auto ttl = [&] { return static_cast<uint8_t>(rng() % 4 == 0 ? 128 : 64); };
    for (uint32_t i = 0; i < kHttp; ++i, ++flow) {
        FlowBuilder b(mx.pkts, flow, client_ip(flow), V4{192, 0, 2, uint8_t(i % 8)}, 80, start(),
                      300 * kUs, rng, ttl());
        b.handshake();
        std::string req = "GET /assets/page-" + std::to_string(rng() % 100000) +
                          ".html HTTP/1.1\r\nHost: " + hosts[i % 6] +
                          "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
                          "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
                          "Safari/537.36\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8"
                          "\r\nAccept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;"
                          "q=0.9\r\nConnection: keep-alive\r\n\r\n";
        b.data(true, Bytes(req.begin(), req.end()));
        const size_t body = 500 + rng() % 12000;
        std::string hdr =
            "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Mon, 27 Nov "
            "2023 12:00:00 GMT\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Content-Length: " +
            std::to_string(body) + "\r\nConnection: keep-alive\r\n\r\n";
        Bytes resp(hdr.begin(), hdr.end());
        append(resp, random_bytes(rng, body));
        b.data(false, resp);
        b.close();
    }
    for (uint32_t i = 0; i < kTls; ++i, ++flow) {
        FlowBuilder b(mx.pkts, flow, client_ip(flow), V4{198, 51, 100, uint8_t(i % 8)}, 443,
                      start(), 400 * kUs, rng, ttl());
        b.handshake();
        if (!segs.empty()) {
            for (const auto& s : segs) {
                b.data(!s.from_server, s.data);
            }
        } else {
            b.data(true, tls_records(22, tls_handshake(1, client_hello_body()), 0x0301));
            Bytes sh;
            put16(sh, 0x0303);
            append(sh, Bytes(32, 0x77));
            append(sh, vec8(Bytes(32, 0x33)));
            put16(sh, 0xc02f);
            put8(sh, 0);
            append(sh, vec16(tls_ext(0xff01, {0})));
            Bytes flight = tls_handshake(2, sh);
            if (!cert.empty()) {
                Bytes list;
                put24(list, static_cast<uint32_t>(cert.size()));
                append(list, cert);
                Bytes msg;
                put24(msg, static_cast<uint32_t>(list.size()));
                append(msg, list);
                append(flight, tls_handshake(11, msg));
            }
            append(flight, tls_handshake(14, {}));
            b.data(false, tls_records(22, flight));
        }
        for (int k = 0; k < 3; ++k) {
            b.data(true, tls_records(23, random_bytes(rng, 100 + rng() % 600)));
            b.data(false, tls_records(23, random_bytes(rng, 1000 + rng() % 8000)));
        }
        b.close();
    }
    for (uint32_t i = 0; i < kDns; ++i, ++flow) {
        FlowBuilder b(mx.pkts, flow, client_ip(flow), V4{192, 0, 2, 53}, 53, start(), 2 * kMs, rng,
                      ttl());
        const Bytes name = dns_name(hosts[i % 6]);
        const uint16_t id = static_cast<uint16_t>(rng());
        const uint16_t qtype = i % 2 == 0 ? 1 : 28;
        Bytes q;
        put16(q, id);
        put16(q, 0x0100);
        put16(q, 1);
        put16(q, 0);
        put16(q, 0);
        put16(q, 0);
        append(q, name);
        put16(q, qtype);
        put16(q, 1);
        Bytes r = q;
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = 2;  // two answers
        for (int a = 0; a < 2; ++a) {
            put16(r, 0xc00c);
            put16(r, qtype);
            put16(r, 1);
            put32(r, 300);
            const Bytes rdata = random_bytes(rng, qtype == 1 ? 4 : 16);
            put16(r, static_cast<uint16_t>(rdata.size()));
            append(r, rdata);
        }
        b.udp(true, 40000, q);
        b.udp(false, 40000, r);
    }
    for (uint32_t i = 0; i < kMedia; ++i, ++flow) {
        FlowBuilder b(mx.pkts, flow, client_ip(flow), V4{203, 0, 113, uint8_t(i)}, 5004, start(),
                      2 * kMs, rng, ttl());
        for (int k = 0; k < 20; ++k) {
            Bytes rtp = {0x80, 0x60};
            append(rtp, random_bytes(rng, 170));
            b.udp(k % 4 != 3, 40000, rtp);
        }
    }
    mx.flows = flow;
    std::stable_sort(mx.pkts.begin(), mx.pkts.end(),
                     [](const MixPacket& a, const MixPacket& b) { return a.t < b.t; });
    parse::Decoder dec;
    for (auto& p : mx.pkts) {
        PacketRef ref{p.frame.data(),
                      static_cast<uint32_t>(p.frame.size()),
                      static_cast<uint32_t>(p.frame.size()),
                      p.t,
                      1,
                      0};
        if (dec.decode(ref, p.d) != parse::DecodeStatus::ok) {
            std::fprintf(stderr, "micro_bench: a mix frame did not decode\n");
            std::abort();
        }
        mx.payload_bytes += p.d.payload_len;
        mx.span_ns = std::max(mx.span_ns, p.t);
    }
    mx.span_ns += 10 * kMs;
    return mx;
}

const Mix& mix() {
    static const Mix m = build_mix(42);
    return m;
}

/// Units' parameters for a benchmark: the shipped app set as the content
/// rules when the units are app, content or all (and Hyperscan is here).
features::FeatureConfig mix_config(const std::string& units) {
    features::FeatureConfig c;
#if SPATE_HAVE_HYPERSCAN
    if (units == "app" || units == "content" || units == "all") {
        match::RuleSet set;
        set.parse(match::builtin_app_rules(), "apps.rules");
        c.content_db = match::ContentDb::compile(std::move(set));
    }
#endif
    return c;
}

/// A worker with some units enabled, fed pass after pass of a mix.
class MixRun {
public:
    explicit MixRun(const std::string& units, const Mix& mx = mix())
        : mx_(mx),
          fs_(features::FeatureSet::parse(units, mix_config(units))),
          ring_(ring_bytes(mx, fs_)),
          w_(0, table_cfg(), ring_, fs_),
          cur_(mx.pkts.size()),
          hashes_(mx.pkts.size()) {
        prepare();
    }

    static FlowTableConfig table_cfg() {
        FlowTableConfig c;
        c.max_flows = 1u << 16;
        c.idle_timeout_ns = 1000 * kMs;
        c.tcp_close_timeout_ns = 500 * kMs;
        return c;
    }

    size_t size() const { return cur_.size(); }
    void packet(size_t i) { w_.on_packet(cur_[i], hashes_[i], mx_.pkts[i].frame.data()); }
    void run_pass() {
        for (size_t i = 0; i < cur_.size(); ++i) {
            packet(i);
        }
    }
    /// Takes the records sent so far (fn(message)) and prepares the next pass.
    template <class Fn>
    void next_pass(Fn&& fn) {
        w_.publish();
        take_records(fn);
        ++pass_;
        prepare();
    }
    void next_pass() {
        next_pass([](const SpscRing::Message&) {});
    }
    /// Ends every flow (end_of_input) and takes the records.
    template <class Fn>
    void finish(Fn&& fn) {
        w_.finish();
        take_records(fn);
    }
    const features::FeatureSet& features() const { return fs_; }
    uint64_t records() const { return w_.stats().records.load(std::memory_order_relaxed); }
    /// TLS handshake messages parsed by the tls unit so far (counted at expiry sweeps).
    uint64_t tls_messages() const {
        return w_.stats().tls_messages.load(std::memory_order_relaxed);
    }

private:
    static size_t ring_bytes(const Mix& mx, const features::FeatureSet& fs) {
        // A pass ends about as many flows as it starts; room for 8 passes.
        return std::max<size_t>(16u << 20,
                                8 * size_t{mx.flows} * (sizeof(FlowData) + fs.state_bytes() + 64));
    }
    template <class Fn>
    void take_records(Fn& fn) {
        SpscRing::Message m;
        while (ring_.peek(m)) {
            if (static_cast<MsgType>(m.type) == MsgType::record) {
                fn(m);
            }
            ring_.pop(m);
        }
        ring_.release();
    }
    void prepare() {
        const uint64_t base = 1'700'000'000'000'000'000ULL + pass_ * mx_.span_ns;
        for (size_t i = 0; i < cur_.size(); ++i) {
            const MixPacket& p = mx_.pkts[i];
            parse::DecodedPacket& d = cur_[i];
            d = p.d;
            d.ts_ns = base + p.t;
            const auto port = static_cast<uint16_t>(1024 + (pass_ * mx_.flows + p.flow) % 60000);
            (p.from_client ? d.key.sport : d.key.dport) = port;
            hashes_[i] = symmetric_hash(d.key);
        }
    }

    const Mix& mx_;
    features::FeatureSet fs_;
    SpscRing ring_;
    Worker w_;
    std::vector<parse::DecodedPacket> cur_;
    std::vector<uint64_t> hashes_;
    uint64_t pass_ = 0;
};

constexpr int kWarmupPasses = 8;

// ---------------------------------------------------------------- decode

// Arg: 1 with the decoder's fast path (the default), 0 the full walk.
parse::DecoderConfig decode_config(const benchmark::State& state) {
    parse::DecoderConfig c;
    c.fast_path = state.range(0) != 0;
    return c;
}

void BM_DecodeTcpIpv4(benchmark::State& state) {
    auto f = tcp_frame(0x0100000a, 1234);
    parse::Decoder dec(decode_config(state));
    parse::DecodedPacket d;
    PacketRef ref{f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), 1, 1,
                  0};
    for (auto _ : state) {
        benchmark::DoNotOptimize(dec.decode(ref, d));
        benchmark::DoNotOptimize(d);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeTcpIpv4)->ArgName("fast")->Arg(0)->Arg(1);

// The flow hash, keyed by the run's seed (both endpoints mixed under it).
void BM_SymmetricHash(benchmark::State& state) {
    std::vector<FlowKey> keys(4096);
    std::mt19937_64 rng(5);
    for (FlowKey& k : keys) {
        uint8_t a[16], b[16];
        for (int i = 0; i < 16; ++i) {
            a[i] = static_cast<uint8_t>(rng());
            b[i] = static_cast<uint8_t>(rng());
        }
        k.src = IpAddr::v6(a);
        k.dst = IpAddr::v6(b);
        k.sport = static_cast<uint16_t>(rng());
        k.dport = static_cast<uint16_t>(rng());
        k.proto = 6;
        k.ip_version = 6;
    }
    const uint64_t seed = rng();
    size_t i = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(symmetric_hash(keys[i++ & 4095], seed));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SymmetricHash);

// What the dispatcher spends per frame: the address-pair hash, read from
// the headers (the common case), against the full decode it no longer does.
void BM_DispatchHashTcpIpv4(benchmark::State& state) {
    auto f = tcp_frame(0x0100000a, 1234);
    parse::DispatchHasher h(parse::DecoderConfig{});
    PacketRef ref{f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), 1, 1,
                  0};
    for (auto _ : state) {
        benchmark::DoNotOptimize(h.hash(ref));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DispatchHashTcpIpv4);

// Over the mixed traffic of the worker benchmarks (TCP, DNS, media).
void BM_DispatchHashMix(benchmark::State& state) {
    const Mix& mx = mix();
    parse::DispatchHasher h(parse::DecoderConfig{});
    size_t i = 0;
    for (auto _ : state) {
        const auto& p = mx.pkts[i];
        PacketRef ref{p.frame.data(),
                      static_cast<uint32_t>(p.frame.size()),
                      static_cast<uint32_t>(p.frame.size()),
                      p.t,
                      1,
                      0};
        benchmark::DoNotOptimize(h.hash(ref));
        i = i + 1 == mx.pkts.size() ? 0 : i + 1;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DispatchHashMix);

void BM_DecodeMix(benchmark::State& state) {
    const Mix& mx = mix();
    parse::Decoder dec(decode_config(state));
    parse::DecodedPacket d;
    size_t i = 0;
    for (auto _ : state) {
        const auto& p = mx.pkts[i];
        PacketRef ref{p.frame.data(),
                      static_cast<uint32_t>(p.frame.size()),
                      static_cast<uint32_t>(p.frame.size()),
                      p.t,
                      1,
                      0};
        benchmark::DoNotOptimize(dec.decode(ref, d));
        i = i + 1 == mx.pkts.size() ? 0 : i + 1;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeMix)->ArgName("fast")->Arg(0)->Arg(1);

// ---------------------------------------------------------------- flow table

FlowKey table_key(uint32_t i) {
    FlowKey k;
    uint8_t a[4], b[4] = {192, 0, 2, 1};
    std::memcpy(a, &i, 4);
    k.src = IpAddr::v4(a);
    k.dst = IpAddr::v4(b);
    k.sport = static_cast<uint16_t>(i * 7);
    k.dport = 443;
    k.proto = 6;
    k.ip_version = 4;
    return k;
}

/// A table filled with N flows, kept between the runs of one benchmark (the
/// library calls a benchmark function several times: filling 10M flows each
/// time would dominate the run). One at a time: switching frees the last.
struct TableFixture {
    std::string kind;
    uint32_t n = 0;
    std::unique_ptr<FlowTable> table;
    std::vector<FlowKey> keys;  ///< lookup only
    std::vector<uint64_t> hashes;
    std::vector<uint32_t> order;
    uint32_t next_key = 0;  ///< insert: next never-used key
    double fill_ns_per_flow = 0;
};

TableFixture& table_fixture(const std::string& kind, uint32_t n) {
    static TableFixture f;
    if (f.kind == kind && f.n == n && f.table != nullptr) {
        return f;
    }
    f = TableFixture{};
    f.kind = kind;
    f.n = n;
    f.table = std::make_unique<FlowTable>(
        FlowTableConfig{.max_flows = n, .idle_timeout_ns = 0, .active_timeout_ns = 0});
    const bool lookup = kind == "lookup";
    if (lookup) {
        f.keys.resize(n);
        f.hashes.resize(n);
    }
    // Timed: key, hash and insert into an empty table (first touch of its pages).
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < n; ++i) {
        const FlowKey k = table_key(i);
        const uint64_t h = symmetric_hash(k);
        f.table->insert(k, h, [](FlowTable::Entry&) {});
        if (lookup) {
            f.keys[i] = k;
            f.hashes[i] = h;
        }
    }
    const auto t1 = std::chrono::steady_clock::now();
    f.fill_ns_per_flow = std::chrono::duration<double, std::nano>(t1 - t0).count() / n;
    f.next_key = n;
    if (lookup) {
        f.order.resize(n);
        for (uint32_t i = 0; i < n; ++i) {
            f.order[i] = i;
        }
        std::shuffle(f.order.begin(), f.order.end(), std::mt19937(1));
    }
    return f;
}

void table_counters(benchmark::State& state, const TableFixture& f) {
    state.SetItemsProcessed(state.iterations());
    state.counters["fill_ns_per_flow"] = f.fill_ns_per_flow;
    state.counters["table_MiB"] = static_cast<double>(f.table->memory_bytes()) / (1 << 20);
}

// Lookup of existing flows in a table holding N flows (random order).
void BM_FlowLookup(benchmark::State& state) {
    TableFixture& f = table_fixture("lookup", static_cast<uint32_t>(state.range(0)));
    const uint32_t n = f.n;
    size_t i = 0;
    for (auto _ : state) {
        const uint32_t k = f.order[i++ % n];
        bool rev;
        benchmark::DoNotOptimize(f.table->find(f.keys[k], f.hashes[k], rev));
    }
    table_counters(state, f);
}
BENCHMARK(BM_FlowLookup)->Arg(1000)->Arg(100000)->Arg(1000000)->Arg(10000000);

// Insert of new flows into a full table of N flows: each insert first evicts
// the least recently active flow (pool slot recycled, backward-shift delete).
void BM_FlowInsert(benchmark::State& state) {
    TableFixture& f = table_fixture("insert", static_cast<uint32_t>(state.range(0)));
    constexpr size_t kBatch = 1 << 16;
    std::vector<FlowKey> keys(kBatch);
    std::vector<uint64_t> hashes(kBatch);
    auto refill = [&] {
        for (size_t j = 0; j < kBatch; ++j) {
            keys[j] = table_key(f.next_key++);
            hashes[j] = symmetric_hash(keys[j]);
        }
    };
    refill();
    size_t j = 0;
    for (auto _ : state) {
        if (j == kBatch) {
            state.PauseTiming();
            refill();
            j = 0;
            state.ResumeTiming();
        }
        benchmark::DoNotOptimize(f.table->insert(keys[j], hashes[j], [](FlowTable::Entry&) {}));
        ++j;
    }
    f.next_key -= static_cast<uint32_t>(kBatch - j);  // keys never inserted are reused next run
    table_counters(state, f);
}
BENCHMARK(BM_FlowInsert)->Arg(1000)->Arg(100000)->Arg(1000000)->Arg(10000000);

// ---------------------------------------------------------------- worker

// The worker's whole per-packet path (lookup, update, touch) over N flows.
void BM_WorkerPacket(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    SpscRing ring(64 << 20);
    FlowTableConfig cfg;
    cfg.max_flows = n;
    cfg.idle_timeout_ns = 0;
    cfg.active_timeout_ns = 0;
    features::FeatureSet fs;
    Worker w(0, cfg, ring, fs);
    std::vector<parse::DecodedPacket> pkts(n);
    std::vector<uint64_t> hashes(n);
    parse::Decoder dec;
    for (uint32_t i = 0; i < n; ++i) {
        auto f = tcp_frame(i, static_cast<uint16_t>(i * 13));
        PacketRef ref{
            f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), 1000, 1, 0};
        dec.decode(ref, pkts[i]);
        pkts[i].tcp_flags = 0x10;
        hashes[i] = symmetric_hash(pkts[i].key);
    }
    size_t i = 0;
    for (auto _ : state) {
        size_t k = i++ % n;
        w.on_packet(pkts[k], hashes[k], nullptr);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WorkerPacket)->Arg(1000)->Arg(100000)->Arg(1000000);

// The worker per packet of the mix with one feature unit enabled ("none":
// the baseline, flow accounting only; "joy" and "all": the sets). Registered
// in main() for every name of FeatureSet::unit_names().
void BM_FeatureUpdate(benchmark::State& state, const std::string& units) {
    MixRun r(units);
    for (int p = 0; p < kWarmupPasses; ++p) {
        r.run_pass();
        r.next_pass();
    }
    const uint64_t records0 = r.records();
    const uint64_t tls0 = r.tls_messages();
    const size_t n = r.size();
    size_t i = 0;
    for (auto _ : state) {
        if (i == n) {
            state.PauseTiming();
            r.next_pass();
            i = 0;
            state.ResumeTiming();
        }
        r.packet(i++);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["state_bytes"] = static_cast<double>(r.features().state_bytes());
    state.counters["records_per_kpkt"] = 1000.0 * static_cast<double>(r.records() - records0) /
                                         static_cast<double>(state.iterations());
    if (const uint64_t tls = r.tls_messages() - tls0; tls > 0) {
        state.counters["tls_msgs_per_kpkt"] =
            1000.0 * static_cast<double>(tls) / static_cast<double>(state.iterations());
    }
    const Mix& mx = mix();
    state.SetLabel(std::to_string(mx.pkts.size()) + " pkts/" + std::to_string(mx.flows) +
                   " flows per pass, tls=" + mx.tls_source);
}

// ---------------------------------------------------------------- JSON and zstd

// Records with the joy units as the worker sends them (FlowData + feature
// state), from one pass of each of many mixes; and the JSON lines they make.
struct JoyRecords {
    features::FeatureSet fs = features::FeatureSet::parse("joy", features::FeatureConfig{});
    std::vector<Bytes> blobs;
    std::string jsonl;  ///< about 24 MiB of JSON lines
};

const JoyRecords& joy_records() {
    static const JoyRecords jr = [] {
        JoyRecords j;
        // Mixes built from other seeds (other payloads, sizes, times), so that
        // the text is not one pass repeated: zstd would find it in its window.
        for (uint32_t seed = 1; seed <= 100 && j.jsonl.size() < (24u << 20); ++seed) {
            const Mix mx = build_mix(seed);
            MixRun r("joy", mx);
            r.run_pass();
            r.finish([&](const SpscRing::Message& m) {
                if (j.blobs.size() < 2048) {
                    j.blobs.emplace_back(m.data, m.data + m.len);
                }
                FlowData f;
                std::memcpy(&f, m.data, sizeof f);
                JsonWriter w(j.jsonl);
                write_record_json(w, f, RecordFormat{}, &r.features(), m.data + sizeof(FlowData));
            });
        }
        return j;
    }();
    return jr;
}

void BM_RecordJson(benchmark::State& state) {
    FlowData f;
    uint8_t a[4] = {10, 0, 0, 1}, b[4] = {192, 0, 2, 1};
    f.key.src = IpAddr::v4(a);
    f.key.dst = IpAddr::v4(b);
    f.key.sport = 51234;
    f.key.dport = 443;
    f.key.proto = 6;
    f.key.ip_version = 4;
    f.dir[0].pkts = 12;
    f.dir[1].pkts = 10;
    f.first_ns = 1700000000123456789ULL;
    f.last_ns = 1700000001123456789ULL;
    std::string buf;
    buf.reserve(1 << 20);
    JsonWriter w(buf);
    for (auto _ : state) {
        write_record_json(w, f, RecordFormat{true});
        if (buf.size() > (1 << 19)) {
            buf.clear();
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordJson);

// write_record_json of the mix's records with the joy units (splt, bd,
// entropy, idp, tcp, ip, tls), cycling over 2048 of them.
void BM_RecordJsonJoy(benchmark::State& state) {
    const JoyRecords& jr = joy_records();
    if (jr.blobs.empty()) {
        state.SkipWithError("no records");
        return;
    }
    std::vector<FlowData> flows(jr.blobs.size());
    for (size_t i = 0; i < flows.size(); ++i) {
        std::memcpy(&flows[i], jr.blobs[i].data(), sizeof(FlowData));
    }
    std::string buf;
    buf.reserve(4 << 20);
    JsonWriter w(buf);
    size_t i = 0;
    uint64_t bytes = 0;
    for (auto _ : state) {
        const size_t k = i++ % flows.size();
        write_record_json(w, flows[k], RecordFormat{}, &jr.fs,
                          jr.blobs[k].data() + sizeof(FlowData));
        if (buf.size() > (2u << 20)) {
            bytes += buf.size();
            buf.clear();
        }
    }
    bytes += buf.size();
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    state.counters["avg_record_bytes"] =
        static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_RecordJsonJoy);

// The zstd sink on JSON lines of joy records, in the exporter's 256 KiB
// writes, to /dev/null. Arg: zstd level (3 is the default).
void BM_ZstdSink(benchmark::State& state) {
    const std::string& text = joy_records().jsonl;
    constexpr size_t kChunk = 256 * 1024;
    if (text.size() < 4 * kChunk) {
        state.SkipWithError("not enough JSON");
        return;
    }
    SinkConfig cfg;
    cfg.path = "/dev/null";
    cfg.zstd = true;
    cfg.zstd_level = static_cast<int>(state.range(0));
    auto sink = make_sink(cfg);
    size_t off = 0;
    for (auto _ : state) {
        if (off + kChunk > text.size()) {
            off = 0;
        }
        sink->write(std::string_view(text).substr(off, kChunk));
        off += kChunk;
    }
    sink->close();
    state.SetItemsProcessed(state.iterations());  // 256 KiB writes
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kChunk));
    state.counters["ratio"] = static_cast<double>(sink->bytes_in()) /
                              static_cast<double>(std::max<uint64_t>(1, sink->bytes_out()));
    state.counters["corpus_MiB"] = static_cast<double>(text.size()) / (1 << 20);
}
BENCHMARK(BM_ZstdSink)->Arg(1)->Arg(3)->Unit(benchmark::kMicrosecond);

// ---------------------------------------------------------------- TLS, X.509, QUIC

void BM_TlsParseClientHello(benchmark::State& state) {
    std::string src;
    const Bytes& body = client_hello_body(&src);
    proto::ClientHello ch;
    for (auto _ : state) {
        benchmark::DoNotOptimize(proto::parse_client_hello(body.data(), body.size(), ch));
        benchmark::DoNotOptimize(ch);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
    state.SetLabel(src + ", " + std::to_string(body.size()) + " bytes");
}
BENCHMARK(BM_TlsParseClientHello);

const proto::ClientHello& parsed_hello() {
    static const proto::ClientHello ch = [] {
        proto::ClientHello c;
        const Bytes& body = client_hello_body();
        proto::parse_client_hello(body.data(), body.size(), c);
        return c;
    }();
    return ch;
}

void BM_TlsJa3Hash(benchmark::State& state) {
    const proto::ClientHello& ch = parsed_hello();
    char out[proto::kJa3HashBuf];
    for (auto _ : state) {
        benchmark::DoNotOptimize(proto::ja3_hash(ch, out));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsJa3Hash);

void BM_TlsJa4(benchmark::State& state) {
    const proto::ClientHello& ch = parsed_hello();
    char out[proto::kJa4Buf];
    for (auto _ : state) {
        benchmark::DoNotOptimize(proto::ja4(ch, proto::TlsTransport::tcp, out, sizeof out));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsJa4);

void BM_TlsFingerprint(benchmark::State& state) {
    const proto::ClientHello& ch = parsed_hello();
    char out[4096];
    for (auto _ : state) {
        benchmark::DoNotOptimize(proto::tls_fingerprint(ch, out, sizeof out));
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TlsFingerprint);

void BM_X509ParseCertificate(benchmark::State& state) {
    static const Bytes der = load_seed("x509/ndpi_443curl_www_ntop_org.der");
    if (der.empty()) {
        state.SkipWithError(
            "seed x509/ndpi_443curl_www_ntop_org.der not found (SPATE_SOURCE_ROOT)");
        return;
    }
    proto::CertView cv;
    for (auto _ : state) {
        benchmark::DoNotOptimize(proto::parse_certificate(der.data(), der.size(), cv));
        benchmark::DoNotOptimize(cv);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * der.size()));
}
BENCHMARK(BM_X509ParseCertificate);

// QUIC Initial decryption of the RFC 9001 A.2 client Initial (1200 bytes):
// "cached" decrypts the same connection's packet again (keys cached by
// DCID); "new_dcid" alternates with another client's Initial, so every
// packet also derives its keys (a connection's first packet).
void BM_QuicInitialDecrypt(benchmark::State& state) {
    static const Bytes a = load_seed("quic/rfc9001-a2-client");
    static const Bytes b = load_seed("quic/zeek-chromium-1-client");
    const bool alternate = state.range(0) != 0;
    if (a.empty() || (alternate && b.empty())) {
        state.SkipWithError("QUIC seeds not found (SPATE_SOURCE_ROOT)");
        return;
    }
    proto::QuicInitialDecryptor dec;
    proto::QuicLongHeader hdr;
    uint64_t crypto_bytes = 0;
    auto on_crypto = [&](uint64_t, proto::Span d) { crypto_bytes += d.n; };
    if (dec.decrypt(a.data(), a.size(), false, {}, hdr, on_crypto) != proto::QuicStatus::ok ||
        (alternate &&
         dec.decrypt(b.data(), b.size(), false, {}, hdr, on_crypto) != proto::QuicStatus::ok)) {
        state.SkipWithError("seed did not decrypt");
        return;
    }
    size_t i = 0;
    uint64_t bytes = 0;
    for (auto _ : state) {
        const Bytes& p = alternate && (i++ & 1) != 0 ? b : a;
        benchmark::DoNotOptimize(dec.decrypt(p.data(), p.size(), false, {}, hdr, on_crypto));
        bytes += p.size();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(static_cast<int64_t>(bytes));
    benchmark::DoNotOptimize(crypto_bytes);
}
BENCHMARK(BM_QuicInitialDecrypt)->ArgName("new_dcid")->Arg(0)->Arg(1);

#if SPATE_HAVE_HYPERSCAN

/// N rules shaped like bench/rules/gen_rules.py (half literals, half
/// regexes with classes and bounded repeats), matched to 1 MiB deep so a
/// scan is never cut; N == 0: the shipped app set.
std::shared_ptr<const match::ContentDb> bench_rules(int n) {
    match::RuleSet set;
    if (n == 0) {
        set.parse(match::builtin_app_rules(), "apps.rules");
        return match::ContentDb::compile(std::move(set));
    }
    static const char* const kWords[] = {"GET", "POST", "HTTP", "User-Agent", "Host", "SSH",
                                         "USER", "PASS", "EHLO", "LOGIN", "SELECT", "admin",
                                         "passwd", "powershell", "wget", "curl", "base64", "eval"};
    static const char* const kTails[] = {"[a-z]{2,8}", "[0-9]{1,5}", "\\w+", "[^\\r\\n]{4,32}"};
    std::mt19937 rng(1);
    std::string text;
    for (int i = 0; i < n; ++i) {
        const std::string w = kWords[rng() % std::size(kWords)];
        std::string pat;
        if (i % 2 == 0) {
            pat = w;
            for (int k = 0; k < 3 + static_cast<int>(rng() % 6); ++k) {
                pat += static_cast<char>('a' + rng() % 26);
            }
        } else {
            pat = w + "[ \\t]+" + kTails[rng() % std::size(kTails)];
        }
        text += std::to_string(i + 1) + " r" + std::to_string(i + 1) + " depth=1048576 /" + pat +
                "/\n";
    }
    set.parse(text, "gen.rules");
    return match::ContentDb::compile(std::move(set));
}

/// 64 KiB of text that looks like requests and headers, a few of the
/// generated words among random letters.
std::string bench_stream_text() {
    std::mt19937 rng(7);
    std::string t;
    static const char* const kBits[] = {"GET /index.html HTTP/1.1\r\n", "Host: example.org\r\n",
                                        "User-Agent: bench\r\n", "Accept: */*\r\n", "\r\n"};
    while (t.size() < 65536) {
        if (rng() % 4 == 0) {
            t += kBits[rng() % std::size(kBits)];
        } else {
            for (int k = 0; k < 40; ++k) {
                t += static_cast<char>(rng() % 3 == 0 ? ' ' : 'a' + rng() % 26);
            }
        }
    }
    t.resize(65536);
    return t;
}

/// Hyperscan stream-mode scan throughput on one core: one stream per
/// 64 KiB "flow direction" fed in 1,460-byte segments (the per-stream
/// open and close included). Arg: number of generated rules (0: the app
/// set, whose rules are anchored and stop early: that figure is mostly
/// open/close).
void BM_ContentStreamScan(benchmark::State& state) {
    const auto db = bench_rules(static_cast<int>(state.range(0)));
    const match::ContentScratch scratch(*db);
    const std::string text = bench_stream_text();
    const hs_database* d = db->db(match::Transport::tcp, 0);
    uint64_t hits = 0;
    auto on_match = [](unsigned int, unsigned long long, unsigned long long, unsigned int,
                       void* ctx) -> int {
        ++*static_cast<uint64_t*>(ctx);
        return 0;
    };
    for (auto _ : state) {
        hs_stream_t* st = nullptr;
        hs_open_stream(d, 0, &st);
        for (size_t off = 0; off < text.size(); off += 1460) {
            const size_t n = std::min<size_t>(1460, text.size() - off);
            hs_scan_stream(st, text.data() + off, static_cast<unsigned>(n), 0, scratch.get(),
                           on_match, &hits);
        }
        hs_close_stream(st, scratch.get(), on_match, &hits);
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
    state.counters["matches_per_stream"] =
        static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ContentStreamScan)->ArgName("rules")->Arg(0)->Arg(100)->Arg(1000)->Unit(
    benchmark::kMicrosecond);

/// The whole per-flow path of the content unit with the shipped app set: a
/// TCP flow's SYNs, a 3-segment HTTP request, a 2-segment response and the
/// close (in-order delivery, stream from the slab, scans, app hit).
void BM_ContentMatcherFlow(benchmark::State& state) {
    features::BufferPool pool(16, features::kOooArea);
    match::ContentMatcher m(bench_rules(0), 1024, &pool);
    const std::string req =
        "GET /a/long/path/index.html HTTP/1.1\r\nHost: www.example.org\r\nUser-Agent: bench/1.0"
        "\r\nAccept: text/html\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n";
    const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                             "1000\r\n\r\n" + std::string(1000, 'x');
    auto u8 = [](const std::string& s, size_t off) {
        return reinterpret_cast<const uint8_t*>(s.data()) + off;
    };
    const auto rq = static_cast<uint32_t>(req.size());
    const auto rs = static_cast<uint32_t>(resp.size());
    uint64_t named = 0;
    for (auto _ : state) {
        match::ContentFlow f{};
        m.tcp(f, 0, 999, true, nullptr, 0, 80);
        m.tcp(f, 1, 4999, true, nullptr, 0, 80);
        m.tcp(f, 0, 1000, false, u8(req, 0), rq / 3, 80);
        m.tcp(f, 0, 1000 + rq / 3, false, u8(req, rq / 3), rq / 3, 80);
        m.tcp(f, 0, 1000 + 2 * (rq / 3), false, u8(req, 2 * (rq / 3)), rq - 2 * (rq / 3), 80);
        m.tcp(f, 1, 5000, false, u8(resp, 0), rs / 2, 80);
        m.tcp(f, 1, 5000 + rs / 2, false, u8(resp, rs / 2), rs - rs / 2, 80);
        m.finish(f, 80);
        named += f.app_rule != 0;
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
    state.counters["named"] = static_cast<double>(named) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ContentMatcherFlow);

#endif  // SPATE_HAVE_HYPERSCAN

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> sets = {"none"};
    for (const auto& u : features::FeatureSet::unit_names()) {
        sets.push_back(u);
    }
    sets.emplace_back("joy");
    sets.emplace_back("all");
    for (const auto& s : sets) {
        benchmark::RegisterBenchmark(("BM_FeatureUpdate/" + s).c_str(), BM_FeatureUpdate, s);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
