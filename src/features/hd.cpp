// hd: header description: the first bytes of the first payload of each
// direction, as hex.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct HdDir {
    uint8_t len;  ///< bytes kept (<= hd_n <= 64)
    uint8_t have;
};

// Layout: HdDir out, HdDir in, then hd_n bytes for out and hd_n for in.
size_t bytes_at(const FeatureConfig& c, int dir) {
    return 2 * sizeof(HdDir) + size_t(dir) * c.hd_n;
}

constexpr uint32_t kMaxHd = 64;

}  // namespace

size_t Hd::state_size(const FeatureConfig& c) {
    return 2 * sizeof(HdDir) + 2 * size_t{c.hd_n};
}

void Hd::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 2 * sizeof(HdDir));
}

void Hd::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    HdDir& d = reinterpret_cast<HdDir*>(s)[p.dir];
    if (d.have || p.pkt->payload_len == 0) {
        return;
    }
    // The first packet with payload, whatever of it was captured.
    d.have = 1;
    uint32_t n = p.payload != nullptr ? p.payload_cap : 0;
    const uint32_t lim = c.hd_n < kMaxHd ? c.hd_n : kMaxHd;
    n = n < lim ? n : lim;
    d.len = static_cast<uint8_t>(n);
    if (n > 0) {
        std::memcpy(s + bytes_at(c, p.dir), p.payload, n);
    }
}

void Hd::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig& c) {
    const auto* dirs = reinterpret_cast<const HdDir*>(s);
    if (!dirs[0].have && !dirs[1].have) {
        return;
    }
    w.key("hd");
    w.begin_object();
    for (int dir = 0; dir < 2; ++dir) {
        if (!dirs[dir].have) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.hex(s + bytes_at(c, dir), dirs[dir].len);
    }
    w.end_object();
}

}  // namespace spate::features
