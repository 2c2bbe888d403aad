#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <random>
#include <vector>

#include "spate/flow/flow_table.hpp"

using namespace spate;

namespace {

FlowKey make_key(uint32_t a, uint32_t b, uint16_t sp, uint16_t dp, uint8_t proto = 6) {
    FlowKey k;
    uint8_t x[4] = {10, static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
                    static_cast<uint8_t>(a)};
    uint8_t y[4] = {172, static_cast<uint8_t>(b >> 16), static_cast<uint8_t>(b >> 8),
                    static_cast<uint8_t>(b)};
    k.src = IpAddr::v4(x);
    k.dst = IpAddr::v4(y);
    k.sport = sp;
    k.dport = dp;
    k.proto = proto;
    k.ip_version = 4;
    return k;
}

}  // namespace

TEST(FlowKey, SymmetricHashAndCanonical) {
    std::mt19937 rng(7);
    for (int i = 0; i < 100000; ++i) {
        FlowKey k = make_key(rng(), rng(), static_cast<uint16_t>(rng()),
                             static_cast<uint16_t>(rng()), static_cast<uint8_t>(rng()));
        ASSERT_EQ(symmetric_hash(k), symmetric_hash(k.reversed()));
        ASSERT_EQ(k.canonical(), k.reversed().canonical());
    }
    // Different flows rarely collide.
    FlowKey a = make_key(1, 2, 1000, 80), b = make_key(1, 2, 1001, 80);
    EXPECT_NE(symmetric_hash(a), symmetric_hash(b));
}

TEST(FlowTable, FindBothDirections) {
    FlowTable t(FlowTableConfig{.max_flows = 16});
    FlowKey k = make_key(1, 2, 1234, 80);
    uint64_t h = symmetric_hash(k);
    bool rev = true;
    EXPECT_EQ(t.find(k, h, rev), nullptr);
    auto* e = t.insert(k, h, [](FlowTable::Entry&) { FAIL(); });
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(t.find(k, h, rev), e);
    EXPECT_FALSE(rev);
    EXPECT_EQ(t.find(k.reversed(), h, rev), e);
    EXPECT_TRUE(rev);
    t.remove(e);
    EXPECT_EQ(t.find(k, h, rev), nullptr);
    EXPECT_EQ(t.size(), 0u);
}

// Random inserts and removals against std::map, so that backward-shift
// deletion is checked on long probe chains (a table at its capacity).
TEST(FlowTable, MatchesReferenceUnderChurn) {
    const uint32_t cap = 4096;
    FlowTable t(FlowTableConfig{.max_flows = cap});
    std::map<uint64_t, FlowTable::Entry*> ref;  // id -> entry
    std::mt19937_64 rng(3);
    auto key_of = [](uint64_t id) {
        return make_key(static_cast<uint32_t>(id), static_cast<uint32_t>(id * 7), 1, 2);
    };
    for (int step = 0; step < 200000; ++step) {
        uint64_t id = rng() % 8000;
        FlowKey k = key_of(id);
        uint64_t h = symmetric_hash(k);
        bool rev;
        auto* found = t.find(k, h, rev);
        auto it = ref.find(id);
        ASSERT_EQ(found != nullptr, it != ref.end()) << "step " << step;
        if (found != nullptr) {
            ASSERT_EQ(found, it->second);
            if (rng() % 2) {
                t.remove(found);
                ref.erase(it);
            }
        } else if (ref.size() < cap) {
            auto* e = t.insert(k, h, [](FlowTable::Entry&) { FAIL() << "no eviction expected"; });
            ref[id] = e;
        }
        ASSERT_EQ(t.size(), ref.size());
    }
}

TEST(FlowTable, EvictsLeastRecentlyActive) {
    FlowTable t(FlowTableConfig{.max_flows = 3});
    std::vector<FlowTable::Entry*> es;
    for (uint32_t i = 0; i < 3; ++i) {
        FlowKey k = make_key(i, i, 1, 2);
        auto* e = t.insert(k, symmetric_hash(k), [](FlowTable::Entry&) {});
        e->data.last_ns = i;
        es.push_back(e);
    }
    es[0]->data.last_ns = 10;  // flow 0 becomes the most recent
    t.touch(es[0], 0, 10);     // (same activity bucket: it stays at the head)
    FlowKey victim_key;
    FlowKey k = make_key(9, 9, 1, 2);
    t.insert(k, symmetric_hash(k), [&](FlowTable::Entry& v) {
        victim_key = v.data.key;
        EXPECT_EQ(v.data.end_reason, EndReason::evicted);
    });
    EXPECT_EQ(victim_key, make_key(1, 1, 1, 2));
    EXPECT_EQ(t.counters().evicted, 1u);
    EXPECT_EQ(t.size(), 3u);
}

TEST(FlowTable, ExpiryVisitsOnlyDueFlows) {
    FlowTableConfig cfg;
    cfg.max_flows = 1000;
    cfg.idle_timeout_ns = 100;
    cfg.active_timeout_ns = 0;
    cfg.tcp_close_timeout_ns = 10;
    FlowTable t(cfg);
    for (uint32_t i = 0; i < 1000; ++i) {
        FlowKey k = make_key(i, i, 1, 2);
        auto* e = t.insert(k, symmetric_hash(k), [](FlowTable::Entry&) {});
        e->data.first_ns = e->data.last_ns = i;
        if (i % 10 == 0) {
            t.mark_closing(e);
        }
    }
    int visited = 0;
    t.expire(150, [&](FlowTable::Entry& e) {
        ++visited;
        if (e.closing) {
            EXPECT_EQ(e.data.end_reason, EndReason::tcp_end);
        } else {
            EXPECT_EQ(e.data.end_reason, EndReason::idle);
            EXPECT_LT(e.data.last_ns, 50u);
        }
    });
    // idle: last < 50 (50 flows, 45 of them open); closing: last < 140 (14 flows)
    EXPECT_EQ(visited, 45 + 14);
    EXPECT_EQ(t.size(), 1000u - 59u);
}

TEST(FlowTable, ActiveTimeoutKeepsFlow) {
    FlowTableConfig cfg;
    cfg.max_flows = 10;
    cfg.idle_timeout_ns = 0;
    cfg.active_timeout_ns = 100;
    FlowTable t(cfg);
    FlowKey k = make_key(1, 1, 1, 2);
    auto* e = t.insert(k, symmetric_hash(k), [](FlowTable::Entry&) {});
    e->data.first_ns = 0;
    int n = 0;
    t.expire(99, [&](FlowTable::Entry&) { ++n; });
    EXPECT_EQ(n, 0);
    t.expire(100, [&](FlowTable::Entry& x) {
        ++n;
        EXPECT_EQ(x.data.end_reason, EndReason::active);
        x.data.first_ns = 100;
    });
    EXPECT_EQ(n, 1);
    EXPECT_EQ(t.size(), 1u);
}

TEST(FlowTable, ABasicFlowCostsAtMost256BytesWithItsIndex) {
    // The bench-harness issue's memory budget for records without feature
    // units: the entry (record, links, TCP tracking) plus its share of the
    // slot array, which is kept at most half full.
    FlowTableConfig cfg;
    cfg.max_flows = 1u << 16;
    FlowTable t(cfg);
    const double per_flow = double(t.memory_bytes()) / t.capacity();
    EXPECT_LE(per_flow, 256.0);
    std::cout << "[ memory ] " << per_flow << " bytes per flow (entry " << FlowTable::kEntryBytes
              << ")\n";
}

TEST(FlowKey, SeededHashKeepsSymmetryAndMovesEveryKey) {
    std::mt19937 rng(11);
    int moved = 0;
    for (int i = 0; i < 10000; ++i) {
        FlowKey k = make_key(rng(), rng(), static_cast<uint16_t>(rng()),
                             static_cast<uint16_t>(rng()), static_cast<uint8_t>(rng()));
        const uint64_t seed = (uint64_t{rng()} << 32) | rng();
        ASSERT_EQ(symmetric_hash(k, seed), symmetric_hash(k.reversed(), seed));
        moved += symmetric_hash(k, seed) != symmetric_hash(k, 0);
    }
    EXPECT_EQ(moved, 10000);
}

/// Tuples whose unseeded hashes share their home slot in a table of
/// `max_flows` (found by search, as an attacker who knows the hash would).
std::vector<FlowKey> colliding_tuples(uint32_t max_flows, size_t want) {
    uint32_t nslots = 16;  // as the table sizes its slot array: at most half full
    while (nslots < 2 * max_flows) {
        nslots <<= 1;
    }
    std::vector<FlowKey> out;
    for (uint32_t i = 0; out.size() < want; ++i) {
        FlowKey k = make_key(i, 7, static_cast<uint16_t>(i * 7919), 443);
        if ((symmetric_hash(k, 0) & (nslots - 1)) == 5) {
            out.push_back(k);
        }
    }
    return out;
}

TEST(FlowTable, CraftedCollisionsHitTheProbeBoundWithAKnownSeedAndSpreadWithAnother) {
    constexpr uint32_t kFlows = 2048;
    const std::vector<FlowKey> keys = colliding_tuples(kFlows, 600);
    // Hashed with the seed they were crafted for: one probe chain, bounded.
    {
        FlowTable t(FlowTableConfig{.max_flows = kFlows});
        size_t inserted = 0;
        for (const FlowKey& k : keys) {
            inserted +=
                t.insert(k, symmetric_hash(k, 0), [](FlowTable::Entry&) { FAIL(); }) != nullptr;
        }
        EXPECT_EQ(inserted, FlowTable::kMaxProbe);
        EXPECT_EQ(t.counters().probe_overflow, keys.size() - FlowTable::kMaxProbe);
        EXPECT_EQ(t.size(), FlowTable::kMaxProbe);
        // Every flow that got in is found; the refused ones are not there.
        size_t found = 0;
        for (const FlowKey& k : keys) {
            bool rev = false;
            found += t.find(k, symmetric_hash(k, 0), rev) != nullptr;
        }
        EXPECT_EQ(found, FlowTable::kMaxProbe);
    }
    // Any other seed scatters them: every flow gets in.
    for (uint64_t seed : {0x5eedULL, 0x9e3779b97f4a7c15ULL}) {
        FlowTable t(FlowTableConfig{.max_flows = kFlows});
        for (const FlowKey& k : keys) {
            ASSERT_NE(t.insert(k, symmetric_hash(k, seed), [](FlowTable::Entry&) { FAIL(); }),
                      nullptr);
        }
        EXPECT_EQ(t.counters().probe_overflow, 0u);
        EXPECT_EQ(t.size(), keys.size());
    }
}

TEST(FlowTable, ActivityMovesAFlowOnlyWhenItsBucketChanges) {
    FlowTableConfig cfg;
    cfg.max_flows = 16;
    cfg.idle_timeout_ns = 1'000'000'000;
    cfg.active_timeout_ns = 0;
    FlowTable t(cfg);
    constexpr uint64_t kBucket = uint64_t{1} << FlowTable::kBucketShift;
    std::vector<FlowTable::Entry*> es;
    for (uint32_t i = 0; i < 3; ++i) {
        FlowKey k = make_key(i, i, 1, 2);
        auto* e = t.insert(k, symmetric_hash(k), [](FlowTable::Entry&) {});
        e->data.first_ns = e->data.last_ns = 10 * kBucket + i;
        es.push_back(e);
    }
    // Flow 0 again within its bucket: not moved; a sweep at which only flow
    // 0 would be due finds it at the head anyway.
    es[0]->data.last_ns = 10 * kBucket + 100;
    t.touch(es[0], 10 * kBucket, 10 * kBucket + 100);
    // Flow 1 in a later bucket: moved behind flow 2.
    es[1]->data.last_ns = 12 * kBucket;
    t.touch(es[1], 10 * kBucket + 1, 12 * kBucket);
    std::vector<uint64_t> order;
    t.expire(12 * kBucket + 2'000'000'000,
             [&](FlowTable::Entry& e) { order.push_back(e.data.last_ns); });
    EXPECT_EQ(order, (std::vector<uint64_t>{10 * kBucket + 100, 10 * kBucket + 2, 12 * kBucket}));
}

TEST(FlowTable, ASweepStepsOverFlowsNotYetDueInTheBoundaryBucket) {
    FlowTableConfig cfg;
    cfg.max_flows = 16;
    cfg.idle_timeout_ns = 1'000'000'000;
    cfg.active_timeout_ns = 0;
    FlowTable t(cfg);
    constexpr uint64_t kBucket = uint64_t{1} << FlowTable::kBucketShift;
    const uint64_t base = 40 * kBucket;
    FlowKey a = make_key(1, 1, 1, 2), b = make_key(2, 2, 1, 2), c = make_key(3, 3, 1, 2);
    auto* ea = t.insert(a, symmetric_hash(a), [](FlowTable::Entry&) {});
    auto* eb = t.insert(b, symmetric_hash(b), [](FlowTable::Entry&) {});
    auto* ec = t.insert(c, symmetric_hash(c), [](FlowTable::Entry&) {});
    ea->data.last_ns = base + 1000;  // a's later packet, same bucket: a stays first
    t.touch(ea, base, base + 1000);
    eb->data.last_ns = base + 10;
    ec->data.last_ns = base + 5 * kBucket;  // a later bucket
    t.touch(ec, base, base + 5 * kBucket);
    // Due for b only: the sweep steps over a (same bucket, not due) to b,
    // and stops at c's later bucket.
    std::vector<FlowKey> gone;
    t.expire(base + 10 + cfg.idle_timeout_ns + 1,
             [&](FlowTable::Entry& e) { gone.push_back(e.data.key); });
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], b);
    t.expire(base + 1000 + cfg.idle_timeout_ns + 1,
             [&](FlowTable::Entry& e) { gone.push_back(e.data.key); });
    ASSERT_EQ(gone.size(), 2u);
    EXPECT_EQ(gone[1], a);
    EXPECT_EQ(t.size(), 1u);
}
