#pragma once
/// The concrete sinks behind make_sink(). Private to src/export; everything
/// else goes through spate/export/sink.hpp.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "spate/export/sink.hpp"

namespace spate::sink_detail {

/// Writes to a file descriptor through a 1 MiB buffer. Owns (and closes) the
/// descriptor unless it is stdout.
///
/// recover() cuts a regular file back to its size at the last flush(). Other
/// outputs (stdout, whatever it is, since the shell may share it or open it
/// for appending; pipes, FIFOs, devices) cannot be cut back: recover() drops
/// the buffer only, so a partial record may remain. For text it then ends
/// that partial line, so that the next record starts a line of its own.
class FdSink final : public Sink {
public:
    static constexpr size_t kBufferSize = size_t{1} << 20;

    /// path "-" or empty: stdout. Otherwise the file is created or truncated.
    /// text: the data is lines (not a compressed stream), see recover().
    explicit FdSink(std::string path, bool text = true);
    ~FdSink() override;
    FdSink(const FdSink&) = delete;
    FdSink& operator=(const FdSink&) = delete;

    void write(std::string_view data) override;
    void flush() override;
    void close() override;
    void recover() override;
    uint64_t bytes_in() const override { return bytes_in_; }
    uint64_t bytes_out() const override { return bytes_out_; }

    const std::string& path() const { return path_; }

private:
    void write_all(const char* p, size_t n);
    void drain();
    [[noreturn]] void fail(const char* what, int err) const;

    std::string path_;  ///< for messages; "stdout" for stdout
    int fd_ = -1;
    bool owns_fd_ = false;
    bool text_ = true;
    bool can_cut_ = false;       ///< a regular file we opened: recover() truncates it
    bool at_line_start_ = true;  ///< the last byte that reached the OS was '\n' (or none yet)
    std::unique_ptr<char[]> buf_;
    size_t len_ = 0;
    uint64_t pos_ = 0;          ///< file offset: bytes written since open or the last cut
    uint64_t flushed_pos_ = 0;  ///< pos_ at the last successful flush()
    uint64_t bytes_in_ = 0;
    uint64_t bytes_out_ = 0;
};

/// Compresses into another sink as zstd frames (with content checksums). Each
/// flush() ends the frame, so the output can be cut back to a flush point
/// that a decoder accepts; the next write() starts a new frame. A file of
/// several frames decodes as their concatenation (zstd, zstdcat, libzstd).
class ZstdSink final : public Sink {
public:
    /// name: for error messages (the path of the underlying file).
    /// threads > 0: compression runs on that many zstd worker threads
    /// (ZSTD_c_nbWorkers); write() then only hands data over.
    ZstdSink(std::unique_ptr<Sink> inner, int level, std::string name, unsigned threads = 0);
    ~ZstdSink() override;
    ZstdSink(const ZstdSink&) = delete;
    ZstdSink& operator=(const ZstdSink&) = delete;

    void write(std::string_view data) override;
    void flush() override;
    void close() override;
    void recover() override;
    uint64_t bytes_in() const override { return bytes_in_; }
    uint64_t bytes_out() const override { return inner_->bytes_out(); }

private:
    /// Runs the compressor with `mode` until it has consumed `in` and, for
    /// flush/end, until it reports nothing left to write out.
    void pump(ZSTD_inBuffer& in, ZSTD_EndDirective mode);

    std::unique_ptr<Sink> inner_;
    std::string name_;
    ZSTD_CCtx* cctx_ = nullptr;
    std::unique_ptr<char[]> out_;
    size_t out_cap_ = 0;
    uint64_t bytes_in_ = 0;
    bool in_frame_ = false;     ///< data went in since the last frame end
    bool frame_ended_ = false;  ///< a flush() ended a frame: the output is not empty
    bool closed_ = false;
};

/// Opens `path` as a plain file (or stdout), optionally zstd-compressed.
std::unique_ptr<Sink> open_file_chain(const std::string& path, bool zstd, int level,
                                      unsigned threads = 0);

/// Writes a sequence of files, each first as "<dir>/.<name>.part" and renamed
/// to "<dir>/<name>" once complete (see make_sink()).
///
/// recover() finishes the current file as cut back to its last flush()
/// (published when it holds records, removed when not) and opens the next
/// one, so a fault never leaves a partial record in a published file.
class RotatingSink final : public Sink {
public:
    explicit RotatingSink(const SinkConfig& cfg);
    ~RotatingSink() override;
    RotatingSink(const RotatingSink&) = delete;
    RotatingSink& operator=(const RotatingSink&) = delete;

    void write(std::string_view data) override;
    void flush() override;
    void close() override;
    void recover() override;
    bool rotation_due(uint64_t now_unix_ns) const override;
    void maybe_rotate(uint64_t now_unix_ns) override;
    void open_at(uint64_t unix_ns) override;
    uint64_t bytes_in() const override { return bytes_in_; }
    uint64_t bytes_out() const override;
    uint64_t files_closed() const override { return files_closed_; }

private:
    void open_file(uint64_t now_ns);
    void finish_file();   ///< close + rename to the final name
    void publish();       ///< the rename, retried by recover() when it failed
    void discard_file();  ///< close + unlink the .part
    std::string expand_name(uint64_t now_ns) const;

    SinkConfig cfg_;
    bool dir_mode_ = false;
    std::string pattern_;  ///< dir mode: the directory; else the pattern with %N ensured
    std::unique_ptr<Sink> cur_;
    std::string cur_part_;
    std::string cur_final_;
    uint64_t cur_start_ns_ = 0;
    uint64_t cur_bytes_ = 0;
    uint64_t cur_flushed_bytes_ = 0;  ///< cur_bytes_ at the last successful flush()
    bool unpublished_ = false;        ///< cur_part_ is closed but its rename failed
    uint64_t seq_ = 0;
    uint64_t bytes_in_ = 0;
    uint64_t bytes_out_done_ = 0;  ///< bytes_out of files already finished
    uint64_t files_closed_ = 0;
    bool closed_ = false;
    /// capture_time: the latest time the exporter gave (0: none yet, and no
    /// file opened); files reopened by recover() are named for it.
    uint64_t clock_ns_ = 0;
};

}  // namespace spate::sink_detail
