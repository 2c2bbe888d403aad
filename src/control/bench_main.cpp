// spate-bench: replays captures (or a synthetic set of concurrent flows)
// from memory through the unchanged pipeline — decoder, dispatcher, workers,
// flow tables, feature units, exporter — and reports throughput per
// configuration: medians of several runs with their spread, as a table and
// as JSON, optionally compared with a baseline and plotted. docs/bench.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <simdjson.h>
#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_compare.hpp"
#include "bench_figures.hpp"
#include "spate/control/option_dump.hpp"
#include "spate/control/options.hpp"
#include "spate/control/pipeline.hpp"
#include "spate/export/json_writer.hpp"
#include "spate/port/dpdk_port.hpp"
#include "spate/port/memory_port.hpp"

namespace po = boost::program_options;
using namespace spate;
using namespace spate::bench;

namespace {

struct BenchArgs {
    std::vector<std::string> captures;
    std::vector<uint64_t> flows;  ///< synthetic flow counts (sweep); empty: captures
    uint32_t packets_per_flow = 8;
    uint64_t loops = 1;
    double duration = 0;
    double rate_pps = 0;
    double rate_gbps = 0;
    double speed = 0;
    std::vector<uint32_t> workers{1};
    std::vector<std::string> feature_sets{"none"};
    uint32_t runs = 3;
    std::string output = "/dev/null";
    std::string json;
    std::string compare;
    std::string plot;
    std::vector<std::string> spate_args;  ///< after "--": spate options for every run
    bool direct = false;                  ///< workers read their own share (no dispatcher)
    std::string driver = "memory";        ///< memory, or dpdk (mbufs from a mempool, net_pcap)
    std::string eal;                      ///< EAL arguments for --driver dpdk
};

/// Named feature sets of the harness ("basic" has no units; "joy-parity" is
/// Joy's set with its application protocols).
std::string expand_set(const std::string& s) {
    if (s == "basic" || s == "none") {
        return "none";
    }
    if (s == "joy-parity") {
        return "joy";
    }
    if (s == "everything") {
        return "all";
    }
    std::string out = s;
    std::replace(out.begin(), out.end(), '+', ',');
    return out;
}

template <class T>
std::vector<T> parse_list(const std::string& key, const std::string& text) {
    std::vector<T> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            const unsigned long long v = std::stoull(item, &used);
            if (used != item.size() || v == 0) {
                throw std::invalid_argument(item);
            }
            out.push_back(static_cast<T>(v));
        } catch (const std::exception&) {
            throw std::runtime_error("--" + key + ": '" + item +
                                     "' is not a positive integer (expected a list like 1,2,4)");
        }
    }
    if (out.empty()) {
        throw std::runtime_error("--" + key + ": empty list");
    }
    return out;
}

double tsc_ghz() {
    timespec a{};
    timespec b{};
    clock_gettime(CLOCK_MONOTONIC, &a);
    const uint64_t c0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const uint64_t c1 = __rdtsc();
    clock_gettime(CLOCK_MONOTONIC, &b);
    const double ns = double(b.tv_sec - a.tv_sec) * 1e9 + double(b.tv_nsec - a.tv_nsec);
    return double(c1 - c0) / ns;
}

/// One run's view of a DPDK port that lives for the whole process (the EAL
/// starts once): it ends the run after a packet budget or a duration.
class BudgetPort final : public PortDriver {
public:
    BudgetPort(PortDriver& inner, uint64_t packets, double seconds)
        : inner_(inner),
          budget_(packets),
          seconds_(seconds),
          drops_at_start_(inner.stats().kernel_drops) {}

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override {
        status = RxStatus::ok;
        timespec t{};
        clock_gettime(CLOCK_MONOTONIC, &t);
        const double now = double(t.tv_sec) + double(t.tv_nsec) / 1e9;
        if (start_ == 0) {
            start_ = now;
        }
        if ((budget_ != 0 && packets_ >= budget_) || (seconds_ > 0 && now - start_ >= seconds_)) {
            status = RxStatus::end;
            return 0;
        }
        if (budget_ != 0 && budget_ - packets_ < n) {
            n = static_cast<uint16_t>(budget_ - packets_);
        }
        const uint16_t got = inner_.rx_burst(pkts, n, status);
        for (uint16_t i = 0; i < got; ++i) {
            bytes_ += pkts[i].wirelen;
        }
        packets_ += got;
        return got;
    }
    bool nanosecond_timestamps() const override { return inner_.nanosecond_timestamps(); }
    void request_stop() override { budget_ = packets_ == 0 ? 1 : packets_; }
    PortStats stats() const override {
        PortStats s;
        s.packets = packets_;
        s.bytes = bytes_;
        // The device's drops (imissed + rx_nombuf) during this run.
        s.kernel_drops = inner_.stats().kernel_drops - drops_at_start_;
        return s;
    }
    std::string describe() const override { return inner_.describe(); }

private:
    PortDriver& inner_;
    uint64_t budget_;
    double seconds_;
    double start_ = 0;
    uint64_t packets_ = 0;
    uint64_t bytes_ = 0;
    uint64_t drops_at_start_ = 0;
};

void dpdk_log(bool is_error, const std::string& m) {
    std::fprintf(stderr, "spate-bench: dpdk: %s%s\n", is_error ? "error: " : "", m.c_str());
}

Sample run_one(const BenchArgs& a, const Config& c, std::shared_ptr<const PacketStore> store,
               double ghz) {
    std::vector<std::string> args{"spate-bench", "-q",
                                  "--workers",   std::to_string(c.workers),
                                  "--features",  expand_set(c.features),
                                  "-o",          a.output,
                                  "-r",          a.captures.empty() ? "/dev/null" : a.captures[0]};
    args.insert(args.end(), a.spate_args.begin(), a.spate_args.end());
    std::vector<const char*> argv;
    for (auto& s : args) {
        argv.push_back(s.c_str());
    }
    Options opts;
    if (parse_options(static_cast<int>(argv.size()), argv.data(), opts) != ParseOutcome::run) {
        throw std::runtime_error("the spate options after -- asked for help or version");
    }
    MemoryPortConfig mc;
    mc.loops = a.loops;
    mc.duration_s = a.duration;
    mc.rate_pps = a.rate_pps;
    mc.rate_gbps = a.rate_gbps;
    mc.speed = a.speed;
    RunReport r;
    int rc = 0;
    if (a.driver == "dpdk") {
        // The capture replayed by net_pcap from mbufs it loaded into its
        // mempool at start (infinite_rx): the DPDK driver's path, through the
        // dispatcher. One port for the whole process; each run takes its
        // packet budget (loops x capture) or its duration from it.
        static std::unique_ptr<PortDriver> dpdk;
        if (dpdk == nullptr) {
            DpdkPortConfig dc;
            dc.eal_args = a.eal;
            dc.link_wait_s = 0;
            // net_pcap's infinite_rx keeps the whole capture in mbufs.
            dc.mbufs = static_cast<uint32_t>(store->size() + 16384);
            dpdk = make_dpdk_port(dc, dpdk_log);
        }
        rc = run_pipeline(
            opts, std::make_unique<BudgetPort>(*dpdk, a.loops * store->size(), a.duration), &r);
    } else if (a.direct) {
        // Each worker's share, split once per input and worker count. The
        // cache holds the store it was made from, so a later store can never
        // take its address and be served its shares.
        static std::shared_ptr<const PacketStore> shared_from;
        static std::map<uint32_t, std::vector<std::shared_ptr<const PacketStore>>> shares;
        if (shared_from != store) {
            shares.clear();
            shared_from = store;
        }
        auto& share = shares[c.workers];
        if (share.empty()) {
            for (uint32_t i = 0; i < c.workers; ++i) {
                share.push_back(store->subset(c.workers, i));
            }
        }
        std::vector<std::unique_ptr<PortDriver>> ports;
        for (uint32_t i = 0; i < c.workers; ++i) {
            ports.push_back(make_memory_port(share[i], mc));
        }
        rc = run_direct(opts, std::move(ports), &r);
    } else {
        rc = run_pipeline(opts, make_memory_port(std::move(store), mc), &r);
    }
    if (rc != 0) {
        throw std::runtime_error("the pipeline failed (exit status " + std::to_string(rc) + ")");
    }
    Sample s{};
    s.packets = double(r.packets);
    s.records = double(r.records_written);
    // Throughput over the time the pipeline took: from the first packet read
    // until every worker had handled its last one.
    const double span_s = std::max<double>(double(r.process_span_ns), 1) / 1e9;
    s.mpps = double(r.packets) / span_s / 1e6;
    s.gbps = double(r.wire_bytes) * 8 / span_s / 1e9;
    double cpu_ns = double(r.reader_cpu_ns + r.exporter_cpu_ns);
    for (const auto& w : r.workers) {
        cpu_ns += double(w.cpu_ns);
        s.worker_mpps_cpu.push_back(w.cpu_ns ? double(w.packets) / (double(w.cpu_ns) / 1e9) / 1e6
                                             : 0);
    }
    s.cycles_per_pkt = r.packets ? cpu_ns * ghz / double(r.packets) : 0;
    s.pkts_per_cpu_s = cpu_ns > 0 ? double(r.packets) / (cpu_ns / 1e9) : 0;
    s.records_per_s = double(r.records_written) / (double(r.wall_ns) / 1e9);
    s.ring_full_waits = double(r.packet_ring_full_waits + r.record_ring_full_waits);
    s.port_drops = double(r.port_drops);
    s.max_flows_active = double(r.max_flows_active);
    s.max_exporter_backlog = double(r.max_exporter_backlog);
    // A tiny input measures start-up and thread wake-ups, not packets.
    static bool warned = false;
    if (!warned && (r.packets < 100000 || double(r.process_span_ns) < 0.5 * double(r.wall_ns))) {
        warned = true;
        std::fprintf(stderr,
                     "spate-bench: warning: start-up and thread overheads dominate this run (%llu "
                     "packets, processed in %.1f ms of %.1f ms): per-packet figures mean little; "
                     "use the bench capture or --loops N\n",
                     static_cast<unsigned long long>(r.packets), double(r.process_span_ns) / 1e6,
                     double(r.wall_ns) / 1e6);
    }
    return s;
}

void write_json(const BenchArgs& a, const std::vector<Config>& configs, double ghz,
                const std::string& path) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("tool");
    w.value("spate-bench");
    w.key("version");
    w.value(SPATE_VERSION);
    w.key("date");
    w.value(static_cast<uint64_t>(time(nullptr)));
    w.key("cpus");
    w.value(static_cast<uint64_t>(std::thread::hardware_concurrency()));
    w.key("tsc_ghz");
    w.value_double(ghz, 3);
    w.key("captures");
    w.begin_array();
    for (const auto& c : a.captures) {
        w.value(c);
    }
    w.end_array();
    w.key("runs");
    w.value(uint64_t{a.runs});
    w.key("configs");
    w.begin_array();
    for (const Config& c : configs) {
        w.begin_object();
        w.key("workers");
        w.value(uint64_t{c.workers});
        w.key("features");
        w.value(c.features);
        w.key("flows");
        w.value(c.flows);
        for (const Figure& f : kFigures) {
            const Stat s = figure(c, f);
            w.key(f.name);
            w.begin_object();
            w.key("median");
            w.value_double(s.median, 4);
            w.key("min");
            w.value_double(s.min, 4);
            w.key("max");
            w.value_double(s.max, 4);
            w.end_object();
        }
        w.key("worker_mpps_per_cpu_second");
        w.begin_array();
        for (size_t i = 0; i < c.workers; ++i) {
            std::vector<double> v;
            for (const Sample& s : c.samples) {
                v.push_back(i < s.worker_mpps_cpu.size() ? s.worker_mpps_cpu[i] : 0);
            }
            w.value_double(stat_of(v).median, 4);
        }
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.end_object();
    out.push_back('\n');
    std::ofstream f(path);
    f << out;
    if (!f) {
        throw std::runtime_error("--json: cannot write " + path);
    }
}

void plot(const std::vector<Config>& configs, const std::string& path) {
    // Throughput against workers (one line per feature set) and against
    // concurrent flows (synthetic sweeps), drawn by gnuplot.
    const std::string dat = path + ".dat";
    std::ofstream d(dat);
    std::vector<std::string> sets;
    for (const Config& c : configs) {
        if (std::find(sets.begin(), sets.end(), c.features) == sets.end()) {
            sets.push_back(c.features);
        }
    }
    for (const std::string& s : sets) {
        d << "# " << s << "\n";
        for (const Config& c : configs) {
            if (c.features == s) {
                d << c.workers << " " << c.flows << " " << figure(c, kFigures[0]).median << " "
                  << figure(c, kFigures[0]).min << " " << figure(c, kFigures[0]).max << "\n";
            }
        }
        d << "\n\n";
    }
    d.close();
    const bool by_flows =
        std::any_of(configs.begin(), configs.end(), [](const Config& c) { return c.flows != 0; });
    std::ostringstream g;
    g << "set terminal pngcairo size 900,560 noenhanced\n"
      << "set output '" << path << "'\n"
      << "set ylabel 'Mpps (median, min..max)'\nset grid\nset key left top\n"
      << "set yrange [0:*]\n";
    if (by_flows) {
        g << "set logscale x\nset xlabel 'concurrent flows'\n"
          << "set title 'spate-bench: throughput against concurrent flows'\n";
    } else {
        g << "set xlabel 'workers'\nset xtics 1\n"
          << "set title 'spate-bench: throughput against workers'\n";
    }
    g << "plot ";
    for (size_t i = 0; i < sets.size(); ++i) {
        g << (i ? ", " : "") << "'" << dat << "' index " << i << " using " << (by_flows ? 2 : 1)
          << ":3:4:5 with yerrorlines title '" << sets[i] << "'";
    }
    g << "\n";
    FILE* gp = popen("gnuplot 2>&1", "w");
    if (gp == nullptr) {
        throw std::runtime_error("--plot: cannot run gnuplot (apt-get install gnuplot-nox)");
    }
    std::fputs(g.str().c_str(), gp);
    const int rc = pclose(gp);
    if (rc != 0) {
        throw std::runtime_error(
            "--plot: gnuplot failed (is gnuplot installed? apt-get install "
            "gnuplot-nox)");
    }
    std::remove(dat.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    BenchArgs a;
    std::string workers = "1";
    std::string features = "none";
    std::string flows;
    po::options_description desc("Options");
    // clang-format off
    desc.add_options()
        ("help,h", "this text")
        ("flows", po::value<std::string>(&flows)->value_name("N[,N...]"),
         "instead of captures, N synthetic concurrent TCP flows (a list sweeps: 1000,1000000,10000000)")
        ("packets-per-flow", po::value<uint32_t>(&a.packets_per_flow)->value_name("N")->default_value(8),
         "synthetic flows: packets each (4..1000)")
        ("loops", po::value<uint64_t>(&a.loops)->value_name("N")->default_value(1),
         "replays of the input per run, each with shifted addresses (new flows); 0 = until --duration")
        ("duration", po::value<double>(&a.duration)->value_name("SECONDS")->default_value(0),
         "stop each run after SECONDS (0 = after --loops)")
        ("rate-pps", po::value<double>(&a.rate_pps)->value_name("PPS")->default_value(0),
         "replay at this many packets per second")
        ("rate-gbps", po::value<double>(&a.rate_gbps)->value_name("GBPS")->default_value(0),
         "replay at this many Gbps on the wire")
        ("speed", po::value<double>(&a.speed)->value_name("FACTOR")->default_value(0),
         "replay at a multiple of the capture's own timing (1 = real time)")
        ("workers", po::value<std::string>(&workers)->value_name("N[,N...]")->default_value("1"),
         "worker counts to sweep, e.g. 1,2,4")
        ("features", po::value<std::string>(&features)->value_name("SETS")->default_value("none"),
         "feature sets to sweep, comma-separated; '+' joins units inside a set (splt+bd); "
         "spate's names: none (no units), joy (splt,bd,entropy,idp,tcp,ip,tls,dns,http), all, app, and every unit; "
         "older names still read: basic = none, joy-parity = joy, everything = all")
        ("runs", po::value<uint32_t>(&a.runs)->value_name("N")->default_value(3),
         "runs per configuration (medians and min..max reported)")
        ("driver", po::value<std::string>(&a.driver)->value_name("DRIVER")->default_value("memory"),
         "memory (a packed buffer, addresses shifted each loop), or dpdk: the capture loaded into mbufs "
         "by net_pcap (infinite_rx) and read through the DPDK driver (same flows every loop)")
        ("eal", po::value<std::string>(&a.eal)->value_name("ARGS"),
         "with --driver dpdk: EAL arguments (default: --no-huge -m 1024 --no-pci --no-shconf and a "
         "net_pcap vdev replaying the first capture)")
        ("direct", po::bool_switch(&a.direct),
         "each worker reads its own share of the flows (split by flow hash), as workers polling their own "
         "NIC RSS queues do (--rx-map); default: one reader decodes and dispatches to the workers")
        ("output,o", po::value<std::string>(&a.output)->value_name("PATH")->default_value("/dev/null"),
         "where the records go (checked before the first run)")
        ("json", po::value<std::string>(&a.json)->value_name("FILE"),
         "write the figures as JSON to FILE (schema: docs/bench.md; the path is checked before the first run)")
        ("compare", po::value<std::string>(&a.compare)->value_name("FILE"),
         "compare with a baseline written by --json: per configuration (full name) each figure's medians, "
         "their run-to-run spread, the ratio and a better / worse / within spread mark; configurations on "
         "one side only are listed")
        ("plot", po::value<std::string>(&a.plot)->value_name("FILE"),
         "draw throughput against workers (or flows) to FILE.png (gnuplot)");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("capture", po::value<std::vector<std::string>>(&a.captures),
                         "capture files (positional)")(
        "dump-options", "print the option tables for man/gen_man.py");
    po::options_description all;
    all.add(desc).add(hidden);
    const std::vector<std::string> synopsis = {
        "spate-bench [OPTIONS] CAPTURE... [-- SPATE-OPTIONS]",
        "spate-bench --flows N[,N...] [OPTIONS] [-- SPATE-OPTIONS]",
    };
    po::positional_options_description pos;
    pos.add("capture", -1);
    Baseline baseline;
    std::vector<std::string> mine;
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--") {
            a.spate_args.assign(argv + i + 1, argv + argc);
            break;
        }
        mine.emplace_back(argv[i]);
    }
    try {
        po::variables_map vm;
        po::store(po::command_line_parser(mine).options(all).positional(pos).run(), vm);
        po::notify(vm);
        if (vm.count("dump-options")) {
            OptionGroups groups;
            groups.emplace_back("Options", desc);
            std::cout << dump_option_table(synopsis, groups);
            return 0;
        }
        if (vm.count("help")) {
            std::cout << "spate-bench: replay captures from memory through spate's pipeline and "
                         "measure it\n\n";
            for (size_t i = 0; i < synopsis.size(); ++i) {
                std::cout << (i == 0 ? "Usage: " : "       ") << synopsis[i] << "\n";
            }
            std::cout
                << "\n"
                << desc << "\n"
                << "Figures per configuration: Mpps and Gbps over the receive span, CPU cycles "
                   "per\n"
                   "packet (all pipeline threads), packets per CPU-second, per worker Mpps per\n"
                   "CPU-second, records per second, ring-full waits (drops avoided by waiting),\n"
                   "peak active flows, peak exporter backlog. Example:\n"
                   "  spate-bench build/bench/bench.pcap --workers 1,2 --features basic,joy-parity "
                   "\\\n"
                   "      --runs 5 --json now.json --compare before.json --plot workers.png\n";
            return 0;
        }
        a.workers = parse_list<uint32_t>("workers", workers);
        if (!flows.empty()) {
            a.flows = parse_list<uint64_t>("flows", flows);
        }
        a.feature_sets.clear();
        std::stringstream fs(features);
        std::string item;
        while (std::getline(fs, item, ',')) {
            if (!item.empty()) {
                a.feature_sets.push_back(item);
            }
        }
        if (a.captures.empty() && a.flows.empty()) {
            throw std::runtime_error("no input: give capture files or --flows N (see --help)");
        }
        if (!a.captures.empty() && !a.flows.empty()) {
            throw std::runtime_error("give capture files or --flows, not both");
        }
        if (a.runs == 0) {
            throw std::runtime_error("--runs: must be at least 1");
        }
        if (a.loops == 0 && a.duration <= 0) {
            throw std::runtime_error("--loops 0 needs --duration");
        }
        if (a.driver != "memory" && a.driver != "dpdk") {
            throw std::runtime_error("--driver: expected memory or dpdk, got '" + a.driver + "'");
        }
        if (a.driver == "dpdk") {
            if (!have_dpdk()) {
                throw std::runtime_error("--driver dpdk: this build has no DPDK driver");
            }
            if (a.captures.size() != 1 || !a.flows.empty()) {
                throw std::runtime_error("--driver dpdk: give exactly one capture (no --flows)");
            }
            if (a.direct || a.rate_pps > 0 || a.rate_gbps > 0 || a.speed > 0) {
                throw std::runtime_error(
                    "--driver dpdk: --direct and the rate options are for the memory driver");
            }
            if (a.eal.empty()) {
                // Memory for the capture in mbufs (2.2 KB each) and the rest.
                const uint64_t mb = 1024 + PacketStore::load(a.captures)->size() * 2700 / (1 << 20);
                a.eal = "--no-huge -m " + std::to_string(mb) +
                        " --no-pci --no-shconf --log-level=error --file-prefix "
                        "spate-bench-" +
                        std::to_string(getpid()) + " --vdev net_pcap0,rx_pcap=" + a.captures[0] +
                        ",infinite_rx=1";
            }
        }
        // Everything a run needs, checked before the first one: the spate
        // options after --, the output paths, the baseline.
        {
            std::vector<std::string> args{"spate-bench", "-q", "-o", a.output, "-r", "/dev/null"};
            args.insert(args.end(), a.spate_args.begin(), a.spate_args.end());
            std::vector<const char*> argv;
            for (auto& x : args) {
                argv.push_back(x.c_str());
            }
            Options probe;
            try {
                if (parse_options(static_cast<int>(argv.size()), argv.data(), probe) !=
                    ParseOutcome::run) {
                    throw std::runtime_error("the spate options after -- ask for help or version");
                }
            } catch (const UsageError& e) {
                throw std::runtime_error(std::string("spate options after --: ") + e.what());
            }
            check_writable("--output", probe.output,
                           probe.rotate_bytes > 0 || probe.rotate_seconds > 0);
        }
        check_writable("--json", a.json, false);
        check_writable("--plot", a.plot, false);
        if (!a.compare.empty()) {
            load_baseline(baseline, a.compare);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spate-bench: %s\n", e.what());
        return 2;
    }
    try {
        const double ghz = tsc_ghz();
        std::vector<Config> configs;
        std::vector<uint64_t> flow_list = a.flows.empty() ? std::vector<uint64_t>{0} : a.flows;
        std::printf("%8s %-16s %9s %22s %8s %10s %10s %12s %10s %8s %11s %11s\n", "workers",
                    "features", "flows", "Mpps (min..max)", "Gbps", "cycles/pkt", "Mpkt/CPU-s",
                    "records/s", "waits", "drops", "peak flows", "peak backlog");
        for (uint64_t n : flow_list) {
            std::shared_ptr<const PacketStore> store =
                n == 0 ? PacketStore::load(a.captures)
                       : PacketStore::synthetic(n, a.packets_per_flow);
            for (const std::string& f : a.feature_sets) {
                for (uint32_t w : a.workers) {
                    configs.push_back(Config{w, f, n, {}});
                }
            }
            // Runs interleaved across configurations, so drift hits them all alike.
            const size_t first = configs.size() - a.feature_sets.size() * a.workers.size();
            for (uint32_t r = 0; r < a.runs; ++r) {
                for (size_t i = first; i < configs.size(); ++i) {
                    configs[i].samples.push_back(run_one(a, configs[i], store, ghz));
                }
            }
            for (size_t i = first; i < configs.size(); ++i) {
                const Config& c = configs[i];
                const Stat m = figure(c, kFigures[0]);
                char mpps[64];
                std::snprintf(mpps, sizeof(mpps), "%.3f (%.3f..%.3f)", m.median, m.min, m.max);
                std::printf(
                    "%8u %-16s %9llu %22s %8.3f %10.0f %10.3f %12.0f %10.0f %8.0f %11.0f %11.0f\n",
                    c.workers, c.features.c_str(), static_cast<unsigned long long>(n), mpps,
                    figure(c, kFigures[3]).median, figure(c, kFigures[4]).median,
                    figure(c, kFigures[5]).median / 1e6, figure(c, kFigures[6]).median,
                    figure(c, kFigures[7]).median, figure(c, kFigures[8]).median,
                    figure(c, kFigures[9]).median, figure(c, kFigures[10]).median);
                for (size_t wi = 0; wi < c.workers; ++wi) {
                    std::vector<double> v;
                    for (const Sample& s : c.samples) {
                        v.push_back(wi < s.worker_mpps_cpu.size() ? s.worker_mpps_cpu[wi] : 0);
                    }
                    std::printf("%8s worker %zu: %.3f Mpps per CPU-second of its thread\n", "", wi,
                                stat_of(v).median);
                }
            }
        }
        if (!a.json.empty()) {
            write_json(a, configs, ghz, a.json);
        }
        if (!a.compare.empty()) {
            compare_with(configs, baseline, a.compare);
        }
        if (!a.plot.empty()) {
            plot(configs, a.plot);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spate-bench: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
