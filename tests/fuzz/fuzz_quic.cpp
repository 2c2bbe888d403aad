// Fuzz target: one UDP payload for the QUIC Initial decryptor, read as a
// client's datagram (keys from its own DCID, and from the DCID of the last
// client Initial that decrypted) and as a server's (keys from that DCID).
// The DCID is kept from one input to the next, as a flow keeps it from one
// packet to the next, so a server seed replayed after its client's seed
// decrypts and its frames are walked. Besides memory errors (ASan, UBSan),
// a few invariants of the results abort the run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "spate/proto/quic.hpp"

namespace {

using spate::proto::QuicInitialDecryptor;
using spate::proto::QuicLongHeader;
using spate::proto::QuicStatus;
using spate::proto::Span;

struct Check {
    const uint8_t* data;
    size_t size;
    size_t frames = 0;
};

void on_crypto(void* ctx, uint64_t offset, Span d) {
    auto* c = static_cast<Check*>(ctx);
    ++c->frames;
    if (d.n > c->size || offset + d.n >= (uint64_t{1} << 62)) {
        std::abort();
    }
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < d.n; ++i) {
        sink = sink ^ d.p[i];  // every byte readable
    }
}

QuicStatus run(QuicInitialDecryptor& d, const uint8_t* data, size_t size, bool server,
               Span keys_dcid, QuicLongHeader& h) {
    Check c{data, size};
    const QuicStatus st = d.decrypt(data, size, server, keys_dcid, h, on_crypto, &c);
    if (st == QuicStatus::ok) {
        const auto* end = data + size;
        if (!spate::proto::quic_version_known(h.version) || h.type != 0 || h.pn_len < 1 ||
            h.pn_len > 4 || h.packet_len > size || h.pn_offset + h.pn_len > h.packet_len ||
            h.dcid.n > 20 || h.scid.n > 20 || h.dcid.p < data || h.dcid.end() > end ||
            h.token.end() > end || h.packet_number >= (uint64_t{1} << 32)) {
            std::abort();
        }
    } else if (st == QuicStatus::not_quic && size > 0 && (data[0] & 0x80) != 0) {
        std::abort();
    }
    return st;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static QuicInitialDecryptor dec;
    static uint8_t last_dcid[20];
    static uint32_t last_dcid_len = 0;

    const bool cheap = spate::proto::looks_like_quic_initial(data, size);
    QuicLongHeader h;
    const bool parsed = spate::proto::parse_quic_long_header(data, size, h);
    if (cheap && !parsed) {
        std::abort();
    }
    if (parsed && (h.packet_len > size || h.pn_offset > h.packet_len)) {
        std::abort();
    }

    const QuicStatus as_client = run(dec, data, size, false, {}, h);
    if (as_client == QuicStatus::ok && h.dcid.n <= sizeof last_dcid) {
        if (h.dcid.n != 0) {
            std::memcpy(last_dcid, h.dcid.p, h.dcid.n);
        }
        last_dcid_len = h.dcid.n;
    }
    const Span last{last_dcid, last_dcid_len};
    run(dec, data, size, false, last, h);
    run(dec, data, size, true, last, h);
    run(dec, data, size, true, {}, h);
    return 0;
}
