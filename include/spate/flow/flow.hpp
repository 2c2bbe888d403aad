#pragma once
/// Per-flow state: what a record carries (FlowData) plus table links (Flow).
#include <array>
#include <cstdint>
#include <string_view>

#include "spate/flow/flow_key.hpp"
#include "spate/parse/decoder.hpp"

namespace spate {

enum class EndReason : uint8_t { idle = 0, active, tcp_end, evicted, end_of_input, count_ };
std::string_view to_string(EndReason r);

/// Counters of one direction. 64-bit: no wrap.
struct FlowDirCounters {
    uint64_t pkts = 0;
    uint64_t bytes = 0;     ///< transport payload bytes (Joy's bytes_out / bytes_in)
    uint64_t ip_bytes = 0;  ///< IP-level octets from the IP header
    uint8_t tcp_flags = 0;  ///< OR of the flag bytes
    uint8_t fin = 0;        ///< saw a FIN in this direction
    uint8_t min_ttl = 0;
    uint8_t pad_ = 0;
};

/// Everything a flow record reports. Direction 0 ("out") is the initiator's.
struct FlowData {
    FlowKey key;  ///< src = initiator
    uint64_t first_ns = 0;
    uint64_t last_ns = 0;
    std::array<FlowDirCounters, 2> dir{};
    uint64_t fragments = 0;     ///< IP fragments among the packets
    uint32_t l4_truncated = 0;  ///< packets whose transport header was cut by the snaplen
    uint16_t vlans[parse::kMaxVlans] = {};  ///< first VLAN stack seen, outermost first
    uint8_t vlan_count = 0;
    uint8_t mpls_count = 0;
    uint32_t mpls_top = 0;
    uint8_t tunnel_count = 0;
    std::array<parse::Tunnel, parse::kMaxTunnels> tunnels{};
    uint8_t outer_ip_version = 0;
    IpAddr outer_src;  ///< outermost IP header of the first tunnelled packet
    IpAddr outer_dst;
    uint8_t icmp_type = 0;  ///< first ICMP type/code seen (ICMP flows)
    uint8_t icmp_code = 0;
    bool initiator_from_synack = false;
    EndReason end_reason = EndReason::idle;
    /// Where the flow's first packet came in (PacketRef::port, ::queue): in
    /// the padding, FlowData stays 192 bytes.
    uint16_t in_port = 0;
    uint16_t in_queue = 0;
};

}  // namespace spate
