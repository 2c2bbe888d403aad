// Overload and output faults, on the whole program: a sink that blocks (a
// FIFO nobody reads) with --backpressure drop and wait; and a sink that
// fails (a full tmpfs) and comes back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace spate_test;

namespace {

using Clock = std::chrono::steady_clock;

void put16(std::string& b, uint16_t v) {
    b.push_back(static_cast<char>(v >> 8));
    b.push_back(static_cast<char>(v));
}

/// A capture of `flows` one-packet UDP flows 10.x.y.z:1000 -> 10.200.0.1:53,
/// one every `gap_us` microseconds.
void write_capture(const fs::path& path, uint32_t flows, uint32_t gap_us) {
    std::ofstream out(path, std::ios::binary);
    const uint32_t hdr[] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    out.write(reinterpret_cast<const char*>(hdr), 24);
    for (uint32_t i = 0; i < flows; ++i) {
        std::string f("\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
        const std::string ip_hdr{0x45, 0, 0, 0x24, 0, 1, 0, 0, 64, 17, 0, 0};
        f += ip_hdr;
        f += {10, static_cast<char>(i >> 16), static_cast<char>(i >> 8), static_cast<char>(i)};
        f += {10, static_cast<char>(200), 0, 1};
        put16(f, 1000);
        put16(f, 53);
        put16(f, 16);
        put16(f, 0);
        f += "abcdefgh";
        const uint64_t t = 1'700'000'000ULL * 1'000'000 + uint64_t{i} * gap_us;
        const uint32_t rec[] = {static_cast<uint32_t>(t / 1'000'000),
                                static_cast<uint32_t>(t % 1'000'000),
                                static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size())};
        out.write(reinterpret_cast<const char*>(rec), 16);
        out.write(f.data(), static_cast<std::streamsize>(f.size()));
    }
}

/// The last JSON stats line's total.<key> (0 when none yet).
uint64_t last_total(const fs::path& stats, const std::string& key) {
    const std::string text = read_all(stats);
    const size_t end = text.rfind('\n');
    if (end == std::string::npos || end == 0) {
        return 0;
    }
    const size_t begin = text.rfind('\n', end - 1);
    simdjson::dom::parser p;
    auto doc = p.parse(text.substr(begin == std::string::npos ? 0 : begin + 1,
                                   end - (begin == std::string::npos ? 0 : begin + 1)));
    if (doc.error()) {
        return 0;
    }
    auto v = doc["total"][key].get_uint64();
    return v.error() ? 0 : v.value();
}

/// Reads a FIFO to its end; the number of lines.
size_t drain_lines(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    size_t lines = 0;
    char buf[65536];
    ssize_t n = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; ++i) {
            lines += buf[i] == '\n';
        }
    }
    return lines;
}

struct Fifo {
    fs::path path;
    int fd = -1;
    explicit Fifo(const fs::path& p) : path(p) {
        if (mkfifo(p.c_str(), 0600) == 0) {
            // Open for reading now (without blocking), so that spate's open
            // for writing succeeds; nothing is read until drain_lines().
            fd = open(p.c_str(), O_RDONLY | O_NONBLOCK);
        }
    }
    ~Fifo() {
        if (fd >= 0) {
            close(fd);
        }
    }
};

constexpr uint32_t kFlows = 60'000;

TEST(Overload, DropWithABlockedSinkKeepsReceivingAndCountsWhatItSheds) {
    const fs::path dir = temp_dir();
    const fs::path capture = dir / "flows.pcap";
    write_capture(capture, kFlows, 1000);  // 60 s of capture time
    Fifo fifo(dir / "out.fifo");
    ASSERT_GE(fifo.fd, 0) << "mkfifo/open failed";
    const fs::path stats = dir / "stats.jsonl";
    const fs::path err = dir / "err";
    pid_t pid = spawn_spate({"-r", capture.string(), "--idle-timeout", "0.1", "--backpressure",
                             "drop", "--ring-mb", "1", "-o", fifo.path.string(), "--stats-interval",
                             "0.1", "--stats-format", "json", "--stats-file", stats.string()},
                            err);
    ASSERT_GT(pid, 0);
    // Nobody reads the FIFO: every frame is still read and handled, and the
    // records that do not fit are shed and counted.
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < std::chrono::seconds(30) && last_total(stats, "packets") < kFlows) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(last_total(stats, "packets"), kFlows) << read_all(err);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const uint64_t shed = last_total(stats, "records_shed");
    EXPECT_GT(shed, 0u) << read_all(stats);
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "it cannot have finished: the FIFO is full";
    // Reading the FIFO lets it finish.
    const size_t written = drain_lines(fifo.fd);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string log = read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    // Every flow is either written or counted as shed.
    const size_t p = log.find("shed under load: packets 0, records ");
    ASSERT_NE(p, std::string::npos) << log;
    const uint64_t shed_total = std::stoull(log.substr(p + 36));
    EXPECT_EQ(written + shed_total, kFlows) << log;
    EXPECT_GE(shed_total, shed);
    fs::remove_all(dir);
}

TEST(Overload, WaitWithABlockedSinkStallsReceivingAndLosesNothing) {
    const fs::path dir = temp_dir();
    const fs::path capture = dir / "flows.pcap";
    write_capture(capture, kFlows, 1000);
    Fifo fifo(dir / "out.fifo");
    ASSERT_GE(fifo.fd, 0) << "mkfifo/open failed";
    const fs::path stats = dir / "stats.jsonl";
    const fs::path err = dir / "err";
    pid_t pid = spawn_spate({"-r", capture.string(), "--idle-timeout", "0.1", "--backpressure",
                             "wait", "--ring-mb", "1", "-o", fifo.path.string(), "--stats-interval",
                             "0.1", "--stats-format", "json", "--stats-file", stats.string()},
                            err);
    ASSERT_GT(pid, 0);
    // The workers wait for the exporter, which waits for the FIFO: reading
    // stops short of the end and stays there.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    const uint64_t stalled = last_total(stats, "packets");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_LT(stalled, kFlows) << read_all(stats);
    EXPECT_EQ(last_total(stats, "packets"), stalled) << "reading went on while blocked";
    EXPECT_EQ(last_total(stats, "records_shed"), 0u);
    // Once the FIFO is read, everything arrives.
    const size_t written = drain_lines(fifo.fd);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string log = read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    EXPECT_EQ(written, kFlows) << log;
    EXPECT_NE(log.find("shed under load: packets 0, records 0;"), std::string::npos) << log;
    fs::remove_all(dir);
}

}  // namespace
