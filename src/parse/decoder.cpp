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

DecodeStatus Decoder::decode(const PacketRef& pkt, DecodedPacket& out) {
    ++counters_.frames;
    out = DecodedPacket{};
    out.ts_ns = pkt.ts_ns;
    out.wire_len = pkt.wirelen;
    out.cap_len = pkt.caplen;

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
