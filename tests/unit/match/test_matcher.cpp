// Content matching on hand-built TCP and UDP flows: patterns split over
// segments, out-of-order and overlapping segments, depth, directions, ports,
// end-anchored patterns, the match bound and stream-slab exhaustion.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spate/match/content_matcher.hpp"
#include "spate_config.h"

#if SPATE_HAVE_HYPERSCAN

namespace spate::match {
namespace {

constexpr uint16_t kPort = 80;

struct Hit {
    uint32_t id;
    uint32_t offset;
    int dir;
    bool operator==(const Hit&) const = default;
};

void PrintTo(const Hit& h, std::ostream* os) {
    *os << "{" << h.id << " @" << h.offset << " dir " << h.dir << "}";
}

class MatcherTest : public ::testing::Test {
protected:
    void load(const std::string& rules, uint32_t max_streams = 64) {
        RuleSet s;
        s.parse(rules, "t.rules");
        db_ = ContentDb::compile(std::move(s));
        m_ = std::make_unique<ContentMatcher>(db_, max_streams, &pool_);
    }
    /// A TCP segment with data at stream offset `off` (the SYN was at 999).
    void seg(ContentFlow& f, int dir, uint32_t off, const std::string& data,
             uint16_t port = kPort) {
        m_->tcp(f, dir, 1000 + off, false, reinterpret_cast<const uint8_t*>(data.data()),
                static_cast<uint32_t>(data.size()), port);
    }
    void syn(ContentFlow& f, int dir) { m_->tcp(f, dir, 999, true, nullptr, 0, kPort); }
    void dgram(ContentFlow& f, int dir, const std::string& data, uint16_t port = kPort) {
        m_->udp(f, dir, reinterpret_cast<const uint8_t*>(data.data()),
                static_cast<uint32_t>(data.size()), port);
    }
    std::vector<Hit> hits(const ContentFlow& f) const {
        std::vector<Hit> v;
        for (uint32_t i = 0; i < f.nhits; ++i) {
            v.push_back({db_->rules()[f.hits[i].rule].id, f.hits[i].offset, f.hits[i].dir});
        }
        return v;
    }

    features::BufferPool pool_{16, features::kOooArea};
    std::shared_ptr<const ContentDb> db_;
    std::unique_ptr<ContentMatcher> m_;
};

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST_F(MatcherTest, PatternSplitOverTwoSegments) {
    load("1 hw proto=tcp /hello world/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 0, "xxhello ");
    EXPECT_THAT(hits(f), IsEmpty());
    seg(f, 0, 8, "world and more");
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 13, 0}));  // the match ends after byte 12
    m_->finish(f, kPort);
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 13, 0}));
    EXPECT_THAT(m_->rule_hits(), ElementsAre(std::pair<uint32_t, uint64_t>{1, 1}));
    EXPECT_EQ(m_->streams_in_use(), 0u);
}

TEST_F(MatcherTest, PatternSplitOverFiveSegments) {
    load("1 alpha proto=tcp /abcdefghij/\n");
    ContentFlow f{};
    syn(f, 0);
    const std::string s = "..abcdefghij";
    seg(f, 0, 0, s.substr(0, 4));
    seg(f, 0, 4, s.substr(4, 2));
    seg(f, 0, 6, s.substr(6, 2));
    seg(f, 0, 8, s.substr(8, 2));
    seg(f, 0, 10, s.substr(10, 2));
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 12, 0}));
    m_->finish(f, kPort);
}

TEST_F(MatcherTest, OutOfOrderSegmentsMatchOnceAtTheRightOffset) {
    load("1 hw proto=tcp /hello world/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 8, "world");  // early: held
    EXPECT_THAT(hits(f), IsEmpty());
    seg(f, 0, 0, "xxhello ");  // fills the hole: both go to the stream
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 13, 0}));
    m_->finish(f, kPort);
    EXPECT_EQ(pool_.in_use(), 0u);  // the held segment's buffer went back
}

TEST_F(MatcherTest, RetransmissionsAndOverlapsAreScannedOnce) {
    load("1 hw proto=tcp /hello world/\n2 every proto=tcp match=every /o/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 0, "xxhello w");
    seg(f, 0, 0, "xxhello w");    // a retransmission
    seg(f, 0, 5, "lo world!");   // overlaps the last 4 bytes sent
    seg(f, 0, 5, "lo world!");
    // "xxhello world!": o at 6 and 9 (end offsets 7 and 10), the phrase at 13.
    EXPECT_THAT(hits(f), ElementsAre(Hit{2, 7, 0}, Hit{2, 10, 0}, Hit{1, 13, 0}));
    m_->finish(f, kPort);
}

TEST_F(MatcherTest, NothingBeyondTheDepth) {
    load("1 needle proto=tcp depth=10 /needle/\n");
    ContentFlow near{};
    syn(near, 0);
    seg(near, 0, 0, "..needle and more");  // ends at 8
    EXPECT_THAT(hits(near), ElementsAre(Hit{1, 8, 0}));
    m_->finish(near, kPort);

    ContentFlow far{};
    syn(far, 0);
    seg(far, 0, 0, "..........");
    seg(far, 0, 10, "needle");  // ends at 16: past the depth
    EXPECT_THAT(hits(far), IsEmpty());
    EXPECT_EQ(far.dir[0].done, 1);  // the stream stopped at the depth
    EXPECT_EQ(m_->streams_in_use(), 0u);
    ContentFlow straddle{};
    syn(straddle, 0);
    seg(straddle, 0, 0, "......nee");
    seg(straddle, 0, 9, "dle");  // ends at 12
    EXPECT_THAT(hits(straddle), IsEmpty());
    m_->finish(straddle, kPort);
}

TEST_F(MatcherTest, DirectionsAreKeptApart) {
    load("1 srv dir=server proto=tcp /200 OK/\n2 cli dir=client proto=tcp /GET/\n");
    ContentFlow f{};
    syn(f, 0);
    syn(f, 1);
    seg(f, 0, 0, "GET / HTTP/1.1 (not 200 OK)");
    EXPECT_THAT(hits(f), ElementsAre(Hit{2, 3, 0}));
    seg(f, 1, 0, "HTTP/1.1 200 OK GET");
    EXPECT_THAT(hits(f), ElementsAre(Hit{2, 3, 0}, Hit{1, 15, 1}));
    m_->finish(f, kPort);
}

TEST_F(MatcherTest, PortFilterIsTheRespondersPort) {
    load("1 web proto=tcp port=80,8000-8080 /GET/\n");
    ContentFlow f{};
    seg(f, 0, 0, "GET /", 8080);
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 3, 0}));
    m_->finish(f, 8080);
    ContentFlow g{};
    seg(g, 0, 0, "GET /", 443);
    EXPECT_THAT(hits(g), IsEmpty());
    m_->finish(g, 443);
}

TEST_F(MatcherTest, EndAnchoredPatternsReportWhenTheFlowEnds) {
    load("1 tail proto=tcp /bye$/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 0, "hello, bye");
    EXPECT_THAT(hits(f), IsEmpty());  // more bytes could follow
    m_->finish(f, kPort);
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 10, 0}));
}

TEST_F(MatcherTest, UdpDatagramsAreScannedOneByOneWithTheDepthOverTheFlow) {
    load("1 joined proto=udp /abcd/\n2 cd proto=udp /cd/\n3 shallow proto=udp depth=3 /cd/\n"
         "4 srv proto=udp dir=server /ok/\n");
    ContentFlow f{};
    dgram(f, 0, "ab");
    dgram(f, 0, "cd");  // never joined to "ab"; offset counts the first datagram
    dgram(f, 0, "cd");  // rule 2 is first-match: not again
    dgram(f, 1, "ok");
    EXPECT_THAT(hits(f), ElementsAre(Hit{2, 4, 0}, Hit{4, 2, 1}));
    m_->finish(f, kPort);
}

TEST_F(MatcherTest, EveryMatchUpToTheBoundThenFlagged) {
    load("1 x proto=tcp match=every /x/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 0, std::string(kMaxHits + 3, 'x'));
    EXPECT_EQ(f.nhits, kMaxHits);
    EXPECT_EQ(f.hits_truncated, 1);
    EXPECT_EQ(m_->counters().hits_truncated, 1u);
    // Counted even when not kept.
    EXPECT_THAT(m_->rule_hits(), ElementsAre(std::pair<uint32_t, uint64_t>{1, kMaxHits + 3}));
    for (uint32_t i = 0; i < kMaxHits; ++i) {
        EXPECT_EQ(f.hits[i].offset, i + 1);
    }
    m_->finish(f, kPort);
}

TEST_F(MatcherTest, StreamSlabExhaustionIsFlaggedAndCounted) {
    load("1 a proto=tcp /needle/\n", /*max_streams=*/1);
    ContentFlow first{};
    ContentFlow second{};
    seg(first, 0, 0, "...");  // takes the only stream
    seg(second, 0, 0, "needle");
    EXPECT_EQ(second.dir[0].no_state, 1);
    EXPECT_THAT(hits(second), IsEmpty());
    EXPECT_EQ(m_->counters().streams_refused, 1u);
    seg(first, 0, 3, "needle");
    EXPECT_THAT(hits(first), ElementsAre(Hit{1, 9, 0}));
    m_->finish(first, kPort);
    m_->finish(second, kPort);
    ContentFlow third{};  // the block is free again
    seg(third, 0, 0, "needle");
    EXPECT_THAT(hits(third), ElementsAre(Hit{1, 6, 0}));
    m_->finish(third, kPort);
    EXPECT_EQ(m_->counters().streams_opened, 2u);
    EXPECT_EQ(m_->streams_in_use(), 0u);
}

TEST_F(MatcherTest, AHoleThatCannotBeHeldStopsTheDirection) {
    load("1 a proto=tcp /needle/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 0, "ab");
    seg(f, 0, 100000, "needle");  // far beyond what can be held
    EXPECT_EQ(f.dir[0].gap, 1);
    EXPECT_EQ(m_->counters().gaps, 1u);
    seg(f, 0, 2, "needle");
    EXPECT_THAT(hits(f), IsEmpty());
    m_->finish(f, kPort);
    EXPECT_EQ(m_->streams_in_use(), 0u);
}

TEST_F(MatcherTest, AppRulesNameTheFlowAndAreNotListed) {
    // The app rule loaded first wins, whichever matched first in the bytes.
    load("1 plain proto=tcp /GET/\n"
         "2 web app=http proto=tcp dir=client /^GET \\//\n"
         "3 any-text app=text proto=tcp /[a-z]{4}/\n");
    ContentFlow f{};
    syn(f, 0);
    seg(f, 0, 0, "GET /abcd HTTP/1.1\r\n");
    m_->finish(f, kPort);
    EXPECT_THAT(hits(f), ElementsAre(Hit{1, 3, 0}));  // only the ordinary rule is listed
    ASSERT_NE(f.app_rule, 0u);
    EXPECT_EQ(db_->rules()[f.app_rule - 1].app, "http");
    ContentFlow g{};
    syn(g, 0);
    seg(g, 0, 0, "zzzz GET / no");  // app rule 2 is anchored: only rule 3 names it
    m_->finish(g, kPort);
    ASSERT_NE(g.app_rule, 0u);
    EXPECT_EQ(db_->rules()[g.app_rule - 1].app, "text");
}

TEST(MatcherReload, NewFlowsUseNewRulesOldStreamsFinishWithTheirsThenTheOldIsFreed) {
    features::BufferPool pool{16, features::kOooArea};
    RuleSet a;
    a.parse("1 alpha proto=tcp /ALPHA/\n", "a.rules");
    auto reg = std::make_shared<RuleRegistry>(ContentDb::compile(std::move(a)));
    ContentMatcher m(reg, 8, &pool);
    auto seg = [&](ContentFlow& f, uint32_t off, const std::string& d) {
        m.tcp(f, 0, 1000 + off, false, reinterpret_cast<const uint8_t*>(d.data()),
              static_cast<uint32_t>(d.size()), kPort);
    };
    ContentFlow old{};
    m.tcp(old, 0, 999, true, nullptr, 0, kPort);
    seg(old, 0, "xxALP");  // a stream open on generation 1

    RuleSet b;
    b.parse("1 alpha proto=tcp /ALPHA/\n2 beta proto=tcp /BETA/\n", "a.rules");
    ASSERT_TRUE(reg->publish(ContentDb::compile(std::move(b))));
    m.refresh();
    EXPECT_EQ(m.generations_held(), 2u);  // generation 1 still has a flow
    ContentFlow young{};
    m.tcp(young, 0, 999, true, nullptr, 0, kPort);
    seg(young, 0, "ALPHA BETA");
    seg(old, 5, "HA BETA");  // the old stream goes on with generation 1's rules
    m.finish(young, kPort);
    m.finish(old, kPort);
    EXPECT_EQ(old.gen, 1u);
    EXPECT_EQ(young.gen, 2u);
    auto names = [&](const ContentFlow& f) {
        std::vector<std::string> v;
        for (uint32_t i = 0; i < f.nhits; ++i) {
            v.push_back((*reg->rules(f.gen))[f.hits[i].rule].name);
        }
        return v;
    };
    EXPECT_THAT(names(old), ElementsAre("alpha"));
    EXPECT_THAT(names(young), ElementsAre("alpha", "beta"));
    EXPECT_EQ(m.generations_held(), 1u);  // the last flow of generation 1 ended: freed
    EXPECT_EQ(m.streams_in_use(), 0u);
    // Counters by rule id over both generations.
    EXPECT_THAT(m.rule_hits(), ElementsAre(std::pair<uint32_t, uint64_t>{1, 2},
                                           std::pair<uint32_t, uint64_t>{2, 1}));
    // A generation nobody holds is let go at once.
    RuleSet c;
    c.parse("3 gamma /GAMMA/\n", "a.rules");
    ASSERT_TRUE(reg->publish(ContentDb::compile(std::move(c))));
    m.refresh();
    EXPECT_EQ(m.generations_held(), 1u);
    EXPECT_EQ((*reg->rules(3))[0].name, "gamma");
    EXPECT_EQ((*reg->rules(1))[0].name, "alpha");  // tables stay for records in flight
}

}  // namespace
}  // namespace spate::match

#endif
