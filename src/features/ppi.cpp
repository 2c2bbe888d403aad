// ppi: per-packet information (TCP seq / ack / flags, payload length,
// direction, time since the flow's first packet) of the first packets of the
// flow, zero-payload packets included.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct PpiEntry {
    uint32_t seq;
    uint32_t ack;
    uint32_t b;     ///< payload bytes
    uint32_t t_ms;  ///< whole milliseconds since the flow's first packet (saturating)
    uint8_t flags;
    uint8_t dir;
    uint8_t pad[2];
};

struct PpiState {
    uint64_t first_ns;  ///< time of the flow's first packet
    uint16_t count;
    uint8_t truncated;
    uint8_t have_first;
    uint8_t pad[4];
    PpiEntry e[1];  ///< ppi_n entries follow
};

constexpr uint64_t kMs = 1'000'000;

}  // namespace

size_t Ppi::state_size(const FeatureConfig& c) {
    return offsetof(PpiState, e) + sizeof(PpiEntry) * c.ppi_n;
}

void Ppi::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, offsetof(PpiState, e));
}

void Ppi::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    auto* st = reinterpret_cast<PpiState*>(s);
    const parse::DecodedPacket& k = *p.pkt;
    if (p.flow_first || !st->have_first) {
        st->first_ns = k.ts_ns;
        st->have_first = 1;
    }
    if (st->count >= c.ppi_n) {
        st->truncated = 1;
        return;
    }
    PpiEntry& e = st->e[st->count++];
    // A TCP header cut by the snaplen was zeroed by the decoder past the ports.
    const bool tcp = k.key.proto == 6;
    e.seq = tcp ? k.tcp_seq : 0;
    e.ack = tcp ? k.tcp_ack : 0;
    e.flags = tcp ? k.tcp_flags : 0;
    e.b = k.payload_len;
    e.dir = p.dir;
    const uint64_t t = k.ts_ns > st->first_ns ? (k.ts_ns - st->first_ns) / kMs : 0;
    e.t_ms = t > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(t);
}

void Ppi::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto* st = reinterpret_cast<const PpiState*>(s);
    w.key("ppi");
    w.begin_array();
    for (uint16_t i = 0; i < st->count; ++i) {
        const PpiEntry& e = st->e[i];
        w.begin_object();
        w.key("seq");
        w.value(uint64_t{e.seq});
        w.key("ack");
        w.value(uint64_t{e.ack});
        w.key("flags");
        w.value(uint64_t{e.flags});
        w.key("b");
        w.value(uint64_t{e.b});
        w.key("dir");
        w.value(e.dir ? "<" : ">");
        w.key("t");
        w.value(uint64_t{e.t_ms});
        w.end_object();
    }
    w.end_array();
    if (st->truncated) {
        w.key("ppi_truncated");
        w.value(true);
    }
}

}  // namespace spate::features
