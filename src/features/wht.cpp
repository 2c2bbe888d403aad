// wht: the Walsh-Hadamard transform of the payload's 4-byte blocks, summed
// per direction and divided by the number of blocks at export.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct WhtDir {
    int64_t w[4];
    uint64_t blocks;
};

}  // namespace

size_t Wht::state_size(const FeatureConfig&) {
    return 2 * sizeof(WhtDir);
}

void Wht::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 2 * sizeof(WhtDir));
}

void Wht::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    if (p.payload == nullptr || p.payload_cap < 4) {
        return;
    }
    WhtDir& d = reinterpret_cast<WhtDir*>(s)[p.dir];
    // Blocks do not span packets; a trailing partial block is left out.
    const uint32_t n = p.payload_cap / 4;
    int64_t w0 = 0, w1 = 0, w2 = 0, w3 = 0;
    const uint8_t* b = p.payload;
    for (uint32_t i = 0; i < n; ++i, b += 4) {
        const int64_t a = b[0], bb = b[1], c = b[2], dd = b[3];
        w0 += a + bb + c + dd;
        w1 += a - bb + c - dd;
        w2 += a + bb - c - dd;
        w3 += a - bb - c + dd;
    }
    d.w[0] += w0;
    d.w[1] += w1;
    d.w[2] += w2;
    d.w[3] += w3;
    d.blocks += n;
}

void Wht::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto* dirs = reinterpret_cast<const WhtDir*>(s);
    if (dirs[0].blocks == 0 && dirs[1].blocks == 0) {
        return;
    }
    w.key("wht");
    w.begin_object();
    for (int dir = 0; dir < 2; ++dir) {
        const WhtDir& d = dirs[dir];
        if (d.blocks == 0) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.begin_array();
        for (int i = 0; i < 4; ++i) {
            w.value_double(static_cast<double>(d.w[i]) / static_cast<double>(d.blocks), 6);
        }
        w.end_array();
    }
    w.end_object();
}

}  // namespace spate::features
