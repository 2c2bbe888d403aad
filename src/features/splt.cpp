// splt: the sequence of packet lengths and inter-packet times (Joy "packets").
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct SpltEntry {
    uint32_t b_dir;   ///< payload bytes, direction in the top bit
    uint32_t ipt_ms;  ///< whole milliseconds since the previous packet of the flow
};

struct SpltState {
    uint16_t count;
    uint8_t truncated;
    uint8_t pad[5];
    SpltEntry e[1];  ///< splt_n entries follow
};

constexpr uint32_t kDirBit = 0x80000000u;

}  // namespace

size_t Splt::state_size(const FeatureConfig& c) {
    return offsetof(SpltState, e) + sizeof(SpltEntry) * c.splt_n;
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
    SpltEntry& e = st->e[st->count++];
    e.b_dir = (b & ~kDirBit) | (p.dir ? kDirBit : 0);
    e.ipt_ms = ipt > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(ipt);
}

void Splt::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto* st = reinterpret_cast<const SpltState*>(s);
    w.key("packets");
    w.begin_array();
    for (uint16_t i = 0; i < st->count; ++i) {
        const SpltEntry& e = st->e[i];
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

size_t Splt::used_bytes(const uint8_t* s, const FeatureConfig&) {
    const auto* st = reinterpret_cast<const SpltState*>(s);
    return offsetof(SpltState, e) + sizeof(SpltEntry) * st->count;
}

}  // namespace spate::features
