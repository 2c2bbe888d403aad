// Fuzz target: the ike unit and the IKE parsers (header, payload chain,
// IKEv2 SA transforms). The input is a flow of UDP datagrams
// [flags][length (2 bytes)][bytes]: flags bit 0 is the direction, bit 1
// puts the datagram on UDP 4500 (where the non-ESP marker must precede
// IKE) instead of 500. The raw input is also fed whole on both ports, and
// to the parsers directly.
#include "spate/proto/ike.hpp"
#include "unit_fuzz.hpp"

namespace {

using namespace spate;

fuzz::UnitHarness& harness() {
    static fuzz::UnitHarness h("ike", features::FeatureConfig{});
    return h;
}

void datagram(fuzz::UnitHarness& h, uint8_t dir, bool natt, const uint8_t* data, uint32_t len,
              bool first) {
    fuzz::Packet k;
    k.proto = 17;
    k.sport = natt ? 4500 : 500;
    k.dport = natt ? 4500 : 500;
    k.ts = 1'000'000'000;
    k.dir = dir;
    k.first = first;
    fuzz::feed(h, k, data, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::UnitHarness& h = harness();
    h.init();
    fuzz::for_each_datagram(data, size,
                            [&](uint8_t flags, const uint8_t* bytes, uint32_t len, bool first) {
                                datagram(h, flags & 1, (flags & 2) != 0, bytes, len, first);
                            });
    fuzz::finish(h);
    h.init();
    datagram(h, 0, false, data, static_cast<uint32_t>(size), true);
    datagram(h, 1, true, data, static_cast<uint32_t>(size), false);
    fuzz::finish(h);
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
