#pragma once
/// Link, network and transport decoding of one frame into a DecodedPacket.
/// The decoder keeps one piece of state, the fragment tracker, so one
/// Decoder instance belongs to one thread.
#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "spate/core/packet.hpp"
#include "spate/flow/flow_key.hpp"

namespace spate::parse {

/// Why a frame was skipped. Every value has a counter and a name.
enum class Malformed : uint8_t {
    none = 0,
    unknown_linktype,
    l2_truncated,  ///< Ethernet / SLL / SLL2 / NULL header cut short
    vlan_truncated,
    mpls_truncated,
    pppoe_truncated,
    ipv4_truncated,   ///< fewer than 20 bytes, or fewer than IHL*4
    ipv4_bad_header,  ///< version != 4, IHL < 5, total length < IHL*4
    ipv6_truncated,
    ipv6_ext_truncated,  ///< an extension header runs past the capture
    ipv6_too_many_ext,   ///< more extension headers than the decoder follows
    ip_bad_version,      ///< raw / tunnel payload that is neither 4 nor 6
    tcp_bad_header,      ///< data offset < 5, or past the IP payload
    udp_bad_header,      ///< UDP length < 8
    l4_truncated,        ///< not even the ports are in the capture
    tunnel_truncated,    ///< a tunnel header cut short
    tunnel_too_deep,     ///< more nested encapsulations than kMaxTunnels
    count_
};
std::string_view to_string(Malformed m);

/// Encapsulations, outermost first in DecodedPacket::tunnels.
enum class Tunnel : uint8_t { none = 0, ip, gre, erspan, vxlan, geneve, gtpu, teredo, count_ };
std::string_view to_string(Tunnel t);

enum class FragKind : uint8_t {
    none = 0,   ///< not a fragment
    first,      ///< offset 0, more fragments follow: ports read, remembered
    later,      ///< a later fragment matched to its first by fragment id
    unmatched,  ///< a later fragment whose first was not seen (ports 0)
};

constexpr int kMaxTunnels = 4;
constexpr int kMaxVlans = 2;

/// Everything the flow stage needs from one frame. Offsets index the frame
/// as captured; lengths that come from headers may exceed what was captured.
struct DecodedPacket {
    FlowKey key;  ///< innermost IP header (outer with decap off)
    uint64_t ts_ns = 0;
    uint32_t wire_len = 0;  ///< frame length on the wire
    uint32_t cap_len = 0;   ///< frame length captured
    uint32_t ip_len = 0;    ///< IPv4 total length or IPv6 payload length + 40 of the keying header
    uint32_t payload_len = 0;  ///< transport payload per the headers (TCP: ip payload - header;
                               ///< UDP: length - 8); 0 otherwise
    uint16_t l3_off = 0;       ///< keying IP header
    uint16_t l4_off = 0;       ///< transport header (== l3 end); 0 when absent
    uint16_t payload_off =
        0;            ///< first payload byte; captured payload = cap_len - payload_off (when > 0)
    uint8_t ttl = 0;  ///< IPv4 TTL / IPv6 hop limit of the keying header
    uint8_t tcp_flags = 0;
    uint16_t ip_id = 0;  ///< IPv4 identification (0 for IPv6)
    uint16_t tcp_window = 0;
    uint32_t tcp_seq = 0;
    uint32_t tcp_ack = 0;
    uint8_t tcp_hdr_len = 0;  ///< bytes, options included
    uint8_t icmp_type = 0;    ///< ICMP / ICMPv6 type and code
    uint8_t icmp_code = 0;
    bool l4_truncated = false;  ///< transport header partly captured: ports read, the rest zero
    FragKind frag = FragKind::none;
    uint8_t vlan_count = 0;  ///< tags seen (all of them, even beyond kMaxVlans)
    uint8_t mpls_count = 0;  ///< labels seen
    uint8_t tunnel_count = 0;
    std::array<uint16_t, kMaxVlans> vlans{};  ///< outermost first
    uint32_t mpls_top = 0;                    ///< outermost label value (20 bits)
    std::array<Tunnel, kMaxTunnels> tunnels{};
    uint8_t outer_ip_version = 0;  ///< outermost IP header when tunnel_count > 0
    IpAddr outer_src;
    IpAddr outer_dst;
    uint16_t in_port = 0;  ///< PacketRef::port and ::queue (in the padding)
    uint16_t in_queue = 0;
};

struct DecoderConfig {
    bool decap = true;           ///< follow tunnels and key on the innermost IP header
    bool vlan_in_key = false;    ///< put the outer VLAN id in FlowKey::vlan
    uint32_t frag_slots = 4096;  ///< fragment tracker capacity (rounded up to a power of 2)
    uint64_t frag_timeout_ns = 30'000'000'000ULL;  ///< forget a first fragment after this
    /// Read the common frame shapes (Ethernet, IPv4 without options or
    /// IPv6 without extension headers, whole TCP header, not a fragment)
    /// directly instead of walking the layers. Same result either way; off
    /// only in the tests that check exactly that.
    bool fast_path = true;
};

struct DecoderCounters {
    uint64_t frames = 0;
    uint64_t decoded = 0;  ///< frames that produced a DecodedPacket
    uint64_t fast_path = 0;  ///< of those, read by the fast path (DecoderConfig::fast_path)
    uint64_t non_ip = 0;   ///< ARP, LLDP, STP, ...: skipped, not an error
    uint64_t l4_truncated = 0;
    uint64_t fragments = 0;              ///< every IP fragment
    uint64_t fragments_matched = 0;      ///< later fragments attributed by id
    uint64_t fragments_unmatched = 0;    ///< later fragments without a first (flow with ports 0)
    uint64_t frag_table_overwrites = 0;  ///< a live tracker slot reused (bound hit)
    std::array<uint64_t, static_cast<size_t>(Malformed::count_)> malformed{};
    std::array<uint64_t, static_cast<size_t>(Tunnel::count_)> tunnels{};
    uint64_t malformed_total() const {
        uint64_t s = 0;
        for (size_t i = 1; i < malformed.size(); ++i)
            s += malformed[i];
        return s;
    }
    DecoderCounters& operator+=(const DecoderCounters& o);
};

enum class DecodeStatus : uint8_t { ok, non_ip, malformed };

class Decoder {
public:
    explicit Decoder(const DecoderConfig& cfg = {});
    ~Decoder();
    Decoder(Decoder&&) noexcept;
    Decoder& operator=(Decoder&&) noexcept;

    /// Decodes one frame. On ok, out is filled; otherwise the reason is
    /// counted (and returned through last_malformed()). Never allocates.
    DecodeStatus decode(const PacketRef& pkt, DecodedPacket& out);

    Malformed last_malformed() const { return last_malformed_; }
    const DecoderCounters& counters() const { return counters_; }

private:
    struct FragTable;
    DecoderConfig cfg_;
    DecoderCounters counters_;
    Malformed last_malformed_ = Malformed::none;
    std::unique_ptr<FragTable> frags_;
};

}  // namespace spate::parse
