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
#include "spate/proto/dns.hpp"
#include "unit_fuzz.hpp"

namespace {

using namespace spate;

features::FeatureConfig config() {
    features::FeatureConfig c;
    c.dns_bytes = 512;
    c.tls_buffer = 1024;
    c.tls_buffers = 2;
    return c;
}

fuzz::UnitHarness& harness() {
    static fuzz::UnitHarness h("dns", config());
    return h;
}

void segment(fuzz::UnitHarness& h, bool udp, uint16_t port, uint8_t dir, bool syn, uint32_t seq,
             const uint8_t* data, uint32_t len, uint64_t ts, bool first) {
    fuzz::Packet k;
    k.proto = udp ? 17 : 6;
    k.sport = dir == 0 ? 40000 : port;
    k.dport = dir == 0 ? port : 40000;
    k.tcp_flags = udp ? 0 : fuzz::tcp_flags(syn);
    k.seq = seq;
    k.ts = ts;
    k.dir = dir;
    k.first = first;
    fuzz::feed(h, k, data, len);
}

void finish(fuzz::UnitHarness& h, uint16_t port) {
    FlowData f{};
    f.key.sport = 40000;
    f.key.dport = port;
    fuzz::finish(h, f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::UnitHarness& h = harness();
    const uint32_t n = static_cast<uint32_t>(size > 65535 ? 65535 : size);
    // 1. As a segment list.
    {
        h.init();
        const bool udp = size > 0 && (data[0] & 4) != 0;
        const uint16_t port = size > 0 && (data[0] & 8) != 0 ? 53 : 8053;
        fuzz::for_each_segment(data, size,
                               [&](uint8_t flags, uint32_t seq, const uint8_t* bytes, uint32_t len,
                                   uint64_t ts, bool first) {
                                   segment(h, udp, port, flags & 1, (flags & 2) != 0, seq, bytes,
                                           len, ts, first);
                               });
        finish(h, port);
    }
    // 2. Whole, as one datagram on the DNS port, on mDNS, and off the ports;
    // and as a TCP stream on port 53.
    for (uint16_t port : {uint16_t(53), uint16_t(5353), uint16_t(8053)}) {
        h.init();
        segment(h, true, port, 0, false, 0, data, n, 1000, true);
        segment(h, true, port, 1, false, 0, data, n, 2000, false);
        finish(h, port);
    }
    h.init();
    segment(h, false, 53, 0, false, 1, data, n, 1000, true);
    finish(h, 53);
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
