// Overload and output faults, on the whole program: a sink that blocks (a
// FIFO nobody reads) with --backpressure drop and wait; and a live capture
// whose output fills a 5 MB tmpfs, then gets its space back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "live_harness.hpp"

using namespace spate_test;

namespace {

using Clock = std::chrono::steady_clock;

void put16s(std::string& b, uint16_t v) {
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
        put16s(f, 1000);
        put16s(f, 53);
        put16s(f, 16);
        put16s(f, 0);
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

TEST(Overload, ASecondSignalExitsAtOnceWhenTheOutputIsStuck) {
    const fs::path dir = temp_dir();
    const fs::path capture = dir / "flows.pcap";
    write_capture(capture, kFlows, 1000);
    Fifo fifo(dir / "out.fifo");
    ASSERT_GE(fifo.fd, 0) << "mkfifo/open failed";
    const fs::path err = dir / "err";
    pid_t pid = spawn_spate({"-r", capture.string(), "--idle-timeout", "0.1", "--backpressure",
                             "wait", "-o", fifo.path.string()},
                            err);
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    // The first SIGTERM asks for an orderly end, which waits for the FIFO.
    kill(pid, SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "the output is stuck: it cannot have ended";
    // The second exits now.
    const auto t0 = Clock::now();
    kill(pid, SIGTERM);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0 && Clock::now() - t0 < std::chrono::seconds(5)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const double took = std::chrono::duration<double>(Clock::now() - t0).count();
    if (took >= 5) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    EXPECT_LT(took, 1.0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << read_all(err);
    EXPECT_NE(read_all(err).find("second signal: exiting now"), std::string::npos) << read_all(err);
    fs::remove_all(dir);
}

/// Lines of `text` that are not one JSON object each.
size_t bad_lines(const std::string& text) {
    simdjson::dom::parser p;
    std::istringstream in(text);
    std::string line;
    size_t bad = 0;
    while (std::getline(in, line)) {
        bad += p.parse(line).error() != simdjson::SUCCESS || line.front() != '{';
    }
    return bad;
}

TEST(OutputFault, FullDiskIsReportedWhileRunningAndWritingResumesWhenSpaceReturns) {
    if (geteuid() != 0) {
        GTEST_SKIP() << "needs root: a veth pair for live traffic and a 5 MB tmpfs";
    }
    Veth veth("o");
    if (!veth.ok) {
        GTEST_SKIP() << "cannot create a veth pair here";
    }
    const fs::path dir = temp_dir();
    const fs::path mnt = dir / "mnt";
    fs::create_directories(mnt);
    if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=5m") != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
    }
    struct Unmount {
        fs::path p;
        ~Unmount() {
            if (!p.empty()) {
                umount2(p.c_str(), MNT_DETACH);
            }
        }
    } unmount{mnt};
    // Leave about 1 MB free.
    {
        std::ofstream filler(mnt / "filler", std::ios::binary);
        const std::string mb(1 << 20, 'x');
        for (int i = 0; i < 4; ++i) {
            filler << mb;
        }
    }
    const fs::path out = mnt / "flows.jsonl";
    const fs::path stats = dir / "stats.jsonl";
    const fs::path err = dir / "err";
    pid_t pid =
        spawn_spate({"-i", veth.b, "--idle-timeout", "0.2", "-o", out.string(), "--stats-interval",
                     "0.2", "--stats-format", "json", "--stats-file", stats.string()},
                    err);
    ASSERT_GT(pid, 0);
    struct Guard {
        pid_t pid;
        ~Guard() {
            if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }
        }
    } guard{pid};
    for (int i = 0; i < 200 && last_total(stats, "packets") == 0 && read_all(stats).empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // A stream of new UDP flows: a record each, 2000 a second.
    std::atomic<bool> sending{true};
    std::thread sender([&] {
        const int fd = socket(AF_PACKET, SOCK_RAW, 0);
        sockaddr_ll sll{};
        sll.sll_family = AF_PACKET;
        sll.sll_ifindex = static_cast<int>(if_nametoindex(veth.a.c_str()));
        sll.sll_halen = 6;
        for (uint32_t i = 0; sending; ++i) {
            const Bytes f = frame(1, 2, 17, udp(static_cast<uint16_t>(1024 + i % 60000), 53, 200));
            sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof(sll));
            if (i % 20 == 19) {
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
        }
        close(fd);
    });
    struct Join {
        std::atomic<bool>& flag;
        std::thread& t;
        ~Join() {
            flag = false;
            if (t.joinable()) {
                t.join();
            }
        }
    } join{sending, sender};

    // The disk fills: the error is on stderr and in the stats while spate runs.
    auto wait_for = [&](auto&& cond, int seconds) {
        const auto t0 = Clock::now();
        while (!cond() && Clock::now() - t0 < std::chrono::seconds(seconds)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return cond();
    };
    ASSERT_TRUE(wait_for([&] { return last_total(stats, "records_lost") > 100; }, 30))
        << read_all(err);
    EXPECT_NE(read_all(err).find("spate: error: output: "), std::string::npos) << read_all(err);
    EXPECT_NE(read_all(err).find("No space left on device"), std::string::npos) << read_all(err);
    EXPECT_GT(last_total(stats, "output_errors"), 0u);
    EXPECT_NE(read_all(stats).find("\"output_faulted\":true"), std::string::npos);
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "spate exited on its own:\n" << read_all(err);
    const uintmax_t size_full = fs::file_size(out);

    // Space comes back: records are written again, and spate never stopped.
    fs::remove(mnt / "filler");
    ASSERT_TRUE(wait_for([&] { return fs::file_size(out) > size_full + 100'000; }, 30))
        << read_all(err);
    EXPECT_NE(read_all(err).find("spate: output: writing again after "), std::string::npos)
        << read_all(err);
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "spate exited on its own:\n" << read_all(err);
    sending = false;
    sender.join();

    // Records were lost: exit status 1. The file holds whole records only.
    int status = 0;
    terminate_and_wait(pid, status, 20);
    guard.pid = -1;
    const std::string log = read_all(err);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << log;
    EXPECT_NE(log.find("lost to output errors: records "), std::string::npos) << log;
    const std::string text = read_all(out);
    EXPECT_EQ(bad_lines(text), 0u);
    EXPECT_GT(std::count(text.begin(), text.end(), '\n'), 3000);
    umount2(mnt.c_str(), MNT_DETACH);
    unmount.p.clear();
    fs::remove_all(dir);
}

}  // namespace
