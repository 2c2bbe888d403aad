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
#include "spate/proto/http.hpp"
#include "unit_fuzz.hpp"

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

fuzz::UnitHarness& harness(bool allow_list) {
    static fuzz::UnitHarness all("http", config(false));
    static fuzz::UnitHarness some("http", config(true));
    return allow_list ? some : all;
}

void segment(fuzz::UnitHarness& h, uint8_t dir, bool syn, uint32_t seq, const uint8_t* data,
             uint32_t len, uint64_t ts, bool first) {
    fuzz::Packet k;
    k.tcp_flags = fuzz::tcp_flags(syn);
    k.seq = seq;
    k.ts = ts;
    k.dir = dir;
    k.first = first;
    fuzz::feed(h, k, data, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::UnitHarness& h = harness(size > 0 && (data[0] & 4) != 0);
    // As a segment list.
    h.init();
    fuzz::for_each_segment(
        data, size,
        [&](uint8_t flags, uint32_t seq, const uint8_t* bytes, uint32_t len, uint64_t ts,
            bool first) { segment(h, flags & 1, (flags & 2) != 0, seq, bytes, len, ts, first); });
    fuzz::finish(h);
    // Whole, from each side.
    for (uint8_t dir = 0; dir < 2; ++dir) {
        h.init();
        segment(h, dir, false, 1, data, static_cast<uint32_t>(size), 1000, true);
        fuzz::finish(h);
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
