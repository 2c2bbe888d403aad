// Link layer: the capture link types, Ethernet (with 802.3 LLC/SNAP),
// VLAN tags, MPLS label stacks and PPPoE sessions, down to an IP header.
#include <cstdint>

#include "walker.hpp"

namespace spate::parse::detail {

namespace {

constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88A8;
constexpr uint16_t kEthQinQOld = 0x9100;
constexpr uint16_t kEthMplsUc = 0x8847;
constexpr uint16_t kEthMplsMc = 0x8848;
constexpr uint16_t kEthPppoeSession = 0x8864;
constexpr uint16_t kEth8023MaxLen = 1500;  ///< type field values up to this are 802.3 lengths

constexpr uint16_t kPppIpv4 = 0x0021;
constexpr uint16_t kPppIpv6 = 0x0057;

// BSD address families of DLT_NULL / DLT_LOOP: AF_INET is 2 everywhere,
// AF_INET6 is 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
constexpr uint32_t kAfInet = 2;
constexpr uint32_t kAfInet6Bsd = 24;
constexpr uint32_t kAfInet6FreeBsd = 28;
constexpr uint32_t kAfInet6Darwin = 30;

constexpr uint32_t bswap32(uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xFF00u) | ((v << 8) & 0xFF0000u) | (v << 24);
}

template <typename T>
void saturating_inc(T& v) {
    if (v != static_cast<T>(~T{0})) {
        ++v;
    }
}

/// 802.2 LLC with a SNAP header whose OUI says "the PID is an Ethertype"
/// (RFC 1042 OUI 00-00-00, 802.1H OUI 00-00-F8). On success advances past
/// the 8 bytes and stores the Ethertype.
bool llc_snap(Cursor& c, uint16_t& type) {
    if (!c.has(8) || c.peek_u8(0) != 0xAA || c.peek_u8(1) != 0xAA || c.peek_u8(2) != 0x03) {
        return false;
    }
    if (c.peek_u8(3) != 0 || c.peek_u8(4) != 0 || (c.peek_u8(5) != 0 && c.peek_u8(5) != 0xF8)) {
        return false;
    }
    type = c.peek_u16(6);
    c.skip(8);
    return true;
}

}  // namespace

Verdict Walker::link(uint16_t linktype, Cursor c) {
    switch (static_cast<LinkType>(linktype)) {
        case LinkType::ethernet:
            return ethernet(c);
        case LinkType::linux_sll: {
            // packet type, ARPHRD, address length, 8-byte address, protocol
            if (!c.has(16)) {
                return bad(Malformed::l2_truncated);
            }
            const uint16_t proto = c.peek_u16(14);
            c.skip(16);
            return ethertype(proto, c);
        }
        case LinkType::linux_sll2: {
            // protocol, reserved, ifindex, ARPHRD, packet type, address length, address
            if (!c.has(20)) {
                return bad(Malformed::l2_truncated);
            }
            const uint16_t proto = c.peek_u16(0);
            c.skip(20);
            return ethertype(proto, c);
        }
        case LinkType::raw:
        case LinkType::ipv4:
        case LinkType::ipv6:
            // LINKTYPE_IPV4 / IPV6 promise a version; trusting the nibble
            // instead costs nothing and survives mislabelled captures.
            return ip_by_version(c);
        case LinkType::null_bsd:
        case LinkType::loop: {
            // NULL is in the capturing host's byte order, LOOP in network
            // order; families are small, so whichever half is zero says which.
            if (!c.has(4)) {
                return bad(Malformed::l2_truncated);
            }
            uint32_t family = c.read_u32();
            if ((family & 0xFFFF) == 0) {
                family = bswap32(family);
            }
            switch (family) {
                case kAfInet:
                    return ipv4(c);
                case kAfInet6Bsd:
                case kAfInet6FreeBsd:
                case kAfInet6Darwin:
                    return ipv6(c);
                default:
                    return kNonIp;
            }
        }
    }
    return bad(Malformed::unknown_linktype);
}

Verdict Walker::ethernet(Cursor c) {
    if (!c.has(14)) {
        return bad(Malformed::l2_truncated);
    }
    c.skip(12);  // destination and source MAC
    return ethertype(c.read_u16(), c);
}

Verdict Walker::ethertype(uint16_t type, Cursor c) {
    // Tags are recorded for the frame's own link layer only: an inner
    // Ethernet (VXLAN, GRE bridging, ERSPAN) is a tenant's or a mirrored
    // segment's, not the VLAN the probe sees; its tags are skipped.
    const bool outer = out_.tunnel_count == 0;
    for (;;) {
        switch (type) {
            case kEthIpv4:
                return ipv4(c);
            case kEthIpv6:
                return ipv6(c);
            case kEthVlan:
            case kEthQinQ:
            case kEthQinQOld: {
                const uint16_t tci = c.read_u16();
                type = c.read_u16();
                if (!c.ok()) {
                    return bad(Malformed::vlan_truncated);
                }
                if (outer) {
                    if (out_.vlan_count < kMaxVlans) {
                        out_.vlans[out_.vlan_count] = tci & 0x0FFF;
                    }
                    saturating_inc(out_.vlan_count);
                }
                continue;
            }
            case kEthMplsUc:
            case kEthMplsMc:
                return mpls(c);
            case kEthPppoeSession:
                return pppoe(c);
            default:
                if (type <= kEth8023MaxLen && llc_snap(c, type)) {
                    continue;
                }
                return kNonIp;
        }
    }
}

Verdict Walker::mpls(Cursor c) {
    const bool outer = out_.tunnel_count == 0;
    for (;;) {
        const uint32_t entry = c.read_u32();
        if (!c.ok()) {
            return bad(Malformed::mpls_truncated);
        }
        if (outer) {
            if (out_.mpls_count == 0) {
                out_.mpls_top = entry >> 12;
            }
            saturating_inc(out_.mpls_count);
        }
        if (entry & 0x100) {  // bottom of stack
            break;
        }
    }
    // MPLS does not say what it carries: IP by its version nibble. Anything
    // else (a pseudowire control word, raw Ethernet) is not followed.
    if (!c.has(1)) {
        return bad(Malformed::mpls_truncated);
    }
    switch (c.peek_u8() >> 4) {
        case 4:
            return ipv4(c);
        case 6:
            return ipv6(c);
        default:
            return kNonIp;
    }
}

Verdict Walker::pppoe(Cursor c) {
    c.skip(6);  // version/type, code, session id, length
    const uint16_t proto = c.read_u16();
    if (!c.ok()) {
        return bad(Malformed::pppoe_truncated);
    }
    switch (proto) {
        case kPppIpv4:
            return ipv4(c);
        case kPppIpv6:
            return ipv6(c);
        default:
            return kNonIp;  // LCP, IPCP, CHAP, ...
    }
}

Verdict Walker::ip_by_version(Cursor c) {
    switch (c.peek_u8() >> 4) {
        case 4:
            return ipv4(c);
        case 6:
            return ipv6(c);
        default:
            return bad(Malformed::ip_bad_version);
    }
}

}  // namespace spate::parse::detail
