#pragma once
/// Wires a port driver, the decoder/dispatcher, the workers and the exporter
/// together and runs them to the end of input or a stop request.
#include <atomic>
#include <string>

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

}  // namespace spate
