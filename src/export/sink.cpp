#include "spate/export/sink.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "src/export/sink_impl.hpp"

namespace spate {

namespace sink_detail {

namespace {

bool is_stdout(const std::string& path) {
    return path.empty() || path == "-";
}

}  // namespace

FdSink::FdSink(std::string path, bool text) : text_(text), buf_(new char[kBufferSize]) {
    if (is_stdout(path)) {
        path_ = "stdout";
        fd_ = STDOUT_FILENO;
        owns_fd_ = false;
        return;
    }
    path_ = std::move(path);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        fail("cannot create file", errno);
    }
    owns_fd_ = true;
    struct stat st {};
    can_cut_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
}

FdSink::~FdSink() {
    try {
        close();
    } catch (...) {  // NOLINT(bugprone-empty-catch): nowhere to report from a destructor
    }
}

void FdSink::fail(const char* what, int err) const {
    throw SinkError(path_ + ": " + what + ": " + std::strerror(err));
}

void FdSink::write_all(const char* p, size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd_, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("write failed", errno);
        }
        if (w == 0) {
            fail("write failed", EIO);  // no progress: do not spin
        }
        at_line_start_ = p[w - 1] == '\n';
        p += w;
        n -= static_cast<size_t>(w);
        pos_ += static_cast<uint64_t>(w);
        bytes_out_ += static_cast<uint64_t>(w);
    }
}

void FdSink::drain() {
    if (len_ == 0) {
        return;
    }
    // Drop the buffer before writing: after a failed write there is no
    // sensible retry (recover() cuts back instead), and the destructor must
    // not throw the same error again.
    const size_t n = len_;
    len_ = 0;
    write_all(buf_.get(), n);
}

void FdSink::write(std::string_view data) {
    if (fd_ < 0) {
        throw SinkError(path_ + ": write after close");
    }
    if (data.empty()) {
        return;
    }
    bytes_in_ += data.size();
    if (len_ + data.size() <= kBufferSize) {
        std::memcpy(buf_.get() + len_, data.data(), data.size());
        len_ += data.size();
        if (len_ == kBufferSize) {
            drain();
        }
        return;
    }
    drain();
    if (data.size() >= kBufferSize) {
        write_all(data.data(), data.size());  // no point copying it first
        return;
    }
    std::memcpy(buf_.get(), data.data(), data.size());
    len_ = data.size();
}

void FdSink::flush() {
    if (fd_ >= 0) {
        drain();
        flushed_pos_ = pos_;
    }
}

void FdSink::recover() {
    if (fd_ < 0) {
        throw SinkError(path_ + ": cannot recover after close");
    }
    len_ = 0;
    if (can_cut_) {
        // Truncating also gives back the space the partial output took, which
        // on a full disk may be what lets the next write through.
        const auto off = static_cast<off_t>(flushed_pos_);
        if (::ftruncate(fd_, off) != 0) {
            fail("cannot cut back to the last flush", errno);
        }
        if (::lseek(fd_, off, SEEK_SET) < 0) {
            fail("cannot seek back to the last flush", errno);
        }
        pos_ = flushed_pos_;
        return;
    }
    // What reached a pipe is with the reader. End a partial line so that the
    // damage stays one bad line instead of also spoiling the next record.
    if (text_ && !at_line_start_) {
        write_all("\n", 1);
    }
    flushed_pos_ = pos_;
}

void FdSink::close() {
    if (fd_ < 0) {
        return;
    }
    const int fd = fd_;
    try {
        drain();
    } catch (...) {
        fd_ = -1;
        if (owns_fd_) {
            ::close(fd);
        }
        throw;
    }
    fd_ = -1;
    // A failing close() (NFS, quota) means data may be lost: report it. No
    // retry on EINTR: on Linux the descriptor is released regardless.
    if (owns_fd_ && ::close(fd) != 0 && errno != EINTR) {
        fail("close failed", errno);
    }
}

std::unique_ptr<Sink> open_file_chain(const std::string& path, bool zstd, int level,
                                      unsigned threads) {
    auto fd_sink = std::make_unique<FdSink>(path, /*text=*/!zstd);
    if (!zstd) {
        return fd_sink;
    }
    std::string name = fd_sink->path();
    return std::make_unique<ZstdSink>(std::move(fd_sink), level, std::move(name), threads);
}

}  // namespace sink_detail

namespace sink_detail {

/// A file that received no records is removed when closed: a run that
/// wrote nothing leaves nothing (not an empty or header-only file).
class DropEmptySink final : public Sink {
public:
    DropEmptySink(std::unique_ptr<Sink> inner, std::string path)
        : inner_(std::move(inner)), path_(std::move(path)) {}
    void write(std::string_view data) override { inner_->write(data); }
    void flush() override { inner_->flush(); }
    void close() override {
        inner_->close();
        if (inner_->bytes_in() == 0) {
            ::unlink(path_.c_str());
        }
    }
    void recover() override { inner_->recover(); }
    uint64_t bytes_in() const override { return inner_->bytes_in(); }
    uint64_t bytes_out() const override { return inner_->bytes_out(); }

private:
    std::unique_ptr<Sink> inner_;
    std::string path_;
};

}  // namespace sink_detail

std::unique_ptr<Sink> make_sink(const SinkConfig& cfg) {
    if (cfg.rotate_bytes == 0 && cfg.rotate_seconds == 0) {
        auto chain =
            sink_detail::open_file_chain(cfg.path, cfg.zstd, cfg.zstd_level, cfg.zstd_threads);
        struct stat st {};
        if (sink_detail::is_stdout(cfg.path) || ::stat(cfg.path.c_str(), &st) != 0 ||
            !S_ISREG(st.st_mode)) {
            return chain;  // stdout, a FIFO, /dev/null: nothing to remove
        }
        return std::make_unique<sink_detail::DropEmptySink>(std::move(chain), cfg.path);
    }
    if (sink_detail::is_stdout(cfg.path)) {
        throw SinkError(
            "stdout: rotation (rotate_bytes / rotate_seconds) needs a directory or a file "
            "name pattern as the output path");
    }
    return std::make_unique<sink_detail::RotatingSink>(cfg);
}

}  // namespace spate
