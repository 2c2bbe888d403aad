// TscClock: counter cycles to nanoseconds in integers, re-anchored as it
// goes, against exact arithmetic.
#include "spate/core/clock.hpp"

#include <gtest/gtest.h>

#include <cstdint>

using namespace spate;

namespace {

/// Exact: base + cycles * 10^9 / hz, rounded down.
uint64_t exact(uint64_t base_ns, uint64_t cycles, uint64_t hz) {
    return base_ns + static_cast<uint64_t>(static_cast<unsigned __int128>(cycles) * kNsPerSec / hz);
}

TEST(TscClock, ConvertsExactlyAtCommonFrequenciesOverAnHourOfReads) {
    for (uint64_t hz : {1'000'000'000ULL, 2'100'000'000ULL, 2'894'561'000ULL, 3'700'000'000ULL}) {
        const uint64_t base_tsc = 123'456'789'000ULL;
        const uint64_t base_ns = 1'700'000'000'000'000'000ULL;
        TscClock c(hz, base_tsc, base_ns);
        // Read it the way a poll loop does: often, over an hour of cycles.
        uint64_t last = 0;
        for (uint64_t step = 0; step <= 3600ULL * 1000; ++step) {
            const uint64_t cycles = step * (hz / 1000);  // every millisecond
            const uint64_t ns = c.ns(base_tsc + cycles);
            ASSERT_GE(ns, last) << "went backwards at step " << step;
            last = ns;
            if (step % 100'000 == 0) {
                const uint64_t want = exact(base_ns, cycles, hz);
                const uint64_t diff = ns > want ? ns - want : want - ns;
                ASSERT_LE(diff, 1u) << hz << " Hz after " << cycles / hz << " s";
            }
        }
    }
}

TEST(TscClock, LongGapsBetweenReadsStayExact) {
    const uint64_t hz = 2'500'000'000ULL;
    TscClock c(hz, 0, 0);
    // A day between two reads: one re-anchor, no overflow.
    const uint64_t day = 86'400ULL * hz;
    EXPECT_NEAR(static_cast<double>(c.ns(day)), 86'400e9, 1.0);
    EXPECT_NEAR(static_cast<double>(c.ns(day + hz)), 86'401e9, 1.0);
    EXPECT_NEAR(static_cast<double>(c.ns(2 * day + hz / 3)), 172'800e9 + 1e9 / 3, 1.0);
}

TEST(MonoClock, MovesForward) {
    const uint64_t a = mono_ns();
    const uint64_t b = mono_ns();
    EXPECT_GE(b, a);
    EXPECT_GT(realtime_ns(), 1'600'000'000ULL * kNsPerSec);
}

}  // namespace
