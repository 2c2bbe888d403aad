#include "spate/export/exporter.hpp"

#include <algorithm>
#include <cinttypes>
#include <ctime>
#include <exception>
#include <limits>

#include "spate/core/backoff.hpp"
#include "spate/core/clock.hpp"
#include "spate/worker/messages.hpp"

namespace spate {

namespace {

/// For rotation only (file names, rotate-interval): the sink wants civil
/// time. Flush intervals and retries use mono_ns(): a wall-clock step must
/// not stall or hurry them.
uint64_t wall_ns() {
    return realtime_ns();
}

constexpr uint64_t kNoRetry = std::numeric_limits<uint64_t>::max();

}  // namespace

Exporter::Exporter(std::vector<SpscRing*> rings, std::unique_ptr<Sink> sink, RecordFormat fmt,
                   const features::FeatureSet& features, size_t write_threshold,
                   ExporterOptions opts)
    : rings_(std::move(rings)),
      done_(rings_.size(), false),
      remaining_(rings_.size()),
      sink_(std::move(sink)),
      fmt_(fmt),
      features_(features),
      opts_(opts),
      write_threshold_(std::max<size_t>(write_threshold, 1)) {
    opts_.retry_first_ns = std::max<uint64_t>(opts_.retry_first_ns, 1);
    opts_.retry_max_ns = std::max(opts_.retry_max_ns, opts_.retry_first_ns);
    retry_delay_ns_ = opts_.retry_first_ns;
    buf_.reserve(std::min<size_t>(write_threshold_, 1 << 20) * 2);
}

std::string Exporter::last_error() const {
    const std::lock_guard<std::mutex> lock(error_mu_);
    return last_error_;
}

void Exporter::set_last_error(const char* what) {
    const std::lock_guard<std::mutex> lock(error_mu_);
    last_error_ = what;
}

void Exporter::sync_sink_stats() {
    stats_.bytes_in.store(sink_->bytes_in(), std::memory_order_relaxed);
    stats_.bytes_out.store(sink_->bytes_out(), std::memory_order_relaxed);
    stats_.files.store(sink_->files_closed(), std::memory_order_relaxed);
}

void Exporter::report_error(uint64_t now_ns) {
    // Only this thread writes last_error_: reading it here needs no lock.
    const uint64_t lost = stats_.records_lost.load(std::memory_order_relaxed);
    if (finishing_ || next_retry_ns_ == kNoRetry) {
        std::fprintf(opts_.log, "spate: error: output: %s; %" PRIu64 " records lost so far\n",
                     last_error_.c_str(), lost);
    } else {
        const double wait_s =
            static_cast<double>(next_retry_ns_ > now_ns ? next_retry_ns_ - now_ns : 0) / 1e9;
        std::fprintf(opts_.log,
                     "spate: error: output: %s; %" PRIu64
                     " records lost so far; retrying in %g s\n",
                     last_error_.c_str(), lost, wait_s);
    }
    std::fflush(opts_.log);
    last_report_ns_ = now_ns;
    reported_once_ = true;
    fault_reported_ = true;
}

void Exporter::on_error(const char* what) {
    const uint64_t now = mono_ns();
    // recover() takes back everything since the last flush, and what was
    // still in buf_ never got there: all of it is lost, none counted twice.
    const uint64_t at_risk = buf_records_ + unflushed_records_;
    buf_.clear();
    buf_records_ = 0;
    unflushed_records_ = 0;
    pending_since_ns_ = 0;
    const uint64_t lost_before = stats_.records_lost.load(std::memory_order_relaxed);
    stats_.records.store(stats_.records.load(std::memory_order_relaxed) - at_risk,
                         std::memory_order_relaxed);
    add(stats_.records_lost, at_risk);
    add(stats_.write_errors, 1);
    set_last_error(what);
    sync_sink_stats();
    if (faulted()) {
        return;
    }
    faulted_.store(true, std::memory_order_relaxed);
    fault_lost_start_ = lost_before;
    fault_reported_ = false;
    next_retry_ns_ = no_retry_ ? kNoRetry : now + retry_delay_ns_;
    // A flapping output (recovering and failing again) stays within the
    // report rate too.
    if (!reported_once_ || now - last_report_ns_ >= opts_.report_interval_ns) {
        report_error(now);
    }
}

void Exporter::try_recover(uint64_t now_ns) {
    try {
        sink_->recover();
    } catch (const std::exception& e) {
        add(stats_.write_errors, 1);
        set_last_error(e.what());
        retry_delay_ns_ = std::min(retry_delay_ns_ * 2, opts_.retry_max_ns);
        next_retry_ns_ = now_ns + retry_delay_ns_;
        if (!finishing_ && now_ns - last_report_ns_ >= opts_.report_interval_ns) {
            report_error(now_ns);
        }
        return;
    }
    add(stats_.recoveries, 1);
    faulted_.store(false, std::memory_order_relaxed);
    // Should the output fail again before a flush gets through, the next
    // first retry waits longer; a successful flush resets the back-off.
    retry_delay_ns_ = std::min(retry_delay_ns_ * 2, opts_.retry_max_ns);
    if (fault_reported_) {
        std::fprintf(opts_.log, "spate: output: writing again after %" PRIu64 " lost records\n",
                     stats_.records_lost.load(std::memory_order_relaxed) - fault_lost_start_);
        std::fflush(opts_.log);
    }
    sync_sink_stats();
}

bool Exporter::write_out(bool flush) {
    if (faulted()) {
        return false;
    }
    try {
        if (!buf_.empty()) {
            sink_->write(buf_);
            buf_.clear();
            unflushed_records_ += buf_records_;
            buf_records_ = 0;
        }
        if (flush) {
            sink_->flush();
            // The checkpoint: what was written so far stays, whatever fails next.
            unflushed_records_ = 0;
            pending_since_ns_ = 0;
            retry_delay_ns_ = opts_.retry_first_ns;
        }
        sync_sink_stats();
        return true;
    } catch (const std::exception& e) {
        on_error(e.what());
        return false;
    }
}

uint64_t Exporter::rotation_now() const {
    return opts_.capture_time ? capture_ns_ : wall_ns();
}

void Exporter::note_capture_time(uint64_t first_ns, uint64_t last_ns) {
    if (capture_ns_ == 0) {
        // The first records: the first file is named for their time.
        capture_ns_ = std::max<uint64_t>(last_ns, 1);
        try {
            sink_->open_at(first_ns);
        } catch (const std::exception& e) {
            on_error(e.what());  // retried as any fault: recover() opens it
        }
    }
    capture_ns_ = std::max(capture_ns_, last_ns);
}

void Exporter::rotate_check(uint64_t now_unix_ns) {
    if (faulted() || !sink_->rotation_due(now_unix_ns)) {
        return;
    }
    // Flush first: the file the rotation finishes then holds only records
    // that are safe already, so a rotation that fails takes none back.
    if (!write_out(true)) {
        return;
    }
    try {
        sink_->maybe_rotate(now_unix_ns);  // between records: never splits one
    } catch (const std::exception& e) {
        on_error(e.what());
        return;
    }
    sync_sink_stats();
}

uint32_t Exporter::drain_ring(size_t i) {
    SpscRing& ring = *rings_[i];
    JsonWriter w(buf_);
    SpscRing::Message m;
    uint32_t n = 0;
    uint64_t lost = 0;
    while (n < 1024 && ring.peek(m)) {
        const auto type = static_cast<MsgType>(m.type);
        if (type == MsgType::record) {
            const auto* rec = reinterpret_cast<const RecordMsg*>(m.data);
            if (opts_.capture_time && !faulted()) {
                note_capture_time(rec->flow.last_ns, rec->flow.last_ns);
            }
            if (faulted()) {
                ++lost;  // not even formatted: the CPU is better spent keeping up
            } else {
                write_record_json(w, rec->flow, fmt_, &features_, m.data + sizeof(FlowData));
                ++buf_records_;
                add(stats_.records, 1);
            }
        } else if (type == MsgType::done) {
            done_[i] = true;
            --remaining_;
        }
        ring.pop(m);
        ++n;
        if (buf_.size() >= write_threshold_) {
            write_out(false);
            rotate_check(rotation_now());
        }
        if (done_[i]) {
            break;
        }
    }
    ring.release();
    if (lost > 0) {
        add(stats_.records_lost, lost);
    }
    return n;
}

uint32_t Exporter::drain_ring_to(size_t i, Chunk& c) {
    SpscRing& ring = *rings_[i];
    JsonWriter w(c.buf);
    SpscRing::Message m;
    uint32_t n = 0;
    bool done = false;
    while (n < 1024 && !done && ring.peek(m)) {
        const auto type = static_cast<MsgType>(m.type);
        if (type == MsgType::record) {
            if (faulted()) {
                ++c.lost;  // not even formatted, as in drain_ring()
            } else {
                const auto* rec = reinterpret_cast<const RecordMsg*>(m.data);
                write_record_json(w, rec->flow, fmt_, &features_, m.data + sizeof(FlowData));
                if (c.records == 0) {
                    c.first_ns = rec->flow.last_ns;
                }
                c.last_ns = std::max(c.last_ns, rec->flow.last_ns);
                ++c.records;
            }
        } else if (type == MsgType::done) {
            done = true;
        }
        ring.pop(m);
        ++n;
        if (c.buf.size() >= write_threshold_) {
            break;
        }
    }
    ring.release();
    // The high bit says the ring is finished (n never comes near it).
    return done ? (n | 0x80000000U) : n;
}

void Exporter::format_loop(Formatter& f) {
    const uint64_t cpu0 = thread_cpu_ns();
    std::vector<char> done(f.rings.size(), 0);
    size_t remaining = f.rings.size();
    bool failed = false;  // formatting threw: from here records are only counted
    auto take_free = [&f] {
        std::unique_lock<std::mutex> lock(f.mu);
        f.cv.wait(lock, [&f] { return !f.free.empty(); });
        std::unique_ptr<Chunk> c = std::move(f.free.back());
        f.free.pop_back();
        return c;
    };
    auto hand_over = [&f](std::unique_ptr<Chunk> c) {
        const std::lock_guard<std::mutex> lock(f.mu);
        f.full.push_back(std::move(c));
    };
    std::unique_ptr<Chunk> cur = take_free();
    Backoff idle;
    while (remaining > 0) {
        uint64_t taken = 0;
        for (size_t k = 0; k < f.rings.size(); ++k) {
            if (done[k] != 0) {
                continue;
            }
            uint32_t r = 0;
            if (failed) {
                // Count and drop: the workers must never block on us.
                SpscRing& ring = *rings_[f.rings[k]];
                SpscRing::Message m;
                while (r < 1024 && ring.peek(m)) {
                    const auto type = static_cast<MsgType>(m.type);
                    ring.pop(m);
                    ++r;
                    if (type == MsgType::record) {
                        ++cur->lost;
                    } else if (type == MsgType::done) {
                        r |= 0x80000000U;
                        break;
                    }
                }
                ring.release();
            } else {
                try {
                    r = drain_ring_to(f.rings[k], *cur);
                } catch (const std::exception& e) {
                    // Most likely out of memory. The partial block goes, its
                    // records counted lost; the writer stops retrying.
                    failed = true;
                    cur->buf.clear();
                    cur->lost += cur->records;
                    cur->records = 0;
                    const std::lock_guard<std::mutex> lock(f.mu);
                    f.error = e.what();
                    continue;
                }
            }
            if ((r & 0x80000000U) != 0) {
                done[k] = 1;
                --remaining;
            }
            taken += r & 0x7fffffffU;
            if (cur->buf.size() >= write_threshold_) {
                hand_over(std::move(cur));
                cur = take_free();
            }
        }
        if (taken == 0) {
            if (cur->records + cur->lost > 0) {
                hand_over(std::move(cur));
                cur = take_free();
            }
            idle.wait();
        } else {
            idle.reset();
        }
    }
    if (cur->records + cur->lost > 0) {
        hand_over(std::move(cur));
    }
    stats_.formatter_cpu_ns.fetch_add(thread_cpu_ns() - cpu0, std::memory_order_relaxed);
    const std::lock_guard<std::mutex> lock(f.mu);
    f.finished = true;
}

void Exporter::consume(Chunk& c) {
    if (c.lost > 0) {
        add(stats_.records_lost, c.lost);
    }
    if (c.records > 0 && opts_.capture_time && !faulted()) {
        note_capture_time(c.first_ns, c.last_ns);
    }
    if (c.records > 0) {
        if (faulted()) {
            add(stats_.records_lost, c.records);  // formatted, but nowhere to go
        } else {
            if (buf_.empty()) {
                buf_.swap(c.buf);
            } else {
                buf_.append(c.buf);
            }
            buf_records_ += c.records;
            add(stats_.records, c.records);
            if (buf_.size() >= write_threshold_) {
                write_out(false);
                rotate_check(rotation_now());
            }
        }
    }
    c.buf.clear();
    c.records = 0;
    c.lost = 0;
    c.first_ns = 0;
    c.last_ns = 0;
}

void Exporter::housekeeping(uint64_t taken) {
    const uint64_t now = mono_ns();
    if (taken > 0) {
        add(stats_.batches, 1);
    }
    if (faulted()) {
        if (now >= next_retry_ns_) {
            try_recover(now);
        }
        return;
    }
    if (pending_since_ns_ == 0 && buf_records_ + unflushed_records_ > 0) {
        pending_since_ns_ = now;
    }
    const bool flush = pending_since_ns_ != 0 && now - pending_since_ns_ >= opts_.flush_interval_ns;
    if (taken == 0 || flush || buf_.size() >= write_threshold_) {
        write_out(flush);
    }
    rotate_check(rotation_now());
}

void Exporter::run() {
    if (opts_.formatters >= 2 && !rings_.empty()) {
        run_writer();
    } else {
        run_single();
    }
    finish();
}

void Exporter::run_single() {
    Backoff idle;
    while (remaining_ > 0) {
        try {
            uint64_t taken = 0;
            for (size_t i = 0; i < rings_.size(); ++i) {
                if (!done_[i]) {
                    taken += drain_ring(i);
                }
            }
            if (taken > 0) {
                idle.reset();
            }
            housekeeping(taken);
            if (taken == 0 && remaining_ > 0) {
                idle.wait();
            }
        } catch (const std::exception& e) {
            // Not from the sink (those are caught where they happen): most
            // likely formatting ran out of memory. Retrying could fail on the
            // same record forever, so from here records are only counted as
            // lost, and the rings keep draining so that no worker blocks.
            no_retry_ = true;
            next_retry_ns_ = kNoRetry;
            if (faulted()) {
                set_last_error(e.what());
            } else {
                on_error(e.what());
            }
        }
    }
}

void Exporter::run_writer() {
    const size_t n = std::min<size_t>(opts_.formatters, rings_.size());
    // Blocks in flight per formatter: one being filled, one being written,
    // and one waiting, so that neither side waits for the other in steady state.
    constexpr size_t kChunks = 3;
    for (size_t k = 0; k < n; ++k) {
        auto f = std::make_unique<Formatter>();
        for (size_t i = k; i < rings_.size(); i += n) {
            f->rings.push_back(i);
        }
        for (size_t c = 0; c < kChunks; ++c) {
            f->free.push_back(std::make_unique<Chunk>());
            f->free.back()->buf.reserve(std::min<size_t>(write_threshold_, 1 << 20) * 2);
        }
        formatters_.push_back(std::move(f));
    }
    for (auto& f : formatters_) {
        Formatter* fp = f.get();
        fp->thread = std::thread([this, fp] { format_loop(*fp); });
    }
    std::vector<char> error_seen(n, 0);
    Backoff idle;
    for (;;) {
        bool all_finished = true;
        uint64_t taken = 0;
        try {
            for (size_t k = 0; k < n; ++k) {
                Formatter& f = *formatters_[k];
                for (;;) {
                    std::unique_ptr<Chunk> c;
                    {
                        const std::lock_guard<std::mutex> lock(f.mu);
                        if (!f.error.empty() && error_seen[k] == 0) {
                            error_seen[k] = 1;
                            no_retry_ = true;
                            next_retry_ns_ = kNoRetry;
                            if (faulted()) {
                                set_last_error(f.error.c_str());
                            } else {
                                on_error(f.error.c_str());
                            }
                        }
                        if (f.full.empty()) {
                            all_finished = all_finished && f.finished;
                            break;
                        }
                        c = std::move(f.full.front());
                        f.full.pop_front();
                    }
                    ++taken;
                    struct Return {  // the block goes back even if the sink throws
                        Formatter& f;
                        std::unique_ptr<Chunk>& c;
                        ~Return() {
                            c->buf.clear();
                            c->records = 0;
                            c->lost = 0;
                            c->first_ns = 0;
                            c->last_ns = 0;
                            {
                                const std::lock_guard<std::mutex> lock(f.mu);
                                f.free.push_back(std::move(c));
                            }
                            f.cv.notify_one();
                        }
                    } ret{f, c};
                    consume(*c);
                }
            }
            if (taken > 0) {
                idle.reset();
            }
            housekeeping(taken);
        } catch (const std::exception& e) {
            no_retry_ = true;
            next_retry_ns_ = kNoRetry;
            if (faulted()) {
                set_last_error(e.what());
            } else {
                on_error(e.what());
            }
            all_finished = false;  // look again: a formatter may still be handing over
        }
        if (all_finished) {
            break;
        }
        if (taken == 0) {
            idle.wait();
        }
    }
    for (auto& f : formatters_) {
        f->thread.join();
    }
}

void Exporter::finish() {
    finishing_ = true;
    bool close_failed = false;
    try {
        // One last attempt each, without waiting for the back-off, so that
        // the output ends on complete records before it is closed.
        if (faulted()) {
            try_recover(mono_ns());
        }
        if (!faulted() && !write_out(true)) {
            try_recover(mono_ns());
        }
        try {
            sink_->close();
        } catch (const std::exception& e) {
            close_failed = true;
            add(stats_.write_errors, 1);
            set_last_error(e.what());
            const uint64_t at_risk = buf_records_ + unflushed_records_;  // 0 after a good flush
            stats_.records.store(stats_.records.load(std::memory_order_relaxed) - at_risk,
                                 std::memory_order_relaxed);
            add(stats_.records_lost, at_risk);
        }
        sync_sink_stats();
    } catch (const std::exception& e) {  // run() never throws
        close_failed = true;
        set_last_error(e.what());
    }
    faulted_.store(false, std::memory_order_relaxed);
    const uint64_t lost = stats_.records_lost.load(std::memory_order_relaxed);
    if (lost > 0 || close_failed) {
        try {
            error_ = "output: " + last_error_;
            if (lost > 0) {
                error_ += "; " + std::to_string(lost) + " records lost";
            }
        } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): out of memory
        }
    }
}

}  // namespace spate
