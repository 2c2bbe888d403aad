// hist: per direction, log2 histograms of payload sizes and of the times
// between packets of the direction (ipfixprobe "phists"), and the bursts of
// the flow: runs of consecutive packets in one direction (ipfixprobe
// "bstats", without its minimum burst length).
#include <bit>
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

constexpr int kBins = 8;
constexpr int kMaxBursts = 15;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kBurstGapNs = 1000 * kMs;  ///< a longer gap ends a burst

struct Burst {
    uint32_t pkts;
    uint32_t pad;
    uint64_t bytes;     ///< payload bytes
    uint64_t first_ns;  ///< first packet of the burst
    uint64_t last_ns;   ///< last packet of the burst
};

struct HistDir {
    uint32_t sizes[kBins];
    uint32_t ipt[kBins];
    uint64_t last_ns;  ///< previous packet of the direction
    uint8_t have;
    uint8_t nbursts;
    uint8_t pad[6];
    Burst bursts[kMaxBursts];
};

enum : uint8_t { kNoBurst = 0, kRecording, kDropped };

struct HistState {
    uint64_t first_ns;     ///< the flow's first packet
    uint64_t run_last_ns;  ///< last packet of the open burst
    uint8_t have_first;
    uint8_t run;      ///< kNoBurst, kRecording (last entry of run_dir), kDropped (over the bound)
    uint8_t run_dir;  ///< direction of the open burst
    uint8_t truncated;
    uint8_t pad[4];
    HistDir dir[2];
};

// Bins 0-15, 16-31, 32-63, ..., 512-1023, >= 1024.
int bin_of(uint64_t v) {
    if (v < 16) {
        return 0;
    }
    const int b = std::bit_width(v) - 4;
    return b < kBins - 1 ? b : kBins - 1;
}

void bump(uint32_t& c) {
    if (c != 0xffffffffu) {
        ++c;
    }
}

uint64_t ms_between(uint64_t from, uint64_t to) {
    return to > from ? (to - from) / kMs : 0;
}

void write_hist(const uint32_t (&bins)[kBins], JsonWriter& w) {
    w.begin_array();
    for (uint32_t v : bins) {
        w.value(uint64_t{v});
    }
    w.end_array();
}

}  // namespace

size_t Hist::state_size(const FeatureConfig&) {
    return sizeof(HistState);
}

void Hist::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(HistState));
}

void Hist::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    auto* st = reinterpret_cast<HistState*>(s);
    const uint64_t ts = p.pkt->ts_ns;
    const uint32_t len = p.pkt->payload_len;
    if (p.flow_first || !st->have_first) {
        st->first_ns = ts;
        st->have_first = 1;
    }
    HistDir& d = st->dir[p.dir];
    bump(d.sizes[bin_of(len)]);
    if (d.have) {
        bump(d.ipt[bin_of(ms_between(d.last_ns, ts))]);
    }
    d.have = 1;
    d.last_ns = ts;

    const uint64_t gap = ts > st->run_last_ns ? ts - st->run_last_ns : 0;
    if (st->run != kNoBurst && st->run_dir == p.dir && gap <= kBurstGapNs) {
        if (st->run == kRecording) {
            Burst& b = d.bursts[d.nbursts - 1];
            bump(b.pkts);
            b.bytes += len;
            if (ts > b.last_ns) {
                b.last_ns = ts;
            }
        }
    } else {
        st->run_dir = p.dir;
        if (d.nbursts < kMaxBursts) {
            Burst& b = d.bursts[d.nbursts++];
            b.pkts = 1;
            b.bytes = len;
            b.first_ns = ts;
            b.last_ns = ts;
            st->run = kRecording;
        } else {
            st->run = kDropped;
            st->truncated = 1;
        }
    }
    st->run_last_ns = ts;
}

void Hist::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto* st = reinterpret_cast<const HistState*>(s);
    w.key("phist");
    w.begin_object();
    for (int dir = 0; dir < 2; ++dir) {
        const HistDir& d = st->dir[dir];
        if (!d.have) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.begin_object();
        w.key("sizes");
        write_hist(d.sizes, w);
        w.key("ipt");
        write_hist(d.ipt, w);
        w.end_object();
    }
    w.end_object();
    w.key("bursts");
    w.begin_object();
    for (int dir = 0; dir < 2; ++dir) {
        const HistDir& d = st->dir[dir];
        if (!d.have) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.begin_array();
        for (int i = 0; i < d.nbursts; ++i) {
            const Burst& b = d.bursts[i];
            w.begin_object();
            w.key("pkts");
            w.value(uint64_t{b.pkts});
            w.key("bytes");
            w.value(b.bytes);
            w.key("start_ms");
            w.value(ms_between(st->first_ns, b.first_ns));
            w.key("dur_ms");
            w.value(ms_between(b.first_ns, b.last_ns));
            w.end_object();
        }
        w.end_array();
    }
    w.end_object();
    if (st->truncated) {
        w.key("bursts_truncated");
        w.value(true);
    }
}

}  // namespace spate::features
