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
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/tls.hpp"

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

struct Harness {
    features::FeatureSet fs = features::FeatureSet::parse("tls", config());
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
};

Harness& harness() {
    static Harness h;
    return h;
}

void segment(Harness& h, uint8_t* st, bool udp, uint8_t dir, bool syn, uint32_t seq,
             const uint8_t* data, uint32_t len, uint64_t ts, bool first) {
    parse::DecodedPacket p;
    p.key.proto = udp ? 17 : 6;
    p.ts_ns = ts;
    p.tcp_flags = udp ? 0 : (syn ? 0x02 : 0x18);
    p.tcp_seq = seq;
    p.payload_len = len;
    p.l4_off = 0;
    p.payload_off = 0;
    p.cap_len = len;
    features::PacketView v{};
    v.pkt = &p;
    v.frame = nullptr;  // no frame: the SYN options are not read
    v.payload = len > 0 ? data : nullptr;
    v.payload_cap = len;
    v.dir = dir;
    v.flow_first = first;
    v.seg = features::SegClass::none;
    v.prev_ts_ns = ts;
    v.flow_start_ns = 1;
    v.scratch = h.scratch.get();
    h.fs.update(st, v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Harness& h = harness();
    uint8_t* st = h.state.data();
    // Every input twice: as a segment list, and whole as one client segment.
    for (int pass = 0; pass < 2; ++pass) {
        h.fs.init(st);
        uint32_t seq[2] = {1000, 900000};
        uint64_t ts = 1'000'000'000;
        bool first = true;
        bool udp = size > 0 && (data[0] & 4) != 0;
        if (pass == 0) {
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
                // delta shifts the segment backwards (a retransmission or
                // overlap) when its top bit is set, else forwards (a hole).
                const uint32_t s =
                    (delta & 0x8000) != 0 ? seq[dir] - (delta & 0x7fff) : seq[dir] + delta;
                segment(h, st, udp, dir, (flags & 2) != 0, s, data + i, len, ts += 1000, first);
                first = false;
                seq[dir] = s + len;
                i += len;
            }
        } else {
            udp = false;
            segment(h, st, false, 0, false, seq[0], data, static_cast<uint32_t>(size), ts, true);
            segment(h, st, true, 0, false, 0, data, static_cast<uint32_t>(size), ts, true);
        }
        FlowData f{};
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
    // The hello parsers directly on the raw bytes.
    proto::ClientHello ch;
    proto::parse_client_hello(data, size, ch);
    proto::parse_sslv2_client_hello(data, size, ch);
    proto::ServerHello sh;
    proto::parse_server_hello(data, size, sh);
    return 0;
}
