// The DPDK driver on virtual devices (no hugepages, no NIC): a capture
// replayed through net_pcap gives the same records as the libpcap driver.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "dpdk_harness.hpp"
#include "harness.hpp"

using namespace spate_test;

namespace {

/// Link type of each capture, from the corpus manifest.
std::map<std::string, int> linktypes() {
    std::map<std::string, int> out;
    std::ifstream in(corpus_dir() / "MANIFEST.tsv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> cols;
        std::stringstream ss(line);
        std::string c;
        while (std::getline(ss, c, '\t'))
            cols.push_back(c);
        if (cols.size() > 5 && !cols[5].empty() &&
            isdigit(static_cast<unsigned char>(cols[5][0]))) {
            out[cols[0]] = std::stoi(cols[5]);
        }
    }
    return out;
}

/// Records as comparable text: times in whole microseconds (net_pcap reads
/// captures with microsecond precision), the rest as written.
std::vector<std::string> normalised(const std::string& out) {
    std::vector<std::string> v;
    for (const Flow& f : parse_records(out)) {
        std::ostringstream os;
        os << f.ip_version << " " << f.proto << " " << f.sa << ":" << f.sp << " " << f.da << ":"
           << f.dp << " " << f.pkts[0] << "/" << f.pkts[1] << " " << f.ip_bytes[0] << "/"
           << f.ip_bytes[1] << " " << f.payload[0] << "/" << f.payload[1] << " "
           << f.first_ns / 1000 << " " << f.last_ns / 1000 << " " << f.end_reason;
        v.push_back(os.str());
    }
    std::sort(v.begin(), v.end());
    return v;
}

/// Each record's "ingress" as "port/queue", by Community ID.
std::map<std::string, std::string> in_of(const std::string& out) {
    std::map<std::string, std::string> m;
    simdjson::dom::parser p;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        simdjson::dom::element rec = p.parse(line);
        m[std::string(std::string_view(rec["community_id"]))] =
            std::to_string(uint64_t(rec["ingress"]["port"])) + "/" +
            std::to_string(uint64_t(rec["ingress"]["queue"]));
    }
    return m;
}

/// Checks that every record of `out` whose flow is one of `from`'s says `want`.
void expect_in(const std::string& out, const std::string& from, const std::string& want) {
    const auto got = in_of(out);
    const auto ref = in_of(from);
    ASSERT_FALSE(ref.empty());
    for (const auto& [cid, ignored] : ref) {
        auto it = got.find(cid);
        ASSERT_NE(it, got.end()) << cid;
        EXPECT_EQ(it->second, want) << cid;
    }
}

}  // namespace

TEST(Dpdk, VdevPcapReplayEqualsLibpcapDriverOnTheCorpusForOneTwoAndFourWorkers) {
    SKIP_WITHOUT_CORPUS();
    SKIP_WITHOUT_DPDK();
    auto lt = linktypes();
    int files = 0;
    for (auto& e : fs::directory_iterator(corpus_dir() / "pcaps")) {
        if (!e.is_regular_file())
            continue;
        std::string name = e.path().filename().string();
        std::string file = shell_quote(e.path().string());
        RunResult ref = run_spate("-q -r " + file);
        ASSERT_EQ(ref.status, 0) << name;
        int linktype = lt.count(name) ? lt[name] : 1;
        // The device's frames through the dispatcher to 1, 2 and 4 workers
        // (three processes at once: most of a run is EAL start and idle exit).
        std::vector<std::future<RunResult>> runs;
        for (int workers : {1, 2, 4}) {
            const std::string args =
                "-q --driver dpdk --idle-exit 0.3 --workers " + std::to_string(workers) +
                " --port-linktype " + std::to_string(linktype) + " --eal " +
                shell_quote(eal("--vdev net_pcap0,rx_pcap=" + e.path().string()));
            runs.push_back(std::async(std::launch::async, [args] { return run_spate(args); }));
        }
        for (size_t i = 0; i < runs.size(); ++i) {
            const RunResult d = runs[i].get();
            ASSERT_EQ(d.status, 0) << name << ": " << d.err;
            EXPECT_EQ(normalised(d.out), normalised(ref.out))
                << name << ", " << (1 << i) << " worker(s)";
        }
        ++files;
    }
    EXPECT_GT(files, 50);
}

/// The two bundled captures, and what the libpcap driver makes of them read
/// one after the other. Read side by side they interleave two timelines
/// five years apart, so whether a sweep at one's time finds the other's
/// flows depends on the interleaving: every timeout is off (kTimeoutsOff),
/// and flows and counts must be the same.
const std::string kTimeoutsOff = "--idle-timeout 0 --active-timeout 0 --tcp-close-timeout 0 ";

struct TwoCaptures {
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    fs::path b = source_root() / "tests" / "data" / "zeek__wikipedia.pcap";
    RunResult reference() const {
        return run_spate("-q " + kTimeoutsOff + "-r " + shell_quote(a.string()) + " -r " +
                         shell_quote(b.string()));
    }
};

TEST(Dpdk, TwoPortsOnTwoWorkersGiveTheSameRecordsAsOne) {
    SKIP_WITHOUT_DPDK();
    TwoCaptures c;
    const fs::path& a = c.a;
    const fs::path& b = c.b;
    RunResult one = c.reference();
    ASSERT_EQ(one.status, 0);
    RunResult two =
        run_spate("-q " + kTimeoutsOff + "--driver dpdk --workers 2 --idle-exit 0.3 --eal " +
                  shell_quote(eal("--vdev net_pcap0,rx_pcap=" + a.string() +
                                  " --vdev net_pcap1,rx_pcap=" + b.string())));
    ASSERT_EQ(two.status, 0) << two.err;
    EXPECT_EQ(normalised(two.out), normalised(one.out));
    // The records say which port each flow came in on.
    expect_in(two.out, run_spate("-q -r " + shell_quote(a.string())).out, "0/0");
    expect_in(two.out, run_spate("-q -r " + shell_quote(b.string())).out, "1/0");
}

TEST(Dpdk, BadEalArgumentsAndMissingPortsAreErrorsNamingTheKey) {
    SKIP_WITHOUT_DPDK();
    // Configurations the machine or device cannot run: exit 2, the cause
    // and the next step.
    RunResult r = run_spate("--driver dpdk --eal " + shell_quote(eal("--no-such-eal-flag")));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--eal: the EAL has no option '--no-such-eal-flag'"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("next step: "), std::string::npos) << r.err;
    r = run_spate("--driver dpdk --eal " + shell_quote(eal("")));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("no DPDK port"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("next step: add a device to --eal: --vdev net_pcap0,rx_pcap=FILE"),
              std::string::npos)
        << r.err;
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    r = run_spate("--driver dpdk --rx-queues 8 --eal " +
                  shell_quote(eal("--vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("RX queues requested"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("next step: ask for at most 1 with --rx-queues"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("already stopped"), std::string::npos) << r.err;  // never started
    // net_pcap cannot change its MTU: the error names the option.
    r = run_spate("--driver dpdk --mtu 9000 --eal " +
                  shell_quote(eal("--vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--mtu"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("next step: "), std::string::npos) << r.err;
    // The start-up line shows what was granted: queues, descriptors, link, MTU.
    r = run_spate("--driver dpdk --idle-exit 0.2 --eal " +
                  shell_quote(eal("--vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("descriptors requested 1024"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("link up"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("MTU 1500"), std::string::npos) << r.err;
    // A BPF filter is not applied on the DPDK path: refused, never ignored.
    r = run_spate("--driver dpdk --bpf tcp --eal " +
                  shell_quote(eal("--vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("'--bpf': not available with --driver dpdk"), std::string::npos) << r.err;
}

namespace {

/// EAL arguments without --no-huge and without a log level: the EAL's own
/// lines are what the refusals are told from.
std::string bare_eal(const std::string& rest) {
    return "--no-pci --no-shconf --file-prefix " + prefix_of(g_eal_seq++) + " " + rest;
}

/// run_spate() as another user: `as` is a command prefix (setpriv ...), or "".
RunResult run_as(const std::string& as, const std::string& args) {
    if (as.empty()) {
        return run_spate(args);
    }
    const fs::path dir = temp_dir();
    const std::string cmd = as + " " + shell_quote(spate_bin()) + " " + args + " >" +
                            shell_quote((dir / "out").string()) + " 2>" +
                            shell_quote((dir / "err").string());
    const int rc = std::system(cmd.c_str());
    RunResult r;
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    r.out = read_all(dir / "out");
    r.err = read_all(dir / "err");
    fs::remove_all(dir);
    return r;
}

/// A refusal: exit 2, the one-line cause, the next step, nothing on stdout
/// (the EAL's usage text must never reach the records); `marker` (a line of
/// the EAL's own output) absent without --verbose and present with it.
void expect_refusal(const std::string& args, const std::string& eal_args, const std::string& cause,
                    const std::string& next, const std::string& marker,
                    const std::string& as = "") {
    for (bool verbose : {false, true}) {
        RunResult r =
            run_as(as, "--driver dpdk --idle-exit 0.2 " + args + (verbose ? " --verbose" : "") +
                           " --eal " + shell_quote(bare_eal(eal_args)));
        const std::string what =
            args + " --eal '" + eal_args + "'" + (verbose ? " --verbose" : "") + ":\n" + r.err;
        EXPECT_EQ(r.status, 2) << what;
        EXPECT_NE(r.err.find("spate: error: " + cause), std::string::npos) << what;
        EXPECT_NE(r.err.find("spate: next step: " + next), std::string::npos) << what;
        EXPECT_EQ(r.out, "") << what;
        if (verbose) {
            EXPECT_NE(r.err.find(marker), std::string::npos) << what;
            EXPECT_EQ(r.err.find("--verbose shows"), std::string::npos) << what;
        } else {
            EXPECT_EQ(r.err.find(marker), std::string::npos) << what;
            EXPECT_EQ(r.err.find("EAL common options"), std::string::npos) << what;
            EXPECT_NE(r.err.find("--verbose shows the EAL's whole output"), std::string::npos)
                << what;
            // The summary is the whole story: three lines.
            EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 3) << what;
        }
    }
}

bool hugepages_usable() {
    std::ifstream mounts("/proc/mounts");
    std::string all((std::istreambuf_iterator<char>(mounts)), std::istreambuf_iterator<char>());
    std::ifstream meminfo("/proc/meminfo");
    std::string line;
    uint64_t free_pages = 0;
    while (std::getline(meminfo, line)) {
        if (line.rfind("HugePages_Free:", 0) == 0) {
            free_pages = std::stoull(line.substr(15));
        }
    }
    return all.find(" hugetlbfs ") != std::string::npos && free_pages > 0;
}

}  // namespace

// Every refusal of the EAL says its cause in one line and the next step,
// exits 2, and keeps the EAL's output (its 100-line usage text included)
// for --verbose.
TEST(Dpdk, EalRefusalsTellTheCauseAndTheNextStep) {
    SKIP_WITHOUT_DPDK();
    // Hugepages: without --no-huge on a machine that has none.
    if (hugepages_usable()) {
        GTEST_LOG_(INFO) << "this machine has hugepages: the hugepage case is not run";
    } else {
        expect_refusal("", "-m 256 --vdev net_null0", "--eal: no usable hugepages: ",
                       "run without hugepages: add --no-huge -m "
                       "1024 to --eal; or reserve and mount them as root: scripts/dpdk-hugepages",
                       "EAL: FATAL: Cannot get hugepage information");
    }
    // An lcore list the machine lacks: its lcores are listed.
    std::ifstream online("/sys/devices/system/cpu/online");
    std::string cpus;
    std::getline(online, cpus);
    expect_refusal("", "-l 0,63 --no-huge -m 256 --vdev net_null0",
                   "--eal: lcore 63 is not on this machine, which has lcores " + cpus,
                   "give -l lcores from " + cpus + " in --eal", "EAL common options");
    // af_packet on an interface that does not exist.
    expect_refusal("", "--no-huge -m 256 --vdev net_af_packet0,iface=spatenosuch0",
                   "--eal: --vdev net_af_packet0: interface 'spatenosuch0' does not exist",
                   "`ip link` lists the interfaces (here: lo",
                   "failed to initialize net_af_packet0");
    // net_pcap on a file that does not exist; beside a device that works,
    // it is still a refusal, not a run on the other one.
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    expect_refusal("",
                   "--no-huge -m 256 --vdev net_pcap0,rx_pcap=" + a.string() +
                       " --vdev net_pcap1,rx_pcap=/nonexistent/spate.pcap",
                   "--eal: --vdev net_pcap1: cannot open rx_pcap file '/nonexistent/spate.pcap': "
                   "No such file or directory",
                   "give rx_pcap= a capture file that exists", "failed to initialize net_pcap1");
    // An option the EAL does not have: its option list only with --verbose.
    expect_refusal("", "--no-huge -m 256 --no-such-eal-option",
                   "--eal: the EAL has no option '--no-such-eal-option'",
                   "check the spelling in --eal", "EAL common options");
    // spate's own lcore options: an lcore the machine lacks, named with its lcores.
    RunResult r = run_spate("--driver dpdk --rx-map 0:0@63 --eal " +
                            shell_quote(eal("-l 0,1 --vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("spate: error: rx-map: lcore 63 is not enabled in the EAL (enabled: 0,1; "
                         "this machine has lcores " +
                         cpus + ")"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("spate: next step: use lcores from " + cpus), std::string::npos) << r.err;
    // A start that works shows none of the EAL's chatter without --verbose.
    r = run_spate("-q --driver dpdk --idle-exit 0.2 --eal " +
                  shell_quote(bare_eal("--no-huge -m 256 --vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("EAL: Detected CPU lcores"), std::string::npos) << r.err;
    r = run_spate("-q --verbose --driver dpdk --idle-exit 0.2 --eal " +
                  shell_quote(bare_eal("--no-huge -m 256 --vdev net_pcap0,rx_pcap=" + a.string())));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("EAL: Detected CPU lcores"), std::string::npos) << r.err;
}

// Permissions, as an unprivileged user (the test runs as root and drops to
// nobody with setpriv): the refusal names the device or the file and says
// how to get the right.
TEST(Dpdk, PermissionRefusalsNameTheDeviceOrTheFile) {
    SKIP_WITHOUT_DPDK();
    if (geteuid() != 0 || std::system("command -v setpriv >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "needs root and setpriv, to run spate as nobody";
    }
    const std::string nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups";
    // The binary must be reachable for nobody (a build under a private home is not).
    if (run_as(nobody, "--version").status != 0) {
        GTEST_SKIP() << "nobody cannot run " << spate_bin();
    }
    expect_refusal("", "--no-huge -m 256 --vdev net_af_packet0,iface=lo",
                   "--eal: --vdev net_af_packet0: permission denied: an AF_PACKET socket needs "
                   "root or CAP_NET_RAW",
                   "run spate as root, or give it CAP_NET_RAW",
                   "failed to initialize net_af_packet0", nobody);
    const fs::path dir = temp_dir();  // 0700, root's
    fs::copy_file(source_root() / "tests" / "data" / "joy__sample.pcap", dir / "a.pcap");
    const std::string file = (dir / "a.pcap").string();
    expect_refusal("", "--no-huge -m 256 --vdev net_pcap0,rx_pcap=" + file,
                   "--eal: --vdev net_pcap0: permission denied on rx_pcap file '" + file +
                       "': Permission denied",
                   "give the user spate runs as read access to " + file,
                   "failed to initialize net_pcap0", nobody);
    fs::remove_all(dir);
}

// SIGTERM during an endless replay: out within a second, every flow exported.
TEST(Dpdk, TelemetryDuringInfiniteReplayThenSigtermExitsCleanly) {
    SKIP_WITHOUT_DPDK();
    fs::path dir = temp_dir();
    fs::path out = dir / "out.jsonl";
    fs::path err = dir / "err";
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    std::string prefix = prefix_of(g_eal_seq);
    std::string e = eal("--vdev net_pcap0,rx_pcap=" + a.string() + ",infinite_rx=1");
    pid_t pid = spawn_spate({"--driver", "dpdk", "--eal", e, "-o", out.string()}, err);
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};
    // The counters are readable through DPDK telemetry while it runs.
    std::string reply = wait_for_telemetry(prefix, 104);
    simdjson::dom::parser tp;
    auto tdoc = tp.parse(reply);
    EXPECT_FALSE(tdoc.error()) << reply;
    if (!tdoc.error()) {
        EXPECT_GT(tdoc["/spate/stats"]["packets_read"].get_uint64().value_unsafe(), 104u) << reply;
        EXPECT_EQ(tdoc["/spate/stats"]["flows_created"].get_uint64().value_unsafe(), 20u) << reply;
        // Overload and output faults are there too (none here).
        EXPECT_EQ(tdoc["/spate/stats"]["records_shed"].get_uint64().value_unsafe(), 0u) << reply;
        EXPECT_EQ(tdoc["/spate/stats"]["records_lost"].get_uint64().value_unsafe(), 0u) << reply;
        EXPECT_EQ(tdoc["/spate/stats"]["output_faulted"].get_uint64().value_unsafe(), 0u) << reply;
        EXPECT_EQ(std::string(tdoc["/spate/stats"]["output_error"].get_string().value_unsafe()), "")
            << reply;
    }
    int status = 0;
    double took = terminate_and_wait(pid, status);
    guard.release();
    EXPECT_LT(took, 1.0) << read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_all(err);
    auto recs = parse_records(read_all(out));
    EXPECT_GT(recs.size(), 5u) << read_all(err);
    uint64_t pkts = 0;
    for (auto& f : recs)
        pkts += f.pkts[0] + f.pkts[1];
    EXPECT_GT(pkts, 104u) << "the endless replay should have delivered the file more than once";
    fs::remove_all(dir);
}

TEST(Dpdk, EalArgumentsFromTheConfigFileSection) {
    SKIP_WITHOUT_DPDK();
    fs::path dir = temp_dir();
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    {
        std::ofstream f(dir / "spate.ini");
        f << "driver = dpdk\nidle-exit = 0.3\nquiet = true\n\n[eal]\nargs = "
          << eal("--vdev net_pcap0,rx_pcap=" + a.string()) << "\n";
    }
    RunResult r = run_spate("--config " + shell_quote((dir / "spate.ini").string()));
    ASSERT_EQ(r.status, 0) << r.err;
    RunResult ref = run_spate("-q -r " + shell_quote(a.string()));
    EXPECT_EQ(normalised(r.out), normalised(ref.out));
    {
        std::ofstream f(dir / "spate.ini");
        f << "driver = dpdk\n[eal]\nargz = x\n";
    }
    r = run_spate("--config " + shell_quote((dir / "spate.ini").string()));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("eal.argz"), std::string::npos) << r.err;
    fs::remove_all(dir);
}

// Every example configuration parses; with the EAL arguments replaced by a
// port-less set the run then stops at "no DPDK port" (a refusal of the
// machine's, exit 2 as well), not at an error of the file.
TEST(Dpdk, ExampleConfigurationsParse) {
    SKIP_WITHOUT_DPDK();
    int n = 0;
    for (auto& e : fs::directory_iterator(source_root() / "dpdk-config")) {
        if (e.path().extension() != ".ini")
            continue;
        RunResult r = run_spate("--config " + shell_quote(e.path().string()) + " --eal " +
                                shell_quote(eal("")));
        EXPECT_EQ(r.status, 2) << e.path() << ": " << r.err;
        EXPECT_NE(r.err.find("no DPDK port"), std::string::npos) << e.path() << ": " << r.err;
        ++n;
    }
    EXPECT_GE(n, 4);
}

namespace {
// Two CPUs here: lcore 0 is the main lcore, lcores 1 and 2 share CPU 1.
const char* kLcores = "--lcores 0@0,1@1,2@1 ";
}  // namespace

// rx-map: two RX queues (two rx_pcap files on one port) polled by two worker
// lcores give the same records as the libpcap driver reading both files.
TEST(Dpdk, RxMapTwoQueuesOnTwoWorkerLcoresGiveTheSameRecordsAsOne) {
    SKIP_WITHOUT_DPDK();
    TwoCaptures c;
    const fs::path& a = c.a;
    const fs::path& b = c.b;
    RunResult one = c.reference();
    ASSERT_EQ(one.status, 0);
    RunResult two = run_spate(
        "-q " + kTimeoutsOff + "--driver dpdk --rx-map 0:0@1,0:1@2 --idle-exit 0.3 --eal " +
        shell_quote(std::string(kLcores) +
                    eal("--vdev net_pcap0,rx_pcap=" + a.string() + ",rx_pcap=" + b.string())));
    ASSERT_EQ(two.status, 0) << two.err;
    EXPECT_EQ(normalised(two.out), normalised(one.out));
    // net_pcap gives each rx_pcap file a queue: the records say which.
    expect_in(two.out, run_spate("-q -r " + shell_quote(a.string())).out, "0/0");
    expect_in(two.out, run_spate("-q -r " + shell_quote(b.string())).out, "0/1");
}

TEST(Dpdk, RxMapValidationNamesTheKey) {
    SKIP_WITHOUT_DPDK();
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    std::string vdev = "--vdev net_pcap0,rx_pcap=" + a.string();
    struct Case {
        std::string map, eal_extra, must;
        int status;
    } cases[] = {
        {"0:0@1,0:0@2", kLcores, "mapped twice", 2},
        {"0:1@1", kLcores, "queue 0 has no lcore", 2},
        {"0:0-1", kLcores, "PORT:QUEUE@LCORE", 2},
        {"3:0@1", kLcores, "port 3 does not exist", 2},
        {"0:0@0", kLcores, "main lcore", 2},
        {"0:0@7", kLcores, "lcore 7 is not enabled", 2},
        {"0:0@1", kLcores, "lcore 2 is enabled in the EAL but polls no queue", 2},
        {"0:0@1,0:1@2", kLcores, "RX queues requested, the device allows 1", 2},
    };
    for (const Case& c : cases) {
        RunResult r = run_spate("--driver dpdk --rx-map " + shell_quote(c.map) + " --eal " +
                                shell_quote(c.eal_extra + eal(vdev)));
        EXPECT_EQ(r.status, c.status) << c.map << ": " << r.err;
        EXPECT_NE(r.err.find(c.must), std::string::npos) << c.map << ": " << r.err;
        if (c.status == 2 || c.must.find("port") != std::string::npos ||
            c.must.find("lcore") != std::string::npos) {
            EXPECT_NE(r.err.find("rx-map"), std::string::npos) << c.map << ": " << r.err;
        }
    }
}

TEST(Dpdk, RxMapSigtermDuringInfiniteReplayExportsEveryFlow) {
    SKIP_WITHOUT_DPDK();
    fs::path dir = temp_dir();
    fs::path out = dir / "out.jsonl";
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    int status = 0;
    std::string prefix = prefix_of(g_eal_seq);
    std::string e2 =
        "--lcores 0@0,1@1 " + eal("--vdev net_pcap0,rx_pcap=" + a.string() + ",infinite_rx=1");
    pid_t pid = spawn_spate(
        {"--driver", "dpdk", "--rx-map", "0:0@1", "--eal", e2, "-o", out.string()}, dir / "err");
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};
    // The lcores' counters reach telemetry while they run.
    std::string reply = wait_for_telemetry(prefix, 104);
    simdjson::dom::parser tp;
    auto tdoc = tp.parse(reply);
    EXPECT_FALSE(tdoc.error()) << reply;
    if (!tdoc.error()) {
        EXPECT_GT(tdoc["/spate/stats"]["decoded"].get_uint64().value_unsafe(), 104u) << reply;
    }
    double took = terminate_and_wait(pid, status);
    guard.release();
    EXPECT_LT(took, 1.0) << read_all(dir / "err");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_all(dir / "err");
    auto recs = parse_records(read_all(out));
    EXPECT_EQ(recs.size(), 20u) << read_all(dir / "err");
    fs::remove_all(dir);
}

// The exporter on its own lcore gives the same records; a lcore used twice,
// or the main lcore, is refused naming the key.
TEST(Dpdk, ExporterLcore) {
    SKIP_WITHOUT_DPDK();
    fs::path a = source_root() / "tests" / "data" / "joy__sample.pcap";
    std::string vdev = "--vdev net_pcap0,rx_pcap=" + a.string();
    RunResult ref = run_spate("-q --idle-timeout 0 -r " + shell_quote(a.string()));
    RunResult r = run_spate(
        "-q --idle-timeout 0 --driver dpdk --rx-map 0:0@1 --exporter-lcore 2 --idle-exit 0.3 "
        "--eal " +
        shell_quote(std::string(kLcores) + eal(vdev)));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(normalised(r.out), normalised(ref.out));
    for (const char* lcore : {"1", "0"}) {
        r = run_spate(std::string("--driver dpdk --rx-map 0:0@1 --exporter-lcore ") + lcore +
                      " --eal " + shell_quote(std::string(kLcores) + eal(vdev)));
        EXPECT_EQ(r.status, 2) << r.err;
        EXPECT_NE(r.err.find("exporter-lcore"), std::string::npos) << r.err;
    }
    r = run_spate("--driver dpdk --exporter-lcore 2 --eal " + shell_quote(eal(vdev)));
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("exporter-lcore"), std::string::npos) << r.err;
}

namespace {

uint16_t inet_csum(const std::vector<uint8_t>& b, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < b.size(); i += 2)
        sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
    if (b.size() % 2)
        sum += static_cast<uint32_t>(b.back() << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

/// An Ethernet/IPv4/UDP frame 10.9.0.1:sport -> 10.9.0.2:53 with correct
/// checksums, or one of them deliberately wrong.
std::vector<uint8_t> udp_frame(uint16_t sport, bool bad_ip, bool bad_udp) {
    const std::vector<uint8_t> payload{'s', 'p', 'a', 't', 'e'};
    std::vector<uint8_t> udp{
        uint8_t(sport >> 8), uint8_t(sport), 0, 53, 0, uint8_t(8 + payload.size()), 0, 0};
    udp.insert(udp.end(), payload.begin(), payload.end());
    std::vector<uint8_t> pseudo{10, 9, 0, 1, 10, 9, 0, 2, 0, 17, 0, uint8_t(udp.size())};
    pseudo.insert(pseudo.end(), udp.begin(), udp.end());
    uint16_t uc = inet_csum(pseudo);
    if (bad_udp)
        uc ^= 0x1234;
    udp[6] = uint8_t(uc >> 8);
    udp[7] = uint8_t(uc);
    std::vector<uint8_t> ip{
        0x45, 0, 0, uint8_t(20 + udp.size()), 0, 1, 0, 0, 64, 17, 0, 0, 10, 9, 0, 1, 10, 9, 0, 2};
    uint16_t ic = inet_csum(ip);
    if (bad_ip)
        ic ^= 0x0101;
    ip[10] = uint8_t(ic >> 8);
    ip[11] = uint8_t(ic);
    std::vector<uint8_t> f{2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 0x08, 0x00};
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), udp.begin(), udp.end());
    return f;
}

}  // namespace

TEST(Dpdk, ChecksumOffloadCountsBadChecksumsOnATapDevice) {
    SKIP_WITHOUT_DPDK();
    if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
        GTEST_SKIP() << "needs root and /dev/net/tun for a net_tap device";
    }
    fs::path dir = temp_dir();
    fs::path out = dir / "out.jsonl";
    fs::path err = dir / "err";
    const std::string ifname = "sptap" + std::to_string(getpid() % 100000);
    pid_t pid = spawn_spate({"--driver", "dpdk", "--eal", eal("--vdev net_tap0,iface=" + ifname),
                             "--link-wait", "0", "-o", out.string()},
                            err);
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};
    // Wait for the interface, bring it up, and send four frames into it.
    int fd = -1;
    unsigned idx = 0;
    for (int i = 0; i < 100 && idx == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        idx = if_nametoindex(ifname.c_str());
    }
    ASSERT_NE(idx, 0u) << read_all(err);
    fd = socket(AF_PACKET, SOCK_RAW, 0);
    ASSERT_GE(fd, 0);
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
    ASSERT_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
    ifr.ifr_flags |= IFF_UP;
    ASSERT_EQ(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(idx);
    sll.sll_halen = 6;
    for (auto [sport, bad_ip, bad_udp] : {std::tuple{1000, false, false},
                                          {1001, true, false},
                                          {1002, false, true},
                                          {1003, false, false}}) {
        auto f = udp_frame(static_cast<uint16_t>(sport), bad_ip, bad_udp);
        ASSERT_EQ(sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)),
                  static_cast<ssize_t>(f.size()));
    }
    close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int status = 0;
    terminate_and_wait(pid, status);
    guard.release();
    std::string log = read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    EXPECT_NE(log.find("udp-cksum"), std::string::npos) << "offload not requested/granted:\n"
                                                        << log;
    EXPECT_NE(log.find("checksums marked bad by the devices: ip 1, l4 1"), std::string::npos)
        << log;
    // Bad checksums are counted, not dropped: all four flows are reported.
    int ours = 0;
    for (const Flow& f : parse_records(read_all(out)))
        ours += f.sa == "10.9.0.1" && f.dp == 53;
    EXPECT_EQ(ours, 4) << log;
    fs::remove_all(dir);
}
