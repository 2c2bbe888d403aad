// The arena pools behind flow state on demand.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "spate/features/arena.hpp"

using spate::features::ArenaPool;
using spate::features::ArenaRef;

TEST(Arena, LeasesGrowsKeepingBytesAndReusesFreedBlocks) {
    ArenaPool pool(1 << 20, 4000, "t");
    ArenaRef r;
    uint8_t* a = pool.reserve(r, 10, 0);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(pool.capacity(r), 64u);  // the smallest class
    std::memcpy(a, "0123456789", 10);
    EXPECT_EQ(pool.reserve(r, 64, 10), a);  // fits: the same arena
    uint8_t* b = pool.reserve(r, 100, 10);  // grows to 128
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(pool.capacity(r), 128u);
    EXPECT_EQ(std::memcmp(b, "0123456789", 10), 0);
    uint8_t* c = pool.reserve(r, 3999, 128);  // the largest class is exactly max (rounded)
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(pool.capacity(r), 4032u);
    EXPECT_EQ(std::memcmp(c, "0123456789", 10), 0);
    EXPECT_EQ(pool.counters().leases, 1u);
    EXPECT_EQ(pool.counters().grows, 2u);
    EXPECT_EQ(pool.counters().bytes_in_use, 4032u);
    // The 64- and 128-byte blocks went back on their lists: reused first.
    ArenaRef r2;
    EXPECT_EQ(pool.reserve(r2, 50, 0), a);
    pool.release(r);
    pool.release(r2);
    EXPECT_EQ(r.cls, 0);
    EXPECT_EQ(pool.counters().bytes_in_use, 0u);
    EXPECT_EQ(pool.counters().bytes_peak, 4032u + 64u);
    ArenaRef r3;
    EXPECT_EQ(pool.reserve(r3, 4000, 0), c);
    EXPECT_EQ(pool.counters().dry, 0u);
}

TEST(Arena, ClassesStepByAtMostHalf) {
    ArenaPool pool(1 << 20, 65535, "t");
    uint32_t prev = 0;
    for (uint32_t need = 1; need <= 65535; need += 7) {
        ArenaRef r;
        ASSERT_NE(pool.reserve(r, need, 0), nullptr) << need;
        const uint32_t cap = pool.capacity(r);
        EXPECT_GE(cap, need);
        EXPECT_EQ(cap % 64, 0u);
        // At most a third of a block (past the smallest class) is unused.
        if (need > 64) {
            EXPECT_LE(cap, need + need / 2 + 64) << need;
        }
        EXPECT_GE(cap, prev);
        prev = cap;
        pool.release(r);
    }
}

TEST(Arena, ADryPoolRefusesKeepsTheOldArenaAndCounts) {
    ArenaPool pool(256, 1024, "t");  // room for 256 bytes in all
    ArenaRef a, b, c;
    uint8_t* pa = pool.reserve(a, 128, 0);
    ASSERT_NE(pa, nullptr);
    std::memset(pa, 7, 128);
    ASSERT_NE(pool.reserve(b, 100, 0), nullptr);  // 128: the region is used up
    EXPECT_EQ(pool.reserve(c, 10, 0), nullptr);
    EXPECT_EQ(c.lost, 1);
    EXPECT_EQ(c.cls, 0);
    // Growth refused: the arena and its bytes stay.
    EXPECT_EQ(pool.reserve(a, 500, 128), nullptr);
    EXPECT_EQ(a.lost, 1);
    EXPECT_EQ(pool.get(a), pa);
    EXPECT_EQ(pa[127], 7);
    EXPECT_EQ(pool.counters().dry, 2u);
    // A freed larger block serves a smaller request when the region is used up.
    pool.release(b);
    ArenaRef d;
    EXPECT_NE(pool.reserve(d, 64, 0), nullptr);
    EXPECT_EQ(pool.capacity(d), 128u);
    // No pool at all (size 0): every lease is refused.
    ArenaPool none(0, 1024, "none");
    ArenaRef e;
    EXPECT_EQ(none.reserve(e, 1, 0), nullptr);
    EXPECT_EQ(e.lost, 1);
}

TEST(Arena, SizesParseWithUnits) {
    using spate::features::parse_size;
    EXPECT_EQ(parse_size("0", "x"), 0u);
    EXPECT_EQ(parse_size("4096", "x"), 4096u);
    EXPECT_EQ(parse_size("4K", "x"), 4096u);
    EXPECT_EQ(parse_size("2M", "x"), 2u << 20);
    EXPECT_EQ(parse_size("3G", "x"), 3ull << 30);
    EXPECT_EQ(parse_size("1TB", "x"), 1ull << 40);
    for (const char* bad : {"", "-1", "K", "12Q", "1.5G", "99999999999T"}) {
        EXPECT_THROW(parse_size(bad, "x"), std::invalid_argument) << bad;
    }
}
