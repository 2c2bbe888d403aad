#include "spate/control/pipeline.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "spate/control/stats_snapshot.hpp"
#include "spate/core/backoff.hpp"
#include "spate/export/exporter.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/port/dpdk_port.hpp"
#include "spate/port/pcap_port.hpp"
#include "spate/proto/fingerprint_db.hpp"
#include "spate/worker/worker.hpp"

namespace spate {

std::atomic<bool> g_stop_requested{false};

namespace {

constexpr uint16_t kBurst = 64;
constexpr uint64_t kTickNs = 1'000'000'000;  // capture time between ticks to every worker

// The driver to wake when a stop is requested: live capture can block in
// poll() inside libpcap, which pcap_breakloop() interrupts (it writes to an
// eventfd, which is async-signal-safe).
std::atomic<PortDriver*> g_active_port{nullptr};

extern "C" void on_signal(int) {
    g_stop_requested.store(true, std::memory_order_relaxed);
    if (PortDriver* p = g_active_port.load(std::memory_order_relaxed)) {
        p->request_stop();
    }
}

uint64_t mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t to_ns(double seconds) {
    return static_cast<uint64_t>(seconds * 1e9);
}

bool g_input_error = false;

void port_log(bool is_error, const std::string& message) {
    std::fprintf(stderr, "spate: %s: %s\n", is_error ? "error" : "warning", message.c_str());
    if (is_error) {
        g_input_error = true;
    }
}

/// The dispatcher side of the worker rings: decoded packets go to the worker
/// chosen by the symmetric hash, so both directions meet on one worker.
class Dispatcher {
public:
    Dispatcher(std::vector<std::unique_ptr<SpscRing>>& rings, bool stable)
        : rings_(rings), stable_(stable), dirty_(rings.size(), false) {}

    void packet(const parse::DecodedPacket& d, const PacketRef& ref) {
        uint64_t h = symmetric_hash(d.key);
        size_t w = rings_.size() == 1 ? 0 : static_cast<size_t>(((h >> 32) * rings_.size()) >> 32);
        size_t extra = stable_ ? 0 : d.cap_len;
        SpscRing& ring = *rings_[w];
        if (extra > ring.max_message() - sizeof(PacketMsg)) {
            extra = ring.max_message() - sizeof(PacketMsg);
        }
        auto* pm = static_cast<PacketMsg*>(
            reserve(w, static_cast<uint32_t>(MsgType::packet), sizeof(PacketMsg) + extra));
        pm->pkt = d;
        pm->hash = h;
        if (stable_) {
            pm->data = ref.data;
        } else {
            pm->data = nullptr;
            std::memcpy(reinterpret_cast<uint8_t*>(pm) + sizeof(PacketMsg), ref.data, extra);
            pm->pkt.cap_len = static_cast<uint32_t>(extra);
        }
        if (d.ts_ns > max_ts_) {
            max_ts_ = d.ts_ns;
        }
    }

    /// Once per burst: publish, and send a time tick when capture time moved on.
    void end_burst() {
        if (max_ts_ >= last_tick_ + kTickNs) {
            last_tick_ = max_ts_;
            for (size_t w = 0; w < rings_.size(); ++w) {
                auto* t = static_cast<TickMsg*>(
                    reserve(w, static_cast<uint32_t>(MsgType::tick), sizeof(TickMsg)));
                t->now_ns = max_ts_;
            }
        }
        for (size_t w = 0; w < rings_.size(); ++w) {
            if (dirty_[w]) {
                rings_[w]->publish();
                dirty_[w] = false;
            }
        }
    }

    /// A last tick at the latest capture time, so every worker expires what
    /// is due by then (records then do not depend on the worker count), and
    /// then the end message.
    void end() {
        for (size_t w = 0; w < rings_.size(); ++w) {
            if (max_ts_ != 0) {
                auto* t = static_cast<TickMsg*>(
                    reserve(w, static_cast<uint32_t>(MsgType::tick), sizeof(TickMsg)));
                t->now_ns = max_ts_;
            }
            reserve(w, static_cast<uint32_t>(MsgType::end), 0);
            rings_[w]->publish();
        }
    }

    uint64_t ring_full_waits() const { return ring_full_waits_; }

private:
    void* reserve(size_t w, uint32_t type, size_t len) {
        SpscRing& ring = *rings_[w];
        dirty_[w] = true;
        void* p = ring.try_reserve(type, len);
        if (p != nullptr) {
            return p;
        }
        ring.publish();
        Backoff backoff;
        while ((p = ring.try_reserve(type, len)) == nullptr) {
            ++ring_full_waits_;
            backoff.wait();
        }
        return p;
    }

    std::vector<std::unique_ptr<SpscRing>>& rings_;
    bool stable_;
    std::vector<bool> dirty_;
    uint64_t max_ts_ = 0;
    uint64_t last_tick_ = 0;
    uint64_t ring_full_waits_ = 0;
};

uint64_t rl(const std::atomic<uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
}

/// The workers' counters added up (read with relaxed loads while they run).
struct WorkerTotals {
    uint64_t created = 0, active = 0, evicted = 0, records = 0, rec_waits = 0, idle = 0, act = 0,
             tcp = 0;
    uint64_t tls_messages = 0, tls_too_big = 0, tls_gaps = 0, tls_ooo = 0, tls_malformed = 0,
             tls_stolen = 0, quic_ok = 0, quic_failed = 0;
    uint64_t app[5][4] = {};
};

WorkerTotals sum_workers(const std::vector<std::unique_ptr<Worker>>& workers) {
    WorkerTotals t;
    for (const auto& w : workers) {
        const WorkerStats& s = w->stats();
        t.created += rl(s.flows_created);
        t.active += rl(s.flows_active);
        t.evicted += rl(s.flows_evicted);
        t.records += rl(s.records);
        t.rec_waits += rl(s.record_ring_full_waits);
        t.idle += rl(s.expired_idle);
        t.act += rl(s.expired_active);
        t.tcp += rl(s.tcp_ended);
        t.tls_messages += rl(s.tls_messages);
        t.tls_too_big += rl(s.tls_too_big);
        t.tls_gaps += rl(s.tls_gaps);
        t.tls_ooo += rl(s.tls_ooo_held);
        t.tls_malformed += rl(s.tls_malformed);
        t.tls_stolen += rl(s.tls_buffers_stolen);
        t.quic_ok += rl(s.quic_initials);
        t.quic_failed += rl(s.quic_failed);
        for (int a = 0; a < 5; ++a) {
            for (int k = 0; k < 4; ++k) {
                t.app[a][k] += rl(s.app[a][k]);
            }
        }
    }
    return t;
}

/// Publishes the counters for other threads (telemetry).
void publish(StatsSnapshot& snap, const PortDriver& port, const parse::DecoderCounters& dc,
             uint64_t pkt_waits, const std::vector<std::unique_ptr<Worker>>& workers,
             const Exporter& exp) {
    auto st = [](std::atomic<uint64_t>& a, uint64_t v) { a.store(v, std::memory_order_relaxed); };
    PortStats ps = port.stats();
    WorkerTotals t = sum_workers(workers);
    st(snap.packets_read, ps.packets);
    st(snap.decoded, dc.decoded);
    st(snap.non_ip, dc.non_ip);
    st(snap.malformed, dc.malformed_total());
    st(snap.filtered, ps.filtered);
    st(snap.rx_drops, ps.kernel_drops);
    st(snap.flows_created, t.created);
    st(snap.flows_active, t.active);
    st(snap.flows_evicted, t.evicted);
    st(snap.records, rl(exp.stats().records));
    st(snap.bytes_written, rl(exp.stats().bytes_in));
    st(snap.packet_ring_full_waits, pkt_waits);
    st(snap.record_ring_full_waits, t.rec_waits);
}

void print_stats(const char* when, const PortDriver& port, const parse::DecoderCounters& dc,
                 uint64_t pkt_waits, const std::vector<std::unique_ptr<Worker>>& workers,
                 const Exporter& exp, double elapsed) {
    PortStats ps = port.stats();
    WorkerTotals t = sum_workers(workers);
    const ExporterStats& es = exp.stats();
    std::fprintf(stderr,
                 "spate: stats (%s, %.3f s): packets read %" PRIu64 ", decoded %" PRIu64
                 ", non-ip %" PRIu64 ", malformed %" PRIu64 ", filtered %" PRIu64
                 ", kernel drops %" PRIu64 "\n",
                 when, elapsed, ps.packets, dc.decoded, dc.non_ip, dc.malformed_total(),
                 ps.filtered, ps.kernel_drops);
    if (dc.malformed_total() > 0) {
        std::fprintf(stderr, "spate:   malformed by reason:");
        for (size_t i = 1; i < dc.malformed.size(); ++i) {
            if (dc.malformed[i] != 0) {
                std::fprintf(
                    stderr, " %s %" PRIu64,
                    std::string(parse::to_string(static_cast<parse::Malformed>(i))).c_str(),
                    dc.malformed[i]);
            }
        }
        std::fprintf(stderr, "\n");
    }
    std::fprintf(stderr,
                 "spate:   fragments %" PRIu64 " (matched %" PRIu64 ", unmatched %" PRIu64
                 "), l4 truncated %" PRIu64 ", tunnelled:",
                 dc.fragments, dc.fragments_matched, dc.fragments_unmatched, dc.l4_truncated);
    for (size_t i = 1; i < dc.tunnels.size(); ++i) {
        if (dc.tunnels[i] != 0) {
            std::fprintf(stderr, " %s %" PRIu64,
                         std::string(parse::to_string(static_cast<parse::Tunnel>(i))).c_str(),
                         dc.tunnels[i]);
        }
    }
    std::fprintf(stderr, "\n");
    std::fprintf(stderr,
                 "spate:   flows created %" PRIu64 ", active %" PRIu64 ", evicted %" PRIu64
                 ", idle %" PRIu64 ", active-timeout %" PRIu64 ", tcp-end %" PRIu64
                 "; flows exported %" PRIu64 " (records written %" PRIu64
                 "), bytes written %" PRIu64 " (to disk %" PRIu64
                 "); ring-full waits: packets %" PRIu64 ", records %" PRIu64 "\n",
                 t.created, t.active, t.evicted, t.idle, t.act, t.tcp, t.records, rl(es.records),
                 rl(es.bytes_in), rl(es.bytes_out), pkt_waits, t.rec_waits);
    if (t.tls_messages + t.tls_gaps + t.tls_too_big + t.quic_ok + t.quic_failed > 0) {
        std::fprintf(stderr,
                     "spate:   tls: handshake messages %" PRIu64 ", too big %" PRIu64
                     ", gaps %" PRIu64 ", out-of-order held %" PRIu64 ", malformed %" PRIu64
                     ", buffers taken back %" PRIu64 "; quic initials decrypted %" PRIu64
                     ", not decrypted %" PRIu64 "\n",
                     t.tls_messages, t.tls_too_big, t.tls_gaps, t.tls_ooo, t.tls_malformed,
                     t.tls_stolen, t.quic_ok, t.quic_failed);
    }
    static const char* const kApps[5] = {"dns", "http", "ssh", "dhcp", "ike"};
    for (int a = 0; a < 5; ++a) {
        if (t.app[a][0] + t.app[a][1] + t.app[a][2] + t.app[a][3] > 0) {
            std::fprintf(stderr,
                         "spate:   %s: messages %" PRIu64 ", malformed %" PRIu64
                         ", bound hit %" PRIu64 ", gaps %" PRIu64 "\n",
                         kApps[a], t.app[a][0], t.app[a][1], t.app[a][2], t.app[a][3]);
        }
    }
    std::string detail = port.detail();
    size_t pos = 0;
    while (pos < detail.size()) {
        size_t nl = detail.find('\n', pos);
        std::fprintf(stderr, "spate:   %s\n", detail.substr(pos, nl - pos).c_str());
        pos = nl == std::string::npos ? detail.size() : nl + 1;
    }
}

uint64_t thread_cpu_ns() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000ULL + uint64_t(t.tv_nsec);
}

}  // namespace

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

namespace {

/// rx-map mode (DPDK): worker lcores poll their own queues, decode and update
/// their flow tables directly; no dispatcher. The main thread watches for a
/// stop request or, for replays, --idle-exit, then waits for the lcores.
int run_rx_map(const Options& opts, uint64_t t0, PortDriver& port, std::unique_ptr<Sink> sink,
               const parse::DecoderConfig& dcfg, FlowTableConfig tcfg,
               const features::FeatureSet& feature_set) {
    std::vector<unsigned> lcores;
    for (const RxMapEntry& m : opts.rx_map) {
        if (std::find(lcores.begin(), lcores.end(), m.lcore) == lcores.end()) {
            lcores.push_back(m.lcore);
        }
    }
    check_worker_lcores(lcores, opts.exporter_lcore);
    tcfg.max_flows = static_cast<uint32_t>((opts.max_flows + lcores.size() - 1) / lcores.size());
    std::vector<std::unique_ptr<SpscRing>> rec_rings;
    std::vector<SpscRing*> rec_ptrs;
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::unique_ptr<parse::Decoder>> decoders;
    std::vector<std::unique_ptr<LcoreWork>> work;
    for (size_t i = 0; i < lcores.size(); ++i) {
        rec_rings.push_back(std::make_unique<SpscRing>(size_t{4} << 20));
        rec_ptrs.push_back(rec_rings.back().get());
        workers.push_back(std::make_unique<Worker>(static_cast<uint32_t>(i), tcfg,
                                                   *rec_rings.back(), feature_set));
        decoders.push_back(std::make_unique<parse::Decoder>(dcfg));
        auto w = std::make_unique<LcoreWork>();
        w->lcore = lcores[i];
        w->worker = workers.back().get();
        w->decoder = decoders.back().get();
        for (const RxMapEntry& m : opts.rx_map) {
            if (m.lcore == lcores[i]) {
                w->queues.emplace_back(m.port, m.queue);
            }
        }
        work.push_back(std::move(w));
    }
    RecordFormat fmt;
    fmt.nanosecond = port.nanosecond_timestamps();
    Exporter exporter(rec_ptrs, std::move(sink), fmt, feature_set);
    std::function<void()> exporter_run = [&] { exporter.run(); };
    std::thread exporter_thread;
    if (opts.exporter_lcore >= 0) {
        launch_on_lcore(static_cast<unsigned>(opts.exporter_lcore), exporter_run);
    } else {
        exporter_thread = std::thread(exporter_run);
    }
    std::atomic<bool> stop{false};
    launch_worker_lcores(port, work, stop);

    const uint64_t idle_ns = to_ns(opts.idle_exit);
    uint64_t last_total = 0, last_change = mono_ns(), first_seen = 0, next_publish = 0;
    const uint64_t stats_every = to_ns(opts.stats_interval);
    uint64_t next_stats = t0 + stats_every;
    StatsSnapshot live_snapshot;
    register_stats_telemetry(&live_snapshot);
    while (!g_stop_requested.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        uint64_t total = 0;
        for (const auto& w : work) {
            total += w->packets.load(std::memory_order_relaxed);
        }
        uint64_t now = mono_ns();
        if (now >= next_publish) {
            // The lcores' published decoder counters (their full counters are
            // read only after they stop).
            parse::DecoderCounters live;
            uint64_t malformed = 0;
            for (const auto& w : work) {
                live.decoded += w->decoded.load(std::memory_order_relaxed);
                live.non_ip += w->non_ip.load(std::memory_order_relaxed);
                malformed += w->malformed.load(std::memory_order_relaxed);
            }
            next_publish = now + 100'000'000;
            publish(live_snapshot, port, live, 0, workers, exporter);
            live_snapshot.malformed.store(malformed, std::memory_order_relaxed);
            if (stats_every != 0 && now >= next_stats) {
                next_stats = now + stats_every;
                const auto rl2 = [](const std::atomic<uint64_t>& a) {
                    return a.load(std::memory_order_relaxed);
                };
                std::fprintf(stderr,
                             "spate: stats (interval, %.3f s): packets read %" PRIu64
                             ", decoded %" PRIu64 ", non-ip %" PRIu64 ", malformed %" PRIu64
                             ", flows created %" PRIu64 ", active %" PRIu64 ", records %" PRIu64
                             ", rx drops %" PRIu64 "\n",
                             (now - t0) / 1e9, rl2(live_snapshot.packets_read),
                             rl2(live_snapshot.decoded), rl2(live_snapshot.non_ip), malformed,
                             rl2(live_snapshot.flows_created), rl2(live_snapshot.flows_active),
                             rl2(live_snapshot.records), rl2(live_snapshot.rx_drops));
                std::string detail = port.detail();
                if (!detail.empty()) {
                    std::fprintf(stderr, "spate:   %s", detail.c_str());
                }
            }
        }
        if (total != last_total) {
            if (last_total == 0) {
                first_seen = now;
            }
            last_total = total;
            last_change = now;
        } else if (idle_ns != 0 && now - last_change > idle_ns) {
            break;
        }
    }
    if (g_stop_requested.load()) {
        std::fprintf(stderr, "spate: stop requested: exporting every active flow\n");
    }
    stop.store(true);
    wait_worker_lcores();  // each lcore exported its flows (Worker::finish)
    if (exporter_thread.joinable()) {
        exporter_thread.join();
    }

    parse::DecoderCounters dc;
    for (const auto& d : decoders) {
        dc += d->counters();
    }
    publish(live_snapshot, port, dc, 0, workers, exporter);
    int rc = 0;
    if (!exporter.error().empty()) {
        std::fprintf(stderr, "spate: error: %s\n", exporter.error().c_str());
        rc = 1;
    }
    if (!opts.quiet) {
        print_stats("exit", port, dc, 0, workers, exporter, (mono_ns() - t0) / 1e9);
        for (size_t i = 0; i < work.size(); ++i) {
            std::fprintf(stderr, "spate:   lcore %u (worker %zu): packets %" PRIu64 "\n",
                         work[i]->lcore, i, work[i]->packets.load());
        }
        std::fprintf(stderr,
                     "spate:   receive span %.6f s (first to last packet seen, 10 ms resolution)\n",
                     first_seen != 0 ? (last_change - first_seen) / 1e9 : 0.0);
    }
    register_stats_telemetry(nullptr);
    return rc;
}

}  // namespace

namespace {

/// The run's feature units, with the fingerprint database they may use.
features::FeatureSet make_feature_set(const Options& opts,
                                      std::unique_ptr<proto::FingerprintDb>& fp_db) {
    features::FeatureConfig fcfg = opts.feature_cfg;
    if (!opts.fp_db.empty()) {
        try {
            fp_db = std::make_unique<proto::FingerprintDb>(proto::FingerprintDb::load(opts.fp_db));
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string("--fp-db: ") + e.what());
        }
        fcfg.fp_db = fp_db.get();
    }
    return features::FeatureSet::parse(opts.features, fcfg);
}

SinkConfig sink_config(const Options& opts) {
    SinkConfig sc;
    sc.path = opts.output;
    sc.zstd = opts.zstd;
    sc.zstd_level = opts.zstd_level;
    sc.rotate_bytes = opts.rotate_bytes;
    sc.rotate_seconds = opts.rotate_seconds;
    return sc;
}

}  // namespace

int run_pipeline(const Options& opts) {
    return run_pipeline(opts, nullptr, nullptr);
}

int run_direct(const Options& opts, std::vector<std::unique_ptr<PortDriver>> ports,
               RunReport* report) {
    const uint64_t t0 = mono_ns();
    const auto n = static_cast<uint32_t>(ports.size());
    std::unique_ptr<proto::FingerprintDb> fp_db;
    const features::FeatureSet feature_set = make_feature_set(opts, fp_db);
    parse::DecoderConfig dcfg;
    dcfg.decap = opts.decap;
    dcfg.vlan_in_key = opts.vlan_in_key;
    dcfg.frag_slots = opts.frag_slots;
    FlowTableConfig tcfg;
    tcfg.max_flows = static_cast<uint32_t>((opts.max_flows + n - 1) / n);
    tcfg.idle_timeout_ns = to_ns(opts.idle_timeout);
    tcfg.active_timeout_ns = to_ns(opts.active_timeout);
    tcfg.tcp_close_timeout_ns = to_ns(opts.tcp_close_timeout);
    std::vector<std::unique_ptr<SpscRing>> rec_rings;
    std::vector<SpscRing*> rec_ptrs;
    std::vector<std::unique_ptr<Worker>> workers;
    for (uint32_t i = 0; i < n; ++i) {
        rec_rings.push_back(std::make_unique<SpscRing>(size_t{4} << 20));
        rec_ptrs.push_back(rec_rings.back().get());
        workers.push_back(std::make_unique<Worker>(i, tcfg, *rec_rings.back(), feature_set));
    }
    RecordFormat fmt;
    fmt.nanosecond = n > 0 && ports[0]->nanosecond_timestamps();
    Exporter exporter(rec_ptrs, make_sink(sink_config(opts)), fmt, feature_set);
    uint64_t exporter_cpu = 0;
    std::thread exporter_thread([&] {
        exporter.run();
        exporter_cpu = thread_cpu_ns();
    });
    // Each worker reads its own input (as from its own RSS queue), decodes
    // and updates its flow table: no dispatcher, no packet ring.
    std::vector<uint64_t> worker_cpu(n, 0);
    std::vector<uint64_t> worker_first(n, 0), worker_done(n, 0);
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < n; ++i) {
        threads.emplace_back([&, i] {
            parse::Decoder dec(dcfg);
            PacketRef burst[kBurst];
            std::vector<parse::DecodedPacket> dp(kBurst);
            uint64_t hashes[kBurst];
            const uint8_t* data[kBurst];
            RxStatus st = RxStatus::ok;
            while (st == RxStatus::ok && !g_stop_requested.load(std::memory_order_relaxed)) {
                const uint16_t got = ports[i]->rx_burst(burst, kBurst, st);
                if (got > 0 && worker_first[i] == 0) {
                    worker_first[i] = mono_ns();
                }
                // Decode the burst first, then update the flows with the
                // flow-table prefetches a few packets ahead (see run_from_ring).
                uint16_t ok = 0;
                for (uint16_t k = 0; k < got; ++k) {
                    if (dec.decode(burst[k], dp[ok]) == parse::DecodeStatus::ok) {
                        hashes[ok] = symmetric_hash(dp[ok].key);
                        data[ok] = burst[k].data;
                        workers[i]->prefetch_slot(hashes[ok]);
                        ++ok;
                    }
                }
                for (uint16_t k = 0; k < ok; ++k) {
                    if (k + 4 < ok) {
                        workers[i]->prefetch_entry(hashes[k + 4]);
                    }
                    workers[i]->on_packet(dp[k], hashes[k], data[k]);
                }
                workers[i]->publish();
            }
            worker_done[i] = mono_ns();
            workers[i]->finish();
            worker_cpu[i] = thread_cpu_ns();
        });
    }
    uint64_t max_active = 0;
    uint64_t max_backlog = 0;
    for (auto& t : threads) {
        while (t.joinable()) {
            // Sample occupancy and backlog while the workers run.
            const WorkerTotals tot = sum_workers(workers);
            max_active = std::max(max_active, tot.active);
            const uint64_t written = rl(exporter.stats().records);
            max_backlog = std::max(max_backlog, tot.records > written ? tot.records - written : 0);
            bool all_done = true;
            for (uint64_t v : worker_done) {
                all_done &= v != 0;
            }
            if (all_done) {
                t.join();
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    exporter_thread.join();
    int rc = exporter.error().empty() ? 0 : 1;
    if (rc != 0) {
        std::fprintf(stderr, "spate: error: %s\n", exporter.error().c_str());
    }
    PortStats ps;
    for (const auto& p : ports) {
        const PortStats q = p->stats();
        ps.packets += q.packets;
        ps.bytes += q.bytes;
    }
    if (report != nullptr) {
        const WorkerTotals t = sum_workers(workers);
        const uint64_t first =
            *std::min_element(worker_first.begin(), worker_first.end(),
                              [](uint64_t a, uint64_t b) { return a != 0 && (b == 0 || a < b); });
        const uint64_t done = *std::max_element(worker_done.begin(), worker_done.end());
        report->packets = ps.packets;
        report->wire_bytes = ps.bytes;
        report->rx_span_ns = first != 0 ? done - first : 0;
        report->process_span_ns = report->rx_span_ns;
        report->wall_ns = mono_ns() - t0;
        report->reader_cpu_ns = 0;  // the workers read
        report->exporter_cpu_ns = exporter_cpu;
        report->records_written = rl(exporter.stats().records);
        report->bytes_written = rl(exporter.stats().bytes_out);
        report->packet_ring_full_waits = 0;
        report->record_ring_full_waits = t.rec_waits;
        report->max_flows_active = max_active;
        report->max_exporter_backlog = max_backlog;
        report->flows_evicted = t.evicted;
        report->workers.clear();
        for (uint32_t i = 0; i < n; ++i) {
            const WorkerStats& ws = workers[i]->stats();
            report->workers.push_back(RunReport::WorkerFigures{
                rl(ws.packets), rl(ws.records), rl(ws.flows_created), worker_cpu[i]});
        }
    }
    return rc;
}

int run_pipeline(const Options& opts, std::unique_ptr<PortDriver> given_port, RunReport* report) {
    const uint64_t t0 = mono_ns();
    const uint64_t cpu0 = thread_cpu_ns();
    PcapPortConfig pc;
    pc.files = opts.read_files;
    pc.interface = opts.interface;
    pc.bpf = opts.bpf;
    pc.snaplen = opts.snaplen;
    pc.promiscuous = opts.promiscuous;
    std::unique_ptr<PortDriver> port = std::move(given_port);
    if (port != nullptr) {
        if (!opts.quiet) {
            std::fprintf(stderr, "spate: %s\n", port->describe().c_str());
        }
    } else if (opts.driver == "dpdk") {
        DpdkPortConfig dc;
        dc.eal_args = opts.eal_args;
        dc.rx_queues = static_cast<uint16_t>(opts.rx_queues);
        dc.auto_queues = static_cast<uint16_t>(opts.workers);
        dc.rx_desc = static_cast<uint16_t>(opts.rx_desc);
        dc.mbufs = opts.mbufs;
        dc.promiscuous = opts.promiscuous;
        dc.idle_exit_s = opts.idle_exit;
        dc.linktype = static_cast<uint16_t>(opts.port_linktype);
        dc.mtu = static_cast<uint16_t>(opts.mtu);
        dc.link_wait_s = opts.link_wait;
        for (const RxMapEntry& m : opts.rx_map) {
            uint16_t& q = dc.port_queues[m.port];
            q = std::max<uint16_t>(q, static_cast<uint16_t>(m.queue + 1));
        }
        port = make_dpdk_port(dc, port_log);
        if (!opts.quiet) {
            std::fprintf(stderr, "spate: %s\n", port->describe().c_str());
        }
    } else {
        port = make_pcap_port(pc, port_log);
    }
    g_active_port.store(port.get());
    struct ClearActivePort {
        ~ClearActivePort() { g_active_port.store(nullptr); }
    } clear_active_port;

    std::unique_ptr<Sink> sink = make_sink(sink_config(opts));

    parse::DecoderConfig dcfg;
    dcfg.decap = opts.decap;
    dcfg.vlan_in_key = opts.vlan_in_key;
    dcfg.frag_slots = opts.frag_slots;
    parse::Decoder decoder(dcfg);

    FlowTableConfig tcfg;
    tcfg.max_flows = static_cast<uint32_t>((opts.max_flows + opts.workers - 1) / opts.workers);
    tcfg.idle_timeout_ns = to_ns(opts.idle_timeout);
    tcfg.active_timeout_ns = to_ns(opts.active_timeout);
    tcfg.tcp_close_timeout_ns = to_ns(opts.tcp_close_timeout);

    std::unique_ptr<proto::FingerprintDb> fp_db;
    const features::FeatureSet feature_set = make_feature_set(opts, fp_db);
    if (!opts.rx_map.empty()) {
        return run_rx_map(opts, t0, *port, std::move(sink), dcfg, tcfg, feature_set);
    }
    std::vector<std::unique_ptr<SpscRing>> pkt_rings;
    std::vector<std::unique_ptr<SpscRing>> rec_rings;
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<SpscRing*> rec_ptrs;
    for (uint32_t i = 0; i < opts.workers; ++i) {
        pkt_rings.push_back(std::make_unique<SpscRing>(size_t{opts.ring_mb} << 20));
        rec_rings.push_back(std::make_unique<SpscRing>(size_t{4} << 20));
        rec_ptrs.push_back(rec_rings.back().get());
        workers.push_back(std::make_unique<Worker>(i, tcfg, *rec_rings.back(), feature_set));
    }
    RecordFormat fmt;
    fmt.nanosecond = port->nanosecond_timestamps();
    size_t write_threshold = 256 * 1024;
    if (opts.rotate_bytes > 0 && opts.rotate_bytes < write_threshold) {
        write_threshold = static_cast<size_t>(opts.rotate_bytes);
    }
    Exporter exporter(rec_ptrs, std::move(sink), fmt, feature_set, write_threshold);

    uint64_t exporter_cpu = 0;
    std::vector<uint64_t> worker_cpu(opts.workers, 0);
    std::thread exporter_thread([&] {
        exporter.run();
        exporter_cpu = thread_cpu_ns();
    });
    std::vector<std::thread> worker_threads;
    for (uint32_t i = 0; i < opts.workers; ++i) {
        worker_threads.emplace_back([&, i] {
            workers[i]->run_from_ring(*pkt_rings[i]);
            worker_cpu[i] = thread_cpu_ns();
        });
    }
    uint64_t max_active = 0;
    uint64_t max_backlog = 0;

    Dispatcher disp(pkt_rings, port->stable_buffers());
    PacketRef burst[kBurst];
    parse::DecodedPacket d;
    RxStatus st = RxStatus::ok;
    const uint64_t stats_every = to_ns(opts.stats_interval);
    uint64_t next_stats = stats_every ? t0 + stats_every : UINT64_MAX;
    bool port_error = false;
    uint64_t first_rx = 0, last_rx = 0, next_publish = 0;
    StatsSnapshot snapshot;
    register_stats_telemetry(&snapshot);
    struct Unregister {
        ~Unregister() { register_stats_telemetry(nullptr); }
    } unregister;
    while (!g_stop_requested.load(std::memory_order_relaxed)) {
        uint16_t n = port->rx_burst(burst, kBurst, st);
        if (n > 0) {
            // Once per burst: the span between the first and the last packet
            // received, for throughput figures that leave out start-up and idle time.
            last_rx = mono_ns();
            if (first_rx == 0) {
                first_rx = last_rx;
            }
        }
        for (uint16_t i = 0; i < n; ++i) {
            if (decoder.decode(burst[i], d) == parse::DecodeStatus::ok) {
                disp.packet(d, burst[i]);
            }
        }
        disp.end_burst();
        if (n > 0 && last_rx >= next_publish) {
            next_publish = last_rx + 100'000'000;
            publish(snapshot, *port, decoder.counters(), disp.ring_full_waits(), workers, exporter);
            const WorkerTotals t = sum_workers(workers);
            max_active = std::max(max_active, t.active);
            const uint64_t written = rl(exporter.stats().records);
            max_backlog = std::max(max_backlog, t.records > written ? t.records - written : 0);
        }
        if (stats_every != 0) {
            uint64_t now = mono_ns();
            if (now >= next_stats) {
                next_stats = now + stats_every;
                print_stats("interval", *port, decoder.counters(), disp.ring_full_waits(), workers,
                            exporter, (now - t0) / 1e9);
            }
        }
        if (st != RxStatus::ok) {
            port_error = st == RxStatus::error;
            break;
        }
    }
    if (g_stop_requested.load()) {
        std::fprintf(stderr, "spate: stop requested: exporting every active flow\n");
    }
    const uint64_t reader_cpu = thread_cpu_ns() - cpu0;
    {
        const WorkerTotals t = sum_workers(workers);
        max_active = std::max(max_active, t.active);
    }
    disp.end();
    for (auto& t : worker_threads) {
        t.join();
    }
    const uint64_t workers_done = mono_ns();
    exporter_thread.join();

    int rc = 0;
    if (!exporter.error().empty()) {
        std::fprintf(stderr, "spate: error: %s\n", exporter.error().c_str());
        rc = 1;
    }
    if (port_error || g_input_error) {
        rc = 1;
    }
    publish(snapshot, *port, decoder.counters(), disp.ring_full_waits(), workers, exporter);
    if (!opts.quiet) {
        print_stats("exit", *port, decoder.counters(), disp.ring_full_waits(), workers, exporter,
                    (mono_ns() - t0) / 1e9);
        std::fprintf(stderr, "spate:   receive span %.6f s (first to last packet received)\n",
                     (last_rx - first_rx) / 1e9);
    }
    if (report != nullptr) {
        const PortStats ps = port->stats();
        const WorkerTotals t = sum_workers(workers);
        report->packets = ps.packets;
        report->wire_bytes = ps.bytes;
        report->port_drops = ps.kernel_drops;
        report->rx_span_ns = last_rx - first_rx;
        report->process_span_ns = first_rx != 0 ? workers_done - first_rx : 0;
        report->wall_ns = mono_ns() - t0;
        report->reader_cpu_ns = reader_cpu;
        report->exporter_cpu_ns = exporter_cpu;
        report->records_written = rl(exporter.stats().records);
        report->bytes_written = rl(exporter.stats().bytes_out);
        report->packet_ring_full_waits = disp.ring_full_waits();
        report->record_ring_full_waits = t.rec_waits;
        report->max_flows_active = std::max(max_active, t.active);
        report->max_exporter_backlog = max_backlog;
        report->flows_evicted = t.evicted;
        report->workers.clear();
        for (uint32_t i = 0; i < opts.workers; ++i) {
            const WorkerStats& ws = workers[i]->stats();
            report->workers.push_back(RunReport::WorkerFigures{
                rl(ws.packets), rl(ws.records), rl(ws.flows_created), worker_cpu[i]});
        }
    }
    return rc;
}

}  // namespace spate
