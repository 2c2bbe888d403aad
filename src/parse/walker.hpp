#pragma once
// The decoder's per-frame state: one Walker lives on the stack for one call
// of Decoder::decode() and walks the headers outermost first, writing into
// the caller's DecodedPacket. Each layer reads through a Cursor and returns
// a Verdict; nothing here allocates, throws or logs.
//
// Split by layer: link.cpp (link types, Ethernet, VLAN, MPLS, PPPoE),
// ip.cpp (IPv4, IPv6 and its extension headers, fragments, transport),
// tunnel.cpp (IP-in-IP, GRE, ERSPAN, PPTP, VXLAN, Geneve, GTP-U, Teredo).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "frag_table.hpp"
#include "spate/parse/cursor.hpp"
#include "spate/parse/decoder.hpp"

namespace spate::parse::detail {

/// Outcome of one layer: ok, not IP (skipped), or malformed with a reason.
struct Verdict {
    DecodeStatus status = DecodeStatus::ok;
    Malformed why = Malformed::none;
};
inline constexpr Verdict kOk{};
inline constexpr Verdict kNonIp{DecodeStatus::non_ip, Malformed::none};
constexpr Verdict bad(Malformed m) {
    return {DecodeStatus::malformed, m};
}

/// Frame offsets are 16 bits in DecodedPacket; an offset that does not fit
/// (a header more than 64 KiB into a jumbo capture) reads as "absent".
constexpr uint16_t off16(size_t off) {
    return off <= 0xFFFF ? static_cast<uint16_t>(off) : 0;
}

// Header constants that more than one layer uses.
inline constexpr uint16_t kEthIpv4 = 0x0800;
inline constexpr uint16_t kEthIpv6 = 0x86DD;
inline constexpr uint16_t kEthTeb = 0x6558;  ///< transparent Ethernet bridging
inline constexpr uint8_t kProtoIpip = 4;
inline constexpr uint8_t kProtoIpv6 = 41;

class Walker {
public:
    Walker(const DecoderConfig& cfg, FragTracker* frags, DecoderCounters& counters,
           DecodedPacket& out, uint64_t now_ns)
        : cfg_(cfg), frags_(frags), counters_(counters), out_(out), now_ns_(now_ns) {}

    /// Decodes a whole frame of the given LINKTYPE.
    Verdict link(uint16_t linktype, Cursor c);

    /// After an ok frame: stores the resolved key of every first fragment
    /// seen on the way in (outer and inner), for the later fragments.
    void remember_first_fragments();

private:
    // link.cpp
    Verdict ethernet(Cursor c);
    Verdict ethertype(uint16_t type, Cursor c);
    Verdict mpls(Cursor c);
    Verdict pppoe(Cursor c);
    Verdict ip_by_version(Cursor c);

    // ip.cpp
    Verdict ipv4(Cursor c);
    Verdict ipv6(Cursor c);
    void begin_ip(size_t l3_off, uint8_t version, const IpAddr& src, const IpAddr& dst,
                  uint8_t proto, uint8_t ttl, uint16_t ip_id, uint32_t ip_len);
    Verdict transport(uint8_t proto, Cursor pl, uint32_t ip_payload, bool first_frag);
    Verdict tcp(Cursor pl, uint32_t ip_payload, bool first_frag);
    Verdict udp(Cursor pl, uint32_t ip_payload, bool first_frag);
    Verdict sctp(Cursor pl, uint32_t ip_payload, bool first_frag);
    Verdict icmp(Cursor pl);
    Verdict ports_missing(uint32_t ip_payload, bool first_frag);
    void first_fragment(const FragId& id);
    Verdict later_fragment(const FragId& id);

    // tunnel.cpp
    Verdict push_tunnel(Tunnel t);
    Verdict ip_in_ip(uint8_t proto, Cursor pl);
    Verdict gre(Cursor c);
    Verdict pptp(uint16_t flags, uint16_t proto, Cursor c);
    /// nullopt: not a tunnel after all, decode as a plain UDP datagram.
    std::optional<Verdict> udp_tunnel(uint16_t sport, uint16_t dport, Cursor pl,
                                      uint32_t udp_payload);
    std::optional<Verdict> udp_tunnel_on(uint16_t port, Cursor pl, uint32_t udp_payload);
    Verdict vxlan(Cursor c);
    std::optional<Verdict> geneve(Cursor c);
    std::optional<Verdict> gtpu(Cursor c);
    std::optional<Verdict> teredo(Cursor c, uint32_t udp_payload);

    const DecoderConfig& cfg_;
    FragTracker* frags_;
    DecoderCounters& counters_;
    DecodedPacket& out_;
    uint64_t now_ns_;
    /// First fragments met at any depth (an outer and an inner datagram
    /// can both be fragmented); bounded by the number of IP headers.
    std::array<FragId, kMaxTunnels + 1> pending_{};
    uint8_t pending_count_ = 0;
    /// False for a first fragment too small to hold the ports: nothing to
    /// teach the later fragments.
    bool rememberable_ = true;
};

}  // namespace spate::parse::detail
