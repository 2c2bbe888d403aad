#pragma once
/// A worker owns one flow table and updates it from decoded packets. It is
/// fed either by a dispatcher over an SPSC ring (libpcap driver, devices
/// without RSS) or directly by a poll loop on its own NIC queues (DPDK), and
/// it sends finished flows to the exporter over its own SPSC ring.
#include <atomic>
#include <cstdint>
#include <memory>

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
    std::atomic<uint64_t> flows_active{0};
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

    /// Runs the dispatch-mode loop on `in` until an `end` message arrives.
    void run_from_ring(SpscRing& in);

    /// Pushes buffered records to the exporter (call once per burst).
    void publish() { out_.publish(); }

    const WorkerStats& stats() const { return stats_; }
    const FlowTable& table() const { return table_; }
    uint32_t id() const { return id_; }

private:
    void emit(FlowTable::Entry& e);
    void restart(FlowTable::Entry& e, uint64_t ts);
    void sync_stats();

    uint32_t id_;
    FlowTable table_;
    SpscRing& out_;
    const features::FeatureSet& features_;
    std::unique_ptr<features::WorkerScratch> scratch_;  ///< units' working memory
    uint64_t now_ns_ = 0;
    uint64_t last_expire_ns_ = 0;
    WorkerStats stats_;
};

}  // namespace spate
