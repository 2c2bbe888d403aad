#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "spate/core/ip_addr.hpp"
#include "spate/core/spsc_ring.hpp"

using spate::SpscRing;

TEST(SpscRing, SingleThreadOrderAndWrap) {
    SpscRing ring(4096);
    uint64_t next_write = 0, next_read = 0;
    std::mt19937 rng(1);
    for (int round = 0; round < 2000; ++round) {
        int burst = 1 + static_cast<int>(rng() % 20);
        for (int i = 0; i < burst; ++i) {
            size_t len = 8 + rng() % 200;
            void* p = ring.try_reserve(7, len);
            if (p == nullptr) {
                break;
            }
            std::memset(p, static_cast<int>(next_write & 0xff), len);
            std::memcpy(p, &next_write, 8);
            ++next_write;
        }
        ring.publish();
        SpscRing::Message m;
        int take = static_cast<int>(rng() % 25);
        for (int i = 0; i < take && ring.peek(m); ++i) {
            ASSERT_EQ(m.type, 7u);
            uint64_t v;
            std::memcpy(&v, m.data, 8);
            ASSERT_EQ(v, next_read);
            for (uint32_t j = 8; j < m.len; ++j) {
                ASSERT_EQ(m.data[j], static_cast<uint8_t>(next_read & 0xff));
            }
            ++next_read;
            ring.pop(m);
        }
        ring.release();
    }
    EXPECT_GT(next_read, 1000u);
}

TEST(SpscRing, FullRingRefusesAndRecovers) {
    SpscRing ring(4096);
    int n = 0;
    while (ring.try_reserve(1, 100) != nullptr) {
        ++n;
    }
    EXPECT_GT(n, 20);
    EXPECT_LT(n, 4096 / 100 + 1);
    ring.publish();
    SpscRing::Message m;
    ASSERT_TRUE(ring.peek(m));
    ring.pop(m);
    ring.release();
    EXPECT_NE(ring.try_reserve(1, 100), nullptr);
}

TEST(SpscRing, TwoThreadsDeliverEverythingInOrder) {
    SpscRing ring(1 << 16);
    constexpr uint64_t kCount = 2'000'000;
    std::thread producer([&] {
        for (uint64_t i = 0; i < kCount; ++i) {
            size_t len = 8 + (i % 5) * 8;
            void* p;
            while ((p = ring.try_reserve(2, len)) == nullptr) {
                ring.publish();
                std::this_thread::yield();
            }
            std::memcpy(p, &i, 8);
            if (i % 16 == 0) {
                ring.publish();
            }
        }
        ring.publish();
    });
    uint64_t expect = 0;
    SpscRing::Message m;
    while (expect < kCount) {
        if (!ring.peek(m)) {
            ring.release();
            std::this_thread::yield();
            continue;
        }
        uint64_t v;
        std::memcpy(&v, m.data, 8);
        ASSERT_EQ(v, expect);
        ASSERT_EQ(m.len, 8 + (v % 5) * 8);
        ++expect;
        ring.pop(m);
        if (expect % 64 == 0) {
            ring.release();
        }
    }
    ring.release();
    producer.join();
}

TEST(IpAddr, Format) {
    uint8_t v4[4] = {192, 0, 2, 1};
    EXPECT_EQ(spate::to_string(spate::IpAddr::v4(v4), 4), "192.0.2.1");
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    EXPECT_EQ(spate::to_string(spate::IpAddr::v6(v6), 6), "2001:db8::1");
}

TEST(IpAddr, FormatsEveryIpv4OctetLikeInetNtop) {
    for (int v = 0; v < 256; ++v) {
        uint8_t a[4] = {static_cast<uint8_t>(v), static_cast<uint8_t>(255 - v), 0,
                        static_cast<uint8_t>(v * 7)};
        char want[64];
        inet_ntop(AF_INET, a, want, sizeof(want));
        char got[64];
        size_t n = spate::format_ip(spate::IpAddr::v4(a), 4, got);
        EXPECT_EQ(std::string(got, n), want);
        EXPECT_EQ(got[n], '\0');
    }
}
