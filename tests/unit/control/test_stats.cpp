// The interval line: rates over the interval, deltas of drops and errors,
// in text and as one JSON object.
#include "spate/control/stats.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

using namespace spate;

namespace {

constexpr uint64_t kSec = 1'000'000'000ULL;

StatsTotals at(uint64_t mono, uint64_t packets, uint64_t bytes, uint64_t flows, uint64_t records) {
    StatsTotals t;
    t.mono_ns = mono;
    t.packets = packets;
    t.wire_bytes = bytes;
    t.flows_created = flows;
    t.records = records;
    return t;
}

TEST(StatsLine, TextRatesAreOverTheIntervalAndDropsAreDeltas) {
    StatsReporter r(StatsFormat::text, stderr, 100 * kSec);
    StatsTotals a = at(110 * kSec, 50'000, 50'000'000, 400, 300);
    a.kernel_drops = 7;
    a.records_shed = 2;
    r.interval(a, 1'796'400'000ULL * kSec);
    StatsTotals b = at(120 * kSec, 150'000, 175'000'000, 1400, 1300);
    b.kernel_drops = 10;
    b.records_shed = 2;
    b.records_lost = 5;
    b.output_errors = 1;
    b.output_faulted = true;
    b.output_error = "out.jsonl: write failed: No space left on device";
    b.flows_active = 42;
    const std::string line = r.format_interval(b, 1'796'400'010ULL * kSec + 250'000'000);
    EXPECT_NE(line.find("2026-12-04T16:00:10.250Z"), std::string::npos) << line;
    EXPECT_NE(line.find("(+10.0 s)"), std::string::npos) << line;
    EXPECT_NE(line.find("10.0 kpps"), std::string::npos) << line;     // 100k packets / 10 s
    EXPECT_NE(line.find("100.000 Mbps"), std::string::npos) << line;  // 125 MB / 10 s
    EXPECT_NE(line.find("100 new flows/s"), std::string::npos) << line;
    EXPECT_NE(line.find("100 records/s"), std::string::npos) << line;
    EXPECT_NE(line.find("42 active"), std::string::npos) << line;
    EXPECT_NE(line.find("kernel +3"), std::string::npos) << line;
    EXPECT_NE(line.find("records shed +0"), std::string::npos) << line;
    EXPECT_NE(line.find("records lost +5"), std::string::npos) << line;
    EXPECT_NE(line.find("output FAILING (+1): out.jsonl: write failed"), std::string::npos) << line;
}

TEST(StatsLine, JsonIsOneObjectWithDeltasAndTotals) {
    StatsReporter r(StatsFormat::json, stderr, 0);
    StatsTotals a = at(2 * kSec, 1000, 64'000, 10, 4);
    a.malformed = 3;
    const std::string line = r.format_interval(a, 1'796'400'000ULL * kSec);
    ASSERT_EQ(line.back(), '\n');
    ASSERT_EQ(line.find('\n'), line.size() - 1);
    simdjson::dom::parser p;
    simdjson::dom::element doc = p.parse(line);
    EXPECT_EQ(std::string(doc["time"].get_string().value()), "2026-12-04T16:00:00.000Z");
    EXPECT_DOUBLE_EQ(doc["interval_s"].get_double().value(), 2.0);
    EXPECT_DOUBLE_EQ(doc["pps"].get_double().value(), 500.0);
    EXPECT_DOUBLE_EQ(doc["mbps"].get_double().value(), 0.256);
    EXPECT_EQ(doc["delta"]["packets"].get_uint64().value(), 1000u);
    EXPECT_EQ(doc["delta"]["malformed"].get_uint64().value(), 3u);
    EXPECT_EQ(doc["total"]["records"].get_uint64().value(), 4u);
    EXPECT_TRUE(doc["output_error"].is_null());
    EXPECT_FALSE(doc["output_faulted"].get_bool().value());
}

TEST(StatsLine, Iso8601) {
    EXPECT_EQ(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(iso8601_utc(1'796'400'000ULL * kSec + 999'999'999), "2026-12-04T16:00:00.999Z");
}

}  // namespace
