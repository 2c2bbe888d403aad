#pragma once
/// The hash that spreads frames over workers without decoding them.
///
/// It covers the addresses of the keying IP header (the innermost one with
/// decapsulation) and nothing else, combined symmetrically: both directions
/// of a flow, and every fragment of its datagrams (which carry no ports
/// after the first), reach the same worker, whose decoder then sees the
/// first fragment before the later ones. This is the 2-tuple symmetric
/// balancing that capture clusters use for the same reason.
///
/// Common frames (Ethernet with VLAN tags, Linux SLL/SLL2 or raw IP, then
/// IPv4 or IPv6 with a transport that cannot be a tunnel) are read
/// directly: a few loads, no decoding. Everything else (tunnel protocols
/// and ports, UDP fragments, IPv6 extension headers, MPLS, PPPoE, other
/// link types) goes through a full decoder, whose key is then used the
/// same way, so the fast path is an optimisation and never a second
/// opinion.
#include <cstdint>

#include "spate/core/packet.hpp"
#include "spate/parse/decoder.hpp"

namespace spate::parse {

class DispatchHasher {
public:
    /// `seed`: the run's flow-hash seed (symmetric_hash()).
    explicit DispatchHasher(const DecoderConfig& cfg, uint64_t seed = 0);

    /// Hash of the frame's keying address pair; 0 for frames that are not
    /// IP or that the decoder refuses (a worker decodes and counts them).
    uint64_t hash(const PacketRef& pkt);

    /// Frames hashed without and with the full decoder.
    uint64_t fast() const { return fast_; }
    uint64_t slow() const { return slow_; }

private:
    bool fast_path(const PacketRef& pkt, uint64_t& h) const;
    bool ip(const uint8_t* p, uint32_t len, uint64_t& h) const;

    bool decap_;
    uint64_t seed_;
    Decoder slow_decoder_;
    DecodedPacket scratch_;
    uint64_t fast_ = 0;
    uint64_t slow_ = 0;
};

/// The symmetric hash of an address pair (IpAddr layout, `version` 4 or 6):
/// what DispatchHasher returns for a frame keyed on those addresses.
uint64_t address_pair_hash(const IpAddr& a, const IpAddr& b, uint8_t version, uint64_t seed = 0);

/// The worker (0..workers-1) for a dispatch hash.
inline uint32_t worker_for(uint64_t hash, uint32_t workers) {
    return static_cast<uint32_t>(((hash >> 32) * workers) >> 32);
}

}  // namespace spate::parse
