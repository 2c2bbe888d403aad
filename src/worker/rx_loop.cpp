#include "spate/worker/rx_loop.hpp"

#include <cstring>
#include <type_traits>

#include "spate/core/backoff.hpp"
#include "spate/core/clock.hpp"
#include "spate/flow/flow_key.hpp"
#include "spate/worker/worker.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace spate {

namespace {

constexpr uint16_t kBurst = 32;
/// Packets between a table-entry prefetch and its use: far enough for the
/// line to arrive, close enough for it to stay.
constexpr uint16_t kEntryAhead = 4;
constexpr uint64_t kPublishNs = 100'000'000;

static_assert(std::is_trivially_copyable_v<parse::DecoderCounters>);
static_assert(sizeof(parse::DecoderCounters) % sizeof(uint64_t) == 0,
              "the decoder's counters are published as 64-bit words");

inline void store(std::atomic<uint64_t>& a, uint64_t v) {
    a.store(v, std::memory_order_relaxed);
}

inline void cpu_pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
}

}  // namespace

RxLoop::RxLoop(Worker& worker, const parse::DecoderConfig& dcfg, std::vector<BurstSource*> sources,
               const RxLoopConfig& cfg)
    : worker_(worker), decoder_(dcfg), sources_(std::move(sources)), cfg_(cfg) {}

void RxLoop::handle_burst(const PacketRef* refs, uint16_t n) {
    // Decode the whole burst first, prefetching each flow's table slot as
    // its key is known; then update the flows with the entries prefetched
    // a few packets ahead. At a million flows every lookup would otherwise
    // miss the cache twice.
    parse::DecodedPacket dp[kBurst];
    uint64_t hashes[kBurst];
    const uint8_t* data[kBurst];
    uint16_t ok = 0;
    for (uint16_t i = 0; i < n; ++i) {
        if (decoder_.decode(refs[i], dp[ok]) == parse::DecodeStatus::ok) {
            hashes[ok] = symmetric_hash(dp[ok].key, cfg_.hash_seed);
            data[ok] = refs[i].data;
            worker_.prefetch_slot(hashes[ok]);
            ++ok;
        }
    }
    for (uint16_t i = 0; i < ok && i < kEntryAhead; ++i) {
        worker_.prefetch_entry(hashes[i]);
    }
    for (uint16_t i = 0; i < ok; ++i) {
        if (i + kEntryAhead < ok) {
            worker_.prefetch_entry(hashes[i + kEntryAhead]);
        }
        worker_.on_packet(dp[i], hashes[i], data[i]);
    }
}

void RxLoop::run() {
    const uint64_t cpu0 = thread_cpu_ns();  // an lcore thread may have run before
    PacketRef refs[kBurst];
    std::vector<BurstSource*> active = sources_;
    Backoff idle;
    uint64_t frames = 0;
    uint64_t wire_bytes = 0;
    uint64_t floor = 0;        // the highest time floor a source gave
    uint64_t anchor_ts = 0;    // live: the latest packet time seen ...
    uint64_t anchor_mono = 0;  // ... and the monotonic time it was seen at
    uint64_t last_live_tick = 0;
    uint64_t next_publish = 0;
    while (!active.empty()) {
        if (cfg_.stop != nullptr && cfg_.stop->load(std::memory_order_relaxed)) {
            break;
        }
        uint32_t round = 0;
        uint64_t round_max_ts = 0;
        bool moved = false;  // a source moved time on (a dispatcher's tick)
        for (size_t s = 0; s < active.size();) {
            RxStatus st = RxStatus::ok;
            const uint16_t n = active[s]->rx_burst(refs, kBurst, st);
            if (n > 0) {
                for (uint16_t i = 0; i < n; ++i) {
                    wire_bytes += refs[i].wirelen;
                    round_max_ts = refs[i].ts_ns > round_max_ts ? refs[i].ts_ns : round_max_ts;
                }
                handle_burst(refs, n);
                round += n;
            }
            const uint64_t f = active[s]->time_floor();
            if (f > floor) {
                floor = f;
                worker_.advance(f);
                moved = true;
            }
            if (st != RxStatus::ok) {
                if (st == RxStatus::error) {
                    source_failed_.store(true, std::memory_order_relaxed);
                }
                active.erase(active.begin() + static_cast<std::ptrdiff_t>(s));
                continue;
            }
            ++s;
        }
        const uint64_t now = mono_ns();  // once per round of polls
        if (round > 0 || moved) {
            worker_.publish();
        }
        if (round > 0) {
            frames += round;
            store(stats_.frames, frames);
            store(stats_.wire_bytes, wire_bytes);
            if (stats_.first_rx_ns.load(std::memory_order_relaxed) == 0) {
                store(stats_.first_rx_ns, now);
            }
            store(stats_.last_rx_ns, now);
            if (round_max_ts >= anchor_ts) {
                anchor_ts = round_max_ts;
                anchor_mono = now;
            }
            idle.reset();
        } else if (moved) {
            idle.reset();  // not idle: time moved on, frames may follow at once
        } else {
            if (cfg_.live && anchor_ts != 0 && now - last_live_tick >= cfg_.live_tick_ns) {
                // Nothing arrived: time goes on as the monotonic clock says
                // since the latest packet, so idle flows leave on time.
                last_live_tick = now;
                worker_.advance(anchor_ts + (now - anchor_mono));
                worker_.publish();
                store(stats_.live_ticks, stats_.live_ticks.load(std::memory_order_relaxed) + 1);
            }
            if (cfg_.busy_poll) {
                cpu_pause();
            } else {
                idle.wait();
            }
        }
        if (now >= next_publish) {
            next_publish = now + kPublishNs;
            publish_counters();
            worker_.sync_stats();
            worker_.sync_rule_hits();
        }
    }
    worker_.finish();
    publish_counters();
    store(stats_.cpu_ns, thread_cpu_ns() - cpu0);
    stats_.done_ns.store(mono_ns(), std::memory_order_release);
}

void RxLoop::publish_counters() {
    uint64_t words[kCounterWords];
    std::memcpy(words, &decoder_.counters(), sizeof(words));
    for (size_t i = 0; i < kCounterWords; ++i) {
        store(published_[i], words[i]);
    }
}

parse::DecoderCounters RxLoop::decoder_counters() const {
    uint64_t words[kCounterWords];
    for (size_t i = 0; i < kCounterWords; ++i) {
        words[i] = published_[i].load(std::memory_order_relaxed);
    }
    parse::DecoderCounters c;
    std::memcpy(&c, words, sizeof(words));
    return c;
}

}  // namespace spate
