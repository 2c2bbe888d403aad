// ip: the smallest TTL / hop limit and the first IPv4 ids of each direction.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

constexpr int kIds = 10;

struct IpDir {
    uint16_t ids[kIds];
    uint8_t nids;
    uint8_t min_ttl;
    uint8_t have;
    uint8_t pad;
};

}  // namespace

size_t IpInfo::state_size(const FeatureConfig&) {
    return 2 * sizeof(IpDir);
}

void IpInfo::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 2 * sizeof(IpDir));
}

void IpInfo::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    IpDir& d = reinterpret_cast<IpDir*>(s)[p.dir];
    const parse::DecodedPacket& k = *p.pkt;
    if (!d.have || k.ttl < d.min_ttl) {
        d.min_ttl = k.ttl;
    }
    d.have = 1;
    if (k.key.ip_version == 4 && d.nids < kIds) {
        d.ids[d.nids++] = k.ip_id;
    }
}

void IpInfo::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto* dirs = reinterpret_cast<const IpDir*>(s);
    w.key("ip");
    w.begin_object();
    for (int dir = 0; dir < 2; ++dir) {
        const IpDir& d = dirs[dir];
        if (!d.have) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.begin_object();
        w.key("ttl");
        w.value(uint64_t{d.min_ttl});
        w.key("id");
        w.begin_array();
        for (int i = 0; i < d.nids; ++i) {
            w.value(uint64_t{d.ids[i]});
        }
        w.end_array();
        w.end_object();
    }
    w.end_object();
}

}  // namespace spate::features
