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

/// Cycle counter to nanoseconds in integers: nanoseconds are kept in 64.64
/// fixed point, ns = (base + delta * mult) >> 64 with mult = 10^9 * 2^64 /
/// hz, so the rounding of mult is below 10^-18 of the elapsed time and
/// nothing is lost when the anchor moves. The anchor moves forward once the
/// delta passes about a second, which keeps the product far from overflow
/// whatever the gap between reads. One instance per thread (re-anchoring
/// writes to it); no clock other than the counter is read after
/// construction, so a wall-clock step does not reach it.
class TscClock {
public:
    TscClock() = default;
    /// `hz`: counter frequency; (base_tsc, base_ns): one reading of both.
    TscClock(uint64_t hz, uint64_t base_tsc, uint64_t base_ns)
        : mult_(hz != 0 ? (static_cast<u128>(kNsPerSec) << 64) / hz : 0),
          anchor_cycles_(hz != 0 ? hz : 1),
          tsc0_(base_tsc),
          ns0_(static_cast<u128>(base_ns) << 64) {}

    /// Nanoseconds at counter value `tsc` (not before the last anchor).
    uint64_t ns(uint64_t tsc) {
        const uint64_t delta = tsc - tsc0_;
        const u128 now = ns0_ + static_cast<u128>(delta) * mult_;
        if (delta >= anchor_cycles_) {
            ns0_ = now;
            tsc0_ = tsc;
        }
        return static_cast<uint64_t>(now >> 64);
    }

private:
    using u128 = unsigned __int128;

    u128 mult_ = 0;
    uint64_t anchor_cycles_ = 1;
    uint64_t tsc0_ = 0;
    u128 ns0_ = 0;
};

}  // namespace spate
