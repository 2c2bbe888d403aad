// idp: the initial data packet of each direction, from its IP header.
//
// The bytes live in an arena leased at the first data packet, sized to what
// it holds and grown when the other direction's first data packet comes;
// the direction that came first is stored first.
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct IdpDir {
    uint16_t off;  ///< where its bytes start in the arena
    uint16_t len;
    uint8_t have;
    uint8_t missed;  ///< its first data packet came while the pool was dry
    uint8_t pad[2];
};

/// The control part, in the flow entry; the arena follows it in the record.
struct IdpState {
    ArenaRef ref;
    IdpDir dir[2];
    uint32_t used;  ///< arena bytes in use
    uint32_t pad;
};

}  // namespace

size_t Idp::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

size_t Idp::control_size(const FeatureConfig&) {
    return sizeof(IdpState);
}

uint32_t Idp::arena_max(const FeatureConfig& c) {
    return 2 * c.idp_n;
}

size_t Idp::arena_used(const uint8_t* s, const FeatureConfig&) {
    return reinterpret_cast<const IdpState*>(s)->used;
}

const ArenaRef* Idp::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const IdpState*>(s)->ref;
}

void Idp::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(IdpState));
}

void Idp::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    auto& st = *reinterpret_cast<IdpState*>(s);
    IdpDir& d = st.dir[p.dir];
    if (d.have || d.missed || p.pkt->payload_len == 0 || p.frame == nullptr) {
        return;
    }
    uint32_t off = p.pkt->l3_off;
    uint32_t avail = p.pkt->cap_len > off ? p.pkt->cap_len - off : 0;
    if (avail > p.pkt->ip_len) {
        avail = p.pkt->ip_len;  // never the Ethernet padding after the datagram
    }
    const uint32_t n = avail < c.idp_n ? avail : c.idp_n;
    uint8_t* a = nullptr;
    if (p.scratch != nullptr) {
        a = p.scratch->arena[kArenaIdp].reserve(st.ref, st.used + n, st.used);
    } else {
        st.ref.lost = 1;
    }
    if (a == nullptr) {
        d.missed = 1;  // not kept (a later packet is not the initial one): idp_no_state
        return;
    }
    d.have = 1;
    d.off = static_cast<uint16_t>(st.used);
    d.len = static_cast<uint16_t>(n);
    std::memcpy(a + st.used, p.frame + off, n);
    st.used += n;
}

void Idp::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto& st = *reinterpret_cast<const IdpState*>(s);
    const uint8_t* arena = s + sizeof(IdpState);
    static const char* const kKeys[2][2] = {{"idp_out", "idp_len_out"}, {"idp_in", "idp_len_in"}};
    for (int dir = 0; dir < 2; ++dir) {
        const IdpDir& d = st.dir[dir];
        if (!d.have) {
            continue;
        }
        w.key(kKeys[dir][0]);
        w.hex(arena + d.off, d.len);
        w.key(kKeys[dir][1]);
        w.value(uint64_t{d.len});
    }
}

}  // namespace spate::features
