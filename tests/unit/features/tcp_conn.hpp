#pragma once
// What the application-unit tests (tls, http, dns, ssh) share: the two
// hosts, hand-built TCP frames, a connection whose bytes are cut into
// segments at given offsets and sent in a given order, and small byte and
// digest helpers.
#include <openssl/evp.h>
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <vector>

#include "feature_run.hpp"

namespace spate::test {

inline constexpr uint64_t kMs = 1'000'000ULL;
inline const V4 kC{10, 0, 0, 1};
inline const V4 kS{10, 0, 0, 2};
inline constexpr uint32_t kCisn = 1000;
inline constexpr uint32_t kSisn = 5000;

inline Bytes str(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

inline std::string md5_hex(const std::string& s) {
    unsigned char d[16];
    unsigned int n = 0;
    EVP_Digest(s.data(), s.size(), d, &n, EVP_md5(), nullptr);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += hex[d[i] >> 4];
        out += hex[d[i] & 15];
    }
    return out;
}

inline TcpOpt seg(uint8_t flags, uint32_t seq, uint32_t ack) {
    TcpOpt o;
    o.flags = flags;
    o.seq = seq;
    o.ack = ack;
    return o;
}

inline Bytes tcp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, TcpOpt o,
                       const Bytes& payload) {
    return eth(kIpv4, ipv4(s, d, 6, tcp(sp, dp, 0, o) + payload));
}

/// A record's JSON, parsed (valid until the next call).
inline simdjson::dom::element parse(const std::string& json) {
    static simdjson::dom::parser parser;
    auto doc = parser.parse(json);
    EXPECT_FALSE(doc.error()) << json;
    return doc.value();
}

/// A TCP connection kC:cport -> kS:sport (kPort by default): the handshake,
/// then each side's bytes cut at `cuts` (offsets into them) and sent in
/// `order` (indexes of the pieces; default in order), a millisecond apart.
template <uint16_t kPort>
struct TcpConn {
    FeatureRun& r;
    uint16_t cport = 40000;
    uint16_t sport = kPort;
    uint64_t t = 1000 * kMs;
    uint32_t cbase = kCisn + 1;
    uint32_t sbase = kSisn + 1;

    void open() {
        r.feed(tcp_frame(kC, kS, cport, sport, seg(0x02, kCisn, 0), {}), t += kMs);
        r.feed(tcp_frame(kS, kC, sport, cport, seg(0x12, kSisn, kCisn + 1), {}), t += kMs);
        r.feed(tcp_frame(kC, kS, cport, sport, seg(0x10, kCisn + 1, kSisn + 1), {}), t += kMs);
    }
    void client(const Bytes& b, std::vector<size_t> cuts = {}, std::vector<size_t> order = {}) {
        send(b, cuts, order, true);
    }
    void server(const Bytes& b, std::vector<size_t> cuts = {}, std::vector<size_t> order = {}) {
        send(b, cuts, order, false);
    }
    void client(const std::string& s, std::vector<size_t> cuts = {},
                std::vector<size_t> order = {}) {
        send(str(s), cuts, order, true);
    }
    void server(const std::string& s, std::vector<size_t> cuts = {},
                std::vector<size_t> order = {}) {
        send(str(s), cuts, order, false);
    }
    void send(const Bytes& bytes, std::vector<size_t> cuts, std::vector<size_t> order,
              bool from_client) {
        cuts.insert(cuts.begin(), 0);
        cuts.push_back(bytes.size());
        if (order.empty()) {
            for (size_t i = 0; i + 1 < cuts.size(); ++i) {
                order.push_back(i);
            }
        }
        uint32_t& base = from_client ? cbase : sbase;
        for (size_t i : order) {
            Bytes piece(bytes.begin() + long(cuts[i]), bytes.begin() + long(cuts[i + 1]));
            const uint32_t seq = base + uint32_t(cuts[i]);
            if (from_client) {
                r.feed(tcp_frame(kC, kS, cport, sport, seg(0x18, seq, sbase), piece), t += kMs);
            } else {
                r.feed(tcp_frame(kS, kC, sport, cport, seg(0x18, seq, cbase), piece), t += kMs);
            }
        }
        base += uint32_t(bytes.size());
    }
};

}  // namespace spate::test
