// splt: the sequence of packet lengths and inter-packet times (Joy "packets").
//
// The first kInline entries live in the flow entry; a flow with more leases
// an arena for the rest from the worker's splt pool (most flows are short).
// In the record the arena follows the inline entries: one array.
#include <algorithm>
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct SpltEntry {
    uint32_t b_dir;   ///< payload bytes, direction in the top bit
    uint32_t ipt_ms;  ///< whole milliseconds since the previous packet of the flow
};

constexpr uint32_t kInline = 8;  ///< entries kept in the flow entry

struct SpltState {
    ArenaRef ref;  ///< entries from kInline on
    uint16_t count;
    uint8_t truncated;
    uint8_t pad[5];
    SpltEntry e[kInline];  ///< in the record: all count entries (the arena follows)
};

constexpr uint32_t kDirBit = 0x80000000u;

}  // namespace

size_t Splt::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

size_t Splt::control_size(const FeatureConfig& c) {
    return offsetof(SpltState, e) + sizeof(SpltEntry) * std::min(c.splt_n, kInline);
}

uint32_t Splt::arena_max(const FeatureConfig& c) {
    return c.splt_n > kInline ? (c.splt_n - kInline) * uint32_t{sizeof(SpltEntry)} : 0;
}

size_t Splt::arena_used(const uint8_t* s, const FeatureConfig&) {
    const auto* st = reinterpret_cast<const SpltState*>(s);
    return st->count > kInline ? (st->count - kInline) * sizeof(SpltEntry) : 0;
}

const ArenaRef* Splt::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const SpltState*>(s)->ref;
}

void Splt::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, offsetof(SpltState, e));
}

void Splt::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    auto* st = reinterpret_cast<SpltState*>(s);
    const uint32_t b = p.pkt->payload_len;
    if ((b == 0 && !c.splt_zero) || (p.seg == SegClass::retrans && !c.splt_retrans)) {
        return;
    }
    if (st->count >= c.splt_n) {
        st->truncated = 1;
        return;
    }
    uint64_t ts = p.pkt->ts_ns;
    uint64_t ipt = p.flow_first || ts < p.prev_ts_ns ? 0 : (ts - p.prev_ts_ns) / 1'000'000;
    SpltEntry* slot = nullptr;
    if (st->count < kInline) {
        slot = &st->e[st->count];
    } else {
        const uint32_t at = (st->count - kInline) * uint32_t{sizeof(SpltEntry)};
        uint8_t* a = nullptr;
        if (p.scratch != nullptr) {
            a = p.scratch->arena[kArenaSplt].reserve(st->ref, at + sizeof(SpltEntry), at);
        } else {
            st->ref.lost = 1;
        }
        if (a == nullptr) {
            st->truncated = 1;  // the pool is dry: the list stops here (splt_no_state)
            return;
        }
        slot = reinterpret_cast<SpltEntry*>(a + at);
    }
    ++st->count;
    SpltEntry& e = *slot;
    e.b_dir = (b & ~kDirBit) | (p.dir ? kDirBit : 0);
    e.ipt_ms = ipt > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(ipt);
}

void Splt::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto* st = reinterpret_cast<const SpltState*>(s);
    // In the record the arena's entries follow the inline ones.
    const auto* entries = reinterpret_cast<const SpltEntry*>(s + offsetof(SpltState, e));
    w.key("packets");
    w.begin_array();
    for (uint16_t i = 0; i < st->count; ++i) {
        const SpltEntry& e = entries[i];
        w.begin_object();
        w.key("b");
        w.value(uint64_t{e.b_dir & ~kDirBit});
        w.key("dir");
        w.value((e.b_dir & kDirBit) ? "<" : ">");
        w.key("ipt");
        w.value(uint64_t{e.ipt_ms});
        w.end_object();
    }
    w.end_array();
    if (st->truncated) {
        w.key("packets_truncated");
        w.value(true);
    }
}


}  // namespace spate::features
