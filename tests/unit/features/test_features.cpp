// Feature units through the worker: hand-made frames are decoded, run
// through a Worker with the units enabled, and the JSON record is checked.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <random>

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
                size_t pad_to = 0) {
    Bytes f = eth(kIpv4, ipv4(s, d, 6, tcp(sp, dp, 0, o) + payload));
    if (f.size() < pad_to) {
        f.resize(pad_to, 0xee);  // Ethernet padding: never payload
    }
    return f;
}

Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

simdjson::dom::element parse_json(simdjson::dom::parser& p, const std::string& s) {
    return p.parse(s);
}

}  // namespace

TEST(Features, UnknownUnitIsAnErrorNamingIt) {
    EXPECT_THROW(features::FeatureSet::parse("splt,nope", {}), features::FeatureError);
    try {
        features::FeatureSet::parse("nope", {});
    } catch (const features::FeatureError& e) {
        EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos);
    }
    auto fs = features::FeatureSet::parse("joy", {});
    EXPECT_EQ(fs.enabled().size(), 9u);  // splt bd idp ip tcp tls dns http + entropy
    EXPECT_TRUE(features::FeatureSet::parse("none", {}).empty());
    EXPECT_EQ(features::FeatureSet::parse("none", {}).state_bytes(), 0u);
}

TEST(Features, SpltLengthsDirectionsTimesAndBound) {
    features::FeatureConfig cfg;
    cfg.splt_n = 3;
    FeatureRun r("splt", cfg);
    TcpOpt o;
    o.flags = 0x02;
    o.seq = 100;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, {}), 1000 * kMs);  // SYN: no payload, not listed
    o.flags = 0x18;
    o.seq = 101;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("hello")),
           1012 * kMs + 999'999);  // ipt 12 (rounded down)
    TcpOpt back;
    back.seq = 5000;
    back.flags = 0x12;
    r.feed(tcp_frame(kB, kA, 80, 1000, back, {}), 1013 * kMs);
    back.flags = 0x18;
    back.seq = 5001;
    r.feed(tcp_frame(kB, kA, 80, 1000, back, text("0123456789")),
           1020 * kMs);  // ipt 7 from the SYN-ACK
    o.seq = 101;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("hello")), 1030 * kMs);  // retransmission: left out
    o.seq = 106;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("x")), 1040 * kMs);
    o.seq = 107;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("y")), 1050 * kMs);  // 4th: over the bound
    auto recs = r.records();
    ASSERT_EQ(recs.size(), 1u);
    simdjson::dom::parser p;
    auto doc = parse_json(p, recs[0]);
    auto pk = doc["packets"].get_array();
    ASSERT_EQ(pk.size(), 3u);
    EXPECT_EQ(int64_t(pk.at(0)["b"]), 5);
    EXPECT_EQ(std::string_view(pk.at(0)["dir"]), ">");
    EXPECT_EQ(int64_t(pk.at(0)["ipt"]), 12);
    EXPECT_EQ(int64_t(pk.at(1)["b"]), 10);
    EXPECT_EQ(std::string_view(pk.at(1)["dir"]), "<");
    EXPECT_EQ(int64_t(pk.at(1)["ipt"]), 7);
    EXPECT_EQ(int64_t(pk.at(2)["b"]), 1);
    EXPECT_EQ(int64_t(pk.at(2)["ipt"]), 10);
    EXPECT_TRUE(bool(doc["packets_truncated"]));
}

TEST(Features, ByteDistCountsPayloadOnlyNotPadding) {
    FeatureRun r("bd,entropy");
    TcpOpt o;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("aab"), 64), 1 * kMs);  // padded to 64 bytes
    auto recs = r.records();
    simdjson::dom::parser p;
    auto doc = parse_json(p, recs[0]);
    auto bd = doc["byte_dist"].get_array();
    ASSERT_EQ(bd.size(), 256u);
    uint64_t total = 0;
    for (auto v : bd)
        total += uint64_t(v);
    EXPECT_EQ(total, 3u);
    EXPECT_EQ(uint64_t(bd.at('a')), 2u);
    EXPECT_EQ(uint64_t(bd.at('b')), 1u);
    EXPECT_EQ(uint64_t(bd.at(0xee)), 0u);
    EXPECT_NEAR(double(doc["byte_dist_mean"]), (97 * 2 + 98) / 3.0, 1e-6);
    double h = -(2 / 3.0) * std::log2(2 / 3.0) - (1 / 3.0) * std::log2(1 / 3.0);
    EXPECT_NEAR(double(doc["entropy"]), h, 1e-6);
    EXPECT_NEAR(double(doc["total_entropy"]), 3 * h, 1e-5);
    EXPECT_EQ(uint64_t(doc["compact_byte_dist"].at(6)), 3u);
}

TEST(Features, BdBytesLimitAppliesToEntropyToo) {
    features::FeatureConfig cfg;
    cfg.bd_bytes = 4;
    FeatureRun r("bd,entropy", cfg);
    TcpOpt o;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("aaaa")), 1 * kMs);
    o.seq = 1004;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("bbbb")), 2 * kMs);
    simdjson::dom::parser p;
    auto doc = parse_json(p, r.records()[0]);
    EXPECT_EQ(uint64_t(doc["byte_dist"].at('a')), 4u);
    EXPECT_EQ(uint64_t(doc["byte_dist"].at('b')), 0u);
    EXPECT_TRUE(bool(doc["byte_dist_truncated"]));
    EXPECT_NEAR(double(doc["entropy"]), 0.0, 1e-9);  // the counted bytes, not the uncapped total
}

// A 1 MB flow of random bytes has entropy within 0.01 of 8 bits per byte; a
// flow of one repeated byte has 0. Counts past Joy's wrap points are exact.
TEST(Features, LargeFlowsEntropyAndExactCounts) {
    FeatureRun rnd("bd,entropy,splt");
    FeatureRun same("bd,entropy");
    std::mt19937 rng(5);
    const size_t seg = 1000;
    const size_t n = 1100;  // 1.1 MB, > 256 packets, > 64 KiB
    for (size_t i = 0; i < n; ++i) {
        Bytes pay(seg);
        for (auto& b : pay)
            b = static_cast<uint8_t>(rng());
        TcpOpt o;
        o.seq = static_cast<uint32_t>(1000 + i * seg);
        rnd.feed(tcp_frame(kA, kB, 1000, 80, o, pay), (i + 1) * kMs);
        same.feed(tcp_frame(kA, kB, 1000, 80, o, Bytes(seg, 0x41)), (i + 1) * kMs);
    }
    simdjson::dom::parser p;
    auto doc = parse_json(p, rnd.records()[0]);
    EXPECT_NEAR(double(doc["entropy"]), 8.0, 0.01);
    EXPECT_EQ(uint64_t(doc["num_pkts_out"]), n);
    EXPECT_EQ(uint64_t(doc["bytes_out"]), n * seg);
    uint64_t total = 0;
    for (auto v : doc["byte_dist"].get_array())
        total += uint64_t(v);
    EXPECT_EQ(total, n * seg);
    EXPECT_EQ(doc["packets"].get_array().size(), 50u);
    simdjson::dom::parser p2;
    auto doc2 = parse_json(p2, same.records()[0]);
    EXPECT_EQ(double(doc2["entropy"]), 0.0);
    EXPECT_EQ(uint64_t(doc2["byte_dist"].at(0x41)), n * seg);
}

TEST(Features, IdpFromIpHeaderBoundedPerDirection) {
    features::FeatureConfig cfg;
    cfg.idp_n = 24;
    FeatureRun r("idp", cfg);
    TcpOpt o;
    o.flags = 0x02;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, {}), 1 * kMs);  // no payload: not the IDP
    o.flags = 0x18;
    o.seq = 1001;
    Bytes f = tcp_frame(kA, kB, 1000, 80, o, text("GET / HTTP/1.1\r\n"));
    r.feed(f, 2 * kMs);
    simdjson::dom::parser p;
    auto doc = parse_json(p, r.records()[0]);
    std::string hex;
    static const char* kHex = "0123456789abcdef";
    for (size_t i = 14; i < 14 + 24; ++i) {
        hex += kHex[f[i] >> 4];
        hex += kHex[f[i] & 15];
    }
    EXPECT_EQ(std::string_view(doc["idp_out"]), hex);
    EXPECT_EQ(int64_t(doc["idp_len_out"]), 24);
    EXPECT_TRUE(doc["idp_in"].error() == simdjson::NO_SUCH_FIELD);
}

TEST(Features, TcpOptionsRetransOutOfOrderZeroWindow) {
    FeatureRun r("tcp,ip");
    // SYN with options: mss 1460, sackp, ts, nop, ws 7 (20 bytes)
    Bytes opts = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    TcpOpt o;
    o.flags = 0x02;
    o.seq = 1000;
    o.doff = 10;
    Bytes syn = tcp(1000, 80, 0, o);
    std::copy(opts.begin(), opts.end(), syn.begin() + 20);
    r.feed(eth(kIpv4, ipv4(kA, kB, 6, syn)), 1 * kMs);
    TcpOpt d;
    d.seq = 1001;
    r.feed(tcp_frame(kA, kB, 1000, 80, d, Bytes(100, 1)), 2 * kMs);  // 1001..1101
    r.feed(tcp_frame(kA, kB, 1000, 80, d, Bytes(100, 1)), 3 * kMs);  // retransmission
    d.seq = 1201;
    r.feed(tcp_frame(kA, kB, 1000, 80, d, Bytes(100, 1)), 4 * kMs);  // gap: out of order
    d.seq = 1101;
    r.feed(tcp_frame(kA, kB, 1000, 80, d, Bytes(100, 1)),
           5 * kMs);  // fills the gap: before high -> retrans
    TcpOpt z;
    z.window = 0;
    z.seq = 9000;
    r.feed(tcp_frame(kB, kA, 80, 1000, z, {}), 6 * kMs);
    simdjson::dom::parser p;
    auto doc = parse_json(p, r.records()[0]);
    auto t = doc["tcp"];
    EXPECT_EQ(uint64_t(t["first_seq"]), 1000u);
    EXPECT_EQ(uint64_t(t["out"]["opt_len"]), 20u);
    auto op = t["out"]["opts"].get_array();
    ASSERT_EQ(op.size(), 5u);
    EXPECT_EQ(uint64_t(op.at(0)["kind"]), 2u);
    EXPECT_EQ(std::string_view(op.at(0)["name"]), "mss");
    EXPECT_EQ(uint64_t(op.at(0)["value"]), 1460u);
    EXPECT_EQ(std::string_view(op.at(1)["name"]), "sackp");
    EXPECT_EQ(uint64_t(op.at(1)["len"]), 2u);
    EXPECT_EQ(uint64_t(op.at(2)["kind"]), 8u);
    EXPECT_EQ(uint64_t(op.at(2)["tsval"]), 1u);
    EXPECT_EQ(std::string_view(op.at(3)["name"]), "nop");
    EXPECT_EQ(uint64_t(op.at(3)["kind"]), 1u);
    EXPECT_EQ(uint64_t(op.at(4)["value"]), 7u);
    EXPECT_EQ(std::string_view(op.at(4)["name"]), "ws");
    EXPECT_EQ(uint64_t(t["out"]["retrans"]), 2u);
    EXPECT_EQ(uint64_t(t["out"]["out_of_order"]), 1u);
    EXPECT_EQ(uint64_t(t["in"]["zero_window"]), 1u);
    EXPECT_EQ(uint64_t(doc["ip"]["out"]["ttl"]), 64u);
    EXPECT_EQ(doc["ip"]["out"]["id"].get_array().size(), 5u);
}

TEST(Features, NoneEnabledAddsNoFieldsAndNoState) {
    FeatureRun r("none");
    TcpOpt o;
    r.feed(tcp_frame(kA, kB, 1000, 80, o, text("abc")), 1 * kMs);
    auto recs = r.records();
    EXPECT_EQ(recs[0].find("packets"), std::string::npos);
    EXPECT_EQ(recs[0].find("byte_dist"), std::string::npos);
}
