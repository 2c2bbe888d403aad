#include "spate/control/options.hpp"

#include "spate/control/option_dump.hpp"

#include "spate/export/record_json.hpp"
#include "spate/features/arena.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/match/app.hpp"
#include "spate/match/content_db.hpp"
#include "spate/port/dpdk_port.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

namespace po = boost::program_options;

namespace spate {

namespace {

/// ":LINE" of the INI line an option error is about (the key's line, or
/// the quoted text of a line that is not "key = value"); "" when not found.
std::string config_line_of(const std::string& path, const po::error& e) {
    std::string key;
    std::string text;
    if (const auto* named = dynamic_cast<const po::error_with_option_name*>(&e)) {
        key = named->get_option_name();
        key.erase(0, key.find_first_not_of('-'));
        if (const size_t dot = key.rfind('.'); dot != std::string::npos) {
            key.erase(0, dot + 1);  // "eal.args": the key inside its [section]
        }
    }
    const std::string what = e.what();
    if (const size_t q = what.find('\''); q != std::string::npos) {
        const size_t end = what.find('\'', q + 1);
        if (end != std::string::npos) {
            text = what.substr(q + 1, end - q - 1);
        }
    }
    std::ifstream in(path);
    std::string line;
    for (uint32_t n = 1; std::getline(in, line); ++n) {
        const size_t b = line.find_first_not_of(" \t");
        if (b == std::string::npos || line[b] == '#' || line[b] == ';') {
            continue;
        }
        const std::string body = line.substr(b);
        const size_t eq = body.find('=');
        std::string k = body.substr(0, eq);
        k.erase(k.find_last_not_of(" \t\r") + 1);
        if ((!key.empty() && eq != std::string::npos && k == key) ||
            (key.empty() && !text.empty() && body.find(text) != std::string::npos)) {
            return ":" + std::to_string(n);
        }
    }
    return "";
}

}  // namespace

std::shared_ptr<const match::ContentDb> compile_rules(const Options& o) {
    match::RuleSet rules;
    for (const std::string& f : o.rule_files) {
        rules.load(f);
    }
    // The app set after the user's files: their app= rules come first.
    if (o.app && o.app_rules != "none") {
        if (o.app_rules == "builtin") {
            if (!match::ContentDb::available()) {
                // Without Hyperscan, app works from the units and the ports.
                return rules.rules.empty() ? nullptr : match::ContentDb::compile(std::move(rules));
            }
            rules.parse(match::builtin_app_rules(), "apps.rules (built in)");
        } else {
            rules.load(o.app_rules);
        }
    }
    if (rules.rules.empty()) {
        return nullptr;
    }
    return match::ContentDb::compile(std::move(rules));
}

namespace {

struct Described {
    po::options_description all{"spate options", 100};
    po::options_description file_keys{"config file keys"};
};

// One table for the command line and the config file: every long name is
// also a key of the INI file.
// clang-format off
// `groups`: when not null, each group with its caption (for --dump-options;
// boost 1.74 keeps an options_description's groups and caption private).
void describe(po::options_description& d, bool for_file, OptionGroups* groups = nullptr) {
    const char* const input_caption = "Input";
    po::options_description input(input_caption);
    input.add_options()
        ("read,r", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
         "read a capture file (pcap, nanosecond pcap or pcapng, plain or gzip/zstd/xz compressed; '-' is stdin; "
         "FIFOs and pipes are read as a stream; repeat for several, read in order)")
        ("interface,i", po::value<std::string>()->value_name("IFACE"), "capture live from an interface (libpcap)")
        ("bpf", po::value<std::string>()->value_name("EXPR")->default_value(""), "BPF filter expression, applied to files and live capture")
        ("bpf-file,F", po::value<std::string>()->value_name("FILE"), "read the BPF filter expression from FILE (as tcpdump -F; not with --bpf)")
        ("driver", po::value<std::string>()->value_name("DRIVER")->default_value("pcap"),
         "port driver: pcap (files and live interfaces through libpcap) or dpdk (ports set up by the EAL)")
        ("snaplen", po::value<int>()->value_name("BYTES")->default_value(262144), "live capture: bytes kept per packet")
        ("promisc", po::value<bool>()->value_name("BOOL")->default_value(true, "true"), "live capture: promiscuous mode (true/false)")
        ("pcap-buffer", po::value<uint32_t>()->value_name("MB")->default_value(64),
         "live capture: libpcap's kernel buffer in MiB (1..4096); a larger one rides out longer bursts "
         "before the kernel drops packets");
    const char* const output_caption = "Output";
    po::options_description output(output_caption);
    output.add_options()
        ("output,o", po::value<std::string>()->value_name("PATH")->default_value("-"),
         "where records go: a file, '-' for stdout; with rotation a directory or a name pattern "
         "(strftime conversions, %N = sequence number)")
        ("compress", po::value<std::string>()->value_name("METHOD")->default_value("none"), "none, or zstd[:LEVEL] (LEVEL 1..19, default 1: the fastest; higher levels cost more CPU for a few percent of size)")
        ("compress-threads", po::value<uint32_t>()->value_name("N")->default_value(0),
         "with --compress zstd: compression threads beside the exporter (zstd's own workers, 0..16); "
         "0 compresses on the exporter thread")
        ("exporters", po::value<uint32_t>()->value_name("N")->default_value(1),
         "threads formatting records (1..16); 1: the exporter formats and writes; N >= 2: N formatters "
         "(worker i on formatter i mod N, so each worker's records stay in order) and one writer")
        ("rotate-size", po::value<std::string>()->value_name("SIZE")->default_value("0"),
         "start a new output file after this many uncompressed bytes (k/M/G suffixes; 0 = never)")
        ("rotate-interval", po::value<double>()->value_name("SECONDS")->default_value(0), "start a new output file every SECONDS (0 = never)")
        ("time-format", po::value<std::string>()->value_name("FORMAT")->default_value("seconds"),
         "times in records: seconds (a number, 9 decimals for nanosecond captures, else 6), ns (integer "
         "nanoseconds since the epoch) or iso8601 (UTC text with 9 decimals); duration follows (seconds, or "
         "integer ns with ns)")
        ("community-id-seed", po::value<std::string>()->value_name("SEED")->default_value("0"),
         "seed of the Community ID v1 written in every record as \"community_id\" (0..65535; tools that compare "
         "IDs must use the same seed)")
        ("observer", po::value<std::string>()->value_name("NAME"),
         "name of this probe (1..64 characters of A-Z a-z 0-9 _ . : -), written in every record as \"observer\"; "
         "absent: no observer field");
    const char* const flows_caption = "Flows";
    po::options_description flows(flows_caption);
    flows.add_options()
        ("workers", po::value<uint32_t>()->value_name("N")->default_value(1), "worker threads, each with its own flow table (1..64)")
        ("idle-timeout", po::value<double>()->value_name("SECONDS")->default_value(15), "export a flow idle for SECONDS of capture time (0 = never)")
        ("active-timeout", po::value<double>()->value_name("SECONDS")->default_value(1800), "export a flow every SECONDS while active (0 = never)")
        ("tcp-close-timeout", po::value<double>()->value_name("SECONDS")->default_value(2),
         "export a TCP flow SECONDS after its FIN exchange or RST")
        ("max-flows", po::value<uint64_t>()->value_name("N")->default_value(1u << 20),
         "flow table capacity, all workers together; when full the least recently active flow is evicted")
        ("vlan-in-key", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"), "put the outer VLAN id in the flow key")
        ("no-decap", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"),
         "key tunnelled packets on the outer IP header instead of the innermost")
        ("frag-slots", po::value<uint32_t>()->value_name("N")->default_value(4096), "IP fragment tracker entries per decoder")
        ("hash-seed", po::value<std::string>()->value_name("SEED")->default_value("random"),
         "seed of the flow hash (flow-table slots, worker of a flow): random per run, printed with the exit counters; "
         "a number (decimal or 0x hex) repeats a run's placement");
    const char* const dpdk_caption = "DPDK driver (--driver dpdk; docs/config.md)";
    po::options_description dpdk(dpdk_caption);
    dpdk.add_options()
        ("eal", po::value<std::string>()->value_name("ARGS")->default_value(""),
         "EAL arguments, e.g. \"--no-huge -m 1024 --no-pci --vdev net_pcap0,rx_pcap=f.pcap\" (config file: args in [eal])")
        ("rx-queues", po::value<uint32_t>()->value_name("N")->default_value(0),
         "RX queues per port (1..64); 0: as many as --workers, capped at what the device allows")
        ("rx-desc", po::value<uint32_t>()->value_name("N")->default_value(1024), "descriptors per RX queue (64..16384)")
        ("mbufs", po::value<uint32_t>()->value_name("N")->default_value(0), "mbufs in the RX mempool (0: queues x descriptors + bursts + cache)")
        ("exporter-lcore", po::value<int>()->value_name("LCORE")->default_value(-1),
         "with rx-map: run the exporter on this EAL lcore (-1: an ordinary thread); not the main lcore, not an rx-map lcore")
        ("mtu", po::value<uint32_t>()->value_name("BYTES")->default_value(0), "MTU to set on every port (0: the device's default; checked against its range)")
        ("link-wait", po::value<double>()->value_name("SECONDS")->default_value(5), "seconds to wait for each port's link to come up (0: do not wait)")
        ("rx-map", po::value<std::string>()->value_name("MAP")->default_value(""),
         "worker lcores polling their own queues: PORT:QUEUE@LCORE, comma-separated, e.g. 0:0@1,0:1@2 "
         "(one worker per lcore; a port's queues 0..N-1 all mapped; RSS with a symmetric key where the device has it)")
        ("port-linktype", po::value<uint32_t>()->value_name("DLT")->default_value(1),
         "link type (DLT number) of the frames the ports deliver: 1 Ethernet; e.g. 113 for a net_pcap replay of a Linux SLL capture");
    if (for_file) {
        dpdk.add_options()("eal.args", po::value<std::string>()->value_name("ARGS"), "EAL arguments ([eal] section)");
    }
    const char* const feats_caption = "Intraflow features (docs/record-schema.md)";
    po::options_description feats(feats_caption);
    feats.add_options()
        ("features", po::value<std::string>()->value_name("UNITS")->default_value("none"),
         "feature units, comma-separated: splt, bd, entropy, idp, ip, tcp, ppi, salt, wht, hd, os, hist, tls, dns, http, ssh, dhcp, ike, "
         "app (the application protocol: from the protocol units, the --app-rules set or the port), content (needs --rules); "
         "'joy' = splt,bd,entropy,idp,tcp,ip,tls,dns,http (Joy's set); "
         "'all' = every unit (content only with --rules); 'none'")
        ("splt", po::value<uint32_t>()->value_name("N")->default_value(50), "splt: packets listed per flow (1..1000)")
        ("splt-zero", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"), "splt: list zero-payload packets too")
        ("splt-retrans", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"), "splt: list TCP retransmissions too")
        ("bd-bytes", po::value<uint64_t>()->value_name("BYTES")->default_value(0), "bd/entropy: payload bytes counted per flow (0 = all)")
        ("bd-compact-map", po::value<std::string>()->value_name("FILE")->default_value(""),
         "bd: file of 256 integers 0..15, the compact_byte_dist bin of each byte value (default: value >> 4)")
        ("idp", po::value<uint32_t>()->value_name("BYTES")->default_value(0),
         "idp: bytes of each direction's initial data packet (1..1500; turns idp on; 0 = 1500 when idp is listed)")
        ("ppi", po::value<uint32_t>()->value_name("N")->default_value(50), "ppi: packets listed per flow (1..1000)")
        ("salt", po::value<uint32_t>()->value_name("N")->default_value(50), "salt: TCP packets listed per flow (1..1000)")
        ("hd", po::value<uint32_t>()->value_name("BYTES")->default_value(16), "hd: bytes of each direction's first payload (1..64)")
        ("tls-buffer", po::value<uint32_t>()->value_name("BYTES")->default_value(16384),
         "tls: bytes a handshake message may have to be reassembled, per direction (1024..1048576); larger ones are counted and skipped")
        ("tls-buffers", po::value<uint32_t>()->value_name("N")->default_value(1024),
         "tls: reassembly buffers per worker (each --tls-buffer + 8 KiB for out-of-order segments); with all in use the oldest is taken back and counted")
        ("tls-records", po::value<uint32_t>()->value_name("N")->default_value(20), "tls: TLS records listed in srlt (0..1000)")
        ("tls-cert-bytes", po::value<uint32_t>()->value_name("BYTES")->default_value(8192),
         "tls: bytes of flow state for the server's certificate chain (0..65535; fields are cut, and marked, when it is full)")
        ("dns-bytes", po::value<uint32_t>()->value_name("BYTES")->default_value(4096),
         "dns: bytes of flow state for the flow's DNS messages (512..65535); later messages are counted and left out")
        ("http-bytes", po::value<uint32_t>()->value_name("BYTES")->default_value(4096),
         "http: bytes of flow state for the flow's HTTP request and response heads (512..65535)")
        ("state-pool", po::value<std::vector<std::string>>()->value_name("UNIT=SIZE")->composing(),
         "UNIT=SIZE[,UNIT=SIZE...]: bytes per worker of the pool that holds a unit's large flow state, leased when a flow first shows the content and returned when its record is sent (units: splt, bd, idp, tls, dns, http, ssh; SIZE in bytes with K, M, G or T; 0: none, the unit keeps only what fits in the flow entry; repeatable). Default: enough for every flow of --max-flows to hold the unit's largest state, as address space (memory is used as flows need it). Leases refused by a full pool are counted per pool, and the records that lost data say \"<unit>_no_state\": true")
        ("http-headers", po::value<std::string>()->value_name("NAMES")->default_value(""),
         "http: header names to report, comma-separated, case-insensitive (default: every header)")
        ("ssh-bytes", po::value<uint32_t>()->value_name("BYTES")->default_value(4096),
         "ssh: bytes of flow state for the banners and KEXINIT algorithm lists (512..65535)")
        ("rules", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
         "content rules file (docs/rules.md; repeatable): Hyperscan patterns matched in each flow direction's bytes "
         "(TCP reassembled, UDP per datagram); the records list the matches (unit \"content\", added to --features). "
         "SIGHUP (or the telemetry command /spate/reload) recompiles the files: new flows use the new rules, a file "
         "that fails keeps the running ones")
        ("app-rules", po::value<std::string>()->value_name("RULES")->default_value("builtin"),
         "app: the application rule set matched when --features has app (or all): builtin (rules/apps.rules as "
         "shipped, built into spate), a rule file of your own (docs/rules.md; rules with app=PROTO), or none "
         "(protocol units and ports only)")
        ("rule-streams", po::value<uint32_t>()->value_name("N")->default_value(0),
         "content: Hyperscan streams open at once per worker (each TCP flow direction being scanned holds one; "
         "0: half of --max-flows per worker, at least 1024, at most 1048576); directions that find none are counted and "
         "their records say \"matches_no_state\": true")
        ("fp-db", po::value<std::string>()->value_name("FILE")->default_value(""),
         "tls: fingerprint database (JSON lines, Joy/mercury fingerprint_db.json format): each TLS client is matched by its tls fingerprint");
    const char* const control_caption = "Control";
    po::options_description control(control_caption);
    control.add_options()
        ("stats-interval", po::value<double>()->value_name("SECONDS")->default_value(0),
         "print one line every SECONDS: wall-clock time, rates over the interval, drops and errors (0 = only the counters at exit)")
        ("stats-format", po::value<std::string>()->value_name("FORMAT")->default_value("text"), "interval lines as text, or json (one object per line)")
        ("stats-file", po::value<std::string>()->value_name("FILE")->default_value(""), "append the interval lines to this file instead of stderr")
        ("backpressure", po::value<std::string>()->value_name("POLICY")->default_value("auto"),
         "when the exporter falls behind: wait (lossless; workers stop polling), drop (records that find their ring "
         "full are dropped and counted; receiving never stalls), or auto: wait for files, drop for live interfaces and NICs")
        ("idle-exit", po::value<double>()->value_name("SECONDS")->default_value(0),
         "end of input after SECONDS without a packet, any driver (for vdev replays; 0 = run until stopped)")
        ("quiet,q", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"), "do not print counters at exit")
        ("progress", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"),
         "-r files: a progress line on stderr (percent of bytes read, packets per second, ETA; packets and rate "
         "only for stdin, FIFOs and compressed files); default: on when stderr is a terminal and not --quiet")
        ("no-progress", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"),
         "no progress line, even on a terminal")
        ("verbose", po::value<bool>()->value_name("BOOL")->default_value(false, "false")->implicit_value(true, "true"),
         "--driver dpdk: show the EAL's whole output (its log, and its option list on an argument error); "
         "without it a start-up refusal is one line of cause and one of next step")
        ("ring-mb", po::value<uint32_t>()->value_name("MB")->default_value(16), "size of each worker's packet ring in MiB (when a dispatcher feeds the workers)");
    d.add(input).add(output).add(flows).add(dpdk).add(feats).add(control);
    if (groups != nullptr) {
        groups->emplace_back(input_caption, input);
        groups->emplace_back(output_caption, output);
        groups->emplace_back(flows_caption, flows);
        groups->emplace_back(dpdk_caption, dpdk);
        groups->emplace_back(feats_caption, feats);
        groups->emplace_back(control_caption, control);
    }
    if (!for_file) {
        const char* const generic_caption = "General";
    po::options_description generic(generic_caption);
        generic.add_options()
            ("help,h", "print this help and exit")
            ("version", "print the version and exit")
            ("config", po::value<std::string>()->value_name("FILE"), "read options from an INI file (key = value, keys as the long option names); the command line wins");
        d.add(generic);
        if (groups != nullptr) {
            groups->emplace_back(generic_caption, generic);
        }
    }
}

// clang-format on

template <class T>
T get(const po::variables_map& vm, const char* key) {
    return vm[key].as<T>();
}

double seconds(const po::variables_map& vm, const char* key) {
    double v = vm[key].as<double>();
    if (!(v >= 0) || !std::isfinite(v) || v > 1e9) {
        throw UsageError(std::string("option '--") + key + "': must be a number of seconds >= 0");
    }
    return v;
}

std::array<uint8_t, 256> read_compact_map(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw UsageError("option '--bd-compact-map': cannot read '" + path + "'");
    }
    std::array<uint8_t, 256> m{};
    std::string tok;
    size_t n = 0;
    while (in >> tok) {
        if (tok[0] == '#') {
            std::getline(in, tok);
            continue;
        }
        int v = -1;
        try {
            size_t pos = 0;
            v = std::stoi(tok, &pos);
            if (pos != tok.size()) {
                v = -1;
            }
        } catch (const std::exception&) {
        }
        if (v < 0 || v > 15 || n >= 256) {
            throw UsageError("option '--bd-compact-map': " + path + ": entry " +
                             std::to_string(n + 1) + " '" + tok +
                             "' is not a bin 0..15, or more than 256 entries");
        }
        m[n++] = static_cast<uint8_t>(v);
    }
    if (n != 256) {
        throw UsageError("option '--bd-compact-map': " + path + " has " + std::to_string(n) +
                         " entries, expected 256 (one bin 0..15 per byte value)");
    }
    return m;
}

std::vector<RxMapEntry> parse_rx_map(const std::string& text) {
    std::vector<RxMapEntry> out;
    std::string item;
    std::stringstream in(text);
    while (std::getline(in, item, ',')) {
        size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
        if (b == std::string::npos) {
            continue;
        }
        item = item.substr(b, e - b + 1);
        unsigned port = 0, queue = 0, lcore = 0;
        char c1 = 0, c2 = 0;
        std::istringstream is(item);
        if (!(is >> port >> c1 >> queue >> c2 >> lcore) || c1 != ':' || c2 != '@' || !is.eof() ||
            port > 65535 || queue > 65535) {
            throw UsageError("option '--rx-map': '" + item + "' is not PORT:QUEUE@LCORE");
        }
        for (const auto& x : out) {
            if (x.port == port && x.queue == queue) {
                throw UsageError("option '--rx-map': port " + std::to_string(port) + " queue " +
                                 std::to_string(queue) + " is mapped twice");
            }
        }
        out.push_back(RxMapEntry{static_cast<uint16_t>(port), static_cast<uint16_t>(queue), lcore});
    }
    // A port's queues are 0..N-1: every one needs a core.
    std::map<uint16_t, std::vector<bool>> seen;
    for (const auto& x : out) {
        auto& v = seen[x.port];
        if (v.size() <= x.queue) {
            v.resize(x.queue + 1u, false);
        }
        v[x.queue] = true;
    }
    for (const auto& [port, v] : seen) {
        for (size_t q = 0; q < v.size(); ++q) {
            if (!v[q]) {
                throw UsageError("option '--rx-map': port " + std::to_string(port) + " queue " +
                                 std::to_string(q) + " has no lcore (queues " +
                                 std::to_string(v.size() - 1) + " and below must all be mapped)");
            }
        }
    }
    return out;
}

}  // namespace

uint64_t parse_size(const std::string& key, const std::string& text) {
    if (text.empty()) {
        throw UsageError("option '--" + key + "': empty size");
    }
    size_t pos = 0;
    unsigned long long v = 0;
    try {
        v = std::stoull(text, &pos, 10);
    } catch (const std::exception&) {
        throw UsageError("option '--" + key + "': invalid size '" + text + "'");
    }
    uint64_t mult = 1;
    std::string suffix = text.substr(pos);
    if (suffix == "" || suffix == "b" || suffix == "B") {
        mult = 1;
    } else if (suffix == "k" || suffix == "K" || suffix == "KiB") {
        mult = 1ULL << 10;
    } else if (suffix == "m" || suffix == "M" || suffix == "MiB") {
        mult = 1ULL << 20;
    } else if (suffix == "g" || suffix == "G" || suffix == "GiB") {
        mult = 1ULL << 30;
    } else {
        throw UsageError("option '--" + key + "': invalid size suffix in '" + text +
                         "' (use k, M or G)");
    }
    if (v > (~0ULL) / mult) {
        throw UsageError("option '--" + key + "': size too large");
    }
    return v * mult;
}

namespace {

/// The usage lines of --help and of the man page's SYNOPSIS.
const std::vector<std::string> kSynopsis = {
    "spate -r FILE [-r FILE ...] [options]",
    "spate -r - [options] < capture        (stdin; also FIFOs, pipes, /dev/fd/N)",
    "spate -i IFACE [--bpf EXPR | -F FILE] [options]",
    "spate --driver dpdk --eal ARGS [options]",
};

std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\t', ' ');
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

void dump_group(std::string& out, const std::string& caption, const po::options_description& g) {
    out += "G\t" + one_line(caption) + "\n";
    for (const auto& o : g.options()) {
        std::string shorts;
        std::string name = o->format_name();  // "-r [ --read ]" or "--bpf"
        if (name.size() > 1 && name[0] == '-' && name[1] != '-') {
            shorts = name.substr(0, 2);
        }
        out += "O\t" + shorts + "\t--" + o->long_name() + "\t" + one_line(o->format_parameter()) +
               "\t" + one_line(o->description()) + "\n";
    }
}

}  // namespace

std::string dump_option_table(const std::vector<std::string>& synopsis,
                              const OptionGroups& groups) {
    std::string out;
    for (const std::string& s : synopsis) {
        out += "S\t" + one_line(s) + "\n";
    }
    for (const auto& [caption, g] : groups) {
        dump_group(out, caption, g);
    }
    return out;
}

std::string option_table() {
    po::options_description d("Options", 110);
    OptionGroups groups;
    describe(d, false, &groups);
    return dump_option_table(kSynopsis, groups);
}

std::string help_text() {
    po::options_description d("Options", 110);
    describe(d, false);
    std::ostringstream os;
    os << "spate " << SPATE_VERSION
       << ": a flow probe that turns packets into bidirectional flow records (JSON Lines)\n\n";
    for (size_t i = 0; i < kSynopsis.size(); ++i) {
        os << (i == 0 ? "Usage: " : "       ") << kSynopsis[i] << "\n";
    }
    os << "\n" << d << "\n"
       << "Exit status: 0 success (a truncated capture file is a warning; records shed under\n"
          "--backpressure drop are counted, not an error), 1 an input error or records lost to\n"
          "output errors, 2 a usage or configuration error. SIGINT/SIGTERM export every active\n"
          "flow and exit; a second one exits at once (status 1). Counters go to stderr; records\n"
          "to --output.\n";
    return os.str();
}

/// The whole file is the expression (tcpdump -F): line ends become spaces.
static std::string read_filter_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw UsageError("option '--bpf-file': cannot read '" + path + "'");
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw UsageError("option '--bpf-file': cannot read '" + path + "'");
    }
    for (char& c : text) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    const size_t first = text.find_first_not_of(" \t");
    if (first == std::string::npos) {
        throw UsageError("option '--bpf-file': '" + path + "' holds no filter expression");
    }
    return text.substr(first, text.find_last_not_of(" \t") + 1 - first);
}

ParseOutcome parse_options(int argc, const char* const* argv, Options& out) {
    po::options_description cmdline;
    describe(cmdline, false);
    // Not in --help: the man page generator's view of the tables.
    cmdline.add_options()("dump-options", "print the option tables for man/gen_man.py");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(cmdline).run(), vm);
        if (vm.count("help")) {
            return ParseOutcome::help;
        }
        if (vm.count("dump-options")) {
            return ParseOutcome::dump_options;
        }
        if (vm.count("version")) {
            return ParseOutcome::version;
        }
        if (vm.count("config")) {
            std::string path = vm["config"].as<std::string>();
            std::ifstream in(path);
            if (!in) {
                throw UsageError("option '--config': cannot read '" + path + "'");
            }
            po::options_description file_opts;
            describe(file_opts, true);
            try {
                po::store(po::parse_config_file(in, file_opts, false), vm);
            } catch (const po::error& e) {
                throw UsageError(path + config_line_of(path, e) + ": " + e.what());
            }
            out.config_file = path;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw UsageError(e.what());
    }

    if (vm.count("read")) {
        out.read_files = get<std::vector<std::string>>(vm, "read");
    }
    if (vm.count("interface")) {
        out.interface = get<std::string>(vm, "interface");
    }
    out.bpf = get<std::string>(vm, "bpf");
    if (vm.count("bpf-file")) {
        const std::string path = get<std::string>(vm, "bpf-file");
        if (!vm["bpf"].defaulted()) {
            throw UsageError("option '--bpf-file': cannot be used with '--bpf' (give the filter one way)");
        }
        out.bpf = read_filter_file(path);
        out.bpf_option = "--bpf-file " + path;
    }
    if (std::count(out.read_files.begin(), out.read_files.end(), std::string("-")) > 1) {
        throw UsageError("option '--read': '-' (stdin) can be read only once");
    }
    out.driver = get<std::string>(vm, "driver");
    out.eal_args = get<std::string>(vm, "eal");
    if (out.eal_args.empty() && vm.count("eal.args")) {
        out.eal_args = get<std::string>(vm, "eal.args");
    }
    out.rx_queues = get<uint32_t>(vm, "rx-queues");
    out.rx_desc = get<uint32_t>(vm, "rx-desc");
    out.mbufs = get<uint32_t>(vm, "mbufs");
    out.idle_exit = seconds(vm, "idle-exit");
    out.port_linktype = get<uint32_t>(vm, "port-linktype");
    out.rx_map = parse_rx_map(get<std::string>(vm, "rx-map"));
    out.mtu = get<uint32_t>(vm, "mtu");
    out.exporter_lcore = get<int>(vm, "exporter-lcore");
    if (out.exporter_lcore >= 0 && out.rx_map.empty()) {
        throw UsageError(
            "option '--exporter-lcore': needs --rx-map (lcores are used in rx-map mode)");
    }
    if (out.mtu > 65535) {
        throw UsageError("option '--mtu': must be at most 65535");
    }
    out.link_wait = seconds(vm, "link-wait");
    out.snaplen = get<int>(vm, "snaplen");
    out.promiscuous = get<bool>(vm, "promisc");
    out.pcap_buffer_mb = get<uint32_t>(vm, "pcap-buffer");
    if (out.pcap_buffer_mb < 1 || out.pcap_buffer_mb > 4096) {
        throw UsageError("option '--pcap-buffer': must be between 1 and 4096 (MiB)");
    }
    out.output = get<std::string>(vm, "output");
    std::string compress = get<std::string>(vm, "compress");
    out.rotate_bytes = parse_size("rotate-size", get<std::string>(vm, "rotate-size"));
    if (!parse_time_format(get<std::string>(vm, "time-format"), out.time_format)) {
        throw UsageError("option '--time-format': '" + get<std::string>(vm, "time-format") +
                         "' is not a time format (seconds, ns or iso8601)");
    }
    double rot = seconds(vm, "rotate-interval");
    out.rotate_seconds = static_cast<uint64_t>(std::ceil(rot));
    out.workers = get<uint32_t>(vm, "workers");
    out.idle_timeout = seconds(vm, "idle-timeout");
    out.active_timeout = seconds(vm, "active-timeout");
    out.tcp_close_timeout = seconds(vm, "tcp-close-timeout");
    out.max_flows = get<uint64_t>(vm, "max-flows");
    out.vlan_in_key = get<bool>(vm, "vlan-in-key");
    out.decap = !get<bool>(vm, "no-decap");
    out.frag_slots = get<uint32_t>(vm, "frag-slots");
    if (const std::string seed = get<std::string>(vm, "hash-seed"); seed != "random") {
        try {
            size_t pos = 0;
            out.hash_seed = std::stoull(seed, &pos, 0);
            if (pos != seed.size()) {
                throw std::invalid_argument("trailing");
            }
        } catch (const std::exception&) {
            throw UsageError("option '--hash-seed': '" + seed +
                             "' is not 'random' or a 64-bit number (decimal or 0x hex)");
        }
    }
    {
        const std::string seed = get<std::string>(vm, "community-id-seed");
        uint32_t v = 0;
        const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), v);
        if (seed.empty() || ec != std::errc() || end != seed.data() + seed.size() || v > 65535) {
            throw UsageError("option '--community-id-seed': '" + seed +
                             "' is not a number between 0 and 65535");
        }
        out.community_id_seed = static_cast<uint16_t>(v);
    }
    if (vm.count("observer") != 0) {
        out.observer = get<std::string>(vm, "observer");
        const bool ok = !out.observer.empty() && out.observer.size() <= 64 &&
                        std::all_of(out.observer.begin(), out.observer.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                                   c == '.' || c == ':' || c == '-';
                        });
        if (!ok) {
            throw UsageError("option '--observer': '" + out.observer +
                             "' is not 1..64 characters of A-Z a-z 0-9 _ . : -");
        }
    }
    out.features = get<std::string>(vm, "features");
    out.feature_cfg.splt_n = get<uint32_t>(vm, "splt");
    out.feature_cfg.splt_zero = get<bool>(vm, "splt-zero");
    out.feature_cfg.splt_retrans = get<bool>(vm, "splt-retrans");
    out.feature_cfg.bd_bytes = get<uint64_t>(vm, "bd-bytes");
    if (std::string map = get<std::string>(vm, "bd-compact-map"); !map.empty()) {
        out.feature_cfg.compact_map = read_compact_map(map);
    }
    uint32_t idp = get<uint32_t>(vm, "idp");
    if (out.feature_cfg.splt_n < 1 || out.feature_cfg.splt_n > 1000) {
        throw UsageError("option '--splt': must be between 1 and 1000");
    }
    if (idp > 1500) {
        throw UsageError("option '--idp': must be between 0 and 1500");
    }
    out.feature_cfg.idp_n = idp == 0 ? 1500 : idp;
    out.feature_cfg.ppi_n = get<uint32_t>(vm, "ppi");
    if (out.feature_cfg.ppi_n < 1 || out.feature_cfg.ppi_n > 1000) {
        throw UsageError("option '--ppi': must be between 1 and 1000");
    }
    out.feature_cfg.salt_n = get<uint32_t>(vm, "salt");
    if (out.feature_cfg.salt_n < 1 || out.feature_cfg.salt_n > 1000) {
        throw UsageError("option '--salt': must be between 1 and 1000");
    }
    out.feature_cfg.hd_n = get<uint32_t>(vm, "hd");
    if (out.feature_cfg.hd_n < 1 || out.feature_cfg.hd_n > 64) {
        throw UsageError("option '--hd': must be between 1 and 64");
    }
    if (idp > 0) {
        out.features += ",idp";
    }
    out.feature_cfg.tls_buffer = get<uint32_t>(vm, "tls-buffer");
    if (out.feature_cfg.tls_buffer < 1024 || out.feature_cfg.tls_buffer > (1u << 20)) {
        throw UsageError("option '--tls-buffer': must be between 1024 and 1048576");
    }
    out.feature_cfg.tls_buffers = get<uint32_t>(vm, "tls-buffers");
    if (out.feature_cfg.tls_buffers < 1 || out.feature_cfg.tls_buffers > (1u << 20)) {
        throw UsageError("option '--tls-buffers': must be between 1 and 1048576");
    }
    out.feature_cfg.tls_records = get<uint32_t>(vm, "tls-records");
    if (out.feature_cfg.tls_records > 1000) {
        throw UsageError("option '--tls-records': must be between 0 and 1000");
    }
    out.feature_cfg.tls_cert_bytes = get<uint32_t>(vm, "tls-cert-bytes");
    if (out.feature_cfg.tls_cert_bytes > 65535) {
        throw UsageError("option '--tls-cert-bytes': must be between 0 and 65535");
    }
    auto bounded = [&](const char* name, uint32_t lo, uint32_t hi) {
        uint32_t v = get<uint32_t>(vm, name);
        if (v < lo || v > hi) {
            throw UsageError(std::string("option '--") + name + "': must be between " +
                             std::to_string(lo) + " and " + std::to_string(hi));
        }
        return v;
    };
    out.feature_cfg.dns_bytes = bounded("dns-bytes", 512, 65535);
    out.feature_cfg.http_bytes = bounded("http-bytes", 512, 65535);
    out.feature_cfg.ssh_bytes = bounded("ssh-bytes", 512, 65535);
    if (vm.count("state-pool") != 0) {
        for (const std::string& arg : vm["state-pool"].as<std::vector<std::string>>()) {
            std::stringstream items(arg);
            std::string item;
            while (std::getline(items, item, ',')) {
                const size_t eq = item.find('=');
                const std::string unit = item.substr(0, eq);
                size_t k = 0;
                while (k < features::kArenaKinds && features::kArenaNames[k] != unit) {
                    ++k;
                }
                if (eq == std::string::npos || k == features::kArenaKinds) {
                    std::string known;
                    for (auto n : features::kArenaNames) {
                        known += (known.empty() ? "" : ", ") + std::string(n);
                    }
                    throw UsageError("option '--state-pool': '" + item +
                                     "' is not UNIT=SIZE with UNIT one of " + known);
                }
                uint64_t bytes = 0;
                try {
                    bytes = features::parse_size(item.substr(eq + 1), "option '--state-pool'");
                } catch (const std::invalid_argument& e) {
                    throw UsageError(e.what());
                }
                // 0 in FeatureConfig is the default: "none" is a pool of one byte.
                out.feature_cfg.state_pool[k] = bytes == 0 ? 1 : bytes;
            }
        }
    }
    out.feature_cfg.http_headers = get<std::string>(vm, "http-headers");
    for (char& ch : out.feature_cfg.http_headers) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    out.fp_db = get<std::string>(vm, "fp-db");
    out.feature_cfg.rule_streams = get<uint32_t>(vm, "rule-streams");
    if (vm.count("rules") != 0) {
        out.rule_files = vm["rules"].as<std::vector<std::string>>();
        if ((","+out.features+",").find(",content,") == std::string::npos) {
            out.features = out.features == "none" || out.features.empty() ? "content"
                                                                          : out.features + ",content";
        }
    }
    out.app_rules = get<std::string>(vm, "app-rules");
    if (out.app_rules.empty()) {
        throw UsageError("option '--app-rules': expected builtin, none or a rule file");
    }
    {
        const std::string list = "," + out.features + ",";
        out.app = list.find(",app,") != std::string::npos || list.find(",all,") != std::string::npos;
    }
    try {
        out.feature_cfg.content_db = compile_rules(out);
    } catch (const match::RuleError& e) {
        throw UsageError(std::string(out.rule_files.empty() ? "option '--app-rules': "
                                                            : "option '--rules': ") +
                         e.what());
    }
    try {
        (void)features::FeatureSet::parse(out.features, out.feature_cfg);
    } catch (const features::FeatureError& e) {
        throw UsageError(e.what());
    }
    out.stats_interval = seconds(vm, "stats-interval");
    out.stats_format = get<std::string>(vm, "stats-format");
    if (out.stats_format != "text" && out.stats_format != "json") {
        throw UsageError("option '--stats-format': '" + out.stats_format +
                         "' is not a format (text or json)");
    }
    out.stats_file = get<std::string>(vm, "stats-file");
    out.backpressure = get<std::string>(vm, "backpressure");
    if (out.backpressure != "auto" && out.backpressure != "wait" && out.backpressure != "drop") {
        throw UsageError("option '--backpressure': '" + out.backpressure +
                         "' is not a policy (wait, drop or auto)");
    }
    out.quiet = get<bool>(vm, "quiet");
    {
        const bool on = get<bool>(vm, "progress");
        const bool off = get<bool>(vm, "no-progress");
        if (on && off) {
            throw UsageError("options '--progress' and '--no-progress' cannot be used together");
        }
        out.progress = on ? Progress::on : off ? Progress::off : Progress::automatic;
    }
    out.verbose = get<bool>(vm, "verbose");
    out.ring_mb = get<uint32_t>(vm, "ring-mb");
    out.compress_threads = get<uint32_t>(vm, "compress-threads");
    if (out.compress_threads > 16) {
        throw UsageError("option '--compress-threads': must be between 0 and 16");
    }
    out.exporters = get<uint32_t>(vm, "exporters");
    if (out.exporters < 1 || out.exporters > 16) {
        throw UsageError("option '--exporters': must be between 1 and 16");
    }

    if (compress == "none" || compress.empty()) {
        out.zstd = false;
    } else if (compress.rfind("zstd", 0) == 0) {
        out.zstd = true;
        if (compress.size() > 4) {
            if (compress[4] != ':') {
                throw UsageError("option '--compress': expected none or zstd[:LEVEL], got '" +
                                 compress + "'");
            }
            try {
                size_t pos = 0;
                out.zstd_level = std::stoi(compress.substr(5), &pos);
                if (pos != compress.size() - 5) {
                    throw std::invalid_argument("trailing");
                }
            } catch (const std::exception&) {
                throw UsageError("option '--compress': invalid zstd level in '" + compress + "'");
            }
            if (out.zstd_level < 1 || out.zstd_level > 19) {
                throw UsageError("option '--compress': zstd level must be 1..19");
            }
        }
    } else {
        throw UsageError("option '--compress': expected none or zstd[:LEVEL], got '" + compress +
                         "'");
    }
    if (out.zstd && out.output != "-" && !out.output.empty() && out.output.back() != '/' &&
        !out.output.ends_with(".zst")) {
        // Compressed files always end in .zst (a directory, stdout, a FIFO
        // or /dev/null are left as they are; a rotation name without an
        // extension or conversion is a directory).
        struct stat st {};
        const bool exists = ::stat(out.output.c_str(), &st) == 0;
        const size_t slash = out.output.rfind('/');
        const std::string base = out.output.substr(slash == std::string::npos ? 0 : slash + 1);
        const bool rotating = out.rotate_bytes > 0 || out.rotate_seconds > 0;
        const bool pattern = base.find('.', 1) != std::string::npos ||
                             base.find('%') != std::string::npos;
        if ((!exists || S_ISREG(st.st_mode)) && (!rotating || pattern)) {
            out.output += ".zst";
        }
    }
    if (out.driver != "pcap" && out.driver != "dpdk") {
        throw UsageError("option '--driver': '" + out.driver + "' is not a driver (pcap or dpdk)");
    }
    if (out.driver == "dpdk") {
        if (!have_dpdk()) {
            throw UsageError(
                "option '--driver': dpdk is not available in this build (libdpdk-dev was absent)");
        }
        if (!out.read_files.empty() || !out.interface.empty()) {
            throw UsageError(
                "option '--driver': dpdk takes its ports from the EAL (--eal / [eal] args), not -r "
                "or -i");
        }
        if (out.rx_queues > 64) {
            throw UsageError("option '--rx-queues': must be between 0 (auto) and 64");
        }
        if (out.rx_desc < 64 || out.rx_desc > 16384) {
            throw UsageError("option '--rx-desc': must be between 64 and 16384");
        }
    } else if (out.read_files.empty() == out.interface.empty()) {
        throw UsageError(out.read_files.empty()
                             ? "no input: give -r FILE or -i IFACE (see --help)"
                             : "options '--read' and '--interface' cannot be used together");
    }
    // Options that do not apply to this driver or input are refused, never ignored.
    auto given = [&vm](const char* name) { return vm.count(name) != 0 && !vm[name].defaulted(); };
    if (out.driver == "pcap") {
        for (const char* o : {"eal", "rx-queues", "rx-desc", "mbufs", "exporter-lcore", "mtu",
                              "link-wait", "rx-map", "port-linktype"}) {
            if (given(o)) {
                throw UsageError(std::string("option '--") + o +
                                 "' applies to --driver dpdk only (this run uses the pcap driver)");
            }
        }
        if (!out.read_files.empty()) {
            for (const char* o : {"snaplen", "promisc", "pcap-buffer"}) {
                if (given(o)) {
                    throw UsageError(std::string("option '--") + o +
                                     "' applies to live capture (-i) only, not to -r files");
                }
            }
        }
    } else {
        if (given("bpf-file")) {
            throw UsageError(
                "option '--bpf-file': not available with --driver dpdk (filter with the NIC's flow "
                "rules or use the pcap driver); refused rather than ignored");
        }
        if (given("bpf")) {
            throw UsageError(
                "option '--bpf': not available with --driver dpdk (filter with the NIC's flow "
                "rules or use the pcap driver); refused rather than ignored");
        }
        for (const char* o : {"snaplen", "pcap-buffer"}) {
            if (given(o)) {
                throw UsageError(std::string("option '--") + o +
                                 "': applies to the pcap driver's live capture only");
            }
        }
    }
    if (out.progress == Progress::on && out.read_files.empty()) {
        throw UsageError(
            "option '--progress': shows how far -r files have been read; not for live capture (-i) "
            "or --driver dpdk");
    }
    if (out.workers < 1 || out.workers > 64) {
        throw UsageError("option '--workers': must be between 1 and 64");
    }
    if (out.max_flows < out.workers || out.max_flows > (1ULL << 30)) {
        throw UsageError("option '--max-flows': must be between --workers and 1073741824");
    }
    if (out.snaplen < 64 || out.snaplen > 262144) {
        throw UsageError("option '--snaplen': must be between 64 and 262144");
    }
    if (out.ring_mb < 1 || out.ring_mb > 4096) {
        throw UsageError("option '--ring-mb': must be between 1 and 4096");
    }
    if (out.frag_slots < 16 || out.frag_slots > (1u << 24)) {
        throw UsageError("option '--frag-slots': must be between 16 and 16777216");
    }
    if ((out.rotate_bytes > 0 || out.rotate_seconds > 0) &&
        (out.output == "-" || out.output.empty())) {
        throw UsageError(
            "option '--output': rotation needs a directory or file name pattern, not stdout");
    }
    return ParseOutcome::run;
}

}  // namespace spate
