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
inline uint64_t rotl(uint64_t x, int r) {
    return (x << r) | (x >> (64 - r));
}
/// One endpoint (address and port), mixed under the seed: nothing of the
/// address or the port reaches the result linearly, so without the seed
/// one cannot pick endpoints whose hashes collide.
inline uint64_t endpoint_hash(const IpAddr& a, uint16_t port, uint64_t seed) {
    const uint64_t x = (load64(a.b.data()) ^ seed) * 0x9e3779b97f4a7c15ULL;
    const uint64_t y =
        (load64(a.b.data() + 8) ^ (uint64_t{port} << 48) ^ rotl(seed, 29)) * 0xc2b2ae3d27d4eb4fULL;
    return mix64(x ^ rotl(y, 31));
}
}  // namespace detail

/// Hash of a key that is the same for both directions of a flow: each
/// endpoint is hashed on its own, and the two are combined with + and ^
/// (both commutative), so no canonical ordering is needed. `seed` is the
/// run's flow-hash seed (random unless --hash-seed gives one): with it,
/// which slots and which worker a tuple lands on cannot be predicted from
/// outside, so crafted tuples cannot pile up in one probe chain.
inline uint64_t symmetric_hash(const FlowKey& k, uint64_t seed = 0) {
    const uint64_t a = detail::endpoint_hash(k.src, k.sport, seed);
    const uint64_t b = detail::endpoint_hash(k.dst, k.dport, seed);
    uint64_t h = (a + b) ^ detail::rotl(a ^ b, 17);
    h ^= ((uint64_t{k.proto} << 8 | k.ip_version) | (uint64_t{k.vlan} << 16)) *
         0x165667b19e3779f9ULL;
    return detail::mix64(h ^ detail::rotl(seed, 47));
}

}  // namespace spate
