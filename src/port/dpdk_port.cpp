// The DPDK port driver (see dpdk_port.hpp).
#include "spate/port/dpdk_port.hpp"

#include "spate/control/stats_snapshot.hpp"
#include "spate/core/clock.hpp"
#include "spate/port/eal_diagnosis.hpp"
#include "spate/port/rss.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_telemetry.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace spate {

bool have_dpdk() {
    return true;
}

namespace {

std::atomic<const StatsSnapshot*> g_snapshot{nullptr};

int telemetry_stats(const char*, const char*, rte_tel_data* d) {
    const StatsSnapshot* s = g_snapshot.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    if (s == nullptr) {
        return 0;
    }
    auto add = [d](const char* k, const std::atomic<uint64_t>& v) {
        rte_tel_data_add_dict_u64(d, k, v.load(std::memory_order_relaxed));
    };
    add("packets_read", s->packets_read);
    add("decoded", s->decoded);
    add("non_ip", s->non_ip);
    add("malformed", s->malformed);
    add("filtered", s->filtered);
    add("rx_drops", s->rx_drops);
    add("flows_created", s->flows_created);
    add("flows_active", s->flows_active);
    add("flows_evicted", s->flows_evicted);
    add("records", s->records);
    add("bytes_written", s->bytes_written);
    add("packet_ring_full_waits", s->packet_ring_full_waits);
    add("record_ring_full_waits", s->record_ring_full_waits);
    add("packets_shed", s->packets_shed);
    add("records_shed", s->records_shed);
    add("records_lost", s->records_lost);
    add("output_errors", s->output_errors);
    add("state_bytes", s->state_bytes);
    add("state_refused", s->state_refused);
    rte_tel_data_add_dict_u64(d, "output_faulted",
                              s->output_faulted.load(std::memory_order_relaxed) ? 1 : 0);
    // DPDK 22.11 puts string values into its JSON as they are and cuts them
    // at RTE_TEL_MAX_STRING_LEN: keep the text short and free of characters
    // that would need escaping.
    std::string err = s->output_error();
    for (char& c : err) {
        if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
            c = '?';
        }
    }
    if (err.size() >= RTE_TEL_MAX_STRING_LEN) {
        err.resize(RTE_TEL_MAX_STRING_LEN - 1);
    }
    rte_tel_data_add_dict_string(d, "output_error", err.c_str());
    return 0;
}

int telemetry_rules(const char*, const char*, rte_tel_data* d) {
    const StatsSnapshot* s = g_snapshot.load(std::memory_order_acquire);
    rte_tel_data_start_dict(d);
    if (s == nullptr) {
        return 0;
    }
    uint32_t gen = 0;
    const auto rules = s->rules(gen);
    rte_tel_data_add_dict_u64(d, "generation", gen);
    for (const auto& [name, n] : rules) {
        rte_tel_data_add_dict_u64(d, name.c_str(), n);  // keys are cut at RTE_TEL_MAX_STRING_LEN
    }
    return 0;
}

int telemetry_reload(const char*, const char*, rte_tel_data* d) {
    g_reload_requested.store(true, std::memory_order_relaxed);
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_string(d, "reload", "requested");
    return 0;
}

}  // namespace

void register_stats_telemetry(const StatsSnapshot* s) {
    g_snapshot.store(s, std::memory_order_release);
    static bool registered = false;
    if (s != nullptr && !registered) {
        registered = rte_telemetry_register_cmd(
                         "/spate/stats", telemetry_stats,
                         "spate's counters: packets, decode, flows, records, ring waits") == 0;
        rte_telemetry_register_cmd("/spate/rules", telemetry_rules,
                                   "content rules: matches per rule (rule_ID) and the rule generation");
        rte_telemetry_register_cmd("/spate/reload", telemetry_reload,
                                   "recompile the rule files and swap them in (as SIGHUP)");
    }
}

namespace {

constexpr uint16_t kMaxBurst = 64;

/// DPDK's log, through a stream of ours for the whole run
/// (rte_openlog_stream): while a capture is on (EAL start and port set-up)
/// its lines are kept, to tell the cause of a refusal, and shown at once
/// only with --verbose; otherwise they go to stderr as DPDK would write them.
struct LogCapture {
    std::mutex mu;
    bool on = false;
    int tee_fd = -1;  ///< with --verbose: where kept lines are shown at once
    std::string partial;
    std::vector<std::pair<int, std::string>> lines;  ///< (RTE_LOG_* level, text)
};

LogCapture g_log;

void write_fd(int fd, const char* buf, size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, buf, size);
        if (n <= 0) {
            return;
        }
        buf += n;
        size -= static_cast<size_t>(n);
    }
}

ssize_t log_write(void*, const char* buf, size_t size) {
    // rte_vlog() flushes once per message: one call, one level.
    const int level = rte_log_cur_msg_loglevel();
    const std::lock_guard<std::mutex> lock(g_log.mu);
    if (!g_log.on) {
        write_fd(STDERR_FILENO, buf, size);
        return static_cast<ssize_t>(size);
    }
    if (g_log.tee_fd >= 0) {
        write_fd(g_log.tee_fd, buf, size);
    }
    g_log.partial.append(buf, size);
    size_t nl = 0;
    while ((nl = g_log.partial.find('\n')) != std::string::npos) {
        g_log.lines.emplace_back(level, g_log.partial.substr(0, nl));
        g_log.partial.erase(0, nl + 1);
    }
    return static_cast<ssize_t>(size);
}

/// Installs the stream (once) and starts keeping lines.
void capture_log(int tee_fd) {
    static FILE* stream = [] {
        cookie_io_functions_t io{};
        io.write = log_write;
        return fopencookie(nullptr, "w", io);
    }();
    if (stream != nullptr) {
        rte_openlog_stream(stream);
    }
    const std::lock_guard<std::mutex> lock(g_log.mu);
    g_log.on = true;
    g_log.tee_fd = tee_fd;
    g_log.lines.clear();
    g_log.partial.clear();
}

void set_tee(int tee_fd) {
    const std::lock_guard<std::mutex> lock(g_log.mu);
    g_log.tee_fd = tee_fd;
}

/// Stops keeping lines; returns them. `show_from`: lines of this level or
/// more urgent (a lower RTE_LOG_* number) go to stderr now (0: none).
std::vector<std::pair<int, std::string>> end_capture(int show_from) {
    const std::lock_guard<std::mutex> lock(g_log.mu);
    g_log.on = false;
    g_log.tee_fd = -1;
    if (!g_log.partial.empty()) {
        g_log.lines.emplace_back(RTE_LOG_ERR, g_log.partial);
        g_log.partial.clear();
    }
    for (const auto& [level, text] : g_log.lines) {
        if (level <= show_from) {
            std::fprintf(stderr, "%s\n", text.c_str());
        }
    }
    return std::move(g_log.lines);
}

/// The kept lines so far, as text.
std::vector<std::string> captured_lines() {
    const std::lock_guard<std::mutex> lock(g_log.mu);
    std::vector<std::string> out;
    out.reserve(g_log.lines.size());
    for (const auto& l : g_log.lines) {
        out.push_back(l.second);
    }
    return out;
}

/// What rte_eal_init writes past the log: its FATAL line and getopt's
/// complaints (stderr), its usage text (stdout, where records may go). Both
/// descriptors point at a memory file until finish(); the text is then
/// shown only with --verbose, on stderr.
class StdCapture {
public:
    StdCapture() {
        fd_ = memfd_create("spate-eal", MFD_CLOEXEC);
        if (fd_ < 0) {
            return;  // not captured: it goes where it always went
        }
        std::fflush(stdout);
        std::fflush(stderr);
        out_ = dup(STDOUT_FILENO);
        err_ = dup(STDERR_FILENO);
        if (out_ < 0 || err_ < 0 || dup2(fd_, STDOUT_FILENO) < 0 || dup2(fd_, STDERR_FILENO) < 0) {
            finish();
        }
    }
    ~StdCapture() { finish(); }
    StdCapture(const StdCapture&) = delete;
    StdCapture& operator=(const StdCapture&) = delete;

    /// The real stderr while the capture lasts.
    int real_stderr() const { return err_ >= 0 ? err_ : STDERR_FILENO; }

    /// Puts stdout and stderr back; what was written meanwhile, by line.
    std::vector<std::string> finish() {
        std::vector<std::string> lines;
        if (fd_ < 0) {
            return lines;
        }
        std::fflush(stdout);
        std::fflush(stderr);
        if (out_ >= 0) {
            dup2(out_, STDOUT_FILENO);
            close(out_);
        }
        if (err_ >= 0) {
            dup2(err_, STDERR_FILENO);
            close(err_);
        }
        out_ = err_ = -1;
        std::string text;
        char buf[4096];
        off_t off = 0;
        ssize_t n = 0;
        while ((n = pread(fd_, buf, sizeof buf, off)) > 0) {
            text.append(buf, static_cast<size_t>(n));
            off += n;
        }
        close(fd_);
        fd_ = -1;
        std::istringstream in(text);
        std::string line;
        while (std::getline(in, line)) {
            lines.push_back(line);
        }
        return lines;
    }

private:
    int fd_ = -1;
    int out_ = -1;
    int err_ = -1;
};

/// The driver's last complaint during set-up, for errors that have no
/// better cause: " (driver: ...)" or "".
std::string driver_said() {
    const std::string tail = eal::last_meaningful(captured_lines(), 1);
    return tail.empty() ? std::string() : " (driver: " + tail + ")";
}

std::vector<std::string> split_args(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    char quote = 0;
    bool any = false;
    for (char c : s) {
        if (quote != 0) {
            if (c == quote) {
                quote = 0;
            } else {
                cur += c;
            }
        } else if (c == '"' || c == '\'') {
            quote = c;
            any = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (any || !cur.empty()) {
                out.push_back(cur);
            }
            cur.clear();
            any = false;
        } else {
            cur += c;
        }
    }
    if (any || !cur.empty()) {
        out.push_back(cur);
    }
    return out;
}

class DpdkPort final : public PortDriver {
public:
    DpdkPort(const DpdkPortConfig& cfg, PortLogFn log) : cfg_(cfg), log_(log) {
        try {
            init();
        } catch (...) {
            release();  // a failed start leaves nothing behind
            throw;
        }
    }

    ~DpdkPort() override { release(); }

    /// Every queue, polled round-robin (the dispatcher's read).
    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override;

    /// Live unless every port's timestamps are a replayed file's (net_pcap):
    /// NIC and TSC times follow the clock.
    bool live() const override {
        for (uint16_t p : ports_) {
            if (ts_mult_[p] == 0) {
                return true;
            }
        }
        return false;
    }

    bool stopping() const { return stop_.load(std::memory_order_relaxed); }

    /// A TSC clock for one polling thread, anchored at the port's start.
    TscClock make_clock() const { return TscClock(rte_get_tsc_hz(), base_tsc_, base_ns_); }

    const std::vector<std::pair<uint16_t, uint16_t>>& queues() const { return queues_; }

    /// A burst source over `queues` (each one of queues()).
    std::unique_ptr<BurstSource> make_source(
        const std::vector<std::pair<uint16_t, uint16_t>>& queues) const;

    /// Nanosecond digits unless every port gives microsecond device times (net_pcap).
    bool nanosecond_timestamps() const override {
        for (uint16_t p : ports_) {
            if (ts_mult_[p] != 1000) {
                return true;
            }
        }
        return false;
    }

    void request_stop() override { stop_.store(true, std::memory_order_relaxed); }

    PortStats stats() const override {
        // The device counters: right whichever thread polled the queues.
        PortStats s;
        for (uint16_t p : ports_) {
            rte_eth_stats st{};
            if (rte_eth_stats_get(p, &st) == 0) {
                s.packets += st.ipackets;
                s.bytes += st.ibytes;
                s.kernel_drops += st.imissed + st.rx_nombuf;
                s.if_drops += st.ierrors;
            }
        }
        return s;
    }

    std::string describe() const override { return description_; }

    std::string detail() const override {
        std::ostringstream os;
        for (uint16_t p : ports_) {
            rte_eth_stats st{};
            if (rte_eth_stats_get(p, &st) != 0) {
                continue;
            }
            os << "port " << p << ": rx " << st.ipackets << " packets " << st.ibytes
               << " bytes, imissed " << st.imissed << ", ierrors " << st.ierrors << ", rx_nombuf "
               << st.rx_nombuf << "; per queue:";
            for (const auto& [port, q] : queues_) {
                if (port == p && q < RTE_ETHDEV_QUEUE_STAT_CNTRS) {
                    os << " q" << q << " " << st.q_ipackets[q];
                }
            }
            os << "\n";
        }
        os << "checksums marked bad by the devices: ip "
           << ip_csum_bad_.load(std::memory_order_relaxed) << ", l4 "
           << l4_csum_bad_.load(std::memory_order_relaxed) << "\n";
        return os.str();
    }

    /// Mbufs of one RX queue to PacketRefs: data (chained frames made
    /// contiguous in `bounce`), lengths, the capture time, link type, port
    /// and queue.
    void to_refs(rte_mbuf* const* ms, uint16_t got, uint16_t queue, PacketRef* pkts,
                 uint8_t* bounce, size_t bounce_size, uint64_t tsc_ns) const {
        size_t bounce_used = 0;
        uint64_t bad_ip = 0;
        uint64_t bad_l4 = 0;
        for (uint16_t i = 0; i < got; ++i) {
            rte_mbuf* m = ms[i];
            if (i + 1 < got) {
                rte_prefetch0(rte_pktmbuf_mtod(ms[i + 1], void*));
            }
            PacketRef& r = pkts[i];
            r.wirelen = m->pkt_len;
            if (m->nb_segs == 1) {
                r.data = rte_pktmbuf_mtod(m, const uint8_t*);
                r.caplen = m->data_len;
            } else {
                uint32_t len = m->pkt_len;
                if (bounce_used + len > bounce_size) {
                    len = bounce_used < bounce_size
                              ? static_cast<uint32_t>(bounce_size - bounce_used)
                              : 0;
                }
                const void* p = rte_pktmbuf_read(m, 0, len, bounce + bounce_used);
                r.data = static_cast<const uint8_t*>(p);
                r.caplen = len;
                if (p == bounce + bounce_used) {
                    bounce_used += len;
                }
            }
            const uint32_t mult = m->port < ts_mult_.size() ? ts_mult_[m->port] : 0;
            if (mult != 0 && ts_flag_ != 0 && (m->ol_flags & ts_flag_) != 0) {
                r.ts_ns = *RTE_MBUF_DYNFIELD(m, ts_offset_, rte_mbuf_timestamp_t*) * mult;
            } else {
                r.ts_ns = tsc_ns;
            }
            r.linktype = cfg_.linktype;
            r.port = m->port;
            r.queue = queue;
            bad_ip += (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD;
            bad_l4 += (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD;
        }
        // Rare: one shared counter update per burst that has any.
        if (bad_ip != 0) {
            ip_csum_bad_.fetch_add(bad_ip, std::memory_order_relaxed);
        }
        if (bad_l4 != 0) {
            l4_csum_bad_.fetch_add(bad_l4, std::memory_order_relaxed);
        }
    }

    const std::vector<uint16_t>& ports() const { return ports_; }

private:
    void release() {
        all_.reset();  // frees the mbufs it holds
        for (uint16_t p : ports_) {
            if (std::find(started_.begin(), started_.end(), p) != started_.end()) {
                rte_eth_dev_stop(p);
            }
            rte_eth_dev_close(p);
        }
        ports_.clear();
        started_.clear();
        for (auto& [socket, mp] : pools_) {
            rte_mempool_free(mp);
        }
        pools_.clear();
        if (eal_up_) {
            rte_eal_cleanup();
            eal_up_ = false;
        }
    }

    uint16_t queues_of(uint16_t port) const {
        auto it = cfg_.port_queues.find(port);
        if (it != cfg_.port_queues.end()) {
            return it->second;
        }
        return cfg_.rx_queues != 0 ? cfg_.rx_queues : cfg_.auto_queues;
    }

    /// The port's NUMA socket (0 when the device does not say).
    static int socket_of(uint16_t port) {
        int s = rte_eth_dev_socket_id(port);
        return s < 0 ? 0 : s;
    }

    void init() {
        std::vector<std::string> args = split_args(cfg_.eal_args);
        args.insert(args.begin(), "spate");
        std::vector<char*> argv;
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        // Everything the EAL says while it starts and the ports are set up
        // is kept, to tell the cause of a refusal in a line and the next
        // step; the whole of it is shown only with --verbose.
        capture_log(-1);
        struct EndCapture {
            bool done = false;
            ~EndCapture() {
                if (!done) {
                    end_capture(0);  // a refusal: its summary says it all
                }
            }
        } guard;
        int rc = 0;
        int err = 0;
        std::vector<std::string> raw;
        {
            StdCapture std_text;
            set_tee(cfg_.verbose ? std_text.real_stderr() : -1);
            rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
            err = rte_errno;
            set_tee(cfg_.verbose ? STDERR_FILENO : -1);
            raw = std_text.finish();
        }
        if (cfg_.verbose) {
            for (const std::string& l : raw) {
                std::fprintf(stderr, "%s\n", l.c_str());
            }
        }
        const bool hidden = !cfg_.verbose;
        if (rc < 0) {
            std::vector<std::string> lines = captured_lines();
            lines.insert(lines.end(), raw.begin(), raw.end());
            const eal::Diagnosis d =
                eal::diagnose_init_failure(lines, err, cfg_.eal_args, eal::machine_facts());
            throw PortConfigError(d.cause, d.next_step, hidden);
        }
        // A device the EAL was asked for but could not start is a refusal
        // too, not a run on the others.
        if (auto d = eal::diagnose_probe_failure(captured_lines(), cfg_.eal_args,
                                                 eal::machine_facts())) {
            throw PortConfigError(d->cause, d->next_step, hidden);
        }
        uint16_t p = 0;
        RTE_ETH_FOREACH_DEV(p) {
            ports_.push_back(p);
        }
        if (ports_.empty()) {
            const eal::Diagnosis d = eal::diagnose_no_port(cfg_.eal_args);
            throw PortConfigError(d.cause, d.next_step, hidden);
        }
        if (!cfg_.port_queues.empty()) {
            // With an rx-map only the mapped ports are started.
            for (const auto& [port, queues] : cfg_.port_queues) {
                if (std::find(ports_.begin(), ports_.end(), port) == ports_.end()) {
                    throw PortConfigError(
                        "rx-map: port " + std::to_string(port) + " does not exist (" +
                            std::to_string(ports_.size()) + " port(s) probed)",
                        "ports are numbered from 0 in the order of the devices in --eal (--vdev, "
                        "-a); map only those");
                }
            }
            std::vector<uint16_t> mapped;
            for (uint16_t port : ports_) {
                if (cfg_.port_queues.count(port)) {
                    mapped.push_back(port);
                }
            }
            ports_ = mapped;
        }
        // One mempool per NUMA socket that has ports, sized for that socket's
        // descriptors plus bursts in flight and the per-lcore caches.
        std::map<int, uint32_t> desc_per_socket;
        for (uint16_t port : ports_) {
            desc_per_socket[socket_of(port)] +=
                static_cast<uint32_t>(queues_of(port)) * cfg_.rx_desc;
        }
        for (const auto& [socket, desc_total] : desc_per_socket) {
            uint32_t mbufs = cfg_.mbufs != 0 ? cfg_.mbufs : desc_total + 4 * kMaxBurst + 512;
            std::string name = "spate_rx_" + std::to_string(socket);
            rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), mbufs, 256, 0,
                                                      RTE_MBUF_DEFAULT_BUF_SIZE, socket);
            if (mp == nullptr) {
                throw PortConfigError(
                    "--mbufs: a mempool of " + std::to_string(mbufs) + " mbufs on socket " +
                        std::to_string(socket) + ": " + std::string(rte_strerror(rte_errno)),
                    "lower --rx-desc or --mbufs, or give the EAL more memory with -m in --eal");
            }
            pools_[socket] = mp;
        }
        // Register the timestamp field so that devices which offer it fill it.
        rte_mbuf_dyn_rx_timestamp_register(&ts_offset_, nullptr);
        std::ostringstream desc;
        desc << "dpdk:";
        for (uint16_t port : ports_) {
            setup_port(port, desc);
        }
        int flag = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
        int off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
        if (flag >= 0 && off >= 0) {
            ts_flag_ = RTE_BIT64(flag);
            ts_offset_ = off;
        }
        description_ = desc.str();
        // Packet times without a device timestamp: the TSC, anchored once
        // to the wall clock here and converted in integers from then on
        // (TscClock), so a wall-clock step later does not move them.
        base_tsc_ = rte_rdtsc();
        base_ns_ = realtime_ns();
        all_ = make_source(queues_);
        // Started: the EAL's warnings and errors are worth seeing (a device
        // that was skipped, memory); the rest only with --verbose (shown already).
        guard.done = true;
        end_capture(cfg_.verbose ? 0 : RTE_LOG_WARNING);
    }

    void setup_port(uint16_t port, std::ostringstream& desc) {
        const std::string name = "port " + std::to_string(port);
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(port, &info) != 0) {
            throw std::runtime_error(name + ": cannot read device info" + driver_said());
        }
        uint16_t queues = queues_of(port);
        if (cfg_.rx_queues == 0 && cfg_.port_queues.empty() && queues > info.max_rx_queues) {
            queues = info.max_rx_queues;  // automatic: as many as the device allows
        }
        if (queues > info.max_rx_queues) {
            throw PortConfigError(
                name + " (" + info.driver_name + "): " + std::to_string(queues) +
                    " RX queues requested, the device allows " + std::to_string(info.max_rx_queues),
                "ask for at most " + std::to_string(info.max_rx_queues) +
                    " with --rx-queues (or in rx-map), or leave --rx-queues at 0");
        }
        // Device timestamps have no common unit: use them only where it is
        // known (net_pcap: microseconds of the capture file's time), else the TSC.
        if (ts_mult_.size() <= port) {
            ts_mult_.resize(port + 1, 0);
        }
        ts_mult_[port] = std::strcmp(info.driver_name, "net_pcap") == 0 ? 1000 : 0;
        rte_eth_conf conf{};
        uint64_t offloads = 0;
        if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
            offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
        }
        if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) {
            offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
        }
        // Checksums verified by the device: packets with bad IP or L4
        // checksums are counted (and still analysed: a probe sees what the wire
        // carries). Only the parts the device offers are requested.
        offloads |= info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
        conf.rxmode.offloads = offloads;
        // Several queues on a device with RSS: the symmetric key, so both
        // directions of a flow reach one queue (and one worker lcore).
        std::vector<uint8_t> key;
        const uint64_t want_hf = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
        const bool rss = queues > 1 && info.flow_type_rss_offloads != 0;
        if (rss) {
            key = symmetric_rss_key(info.hash_key_size != 0 ? info.hash_key_size : kRssKeyLen);
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_key = key.data();
            conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
            conf.rx_adv_conf.rss_conf.rss_hf = want_hf & info.flow_type_rss_offloads;
        } else if (queues > 1 && log_ != nullptr) {
            log_(false,
                 name + " (" + info.driver_name +
                     ") has no RSS: each queue delivers what the device puts on it, so a flow seen "
                     "on two queues is split between workers");
        }
        int rc = rte_eth_dev_configure(port, queues, 0, &conf);
        if (rc != 0) {
            rc = rte_eth_dev_configure(port, queues, 1, &conf);
        }
        if (rc != 0) {
            throw std::runtime_error(
                name + ": configure failed: " + std::string(rte_strerror(-rc)) + driver_said());
        }
        uint16_t nb_rx = cfg_.rx_desc;
        uint16_t nb_tx = 0;
        rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rx, &nb_tx);
        rte_eth_rxconf rxconf = info.default_rxconf;
        rxconf.offloads = offloads;
        for (uint16_t q = 0; q < queues; ++q) {
            rc = rte_eth_rx_queue_setup(port, q, nb_rx, rte_eth_dev_socket_id(port), &rxconf,
                                        pools_.at(socket_of(port)));
            if (rc != 0) {
                throw std::runtime_error(name + ": RX queue " + std::to_string(q) +
                                         " setup failed: " + std::string(rte_strerror(-rc)) +
                                         driver_said());
            }
            queues_.emplace_back(port, q);
        }
        if (cfg_.mtu != 0) {
            if (cfg_.mtu < info.min_mtu || cfg_.mtu > info.max_mtu) {
                throw PortConfigError("--mtu: " + std::to_string(cfg_.mtu) + " is outside " + name +
                                          "'s range " + std::to_string(info.min_mtu) + ".." +
                                          std::to_string(info.max_mtu),
                                      "give --mtu within the range, or 0 for the device's default");
            }
            rc = rte_eth_dev_set_mtu(port, cfg_.mtu);
            if (rc != 0) {
                throw PortConfigError("--mtu: " + name + " (" + info.driver_name +
                                          ") refused MTU " + std::to_string(cfg_.mtu) + ": " +
                                          std::string(rte_strerror(-rc)),
                                      "leave --mtu at 0 (the device's default) for this device");
            }
        }
        rc = rte_eth_dev_start(port);
        if (rc != 0) {
            throw std::runtime_error(name + ": start failed: " + std::string(rte_strerror(-rc)) +
                                     driver_said());
        }
        started_.push_back(port);
        if (cfg_.promiscuous) {
            rte_eth_promiscuous_enable(port);  // not every vdev supports it; harmless
        }
        // Wait for the link (with a timeout): a capture port that is down is
        // worth a warning, not a silent empty run.
        std::string link_text;
        if (cfg_.link_wait_s > 0) {
            rte_eth_link link{};
            const uint64_t deadline = mono_ns() + static_cast<uint64_t>(cfg_.link_wait_s * 1e9);
            for (;;) {
                rte_eth_link_get_nowait(port, &link);
                if (link.link_status == RTE_ETH_LINK_UP || mono_ns() >= deadline) {
                    break;
                }
                rte_delay_ms(100);
            }
            if (link.link_status == RTE_ETH_LINK_UP) {
                // (rte_eth_link_speed_to_str is still experimental in 22.11.)
                link_text = ", link up " + (link.link_speed >= 1000 && link.link_speed % 1000 == 0
                                                ? std::to_string(link.link_speed / 1000) + " Gbps"
                                                : std::to_string(link.link_speed) + " Mbps");
            } else {
                link_text = ", link DOWN";
                if (log_ != nullptr) {
                    log_(false, name + ": link still down after " +
                                    std::to_string(cfg_.link_wait_s) +
                                    " s (--link-wait); receiving anyway");
                }
            }
        }
        uint16_t mtu_now = 0;
        rte_eth_dev_get_mtu(port, &mtu_now);
        link_text += ", MTU " + std::to_string(mtu_now);
        std::string rss_text;
        if (rss) {
            // An explicit redirection table spread evenly over the queues.
            if (info.reta_size > 0) {
                std::vector<uint16_t> reta = rss_reta(info.reta_size, queues);
                std::vector<rte_eth_rss_reta_entry64> conf_reta(
                    (info.reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
                for (size_t i = 0; i < reta.size(); ++i) {
                    auto& g = conf_reta[i / RTE_ETH_RETA_GROUP_SIZE];
                    g.mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
                    g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = reta[i];
                }
                if (rte_eth_dev_rss_reta_update(port, conf_reta.data(), info.reta_size) != 0 &&
                    log_ != nullptr) {
                    log_(false, name +
                                    ": the RSS redirection table could not be set; the device's "
                                    "default is used");
                }
            }
            rte_eth_rss_conf granted{};
            uint8_t granted_key[64];
            granted.rss_key = granted_key;
            granted.rss_key_len = sizeof(granted_key);
            rte_eth_dev_rss_hash_conf_get(port, &granted);
            std::ostringstream r;
            r << ", RSS hash fields requested 0x" << std::hex
              << (want_hf & info.flow_type_rss_offloads) << " granted 0x" << granted.rss_hf
              << std::dec << ", symmetric key " << key.size() << " bytes, reta " << info.reta_size;
            rss_text = r.str();
        }
        desc << " " << name << " (" << info.driver_name << ", " << queues << " RX queue(s) x "
             << nb_rx << " descriptors requested " << cfg_.rx_desc << ", offloads"
             << ((offloads & RTE_ETH_RX_OFFLOAD_TIMESTAMP) ? " timestamp" : "")
             << ((offloads & RTE_ETH_RX_OFFLOAD_SCATTER) ? " scatter" : "")
             << ((offloads & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) ? " ipv4-cksum" : "")
             << ((offloads & RTE_ETH_RX_OFFLOAD_UDP_CKSUM) ? " udp-cksum" : "")
             << ((offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) ? " tcp-cksum" : "")
             << (offloads == 0 ? " none" : "")
             << (ts_mult_[port] ? "; capture timestamps from the device"
                                : "; timestamps from the TSC")
             << link_text << rss_text << ")";
    }

    DpdkPortConfig cfg_;
    PortLogFn log_;
    std::vector<uint16_t> ports_;
    std::vector<uint16_t> started_;  ///< ports whose rte_eth_dev_start() worked
    std::vector<std::pair<uint16_t, uint16_t>> queues_;
    std::map<int, rte_mempool*> pools_;  ///< RX mempool per NUMA socket
    std::unique_ptr<BurstSource> all_;   ///< every queue: rx_burst()
    int ts_offset_ = -1;
    std::vector<uint32_t> ts_mult_;  ///< per port: device timestamp unit in ns, 0 = use the TSC
    uint64_t ts_flag_ = 0;
    uint64_t base_tsc_ = 0;
    uint64_t base_ns_ = 0;
    std::atomic<bool> stop_{false};
    /// Packets the device marked with a bad IP / L4 checksum (checksum offload).
    mutable std::atomic<uint64_t> ip_csum_bad_{0};
    mutable std::atomic<uint64_t> l4_csum_bad_{0};
    bool eal_up_ = false;
    std::string description_;
};

/// Polls some of a port's queues for one thread: bursts of mbufs as
/// PacketRefs, held until the next call (then freed in bulk).
class DpdkQueueSource final : public BurstSource {
public:
    DpdkQueueSource(const DpdkPort& port, std::vector<std::pair<uint16_t, uint16_t>> queues)
        : port_(port),
          queues_(std::move(queues)),
          clock_(port.make_clock()),
          bounce_(size_t{kMaxBurst} * 16384) {}

    ~DpdkQueueSource() override { free_held(); }
    DpdkQueueSource(const DpdkQueueSource&) = delete;
    DpdkQueueSource& operator=(const DpdkQueueSource&) = delete;

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override {
        free_held();
        status = RxStatus::ok;
        if (port_.stopping()) {
            status = RxStatus::end;
            return 0;
        }
        if (n > kMaxBurst) {
            n = kMaxBurst;
        }
        // Each call tries the queues round-robin until one has frames.
        uint16_t got = 0;
        uint16_t got_queue = 0;
        for (size_t tried = 0; tried < queues_.size() && got == 0; ++tried) {
            const auto [port, queue] = queues_[next_];
            next_ = next_ + 1 == queues_.size() ? 0 : next_ + 1;
            got = rte_eth_rx_burst(port, queue, held_, n);
            got_queue = queue;
        }
        if (got == 0) {
            return 0;
        }
        held_count_ = got;
        // One clock read per burst: the TSC, for devices without timestamps.
        port_.to_refs(held_, got, got_queue, pkts, bounce_.data(), bounce_.size(),
                      clock_.ns(rte_rdtsc()));
        return got;
    }

private:
    void free_held() {
        if (held_count_ > 0) {
            rte_pktmbuf_free_bulk(held_, held_count_);
            held_count_ = 0;
        }
    }

    const DpdkPort& port_;
    std::vector<std::pair<uint16_t, uint16_t>> queues_;
    size_t next_ = 0;
    TscClock clock_;
    rte_mbuf* held_[kMaxBurst] = {};
    uint16_t held_count_ = 0;
    std::vector<uint8_t> bounce_;
};

uint16_t DpdkPort::rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) {
    return all_->rx_burst(pkts, n, status);
}

std::unique_ptr<BurstSource> DpdkPort::make_source(
    const std::vector<std::pair<uint16_t, uint16_t>>& queues) const {
    return std::make_unique<DpdkQueueSource>(*this, queues);
}

}  // namespace

namespace {

/// The lcores the EAL enabled, "0,1,3".
std::string enabled_lcores() {
    std::string out;
    unsigned l = 0;
    RTE_LCORE_FOREACH(l) {
        out += (out.empty() ? "" : ",") + std::to_string(l);
    }
    return out;
}

/// Why `key`'s lcore `l` is not enabled, and what to do: an lcore the
/// machine lacks is told apart from one left out of -l.
[[noreturn]] void lcore_not_enabled(const char* key, unsigned l) {
    const std::string machine = eal::machine_facts().lcores;
    throw PortConfigError(std::string(key) + ": lcore " + std::to_string(l) +
                              " is not enabled in the EAL (enabled: " + enabled_lcores() +
                              "; this machine has lcores " + machine + ")",
                          "use lcores from " + machine +
                              ", each listed in -l in --eal ([eal] args) after the main lcore");
}

}  // namespace

void check_worker_lcores(const std::vector<unsigned>& lcores, int exporter_lcore) {
    if (exporter_lcore >= 0) {
        const auto e = static_cast<unsigned>(exporter_lcore);
        if (e >= RTE_MAX_LCORE || !rte_lcore_is_enabled(e)) {
            lcore_not_enabled("exporter-lcore", e);
        }
        if (e == rte_get_main_lcore()) {
            throw PortConfigError("exporter-lcore: lcore " + std::to_string(e) +
                                      " is the main lcore, which runs control and statistics",
                                  "give the exporter another lcore listed in -l, or leave "
                                  "--exporter-lcore at -1 (a thread)");
        }
        if (std::find(lcores.begin(), lcores.end(), e) != lcores.end()) {
            throw PortConfigError("exporter-lcore: lcore " + std::to_string(e) +
                                      " is used twice: it also polls queues in rx-map",
                                  "give the exporter an lcore of its own in -l");
        }
    }
    for (unsigned l : lcores) {
        if (l >= RTE_MAX_LCORE || !rte_lcore_is_enabled(l)) {
            lcore_not_enabled("rx-map", l);
        }
        if (l == rte_get_main_lcore()) {
            throw PortConfigError(
                "rx-map: lcore " + std::to_string(l) +
                    " is the main lcore, which runs control and statistics; give it no queue",
                "map the queues to the other lcores of -l (the first one listed is the main "
                "lcore)");
        }
    }
    unsigned l = 0;
    RTE_LCORE_FOREACH_WORKER(l) {
        if (std::find(lcores.begin(), lcores.end(), l) == lcores.end() &&
            static_cast<int>(l) != exporter_lcore) {
            throw PortConfigError("rx-map: worker lcore " + std::to_string(l) +
                                      " is enabled in the EAL but polls no queue",
                                  "map a queue to it, or drop it from -l in --eal");
        }
    }
}

std::unique_ptr<BurstSource> make_dpdk_queue_source(
    PortDriver& port, const std::vector<std::pair<uint16_t, uint16_t>>& queues) {
    auto& dp = static_cast<DpdkPort&>(port);
    for (const auto& q : queues) {
        if (std::find(dp.queues().begin(), dp.queues().end(), q) == dp.queues().end()) {
            throw PortConfigError("rx-map: port " + std::to_string(q.first) + " has no RX queue " +
                                      std::to_string(q.second),
                                  "map queues 0..N-1 of each port, N at most what the device "
                                  "allows");
        }
    }
    return dp.make_source(queues);
}

void wait_lcores() {
    rte_eal_mp_wait_lcore();
}

namespace {
int run_on_lcore(void* arg) {
    (*static_cast<std::function<void()>*>(arg))();
    return 0;
}
}  // namespace

void launch_on_lcore(unsigned lcore, std::function<void()>& fn) {
    if (rte_eal_remote_launch(run_on_lcore, &fn, lcore) != 0) {
        throw std::runtime_error("lcore " + std::to_string(lcore) + " is busy");
    }
}

std::unique_ptr<PortDriver> make_dpdk_port(const DpdkPortConfig& cfg, PortLogFn log) {
    return std::make_unique<DpdkPort>(cfg, log);
}

}  // namespace spate
