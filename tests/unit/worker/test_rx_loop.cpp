// The receive loop: every source goes through it, so a capture handed out
// by a mock port in bursts of any shape, through the dispatcher or as each
// worker's own source, gives the records of the file path; a live loop
// moves time on from the monotonic clock when its source is silent; and a
// worker under the drop policy never waits for the exporter.
#include "spate/worker/rx_loop.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../parse/packet_builder.hpp"
#include "spate/control/options.hpp"
#include "spate/control/pipeline.hpp"
#include "spate/parse/dispatch_hash.hpp"
#include "spate/port/capture_file.hpp"
#include "spate/worker/dispatch.hpp"
#include "spate/worker/messages.hpp"
#include "spate/worker/worker.hpp"

using namespace spate;
using namespace spate::test;

namespace {

namespace fs = std::filesystem;

fs::path source_root() {
    const char* r = std::getenv("SPATE_SOURCE_ROOT");
    return r != nullptr ? fs::path(r) : fs::path(".");
}

fs::path temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "spate-rxloop-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        ADD_FAILURE() << "mkdtemp failed";
    }
    return tmpl;
}

std::vector<std::string> sorted_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> v;
    std::string line;
    while (std::getline(in, line)) {
        v.push_back(line);
    }
    std::sort(v.begin(), v.end());
    return v;
}

/// A capture held in memory.
struct Frames {
    std::vector<std::vector<uint8_t>> bytes;
    std::vector<PacketRef> refs;

    static Frames load(const fs::path& path) {
        Frames f;
        CaptureFile file = CaptureFile::open(path.string());
        PacketRef r;
        while (file.next(r) == CaptureFile::Next::packet) {
            f.bytes.emplace_back(r.data, r.data + r.caplen);
            f.refs.push_back(r);
        }
        for (size_t i = 0; i < f.refs.size(); ++i) {
            f.refs[i].data = f.bytes[i].data();
        }
        return f;
    }
};

/// A port that hands out a list of frames in bursts of changing sizes.
/// When it is done it gives `end_floor` as its time floor, as a dispatcher's
/// last tick does, so that a worker polling it alone ends at the capture's
/// last time as the file path's workers do.
class MockPort final : public PortDriver {
public:
    MockPort(std::vector<PacketRef> refs, std::vector<uint16_t> shape, uint64_t end_floor = 0)
        : refs_(std::move(refs)), shape_(std::move(shape)), end_floor_(end_floor) {}

    uint64_t time_floor() const override { return next_ == refs_.size() ? end_floor_ : 0; }

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override {
        status = RxStatus::ok;
        if (next_ == refs_.size()) {
            status = RxStatus::end;
            return 0;
        }
        uint16_t want = std::min<uint16_t>(n, shape_[calls_++ % shape_.size()]);
        uint16_t got = 0;
        while (got < want && next_ < refs_.size()) {
            pkts[got++] = refs_[next_++];
        }
        handed_ += got;
        return got;
    }
    bool stable_buffers() const override { return true; }
    bool nanosecond_timestamps() const override { return false; }
    PortStats stats() const override {
        PortStats s;
        s.packets = handed_;
        return s;
    }
    std::string describe() const override { return "mock"; }

private:
    std::vector<PacketRef> refs_;
    std::vector<uint16_t> shape_;
    size_t next_ = 0;
    size_t calls_ = 0;
    uint64_t handed_ = 0;
    uint64_t end_floor_;
};

/// Frames a decoder accepts (those reach the flow table).
uint64_t decodable(const std::vector<PacketRef>& refs) {
    parse::Decoder d;
    parse::DecodedPacket out;
    uint64_t n = 0;
    for (const PacketRef& r : refs) {
        n += d.decode(r, out) == parse::DecodeStatus::ok;
    }
    return n;
}

Options options(const std::vector<std::string>& extra) {
    std::vector<std::string> args{"spate", "-q", "--features", "all"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<const char*> argv;
    for (const auto& a : args) {
        argv.push_back(a.c_str());
    }
    Options o;
    EXPECT_EQ(parse_options(static_cast<int>(argv.size()), argv.data(), o), ParseOutcome::run);
    return o;
}

class EverySource : public ::testing::TestWithParam<const char*> {};

TEST_P(EverySource, MockBurstsThroughTheDispatcherOrAsOwnSourcesGiveTheFileRecords) {
    const fs::path capture = source_root() / "tests/data" / GetParam();
    const Frames frames = Frames::load(capture);
    ASSERT_GE(frames.refs.size(), 10u);
    const fs::path dir = temp_dir();

    // The file path: libpcap driver, one worker.
    ASSERT_EQ(run_pipeline(options({"-r", capture.string(), "-o", (dir / "file").string()})), 0);
    const auto want = sorted_lines(dir / "file");
    ASSERT_FALSE(want.empty());

    // The dispatcher reading a mock port in odd bursts, for 1 and 3 workers.
    for (uint32_t workers : {1u, 3u}) {
        const fs::path out = dir / ("disp" + std::to_string(workers));
        RunReport report;
        ASSERT_EQ(run_pipeline(
                      options({"-r", capture.string(), "-o", out.string(), "--workers",
                               std::to_string(workers)}),
                      std::make_unique<MockPort>(frames.refs, std::vector<uint16_t>{1, 7, 32, 3}),
                      &report),
                  0);
        EXPECT_EQ(sorted_lines(out), want) << workers << " workers, dispatcher";
        uint64_t handled = 0;
        for (const auto& w : report.workers) {
            handled += w.packets;
        }
        EXPECT_EQ(handled, decodable(frames.refs));
    }

    // Each worker polling a mock port of its own: the flows split by the
    // dispatch hash, as NIC RSS splits them.
    constexpr uint32_t kWorkers = 2;
    std::vector<std::vector<PacketRef>> shares(kWorkers);
    parse::DispatchHasher hasher(parse::DecoderConfig{});
    uint64_t last_ts = 0;
    for (const PacketRef& r : frames.refs) {
        shares[parse::worker_for(hasher.hash(r), kWorkers)].push_back(r);
        last_ts = std::max(last_ts, r.ts_ns);
    }
    std::vector<std::unique_ptr<PortDriver>> ports;
    for (auto& s : shares) {
        ports.push_back(std::make_unique<MockPort>(s, std::vector<uint16_t>{5, 32, 2}, last_ts));
    }
    const fs::path own = dir / "own";
    RunReport report;
    ASSERT_EQ(run_direct(options({"-r", capture.string(), "-o", own.string()}), std::move(ports),
                         &report),
              0);
    EXPECT_EQ(sorted_lines(own), want) << "own sources";
    ASSERT_EQ(report.workers.size(), kWorkers);
    EXPECT_EQ(report.workers[0].packets, decodable(shares[0]));
    EXPECT_EQ(report.workers[1].packets, decodable(shares[1]));
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Captures, EverySource,
                         ::testing::Values("joy__sample.pcap", "zeek__wikipedia.pcap",
                                           "joy__tls12.pcap"));

/// One UDP frame, then silence (until stopped).
class OneThenSilence final : public BurstSource {
public:
    explicit OneThenSilence(uint64_t ts) {
        frame_ = eth(kIpv4, ipv4({10, 0, 0, 1}, {10, 0, 0, 2}, 17, udp(1000, 53, zeros(12))));
        ref_.data = frame_.data();
        ref_.caplen = static_cast<uint32_t>(frame_.size());
        ref_.wirelen = ref_.caplen;
        ref_.ts_ns = ts;
    }
    uint16_t rx_burst(PacketRef* pkts, uint16_t, RxStatus& status) override {
        status = RxStatus::ok;
        if (sent_) {
            return 0;
        }
        sent_ = true;
        pkts[0] = ref_;
        return 1;
    }

private:
    Bytes frame_;
    PacketRef ref_;
    bool sent_ = false;
};

/// Records waiting on a record ring (consumed).
std::vector<FlowData> take_records(SpscRing& ring) {
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

struct LoopRun {
    SpscRing ring{1 << 20};
    features::FeatureSet fs;
    std::unique_ptr<Worker> worker;
    OneThenSilence source{1'700'000'000'000'000'000ULL};
    std::atomic<bool> stop{false};
    std::unique_ptr<RxLoop> loop;
    std::thread thread;

    explicit LoopRun(bool live) {
        FlowTableConfig cfg;
        cfg.max_flows = 64;
        cfg.idle_timeout_ns = 100'000'000;  // 100 ms
        worker = std::make_unique<Worker>(0, cfg, ring, fs);
        RxLoopConfig lc;
        lc.live = live;
        lc.stop = &stop;
        loop = std::make_unique<RxLoop>(*worker, parse::DecoderConfig{},
                                        std::vector<BurstSource*>{&source}, lc);
        thread = std::thread([this] { loop->run(); });
    }
    void finish() {
        stop = true;
        if (thread.joinable()) {
            thread.join();
        }
    }
    ~LoopRun() { finish(); }
};

TEST(RxLoop, LiveLoopExpiresAFlowOnASilentSourceFromTheMonotonicClock) {
    LoopRun run(true);
    std::vector<FlowData> got;
    const auto t0 = std::chrono::steady_clock::now();
    while (got.empty() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        got = take_records(run.ring);
    }
    const double after =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(got.size(), 1u) << "no record while the source was silent";
    EXPECT_EQ(got[0].end_reason, EndReason::idle);
    EXPECT_GE(after, 0.09);  // not before its idle timeout
    EXPECT_LE(after, 1.1);
    EXPECT_FALSE(run.loop->done());
    EXPECT_GT(run.loop->stats().live_ticks.load(), 0u);
}

TEST(RxLoop, ReplayLoopKeepsPacketTimeWhenItsSourceIsSilent) {
    std::vector<FlowData> got;
    {
        LoopRun run(false);
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        got = take_records(run.ring);
        EXPECT_TRUE(got.empty()) << "packet time does not move without packets";
        EXPECT_EQ(run.loop->stats().live_ticks.load(), 0u);
        run.finish();
        got = take_records(run.ring);
        EXPECT_TRUE(run.loop->done());
        EXPECT_EQ(run.loop->decoder_counters().decoded, 1u);
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].end_reason, EndReason::end_of_input);
}

TEST(Backpressure, DropCountsRecordsThatFindTheRingFullAndNeverWaits) {
    SpscRing ring(4096);  // nobody reads it
    features::FeatureSet fs;
    FlowTableConfig cfg;
    cfg.max_flows = 8;  // every new flow evicts one: a record each
    Worker w(0, cfg, ring, fs);
    w.set_backpressure(Backpressure::drop);
    for (uint16_t i = 0; i < 2000; ++i) {
        parse::DecodedPacket d;
        uint8_t a[4] = {10, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        uint8_t b[4] = {10, 1, 0, 1};
        d.key.src = IpAddr::v4(a);
        d.key.dst = IpAddr::v4(b);
        d.key.proto = 17;
        d.key.ip_version = 4;
        d.key.sport = 1000;
        d.key.dport = 53;
        d.ts_ns = 1'000'000'000ULL + i;
        w.on_packet(d, symmetric_hash(d.key), nullptr);
    }
    w.sync_stats();
    const uint64_t dropped = w.stats().records_dropped.load();
    const uint64_t sent = w.stats().records.load();
    EXPECT_GT(dropped, 1000u);
    EXPECT_GT(sent, 0u);
    EXPECT_EQ(dropped + sent, 2000u - 8u);  // every eviction is either sent or counted
    EXPECT_EQ(w.stats().record_ring_full_waits.load(), 0u);
}

// A dispatcher's tick ends a burst: the frames before it are handled, then
// its time applies, then the frames after it. With capture time going
// backwards (a capture appended to itself), that order decides whether a
// flow was expired before its 5-tuple comes back, so it must not depend on
// how the ring's messages happen to be batched.
TEST(RingSource, ATickEndsTheBurstAndAppliesBeforeTheFramesAfterIt) {
    SpscRing ring(1 << 16);
    auto frame = [&](uint64_t ts) {
        auto* m = static_cast<FrameMsg*>(
            ring.try_reserve(static_cast<uint32_t>(MsgType::frame), sizeof(FrameMsg)));
        m->ref = PacketRef{};
        m->ref.data = reinterpret_cast<const uint8_t*>("x");
        m->ref.caplen = 1;
        m->ref.ts_ns = ts;
    };
    frame(10);
    frame(11);
    static_cast<TickMsg*>(ring.try_reserve(static_cast<uint32_t>(MsgType::tick), sizeof(TickMsg)))
        ->now_ns = 50;
    frame(5);
    ring.try_reserve(static_cast<uint32_t>(MsgType::end), 0);
    ring.publish();
    RingSource src(ring);
    PacketRef refs[32];
    RxStatus st = RxStatus::ok;
    ASSERT_EQ(src.rx_burst(refs, 32, st), 2);
    EXPECT_EQ(refs[1].ts_ns, 11u);
    EXPECT_EQ(src.time_floor(), 0u);
    ASSERT_EQ(src.rx_burst(refs, 32, st), 0);  // the tick alone
    EXPECT_EQ(src.time_floor(), 50u);
    EXPECT_EQ(st, RxStatus::ok);
    ASSERT_EQ(src.rx_burst(refs, 32, st), 1);
    EXPECT_EQ(refs[0].ts_ns, 5u);
    EXPECT_EQ(src.rx_burst(refs, 32, st), 0);
    EXPECT_EQ(st, RxStatus::end);
}

}  // namespace
