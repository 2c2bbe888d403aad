#include "spate/worker/dispatch.hpp"

#include <cstring>

#include "spate/core/backoff.hpp"
#include "spate/core/clock.hpp"
#include "spate/worker/messages.hpp"

namespace spate {

namespace {

constexpr uint16_t kReadBurst = 64;
/// Packet time between two ticks to every worker.
constexpr uint64_t kTickNs = kNsPerSec;

inline void store(std::atomic<uint64_t>& a, uint64_t v) {
    a.store(v, std::memory_order_relaxed);
}

}  // namespace

Dispatcher::Dispatcher(PortDriver& port, std::vector<SpscRing*> rings,
                       const parse::DecoderConfig& dcfg, Backpressure policy, uint64_t hash_seed)
    : port_(port),
      rings_(std::move(rings)),
      hasher_(dcfg, hash_seed),
      // Frames from a file or a replay are never shed: waiting loses
      // nothing. Live frames are: a stalled reader only moves the loss into
      // the kernel or the NIC, where it is counted less precisely.
      policy_(port.live() ? policy : Backpressure::wait),
      stable_(port.stable_buffers()),
      dirty_(rings_.size(), false) {}

void* Dispatcher::reserve_wait(uint32_t w, MsgType type, size_t len) {
    SpscRing& ring = *rings_[w];
    dirty_[w] = true;
    void* p = ring.try_reserve(static_cast<uint32_t>(type), len);
    if (p != nullptr) {
        return p;
    }
    ring.publish();
    Backoff backoff;
    while ((p = ring.try_reserve(static_cast<uint32_t>(type), len)) == nullptr) {
        ++waits_;
        backoff.wait();
    }
    return p;
}

void Dispatcher::frame(const PacketRef& ref) {
    const uint32_t w = rings_.size() == 1 ? 0
                                          : parse::worker_for(hasher_.hash(ref),
                                                              static_cast<uint32_t>(rings_.size()));
    SpscRing& ring = *rings_[w];
    size_t extra = stable_ ? 0 : ref.caplen;
    if (extra > ring.max_message() - sizeof(FrameMsg)) {
        extra = ring.max_message() - sizeof(FrameMsg);
    }
    void* slot = nullptr;
    if (policy_ == Backpressure::drop) {
        slot = ring.try_reserve(static_cast<uint32_t>(MsgType::frame), sizeof(FrameMsg) + extra);
        if (slot == nullptr) {
            ring.publish();
            slot =
                ring.try_reserve(static_cast<uint32_t>(MsgType::frame), sizeof(FrameMsg) + extra);
        }
        if (slot == nullptr) {
            ++dropped_;  // the worker is behind: shed here, read on
            return;
        }
        dirty_[w] = true;
    } else {
        slot = reserve_wait(w, MsgType::frame, sizeof(FrameMsg) + extra);
    }
    auto* fm = static_cast<FrameMsg*>(slot);
    fm->ref = ref;
    if (!stable_) {
        fm->ref.data = nullptr;
        fm->ref.caplen = static_cast<uint32_t>(extra);
        std::memcpy(static_cast<uint8_t*>(slot) + sizeof(FrameMsg), ref.data, extra);
    }
    if (ref.ts_ns > max_ts_) {
        max_ts_ = ref.ts_ns;
    }
}

void Dispatcher::end_burst() {
    if (max_ts_ >= last_tick_ + kTickNs) {
        // Packet time moved on by a second: every worker hears of it, so a
        // worker that gets no packets still expires its flows. A tick that
        // finds a ring full is left out; the next one carries a later time.
        last_tick_ = max_ts_;
        for (size_t w = 0; w < rings_.size(); ++w) {
            void* p = rings_[w]->try_reserve(static_cast<uint32_t>(MsgType::tick), sizeof(TickMsg));
            if (p != nullptr) {
                static_cast<TickMsg*>(p)->now_ns = max_ts_;
                dirty_[w] = true;
            }
        }
    }
    for (size_t w = 0; w < rings_.size(); ++w) {
        if (dirty_[w]) {
            rings_[w]->publish();
            dirty_[w] = false;
        }
    }
}

void Dispatcher::end() {
    // A last tick at the latest packet time, so every worker expires what is
    // due by then (records then do not depend on the worker count); then end.
    for (uint32_t w = 0; w < rings_.size(); ++w) {
        if (max_ts_ != 0) {
            static_cast<TickMsg*>(reserve_wait(w, MsgType::tick, sizeof(TickMsg)))->now_ns =
                max_ts_;
        }
        reserve_wait(w, MsgType::end, 0);
        rings_[w]->publish();
    }
}

RxStatus Dispatcher::run(const std::atomic<bool>& stop) {
    const uint64_t cpu0 = thread_cpu_ns();  // the thread may have done other work before
    PacketRef burst[kReadBurst];
    RxStatus st = RxStatus::ok;
    uint64_t frames = 0;
    uint64_t bytes = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        const uint16_t n = port_.rx_burst(burst, kReadBurst, st);
        if (n > 0) {
            const uint64_t now = mono_ns();
            if (frames == 0) {
                store(stats_.first_rx_ns, now);
            }
            store(stats_.last_rx_ns, now);
            for (uint16_t i = 0; i < n; ++i) {
                bytes += burst[i].wirelen;
                frame(burst[i]);
            }
            frames += n;
            store(stats_.frames, frames);
            store(stats_.wire_bytes, bytes);
            store(stats_.dropped, dropped_);
            store(stats_.ring_full_waits, waits_);
            store(stats_.hashed_fast, hasher_.fast());
            store(stats_.hashed_slow, hasher_.slow());
        }
        end_burst();
        if (st != RxStatus::ok) {
            break;
        }
    }
    end();
    store(stats_.dropped, dropped_);
    store(stats_.ring_full_waits, waits_);
    store(stats_.cpu_ns, thread_cpu_ns() - cpu0);
    return st;
}

uint16_t RingSource::rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) {
    if (holding_) {
        in_.release();  // the frames handed out last time are done with
        holding_ = false;
    }
    status = RxStatus::ok;
    uint16_t count = 0;
    SpscRing::Message m;
    while (count < n && !ended_ && in_.peek(m)) {
        if (static_cast<MsgType>(m.type) == MsgType::tick) {
            // A tick ends the burst: the frames before it are handled, then
            // the time it carries applies, then the frames after it (with
            // capture times that go backwards, the order decides whether a
            // flow was already expired when its 5-tuple comes back).
            if (count > 0) {
                break;
            }
            in_.pop(m);
            holding_ = true;
            const uint64_t t = reinterpret_cast<const TickMsg*>(m.data)->now_ns;
            floor_ = t > floor_ ? t : floor_;
            break;
        }
        in_.pop(m);
        holding_ = true;
        switch (static_cast<MsgType>(m.type)) {
            case MsgType::frame: {
                PacketRef& r = pkts[count++];
                r = reinterpret_cast<const FrameMsg*>(m.data)->ref;
                if (r.data == nullptr) {
                    r.data = m.data + sizeof(FrameMsg);
                }
                break;
            }
            case MsgType::end:
                ended_ = true;
                break;
            default:
                break;
        }
    }
    if (ended_ && count == 0) {
        status = RxStatus::end;
    }
    return count;
}

}  // namespace spate
