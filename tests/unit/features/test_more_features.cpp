// The units ppi, salt, wht, hd, os and hist through the worker: hand-made
// frames are decoded, run through a Worker with the unit enabled, and the
// JSON record is checked value by value.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "feature_run.hpp"
#include "spate/export/record_json.hpp"
#include "spate/worker/worker.hpp"

using namespace spate;
using namespace spate::test;

namespace {

constexpr uint64_t kMs = 1'000'000ULL;
const V4 kA{10, 0, 0, 1};
const V4 kB{10, 0, 0, 2};

Bytes tcp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, TcpOpt o, const Bytes& payload,
                size_t pad_to = 0, uint8_t ttl = 64) {
    Ip4Opt ip;
    ip.ttl = ttl;
    Bytes f = eth(kIpv4, ipv4(s, d, 6, tcp(sp, dp, 0, o) + payload, ip));
    if (f.size() < pad_to) {
        f.resize(pad_to, 0xee);  // Ethernet padding: never payload
    }
    return f;
}

Bytes udp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, const Bytes& payload,
                uint8_t ttl = 64) {
    Ip4Opt ip;
    ip.ttl = ttl;
    return eth(kIpv4, ipv4(s, d, 17, udp(sp, dp, payload), ip));
}

Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

TcpOpt seg(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t window = 0x7210) {
    TcpOpt o;
    o.flags = flags;
    o.seq = seq;
    o.ack = ack;
    o.window = window;
    return o;
}

bool missing(simdjson::simdjson_result<simdjson::dom::element> e, const char* key) {
    return e[key].error() == simdjson::NO_SUCH_FIELD;
}

std::vector<uint64_t> u64s(simdjson::simdjson_result<simdjson::dom::element> arr) {
    std::vector<uint64_t> v;
    for (auto x : arr.get_array()) {
        v.push_back(uint64_t(x));
    }
    return v;
}

using U = std::vector<uint64_t>;

/// A burst object's fields in order: pkts, bytes, start_ms, dur_ms.
U burst(simdjson::simdjson_result<simdjson::dom::element> b) {
    EXPECT_EQ(b.get_object().size(), 4u);
    return {uint64_t(b["pkts"]), uint64_t(b["bytes"]), uint64_t(b["start_ms"]),
            uint64_t(b["dur_ms"])};
}

}  // namespace

TEST(MoreFeatures, AllListsTheNewUnits) {
    auto fs = features::FeatureSet::parse("all", {});
    auto en = fs.enabled();
    for (const char* n : {"ppi", "salt", "wht", "hd", "os", "hist"}) {
        EXPECT_NE(std::find(en.begin(), en.end(), n), en.end()) << n;
    }
    EXPECT_EQ(features::FeatureSet::parse("os,hist", {}).enabled(),
              (std::vector<std::string>{"os", "hist"}));
    // Names are the unit names, not the type or field names.
    EXPECT_THROW(features::FeatureSet::parse("probable_os", {}), features::FeatureError);
}

TEST(MoreFeatures, PpiEveryPacketWithTcpFieldsTimesAndBound) {
    features::FeatureConfig cfg;
    cfg.ppi_n = 3;
    FeatureRun r("ppi", cfg);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 100, 0), {}), 1000 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 5000, 101), {}),
           1012 * kMs + 999'999);  // 12.999999 ms: t 12 (rounded down)
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 101, 5001), text("hello")), 1020 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x10, 106, 5001), {}), 1030 * kMs);  // over the bound
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    auto pp = doc["ppi"].get_array();
    ASSERT_EQ(pp.size(), 3u);
    EXPECT_EQ(uint64_t(pp.at(0)["seq"]), 100u);
    EXPECT_EQ(uint64_t(pp.at(0)["ack"]), 0u);
    EXPECT_EQ(uint64_t(pp.at(0)["flags"]), 2u);
    EXPECT_EQ(uint64_t(pp.at(0)["b"]), 0u);
    EXPECT_EQ(std::string_view(pp.at(0)["dir"]), ">");
    EXPECT_EQ(uint64_t(pp.at(0)["t"]), 0u);
    EXPECT_EQ(uint64_t(pp.at(1)["seq"]), 5000u);
    EXPECT_EQ(uint64_t(pp.at(1)["ack"]), 101u);
    EXPECT_EQ(uint64_t(pp.at(1)["flags"]), 0x12u);
    EXPECT_EQ(uint64_t(pp.at(1)["b"]), 0u);
    EXPECT_EQ(std::string_view(pp.at(1)["dir"]), "<");
    EXPECT_EQ(uint64_t(pp.at(1)["t"]), 12u);
    EXPECT_EQ(uint64_t(pp.at(2)["seq"]), 101u);
    EXPECT_EQ(uint64_t(pp.at(2)["ack"]), 5001u);
    EXPECT_EQ(uint64_t(pp.at(2)["flags"]), 0x18u);
    EXPECT_EQ(uint64_t(pp.at(2)["b"]), 5u);
    EXPECT_EQ(std::string_view(pp.at(2)["dir"]), ">");
    EXPECT_EQ(uint64_t(pp.at(2)["t"]), 20u);
    EXPECT_TRUE(bool(doc["ppi_truncated"]));
}

TEST(MoreFeatures, PpiExactlyAtTheBoundIsNotTruncated) {
    features::FeatureConfig cfg;
    cfg.ppi_n = 2;
    FeatureRun r("ppi", cfg);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0), {}), 5 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 9, 2), {}), 6 * kMs);
    std::string rec = r.record();
    EXPECT_NE(rec.find(R"("ppi":[{"seq":1,"ack":0,"flags":2,"b":0,"dir":">","t":0},)"
                       R"({"seq":9,"ack":2,"flags":18,"b":0,"dir":"<","t":1}])"),
              std::string::npos)
        << rec;
    EXPECT_EQ(rec.find("ppi_truncated"), std::string::npos);
}

TEST(MoreFeatures, PpiNonTcpHasZeroTcpFields) {
    FeatureRun r("ppi");
    r.feed(udp_frame(kA, kB, 5353, 53, text("query")), 100 * kMs);
    r.feed(udp_frame(kB, kA, 53, 5353, text("answer!")), 107 * kMs + 500'000);
    r.feed(udp_frame(kA, kB, 5353, 53, {}), 1100 * kMs);
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    auto pp = doc["ppi"].get_array();
    ASSERT_EQ(pp.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(uint64_t(pp.at(i)["seq"]), 0u);
        EXPECT_EQ(uint64_t(pp.at(i)["ack"]), 0u);
        EXPECT_EQ(uint64_t(pp.at(i)["flags"]), 0u);
    }
    EXPECT_EQ(uint64_t(pp.at(0)["b"]), 5u);
    EXPECT_EQ(uint64_t(pp.at(1)["b"]), 7u);
    EXPECT_EQ(uint64_t(pp.at(2)["b"]), 0u);
    EXPECT_EQ(std::string_view(pp.at(1)["dir"]), "<");
    EXPECT_EQ(std::string_view(pp.at(2)["dir"]), ">");
    EXPECT_EQ(uint64_t(pp.at(1)["t"]), 7u);
    EXPECT_EQ(uint64_t(pp.at(2)["t"]), 1000u);
    EXPECT_TRUE(missing(doc, "ppi_truncated"));
}

TEST(MoreFeatures, SaltTcpSeqAckDirectionsAndBound) {
    features::FeatureConfig cfg;
    cfg.salt_n = 3;
    FeatureRun r("salt", cfg);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 100, 0), {}), 1 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 7000, 101), {}), 2 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 101, 7001), text("abc")), 3 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x10, 7001, 104), {}), 4 * kMs);  // over the bound
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    auto s = doc["salt"].get_array();
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(std::string_view(s.at(0)["dir"]), ">");
    EXPECT_EQ(uint64_t(s.at(0)["seq"]), 100u);
    EXPECT_EQ(uint64_t(s.at(0)["ack"]), 0u);
    EXPECT_EQ(std::string_view(s.at(1)["dir"]), "<");
    EXPECT_EQ(uint64_t(s.at(1)["seq"]), 7000u);
    EXPECT_EQ(uint64_t(s.at(1)["ack"]), 101u);
    EXPECT_EQ(std::string_view(s.at(2)["dir"]), ">");
    EXPECT_EQ(uint64_t(s.at(2)["seq"]), 101u);
    EXPECT_EQ(uint64_t(s.at(2)["ack"]), 7001u);
    EXPECT_TRUE(bool(doc["salt_truncated"]));
}

TEST(MoreFeatures, SaltFullRangeNumbersAndNoFlagUnderTheBound) {
    FeatureRun r("salt");
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x10, 0xfffffffeu, 0x80000000u), {}), 1 * kMs);
    std::string rec = r.record();
    EXPECT_NE(rec.find(R"("salt":[{"dir":">","seq":4294967294,"ack":2147483648}])"),
              std::string::npos)
        << rec;
    EXPECT_EQ(rec.find("salt_truncated"), std::string::npos);
}

TEST(MoreFeatures, SaltAbsentForNonTcp) {
    features::FeatureConfig cfg;
    cfg.salt_n = 1;
    FeatureRun r("salt", cfg);
    r.feed(udp_frame(kA, kB, 5353, 53, text("q")), 1 * kMs);
    r.feed(udp_frame(kB, kA, 53, 5353, text("a")), 2 * kMs);
    std::string rec = r.record();
    EXPECT_EQ(rec.find("salt"), std::string::npos) << rec;
}

TEST(MoreFeatures, WhtBlocksPerPacketPerDirectionNormalised) {
    FeatureRun r("wht");
    // out: "abcdefg" -> one block (a,b,c,d), "efg" ignored; then 1..8 -> two blocks.
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 1, 1), text("abcdefg")), 1 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 8, 1), Bytes{1, 2, 3, 4, 5, 6, 7, 8}), 2 * kMs);
    // in: one block (255, 0, 255, 0), padded frame: the padding is not payload.
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x18, 1, 16), Bytes{255, 0, 255, 0, 9}, 80), 3 * kMs);
    std::string rec = r.record();
    // (97,98,99,100): 394,-2,-4,0; (1,2,3,4): 10,-2,-4,0; (5,6,7,8): 26,-2,-4,0.
    EXPECT_NE(rec.find(R"("wht":{"out":[143.333333,-2.000000,-4.000000,0.000000],)"
                       R"("in":[510.000000,510.000000,0.000000,0.000000]})"),
              std::string::npos)
        << rec;
}

TEST(MoreFeatures, WhtDirectionWithoutBlocksLeftOut) {
    FeatureRun r("wht");
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0), {}), 1 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x18, 1, 2), Bytes{0, 0, 0, 1}), 2 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 2, 5), text("abc"), 64), 3 * kMs);  // < 4 bytes
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    EXPECT_TRUE(missing(doc["wht"], "out"));
    EXPECT_EQ(doc["wht"]["in"].get_array().size(), 4u);
    EXPECT_DOUBLE_EQ(double(doc["wht"]["in"].at(0)), 1.0);
    EXPECT_DOUBLE_EQ(double(doc["wht"]["in"].at(1)), -1.0);
    EXPECT_DOUBLE_EQ(double(doc["wht"]["in"].at(2)), -1.0);
    EXPECT_DOUBLE_EQ(double(doc["wht"]["in"].at(3)), 1.0);

    FeatureRun none("wht");
    none.feed(udp_frame(kA, kB, 1, 2, text("xy")), 1 * kMs);
    EXPECT_EQ(none.record().find("wht"), std::string::npos);
}

TEST(MoreFeatures, HdFirstPayloadOfEachDirectionBounded) {
    features::FeatureConfig cfg;
    cfg.hd_n = 4;
    FeatureRun r("hd", cfg);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0), {}), 1 * kMs);      // no payload
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 1, 2), {}, 64), 2 * kMs);  // padding only
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 2, 2), text("GET / HTTP/1.1")), 3 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x18, 2, 16), text("HT"), 64), 4 * kMs);  // 2 bytes
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 16, 4), text("zzzz")), 5 * kMs);    // not first
    std::string rec = r.record();
    EXPECT_NE(rec.find(R"("hd":{"out":"47455420","in":"4854"})"), std::string::npos) << rec;
}

TEST(MoreFeatures, HdDefaultSixteenBytesAndAbsentWithoutPayload) {
    FeatureRun r("hd");
    Bytes pay;
    for (int i = 0; i < 40; ++i) {
        pay.push_back(static_cast<uint8_t>(0xa0 + i));
    }
    r.feed(udp_frame(kA, kB, 1, 2, pay), 1 * kMs);
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    EXPECT_EQ(std::string_view(doc["hd"]["out"]), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
    EXPECT_TRUE(missing(doc["hd"], "in"));

    FeatureRun none("hd");
    none.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0), {}), 1 * kMs);
    EXPECT_EQ(none.record().find("\"hd\""), std::string::npos);
}

TEST(MoreFeatures, OsLinuxAndWindowsFromTtlAndSynWindow) {
    FeatureRun r("os");
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0, 64240), {}, 0, 61), 1 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 1, 2, 8192), {}, 0, 113), 2 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x10, 2, 2, 502), {}, 0, 20), 3 * kMs);  // not first
    std::string rec = r.record();
    EXPECT_NE(rec.find(R"("probable_os":{"out":"linux","in":"windows"})"), std::string::npos)
        << rec;
}

TEST(MoreFeatures, OsMacBsdNetworkDeviceUnixAndOld) {
    FeatureRun r("os");
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0, 65535), {}, 0, 64), 1 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 1, 2, 4128), {}, 0, 250), 2 * kMs);
    EXPECT_NE(r.record().find(R"("probable_os":{"out":"macos/bsd","in":"network_device"})"),
              std::string::npos);

    // TTL 64 family without a SYN (mid-stream) or with another window: unix.
    FeatureRun mid("os");
    mid.feed(tcp_frame(kA, kB, 1000, 80, seg(0x10, 1, 1, 64240), {}, 0, 40), 1 * kMs);
    mid.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 1, 2, 1024), {}, 0, 33), 2 * kMs);
    EXPECT_NE(mid.record().find(R"("probable_os":{"out":"unix","in":"unix"})"), std::string::npos);

    FeatureRun udp("os");
    udp.feed(udp_frame(kA, kB, 1, 2, text("x"), 32), 1 * kMs);
    udp.feed(udp_frame(kB, kA, 2, 1, text("y"), 0), 2 * kMs);
    EXPECT_NE(udp.record().find(R"("probable_os":{"out":"windows_old","in":"unknown"})"),
              std::string::npos);

    FeatureRun one("os");
    one.feed(udp_frame(kA, kB, 1, 2, text("x"), 128), 1 * kMs);
    EXPECT_NE(one.record().find(R"("probable_os":{"out":"windows"})"), std::string::npos);
}

TEST(MoreFeatures, HistSizesIptAndBursts) {
    FeatureRun r("hist");
    const uint64_t t0 = 50'000 * kMs;
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x02, 1, 0), {}), t0);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x12, 1, 2), {}), t0 + 5 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 2, 2), Bytes(5, 1)), t0 + 6 * kMs);
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 7, 2), Bytes(16, 1)),
           t0 + 26 * kMs + 999'999);  // 20.999999 ms after: ipt 20
    r.feed(tcp_frame(kA, kB, 1000, 80, seg(0x18, 23, 2), Bytes(100, 1)),
           t0 + 2100 * kMs);  // gap > 1 s: a new burst
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x18, 2, 123), Bytes(1500, 1)), t0 + 2200 * kMs);
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x18, 1502, 123), Bytes(40, 1)),
           t0 + 3200 * kMs);  // gap of exactly 1000 ms: same burst
    r.feed(tcp_frame(kB, kA, 80, 1000, seg(0x10, 1542, 123), {}),
           t0 + 4200 * kMs + 1);  // gap just over 1000 ms: a new burst
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    auto ph = doc["phist"];
    EXPECT_EQ(u64s(ph["out"]["sizes"]), (U{2, 1, 0, 1, 0, 0, 0, 0}));
    EXPECT_EQ(u64s(ph["out"]["ipt"]), (U{1, 1, 0, 0, 0, 0, 0, 1}));
    EXPECT_EQ(u64s(ph["in"]["sizes"]), (U{2, 0, 1, 0, 0, 0, 0, 1}));
    EXPECT_EQ(u64s(ph["in"]["ipt"]), (U{0, 0, 0, 0, 0, 0, 2, 1}));
    auto bo = doc["bursts"]["out"].get_array();
    ASSERT_EQ(bo.size(), 3u);
    EXPECT_EQ(burst(bo.at(0)), (U{1, 0, 0, 0}));
    EXPECT_EQ(burst(bo.at(1)), (U{2, 21, 6, 20}));
    EXPECT_EQ(burst(bo.at(2)), (U{1, 100, 2100, 0}));
    auto bi = doc["bursts"]["in"].get_array();
    ASSERT_EQ(bi.size(), 3u);
    EXPECT_EQ(burst(bi.at(0)), (U{1, 0, 5, 0}));
    EXPECT_EQ(burst(bi.at(1)), (U{2, 1540, 2200, 1000}));
    EXPECT_EQ(burst(bi.at(2)), (U{1, 0, 4200, 0}));
    EXPECT_TRUE(missing(doc, "bursts_truncated"));
}

TEST(MoreFeatures, HistBinEdges) {
    FeatureRun r("hist");
    // Payload sizes on each side of each bin edge, 15 ms apart.
    const uint32_t sizes[] = {15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511, 512, 1023, 1024};
    uint64_t t = 1000 * kMs;
    for (uint32_t s : sizes) {
        r.feed(udp_frame(kA, kB, 1, 2, Bytes(s, 7)), t);
        t += 15 * kMs;  // ipt 15 ms: bin 0
    }
    r.feed(udp_frame(kA, kB, 1, 2, {}), t + 1 * kMs);  // 16 ms: bin 1
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    EXPECT_EQ(u64s(doc["phist"]["out"]["sizes"]), (U{2, 2, 2, 2, 2, 2, 2, 1}));
    EXPECT_EQ(u64s(doc["phist"]["out"]["ipt"]), (U{13, 1, 0, 0, 0, 0, 0, 0}));
    EXPECT_TRUE(missing(doc["phist"], "in"));
    EXPECT_TRUE(missing(doc["bursts"], "in"));
    // One run of packets never more than 1 s apart: one burst.
    auto bo = doc["bursts"]["out"].get_array();
    ASSERT_EQ(bo.size(), 1u);
    uint64_t bytes = 0;
    for (uint32_t s : sizes) {
        bytes += s;
    }
    EXPECT_EQ(burst(bo.at(0)), (U{15, bytes, 0, 13 * 15 + 16}));
}

TEST(MoreFeatures, HistBurstsBoundedPerDirection) {
    FeatureRun r("hist");
    uint64_t t = 1000 * kMs;
    // 17 exchanges: 17 bursts each way, the out bursts of two packets.
    for (int i = 0; i < 17; ++i) {
        r.feed(udp_frame(kA, kB, 1, 2, Bytes(10, 1)), t);
        r.feed(udp_frame(kA, kB, 1, 2, Bytes(10, 1)), t + 1 * kMs);
        r.feed(udp_frame(kB, kA, 2, 1, Bytes(3, 1)), t + 2 * kMs);
        t += 10 * kMs;
    }
    simdjson::dom::parser p;
    auto doc = p.parse(r.record());
    auto bo = doc["bursts"]["out"].get_array();
    auto bi = doc["bursts"]["in"].get_array();
    ASSERT_EQ(bo.size(), 15u);
    ASSERT_EQ(bi.size(), 15u);
    EXPECT_EQ(burst(bo.at(14)), (U{2, 20, 140, 1}));
    EXPECT_EQ(burst(bi.at(14)), (U{1, 3, 142, 0}));
    EXPECT_TRUE(bool(doc["bursts_truncated"]));
    // The histograms still count every packet.
    EXPECT_EQ(u64s(doc["phist"]["out"]["sizes"]), (U{34, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(u64s(doc["phist"]["in"]["ipt"]), (U{16, 0, 0, 0, 0, 0, 0, 0}));
}
