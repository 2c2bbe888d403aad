// Fuzz target: the dhcp unit and the DHCP / DHCPv6 parsers. The input is a
// flow of UDP datagrams [flags][length (2 bytes)][bytes]: flags bit 0 is
// the direction, bit 1 puts the datagram on the DHCPv6 ports (546/547)
// instead of 67/68. The raw input is also fed whole as one datagram on each
// port pair, and to the parsers and option walkers directly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/dhcp.hpp"

namespace {

using namespace spate;

struct Harness {
    features::FeatureSet fs = features::FeatureSet::parse("dhcp", features::FeatureConfig{});
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
};

Harness& harness() {
    static Harness h;
    return h;
}

void datagram(Harness& h, uint8_t* st, uint8_t dir, bool v6, const uint8_t* data, uint32_t len,
              bool first) {
    parse::DecodedPacket p;
    p.key.proto = 17;
    const uint16_t c = v6 ? 546 : 68;
    const uint16_t s = v6 ? 547 : 67;
    p.key.sport = dir == 0 ? c : s;
    p.key.dport = dir == 0 ? s : c;
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
    proto::DhcpMessage m;
    if (proto::parse_dhcp(data, static_cast<uint32_t>(size), m)) {
        proto::DhcpOptionIter it(m.options);
        for (proto::DhcpOption o; it.next(o);) {
        }
    }
    proto::Dhcp6Message m6;
    if (proto::parse_dhcp6(data, static_cast<uint32_t>(size), m6)) {
        proto::Dhcp6OptionIter it(m6.options);
        for (proto::Dhcp6Option o; it.next(o);) {
        }
    }
    return 0;
}
