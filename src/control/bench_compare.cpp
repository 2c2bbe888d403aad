// spate-bench --compare and the checks made before the first run.
#include "bench_compare.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace spate::bench {

namespace {

std::string config_name(uint32_t workers, const std::string& features, uint64_t flows) {
    return "workers " + std::to_string(workers) + ", features " + features +
           (flows != 0 ? ", flows " + std::to_string(flows) : std::string(", captures"));
}

/// A figure for a person: whole numbers from 10000 on, else 4 significant digits.
std::string num(double v) {
    char buf[40];
    if (std::fabs(v) >= 1e4) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.4g", v);
    }
    return buf;
}

/// "(max - min) / median" of the runs, as "±N%" ("±0%" for one run).
std::string spread(const Stat& s) {
    if (s.median == 0) {
        return s.max == s.min ? "±0.0%" : "-";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "±%.1f%%", 100 * (s.max - s.min) / std::fabs(s.median) / 2);
    return buf;
}

/// better / worse when the runs' min..max ranges do not overlap; within
/// spread when they do; same / changed for counts.
std::string mark(const Figure& f, const Stat& base, const Stat& now) {
    if (f.better == Better::neither) {
        return base.median == now.median ? "same" : "changed";
    }
    if (base.median == now.median && base.min == now.min && base.max == now.max) {
        return "same";
    }
    if (now.min <= base.max && base.min <= now.max) {
        return "within spread";
    }
    const bool up = now.median > base.median;
    return up == (f.better == Better::higher) ? "better" : "worse";
}

}  // namespace

void load_baseline(Baseline& b, const std::string& path) {
    auto doc = b.parser.load(path);
    if (doc.error()) {
        throw std::runtime_error("--compare: cannot read '" + path +
                                 "': " + simdjson::error_message(doc.error()));
    }
    b.doc = doc.value();
    simdjson::dom::array configs;
    if (b.doc["configs"].get(configs) != simdjson::SUCCESS) {
        throw std::runtime_error("--compare: '" + path +
                                 "' is not a spate-bench --json file (no \"configs\" array)");
    }
    for (auto c : configs) {
        uint64_t workers = 0, flows = 0;
        std::string_view features;
        if (c["workers"].get(workers) != simdjson::SUCCESS ||
            c["features"].get(features) != simdjson::SUCCESS ||
            c["flows"].get(flows) != simdjson::SUCCESS) {
            throw std::runtime_error("--compare: '" + path +
                                     "': a configuration without workers, features or flows");
        }
        const std::string key = key_of(uint32_t(workers), std::string(features), flows);
        if (b.configs.emplace(key, c).second) {
            b.order.push_back(key);
        }
    }
}

void compare_with(const std::vector<Config>& configs, Baseline& base, const std::string& path) {
    std::printf(
        "\ncompared with %s (medians; ratio = this run / baseline; ± = half the min..max range "
        "of the runs, in percent of the median; better / worse: the runs' ranges do not "
        "overlap; within spread: they do)\n",
        path.c_str());
    std::vector<std::string> only_now;
    std::map<std::string, bool> seen;
    for (const Config& c : configs) {
        const std::string key = key_of(c.workers, c.features, c.flows);
        auto it = base.configs.find(key);
        if (it == base.configs.end()) {
            only_now.push_back(config_name(c.workers, c.features, c.flows));
            continue;
        }
        seen[key] = true;
        std::printf("\n%s\n", config_name(c.workers, c.features, c.flows).c_str());
        std::printf("  %-24s %14s %9s %14s %9s %8s  %s\n", "figure", "baseline", "spread",
                    "this run", "spread", "ratio", "mark");
        for (const Figure& f : kFigures) {
            const Stat now = figure(c, f);
            Stat b;
            simdjson::dom::element e;
            double median = 0, lo = 0, hi = 0;
            if (it->second[f.name].get(e) != simdjson::SUCCESS ||
                e["median"].get(median) != simdjson::SUCCESS ||
                e["min"].get(lo) != simdjson::SUCCESS || e["max"].get(hi) != simdjson::SUCCESS) {
                std::printf("  %-24s %14s %9s %14s %9s %8s  %s\n", f.name, "-", "-",
                            num(now.median).c_str(), spread(now).c_str(), "-",
                            "not in the baseline");
                continue;
            }
            b.median = median;
            b.min = lo;
            b.max = hi;
            std::string ratio;
            if (b.median == 0) {
                ratio = now.median == 0 ? "=" : "new";
            } else {
                char r[32];
                std::snprintf(r, sizeof r, "%.2fx", now.median / b.median);
                ratio = r;
            }
            std::printf("  %-24s %14s %9s %14s %9s %8s  %s\n", f.name, num(b.median).c_str(),
                        spread(b).c_str(), num(now.median).c_str(), spread(now).c_str(),
                        ratio.c_str(), mark(f, b, now).c_str());
        }
    }
    std::vector<std::string> only_base;
    for (const std::string& key : base.order) {
        if (!seen.count(key)) {
            auto c = base.configs[key];
            only_base.push_back(config_name(uint32_t(uint64_t(c["workers"])),
                                            std::string(std::string_view(c["features"])),
                                            uint64_t(c["flows"])));
        }
    }
    if (!only_now.empty()) {
        std::printf("\nnot in the baseline (run now only):\n");
        for (const std::string& n : only_now) {
            std::printf("  %s\n", n.c_str());
        }
    }
    if (!only_base.empty()) {
        std::printf("\nnot run now (in the baseline only):\n");
        for (const std::string& n : only_base) {
            std::printf("  %s\n", n.c_str());
        }
    }
}

void check_writable(const char* option, const std::string& path, bool dir_ok) {
    if (path.empty() || path == "-") {
        return;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode) && !dir_ok) {
            throw std::invalid_argument(std::string(option) + ": '" + path +
                                        "' is a directory, not a file");
        }
        if (::access(path.c_str(), W_OK) != 0) {
            throw std::invalid_argument(std::string(option) + ": cannot write '" + path +
                                        "': " + std::strerror(errno));
        }
        return;
    }
    if (errno != ENOENT) {
        throw std::invalid_argument(std::string(option) + ": cannot write '" + path +
                                    "': " + std::strerror(errno));
    }
    std::string dir = path;
    for (;;) {
        while (dir.size() > 1 && dir.back() == '/') {
            dir.pop_back();
        }
        const size_t slash = dir.rfind('/');
        dir = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
        // A rotating output makes its missing directories (as spate does):
        // the nearest one that exists must take them.
        if (!dir_ok || ::stat(dir.c_str(), &st) == 0 || dir == "/" || dir == ".") {
            break;
        }
    }
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        throw std::invalid_argument(std::string(option) + ": cannot write '" + path +
                                    "': no directory '" + dir + "'");
    }
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
        throw std::invalid_argument(std::string(option) + ": cannot write '" + path +
                                    "': directory '" + dir + "': " + std::strerror(errno));
    }
}

}  // namespace spate::bench
