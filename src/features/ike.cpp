// ike: IKEv1 / IKEv2 over UDP 500, and over UDP 4500 behind the 4-byte
// non-ESP marker (RFC 3948; ESP packets and NAT keepalives on 4500 are
// skipped). Each message of the flow is parsed when it passes and kept as
// a fixed-size entry: the header fields, the chain of payload types, and
// for IKEv2 the transforms of the first SA payload's proposals.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/ike.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kMaxMessages = 8;     ///< messages kept per flow
constexpr uint8_t kMaxPayloads = 16;    ///< payload types kept per message
constexpr uint8_t kMaxTransforms = 12;  ///< IKEv2 SA transforms kept per message

// Entry::flags
constexpr uint8_t kNatT = 1 << 0;            ///< on UDP 4500 after the non-ESP marker
constexpr uint8_t kChainTruncated = 1 << 1;  ///< a payload ran past the message / capture
constexpr uint8_t kMorePayloads = 1 << 2;    ///< more than kMaxPayloads payloads
constexpr uint8_t kMoreTransforms = 1 << 3;  ///< more than kMaxTransforms transforms
constexpr uint8_t kLengthMismatch = 1 << 4;  ///< header length != UDP payload length
constexpr uint8_t kSaMalformed = 1 << 5;     ///< the SA payload did not parse to its end

struct PackedTransform {
    uint8_t proposal;
    uint8_t type;
    uint8_t id[2];
    uint8_t key_length[2];
};

struct Entry {
    uint8_t spi_i[8];
    uint8_t spi_r[8];
    uint32_t message_id;
    uint32_t length;
    uint8_t next_payload;
    uint8_t version;
    uint8_t exchange_type;
    uint8_t hflags;
    uint8_t dir;
    uint8_t flags;
    uint8_t npayloads;
    uint8_t ntransforms;
    uint8_t payloads[kMaxPayloads];
    PackedTransform transforms[kMaxTransforms];
};

struct IkeState {
    uint8_t count;
    uint8_t pad[3];
    uint32_t dropped;
    Entry e[kMaxMessages];
};

}  // namespace

size_t Ike::state_size(const FeatureConfig&) {
    return sizeof(IkeState);
}

void Ike::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, offsetof(IkeState, e));
}

void Ike::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    const parse::DecodedPacket& pkt = *p.pkt;
    if (pkt.key.proto != 17 || p.payload == nullptr) {
        return;
    }
    const uint16_t sp = pkt.key.sport;
    const uint16_t dp = pkt.key.dport;
    const uint8_t* msg = p.payload;
    uint32_t len = p.payload_cap;
    uint32_t wire = pkt.payload_len;
    bool nat_t = false;
    if (sp == 4500 || dp == 4500) {
        if (len < 4 + proto::kIkeHeaderLen || msg[0] != 0 || msg[1] != 0 || msg[2] != 0 ||
            msg[3] != 0) {
            return;  // ESP, a keepalive, or too short
        }
        msg += 4;
        len -= 4;
        wire = wire >= 4 ? wire - 4 : 0;
        nat_t = true;
    } else if (sp != 500 && dp != 500) {
        return;
    }
    proto::IkeHeader h;
    if (!proto::parse_ike_header(msg, len, h)) {
        return;
    }
    auto& st = *reinterpret_cast<IkeState*>(s);
    AppCounters* ctr = p.scratch != nullptr ? &p.scratch->ike : nullptr;
    if (ctr != nullptr) {
        ++ctr->messages;
    }
    if (st.count >= kMaxMessages) {
        ++st.dropped;
        if (ctr != nullptr) {
            ++ctr->truncated;
        }
        return;
    }
    Entry& e = st.e[st.count++];
    std::memset(&e, 0, sizeof(e));
    std::memcpy(e.spi_i, h.spi_i, 8);
    std::memcpy(e.spi_r, h.spi_r, 8);
    e.message_id = h.message_id;
    e.length = h.length;
    e.next_payload = h.next_payload;
    e.version = static_cast<uint8_t>(h.major << 4 | h.minor);
    e.exchange_type = h.exchange_type;
    e.hflags = h.flags;
    e.dir = p.dir;
    e.flags = static_cast<uint8_t>((nat_t ? kNatT : 0) | (h.length != wire ? kLengthMismatch : 0));
    proto::IkePayloadIter it(msg, len, h);
    uint8_t type = 0;
    bool sa_done = false;
    for (proto::Span body; it.next(type, body);) {
        if (e.npayloads < kMaxPayloads) {
            e.payloads[e.npayloads++] = type;
        } else {
            e.flags |= kMorePayloads;
        }
        if (h.major == 2 && type == proto::kIkePayloadSa && !sa_done) {
            sa_done = true;
            proto::IkeTransform t[kMaxTransforms];
            bool more = false;
            bool bad = false;
            const uint32_t n = proto::ike_sa_transforms(body, t, kMaxTransforms, more, bad);
            for (uint32_t i = 0; i < n; ++i) {
                PackedTransform& x = e.transforms[i];
                x.proposal = t[i].proposal;
                x.type = t[i].type;
                x.id[0] = uint8_t(t[i].id >> 8);
                x.id[1] = uint8_t(t[i].id);
                x.key_length[0] = uint8_t(t[i].key_length >> 8);
                x.key_length[1] = uint8_t(t[i].key_length);
            }
            e.ntransforms = static_cast<uint8_t>(n);
            e.flags |= (more ? kMoreTransforms : 0) | (bad ? kSaMalformed : 0);
        }
    }
    if (it.truncated()) {
        e.flags |= kChainTruncated;
        if (ctr != nullptr) {
            ++(len < h.length ? ctr->truncated : ctr->malformed);
        }
    }
}

void Ike::release(uint8_t*, WorkerScratch*) {}

namespace {

void hex(JsonWriter& w, const uint8_t* p, size_t n) {
    w.hex(p, std::min<size_t>(n, 32));
}

void flag(JsonWriter& w, const Entry& e, uint8_t bit, std::string_view name) {
    if ((e.flags & bit) != 0) {
        w.key(name);
        w.value(true);
    }
}

}  // namespace

const char* Ike::app(const uint8_t* s, const FlowData&, const FeatureConfig&, std::string_view&) {
    const auto& st = *reinterpret_cast<const IkeState*>(s);
    return st.count == 0 && st.dropped == 0 ? nullptr : "ike";
}

void Ike::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto& st = *reinterpret_cast<const IkeState*>(s);
    if (st.count == 0 && st.dropped == 0) {
        return;
    }
    w.key("ike");
    w.begin_array();
    for (uint8_t i = 0; i < st.count && i < kMaxMessages; ++i) {
        const Entry& e = st.e[i];
        w.begin_object();
        w.key("dir");
        w.value(e.dir == 0 ? ">" : "<");
        if ((e.flags & kNatT) != 0) {
            w.key("nat_t");
            w.value(true);
        }
        w.key("initiator_spi");
        hex(w, e.spi_i, 8);
        w.key("responder_spi");
        hex(w, e.spi_r, 8);
        w.key("next_payload");
        w.value(uint64_t{e.next_payload});
        w.key("major_version");
        w.value(uint64_t{uint8_t(e.version >> 4)});
        w.key("minor_version");
        w.value(uint64_t{uint8_t(e.version & 15)});
        w.key("exchange_type");
        w.value(uint64_t{e.exchange_type});
        w.key("flags");
        w.value(uint64_t{e.hflags});
        w.key("message_id");
        w.value(uint64_t{e.message_id});
        w.key("length");
        w.value(uint64_t{e.length});
        w.key("payloads");
        w.begin_array();
        for (uint8_t k = 0; k < e.npayloads && k < kMaxPayloads; ++k) {
            w.value(uint64_t{e.payloads[k]});
        }
        w.end_array();
        if (e.ntransforms > 0) {
            w.key("transforms");
            w.begin_array();
            for (uint8_t k = 0; k < e.ntransforms && k < kMaxTransforms; ++k) {
                const PackedTransform& t = e.transforms[k];
                w.begin_object();
                w.key("proposal");
                w.value(uint64_t{t.proposal});
                w.key("type");
                w.value(uint64_t{t.type});
                w.key("id");
                w.value(uint64_t{uint32_t(t.id[0]) << 8 | t.id[1]});
                const uint32_t kl = uint32_t(t.key_length[0]) << 8 | t.key_length[1];
                if (kl != 0) {
                    w.key("key_length");
                    w.value(uint64_t{kl});
                }
                w.end_object();
            }
            w.end_array();
        }
        flag(w, e, kChainTruncated, "payloads_truncated");
        flag(w, e, kMorePayloads, "more_payloads");
        flag(w, e, kMoreTransforms, "more_transforms");
        flag(w, e, kSaMalformed, "sa_malformed");
        flag(w, e, kLengthMismatch, "length_mismatch");
        w.end_object();
    }
    w.end_array();
    if (st.dropped != 0) {
        w.key("ike_dropped");
        w.value(uint64_t{st.dropped});
    }
}

size_t Ike::used_bytes(const uint8_t*, const FeatureConfig& c) {
    return state_size(c);
}

}  // namespace spate::features
