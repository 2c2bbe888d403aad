#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <string>
#include <system_error>

#include "src/export/sink_impl.hpp"

namespace spate::sink_detail {

namespace {

constexpr uint64_t kNsPerSec = 1000000000ULL;

uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

/// The sequence number as at least 6 digits, zero-padded.
std::string seq_digits(uint64_t seq) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, seq);
    std::string s(buf, r.ptr);
    if (s.size() < 6) {
        s.insert(0, 6 - s.size(), '0');
    }
    return s;
}

/// True when the pattern has a "%N" conversion ("%%N" is a literal "%N").
bool has_seq_conversion(const std::string& p) {
    for (size_t i = 0; i + 1 < p.size(); ++i) {
        if (p[i] == '%') {
            if (p[i + 1] == 'N') {
                return true;
            }
            ++i;  // skip the conversion character, so "%%" is not re-read
        }
    }
    return false;
}

/// Inserts "-%N" before the first extension of the file name part
/// ("flows.jsonl.zst" -> "flows-%N.jsonl.zst"), or appends it when there is
/// none. A leading dot of the name does not start an extension.
std::string ensure_seq_conversion(const std::string& p) {
    if (has_seq_conversion(p)) {
        return p;
    }
    const size_t slash = p.rfind('/');
    const size_t base = slash == std::string::npos ? 0 : slash + 1;
    const size_t dot = base + 1 < p.size() ? p.find('.', base + 1) : std::string::npos;
    std::string out = p;
    if (dot == std::string::npos) {
        out += "-%N";
    } else {
        out.insert(dot, "-%N");
    }
    return out;
}

std::string strip_trailing_slashes(std::string p) {
    while (p.size() > 1 && p.back() == '/') {
        p.pop_back();
    }
    return p;
}

void create_dirs(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        throw SinkError(dir + ": cannot create directory: " + ec.message());
    }
}

}  // namespace

RotatingSink::RotatingSink(const SinkConfig& cfg) : cfg_(cfg) {
    const std::string& p = cfg_.path;
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
        dir_mode_ = true;
        pattern_ = strip_trailing_slashes(p);
    } else if (p.back() == '/' || (p.find('%') == std::string::npos &&
                                   p.find('.', p.rfind('/') == std::string::npos
                                                   ? 1
                                                   : p.rfind('/') + 2) == std::string::npos)) {
        // A directory that does not exist yet: a trailing slash, or a name
        // with neither an extension nor a conversion (a spool directory;
        // not "DIR-000000" files beside it).
        dir_mode_ = true;
        pattern_ = strip_trailing_slashes(p);
        create_dirs(pattern_);
    } else {
        pattern_ = ensure_seq_conversion(p);
    }
    if (!cfg_.capture_time) {
        open_file(realtime_ns());
    } else {
        // The first file waits for the first record's time: say now, not
        // at the first record, when its directory cannot be written.
        std::string dir = pattern_;
        if (!dir_mode_) {
            dir.resize(std::min(dir.find('%'), dir.size()));
            const size_t slash = dir.rfind('/');
            dir = slash == std::string::npos ? std::string(".") : dir.substr(0, slash + 1);
            create_dirs(dir);
        }
        if (::access(dir.c_str(), W_OK) != 0) {
            throw SinkError(dir + ": cannot write there: " + std::strerror(errno));
        }
    }
}

void RotatingSink::open_at(uint64_t unix_ns) {
    if (!cfg_.capture_time || closed_ || clock_ns_ != 0) {
        return;  // the first file is open already (or was tried: recover() retries)
    }
    clock_ns_ = unix_ns != 0 ? unix_ns : 1;
    open_file(unix_ns);
}

RotatingSink::~RotatingSink() {
    try {
        close();
    } catch (...) {  // NOLINT(bugprone-empty-catch): nowhere to report from a destructor
    }
}

std::string RotatingSink::expand_name(uint64_t now_ns) const {
    const auto secs = static_cast<time_t>(now_ns / kNsPerSec);
    tm utc{};
    gmtime_r(&secs, &utc);
    const std::string seq = seq_digits(seq_);
    if (dir_mode_) {
        char stamp[32];
        const size_t n = std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &utc);
        std::string name = pattern_;
        if (name.back() != '/') {
            name += '/';
        }
        name += "spate-";
        name.append(stamp, n);
        name += '-';
        name += seq;
        name += cfg_.zstd ? ".jsonl.zst" : ".jsonl";
        return name;
    }
    // %N is ours: substitute it first (digits only, so strftime leaves them be).
    std::string fmt;
    fmt.reserve(pattern_.size() + 8);
    for (size_t i = 0; i < pattern_.size(); ++i) {
        if (pattern_[i] == '%' && i + 1 < pattern_.size()) {
            if (pattern_[i + 1] == 'N') {
                fmt += seq;
            } else {
                fmt += pattern_[i];
                fmt += pattern_[i + 1];
            }
            ++i;
        } else {
            fmt += pattern_[i];
        }
    }
    std::string out(fmt.size() * 4 + 256, '\0');
    const size_t n = std::strftime(out.data(), out.size(), fmt.c_str(), &utc);
    if (n == 0) {
        throw SinkError(cfg_.path + ": file name pattern expands to nothing or is too long");
    }
    out.resize(n);
    return out;
}

void RotatingSink::open_file(uint64_t now_ns) {
    std::string name = expand_name(now_ns);
    const size_t slash = name.rfind('/');
    const std::string dir = slash == std::string::npos ? std::string() : name.substr(0, slash + 1);
    const std::string base = name.substr(dir.size());
    if (base.empty()) {
        throw SinkError(cfg_.path + ": file name pattern gives no file name");
    }
    if (!dir.empty()) {
        create_dirs(dir);
    }
    std::string part = dir + "." + base + ".part";
    cur_ = open_file_chain(part, cfg_.zstd, cfg_.zstd_level, cfg_.zstd_threads);
    cur_part_ = std::move(part);
    cur_final_ = std::move(name);
    cur_start_ns_ = now_ns;
    cur_bytes_ = 0;
    cur_flushed_bytes_ = 0;
}

void RotatingSink::finish_file() {
    const std::unique_ptr<Sink> sink = std::move(cur_);
    try {
        sink->close();
    } catch (...) {
        // Its content is in doubt: the .part stays where it is, unpublished,
        // and its number is not given to the next file (which would
        // truncate it).
        bytes_out_done_ += sink->bytes_out();
        ++seq_;
        throw;
    }
    bytes_out_done_ += sink->bytes_out();
    // From here on the file only waits for its rename: recover() retries
    // that instead of writing the file again.
    unpublished_ = true;
    publish();
}

void RotatingSink::publish() {
    if (::rename(cur_part_.c_str(), cur_final_.c_str()) != 0) {
        throw SinkError(cur_final_ + ": cannot rename from " + cur_part_ + ": " +
                        std::strerror(errno));
    }
    unpublished_ = false;
    ++files_closed_;
    ++seq_;  // only a published file uses up its number
}

void RotatingSink::discard_file() {
    const std::unique_ptr<Sink> sink = std::move(cur_);
    // Removed first and closed after: nothing in it is wanted, so a close
    // that fails (a full disk refusing an empty zstd frame) must not leave
    // the .part behind.
    const int rc = ::unlink(cur_part_.c_str());
    const int err = errno;
    try {
        sink->close();
    } catch (const SinkError&) {  // NOLINT(bugprone-empty-catch): see above
    }
    bytes_out_done_ += sink->bytes_out();
    if (rc != 0) {
        throw SinkError(cur_part_ + ": cannot remove: " + std::strerror(err));
    }
}

void RotatingSink::recover() {
    if (closed_) {
        throw SinkError(cfg_.path + ": cannot recover after close");
    }
    if (unpublished_) {
        publish();
    }
    if (cur_) {
        cur_->recover();  // back to the last flush: complete records only
        cur_bytes_ = cur_flushed_bytes_;
        if (cur_bytes_ > 0) {
            finish_file();
        } else {
            discard_file();
        }
    }
    // Open the next file now rather than at the next write(): a successful
    // recover() means the sink takes records again, and a failure to create
    // the file is retried like any other.
    if (!cfg_.capture_time) {
        open_file(realtime_ns());
    } else if (clock_ns_ != 0) {
        open_file(clock_ns_);  // named for the capture time reached
    }
}

void RotatingSink::write(std::string_view data) {
    if (!cur_) {
        throw SinkError(cfg_.path + (closed_ ? ": write after close" : ": no output file open"));
    }
    cur_->write(data);
    cur_bytes_ += data.size();
    bytes_in_ += data.size();
}

void RotatingSink::flush() {
    if (cur_) {
        cur_->flush();
        cur_flushed_bytes_ = cur_bytes_;
    }
}

bool RotatingSink::rotation_due(uint64_t now_unix_ns) const {
    if (closed_ || (cfg_.capture_time && clock_ns_ == 0)) {
        return false;  // capture time: nothing to rotate before the first file
    }
    const bool by_bytes = cfg_.rotate_bytes > 0 && cur_bytes_ >= cfg_.rotate_bytes;
    bool by_time = false;
    if (cfg_.rotate_seconds > 0 && now_unix_ns >= cur_start_ns_) {
        const uint64_t limit =
            cfg_.rotate_seconds > std::numeric_limits<uint64_t>::max() / kNsPerSec
                ? std::numeric_limits<uint64_t>::max()
                : cfg_.rotate_seconds * kNsPerSec;
        by_time = now_unix_ns - cur_start_ns_ >= limit;
    }
    return by_bytes || by_time;
}

void RotatingSink::maybe_rotate(uint64_t now_unix_ns) {
    if (cfg_.capture_time && clock_ns_ != 0 && now_unix_ns > clock_ns_) {
        clock_ns_ = now_unix_ns;
    }
    if (!rotation_due(now_unix_ns)) {
        return;
    }
    if (unpublished_) {
        publish();
    }
    if (cur_) {
        if (cur_bytes_ == 0) {
            // Idle interval: start afresh under a current name instead of
            // publishing an empty file; the sequence number is not used up.
            discard_file();
        } else {
            finish_file();
        }
    }
    open_file(now_unix_ns);
}

void RotatingSink::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    if (unpublished_) {
        publish();
    }
    if (!cur_) {
        return;
    }
    // A file without records is not left behind (not even the run's only one).
    if (cur_bytes_ == 0) {
        discard_file();
    } else {
        finish_file();
    }
}

uint64_t RotatingSink::bytes_out() const {
    return bytes_out_done_ + (cur_ ? cur_->bytes_out() : 0);
}

}  // namespace spate::sink_detail
