// Fuzz target: the http unit end to end — TCP stream reassembly, head lines
// split across segments, the header allow-list, body skipping by
// Content-Length and chunked coding, the per-flow arena — and the JSON
// written from the state it leaves; then the head parsers directly. The
// input is a flow: a sequence of segments [flags][seq delta (2 bytes)]
// [length (2 bytes)][bytes]; flags bit 0 is the direction, bit 1 a SYN, bit
// 2 selects the allow-list configuration. Small bounds (a 512-byte arena,
// two pool buffers shared by consecutive inputs) make every limit
// reachable. Every input is also fed whole as one client segment and as
// one server segment, so raw HTTP from the seeds reaches the parsers
// directly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/http.hpp"

namespace {

using namespace spate;

features::FeatureConfig config(bool allow_list) {
    features::FeatureConfig c;
    c.http_bytes = 512;
    c.tls_buffer = 1024;
    c.tls_buffers = 2;
    if (allow_list) {
        c.http_headers = "host,user-agent,content-type";
    }
    return c;
}

struct Harness {
    explicit Harness(bool allow_list)
        : fs(features::FeatureSet::parse("http", config(allow_list))) {}
    features::FeatureSet fs;
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
};

Harness& harness(bool allow_list) {
    static Harness all(false);
    static Harness some(true);
    return allow_list ? some : all;
}

void segment(Harness& h, uint8_t* st, uint8_t dir, bool syn, uint32_t seq, const uint8_t* data,
             uint32_t len, uint64_t ts, bool first) {
    parse::DecodedPacket p;
    p.key.proto = 6;
    p.ts_ns = ts;
    p.tcp_flags = syn ? 0x02 : 0x18;
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
    v.seg = features::SegClass::none;
    v.prev_ts_ns = ts;
    v.flow_start_ns = 1;
    v.scratch = h.scratch.get();
    h.fs.update(st, v);
}

void finish(Harness& h, uint8_t* st) {
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    Harness& h = harness(size > 0 && (data[0] & 4) != 0);
    uint8_t* st = h.state.data();
    // As a segment list.
    {
        h.fs.init(st);
        uint32_t seq[2] = {1000, 900000};
        uint64_t ts = 1'000'000'000;
        bool first = true;
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
            segment(h, st, dir, (flags & 2) != 0, s, data + i, len, ts += 1000, first);
            first = false;
            seq[dir] = s + len;
            i += len;
        }
        finish(h, st);
    }
    // Whole, from each side.
    for (uint8_t dir = 0; dir < 2; ++dir) {
        h.fs.init(st);
        segment(h, st, dir, false, 1, data, static_cast<uint32_t>(size), 1000, true);
        finish(h, st);
    }
    // The parsers on the raw bytes.
    const proto::Span all{data, static_cast<uint32_t>(size)};
    proto::http_classify_start(data, all.n, true);
    proto::http_classify_start(data, all.n, false);
    bool first_line = true;
    proto::http_for_each_line(all, [&](proto::Span line) {
        if (first_line) {
            first_line = false;
            proto::HttpRequestLine r;
            proto::http_parse_request_line(line, r);
            proto::HttpStatusLine s;
            proto::http_parse_status_line(line, s);
            return;
        }
        proto::Span name, value;
        proto::http_parse_header_line(line, name, value);
        uint64_t n = 0;
        proto::http_parse_content_length(value, n);
        proto::http_te_chunked(value);
        proto::http_name_in_list(name, "host, user-agent");
    });
    return 0;
}
