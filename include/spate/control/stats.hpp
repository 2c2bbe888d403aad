#pragma once
/// The operator's view of a run: one line per --stats-interval (text or
/// JSON) with the wall-clock time, rates over the interval and what was
/// lost or refused in it.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace spate {

/// Matches of one content rule over the run (every worker, every generation).
struct RuleHits {
    uint32_t id = 0;
    std::string name;
    uint64_t matches = 0;
};

/// Counters of the whole run so far, gathered by the control thread.
struct StatsTotals {
    uint64_t mono_ns = 0;  ///< CLOCK_MONOTONIC when gathered
    uint64_t packets = 0;  ///< frames received
    uint64_t wire_bytes = 0;
    uint64_t kernel_drops = 0;  ///< dropped before spate saw them (kernel, NIC)
    uint64_t filtered = 0;      ///< refused by the BPF filter
    uint64_t decoded = 0;
    uint64_t non_ip = 0;
    uint64_t malformed = 0;
    uint64_t flows_created = 0;
    uint64_t flows_active = 0;
    uint64_t flows_evicted = 0;
    uint64_t records = 0;         ///< records written by the exporter
    uint64_t packets_shed = 0;    ///< frames dropped: a worker's ring full (backpressure drop)
    uint64_t records_shed = 0;    ///< records dropped: the exporter's ring full (backpressure drop)
    uint64_t records_lost = 0;    ///< records lost to output errors
    uint64_t output_errors = 0;   ///< sink errors
    uint64_t state_bytes = 0;     ///< bytes of flow state leased from the arena pools now
    uint64_t state_no_state = 0;  ///< leases refused by a full pool (records say <unit>_no_state)
    bool output_faulted = false;  ///< the output is failing right now
    std::string output_error;     ///< the latest sink error ("" if none)
    std::vector<RuleHits> rules;  ///< content rules with matches, by id
    uint32_t rules_generation = 0;  ///< rule (re)loads so far (0: no rules)
};

enum class StatsFormat : uint8_t { text, json };

class StatsReporter {
public:
    /// `out`: where lines go (stderr, or the --stats-file); not owned.
    StatsReporter(StatsFormat format, std::FILE* out, uint64_t start_mono_ns);

    /// Prints one line for the interval since the previous call (or start).
    void interval(const StatsTotals& now, uint64_t wall_ns);

    /// The line interval() would print (for tests).
    std::string format_interval(const StatsTotals& now, uint64_t wall_ns) const;

private:
    StatsFormat format_;
    std::FILE* out_;
    uint64_t start_mono_ns_;
    StatsTotals last_;
};

/// The --progress line for -r files: percent of the bytes read, packets,
/// packets per second and an ETA (packets and rate only when the size is
/// not known: stdin, FIFOs, compressed files). Driven by the control loop's
/// clock, never by packets. On a terminal the line is redrawn in place
/// (every 0.5 s); elsewhere (--progress with stderr a file or pipe) a full
/// line every 5 s. finish() prints the last one.
class ProgressLine {
public:
    ProgressLine(std::FILE* out, bool terminal, uint64_t start_mono_ns);

    /// True when tick() would print (the caller gathers its figures then).
    bool due(uint64_t now_ns) const { return now_ns >= next_ns_; }
    /// Prints when the next update is due.
    void tick(uint64_t now_ns, uint64_t packets, uint64_t bytes_read, uint64_t bytes_total);
    /// The final line (ends the line on a terminal).
    void finish(uint64_t now_ns, uint64_t packets, uint64_t bytes_read, uint64_t bytes_total);
    /// Erases the line on a terminal before another line is printed there.
    void clear();

    /// The text of one update (no line end), for tests. `pps`: the rate
    /// shown; `done`: the final line.
    static std::string format(double elapsed_s, uint64_t packets, double pps, uint64_t bytes_read,
                              uint64_t bytes_total, bool done);

private:
    void print(uint64_t now_ns, uint64_t packets, uint64_t bytes_read, uint64_t bytes_total,
               bool done);

    std::FILE* out_;
    bool terminal_;
    uint64_t start_ns_;
    uint64_t next_ns_;
    uint64_t last_ns_;
    uint64_t last_packets_ = 0;
    bool shown_ = false;  ///< a partial line is on the terminal
};

/// "2026-12-04T16:03:36.123Z" (UTC, milliseconds).
std::string iso8601_utc(uint64_t wall_ns);

}  // namespace spate
