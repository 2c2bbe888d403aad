#pragma once
/// The exporter thread: drains every worker's record ring in batches,
/// formats records as JSON Lines and hands them to the sink chain.
///
/// Output faults (a full disk, EIO) do not stop it: it keeps draining the
/// rings (workers never wait on the output), counts what it cannot write as
/// lost, and retries the sink with back-off until it takes records again.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "spate/core/spsc_ring.hpp"
#include "spate/export/record_json.hpp"
#include "spate/export/sink.hpp"

namespace spate {

/// Counters for other threads: one writer (the exporter), relaxed atomics.
struct alignas(kCacheLine) ExporterStats {
    /// Records written (counted as they are formatted, a write_threshold
    /// before they reach the sink). A sink error moves those it takes back
    /// (everything since the last flush) from here to records_lost, so this
    /// counter can go down at a fault; records + records_lost is always what
    /// was taken from the rings, and at the end records is what the output
    /// holds.
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> bytes_in{0};   ///< JSON bytes produced
    std::atomic<uint64_t> bytes_out{0};  ///< bytes that reached the OS
    std::atomic<uint64_t> files{0};      ///< completed (rotated) files
    std::atomic<uint64_t> batches{0};
    /// Records taken from the rings but not in the output because of sink
    /// errors: those written since the last successful flush when the error
    /// came, and every record taken while the output was failing.
    std::atomic<uint64_t> records_lost{0};
    std::atomic<uint64_t> write_errors{0};  ///< SinkErrors, failed recover() calls included
    std::atomic<uint64_t> recoveries{0};    ///< successful Sink::recover() calls
    /// CPU time of the formatter threads (formatters >= 2; written as they end).
    std::atomic<uint64_t> formatter_cpu_ns{0};
};

/// Timings of the exporter; the defaults are for production, tests shorten them.
struct ExporterOptions {
    /// Records are flushed (the point a sink error goes back to) at most this
    /// long after they were taken from the rings.
    uint64_t flush_interval_ns = 1'000'000'000;
    /// First recover() attempt this long after a sink error; each failed
    /// attempt doubles the wait, up to retry_max_ns.
    uint64_t retry_first_ns = 500'000'000;
    uint64_t retry_max_ns = 5'000'000'000;
    /// While the output keeps failing, at most one error line per interval.
    uint64_t report_interval_ns = 10'000'000'000;
    /// Where the error and recovery lines go.
    std::FILE* log = stderr;
    /// Threads that format records. 1: the exporter thread formats and
    /// writes. N >= 2: N formatter threads, ring i (worker i) always on
    /// formatter i % N so that each worker's records stay in order, hand
    /// formatted blocks to the exporter thread, which only writes.
    unsigned formatters = 1;
    /// Rotation (file names, the rotation interval) follows the records'
    /// capture time (their time_end) instead of the wall clock: for capture
    /// files and replays, whose output then does not depend on when or how
    /// fast they are read. The sink must have SinkConfig::capture_time.
    bool capture_time = false;
};

class Exporter {
public:
    /// write_threshold: JSON bytes gathered before a write to the sink (and a
    /// rotation check); with size rotation, at most the rotation size.
    Exporter(std::vector<SpscRing*> rings, std::unique_ptr<Sink> sink, RecordFormat fmt,
             const features::FeatureSet& features, size_t write_threshold = 256 * 1024,
             ExporterOptions opts = {});

    /// Runs until every ring has delivered its `done` message; closes the
    /// sink. Never throws: errors end up in stats(), last_error() and error().
    void run();

    const ExporterStats& stats() const { return stats_; }

    /// Once run() has returned: empty, or why the output is incomplete (the
    /// last sink error and how many records were lost; or the close failing).
    const std::string& error() const { return error_; }
    /// True when some records never reached the output (records_lost > 0).
    bool lost_anything() const { return stats_.records_lost.load(std::memory_order_relaxed) > 0; }
    /// True while the output is failing and records are being dropped.
    bool faulted() const { return faulted_.load(std::memory_order_relaxed); }
    /// The text of the latest sink error, kept after recovery; empty when
    /// there was none. Takes a lock: for the control thread, not a hot path.
    std::string last_error() const;

private:
    /// A block of formatted records on its way from a formatter thread to
    /// the writer.
    struct Chunk {
        std::string buf;
        uint64_t records = 0;  ///< records formatted into buf
        uint64_t first_ns = 0;  ///< capture_time: time_end of the first of them
        uint64_t last_ns = 0;   ///< and the latest time_end among them
        uint64_t lost = 0;     ///< records taken but not formatted (output faulted)
    };
    /// One formatter thread: its rings, and the blocks it hands over.
    struct Formatter {
        std::vector<size_t> rings;
        std::mutex mu;
        std::condition_variable cv;
        std::deque<std::unique_ptr<Chunk>> full;  ///< to the writer, in order
        std::vector<std::unique_ptr<Chunk>> free;  ///< back from the writer
        bool finished = false;                     ///< every ring delivered `done`
        std::string error;                         ///< a formatting failure (out of memory)
        std::thread thread;
    };

    /// Drains one ring (at most a batch) into buf_; returns the messages taken.
    uint32_t drain_ring(size_t i);
    /// Drains one ring (at most a batch) into a formatter's chunk.
    uint32_t drain_ring_to(size_t i, Chunk& c);
    void run_single();
    void run_writer();
    void format_loop(Formatter& f);
    /// The writer takes one formatted block.
    void consume(Chunk& c);
    /// One pass of the writer's timing work: flushes, retries, rotation.
    void housekeeping(uint64_t taken);
    /// Hands buf_ to the sink and, when flush is set, flushes (a checkpoint).
    /// False when the sink failed (the exporter is then faulted).
    bool write_out(bool flush);
    void rotate_check(uint64_t now_unix_ns);
    /// The time rotation goes by: the wall clock, or the capture time reached.
    uint64_t rotation_now() const;
    /// capture_time: records whose time_end is first_ns (the first) up to
    /// last_ns go to the sink; the first ones open its first file.
    void note_capture_time(uint64_t first_ns, uint64_t last_ns);
    /// A sink error: counts what it takes back as lost and schedules a retry.
    void on_error(const char* what);
    /// Calls sink->recover(); on success records flow again.
    void try_recover(uint64_t now_ns);
    void report_error(uint64_t now_ns);
    void set_last_error(const char* what);
    void sync_sink_stats();
    void add(std::atomic<uint64_t>& c, uint64_t n) {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void finish();

    std::vector<SpscRing*> rings_;
    std::vector<bool> done_;
    size_t remaining_ = 0;
    std::unique_ptr<Sink> sink_;
    RecordFormat fmt_;
    const features::FeatureSet& features_;
    ExporterOptions opts_;
    std::string buf_;
    size_t write_threshold_;

    // ExporterOptions::capture_time: the latest time_end taken (0: none yet).
    uint64_t capture_ns_ = 0;

    // Loss accounting: records that a sink error would take back.
    uint64_t buf_records_ = 0;        ///< formatted into buf_, not yet written
    uint64_t unflushed_records_ = 0;  ///< written since the last successful flush
    uint64_t pending_since_ns_ = 0;   ///< when the oldest of those was taken (0: none)

    // Fault state (exporter thread only, except faulted_).
    std::atomic<bool> faulted_{false};
    bool finishing_ = false;         ///< run() is closing: no more retries to announce
    bool no_retry_ = false;          ///< a fault that retrying cannot cure (see run())
    bool fault_reported_ = false;    ///< the current fault got an error line
    uint64_t fault_lost_start_ = 0;  ///< records_lost when the current fault began
    uint64_t retry_delay_ns_ = 0;
    uint64_t next_retry_ns_ = 0;
    uint64_t last_report_ns_ = 0;
    bool reported_once_ = false;

    mutable std::mutex error_mu_;
    std::string last_error_;  ///< guarded by error_mu_
    std::string error_;       ///< set at the end of run()
    ExporterStats stats_;
    std::vector<std::unique_ptr<Formatter>> formatters_;
};

}  // namespace spate
