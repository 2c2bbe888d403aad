#pragma once
/// The receive loop: the one per-packet loop of spate. Every source goes
/// through it — a worker lcore's own NIC queues (DPDK rx-map), the ring a
/// dispatcher fills from files, live libpcap or a device without RSS, and
/// the bench harness's per-worker replays.
///
/// Per burst: decode every frame, hash the flow keys and prefetch their
/// table slots, then update the flows (and the feature units) with the
/// entries prefetched a few packets ahead; read the monotonic clock once per
/// round of polls; publish records once. On live sources an empty poll also
/// moves the worker's time on from CLOCK_MONOTONIC (at most every few ms),
/// so a silent link still expires its flows.
#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "spate/core/spsc_ring.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/port/port_driver.hpp"

namespace spate {

class Worker;

struct RxLoopConfig {
    /// Sources deliver live traffic: packet times follow the clock, and
    /// while every source is idle time moves on from CLOCK_MONOTONIC.
    bool live = false;
    /// How often (at most) an idle live loop moves time on.
    uint64_t live_tick_ns = 5'000'000;
    /// Never sleep when idle, only pause (a DPDK lcore that owns its core).
    bool busy_poll = false;
    /// When set (relaxed), the loop stops polling and finishes: for sources
    /// that do not end by themselves (NIC queues). Sources fed by a
    /// dispatcher end with its `end` message instead.
    const std::atomic<bool>* stop = nullptr;
    /// The run's flow-hash seed (symmetric_hash()).
    uint64_t hash_seed = 0;
};

/// A loop's counters, written by its thread and read by others (relaxed).
struct alignas(kCacheLine) RxLoopStats {
    std::atomic<uint64_t> frames{0};       ///< frames taken from the sources
    std::atomic<uint64_t> wire_bytes{0};   ///< their length on the wire
    std::atomic<uint64_t> live_ticks{0};   ///< idle polls that moved time on
    std::atomic<uint64_t> first_rx_ns{0};  ///< CLOCK_MONOTONIC at the first frame (0: none yet)
    std::atomic<uint64_t> last_rx_ns{0};   ///< ... at the last burst with frames
    std::atomic<uint64_t> done_ns{0};      ///< ... when the loop finished (0: running)
    std::atomic<uint64_t> cpu_ns{0};       ///< CPU time of the loop's thread in run(), at the end
};

class RxLoop {
public:
    /// `worker` and the sources must outlive the loop; the loop owns its
    /// decoder (its fragment tracker is per worker).
    RxLoop(Worker& worker, const parse::DecoderConfig& dcfg, std::vector<BurstSource*> sources,
           const RxLoopConfig& cfg);

    /// Polls until every source has ended (or `stop`), then exports every
    /// flow (Worker::finish) and returns. Runs on the worker's thread or lcore.
    void run();

    const RxLoopStats& stats() const { return stats_; }
    /// The decoder's counters as last published (every ~100 ms and at the end).
    parse::DecoderCounters decoder_counters() const;
    bool done() const { return stats_.done_ns.load(std::memory_order_acquire) != 0; }
    /// True once a source ended with RxStatus::error (reported by its driver).
    bool source_failed() const { return source_failed_.load(std::memory_order_relaxed); }

private:
    void handle_burst(const PacketRef* refs, uint16_t n);
    void publish_counters();

    static constexpr size_t kCounterWords = sizeof(parse::DecoderCounters) / sizeof(uint64_t);

    Worker& worker_;
    parse::Decoder decoder_;
    std::vector<BurstSource*> sources_;
    RxLoopConfig cfg_;
    RxLoopStats stats_;
    std::array<std::atomic<uint64_t>, kCounterWords> published_{};
    std::atomic<bool> source_failed_{false};
};

}  // namespace spate
