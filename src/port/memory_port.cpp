// The bench harness's in-memory port (see memory_port.hpp).
#include "spate/port/memory_port.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "spate/flow/flow_key.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/port/capture_file.hpp"

namespace spate {

namespace {

uint64_t mono_ns() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return uint64_t(t.tv_sec) * 1'000'000'000ULL + uint64_t(t.tv_nsec);
}

uint16_t add1c(uint32_t a, uint32_t b) {
    uint32_t s = a + b;
    return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

/// Checksum-neutral bijection on the 32 bits at p (make_bench.py's): the
/// first 16-bit word gains c, the second loses it (ones' complement), so IP
/// and TCP/UDP checksums stay valid.
void shift_addr(uint8_t* p, uint16_t c) {
    uint16_t w1 = static_cast<uint16_t>(p[0] << 8 | p[1]);
    uint16_t w2 = static_cast<uint16_t>(p[2] << 8 | p[3]);
    w1 = add1c(w1, c);
    w2 = add1c(w2, 0xffffu - c);
    p[0] = uint8_t(w1 >> 8);
    p[1] = uint8_t(w1);
    p[2] = uint8_t(w2 >> 8);
    p[3] = uint8_t(w2);
}

uint16_t loop_shift(uint64_t loop) {
    return loop == 0 ? 0 : static_cast<uint16_t>((loop * 0x0101 + 0x0d00) & 0xffff);
}

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, uint16_t(v >> 16));
    put16(p + 2, uint16_t(v));
}

constexpr uint32_t kMaxFrame = 65535;

}  // namespace

std::shared_ptr<PacketStore> PacketStore::load(const std::vector<std::string>& files) {
    auto s = std::make_shared<PacketStore>();
    parse::DecoderConfig dc;
    parse::Decoder dec(dc);
    parse::DecodedPacket d;
    uint64_t first = 0;
    uint64_t last = 0;
    for (const std::string& f : files) {
        CaptureFile cf = CaptureFile::open(f);
        s->nanosecond_ |= cf.nanosecond();
        PacketRef ref;
        for (;;) {
            CaptureFile::Next n = cf.next(ref);
            if (n != CaptureFile::Next::packet) {
                if (n != CaptureFile::Next::end) {
                    std::fprintf(stderr, "spate-bench: warning: %s\n", cf.message().c_str());
                }
                break;
            }
            Packet p{};
            p.offset = s->bytes_.size();
            p.caplen = std::min<uint32_t>(ref.caplen, kMaxFrame);
            p.wirelen = ref.wirelen;
            p.linktype = ref.linktype;
            p.ip_off = 0xffff;
            if (s->packets_.empty()) {
                first = ref.ts_ns;
            }
            // Files follow one another in time, whatever their own clocks say.
            const uint64_t ts = ref.ts_ns >= first ? ref.ts_ns - first : 0;
            p.ts_ns = std::max(ts, last);
            last = p.ts_ns;
            ref.caplen = p.caplen;
            if (dec.decode(ref, d) == parse::DecodeStatus::ok) {
                p.flow_hash = static_cast<uint32_t>(symmetric_hash(d.key));
                if (d.l3_off + 20u <= p.caplen) {
                    p.ip_off = d.l3_off;
                    p.ip_version = d.key.ip_version;
                }
            }
            s->bytes_.insert(s->bytes_.end(), ref.data, ref.data + p.caplen);
            s->bytes_total_ += p.wirelen;
            s->packets_.push_back(p);
        }
    }
    if (s->packets_.empty()) {
        throw std::runtime_error("no packets in the captures given");
    }
    s->base_ts_ns_ = first;
    const uint64_t span = s->packets_.back().ts_ns;
    s->duration_ns_ = span + span / s->packets_.size() + 1;
    std::ostringstream os;
    os << s->packets_.size() << " packets from " << files.size() << " capture(s)";
    s->description_ = os.str();
    return s;
}

std::shared_ptr<PacketStore> PacketStore::synthetic(uint64_t flows, uint32_t packets_per_flow,
                                                    uint32_t payload) {
    if (flows == 0 || flows > (1ULL << 24)) {
        throw std::runtime_error("--flows: must be between 1 and 16777216");
    }
    auto s = std::make_shared<PacketStore>();
    s->synthetic_flows_ = flows;
    s->synthetic_ppf_ = std::max<uint32_t>(packets_per_flow, 4);
    s->synthetic_payload_ = std::min<uint32_t>(payload, 1400);
    // 100 ns apart: a flow's packets are `flows` packets apart in time.
    s->duration_ns_ = s->synthetic_packets() * 100;
    s->base_ts_ns_ = 1'700'000'000ULL * 1'000'000'000ULL;
    s->nanosecond_ = true;
    for (uint64_t i = 0; i < s->synthetic_packets(); ++i) {
        const uint32_t step = static_cast<uint32_t>(i / flows);
        const bool data = step >= 3 && step + 2 < s->synthetic_ppf_;
        s->bytes_total_ += 54 + (data ? s->synthetic_payload_ : 0);
        if (i > 4 * flows) {
            // The rest repeats the data pattern: extrapolate instead of summing 10M x 8.
            s->bytes_total_ = s->bytes_total_ * s->synthetic_packets() / (i + 1);
            break;
        }
    }
    std::ostringstream os;
    os << flows << " synthetic TCP flows x " << s->synthetic_ppf_ << " packets";
    s->description_ = os.str();
    return s;
}

std::shared_ptr<PacketStore> PacketStore::subset(uint32_t parts, uint32_t part) const {
    auto s = std::make_shared<PacketStore>(*this);
    if (parts <= 1) {
        return s;
    }
    if (synthetic_flows_ != 0) {
        s->synthetic_flows_ = synthetic_flows_ / parts + (part < synthetic_flows_ % parts ? 1 : 0);
        s->synthetic_stride_ = synthetic_stride_ * parts;
        s->synthetic_offset_ = synthetic_offset_ + part * synthetic_stride_;
        s->bytes_total_ = bytes_total_ / parts;
        s->duration_ns_ = s->synthetic_packets() * 100;
        return s;
    }
    s->bytes_.clear();
    s->packets_.clear();
    s->bytes_total_ = 0;
    for (const Packet& p : packets_) {
        if (p.flow_hash % parts != part) {
            continue;
        }
        Packet q = p;
        q.offset = s->bytes_.size();
        s->bytes_.insert(s->bytes_.end(), bytes_.begin() + long(p.offset),
                         bytes_.begin() + long(p.offset + p.caplen));
        s->bytes_total_ += p.wirelen;
        s->packets_.push_back(q);
    }
    return s;
}

void PacketStore::materialise(uint64_t i, uint64_t loop, uint8_t* out, uint32_t cap, PacketRef& ref,
                              bool may_alias) const {
    const uint16_t shift = loop_shift(loop);
    ref.port = 0;
    ref.queue = 0;
    if (synthetic_flows_ == 0) {
        const Packet& p = packets_[i];
        ref.wirelen = p.wirelen;
        ref.linktype = p.linktype;
        ref.ts_ns = base_ts_ns_ + loop * duration_ns_ + p.ts_ns;
        const uint8_t* src = bytes_.data() + p.offset;
        if ((shift == 0 || p.ip_off == 0xffff) && may_alias) {
            ref.data = src;
            ref.caplen = p.caplen;
            return;
        }
        const uint32_t n = std::min(p.caplen, cap);
        std::memcpy(out, src, n);
        if (shift != 0 && p.ip_off != 0xffff) {
            uint8_t* ip = out + p.ip_off;
            if (p.ip_version == 4 && p.ip_off + 20u <= n) {
                shift_addr(ip + 12, shift);
                shift_addr(ip + 16, shift);
            } else if (p.ip_version == 6 && p.ip_off + 40u <= n) {
                shift_addr(ip + 8, shift);
                shift_addr(ip + 24, shift);
            }
        }
        ref.data = out;
        ref.caplen = n;
        return;
    }
    // Synthetic: flow f, step s of its exchange.
    const uint64_t f = (i % synthetic_flows_) * synthetic_stride_ + synthetic_offset_;
    const uint32_t step = static_cast<uint32_t>(i / synthetic_flows_);
    const uint32_t last = synthetic_ppf_ - 1;
    const bool from_server =
        step == 1 || (step >= 3 && step < last - 1 && step % 2 == 0) || step == last;
    uint8_t flags = 0x10;  // ACK
    uint32_t len = 0;
    if (step == 0) {
        flags = 0x02;
    } else if (step == 1) {
        flags = 0x12;
    } else if (step + 1 >= last) {
        flags = 0x11;  // FIN ACK from each side
    } else if (step >= 3) {
        flags = 0x18;
        len = synthetic_payload_;
    }
    const uint32_t frame = 14 + 20 + 20 + len;
    const uint32_t n = std::min(frame, cap);
    uint8_t hdr[54] = {};
    std::memset(hdr, 0x02, 12);
    put16(hdr + 12, 0x0800);
    uint8_t* ip = hdr + 14;
    ip[0] = 0x45;
    put16(ip + 2, static_cast<uint16_t>(40 + len));
    ip[8] = 64;
    ip[9] = 6;
    uint8_t client[4] = {10, uint8_t(f >> 16), uint8_t(f >> 8), uint8_t(f)};
    uint8_t server[4] = {192, 0, 2, uint8_t(1 + f % 200)};
    std::memcpy(ip + 12, from_server ? server : client, 4);
    std::memcpy(ip + 16, from_server ? client : server, 4);
    if (shift != 0) {
        shift_addr(ip + 12, shift);
        shift_addr(ip + 16, shift);
    }
    uint8_t* tcp = ip + 20;
    const uint16_t cport = static_cast<uint16_t>(1024 + f % 50000);
    put16(tcp, from_server ? 443 : cport);
    put16(tcp + 2, from_server ? cport : 443);
    put32(tcp + 4, (from_server ? 5000u : 1000u) + step * synthetic_payload_);
    put32(tcp + 8, 1);
    tcp[12] = 0x50;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    std::memcpy(out, hdr, std::min<uint32_t>(54, n));
    if (n > 54) {
        std::memset(out + 54, 0x61 + int(f % 26), n - 54);
    }
    ref.data = out;
    ref.caplen = n;
    ref.wirelen = frame;
    ref.linktype = 1;
    ref.ts_ns = base_ts_ns_ + loop * duration_ns_ + i * 100;
}

namespace {

class MemoryPort final : public PortDriver {
public:
    MemoryPort(std::shared_ptr<const PacketStore> store, const MemoryPortConfig& cfg)
        : store_(std::move(store)), cfg_(cfg), bounce_(size_t{kBurstMax} * kMaxFrame) {}

    uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) override {
        status = RxStatus::ok;
        if (stop_.load(std::memory_order_relaxed)) {
            status = RxStatus::end;
            return 0;
        }
        const uint64_t now = mono_ns();
        if (start_ns_ == 0) {
            start_ns_ = now;
        }
        if (cfg_.duration_s > 0 && now - start_ns_ >= uint64_t(cfg_.duration_s * 1e9)) {
            status = RxStatus::end;
            return 0;
        }
        if ((cfg_.loops != 0 && loop_ >= cfg_.loops) || store_->size() == 0) {
            status = RxStatus::end;
            return 0;
        }
        pace(now);
        n = std::min<uint16_t>(n, kBurstMax);
        uint16_t got = 0;
        const bool paced = cfg_.rate_pps > 0 || cfg_.rate_gbps > 0 || cfg_.speed > 0;
        const uint64_t burst_now = paced ? mono_ns() : 0;
        // Rewritten packets are packed one after the other (64-byte aligned),
        // as a NIC fills its buffers, not at a fixed 64 KiB stride.
        size_t used = 0;
        while (got < n && (cfg_.loops == 0 || loop_ < cfg_.loops) &&
               used + kMaxFrame <= bounce_.size()) {
            if (paced && got > 0 && due_ns() > burst_now) {
                break;  // the rest of the burst is not due yet
            }
            PacketRef& r = pkts[got];
            uint8_t* at = bounce_.data() + used;
            store_->materialise(index_, loop_, at, kMaxFrame, r, true);
            if (r.data == at) {
                used += (r.caplen + 63) & ~size_t{63};
            }
            bytes_ += r.wirelen;
            ++got;
            ++packets_;
            if (++index_ == store_->size()) {
                index_ = 0;
                ++loop_;
            }
        }
        return got;
    }

    bool nanosecond_timestamps() const override { return store_->nanosecond(); }
    void request_stop() override { stop_.store(true, std::memory_order_relaxed); }

    PortStats stats() const override {
        PortStats s;
        s.packets = packets_;
        s.bytes = bytes_;
        s.files_done = loop_;
        return s;
    }

    std::string describe() const override {
        std::ostringstream os;
        os << "memory replay: " << store_->description();
        if (cfg_.loops != 0) {
            os << ", " << cfg_.loops << " loop(s)";
        }
        if (cfg_.duration_s > 0) {
            os << ", for " << cfg_.duration_s << " s";
        }
        if (cfg_.rate_pps > 0) {
            os << ", at " << cfg_.rate_pps << " pps";
        } else if (cfg_.rate_gbps > 0) {
            os << ", at " << cfg_.rate_gbps << " Gbps";
        } else if (cfg_.speed > 0) {
            os << ", at " << cfg_.speed << "x the capture's timing";
        } else {
            os << ", as fast as possible";
        }
        return os.str();
    }

private:
    static constexpr uint16_t kBurstMax = 64;

    /// When the next packet is due (rate modes), in ns of the monotonic
    /// clock; 0 when the replay is not paced.
    uint64_t due_ns() const {
        double due_s = 0;
        if (cfg_.rate_pps > 0) {
            due_s = double(packets_) / cfg_.rate_pps;
        } else if (cfg_.rate_gbps > 0) {
            due_s = double(bytes_) * 8 / (cfg_.rate_gbps * 1e9);
        } else if (cfg_.speed > 0) {
            const double cap_ns =
                double(loop_) * double(store_->duration_ns()) +
                (store_->synthetic_flows() != 0 ? double(index_) * 100 : double(ts_of(index_)));
            due_s = cap_ns / 1e9 / cfg_.speed;
        } else {
            return 0;
        }
        return start_ns_ + uint64_t(due_s * 1e9);
    }

    /// Waits until the next packet is due (rate modes).
    void pace(uint64_t now) {
        const uint64_t due = due_ns();
        while (due != 0 && now < due && !stop_.load(std::memory_order_relaxed)) {
            if (due - now > 200'000) {
                std::this_thread::sleep_for(std::chrono::nanoseconds(due - now - 100'000));
            }
            now = mono_ns();
        }
    }

    uint64_t ts_of(uint64_t i) const {
        PacketRef r;
        uint8_t tmp[64];
        store_->materialise(i, 0, tmp, sizeof(tmp), r, true);
        return r.ts_ns - store_->base_ts_ns();
    }

    std::shared_ptr<const PacketStore> store_;
    MemoryPortConfig cfg_;
    std::vector<uint8_t> bounce_;
    uint64_t index_ = 0;
    uint64_t loop_ = 0;
    uint64_t packets_ = 0;
    uint64_t bytes_ = 0;
    uint64_t start_ns_ = 0;
    std::atomic<bool> stop_{false};
};

}  // namespace

std::unique_ptr<PortDriver> make_memory_port(std::shared_ptr<const PacketStore> store,
                                             const MemoryPortConfig& cfg) {
    return std::make_unique<MemoryPort>(std::move(store), cfg);
}

}  // namespace spate
