#include "frag_table.hpp"

#include <algorithm>
#include <bit>

namespace spate::parse::detail {

FragTracker::FragTracker(uint32_t slots, uint64_t timeout_ns) : timeout_ns_(timeout_ns) {
    uint32_t n = std::bit_ceil(std::clamp<uint32_t>(slots, 1, 1u << 24));
    slots_ = std::make_unique<FragEntry[]>(n);
    mask_ = n - 1;
}

bool FragTracker::live(const FragEntry& e, uint64_t now_ns) const {
    // Timestamps may step backwards when inputs are merged; an entry from
    // the "future" is kept rather than expired.
    return e.used && !(now_ns > e.ts_ns && now_ns - e.ts_ns > timeout_ns_);
}

uint32_t FragTracker::slot(const FragId& id) const {
    uint64_t h = ::spate::detail::load64(id.src.b.data()) * 0x9e3779b97f4a7c15ULL;
    h ^= ::spate::detail::load64(id.src.b.data() + 8) * 0xc2b2ae3d27d4eb4fULL;
    h += ::spate::detail::load64(id.dst.b.data()) * 0x165667b19e3779f9ULL;
    h ^= ::spate::detail::load64(id.dst.b.data() + 8) * 0x27d4eb2f165667c5ULL;
    h ^= uint64_t{id.id} << 16 | uint64_t{id.proto} << 8 | id.ip_version;
    return static_cast<uint32_t>(::spate::detail::mix64(h)) & mask_;
}

const FragEntry* FragTracker::find(const FragId& id, uint64_t now_ns) const {
    const FragEntry& e = slots_[slot(id)];
    if (live(e, now_ns) && e.id == id) {
        return &e;
    }
    return nullptr;
}

bool FragTracker::insert(const FragId& id, uint64_t now_ns, const DecodedPacket& pkt) {
    FragEntry& e = slots_[slot(id)];
    bool evicted = live(e, now_ns) && !(e.id == id);
    e.id = id;
    e.ts_ns = now_ns;
    e.used = true;
    e.key = pkt.key;
    e.tunnel_count = pkt.tunnel_count;
    e.tunnels = pkt.tunnels;
    e.outer_ip_version = pkt.outer_ip_version;
    e.outer_src = pkt.outer_src;
    e.outer_dst = pkt.outer_dst;
    return evicted;
}

}  // namespace spate::parse::detail
