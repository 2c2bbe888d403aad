#pragma once
// Fragment tracker of the decoder: remembers, per fragmented datagram, the
// flow key its first fragment resolved to, so later fragments (which carry
// no transport header) land in the same flow. Fixed size, direct mapped,
// allocated once; nothing is allocated or freed while decoding.
#include <array>
#include <cstdint>
#include <memory>

#include "spate/core/ip_addr.hpp"
#include "spate/flow/flow_key.hpp"
#include "spate/parse/decoder.hpp"

namespace spate::parse::detail {

/// What identifies the fragments of one datagram (RFC 791 / RFC 8200): the
/// addresses, the protocol (for IPv6 the Next Header of the fragment header)
/// and the identification (16 bits in IPv4, 32 bits in IPv6).
struct FragId {
    IpAddr src;
    IpAddr dst;
    uint32_t id = 0;
    uint8_t proto = 0;
    uint8_t ip_version = 0;

    friend bool operator==(const FragId& a, const FragId& b) {
        return a.id == b.id && a.proto == b.proto && a.ip_version == b.ip_version &&
               a.src == b.src && a.dst == b.dst;
    }
};

/// What a later fragment inherits from its first one.
struct FragEntry {
    FragId id;
    uint64_t ts_ns = 0;
    bool used = false;
    uint8_t tunnel_count = 0;
    uint8_t outer_ip_version = 0;
    std::array<Tunnel, kMaxTunnels> tunnels{};
    FlowKey key;
    IpAddr outer_src;
    IpAddr outer_dst;
};

class FragTracker {
public:
    /// `slots` is rounded up to a power of two (at least 1, at most 2^24).
    FragTracker(uint32_t slots, uint64_t timeout_ns);

    /// The live entry for id, or nullptr when none (or it is older than the
    /// timeout at now_ns).
    const FragEntry* find(const FragId& id, uint64_t now_ns) const;

    /// Remembers the resolved key and tunnel path of a first fragment.
    /// Returns true when this evicted a live entry of another datagram.
    bool insert(const FragId& id, uint64_t now_ns, const DecodedPacket& pkt);

    uint32_t capacity() const { return mask_ + 1; }

private:
    bool live(const FragEntry& e, uint64_t now_ns) const;
    uint32_t slot(const FragId& id) const;

    std::unique_ptr<FragEntry[]> slots_;
    uint32_t mask_ = 0;
    uint64_t timeout_ns_ = 0;
};

}  // namespace spate::parse::detail
