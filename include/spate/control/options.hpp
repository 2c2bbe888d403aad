#pragma once
/// Command line and INI configuration, parsed into one plain struct.
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "spate/export/record_json.hpp"
#include "spate/features/feature.hpp"

namespace spate {

/// A usage or configuration error: what() names the option or key. Exit 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One entry of --rx-map: RX queue `queue` of port `port` is polled by `lcore`.
struct RxMapEntry {
    uint16_t port = 0;
    uint16_t queue = 0;
    unsigned lcore = 0;
};

/// --progress / --no-progress; automatic: on when stderr is a terminal.
enum class Progress : uint8_t { automatic, on, off };

struct Options {
    // input
    std::vector<std::string> read_files;
    std::string interface;
    std::string bpf;
    /// Where the filter came from, for error messages: "--bpf" or "--bpf-file FILE".
    std::string bpf_option = "--bpf";
    std::string driver = "pcap";
    // dpdk driver
    std::string eal_args;
    uint32_t rx_queues = 0;  ///< 0: as many as workers
    uint32_t rx_desc = 1024;
    uint32_t mbufs = 0;
    double idle_exit = 0;
    uint32_t port_linktype = 1;
    uint32_t mtu = 0;
    int exporter_lcore = -1;  ///< rx-map mode: run the exporter on this lcore (-1: a thread)
    double link_wait = 5;
    std::vector<RxMapEntry> rx_map;  ///< empty: the main thread polls every queue and dispatches
    int snaplen = 262144;
    bool promiscuous = true;
    uint32_t pcap_buffer_mb = 64;  ///< --pcap-buffer: libpcap's kernel buffer (live capture)
    // output
    std::string output = "-";
    bool zstd = false;
    int zstd_level = 1;
    uint32_t compress_threads = 0;  ///< zstd worker threads (0: compress on the exporter thread)
    uint32_t exporters = 1;         ///< record formatter threads
    uint64_t rotate_bytes = 0;
    TimeFormat time_format = TimeFormat::seconds;  ///< --time-format
    uint64_t rotate_seconds = 0;
    uint16_t community_id_seed = 0;  ///< --community-id-seed
    std::string observer;            ///< --observer ("" = not given)
    // flows
    uint32_t workers = 1;
    double idle_timeout = 15;
    double active_timeout = 1800;
    double tcp_close_timeout = 2;
    uint64_t max_flows = 1u << 20;
    bool vlan_in_key = false;
    bool decap = true;
    uint32_t frag_slots = 4096;
    /// Flow-hash seed; unset: a random one per run (printed at exit).
    std::optional<uint64_t> hash_seed;
    // features
    std::string features = "none";
    features::FeatureConfig feature_cfg;
    std::string fp_db;  ///< --fp-db FILE: fingerprint database ("" = none)
    std::vector<std::string> rule_files;  ///< --rules FILE... (compiled into feature_cfg.content_db)
    std::string app_rules = "builtin";    ///< --app-rules builtin|none|FILE
    bool app = false;                     ///< unit app is on (--features app or all)
    // control
    double stats_interval = 0;
    std::string stats_format = "text";  ///< text or json
    std::string stats_file;             ///< "" = stderr
    /// Full record ring: "wait" (lossless), "drop" (count and go on), or
    /// "auto": wait for files and replays, drop for live sources.
    std::string backpressure = "auto";
    bool quiet = false;
    Progress progress = Progress::automatic;
    bool verbose = false;  ///< --verbose: the DPDK EAL's whole output
    uint32_t ring_mb = 16;
    std::string config_file;
};

enum class ParseOutcome { run, help, version, dump_options };

/// Parses argv (and the --config file; the command line wins). Throws
/// UsageError naming the option on any unknown option, bad value or
/// inconsistent combination.
ParseOutcome parse_options(int argc, const char* const* argv, Options& out);

/// The --help text: every option with its default.
std::string help_text();

/// The option tables as tab-separated lines, for the man page generator
/// (man/gen_man.py; the hidden option --dump-options): "S\tSYNOPSIS LINE",
/// "G\tGROUP CAPTION", "O\tSHORT\tLONG\tPARAMETER\tDESCRIPTION". The
/// same tables as --help, so the man page cannot drift from it.
std::string option_table();

/// Reads and compiles the rule files of a run: --rules files in order, then
/// the app set (--app-rules) when unit app is on. nullptr when there are no
/// rules. Throws match::RuleError. Used at start and on reload.
std::shared_ptr<const match::ContentDb> compile_rules(const Options& o);

/// "1.5G" / "200M" / "64k" / "1000" -> bytes. Throws UsageError naming `key`.
uint64_t parse_size(const std::string& key, const std::string& text);

}  // namespace spate
