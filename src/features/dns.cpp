// dns: DNS messages over UDP and TCP, mDNS (5353) and LLMNR (5355) included.
// Recognised by content (a plausible header whose question and records
// parse), with the ports 53/5353/5355 as a hint that relaxes the check. The
// worker only frames and copies: each message's bytes go into an arena in
// the flow state ([u16 kept][u16 wire length][u8 dir][u8 flags][bytes], at
// most --dns-bytes in total); a message that does not fit is counted and
// flagged. Over TCP the 2-byte length prefix frames messages in the
// in-order stream (stream.hpp); a message split over segments is assembled
// in the direction's leased pool buffer. The exporter thread decodes the
// kept bytes in write_json.
#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/stream.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/dns.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kTcpSyn = 0x02;

// DirState::mode
constexpr uint8_t kModeUnknown = 0;  ///< nothing seen yet
constexpr uint8_t kModeTry = 1;      ///< framing messages, the first not yet confirmed as DNS
constexpr uint8_t kModeDns = 2;      ///< framing DNS messages
constexpr uint8_t kModeNot = 3;      ///< not DNS: ignored
constexpr uint8_t kModeLost = 4;     ///< stopped at a hole or a bad length prefix

struct DirState {
    StreamState stream;
    uint16_t need;   ///< length of the message being read (from its prefix)
    uint16_t got;    ///< bytes of it seen
    uint16_t kept;   ///< bytes of it copied into the pool buffer
    uint16_t limit;  ///< bytes of it that will be kept (0: count only)
    uint8_t len_have;
    uint8_t len_buf[2];
    uint8_t mode;
};

// DnsState::flags
constexpr uint8_t kIsDns = 1 << 0;
constexpr uint8_t kGap = 1 << 1;         ///< a TCP direction stopped at a hole
constexpr uint8_t kLostSync = 1 << 2;    ///< a TCP length prefix below 12
constexpr uint8_t kBufferLost = 1 << 3;  ///< the pool buffer was taken back mid-message
constexpr uint8_t kGaveUp = 1 << 4;      ///< UDP: several datagrams, none DNS

// Arena entry flags
constexpr uint8_t kEntryTcp = 1 << 0;
constexpr uint8_t kEntryCut = 1 << 1;        ///< fewer bytes kept than the message has
constexpr uint8_t kEntryMalformed = 1 << 2;  ///< the kept bytes do not parse

constexpr uint32_t kEntryHdr = 6;
constexpr uint16_t kUdpTries = 8;  ///< UDP datagrams looked at before giving up on a flow

/// The control part (in the flow entry); the arena of messages is leased
/// from the worker's dns pool at the first message kept and follows it in
/// the record.
struct DnsState {
    ArenaRef ref;
    DirState dir[2];
    uint32_t used;     ///< arena bytes in use
    uint16_t stored;   ///< messages in the arena
    uint16_t dropped;  ///< messages left out (arena full)
    uint16_t cut;      ///< messages kept in part
    uint16_t tries;    ///< UDP datagrams that were not DNS
    uint8_t flags;
    uint8_t pad[7];
    // followed by cfg.dns_bytes of arena
};

const uint8_t* arena_of(const DnsState& st) {
    return reinterpret_cast<const uint8_t*>(&st) + sizeof(DnsState);
}

bool netbios(uint16_t port) {
    return port == 137 || port == 138;
}

bool port_hint(uint16_t port) {
    return port == 53 || port == 5353 || port == 5355;
}

struct Ctx {
    DnsState& st;
    const PacketView& p;
    const FeatureConfig& cfg;
    AppCounters* cnt;  ///< nullptr without scratch
    BufferPool* pool;
    bool hint;
    ArenaPool* arenas;  ///< the dns arena pool; nullptr without scratch
};

uint32_t room(const Ctx& c) {
    return c.cfg.dns_bytes > c.st.used ? c.cfg.dns_bytes - c.st.used : 0;
}

/// Bytes of a message of `len` bytes that the arena can take (0: none).
uint32_t keepable(const Ctx& c, uint32_t len) {
    const uint32_t r = room(c);
    if (r < kEntryHdr + proto::kDnsHeader) {
        return 0;
    }
    return std::min(len, r - kEntryHdr);
}

/// Puts a message (its first `kept` of `len` bytes) into the arena.
void store(Ctx& c, uint8_t dir, const uint8_t* m, uint32_t kept, uint32_t len, bool tcp) {
    DnsState& st = c.st;
    if (c.cnt != nullptr) {
        ++c.cnt->messages;
    }
    kept = std::min(kept, keepable(c, len));
    if (kept < proto::kDnsHeader) {
        ++st.dropped;
        if (c.cnt != nullptr) {
            ++c.cnt->truncated;
        }
        return;
    }
    uint8_t flags = tcp ? kEntryTcp : 0;
    if (kept < len) {
        flags |= kEntryCut;
        ++st.cut;
        if (c.cnt != nullptr) {
            ++c.cnt->truncated;
        }
    }
    const proto::DnsSummary s = proto::dns_validate(m, kept);
    const bool cut_error = kept < len && (s.error == proto::DnsError::name_past_end ||
                                          s.error == proto::DnsError::record_past_end ||
                                          s.error == proto::DnsError::rdata_past_end);
    if (s.error != proto::DnsError::none && !cut_error) {
        flags |= kEntryMalformed;
        if (c.cnt != nullptr) {
            ++c.cnt->malformed;
        }
    }
    uint8_t* a = nullptr;
    if (c.arenas != nullptr) {
        a = c.arenas->reserve(st.ref, st.used + kEntryHdr + kept, st.used);
    } else {
        st.ref.lost = 1;
    }
    if (a == nullptr) {
        ++st.dropped;  // the pool is dry: dns_no_state
        st.flags |= kIsDns;
        return;
    }
    uint8_t* e = a + st.used;
    e[0] = uint8_t(kept >> 8);
    e[1] = uint8_t(kept);
    e[2] = uint8_t(len >> 8);
    e[3] = uint8_t(len);
    e[4] = dir;
    e[5] = flags;
    std::memcpy(e + kEntryHdr, m, kept);
    st.used += kEntryHdr + kept;
    ++st.stored;
    st.flags |= kIsDns;
}

// ---- UDP ----

void update_udp(Ctx& c) {
    DnsState& st = c.st;
    const PacketView& p = c.p;
    if ((st.flags & kGaveUp) != 0 || p.payload_cap == 0) {
        return;
    }
    const uint8_t* m = p.payload;
    const uint32_t n = p.payload_cap;
    const uint32_t len = std::max<uint32_t>(n, std::min<uint32_t>(p.pkt->payload_len, 65535));
    bool dns;
    if (c.hint) {
        dns = n >= proto::kDnsHeader && (proto::dns_header_prefix_plausible(m, 4) ||
                                         proto::dns_validate(m, n).error == proto::DnsError::none);
    } else {
        dns = n == len && proto::dns_looks_like(m, n);
    }
    if (dns) {
        store(c, p.dir, m, n, len, false);
    } else if ((st.flags & kIsDns) == 0 && !c.hint && ++st.tries >= kUdpTries) {
        st.flags |= kGaveUp;
    }
}

// ---- TCP ----

void stop_dir(Ctx& c, DirState& d, uint8_t mode) {
    d.mode = mode;
    stream_release(d.stream, c.pool);
}

uint32_t area(const Ctx& c) {
    return c.pool != nullptr && c.pool->slot_bytes() > kOooArea ? c.pool->slot_bytes() - kOooArea
                                                                : 0;
}

/// A whole message of a direction (its first `kept` bytes).
void on_message(Ctx& c, DirState& d, uint8_t dir, const uint8_t* m, uint32_t kept, uint32_t len) {
    if (d.mode == kModeTry) {
        // No port hint: the first message must look like DNS as a whole.
        if (kept < len || !proto::dns_looks_like(m, kept)) {
            stop_dir(c, d, kModeNot);
            return;
        }
        d.mode = kModeDns;
    }
    if (kept == 0 && len > 0) {
        // Not kept: the arena was full, or the buffer was lost.
        if (c.cnt != nullptr) {
            ++c.cnt->messages;
            ++c.cnt->truncated;
        }
        ++c.st.dropped;
        return;
    }
    store(c, dir, m, kept, len, true);
}

void consume(Ctx& c, uint8_t dir, const uint8_t* data, uint32_t len) {
    DirState& d = c.st.dir[dir];
    while (len > 0 && (d.mode == kModeTry || d.mode == kModeDns)) {
        if (d.len_have < 2) {
            d.len_buf[d.len_have++] = *data++;
            --len;
            if (d.len_have == 2) {
                d.need = static_cast<uint16_t>(d.len_buf[0] << 8 | d.len_buf[1]);
                d.got = 0;
                d.kept = 0;
                if (d.need < proto::kDnsHeader) {
                    if (d.mode == kModeDns) {
                        c.st.flags |= kLostSync;
                        if (c.cnt != nullptr) {
                            ++c.cnt->malformed;
                        }
                        stop_dir(c, d, kModeLost);
                    } else {
                        stop_dir(c, d, kModeNot);
                    }
                    return;
                }
                d.limit = static_cast<uint16_t>(keepable(c, d.need));
            }
            continue;
        }
        const uint32_t k = std::min<uint32_t>(d.need - d.got, len);
        if (d.got == 0 && k == d.need) {
            on_message(c, d, dir, data, d.limit, d.need);  // whole in this chunk: no copy
        } else {
            const uint32_t lim = std::min<uint32_t>(d.limit, area(c));
            if (d.kept < lim && d.kept == d.got) {
                uint8_t* b = stream_buffer(d.stream, c.pool);
                if (b == nullptr) {
                    c.st.flags |= kBufferLost;
                    d.kept = 0;
                    d.limit = 0;
                } else {
                    const uint32_t n = std::min<uint32_t>(lim - d.kept, k);
                    std::memcpy(b + d.kept, data, n);
                    d.kept = static_cast<uint16_t>(d.kept + n);
                }
            }
            if (d.got + k == d.need) {
                uint8_t* b = d.kept > 0 ? stream_buffer(d.stream, c.pool) : nullptr;
                if (b == nullptr && d.kept > 0) {
                    c.st.flags |= kBufferLost;
                    d.kept = 0;
                }
                on_message(c, d, dir, b, d.kept, d.need);
            }
        }
        d.got = static_cast<uint16_t>(d.got + k);
        data += k;
        len -= k;
        if (d.got == d.need) {
            d.len_have = 0;
        }
    }
}

void update_tcp(Ctx& c) {
    const PacketView& p = c.p;
    const parse::DecodedPacket& pkt = *p.pkt;
    DirState& d = c.st.dir[p.dir];
    if ((pkt.tcp_flags & kTcpSyn) != 0) {
        if (!d.stream.started) {
            stream_start(d.stream, pkt.tcp_seq + 1);
        }
    }
    if (p.payload_cap == 0 || d.mode >= kModeNot) {
        return;
    }
    const uint32_t seq = pkt.tcp_seq + ((pkt.tcp_flags & kTcpSyn) != 0 ? 1 : 0);
    if (d.mode == kModeUnknown) {
        if (c.hint) {
            d.mode = kModeDns;
        } else {
            // Content only: the first bytes of the stream are a length
            // prefix and the start of a plausible header.
            const bool at_start = !d.stream.started || seq == d.stream.next;
            const uint8_t* b = p.payload;
            const uint32_t n = p.payload_cap;
            if (!at_start || n < 2 + 6 || uint32_t(b[0] << 8 | b[1]) < proto::kDnsHeader ||
                !proto::dns_header_prefix_plausible(b + 2, std::min<uint32_t>(n - 2, 12))) {
                stop_dir(c, d, kModeNot);
                return;
            }
            d.mode = kModeTry;
        }
    }
    const uint8_t dir = p.dir;
    const StreamFeed r = stream_feed(
        d.stream, c.pool, area(c), seq, p.payload, p.payload_cap,
        [&](const uint8_t* b, uint32_t n) { consume(c, dir, b, n); },
        [&] { return d.mode == kModeTry || d.mode == kModeDns; });
    if (r == StreamFeed::gap && (d.mode == kModeTry || d.mode == kModeDns)) {
        if (d.mode == kModeDns) {
            c.st.flags |= d.stream.buffer_lost ? kBufferLost : kGap;
            if (c.cnt != nullptr) {
                ++c.cnt->gaps;
            }
        }
        stop_dir(c, d, kModeLost);
        return;
    }
    if (p.payload_cap < pkt.payload_len && (d.mode == kModeTry || d.mode == kModeDns)) {
        // Cut by the snaplen: the rest of the segment is a hole.
        if (d.mode == kModeDns) {
            c.st.flags |= kGap;
            if (c.cnt != nullptr) {
                ++c.cnt->gaps;
            }
        }
        stop_dir(c, d, kModeLost);
    }
}

// ---- JSON (exporter thread) ----

uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}
uint32_t rd32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

/// A small text builder over a fixed buffer (names, numbers, addresses).
struct Text {
    char buf[2 * proto::kDnsNameText + 96];
    uint32_t len = 0;

    void add(std::string_view s) {
        const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(s.size()), sizeof(buf) - len);
        std::memcpy(buf + len, s.data(), n);
        len += n;
    }
    void num(uint64_t v) {
        char tmp[24];
        auto r = std::to_chars(tmp, tmp + sizeof(tmp), v);
        add(std::string_view(tmp, static_cast<size_t>(r.ptr - tmp)));
    }
    /// A name at `at`; false when it does not parse.
    bool name(const uint8_t* m, uint32_t n, uint32_t at) {
        char tmp[proto::kDnsNameText];
        uint32_t after = 0;
        uint32_t k = 0;
        if (proto::dns_read_name(m, n, at, after, tmp, k) != proto::DnsError::none) {
            return false;
        }
        add(std::string_view(tmp, k));
        return true;
    }
    std::string_view view() const { return {buf, len}; }
};

/// A type as its number under `key` and its mnemonic under `key`_name
/// (RFC 3597's "TYPEnnn" for a type not in the table): code points are
/// integers in every unit, names strings beside them.
void write_type(JsonWriter& w, std::string_view key, uint16_t type) {
    w.key_string(key);
    w.value(uint64_t{type});
    char name_key[16];
    const size_t kn = std::min(key.size(), sizeof(name_key) - 5);
    std::memcpy(name_key, key.data(), kn);
    std::memcpy(name_key + kn, "_name", 5);
    w.key_string(std::string_view(name_key, kn + 5));
    const std::string_view t = proto::dns_type_name(type);
    if (!t.empty()) {
        w.value(t);
        return;
    }
    Text x;
    x.add("TYPE");
    x.num(type);
    w.value(x.view());
}

/// A name under `key`; left out when it does not parse (the message then
/// says where in "malformed").
void write_name(JsonWriter& w, std::string_view key, const uint8_t* m, uint32_t n, uint32_t at) {
    Text t;
    if (t.name(m, n, at)) {
        w.key_string(key);
        w.value(t.view());
    }
}

void write_flags(JsonWriter& w, uint16_t f) {
    Text t;
    auto flag = [&](uint16_t bit, std::string_view s) {
        if ((f & bit) != 0) {
            if (t.len != 0) {
                t.add(" ");
            }
            t.add(s);
        }
    };
    flag(0x8000, "qr");
    flag(0x0400, "aa");
    flag(0x0200, "tc");
    flag(0x0100, "rd");
    flag(0x0080, "ra");
    flag(0x0040, "z");
    flag(0x0020, "ad");
    flag(0x0010, "cd");
    w.value(t.view());
}

/// The rdata as "data" (always a string; TXT also as "txt", an array of
/// its strings), or "len" for the types not decoded.
void write_rdata(JsonWriter& w, const uint8_t* m, uint32_t n, const proto::DnsEntry& e) {
    const uint8_t* r = m + e.rdata_off;
    if (proto::dns_check_rdata(m, n, e) != proto::DnsError::none) {
        w.key("len");
        w.value(uint64_t{e.rdlen});
        w.key("rdata_malformed");
        w.value(true);
        return;
    }
    Text t;
    switch (e.type) {
        case 1: {
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, r, a, sizeof(a));
            t.add(a);
            break;
        }
        case 28: {
            char a[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, r, a, sizeof(a));
            t.add(a);
            break;
        }
        case 2:
        case 5:
        case 12:
        case 39:
            t.name(m, n, e.rdata_off);
            break;
        case 15:
            t.num(rd16(r));
            t.add(" ");
            t.name(m, n, e.rdata_off + 2);
            break;
        case 33:
            t.num(rd16(r));
            t.add(" ");
            t.num(rd16(r + 2));
            t.add(" ");
            t.num(rd16(r + 4));
            t.add(" ");
            t.name(m, n, e.rdata_off + 6);
            break;
        case 64:
        case 65:
            t.num(rd16(r));
            t.add(" ");
            t.name(m, n, e.rdata_off + 2);
            break;
        case 6: {
            uint32_t mid = 0;
            uint32_t k = 0;
            proto::dns_read_name(m, n, e.rdata_off, mid, nullptr, k);
            uint32_t end = 0;
            proto::dns_read_name(m, n, mid, end, nullptr, k);
            t.name(m, n, e.rdata_off);
            t.add(" ");
            t.name(m, n, mid);
            for (int i = 0; i < 5; ++i) {
                t.add(" ");
                t.num(rd32(m + end + 4 * i));
            }
            break;
        }
        case 16: {
            // "data" in zone-file presentation form (RFC 1035 section 5.1:
            // each character-string quoted, '"' and '\\' escaped, other
            // bytes outside printable ASCII as \DDD), as for every type a
            // string; "txt" the strings themselves.
            thread_local std::string text;  // kept between records: no allocation once grown
            text.clear();
            uint32_t p = 0;
            while (p < e.rdlen) {
                const uint32_t l = r[p];
                if (!text.empty()) {
                    text += ' ';
                }
                text += '"';
                for (uint32_t i = 0; i < l; ++i) {
                    const uint8_t c = r[p + 1 + i];
                    if (c == '"' || c == '\\') {
                        text += '\\';
                        text += char(c);
                    } else if (c < 0x20 || c > 0x7e) {
                        const char d[4] = {'\\', char('0' + c / 100), char('0' + c / 10 % 10),
                                           char('0' + c % 10)};
                        text.append(d, 4);
                    } else {
                        text += char(c);
                    }
                }
                text += '"';
                p += 1 + l;
            }
            w.key("data");
            w.value(std::string_view(text));
            w.key("txt");
            w.begin_array();
            p = 0;
            while (p < e.rdlen) {
                const uint32_t l = r[p];
                w.value(std::string_view(reinterpret_cast<const char*>(r + p + 1), l));
                p += 1 + l;
            }
            w.end_array();
            return;
        }
        default:
            w.key("len");
            w.value(uint64_t{e.rdlen});
            return;
    }
    w.key("data");
    w.value(t.view());
}

void write_record(JsonWriter& w, const uint8_t* m, uint32_t n, const proto::DnsEntry& e,
                  bool mdns) {
    w.begin_object();
    write_name(w, "name", m, n, e.name_off);
    write_type(w, "type", e.type);
    if (e.type == 41) {
        // OPT (EDNS): class is the UDP payload size, ttl the extended
        // rcode, version and flags.
        w.key("udp_size");
        w.value(uint64_t{e.cls});
        w.key("ext_rcode");
        w.value(uint64_t{e.ttl >> 24});
        w.key("version");
        w.value(uint64_t{(e.ttl >> 16) & 0xff});
        w.key("do");
        w.value((e.ttl & 0x8000) != 0);
        w.key("len");
        w.value(uint64_t{e.rdlen});
        w.end_object();
        return;
    }
    const uint16_t cls = mdns ? (e.cls & 0x7fff) : e.cls;
    if (cls != 1) {
        w.key("class");
        w.value(uint64_t{cls});
    }
    if (mdns && (e.cls & 0x8000) != 0) {
        w.key("flush");
        w.value(true);
    }
    w.key("ttl");
    w.value(uint64_t{e.ttl});
    write_rdata(w, m, n, e);
    w.end_object();
}

void write_question(JsonWriter& w, const uint8_t* m, uint32_t n, const proto::DnsEntry& e,
                    bool mdns, bool short_keys) {
    write_name(w, short_keys ? "qn" : "name", m, n, e.name_off);
    write_type(w, short_keys ? "qt" : "type", e.type);
    w.key("class");
    w.value(uint64_t{mdns ? uint16_t(e.cls & 0x7fff) : e.cls});
    if (mdns && (e.cls & 0x8000) != 0) {
        w.key("qu");
        w.value(true);
    }
}

void write_message(JsonWriter& w, const uint8_t* m, uint32_t kept, uint32_t len, uint8_t dir,
                   uint8_t flags, std::string_view dialect) {
    const bool mdns = dialect == "mdns";
    proto::DnsMessage msg(m, kept);
    w.begin_object();
    w.key("dir");
    w.value(dir == 0 ? ">" : "<");
    if (!dialect.empty()) {
        w.key("dialect");
        w.value(dialect);
    }
    if ((flags & kEntryTcp) != 0) {
        w.key("tcp");
        w.value(true);
    }
    const proto::DnsHeader& h = msg.header();
    w.key("id");
    w.value(uint64_t{h.id});
    w.key("qr");
    w.value(h.response() ? "response" : "query");
    w.key("opcode");
    w.value(uint64_t{h.opcode()});
    w.key("flags");
    write_flags(w, h.flags);
    w.key("rc");
    w.value(uint64_t{h.rcode()});
    w.key("qdcount");
    w.value(uint64_t{h.qdcount});
    w.key("ancount");
    w.value(uint64_t{h.ancount});
    w.key("nscount");
    w.value(uint64_t{h.nscount});
    w.key("arcount");
    w.value(uint64_t{h.arcount});
    // The first question as qn/qt/class; all of them in "questions" when
    // there are several.
    // UPDATE (RFC 2136) names its sections zone, prerequisites, updates
    // and additional.
    const bool update = h.opcode() == 5;
    proto::DnsEntry e;
    {
        proto::DnsMessage q(m, kept);
        if (q.next(e) && e.section == proto::DnsSection::question) {
            if (update) {
                w.key("zone");
                w.begin_object();
                write_question(w, m, kept, e, mdns, false);
                w.end_object();
            } else {
                write_question(w, m, kept, e, mdns, true);
            }
        }
    }
    if (h.qdcount > 1 && !update) {
        proto::DnsMessage q(m, kept);
        w.key("questions");
        w.begin_array();
        while (q.next(e) && e.section == proto::DnsSection::question) {
            w.begin_object();
            write_question(w, m, kept, e, mdns, false);
            w.end_object();
        }
        w.end_array();
    }
    static constexpr std::string_view kSection[4] = {"", "answers", "authority", "additional"};
    static constexpr std::string_view kUpdateSection[4] = {"", "prerequisites", "updates",
                                                           "additional"};
    int open = 0;
    while (msg.next(e)) {
        const int s = static_cast<int>(e.section);
        if (s == 0) {
            continue;
        }
        if (s != open) {
            if (open != 0) {
                w.end_array();
            }
            w.key(update ? kUpdateSection[s] : kSection[s]);
            w.begin_array();
            open = s;
        }
        write_record(w, m, kept, e, mdns);
    }
    if (open != 0) {
        w.end_array();
    }
    if (kept < len) {
        w.key("len");
        w.value(uint64_t{len});
        w.key("cut");
        w.value(true);
    }
    if (msg.error() != proto::DnsError::none && ((flags & kEntryMalformed) != 0 || kept == len)) {
        w.key("malformed");
        w.value(proto::to_string(msg.error()));
    }
    w.end_object();
}

}  // namespace

size_t Dns::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

void Dns::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(DnsState));  // the arena is read only up to `used`
}

void Dns::update(uint8_t* s, const PacketView& p, const FeatureConfig& cfg) {
    auto& st = *reinterpret_cast<DnsState*>(s);
    const parse::DecodedPacket& pkt = *p.pkt;
    if (pkt.key.proto != 6 && pkt.key.proto != 17) {
        return;
    }
    if (netbios(pkt.key.sport) || netbios(pkt.key.dport)) {
        return;  // NetBIOS name/datagram service: DNS wire format, another protocol
    }
    Ctx c{st,
          p,
          cfg,
          p.scratch != nullptr ? &p.scratch->dns : nullptr,
          p.scratch != nullptr ? &p.scratch->pool : nullptr,
          port_hint(pkt.key.sport) || port_hint(pkt.key.dport),
          p.scratch != nullptr ? &p.scratch->arena[kArenaDns] : nullptr};
    if (pkt.key.proto == 17) {
        update_udp(c);
    } else {
        update_tcp(c);
    }
}

const char* Dns::app(const uint8_t* s, const FlowData& f, const FeatureConfig&,
                     std::string_view&) {
    const auto& st = *reinterpret_cast<const DnsState*>(s);
    if (st.stored == 0 && st.dropped == 0) {
        return nullptr;
    }
    if (f.key.sport == 5353 || f.key.dport == 5353) {
        return "mdns";
    }
    if (f.key.sport == 5355 || f.key.dport == 5355) {
        return "llmnr";
    }
    return "dns";
}

void Dns::write_json(const uint8_t* s, const FlowData& f, JsonWriter& w, const FeatureConfig&) {
    const auto& st = *reinterpret_cast<const DnsState*>(s);
    if (st.stored == 0 && st.dropped == 0) {
        return;
    }
    std::string_view dialect;
    if (f.key.sport == 5353 || f.key.dport == 5353) {
        dialect = "mdns";
    } else if (f.key.sport == 5355 || f.key.dport == 5355) {
        dialect = "llmnr";
    }
    const uint8_t* a = arena_of(st);
    w.key("dns");
    w.begin_array();
    uint32_t pos = 0;
    while (pos + kEntryHdr <= st.used) {
        const uint32_t kept = rd16(a + pos);
        const uint32_t len = rd16(a + pos + 2);
        if (pos + kEntryHdr + kept > st.used) {
            break;
        }
        write_message(w, a + pos + kEntryHdr, kept, len, a[pos + 4], a[pos + 5], dialect);
        pos += kEntryHdr + kept;
    }
    w.end_array();
    if (st.dropped != 0 || st.cut != 0) {
        w.key("dns_truncated");
        w.value(true);
    }
    if (st.dropped != 0) {
        w.key("dns_dropped");
        w.value(uint64_t{st.dropped});
    }
    if ((st.flags & (kGap | kBufferLost)) != 0) {
        w.key("dns_gap");
        w.value(true);
    }
    if ((st.flags & kLostSync) != 0) {
        w.key("dns_lost_sync");
        w.value(true);
    }
}

void Dns::release(uint8_t* s, WorkerScratch* scratch) {
    auto& st = *reinterpret_cast<DnsState*>(s);
    for (DirState& d : st.dir) {
        stream_release(d.stream, scratch != nullptr ? &scratch->pool : nullptr);
    }
}

size_t Dns::control_size(const FeatureConfig&) {
    return sizeof(DnsState);
}

uint32_t Dns::arena_max(const FeatureConfig& c) {
    return c.dns_bytes;
}

size_t Dns::arena_used(const uint8_t* s, const FeatureConfig&) {
    return reinterpret_cast<const DnsState*>(s)->used;
}

const ArenaRef* Dns::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const DnsState*>(s)->ref;
}

}  // namespace spate::features
