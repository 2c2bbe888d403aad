// The libpcap port driver. Offline input goes through CaptureFile (memory
// mapped, so packets are handed out without a copy) and libpcap is used only
// for BPF; live input is libpcap's pcap_dispatch copying into a fixed arena.
#include "spate/port/pcap_port.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "spate/port/capture_file.hpp"

namespace spate {

namespace {

constexpr uint64_t kNsPerSec = 1000000000ull;

/// LINKTYPE values (in files and PacketRef) that libpcap's DLT values
/// differ from on some platforms; every other value is the same in both.
struct LinkMap {
    int linktype;
    int dlt;
};
constexpr LinkMap kLinkMap[] = {
    {100, DLT_ATM_RFC1483}, {101, DLT_RAW},  {102, DLT_SLIP_BSDOS}, {103, DLT_PPP_BSDOS},
    {106, DLT_ATM_CLIP},    {108, DLT_LOOP}, {109, DLT_ENC},        {117, DLT_PFLOG},
};

int linktype_to_dlt(int linktype) {
    for (const auto& m : kLinkMap) {
        if (m.linktype == linktype) {
            return m.dlt;
        }
    }
    return linktype;
}

int dlt_to_linktype(int dlt) {
    for (const auto& m : kLinkMap) {
        if (m.dlt == dlt) {
            return m.linktype;
        }
    }
    return dlt;
}

void report(PortLogFn log, bool is_error, const std::string& msg) {
    if (log != nullptr) {
        log(is_error, msg);
    }
}

/// One compiled filter for one link type (offline files can mix link types).
struct LinkFilter {
    uint16_t linktype = 0;
    pcap_t* dead = nullptr;
    bpf_program prog{};
    bool ok = false;
};

/// Compiles `expr` for `linktype`. On failure returns ok=false and puts
/// libpcap's error text in `err`.
LinkFilter compile_for(const std::string& expr, uint16_t linktype, int snaplen, std::string& err) {
    LinkFilter f;
    f.linktype = linktype;
    f.dead = pcap_open_dead(linktype_to_dlt(linktype), snaplen);
    if (f.dead == nullptr) {
        err = "cannot create a libpcap handle for link type " + std::to_string(linktype);
        return f;
    }
    if (pcap_compile(f.dead, &f.prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        err = pcap_geterr(f.dead);
        return f;
    }
    f.ok = true;
    return f;
}

void release(LinkFilter& f) {
    if (f.ok) {
        pcap_freecode(&f.prog);
    }
    if (f.dead != nullptr) {
        pcap_close(f.dead);
    }
    f = LinkFilter{};
}

/// Counters written by the rx thread once per burst and readable from any
/// thread (a stats reporter) without a lock: one writer, relaxed loads.
struct SharedStats {
    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> filtered{0};
    std::atomic<uint64_t> files_done{0};
    std::atomic<uint64_t> truncated_files{0};
    std::atomic<uint64_t> corrupt_files{0};
    std::atomic<uint64_t> time_steps_back{0};
    std::atomic<uint64_t> input_bytes_read{0};

    /// Single writer: a plain load and store, no locked instruction.
    static void add(std::atomic<uint64_t>& c, uint64_t n) {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }

    PortStats read() const {
        PortStats s;
        s.packets = packets.load(std::memory_order_relaxed);
        s.bytes = bytes.load(std::memory_order_relaxed);
        s.filtered = filtered.load(std::memory_order_relaxed);
        s.files_done = files_done.load(std::memory_order_relaxed);
        s.truncated_files = truncated_files.load(std::memory_order_relaxed);
        s.corrupt_files = corrupt_files.load(std::memory_order_relaxed);
        s.time_steps_back = time_steps_back.load(std::memory_order_relaxed);
        s.input_bytes_read = input_bytes_read.load(std::memory_order_relaxed);
        return s;
    }
};

std::string join_files(const std::vector<std::string>& files) {
    std::string s;
    for (const auto& f : files) {
        if (!s.empty()) {
            s += ", ";
        }
        s += f;
    }
    return s;
}

// ---------------------------------------------------------------------------

class OfflinePort final : public PortDriver {
public:
    OfflinePort(const PcapPortConfig& cfg, PortLogFn log) : cfg_(cfg), log_(log) {
        files_.reserve(cfg.files.size());
        for (const auto& path : cfg.files) {
            // Streamed: one reused buffer instead of touching every page of a
            // map (docs/PERFORMANCE.md); the dispatcher then copies packets.
            files_.push_back(CaptureFile::open(path, CaptureFile::Access::streamed));
            if (files_.back().nanosecond()) {
                nanosecond_ = true;
            }
        }
        bool known = true;
        for (const CaptureFile& f : files_) {
            known = known && f.size_known();
            total_bytes_ += f.size();
        }
        if (!known) {
            total_bytes_ = 0;  // stdin, a FIFO or a compressed file: no percent
        }
        if (!cfg.bpf.empty()) {
            // Compile once now so that a bad expression stops the start-up;
            // other link types are compiled when their first packet shows up.
            std::string err;
            LinkFilter f = compile_for(cfg.bpf, files_.front().linktype(), cfg.snaplen, err);
            if (!f.ok) {
                release(f);
                throw FilterError(cfg.bpf_option + ": " + err);
            }
            filters_.push_back(f);
        }
    }

    ~OfflinePort() override {
        for (auto& f : filters_) {
            release(f);
        }
    }

    OfflinePort(const OfflinePort&) = delete;
    OfflinePort& operator=(const OfflinePort&) = delete;

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override {
        uint16_t count = 0;
        uint64_t bytes = 0;
        uint64_t filtered = 0;
        uint64_t steps_back = 0;
        if (cur_ < files_.size()) {
            files_[cur_].begin_batch();  // the previous burst's packets are done with
        }
        bool batch_full = false;
        while (count < n && cur_ < files_.size() && !batch_full) {
            CaptureFile& file = files_[cur_];
            PacketRef& pkt = pkts[count];
            switch (file.next(pkt)) {
                case CaptureFile::Next::again:
                    batch_full = true;  // the rest in the next burst
                    continue;
                case CaptureFile::Next::packet:
                    // A step back of more than a second (a merge of files,
                    // a clock step at capture): counted, warned once per input.
                    if (pkt.ts_ns + kNsPerSec < last_ts_) [[unlikely]] {
                        time_back(file, pkt.ts_ns);
                        ++steps_back;
                    }
                    last_ts_ = pkt.ts_ns;
                    if (!filters_.empty() && !accept(pkt)) {
                        ++filtered;
                        continue;
                    }
                    bytes += pkt.caplen;
                    ++count;
                    continue;
                case CaptureFile::Next::end:
                    break;
                case CaptureFile::Next::truncated:
                    report(log_, false, file.message());
                    SharedStats::add(stats_.truncated_files, 1);
                    break;
                case CaptureFile::Next::corrupt:
                    report(log_, true, file.message());
                    SharedStats::add(stats_.corrupt_files, 1);
                    break;
            }
            SharedStats::add(stats_.files_done, 1);
            done_bytes_ += file.size_known() ? file.size() : file.bytes_read();
            ++cur_;
            last_ts_ = 0;
            warned_back_ = false;
            if (cur_ < files_.size()) {
                files_[cur_].begin_batch();
            }
        }
        SharedStats::add(stats_.packets, count);
        SharedStats::add(stats_.bytes, bytes);
        SharedStats::add(stats_.filtered, filtered);
        if (steps_back != 0) {
            SharedStats::add(stats_.time_steps_back, steps_back);
        }
        // Once per burst, for the progress line.
        stats_.input_bytes_read.store(
            done_bytes_ + (cur_ < files_.size() ? files_[cur_].bytes_read() : 0),
            std::memory_order_relaxed);
        // end only on an empty burst, so a caller that stops reading at
        // `end` never drops the last packets.
        status = (count == 0 && cur_ >= files_.size()) ? RxStatus::end : RxStatus::ok;
        return count;
    }

    bool nanosecond_timestamps() const override { return nanosecond_; }
    PortStats stats() const override {
        PortStats s = stats_.read();
        s.input_bytes_total = total_bytes_;
        return s;
    }

    std::string describe() const override {
        std::string s = "pcap files: " + join_files(cfg_.files);
        if (!cfg_.bpf.empty()) {
            s += " (filter: " + cfg_.bpf + ")";
        }
        return s;
    }

private:
    /// The first step back of an input: one warning line, never per packet.
    void time_back(const CaptureFile& file, uint64_t ts_ns) {
        if (warned_back_) {
            return;
        }
        warned_back_ = true;
        const uint64_t back_ms = (last_ts_ - ts_ns) / 1000000;
        report(log_, false,
               file.path() + ": packet timestamps go back " + std::to_string(back_ms / 1000) + "." +
                   std::to_string(back_ms % 1000 + 1000).substr(1) + " s at record " +
                   std::to_string(file.records_read()) +
                   " (warned once per input; steps back of more than a second are counted)");
    }

    bool accept(const PacketRef& pkt) {
        if (last_ == nullptr || last_->linktype != pkt.linktype) {
            last_ = filter_for(pkt.linktype);
        }
        if (!last_->ok) {
            return false;  // the expression means nothing for this link type (reported once)
        }
        pcap_pkthdr h{};
        h.caplen = pkt.caplen;
        h.len = pkt.wirelen;
        return pcap_offline_filter(&last_->prog, &h, pkt.data) != 0;
    }

    /// Runs on a change of link type only, never per packet.
    LinkFilter* filter_for(uint16_t linktype) {
        for (auto& f : filters_) {
            if (f.linktype == linktype) {
                return &f;
            }
        }
        std::string err;
        LinkFilter f = compile_for(cfg_.bpf, linktype, cfg_.snaplen, err);
        if (!f.ok) {
            report(log_, true,
                   cfg_.bpf_option + ": " + err + " (link type " + std::to_string(linktype) +
                       "; packets of this link type are dropped)");
        }
        filters_.push_back(f);
        return &filters_.back();
    }

    PcapPortConfig cfg_;
    PortLogFn log_;
    std::vector<CaptureFile> files_;
    size_t cur_ = 0;
    bool nanosecond_ = false;
    std::vector<LinkFilter> filters_;  // few entries; pointers re-looked-up on change
    LinkFilter* last_ = nullptr;
    uint64_t last_ts_ = 0;  ///< previous packet's time in the current input
    bool warned_back_ = false;
    uint64_t total_bytes_ = 0;  ///< of every file; 0: not known
    uint64_t done_bytes_ = 0;   ///< of the files finished
    SharedStats stats_;
};

// ---------------------------------------------------------------------------

class LivePort final : public PortDriver {
public:
    LivePort(const PcapPortConfig& cfg, PortLogFn log) : cfg_(cfg), log_(log) {
        const std::string& ifname = cfg.interface;
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        handle_ = pcap_create(ifname.c_str(), errbuf);
        if (handle_ == nullptr) {
            throw std::runtime_error(ifname + ": " + errbuf);
        }
        try {
            setup();
        } catch (...) {
            pcap_close(handle_);
            handle_ = nullptr;
            throw;
        }
    }

    ~LivePort() override {
        if (handle_ != nullptr) {
            pcap_close(handle_);
        }
    }

    LivePort(const LivePort&) = delete;
    LivePort& operator=(const LivePort&) = delete;

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override {
        if (failed_) {
            status = RxStatus::error;
            return 0;
        }
        if (stop_.load(std::memory_order_relaxed)) {
            status = RxStatus::end;
            return 0;
        }
        Burst b{this, pkts, 0, 0, 0};
        // Every packet is at most snaplen bytes, so capping the count keeps a
        // whole burst inside the arena.
        int cnt = static_cast<int>(std::min<size_t>(n, max_burst_));
        if (cnt == 0) {
            status = RxStatus::ok;
            return 0;
        }
        int rc = pcap_dispatch(handle_, cnt, &LivePort::on_packet, reinterpret_cast<u_char*>(&b));
        SharedStats::add(stats_.packets, b.count);
        SharedStats::add(stats_.bytes, b.bytes);
        if (rc == PCAP_ERROR_BREAK || (rc >= 0 && stop_.load(std::memory_order_relaxed))) {
            status = b.count == 0 ? RxStatus::end : RxStatus::ok;
            return b.count;
        }
        if (rc < 0) {
            report(log_, true, cfg_.interface + ": " + pcap_geterr(handle_));
            failed_ = true;
            status = RxStatus::error;
            return b.count;
        }
        status = RxStatus::ok;
        return b.count;
    }

    bool stable_buffers() const override { return false; }
    bool live() const override { return true; }
    bool blocking() const override { return true; }
    bool nanosecond_timestamps() const override { return nano_; }

    void request_stop() override {
        stop_.store(true, std::memory_order_relaxed);
        pcap_breakloop(handle_);
    }

    PortStats stats() const override {
        PortStats s = stats_.read();
        pcap_stat ps{};
        if (pcap_stats(handle_, &ps) == 0) {
            s.kernel_drops = ps.ps_drop;
            s.if_drops = ps.ps_ifdrop;
        }
        return s;
    }

    std::string detail() const override {
        const PortStats s = stats();
        return "pcap live " + cfg_.interface + ": kernel buffer " + std::to_string(cfg_.buffer_mb) +
               " MiB (--pcap-buffer); dropped by the kernel " + std::to_string(s.kernel_drops) +
               ", by the interface " + std::to_string(s.if_drops);
    }

    std::string describe() const override {
        std::string s = "pcap live: " + cfg_.interface + " (snaplen " + std::to_string(snaplen_) +
                        (cfg_.promiscuous ? ", promiscuous" : ", not promiscuous") +
                        (nano_ ? ", ns timestamps" : ", us timestamps") + ", buffer " +
                        std::to_string(cfg_.buffer_mb) + " MiB";
        if (!cfg_.bpf.empty()) {
            s += ", filter: " + cfg_.bpf;
        }
        return s + ")";
    }

private:
    struct Burst {
        LivePort* self;
        PacketRef* pkts;
        uint16_t count;
        size_t used;  // arena bytes
        uint64_t bytes;
    };

    static void on_packet(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
        auto* b = reinterpret_cast<Burst*>(user);
        LivePort& self = *b->self;
        uint32_t caplen = h->caplen;
        if (caplen > self.arena_.size() - b->used) {  // cannot happen with caplen <= snaplen
            caplen = static_cast<uint32_t>(self.arena_.size() - b->used);
        }
        uint8_t* dst = self.arena_.data() + b->used;
        std::memcpy(dst, bytes, caplen);
        b->used += caplen;
        PacketRef& p = b->pkts[b->count++];
        p.data = dst;
        p.caplen = caplen;
        p.wirelen = h->len;
        p.ts_ns = static_cast<uint64_t>(h->ts.tv_sec) * kNsPerSec +
                  static_cast<uint64_t>(h->ts.tv_usec) * (self.nano_ ? 1 : 1000);
        p.linktype = self.linktype_;
        p.port = 0;
        p.queue = 0;
        b->bytes += caplen;
    }

    void check(int rc, const char* what) {
        if (rc != 0) {
            throw std::runtime_error(cfg_.interface + ": cannot set " + what + ": " +
                                     pcap_statustostr(rc));
        }
    }

    /// "IFACE: <libpcap's text>", falling back to the status name when
    /// libpcap left no text (and never both when they say the same thing).
    std::string activate_message(int rc) const {
        std::string status = pcap_statustostr(rc);
        std::string detail = pcap_geterr(handle_);
        if (detail.empty() || detail == status) {
            return cfg_.interface + ": " + status;
        }
        if (rc == PCAP_ERROR || rc == PCAP_WARNING) {
            return cfg_.interface + ": " + detail;  // generic status: the text says it all
        }
        return cfg_.interface + ": " + status + " (" + detail + ")";
    }

    void setup() {
        const std::string& ifname = cfg_.interface;
        check(pcap_set_snaplen(handle_, cfg_.snaplen), "snaplen");
        check(pcap_set_promisc(handle_, cfg_.promiscuous ? 1 : 0), "promiscuous mode");
        check(pcap_set_timeout(handle_, 100), "read timeout");
        check(pcap_set_immediate_mode(handle_, 0), "immediate mode");
        if (cfg_.buffer_mb > 0) {
            check(pcap_set_buffer_size(handle_, cfg_.buffer_mb * 1024 * 1024), "buffer size");
        }
        // Ask for nanoseconds; libpcap keeps microseconds when it cannot.
        (void)pcap_set_tstamp_precision(handle_, PCAP_TSTAMP_PRECISION_NANO);

        int rc = pcap_activate(handle_);
        if (rc < 0) {
            throw std::runtime_error(activate_message(rc));
        }
        if (rc > 0) {
            report(log_, false, activate_message(rc));
        }
        nano_ = pcap_get_tstamp_precision(handle_) == PCAP_TSTAMP_PRECISION_NANO;
        linktype_ = static_cast<uint16_t>(dlt_to_linktype(pcap_datalink(handle_)));
        snaplen_ = pcap_snapshot(handle_);
        if (snaplen_ <= 0) {
            snaplen_ = cfg_.snaplen > 0 ? cfg_.snaplen : 262144;
        }

        if (!cfg_.bpf.empty()) {
            bpf_program prog{};
            if (pcap_compile(handle_, &prog, cfg_.bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
                throw FilterError(cfg_.bpf_option + ": " + std::string(pcap_geterr(handle_)));
            }
            int frc = pcap_setfilter(handle_, &prog);
            pcap_freecode(&prog);
            if (frc != 0) {
                throw std::runtime_error(ifname +
                                         ": cannot set the filter: " + pcap_geterr(handle_));
            }
        }

        // Fixed at start: 32 frames of snaplen, and at least 4 MiB.
        const size_t snap = static_cast<size_t>(snaplen_);
        size_t arena = std::max<size_t>(size_t{32} * snap, size_t{4} << 20);
        arena_.assign(arena, 0);
        max_burst_ = arena / snap;
    }

    PcapPortConfig cfg_;
    PortLogFn log_;
    pcap_t* handle_ = nullptr;
    std::vector<uint8_t> arena_;
    size_t max_burst_ = 0;
    int snaplen_ = 0;
    uint16_t linktype_ = 1;
    bool nano_ = false;
    bool failed_ = false;
    std::atomic<bool> stop_{false};
    SharedStats stats_;
};

}  // namespace

std::unique_ptr<PortDriver> make_pcap_port(const PcapPortConfig& cfg, PortLogFn log) {
    if (!cfg.files.empty() && !cfg.interface.empty()) {
        throw std::runtime_error("pcap port: give capture files or an interface, not both");
    }
    if (!cfg.files.empty()) {
        return std::make_unique<OfflinePort>(cfg, log);
    }
    if (!cfg.interface.empty()) {
        return std::make_unique<LivePort>(cfg, log);
    }
    throw std::runtime_error("pcap port: no capture file and no interface given");
}

}  // namespace spate
