// Fuzz target: the ssh unit end to end — TCP stream reassembly, the
// identification lines, the binary packet header, the KEXINIT copy — and
// the JSON (name-lists, negotiation, HASSH) written from the state it
// leaves. The input is a flow: segments [flags][seq delta (2 bytes)]
// [length (2 bytes)][bytes]; flags bit 0 is the direction, bit 1 a SYN.
// A small bound (--ssh-bytes 512) and two pool buffers make every limit
// reachable. The raw input is also fed whole as one client segment, and to
// the banner and KEXINIT parsers directly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/ssh.hpp"

namespace {

using namespace spate;

features::FeatureConfig config() {
    features::FeatureConfig c;
    c.ssh_bytes = 512;
    c.tls_buffers = 2;
    return c;
}

struct Harness {
    features::FeatureSet fs = features::FeatureSet::parse("ssh", config());
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
};

Harness& harness() {
    static Harness h;
    return h;
}

void segment(Harness& h, uint8_t* st, uint8_t dir, bool syn, uint32_t seq, const uint8_t* data,
             uint32_t len, uint64_t ts, bool first) {
    parse::DecodedPacket p;
    p.key.proto = 6;
    p.key.sport = dir == 0 ? 40000 : 22;
    p.key.dport = dir == 0 ? 22 : 40000;
    p.ts_ns = ts;
    p.tcp_flags = syn ? 0x02 : 0x18;
    p.tcp_seq = seq;
    p.payload_len = len;
    p.cap_len = len;
    features::PacketView v{};
    v.pkt = &p;
    v.payload = len > 0 ? data : nullptr;
    v.payload_cap = len;
    v.dir = dir;
    v.flow_first = first;
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
    Harness& h = harness();
    uint8_t* st = h.state.data();
    // As a segment list.
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
        const uint32_t s = (delta & 0x8000) != 0 ? seq[dir] - (delta & 0x7fff) : seq[dir] + delta;
        segment(h, st, dir, (flags & 2) != 0, s, data + i, len, ts += 1000, first);
        first = false;
        seq[dir] = s + len;
        i += len;
    }
    finish(h, st);
    // Whole, as one client segment, then again as the server's.
    h.fs.init(st);
    segment(h, st, 0, false, 1, data, static_cast<uint32_t>(size), ts, true);
    segment(h, st, 1, false, 1, data, static_cast<uint32_t>(size), ts, false);
    finish(h, st);
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
