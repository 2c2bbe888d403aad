// Network and transport layers: IPv4, IPv6 and its extension headers,
// fragment attribution, TCP, UDP, SCTP, ICMP / ICMPv6.
//
// Lengths come from the headers, never from the capture: a frame cut by
// snaplen keeps its IP and transport lengths, and Ethernet padding after
// the IP datagram is ignored. The capture only decides what can be read.
#include <algorithm>
#include <cstdint>

#include "walker.hpp"

namespace spate::parse::detail {

namespace {

constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoGre = 47;
constexpr uint8_t kProtoIcmpv6 = 58;
constexpr uint8_t kProtoSctp = 132;

// IPv6 extension headers the decoder walks through.
constexpr uint8_t kExtHopByHop = 0;
constexpr uint8_t kExtRouting = 43;
constexpr uint8_t kExtFragment = 44;
constexpr uint8_t kExtAh = 51;
constexpr uint8_t kExtDestOpts = 60;
constexpr int kMaxExtHeaders = 8;

constexpr size_t kTcpMinHeader = 20;
constexpr size_t kUdpHeader = 8;
constexpr size_t kSctpCommonHeader = 12;
constexpr size_t kPortBytes = 4;

}  // namespace

void Walker::begin_ip(size_t l3_off, uint8_t version, const IpAddr& src, const IpAddr& dst,
                      uint8_t proto, uint8_t ttl, uint16_t ip_id, uint32_t ip_len) {
    // Each IP header met replaces what an outer one wrote: after
    // decapsulation the key and the L3/L4 fields describe the inner packet
    // (the outer addresses were saved by push_tunnel()).
    FlowKey& k = out_.key;
    k.src = src;
    k.dst = dst;
    k.sport = 0;
    k.dport = 0;
    k.proto = proto;
    k.ip_version = version;
    out_.ip_len = ip_len;
    out_.ttl = ttl;
    out_.ip_id = ip_id;
    out_.l3_off = off16(l3_off);
    out_.l4_off = 0;
    out_.payload_off = 0;
    out_.payload_len = 0;
    out_.tcp_flags = 0;
    out_.tcp_window = 0;
    out_.tcp_seq = 0;
    out_.tcp_ack = 0;
    out_.tcp_hdr_len = 0;
    out_.icmp_type = 0;
    out_.icmp_code = 0;
    out_.l4_truncated = false;
}

Verdict Walker::ipv4(Cursor c) {
    const size_t l3 = c.offset();
    if (!c.has(20)) {
        return bad(Malformed::ipv4_truncated);
    }
    const uint8_t vihl = c.peek_u8();
    const size_t hl = size_t{vihl & 0x0Fu} * 4;
    if ((vihl >> 4) != 4 || hl < 20) {
        return bad(Malformed::ipv4_bad_header);
    }
    if (!c.has(hl)) {
        return bad(Malformed::ipv4_truncated);
    }
    const size_t captured = c.remaining();
    c.skip(2);  // version/IHL, DSCP/ECN
    uint32_t total = c.read_u16();
    const uint16_t ident = c.read_u16();
    const uint16_t frag = c.read_u16();
    const uint8_t ttl = c.read_u8();
    const uint8_t proto = c.read_u8();
    c.skip(2);  // checksum
    const IpAddr src = IpAddr::v4(c.data());
    c.skip(4);
    const IpAddr dst = IpAddr::v4(c.data());
    c.skip(4 + (hl - 20));  // destination, options
    if (total == 0) {
        // Sent with TCP segmentation offload and captured before the NIC
        // filled the length in. tshark then takes the frame's length, and
        // so do we: the datagram is everything from here to the end of the
        // frame on the wire (the captured part, when inside a tunnel).
        size_t len = captured;
        if (l3 + captured == out_.cap_len && out_.wire_len > out_.cap_len) {
            len += out_.wire_len - out_.cap_len;
        }
        total = static_cast<uint32_t>(len);
    } else if (total < hl) {
        return bad(Malformed::ipv4_bad_header);
    }
    begin_ip(l3, 4, src, dst, proto, ttl, ident, total);

    const uint32_t payload = total - static_cast<uint32_t>(hl);
    const Cursor pl = c.sub_at_most(payload);
    const bool more = (frag & 0x2000) != 0;
    const uint16_t frag_off = frag & 0x1FFF;
    bool first = false;
    if (more || frag_off != 0) {
        ++counters_.fragments;
        const FragId id{src, dst, ident, proto, 4};
        if (frag_off != 0) {
            return later_fragment(id);
        }
        first_fragment(id);
        first = true;
    }
    return transport(proto, pl, payload, first);
}

Verdict Walker::ipv6(Cursor c) {
    const size_t l3 = c.offset();
    if (!c.has(40)) {
        return bad(Malformed::ipv6_truncated);
    }
    if ((c.peek_u8() >> 4) != 6) {
        return bad(Malformed::ip_bad_version);
    }
    c.skip(4);  // version, traffic class, flow label
    const uint16_t plen = c.read_u16();
    uint8_t next = c.read_u8();
    const uint8_t hop_limit = c.read_u8();
    const IpAddr src = IpAddr::v6(c.data());
    c.skip(16);
    const IpAddr dst = IpAddr::v6(c.data());
    c.skip(16);
    begin_ip(l3, 6, src, dst, next, hop_limit, 0, uint32_t{plen} + 40);

    // pl never holds more than `left` bytes: extension headers that run
    // past the payload length are as truncated as those past the capture.
    Cursor pl = c.sub_at_most(plen);
    uint32_t left = plen;
    bool first = false;
    for (int seen = 0;; ++seen) {
        size_t len = 0;
        switch (next) {
            case kExtHopByHop:
            case kExtRouting:
            case kExtDestOpts:
                len = (size_t{pl.peek_u8(1)} + 1) * 8;
                break;
            case kExtFragment:
                len = 8;
                break;
            case kExtAh:
                // tshark stops at AH and reports 51 as the protocol; we follow
                // it (the brief asks for the protected transport): AH
                // authenticates but does not hide what it carries.
                len = (size_t{pl.peek_u8(1)} + 2) * 4;
                break;
            default:
                // The protocol, including ESP (50) and No Next Header (59).
                out_.key.proto = next;
                return transport(next, pl, left, first);
        }
        if (seen == kMaxExtHeaders) {
            return bad(Malformed::ipv6_too_many_ext);
        }
        // A missing length byte read as 0 gives len >= 8, so has() also
        // covers a header cut inside its first two bytes.
        if (!pl.has(len)) {
            return bad(Malformed::ipv6_ext_truncated);
        }
        Cursor ext = pl.sub(len);
        const uint8_t ext_type = next;
        next = ext.read_u8();
        left -= static_cast<uint32_t>(len);
        if (ext_type != kExtFragment) {
            continue;
        }
        ext.skip(1);
        const uint16_t off_flags = ext.read_u16();
        const uint32_t ident = ext.read_u32();
        const uint16_t frag_off = off_flags >> 3;
        const bool more = (off_flags & 1) != 0;
        if (frag_off == 0 && !more) {
            continue;  // atomic fragment (RFC 6946): the whole datagram
        }
        ++counters_.fragments;
        // Fragments of one datagram agree on the fragment header's Next
        // Header, not on what a first fragment has after it.
        const FragId id{src, dst, ident, next, 6};
        if (frag_off != 0) {
            out_.key.proto = next;
            return later_fragment(id);
        }
        first_fragment(id);
        first = true;
    }
}

void Walker::first_fragment(const FragId& id) {
    out_.frag = FragKind::first;
    if (pending_count_ < pending_.size()) {
        pending_[pending_count_++] = id;
    }
}

Verdict Walker::later_fragment(const FragId& id) {
    // No transport header here: the key is the one the first fragment
    // resolved to (inner flow included), else the IP header's with ports 0.
    // Either way the fragment is counted and decoded, never dropped.
    const FragEntry* e = frags_ != nullptr ? frags_->find(id, now_ns_) : nullptr;
    if (e == nullptr) {
        out_.frag = FragKind::unmatched;
        ++counters_.fragments_unmatched;
        return kOk;
    }
    out_.key = e->key;
    if (out_.tunnel_count == 0) {
        // An outer fragment: the tunnels are in the first fragment only.
        out_.tunnel_count = e->tunnel_count;
        out_.tunnels = e->tunnels;
        out_.outer_ip_version = e->outer_ip_version;
        out_.outer_src = e->outer_src;
        out_.outer_dst = e->outer_dst;
    }
    out_.frag = FragKind::later;
    ++counters_.fragments_matched;
    return kOk;
}

void Walker::remember_first_fragments() {
    if (frags_ == nullptr || !rememberable_) {
        return;
    }
    for (uint8_t i = 0; i < pending_count_; ++i) {
        if (frags_->insert(pending_[i], now_ns_, out_)) {
            ++counters_.frag_table_overwrites;
        }
    }
}

Verdict Walker::transport(uint8_t proto, Cursor pl, uint32_t ip_payload, bool first_frag) {
    out_.l4_off = off16(pl.offset());
    switch (proto) {
        case kProtoTcp:
            return tcp(pl, ip_payload, first_frag);
        case kProtoUdp:
            return udp(pl, ip_payload, first_frag);
        case kProtoSctp:
            return sctp(pl, ip_payload, first_frag);
        case kProtoIcmp:
        case kProtoIcmpv6:
            return icmp(pl);
        case kProtoIpip:
        case kProtoIpv6:
            return cfg_.decap ? ip_in_ip(proto, pl) : kOk;
        case kProtoGre:
            return cfg_.decap ? gre(pl) : kOk;
        default:
            return kOk;  // a flow of its own, without ports
    }
}

Verdict Walker::ports_missing(uint32_t ip_payload, bool first_frag) {
    if (first_frag && ip_payload < kPortBytes) {
        // A first fragment too small to carry the ports (a tiny-fragment
        // evasion): keyed with ports 0, and not remembered.
        rememberable_ = false;
        return kOk;
    }
    return bad(Malformed::l4_truncated);
}

// In a first fragment the transport header may legitimately continue in
// the next fragment, so "shorter than the header" is only malformed in a
// whole datagram.

Verdict Walker::tcp(Cursor pl, uint32_t ip_payload, bool first_frag) {
    if (!first_frag && ip_payload < kTcpMinHeader) {
        return bad(Malformed::tcp_bad_header);
    }
    const Cursor hdr = pl;
    if (!pl.has(kPortBytes)) {
        return ports_missing(ip_payload, first_frag);
    }
    out_.key.sport = pl.read_u16();
    out_.key.dport = pl.read_u16();
    if (!hdr.has(kTcpMinHeader)) {
        out_.l4_truncated = true;
        return kOk;
    }
    const uint32_t seq = pl.read_u32();
    const uint32_t ack = pl.read_u32();
    const size_t hl = size_t{static_cast<uint8_t>(pl.read_u8() >> 4)} * 4;
    const uint8_t flags = pl.read_u8();
    const uint16_t window = pl.read_u16();
    if (hl < kTcpMinHeader || (!first_frag && hl > ip_payload)) {
        return bad(Malformed::tcp_bad_header);
    }
    if (!hdr.has(hl)) {
        out_.l4_truncated = true;  // options cut by snaplen
        return kOk;
    }
    out_.tcp_seq = seq;
    out_.tcp_ack = ack;
    out_.tcp_flags = flags;
    out_.tcp_window = window;
    out_.tcp_hdr_len = static_cast<uint8_t>(hl);
    out_.payload_off = off16(hdr.offset() + hl);
    out_.payload_len = ip_payload > hl ? ip_payload - static_cast<uint32_t>(hl) : 0;
    return kOk;
}

Verdict Walker::udp(Cursor pl, uint32_t ip_payload, bool first_frag) {
    if (!first_frag && ip_payload < kUdpHeader) {
        return bad(Malformed::udp_bad_header);
    }
    const Cursor hdr = pl;
    if (!pl.has(kPortBytes)) {
        return ports_missing(ip_payload, first_frag);
    }
    const uint16_t sport = pl.read_u16();
    const uint16_t dport = pl.read_u16();
    out_.key.sport = sport;
    out_.key.dport = dport;
    if (!hdr.has(kUdpHeader)) {
        out_.l4_truncated = true;
        return kOk;
    }
    const uint16_t length = pl.read_u16();
    pl.skip(2);  // checksum
    if (length < kUdpHeader) {
        return bad(Malformed::udp_bad_header);
    }
    const uint32_t udp_payload = length - static_cast<uint32_t>(kUdpHeader);
    if (cfg_.decap) {
        if (auto v = udp_tunnel(sport, dport, pl.sub_at_most(udp_payload), udp_payload)) {
            return *v;
        }
    }
    out_.payload_off = off16(hdr.offset() + kUdpHeader);
    // Clamped to the IP payload (hdr.has(8) implies ip_payload >= 8),
    // except in a first fragment: there the UDP length is the reassembled
    // datagram's, and the later fragments count 0, so the flow gets the
    // datagram's payload once (what tshark reports after reassembly).
    out_.payload_len = first_frag
                           ? udp_payload
                           : std::min(udp_payload, ip_payload - static_cast<uint32_t>(kUdpHeader));
    return kOk;
}

Verdict Walker::sctp(Cursor pl, uint32_t ip_payload, bool first_frag) {
    if (!pl.has(kPortBytes)) {
        return ports_missing(ip_payload, first_frag);
    }
    out_.l4_truncated = !pl.has(kSctpCommonHeader);
    out_.key.sport = pl.read_u16();
    out_.key.dport = pl.read_u16();
    return kOk;
}

Verdict Walker::icmp(Cursor pl) {
    // Type and code only. An error message quotes the offending packet's
    // headers; those are deliberately not decoded: the ICMP packet belongs
    // to the ICMP flow between its own addresses. The key needs nothing
    // from this header, so a cut one is flagged, not dropped.
    if (!pl.has(2)) {
        out_.l4_truncated = true;
        return kOk;
    }
    out_.icmp_type = pl.read_u8();
    out_.icmp_code = pl.read_u8();
    return kOk;
}

}  // namespace spate::parse::detail
