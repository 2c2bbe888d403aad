#pragma once
// Helpers for the whole-program tests that run the DPDK driver on virtual
// devices: EAL arguments with a file prefix per process, the telemetry
// socket, a guard for spawned processes, and the skip when DPDK is absent.
#include <signal.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace spate_test {

inline std::atomic<int> g_eal_seq{0};

inline std::string prefix_of(int seq) {
    return "spate-test-" + std::to_string(getpid()) + "-" + std::to_string(seq);
}

inline std::string eal(const std::string& vdevs) {
    return "--no-huge -m 256 --no-pci --no-shconf --log-level=error --file-prefix " +
           prefix_of(g_eal_seq++) + " " + vdevs;
}

/// Sends one command to a running process's DPDK telemetry socket; the reply.
inline std::string telemetry(const std::string& prefix, const std::string& cmd) {
    std::string dir =
        geteuid() == 0 ? "/var/run/dpdk" : env_or("XDG_RUNTIME_DIR", "/tmp") + "/dpdk";
    std::string path = dir + "/" + prefix + "/dpdk_telemetry.v2";
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof(sun)) != 0) {
        if (fd >= 0)
            close(fd);
        return "cannot connect to " + path;
    }
    std::vector<char> buf(1 << 16);
    ssize_t n = recv(fd, buf.data(), buf.size(), 0);  // the greeting
    send(fd, cmd.data(), cmd.size(), 0);
    n = recv(fd, buf.data(), buf.size(), 0);
    close(fd);
    return n > 0 ? std::string(buf.data(), static_cast<size_t>(n)) : std::string("no reply");
}

/// Waits (up to 30 s: a sanitizer build on a loaded machine starts slowly)
/// until the process answers on its telemetry socket and has counted more
/// than `packets` decoded packets; the last reply.
inline std::string wait_for_telemetry(const std::string& prefix, uint64_t packets) {
    std::string reply;
    for (int i = 0; i < 300; ++i) {
        reply = telemetry(prefix, "/spate/stats");
        simdjson::dom::parser p;
        auto decoded = p.parse(reply)["/spate/stats"]["decoded"].get_uint64();
        // (Before the command is registered the reply is null: keep asking.)
        if (!decoded.error() && decoded.value() > packets) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return reply;
}

/// Kills a spawned spate that a failed test left running (an endless replay
/// would otherwise spin on a core after the test); release() once reaped.
struct ChildGuard {
    pid_t pid;
    ~ChildGuard() {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    }
    void release() { pid = -1; }
};

inline bool dpdk_available() {
    RunResult r = run_spate("--driver dpdk --eal " + shell_quote(eal("")) + " -q");
    // "no DPDK port was probed" means the driver and the EAL work.
    return r.err.find("no DPDK port") != std::string::npos;
}

#define SKIP_WITHOUT_DPDK()                                                                  \
    do {                                                                                     \
        if (!dpdk_available()) {                                                             \
            GTEST_SKIP() << "the DPDK driver is not in this build, or the EAL cannot start"; \
        }                                                                                    \
    } while (0)

}  // namespace spate_test
