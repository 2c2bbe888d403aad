// os: a probable operating system per direction, from the initial TTL (the
// first packet's TTL rounded up to 32, 64, 128 or 255) and, for TCP, the
// window of the direction's first SYN / SYN-ACK. The table is the one in
// docs/record-schema.md; it is a hint, not a fingerprint.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kSyn = 0x02;

struct OsDir {
    uint16_t syn_window;
    uint8_t ttl;  ///< TTL / hop limit of the direction's first packet
    uint8_t have;
    uint8_t have_syn;
    uint8_t pad[3];
};

uint32_t initial_ttl(uint8_t ttl) {
    return ttl <= 32 ? 32 : ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

// SYN / SYN-ACK windows Linux uses with a 1460 / 1448-byte MSS: 4, 10, 20 and
// 44 x 1460 (2.4 .. 5.x SYN), 20 and 45 x 1448 (SYN-ACK with timestamps).
bool linux_window(uint16_t w) {
    switch (w) {
        case 5840:
        case 14600:
        case 28960:
        case 29200:
        case 64240:
        case 65160:
            return true;
        default:
            return false;
    }
}

const char* classify(const OsDir& d) {
    if (d.ttl == 0) {
        return "unknown";
    }
    switch (initial_ttl(d.ttl)) {
        case 32:
            return "windows_old";
        case 64:
            if (d.have_syn && linux_window(d.syn_window)) {
                return "linux";
            }
            if (d.have_syn && d.syn_window == 65535) {
                return "macos/bsd";
            }
            return "unix";
        case 128:
            return "windows";
        default:
            return "network_device";
    }
}

}  // namespace

size_t ProbableOs::state_size(const FeatureConfig&) {
    return 2 * sizeof(OsDir);
}

void ProbableOs::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 2 * sizeof(OsDir));
}

void ProbableOs::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    OsDir& d = reinterpret_cast<OsDir*>(s)[p.dir];
    const parse::DecodedPacket& k = *p.pkt;
    if (!d.have) {
        d.have = 1;
        d.ttl = k.ttl;
    }
    if (!d.have_syn && k.key.proto == 6 && !k.l4_truncated && (k.tcp_flags & kSyn)) {
        d.have_syn = 1;
        d.syn_window = k.tcp_window;
    }
}

void ProbableOs::write_json(const uint8_t* s, const FlowData&, JsonWriter& w,
                            const FeatureConfig&) {
    const auto* dirs = reinterpret_cast<const OsDir*>(s);
    w.key("probable_os");
    w.begin_object();
    for (int dir = 0; dir < 2; ++dir) {
        if (!dirs[dir].have) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.value(classify(dirs[dir]));
    }
    w.end_object();
}

}  // namespace spate::features
