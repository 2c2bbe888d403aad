// Fuzz target: the tls unit end to end — TCP stream reassembly, the TLS
// record layer, handshake assembly, ClientHello/ServerHello/Certificate
// parsing, QUIC Initial decryption — and the JSON and fingerprints written
// from the state it leaves. The input is a flow: a sequence of segments
// [flags][seq delta (2 bytes)][length (2 bytes)][bytes]; flags bit 0 is the
// direction, bit 1 a SYN, bit 2 makes the flow UDP (QUIC). Small bounds
// (1 KiB messages, two buffers shared by consecutive inputs, 8 records,
// 2 KiB of certificates) make every limit reachable. Raw inputs that are
// not in that form are also fed whole as one client segment, so plain TLS
// records and QUIC datagrams from the seeds reach the parsers directly.
#include "spate/proto/tls.hpp"
#include "unit_fuzz.hpp"

namespace {

using namespace spate;

features::FeatureConfig config() {
    features::FeatureConfig c;
    c.tls_buffer = 1024;
    c.tls_buffers = 2;
    c.tls_records = 8;
    c.tls_cert_bytes = 2048;
    return c;
}

fuzz::UnitHarness& harness() {
    static fuzz::UnitHarness h("tls", config());
    return h;
}

void segment(fuzz::UnitHarness& h, bool udp, uint8_t dir, bool syn, uint32_t seq,
             const uint8_t* data, uint32_t len, uint64_t ts, bool first) {
    fuzz::Packet k;
    k.proto = udp ? 17 : 6;
    k.tcp_flags = udp ? 0 : fuzz::tcp_flags(syn);
    k.seq = seq;
    k.ts = ts;
    k.dir = dir;
    k.first = first;
    fuzz::feed(h, k, data, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::UnitHarness& h = harness();
    // Every input twice: as a segment list, and whole as one client segment.
    h.init();
    const bool udp = size > 0 && (data[0] & 4) != 0;
    fuzz::for_each_segment(data, size,
                           [&](uint8_t flags, uint32_t seq, const uint8_t* bytes, uint32_t len,
                               uint64_t ts, bool first) {
                               segment(h, udp, flags & 1, (flags & 2) != 0, seq, bytes, len, ts,
                                       first);
                           });
    fuzz::finish(h);
    h.init();
    segment(h, false, 0, false, 1000, data, static_cast<uint32_t>(size), 1'000'000'000, true);
    segment(h, true, 0, false, 0, data, static_cast<uint32_t>(size), 1'000'000'000, true);
    fuzz::finish(h);
    // The hello parsers directly on the raw bytes.
    proto::ClientHello ch;
    proto::parse_client_hello(data, size, ch);
    proto::parse_sslv2_client_hello(data, size, ch);
    proto::ServerHello sh;
    proto::parse_server_hello(data, size, sh);
    return 0;
}
