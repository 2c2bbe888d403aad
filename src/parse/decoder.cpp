// Decoder: the public entry point. The header walk itself is in walker.hpp
// and link.cpp / ip.cpp / tunnel.cpp; this file owns the counters, the
// fragment tracker and the names.
#include "spate/parse/decoder.hpp"

#include "frag_table.hpp"
#include "walker.hpp"

namespace spate::parse {

struct Decoder::FragTable : detail::FragTracker {
    using FragTracker::FragTracker;
};

Decoder::Decoder(const DecoderConfig& cfg)
    : cfg_(cfg), frags_(std::make_unique<FragTable>(cfg.frag_slots, cfg.frag_timeout_ns)) {}

Decoder::~Decoder() = default;
Decoder::Decoder(Decoder&&) noexcept = default;
Decoder& Decoder::operator=(Decoder&&) noexcept = default;

namespace {

inline uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
inline uint32_t rd32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

/// The TCP header at frame + l4 (its IP payload `ip_payload` bytes, the
/// frame captured up to `cap`) when it is whole and sane; false sends the
/// frame to the walker (which also judges what is malformed).
inline bool fast_tcp(const uint8_t* frame, uint32_t cap, uint32_t l4, uint32_t ip_payload,
                     DecodedPacket& out) {
    const uint8_t* tcp = frame + l4;
    const uint32_t hl = static_cast<uint32_t>(tcp[12] >> 4) * 4;
    if (hl < 20 || hl > ip_payload || l4 + hl > cap) {
        return false;
    }
    out.l4_off = static_cast<uint16_t>(l4);
    out.key.sport = rd16(tcp);
    out.key.dport = rd16(tcp + 2);
    out.tcp_seq = rd32(tcp + 4);
    out.tcp_ack = rd32(tcp + 8);
    out.tcp_flags = tcp[13];
    out.tcp_window = rd16(tcp + 14);
    out.tcp_hdr_len = static_cast<uint8_t>(hl);
    out.payload_off = static_cast<uint16_t>(l4 + hl);
    out.payload_len = ip_payload - hl;
    return true;
}

/// Ethernet + IPv4 (no options, not a fragment) or IPv6 (no extension
/// header) + TCP: what Walker::ethernet/ipv4/ipv6/transport/tcp produce for
/// such a frame, read in one go. Anything else (VLAN tags, tunnels,
/// fragments, options, odd lengths, a cut header) returns false and takes
/// the walk.
inline bool fast_frame(const PacketRef& pkt, DecodedPacket& out) {
    const uint8_t* d = pkt.data;
    const uint32_t cap = pkt.caplen;
    if (cap < 14 + 20 + 20) {
        return false;
    }
    const uint16_t type = rd16(d + 12);
    const uint8_t* ip = d + 14;
    if (type == 0x0800) {
        const uint32_t total = rd16(ip + 2);
        // IHL 5; no MF, offset 0; TCP; a total that holds both headers (0,
        // from segmentation offload, and short ones go the long way).
        if (ip[0] != 0x45 || (rd16(ip + 6) & 0x3FFF) != 0 || ip[9] != 6 || total < 40) {
            return false;
        }
        if (!fast_tcp(d, cap, 34, total - 20, out)) {
            return false;
        }
        out.key.src = IpAddr::v4(ip + 12);
        out.key.dst = IpAddr::v4(ip + 16);
        out.key.proto = 6;
        out.key.ip_version = 4;
        out.ip_len = total;
        out.ttl = ip[8];
        out.ip_id = rd16(ip + 4);
        out.l3_off = 14;
        return true;
    }
    if (type == 0x86DD) {
        if (cap < 14 + 40 + 20 || (ip[0] >> 4) != 6 || ip[6] != 6) {
            return false;
        }
        const uint32_t plen = rd16(ip + 4);
        if (plen < 20 || !fast_tcp(d, cap, 54, plen, out)) {
            return false;
        }
        out.key.src = IpAddr::v6(ip + 8);
        out.key.dst = IpAddr::v6(ip + 24);
        out.key.proto = 6;
        out.key.ip_version = 6;
        out.ip_len = plen + 40;
        out.ttl = ip[7];
        out.l3_off = 14;
        return true;
    }
    return false;
}

}  // namespace

DecodeStatus Decoder::decode(const PacketRef& pkt, DecodedPacket& out) {
    ++counters_.frames;
    out = DecodedPacket{};
    out.ts_ns = pkt.ts_ns;
    out.wire_len = pkt.wirelen;
    out.cap_len = pkt.caplen;
    out.in_port = pkt.port;
    out.in_queue = pkt.queue;

    if (cfg_.fast_path && pkt.linktype == static_cast<uint16_t>(LinkType::ethernet) &&
        fast_frame(pkt, out)) {
        ++counters_.decoded;
        ++counters_.fast_path;
        last_malformed_ = Malformed::none;
        return DecodeStatus::ok;
    }

    // A moved-from decoder has no tracker: it still decodes, without
    // fragment attribution.
    detail::Walker walker(cfg_, frags_.get(), counters_, out, pkt.ts_ns);
    const detail::Verdict v = walker.link(pkt.linktype, Cursor(pkt.data, pkt.caplen));

    switch (v.status) {
        case DecodeStatus::ok:
            if (cfg_.vlan_in_key && out.vlan_count > 0) {
                out.key.vlan = out.vlans[0];
            }
            // Only now is the key final (inner flow, VLAN), so only now can a
            // first fragment be remembered.
            walker.remember_first_fragments();
            ++counters_.decoded;
            if (out.l4_truncated) {
                ++counters_.l4_truncated;
            }
            // Counted per decoded frame and layer, so a later fragment that
            // inherits its first fragment's tunnel path counts too.
            for (uint8_t i = 0; i < out.tunnel_count; ++i) {
                ++counters_.tunnels[static_cast<size_t>(out.tunnels[i])];
            }
            last_malformed_ = Malformed::none;
            break;
        case DecodeStatus::non_ip:
            ++counters_.non_ip;
            last_malformed_ = Malformed::none;
            break;
        case DecodeStatus::malformed:
            ++counters_.malformed[static_cast<size_t>(v.why)];
            last_malformed_ = v.why;
            break;
    }
    return v.status;
}

DecoderCounters& DecoderCounters::operator+=(const DecoderCounters& o) {
    frames += o.frames;
    decoded += o.decoded;
    fast_path += o.fast_path;
    non_ip += o.non_ip;
    l4_truncated += o.l4_truncated;
    fragments += o.fragments;
    fragments_matched += o.fragments_matched;
    fragments_unmatched += o.fragments_unmatched;
    frag_table_overwrites += o.frag_table_overwrites;
    for (size_t i = 0; i < malformed.size(); ++i) {
        malformed[i] += o.malformed[i];
    }
    for (size_t i = 0; i < tunnels.size(); ++i) {
        tunnels[i] += o.tunnels[i];
    }
    return *this;
}

std::string_view to_string(Malformed m) {
    switch (m) {
        case Malformed::none:
            return "none";
        case Malformed::unknown_linktype:
            return "unknown_linktype";
        case Malformed::l2_truncated:
            return "l2_truncated";
        case Malformed::vlan_truncated:
            return "vlan_truncated";
        case Malformed::mpls_truncated:
            return "mpls_truncated";
        case Malformed::pppoe_truncated:
            return "pppoe_truncated";
        case Malformed::ipv4_truncated:
            return "ipv4_truncated";
        case Malformed::ipv4_bad_header:
            return "ipv4_bad_header";
        case Malformed::ipv6_truncated:
            return "ipv6_truncated";
        case Malformed::ipv6_ext_truncated:
            return "ipv6_ext_truncated";
        case Malformed::ipv6_too_many_ext:
            return "ipv6_too_many_ext";
        case Malformed::ip_bad_version:
            return "ip_bad_version";
        case Malformed::tcp_bad_header:
            return "tcp_bad_header";
        case Malformed::udp_bad_header:
            return "udp_bad_header";
        case Malformed::l4_truncated:
            return "l4_truncated";
        case Malformed::tunnel_truncated:
            return "tunnel_truncated";
        case Malformed::tunnel_too_deep:
            return "tunnel_too_deep";
        case Malformed::count_:
            break;
    }
    return "unknown";
}

std::string_view to_string(Tunnel t) {
    switch (t) {
        case Tunnel::none:
            return "none";
        case Tunnel::ip:
            return "ip";
        case Tunnel::gre:
            return "gre";
        case Tunnel::erspan:
            return "erspan";
        case Tunnel::vxlan:
            return "vxlan";
        case Tunnel::geneve:
            return "geneve";
        case Tunnel::gtpu:
            return "gtpu";
        case Tunnel::teredo:
            return "teredo";
        case Tunnel::count_:
            break;
    }
    return "unknown";
}

}  // namespace spate::parse
