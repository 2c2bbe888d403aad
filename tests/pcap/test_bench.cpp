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
