// The --progress line for -r files: forced on it is written to stderr (a
// file here) with the percent of bytes read; off it is not; by default it
// is on only when stderr is a terminal (a pseudo-terminal here). Inputs of
// unknown size (stdin, FIFOs, compressed files) show packets and rate
// without percent or ETA, and a terminal gets updates on the clock while
// the input is read.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "harness.hpp"

using namespace spate_test;

namespace {

fs::path data(const char* name) {
    return source_root() / "tests" / "data" / name;
}

std::string gzip(const std::string& in) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

/// The progress lines of a stderr text (each "spate: progress: ..." up to
/// the next line end or redraw).
std::vector<std::string> progress_lines(const std::string& err) {
    std::vector<std::string> out;
    const std::string mark = "spate: progress: ";
    for (size_t p = err.find(mark); p != std::string::npos; p = err.find(mark, p + 1)) {
        const size_t end = err.find_first_of("\r\n", p);
        out.push_back(err.substr(p, end == std::string::npos ? std::string::npos : end - p));
    }
    return out;
}

struct TerminalRun {
    int status = -1;
    std::string text;  ///< everything written to the terminal (stdout and stderr)
};

/// Runs spate with stdin, stdout and stderr on a pseudo-terminal.
TerminalRun run_on_terminal(const std::vector<std::string>& args) {
    TerminalRun r;
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
    if (pid < 0) {
        ADD_FAILURE() << "forkpty: " << std::strerror(errno);
        return r;
    }
    if (pid == 0) {
        std::string bin = spate_bin();
        std::vector<std::string> copy = args;
        std::vector<char*> argv{bin.data()};
        for (auto& a : copy) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n > 0) {
            r.text.append(buf, static_cast<size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;  // EIO: the child has closed the terminal
        }
    }
    int st = 0;
    waitpid(pid, &st, 0);
    close(master);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace

TEST(Progress, ForcedOnWritesALineWithThePercentToStderr) {
    const std::string pcap = shell_quote(data("joy__sample.pcap").string());
    const RunResult r = run_spate("--progress -o /dev/null -r " + pcap);
    ASSERT_EQ(r.status, 0) << r.err;
    const auto lines = progress_lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << "a short run: the final line only\n" << r.err;
    EXPECT_NE(lines[0].find("100.0% of "), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("104 packets"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("pkt/s"), std::string::npos) << lines[0];
    // Off a terminal: whole lines, no redraw.
    EXPECT_EQ(r.err.find('\r'), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("\033["), std::string::npos) << r.err;
    // Several files: the percent is of all of them.
    const RunResult two = run_spate("--progress -o /dev/null -r " + pcap + " -r " +
                                    shell_quote(data("joy__tls12.pcap").string()));
    ASSERT_EQ(two.status, 0) << two.err;
    ASSERT_EQ(progress_lines(two.err).size(), 1u) << two.err;
    EXPECT_NE(progress_lines(two.err)[0].find("100.0% of "), std::string::npos) << two.err;
}

TEST(Progress, OffWritesNoneAndTheDefaultOffATerminalIsOff) {
    const std::string pcap = shell_quote(data("joy__sample.pcap").string());
    for (const char* opt : {"--no-progress ", ""}) {
        const RunResult r = run_spate(std::string(opt) + "-o /dev/null -r " + pcap);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.err.find("progress"), std::string::npos) << opt << ":\n" << r.err;
        EXPECT_NE(r.err.find("spate: stats (exit"), std::string::npos) << r.err;
    }
}

TEST(Progress, DefaultOnATerminalIsOnAndRedrawsInPlace) {
    const std::string pcap = data("joy__sample.pcap").string();
    const TerminalRun on = run_on_terminal({"-o", "/dev/null", "-r", pcap});
    ASSERT_EQ(on.status, 0) << on.text;
    EXPECT_NE(on.text.find("\r\033[Kspate: progress: 100.0% of "), std::string::npos) << on.text;
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--no-progress", "-o", "/dev/null", "-r", pcap},
          std::vector<std::string>{"-q", "-o", "/dev/null", "-r", pcap}}) {
        const TerminalRun off = run_on_terminal(args);
        ASSERT_EQ(off.status, 0) << off.text;
        EXPECT_EQ(off.text.find("progress"), std::string::npos) << args[0] << ":\n" << off.text;
    }
}

TEST(Progress, UnknownSizeShowsPacketsAndRateWithoutPercentOrEta) {
    const fs::path dir = temp_dir();
    const fs::path pcap = data("joy__sample.pcap");
    const fs::path gz = dir / "sample.pcap.gz";
    {
        std::ofstream out(gz, std::ios::binary);
        out << gzip(read_all(pcap));
    }
    for (const std::string& input :
         {"- < " + shell_quote(pcap.string()), shell_quote(gz.string())}) {
        const RunResult r = run_spate("--progress -o /dev/null -r " + input);
        ASSERT_EQ(r.status, 0) << input << ": " << r.err;
        const auto lines = progress_lines(r.err);
        ASSERT_EQ(lines.size(), 1u) << input << ": " << r.err;
        EXPECT_NE(lines[0].find("104 packets"), std::string::npos) << lines[0];
        EXPECT_EQ(lines[0].find('%'), std::string::npos) << lines[0];
        EXPECT_EQ(lines[0].find("ETA"), std::string::npos) << lines[0];
    }
    fs::remove_all(dir);
}

TEST(Progress, ATerminalIsUpdatedOnTheClockWhileTheInputIsRead) {
    // A FIFO written in two halves 1.5 s apart: the line is redrawn from
    // the control loop's clock while spate waits for the second half.
    const fs::path dir = temp_dir();
    const fs::path fifo = dir / "fifo";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const std::string bytes = read_all(data("joy__sample.pcap"));
    std::thread writer([&] {
        const int fd = ::open(fifo.c_str(), O_WRONLY);
        ASSERT_GE(fd, 0);
        const size_t half = bytes.size() / 2;
        ASSERT_EQ(::write(fd, bytes.data(), half), static_cast<ssize_t>(half));
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        ASSERT_EQ(::write(fd, bytes.data() + half, bytes.size() - half),
                  static_cast<ssize_t>(bytes.size() - half));
        ::close(fd);
    });
    const TerminalRun r = run_on_terminal({"-o", "/dev/null", "-r", fifo.string()});
    writer.join();
    ASSERT_EQ(r.status, 0) << r.text;
    const auto lines = progress_lines(r.text);
    ASSERT_GE(lines.size(), 3u) << "updates while waiting, then the final line:\n" << r.text;
    EXPECT_NE(lines.back().find("104 packets"), std::string::npos) << lines.back();
    EXPECT_NE(lines.back().find("elapsed"), std::string::npos) << lines.back();
    fs::remove_all(dir);
}
