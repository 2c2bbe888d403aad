// Fuzz target: the DNS parser (names, compression, sections, rdata checks)
// and the dns unit end to end — UDP datagrams, DNS over TCP (stream
// reassembly, length-prefix framing, message assembly in the pool buffer),
// the per-flow arena bound — and the JSON written from the state it leaves.
// The input is a flow: a sequence of segments [flags][seq delta (2 bytes)]
// [length (2 bytes)][bytes]; flags bit 0 is the direction, bit 1 a SYN, bit 2
// makes the flow UDP, bit 3 puts it on port 53 (else 8053: content only).
// Small bounds (512 bytes of arena, 1 KiB message buffers, two buffers
// shared by consecutive inputs) make every limit reachable. The input is
// also fed whole as one DNS message (UDP on 53 and 8053) and to the parser
// directly, so raw messages from the seeds reach it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/dns.hpp"

namespace {

using namespace spate;

features::FeatureConfig config() {
    features::FeatureConfig c;
    c.dns_bytes = 512;
    c.tls_buffer = 1024;
    c.tls_buffers = 2;
    return c;
}

struct Harness {
    features::FeatureSet fs = features::FeatureSet::parse("dns", config());
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
};

Harness& harness() {
    static Harness h;
    return h;
}

void segment(Harness& h, uint8_t* st, bool udp, uint16_t port, uint8_t dir, bool syn, uint32_t seq,
             const uint8_t* data, uint32_t len, uint64_t ts, bool first) {
    parse::DecodedPacket p;
    p.key.proto = udp ? 17 : 6;
    p.key.sport = dir == 0 ? 40000 : port;
    p.key.dport = dir == 0 ? port : 40000;
    p.ts_ns = ts;
    p.tcp_flags = udp ? 0 : (syn ? 0x02 : 0x18);
    p.tcp_seq = seq;
    p.payload_len = len;
    p.cap_len = len;
    features::PacketView v{};
    v.pkt = &p;
    v.frame = nullptr;
    v.payload = len > 0 ? data : nullptr;
    v.payload_cap = len;
    v.dir = dir;
    v.flow_first = first;
    v.prev_ts_ns = ts;
    v.flow_start_ns = 1;
    v.scratch = h.scratch.get();
    h.fs.update(st, v);
}

void finish(Harness& h, uint8_t* st, uint16_t port) {
    FlowData f{};
    f.key.sport = 40000;
    f.key.dport = port;
    h.json.clear();
    JsonWriter w(h.json);
    w.begin_object();
    h.fs.write_json(st, f, w);
    w.end_object();
    if (h.json.empty() || h.json.front() != '{' || h.json.back() != '}') {
        std::abort();
    }
    h.fs.release(st, h.scratch.get());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Harness& h = harness();
    uint8_t* st = h.state.data();
    const uint32_t n = static_cast<uint32_t>(size > 65535 ? 65535 : size);
    // 1. As a segment list.
    {
        h.fs.init(st);
        uint32_t seq[2] = {1000, 900000};
        uint64_t ts = 1'000'000'000;
        bool first = true;
        const bool udp = size > 0 && (data[0] & 4) != 0;
        const uint16_t port = size > 0 && (data[0] & 8) != 0 ? 53 : 8053;
        size_t i = 0;
        while (i + 5 <= size) {
            const uint8_t flags = data[i];
            const uint32_t delta = uint32_t(data[i + 1] << 8 | data[i + 2]);
            uint32_t len = uint32_t(data[i + 3] << 8 | data[i + 4]);
            i += 5;
            if (len > size - i) {
                len = static_cast<uint32_t>(size - i);
            }
            const uint8_t dir = flags & 1;
            const uint32_t s =
                (delta & 0x8000) != 0 ? seq[dir] - (delta & 0x7fff) : seq[dir] + delta;
            segment(h, st, udp, port, dir, (flags & 2) != 0, s, data + i, len, ts += 1000, first);
            first = false;
            seq[dir] = s + len;
            i += len;
        }
        finish(h, st, port);
    }
    // 2. Whole, as one datagram on the DNS port, on mDNS, and off the ports;
    // and as a TCP stream on port 53.
    for (uint16_t port : {uint16_t(53), uint16_t(5353), uint16_t(8053)}) {
        h.fs.init(st);
        segment(h, st, true, port, 0, false, 0, data, n, 1000, true);
        segment(h, st, true, port, 1, false, 0, data, n, 2000, false);
        finish(h, st, port);
    }
    h.fs.init(st);
    segment(h, st, false, 53, 0, false, 1, data, n, 1000, true);
    finish(h, st, 53);
    // 3. The parser directly.
    proto::dns_validate(data, n);
    proto::dns_looks_like(data, n);
    proto::dns_header_prefix_plausible(data, n);
    char name[proto::kDnsNameText];
    for (uint32_t at = 0; at < n && at < 64; ++at) {
        uint32_t after = 0;
        uint32_t len = 0;
        proto::dns_read_name(data, n, at, after, name, len);
        if (len > sizeof(name)) {
            std::abort();
        }
    }
    proto::DnsMessage m(data, n);
    proto::DnsEntry e;
    while (m.next(e)) {
        proto::dns_check_rdata(data, n, e);
    }
    return 0;
}
