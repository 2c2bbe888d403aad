#pragma once
/// Clocks. Intervals (timeouts on live sources, stats, flushes, back-off)
/// use CLOCK_MONOTONIC, which never steps; CLOCK_REALTIME is read only for
/// what must be wall-clock time (record times of live packets, file names,
/// the time printed on a stats line).
#include <time.h>

#include <cstdint>

namespace spate {

inline constexpr uint64_t kNsPerSec = 1'000'000'000ULL;

/// CLOCK_MONOTONIC in nanoseconds (vDSO: no system call).
inline uint64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

/// CLOCK_REALTIME in nanoseconds since the epoch.
inline uint64_t realtime_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

/// CPU time of the calling thread.
inline uint64_t thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * kNsPerSec + static_cast<uint64_t>(ts.tv_nsec);
}

/// Cycle counter to nanoseconds in integers: ns = base + (delta * mult) >> 32,
/// with mult = 10^9 * 2^32 / hz. The anchor moves forward once the delta
/// passes about a second, so the product never overflows and the rounding
/// of mult (well under a nanosecond per second) never accumulates in one
/// product. One instance per thread (re-anchoring writes to it); no clock
/// other than the counter is read after construction, so a wall-clock step
/// does not reach it.
class TscClock {
public:
    TscClock() = default;
    /// `hz`: counter frequency; (base_tsc, base_ns): one reading of both.
    TscClock(uint64_t hz, uint64_t base_tsc, uint64_t base_ns)
        : mult_(hz != 0
                    ? static_cast<uint64_t>((static_cast<unsigned __int128>(kNsPerSec) << 32) / hz)
                    : 0),
          anchor_cycles_(hz != 0 ? hz : 1),
          tsc0_(base_tsc),
          ns0_(base_ns) {}

    /// Nanoseconds at counter value `tsc` (not before the last anchor).
    uint64_t ns(uint64_t tsc) {
        uint64_t delta = tsc - tsc0_;
        if (delta >= anchor_cycles_) {
            // Re-anchor: at most one nanosecond of rounding per second.
            ns0_ += convert(delta);
            tsc0_ = tsc;
            delta = 0;
        }
        return ns0_ + convert(delta);
    }

    uint64_t mult() const { return mult_; }

private:
    uint64_t convert(uint64_t delta) const {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(delta) * mult_) >> 32);
    }

    uint64_t mult_ = 0;
    uint64_t anchor_cycles_ = 1;
    uint64_t tsc0_ = 0;
    uint64_t ns0_ = 0;
};

}  // namespace spate
