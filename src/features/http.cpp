// http: HTTP/1.x over TCP on any port, recognised by content. Each direction
// of the stream is put in order (StreamState), then followed message by
// message: the head is read line by line (lines split across segments are
// handled as they come), the body is skipped by Content-Length or the
// chunked coding (chunk sizes parsed across segments), and the next message
// is looked for after it — so pipelined and keep-alive transactions are all
// seen. The raw bytes of the kept header lines go into an arena in the flow
// state (--http-bytes per flow, all messages together) and are split into
// fields only when the record is written.
//
// Arena: a sequence of blocks [u16 length][u8 type][u8 dir][bytes]. A
// message block (type 0) holds a MsgInfo and starts a message of its
// direction; head blocks (type 1) hold raw head bytes (start line and kept
// header lines, each ended by '\n', CR kept) of the last message started in
// their direction. The two directions' blocks may interleave; consecutive
// bytes of one head extend the last block.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

#include "spate/features/scratch.hpp"
#include "spate/features/stream.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/http.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kTcpSyn = 0x02;
constexpr uint32_t kNone = 0xffffffffu;
constexpr uint32_t kLineBuf = 128;        ///< prefix of each line kept for parsing
constexpr uint32_t kMaxLine = 4096;       ///< bytes of one start / header line stored
constexpr uint32_t kMaxHeaders = 64;      ///< header lines stored per message
constexpr uint32_t kMaxChunkLine = 4096;  ///< a chunk-size line longer than this is malformed
constexpr uint32_t kBodyBytes = 8;        ///< first body bytes kept per message
constexpr uint8_t kMaxHunt =
    64;  ///< segments looked at for a message start after losing the stream

enum Mode : uint8_t {
    kStart = 0,   ///< between messages (CR/LF skipped)
    kHead,        ///< reading a head, line by line
    kBody,        ///< skipping body_left bytes (Content-Length)
    kChunkSize,   ///< a chunk-size line
    kChunkData,   ///< body_left bytes of chunk data
    kChunkEnd,    ///< the CRLF after chunk data
    kTrailers,    ///< trailer lines after the last chunk
    kUntilClose,  ///< a response body delimited by the end of the connection
    kHunt,  ///< lost (a hole, or picked up mid-stream): a segment that starts a message is looked
            ///< for
    kNotHttp,  ///< the direction's first bytes were not HTTP
    kStopped,  ///< finished, or stopped at a gap / malformed bytes / an upgrade
};

enum Keep : uint8_t { kUndecided = 0, kKeep, kDrop };

// HttpDir::flags (framing of the current message)
constexpr uint8_t kIsRequest = 1 << 0;
constexpr uint8_t kHasCl = 1 << 1;
constexpr uint8_t kBadCl = 1 << 2;
constexpr uint8_t kHasTe = 1 << 3;
constexpr uint8_t kChunked = 1 << 4;
constexpr uint8_t kHeadReq = 1 << 5;
constexpr uint8_t kConnectReq = 1 << 6;

// HttpState::flags
constexpr uint8_t kFlowGap = 1 << 0;
constexpr uint8_t kFlowMalformed = 1 << 1;
constexpr uint8_t kFlowUpgraded = 1 << 2;

// MsgInfo::flags
constexpr uint8_t kMsgRequest = 1 << 0;
constexpr uint8_t kMsgTruncated = 1 << 1;  ///< a bound cut the head
constexpr uint8_t kMsgComplete = 1 << 2;   ///< the head's empty line was seen
constexpr uint8_t kMsgFull = 1 << 3;       ///< the arena is full: nothing more stored

// Pending requests (for the framing of their responses): 2 bits each.
constexpr uint64_t kPendHead = 1;
constexpr uint64_t kPendConnect = 2;
constexpr uint8_t kMaxPending = 32;

constexpr uint8_t kBlockMsg = 0;
constexpr uint8_t kBlockHead = 1;
constexpr uint32_t kBlockHdr = 4;

struct MsgInfo {
    uint8_t flags;
    uint8_t body_len;
    uint8_t body[kBodyBytes];
    uint8_t pad[2];
};
static_assert(alignof(MsgInfo) == 1);

struct HttpDir {
    StreamState stream;
    uint64_t body_left;
    uint64_t content_length;
    uint32_t line_len;     ///< bytes of the current line so far (saturating)
    uint32_t line_stored;  ///< bytes of the current line passed to the arena
    uint32_t msg_off;      ///< arena offset of the current message's MsgInfo, kNone
    uint16_t status;
    uint16_t messages;  ///< heads started in this direction (saturating)
    uint8_t mode;
    uint8_t keep;
    uint8_t flags;
    uint8_t lbuf_len;
    uint8_t first_line;
    uint8_t headers;  ///< header lines stored for the current message
    uint8_t chunk_digits;
    uint8_t chunk_ext;  ///< past the chunk size (extension or whitespace)
    uint8_t syn;        ///< the stream started at a SYN
    uint8_t hunted;     ///< segments looked at in kHunt
    uint8_t pad[6];
    uint32_t isn1;  ///< the SYN's sequence number + 1
    uint32_t pad2;
    uint8_t lbuf[kLineBuf];
};

/// The control part (in the flow entry); the arena of message heads is
/// leased from the worker's http pool at the first message and follows it
/// in the record.
struct HttpState {
    ArenaRef ref;
    HttpDir dir[2];
    uint64_t pend_bits[2];  ///< requests sent in direction d, awaiting responses
    uint32_t used;          ///< arena bytes used
    uint32_t tail;          ///< offset of the last block, kNone
    uint16_t dropped;       ///< messages not kept: no room for them at all
    uint8_t pend_count[2];
    uint8_t flags;
    uint8_t pad[3];
    // followed by the arena (http_bytes)
};

const uint8_t* arena_of(const HttpState& st) {
    return reinterpret_cast<const uint8_t*>(&st) + sizeof(HttpState);
}

struct Ctx {
    HttpState& st;
    const FeatureConfig& cfg;
    WorkerScratch* scratch;
    uint8_t dir;

    HttpDir& d() { return st.dir[dir]; }
    /// The arena as it is (nullptr: none yet). A reserve() may move it:
    /// pointers into it do not outlive one.
    uint8_t* arena() {
        return scratch != nullptr ? scratch->arena[kArenaHttp].get(st.ref) : nullptr;
    }
    /// The arena with room for `need` bytes; nullptr when the pool is dry
    /// (the record says http_no_state).
    uint8_t* reserve(uint32_t need) {
        if (scratch == nullptr) {
            st.ref.lost = 1;
            return nullptr;
        }
        return scratch->arena[kArenaHttp].reserve(st.ref, need, st.used);
    }
    uint32_t cap() const { return cfg.http_bytes; }
    AppCounters* counters() { return scratch != nullptr ? &scratch->http : nullptr; }
};

BufferPool* pool_of(Ctx& c) {
    return c.scratch != nullptr ? &c.scratch->pool : nullptr;
}

/// Packets of the direction are still looked at.
bool dir_active(const HttpDir& d) {
    return d.mode < kNotHttp;
}

/// The direction's stream is being parsed.
bool dir_parsing(const HttpDir& d) {
    return d.mode < kHunt;
}

void stop_dir(Ctx& c, uint8_t dir, uint8_t mode) {
    HttpDir& d = c.st.dir[dir];
    d.mode = mode;
    stream_release(d.stream, pool_of(c));
}

void write_block_hdr(uint8_t* at, uint32_t len, uint8_t type, uint8_t dir) {
    at[0] = static_cast<uint8_t>(len & 0xff);
    at[1] = static_cast<uint8_t>(len >> 8);
    at[2] = type;
    at[3] = dir;
}

uint32_t block_len(const uint8_t* at) {
    return uint32_t(at[0]) | uint32_t(at[1]) << 8;
}

MsgInfo* msg_of(Ctx& c) {
    const uint32_t off = c.d().msg_off;
    return off == kNone ? nullptr : reinterpret_cast<MsgInfo*>(c.arena() + off);
}

void mark_truncated(Ctx& c) {
    MsgInfo* m = msg_of(c);
    if (m != nullptr && (m->flags & kMsgTruncated) == 0) {
        m->flags |= kMsgTruncated;
        if (c.counters() != nullptr) {
            ++c.counters()->truncated;
        }
    }
}

/// Starts a message of the current direction in the arena.
void new_message(Ctx& c, bool request) {
    HttpState& st = c.st;
    HttpDir& d = c.d();
    const uint32_t need = kBlockHdr + sizeof(MsgInfo);
    if (st.used + need > c.cap()) {
        d.msg_off = kNone;
        if (st.dropped < 0xffff) {
            ++st.dropped;
        }
        if (c.counters() != nullptr) {
            ++c.counters()->truncated;
        }
        return;
    }
    uint8_t* a = c.reserve(st.used + need);
    if (a == nullptr) {
        d.msg_off = kNone;
        if (st.dropped < 0xffff) {
            ++st.dropped;
        }
        return;
    }
    write_block_hdr(a + st.used, sizeof(MsgInfo), kBlockMsg, c.dir);
    MsgInfo m{};
    m.flags = request ? kMsgRequest : 0;
    std::memcpy(a + st.used + kBlockHdr, &m, sizeof(m));
    d.msg_off = st.used + kBlockHdr;
    st.tail = st.used;
    st.used += need;
}

/// Appends head bytes of the current direction's message.
void store(Ctx& c, const uint8_t* p, uint32_t n) {
    MsgInfo* m = msg_of(c);
    if (m == nullptr || n == 0 || (m->flags & kMsgFull) != 0) {
        return;
    }
    HttpState& st = c.st;
    uint8_t* a = c.arena();  // there is one: the message's MsgInfo is in it
    uint32_t k = 0;
    if (st.tail != kNone && a[st.tail + 2] == kBlockHead && a[st.tail + 3] == c.dir) {
        // The last block is this head's: extend it.
        const uint32_t len = block_len(a + st.tail);
        k = std::min({n, c.cap() - st.used, 0xffffu - len});
        a = k > 0 ? c.reserve(st.used + k) : a;
        if (a == nullptr) {
            k = 0;
        } else {
            std::memcpy(a + st.used, p, k);
            write_block_hdr(a + st.tail, len + k, kBlockHead, c.dir);
            st.used += k;
        }
    } else if (st.used + kBlockHdr < c.cap()) {
        k = std::min({n, c.cap() - st.used - kBlockHdr, 0xffffu});
        a = c.reserve(st.used + kBlockHdr + k);
        if (a == nullptr) {
            k = 0;
        } else {
            write_block_hdr(a + st.used, k, kBlockHead, c.dir);
            std::memcpy(a + st.used + kBlockHdr, p, k);
            st.tail = st.used;
            st.used += kBlockHdr + k;
        }
    }
    m = msg_of(c);  // the arena may have moved
    if (k < n) {
        mark_truncated(c);
        m->flags |= kMsgFull;
    }
}

void capture_body(Ctx& c, const uint8_t* p, uint32_t n) {
    MsgInfo* m = msg_of(c);
    if (m == nullptr || m->body_len >= kBodyBytes || n == 0) {
        return;
    }
    const uint32_t k = std::min<uint32_t>(n, kBodyBytes - m->body_len);
    std::memcpy(m->body + m->body_len, p, k);
    m->body_len = static_cast<uint8_t>(m->body_len + k);
}

void reset_line(HttpDir& d) {
    d.line_len = 0;
    d.line_stored = 0;
    d.lbuf_len = 0;
    d.keep = kUndecided;
}

/// The bytes after a head that is not HTTP (or lost its way): a direction
/// that never carried HTTP just stops; one that did is malformed.
void reject(Ctx& c) {
    HttpDir& d = c.d();
    if (d.messages == 0) {
        // Not HTTP from its first bytes on; picked up mid-stream, a later
        // segment may still start a message.
        stop_dir(c, c.dir, d.syn ? kNotHttp : kHunt);
        return;
    }
    if ((c.st.flags & kFlowUpgraded) == 0) {
        c.st.flags |= kFlowMalformed;
        if (c.counters() != nullptr) {
            ++c.counters()->malformed;
        }
    }
    stop_dir(c, c.dir, kStopped);
}

/// The line bytes (without a trailing CR when the line is complete).
proto::Span line_view(const HttpDir& d, bool complete) {
    uint32_t n = d.lbuf_len;
    if (complete && d.line_len <= kLineBuf && n > 0 && d.lbuf[n - 1] == '\r') {
        --n;
    }
    return proto::Span{d.lbuf, n};
}

/// Decides whether the current line is kept (and for a start line, whether
/// this is HTTP at all). `complete`: the line end has been seen.
void decide(Ctx& c, bool complete) {
    HttpDir& d = c.d();
    const bool whole = complete && d.line_len <= kLineBuf;
    if (d.first_line) {
        const proto::Span l = line_view(d, complete);
        proto::HttpStart s = proto::http_classify_start(l.p, l.n, whole);
        if (s != proto::HttpStart::not_http && !complete && d.line_len < kLineBuf) {
            return;  // judged on the whole line when it fits the line buffer
        }
        if (s == proto::HttpStart::need_more) {
            s = proto::HttpStart::not_http;
        }
        if (s == proto::HttpStart::not_http) {
            reject(c);
            return;
        }
        const bool request = s == proto::HttpStart::request;
        if (d.messages < 0xffff) {
            ++d.messages;
        }
        d.flags = request ? kIsRequest : 0;
        new_message(c, request);
        d.keep = kKeep;
        return;
    }
    // A header line: its name decides.
    const void* colon = std::memchr(d.lbuf, ':', d.lbuf_len);
    if (colon == nullptr && !complete && d.line_len < kLineBuf) {
        return;  // the name is not all here yet
    }
    bool keep;
    if (colon != nullptr) {
        proto::Span name, value;
        proto::http_parse_header_line(proto::Span{d.lbuf, d.lbuf_len}, name, value);
        keep = proto::http_name_in_list(name, c.cfg.http_headers);
    } else {
        keep = c.cfg.http_headers.empty();  // no name to match
    }
    if (keep && d.headers >= kMaxHeaders) {
        keep = false;
        mark_truncated(c);
    }
    if (keep) {
        ++d.headers;
    }
    d.keep = keep ? kKeep : kDrop;
}

/// Stores what is not yet stored of the current (kept) line.
void store_line(Ctx& c, const uint8_t* piece, uint32_t prev) {
    HttpDir& d = c.d();
    while (d.line_stored < d.line_len) {
        if (d.line_stored >= kMaxLine) {
            mark_truncated(c);
            d.line_stored = d.line_len;
            return;
        }
        const uint8_t* src;
        uint32_t n;
        if (d.line_stored < d.lbuf_len) {
            src = d.lbuf + d.line_stored;
            n = d.lbuf_len - d.line_stored;
        } else if (d.line_stored >= prev) {
            src = piece + (d.line_stored - prev);
            n = d.line_len - d.line_stored;
        } else {
            return;  // not reachable: bytes before this piece were stored or cut
        }
        n = std::min(n, kMaxLine - d.line_stored);
        store(c, src, n);
        d.line_stored += n;
    }
}

/// Bytes of the current head line (no LF among them).
void line_bytes(Ctx& c, const uint8_t* p, uint32_t n) {
    HttpDir& d = c.d();
    const uint32_t prev = d.line_len;
    if (prev < kLineBuf) {
        const uint32_t k = std::min(n, kLineBuf - prev);
        std::memcpy(d.lbuf + prev, p, k);
        d.lbuf_len = static_cast<uint8_t>(prev + k);
    }
    d.line_len = n > 0xffffffffu - prev ? 0xffffffffu : prev + n;
    if (d.keep == kUndecided) {
        decide(c, false);
        if (d.mode != kHead) {
            return;
        }
    }
    if (d.keep == kKeep) {
        store_line(c, p, prev);
    }
}

void push_pending(Ctx& c, uint64_t kind) {
    HttpState& st = c.st;
    uint8_t& n = st.pend_count[c.dir];
    if (n < kMaxPending) {
        st.pend_bits[c.dir] |= kind << (2 * n);
        ++n;
    }
}

uint64_t pop_pending(Ctx& c) {
    HttpState& st = c.st;
    const uint8_t other = c.dir ^ 1;
    if (st.pend_count[other] == 0) {
        return 0;
    }
    const uint64_t kind = st.pend_bits[other] & 3;
    st.pend_bits[other] >>= 2;
    --st.pend_count[other];
    return kind;
}

void begin_body(Ctx& c, uint64_t len) {
    HttpDir& d = c.d();
    if (len == 0) {
        d.mode = kStart;
    } else {
        d.mode = kBody;
        d.body_left = len;
    }
}

void begin_chunks(HttpDir& d) {
    d.mode = kChunkSize;
    d.body_left = 0;
    d.chunk_digits = 0;
    d.chunk_ext = 0;
    d.line_len = 0;
}

/// The empty line: the head is over; what follows is the body (or the next message).
void end_head(Ctx& c) {
    HttpDir& d = c.d();
    MsgInfo* m = msg_of(c);
    if (m != nullptr) {
        m->flags |= kMsgComplete;
    }
    if (c.counters() != nullptr) {
        ++c.counters()->messages;
    }
    reset_line(d);
    const uint8_t f = d.flags;
    if ((f & kIsRequest) != 0) {
        push_pending(
            c, ((f & kHeadReq) != 0 ? kPendHead : 0) | ((f & kConnectReq) != 0 ? kPendConnect : 0));
        if ((f & kHasTe) != 0) {
            if ((f & kChunked) != 0) {
                begin_chunks(d);
            } else {
                reject(c);  // a request body without a length (RFC 9112 6.3)
            }
        } else if ((f & kBadCl) != 0) {
            reject(c);
        } else {
            begin_body(c, (f & kHasCl) != 0 ? d.content_length : 0);
        }
        return;
    }
    const uint16_t status = d.status;
    const bool interim = status >= 100 && status < 200;
    const uint64_t req = interim ? 0 : pop_pending(c);
    if (status == 101 || ((req & kPendConnect) != 0 && status >= 200 && status < 300)) {
        // Switching protocols, or a tunnel: what follows is not HTTP.
        c.st.flags |= kFlowUpgraded;
        stop_dir(c, c.dir, kStopped);
        if (c.st.dir[c.dir ^ 1].mode != kNotHttp) {
            stop_dir(c, c.dir ^ 1, kStopped);
        }
        return;
    }
    if (interim || status == 204 || status == 304 || (req & kPendHead) != 0) {
        d.mode = kStart;
    } else if ((f & kHasTe) != 0) {
        if ((f & kChunked) != 0) {
            begin_chunks(d);
        } else {
            d.mode = kUntilClose;
        }
    } else if ((f & (kHasCl | kBadCl)) == kHasCl) {
        begin_body(c, d.content_length);
    } else {
        d.mode = kUntilClose;
    }
}

/// A line feed in a head.
void end_line(Ctx& c) {
    HttpDir& d = c.d();
    if (!d.first_line && (d.line_len == 0 || (d.line_len == 1 && d.lbuf[0] == '\r'))) {
        end_head(c);
        return;
    }
    if (d.keep == kUndecided) {
        decide(c, true);
        if (d.mode != kHead) {
            return;
        }
    }
    if (d.keep == kKeep) {
        store_line(c, nullptr, d.line_len);  // a line decided only now is all in lbuf
        const uint8_t nl = '\n';
        store(c, &nl, 1);
    }
    const proto::Span line = line_view(d, true);
    if (d.first_line) {
        if ((d.flags & kIsRequest) != 0) {
            proto::HttpRequestLine r;
            proto::http_parse_request_line(line, r);
            if (r.method.text() == "HEAD") {
                d.flags |= kHeadReq;
            } else if (r.method.text() == "CONNECT") {
                d.flags |= kConnectReq;
            }
        } else {
            proto::HttpStatusLine s;
            proto::http_parse_status_line(line, s);
            d.status = s.status;
        }
        d.first_line = 0;
    } else {
        proto::Span name, value;
        if (proto::http_parse_header_line(line, name, value)) {
            if (proto::http_name_is(name, "content-length")) {
                uint64_t v = 0;
                const bool whole = d.line_len <= kLineBuf;
                if (whole && proto::http_parse_content_length(value, v) &&
                    ((d.flags & kHasCl) == 0 || v == d.content_length)) {
                    d.flags |= kHasCl;
                    d.content_length = v;
                } else {
                    d.flags |= kBadCl;
                }
            } else if (proto::http_name_is(name, "transfer-encoding")) {
                d.flags |= kHasTe;
                if (d.line_len <= kLineBuf && proto::http_te_chunked(value)) {
                    d.flags |= kChunked;
                } else {
                    d.flags &= static_cast<uint8_t>(~kChunked);
                }
            }
        }
    }
    reset_line(d);
}

/// Head bytes; returns how many were used (the head may end inside).
uint32_t consume_head(Ctx& c, const uint8_t* data, uint32_t len) {
    HttpDir& d = c.d();
    uint32_t i = 0;
    while (i < len && d.mode == kHead) {
        const auto* nl = static_cast<const uint8_t*>(std::memchr(data + i, '\n', len - i));
        const uint32_t k = nl != nullptr ? static_cast<uint32_t>(nl - (data + i)) : len - i;
        if (k > 0) {
            line_bytes(c, data + i, k);
            if (d.mode != kHead) {
                break;
            }
        }
        i += k;
        if (nl == nullptr) {
            break;
        }
        ++i;
        end_line(c);
    }
    return i;
}

int hex_value(uint8_t ch) {
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/// In-order bytes of a direction.
void consume(Ctx& c, const uint8_t* data, uint32_t len) {
    HttpDir& d = c.d();
    while (len > 0 && dir_parsing(d)) {
        switch (d.mode) {
            case kStart: {
                if (data[0] == '\r' || data[0] == '\n') {
                    ++data;
                    --len;
                    break;
                }
                d.mode = kHead;
                d.first_line = 1;
                d.flags = 0;
                d.status = 0;
                d.headers = 0;
                d.content_length = 0;
                d.msg_off = kNone;
                reset_line(d);
                break;
            }
            case kHead: {
                const uint32_t k = consume_head(c, data, len);
                data += k;
                len -= k;
                break;
            }
            case kBody:
            case kChunkData: {
                const uint32_t k = static_cast<uint32_t>(std::min<uint64_t>(d.body_left, len));
                capture_body(c, data, k);
                d.body_left -= k;
                data += k;
                len -= k;
                if (d.body_left == 0) {
                    d.mode = d.mode == kBody ? kStart : kChunkEnd;
                }
                break;
            }
            case kChunkSize: {
                const uint8_t ch = *data++;
                --len;
                if (ch == '\n') {
                    if (d.chunk_digits == 0) {
                        reject(c);
                    } else if (d.body_left == 0) {
                        d.mode = kTrailers;
                        d.line_len = 0;
                    } else {
                        d.mode = kChunkData;
                    }
                    break;
                }
                if (++d.line_len > kMaxChunkLine) {
                    reject(c);
                    break;
                }
                const int v = hex_value(ch);
                if (v >= 0 && !d.chunk_ext) {
                    if (++d.chunk_digits > 15) {
                        reject(c);
                        break;
                    }
                    d.body_left = d.body_left << 4 | uint64_t(v);
                } else if (ch == ';' || ch == ' ' || ch == '\t' || ch == '\r') {
                    d.chunk_ext = 1;
                } else if (!d.chunk_ext) {
                    reject(c);
                }
                break;
            }
            case kChunkEnd: {
                const uint8_t ch = *data++;
                --len;
                if (ch == '\n') {
                    begin_chunks(d);
                } else if (ch != '\r') {
                    reject(c);
                }
                break;
            }
            case kTrailers: {
                const uint8_t ch = *data++;
                --len;
                if (ch == '\n') {
                    if (d.line_len == 0) {
                        d.mode = kStart;
                    }
                    d.line_len = 0;
                } else if (ch != '\r') {
                    d.line_len = 1;
                }
                break;
            }
            case kUntilClose: {
                capture_body(c, data, len);
                const MsgInfo* m = msg_of(c);
                if (m == nullptr || m->body_len >= kBodyBytes) {
                    stop_dir(c, c.dir, kStopped);  // nothing more to learn
                }
                len = 0;
                break;
            }
            default:
                len = 0;
                break;
        }
    }
}

/// A hole that cannot be waited for: parsing goes on at the next segment
/// that starts a message.
void note_gap(Ctx& c) {
    c.st.flags |= kFlowGap;
    if (c.counters() != nullptr) {
        ++c.counters()->gaps;
    }
    stop_dir(c, c.dir, kHunt);
}

/// Restarts the direction's stream at `seq`, between messages.
void restart_stream(Ctx& c, uint32_t seq) {
    HttpDir& d = c.d();
    stream_release(d.stream, pool_of(c));
    d.stream.started = 0;
    stream_start(d.stream, seq);
    d.mode = kStart;
    d.hunted = 0;
}

/// A segment whose bytes start a request or a response.
bool starts_message(const uint8_t* p, uint32_t n) {
    const proto::HttpStart s = proto::http_classify_start(p, std::min(n, kLineBuf), false);
    return s == proto::HttpStart::request || s == proto::HttpStart::response;
}

}  // namespace

size_t Http::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

size_t Http::control_size(const FeatureConfig&) {
    return sizeof(HttpState);
}

uint32_t Http::arena_max(const FeatureConfig& c) {
    return c.http_bytes;
}

size_t Http::arena_used(const uint8_t* s, const FeatureConfig&) {
    return reinterpret_cast<const HttpState*>(s)->used;
}

const ArenaRef* Http::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const HttpState*>(s)->ref;
}

void Http::init(uint8_t* s, const FeatureConfig&) {
    // The arena is read only up to `used`.
    std::memset(s, 0, sizeof(HttpState));
    auto& st = *reinterpret_cast<HttpState*>(s);
    st.tail = kNone;
    st.dir[0].msg_off = kNone;
    st.dir[1].msg_off = kNone;
}

void Http::update(uint8_t* s, const PacketView& p, const FeatureConfig& cfg) {
    const parse::DecodedPacket& pkt = *p.pkt;
    if (pkt.key.proto != 6) {
        return;
    }
    auto& st = *reinterpret_cast<HttpState*>(s);
    Ctx c{st, cfg, p.scratch, p.dir};
    HttpDir& d = st.dir[p.dir];
    const bool syn = (pkt.tcp_flags & kTcpSyn) != 0;
    if (syn && (!d.stream.started || !d.syn || d.isn1 != pkt.tcp_seq + 1)) {
        // The connection's start, or a new connection on the same 5-tuple.
        if (d.stream.started) {
            restart_stream(c, pkt.tcp_seq + 1);
            st.pend_count[0] = st.pend_count[1] = 0;
            st.pend_bits[0] = st.pend_bits[1] = 0;
        } else {
            stream_start(d.stream, pkt.tcp_seq + 1);
        }
        d.syn = 1;
        d.isn1 = pkt.tcp_seq + 1;
    }
    if (p.payload_cap == 0 || !dir_active(d)) {
        return;
    }
    const uint32_t seq = pkt.tcp_seq + (syn ? 1 : 0);  // TCP Fast Open data follows the SYN
    if (d.mode == kHunt) {
        if (!starts_message(p.payload, p.payload_cap)) {
            if (++d.hunted >= kMaxHunt) {
                stop_dir(c, c.dir, kStopped);
            }
            return;
        }
        restart_stream(c, seq);
    }
    if ((d.mode == kBody || d.mode == kChunkData) && d.stream.started) {
        // A segment ahead of the stream inside a body of known length: the
        // bytes before it are body (its first bytes are kept already), so
        // they are not waited for. The body's end, where the next message
        // starts, stays exact.
        const int32_t ahead = static_cast<int32_t>(seq - d.stream.next);
        const MsgInfo* m = msg_of(c);
        if (ahead > 0 && uint64_t(ahead) <= d.body_left &&
            (m == nullptr || m->body_len >= kBodyBytes)) {
            d.body_left -= static_cast<uint32_t>(ahead);
            d.stream.next = seq;
            if (d.body_left == 0) {
                d.mode = d.mode == kBody ? kStart : kChunkEnd;
            }
        }
    }
    auto feed = [&] {
        return stream_feed(
            d.stream, pool_of(c), 0, seq, p.payload, p.payload_cap,
            [&](const uint8_t* b, uint32_t n) { consume(c, b, n); },
            [&] { return dir_parsing(d); });
    };
    StreamFeed r = feed();
    if (r == StreamFeed::gap && dir_parsing(d)) {
        const uint32_t skip = seq - d.stream.next;
        if ((d.mode == kBody || d.mode == kChunkData) && skip < d.body_left) {
            // Bytes lost inside a body of known length: skip them (and
            // whatever was held before this segment, body bytes too).
            d.body_left -= skip;
            stream_release(d.stream, pool_of(c));
            d.stream.next = seq;
            r = feed();
        } else {
            note_gap(c);
            return;
        }
    }
    if (p.payload_cap < pkt.payload_len && dir_parsing(d)) {
        // Cut by the snaplen: the rest of the segment is missing. Inside a
        // body of known length it is skipped; anywhere else it is a hole.
        const uint32_t missing = pkt.payload_len - p.payload_cap;
        const bool in_order = r == StreamFeed::ok && d.stream.next == seq + p.payload_cap;
        if (in_order && (d.mode == kBody || d.mode == kChunkData) && d.body_left >= missing) {
            d.body_left -= missing;
            d.stream.next += missing;
            if (d.body_left == 0) {
                d.mode = d.mode == kBody ? kStart : kChunkEnd;
            }
        } else if (in_order && d.mode == kUntilClose) {
            d.stream.next += missing;
        } else {
            note_gap(c);
            return;
        }
    }
    if (d.stream.lease_tag != 0 && d.stream.ooo_count == 0) {
        stream_release(d.stream, pool_of(c));  // nothing held: give the buffer back
    }
}

void Http::release(uint8_t* s, WorkerScratch* scratch) {
    auto& st = *reinterpret_cast<HttpState*>(s);
    for (HttpDir& d : st.dir) {
        stream_release(d.stream, scratch != nullptr ? &scratch->pool : nullptr);
    }
}

namespace {

/// One message: its head text (kept lines) and its MsgInfo.
void write_message(JsonWriter& w, uint8_t dir, const MsgInfo& m, proto::Span head) {
    w.begin_object();
    w.key("dir");
    w.value(dir == 0 ? ">" : "<");
    bool first = true;
    bool headers_open = false;
    proto::http_for_each_line(head, [&](proto::Span line) {
        if (first) {
            first = false;
            if ((m.flags & kMsgRequest) != 0) {
                proto::HttpRequestLine r;
                proto::http_parse_request_line(line, r);
                w.key("method");
                w.value(r.method.text());
                w.key("uri");
                w.value(r.uri.text());
                w.key("version");
                w.value(r.version.text());
            } else {
                proto::HttpStatusLine sl;
                const bool ok = proto::http_parse_status_line(line, sl);
                w.key("version");
                w.value(sl.version.text());
                if (ok) {
                    w.key("status");
                    w.value(uint64_t{sl.status});
                }
                w.key("reason");
                w.value(sl.reason.text());
            }
            w.key("headers");
            w.begin_array();
            headers_open = true;
            return;
        }
        proto::Span name, value;
        proto::http_parse_header_line(line, name, value);
        w.begin_array();
        w.value(name.text());
        w.value(value.text());
        w.end_array();
    });
    if (!headers_open) {
        w.key("headers");
        w.begin_array();
    }
    w.end_array();
    if (m.body_len > 0) {
        w.key("body");
        w.hex(m.body, std::min<uint32_t>(m.body_len, kBodyBytes));
    }
    if ((m.flags & kMsgTruncated) != 0) {
        w.key("truncated");
        w.value(true);
    }
    if ((m.flags & kMsgComplete) == 0) {
        w.key("incomplete");
        w.value(true);
    }
    w.end_object();
}

}  // namespace

const char* Http::app(const uint8_t* s, const FlowData&, const FeatureConfig& cfg,
                      std::string_view&) {
    const auto& st = *reinterpret_cast<const HttpState*>(s);
    return std::min(st.used, cfg.http_bytes) == 0 && st.dropped == 0 ? nullptr : "http";
}

void Http::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig& cfg) {
    const auto& st = *reinterpret_cast<const HttpState*>(s);
    const uint8_t* a = arena_of(st);
    const uint32_t used = std::min(st.used, cfg.http_bytes);
    if (used == 0 && st.dropped == 0) {
        return;
    }
    thread_local std::string joined;
    w.key("http");
    w.begin_array();
    uint32_t off = 0;
    while (off + kBlockHdr <= used) {
        const uint32_t len = block_len(a + off);
        const uint8_t type = a[off + 2];
        const uint8_t dir = a[off + 3] & 1;
        if (off + kBlockHdr + len > used) {
            break;
        }
        if (type == kBlockMsg && len == sizeof(MsgInfo)) {
            MsgInfo m;
            std::memcpy(&m, a + off + kBlockHdr, sizeof(m));
            // The head: this direction's head blocks up to its next message.
            proto::Span head{};
            uint32_t pieces = 0;
            joined.clear();
            uint32_t o = off + kBlockHdr + len;
            while (o + kBlockHdr <= used) {
                const uint32_t l = block_len(a + o);
                if (o + kBlockHdr + l > used) {
                    break;
                }
                if ((a[o + 3] & 1) == dir) {
                    if (a[o + 2] == kBlockMsg) {
                        break;
                    }
                    const uint8_t* b = a + o + kBlockHdr;
                    if (pieces++ == 0) {
                        head = proto::Span{b, l};
                    } else {
                        if (pieces == 2) {
                            joined.assign(reinterpret_cast<const char*>(head.p), head.n);
                        }
                        joined.append(reinterpret_cast<const char*>(b), l);
                    }
                }
                o += kBlockHdr + l;
            }
            if (pieces > 1) {
                head = proto::Span{reinterpret_cast<const uint8_t*>(joined.data()),
                                   static_cast<uint32_t>(joined.size())};
            }
            write_message(w, dir, m, head);
        }
        off += kBlockHdr + len;
    }
    w.end_array();
    if (st.dropped > 0) {
        w.key("http_dropped");
        w.value(uint64_t{st.dropped});
    }
    // Bytes held past a hole that never filled are a gap too.
    bool gap = (st.flags & kFlowGap) != 0;
    for (const HttpDir& d : st.dir) {
        gap = gap || (dir_parsing(d) && d.stream.ooo_count > 0);
    }
    if (gap) {
        w.key("http_gap");
        w.value(true);
    }
    if ((st.flags & kFlowMalformed) != 0) {
        w.key("http_malformed");
        w.value(true);
    }
}

}  // namespace spate::features
