#include "spate/export/exporter.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "spate/core/backoff.hpp"
#include "spate/worker/messages.hpp"

namespace spate {

namespace {

constexpr uint64_t kFlushIntervalNs = 200'000'000;

uint64_t wall_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

Exporter::Exporter(std::vector<SpscRing*> rings, std::unique_ptr<Sink> sink, RecordFormat fmt,
                   const features::FeatureSet& features, size_t write_threshold)
    : rings_(std::move(rings)),
      sink_(std::move(sink)),
      fmt_(fmt),
      features_(features),
      write_threshold_(std::max<size_t>(write_threshold, 1)) {
    buf_.reserve(std::min<size_t>(write_threshold_, 1 << 20) * 2);
}

void Exporter::rotate_check(uint64_t now_ns) {
    if (!error_.empty()) {
        return;
    }
    try {
        sink_->maybe_rotate(now_ns);  // between records: never splits one
    } catch (const SinkError& e) {
        error_ = e.what();
    }
}

void Exporter::write_out(bool flush) {
    if (!error_.empty()) {
        buf_.clear();
        return;
    }
    try {
        if (!buf_.empty()) {
            sink_->write(buf_);
            buf_.clear();
        }
        if (flush) {
            sink_->flush();
        }
        stats_.bytes_in.store(sink_->bytes_in(), std::memory_order_relaxed);
        stats_.bytes_out.store(sink_->bytes_out(), std::memory_order_relaxed);
        stats_.files.store(sink_->files_closed(), std::memory_order_relaxed);
    } catch (const SinkError& e) {
        error_ = e.what();
        buf_.clear();
    }
}

void Exporter::run() {
    std::vector<bool> done(rings_.size(), false);
    size_t remaining = rings_.size();
    Backoff idle;
    JsonWriter w(buf_);
    uint64_t last_flush = wall_ns();
    bool dirty = false;
    while (remaining > 0) {
        uint64_t taken = 0;
        for (size_t i = 0; i < rings_.size(); ++i) {
            if (done[i]) {
                continue;
            }
            SpscRing& ring = *rings_[i];
            SpscRing::Message m;
            uint32_t n = 0;
            while (n < 1024 && ring.peek(m)) {
                if (static_cast<MsgType>(m.type) == MsgType::record) {
                    const auto* rec = reinterpret_cast<const RecordMsg*>(m.data);
                    write_record_json(w, rec->flow, fmt_, &features_, m.data + sizeof(FlowData));
                    stats_.records.store(stats_.records.load(std::memory_order_relaxed) + 1,
                                         std::memory_order_relaxed);
                } else if (static_cast<MsgType>(m.type) == MsgType::done) {
                    done[i] = true;
                    --remaining;
                }
                ring.pop(m);
                ++n;
                if (buf_.size() >= write_threshold_) {
                    write_out(false);
                    rotate_check(wall_ns());
                }
                if (done[i]) {
                    break;
                }
            }
            ring.release();
            taken += n;
        }
        if (taken > 0) {
            dirty = true;
            stats_.batches.store(stats_.batches.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
            idle.reset();
        }
        uint64_t now = wall_ns();
        if (taken == 0 || buf_.size() >= write_threshold_) {
            bool flush = dirty && now - last_flush >= kFlushIntervalNs;
            write_out(flush);
            if (flush) {
                last_flush = now;
                dirty = false;
            }
        }
        rotate_check(now);
        if (taken == 0 && remaining > 0) {
            idle.wait();
        }
    }
    write_out(false);
    if (error_.empty()) {
        try {
            sink_->close();
        } catch (const SinkError& e) {
            error_ = e.what();
        }
    }
    stats_.bytes_in.store(sink_->bytes_in(), std::memory_order_relaxed);
    stats_.bytes_out.store(sink_->bytes_out(), std::memory_order_relaxed);
    stats_.files.store(sink_->files_closed(), std::memory_order_relaxed);
}

}  // namespace spate
