// Command-line contract, configuration errors, output files, signals.
#include <gtest/gtest.h>
#include <iostream>
#include <sstream>
#include <ctime>

#include <signal.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "harness.hpp"

using namespace spate_test;

namespace {

fs::path data(const char* name) {
    return source_root() / "tests" / "data" / name;
}

std::string zstd_decompress_file(const fs::path& p, bool* complete) {
    std::string in = read_all(p);
    ZSTD_DStream* ds = ZSTD_createDStream();
    ZSTD_initDStream(ds);
    std::string out;
    std::vector<char> buf(ZSTD_DStreamOutSize());
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    size_t last = 1;
    while (ib.pos < ib.size) {
        ZSTD_outBuffer ob{buf.data(), buf.size(), 0};
        last = ZSTD_decompressStream(ds, &ob, &ib);
        if (ZSTD_isError(last)) {
            break;
        }
        out.append(buf.data(), ob.pos);
    }
    *complete = !ZSTD_isError(last) && last == 0;
    ZSTD_freeDStream(ds);
    return out;
}

}  // namespace

TEST(Cli, HelpListsEveryOptionWithDefaults) {
    RunResult r = run_spate("--help");
    EXPECT_EQ(r.status, 0);
    for (const char* opt : {"--read",
                            "--interface",
                            "--bpf",
                            "--output",
                            "--compress",
                            "--rotate-size",
                            "--rotate-interval",
                            "--workers",
                            "--idle-timeout",
                            "--active-timeout",
                            "--max-flows",
                            "--stats-interval",
                            "--config",
                            "--version",
                            "--vlan-in-key",
                            "--no-decap",
                            "--snaplen",
                            "--driver",
                            "--tcp-close-timeout",
                            "--features",
                            "--splt",
                            "--splt-zero",
                            "--splt-retrans",
                            "--bd-bytes",
                            "--bd-compact-map",
                            "--idp",
                            "--ppi",
                            "--salt",
                            "--hd",
                            "--eal",
                            "--rx-queues",
                            "--rx-desc",
                            "--mbufs",
                            "--idle-exit",
                            "--port-linktype",
                            "--mtu",
                            "--link-wait",
                            "--rx-map",
                            "--frag-slots",
                            "--ring-mb",
                            "--quiet",
                            "--verbose",
                            "--promisc"}) {
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
    }
    EXPECT_NE(r.out.find("(=15)"), std::string::npos) << "idle timeout default shown";
    EXPECT_NE(r.out.find("(=1800)"), std::string::npos) << "active timeout default shown";
}

TEST(Cli, HelpNamesWhatEachValueTakes) {
    RunResult r = run_spate("--help");
    ASSERT_EQ(r.status, 0);
    std::istringstream in(r.out);
    std::string line;
    size_t options = 0;
    while (std::getline(in, line)) {
        if (line.rfind("  -", 0) != 0) {
            continue;  // a caption or a wrapped description
        }
        ++options;
        std::istringstream words(line);
        std::string w;
        while (words >> w) {
            EXPECT_TRUE(w != "arg" && w.rfind("[=arg", 0) != 0)
                << "boost's placeholder left: " << line;
        }
    }
    EXPECT_GT(options, 60u);
    for (const char* want : {"--read ] FILE", "--interface ] IFACE", "--bpf EXPR",
                             "--idle-timeout SECONDS", "--workers N", "--pcap-buffer MB",
                             "--ring-mb MB", "--progress [=BOOL(=true)]", "--config FILE"}) {
        EXPECT_NE(r.out.find(want), std::string::npos) << want;
    }
}

TEST(Cli, Version) {
    RunResult r = run_spate("--version");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out.rfind("spate ", 0), 0u);
}

TEST(Cli, UsageErrorsNameTheOptionAndExit2) {
    struct Case {
        std::string args, must_mention;
    } cases[] = {
        {"--no-such-option -r x.pcap", "no-such-option"},
        {"--workers abc -r x.pcap", "workers"},
        {"--workers 0 -r x.pcap", "workers"},
        {"--idle-timeout -3 -r x.pcap", "idle-timeout"},
        {"--compress gzip -r x.pcap", "compress"},
        {"--compress zstd:99 -r x.pcap", "compress"},
        {"--rotate-size 12Q -o /tmp -r x.pcap", "rotate-size"},
        {"", "-r FILE"},
        {"-r a.pcap -i lo", "interface"},
        {"--driver dpdk -r x.pcap", "driver"},
        {"--time-format unix -r x.pcap", "time-format"},
        // Options that do not apply to the driver or input are refused.
        {"--eal '--no-pci' -r x.pcap", "'--eal' applies to --driver dpdk only"},
        {"--rx-map 0:0@1 -r x.pcap", "'--rx-map' applies to --driver dpdk only"},
        {"--rx-queues 2 -r x.pcap", "'--rx-queues' applies to --driver dpdk only"},
        {"--mtu 9000 -r x.pcap", "'--mtu' applies to --driver dpdk only"},
        {"--promisc false -r x.pcap", "'--promisc' applies to live capture"},
        {"--snaplen 128 -r x.pcap", "'--snaplen' applies to live capture"},
        {"--pcap-buffer 8 -r x.pcap", "'--pcap-buffer' applies to live capture"},
        {"--pcap-buffer 0 -i lo", "'--pcap-buffer': must be between 1 and 4096"},
        {"--pcap-buffer 5000 -i lo", "'--pcap-buffer': must be between 1 and 4096"},
        {"--progress -i lo", "'--progress'"},
        {"--progress --no-progress -r x.pcap", "'--no-progress'"},
    };
    for (const auto& c : cases) {
        RunResult r = run_spate(c.args);
        EXPECT_EQ(r.status, 2) << c.args << ": " << r.err;
        EXPECT_NE(r.err.find(c.must_mention), std::string::npos) << c.args << ": " << r.err;
    }
}

TEST(Cli, ConfigFileKeysAndCommandLineWins) {
    fs::path dir = temp_dir();
    fs::path cfg = dir / "spate.ini";
    {
        std::ofstream f(cfg);
        f << "# comment\nworkers = 2\nidle-timeout = 0\nactive-timeout = 0\nquiet = true\n";
    }
    std::string in = shell_quote(data("zeek__wikipedia.pcap").string());
    RunResult r = run_spate("--config " + shell_quote(cfg.string()) + " -r " + in);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << "quiet from the config file: " << r.err;
    EXPECT_GT(parse_records(r.out).size(), 10u);

    {
        std::ofstream f(cfg);
        f << "workers = 2\nno-such-key = 1\n";
    }
    r = run_spate("--config " + shell_quote(cfg.string()) + " -r " + in);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("no-such-key"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("spate.ini:2:"), std::string::npos) << "file:line\n" << r.err;
    {
        std::ofstream f(cfg);
        f << "# a comment\n\nworkers = 2\nthis line has no equals sign\n";
    }
    r = run_spate("--config " + shell_quote(cfg.string()) + " -r " + in);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("spate.ini:4:"), std::string::npos) << r.err;

    {
        std::ofstream f(cfg);
        f << "workers = many\n";
    }
    r = run_spate("--config " + shell_quote(cfg.string()) + " -r " + in);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("workers"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("spate.ini:1:"), std::string::npos) << r.err;
    // The command line wins over the file: with a valid --workers the bad key is never converted.
    r = run_spate("--config " + shell_quote(cfg.string()) + " --workers 1 -q -r " + in);
    EXPECT_EQ(r.status, 0) << r.err;
    fs::remove_all(dir);
}

TEST(Cli, MissingFileIsAnErrorNamingIt) {
    RunResult r = run_spate("-r /nonexistent/file.pcap");
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("/nonexistent/file.pcap"), std::string::npos) << r.err;
}

TEST(Cli, BundledCapturesMatchTheirOracle) {
    // The same comparison as the corpus test, on the captures in tests/data, so
    // that it runs without ../shared/corpus.
    for (const char* name : {"joy__sample.pcap", "zeek__wikipedia.pcap"}) {
        RunResult r =
            run_spate("-q --idle-timeout 0 --active-timeout 0 --tcp-close-timeout 100000 -r " +
                      shell_quote(data(name).string()));
        ASSERT_EQ(r.status, 0) << r.err;
        auto ours = parse_records(r.out);
        auto oracle = parse_oracle(data((std::string(name) + ".jsonl").c_str()));
        uint64_t pk_ours = 0, pk_oracle = 0, by_ours = 0, by_oracle = 0;
        for (auto& f : ours)
            pk_ours += f.pkts[0] + f.pkts[1], by_ours += f.ip_bytes[0] + f.ip_bytes[1];
        for (auto& f : oracle)
            pk_oracle += f.pkts[0] + f.pkts[1], by_oracle += f.ip_bytes[0] + f.ip_bytes[1];
        EXPECT_EQ(ours.size(), oracle.size()) << name;
        EXPECT_EQ(pk_ours, pk_oracle) << name;
        EXPECT_EQ(by_ours, by_oracle) << name;
    }
}

namespace {
std::vector<std::string> sorted_lines_of(const std::string& text) {
    std::vector<std::string> v;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        v.push_back(line);
    }
    std::sort(v.begin(), v.end());
    return v;
}
/// The "worker N (...): packets P, ..." exit lines: where the flows went.
std::string worker_lines(const std::string& err) {
    std::string out;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("spate:   worker ", 0) == 0) {
            out += line.substr(0, line.find(", live clock")) + "\n";
        }
    }
    return out;
}
}  // namespace

TEST(Cli, HashSeedMovesFlowsBetweenWorkersButNeverChangesRecords) {
    const std::string in = "-r " + shell_quote(data("zeek__wikipedia.pcap").string()) + " -r " +
                           shell_quote(data("joy__sample.pcap").string());
    RunResult a = run_spate(in + " --idle-timeout 0 --workers 3 --hash-seed 1");
    RunResult a2 = run_spate(in + " --idle-timeout 0 --workers 3 --hash-seed 1");
    RunResult b = run_spate(in + " --idle-timeout 0 --workers 3 --hash-seed 0xfeedface12345");
    RunResult one = run_spate(in + " --idle-timeout 0 --workers 1");
    ASSERT_EQ(a.status, 0) << a.err;
    ASSERT_EQ(b.status, 0) << b.err;
    ASSERT_EQ(one.status, 0) << one.err;
    EXPECT_EQ(sorted_lines_of(a.out), sorted_lines_of(one.out));
    EXPECT_EQ(sorted_lines_of(b.out), sorted_lines_of(one.out));
    // The same seed puts every flow on the same worker again; another does not.
    EXPECT_EQ(worker_lines(a.err), worker_lines(a2.err));
    EXPECT_NE(worker_lines(a.err), worker_lines(b.err));
    EXPECT_NE(a.err.find("flow hash seed 0x0000000000000001"), std::string::npos) << a.err;
    // Unset, it is random: printed, so that a run can be repeated.
    EXPECT_NE(one.err.find("flow hash seed 0x"), std::string::npos) << one.err;
    RunResult bad = run_spate(in + " --hash-seed 12x");
    EXPECT_EQ(bad.status, 2);
    EXPECT_NE(bad.err.find("--hash-seed"), std::string::npos) << bad.err;
}

TEST(Cli, TimeFormatsSayTheSameTimesAndDurationIsEndMinusStart) {
    // A nanosecond capture (all 9 digits; from the corpus, when it is here)
    // and a microsecond one.
    for (const fs::path& path : {corpus_dir() / "pcaps" / "ipfixprobe__http.nsec.pcap",
                                 data("joy__sample.pcap")}) {
        if (!fs::exists(path)) {
            std::cout << "skipped (no corpus): " << path << "\n";
            continue;
        }
        const std::string file = path.filename().string();
        const std::string in = "-r " + shell_quote(path.string()) + " --idle-timeout 0 -q";
        RunResult sec = run_spate(in);
        RunResult ns = run_spate(in + " --time-format ns");
        RunResult iso = run_spate(in + " --time-format iso8601");
        ASSERT_EQ(sec.status, 0) << sec.err;
        ASSERT_EQ(ns.status, 0) << ns.err;
        ASSERT_EQ(iso.status, 0) << iso.err;
        simdjson::dom::parser p1, p2, p3;
        std::istringstream a(sec.out), b(ns.out), c(iso.out);
        std::string la, lb, lc;
        size_t n = 0;
        while (std::getline(a, la) && std::getline(b, lb) && std::getline(c, lc)) {
            simdjson::dom::element ra = p1.parse(la), rb = p2.parse(lb), rc = p3.parse(lc);
            // seconds: the number's text, read exactly; ns: integers.
            const std::string_view raw_start = std::string_view(la).substr(
                la.find("\"time_start\":") + 13);
            const uint64_t start = parse_ts_ns(raw_start.substr(0, raw_start.find(',')));
            const uint64_t start_ns = uint64_t(rb["time_start"]);
            const uint64_t end_ns = uint64_t(rb["time_end"]);
            EXPECT_EQ(start, start_ns) << la;
            EXPECT_EQ(uint64_t(rb["duration"]), end_ns - start_ns) << lb;
            EXPECT_NEAR(double(ra["duration"]), double(end_ns - start_ns) / 1e9, 1e-6) << la;
            // ISO 8601: the same instant, to the nanosecond.
            const std::string_view t = std::string_view(rc["time_start"]);
            ASSERT_EQ(t.size(), 30u) << t;
            tm utc{};
            const std::string text(t);
            ASSERT_NE(strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &utc), nullptr) << t;
            const uint64_t secs = static_cast<uint64_t>(timegm(&utc));
            EXPECT_EQ(secs * 1000000000ULL + std::stoull(text.substr(20, 9)), start_ns) << t;
            EXPECT_EQ(t.back(), 'Z');
            ++n;
        }
        EXPECT_GT(n, 0u) << file;
    }
}

TEST(Cli, ZstdOutputDecompressesToTheSameRecords) {
    fs::path dir = temp_dir();
    std::string in = shell_quote(data("joy__sample.pcap").string());
    RunResult plain = run_spate("-q -r " + in);
    ASSERT_EQ(plain.status, 0);
    RunResult z = run_spate("-q --compress zstd:5 -o " +
                            shell_quote((dir / "out.jsonl.zst").string()) + " -r " + in);
    ASSERT_EQ(z.status, 0) << z.err;
    bool complete = false;
    std::string text = zstd_decompress_file(dir / "out.jsonl.zst", &complete);
    EXPECT_TRUE(complete);
    EXPECT_EQ(text, plain.out);
    fs::remove_all(dir);
}

TEST(Cli, OutputNamesZstSuffixMissingSpoolDirectoryAndNoEmptyFiles) {
    const fs::path dir = temp_dir();
    const std::string in = " -q -r " + shell_quote(data("joy__tls12.pcap").string());
    auto q = [](const fs::path& p) { return shell_quote(p.string()); };
    // zstd output always ends in .zst.
    RunResult r = run_spate("--compress zstd -o " + q(dir / "a.jsonl") + in);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(fs::exists(dir / "a.jsonl.zst"));
    EXPECT_FALSE(fs::exists(dir / "a.jsonl"));
    // A run that writes no record leaves no file (plain, zstd, rotating).
    const std::string none = " --bpf " + shell_quote("udp port 9");
    for (const std::string& args :
         {"-o " + q(dir / "e1.jsonl"), "--compress zstd -o " + q(dir / "e2.jsonl.zst"),
          "--rotate-size 1M -o " + q(dir / "e3.jsonl"),
          "--rotate-size 1M --compress zstd -o " + q(dir / "e4.jsonl.zst")}) {
        r = run_spate(args + in + none);
        EXPECT_EQ(r.status, 0) << args << ": " << r.err;
    }
    for (const auto& e : fs::directory_iterator(dir)) {
        EXPECT_EQ(e.path().filename().string().rfind("a.jsonl", 0), 0u)
            << "left behind by a run without records: " << e.path();
    }
    // Rotation into a directory that does not exist yet: made, files inside.
    r = run_spate("--rotate-size 1M -o " + q(dir / "spool" / "day1") + in);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_TRUE(fs::is_directory(dir / "spool" / "day1"));
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir / "spool" / "day1")) {
        EXPECT_EQ(e.path().extension(), ".jsonl") << e.path();
        ++files;
    }
    EXPECT_EQ(files, 1u);
    fs::remove_all(dir);
}

TEST(Cli, FormatterThreadsAndCompressionThreadsKeepEveryRecord) {
    // --exporters N: the same records, each worker's in its own order;
    // --compress-threads: the same bytes once decompressed.
    fs::path dir = temp_dir();
    const std::string in = "-r " + shell_quote(data("zeek__wikipedia.pcap").string()) + " -r " +
                           shell_quote(data("joy__sample.pcap").string());
    const std::string common = in + " -q --idle-timeout 0 --features joy --hash-seed 7";
    RunResult one = run_spate(common + " --workers 3");
    ASSERT_EQ(one.status, 0) << one.err;
    ASSERT_FALSE(one.out.empty());
    for (const char* n : {"2", "3", "5"}) {
        RunResult many = run_spate(common + " --workers 3 --exporters " + n);
        ASSERT_EQ(many.status, 0) << many.err;
        EXPECT_EQ(sorted_lines_of(many.out), sorted_lines_of(one.out)) << "--exporters " << n;
    }
    // One worker: its records in the very same order, whichever thread formats.
    RunResult w1 = run_spate(common + " --workers 1");
    RunResult w1x = run_spate(common + " --workers 1 --exporters 2");
    ASSERT_EQ(w1x.status, 0) << w1x.err;
    EXPECT_EQ(w1x.out, w1.out);
    RunResult z = run_spate(common + " --workers 1 --exporters 2 --compress zstd --compress-threads 2 -o " +
                            shell_quote((dir / "out.jsonl.zst").string()));
    ASSERT_EQ(z.status, 0) << z.err;
    bool complete = false;
    EXPECT_EQ(zstd_decompress_file(dir / "out.jsonl.zst", &complete), w1.out);
    EXPECT_TRUE(complete);
    for (const char* bad : {"--exporters 0", "--exporters 17", "--compress-threads 99"}) {
        RunResult r = run_spate(in + " " + bad);
        EXPECT_EQ(r.status, 2) << bad;
        EXPECT_NE(r.err.find(std::string(bad).substr(0, std::string(bad).find(' '))),
                  std::string::npos)
            << r.err;
    }
    fs::remove_all(dir);
}

TEST(Cli, RotationLeavesOnlyCompleteFiles) {
    fs::path dir = temp_dir();
    std::string in = shell_quote(data("zeek__wikipedia.pcap").string());
    RunResult plain = run_spate("-q -r " + in);
    RunResult r = run_spate("-q --rotate-size 2k -o " + shell_quote(dir.string()) + " -r " + in);
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    EXPECT_GT(files.size(), 2u);
    std::string all;
    for (auto& f : files) {
        EXPECT_NE(f.filename().string()[0], '.') << "a .part file was left: " << f;
        std::string t = read_all(f);
        EXPECT_TRUE(t.empty() || t.back() == '\n') << f << " ends inside a record";
        all += t;
    }
    EXPECT_EQ(all.size(), plain.out.size());
    fs::remove_all(dir);
}

// Reading files, rotated names follow the records' capture time, not the
// wall clock: joy__sample.pcap was captured on 2016-01-08 from 14:29:09 to
// 14:29:25 UTC. The first file is named for its first record's time_end,
// the later ones for the capture time that rotated them (in order). Both
// exporter shapes (formatting on the writer, and formatter threads).
TEST(Cli, RotatedNamesFromFilesUseCaptureTime) {
    for (const char* exporters : {"1", "2"}) {
        const fs::path dir = temp_dir();
        RunResult r =
            run_spate("-q --time-format ns --rotate-size 1 --exporters " + std::string(exporters) +
                      " -o " + shell_quote((dir / "f-%Y%m%dT%H%M%S.jsonl").string()) + " -r " +
                      shell_quote(data("joy__sample.pcap").string()));
        ASSERT_EQ(r.status, 0) << r.err;
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir)) {
            names.push_back(e.path().filename().string());
        }
        // Sorted by sequence number (the part after the time).
        std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
            return a.substr(18) < b.substr(18);
        });
        ASSERT_GE(names.size(), 2u) << exporters;
        std::string prev;
        size_t records = 0;
        for (const std::string& n : names) {
            ASSERT_EQ(n.size(), std::string("f-20160108T142909-000000.jsonl").size()) << n;
            const std::string stamp = n.substr(2, 15);
            EXPECT_GE(stamp, "20160108T142909") << n;
            EXPECT_LE(stamp, "20160108T142925") << n;
            EXPECT_GE(stamp, prev) << n;
            prev = stamp;
            const std::string text = read_all(dir / n);
            records += static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
        }
        const std::string first = read_all(dir / names[0]);
        simdjson::dom::parser p;
        const uint64_t end_ns = p.parse(first.substr(0, first.find('\n')))["time_end"];
        const time_t secs = static_cast<time_t>(end_ns / 1000000000ULL);
        tm utc{};
        gmtime_r(&secs, &utc);
        char want[32];
        std::strftime(want, sizeof want, "%Y%m%dT%H%M%S", &utc);
        EXPECT_EQ(names[0].substr(2, 15), want);
        EXPECT_EQ(records, 20u);  // every record, once
        fs::remove_all(dir);
    }
}

// SIGTERM during a live capture: every active flow is exported and the zstd
// file is complete. Live capture on the loopback interface needs root.
TEST(Cli, SigtermExportsEveryFlowAndCompletesZstd) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "live capture on lo needs root";
    }
    fs::path dir = temp_dir();
    fs::path out = dir / "live.jsonl.zst";
    fs::path err = dir / "err";
    pid_t pid = spawn_spate(
        {"-i", "lo", "--bpf", "udp and port 47809", "--compress", "zstd", "-o", out.string()}, err);
    ASSERT_GT(pid, 0);
    struct KillOnExit {
        pid_t pid;
        bool armed = true;
        ~KillOnExit() {
            if (armed) {
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }
        }
    } guard{pid};
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    // Three UDP flows on the loopback interface.
    int sent = 0;
    for (int port : {40001, 40002, 40003}) {
        std::string send =
            "python3 -c \"import "
            "socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.1'," +
            std::to_string(port) + "));[s.sendto(b'x'*10,('127.0.0.1',47809)) for _ in range(5)]\"";
        sent += std::system(send.c_str()) == 0;
    }
    if (sent != 3) {
        GTEST_SKIP() << "python3 not available to send loopback packets";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int status = 0;
    double took = terminate_and_wait(pid, status, 10);
    guard.armed = false;
    ASSERT_LT(took, 10) << "spate did not stop after SIGTERM";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_all(err);
    bool complete = false;
    std::string text = zstd_decompress_file(out, &complete);
    EXPECT_TRUE(complete) << "zstd frame not finished; stderr: " << read_all(err);
    auto recs = parse_records(text);
    ASSERT_EQ(recs.size(), 3u) << text << read_all(err);
    for (auto& f : recs) {
        EXPECT_EQ(f.pkts[0], 5u);
        EXPECT_EQ(f.end_reason, "end_of_input");
    }
    fs::remove_all(dir);
}

TEST(Cli, CompactByteDistMappingFile) {
    fs::path dir = temp_dir();
    {
        std::ofstream f(dir / "map.txt");
        f << "# every byte value in bin 3, except 'a' in bin 9\n";
        for (int i = 0; i < 256; ++i)
            f << (i == 'a' ? 9 : 3) << (i % 16 == 15 ? "\n" : " ");
    }
    std::string in = shell_quote(data("joy__sample.pcap").string());
    RunResult r = run_spate("-q --features bd --bd-compact-map " +
                            shell_quote((dir / "map.txt").string()) + " -r " + in);
    ASSERT_EQ(r.status, 0) << r.err;
    simdjson::dom::parser p;
    int checked = 0;
    simdjson::padded_string text(r.out);  // must outlive the document stream
    for (auto doc : p.parse_many(text)) {
        simdjson::dom::element e = doc.value();
        uint64_t total = 0;
        for (auto v : e["byte_dist"].get_array())
            total += uint64_t(v);
        uint64_t a = uint64_t(e["byte_dist"].at('a'));
        EXPECT_EQ(uint64_t(e["compact_byte_dist"].at(9)), a);
        EXPECT_EQ(uint64_t(e["compact_byte_dist"].at(3)), total - a);
        ++checked;
    }
    EXPECT_GT(checked, 5);
    {
        std::ofstream f(dir / "bad.txt");
        f << "1 2 16\n";
    }
    r = run_spate("-q --features bd --bd-compact-map " + shell_quote((dir / "bad.txt").string()) +
                  " -r " + in);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("bd-compact-map"), std::string::npos) << r.err;
    fs::remove_all(dir);
}

TEST(Cli, FeatureOptionsAreCheckedAndNamed) {
    std::string in = shell_quote(data("joy__sample.pcap").string());
    for (const char* bad :
         {"--features splt,bogus", "--splt 0", "--splt 1001", "--idp 1501", "--ppi 0", "--hd 65"}) {
        RunResult r = run_spate(std::string(bad) + " -r " + in);
        EXPECT_EQ(r.status, 2) << bad;
        std::string opt = std::string(bad).substr(2, std::string(bad).find(' ') - 2);
        EXPECT_NE(r.err.find(opt), std::string::npos) << bad << ": " << r.err;
    }
    RunResult r = run_spate("-q --features joy -r " + in);
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("\"packets\""), std::string::npos);
    EXPECT_NE(r.out.find("\"entropy\""), std::string::npos);
}
