#pragma once
// Helpers for the whole-program tests: run the spate binary, read its JSON
// Lines, read the tshark oracle files of ../shared/corpus.
#include <arpa/inet.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace spate_test {

namespace fs = std::filesystem;

inline std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

inline fs::path source_root() {
    return env_or("SPATE_SOURCE_ROOT", ".");
}
inline fs::path corpus_dir() {
    return env_or("SPATE_CORPUS", (source_root() / ".." / "shared" / "corpus").string());
}
inline bool have_corpus() {
    return fs::is_directory(corpus_dir() / "pcaps") && fs::is_directory(corpus_dir() / "oracle");
}
inline std::string spate_bin() {
    return env_or("SPATE_BIN", "spate");
}

#define SKIP_WITHOUT_CORPUS()                                                                     \
    do {                                                                                          \
        if (!spate_test::have_corpus()) {                                                         \
            GTEST_SKIP()                                                                          \
                << "corpus not found at " << spate_test::corpus_dir()                             \
                << " (set SPATE_CORPUS); skipping the tests that compare with the tshark oracle"; \
        }                                                                                         \
    } while (0)

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

inline std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct RunResult {
    int status = -1;  ///< exit status, or 128 + signal
    std::string out;
    std::string err;
};

inline fs::path temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "spate-test-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    char* d = mkdtemp(buf.data());
    return d != nullptr ? fs::path(d) : fs::temp_directory_path();
}

/// Runs spate with args (already quoted as needed); stdout and stderr captured.
inline RunResult run_spate(const std::string& args) {
    static fs::path dir = temp_dir();
    static std::atomic<int> seq{0};  // tests may run spate from several threads
    const int n = seq++;
    fs::path out = dir / ("out" + std::to_string(n) + ".txt");
    fs::path err = dir / ("err" + std::to_string(n) + ".txt");
    std::string cmd = shell_quote(spate_bin()) + " " + args + " >" + shell_quote(out.string()) +
                      " 2>" + shell_quote(err.string());
    int rc = std::system(cmd.c_str());
    RunResult r;
    if (WIFEXITED(rc)) {
        r.status = WEXITSTATUS(rc);
    } else if (WIFSIGNALED(rc)) {
        r.status = 128 + WTERMSIG(rc);
    }
    r.out = read_all(out);
    r.err = read_all(err);
    fs::remove(out);
    fs::remove(err);
    return r;
}

/// Starts spate with `args` (no shell) and its stderr in `err_path`; the pid.
inline pid_t spawn_spate(const std::vector<std::string>& args, const fs::path& err_path) {
    pid_t pid = fork();
    if (pid == 0) {
        FILE* f = freopen(err_path.c_str(), "w", stderr);
        (void)f;
        std::string bin = spate_bin();
        std::vector<char*> argv{bin.data()};
        std::vector<std::string> copy = args;
        for (auto& a : copy) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        execv(bin.c_str(), argv.data());
        _exit(127);
    }
    return pid;
}

/// Sends SIGTERM and waits for the process, at most `limit_s` (then SIGKILL).
/// Returns the seconds it took; `status` is the wait status.
inline double terminate_and_wait(pid_t pid, int& status, double limit_s = 5) {
    auto t0 = std::chrono::steady_clock::now();
    auto since = [&] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    kill(pid, SIGTERM);
    status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (since() >= limit_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return limit_s;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return since();
}

/// "1362692526.869344000" or "1362692526.869344" -> nanoseconds, exactly.
inline uint64_t parse_ts_ns(std::string_view s) {
    uint64_t sec = 0, frac = 0;
    size_t i = 0;
    for (; i < s.size() && s[i] != '.'; ++i) {
        sec = sec * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    int digits = 0;
    if (i < s.size()) {
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 9; ++i, ++digits) {
            frac = frac * 10 + static_cast<uint64_t>(s[i] - '0');
        }
    }
    for (; digits < 9; ++digits) {
        frac *= 10;
    }
    return sec * 1'000'000'000ULL + frac;
}

/// An address in binary form, so that text spellings do not matter.
inline std::array<uint8_t, 16> addr_bin(const std::string& s) {
    std::array<uint8_t, 16> a{};
    if (s.find(':') != std::string::npos) {
        inet_pton(AF_INET6, s.c_str(), a.data());
    } else {
        inet_pton(AF_INET, s.c_str(), a.data());
    }
    return a;
}

/// One flow in the comparison form shared by spate records and oracle flows.
struct Flow {
    int ip_version = 0;
    int proto = 0;
    std::string sa, da;
    int sp = 0, dp = 0;
    uint64_t pkts[2] = {0, 0};
    uint64_t ip_bytes[2] = {0, 0};
    uint64_t payload[2] = {0, 0};
    uint64_t first_ns = 0, last_ns = 0;
    std::string end_reason;
    int records = 1;  ///< spate records merged into this flow
};

/// Parses spate's JSON Lines output.
inline std::vector<Flow> parse_records(const std::string& text) {
    std::vector<Flow> out;
    simdjson::ondemand::parser parser;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) {
            continue;
        }
        simdjson::padded_string ps(line);
        auto doc = parser.iterate(ps);
        Flow f;
        for (auto field : doc.get_object()) {
            std::string_view k = field.unescaped_key().value();
            auto v = field.value();
            if (k == "sa")
                f.sa = std::string(v.get_string().value());
            else if (k == "da")
                f.da = std::string(v.get_string().value());
            else if (k == "pr")
                f.proto = static_cast<int>(v.get_uint64().value());
            else if (k == "sp")
                f.sp = static_cast<int>(v.get_uint64().value());
            else if (k == "dp")
                f.dp = static_cast<int>(v.get_uint64().value());
            else if (k == "ip_version")
                f.ip_version = static_cast<int>(v.get_uint64().value());
            else if (k == "num_pkts_out")
                f.pkts[0] = v.get_uint64().value();
            else if (k == "num_pkts_in")
                f.pkts[1] = v.get_uint64().value();
            else if (k == "ip_bytes_out")
                f.ip_bytes[0] = v.get_uint64().value();
            else if (k == "ip_bytes_in")
                f.ip_bytes[1] = v.get_uint64().value();
            else if (k == "bytes_out")
                f.payload[0] = v.get_uint64().value();
            else if (k == "bytes_in")
                f.payload[1] = v.get_uint64().value();
            else if (k == "time_start")
                f.first_ns = parse_ts_ns(std::string_view(v.raw_json_token().value()));
            else if (k == "time_end")
                f.last_ns = parse_ts_ns(std::string_view(v.raw_json_token().value()));
            else if (k == "end_reason")
                f.end_reason = std::string(v.get_string().value());
        }
        out.push_back(f);
    }
    return out;
}

/// Reads the flows of an oracle file.
inline std::vector<Flow> parse_oracle(const fs::path& p) {
    std::vector<Flow> out;
    simdjson::ondemand::parser parser;
    std::ifstream in(p);
    std::string line;
    while (std::getline(in, line)) {
        simdjson::padded_string ps(line);
        auto doc = parser.iterate(ps);
        if (std::string_view(doc["type"].get_string().value()) != "flow") {
            continue;
        }
        Flow f;
        f.ip_version = static_cast<int>(doc["ip_version"].get_uint64().value());
        f.proto = static_cast<int>(doc["proto"].get_uint64().value());
        f.sa = std::string(doc["src_ip"].get_string().value());
        f.sp = static_cast<int>(doc["src_port"].get_uint64().value());
        f.da = std::string(doc["dst_ip"].get_string().value());
        f.dp = static_cast<int>(doc["dst_port"].get_uint64().value());
        f.pkts[0] = doc["fwd_packets"].get_uint64().value();
        f.ip_bytes[0] = doc["fwd_bytes"].get_uint64().value();
        f.pkts[1] = doc["rev_packets"].get_uint64().value();
        f.ip_bytes[1] = doc["rev_bytes"].get_uint64().value();
        f.payload[0] = doc["fwd_payload_bytes"].get_uint64().value();
        f.payload[1] = doc["rev_payload_bytes"].get_uint64().value();
        f.first_ns = doc["first_ts_ns"].get_uint64().value();
        f.last_ns = doc["last_ts_ns"].get_uint64().value();
        out.push_back(f);
    }
    return out;
}

}  // namespace spate_test
