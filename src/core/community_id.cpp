#include "spate/core/community_id.hpp"

#include <openssl/evp.h>

#include <cstring>
#include <iterator>
#include <utility>

namespace spate::community_id {

namespace {

constexpr uint8_t kIcmp = 1;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kSctp = 132;

/// The spec's ICMP "port equivalents" (after Zeek's ICMP4_counterpart and
/// ICMP6_counterpart): a request or reply type maps to its counterpart, and
/// the flow is ordered like a two-port one; any other type is one-way and
/// keyed as sent, (type, code).
bool icmp_counterpart(uint8_t proto, uint16_t type, uint16_t& other) {
    struct Pair {
        uint8_t a, b;
    };
    // v4: echo, router solicit/advert, timestamp, information, address mask.
    static constexpr Pair kV4[] = {{8, 0}, {10, 9}, {13, 14}, {15, 16}, {17, 18}};
    // v6: echo, MLD query/report, router and neighbor discovery, node
    // information (who-are-you) query/reply, home agent address discovery.
    static constexpr Pair kV6[] = {{128, 129}, {130, 131}, {133, 134},
                                   {135, 136}, {139, 140}, {144, 145}};
    const Pair* begin = proto == kIcmp ? kV4 : kV6;
    const Pair* end = proto == kIcmp ? kV4 + std::size(kV4) : kV6 + std::size(kV6);
    for (const Pair* p = begin; p != end; ++p) {
        if (type == p->a) {
            other = p->b;
            return true;
        }
        if (type == p->b) {
            other = p->a;
            return true;
        }
    }
    return false;
}

}  // namespace

std::array<uint8_t, 20> sha1(const uint8_t* data, size_t len) {
    // libcrypto's one-shot digest (as the ssh unit's HASSH does); once per
    // record, on the exporter.
    static const uint8_t kEmpty = 0;
    std::array<uint8_t, 20> out{};
    unsigned int n = 0;
    if (EVP_Digest(data != nullptr ? data : &kEmpty, len, out.data(), &n, EVP_sha1(), nullptr) != 1 ||
        n != out.size()) {
        out.fill(0);
    }
    return out;
}

size_t format(const Tuple& t, uint16_t seed, char* out) {
    const size_t alen = t.ip_version == 6 ? 16 : 4;
    const bool icmp = t.proto == kIcmp || t.proto == kIcmpv6;
    const bool ports = icmp || t.proto == kTcp || t.proto == kUdp || t.proto == kSctp;

    const IpAddr* a = &t.src;
    const IpAddr* b = &t.dst;
    uint16_t pa = t.sport;
    uint16_t pb = t.dport;
    bool one_way = false;
    if (icmp) {
        uint16_t other = 0;
        if (icmp_counterpart(t.proto, t.sport, other)) {
            pb = other;
        } else {
            one_way = true;  // (type, code), in the sender's order
        }
    }
    if (!ports) {
        pa = 0;
        pb = 0;
    }
    // Smaller endpoint first: addresses as bytes, then ports as numbers.
    const int c = std::memcmp(a->b.data(), b->b.data(), alen);
    if (!one_way && (c > 0 || (c == 0 && pa > pb))) {
        std::swap(a, b);
        std::swap(pa, pb);
    }

    // seed (2) | src | dst | proto (1) | pad (1) | [sport (2) | dport (2)],
    // integers in network order.
    uint8_t buf[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    buf[n++] = static_cast<uint8_t>(seed >> 8);
    buf[n++] = static_cast<uint8_t>(seed);
    std::memcpy(buf + n, a->b.data(), alen);
    n += alen;
    std::memcpy(buf + n, b->b.data(), alen);
    n += alen;
    buf[n++] = t.proto;
    buf[n++] = 0;
    if (ports) {
        buf[n++] = static_cast<uint8_t>(pa >> 8);
        buf[n++] = static_cast<uint8_t>(pa);
        buf[n++] = static_cast<uint8_t>(pb >> 8);
        buf[n++] = static_cast<uint8_t>(pb);
    }
    const std::array<uint8_t, 20> d = sha1(buf, n);

    static constexpr char kB64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char* o = out;
    *o++ = '1';
    *o++ = ':';
    size_t i = 0;
    for (; i + 3 <= d.size(); i += 3) {
        const uint32_t v = uint32_t{d[i]} << 16 | uint32_t{d[i + 1]} << 8 | d[i + 2];
        *o++ = kB64[v >> 18];
        *o++ = kB64[(v >> 12) & 63];
        *o++ = kB64[(v >> 6) & 63];
        *o++ = kB64[v & 63];
    }
    // 20 = 6 * 3 + 2: two bytes left, three characters and one '='.
    const uint32_t v = uint32_t{d[i]} << 16 | uint32_t{d[i + 1]} << 8;
    *o++ = kB64[v >> 18];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = kB64[(v >> 6) & 63];
    *o++ = '=';
    return static_cast<size_t>(o - out);
}

}  // namespace spate::community_id
