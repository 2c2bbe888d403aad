#pragma once
// spate-bench's figures: one run's sample, the statistics of a
// configuration's runs, and the table of figures (name, getter, which way
// is better) that the terminal table, the JSON and --compare share.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace spate::bench {

struct Sample {
    double packets;         ///< read from the port
    double records;         ///< written by the exporter
    double mpps;            ///< packets / processing span (first read to last handled)
    double gbps;            ///< wire bits / processing span
    double cycles_per_pkt;  ///< CPU time of every pipeline thread, in TSC cycles, per packet
    double pkts_per_cpu_s;  ///< packets / CPU seconds of every pipeline thread
    double records_per_s;
    double ring_full_waits;
    double port_drops;  ///< NIC / mbuf exhaustion drops (DPDK driver)
    double max_flows_active;
    double max_exporter_backlog;
    std::vector<double> worker_mpps_cpu;  ///< per worker: packets / its CPU seconds
};

struct Stat {
    double median = 0, min = 0, max = 0;
};

inline Stat stat_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    Stat s;
    if (v.empty()) {
        return s;
    }
    s.min = v.front();
    s.max = v.back();
    s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    return s;
}

struct Config {
    uint32_t workers;
    std::string features;
    uint64_t flows;  ///< 0: the captures
    std::vector<Sample> samples;
};

using Getter = double (*)(const Sample&);
/// Which way a figure improves (--compare marks): counts are neither.
enum class Better : uint8_t { higher, lower, neither };
struct Figure {
    const char* name;
    Getter get;
    Better better;
};
inline const Figure kFigures[] = {
    {"mpps", [](const Sample& s) { return s.mpps; }, Better::higher},
    {"packets", [](const Sample& s) { return s.packets; }, Better::neither},
    {"records", [](const Sample& s) { return s.records; }, Better::neither},
    {"gbps", [](const Sample& s) { return s.gbps; }, Better::higher},
    {"cycles_per_packet", [](const Sample& s) { return s.cycles_per_pkt; }, Better::lower},
    {"packets_per_cpu_second", [](const Sample& s) { return s.pkts_per_cpu_s; }, Better::higher},
    {"records_per_second", [](const Sample& s) { return s.records_per_s; }, Better::higher},
    {"ring_full_waits", [](const Sample& s) { return s.ring_full_waits; }, Better::lower},
    {"port_drops", [](const Sample& s) { return s.port_drops; }, Better::lower},
    {"max_flows_active", [](const Sample& s) { return s.max_flows_active; }, Better::neither},
    {"max_exporter_backlog", [](const Sample& s) { return s.max_exporter_backlog; }, Better::lower},
};

inline Stat figure(const Config& c, const Figure& f) {
    std::vector<double> v;
    for (const Sample& s : c.samples) {
        v.push_back(f.get(s));
    }
    return stat_of(v);
}

inline std::string key_of(uint32_t workers, const std::string& features, uint64_t flows) {
    return std::to_string(workers) + "|" + features + "|" + std::to_string(flows);
}

}  // namespace spate::bench
