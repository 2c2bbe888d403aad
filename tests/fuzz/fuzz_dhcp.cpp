// Fuzz target: the dhcp unit and the DHCP / DHCPv6 parsers. The input is a
// flow of UDP datagrams [flags][length (2 bytes)][bytes]: flags bit 0 is
// the direction, bit 1 puts the datagram on the DHCPv6 ports (546/547)
// instead of 67/68. The raw input is also fed whole as one datagram on each
// port pair, and to the parsers and option walkers directly.
#include "spate/proto/dhcp.hpp"
#include "unit_fuzz.hpp"

namespace {

using namespace spate;

fuzz::UnitHarness& harness() {
    static fuzz::UnitHarness h("dhcp", features::FeatureConfig{});
    return h;
}

void datagram(fuzz::UnitHarness& h, uint8_t dir, bool v6, const uint8_t* data, uint32_t len,
              bool first) {
    fuzz::Packet k;
    k.proto = 17;
    const uint16_t c = v6 ? 546 : 68;
    const uint16_t s = v6 ? 547 : 67;
    k.sport = dir == 0 ? c : s;
    k.dport = dir == 0 ? s : c;
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
