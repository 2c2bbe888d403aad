#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "spate/worker/worker.hpp"

using namespace spate;

namespace {

constexpr uint64_t kSec = 1'000'000'000ULL;

parse::DecodedPacket tcp(uint8_t a, uint8_t b, uint16_t sp, uint16_t dp, uint8_t flags, uint64_t ts,
                         uint32_t payload = 0) {
    parse::DecodedPacket d;
    uint8_t x[4] = {10, 0, 0, a};
    uint8_t y[4] = {10, 0, 0, b};
    d.key.src = IpAddr::v4(x);
    d.key.dst = IpAddr::v4(y);
    d.key.sport = sp;
    d.key.dport = dp;
    d.key.proto = 6;
    d.key.ip_version = 4;
    d.tcp_flags = flags;
    d.ts_ns = ts;
    d.payload_len = payload;
    d.ip_len = 40 + payload;
    d.ttl = 64;
    return d;
}

struct Harness {
    SpscRing ring{1 << 20};
    features::FeatureSet fs;
    Worker w;
    explicit Harness(FlowTableConfig cfg) : w(0, cfg, ring, fs) {}

    void feed(const parse::DecodedPacket& d) { w.on_packet(d, symmetric_hash(d.key), nullptr); }

    std::vector<FlowData> records() {
        w.publish();
        std::vector<FlowData> out;
        SpscRing::Message m;
        while (ring.peek(m)) {
            if (static_cast<MsgType>(m.type) == MsgType::record) {
                FlowData f;
                std::memcpy(&f, m.data, sizeof(f));
                out.push_back(f);
            }
            ring.pop(m);
        }
        ring.release();
        return out;
    }
};

FlowTableConfig cfg_default() {
    FlowTableConfig c;
    c.max_flows = 1024;
    return c;
}

}  // namespace

TEST(Worker, InitiatorIsFirstSenderAndCountsPerDirection) {
    Harness h(cfg_default());
    h.feed(tcp(1, 2, 1000, 80, 0x02, 1 * kSec));
    h.feed(tcp(2, 1, 80, 1000, 0x12, 1 * kSec + 10));
    h.feed(tcp(1, 2, 1000, 80, 0x18, 1 * kSec + 20, 100));
    h.w.finish();
    auto r = h.records();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].key.sport, 1000);
    EXPECT_EQ(r[0].dir[0].pkts, 2u);
    EXPECT_EQ(r[0].dir[1].pkts, 1u);
    EXPECT_EQ(r[0].dir[0].bytes, 100u);
    EXPECT_EQ(r[0].dir[0].ip_bytes, 180u);
    EXPECT_EQ(r[0].dir[0].tcp_flags, 0x1a);
    EXPECT_EQ(r[0].dir[1].tcp_flags, 0x12);
    EXPECT_EQ(r[0].first_ns, 1 * kSec);
    EXPECT_EQ(r[0].last_ns, 1 * kSec + 20);
    EXPECT_EQ(r[0].end_reason, EndReason::end_of_input);
}

TEST(Worker, SynAckFirstMakesReceiverTheInitiator) {
    Harness h(cfg_default());
    h.feed(tcp(2, 1, 80, 1000, 0x12, kSec));
    h.feed(tcp(1, 2, 1000, 80, 0x10, kSec + 5));
    h.w.finish();
    auto r = h.records();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].key.sport, 1000);
    EXPECT_EQ(r[0].key.dport, 80);
    EXPECT_TRUE(r[0].initiator_from_synack);
    EXPECT_EQ(r[0].dir[0].pkts, 1u);
    EXPECT_EQ(r[0].dir[1].pkts, 1u);
    EXPECT_EQ(r[0].dir[1].tcp_flags, 0x12);
}

TEST(Worker, IdleGapSplitsFlowAtLookup) {
    FlowTableConfig c = cfg_default();
    c.idle_timeout_ns = 15 * kSec;
    Harness h(c);
    h.feed(tcp(1, 2, 1000, 80, 0x10, kSec));
    h.feed(tcp(2, 1, 80, 1000, 0x10, 17 * kSec));  // 16 s later: a new flow, initiated by 2
    h.w.finish();
    auto r = h.records();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].end_reason, EndReason::idle);
    EXPECT_EQ(r[0].key.sport, 1000);
    EXPECT_EQ(r[1].key.sport, 80);
}

TEST(Worker, TimeAdvanceExpiresQuietFlows) {
    FlowTableConfig c = cfg_default();
    c.idle_timeout_ns = 15 * kSec;
    Harness h(c);
    h.feed(tcp(1, 2, 1000, 80, 0x10, kSec));
    h.w.advance(10 * kSec);
    EXPECT_TRUE(h.records().empty());
    h.w.advance(17 * kSec);
    auto r = h.records();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].end_reason, EndReason::idle);
}

TEST(Worker, TcpEndAfterFinsAndNewSynStartsNewFlow) {
    FlowTableConfig c = cfg_default();
    c.tcp_close_timeout_ns = 2 * kSec;
    Harness h(c);
    h.feed(tcp(1, 2, 1000, 80, 0x02, kSec));
    h.feed(tcp(2, 1, 80, 1000, 0x12, kSec + 1));
    h.feed(tcp(1, 2, 1000, 80, 0x11, kSec + 2));
    h.feed(tcp(2, 1, 80, 1000, 0x11, kSec + 3));
    h.feed(tcp(1, 2, 1000, 80, 0x10, kSec + 4));  // last ACK stays in the flow
    h.feed(tcp(1, 2, 1000, 80, 0x02, kSec + 5));  // reuse of the 5-tuple
    h.w.finish();
    auto r = h.records();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].end_reason, EndReason::tcp_end);
    EXPECT_EQ(r[0].dir[0].pkts + r[0].dir[1].pkts, 5u);
    EXPECT_EQ(r[1].dir[0].pkts, 1u);
}

TEST(Worker, RstClosesAfterLinger) {
    FlowTableConfig c = cfg_default();
    c.tcp_close_timeout_ns = 2 * kSec;
    Harness h(c);
    h.feed(tcp(1, 2, 1000, 80, 0x02, kSec));
    h.feed(tcp(2, 1, 80, 1000, 0x14, kSec + 1));
    h.w.advance(2 * kSec);
    EXPECT_TRUE(h.records().empty());
    h.w.advance(4 * kSec);
    auto r = h.records();
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].end_reason, EndReason::tcp_end);
}

TEST(Worker, ActiveTimeoutExportsAndContinues) {
    FlowTableConfig c = cfg_default();
    c.idle_timeout_ns = 0;
    c.active_timeout_ns = 10 * kSec;
    Harness h(c);
    for (uint64_t s = 0; s < 25; ++s) {
        h.feed(tcp(2, 1, 80, 1000, 0x10, (s + 1) * kSec));
    }
    h.w.finish();
    auto r = h.records();
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].end_reason, EndReason::active);
    EXPECT_EQ(r[0].dir[0].pkts, 10u);
    EXPECT_EQ(r[1].dir[0].pkts, 10u);
    EXPECT_EQ(r[2].dir[0].pkts, 5u);
    EXPECT_EQ(r[1].key.sport, 80);  // orientation kept across the split
    uint64_t total = 0;
    for (auto& f : r)
        total += f.dir[0].pkts;
    EXPECT_EQ(total, 25u);
}

TEST(Worker, FullTableEvictsAndCounts) {
    FlowTableConfig c = cfg_default();
    c.max_flows = 4;
    Harness h(c);
    for (uint8_t i = 0; i < 10; ++i) {
        h.feed(tcp(i, 200, 1000, 80, 0x10, kSec + i));
    }
    auto early = h.records();
    EXPECT_EQ(early.size(), 6u);
    for (auto& f : early)
        EXPECT_EQ(f.end_reason, EndReason::evicted);
    h.w.finish();
    EXPECT_EQ(h.records().size(), 4u);
    EXPECT_EQ(h.w.table().counters().evicted, 6u);
}

// A packet arriving after the close linger of a finished TCP flow ends that
// flow as tcp_end (as a sweep would have), not idle: records must not depend
// on whether a sweep ran in between.
TEST(Worker, LookupAfterCloseLingerIsTcpEndLikeTheSweep) {
    FlowTableConfig c = cfg_default();
    c.tcp_close_timeout_ns = 2 * kSec;
    c.idle_timeout_ns = 15 * kSec;
    Harness h(c);
    h.feed(tcp(1, 2, 1000, 80, 0x11, kSec));
    h.feed(tcp(2, 1, 80, 1000, 0x11, kSec + 1));
    h.feed(tcp(1, 2, 1000, 80, 0x04, 20 * kSec));  // no sweep ran in between
    h.w.finish();
    auto r = h.records();
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].end_reason, EndReason::tcp_end);
    EXPECT_EQ(r[0].dir[0].pkts + r[0].dir[1].pkts, 2u);
}
