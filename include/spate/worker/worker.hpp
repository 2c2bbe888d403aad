#pragma once
/// A worker owns one flow table and updates it from decoded packets. Its
/// receive loop (RxLoop, rx_loop.hpp) feeds it from whatever the worker
/// polls: its own NIC queues, a dispatcher's ring, a replay. It sends
/// finished flows to the exporter over its own SPSC ring.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "spate/core/spsc_ring.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/flow/flow_table.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/worker/messages.hpp"

namespace spate {

/// Counters read by the control thread with relaxed loads while the worker
/// runs; only the worker writes them.
struct alignas(kCacheLine) WorkerStats {
    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> record_ring_full_waits{0};
    std::atomic<uint64_t> records_dropped{0};  ///< record ring full with --backpressure drop
    std::atomic<uint64_t> flows_active{0};
    std::atomic<uint64_t> flows_peak{0};     ///< most flows in the table at once
    std::atomic<uint64_t> flows_refused{0};  ///< no table slot within the probe bound
    std::atomic<uint64_t> flows_created{0};
    std::atomic<uint64_t> flows_evicted{0};
    std::atomic<uint64_t> expired_idle{0};
    std::atomic<uint64_t> expired_active{0};
    std::atomic<uint64_t> tcp_ended{0};
    // tls unit (see features::TlsCounters)
    std::atomic<uint64_t> tls_messages{0};
    std::atomic<uint64_t> tls_too_big{0};
    std::atomic<uint64_t> tls_gaps{0};
    std::atomic<uint64_t> tls_ooo_held{0};
    std::atomic<uint64_t> tls_malformed{0};
    std::atomic<uint64_t> tls_buffers_stolen{0};
    std::atomic<uint64_t> quic_initials{0};
    std::atomic<uint64_t> quic_failed{0};
    /// dns, http, ssh, dhcp, ike: messages, malformed, truncated, gaps (features::AppCounters).
    std::atomic<uint64_t> app[5][4] = {};
    /// Arena pools per features::ArenaKind: bytes leased now, high-water
    /// mark, leases, leases refused (pool full).
    std::atomic<uint64_t> state_bytes[features::kArenaKinds] = {};
    std::atomic<uint64_t> state_peak[features::kArenaKinds] = {};
    std::atomic<uint64_t> state_leases[features::kArenaKinds] = {};
    std::atomic<uint64_t> state_refused[features::kArenaKinds] = {};
    /// Content rules: streams opened, refused (slab empty), gaps, flows over
    /// the match bound, matches reported.
    std::atomic<uint64_t> content[5] = {};
};

/// What a worker does when its record ring is full (the exporter is behind).
enum class Backpressure : uint8_t {
    wait,  ///< wait for room: nothing lost, but the worker stops polling
    drop,  ///< drop the record and count it: the packet path never stalls
};

class Worker {
public:
    /// `features` must outlive the worker (it is shared read-only by all workers).
    Worker(uint32_t id, const FlowTableConfig& table_cfg, SpscRing& records_out,
           const features::FeatureSet& features);
    ~Worker();

    /// Handles one packet. `hash` is symmetric_hash(pkt.key); `data` the frame.
    void on_packet(const parse::DecodedPacket& pkt, uint64_t hash, const uint8_t* data);

    /// Flow-table prefetch hints for a packet a few packets ahead.
    void prefetch_slot(uint64_t hash) const { table_.prefetch_slot(hash); }
    void prefetch_entry(uint64_t hash) const { table_.prefetch_entry(hash); }

    /// Capture time has reached now_ns: export what is due.
    void advance(uint64_t now_ns);

    /// Exports every flow with end reason end_of_input and sends `done`.
    void finish();

    void set_backpressure(Backpressure b) { backpressure_ = b; }

    /// Publishes the counters for other threads (relaxed stores).
    void sync_stats();
    /// Copies the content rules' per-rule counts for rule_hits() (they are
    /// built and sorted: call it on a wall-clock period, not per time step).
    void sync_rule_hits();
    /// Content rules: matches per rule id so far (copied by sync_rule_hits; any thread).
    std::vector<std::pair<uint32_t, uint64_t>> rule_hits() const;

    /// The worker's current packet time (the latest it has seen or been given).
    uint64_t now_ns() const { return now_ns_; }

    /// Pushes buffered records to the exporter (call once per burst).
    void publish() { out_.publish(); }

    const WorkerStats& stats() const { return stats_; }
    const FlowTable& table() const { return table_; }
    uint32_t id() const { return id_; }

private:
    void emit(FlowTable::Entry& e);
    void restart(FlowTable::Entry& e, uint64_t ts);

    uint32_t id_;
    FlowTable table_;
    SpscRing& out_;
    const features::FeatureSet& features_;
    std::unique_ptr<features::WorkerScratch> scratch_;  ///< units' working memory
    uint64_t now_ns_ = 0;
    uint64_t last_expire_ns_ = 0;
    Backpressure backpressure_ = Backpressure::wait;
    WorkerStats stats_;
    mutable std::mutex rule_mu_;
    std::vector<std::pair<uint32_t, uint64_t>> rule_hits_;  ///< under rule_mu_
    uint64_t rule_hits_synced_ = 0;                         ///< total when last copied
};

}  // namespace spate
