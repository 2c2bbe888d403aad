// Fuzz target: the ike unit and the IKE parsers (header, payload chain,
// IKEv2 SA transforms). The input is a flow of UDP datagrams
// [flags][length (2 bytes)][bytes]: flags bit 0 is the direction, bit 1
// puts the datagram on UDP 4500 (where the non-ESP marker must precede
// IKE) instead of 500. The raw input is also fed whole on both ports, and
// to the parsers directly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/ike.hpp"

namespace {

using namespace spate;

struct Harness {
    features::FeatureSet fs = features::FeatureSet::parse("ike", features::FeatureConfig{});
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
};

Harness& harness() {
    static Harness h;
    return h;
}

void datagram(Harness& h, uint8_t* st, uint8_t dir, bool natt, const uint8_t* data, uint32_t len,
              bool first) {
    parse::DecodedPacket p;
    p.key.proto = 17;
    p.key.sport = natt ? 4500 : 500;
    p.key.dport = natt ? 4500 : 500;
    p.ts_ns = 1'000'000'000;
    p.payload_len = len;
    p.cap_len = len;
    features::PacketView v{};
    v.pkt = &p;
    v.payload = len > 0 ? data : nullptr;
    v.payload_cap = len;
    v.dir = dir;
    v.flow_first = first;
    v.prev_ts_ns = p.ts_ns;
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
    Harness& h = harness();
    uint8_t* st = h.state.data();
    h.fs.init(st);
    size_t i = 0;
    bool first = true;
    while (i + 3 <= size) {
        const uint8_t flags = data[i];
        uint32_t len = uint32_t(data[i + 1] << 8 | data[i + 2]);
        i += 3;
        if (len > size - i) {
            len = static_cast<uint32_t>(size - i);
        }
        datagram(h, st, flags & 1, (flags & 2) != 0, data + i, len, first);
        first = false;
        i += len;
    }
    finish(h, st);
    h.fs.init(st);
    datagram(h, st, 0, false, data, static_cast<uint32_t>(size), true);
    datagram(h, st, 1, true, data, static_cast<uint32_t>(size), false);
    finish(h, st);
    proto::IkeHeader hd;
    if (proto::parse_ike_header(data, static_cast<uint32_t>(size), hd)) {
        proto::IkePayloadIter it(data, static_cast<uint32_t>(size), hd);
        uint8_t type = 0;
        for (proto::Span body; it.next(type, body);) {
            proto::IkeTransform t[4];
            bool more = false, bad = false;
            proto::ike_sa_transforms(body, t, 4, more, bad);
        }
    }
    return 0;
}
