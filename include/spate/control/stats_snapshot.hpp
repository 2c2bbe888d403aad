#pragma once
/// Counters published by the control thread for readers on other threads
/// (the DPDK telemetry command /spate/stats). Written every ~100 ms and at
/// exit with relaxed stores; read with relaxed loads.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

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
    std::atomic<uint64_t> packets_shed{0};   ///< dispatcher: a worker's ring full (drop policy)
    std::atomic<uint64_t> records_shed{0};   ///< workers: the record ring full (drop policy)
    std::atomic<uint64_t> records_lost{0};   ///< lost to output errors
    std::atomic<uint64_t> output_errors{0};  ///< sink errors
    std::atomic<uint64_t> state_bytes{0};    ///< flow state leased from the arena pools now
    std::atomic<uint64_t> state_refused{0};  ///< leases refused by a full pool
    std::atomic<bool> output_faulted{false};

    /// Content rules with matches ("rule_ID", matches), for /spate/rules.
    void set_rules(std::vector<std::pair<std::string, uint64_t>> r, uint32_t generation) {
        std::lock_guard<std::mutex> g(mu_);
        rules_ = std::move(r);
        rules_generation_ = generation;
    }
    std::vector<std::pair<std::string, uint64_t>> rules(uint32_t& generation) const {
        std::lock_guard<std::mutex> g(mu_);
        generation = rules_generation_;
        return rules_;
    }

    void set_output_error(const std::string& e) {
        std::lock_guard<std::mutex> g(mu_);
        output_error_ = e;
    }
    std::string output_error() const {
        std::lock_guard<std::mutex> g(mu_);
        return output_error_;
    }

private:
    mutable std::mutex mu_;
    std::string output_error_;  ///< the latest sink error text
    std::vector<std::pair<std::string, uint64_t>> rules_;
    uint32_t rules_generation_ = 0;
};

/// Set by SIGHUP and the /spate/reload telemetry command: the control
/// thread recompiles the rule files and swaps them in.
extern std::atomic<bool> g_reload_requested;

/// Registers the /spate/stats telemetry command (DPDK builds; a no-op
/// otherwise). `s` must stay valid until the EAL is cleaned up.
void register_stats_telemetry(const StatsSnapshot* s);

}  // namespace spate
