// salt: the sequence and acknowledgement numbers of the first TCP packets
// of the flow, with their direction.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct SaltEntry {
    uint32_t seq;
    uint32_t ack;
    uint8_t dir;
    uint8_t pad[3];
};

struct SaltState {
    uint16_t count;
    uint8_t truncated;
    uint8_t pad[5];
    SaltEntry e[1];  ///< salt_n entries follow
};

}  // namespace

size_t Salt::state_size(const FeatureConfig& c) {
    return offsetof(SaltState, e) + sizeof(SaltEntry) * c.salt_n;
}

void Salt::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, offsetof(SaltState, e));
}

void Salt::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    const parse::DecodedPacket& k = *p.pkt;
    // A header cut by the snaplen has no sequence numbers to report.
    if (k.key.proto != 6 || k.l4_truncated) {
        return;
    }
    auto* st = reinterpret_cast<SaltState*>(s);
    if (st->count >= c.salt_n) {
        st->truncated = 1;
        return;
    }
    SaltEntry& e = st->e[st->count++];
    e.seq = k.tcp_seq;
    e.ack = k.tcp_ack;
    e.dir = p.dir;
}

void Salt::write_json(const uint8_t* s, const FlowData& f, JsonWriter& w, const FeatureConfig&) {
    if (f.key.proto != 6) {
        return;
    }
    const auto* st = reinterpret_cast<const SaltState*>(s);
    w.key("salt");
    w.begin_array();
    for (uint16_t i = 0; i < st->count; ++i) {
        const SaltEntry& e = st->e[i];
        w.begin_object();
        w.key("dir");
        w.value(e.dir ? "<" : ">");
        w.key("seq");
        w.value(uint64_t{e.seq});
        w.key("ack");
        w.value(uint64_t{e.ack});
        w.end_object();
    }
    w.end_array();
    if (st->truncated) {
        w.key("salt_truncated");
        w.value(true);
    }
}

}  // namespace spate::features
