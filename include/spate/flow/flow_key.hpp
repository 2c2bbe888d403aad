#pragma once
/// The bidirectional flow key and its symmetric hash.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "spate/core/ip_addr.hpp"

namespace spate {

/// Addresses and ports as they appear in one packet (src = its sender).
/// No padding: keys are compared and hashed as raw bytes.
struct FlowKey {
    IpAddr src;
    IpAddr dst;
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint16_t vlan = 0;  ///< outer VLAN id when --vlan-in-key, else 0
    uint8_t proto = 0;
    uint8_t ip_version = 0;

    friend bool operator==(const FlowKey& a, const FlowKey& b) {
        return std::memcmp(&a, &b, sizeof(FlowKey)) == 0;
    }

    /// The same key seen from the other endpoint.
    FlowKey reversed() const {
        FlowKey r = *this;
        r.src = dst;
        r.dst = src;
        r.sport = dport;
        r.dport = sport;
        return r;
    }

    /// True when (src, sport) orders after (dst, dport): the canonical form
    /// of a key puts the smaller endpoint first.
    bool needs_swap() const {
        int c = std::memcmp(src.b.data(), dst.b.data(), 16);
        return c > 0 || (c == 0 && sport > dport);
    }

    FlowKey canonical() const { return needs_swap() ? reversed() : *this; }
};
static_assert(sizeof(FlowKey) == 40, "FlowKey must have no padding");
static_assert(std::has_unique_object_representations_v<FlowKey>);

namespace detail {
inline uint64_t load64(const void* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}
inline uint64_t mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}
}  // namespace detail

/// Hash of a key that is the same for both directions of a flow. Endpoints
/// are combined with + and ^ (both commutative), so no canonical ordering is
/// needed on the dispatch path.
inline uint64_t symmetric_hash(const FlowKey& k) {
    using detail::load64;
    uint64_t a0 = load64(k.src.b.data()) * 0x9e3779b97f4a7c15ULL;
    uint64_t a1 = load64(k.src.b.data() + 8) * 0xc2b2ae3d27d4eb4fULL;
    uint64_t b0 = load64(k.dst.b.data()) * 0x9e3779b97f4a7c15ULL;
    uint64_t b1 = load64(k.dst.b.data() + 8) * 0xc2b2ae3d27d4eb4fULL;
    uint64_t pa = (uint64_t{k.sport} * 0x165667b19e3779f9ULL);
    uint64_t pb = (uint64_t{k.dport} * 0x165667b19e3779f9ULL);
    uint64_t h = ((a0 ^ a1 ^ pa) + (b0 ^ b1 ^ pb)) ^ ((a0 ^ a1 ^ pa) ^ (b0 ^ b1 ^ pb)) * 31;
    h ^= (uint64_t{k.proto} << 8 | k.ip_version) | (uint64_t{k.vlan} << 16);
    return detail::mix64(h);
}

}  // namespace spate
