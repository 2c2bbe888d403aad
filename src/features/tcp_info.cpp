// tcp: first sequence number, flags, first window, the options of the SYN /
// SYN-ACK, and retransmission / out-of-order / zero-window counts.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;

struct TcpDir {
    uint32_t retrans;
    uint32_t out_of_order;
    uint32_t zero_window;
    uint16_t first_window;
    uint8_t flags;
    uint8_t have;
    uint8_t opt_len;        ///< option bytes per the header
    uint8_t opts_cap;       ///< option bytes captured (in opts)
    uint8_t opts_from_syn;  ///< opts came from a SYN / SYN-ACK
    uint8_t pad;
    uint8_t opts[40];
};

struct TcpState {
    uint32_t first_seq;
    uint8_t have_first_seq;
    uint8_t pad[3];
    TcpDir dir[2];
};

void take_options(TcpDir& d, const PacketView& p) {
    const parse::DecodedPacket& k = *p.pkt;
    uint32_t len = k.tcp_hdr_len > 20 ? k.tcp_hdr_len - 20u : 0u;
    d.opt_len = static_cast<uint8_t>(len);
    uint32_t start = uint32_t{k.l4_off} + 20;
    uint32_t cap = p.frame != nullptr && k.cap_len > start ? k.cap_len - start : 0;
    if (cap > len) {
        cap = len;
    }
    d.opts_cap = static_cast<uint8_t>(cap);
    if (cap > 0) {
        std::memcpy(d.opts, p.frame + start, cap);
    }
}

uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

/// One object per option, with fixed keys: "kind" (the option number),
/// "name" for the options spate decodes, "len" for options with a length
/// byte, and the decoded "value" (mss, ws) or "tsval"/"tsecr" (ts).
void write_options(const TcpDir& d, JsonWriter& w) {
    w.key("opts");
    w.begin_array();
    const uint8_t* b = d.opts;
    uint32_t n = d.opts_cap;
    for (uint32_t i = 0; i < n;) {
        uint8_t kind = b[i];
        if (kind > 1 && (i + 1 >= n || b[i + 1] < 2 || i + b[i + 1] > n)) {
            break;  // a length that runs past the options ends the list
        }
        w.begin_object();
        w.key("kind");
        w.value(uint64_t{kind});
        if (kind <= 1) {
            w.key("name");
            w.value(kind == 0 ? "eol" : "nop");
            w.end_object();
            if (kind == 0) {
                break;
            }
            ++i;
            continue;
        }
        uint8_t len = b[i + 1];
        const uint8_t* v = b + i + 2;
        if (kind == 2 && len == 4) {
            w.key("name");
            w.value("mss");
        } else if (kind == 3 && len == 3) {
            w.key("name");
            w.value("ws");
        } else if (kind == 4 && len == 2) {
            w.key("name");
            w.value("sackp");
        } else if (kind == 8 && len == 10) {
            w.key("name");
            w.value("ts");
        }
        w.key("len");
        w.value(uint64_t{len});
        if (kind == 2 && len == 4) {
            w.key("value");
            w.value(uint64_t{static_cast<uint32_t>(v[0]) << 8 | v[1]});
        } else if (kind == 3 && len == 3) {
            w.key("value");
            w.value(uint64_t{v[0]});
        } else if (kind == 8 && len == 10) {
            w.key("tsval");
            w.value(uint64_t{be32(v)});
            w.key("tsecr");
            w.value(uint64_t{be32(v + 4)});
        }
        w.end_object();
        i += len;
    }
    w.end_array();
}

}  // namespace

size_t TcpInfo::state_size(const FeatureConfig&) {
    return sizeof(TcpState);
}

void TcpInfo::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(TcpState));
}

void TcpInfo::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    const parse::DecodedPacket& k = *p.pkt;
    if (k.key.proto != 6 || k.l4_truncated) {
        return;
    }
    auto* st = reinterpret_cast<TcpState*>(s);
    TcpDir& d = st->dir[p.dir];
    d.flags |= k.tcp_flags;
    if (!d.have) {
        d.have = 1;
        d.first_window = k.tcp_window;
        take_options(d, p);
        d.opts_from_syn = (k.tcp_flags & kSyn) != 0;
        if (p.dir == 0 && !st->have_first_seq) {
            st->first_seq = k.tcp_seq;
            st->have_first_seq = 1;
        }
    } else if ((k.tcp_flags & kSyn) && !d.opts_from_syn) {
        take_options(d, p);
        d.opts_from_syn = 1;
    }
    if (p.seg == SegClass::retrans) {
        ++d.retrans;
    } else if (p.seg == SegClass::out_of_order) {
        ++d.out_of_order;
    }
    if (k.tcp_window == 0 && !(k.tcp_flags & kRst)) {
        ++d.zero_window;
    }
}

void TcpInfo::write_json(const uint8_t* s, const FlowData& f, JsonWriter& w, const FeatureConfig&) {
    if (f.key.proto != 6) {
        return;
    }
    const auto* st = reinterpret_cast<const TcpState*>(s);
    w.key("tcp");
    w.begin_object();
    if (st->have_first_seq) {
        w.key("first_seq");
        w.value(uint64_t{st->first_seq});
    }
    for (int dir = 0; dir < 2; ++dir) {
        const TcpDir& d = st->dir[dir];
        if (!d.have) {
            continue;
        }
        w.key(dir == 0 ? "out" : "in");
        w.begin_object();
        w.key("flags");
        w.value(uint64_t{d.flags});
        w.key("first_window_size");
        w.value(uint64_t{d.first_window});
        w.key("opt_len");
        w.value(uint64_t{d.opt_len});
        write_options(d, w);
        w.key("retrans");
        w.value(uint64_t{d.retrans});
        w.key("out_of_order");
        w.value(uint64_t{d.out_of_order});
        w.key("zero_window");
        w.value(uint64_t{d.zero_window});
        w.end_object();
    }
    w.end_object();
}

}  // namespace spate::features
