#pragma once
/// The exporter thread: drains every worker's record ring in batches,
/// formats records as JSON Lines and hands them to the sink chain.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "spate/core/spsc_ring.hpp"
#include "spate/export/record_json.hpp"
#include "spate/export/sink.hpp"

namespace spate {

struct alignas(kCacheLine) ExporterStats {
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> bytes_in{0};   ///< JSON bytes produced
    std::atomic<uint64_t> bytes_out{0};  ///< bytes that reached the OS
    std::atomic<uint64_t> files{0};      ///< completed (rotated) files
    std::atomic<uint64_t> batches{0};
    std::atomic<uint64_t> records_lost{0};  ///< lost to sink errors
    std::atomic<uint64_t> write_errors{0};  ///< sink errors
};

class Exporter {
public:
    /// write_threshold: JSON bytes gathered before a write to the sink (and a
    /// rotation check); with size rotation, at most the rotation size.
    Exporter(std::vector<SpscRing*> rings, std::unique_ptr<Sink> sink, RecordFormat fmt,
             const features::FeatureSet& features, size_t write_threshold = 256 * 1024);

    /// Runs until every ring has delivered its `done` message; closes the sink.
    void run();

    const ExporterStats& stats() const { return stats_; }
    /// Empty, or the message of the sink error that stopped writing (records
    /// were still drained so that no worker blocked).
    const std::string& error() const { return error_; }
    /// The latest sink error text (thread-safe). TEMPORARY shim.
    std::string last_error() const { return {}; }
    bool faulted() const { return false; }
    bool lost_anything() const { return !error_.empty(); }

private:
    void write_out(bool flush);
    void rotate_check(uint64_t now_ns);

    std::vector<SpscRing*> rings_;
    std::unique_ptr<Sink> sink_;
    RecordFormat fmt_;
    const features::FeatureSet& features_;
    std::string buf_;
    std::string error_;
    size_t write_threshold_;
    ExporterStats stats_;
};

}  // namespace spate
