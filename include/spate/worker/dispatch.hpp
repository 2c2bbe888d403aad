#pragma once
/// The dispatcher: for sources that one thread must read (capture files,
/// live libpcap, DPDK devices without RSS, the bench's replay), it reads
/// bursts, hashes each frame's keying address pair without decoding it
/// (parse::DispatchHasher) and hands the frame to the worker the hash picks,
/// over that worker's SPSC ring. Workers decode: the dispatcher's cost per
/// frame is a few loads and a copy of the reference (or of the frame, when
/// the driver's buffers do not outlive the burst).
///
/// RingSource is the worker's end of that ring, polled by its RxLoop like
/// any other source.
#include <atomic>
#include <cstdint>
#include <vector>

#include "spate/core/spsc_ring.hpp"
#include "spate/parse/dispatch_hash.hpp"
#include "spate/port/port_driver.hpp"
#include "spate/worker/worker.hpp"

namespace spate {

struct alignas(kCacheLine) DispatcherStats {
    std::atomic<uint64_t> frames{0};      ///< frames read from the port
    std::atomic<uint64_t> wire_bytes{0};  ///< their length on the wire
    std::atomic<uint64_t> dropped{0};     ///< frames dropped: worker ring full (backpressure drop)
    std::atomic<uint64_t> ring_full_waits{0};
    std::atomic<uint64_t> hashed_fast{0};  ///< hashed from the headers directly
    std::atomic<uint64_t> hashed_slow{0};  ///< hashed through a full decode
    std::atomic<uint64_t> first_rx_ns{0};  ///< CLOCK_MONOTONIC at the first frame
    std::atomic<uint64_t> last_rx_ns{0};   ///< ... at the last burst with frames
    std::atomic<uint64_t> cpu_ns{0};       ///< CPU time of the reading thread in run(), at the end
};

class Dispatcher {
public:
    /// One ring per worker. `policy`: what to do with a live frame whose
    /// ring is full (wait: stop reading; drop: count it and read on); frames
    /// of files and replays always wait.
    Dispatcher(PortDriver& port, std::vector<SpscRing*> rings, const parse::DecoderConfig& dcfg,
               Backpressure policy, uint64_t hash_seed = 0);

    /// Reads the port until it ends or `stop` is set, then sends every
    /// worker a last time tick and `end`. Returns the port's last status.
    RxStatus run(const std::atomic<bool>& stop);

    const DispatcherStats& stats() const { return stats_; }

private:
    void frame(const PacketRef& ref);
    void end_burst();
    void end();
    void* reserve_wait(uint32_t w, MsgType type, size_t len);

    PortDriver& port_;
    std::vector<SpscRing*> rings_;
    parse::DispatchHasher hasher_;
    Backpressure policy_;
    bool stable_;
    std::vector<bool> dirty_;
    uint64_t max_ts_ = 0;
    uint64_t last_tick_ = 0;
    uint64_t dropped_ = 0;
    uint64_t waits_ = 0;
    DispatcherStats stats_;
};

/// A worker's end of a dispatcher ring: frames as a burst source, ticks as
/// its time floor, `end` as the end of input.
class RingSource final : public BurstSource {
public:
    explicit RingSource(SpscRing& in) : in_(in) {}

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override;
    uint64_t time_floor() const override { return floor_; }

private:
    SpscRing& in_;
    uint64_t floor_ = 0;
    bool ended_ = false;
    bool holding_ = false;  ///< messages handed out last time, released at the next call
};

}  // namespace spate
