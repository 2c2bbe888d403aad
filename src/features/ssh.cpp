// ssh: SSH over TCP (any port, recognised by its "SSH-" identification
// line). Per direction the byte stream is put in order (stream.hpp), the
// identification line is kept, then the first binary packet, which must be
// SSH_MSG_KEXINIT (RFC 4253 7.1), is copied payload and all into the flow
// state; after it the direction is done (everything later is encrypted).
// The record gives both banners, both KEXINIT name-lists, the algorithms
// the two sides agree on (RFC 4253 7.1), HASSH and HASSHServer.
//
// State: the header below, then --ssh-bytes of arena split in two halves,
// one per direction: [identification line][KEXINIT payload], each cut at
// what fits (flagged).
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/stream.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/ssh.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpAck = 0x10;

constexpr uint32_t kMaxBanner = 255;       ///< RFC 4253 4.2: at most 255 bytes with CR LF
constexpr uint32_t kMaxLineScan = 1024;    ///< bytes of one line looked at for its LF
constexpr uint8_t kMaxOtherLines = 4;      ///< lines allowed before the identification line
constexpr uint32_t kMaxOtherBytes = 1024;  ///< bytes of them

enum Mode : uint8_t {
    kModeUnknown = 0,  ///< nothing seen yet
    kModeBanner,       ///< reading lines until "SSH-..."
    kModePacket,       ///< reading the first binary packet
    kModeDone,         ///< KEXINIT read (or SSH-1): nothing more to learn
    kModeNotSsh,       ///< the first bytes were not SSH
    kModeLost,         ///< stopped: a hole, a lost buffer, or a packet that made no sense
};

// SshDir::flags
constexpr uint16_t kBanner = 1 << 0;           ///< identification line complete
constexpr uint16_t kBannerTruncated = 1 << 1;  ///< longer than kept (or never ended)
constexpr uint16_t kKexinit = 1 << 2;          ///< KEXINIT payload started
constexpr uint16_t kKexDone = 1 << 3;          ///< KEXINIT payload complete in the stream
constexpr uint16_t kKexTruncated = 1 << 4;     ///< payload longer than the arena kept
constexpr uint16_t kGap = 1 << 5;              ///< a hole in the stream before we were done
constexpr uint16_t kBadPacket = 1 << 6;        ///< first packet not a KEXINIT / bad header
constexpr uint16_t kBufferLost = 1 << 7;

struct SshDir {
    StreamState stream;
    uint32_t pkt_left;   ///< bytes of the current packet still to come (after its header)
    uint32_t kex_total;  ///< payload length of the KEXINIT packet
    uint32_t kex_seen;   ///< payload bytes of it seen
    uint16_t banner_len;
    uint16_t kex_len;  ///< payload bytes kept
    uint16_t line_len;
    uint16_t other_bytes;
    uint16_t flags;
    uint8_t mode;
    uint8_t hdr_have;
    uint8_t hdr[5];
    uint8_t other_lines;
    uint8_t head[4];  ///< the current line's first bytes (is it "SSH-"?)
    uint8_t pad[2];
};

// SshState::flags
constexpr uint32_t kSynSeen = 1 << 0;  ///< the initiator's SYN was seen
constexpr uint32_t kPortsSet = 1 << 1;

/// The control part (in the flow entry). The arena (banners and KEXINIT
/// payloads, `half` bytes per direction) is leased from the worker's ssh
/// pool when a line starts with "SSH-", and follows it in the record.
struct SshState {
    ArenaRef ref;
    SshDir dir[2];
    uint32_t flags;
    uint16_t half;     ///< arena bytes per direction
    uint16_t port[2];  ///< TCP port of each direction's sender
    uint8_t pad[6];
    // followed by 2 * half bytes of arena
};

static_assert(sizeof(SshState) % 8 == 0);

/// In a packed record: the direction's half of the arena (when ref.cls != 0).
const uint8_t* arena(const SshState& st, uint8_t dir) {
    return reinterpret_cast<const uint8_t*>(&st) + sizeof(SshState) + size_t{dir} * st.half;
}

bool ssh_line(const SshDir& d) {
    return d.banner_len >= 4 && std::memcmp(d.head, "SSH-", 4) == 0;
}

struct Ctx {
    SshState& st;
    SshDir& d;
    uint8_t dir;
    WorkerScratch* scratch;

    BufferPool* pool() { return scratch != nullptr ? &scratch->pool : nullptr; }
    /// The direction's half of the leased arena; nullptr when there is none.
    uint8_t* arena() {
        uint8_t* a = scratch != nullptr ? scratch->arena[kArenaSsh].get(st.ref) : nullptr;
        return a != nullptr ? a + size_t{dir} * st.half : nullptr;
    }
    /// Leases the arena (both halves); nullptr when the pool is dry.
    uint8_t* lease() {
        if (scratch == nullptr) {
            st.ref.lost = 1;
            return nullptr;
        }
        uint8_t* a = scratch->arena[kArenaSsh].reserve(st.ref, 2u * st.half, 0);
        return a != nullptr ? a + size_t{dir} * st.half : nullptr;
    }
    AppCounters* counters() { return scratch != nullptr ? &scratch->ssh : nullptr; }
};

void stop(Ctx& c, uint8_t mode) {
    c.d.mode = mode;
    stream_release(c.d.stream, c.pool());
}

bool active(const SshDir& d) {
    return d.mode == kModeUnknown || d.mode == kModeBanner || d.mode == kModePacket;
}

bool printable(uint8_t b) {
    return (b >= 0x20 && b < 0x7f) || b == '\t' || b == '\r' || b >= 0x80;
}

/// One line ended (LF seen): the identification line, or one before it.
void end_line(Ctx& c) {
    SshDir& d = c.d;
    if (ssh_line(d)) {
        const uint8_t* a = c.arena();  // leased when the line's "SSH-" came
        while (d.banner_len > 0 && a[d.banner_len - 1] == '\r') {
            --d.banner_len;
        }
        d.flags |= kBanner;
        if (d.line_len > kMaxBanner) {
            d.flags |= kBannerTruncated;
            if (c.counters() != nullptr) {
                ++c.counters()->truncated;
            }
        }
        if (c.counters() != nullptr) {
            ++c.counters()->messages;
        }
        proto::SshBanner b;
        proto::parse_ssh_banner(a, d.banner_len, b);
        const std::string_view v = b.proto_version.text();
        if (v.size() >= 2 && v[0] == '1' && v != "1.99") {
            stop(c, kModeDone);  // SSH-1: no KEXINIT
            return;
        }
        d.mode = kModePacket;
        d.hdr_have = 0;
        return;
    }
    // A line before the identification (RFC 4253 4.2 allows the server some).
    d.other_bytes = static_cast<uint16_t>(std::min<uint32_t>(d.other_bytes + d.line_len, 65535));
    if (++d.other_lines > kMaxOtherLines || d.other_bytes > kMaxOtherBytes) {
        stop(c, kModeNotSsh);
        return;
    }
    d.banner_len = 0;
    d.line_len = 0;
}

void consume_banner(Ctx& c, const uint8_t*& data, uint32_t& len) {
    SshDir& d = c.d;
    uint8_t* a = c.arena();
    const uint32_t keep = std::min<uint32_t>(kMaxBanner, c.st.half);
    while (len > 0 && d.mode == kModeBanner) {
        const uint8_t b = *data++;
        --len;
        if (b == '\n') {
            end_line(c);
            continue;
        }
        // Binary bytes: not a text line, so not SSH's.
        if (!printable(b)) {
            stop(c, kModeNotSsh);
            return;
        }
        if (d.line_len < keep) {
            if (d.line_len < 4) {
                d.head[d.line_len] = b;
            }
            if (a != nullptr) {
                a[d.line_len] = b;
            }
            d.banner_len = static_cast<uint16_t>(d.line_len + 1);
        }
        ++d.line_len;
        if (d.line_len == 4 && a == nullptr && ssh_line(d)) {
            // An identification line: now the bytes are worth keeping.
            a = c.lease();
            if (a == nullptr) {
                stop(c, kModeLost);  // the pool is dry: ssh_no_state
                return;
            }
            std::memcpy(a, d.head, 4);
        }
        if (d.line_len >= kMaxLineScan) {
            if (ssh_line(d)) {
                d.line_len = static_cast<uint16_t>(kMaxBanner + 1);
                d.flags |= kBannerTruncated;
                end_line(c);
                // The rest of the over-long line is not a packet: give up here.
                if (d.mode == kModePacket) {
                    stop(c, kModeLost);
                }
            } else {
                stop(c, kModeNotSsh);
            }
            return;
        }
    }
}

void bad_packet(Ctx& c) {
    c.d.flags |= kBadPacket;
    if (c.counters() != nullptr) {
        ++c.counters()->malformed;
    }
    stop(c, kModeLost);
}

void consume_packet(Ctx& c, const uint8_t* data, uint32_t len) {
    SshDir& d = c.d;
    uint8_t* a = c.arena();  // a packet follows an identification line: leased
    while (len > 0 && d.mode == kModePacket) {
        if (d.hdr_have < 5) {
            d.hdr[d.hdr_have++] = *data++;
            --len;
            if (d.hdr_have < 5) {
                continue;
            }
            const uint32_t plen = uint32_t(d.hdr[0]) << 24 | uint32_t(d.hdr[1]) << 16 |
                                  uint32_t(d.hdr[2]) << 8 | d.hdr[3];
            const uint8_t pad = d.hdr[4];
            if (!proto::ssh_packet_header_ok(plen, pad)) {
                bad_packet(c);
                return;
            }
            d.pkt_left = plen - 1;
            d.kex_total = plen - 1 - pad;
            d.kex_seen = 0;
            continue;
        }
        if (d.kex_seen == 0 && data[0] != proto::kSshMsgKexinit) {
            bad_packet(c);
            return;
        }
        d.flags |= kKexinit;
        const uint32_t k = std::min(len, d.kex_total - d.kex_seen);
        const uint32_t at = d.banner_len + d.kex_len;
        const uint32_t room = c.st.half > at ? c.st.half - at : 0;
        const uint32_t n = std::min(k, room);
        if (n > 0) {
            std::memcpy(a + at, data, n);
            d.kex_len = static_cast<uint16_t>(d.kex_len + n);
        }
        if (n < k && (d.flags & kKexTruncated) == 0) {
            d.flags |= kKexTruncated;
            if (c.counters() != nullptr) {
                ++c.counters()->truncated;
            }
        }
        d.kex_seen += k;
        if (d.kex_seen == d.kex_total) {
            d.flags |= kKexDone;
            if (c.counters() != nullptr) {
                ++c.counters()->messages;
            }
            stop(c, kModeDone);  // the padding and all later packets do not matter
            return;
        }
        data += k;
        len -= k;
    }
}

void consume(Ctx& c, const uint8_t* data, uint32_t len) {
    SshDir& d = c.d;
    if (d.mode == kModeUnknown) {
        d.mode = kModeBanner;
    }
    if (d.mode == kModeBanner) {
        consume_banner(c, data, len);
    }
    if (d.mode == kModePacket && len > 0) {
        consume_packet(c, data, len);
    }
}

}  // namespace

size_t Ssh::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

size_t Ssh::control_size(const FeatureConfig&) {
    return sizeof(SshState);
}

uint32_t Ssh::arena_max(const FeatureConfig& c) {
    return 2 * (std::min<uint32_t>(c.ssh_bytes, 65535) / 2);
}

size_t Ssh::arena_used(const uint8_t* s, const FeatureConfig& c) {
    return reinterpret_cast<const SshState*>(s)->ref.cls != 0 ? arena_max(c) : 0;
}

const ArenaRef* Ssh::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const SshState*>(s)->ref;
}

void Ssh::init(uint8_t* s, const FeatureConfig& c) {
    std::memset(s, 0, sizeof(SshState));
    reinterpret_cast<SshState*>(s)->half =
        static_cast<uint16_t>(std::min<uint32_t>(c.ssh_bytes, 65535) / 2);
}

void Ssh::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    auto& st = *reinterpret_cast<SshState*>(s);
    const parse::DecodedPacket& pkt = *p.pkt;
    if (pkt.key.proto != 6) {
        return;
    }
    SshDir& d = st.dir[p.dir];
    if ((st.flags & kPortsSet) == 0) {
        st.port[p.dir] = pkt.key.sport;
        st.port[p.dir ^ 1] = pkt.key.dport;
        st.flags |= kPortsSet;
    }
    if ((pkt.tcp_flags & kTcpSyn) != 0) {
        if ((pkt.tcp_flags & kTcpAck) == 0 && p.dir == 0) {
            st.flags |= kSynSeen;
        }
        if (!d.stream.started) {
            stream_start(d.stream, pkt.tcp_seq + 1);
        }
    }
    if (p.payload_cap == 0 || !active(d)) {
        return;
    }
    Ctx c{st, d, p.dir, p.scratch};
    const uint32_t seq = pkt.tcp_seq + ((pkt.tcp_flags & kTcpSyn) != 0 ? 1 : 0);
    const StreamFeed r = stream_feed(
        d.stream, c.pool(), 0, seq, p.payload, p.payload_cap,
        [&](const uint8_t* q, uint32_t n) { consume(c, q, n); }, [&] { return active(d); });
    if (r == StreamFeed::gap && active(d)) {
        d.flags |= d.stream.buffer_lost ? kBufferLost : kGap;
        if (c.counters() != nullptr) {
            ++c.counters()->gaps;
        }
        stop(c, kModeLost);
    } else if (p.payload_cap < pkt.payload_len && active(d)) {
        d.flags |= kGap;  // cut by the snaplen: the rest of the segment is a hole
        if (c.counters() != nullptr) {
            ++c.counters()->gaps;
        }
        stop(c, kModeLost);
    }
}

void Ssh::release(uint8_t* s, WorkerScratch* scratch) {
    auto& st = *reinterpret_cast<SshState*>(s);
    for (SshDir& d : st.dir) {
        stream_release(d.stream, scratch != nullptr ? &scratch->pool : nullptr);
    }
}

namespace {

struct Side {
    bool banner = false;
    proto::SshBanner b;
    proto::Span line;
    bool kex = false;
    proto::SshKexinit k;
    uint16_t flags = 0;
};

bool has_name(proto::Span list, std::string_view want) {
    uint32_t pos = 0;
    for (proto::Span n; proto::next_ssh_name(list, pos, n);) {
        if (n.text() == want) {
            return true;
        }
    }
    return false;
}

void name_list(JsonWriter& w, proto::Span list) {
    w.begin_array();
    uint32_t pos = 0;
    for (proto::Span n; proto::next_ssh_name(list, pos, n);) {
        w.value(n.text());
    }
    w.end_array();
}

void write_side(JsonWriter& w, const Side& s, bool server) {
    w.begin_object();
    if (s.banner) {
        w.key("banner");
        w.value(s.line.text());
        w.key("proto_version");
        w.value(s.b.proto_version.text());
        w.key("software");
        w.value(s.b.software.text());
        if (!s.b.comments.empty()) {
            w.key("comments");
            w.value(s.b.comments.text());
        }
    }
    if ((s.flags & kBannerTruncated) != 0) {
        w.key("banner_truncated");
        w.value(true);
    }
    if (s.kex) {
        for (uint8_t i = 0; i < proto::kSshLists; ++i) {
            if (i < s.k.lists || (i == s.k.lists && s.k.cut && !s.k.list[i].empty())) {
                w.key(proto::kSshListNames[i]);
                name_list(w, s.k.list[i]);
            }
        }
        if (s.k.complete) {
            w.key("first_kex_packet_follows");
            w.value(s.k.first_kex_packet_follows);
        }
        // HASSH needs the kex, enc, mac and comp lists whole (the comp lists
        // are the 7th and 8th).
        if (s.k.lists >= proto::kSshCompS2C + 1) {
            char str[32768 + 8];  // the lists come from one half of the arena (< 32768 bytes)
            const uint32_t n = proto::ssh_hassh_string(s.k, server, str, sizeof(str));
            char md5[33];
            proto::ssh_md5_hex(str, n, md5);
            w.key(server ? "hassh_server" : "hassh");
            w.value(std::string_view(md5, 32));
            w.key(server ? "hassh_server_algorithms" : "hassh_algorithms");
            w.value(std::string_view(str, n));
        }
    }
    if ((s.flags & kKexTruncated) != 0 || (s.kex && s.k.cut)) {
        w.key("kexinit_truncated");
        w.value(true);
    }
    if ((s.flags & kBadPacket) != 0) {
        w.key("kexinit_malformed");
        w.value(true);
    }
    if ((s.flags & (kGap | kBufferLost)) != 0) {
        w.key("incomplete");
        w.value(true);
    }
}

}  // namespace

const char* Ssh::app(const uint8_t* s, const FlowData&, const FeatureConfig&, std::string_view&) {
    const auto& st = *reinterpret_cast<const SshState*>(s);
    for (const SshDir& d : st.dir) {
        if ((d.flags & kBanner) != 0 || ssh_line(d)) {
            return "ssh";
        }
    }
    return nullptr;
}

void Ssh::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig&) {
    const auto& st = *reinterpret_cast<const SshState*>(s);
    Side side[2];
    bool any = false;
    // Without an arena (none leased, or the pool was dry) no banner was kept.
    const bool kept = st.ref.cls != 0;
    for (uint8_t i = 0; i < 2 && kept; ++i) {
        const SshDir& d = st.dir[i];
        const uint8_t* a = arena(st, i);
        Side& x = side[i];
        x.flags = d.flags;
        const uint16_t bl = std::min<uint16_t>(d.banner_len, st.half);
        // An identification line whose LF never came is still reported (cut).
        const bool partial = (d.flags & kBanner) == 0 && bl >= 4 &&
                             (d.mode == kModeBanner || d.mode == kModeLost) && ssh_line(d);
        if ((d.flags & kBanner) != 0 || partial) {
            x.banner = proto::parse_ssh_banner(a, bl, x.b);
            x.line = proto::Span{a, bl};
            if (partial) {
                x.flags |= kBannerTruncated;
            }
            any = any || x.banner;
        }
        if ((d.flags & kKexinit) != 0 && (d.flags & kBanner) != 0) {
            const uint32_t kl = std::min<uint32_t>(d.kex_len, st.half - bl);
            x.kex = proto::parse_ssh_kexinit(a + bl, kl, x.k);
        }
    }
    if (!any) {
        return;
    }
    // The client is the initiator, unless the KEXINITs or the ports say otherwise.
    uint8_t client = 0;
    auto says = [&](uint8_t i, std::string_view c_mark, std::string_view s_mark) {
        return side[i].kex && (has_name(side[i].k.list[proto::kSshKex], c_mark) ||
                               has_name(side[i].k.list[proto::kSshKex], s_mark));
    };
    if (says(1, "ext-info-c", "kex-strict-c-v00@openssh.com") ||
        says(0, "ext-info-s", "kex-strict-s-v00@openssh.com")) {
        client = 1;
    } else if (says(0, "ext-info-c", "kex-strict-c-v00@openssh.com") ||
               says(1, "ext-info-s", "kex-strict-s-v00@openssh.com")) {
        client = 0;
    } else if ((st.flags & kSynSeen) == 0 && st.port[0] == 22 && st.port[1] != 22) {
        client = 1;
    }
    const Side& cs = side[client];
    const Side& ss = side[client ^ 1];
    w.key("ssh");
    w.begin_object();
    w.key("client");
    write_side(w, cs, false);
    w.end_object();
    w.key("server");
    write_side(w, ss, true);
    // RFC 4253 7.1, for the lists both sides sent whole.
    proto::Span chosen[proto::kSshCompS2C + 1];
    bool any_chosen = false;
    for (uint8_t i = 0; i <= proto::kSshCompS2C; ++i) {
        if (cs.kex && ss.kex && i < cs.k.lists && i < ss.k.lists) {
            chosen[i] = ssh_negotiate(cs.k.list[i], ss.k.list[i]);
            any_chosen = any_chosen || !chosen[i].empty();
        }
    }
    if (!chosen[proto::kSshHostKey].empty()) {
        w.key("host_key_type");
        w.value(chosen[proto::kSshHostKey].text());
    }
    w.end_object();
    if (any_chosen) {
        static constexpr std::string_view kChosen[proto::kSshCompS2C + 1] = {
            "kex",     "host_key", "encryption_c2s",  "encryption_s2c",
            "mac_c2s", "mac_s2c",  "compression_c2s", "compression_s2c"};
        w.key("chosen");
        w.begin_object();
        for (uint8_t i = 0; i <= proto::kSshCompS2C; ++i) {
            if (!chosen[i].empty()) {
                w.key(kChosen[i]);
                w.value(chosen[i].text());
            }
        }
        w.end_object();
    }
    w.end_object();
}


}  // namespace spate::features
