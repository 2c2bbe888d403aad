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
#include <string>
#include <thread>
#include <vector>

#include "dpdk_harness.hpp"
#include "harness.hpp"

using namespace spate_test;

namespace {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

uint16_t inet_csum(const Bytes& b) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < b.size(); i += 2) {
        sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
    }
    if (b.size() % 2) {
        sum += static_cast<uint32_t>(b.back() << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}

/// Ethernet + IPv4 (10.77.0.<src> -> 10.77.0.<dst>) around `l4`.
Bytes frame(uint8_t src, uint8_t dst, uint8_t proto, const Bytes& l4) {
    Bytes ip{0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 10, 77, 0, src, 10, 77, 0, dst};
    const size_t total = ip.size() + l4.size();
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    const uint16_t c = inet_csum(ip);
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
    Bytes f{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00};
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), l4.begin(), l4.end());
    return f;
}

Bytes tcp(uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags,
          const std::string& data = "") {
    Bytes t;
    put16(t, sp);
    put16(t, dp);
    put32(t, seq);
    put32(t, ack);
    t.push_back(5 << 4);
    t.push_back(flags);
    put16(t, 65535);
    put16(t, 0);  // checksum: nothing on this path verifies it
    put16(t, 0);
    t.insert(t.end(), data.begin(), data.end());
    return t;
}

Bytes udp(uint16_t sp, uint16_t dp, size_t len) {
    Bytes u;
    put16(u, sp);
    put16(u, dp);
    put16(u, static_cast<uint16_t>(8 + len));
    put16(u, 0);
    u.insert(u.end(), len, 'x');
    return u;
}

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

bool sh(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

/// A veth pair, up, with IPv6 off (so the kernel sends no solicitations of
/// its own into the capture); removed at the end.
struct Veth {
    std::string a, b;
    bool ok = false;
    Veth() {
        const std::string id = std::to_string(getpid() % 100000);
        a = "splva" + id;
        b = "splvb" + id;
        sh("ip link del " + a);
        ok = sh("ip link add " + a + " type veth peer name " + b);
        for (const std::string& n : {a, b}) {
            sh("sysctl -qw net.ipv6.conf." + n + ".disable_ipv6=1");
            ok = ok && sh("ip link set " + n + " up");
        }
    }
    ~Veth() { sh("ip link del " + a); }
};

void send_frames(const std::string& ifname, const std::vector<Bytes>& frames) {
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    ASSERT_GE(fd, 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    sll.sll_halen = 6;
    for (const Bytes& f : frames) {
        ASSERT_EQ(sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)),
                  static_cast<ssize_t>(f.size()));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    close(fd);
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

INSTANTIATE_TEST_SUITE_P(Capture, Live,
                         ::testing::Values(Via::libpcap, Via::dpdk_rx_map, Via::dpdk_dispatcher),
                         via_name);

}  // namespace
