// DispatchHasher: see dispatch_hash.hpp. The fast path must never pick a
// keying header the decoder would not: whenever decapsulation or a fragment
// could move the key, it hands the frame to the decoder instead.
#include "spate/parse/dispatch_hash.hpp"

#include <cstring>

#include "spate/flow/flow_key.hpp"

namespace spate::parse {

namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;
constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88A8;
constexpr uint16_t kEthQinQOld = 0x9100;
constexpr int kMaxFastVlans = 4;

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoNoNext = 59;
constexpr uint8_t kProtoSctp = 132;

/// UDP ports the decoder may decapsulate (src/parse/tunnel.cpp).
constexpr bool tunnel_port(uint16_t p) {
    return p == 4789 || p == 6081 || p == 2152 || p == 3544;
}

inline uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

}  // namespace

uint64_t address_pair_hash(const IpAddr& a, const IpAddr& b, uint8_t version, uint64_t seed) {
    FlowKey k;
    k.src = a;
    k.dst = b;
    k.ip_version = version;
    return symmetric_hash(k, seed);
}

DispatchHasher::DispatchHasher(const DecoderConfig& cfg, uint64_t seed)
    : decap_(cfg.decap), seed_(seed), slow_decoder_(cfg) {}

uint64_t DispatchHasher::hash(const PacketRef& pkt) {
    uint64_t h = 0;
    if (fast_path(pkt, h)) {
        ++fast_;
        return h;
    }
    ++slow_;
    if (slow_decoder_.decode(pkt, scratch_) != DecodeStatus::ok) {
        return 0;
    }
    return address_pair_hash(scratch_.key.src, scratch_.key.dst, scratch_.key.ip_version, seed_);
}

bool DispatchHasher::fast_path(const PacketRef& pkt, uint64_t& h) const {
    const uint8_t* p = pkt.data;
    uint32_t len = pkt.caplen;
    uint16_t type = 0;
    switch (static_cast<LinkType>(pkt.linktype)) {
        case LinkType::ethernet:
            if (len < 14) {
                return false;
            }
            type = be16(p + 12);
            p += 14;
            len -= 14;
            break;
        case LinkType::linux_sll:
            if (len < 16) {
                return false;
            }
            type = be16(p + 14);
            p += 16;
            len -= 16;
            break;
        case LinkType::linux_sll2:
            if (len < 20) {
                return false;
            }
            type = be16(p);
            p += 20;
            len -= 20;
            break;
        case LinkType::raw:
        case LinkType::ipv4:
        case LinkType::ipv6:
            return ip(p, len, h);
        default:
            return false;
    }
    for (int tags = 0; type == kEthVlan || type == kEthQinQ || type == kEthQinQOld; ++tags) {
        if (tags == kMaxFastVlans || len < 4) {
            return false;
        }
        type = be16(p + 2);
        p += 4;
        len -= 4;
    }
    if (type != kEthIpv4 && type != kEthIpv6) {
        return false;  // MPLS, PPPoE, LLC/SNAP, not IP: the decoder decides
    }
    return ip(p, len, h);
}

bool DispatchHasher::ip(const uint8_t* p, uint32_t len, uint64_t& h) const {
    if (len < 1) {
        return false;
    }
    const uint8_t version = p[0] >> 4;
    if (version == 4) {
        const uint32_t hl = uint32_t{p[0] & 0x0Fu} * 4;
        if (hl < 20 || len < hl) {
            return false;
        }
        const uint8_t proto = p[9];
        const bool fragment = (be16(p + 6) & 0x3FFF) != 0;
        if (decap_) {
            switch (proto) {
                case kProtoTcp:
                case kProtoIcmp:
                case kProtoSctp:
                    break;  // never a tunnel: the outer addresses are the key's
                case kProtoUdp:
                    // A UDP fragment may be part of a tunnelled datagram, and
                    // a tunnel port may be decapsulated.
                    if (fragment || len < hl + 4 || tunnel_port(be16(p + hl)) ||
                        tunnel_port(be16(p + hl + 2))) {
                        return false;
                    }
                    break;
                default:
                    return false;  // IP-in-IP, GRE, ...: the decoder knows
            }
        }
        h = address_pair_hash(IpAddr::v4(p + 12), IpAddr::v4(p + 16), 4, seed_);
        return true;
    }
    if (version == 6) {
        if (len < 40) {
            return false;
        }
        const uint8_t next = p[6];
        if (decap_) {
            switch (next) {
                case kProtoTcp:
                case kProtoIcmpv6:
                case kProtoSctp:
                case kProtoNoNext:
                    break;
                case kProtoUdp:
                    if (len < 44 || tunnel_port(be16(p + 40)) || tunnel_port(be16(p + 42))) {
                        return false;
                    }
                    break;
                default:
                    return false;  // extension headers, tunnels: the decoder knows
            }
        }
        h = address_pair_hash(IpAddr::v6(p + 8), IpAddr::v6(p + 24), 6, seed_);
        return true;
    }
    return false;
}

}  // namespace spate::parse
