// Rule reload while spate runs on a live interface (a veth pair the test
// makes; root): a rule added to the file and SIGHUP matches the flows that
// start afterwards and not those before; a file that no longer compiles is
// refused on the next SIGHUP and the running rules keep matching; the JSON
// stats lines count matches per rule and say the generation. Through
// libpcap with SIGHUP, and through the DPDK driver (net_af_packet) with the
// telemetry commands /spate/reload and /spate/rules.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_harness.hpp"
#include "harness.hpp"
#include "live_harness.hpp"

using namespace spate_test;

namespace {

using Clock = std::chrono::steady_clock;

/// One TCP connection 10.77.0.1:sport -> 10.77.0.2:7000 whose first data
/// segment carries `data` (handshake, data, FIN both ways).
std::vector<Bytes> connection(uint16_t sport, const std::string& data) {
    constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPsh = 0x08, kFin = 0x01;
    const uint32_t c = 100, s = 500;
    const auto n = static_cast<uint32_t>(data.size());
    return {
        frame(1, 2, 6, tcp(sport, 7000, c, 0, kSyn)),
        frame(2, 1, 6, tcp(7000, sport, s, c + 1, kSyn | kAck)),
        frame(1, 2, 6, tcp(sport, 7000, c + 1, s + 1, kPsh | kAck, data)),
        frame(1, 2, 6, tcp(sport, 7000, c + 1 + n, s + 1, kFin | kAck)),
        frame(2, 1, 6, tcp(7000, sport, s + 1, c + 2 + n, kFin | kAck)),
        frame(1, 2, 6, tcp(sport, 7000, c + 2 + n, s + 2, kAck)),
    };
}

void write_file(const fs::path& p, const std::string& text) {
    std::ofstream(p, std::ios::trunc) << text;
}

/// Waits until `path` holds `what` (at most 10 s).
bool wait_for(const fs::path& path, const std::string& what) {
    for (int i = 0; i < 500; ++i) {
        if (read_all(path).find(what) != std::string::npos) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

/// Rule names matched in the record of the flow from `sport`; "-" when no record.
std::string matched(const std::string& out, uint16_t sport) {
    std::istringstream in(out);
    std::string line;
    const std::string key = "\"sp\":" + std::to_string(sport) + ",";
    while (std::getline(in, line)) {
        if (line.find(key) == std::string::npos) {
            continue;
        }
        std::string names;
        for (size_t p = line.find("\"name\":\""); p != std::string::npos;
             p = line.find("\"name\":\"", p + 1)) {
            const size_t b = p + 8;
            names += (names.empty() ? "" : ",") + line.substr(b, line.find('"', b) - b);
        }
        return names;
    }
    return "-";
}

enum class Via { libpcap_sighup, dpdk_telemetry };

std::string via_name(const ::testing::TestParamInfo<Via>& i) {
    return i.param == Via::libpcap_sighup ? "LibpcapSighup" : "DpdkTelemetry";
}

class Reload : public ::testing::TestWithParam<Via> {};

TEST_P(Reload, AddsARuleForLaterFlowsAndABrokenFileKeepsTheRunningRules) {
    const Via via = GetParam();
#if !SPATE_HAVE_HYPERSCAN_TEST
    GTEST_SKIP() << "content rules need Hyperscan, which this build does not have";
#endif
    if (geteuid() != 0) {
        GTEST_SKIP() << "live capture on a veth pair needs root";
    }
    if (via == Via::dpdk_telemetry && !dpdk_available()) {
        GTEST_SKIP() << "the DPDK driver is not in this build, or the EAL cannot start";
    }
    Veth veth(via == Via::libpcap_sighup ? "r" : "t");
    if (!veth.ok) {
        GTEST_SKIP() << "cannot create a veth pair here (ip link add ... type veth)";
    }
    const fs::path dir = temp_dir();
    const fs::path rules = dir / "live.rules";
    const fs::path out = dir / "out.jsonl";
    const fs::path err = dir / "err";
    const fs::path stats = dir / "stats.jsonl";
    write_file(rules, "1 alpha proto=tcp /ALPHA/\n");
    std::vector<std::string> args{"--rules", rules.string(), "--tcp-close-timeout", "0.2",
                                  "--stats-interval", "0.2", "--stats-format", "json",
                                  "--stats-file", stats.string(), "-o", out.string()};
    std::string prefix;
    if (via == Via::libpcap_sighup) {
        args.insert(args.end(), {"-i", veth.b});
    } else {
        prefix = prefix_of(g_eal_seq.load());
        args.insert(args.end(), {"--driver", "dpdk", "--link-wait", "0", "--eal",
                                 eal("-l 0 --vdev net_af_packet0,iface=" + veth.b)});
    }
    const pid_t pid = spawn_spate(args, err);
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};
    // SIGHUP, or the telemetry command that does the same.
    auto reload = [&] {
        if (via == Via::libpcap_sighup) {
            kill(pid, SIGHUP);
        } else {
            const std::string reply = telemetry(prefix, "/spate/reload");
            EXPECT_NE(reply.find("requested"), std::string::npos) << reply;
        }
    };
    ASSERT_TRUE(wait_for(stats, "\"time\":")) << read_all(err);

    send_frames(veth.a, connection(41001, "ALPHA and BETA"));
    ASSERT_TRUE(wait_for(out, "\"sp\":41001,")) << read_all(err);

    // A rule added: new flows see it.
    write_file(rules, "1 alpha proto=tcp /ALPHA/\n2 beta proto=tcp /BETA/\n");
    reload();
    ASSERT_TRUE(wait_for(err, "rules reloaded: 2 rules")) << read_all(err);
    ASSERT_TRUE(wait_for(stats, "\"rules_generation\":2")) << read_all(stats);
    send_frames(veth.a, connection(41002, "ALPHA and BETA"));
    ASSERT_TRUE(wait_for(out, "\"sp\":41002,")) << read_all(err);

    // A broken file: refused, the running rules (generation 2) stay.
    write_file(rules, "1 alpha proto=tcp /ALPHA/\n2 beta proto=tcp /BETA/\n3 broken /(unclosed/\n");
    reload();
    ASSERT_TRUE(wait_for(err, "reload refused")) << read_all(err);
    send_frames(veth.a, connection(41003, "ALPHA and BETA"));
    ASSERT_TRUE(wait_for(out, "\"sp\":41003,")) << read_all(err);
    ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "spate exited:\n" << read_all(err);
    if (via == Via::dpdk_telemetry) {
        // Per-rule counters through telemetry too (published every 100 ms).
        std::string reply;
        for (int i = 0; i < 100; ++i) {
            reply = telemetry(prefix, "/spate/rules");
            if (reply.find("\"rule_2\":2") != std::string::npos) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_NE(reply.find("\"generation\":2"), std::string::npos) << reply;
        EXPECT_NE(reply.find("\"rule_1\":3"), std::string::npos) << reply;
        EXPECT_NE(reply.find("\"rule_2\":2"), std::string::npos) << reply;
    }

    int status = 0;
    terminate_and_wait(pid, status, 20);
    guard.release();
    const std::string log = read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    EXPECT_NE(log.find("live.rules:3"), std::string::npos) << "the error names the line\n" << log;
    const std::string records = read_all(out);
    EXPECT_EQ(matched(records, 41001), "alpha") << records;
    EXPECT_EQ(matched(records, 41002), "alpha,beta") << records;
    EXPECT_EQ(matched(records, 41003), "alpha,beta") << records;

    // The last stats line counts the matches per rule.
    std::string last, line;
    std::istringstream in(read_all(stats));
    while (std::getline(in, line)) {
        if (!line.empty()) {
            last = line;
        }
    }
    EXPECT_NE(last.find("{\"id\":1,\"name\":\"alpha\",\"matches\":3,"), std::string::npos) << last;
    EXPECT_NE(last.find("{\"id\":2,\"name\":\"beta\",\"matches\":2,"), std::string::npos) << last;
    EXPECT_NE(log.find("rule matches: alpha (1) 3, beta (2) 2"), std::string::npos) << log;
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Via, Reload, ::testing::Values(Via::libpcap_sighup, Via::dpdk_telemetry),
                         via_name);

}  // namespace
