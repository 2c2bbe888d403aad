// Output faults in the exporter, with a sink that fails on demand (always
// run) and on a real full disk (root only): it keeps draining the rings,
// counts exactly what it loses, reports at a bounded rate, retries and
// resumes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sink_test_util.hpp"
#include "spate/core/spsc_ring.hpp"
#include "spate/export/exporter.hpp"
#include "spate/export/sink.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/worker/messages.hpp"

namespace spate {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace sink_test;  // NOLINT(google-build-using-namespace): test helpers

constexpr uint64_t kMs = 1'000'000;

/// Keeps what is flushed; write() and flush() throw while fail_writes is set
/// (a failed write leaves half its data behind, as a short write would), and
/// recover() throws while fail_recover is set. The switches are flipped by
/// the test thread while the exporter runs.
class FlakySink : public Sink {
public:
    std::atomic<bool> fail_writes{false};
    std::atomic<bool> fail_recover{false};
    std::atomic<bool> fail_close{false};
    std::atomic<uint64_t> written_records{0};  ///< lines handed to write() since the last flush
    std::atomic<uint64_t> flushed_records{0};
    std::atomic<uint64_t> recover_calls{0};

    void write(std::string_view data) override {
        bytes_in_ += data.size();
        if (fail_writes) {
            pending_.append(data.substr(0, data.size() / 2));
            throw SinkError("test: write failed: No space left on device");
        }
        pending_.append(data);
        written_records += static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
    }
    void flush() override {
        if (fail_writes) {
            throw SinkError("test: write failed: No space left on device");
        }
        committed_ += pending_;
        pending_.clear();
        written_records = 0;
        flushed_records =
            static_cast<uint64_t>(std::count(committed_.begin(), committed_.end(), '\n'));
    }
    void recover() override {
        ++recover_calls;
        if (fail_recover) {
            throw SinkError("test: cannot cut back: Input/output error");
        }
        pending_.clear();
        written_records = 0;
    }
    void close() override {
        if (fail_close) {
            throw std::runtime_error("test: close failed");  // not even a SinkError
        }
        committed_ += pending_;
        pending_.clear();
    }
    uint64_t bytes_in() const override { return bytes_in_; }
    uint64_t bytes_out() const override { return committed_.size(); }

    /// What the output holds; read once the exporter has finished.
    const std::string& committed() const { return committed_; }

private:
    std::string committed_;
    std::string pending_;
    uint64_t bytes_in_ = 0;
};

/// Sends records and `done` as a worker does (Worker::emit, Worker::finish).
/// Gives up (false) instead of hanging when the ring stays full: the
/// exporter stopped draining.
class Producer {
public:
    explicit Producer(SpscRing& ring) : ring_(ring) {}

    bool records(uint64_t first, uint64_t count) {
        for (uint64_t id = first; id < first + count; ++id) {
            void* slot = reserve(MsgType::record, sizeof(RecordMsg));
            if (slot == nullptr) {
                return false;
            }
            FlowData f{};
            f.key.ip_version = 4;
            f.key.proto = 17;
            f.dir[0].pkts = id;  // "num_pkts_out": the record's id
            std::memcpy(slot, &f, sizeof f);
            if (id % 32 == 31) {
                ring_.publish();  // in batches, like a worker
            }
        }
        ring_.publish();
        return true;
    }
    bool done() {
        const bool ok = reserve(MsgType::done, 0) != nullptr;
        ring_.publish();
        return ok;
    }
    /// Longest time one reservation waited for the exporter to make room.
    std::chrono::nanoseconds longest_wait() const { return longest_wait_; }

private:
    void* reserve(MsgType type, size_t len) {
        void* slot = ring_.try_reserve(static_cast<uint32_t>(type), len);
        if (slot != nullptr) {
            return slot;
        }
        ring_.publish();
        const auto t0 = std::chrono::steady_clock::now();
        while ((slot = ring_.try_reserve(static_cast<uint32_t>(type), len)) == nullptr) {
            if (std::chrono::steady_clock::now() - t0 > std::chrono::seconds(20)) {
                return nullptr;
            }
            std::this_thread::yield();
        }
        longest_wait_ = std::max(longest_wait_, std::chrono::steady_clock::now() - t0);
        return slot;
    }

    SpscRing& ring_;
    std::chrono::nanoseconds longest_wait_{0};
};

bool wait_for(const std::function<bool()>& cond,
              std::chrono::seconds timeout = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > end) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

uint64_t rl(const std::atomic<uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
}

/// The exporter's log lines, captured through a memory stream.
class Log {
public:
    Log() : f_(open_memstream(&buf_, &len_)) {}
    ~Log() {
        std::fclose(f_);
        std::free(buf_);
    }
    Log(const Log&) = delete;
    Log& operator=(const Log&) = delete;
    std::FILE* file() const { return f_; }
    /// Call once the exporter has finished writing.
    std::vector<std::string> lines() {
        std::fflush(f_);
        return split_lines(std::string(buf_, len_));
    }

private:
    char* buf_ = nullptr;
    size_t len_ = 0;
    std::FILE* f_;
};

size_t count_starting(const std::vector<std::string>& lines, std::string_view prefix) {
    return static_cast<size_t>(std::count_if(lines.begin(), lines.end(),
                                             [&](const auto& l) { return l.starts_with(prefix); }));
}

std::vector<uint64_t> range(uint64_t first, uint64_t count) {
    std::vector<uint64_t> v(count);
    for (uint64_t i = 0; i < count; ++i) {
        v[i] = first + i;
    }
    return v;
}

/// Fast timings so that a test's faults last milliseconds.
ExporterOptions fast_options(std::FILE* log) {
    ExporterOptions o;
    o.flush_interval_ns = 20 * kMs;
    o.retry_first_ns = 10 * kMs;
    o.retry_max_ns = 40 * kMs;
    o.report_interval_ns = 3600'000 * kMs;  // one line per fault unless a test says otherwise
    o.log = log;
    return o;
}

TEST(ExporterFaults, DrainsWhileFaultedAndResumes) {
    SpscRing ring(64 * 1024);  // far smaller than what is sent while faulted
    auto owned = std::make_unique<FlakySink>();
    FlakySink& sink = *owned;
    const features::FeatureSet no_features;
    Log log;
    Exporter exp({&ring}, std::move(owned), RecordFormat{}, no_features, 512,
                 fast_options(log.file()));
    std::thread t([&] { exp.run(); });
    Producer prod(ring);

    // Before the fault: everything flushed.
    ASSERT_TRUE(prod.records(0, 1000));
    ASSERT_TRUE(wait_for([&] { return sink.flushed_records == 1000; }));
    EXPECT_FALSE(exp.faulted());

    // The fault: the output takes nothing, recovery keeps failing, and yet
    // the worker gets rid of 5000 records (about 1 MB through a 64 KiB ring).
    sink.fail_recover = true;
    sink.fail_writes = true;
    ASSERT_TRUE(prod.records(1000, 5000)) << "the producer was blocked";
    EXPECT_LT(prod.longest_wait(), std::chrono::seconds(2));  // no more than a scheduling hiccup
    ASSERT_TRUE(wait_for([&] { return rl(exp.stats().records_lost) == 5000; }))
        << rl(exp.stats().records_lost);
    EXPECT_TRUE(exp.faulted());
    EXPECT_EQ(rl(exp.stats().records), 1000u);
    ASSERT_TRUE(wait_for([&] { return sink.recover_calls >= 3; }));  // retries, backing off
    EXPECT_THAT(exp.last_error(), StartsWith("test: "));

    // Room again: the next retry succeeds and records flow.
    sink.fail_writes = false;
    sink.fail_recover = false;
    ASSERT_TRUE(wait_for([&] { return !exp.faulted(); }));
    EXPECT_EQ(exp.last_error(), "test: cannot cut back: Input/output error");  // kept
    ASSERT_TRUE(prod.records(6000, 1000));
    ASSERT_TRUE(prod.done());
    t.join();

    std::vector<uint64_t> expect = range(0, 1000);
    const std::vector<uint64_t> after = range(6000, 1000);
    expect.insert(expect.end(), after.begin(), after.end());
    EXPECT_EQ(ids_of(sink.committed(), "num_pkts_out"), expect);
    const ExporterStats& st = exp.stats();
    EXPECT_EQ(rl(st.records), 2000u);
    EXPECT_EQ(rl(st.records_lost), 5000u);
    EXPECT_EQ(rl(st.recoveries), 1u);
    EXPECT_EQ(rl(st.write_errors), sink.recover_calls.load());  // the first error + failed retries
    EXPECT_TRUE(exp.lost_anything());
    EXPECT_FALSE(exp.faulted());
    EXPECT_THAT(exp.error(), HasSubstr("test: cannot cut back"));
    EXPECT_THAT(exp.error(), HasSubstr("; 5000 records lost"));

    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
    EXPECT_THAT(lines[0], StartsWith("spate: error: output: test: write failed: No space left on "
                                     "device; "));
    EXPECT_THAT(lines[0], HasSubstr(" records lost so far; retrying in 0.01 s"));
    EXPECT_EQ(lines[1], "spate: output: writing again after 5000 lost records");
}

TEST(ExporterFaults, RecordsSinceTheLastFlushAreLost) {
    SpscRing ring(64 * 1024);
    auto owned = std::make_unique<FlakySink>();
    FlakySink& sink = *owned;
    const features::FeatureSet no_features;
    Log log;
    ExporterOptions opts = fast_options(log.file());
    opts.flush_interval_ns = 3600'000 * kMs;  // no flush by time: only at the end
    Exporter exp({&ring}, std::move(owned), RecordFormat{}, no_features, 1, opts);
    std::thread t([&] { exp.run(); });
    Producer prod(ring);

    // Handed to the sink, but not flushed: the cut takes them back.
    ASSERT_TRUE(prod.records(0, 100));
    ASSERT_TRUE(wait_for([&] { return sink.written_records == 100; }));
    EXPECT_EQ(rl(exp.stats().records), 100u);
    sink.fail_writes = true;
    ASSERT_TRUE(prod.records(100, 1));
    ASSERT_TRUE(wait_for([&] { return rl(exp.stats().write_errors) == 1; }));
    EXPECT_EQ(rl(exp.stats().records_lost), 101u);
    EXPECT_EQ(rl(exp.stats().records), 0u);  // moved, not counted twice
    sink.fail_writes = false;
    ASSERT_TRUE(wait_for([&] { return rl(exp.stats().recoveries) == 1; }));
    ASSERT_TRUE(prod.records(101, 50));
    ASSERT_TRUE(prod.done());
    t.join();

    EXPECT_EQ(ids_of(sink.committed(), "num_pkts_out"), range(101, 50));
    EXPECT_EQ(rl(exp.stats().records), 50u);
    EXPECT_EQ(rl(exp.stats().records_lost), 101u);
    EXPECT_EQ(rl(exp.stats().write_errors), 1u);
    EXPECT_TRUE(exp.lost_anything());
    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
    EXPECT_THAT(lines[0], HasSubstr("; 101 records lost so far; retrying in 0.01 s"));
    EXPECT_EQ(lines[1], "spate: output: writing again after 101 lost records");
}

TEST(ExporterFaults, ErrorLinesAreRateLimited) {
    SpscRing ring(64 * 1024);
    auto owned = std::make_unique<FlakySink>();
    FlakySink& sink = *owned;
    const features::FeatureSet no_features;
    Log log;
    ExporterOptions opts = fast_options(log.file());
    opts.retry_first_ns = 2 * kMs;
    opts.retry_max_ns = 5 * kMs;
    opts.report_interval_ns = 100 * kMs;
    Exporter exp({&ring}, std::move(owned), RecordFormat{}, no_features, 1, opts);
    std::thread t([&] { exp.run(); });
    Producer prod(ring);

    const auto t0 = std::chrono::steady_clock::now();
    sink.fail_writes = true;
    sink.fail_recover = true;
    ASSERT_TRUE(prod.records(0, 10));
    ASSERT_TRUE(wait_for([&] { return exp.faulted(); }));
    // Keep failing for a while, with records arriving all along.
    for (uint64_t id = 10; std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(450);
         id += 10) {
        ASSERT_TRUE(prod.records(id, 10));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const uint64_t attempts = sink.recover_calls;
    sink.fail_writes = false;
    sink.fail_recover = false;
    ASSERT_TRUE(wait_for([&] { return !exp.faulted(); }));
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(prod.done());
    t.join();

    const auto lines = log.lines();
    const size_t errors = count_starting(lines, "spate: error: output: ");
    const auto intervals = static_cast<size_t>(elapsed / std::chrono::milliseconds(100));
    EXPECT_GE(attempts, 20u);  // many failed retries...
    EXPECT_GE(errors, 2u);     // ...a line now and then while it lasts...
    EXPECT_LE(errors, intervals + 1) << ::testing::PrintToString(lines);  // ...but not more
    EXPECT_EQ(count_starting(lines, "spate: output: writing again after "), 1u);
    EXPECT_EQ(lines.back(), "spate: output: writing again after " +
                                std::to_string(rl(exp.stats().records_lost)) + " lost records");
}

TEST(ExporterFaults, FailingAtTheEndCountsTheLastRecordsLost) {
    for (const bool recovers : {false, true}) {
        SCOPED_TRACE(recovers ? "recover works" : "recover fails");
        SpscRing ring(64 * 1024);
        auto owned = std::make_unique<FlakySink>();
        FlakySink& sink = *owned;
        const features::FeatureSet no_features;
        Log log;
        ExporterOptions opts = fast_options(log.file());
        opts.flush_interval_ns = 3600'000 * kMs;
        // Everything waits in the exporter's buffer until the final write.
        Exporter exp({&ring}, std::move(owned), RecordFormat{}, no_features, 1 << 20, opts);
        Producer prod(ring);
        ASSERT_TRUE(prod.records(0, 10));
        ASSERT_TRUE(prod.done());
        sink.fail_writes = true;
        sink.fail_recover = !recovers;
        sink.fail_close = !recovers;
        EXPECT_NO_THROW(exp.run());

        EXPECT_EQ(rl(exp.stats().records), 0u);
        EXPECT_EQ(rl(exp.stats().records_lost), 10u);
        EXPECT_EQ(rl(exp.stats().recoveries), recovers ? 1u : 0u);
        EXPECT_TRUE(exp.lost_anything());
        EXPECT_FALSE(exp.faulted());
        EXPECT_THAT(exp.error(), HasSubstr("; 10 records lost"));
        EXPECT_EQ(sink.committed(), "");  // not even the half-written piece
        const auto lines = log.lines();
        ASSERT_GE(lines.size(), 1u);
        EXPECT_EQ(lines[0],
                  "spate: error: output: test: write failed: No space left on device; 10 records "
                  "lost so far");  // no retry to announce at the end
        if (recovers) {
            EXPECT_EQ(exp.error(),
                      "output: test: write failed: No space left on device; 10 records lost");
        } else {
            EXPECT_EQ(exp.error(), "output: test: close failed; 10 records lost");
            EXPECT_EQ(rl(exp.stats().write_errors), 3u);  // write, recover, close
        }
    }
}

/// The whole path on a real full disk: exporter, file sink, ENOSPC.
// --exporters N: several formatter threads, one writer.

/// Record ids of ring r are r * kRingIds + k.
constexpr uint64_t kRingIds = 1'000'000'000;

/// Splits the output's ids by ring; each ring's list must be its ids in order.
std::vector<std::vector<uint64_t>> ids_by_ring(const std::string& out, size_t rings) {
    std::vector<std::vector<uint64_t>> by(rings);
    for (uint64_t id : ids_of(out, "num_pkts_out")) {
        const uint64_t r = id / kRingIds;
        if (r < rings) {
            by[r].push_back(id);
        } else {
            ADD_FAILURE() << "id from no ring: " << id;
        }
    }
    return by;
}

class ExporterFormatters : public ::testing::TestWithParam<unsigned> {};

TEST_P(ExporterFormatters, EveryRecordOnceAndEachWorkersInOrder) {
    const unsigned formatters = GetParam();
    constexpr size_t kRings = 5;
    constexpr uint64_t kPerRing = 20000;
    std::vector<std::unique_ptr<SpscRing>> rings;
    std::vector<SpscRing*> ptrs;
    for (size_t i = 0; i < kRings; ++i) {
        rings.push_back(std::make_unique<SpscRing>(64 * 1024));
        ptrs.push_back(rings.back().get());
    }
    auto owned = std::make_unique<FlakySink>();
    FlakySink& sink = *owned;
    const features::FeatureSet no_features;
    Log log;
    ExporterOptions opts = fast_options(log.file());
    opts.formatters = formatters;
    Exporter exp(ptrs, std::move(owned), RecordFormat{}, no_features, 4096, opts);
    std::thread t([&] { exp.run(); });
    std::vector<std::thread> producers;
    std::atomic<int> failures{0};
    for (size_t i = 0; i < kRings; ++i) {
        producers.emplace_back([&, i] {
            Producer prod(*rings[i]);
            // In pieces, so that the formatters interleave the rings.
            for (uint64_t k = 0; k < kPerRing; k += 1000) {
                if (!prod.records(i * kRingIds + k, 1000)) {
                    ++failures;
                    return;
                }
            }
            if (!prod.done()) {
                ++failures;
            }
        });
    }
    for (auto& p : producers) {
        p.join();
    }
    t.join();
    ASSERT_EQ(failures.load(), 0) << "a producer was blocked";
    const auto by = ids_by_ring(sink.committed(), kRings);
    for (size_t i = 0; i < kRings; ++i) {
        EXPECT_EQ(by[i], range(i * kRingIds, kPerRing)) << "ring " << i;
    }
    EXPECT_EQ(rl(exp.stats().records), kRings * kPerRing);
    EXPECT_EQ(rl(exp.stats().records_lost), 0u);
    EXPECT_FALSE(exp.lost_anything());
    if (formatters >= 2) {
        EXPECT_GT(rl(exp.stats().formatter_cpu_ns), 0u);
    } else {
        EXPECT_EQ(rl(exp.stats().formatter_cpu_ns), 0u);
    }
    EXPECT_TRUE(log.lines().empty());
}

TEST_P(ExporterFormatters, FaultAccountingHoldsWithFormatterThreads) {
    // While the output fails, whatever formatters had done is dropped and
    // counted; records + records_lost is always what was sent, and the
    // output holds exactly `records` complete lines, each worker's in order.
    const unsigned formatters = GetParam();
    constexpr size_t kRings = 3;
    std::vector<std::unique_ptr<SpscRing>> rings;
    std::vector<SpscRing*> ptrs;
    for (size_t i = 0; i < kRings; ++i) {
        rings.push_back(std::make_unique<SpscRing>(64 * 1024));
        ptrs.push_back(rings.back().get());
    }
    auto owned = std::make_unique<FlakySink>();
    FlakySink& sink = *owned;
    const features::FeatureSet no_features;
    Log log;
    ExporterOptions opts = fast_options(log.file());
    opts.formatters = formatters;
    Exporter exp(ptrs, std::move(owned), RecordFormat{}, no_features, 2048, opts);
    std::thread t([&] { exp.run(); });
    std::vector<Producer> prods;
    for (size_t i = 0; i < kRings; ++i) {
        prods.emplace_back(*rings[i]);
    }
    uint64_t sent = 0;
    auto send = [&](uint64_t k0, uint64_t n) {
        for (size_t i = 0; i < kRings; ++i) {
            ASSERT_TRUE(prods[i].records(i * kRingIds + k0, n));
            sent += n;
        }
    };
    send(0, 1000);
    ASSERT_TRUE(wait_for([&] { return rl(exp.stats().records) == sent; }));
    sink.fail_recover = true;
    sink.fail_writes = true;
    send(1000, 3000);
    ASSERT_TRUE(wait_for([&] {
        return rl(exp.stats().records) + rl(exp.stats().records_lost) == sent;
    }));
    EXPECT_TRUE(exp.faulted());
    sink.fail_writes = false;
    sink.fail_recover = false;
    ASSERT_TRUE(wait_for([&] { return !exp.faulted(); }));
    send(4000, 1000);
    for (auto& p : prods) {
        ASSERT_TRUE(p.done());
    }
    t.join();
    const ExporterStats& st = exp.stats();
    EXPECT_EQ(rl(st.records) + rl(st.records_lost), sent);
    EXPECT_GT(rl(st.records_lost), 0u);
    const auto by = ids_by_ring(sink.committed(), kRings);
    uint64_t out = 0;
    for (size_t i = 0; i < kRings; ++i) {
        EXPECT_TRUE(std::is_sorted(by[i].begin(), by[i].end())) << "ring " << i;
        EXPECT_TRUE(std::adjacent_find(by[i].begin(), by[i].end()) == by[i].end()) << "ring " << i;
        // What came after the fault is all there.
        ASSERT_GE(by[i].size(), 1000u);
        EXPECT_EQ(std::vector<uint64_t>(by[i].end() - 1000, by[i].end()),
                  range(i * kRingIds + 4000, 1000));
        out += by[i].size();
    }
    EXPECT_EQ(out, rl(st.records));
}

INSTANTIATE_TEST_SUITE_P(Threads, ExporterFormatters, ::testing::Values(1u, 2u, 3u),
                         [](const auto& info) { return "formatters" + std::to_string(info.param); });

TEST(ExporterFaults, FullDiskEndToEnd) {
    for (const bool zstd : {false, true}) {
        SCOPED_TRACE(zstd ? "zstd" : "plain");
        SmallTmpfs fs;
        if (!fs.ok()) {
            GTEST_SKIP() << fs.why();
        }
        fs.fill(64 * 1024);
        SinkConfig cfg;
        cfg.path = fs / "out.jsonl";
        cfg.zstd = zstd;
        SpscRing ring(64 * 1024);
        const features::FeatureSet no_features;
        Log log;
        ExporterOptions opts = fast_options(log.file());
        opts.flush_interval_ns = 5 * kMs;
        Exporter exp({&ring}, make_sink(cfg), RecordFormat{}, no_features, 4096, opts);
        std::thread t([&] { exp.run(); });
        Producer prod(ring);

        uint64_t sent = 0;
        while (rl(exp.stats().records_lost) == 0 && sent < 2'000'000) {
            ASSERT_TRUE(prod.records(sent, 100));
            sent += 100;
        }
        ASSERT_GT(rl(exp.stats().records_lost), 0u) << "the disk never filled up";
        fs.free_filler();
        ASSERT_TRUE(wait_for([&] { return rl(exp.stats().recoveries) >= 1 && !exp.faulted(); }));
        const uint64_t resumed = rl(exp.stats().records);
        ASSERT_TRUE(prod.records(sent, 1000));
        sent += 1000;
        ASSERT_TRUE(prod.done());
        t.join();

        std::string out = read_file(cfg.path);
        if (zstd) {
            const Decoded z = zstd_stream_decode(out);
            EXPECT_FALSE(z.error);
            EXPECT_TRUE(z.frame_complete);
            out = z.data;
        }
        const auto ids = ids_of(out, "num_pkts_out");
        EXPECT_EQ(ids.size(), rl(exp.stats().records));
        EXPECT_EQ(rl(exp.stats().records) + rl(exp.stats().records_lost), sent);
        EXPECT_GE(ids.size(), resumed + 1000);
        EXPECT_TRUE(std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) ==
                    ids.end());  // in order, none twice
        EXPECT_EQ(ids.back(), sent - 1);
        EXPECT_THAT(exp.error(), HasSubstr("No space left on device"));
        const auto lines = log.lines();
        ASSERT_GE(lines.size(), 2u);
        EXPECT_THAT(lines[0], StartsWith("spate: error: output: " + cfg.path));
    }
}

}  // namespace
}  // namespace spate
