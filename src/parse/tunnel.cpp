// Encapsulations followed when DecoderConfig::decap is set: IP-in-IP, GRE
// (with ERSPAN and PPTP), and the UDP tunnels VXLAN, Geneve, GTP-U and
// Teredo. Each one validates its own header, then push_tunnel() records it
// and the inner packet is decoded from the top again.
//
// A port or protocol number alone does not make a tunnel: a GTP message
// that is not a G-PDU, a Teredo port that does not carry a plausible IPv6
// header, a GRE protocol that is not listed here, stay plain flows of the
// outer header.
#include <cstdint>
#include <optional>

#include "walker.hpp"

namespace spate::parse::detail {

namespace {

constexpr uint16_t kGreChecksum = 0x8000;
constexpr uint16_t kGreRouting = 0x4000;
constexpr uint16_t kGreKey = 0x2000;
constexpr uint16_t kGreSeq = 0x1000;
constexpr uint16_t kGreAck = 0x0080;  ///< enhanced GRE (version 1) only
constexpr uint16_t kGreVersionMask = 0x0007;

constexpr uint16_t kGreErspan2 = 0x88BE;
constexpr uint16_t kGreErspan3 = 0x22EB;
constexpr uint16_t kGrePpp = 0x880B;

constexpr size_t kErspan2Header = 8;
constexpr size_t kErspan3Header = 12;
constexpr size_t kErspan3PlatformHeader = 8;

constexpr uint16_t kPortVxlan = 4789;
constexpr uint16_t kPortGeneve = 6081;
constexpr uint16_t kPortGtpu = 2152;
constexpr uint16_t kPortTeredo = 3544;

constexpr size_t kVxlanHeader = 8;
constexpr size_t kGeneveHeader = 8;
constexpr uint8_t kGtpGpdu = 255;

constexpr uint16_t kPppIpv4 = 0x0021;
constexpr uint16_t kPppIpv6 = 0x0057;

}  // namespace

Verdict Walker::push_tunnel(Tunnel t) {
    if (out_.tunnel_count >= kMaxTunnels) {
        return bad(Malformed::tunnel_too_deep);
    }
    if (out_.tunnel_count == 0) {
        // The key still holds the outermost IP header: keep its addresses.
        out_.outer_ip_version = out_.key.ip_version;
        out_.outer_src = out_.key.src;
        out_.outer_dst = out_.key.dst;
    }
    out_.tunnels[out_.tunnel_count++] = t;
    return kOk;
}

Verdict Walker::ip_in_ip(uint8_t proto, Cursor pl) {
    if (Verdict v = push_tunnel(Tunnel::ip); v.status != DecodeStatus::ok) {
        return v;
    }
    return proto == kProtoIpip ? ipv4(pl) : ipv6(pl);
}

Verdict Walker::gre(Cursor c) {
    const uint16_t flags = c.read_u16();
    const uint16_t proto = c.read_u16();
    if (!c.ok()) {
        return bad(Malformed::tunnel_truncated);
    }
    const uint16_t version = flags & kGreVersionMask;
    if (version == 1) {
        return pptp(flags, proto, c);
    }
    // RFC 1701 source routing is obsolete (RFC 2784 sets R to 0); such a
    // packet, or an unknown version, stays a GRE flow.
    if (version != 0 || (flags & kGreRouting) != 0) {
        return kOk;
    }
    switch (proto) {
        case kEthIpv4:
        case kEthIpv6:
        case kEthTeb:
        case kGreErspan2:
        case kGreErspan3:
            break;
        default:
            return kOk;  // MPLS, WCCP, keepalives, ...: the GRE flow itself
    }
    c.skip(((flags & kGreChecksum) ? 4 : 0) + ((flags & kGreKey) ? 4 : 0) +
           ((flags & kGreSeq) ? 4 : 0));
    if (proto == kGreErspan2 && (flags & kGreSeq) != 0) {
        // Type II always numbers its packets; type I has neither a
        // sequence number nor a header (the rule Wireshark uses too).
        c.skip(kErspan2Header);
    } else if (proto == kGreErspan3) {
        const bool platform = c.has(kErspan3Header) && (c.peek_u8(11) & 0x01) != 0;
        c.skip(kErspan3Header + (platform ? kErspan3PlatformHeader : 0));
    }
    if (!c.ok()) {
        return bad(Malformed::tunnel_truncated);
    }
    const bool erspan = proto == kGreErspan2 || proto == kGreErspan3;
    if (Verdict v = push_tunnel(erspan ? Tunnel::erspan : Tunnel::gre);
        v.status != DecodeStatus::ok) {
        return v;
    }
    switch (proto) {
        case kEthIpv4:
            return ipv4(c);
        case kEthIpv6:
            return ipv6(c);
        default:
            return ethernet(c);
    }
}

Verdict Walker::pptp(uint16_t flags, uint16_t proto, Cursor c) {
    // Enhanced GRE (RFC 2637 4.1): key present (payload length + call id),
    // optional sequence and acknowledgement numbers, then a PPP frame.
    if (proto != kGrePpp || (flags & kGreKey) == 0) {
        return kOk;
    }
    const uint16_t payload_len = c.read_u16();
    c.skip(2 + ((flags & kGreSeq) ? 4 : 0) + ((flags & kGreAck) ? 4 : 0));
    if (!c.ok()) {
        return bad(Malformed::tunnel_truncated);
    }
    if (payload_len == 0) {
        return kOk;  // an acknowledgement without data
    }
    Cursor ppp = c.sub_at_most(payload_len);
    if (ppp.peek_u8(0) == 0xFF && ppp.peek_u8(1) == 0x03) {
        ppp.skip(2);  // address and control, unless compressed away
    }
    // Protocol-field compression (RFC 1661 6.5): an odd first byte is a
    // one-byte protocol.
    const uint16_t ppp_proto = (ppp.peek_u8(0) & 1) != 0 ? ppp.read_u8() : ppp.read_u16();
    if (!ppp.ok()) {
        return bad(Malformed::tunnel_truncated);
    }
    if (ppp_proto != kPppIpv4 && ppp_proto != kPppIpv6) {
        // LCP, CCP, MPPE-compressed data: the PPTP session's GRE flow.
        return kOk;
    }
    if (Verdict v = push_tunnel(Tunnel::gre); v.status != DecodeStatus::ok) {
        return v;
    }
    return ppp_proto == kPppIpv4 ? ipv4(ppp) : ipv6(ppp);
}

std::optional<Verdict> Walker::udp_tunnel(uint16_t sport, uint16_t dport, Cursor pl,
                                          uint32_t udp_payload) {
    // The destination port first: a tunnel's source port is often an
    // ephemeral hash of the inner flow and may collide with a tunnel port.
    if (auto v = udp_tunnel_on(dport, pl, udp_payload)) {
        return v;
    }
    if (sport != dport) {
        return udp_tunnel_on(sport, pl, udp_payload);
    }
    return std::nullopt;
}

std::optional<Verdict> Walker::udp_tunnel_on(uint16_t port, Cursor pl, uint32_t udp_payload) {
    switch (port) {
        case kPortVxlan:
            return vxlan(pl);
        case kPortGeneve:
            return geneve(pl);
        case kPortGtpu:
            return gtpu(pl);
        case kPortTeredo:
            return teredo(pl, udp_payload);
        default:
            return std::nullopt;
    }
}

Verdict Walker::vxlan(Cursor c) {
    // Flags are not checked (as in tshark): 4789 is IANA's VXLAN port.
    c.skip(kVxlanHeader);
    if (!c.ok()) {
        return bad(Malformed::tunnel_truncated);
    }
    if (Verdict v = push_tunnel(Tunnel::vxlan); v.status != DecodeStatus::ok) {
        return v;
    }
    return ethernet(c);
}

std::optional<Verdict> Walker::geneve(Cursor c) {
    if (!c.has(kGeneveHeader)) {
        return bad(Malformed::tunnel_truncated);
    }
    const uint8_t ver_opt = c.peek_u8(0);
    if ((ver_opt >> 6) != 0) {
        return std::nullopt;  // an unknown Geneve version
    }
    const uint16_t proto = c.peek_u16(2);
    c.skip(kGeneveHeader + size_t{ver_opt & 0x3Fu} * 4);
    if (!c.ok()) {
        return bad(Malformed::tunnel_truncated);
    }
    if (Verdict v = push_tunnel(Tunnel::geneve); v.status != DecodeStatus::ok) {
        return v;
    }
    switch (proto) {
        case kEthTeb:
            return ethernet(c);
        case kEthIpv4:
            return ipv4(c);
        case kEthIpv6:
            return ipv6(c);
        default:
            return kNonIp;
    }
}

std::optional<Verdict> Walker::gtpu(Cursor c) {
    // GTPv1-U (3GPP TS 29.281): only a G-PDU carries a user packet; echo,
    // error indication, end marker, ... are signalling of the UDP flow.
    const uint8_t flags = c.peek_u8(0);
    if (!c.has(2) || (flags >> 5) != 1 || (flags & 0x10) == 0 || c.peek_u8(1) != kGtpGpdu) {
        return std::nullopt;
    }
    // E, S or PN present: sequence number, N-PDU number and next
    // extension header type follow, all three.
    const size_t hl = (flags & 0x07) != 0 ? 12 : 8;
    if (!c.has(hl)) {
        return bad(Malformed::tunnel_truncated);
    }
    uint8_t next_ext = (flags & 0x04) != 0 ? c.peek_u8(11) : 0;
    c.skip(hl);
    // Each extension header is len*4 bytes, its last byte the next type.
    // The chain ends because every step consumes at least 4 bytes; a
    // length of 0 (which would never end) counts as a cut header.
    while (next_ext != 0) {
        const size_t len = size_t{c.peek_u8(0)} * 4;
        if (len == 0 || !c.has(len)) {
            return bad(Malformed::tunnel_truncated);
        }
        next_ext = c.peek_u8(len - 1);
        c.skip(len);
    }
    if (!c.has(1)) {
        return bad(Malformed::tunnel_truncated);
    }
    if (Verdict v = push_tunnel(Tunnel::gtpu); v.status != DecodeStatus::ok) {
        return v;
    }
    return ip_by_version(c);
}

std::optional<Verdict> Walker::teredo(Cursor c, uint32_t udp_payload) {
    // RFC 4380 5.1.1: optional authentication, then optional origin
    // indication, then an IPv6 packet. Port 3544 is also the Teredo
    // server's port for plain traffic, so the IPv6 header must check out
    // (version 6, its length filling the datagram exactly), else it is an
    // ordinary UDP flow. The check uses header lengths, so a snaplen cut
    // past the IPv6 payload length field still decodes as Teredo (and then as
    // ipv6_truncated).
    const Cursor start = c;
    if (c.has(4) && c.peek_u16(0) == 0x0001) {
        const size_t id_len = c.peek_u8(2);
        const size_t auth_len = c.peek_u8(3);
        c.skip(4 + id_len + auth_len + 8 + 1);  // + nonce + confirmation
    }
    if (c.has(2) && c.peek_u16(0) == 0x0000) {
        c.skip(8);  // origin port and address
    }
    if (!c.ok() || !c.has(6) || (c.peek_u8(0) >> 4) != 6) {
        return std::nullopt;
    }
    const size_t consumed = c.offset() - start.offset();
    if (consumed + 40 + c.peek_u16(4) != udp_payload) {
        return std::nullopt;
    }
    if (Verdict v = push_tunnel(Tunnel::teredo); v.status != DecodeStatus::ok) {
        return v;
    }
    return ipv6(c);
}

}  // namespace spate::parse::detail
