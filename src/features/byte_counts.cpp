// bd and entropy: counts of byte values over the payload, the distribution's
// mean and standard deviation, and the Shannon entropy of the same bytes.
//
// The 256 counts (32-bit, as Joy's) live in an arena leased at the flow's
// first payload byte; the entry keeps the total. Counting stops at 2^32 - 1
// bytes (no count can wrap), flagged like --bd-bytes as byte_dist_truncated.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"

namespace spate::features {

namespace {
constexpr uint32_t kLog2Table = 1u << 16;
}  // namespace

namespace {

/// The control part, in the flow entry.
struct ByteState {
    ArenaRef ref;
    uint64_t total;  ///< bytes counted (the arena exists when this is not 0)
    uint8_t truncated;
    uint8_t pad[7];
};

constexpr uint32_t kCountBytes = 256 * sizeof(uint32_t);  ///< the arena

}  // namespace

size_t ByteCounts::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

size_t ByteCounts::control_size(const FeatureConfig&) {
    return sizeof(ByteState);
}

uint32_t ByteCounts::arena_max(const FeatureConfig&) {
    return kCountBytes;
}

size_t ByteCounts::arena_used(const uint8_t* s, const FeatureConfig&) {
    return reinterpret_cast<const ByteState*>(s)->total != 0 ? kCountBytes : 0;
}

const ArenaRef* ByteCounts::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const ByteState*>(s)->ref;
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
    uint64_t limit = std::numeric_limits<uint32_t>::max();
    if (c.bd_bytes != 0 && c.bd_bytes < limit) {
        limit = c.bd_bytes;
    }
    const uint64_t room = limit > st->total ? limit - st->total : 0;
    if (n > room) {
        n = room;
        st->truncated = 1;
    }
    if (n == 0) {
        return;
    }
    uint8_t* a = nullptr;
    if (p.scratch != nullptr) {
        ArenaPool& pool = p.scratch->arena[kArenaBd];
        const bool fresh = st->ref.cls == 0;
        a = pool.reserve(st->ref, kCountBytes, 0);
        if (a != nullptr && fresh) {
            std::memset(a, 0, kCountBytes);
        }
    } else {
        st->ref.lost = 1;
    }
    if (a == nullptr) {
        return;  // the pool is dry: flagged (bd_no_state), nothing counted
    }
    auto* counts = reinterpret_cast<uint32_t*>(a);
    const uint8_t* d = p.payload;
    for (uint64_t i = 0; i < n; ++i) {
        ++counts[d[i]];
    }
    st->total += n;
}

void ByteCounts::write_json(const uint8_t* s, const FlowData&, JsonWriter& w,
                            const FeatureConfig& c) {
    const auto* st = reinterpret_cast<const ByteState*>(s);
    // The arena follows the control part in the record (when total != 0).
    alignas(64) uint32_t counts_buf[256] = {};
    if (st->total != 0) {
        std::memcpy(counts_buf, s + sizeof(ByteState), sizeof(counts_buf));
    }
    if (c.bd_fields) {
        w.key("byte_dist");
        w.uint_array(counts_buf, 256);
        // Integer sums (exact, and free of a floating-point dependency
        // chain): S1 = sum i*c_i < 2^48, S2 = sum i^2*c_i < 2^56; the
        // variance is (S2*T - S1^2) / T^2, its numerator exact in 128 bits.
        uint64_t s1 = 0;
        uint64_t s2 = 0;
        for (uint32_t i = 0; i < 256; ++i) {
            s1 += uint64_t{counts_buf[i]} * i;
            s2 += uint64_t{counts_buf[i]} * (i * i);
        }
        double mean = 0;
        double sd = 0;
        if (st->total > 0) {
            const double t = static_cast<double>(st->total);
            mean = static_cast<double>(s1) / t;
            const unsigned __int128 num = static_cast<unsigned __int128>(s2) * st->total -
                                          static_cast<unsigned __int128>(s1) * s1;
            sd = std::sqrt(static_cast<double>(num)) / t;
        }
        w.key("byte_dist_mean");
        w.value_double(mean, 6);
        w.key("byte_dist_std");
        w.value_double(sd, 6);
        w.key("compact_byte_dist");
        // Sums of runs of byte values that share a bucket, kept in a
        // register (the default map has 16 runs of 16): adding each count
        // into the array would chain every iteration on the last store.
        uint64_t compact[16] = {};
        uint64_t run = 0;
        unsigned bucket = c.compact_map[0] & 15;
        for (int i = 0; i < 256; ++i) {
            const unsigned b = c.compact_map[i] & 15;
            if (b != bucket) {
                compact[bucket] += run;
                run = 0;
                bucket = b;
            }
            run += counts_buf[i];
        }
        compact[bucket] += run;
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
        // H = -sum (v/T) log2(v/T) = log2(T) - (sum v log2 v) / T: one
        // division per record instead of one per byte value; clamped at 0
        // (all bytes alike gives exactly 0 only up to rounding).
        const double total = static_cast<double>(st->total);
        double sum_vlv = 0;
        for (const uint32_t v : counts_buf) {
            if (v > 1) {  // v = 0 and v = 1 add nothing (log2 1 = 0)
                const double lv = v < kLog2Table ? kLog2[v] : std::log2(static_cast<double>(v));
                sum_vlv += static_cast<double>(v) * lv;
            }
        }
        const double h = std::max(0.0, std::log2(total) - sum_vlv / total);
        w.key("entropy");
        w.value_double(h, 6);
        w.key("total_entropy");
        w.value_double(h * total, 6);
    }
}

}  // namespace spate::features
