// Fuzz target: one frame for the packet decoder. The first byte picks the
// link type, the rest is the frame. Each input goes through two decoders
// (tunnels followed / not followed) that live for the whole run, so the
// fragment tracker carries state from one input to the next, as it does
// from one packet to the next in a capture. Besides memory errors (ASan,
// UBSan), a few invariants of a decoded packet abort the run, and so does
// any difference between the decoder's fast path and its full walk (a third
// decoder with the fast path off sees every input too).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "spate/core/packet.hpp"
#include "spate/parse/decoder.hpp"

namespace {

using spate::parse::DecodedPacket;
using spate::parse::DecoderConfig;
using spate::parse::DecodeStatus;
using spate::parse::Malformed;

constexpr uint16_t kLinkTypes[] = {0, 1, 101, 108, 113, 228, 229, 276};

spate::parse::Decoder make(bool decap, bool fast_path = true) {
    DecoderConfig cfg;
    cfg.fast_path = fast_path;
    cfg.decap = decap;
    cfg.vlan_in_key = decap;
    cfg.frag_slots = 64;  // small: evictions happen
    cfg.frag_timeout_ns = 1'000'000;
    return spate::parse::Decoder(cfg);
}

DecodeStatus check(spate::parse::Decoder& d, const spate::PacketRef& ref, DecodedPacket& out) {
    const DecodeStatus st = d.decode(ref, out);
    const bool named = d.last_malformed() != Malformed::none;
    if ((st == DecodeStatus::malformed) != named) {
        std::abort();
    }
    if (st != DecodeStatus::ok) {
        return st;
    }
    const uint8_t v = out.key.ip_version;
    if ((v != 4 && v != 6) || out.l3_off > ref.caplen || out.l4_off > ref.caplen ||
        out.payload_off > ref.caplen || out.tunnel_count > spate::parse::kMaxTunnels) {
        std::abort();
    }
    if (out.tunnel_count > 0 && out.outer_ip_version != 4 && out.outer_ip_version != 6) {
        std::abort();
    }
    return st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static spate::parse::Decoder decap = make(true);
    static spate::parse::Decoder plain = make(false);
    static spate::parse::Decoder walk = make(true, false);
    static uint64_t now_ns = 0;
    if (size == 0) {
        return 0;
    }
    spate::PacketRef ref;
    ref.linktype = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
    ref.data = data + 1;
    ref.caplen = static_cast<uint32_t>(size - 1);
    ref.wirelen = ref.caplen + (data[0] & 0x80 ? 100 : 0);  // sometimes "cut by snaplen"
    ref.ts_ns = now_ns += 1'000;
    static DecodedPacket a, b, c;
    std::memset(static_cast<void*>(&a), 0, sizeof a);
    std::memset(static_cast<void*>(&c), 0, sizeof c);
    const DecodeStatus sa = check(decap, ref, a);
    check(plain, ref, b);
    const DecodeStatus sc = check(walk, ref, c);
    if (sa != sc || decap.last_malformed() != walk.last_malformed() ||
        std::memcmp(&a, &c, sizeof a) != 0) {
        std::abort();  // the fast path and the walk disagree
    }
    return 0;
}
