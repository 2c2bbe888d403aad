// idp: the initial data packet of each direction, from its IP header.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

struct IdpDir {
    uint16_t len;
    uint8_t have;
    uint8_t pad;
};

// Layout: IdpDir out, IdpDir in, then idp_n bytes for out and idp_n for in.
size_t bytes_at(const FeatureConfig& c, int dir) {
    return 2 * sizeof(IdpDir) + size_t(dir) * c.idp_n;
}

}  // namespace

size_t Idp::state_size(const FeatureConfig& c) {
    return 2 * sizeof(IdpDir) + 2 * size_t{c.idp_n};
}

void Idp::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 2 * sizeof(IdpDir));
}

void Idp::update(uint8_t* s, const PacketView& p, const FeatureConfig& c) {
    auto* dirs = reinterpret_cast<IdpDir*>(s);
    IdpDir& d = dirs[p.dir];
    if (d.have || p.pkt->payload_len == 0 || p.frame == nullptr) {
        return;
    }
    d.have = 1;
    uint32_t off = p.pkt->l3_off;
    uint32_t avail = p.pkt->cap_len > off ? p.pkt->cap_len - off : 0;
    if (avail > p.pkt->ip_len) {
        avail = p.pkt->ip_len;  // never the Ethernet padding after the datagram
    }
    uint32_t n = avail < c.idp_n ? avail : c.idp_n;
    d.len = static_cast<uint16_t>(n);
    std::memcpy(s + bytes_at(c, p.dir), p.frame + off, n);
}

void Idp::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig& c) {
    const auto* dirs = reinterpret_cast<const IdpDir*>(s);
    static const char* const kKeys[2][2] = {{"idp_out", "idp_len_out"}, {"idp_in", "idp_len_in"}};
    for (int dir = 0; dir < 2; ++dir) {
        if (!dirs[dir].have) {
            continue;
        }
        w.key(kKeys[dir][0]);
        w.hex(s + bytes_at(c, dir), dirs[dir].len);
        w.key(kKeys[dir][1]);
        w.value(uint64_t{dirs[dir].len});
    }
}

size_t Idp::used_bytes(const uint8_t* s, const FeatureConfig& c) {
    const auto* dirs = reinterpret_cast<const IdpDir*>(s);
    if (dirs[1].have) {
        return bytes_at(c, 1) + dirs[1].len;
    }
    return bytes_at(c, 0) + (dirs[0].have ? dirs[0].len : 0);
}

}  // namespace spate::features
