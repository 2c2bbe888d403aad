// tls: TLS over TCP (any port, recognised by content) and the TLS handshake
// inside QUIC Initial packets. Per direction, a bounded reassembler puts the
// byte stream in order (TCP sequence numbers, or QUIC CRYPTO offsets), the
// TLS record layer is followed for the whole handshake (and its record
// lengths and times listed in srlt), and handshake messages are assembled
// across records and segments. ClientHello, ServerHello and the certificate
// chain are kept in the flow state in a compact form and turned into JSON
// (with the fingerprints) only when the record is written.
#include <algorithm>
#include <cstddef>
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/tls_state.hpp"
#include "spate/features/units.hpp"
#include "spate/proto/tls.hpp"
#include "spate/proto/x509.hpp"

namespace spate::features {

using namespace tls_state;

namespace {

constexpr uint8_t kTcpSyn = 0x02;
constexpr uint8_t kTcpAck = 0x10;

uint32_t certs_at(const FeatureConfig& c) {
    return kSrltAt + c.tls_records * uint32_t{sizeof(SrltEntry)};
}

uint32_t cert_cap(const FeatureConfig& c) {
    return std::min<uint32_t>(c.tls_cert_bytes, 65535);
}

/// The flow's arena with room for `need` bytes (leased or grown), or
/// nullptr when the pool is dry (the record then says tls_no_state).
uint8_t* arena(TlsState& st, WorkerScratch* scratch, uint32_t need) {
    if (scratch == nullptr) {
        st.ref.lost = 1;
        return nullptr;
    }
    ArenaPool& pool = scratch->arena[kArenaTls];
    return pool.reserve(st.ref, need, pool.capacity(st.ref));
}

/// Working context of one update() call.
struct Ctx {
    TlsState& st;
    const PacketView& p;
    const FeatureConfig& cfg;
    WorkerScratch* scratch;
    uint8_t dir;

    DirState& d() { return st.dir[dir]; }
};

BufferPool* pool_of(Ctx& c) {
    return c.scratch != nullptr ? &c.scratch->pool : nullptr;
}

/// Ends parsing in this direction (not TLS, lost sync, or finished).
void stop_dir(Ctx& c, uint8_t mode) {
    DirState& d = c.d();
    d.mode = mode;
    stream_release(d.stream, pool_of(c));
}

/// The direction's buffer: the message area (--tls-buffer bytes), then the
/// stream's out-of-order area. nullptr when none could be had, or the pool
/// took it back (the message is then incomplete).
uint8_t* buffer(Ctx& c) {
    DirState& d = c.d();
    uint8_t* b = stream_buffer(d.stream, pool_of(c));
    if (b == nullptr) {
        d.flags |= kDirBufferLost;
    }
    return b;
}

// ---- compact copies kept in the flow state ----

/// Appends [type][len16][data] (data cut to what fits); false when nothing fits.
struct Writer {
    uint8_t* out;
    uint32_t cap;
    uint32_t len = 0;
    bool cut = false;

    void bytes(const void* p, uint32_t n) {
        if (len + n > cap) {
            n = len < cap ? cap - len : 0;
            cut = true;
        }
        if (n == 0) {
            return;
        }
        std::memcpy(out + len, p, n);
        len += n;
    }
    void u8(uint8_t v) { bytes(&v, 1); }
    void u16(uint16_t v) {
        uint8_t b[2] = {uint8_t(v >> 8), uint8_t(v)};
        bytes(b, 2);
    }
    bool room(uint32_t n) const { return len + n <= cap; }
};

/// Extensions whose data is random or opaque: kept as type and length only
/// (key_share keeps its list of groups). Saves state for what matters.
bool opaque_extension(uint16_t type) {
    return type == 21 /* padding */ || type == 41 /* pre_shared_key */ ||
           type == 0xfe0d /* encrypted_client_hello */ || type == 35 /* session_ticket */;
}

/// Appends one extension; false (nothing written) when it does not fit.
bool put_extension(Writer& w, uint16_t type, const uint8_t* data, uint32_t n) {
    if (!w.room(4 + n)) {
        return false;
    }
    w.u16(type);
    w.u16(static_cast<uint16_t>(n));
    w.bytes(data, n);
    return true;
}

/// Fills in the 2-byte length of the extensions block that starts at `at`.
void close_extensions(Writer& w, uint32_t at) {
    const uint32_t n = w.len - at - 2;
    w.out[at] = uint8_t(n >> 8);
    w.out[at + 1] = uint8_t(n);
}

/// The ClientHello re-encoded compactly: same structure (so the same parser
/// reads it back), with opaque extension data dropped and key shares reduced
/// to their groups. Extensions that do not fit are left out (flagged).
void store_client_hello(TlsState& st, uint8_t* out, const proto::ClientHello& ch) {
    Writer w{out, sizeof(st.ch)};
    w.u16(ch.legacy_version);
    w.bytes(ch.random.p, ch.random.n);
    w.u8(static_cast<uint8_t>(std::min<uint32_t>(ch.session_id.n, 32)));
    w.bytes(ch.session_id.p, std::min<uint32_t>(ch.session_id.n, 32));
    uint32_t cs = ch.cipher_suites.n;
    if (2 + cs + 64 > w.cap - w.len) {
        cs = (w.cap - w.len > 66 ? w.cap - w.len - 66 : 0) & ~1u;
        st.flags |= kChTruncated;
    }
    w.u16(static_cast<uint16_t>(cs));
    w.bytes(ch.cipher_suites.p, cs);
    w.u8(static_cast<uint8_t>(ch.compression_methods.n));
    w.bytes(ch.compression_methods.p, ch.compression_methods.n);
    const uint32_t ext_len_at = w.len;
    w.u16(0);
    for (uint16_t i = 0; i < ch.extension_count; ++i) {
        const proto::TlsExtension& e = ch.extensions[i];
        uint8_t groups[2 + 2 * 32];
        const uint8_t* data = e.data.p;
        uint32_t n = e.data.n;
        if (e.type == 51) {
            // client_shares -> the same list with empty keys: group(2) len(2)=0.
            uint32_t k = 2;
            const uint8_t* q = ch.key_share.p;
            uint32_t left = ch.key_share.n;
            while (left >= 4 && k + 4 <= sizeof(groups)) {
                uint32_t kl = uint32_t(q[2] << 8 | q[3]);
                groups[k] = q[0];
                groups[k + 1] = q[1];
                groups[k + 2] = 0;
                groups[k + 3] = 0;
                k += 4;
                if (kl + 4 > left) {
                    break;
                }
                q += 4 + kl;
                left -= 4 + kl;
            }
            groups[0] = uint8_t((k - 2) >> 8);
            groups[1] = uint8_t(k - 2);
            data = groups;
            n = k;
        } else if (opaque_extension(e.type)) {
            n = 0;
        }
        if (!put_extension(w, e.type, data, n)) {
            st.flags |= kChTruncated;
            break;
        }
    }
    close_extensions(w, ext_len_at);
    st.ch_len = static_cast<uint16_t>(w.len);
}

void store_server_hello(TlsState& st, uint8_t* out, const proto::ServerHello& sh) {
    Writer w{out, sizeof(st.sh)};
    w.u16(sh.legacy_version);
    w.bytes(sh.random.p, sh.random.n);
    w.u8(static_cast<uint8_t>(std::min<uint32_t>(sh.session_id.n, 32)));
    w.bytes(sh.session_id.p, std::min<uint32_t>(sh.session_id.n, 32));
    w.u16(sh.cipher_suite);
    w.u8(sh.compression_method);
    const uint32_t ext_len_at = w.len;
    w.u16(0);
    for (uint16_t i = 0; i < sh.extension_count; ++i) {
        const proto::TlsExtension& e = sh.extensions[i];
        uint32_t n = e.data.n;
        if (e.type == 51) {
            n = std::min<uint32_t>(n, 2);  // the selected group, not the key
        } else if (opaque_extension(e.type)) {
            n = 0;
        }
        if (!put_extension(w, e.type, e.data.p, n)) {
            st.flags |= kShTruncated;
            break;
        }
    }
    close_extensions(w, ext_len_at);
    st.sh_len = static_cast<uint16_t>(w.len);
}

/// One certificate's fields as [u16 len][bytes] items in CertField order,
/// preceded by a header (see tls_state.hpp).
void store_certificate(TlsState& st, uint8_t* certs, const proto::CertView& v,
                       const FeatureConfig& cfg) {
    const uint32_t at = st.cert_len;
    const uint32_t cap = cert_cap(cfg);
    if (at + sizeof(CertHeader) + 2 * kCertFields > cap) {
        st.flags |= kCertTruncated;
        return;
    }
    Writer w{certs + at, cap - at};
    CertHeader h{};
    h.der_len = v.length;
    h.pk_bits = static_cast<uint16_t>(std::min<uint32_t>(v.pk_bits, 65535));
    h.version = v.version;
    h.not_before_tag = v.not_before_tag;
    h.not_after_tag = v.not_after_tag;
    w.bytes(&h, sizeof(h));
    const proto::Span fields[kCertFields] = {v.serial, v.signature_alg, v.subject,
                                             v.issuer, v.not_before,    v.not_after,
                                             v.pk_alg, v.pk_param,      v.san};
    for (uint32_t i = 0; i < kCertFields; ++i) {
        proto::Span f = fields[i];
        uint32_t n = std::min<uint32_t>(f.n, kCertFieldMax);
        if (i == kCertFields - 1) {
            // subjectAltName: what fits (the list is cut at an entry boundary
            // when read back; the cut is flagged).
            const uint32_t room = w.cap - w.len > 2 ? w.cap - w.len - 2 : 0;
            n = std::min(f.n, room);
            if (n < f.n) {
                st.flags |= kCertTruncated;
            }
        }
        if (n < f.n && i != kCertFields - 1) {
            st.flags |= kCertTruncated;
        }
        if (!w.room(2 + n)) {
            st.flags |= kCertTruncated;
            return;  // the whole certificate is dropped (cert_len not advanced)
        }
        w.u16(static_cast<uint16_t>(n));
        w.bytes(f.p, n);
    }
    // (Entries are not aligned: the header is written and read by copy.)
    h.total = static_cast<uint16_t>(w.len);
    std::memcpy(certs + at, &h, sizeof(h));
    st.cert_len = static_cast<uint16_t>(at + w.len);
    ++st.cert_count;
}

void parse_certificates(TlsState& st, WorkerScratch* scratch, const uint8_t* body, uint32_t len,
                        const FeatureConfig& cfg) {
    if (len < 3) {
        return;
    }
    uint8_t* a = arena(st, scratch, certs_at(cfg) + cert_cap(cfg));
    if (a == nullptr) {
        return;
    }
    uint8_t* certs = a + certs_at(cfg);
    uint32_t list = uint32_t(body[0]) << 16 | uint32_t(body[1]) << 8 | body[2];
    uint32_t pos = 3;
    const uint32_t end = std::min(len, 3 + list);
    while (pos + 3 <= end && st.cert_count < kMaxCerts) {
        uint32_t n = uint32_t(body[pos]) << 16 | uint32_t(body[pos + 1]) << 8 | body[pos + 2];
        pos += 3;
        if (n > end - pos) {
            st.flags |= kCertTruncated;
            break;
        }
        proto::CertView v;
        if (proto::parse_certificate(body + pos, n, v) || v.length != 0) {
            store_certificate(st, certs, v, cfg);
        }
        pos += n;
    }
    if (pos < end) {
        st.flags |= kCertTruncated;  // more certificates than kMaxCerts
    }
}

void on_message(Ctx& c, uint8_t type, const uint8_t* body, uint32_t len) {
    TlsState& st = c.st;
    if (c.scratch != nullptr) {
        ++c.scratch->tls.handshake_messages;
    }
    switch (type) {
        case kSslv2Hello:
        case 1: {
            ++st.ch_count;
            if (st.ch_len != 0) {
                break;
            }
            proto::ClientHello ch;
            bool ok = type == 1 ? proto::parse_client_hello(body, len, ch)
                                : proto::parse_sslv2_client_hello(body, len, ch);
            if (!ok && c.scratch != nullptr) {
                ++c.scratch->tls.malformed;
            }
            uint8_t* a = ok ? arena(st, c.scratch, sizeof(st.ch)) : nullptr;
            if (a == nullptr) {
                break;
            }
            if (type == 1) {
                store_client_hello(st, a, ch);
                st.ch_dir = c.dir;
            } else {
                const uint32_t n = std::min<uint32_t>(len, sizeof(st.ch));
                std::memcpy(a, body, n);
                st.ch_len = static_cast<uint16_t>(n);
                st.flags |= kSslv2;
                st.ch_dir = c.dir;
            }
            break;
        }
        case 2: {
            ++st.sh_count;
            proto::ServerHello sh;
            if (!proto::parse_server_hello(body, len, sh)) {
                if (c.scratch != nullptr) {
                    ++c.scratch->tls.malformed;
                }
                break;
            }
            if (sh.hello_retry_request) {
                st.flags |= kHrr;
            }
            uint8_t* a = arena(st, c.scratch, kSrltAt);
            if (a == nullptr) {
                break;
            }
            bool stored_is_hrr = false;
            if (st.sh_len != 0) {
                proto::ServerHello old;
                proto::parse_server_hello(a + kShAt, st.sh_len, old);
                stored_is_hrr = old.hello_retry_request;
            }
            if (st.sh_len == 0 || (stored_is_hrr && !sh.hello_retry_request)) {
                store_server_hello(st, a + kShAt, sh);
            }
            break;
        }
        case 11:
            if (st.cert_count == 0 && (st.flags & kCertSeen) == 0) {
                st.flags |= kCertSeen;
                parse_certificates(st, c.scratch, body, len, c.cfg);
            }
            break;
        case 16:
            // ClientKeyExchange: RSA (2-byte length) or (EC)DH (1-byte length).
            if (len >= 2 && uint32_t(body[0] << 8 | body[1]) == len - 2) {
                st.cke_bits = static_cast<uint16_t>(std::min<uint32_t>((len - 2) * 8, 65535));
            } else if (len >= 1 && body[0] == len - 1) {
                st.cke_bits = static_cast<uint16_t>(std::min<uint32_t>((len - 1) * 8, 65535));
            } else {
                st.cke_bits = static_cast<uint16_t>(std::min<uint32_t>(len * 8, 65535));
            }
            break;
        default:
            break;
    }
}

bool wanted(uint8_t type) {
    return type == 1 || type == 2 || type == 11 || type == 16 || type == kSslv2Hello;
}

/// Handshake-message bytes (from handshake records, or QUIC CRYPTO data).
void feed_handshake(Ctx& c, const uint8_t* data, uint32_t len) {
    DirState& d = c.d();
    while (len > 0) {
        if (d.hs_have < 4) {
            d.hs_hdr[d.hs_have++] = *data++;
            --len;
            if (d.hs_have == 4) {
                d.hs_type = d.hs_hdr[0];
                d.hs_len = uint32_t(d.hs_hdr[1]) << 16 | uint32_t(d.hs_hdr[2]) << 8 | d.hs_hdr[3];
                d.hs_got = 0;
                d.hs_skip = !wanted(d.hs_type);
                if (!d.hs_skip && d.hs_len > c.cfg.tls_buffer) {
                    d.hs_skip = 1;
                    d.flags |= kDirTooBig;
                    if (c.scratch != nullptr) {
                        ++c.scratch->tls.message_too_big;
                    }
                }
                if (d.hs_len == 0) {
                    if (!d.hs_skip) {
                        on_message(c, d.hs_type, nullptr, 0);
                    }
                    d.hs_have = 0;
                }
            }
            continue;
        }
        const uint32_t k = std::min(d.hs_len - d.hs_got, len);
        if (!d.hs_skip) {
            if (d.hs_got == 0 && k == d.hs_len) {
                on_message(c, d.hs_type, data, k);  // whole in this chunk: no copy
            } else {
                uint8_t* b = buffer(c);
                if (b == nullptr) {
                    d.hs_skip = 1;
                    d.flags |= kDirBufferLost;
                } else {
                    std::memcpy(b + d.hs_got, data, k);
                    if (d.hs_got + k == d.hs_len) {
                        on_message(c, d.hs_type, b, d.hs_len);
                    }
                }
            }
        }
        d.hs_got += k;
        data += k;
        len -= k;
        if (d.hs_got == d.hs_len) {
            d.hs_have = 0;
        }
    }
}

bool valid_record_header(const uint8_t* h) {
    const uint16_t len = uint16_t(h[3] << 8 | h[4]);
    return h[0] >= 20 && h[0] <= 24 && h[1] == 3 && h[2] <= 4 && len <= 16384 + 2048;
}

bool sslv2_client_hello(const uint8_t* h) {
    // [len hi | 0x80][len lo][1 = CLIENT-HELLO][version: 0x0002 or 0x0300..0x0304]
    return (h[0] & 0x80) != 0 && h[2] == 1 &&
           ((h[3] == 0 && h[4] == 2) || (h[3] == 3 && h[4] <= 4));
}

void note_record(Ctx& c, uint8_t type, uint16_t len) {
    TlsState& st = c.st;
    DirState& d = c.d();
    if (type == 20) {
        d.flags |= kDirCcs;
    }
    if (type == 23) {
        d.flags |= kDirAppData;
    }
    if (st.srlt_count < c.cfg.tls_records) {
        uint8_t* a = arena(st, c.scratch, kSrltAt + (st.srlt_count + 1u) * sizeof(SrltEntry));
        if (a == nullptr) {
            return;  // the pool is dry (tls_no_state)
        }
        SrltEntry* srlt = reinterpret_cast<SrltEntry*>(a + kSrltAt);
        SrltEntry& e = srlt[st.srlt_count++];
        e.len = len;
        e.type = static_cast<uint8_t>(type | (c.dir << 7));
        e.hs = 0;
        const uint64_t dt =
            c.p.pkt->ts_ns > c.p.flow_start_ns ? c.p.pkt->ts_ns - c.p.flow_start_ns : 0;
        e.t_us = static_cast<uint32_t>(std::min<uint64_t>(dt / 1000, 0xffffffffu));
    } else if ((d.flags & (kDirCcs | kDirAppData)) != 0) {
        stop_dir(c, kModeDone);  // handshake over and srlt full: nothing more to learn
    }
}

/// In-order bytes of a TLS-over-TCP direction: the record layer.
void consume_records(Ctx& c, const uint8_t* data, uint32_t len) {
    DirState& d = c.d();
    while (len > 0 && d.mode == kModeRecords) {
        if (d.rec_have < 5) {
            const uint32_t k = std::min<uint32_t>(5 - d.rec_have, len);
            std::memcpy(d.rec_hdr + d.rec_have, data, k);
            d.rec_have = static_cast<uint8_t>(d.rec_have + k);
            data += k;
            len -= k;
            if (d.rec_have < 5) {
                return;
            }
            const bool first = (d.flags & kDirSawRecord) == 0;
            if (first && sslv2_client_hello(d.rec_hdr)) {
                // SSLv2-format ClientHello: the record is the message.
                const uint32_t rec_len = uint32_t(d.rec_hdr[0] & 0x7f) << 8 | d.rec_hdr[1];
                d.flags |= kDirSawRecord;
                c.st.flags |= kIsTls;
                note_record(c, 22, static_cast<uint16_t>(rec_len));
                d.hs_have = 4;
                d.hs_type = kSslv2Hello;
                d.hs_len = rec_len + 2;
                d.hs_got = 0;
                d.hs_skip = 0;
                if (d.hs_len > c.cfg.tls_buffer) {
                    d.hs_skip = 1;  // bounded like any other message
                    d.flags |= kDirTooBig;
                    if (c.scratch != nullptr) {
                        ++c.scratch->tls.message_too_big;
                    }
                }
                d.rec_type = kSslv2Hello;
                d.rec_left = rec_len - 3;  // 3 body bytes already in the header
                feed_handshake(c, d.rec_hdr, 5);
                if (d.rec_left == 0) {
                    stop_dir(c, kModeDone);
                }
                continue;
            }
            if (!valid_record_header(d.rec_hdr) ||
                (first && d.rec_hdr[0] != 22 && d.rec_hdr[0] != 21)) {
                if (!first && c.scratch != nullptr) {
                    ++c.scratch->tls.malformed;
                }
                d.flags |= first ? 0 : kDirLostSync;
                stop_dir(c, first ? kModeNotTls : kModeLost);
                return;
            }
            d.flags |= kDirSawRecord;
            c.st.flags |= kIsTls;
            d.rec_type = d.rec_hdr[0];
            d.rec_left = uint32_t(d.rec_hdr[3] << 8 | d.rec_hdr[4]);
            note_record(c, d.rec_type, static_cast<uint16_t>(d.rec_left));
            if (d.mode != kModeRecords) {
                return;
            }
            continue;
        }
        const uint32_t k = std::min(d.rec_left, len);
        if (d.rec_type == kSslv2Hello) {
            feed_handshake(c, data, k);
        } else if (d.rec_type == 22 && (d.flags & kDirCcs) == 0) {
            if (d.rec_left == uint32_t(d.rec_hdr[3] << 8 | d.rec_hdr[4]) && k > 0 &&
                c.st.srlt_count > 0) {
                auto* srlt = reinterpret_cast<SrltEntry*>(
                    c.scratch->arena[kArenaTls].get(c.st.ref) + kSrltAt);
                SrltEntry& e = srlt[c.st.srlt_count - 1];
                if ((e.type >> 7) == c.dir && (e.type & 0x7f) == 22) {
                    e.hs = data[0];
                }
            }
            feed_handshake(c, data, k);
        }
        d.rec_left -= k;
        data += k;
        len -= k;
        if (d.rec_left == 0) {
            d.rec_have = 0;
            if (d.rec_type == kSslv2Hello) {
                stop_dir(c, kModeDone);
            }
        }
    }
}

void consume(Ctx& c, const uint8_t* data, uint32_t len) {
    if (c.d().mode == kModeQuic) {
        feed_handshake(c, data, len);
    } else {
        consume_records(c, data, len);
    }
}

bool dir_active(const DirState& d);

/// Bytes at stream position `seq` (TCP sequence number or CRYPTO offset).
void feed_stream(Ctx& c, uint32_t seq, const uint8_t* data, uint32_t len) {
    DirState& d = c.d();
    const StreamFeed r = stream_feed(
        d.stream, pool_of(c), c.cfg.tls_buffer, seq, data, len,
        [&](const uint8_t* p, uint32_t n) { consume(c, p, n); }, [&] { return dir_active(d); });
    if (r == StreamFeed::held && c.scratch != nullptr) {
        ++c.scratch->tls.out_of_order_held;
    } else if (r == StreamFeed::gap && dir_active(d)) {
        d.flags |= d.stream.buffer_lost ? kDirBufferLost : kDirGap;
        if (c.scratch != nullptr) {
            ++c.scratch->tls.gaps;
        }
        stop_dir(c, kModeLost);
    }
}

bool dir_active(const DirState& d) {
    return d.mode == kModeUnknown || d.mode == kModeRecords || d.mode == kModeQuic;
}

void update_quic(Ctx& c);

}  // namespace

size_t Tls::state_size(const FeatureConfig& c) {
    return control_size(c) + arena_max(c);
}

void Tls::init(uint8_t* s, const FeatureConfig&) {
    // The message areas, srlt and certificates are read only up to their
    // lengths: clearing the counters and the directions is enough.
    std::memset(s, 0, offsetof(TlsState, ch));
}

void Tls::update(uint8_t* s, const PacketView& p, const FeatureConfig& cfg) {
    auto& st = *reinterpret_cast<TlsState*>(s);
    const parse::DecodedPacket& pkt = *p.pkt;
    Ctx c{st, p, cfg, p.scratch, p.dir};
    DirState& d = st.dir[p.dir];
    if (pkt.key.proto == 6) {
        if ((pkt.tcp_flags & kTcpSyn) != 0) {
            if ((pkt.tcp_flags & kTcpAck) == 0 && p.dir == 0 && st.syn_len == 0 &&
                p.frame != nullptr && pkt.payload_off > pkt.l4_off + 20 &&
                pkt.payload_off <= pkt.cap_len) {
                const uint32_t n = std::min<uint32_t>(pkt.payload_off - pkt.l4_off - 20, 40);
                std::memcpy(st.syn_opts, p.frame + pkt.l4_off + 20, n);
                st.syn_len = static_cast<uint8_t>(n);
                st.syn_window = pkt.tcp_window;
                st.flags |= kSynSeen;
            } else if ((pkt.tcp_flags & kTcpAck) == 0 && p.dir == 0 && (st.flags & kSynSeen) == 0) {
                st.syn_window = pkt.tcp_window;
                st.flags |= kSynSeen;
            }
            if (!d.stream.started) {
                stream_start(d.stream, pkt.tcp_seq + 1);
            }
            if (p.payload_cap == 0) {
                return;
            }
            // TCP Fast Open: data in the SYN follows the SYN's sequence number.
        }
        if (p.payload_cap == 0 || !dir_active(d)) {
            return;
        }
        if (d.mode == kModeUnknown) {
            d.mode = kModeRecords;
        }
        const uint32_t seq = pkt.tcp_seq + ((pkt.tcp_flags & kTcpSyn) != 0 ? 1 : 0);
        feed_stream(c, seq, p.payload, p.payload_cap);
        if (p.payload_cap < pkt.payload_len && dir_active(d)) {
            // Cut by the snaplen: the rest of the segment is a hole.
            d.flags |= kDirGap;
            stop_dir(c, kModeLost);
        }
        return;
    }
    if (pkt.key.proto == 17 && p.payload_cap > 0) {
        update_quic(c);
    }
}

void Tls::release(uint8_t* s, WorkerScratch* scratch) {
    auto& st = *reinterpret_cast<TlsState*>(s);
    for (DirState& d : st.dir) {
        stream_release(d.stream, scratch != nullptr ? &scratch->pool : nullptr);
    }
}

namespace {

void update_quic(Ctx& c) {
    TlsState& st = c.st;
    DirState& d = c.d();
    const PacketView& p = c.p;
    if (c.scratch == nullptr || !dir_active(d) || st.quic_packets >= kMaxQuicPackets) {
        return;
    }
    const bool from_server = c.dir != st.quic_client_dir;
    if ((st.flags & kQuic) == 0) {
        // Recognised by content: a client Initial of a known version.
        // (A client may send other packets first, e.g. 0-RTT or a
        // resumption attempt: keep looking for a few packets.)
        if (d.mode != kModeUnknown || !proto::looks_like_quic_initial(p.payload, p.payload_cap)) {
            if (++st.quic_packets >= kMaxQuicPackets) {
                for (DirState& x : st.dir) {
                    if (x.mode == kModeUnknown) {
                        x.mode = kModeNotTls;
                    }
                }
            }
            return;
        }
        st.quic_client_dir = c.dir;
    }
    proto::QuicLongHeader hdr;
    proto::Span keys_dcid{st.quic_dcid, st.quic_dcid_len};
    if ((st.flags & kQuic) == 0) {
        keys_dcid = proto::Span{};
    }
    const bool server = c.dir != st.quic_client_dir;
    (void)from_server;
    ++st.quic_packets;
    auto status = c.scratch->quic.decrypt(
        p.payload, p.payload_cap, server, keys_dcid, hdr, [&](uint64_t off, proto::Span data) {
            if (off > 0xffffffffu) {
                return;
            }
            DirState& dd = st.dir[c.dir];
            if (dd.mode == kModeUnknown) {
                dd.mode = kModeQuic;
                stream_start(dd.stream, 0);  // CRYPTO offsets start at 0
            }
            if (dd.mode == kModeQuic) {
                feed_stream(c, static_cast<uint32_t>(off), data.p, data.n);
            }
        });
    if (status == proto::QuicStatus::ok) {
        ++c.scratch->tls.quic_initials;
        if ((st.flags & kQuic) == 0) {
            st.flags |= kQuic | kIsTls;
            st.quic_version = hdr.version;
            st.quic_dcid_len = static_cast<uint8_t>(std::min<uint32_t>(hdr.dcid.n, 20));
            if (st.quic_dcid_len > 0) {
                std::memcpy(st.quic_dcid, hdr.dcid.p, st.quic_dcid_len);
            }
            st.quic_scid_len = static_cast<uint8_t>(std::min<uint32_t>(hdr.scid.n, 20));
            if (st.quic_scid_len > 0) {
                std::memcpy(st.quic_scid, hdr.scid.p, st.quic_scid_len);
            }
        } else if (server && st.quic_server_scid_len == 0) {
            st.quic_server_scid_len = static_cast<uint8_t>(std::min<uint32_t>(hdr.scid.n, 20));
            if (st.quic_server_scid_len > 0) {
                std::memcpy(st.quic_server_scid, hdr.scid.p, st.quic_server_scid_len);
            }
        }
    } else if (status == proto::QuicStatus::decrypt_failed) {
        ++c.scratch->tls.quic_failed;
    }
}

}  // namespace

size_t Tls::arena_used(const uint8_t* s, const FeatureConfig& c) {
    // The arena is laid out ClientHello, ServerHello, srlt, certificates:
    // everything up to the end of the last part in use.
    const auto& st = *reinterpret_cast<const TlsState*>(s);
    if (st.cert_len != 0) {
        return certs_at(c) + st.cert_len;
    }
    if (st.srlt_count != 0) {
        return kSrltAt + size_t{st.srlt_count} * sizeof(SrltEntry);
    }
    if (st.sh_len != 0) {
        return kShAt + st.sh_len;
    }
    return st.ch_len;
}

size_t Tls::control_size(const FeatureConfig&) {
    return offsetof(TlsState, ch);
}

uint32_t Tls::arena_max(const FeatureConfig& c) {
    return certs_at(c) + cert_cap(c);
}

const ArenaRef* Tls::arena_ref(const uint8_t* s) {
    return &reinterpret_cast<const TlsState*>(s)->ref;
}

}  // namespace spate::features
