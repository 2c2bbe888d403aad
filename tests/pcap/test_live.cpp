// Live capture on a veth pair that the test makes (root): one TCP connection
// closed by FIN and one UDP exchange, then silence. Both records must be
// written within their timeout + 1 s while spate keeps running, and the
// stats line must keep its interval with no traffic. Through libpcap (-i),
// and through the DPDK driver on net_af_packet in rx-map and dispatcher mode.
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_harness.hpp"
#include "harness.hpp"
#include "live_harness.hpp"

using namespace spate_test;

namespace {

using Clock = std::chrono::steady_clock;

/// 10.77.0.1:40000 -> 10.77.0.2:80: handshake, a request and a response,
/// FIN both ways, last ACK (5 packets out, 3 in); then 10.77.0.1:5353 ->
/// 10.77.0.2:53 and its answer.
std::vector<Bytes> conversation() {
    constexpr uint8_t kSyn = 0x02, kAck = 0x10, kPsh = 0x08, kFin = 0x01;
    const std::string req = "GET / HTTP/1.0\r\n\r\n";
    const std::string resp = "HTTP/1.0 200 OK\r\n\r\n";
    const uint32_t c = 100, s = 500;
    const auto rl = static_cast<uint32_t>(req.size());
    const auto sl = static_cast<uint32_t>(resp.size());
    return {
        frame(1, 2, 6, tcp(40000, 80, c, 0, kSyn)),
        frame(2, 1, 6, tcp(80, 40000, s, c + 1, kSyn | kAck)),
        frame(1, 2, 6, tcp(40000, 80, c + 1, s + 1, kAck)),
        frame(1, 2, 6, tcp(40000, 80, c + 1, s + 1, kPsh | kAck, req)),
        frame(2, 1, 6, tcp(80, 40000, s + 1, c + 1 + rl, kPsh | kAck, resp)),
        frame(1, 2, 6, tcp(40000, 80, c + 1 + rl, s + 1 + sl, kFin | kAck)),
        frame(2, 1, 6, tcp(80, 40000, s + 1 + sl, c + 2 + rl, kFin | kAck)),
        frame(1, 2, 6, tcp(40000, 80, c + 2 + rl, s + 2 + sl, kAck)),
        frame(1, 2, 17, udp(5353, 53, 20)),
        frame(2, 1, 17, udp(53, 5353, 40)),
    };
}

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) {
        ++n;
    }
    return n;
}

enum class Via { libpcap, dpdk_rx_map, dpdk_dispatcher };

std::string via_name(const ::testing::TestParamInfo<Via>& i) {
    switch (i.param) {
        case Via::libpcap:
            return "Libpcap";
        case Via::dpdk_rx_map:
            return "DpdkRxMap";
        case Via::dpdk_dispatcher:
            return "DpdkDispatcher";
    }
    return "?";
}

class Live : public ::testing::TestWithParam<Via> {};

TEST_P(Live, QuietLinkExportsWithinTheTimeoutAndStatsKeepTheirInterval) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "live capture on a veth pair needs root";
    }
    const Via via = GetParam();
    if (via != Via::libpcap && !dpdk_available()) {
        GTEST_SKIP() << "the DPDK driver is not in this build, or the EAL cannot start";
    }
    Veth veth;
    if (!veth.ok) {
        GTEST_SKIP() << "cannot create a veth pair here (ip link add ... type veth)";
    }
    const fs::path dir = temp_dir();
    const fs::path out = dir / "out.jsonl";
    const fs::path err = dir / "err";
    const fs::path stats = dir / "stats.jsonl";
    constexpr double kIdle = 2, kClose = 1.5, kInterval = 0.5;
    std::vector<std::string> args{"--idle-timeout",
                                  std::to_string(kIdle),
                                  "--tcp-close-timeout",
                                  std::to_string(kClose),
                                  "--stats-interval",
                                  std::to_string(kInterval),
                                  "-o",
                                  out.string()};
    if (via == Via::libpcap) {
        // JSON lines to a file of their own, for this variant.
        args.insert(args.end(),
                    {"-i", veth.b, "--stats-format", "json", "--stats-file", stats.string()});
    } else {
        const std::string vdev = "--vdev net_af_packet0,iface=" + veth.b;
        args.insert(args.end(), {"--driver", "dpdk", "--link-wait", "0"});
        if (via == Via::dpdk_rx_map) {
            args.insert(args.end(), {"--rx-map", "0:0@1", "--eal", eal("-l 0,1 " + vdev)});
        } else {
            args.insert(args.end(), {"--eal", eal("-l 0 " + vdev)});
        }
    }
    const fs::path& stats_path = via == Via::libpcap ? stats : err;
    const std::string stats_mark = via == Via::libpcap ? "\"time\":" : "spate: stats 20";
    pid_t pid = spawn_spate(args, err);
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};

    // Running once the first interval line is out (the port is open by then).
    for (int i = 0; i < 300 && count_of(read_all(stats_path), stats_mark) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_GT(count_of(read_all(stats_path), stats_mark), 0u) << read_all(err);

    send_frames(veth.a, conversation());
    const auto t_last = Clock::now();
    const size_t lines_at_last = count_of(read_all(stats_path), stats_mark);

    // Both records, while spate keeps running and no packet arrives.
    double tcp_after = -1, udp_after = -1;
    while (Clock::now() - t_last < std::chrono::seconds(8) && (tcp_after < 0 || udp_after < 0)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        const double since = std::chrono::duration<double>(Clock::now() - t_last).count();
        for (const Flow& f : parse_records(read_all(out))) {
            if (f.sa == "10.77.0.1" && f.proto == 6 && tcp_after < 0) {
                tcp_after = since;
            }
            if (f.sa == "10.77.0.1" && f.proto == 17 && udp_after < 0) {
                udp_after = since;
            }
        }
    }
    ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "spate exited on its own:\n" << read_all(err);
    EXPECT_GE(tcp_after, 0) << "no TCP record within 8 s of silence\n" << read_all(err);
    EXPECT_GE(udp_after, 0) << "no UDP record within 8 s of silence\n" << read_all(err);
    // Timeouts count from a flow's last packet (the UDP answer is the last
    // frame sent; the TCP flow's FIN exchange ended a few ms before it).
    EXPECT_LE(tcp_after, kClose + 1) << read_all(err);
    EXPECT_LE(udp_after, kIdle + 1) << read_all(err);
    EXPECT_GE(udp_after, kIdle - 0.1) << "the UDP flow left before its idle timeout";

    // The interval lines go on with no traffic: one every 0.5 s.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const double silent = std::chrono::duration<double>(Clock::now() - t_last).count();
    const std::string stats_text = read_all(stats_path);
    const size_t lines = count_of(stats_text, stats_mark) - lines_at_last;
    EXPECT_GE(static_cast<double>(lines), silent / kInterval - 2) << silent << " s of silence\n"
                                                                  << stats_text;
    EXPECT_LE(static_cast<double>(lines), silent / kInterval + 2) << stats_text;
    if (via == Via::libpcap) {
        // Each JSON line parses and counts what happened in its interval.
        simdjson::ondemand::parser parser;
        std::istringstream in(stats_text);
        std::string line;
        uint64_t packets = 0, records = 0;
        while (std::getline(in, line)) {
            simdjson::padded_string ps(line);
            auto doc = parser.iterate(ps);
            packets += doc["delta"]["packets"].get_uint64().value();
            records += doc["delta"]["records"].get_uint64().value();
        }
        EXPECT_EQ(packets, 10u) << stats_text;
        EXPECT_EQ(records, 2u) << stats_text;
    }

    int status = 0;
    terminate_and_wait(pid, status, 20);
    guard.release();
    const std::string log = read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    int tcp_records = 0, udp_records = 0;
    for (const Flow& f : parse_records(read_all(out))) {
        if (f.sa != "10.77.0.1") {
            continue;
        }
        if (f.proto == 6) {
            ++tcp_records;
            EXPECT_EQ(f.pkts[0], 5u);
            EXPECT_EQ(f.pkts[1], 3u);
            EXPECT_EQ(f.end_reason, "tcp_end");
        } else if (f.proto == 17) {
            ++udp_records;
            EXPECT_EQ(f.pkts[0], 1u);
            EXPECT_EQ(f.pkts[1], 1u);
            EXPECT_EQ(f.end_reason, "idle");
        }
    }
    EXPECT_EQ(tcp_records, 1) << log;
    EXPECT_EQ(udp_records, 1) << log;
    fs::remove_all(dir);
}

// Live input rotates by the wall clock (files by the records' capture
// time: test_cli): the first file is open from the start, before any
// record, and every name is a time of the run.
TEST(LiveRotation, NamesFollowTheWallClock) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "live capture on a veth pair needs root";
    }
    Veth veth("r");
    if (!veth.ok) {
        GTEST_SKIP() << "cannot create a veth pair here (ip link add ... type veth)";
    }
    const fs::path dir = temp_dir();
    const fs::path err = dir / "err";
    auto stamp = [](time_t t) {
        tm utc{};
        gmtime_r(&t, &utc);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &utc);
        return std::string(buf);
    };
    const std::string t_start = stamp(time(nullptr));
    pid_t pid = spawn_spate(
        {"-i", veth.b, "--idle-timeout", "1", "--tcp-close-timeout", "1", "--rotate-interval", "1",
         "--stats-interval", "0.2", "-o", (dir / "f-%Y%m%dT%H%M%S.jsonl").string()},
        err);
    ASSERT_GT(pid, 0);
    ChildGuard guard{pid};
    for (int i = 0; i < 300 && count_of(read_all(err), "spate: stats 20") == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    bool part = false;
    for (const auto& e : fs::directory_iterator(dir)) {
        part = part || e.path().filename().string().rfind(".f-", 0) == 0;
    }
    EXPECT_TRUE(part) << "no file open before the first record:\n" << read_all(err);
    send_frames(veth.a, conversation());
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    int status = 0;
    terminate_and_wait(pid, status, 20);
    guard.release();
    const std::string t_end = stamp(time(nullptr));
    size_t records = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("f-", 0) != 0) {
            continue;
        }
        EXPECT_GE(n.substr(2, 15), t_start) << n;
        EXPECT_LE(n.substr(2, 15), t_end) << n;
        records += parse_records(read_all(e.path())).size();
    }
    EXPECT_EQ(records, 2u) << read_all(err);
    fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Capture, Live,
                         ::testing::Values(Via::libpcap, Via::dpdk_rx_map, Via::dpdk_dispatcher),
                         via_name);

}  // namespace

namespace {

/// Bytes of the process's mappings of sockets: libpcap's TPACKET ring,
/// whose size is the buffer it was given (pcap_set_buffer_size).
uint64_t socket_mapped_bytes(pid_t pid) {
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    uint64_t total = 0;
    while (std::getline(maps, line)) {
        if (line.find("socket:[") == std::string::npos) {
            continue;
        }
        const size_t dash = line.find('-');
        const size_t space = line.find(' ');
        total += std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16) -
                 std::stoull(line.substr(0, dash), nullptr, 16);
    }
    return total;
}

}  // namespace

TEST(LivePcapBuffer, SetsTheKernelRingOfTheLiveCapture) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "live capture on a veth pair needs root";
    }
    Veth veth("pb");
    if (!veth.ok) {
        GTEST_SKIP() << "cannot create a veth pair here (ip link add ... type veth)";
    }
    const fs::path dir = temp_dir();
    for (const uint32_t mb : {8u, 24u}) {
        const fs::path err = dir / ("err" + std::to_string(mb));
        pid_t pid = spawn_spate({"-i", veth.b, "--pcap-buffer", std::to_string(mb), "-o",
                                 (dir / "out.jsonl").string()},
                                err);
        ASSERT_GT(pid, 0);
        ChildGuard guard{pid};
        uint64_t mapped = 0;
        for (int i = 0; i < 100 && mapped == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            mapped = socket_mapped_bytes(pid);
        }
        ASSERT_GT(mapped, 0u) << "no capture ring mapped\n" << read_all(err);
        // The ring is the buffer asked for (libpcap rounds to whole blocks).
        EXPECT_GE(mapped, uint64_t{mb} << 20) << mb << " MiB asked";
        EXPECT_LE(mapped, (uint64_t{mb} + 1) << 20) << mb << " MiB asked";
        int status = 0;
        terminate_and_wait(pid, status, 20);
        guard.release();
        const std::string log = read_all(err);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
        EXPECT_NE(log.find("kernel buffer " + std::to_string(mb) + " MiB (--pcap-buffer)"),
                  std::string::npos)
            << log;
    }
    fs::remove_all(dir);
}
