// The interval line: rates over the interval, deltas of drops and errors,
// in text and as one JSON object.
#include "spate/control/stats.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
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

// The --progress line: percent, rate and ETA for files of known size;
// packets and rate only when the size is not known.
TEST(ProgressLine, PercentRateAndEtaForAKnownSize) {
    // 25 of 100 MB in 10 s: 30 s left at that pace.
    const std::string line =
        ProgressLine::format(10.0, 123456, 12345.6, 25'000'000, 100'000'000, false);
    EXPECT_NE(line.find(" 25.0% of 100.0 MB"), std::string::npos) << line;
    EXPECT_NE(line.find("123456 packets"), std::string::npos) << line;
    EXPECT_NE(line.find("12.3 kpkt/s"), std::string::npos) << line;
    EXPECT_NE(line.find("ETA 0:00:30"), std::string::npos) << line;
}

TEST(ProgressLine, UnknownSizeHasNoPercentNorEta) {
    const std::string line = ProgressLine::format(75.0, 900, 12.0, 5'000'000, 0, false);
    EXPECT_EQ(line.find('%'), std::string::npos) << line;
    EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
    EXPECT_NE(line.find("900 packets"), std::string::npos) << line;
    EXPECT_NE(line.find("0:01:15 elapsed"), std::string::npos) << line;
}

TEST(ProgressLine, FinalLineSaysElapsedAndNeverOverAHundredPercent) {
    const std::string line = ProgressLine::format(3661.0, 10, 1.0, 200, 100, true);
    EXPECT_NE(line.find("100.0% of 100 B"), std::string::npos) << line;
    EXPECT_NE(line.find("1:01:01 elapsed"), std::string::npos) << line;
    EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
}

TEST(ProgressLine, TerminalRedrawsInPlaceAndLogsGetWholeLinesOnTheClock) {
    char* buf = nullptr;
    size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    ASSERT_NE(f, nullptr);
    {
        ProgressLine p(f, true, 0);
        EXPECT_FALSE(p.due(kSec / 4));
        EXPECT_TRUE(p.due(kSec / 2));
        p.tick(kSec / 2, 100, 50, 100);
        p.tick(kSec / 2 + 1, 200, 60, 100);  // not due: nothing
        p.finish(kSec, 300, 100, 100);
    }
    std::fflush(f);
    std::string term(buf, len);
    EXPECT_EQ(term.find("\r\033[Kspate: progress:  50.0%"), 0u) << term;
    EXPECT_NE(term.find("\r\033[Kspate: progress: 100.0%"), std::string::npos) << term;
    EXPECT_EQ(term.find('\n'), term.size() - 1) << "one line end, after the final line: " << term;
    std::fclose(f);
    std::free(buf);

    buf = nullptr;
    len = 0;
    f = open_memstream(&buf, &len);
    {
        ProgressLine p(f, false, 0);
        EXPECT_FALSE(p.due(kSec));  // every 5 s off a terminal
        EXPECT_TRUE(p.due(5 * kSec));
        p.tick(5 * kSec, 100, 50, 100);
        p.finish(6 * kSec, 300, 100, 100);
    }
    std::fflush(f);
    std::string log(buf, len);
    EXPECT_EQ(log.find('\r'), std::string::npos) << log;
    EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
    std::fclose(f);
    std::free(buf);
}
