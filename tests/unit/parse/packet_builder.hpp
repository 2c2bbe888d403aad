#pragma once
// Little builders for hand-made frames: each returns the bytes of one
// header plus whatever it carries, lengths filled in from the payload, so a
// test reads from the outside in: eth(kEthIpv4, ipv4(a, b, 6, tcp(1, 2))).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "spate/core/ip_addr.hpp"

namespace spate::test {

using Bytes = std::vector<uint8_t>;
using V4 = std::array<uint8_t, 4>;
using V6 = std::array<uint8_t, 16>;

inline Bytes operator+(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

inline void put8(Bytes& b, uint8_t v) {
    b.push_back(v);
}
inline void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
inline void put(Bytes& b, const uint8_t* p, size_t n) {
    b.insert(b.end(), p, p + n);
}
inline Bytes zeros(size_t n, uint8_t fill = 0) {
    return Bytes(n, fill);
}

inline IpAddr addr(const V4& a) {
    return IpAddr::v4(a.data());
}
inline IpAddr addr(const V6& a) {
    return IpAddr::v6(a.data());
}

/// 2001:db8::<hi>:<lo>
inline V6 v6(uint8_t hi, uint8_t lo) {
    V6 a{0x20, 0x01, 0x0d, 0xb8};
    a[13] = hi;
    a[15] = lo;
    return a;
}

// ---- transport ----

struct TcpOpt {
    uint8_t flags = 0x18;  // PSH ACK
    uint8_t doff = 5;
    uint32_t seq = 1000;
    uint32_t ack = 2000;
    uint16_t window = 0x7210;
};
inline Bytes tcp(uint16_t sport, uint16_t dport, size_t payload = 0, TcpOpt o = {}) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, o.seq);
    put32(b, o.ack);
    put8(b, static_cast<uint8_t>(o.doff << 4));
    put8(b, o.flags);
    put16(b, o.window);
    put32(b, 0);  // checksum, urgent
    // options: NOPs up to the data offset (when doff >= 5)
    for (int i = 20; i < o.doff * 4; ++i) {
        put8(b, 1);
    }
    return b + zeros(payload, 0x61);
}

inline Bytes udp(uint16_t sport, uint16_t dport, const Bytes& payload, int length = -1) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put16(b, static_cast<uint16_t>(length >= 0 ? length : static_cast<int>(payload.size()) + 8));
    put16(b, 0);
    return b + payload;
}

inline Bytes sctp(uint16_t sport, uint16_t dport) {
    Bytes b;
    put16(b, sport);
    put16(b, dport);
    put32(b, 0xdeadbeef);  // verification tag
    put32(b, 0);           // checksum
    // one INIT chunk header
    put8(b, 1);
    put8(b, 0);
    put16(b, 4);
    return b;
}

inline Bytes icmp(uint8_t type, uint8_t code, const Bytes& body = zeros(4)) {
    Bytes b{type, code, 0, 0};
    return b + body;
}

// ---- IP ----

struct Ip4Opt {
    uint8_t ttl = 64;
    uint16_t id = 0x1234;
    uint16_t frag = 0;  // flags + offset field, e.g. 0x2000 = MF
    uint8_t ihl = 5;
    int total = -1;  // override the total length
    uint8_t version = 4;
};
inline Bytes ipv4(const V4& src, const V4& dst, uint8_t proto, const Bytes& payload,
                  Ip4Opt o = {}) {
    Bytes b;
    size_t hl = size_t{o.ihl} * 4;
    put8(b, static_cast<uint8_t>(o.version << 4 | o.ihl));
    put8(b, 0);
    put16(b, static_cast<uint16_t>(o.total >= 0 ? o.total : static_cast<int>(hl + payload.size())));
    put16(b, o.id);
    put16(b, o.frag);
    put8(b, o.ttl);
    put8(b, proto);
    put16(b, 0);
    put(b, src.data(), 4);
    put(b, dst.data(), 4);
    for (size_t i = 20; i < hl; ++i) {
        put8(b, 1);  // NOP options
    }
    return b + payload;
}

inline Bytes ipv6(const V6& src, const V6& dst, uint8_t next, const Bytes& payload,
                  uint8_t hop_limit = 64, int plen = -1) {
    Bytes b;
    put32(b, 0x60012345);
    put16(b, static_cast<uint16_t>(plen >= 0 ? plen : static_cast<int>(payload.size())));
    put8(b, next);
    put8(b, hop_limit);
    put(b, src.data(), 16);
    put(b, dst.data(), 16);
    return b + payload;
}

/// Hop-by-hop / routing / destination options: (len + 1) * 8 bytes.
inline Bytes ext6(uint8_t next, uint8_t len = 0) {
    Bytes b{next, len};
    Bytes pad = zeros((size_t{len} + 1) * 8 - 2);
    pad[0] = 1;  // PadN
    pad[1] = static_cast<uint8_t>(pad.size() - 2);
    return b + pad;
}
/// Authentication header: (len + 2) * 4 bytes.
inline Bytes ah6(uint8_t next, uint8_t len = 4) {
    Bytes b{next, len, 0, 0};
    put32(b, 0x100);  // SPI
    return b + zeros((size_t{len} + 2) * 4 - 8, 0xAB);
}
/// Fragment header; offset in 8-byte units.
inline Bytes frag6(uint8_t next, uint16_t offset, bool more, uint32_t id) {
    Bytes b{next, 0};
    put16(b, static_cast<uint16_t>(offset << 3 | (more ? 1 : 0)));
    put32(b, id);
    return b;
}

// ---- link ----

constexpr uint16_t kIpv4 = 0x0800;
constexpr uint16_t kIpv6 = 0x86DD;

inline Bytes mac_pair() {
    return Bytes{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
}
inline Bytes eth(uint16_t type, const Bytes& payload) {
    Bytes b = mac_pair();
    put16(b, type);
    return b + payload;
}
/// Ethernet with tags [(tpid, tci), ...] outermost first.
inline Bytes eth_tagged(std::initializer_list<std::pair<uint16_t, uint16_t>> tags, uint16_t type,
                        const Bytes& payload) {
    Bytes b = mac_pair();
    for (auto [tpid, tci] : tags) {
        put16(b, tpid);
        put16(b, tci);
    }
    put16(b, type);
    return b + payload;
}
/// An MPLS label stack, outermost first; the last gets bottom-of-stack.
inline Bytes mpls(std::initializer_list<uint32_t> labels, const Bytes& payload) {
    Bytes b;
    size_t i = 0;
    for (uint32_t l : labels) {
        bool bos = ++i == labels.size();
        put32(b, l << 12 | (bos ? 0x100u : 0u) | 64u);
    }
    return b + payload;
}
inline Bytes pppoe(uint16_t ppp_proto, const Bytes& payload) {
    Bytes b{0x11, 0x00};
    put16(b, 0x0042);  // session
    put16(b, static_cast<uint16_t>(payload.size() + 2));
    put16(b, ppp_proto);
    return b + payload;
}
inline Bytes sll(uint16_t proto, const Bytes& payload) {
    Bytes b;
    put16(b, 0);  // to us
    put16(b, 1);  // ARPHRD_ETHER
    put16(b, 6);
    b = b + mac_pair();
    b.resize(14);
    put16(b, proto);
    return b + payload;
}
inline Bytes sll2(uint16_t proto, const Bytes& payload) {
    Bytes b;
    put16(b, proto);
    put16(b, 0);
    put32(b, 3);  // ifindex
    put16(b, 1);
    put8(b, 0);
    put8(b, 6);
    b = b + mac_pair();
    b.resize(20);
    return b + payload;
}

// ---- tunnels ----

/// GRE; `opts` is the bytes of the checksum / key / sequence words the
/// flags announce.
inline Bytes gre(uint16_t flags, uint16_t proto, const Bytes& payload, const Bytes& opts = {}) {
    Bytes b;
    put16(b, flags);
    put16(b, proto);
    return b + opts + payload;
}
inline Bytes vxlan(uint32_t vni, const Bytes& inner_eth) {
    Bytes b{0x08, 0, 0, 0};
    put32(b, vni << 8);
    return b + inner_eth;
}
inline Bytes geneve(uint16_t proto, uint8_t opt_words, const Bytes& payload) {
    Bytes b{static_cast<uint8_t>(opt_words & 0x3F), 0};
    put16(b, proto);
    put32(b, 0x00123400);
    return b + zeros(size_t{opt_words} * 4, 0xEE) + payload;
}
/// GTPv1-U G-PDU. `flags_low` is E/S/PN; ext headers are (type, body of
/// len*4-2 bytes) pairs.
inline Bytes gtpu(const Bytes& payload, uint8_t flags_low = 0, uint8_t msg = 0xFF,
                  std::initializer_list<std::pair<uint8_t, Bytes>> exts = {}) {
    Bytes opt;
    if (flags_low != 0) {
        put16(opt, 0x0001);  // sequence
        put8(opt, 0);        // N-PDU
        put8(opt, exts.size() > 0 ? exts.begin()->first : 0);
    }
    Bytes ext;
    size_t i = 0;
    for (const auto& [type, body] : exts) {
        (void)type;
        ++i;
        uint8_t next = 0;
        if (i < exts.size()) {
            next = (exts.begin() + i)->first;
        }
        put8(ext, static_cast<uint8_t>((body.size() + 2) / 4));
        ext = ext + body;
        put8(ext, next);
    }
    Bytes b{static_cast<uint8_t>(0x30 | flags_low), msg};
    put16(b, static_cast<uint16_t>(opt.size() + ext.size() + payload.size()));
    put32(b, 0x11223344);  // TEID
    return b + opt + ext + payload;
}
inline Bytes teredo_origin() {
    return Bytes{0x00, 0x00, 0xfb, 0x71, 0x3f, 0xfe, 0xff, 0xfe};
}
inline Bytes teredo_auth() {
    Bytes b{0x00, 0x01, 2, 1, 0xAA, 0xBB, 0xCC};
    return b + zeros(8, 0x55) + Bytes{0};
}

}  // namespace spate::test
