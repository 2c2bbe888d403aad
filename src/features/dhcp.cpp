// dhcp: DHCP (recognised by the BOOTP header and the magic cookie, any
// UDP port, 67/68 in practice) and DHCPv6 (UDP 546/547). Each message of
// the flow is kept in the flow state as a short header, its fixed part
// (the BOOTP fields op..chaddr, or the DHCPv6 message type and transaction
// id / relay addresses) and its options as they were on the wire, cut at
// what fits; the record lists them, decoding the options that matter.
#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/dhcp.hpp"

namespace spate::features {

namespace {

constexpr uint32_t kArena = 2048;     ///< bytes of messages kept per flow
constexpr uint8_t kMaxMessages = 16;  ///< messages kept per flow

// DhcpState::flags
constexpr uint8_t kDropped = 1 << 0;  ///< messages left out (count or bytes)

struct DhcpState {
    uint16_t used;  ///< arena bytes in use
    uint8_t count;
    uint8_t flags;
    uint32_t dropped;  ///< messages left out
    // followed by kArena bytes of entries
};

// Entry::flags
constexpr uint8_t kOptCut = 1 << 0;  ///< options cut: the arena was full
constexpr uint8_t kCapCut = 1 << 1;  ///< the capture (snaplen) cut the message

struct Entry {
    uint16_t total;      ///< bytes of this entry, header included
    uint16_t opt_len;    ///< option bytes kept
    uint16_t opt_total;  ///< option bytes in the message (captured)
    uint8_t dir;
    uint8_t version;  ///< 4 or 6
    uint8_t flags;
    uint8_t hdr_len;
    uint8_t pad[2];
};
static_assert(sizeof(Entry) == 12);

uint8_t* arena(DhcpState& st) {
    return reinterpret_cast<uint8_t*>(&st) + sizeof(DhcpState);
}
const uint8_t* arena(const DhcpState& st) {
    return reinterpret_cast<const uint8_t*>(&st) + sizeof(DhcpState);
}

void store(DhcpState& st, AppCounters* ctr, uint8_t dir, uint8_t version, const uint8_t* hdr,
           uint32_t hdr_len, proto::Span opts, bool cap_cut) {
    if (st.count >= kMaxMessages || st.used + sizeof(Entry) + hdr_len > kArena) {
        st.flags |= kDropped;
        ++st.dropped;
        if (ctr != nullptr) {
            ++ctr->truncated;
        }
        return;
    }
    uint8_t* at = arena(st) + st.used;
    const uint32_t room = kArena - st.used - sizeof(Entry) - hdr_len;
    Entry e{};
    e.opt_total = static_cast<uint16_t>(std::min<uint32_t>(opts.n, 65535));
    e.opt_len = static_cast<uint16_t>(std::min<uint32_t>(opts.n, room));
    e.dir = dir;
    e.version = version;
    e.flags = static_cast<uint8_t>((e.opt_len < opts.n ? kOptCut : 0) | (cap_cut ? kCapCut : 0));
    e.hdr_len = static_cast<uint8_t>(hdr_len);
    e.total = static_cast<uint16_t>(sizeof(Entry) + hdr_len + e.opt_len);
    std::memcpy(at, &e, sizeof(e));
    std::memcpy(at + sizeof(Entry), hdr, hdr_len);
    if (e.opt_len > 0) {
        std::memcpy(at + sizeof(Entry) + hdr_len, opts.p, e.opt_len);
    }
    st.used = static_cast<uint16_t>(st.used + e.total);
    ++st.count;
    if (e.opt_len < opts.n && ctr != nullptr) {
        ++ctr->truncated;
    }
}

}  // namespace

size_t Dhcp::state_size(const FeatureConfig&) {
    return sizeof(DhcpState) + kArena;
}

void Dhcp::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(DhcpState));
}

void Dhcp::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    const parse::DecodedPacket& pkt = *p.pkt;
    if (pkt.key.proto != 17 || p.payload_cap < 4 || p.payload == nullptr) {
        return;
    }
    auto& st = *reinterpret_cast<DhcpState*>(s);
    AppCounters* ctr = p.scratch != nullptr ? &p.scratch->dhcp : nullptr;
    const bool cap_cut = p.payload_cap < pkt.payload_len;
    proto::DhcpMessage m;
    if (p.payload_cap >= proto::kDhcpOptionsOffset &&
        proto::parse_dhcp(p.payload, p.payload_cap, m)) {
        if (ctr != nullptr) {
            ++ctr->messages;
            proto::DhcpOptionIter it(m.options);
            for (proto::DhcpOption o; it.next(o);) {
            }
            if (it.truncated()) {
                ++ctr->malformed;
            }
        }
        store(st, ctr, p.dir, 4, p.payload, proto::kDhcpFixed, m.options, cap_cut);
        return;
    }
    const uint16_t sp = pkt.key.sport;
    const uint16_t dp = pkt.key.dport;
    const bool v6_port = sp == 546 || sp == 547 || dp == 546 || dp == 547;
    proto::Dhcp6Message m6;
    if (v6_port && proto::parse_dhcp6(p.payload, p.payload_cap, m6)) {
        if (ctr != nullptr) {
            ++ctr->messages;
            proto::Dhcp6OptionIter it(m6.options);
            for (proto::Dhcp6Option o; it.next(o);) {
            }
            if (it.truncated()) {
                ++ctr->malformed;
            }
        }
        store(st, ctr, p.dir, 6, p.payload, proto::dhcp6_header_len(m6.msg_type), m6.options,
              cap_cut);
    }
}

void Dhcp::release(uint8_t*, WorkerScratch*) {}

namespace {

void ip4(JsonWriter& w, const uint8_t* a) {
    char b[16];
    const int n = std::snprintf(b, sizeof(b), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    w.value(std::string_view(b, static_cast<size_t>(n)));
}

void ip6(JsonWriter& w, const uint8_t* a) {
    IpAddr x = IpAddr::v6(a);
    char b[64];
    const size_t n = format_ip(x, 6, b);
    w.value(std::string_view(b, n));
}

void hex(JsonWriter& w, proto::Span s, char sep = 0) {
    if (sep == 0) {
        w.hex(s.p, std::min<uint32_t>(s.n, 256));
        return;
    }
    static const char* digits = "0123456789abcdef";
    char buf[3 * 256];
    size_t n = 0;
    for (uint32_t i = 0; i < s.n && n + 3 <= sizeof(buf); ++i) {
        if (sep != 0 && i > 0) {
            buf[n++] = sep;
        }
        buf[n++] = digits[s.p[i] >> 4];
        buf[n++] = digits[s.p[i] & 15];
    }
    w.value(std::string_view(buf, n));
}

uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void write_v4(JsonWriter& w, const uint8_t* hdr, proto::Span opts, const Entry& e) {
    proto::DhcpMessage m;
    proto::parse_dhcp_fixed(hdr, proto::kDhcpFixed, m);
    w.key("op");
    w.value(uint64_t{m.op});
    w.key("htype");
    w.value(uint64_t{m.htype});
    w.key("hlen");
    w.value(uint64_t{m.hlen});
    w.key("hops");
    w.value(uint64_t{m.hops});
    w.key("xid");
    w.value(uint64_t{m.xid});
    w.key("secs");
    w.value(uint64_t{m.secs});
    w.key("flags");
    w.value(uint64_t{m.flags});
    w.key("ciaddr");
    ip4(w, m.ciaddr);
    w.key("yiaddr");
    ip4(w, m.yiaddr);
    w.key("siaddr");
    ip4(w, m.siaddr);
    w.key("giaddr");
    ip4(w, m.giaddr);
    w.key("chaddr");
    hex(w, m.chaddr, ':');
    // Options in order; the ones that matter decoded.
    w.key("options");
    w.begin_array();
    proto::DhcpOptionIter it(opts);
    for (proto::DhcpOption o; it.next(o);) {
        w.value(uint64_t{o.code});
    }
    w.end_array();
    proto::DhcpOptionIter it2(opts);
    bool seen[256] = {};
    for (proto::DhcpOption o; it2.next(o);) {
        if (seen[o.code]) {
            continue;  // the first occurrence is reported
        }
        seen[o.code] = true;
        switch (o.code) {
            case 53:
                if (o.data.n >= 1) {
                    w.key("message_type");
                    w.value(uint64_t{o.data.p[0]});
                    const std::string_view name = proto::dhcp_message_type_name(o.data.p[0]);
                    if (!name.empty()) {
                        w.key("message_type_name");
                        w.value(name);
                    }
                }
                break;
            case 50:
                if (o.data.n == 4) {
                    w.key("requested_ip");
                    ip4(w, o.data.p);
                }
                break;
            case 54:
                if (o.data.n == 4) {
                    w.key("server_id");
                    ip4(w, o.data.p);
                }
                break;
            case 51:
                if (o.data.n == 4) {
                    w.key("lease_time");
                    w.value(uint64_t{be32(o.data.p)});
                }
                break;
            case 12:
                w.key("hostname");
                w.value(o.data.text());
                break;
            case 60:
                w.key("vendor_class_id");
                w.value(o.data.text());
                break;
            case 61:
                w.key("client_id");
                hex(w, o.data);
                break;
            case 55: {
                w.key("parameter_request_list");
                w.begin_array();
                for (uint32_t i = 0; i < o.data.n; ++i) {
                    w.value(uint64_t{o.data.p[i]});
                }
                w.end_array();
                char fp[4 * 256];
                size_t n = 0;
                for (uint32_t i = 0; i < o.data.n; ++i) {
                    n += static_cast<size_t>(
                        std::snprintf(fp + n, sizeof(fp) - n, i > 0 ? ",%u" : "%u", o.data.p[i]));
                }
                w.key("fingerprint");
                w.value(std::string_view(fp, n));
                break;
            }
            default:
                break;
        }
    }
    if (it.truncated() && (e.flags & (kOptCut | kCapCut)) == 0) {
        w.key("options_malformed");
        w.value(true);
    }
    if (it.truncated() || (e.flags & (kOptCut | kCapCut)) != 0 ||
        (!it.ended() && e.opt_len == e.opt_total)) {
        w.key("options_truncated");
        w.value(true);
    }
}

void write_v6(JsonWriter& w, const uint8_t* hdr, uint32_t hdr_len, proto::Span opts,
              const Entry& e) {
    proto::Dhcp6Message m;
    proto::parse_dhcp6(hdr, hdr_len, m);
    w.key("message_type");
    w.value(uint64_t{m.msg_type});
    const std::string_view name = proto::dhcp6_message_type_name(m.msg_type);
    if (!name.empty()) {
        w.key("message_type_name");
        w.value(name);
    }
    if (m.relay) {
        w.key("hop_count");
        w.value(uint64_t{m.hop_count});
        w.key("link_address");
        ip6(w, m.link_address.p);
        w.key("peer_address");
        ip6(w, m.peer_address.p);
    } else {
        w.key("transaction_id");
        w.value(uint64_t{m.xid});
    }
    w.key("options");
    w.begin_array();
    proto::Dhcp6OptionIter it(opts);
    for (proto::Dhcp6Option o; it.next(o);) {
        w.value(uint64_t{o.code});
    }
    w.end_array();
    proto::Dhcp6OptionIter it2(opts);
    bool have_cid = false, have_sid = false, have_oro = false, have_ia = false, have_rm = false;
    for (proto::Dhcp6Option o; it2.next(o);) {
        if (o.code == 1 && !have_cid) {
            have_cid = true;
            w.key("client_id");
            hex(w, o.data);
        } else if (o.code == 2 && !have_sid) {
            have_sid = true;
            w.key("server_id");
            hex(w, o.data);
        } else if (o.code == 3 && o.data.n >= 4 && !have_ia) {
            have_ia = true;
            w.key("ia_na_iaid");
            w.value(uint64_t{be32(o.data.p)});
        } else if (o.code == 6 && !have_oro) {
            have_oro = true;
            w.key("option_request");
            w.begin_array();
            for (uint32_t i = 0; i + 1 < o.data.n; i += 2) {
                w.value(uint64_t{uint32_t(o.data.p[i]) << 8 | o.data.p[i + 1]});
            }
            w.end_array();
        } else if (o.code == 9 && o.data.n >= 1 && !have_rm) {
            have_rm = true;
            w.key("relay_message_type");
            w.value(uint64_t{o.data.p[0]});
        }
    }
    if (it.truncated() && (e.flags & (kOptCut | kCapCut)) == 0) {
        w.key("options_malformed");
        w.value(true);
    }
    if (it.truncated() || (e.flags & (kOptCut | kCapCut)) != 0) {
        w.key("options_truncated");
        w.value(true);
    }
}

}  // namespace

const char* Dhcp::app(const uint8_t* s, const FlowData& f, const FeatureConfig&,
                      std::string_view&) {
    const auto& st = *reinterpret_cast<const DhcpState*>(s);
    if (st.count == 0 && st.dropped == 0) {
        return nullptr;
    }
    const bool v6 = f.key.sport == 546 || f.key.sport == 547 || f.key.dport == 546 ||
                    f.key.dport == 547;
    return v6 ? "dhcpv6" : "dhcp";
}

void Dhcp::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto& st = *reinterpret_cast<const DhcpState*>(s);
    if (st.count == 0 && st.dropped == 0) {
        return;
    }
    w.key("dhcp");
    w.begin_array();
    const uint8_t* a = arena(st);
    uint32_t pos = 0;
    for (uint8_t i = 0; i < st.count && pos + sizeof(Entry) <= st.used; ++i) {
        Entry e;
        std::memcpy(&e, a + pos, sizeof(e));
        if (e.total < sizeof(Entry) + e.hdr_len + e.opt_len || pos + e.total > st.used) {
            break;
        }
        const uint8_t* hdr = a + pos + sizeof(Entry);
        const proto::Span opts{hdr + e.hdr_len, e.opt_len};
        w.begin_object();
        w.key("dir");
        w.value(e.dir == 0 ? ">" : "<");
        w.key("version");
        w.value(uint64_t{e.version});
        if (e.version == 4) {
            write_v4(w, hdr, opts, e);
        } else {
            write_v6(w, hdr, e.hdr_len, opts, e);
        }
        w.end_object();
        pos += e.total;
    }
    w.end_array();
    if (st.dropped != 0) {
        w.key("dhcp_dropped");
        w.value(uint64_t{st.dropped});
    }
}

size_t Dhcp::used_bytes(const uint8_t*, const FeatureConfig& c) {
    return state_size(c);
}

}  // namespace spate::features
