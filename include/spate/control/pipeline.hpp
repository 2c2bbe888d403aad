#pragma once
/// Wires a port driver, the decoder/dispatcher, the workers and the exporter
/// together and runs them to the end of input or a stop request.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spate/control/options.hpp"

namespace spate {

/// Set from a signal handler (SIGINT / SIGTERM): stop reading, export every
/// active flow, finish the output cleanly.
extern std::atomic<bool> g_stop_requested;

/// Installs the SIGINT / SIGTERM handlers.
void install_signal_handlers();

/// Runs spate with opts. Returns the process exit status: 0 on success
/// (warnings allowed), 1 when an input or output error occurred.
/// Throws std::runtime_error for start-up failures (message names the file,
/// interface or path), which the caller reports with exit status 1.
int run_pipeline(const Options& opts);

class PortDriver;

/// What a run did, for the bench harness (dispatcher mode).
struct RunReport {
    struct WorkerFigures {
        uint64_t packets = 0;
        uint64_t records = 0;
        uint64_t flows_created = 0;
        uint64_t cpu_ns = 0;  ///< the worker thread's CPU time
    };
    uint64_t packets = 0;          ///< read from the port
    uint64_t wire_bytes = 0;       ///< their length on the wire
    uint64_t rx_span_ns = 0;       ///< first to last burst received
    uint64_t process_span_ns = 0;  ///< first burst received to every worker done
    uint64_t wall_ns = 0;          ///< start to end, draining included
    uint64_t reader_cpu_ns = 0;    ///< the reading / decoding / dispatching thread
    uint64_t exporter_cpu_ns = 0;
    uint64_t records_written = 0;
    uint64_t bytes_written = 0;
    uint64_t port_drops = 0;  ///< dropped by the port: NIC imissed + mbuf exhaustion (DPDK)
    uint64_t packet_ring_full_waits = 0;
    uint64_t record_ring_full_waits = 0;
    uint64_t max_flows_active = 0;      ///< sampled every 100 ms
    uint64_t max_exporter_backlog = 0;  ///< records made but not yet written, sampled
    uint64_t flows_evicted = 0;
    std::vector<WorkerFigures> workers;
};

/// Runs with a given port (the bench harness's memory replay) instead of the
/// one the options name, and fills `report` when not null.
int run_pipeline(const Options& opts, std::unique_ptr<PortDriver> port, RunReport* report);

/// Runs one worker per port, each reading, decoding and updating its own
/// flow table (as workers polling their own RSS queues do): no dispatcher
/// and no packet rings. Every flow must come from one port only.
int run_direct(const Options& opts, std::vector<std::unique_ptr<PortDriver>> ports,
               RunReport* report);

}  // namespace spate
