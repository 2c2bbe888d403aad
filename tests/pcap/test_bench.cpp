// spate-bench as a tool: what it replays and counts (packets, records,
// loops with shifted addresses, synthetic flows), its JSON, --compare and
// --plot, and its usage errors. No figure here is a speed: speeds are
// measured with the tool, never asserted in a test.
#include <gtest/gtest.h>

#include "harness.hpp"

using namespace spate_test;

namespace {

std::string bench_bin() {
    return env_or("SPATE_BENCH_BIN", "spate-bench");
}

RunResult run_bench(const std::string& args) {
    fs::path dir = temp_dir();
    fs::path out = dir / "out";
    fs::path err = dir / "err";
    std::string cmd = shell_quote(bench_bin()) + " " + args + " >" + shell_quote(out.string()) +
                      " 2>" + shell_quote(err.string());
    RunResult r;
    int st = std::system(cmd.c_str());
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = read_all(out);
    r.err = read_all(err);
    fs::remove_all(dir);
    return r;
}

fs::path data(const std::string& name) {
    return source_root() / "tests" / "data" / name;
}

uint64_t records_of_spate(const fs::path& pcap) {
    RunResult r = run_spate("-q -r " + shell_quote(pcap.string()));
    return static_cast<uint64_t>(std::count(r.out.begin(), r.out.end(), '\n'));
}

}  // namespace

TEST(Bench, ReplaysLoopsWithNewFlowsAndWritesJson) {
    fs::path dir = temp_dir();
    fs::path json = dir / "now.json";
    const fs::path pcap = data("joy__sample.pcap");
    RunResult r = run_bench(shell_quote(pcap.string()) +
                            " --loops 3 --runs 2 --workers 1,2 --features basic,joy --json " +
                            shell_quote(json.string()));
    ASSERT_EQ(r.status, 0) << r.err << r.out;
    simdjson::dom::parser p;
    auto doc = p.load(json.string());
    ASSERT_FALSE(doc.error()) << read_all(json);
    EXPECT_EQ(std::string_view(doc["tool"]), "spate-bench");
    EXPECT_EQ(uint64_t(doc["runs"]), 2u);
    auto configs = doc["configs"].get_array();
    ASSERT_EQ(configs.size(), 4u);
    // Every loop shifts the addresses: three loops make three times the records.
    const uint64_t per_loop = records_of_spate(pcap);
    ASSERT_GT(per_loop, 0u);
    std::set<std::string> seen;
    for (auto c : configs) {
        seen.insert(std::to_string(uint64_t(c["workers"])) + "/" +
                    std::string(std::string_view(c["features"])));
        EXPECT_EQ(double(c["packets"]["median"]), 3 * 104.0);
        EXPECT_EQ(double(c["records"]["median"]), double(3 * per_loop));
        for (const char* f : {"mpps", "gbps", "cycles_per_packet", "packets_per_cpu_second",
                              "records_per_second"}) {
            EXPECT_GT(double(c[f]["median"]), 0) << f;
            EXPECT_LE(double(c[f]["min"]), double(c[f]["median"])) << f;
            EXPECT_GE(double(c[f]["max"]), double(c[f]["median"])) << f;
        }
        EXPECT_EQ(c["worker_mpps_per_cpu_second"].get_array().size(), uint64_t(c["workers"]));
    }
    EXPECT_EQ(seen, (std::set<std::string>{"1/basic", "2/basic", "1/joy", "2/joy"}));
    // The table names each configuration.
    EXPECT_NE(r.out.find("joy"), std::string::npos) << r.out;

    // --compare: ratios against the file just written; counts are equal.
    RunResult c = run_bench(shell_quote(pcap.string()) +
                            " --loops 3 --runs 1 --workers 1 --features basic --compare " +
                            shell_quote(json.string()));
    ASSERT_EQ(c.status, 0) << c.err;
    EXPECT_NE(c.out.find("compared with"), std::string::npos) << c.out;
    EXPECT_NE(c.out.find("1.00x"), std::string::npos) << "packets and records ratios:\n" << c.out;
    fs::remove_all(dir);
}

TEST(Bench, SyntheticConcurrentFlows) {
    // Through the dispatcher and with --direct: each flow count replays its
    // own traffic (a sweep once reused the first count's shares), and the
    // peak is every flow at once (it once read the first 100 ms sample).
    for (const char* mode : {"", " --direct"}) {
        fs::path dir = temp_dir();
        fs::path json = dir / "flows.json";
        RunResult r = run_bench(std::string("--flows 500,2000 --packets-per-flow 6 --runs 1") +
                                mode + " --json " + shell_quote(json.string()));
        ASSERT_EQ(r.status, 0) << r.err << r.out;
        simdjson::dom::parser p;
        auto doc = p.load(json.string());
        ASSERT_FALSE(doc.error());
        std::map<uint64_t, std::pair<double, double>> got;
        std::map<uint64_t, double> peak;
        for (auto c : doc["configs"].get_array()) {
            got[uint64_t(c["flows"])] = {double(c["packets"]["median"]),
                                         double(c["records"]["median"])};
            peak[uint64_t(c["flows"])] = double(c["max_flows_active"]["median"]);
        }
        EXPECT_EQ(got[500], (std::pair<double, double>{3000, 500})) << mode;
        EXPECT_EQ(got[2000], (std::pair<double, double>{12000, 2000})) << mode;
        EXPECT_EQ(peak[500], 500) << mode;
        EXPECT_EQ(peak[2000], 2000) << mode;
        fs::remove_all(dir);
    }
}

TEST(Bench, PlotRendersAPng) {
    if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "gnuplot is not installed (scripts/bootstrap installs gnuplot-nox)";
    }
    fs::path dir = temp_dir();
    fs::path png = dir / "workers.png";
    RunResult r = run_bench(shell_quote(data("joy__sample.pcap").string()) +
                            " --loops 2 --runs 1 --workers 1,2 --features basic,joy --plot " +
                            shell_quote(png.string()));
    ASSERT_EQ(r.status, 0) << r.err;
    std::string bytes = read_all(png);
    ASSERT_GT(bytes.size(), 1000u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    fs::remove_all(dir);
}

TEST(Bench, TinyInputWarnsThatStartUpDominatesAndTakesSpatesSetNames) {
    // spate's names (none, all) work, and a 10-packet input says its
    // per-packet figures mean little.
    RunResult r = run_bench(shell_quote(data("joy__tls12.pcap").string()) +
                            " --runs 1 --features none,all");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("start-up and thread overheads dominate"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find(" all "), std::string::npos) << r.out;
}

TEST(Bench, UsageErrorsExit2AndNameTheOption) {
    RunResult none = run_bench("--runs 1");
    EXPECT_EQ(none.status, 2);
    EXPECT_NE(none.err.find("no input"), std::string::npos) << none.err;
    RunResult bad = run_bench("--flows 10 --workers 1,x");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("--workers"), std::string::npos) << bad.err;
    RunResult both = run_bench(shell_quote(data("joy__sample.pcap").string()) + " --flows 10");
    EXPECT_EQ(both.status, 2);
    RunResult missing = run_bench("/nonexistent.pcap --runs 1");
    EXPECT_EQ(missing.status, 1);
    EXPECT_NE(missing.err.find("/nonexistent.pcap"), std::string::npos) << missing.err;
    RunResult help = run_bench("--help");
    EXPECT_EQ(help.status, 0);
    for (const char* opt :
         {"--flows", "--loops", "--duration", "--rate-pps", "--rate-gbps", "--speed", "--workers",
          "--features", "--runs", "--json", "--compare", "--plot"}) {
        EXPECT_NE(help.out.find(opt), std::string::npos) << opt;
    }
}

TEST(Bench, RateModesPaceTheReplay) {
    // Pacing can only slow a replay down: at 1000 packets per second, 104
    // packets cannot take less than ~0.1 s, so the measured rate stays
    // below 1100 pps whatever the machine. (Same for Gbps and --speed.)
    fs::path dir = temp_dir();
    const std::string pcap = shell_quote(data("joy__sample.pcap").string());
    struct Mode {
        std::string args;
        double max_mpps;
    };
    // joy__sample.pcap: 104 packets, 21,161 wire bytes over 20.03 s.
    for (const Mode& m : {Mode{"--rate-pps 1000", 0.0011}, Mode{"--rate-gbps 0.001", 0.0011},
                          Mode{"--speed 200", 0.0011}}) {
        fs::path json = dir / "rate.json";
        RunResult r =
            run_bench(pcap + " --runs 1 " + m.args + " --json " + shell_quote(json.string()));
        ASSERT_EQ(r.status, 0) << m.args << ": " << r.err;
        simdjson::dom::parser p;
        auto doc = p.load(json.string());
        ASSERT_FALSE(doc.error());
        const double mpps = double(doc["configs"].at(0)["mpps"]["median"]);
        EXPECT_GT(mpps, 0) << m.args;
        EXPECT_LT(mpps, m.max_mpps) << m.args << ": the replay was not paced";
    }
    fs::remove_all(dir);
}

TEST(Bench, DirectModeSplitsFlowsAcrossWorkersAndCountsTheSame) {
    // --direct: each worker replays its own share of the flows (no
    // dispatcher); every packet and every record is still there once.
    fs::path dir = temp_dir();
    fs::path json = dir / "direct.json";
    const std::string pcap = shell_quote(data("zeek__wikipedia.pcap").string());
    RunResult r = run_bench(pcap + " --loops 2 --runs 1 --workers 1,2,3 --direct --json " +
                            shell_quote(json.string()));
    ASSERT_EQ(r.status, 0) << r.err;
    RunResult one = run_spate("-q -r " + pcap);
    const auto per_loop = static_cast<double>(std::count(one.out.begin(), one.out.end(), '\n'));
    simdjson::dom::parser p;
    auto doc = p.load(json.string());
    ASSERT_FALSE(doc.error());
    for (auto c : doc["configs"].get_array()) {
        EXPECT_EQ(double(c["records"]["median"]), 2 * per_loop) << uint64_t(c["workers"]);
        EXPECT_EQ(c["worker_mpps_per_cpu_second"].get_array().size(), uint64_t(c["workers"]));
    }
    RunResult synth = run_bench("--flows 999 --packets-per-flow 5 --runs 1 --workers 2 --direct");
    ASSERT_EQ(synth.status, 0) << synth.err;
    fs::remove_all(dir);
}

TEST(Bench, DpdkDriverReplaysMbufsFromTheMempool) {
    // --driver dpdk: the capture loaded into mbufs by net_pcap (infinite_rx)
    // and read through spate's DPDK driver; the packet budget is loops x
    // capture, the same flows every loop.
    const std::string pcap = shell_quote(data("zeek__wikipedia.pcap").string());
    fs::path dir = temp_dir();
    fs::path json = dir / "dpdk.json";
    RunResult r = run_bench(pcap + " --driver dpdk --loops 3 --runs 2 --workers 1,2 --json " +
                            shell_quote(json.string()));
    if (r.status != 0 && (r.err.find("no DPDK driver") != std::string::npos ||
                          r.err.find("EAL") != std::string::npos)) {
        GTEST_SKIP() << "the DPDK driver is not in this build, or the EAL cannot start: " << r.err;
    }
    ASSERT_EQ(r.status, 0) << r.err << r.out;
    simdjson::dom::parser p;
    auto doc = p.load(json.string());
    ASSERT_FALSE(doc.error());
    RunResult count = run_spate("-r " + pcap + " -o /dev/null");
    const auto pos = count.err.find("packets read ");
    ASSERT_NE(pos, std::string::npos) << count.err;
    const double per_loop = std::stod(count.err.substr(pos + 13));
    for (auto c : doc["configs"].get_array()) {
        EXPECT_EQ(double(c["packets"]["median"]), 3 * per_loop);
        EXPECT_GT(double(c["records"]["median"]), 0);
        // Device drops are reported (net_pcap replays without dropping).
        EXPECT_EQ(double(c["port_drops"]["median"]), 0);
    }
    RunResult bad = run_bench(pcap + " --driver dpdk --direct --runs 1");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("--driver dpdk"), std::string::npos) << bad.err;
    fs::remove_all(dir);
}

TEST(Bench, BadOutputPathsFailBeforeTheFirstRunAndNameThePath) {
    // Runs that would take minutes: a bad path must stop the tool at once
    // (exit 2, the path named), not after the runs.
    const std::string pcap = shell_quote(data("zeek__wikipedia.pcap").string());
    fs::path dir = temp_dir();
    const std::string missing = "/nonexistent-spate-dir/x";
    struct Case {
        std::string args, must_mention;
    } cases[] = {
        {"--json " + missing + ".json", missing + ".json"},
        {"--output " + missing + ".jsonl", missing + ".jsonl"},
        {"--output " + shell_quote((dir / "file" / "spool").string()) + "/ -- --rotate-size 1M",
         (dir / "file").string()},
        {"--plot " + missing + ".png", missing + ".png"},
        {"--json " + shell_quote(dir.string()), dir.string()},
        {"--compare " + missing + ".json", missing + ".json"},
        {"-- --no-such-spate-option", "no-such-spate-option"},
    };
    std::ofstream(dir / "file") << "a file, not a directory\n";
    for (const Case& c : cases) {
        const auto t0 = std::chrono::steady_clock::now();
        RunResult r = run_bench(pcap + " --loops 1000 --runs 50 " + c.args);
        const double took =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        EXPECT_EQ(r.status, 2) << c.args << ": " << r.err;
        EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << c.args << ": " << r.err;
        EXPECT_LT(took, 5.0) << c.args << ": failed only after running";
        EXPECT_EQ(r.out.find("Mpps"), std::string::npos) << c.args << ": a run started\n" << r.out;
    }
    // A baseline that is not a --json file is refused up front as well.
    const fs::path junk = dir / "junk.json";
    std::ofstream(junk) << "{\"tool\": \"something else\"}\n";
    RunResult r = run_bench(pcap + " --loops 1000 --runs 50 --compare " + shell_quote(junk.string()));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(junk.string()), std::string::npos) << r.err;
    fs::remove_all(dir);
}

TEST(Bench, CompareShowsFullNamesMarksSpreadAndConfigurationsOnOneSide) {
    fs::path dir = temp_dir();
    const fs::path base = dir / "base.json";
    // A baseline by hand: the long feature set was far slower and far
    // cheaper per packet than any real run (so this run is better in Mpps
    // and worse in cycles per packet, beyond any spread); one configuration
    // is in the baseline only.
    const std::string long_set = "splt+bd+entropy+tcp+ip";
    auto fig = [](const char* name, double median, double lo, double hi) {
        return "\"" + std::string(name) + "\": {\"median\": " + std::to_string(median) +
               ", \"min\": " + std::to_string(lo) + ", \"max\": " + std::to_string(hi) + "}";
    };
    std::ofstream(base)
        << "{\"tool\": \"spate-bench\", \"runs\": 2, \"configs\": [\n"
        << "{\"workers\": 1, \"features\": \"" << long_set << "\", \"flows\": 0, "
        << fig("mpps", 1e-6, 1e-6, 1e-6) << ", " << fig("packets", 104, 104, 104) << ", "
        << fig("cycles_per_packet", 1e-3, 1e-3, 1e-3) << "},\n"
        << "{\"workers\": 3, \"features\": \"only-in-the-baseline\", \"flows\": 0, "
        << fig("mpps", 1, 1, 1) << "}\n]}\n";
    RunResult r = run_bench(shell_quote(data("joy__sample.pcap").string()) +
                            " --runs 2 --workers 1 --features " + long_set + ",none --compare " +
                            shell_quote(base.string()));
    ASSERT_EQ(r.status, 0) << r.err << r.out;
    const std::string& out = r.out;
    const size_t cmp = out.find("compared with");
    ASSERT_NE(cmp, std::string::npos) << out;
    // The configuration by its full name, and every figure's full name.
    EXPECT_NE(out.find("workers 1, features " + long_set + ", captures", cmp), std::string::npos)
        << out;
    for (const char* f : {"packets_per_cpu_second", "max_exporter_backlog", "records_per_second"}) {
        EXPECT_NE(out.find(f, cmp), std::string::npos) << f << "\n" << out;
    }
    auto line_of = [&](const std::string& figure) {
        const size_t p = out.find("\n  " + figure + " ", cmp);
        return p == std::string::npos ? std::string()
                                      : out.substr(p + 1, out.find('\n', p + 1) - p - 1);
    };
    EXPECT_NE(line_of("mpps").find("better"), std::string::npos) << line_of("mpps");
    EXPECT_NE(line_of("cycles_per_packet").find("worse"), std::string::npos)
        << line_of("cycles_per_packet");
    EXPECT_NE(line_of("packets").find("same"), std::string::npos) << line_of("packets");
    EXPECT_NE(line_of("packets").find("1.00x"), std::string::npos) << line_of("packets");
    EXPECT_NE(line_of("gbps").find("not in the baseline"), std::string::npos) << line_of("gbps");
    // The run-to-run spread of both sides.
    const std::string mpps = line_of("mpps");
    EXPECT_NE(mpps.find("±0.0%"), std::string::npos) << mpps;
    EXPECT_EQ(std::count(mpps.begin(), mpps.end(), '%'), 2) << mpps;
    // Configurations on one side only are listed, not skipped.
    EXPECT_NE(out.find("not in the baseline (run now only):\n  workers 1, features none, captures"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("not run now (in the baseline only):\n  workers 3, features "
                       "only-in-the-baseline, captures"),
              std::string::npos)
        << out;
    fs::remove_all(dir);
}

TEST(Bench, HelpNamesWhatEachValueTakes) {
    RunResult help = run_bench("--help");
    ASSERT_EQ(help.status, 0);
    std::istringstream in(help.out);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("  -", 0) == 0) {
        std::istringstream words(line);
        std::string w;
        while (words >> w) {
            EXPECT_TRUE(w != "arg" && w.rfind("[=arg", 0) != 0)
                << "boost's placeholder left: " << line;
        }
        }
    }
    for (const char* want : {"--duration SECONDS", "--json FILE", "--workers N[,N...]",
                             "--output ] PATH"}) {
        EXPECT_NE(help.out.find(want), std::string::npos) << want << "\n" << help.out;
    }
    // The positional captures and the man page's dump stay out of --help.
    EXPECT_EQ(help.out.find("--capture"), std::string::npos) << help.out;
    EXPECT_EQ(help.out.find("--dump-options"), std::string::npos) << help.out;
}
