// The pipeline, assembled once for every source: workers with their receive
// loops (on threads, or on EAL lcores with an rx-map), fed by their own
// sources or by a dispatcher; the exporter; and the control loop (signals,
// idle exit, telemetry, the stats line). See docs/architecture.md.
#include "spate/control/pipeline.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "spate/control/stats.hpp"
#include "spate/control/stats_snapshot.hpp"
#include "spate/core/clock.hpp"
#include "spate/export/exporter.hpp"
#include "spate/match/content_db.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/port/dpdk_port.hpp"
#include "spate/port/pcap_port.hpp"
#include "spate/proto/fingerprint_db.hpp"
#include "spate/worker/dispatch.hpp"
#include "spate/worker/rx_loop.hpp"
#include "spate/worker/worker.hpp"

namespace spate {

std::atomic<bool> g_stop_requested{false};
std::atomic<bool> g_reload_requested{false};

namespace {

// The driver to wake when a stop is requested: live capture can block in
// poll() inside libpcap, which pcap_breakloop() interrupts (it writes to an
// eventfd, which is async-signal-safe).
std::atomic<PortDriver*> g_active_port{nullptr};
std::atomic<int> g_signals{0};

extern "C" void on_signal(int) {
    if (g_signals.fetch_add(1, std::memory_order_relaxed) > 0) {
        // A second signal: the operator does not want to wait for the
        // export (or the output is stuck). Only async-signal-safe calls here.
        static const char kMsg[] =
            "spate: second signal: exiting now; active flows and unwritten records are lost\n";
        ssize_t ignored = ::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
        (void)ignored;
        _exit(1);
    }
    g_stop_requested.store(true, std::memory_order_relaxed);
    if (PortDriver* p = g_active_port.load(std::memory_order_relaxed)) {
        p->request_stop();
    }
}

extern "C" void on_hup(int) {
    g_reload_requested.store(true, std::memory_order_relaxed);  // the control loop reloads
}

uint64_t to_ns(double seconds) {
    return static_cast<uint64_t>(seconds * 1e9);
}

bool g_input_error = false;
/// A progress line is being redrawn on the terminal (stderr): other lines
/// erase it first, and the next update draws it again below them.
std::atomic<bool> g_progress_on_terminal{false};

void port_log(bool is_error, const std::string& message) {
    if (g_progress_on_terminal.load(std::memory_order_relaxed)) {
        std::fputs("\r\033[K", stderr);
    }
    std::fprintf(stderr, "spate: %s: %s\n", is_error ? "error" : "warning", message.c_str());
    if (is_error) {
        g_input_error = true;
    }
}

uint64_t rl(const std::atomic<uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
}

/// The workers' counters added up (read with relaxed loads while they run).
struct WorkerTotals {
    uint64_t created = 0, active = 0, evicted = 0, records = 0, rec_waits = 0, idle = 0, act = 0,
             tcp = 0, dropped = 0, refused = 0;
    uint64_t tls_messages = 0, tls_too_big = 0, tls_gaps = 0, tls_ooo = 0, tls_malformed = 0,
             tls_stolen = 0, quic_ok = 0, quic_failed = 0;
    uint64_t app[5][4] = {};
    uint64_t state_bytes[features::kArenaKinds] = {};
    uint64_t state_peak[features::kArenaKinds] = {};  ///< sum of the workers' peaks
    uint64_t state_leases[features::kArenaKinds] = {};
    uint64_t state_refused[features::kArenaKinds] = {};
    uint64_t content[5] = {};
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
        t.dropped += rl(s.records_dropped);
        t.refused += rl(s.flows_refused);
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
        for (int k = 0; k < 5; ++k) {
            t.content[k] += rl(s.content[k]);
        }
        for (uint32_t k = 0; k < features::kArenaKinds; ++k) {
            t.state_bytes[k] += rl(s.state_bytes[k]);
            t.state_peak[k] += rl(s.state_peak[k]);
            t.state_leases[k] += rl(s.state_leases[k]);
            t.state_refused[k] += rl(s.state_refused[k]);
        }
    }
    return t;
}

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
    sc.zstd_threads = opts.compress_threads;
    sc.rotate_bytes = opts.rotate_bytes;
    sc.rotate_seconds = opts.rotate_seconds;
    return sc;
}

parse::DecoderConfig decoder_config(const Options& opts) {
    parse::DecoderConfig dcfg;
    dcfg.decap = opts.decap;
    dcfg.vlan_in_key = opts.vlan_in_key;
    dcfg.frag_slots = opts.frag_slots;
    return dcfg;
}

Backpressure backpressure_for(const Options& opts, bool live) {
    if (opts.backpressure == "wait") {
        return Backpressure::wait;
    }
    if (opts.backpressure == "drop") {
        return Backpressure::drop;
    }
    return live ? Backpressure::drop : Backpressure::wait;
}

/// What feeds the workers: a port that a dispatcher reads for all of them,
/// or sources of each worker's own (NIC queues, per-worker replays).
struct Feed {
    PortDriver* dispatch_port = nullptr;
    std::vector<std::vector<BurstSource*>> own;  ///< per worker (when no dispatch_port)
    std::vector<unsigned> lcores;    ///< the lcore of each worker (rx-map); else threads
    std::vector<PortDriver*> ports;  ///< every port, for its counters
    bool live = false;
    bool busy_poll = false;  ///< never sleep when idle (DPDK ports)
};

/// Everything a run is made of, and the counters read from it.
class Run {
public:
    Run(const Options& opts, Feed& feed, uint64_t t0) : opts_(opts), feed_(feed), t0_(t0) {}

    int go(RunReport* report);

private:
    StatsTotals gather() const;
    void gather_rules(StatsTotals& t) const;
    /// SIGHUP or /spate/reload: recompiles the rule files (this thread, off
    /// the packet path) and publishes them; a file that fails keeps the old.
    void reload_rules();
    void publish(StatsSnapshot& snap, const StatsTotals& t) const;
    void control_loop();
    void request_stop(const char* why);
    void print_exit(double elapsed) const;
    void fill_report(RunReport& r) const;
    bool loops_done() const {
        for (const auto& l : loops_) {
            if (!l->done()) {
                return false;
            }
        }
        return true;
    }
    uint64_t frames() const {
        if (dispatcher_ != nullptr) {
            return rl(dispatcher_->stats().frames);
        }
        uint64_t n = 0;
        for (const auto& l : loops_) {
            n += rl(l->stats().frames);
        }
        return n;
    }
    parse::DecoderCounters decoder_totals() const {
        parse::DecoderCounters dc;
        for (const auto& l : loops_) {
            dc += l->decoder_counters();
        }
        return dc;
    }

    const Options& opts_;
    Feed& feed_;
    uint64_t t0_;
    std::unique_ptr<proto::FingerprintDb> fp_db_;
    std::unique_ptr<features::FeatureSet> features_;  ///< shared read-only by workers and exporter
    std::vector<std::unique_ptr<SpscRing>> rec_rings_;
    std::vector<std::unique_ptr<SpscRing>> pkt_rings_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::unique_ptr<RingSource>> ring_sources_;
    std::vector<std::unique_ptr<RxLoop>> loops_;
    std::unique_ptr<Dispatcher> dispatcher_;
    std::unique_ptr<Exporter> exporter_;
    std::atomic<bool> stop_{false};
    uint64_t hash_seed_ = 0;
    uint64_t exporter_cpu_ = 0;
    uint64_t max_active_ = 0;
    uint64_t max_backlog_ = 0;
};

StatsTotals Run::gather() const {
    StatsTotals t;
    t.mono_ns = mono_ns();
    for (const PortDriver* p : feed_.ports) {
        const PortStats ps = p->stats();
        t.kernel_drops += ps.kernel_drops;
        t.filtered += ps.filtered;
    }
    if (dispatcher_ != nullptr) {
        t.packets = rl(dispatcher_->stats().frames);
        t.wire_bytes = rl(dispatcher_->stats().wire_bytes);
        t.packets_shed = rl(dispatcher_->stats().dropped);
    } else {
        for (const auto& l : loops_) {
            t.packets += rl(l->stats().frames);
            t.wire_bytes += rl(l->stats().wire_bytes);
        }
    }
    const parse::DecoderCounters dc = decoder_totals();
    t.decoded = dc.decoded;
    t.non_ip = dc.non_ip;
    t.malformed = dc.malformed_total();
    const WorkerTotals w = sum_workers(workers_);
    t.flows_created = w.created;
    t.flows_active = w.active;
    t.flows_evicted = w.evicted;
    t.records_shed = w.dropped;
    for (uint32_t k = 0; k < features::kArenaKinds; ++k) {
        t.state_bytes += w.state_bytes[k];
        t.state_no_state += w.state_refused[k];
    }
    const ExporterStats& es = exporter_->stats();
    t.records = rl(es.records);
    t.records_lost = rl(es.records_lost);
    t.output_errors = rl(es.write_errors);
    t.output_faulted = exporter_->faulted();
    if (t.output_errors != 0) {
        t.output_error = exporter_->last_error();
    }
    gather_rules(t);
    return t;
}

void Run::gather_rules(StatsTotals& t) const {
    const auto& reg = features_->config().rule_registry;
    if (reg == nullptr) {
        return;
    }
    t.rules_generation = reg->generation();
    std::map<uint32_t, uint64_t> hits;
    for (const auto& w : workers_) {
        for (const auto& [id, n] : w->rule_hits()) {
            hits[id] += n;
        }
    }
    // Names from the newest generation that has the rule.
    for (const auto& [id, n] : hits) {
        RuleHits r;
        r.id = id;
        r.matches = n;
        for (uint32_t g = t.rules_generation; g > 0 && r.name.empty(); --g) {
            if (const auto* rules = reg->rules(g)) {
                for (const match::Rule& x : *rules) {
                    if (x.id == id) {
                        r.name = x.name;
                        break;
                    }
                }
            }
        }
        t.rules.push_back(std::move(r));
    }
}

void Run::reload_rules() {
    const auto& reg = features_->config().rule_registry;
    if (reg == nullptr) {
        std::fprintf(stderr, "spate: reload: no rule files in this run; nothing to reload\n");
        return;
    }
    try {
        const uint64_t t0 = mono_ns();
        auto db = compile_rules(opts_);
        if (db == nullptr) {
            db = match::ContentDb::compile(match::RuleSet{});
        }
        const size_t n = db->rules().size();
        if (!reg->publish(std::move(db))) {
            std::fprintf(stderr,
                         "spate: reload refused: %u rule generations used; restart spate to load "
                         "more; the running rules stay\n",
                         match::RuleRegistry::kMaxGenerations);
            return;
        }
        std::fprintf(stderr,
                     "spate: rules reloaded: %zu rules compiled in %.0f ms (generation %u); new "
                     "flows use them\n",
                     n, double(mono_ns() - t0) / 1e6, reg->generation());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spate: reload refused: %s; the running rules stay\n", e.what());
    }
}

void Run::publish(StatsSnapshot& snap, const StatsTotals& t) const {
    auto st = [](std::atomic<uint64_t>& a, uint64_t v) { a.store(v, std::memory_order_relaxed); };
    st(snap.packets_read, t.packets);
    st(snap.decoded, t.decoded);
    st(snap.non_ip, t.non_ip);
    st(snap.malformed, t.malformed);
    st(snap.filtered, t.filtered);
    st(snap.rx_drops, t.kernel_drops);
    st(snap.flows_created, t.flows_created);
    st(snap.flows_active, t.flows_active);
    st(snap.flows_evicted, t.flows_evicted);
    st(snap.records, t.records);
    st(snap.bytes_written, rl(exporter_->stats().bytes_in));
    st(snap.packet_ring_full_waits,
       dispatcher_ != nullptr ? rl(dispatcher_->stats().ring_full_waits) : 0);
    st(snap.record_ring_full_waits, sum_workers(workers_).rec_waits);
    st(snap.packets_shed, t.packets_shed);
    st(snap.records_shed, t.records_shed);
    st(snap.records_lost, t.records_lost);
    st(snap.output_errors, t.output_errors);
    st(snap.state_bytes, t.state_bytes);
    st(snap.state_refused, t.state_no_state);
    snap.output_faulted.store(t.output_faulted, std::memory_order_relaxed);
    if (t.rules_generation != 0) {
        std::vector<std::pair<std::string, uint64_t>> rules;
        rules.reserve(t.rules.size());
        for (const RuleHits& r : t.rules) {
            // Telemetry dictionary keys allow only letters, digits, _ and /.
            rules.emplace_back("rule_" + std::to_string(r.id), r.matches);
        }
        snap.set_rules(std::move(rules), t.rules_generation);
    }
    if (t.output_errors != 0) {
        snap.set_output_error(t.output_error);
    }
}

void Run::request_stop(const char* why) {
    if (stop_.exchange(true)) {
        return;
    }
    if (why != nullptr && !opts_.quiet) {
        if (g_progress_on_terminal.load(std::memory_order_relaxed)) {
            std::fputs("\r\033[K", stderr);
        }
        std::fprintf(stderr, "spate: %s: exporting every active flow\n", why);
    }
    for (PortDriver* p : feed_.ports) {
        p->request_stop();
    }
}

/// The main thread's loop while the workers run (or a thread of its own
/// when the main thread reads for the dispatcher): stop requests, idle exit,
/// telemetry every 100 ms, the stats line every interval. It ends once
/// every receive loop has finished.
void Run::control_loop() {
    constexpr uint64_t kPublishNs = 100'000'000;
    const uint64_t stats_every = to_ns(opts_.stats_interval);
    const uint64_t idle_exit = to_ns(opts_.idle_exit);
    uint64_t next_stats = stats_every != 0 ? t0_ + stats_every : UINT64_MAX;
    uint64_t next_publish = 0;
    uint64_t last_frames = 0;
    uint64_t last_change = mono_ns();
    std::FILE* stats_out = stderr;
    if (!opts_.stats_file.empty()) {
        stats_out = std::fopen(opts_.stats_file.c_str(), "a");
        if (stats_out == nullptr) {
            std::fprintf(stderr, "spate: warning: --stats-file %s: %s; stats go to stderr\n",
                         opts_.stats_file.c_str(), std::strerror(errno));
            stats_out = stderr;
        }
    }
    StatsReporter reporter(opts_.stats_format == "json" ? StatsFormat::json : StatsFormat::text,
                           stats_out, t0_);
    // The progress line: files only, on when asked or when stderr is a
    // terminal. Updated from this loop's clock, from counters the readers
    // publish anyway (frames) and once per burst (bytes read).
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    const bool files = !opts_.read_files.empty() && opts_.driver == "pcap";
    std::unique_ptr<ProgressLine> progress;
    if (files && (opts_.progress == Progress::on ||
                  (opts_.progress == Progress::automatic && terminal && !opts_.quiet))) {
        progress = std::make_unique<ProgressLine>(stderr, terminal, t0_);
        g_progress_on_terminal.store(terminal, std::memory_order_relaxed);
    }
    auto input_bytes = [this](uint64_t& total) {
        uint64_t read = 0;
        total = 0;
        for (const PortDriver* p : feed_.ports) {
            const PortStats ps = p->stats();
            read += ps.input_bytes_read;
            total += ps.input_bytes_total;
        }
        return read;
    };
    StatsSnapshot snapshot;
    register_stats_telemetry(&snapshot);
    while (!loops_done()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        const uint64_t now = mono_ns();
        if (g_stop_requested.load(std::memory_order_relaxed)) {
            request_stop("stop requested");
        }
        if (g_reload_requested.exchange(false, std::memory_order_relaxed)) {
            reload_rules();
        }
        const uint64_t f = frames();
        if (f != last_frames) {
            last_frames = f;
            last_change = now;
        } else if (idle_exit != 0 && now - last_change >= idle_exit) {
            request_stop(nullptr);  // --idle-exit: the replay is over
        }
        if (now >= next_publish) {
            next_publish = now + kPublishNs;
            const StatsTotals t = gather();
            publish(snapshot, t);
            max_active_ = std::max(max_active_, t.flows_active);
            const uint64_t made = sum_workers(workers_).records;
            const uint64_t out = t.records + t.records_lost;
            max_backlog_ = std::max(max_backlog_, made > out ? made - out : 0);
        }
        if (now >= next_stats) {
            next_stats += stats_every;
            if (next_stats <= now) {
                next_stats = now + stats_every;  // a late wake-up: no burst of lines
            }
            if (progress != nullptr && stats_out == stderr) {
                progress->clear();
            }
            reporter.interval(gather(), realtime_ns());
        }
        if (progress != nullptr && progress->due(now)) {
            uint64_t total = 0;
            const uint64_t read = input_bytes(total);
            progress->tick(now, frames(), read, total);
        }
    }
    if (progress != nullptr) {
        uint64_t total = 0;
        const uint64_t read = input_bytes(total);
        progress->finish(mono_ns(), frames(), read, total);
        g_progress_on_terminal.store(false, std::memory_order_relaxed);
    }
    publish(snapshot, gather());
    register_stats_telemetry(nullptr);
    if (stats_out != stderr) {
        std::fclose(stats_out);
    }
}

int Run::go(RunReport* report) {
    // A port that one thread must read feeds the workers through a
    // dispatcher; with one worker, that worker reads the port itself (no
    // ring, no copy, no hash), on the main thread, unless reading may block
    // (the loop must keep time while the link is quiet).
    const bool one_reader = feed_.dispatch_port != nullptr;
    const auto n = static_cast<uint32_t>(one_reader ? opts_.workers : feed_.own.size());
    const bool dispatch = one_reader && (n > 1 || feed_.dispatch_port->blocking());
    const bool main_reads = one_reader && !dispatch;
    features_ = std::make_unique<features::FeatureSet>(make_feature_set(opts_, fp_db_));
    const features::FeatureSet& feature_set = *features_;
    const parse::DecoderConfig dcfg = decoder_config(opts_);
    FlowTableConfig tcfg;
    tcfg.max_flows = static_cast<uint32_t>((opts_.max_flows + n - 1) / n);
    tcfg.idle_timeout_ns = to_ns(opts_.idle_timeout);
    tcfg.active_timeout_ns = to_ns(opts_.active_timeout);
    tcfg.tcp_close_timeout_ns = to_ns(opts_.tcp_close_timeout);
    const Backpressure policy = backpressure_for(opts_, feed_.live);
    // A seed per run: where a tuple lands cannot be predicted from outside.
    // --hash-seed repeats a run's placement; records never depend on it.
    if (opts_.hash_seed) {
        hash_seed_ = *opts_.hash_seed;
    } else {
        std::random_device rd;
        hash_seed_ = (uint64_t{rd()} << 32) ^ rd();
    }

    std::vector<SpscRing*> rec_ptrs;
    for (uint32_t i = 0; i < n; ++i) {
        rec_rings_.push_back(std::make_unique<SpscRing>(size_t{4} << 20));
        rec_ptrs.push_back(rec_rings_.back().get());
        workers_.push_back(std::make_unique<Worker>(i, tcfg, *rec_rings_.back(), feature_set));
        workers_.back()->set_backpressure(policy);
    }
    RecordFormat fmt;
    fmt.time = opts_.time_format;
    fmt.community_id_seed = opts_.community_id_seed;
    fmt.observer = opts_.observer;
    for (const PortDriver* p : feed_.ports) {
        fmt.nanosecond = fmt.nanosecond || p->nanosecond_timestamps();
    }
    size_t write_threshold = 256 * 1024;
    if (opts_.rotate_bytes > 0 && opts_.rotate_bytes < write_threshold) {
        write_threshold = static_cast<size_t>(opts_.rotate_bytes);
    }
    ExporterOptions eopts;
    // A record is in the output at most 200 ms after it left its worker, so
    // a flow on a quiet link is on disk within its timeout and a fraction
    // of a second (each flush also ends a zstd frame: more often costs ratio).
    eopts.flush_interval_ns = 200'000'000;
    // Output errors are reported at most once per stats interval (10 s without).
    if (opts_.stats_interval >= 1) {
        eopts.report_interval_ns = to_ns(opts_.stats_interval);
    }
    eopts.formatters = opts_.exporters;
    // Files and replays rotate by the records' capture time (names and
    // --rotate-interval), live sources by the wall clock.
    eopts.capture_time = !feed_.live;
    SinkConfig sc = sink_config(opts_);
    sc.capture_time = eopts.capture_time;
    exporter_ = std::make_unique<Exporter>(rec_ptrs, make_sink(sc), fmt, feature_set,
                                           write_threshold, eopts);

    // The receive loops: one per worker, each polling its sources.
    RxLoopConfig lcfg;
    lcfg.live = feed_.live;
    // Loops that poll a NIC themselves never sleep; loops fed by a ring back
    // off when it is empty, leaving the cores to the reader and the exporter.
    lcfg.busy_poll = !feed_.lcores.empty() || (main_reads && feed_.busy_poll);
    lcfg.stop = dispatch ? nullptr : &stop_;
    lcfg.hash_seed = hash_seed_;
    std::vector<SpscRing*> pkt_ptrs;
    for (uint32_t i = 0; i < n; ++i) {
        std::vector<BurstSource*> sources;
        if (dispatch) {
            pkt_rings_.push_back(std::make_unique<SpscRing>(size_t{opts_.ring_mb} << 20));
            pkt_ptrs.push_back(pkt_rings_.back().get());
            ring_sources_.push_back(std::make_unique<RingSource>(*pkt_rings_.back()));
            sources.push_back(ring_sources_.back().get());
        } else if (main_reads) {
            sources.push_back(feed_.dispatch_port);
        } else {
            sources = feed_.own[i];
        }
        loops_.push_back(std::make_unique<RxLoop>(*workers_[i], dcfg, sources, lcfg));
    }
    if (dispatch) {
        dispatcher_ =
            std::make_unique<Dispatcher>(*feed_.dispatch_port, pkt_ptrs, dcfg, policy, hash_seed_);
    }

    // Threads (or lcores): the exporter first, then the loops.
    std::function<void()> exporter_run = [this] {
        const uint64_t cpu0 = thread_cpu_ns();  // an lcore thread may have run before
        exporter_->run();
        exporter_cpu_ = thread_cpu_ns() - cpu0 +
                        exporter_->stats().formatter_cpu_ns.load(std::memory_order_relaxed);
    };
    std::thread exporter_thread;
    if (opts_.exporter_lcore >= 0 && !feed_.lcores.empty()) {
        launch_on_lcore(static_cast<unsigned>(opts_.exporter_lcore), exporter_run);
    } else {
        exporter_thread = std::thread(exporter_run);
    }
    std::vector<std::function<void()>> loop_runs;
    loop_runs.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        loop_runs.emplace_back([this, i] { loops_[i]->run(); });
    }
    std::vector<std::thread> loop_threads;
    for (uint32_t i = 0; i < n && !main_reads; ++i) {
        if (!feed_.lcores.empty()) {
            launch_on_lcore(feed_.lcores[i], loop_runs[i]);
        } else {
            loop_threads.emplace_back(loop_runs[i]);
        }
    }

    bool port_error = false;
    if (dispatch) {
        // The main thread reads (it is the EAL's main lcore with DPDK); the
        // control loop runs beside it.
        std::thread control([this] { control_loop(); });
        const RxStatus st = dispatcher_->run(stop_);
        port_error = st == RxStatus::error;
        control.join();
    } else if (main_reads) {
        std::thread control([this] { control_loop(); });
        loops_[0]->run();
        control.join();
    } else {
        control_loop();
    }
    for (auto& t : loop_threads) {
        t.join();
    }
    if (!feed_.lcores.empty()) {
        wait_lcores();  // the loops' lcores, and the exporter's if it has one
    }
    for (const auto& l : loops_) {
        port_error = port_error || l->source_failed();
    }
    const uint64_t done_ns = mono_ns();
    if (exporter_thread.joinable()) {
        exporter_thread.join();
    }

    int rc = 0;
    if (exporter_->lost_anything()) {
        if (!exporter_->error().empty()) {
            std::fprintf(stderr, "spate: error: %s\n", exporter_->error().c_str());
        }
        rc = 1;
    }
    if (port_error || g_input_error) {
        rc = 1;
    }
    if (!opts_.quiet) {
        print_exit(static_cast<double>(mono_ns() - t0_) / 1e9);
    }
    if (report != nullptr) {
        fill_report(*report);
        uint64_t first = 0;
        for (const auto& l : loops_) {
            const uint64_t f = rl(l->stats().first_rx_ns);
            first = f != 0 && (first == 0 || f < first) ? f : first;
        }
        if (dispatcher_ != nullptr) {
            first = rl(dispatcher_->stats().first_rx_ns);
        }
        report->process_span_ns = first != 0 ? done_ns - first : 0;
    }
    return rc;
}

void Run::print_exit(double elapsed) const {
    const StatsTotals t = gather();
    const parse::DecoderCounters dc = decoder_totals();
    const WorkerTotals w = sum_workers(workers_);
    const ExporterStats& es = exporter_->stats();
    std::fprintf(stderr,
                 "spate: stats (exit, %.3f s): packets read %" PRIu64 ", decoded %" PRIu64
                 ", non-ip %" PRIu64 ", malformed %" PRIu64 ", filtered %" PRIu64
                 ", kernel drops %" PRIu64 "\n",
                 elapsed, t.packets, dc.decoded, dc.non_ip, dc.malformed_total(), t.filtered,
                 t.kernel_drops);
    uint64_t steps_back = 0;
    for (const PortDriver* p : feed_.ports) {
        steps_back += p->stats().time_steps_back;
    }
    if (steps_back > 0) {
        std::fprintf(stderr,
                     "spate:   input: timestamps stepped back more than 1 s %" PRIu64 " times\n",
                     steps_back);
    }
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
    const uint64_t pkt_waits =
        dispatcher_ != nullptr ? rl(dispatcher_->stats().ring_full_waits) : 0;
    std::fprintf(stderr,
                 "spate:   flows created %" PRIu64 ", active %" PRIu64 ", evicted %" PRIu64
                 ", refused (probe bound) %" PRIu64 ", idle %" PRIu64 ", active-timeout %" PRIu64
                 ", tcp-end %" PRIu64 "; flows exported %" PRIu64 " (records written %" PRIu64
                 "), bytes written %" PRIu64 " (to disk %" PRIu64
                 "); ring-full waits: packets %" PRIu64 ", records %" PRIu64 "\n",
                 w.created, w.active, w.evicted, w.refused, w.idle, w.act, w.tcp, w.records,
                 rl(es.records), rl(es.bytes_in), rl(es.bytes_out), pkt_waits, w.rec_waits);
    std::fprintf(stderr,
                 "spate:   shed under load: packets %" PRIu64 ", records %" PRIu64
                 "; lost to output errors: records %" PRIu64 " (errors %" PRIu64
                 ", recoveries %" PRIu64 ")%s%s\n",
                 t.packets_shed, t.records_shed, t.records_lost, t.output_errors, rl(es.recoveries),
                 t.output_error.empty() ? "" : "; last: ", t.output_error.c_str());
    if (w.tls_messages + w.tls_gaps + w.tls_too_big + w.quic_ok + w.quic_failed > 0) {
        std::fprintf(stderr,
                     "spate:   tls: handshake messages %" PRIu64 ", too big %" PRIu64
                     ", gaps %" PRIu64 ", out-of-order held %" PRIu64 ", malformed %" PRIu64
                     ", buffers taken back %" PRIu64 "; quic initials decrypted %" PRIu64
                     ", not decrypted %" PRIu64 "\n",
                     w.tls_messages, w.tls_too_big, w.tls_gaps, w.tls_ooo, w.tls_malformed,
                     w.tls_stolen, w.quic_ok, w.quic_failed);
    }
    {
        std::string pools;
        for (uint32_t k = 0; k < features::kArenaKinds; ++k) {
            if (w.state_leases[k] + w.state_refused[k] == 0) {
                continue;
            }
            char b[160];
            std::snprintf(b, sizeof b,
                          "%s%.*s: leases %" PRIu64 ", refused %" PRIu64 ", peak %.1f KiB",
                          pools.empty() ? "" : "; ", int(features::kArenaNames[k].size()),
                          features::kArenaNames[k].data(), w.state_leases[k], w.state_refused[k],
                          double(w.state_peak[k]) / 1024);
            pools += b;
        }
        if (!pools.empty()) {
            std::fprintf(stderr, "spate:   flow state pools: %s\n", pools.c_str());
        }
    }
    if (features_->config().content_db != nullptr) {
        std::fprintf(stderr,
                     "spate:   content: matches %" PRIu64 ", streams opened %" PRIu64
                     ", refused (no stream state) %" PRIu64 ", gaps %" PRIu64
                     ", flows over the match bound %" PRIu64 "\n",
                     w.content[4], w.content[0], w.content[1], w.content[2], w.content[3]);
        StatsTotals t;
        gather_rules(t);
        std::sort(t.rules.begin(), t.rules.end(), [](const RuleHits& a, const RuleHits& b) {
            return a.matches != b.matches ? a.matches > b.matches : a.id < b.id;
        });
        constexpr size_t kShown = 20;
        std::string line;
        for (size_t i = 0; i < t.rules.size() && i < kShown; ++i) {
            line += (i == 0 ? "" : ", ") + t.rules[i].name + " (" + std::to_string(t.rules[i].id) +
                    ") " + std::to_string(t.rules[i].matches);
        }
        if (t.rules.size() > kShown) {
            line += ", " + std::to_string(t.rules.size() - kShown) + " more rules";
        }
        if (!line.empty()) {
            std::fprintf(stderr, "spate:   rule matches: %s\n", line.c_str());
        }
    }
    static const char* const kApps[5] = {"dns", "http", "ssh", "dhcp", "ike"};
    for (int a = 0; a < 5; ++a) {
        if (w.app[a][0] + w.app[a][1] + w.app[a][2] + w.app[a][3] > 0) {
            std::fprintf(stderr,
                         "spate:   %s: messages %" PRIu64 ", malformed %" PRIu64
                         ", bound hit %" PRIu64 ", gaps %" PRIu64 "\n",
                         kApps[a], w.app[a][0], w.app[a][1], w.app[a][2], w.app[a][3]);
        }
    }
    for (size_t i = 0; i < loops_.size(); ++i) {
        const RxLoopStats& ls = loops_[i]->stats();
        std::string where =
            feed_.lcores.empty() ? "thread" : "lcore " + std::to_string(feed_.lcores[i]);
        std::fprintf(stderr,
                     "spate:   worker %zu (%s): packets %" PRIu64 ", flows %" PRIu64
                     ", records %" PRIu64 " (shed %" PRIu64 "), live clock ticks %" PRIu64 "\n",
                     i, where.c_str(), rl(ls.frames), rl(workers_[i]->stats().flows_created),
                     rl(workers_[i]->stats().records), rl(workers_[i]->stats().records_dropped),
                     rl(ls.live_ticks));
    }
    if (dispatcher_ != nullptr) {
        const DispatcherStats& ds = dispatcher_->stats();
        if (workers_.size() > 1) {
            std::fprintf(stderr,
                         "spate:   dispatcher: frames %" PRIu64 " (hashed from headers %" PRIu64
                         ", through the decoder %" PRIu64 ")\n",
                         rl(ds.frames), rl(ds.hashed_fast), rl(ds.hashed_slow));
        } else {
            std::fprintf(stderr,
                         "spate:   dispatcher: frames %" PRIu64 " (one worker: not hashed)\n",
                         rl(ds.frames));
        }
    }
    for (const PortDriver* p : feed_.ports) {
        std::string detail = p->detail();
        size_t pos = 0;
        while (pos < detail.size()) {
            size_t nl = detail.find('\n', pos);
            std::fprintf(stderr, "spate:   %s\n", detail.substr(pos, nl - pos).c_str());
            pos = nl == std::string::npos ? detail.size() : nl + 1;
        }
    }
    // First to last frame received, over every reader.
    uint64_t first = 0, last = 0;
    auto span = [&](uint64_t f, uint64_t l) {
        if (f != 0 && (first == 0 || f < first)) {
            first = f;
        }
        last = std::max(last, l);
    };
    if (dispatcher_ != nullptr) {
        span(rl(dispatcher_->stats().first_rx_ns), rl(dispatcher_->stats().last_rx_ns));
    } else {
        for (const auto& l : loops_) {
            span(rl(l->stats().first_rx_ns), rl(l->stats().last_rx_ns));
        }
    }
    std::fprintf(stderr,
                 "spate:   receive span %.6f s (first to last packet received); flow hash seed "
                 "0x%016" PRIx64 "\n",
                 first != 0 ? static_cast<double>(last - first) / 1e9 : 0.0, hash_seed_);
}

void Run::fill_report(RunReport& r) const {
    const StatsTotals t = gather();
    const WorkerTotals w = sum_workers(workers_);
    r.packets = t.packets;
    r.wire_bytes = t.wire_bytes;
    r.port_drops = t.kernel_drops;
    uint64_t first = 0, last = 0;
    if (dispatcher_ != nullptr) {
        first = rl(dispatcher_->stats().first_rx_ns);
        last = rl(dispatcher_->stats().last_rx_ns);
        r.reader_cpu_ns = rl(dispatcher_->stats().cpu_ns);
        r.packet_ring_full_waits = rl(dispatcher_->stats().ring_full_waits);
    } else {
        for (const auto& l : loops_) {
            const uint64_t f = rl(l->stats().first_rx_ns);
            first = f != 0 && (first == 0 || f < first) ? f : first;
            last = std::max(last, rl(l->stats().done_ns));
        }
        r.reader_cpu_ns = 0;  // the workers read
        r.packet_ring_full_waits = 0;
    }
    r.rx_span_ns = first != 0 && last > first ? last - first : 0;
    r.wall_ns = mono_ns() - t0_;
    r.exporter_cpu_ns = exporter_cpu_;
    r.records_written = t.records;
    r.bytes_written = rl(exporter_->stats().bytes_out);
    r.record_ring_full_waits = w.rec_waits;
    // Each worker's table keeps its own high-water mark (a run shorter than
    // the 100 ms sampling still reports it); their sum bounds the peak of
    // the whole run from above, and is exact for one worker.
    uint64_t peaks = 0;
    for (const auto& wk : workers_) {
        peaks += rl(wk->stats().flows_peak);
    }
    r.max_flows_active = std::max({max_active_, w.active, peaks});
    r.max_exporter_backlog = max_backlog_;
    r.flows_evicted = w.evicted;
    r.workers.clear();
    for (size_t i = 0; i < workers_.size(); ++i) {
        const WorkerStats& ws = workers_[i]->stats();
        r.workers.push_back(RunReport::WorkerFigures{
            rl(ws.packets), rl(ws.records), rl(ws.flows_created), rl(loops_[i]->stats().cpu_ns)});
    }
}

/// Clears the signal handler's port when a run ends.
struct ActivePort {
    explicit ActivePort(PortDriver* p) { g_active_port.store(p); }
    ~ActivePort() { g_active_port.store(nullptr); }
    ActivePort(const ActivePort&) = delete;
    ActivePort& operator=(const ActivePort&) = delete;
};

DpdkPortConfig dpdk_config(const Options& opts) {
    DpdkPortConfig dc;
    dc.eal_args = opts.eal_args;
    dc.rx_queues = static_cast<uint16_t>(opts.rx_queues);
    dc.auto_queues = static_cast<uint16_t>(opts.workers);
    dc.rx_desc = static_cast<uint16_t>(opts.rx_desc);
    dc.mbufs = opts.mbufs;
    dc.promiscuous = opts.promiscuous;
    dc.linktype = static_cast<uint16_t>(opts.port_linktype);
    dc.mtu = static_cast<uint16_t>(opts.mtu);
    dc.link_wait_s = opts.link_wait;
    dc.verbose = opts.verbose;
    for (const RxMapEntry& m : opts.rx_map) {
        uint16_t& q = dc.port_queues[m.port];
        q = std::max<uint16_t>(q, static_cast<uint16_t>(m.queue + 1));
    }
    return dc;
}

}  // namespace

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    struct sigaction hup {};
    hup.sa_handler = on_hup;
    sigemptyset(&hup.sa_mask);
    hup.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &hup, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int run_pipeline(const Options& opts) {
    const uint64_t t0 = mono_ns();
    std::unique_ptr<PortDriver> port;
    if (opts.driver == "dpdk") {
        port = make_dpdk_port(dpdk_config(opts), port_log);
        if (!opts.quiet) {
            std::fprintf(stderr, "spate: %s\n", port->describe().c_str());
        }
    } else {
        PcapPortConfig pc;
        pc.files = opts.read_files;
        pc.interface = opts.interface;
        pc.bpf = opts.bpf;
        pc.bpf_option = opts.bpf_option;
        pc.snaplen = opts.snaplen;
        pc.promiscuous = opts.promiscuous;
        pc.buffer_mb = static_cast<int>(opts.pcap_buffer_mb);
        try {
            port = make_pcap_port(pc, port_log);
        } catch (const FilterError& e) {
            // A filter that does not compile is a usage error (exit 2),
            // like any other bad option value.
            std::string why = e.what();
            if (why.starts_with(pc.bpf_option + ": ")) {
                why.erase(0, pc.bpf_option.size() + 2);
            }
            throw UsageError("option '" + pc.bpf_option + "': " + why);
        }
    }
    const ActivePort active(port.get());
    if (opts.rx_map.empty()) {
        Feed feed;
        feed.dispatch_port = port.get();
        feed.ports.push_back(port.get());
        feed.live = port->live();
        feed.busy_poll = opts.driver == "dpdk";
        Run run(opts, feed, t0);
        return run.go(nullptr);
    }
    // rx-map: each worker lcore polls its own queues (RSS spreads the flows).
    Feed feed;
    feed.ports.push_back(port.get());
    feed.live = port->live();
    feed.busy_poll = true;
    std::vector<std::unique_ptr<BurstSource>> sources;
    for (const RxMapEntry& m : opts.rx_map) {
        if (std::find(feed.lcores.begin(), feed.lcores.end(), m.lcore) == feed.lcores.end()) {
            feed.lcores.push_back(m.lcore);
        }
    }
    check_worker_lcores(feed.lcores, opts.exporter_lcore);
    for (unsigned lcore : feed.lcores) {
        std::vector<std::pair<uint16_t, uint16_t>> queues;
        for (const RxMapEntry& m : opts.rx_map) {
            if (m.lcore == lcore) {
                queues.emplace_back(m.port, m.queue);
            }
        }
        sources.push_back(make_dpdk_queue_source(*port, queues));
        feed.own.push_back({sources.back().get()});
    }
    Run run(opts, feed, t0);
    const int rc = run.go(nullptr);
    sources.clear();  // they hold mbufs of the port's pools
    return rc;
}

int run_pipeline(const Options& opts, std::unique_ptr<PortDriver> port, RunReport* report) {
    const uint64_t t0 = mono_ns();
    if (opts.driver != "dpdk" && report != nullptr && !opts.quiet) {
        std::fprintf(stderr, "spate: %s\n", port->describe().c_str());
    }
    Feed feed;
    feed.dispatch_port = port.get();
    feed.ports.push_back(port.get());
    feed.live = port->live();
    Run run(opts, feed, t0);
    return run.go(report);
}

int run_direct(const Options& opts, std::vector<std::unique_ptr<PortDriver>> ports,
               RunReport* report) {
    const uint64_t t0 = mono_ns();
    Feed feed;
    for (auto& p : ports) {
        feed.ports.push_back(p.get());
        feed.own.push_back({p.get()});
        feed.live = feed.live || p->live();
    }
    Run run(opts, feed, t0);
    return run.go(report);
}

}  // namespace spate
