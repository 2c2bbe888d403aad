// Fuzz target: the ssh unit end to end — TCP stream reassembly, the
// identification lines, the binary packet header, the KEXINIT copy — and
// the JSON (name-lists, negotiation, HASSH) written from the state it
// leaves. The input is a flow: segments [flags][seq delta (2 bytes)]
// [length (2 bytes)][bytes]; flags bit 0 is the direction, bit 1 a SYN.
// A small bound (--ssh-bytes 512) and two pool buffers make every limit
// reachable. The raw input is also fed whole as one client segment, and to
// the banner and KEXINIT parsers directly.
#include "spate/proto/ssh.hpp"
#include "unit_fuzz.hpp"

namespace {

using namespace spate;

features::FeatureConfig config() {
    features::FeatureConfig c;
    c.ssh_bytes = 512;
    c.tls_buffers = 2;
    return c;
}

fuzz::UnitHarness& harness() {
    static fuzz::UnitHarness h("ssh", config());
    return h;
}

void segment(fuzz::UnitHarness& h, uint8_t dir, bool syn, uint32_t seq, const uint8_t* data,
             uint32_t len, uint64_t ts, bool first) {
    fuzz::Packet k;
    k.sport = dir == 0 ? 40000 : 22;
    k.dport = dir == 0 ? 22 : 40000;
    k.tcp_flags = fuzz::tcp_flags(syn);
    k.seq = seq;
    k.ts = ts;
    k.dir = dir;
    k.first = first;
    fuzz::feed(h, k, data, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::UnitHarness& h = harness();
    // As a segment list.
    h.init();
    const uint64_t ts = fuzz::for_each_segment(
        data, size,
        [&](uint8_t flags, uint32_t seq, const uint8_t* bytes, uint32_t len, uint64_t at,
            bool first) { segment(h, flags & 1, (flags & 2) != 0, seq, bytes, len, at, first); });
    fuzz::finish(h);
    // Whole, as one client segment, then again as the server's.
    h.init();
    segment(h, 0, false, 1, data, static_cast<uint32_t>(size), ts, true);
    segment(h, 1, false, 1, data, static_cast<uint32_t>(size), ts, false);
    fuzz::finish(h);
    // The parsers directly.
    proto::SshBanner b;
    proto::parse_ssh_banner(data, static_cast<uint32_t>(size), b);
    proto::SshKexinit k;
    if (proto::parse_ssh_kexinit(data, static_cast<uint32_t>(size), k)) {
        char str[1024];
        proto::ssh_hassh_string(k, true, str, sizeof(str));
        proto::ssh_negotiate(k.list[0], k.list[1]);
    }
    return 0;
}
