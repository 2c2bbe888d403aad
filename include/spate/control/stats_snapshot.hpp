#pragma once
/// Counters published by the control thread for readers on other threads
/// (the DPDK telemetry command /spate/stats). Written every ~100 ms and at
/// exit with relaxed stores; read with relaxed loads.
#include <atomic>
#include <cstdint>

namespace spate {

struct StatsSnapshot {
    std::atomic<uint64_t> packets_read{0};
    std::atomic<uint64_t> decoded{0};
    std::atomic<uint64_t> non_ip{0};
    std::atomic<uint64_t> malformed{0};
    std::atomic<uint64_t> filtered{0};
    std::atomic<uint64_t> rx_drops{0};  ///< kernel / NIC drops (imissed + rx_nombuf for DPDK)
    std::atomic<uint64_t> flows_created{0};
    std::atomic<uint64_t> flows_active{0};
    std::atomic<uint64_t> flows_evicted{0};
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> bytes_written{0};
    std::atomic<uint64_t> packet_ring_full_waits{0};
    std::atomic<uint64_t> record_ring_full_waits{0};
};

/// Registers the /spate/stats telemetry command (DPDK builds; a no-op
/// otherwise). `s` must stay valid until the EAL is cleaned up.
void register_stats_telemetry(const StatsSnapshot* s);

}  // namespace spate
