// bd and entropy: counts of byte values over the payload, the distribution's
// mean and standard deviation, and the Shannon entropy of the same bytes.
#include <cmath>
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {
constexpr uint32_t kLog2Table = 1u << 16;
}  // namespace

namespace {

struct ByteState {
    uint64_t counts[256];
    uint64_t total;
    uint8_t truncated;
};

}  // namespace

size_t ByteCounts::state_size(const FeatureConfig&) {
    return sizeof(ByteState);
}

void ByteCounts::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(ByteState));
}

void ByteCounts::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    if (p.payload_cap == 0) {
        return;
    }
    auto* st = reinterpret_cast<ByteState*>(s);
    uint64_t n = p.payload_cap;
    if (c.bd_bytes != 0) {
        uint64_t room = c.bd_bytes > st->total ? c.bd_bytes - st->total : 0;
        if (n > room) {
            n = room;
            st->truncated = 1;
        }
    }
    const uint8_t* d = p.payload;
    for (uint64_t i = 0; i < n; ++i) {
        ++st->counts[d[i]];
    }
    st->total += n;
}

void ByteCounts::write_json(const uint8_t* s, const FlowData&, JsonWriter& w,
                            const FeatureConfig& c) {
    const auto* st = reinterpret_cast<const ByteState*>(s);
    if (c.bd_fields) {
        w.key("byte_dist");
        w.uint_array(st->counts, 256);
        double mean = 0, var = 0;
        if (st->total > 0) {
            double sum = 0;
            for (int i = 0; i < 256; ++i) {
                sum += static_cast<double>(st->counts[i]) * i;
            }
            mean = sum / static_cast<double>(st->total);
            double sq = 0;
            for (int i = 0; i < 256; ++i) {
                double d = i - mean;
                sq += static_cast<double>(st->counts[i]) * d * d;
            }
            var = sq / static_cast<double>(st->total);
        }
        w.key("byte_dist_mean");
        w.value_double(mean, 6);
        w.key("byte_dist_std");
        w.value_double(std::sqrt(var), 6);
        w.key("compact_byte_dist");
        uint64_t compact[16] = {};
        for (int i = 0; i < 256; ++i) {
            compact[c.compact_map[i] & 15] += st->counts[i];
        }
        w.uint_array(compact, 16);
        if (st->truncated) {
            w.key("byte_dist_truncated");
            w.value(true);
        }
    }
    if (c.entropy_fields && st->total > 0) {
        // -sum p log2 p with p = v / total, as log2(p) = log2(v) - log2(total):
        // log2 of small counts comes from a table (one log2 call per record
        // instead of one per byte value seen).
        static const auto* const kLog2 = [] {
            auto* t = new double[kLog2Table];
            t[0] = 0;
            for (uint32_t i = 1; i < kLog2Table; ++i) {
                t[i] = std::log2(static_cast<double>(i));
            }
            return t;
        }();
        double h = 0;
        const double total = static_cast<double>(st->total);
        const double log_total = std::log2(total);
        for (uint64_t v : st->counts) {
            if (v != 0) {
                const double lv = v < kLog2Table ? kLog2[v] : std::log2(static_cast<double>(v));
                h -= static_cast<double>(v) / total * (lv - log_total);
            }
        }
        w.key("entropy");
        w.value_double(h, 6);
        w.key("total_entropy");
        w.value_double(h * total, 6);
    }
}

}  // namespace spate::features
