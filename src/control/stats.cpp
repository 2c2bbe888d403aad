#include "spate/control/stats.hpp"

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <ctime>

#include "spate/export/json_writer.hpp"

namespace spate {

std::string iso8601_utc(uint64_t wall_ns) {
    const auto secs = static_cast<time_t>(wall_ns / 1'000'000'000ULL);
    tm utc{};
    gmtime_r(&secs, &utc);
    char buf[40];
    const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buf + n, sizeof buf - n, ".%03uZ",
                  static_cast<unsigned>(wall_ns / 1'000'000ULL % 1000));
    return buf;
}

StatsReporter::StatsReporter(StatsFormat format, std::FILE* out, uint64_t start_mono_ns)
    : format_(format), out_(out), start_mono_ns_(start_mono_ns) {
    last_.mono_ns = start_mono_ns;
}

namespace {

uint64_t delta(uint64_t now, uint64_t before) {
    return now >= before ? now - before : 0;
}

/// A rate with a sensible number of digits for a person: "12.3 k", "980".
std::string human(double v) {
    char buf[32];
    if (v >= 1e9) {
        std::snprintf(buf, sizeof buf, "%.2f G", v / 1e9);
    } else if (v >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.2f M", v / 1e6);
    } else if (v >= 1e4) {
        std::snprintf(buf, sizeof buf, "%.1f k", v / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f ", v);
    }
    return buf;
}

}  // namespace

std::string StatsReporter::format_interval(const StatsTotals& now, uint64_t wall_ns) const {
    const StatsTotals& b = last_;
    const double secs = static_cast<double>(delta(now.mono_ns, b.mono_ns)) / 1e9;
    const double per = secs > 0 ? 1.0 / secs : 0;
    const uint64_t d_packets = delta(now.packets, b.packets);
    const uint64_t d_bytes = delta(now.wire_bytes, b.wire_bytes);
    const uint64_t d_flows = delta(now.flows_created, b.flows_created);
    const uint64_t d_records = delta(now.records, b.records);
    const uint64_t d_kernel = delta(now.kernel_drops, b.kernel_drops);
    const uint64_t d_pshed = delta(now.packets_shed, b.packets_shed);
    const uint64_t d_rshed = delta(now.records_shed, b.records_shed);
    const uint64_t d_lost = delta(now.records_lost, b.records_lost);
    const uint64_t d_oerr = delta(now.output_errors, b.output_errors);
    const uint64_t d_nostate = delta(now.state_no_state, b.state_no_state);
    const uint64_t d_malformed = delta(now.malformed, b.malformed);
    const uint64_t d_non_ip = delta(now.non_ip, b.non_ip);
    const uint64_t d_filtered = delta(now.filtered, b.filtered);
    const double pps = static_cast<double>(d_packets) * per;
    const double mbps = static_cast<double>(d_bytes) * 8 * per / 1e6;
    const double fps = static_cast<double>(d_flows) * per;
    const double rps = static_cast<double>(d_records) * per;
    const double elapsed = static_cast<double>(delta(now.mono_ns, start_mono_ns_)) / 1e9;
    const std::string when = iso8601_utc(wall_ns);

    std::string line;
    if (format_ == StatsFormat::json) {
        JsonWriter w(line);
        w.begin_object();
        w.key("time");
        w.value(when);
        w.key("elapsed_s");
        w.value_double(elapsed, 3);
        w.key("interval_s");
        w.value_double(secs, 3);
        w.key("pps");
        w.value_double(pps, 1);
        w.key("mbps");
        w.value_double(mbps, 3);
        w.key("new_flows_per_s");
        w.value_double(fps, 1);
        w.key("records_per_s");
        w.value_double(rps, 1);
        w.key("flows_active");
        w.value(now.flows_active);
        w.key("delta");
        w.begin_object();
        const std::pair<const char*, uint64_t> deltas[] = {
            {"packets", d_packets},     {"bytes", d_bytes},         {"flows", d_flows},
            {"records", d_records},     {"kernel_drops", d_kernel}, {"packets_shed", d_pshed},
            {"records_shed", d_rshed},  {"records_lost", d_lost},   {"output_errors", d_oerr},
            {"malformed", d_malformed}, {"non_ip", d_non_ip},       {"filtered", d_filtered},
            {"state_refused", d_nostate},
        };
        for (const auto& [k, v] : deltas) {
            w.key(k);
            w.value(v);
        }
        w.end_object();
        w.key("total");
        w.begin_object();
        const std::pair<const char*, uint64_t> totals[] = {
            {"packets", now.packets},
            {"bytes", now.wire_bytes},
            {"decoded", now.decoded},
            {"flows", now.flows_created},
            {"flows_evicted", now.flows_evicted},
            {"records", now.records},
            {"kernel_drops", now.kernel_drops},
            {"packets_shed", now.packets_shed},
            {"records_shed", now.records_shed},
            {"records_lost", now.records_lost},
            {"output_errors", now.output_errors},
            {"malformed", now.malformed},
            {"non_ip", now.non_ip},
            {"filtered", now.filtered},
            {"state_bytes", now.state_bytes},
            {"state_refused", now.state_no_state},
        };
        for (const auto& [k, v] : totals) {
            w.key(k);
            w.value(v);
        }
        w.end_object();
        if (now.rules_generation != 0) {
            w.key("rules_generation");
            w.value(uint64_t{now.rules_generation});
            // Content rules with matches: the total and the interval's part.
            w.key("rules");
            w.begin_array();
            size_t j = 0;
            for (const RuleHits& r : now.rules) {
                while (j < last_.rules.size() && last_.rules[j].id < r.id) {
                    ++j;
                }
                const uint64_t before =
                    j < last_.rules.size() && last_.rules[j].id == r.id ? last_.rules[j].matches : 0;
                w.begin_object();
                w.key("id");
                w.value(uint64_t{r.id});
                w.key("name");
                w.value(r.name);
                w.key("matches");
                w.value(r.matches);
                w.key("delta");
                w.value(r.matches >= before ? r.matches - before : r.matches);
                w.end_object();
            }
            w.end_array();
        }
        w.key("output_faulted");
        w.value(now.output_faulted);
        w.key("output_error");
        if (now.output_error.empty()) {
            w.null();
        } else {
            w.value(now.output_error);
        }
        w.end_object();
        line += '\n';
        return line;
    }
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "spate: stats %s (+%.1f s): %spps, %.3f Mbps, %snew flows/s, %srecords/s, "
                  "%" PRIu64 " active; drops: kernel +%" PRIu64 ", packets shed +%" PRIu64
                  ", records shed +%" PRIu64 ", records lost +%" PRIu64 "; malformed +%" PRIu64
                  ", non-ip +%" PRIu64,
                  when.c_str(), secs, human(pps).c_str(), mbps, human(fps).c_str(),
                  human(rps).c_str(), now.flows_active, d_kernel, d_pshed, d_rshed, d_lost,
                  d_malformed, d_non_ip);
    line = buf;
    if (d_filtered != 0) {
        line += ", filtered +" + std::to_string(d_filtered);
    }
    if (d_nostate != 0) {
        line += "; flow state refused +" + std::to_string(d_nostate) + " (pools full)";
    }
    if (now.output_faulted || d_oerr != 0) {
        line += "; output " + std::string(now.output_faulted ? "FAILING" : "errors") + " (+" +
                std::to_string(d_oerr) + "): " + now.output_error;
    }
    line += '\n';
    return line;
}

void StatsReporter::interval(const StatsTotals& now, uint64_t wall_ns) {
    const std::string line = format_interval(now, wall_ns);
    std::fputs(line.c_str(), out_);
    std::fflush(out_);
    last_ = now;
}

namespace {

constexpr uint64_t kTerminalEveryNs = 500'000'000;
constexpr uint64_t kLogEveryNs = 5'000'000'000;

std::string bytes_text(uint64_t b) {
    char buf[32];
    const double v = static_cast<double>(b);
    if (v >= 1e9) {
        std::snprintf(buf, sizeof buf, "%.2f GB", v / 1e9);
    } else if (v >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.1f MB", v / 1e6);
    } else if (v >= 1e3) {
        std::snprintf(buf, sizeof buf, "%.1f kB", v / 1e3);
    } else {
        std::snprintf(buf, sizeof buf, "%" PRIu64 " B", b);
    }
    return buf;
}

std::string clock_text(double s) {
    const auto t = static_cast<uint64_t>(s + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, t / 3600, t / 60 % 60,
                  t % 60);
    return buf;
}

}  // namespace

ProgressLine::ProgressLine(std::FILE* out, bool terminal, uint64_t start_mono_ns)
    : out_(out),
      terminal_(terminal),
      start_ns_(start_mono_ns),
      next_ns_(start_mono_ns + (terminal ? kTerminalEveryNs : kLogEveryNs)),
      last_ns_(start_mono_ns) {}

std::string ProgressLine::format(double elapsed_s, uint64_t packets, double pps,
                                 uint64_t bytes_read, uint64_t bytes_total, bool done) {
    std::string line = "spate: progress: ";
    char buf[96];
    if (bytes_total != 0) {
        const uint64_t got = std::min(bytes_read, bytes_total);
        std::snprintf(buf, sizeof buf, "%5.1f%% of %s, ",
                      100.0 * static_cast<double>(got) / static_cast<double>(bytes_total),
                      bytes_text(bytes_total).c_str());
        line += buf;
    }
    std::snprintf(buf, sizeof buf, "%" PRIu64 " packets, %spkt/s", packets, human(pps).c_str());
    line += buf;
    if (done) {
        line += ", " + clock_text(elapsed_s) + " elapsed";
    } else if (bytes_total != 0 && bytes_read > 0 && elapsed_s > 0) {
        const double rate = static_cast<double>(bytes_read) / elapsed_s;  // bytes per second
        const double left = static_cast<double>(bytes_total - std::min(bytes_read, bytes_total));
        line += ", ETA " + clock_text(left / rate);
    } else {
        line += ", " + clock_text(elapsed_s) + " elapsed";
    }
    return line;
}

void ProgressLine::print(uint64_t now_ns, uint64_t packets, uint64_t bytes_read,
                         uint64_t bytes_total, bool done) {
    const double elapsed = static_cast<double>(delta(now_ns, start_ns_)) / 1e9;
    // The rate over the last update (over the whole run on the final line).
    const uint64_t since = done ? start_ns_ : last_ns_;
    const uint64_t base = done ? 0 : last_packets_;
    const double secs = static_cast<double>(delta(now_ns, since)) / 1e9;
    const double pps = secs > 0 ? static_cast<double>(delta(packets, base)) / secs : 0;
    const std::string line = format(elapsed, packets, pps, bytes_read, bytes_total, done);
    if (terminal_) {
        // \r and erase to the end of the line: redrawn in place.
        std::fprintf(out_, "\r\033[K%s%s", line.c_str(), done ? "\n" : "");
        shown_ = !done;
    } else {
        std::fprintf(out_, "%s\n", line.c_str());
    }
    std::fflush(out_);
    last_ns_ = now_ns;
    last_packets_ = packets;
}

void ProgressLine::tick(uint64_t now_ns, uint64_t packets, uint64_t bytes_read,
                        uint64_t bytes_total) {
    if (now_ns < next_ns_) {
        return;
    }
    const uint64_t every = terminal_ ? kTerminalEveryNs : kLogEveryNs;
    next_ns_ += every;
    if (next_ns_ <= now_ns) {
        next_ns_ = now_ns + every;
    }
    print(now_ns, packets, bytes_read, bytes_total, false);
}

void ProgressLine::finish(uint64_t now_ns, uint64_t packets, uint64_t bytes_read,
                          uint64_t bytes_total) {
    print(now_ns, packets, bytes_read, bytes_total, true);
}

void ProgressLine::clear() {
    if (terminal_ && shown_) {
        std::fputs("\r\033[K", out_);
        shown_ = false;
    }
}

}  // namespace spate
