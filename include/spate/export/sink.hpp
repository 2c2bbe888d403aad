#pragma once
/// Where records go: stdout, a file, a zstd stream, and rotation. Sinks run
/// on the exporter thread only and are written to in batches.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace spate {

class SinkError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Sink {
public:
    virtual ~Sink() = default;
    /// Appends bytes. Throws SinkError (naming the file) on I/O failure.
    virtual void write(std::string_view data) = 0;
    /// Pushes buffered data to the OS (and ends a zstd frame so a reader can
    /// decode everything written so far). A successful flush() is the
    /// checkpoint recover() goes back to.
    virtual void flush() = 0;
    /// Finishes the output (zstd frame end, rename to the final name). Idempotent.
    virtual void close() = 0;
    /// After write(), flush() or maybe_rotate() threw SinkError: makes the sink
    /// writable again, dropping everything written since the last successful
    /// flush() (what was still buffered and, where the output can be cut
    /// back, what already reached it), so the output ends on complete
    /// records. Throws SinkError when it cannot yet; the caller retries later.
    /// Not after close(). bytes_in() and bytes_out() keep counting what was
    /// dropped.
    virtual void recover() = 0;
    /// True when maybe_rotate(now_unix_ns) would start a new file. The
    /// exporter then flush()es first, so a rotation never finishes a file
    /// with records that a failure could still take back.
    virtual bool rotation_due(uint64_t /*now_unix_ns*/) const { return false; }
    /// Called by the exporter between records, with the wall-clock time (or
    /// the records' capture time: SinkConfig::capture_time), so a rotating
    /// sink can start a new file. Records never straddle files.
    virtual void maybe_rotate(uint64_t /*now_unix_ns*/) {}
    /// With SinkConfig::capture_time: opens the first file, named for the
    /// first record's capture time; called before the first write().
    /// Otherwise (and once a file was opened) nothing.
    virtual void open_at(uint64_t /*unix_ns*/) {}
    /// Total bytes handed to write() (uncompressed).
    virtual uint64_t bytes_in() const = 0;
    /// Bytes that reached the OS (compressed when compressing), including
    /// any that recover() cut off again.
    virtual uint64_t bytes_out() const = 0;
    virtual uint64_t files_closed() const { return 0; }
};

struct SinkConfig {
    std::string path;  ///< "-" or empty: stdout. With rotation: a directory or a pattern (see
                       ///< docs/config.md)
    bool zstd = false;
    int zstd_level = 1;           ///< 1..19 (negative: fast levels)
    unsigned zstd_threads = 0;    ///< zstd worker threads (ZSTD_c_nbWorkers); 0: on the caller's
    uint64_t rotate_bytes = 0;    ///< 0 = never; counted on uncompressed bytes
    uint64_t rotate_seconds = 0;  ///< 0 = never; wall clock, or capture time (below)
    /// The times the exporter gives (open_at, rotation_due, maybe_rotate)
    /// are the records' capture times, not the wall clock (capture files,
    /// replays): names and rotate_seconds follow the capture. The first
    /// file then waits for open_at() instead of opening at construction.
    bool capture_time = false;
};

/// Builds the sink chain for cfg. Throws SinkError naming the path when the
/// output cannot be created.
///
/// Without rotation: writes straight to path (".zst" is NOT appended).
/// With rotation: each file is written as "<dir>/.<name>.part" and renamed
/// atomically to "<dir>/<name>" when complete. If path is an existing
/// directory, names are "spate-YYYYmmddTHHMMSS-NNNNNN.jsonl[.zst]"; otherwise path is a
/// pattern where strftime conversions are expanded and "%N" is the sequence
/// number (6 digits); if the pattern has no %N, "-NNNNNN" is inserted before
/// the extension.
std::unique_ptr<Sink> make_sink(const SinkConfig& cfg);

}  // namespace spate
