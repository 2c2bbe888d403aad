// QUIC Initial packets: key derivation (RFC 9001 5.2, RFC 9369 3.3), header
// protection removal (RFC 9001 5.4), AEAD_AES_128_GCM decryption (RFC 9001
// 5.3) and the frame walk of an Initial packet (RFC 9000 12.4, 19).
//
// libcrypto is used only through contexts made once per decryptor: HMAC
// (EVP_MAC) for HKDF, AES-128-ECB for the header-protection mask and
// AES-128-GCM for the payload.
#include "spate/proto/quic.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstring>

namespace spate::proto {

namespace {

constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
// draft-ietf-quic-tls-29 .. -32
constexpr uint8_t kSaltDraft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                      0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
// draft-ietf-quic-tls-23 .. -28
constexpr uint8_t kSaltDraft23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                      0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};

constexpr size_t kMaxCid = 20;  // RFC 9000 17.2 for v1 (and v2, and the drafts since 22)
constexpr size_t kSampleLen = 16;
constexpr size_t kTagLen = 16;

/// The salt of a version with known Initial keys, or nullptr.
const uint8_t* salt_of(uint32_t version) {
    if (version == kQuicV1) {
        return kSaltV1;
    }
    if (version == kQuicV2) {
        return kSaltV2;
    }
    if (version >= 0xff00001b && version <= 0xff00001c) {  // draft-27, -28
        return kSaltDraft23;
    }
    if (version >= 0xff00001d && version <= 0xff000020) {  // draft-29 .. -32
        return kSaltDraft29;
    }
    if (version >= 0xff000021 && version <= 0xff000022) {  // draft-33, -34
        return kSaltV1;
    }
    return nullptr;
}

uint32_t be32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

/// Wire type bits (0..3) to v1 numbering.
uint8_t packet_type(uint32_t version, uint8_t first_byte) {
    const uint8_t t = (first_byte >> 4) & 3;
    // RFC 9369 3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
    return version == kQuicV2 ? static_cast<uint8_t>((t + 3) & 3) : t;
}

/// HMAC-SHA256 through one reusable EVP_MAC_CTX, and HKDF on top of it. Every
/// output this file needs is at most one hash long, so HKDF-Expand is one
/// HMAC block.
class Hkdf {
public:
    Hkdf() {
        mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        ctx_ = mac_ != nullptr ? EVP_MAC_CTX_new(mac_) : nullptr;
        // The digest is set once: passed to every EVP_MAC_init it would be
        // fetched (locks, name lookups) on every Initial packet.
        char digest[] = "SHA256";
        const OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end()};
        if (ctx_ != nullptr && EVP_MAC_CTX_set_params(ctx_, params) != 1) {
            EVP_MAC_CTX_free(ctx_);
            ctx_ = nullptr;
        }
    }
    ~Hkdf() {
        EVP_MAC_CTX_free(ctx_);
        EVP_MAC_free(mac_);
    }
    Hkdf(const Hkdf&) = delete;
    Hkdf& operator=(const Hkdf&) = delete;

    bool ready() const { return ctx_ != nullptr; }

    /// out[32] = HMAC-SHA256(key, a || b).
    bool hmac(const uint8_t* key, size_t key_len, const uint8_t* a, size_t a_len, const uint8_t* b,
              size_t b_len, uint8_t* out) {
        if (ctx_ == nullptr) {
            return false;
        }
        size_t out_len = 0;
        return EVP_MAC_init(ctx_, key, key_len, nullptr) == 1 &&
               (a_len == 0 || EVP_MAC_update(ctx_, a, a_len) == 1) &&
               (b_len == 0 || EVP_MAC_update(ctx_, b, b_len) == 1) &&
               EVP_MAC_final(ctx_, out, &out_len, 32) == 1 && out_len == 32;
    }

    /// HKDF-Expand-Label(secret, label, "", out_len) of TLS 1.3 (RFC 8446
    /// 7.1), out_len <= 32.
    bool expand_label(const uint8_t* secret, const char* label, uint8_t* out, size_t out_len) {
        uint8_t info[2 + 1 + 255 + 1 + 1];
        const size_t label_len = std::strlen(label);
        size_t n = 0;
        info[n++] = 0;
        info[n++] = static_cast<uint8_t>(out_len);
        info[n++] = static_cast<uint8_t>(6 + label_len);
        std::memcpy(info + n, "tls13 ", 6);
        n += 6;
        std::memcpy(info + n, label, label_len);
        n += label_len;
        info[n++] = 0;     // empty context
        info[n++] = 0x01;  // the HKDF-Expand block counter T(1)
        uint8_t t[32];
        if (!hmac(secret, 32, info, n, nullptr, 0, t)) {
            return false;
        }
        std::memcpy(out, t, out_len);
        return true;
    }

    /// Both directions' Initial keys for a DCID.
    bool initial_keys(uint32_t version, const uint8_t* dcid, size_t dcid_len, QuicKeys& client,
                      QuicKeys& server) {
        const uint8_t* salt = salt_of(version);
        if (salt == nullptr) {
            return false;
        }
        const bool v2 = version == kQuicV2;
        uint8_t initial[32], secret[32];
        if (!hmac(salt, 20, dcid, dcid_len, nullptr, 0, initial)) {
            return false;
        }
        for (int dir = 0; dir < 2; ++dir) {
            QuicKeys& k = dir == 0 ? client : server;
            if (!expand_label(initial, dir == 0 ? "client in" : "server in", secret, 32) ||
                !expand_label(secret, v2 ? "quicv2 key" : "quic key", k.key, sizeof k.key) ||
                !expand_label(secret, v2 ? "quicv2 iv" : "quic iv", k.iv, sizeof k.iv) ||
                !expand_label(secret, v2 ? "quicv2 hp" : "quic hp", k.hp, sizeof k.hp)) {
                return false;
            }
        }
        return true;
    }

private:
    EVP_MAC* mac_ = nullptr;
    EVP_MAC_CTX* ctx_ = nullptr;
};

enum class HeaderResult : uint8_t { ok, not_long, unknown_version, malformed };

/// The long header at p (no fixed-bit check). On ok, `out` has every field
/// up to the (protected) packet number and the packet fits in len.
HeaderResult parse_header(const uint8_t* p, size_t len, QuicLongHeader& out) {
    out = QuicLongHeader{};
    if (len == 0 || (p[0] & 0x80) == 0) {
        return HeaderResult::not_long;
    }
    if (len < 5) {
        return HeaderResult::malformed;
    }
    out.version = be32(p + 1);
    if (salt_of(out.version) == nullptr) {
        return HeaderResult::unknown_version;
    }
    out.type = packet_type(out.version, p[0]);
    size_t pos = 5;
    if (pos >= len || p[pos] > kMaxCid) {
        return HeaderResult::malformed;
    }
    const size_t dcid_len = p[pos++];
    if (len - pos < dcid_len + 1) {
        return HeaderResult::malformed;
    }
    out.dcid = Span{p + pos, static_cast<uint32_t>(dcid_len)};
    pos += dcid_len;
    const size_t scid_len = p[pos++];
    if (scid_len > kMaxCid || len - pos < scid_len) {
        return HeaderResult::malformed;
    }
    out.scid = Span{p + pos, static_cast<uint32_t>(scid_len)};
    pos += scid_len;
    if (out.type == static_cast<uint8_t>(QuicPacketType::retry)) {
        // Retry token + 16-byte integrity tag, up to the end of the datagram.
        out.packet_len = static_cast<uint32_t>(len);
        return HeaderResult::ok;
    }
    uint64_t v = 0;
    if (out.type == static_cast<uint8_t>(QuicPacketType::initial)) {
        if (!quic_read_varint(p, len, &pos, &v) || v > len - pos) {
            return HeaderResult::malformed;
        }
        out.token = Span{p + pos, static_cast<uint32_t>(v)};
        pos += v;
    }
    if (!quic_read_varint(p, len, &pos, &v) || v > len - pos) {
        return HeaderResult::malformed;
    }
    out.length = static_cast<uint32_t>(v);
    out.pn_offset = static_cast<uint32_t>(pos);
    out.packet_len = static_cast<uint32_t>(pos + v);
    return HeaderResult::ok;
}

bool span_eq(Span a, Span b) {
    return a.n == b.n && (a.n == 0 || std::memcmp(a.p, b.p, a.n) == 0);
}

}  // namespace

bool quic_version_known(uint32_t version) {
    return salt_of(version) != nullptr;
}

bool quic_initial_keys(uint32_t version, Span client_dcid, bool server, QuicKeys& out) {
    if (client_dcid.n > 255) {
        return false;
    }
    Hkdf h;
    QuicKeys c{}, s{};
    if (!h.initial_keys(version, client_dcid.p, client_dcid.n, c, s)) {
        return false;
    }
    out = server ? s : c;
    return true;
}

uint64_t quic_decode_packet_number(int64_t largest_pn, uint64_t truncated, unsigned pn_len) {
    if (pn_len < 1 || pn_len > 4) {
        return truncated;
    }
    const uint64_t expected = static_cast<uint64_t>(largest_pn + 1);
    const uint64_t win = uint64_t{1} << (pn_len * 8);
    const uint64_t hwin = win / 2;
    const uint64_t mask = win - 1;
    truncated &= mask;
    const uint64_t candidate = (expected & ~mask) | truncated;
    // The comparisons of RFC 9000 A.3, rearranged to stay in unsigned range.
    if (candidate + hwin <= expected && candidate < (uint64_t{1} << 62) - win) {
        return candidate + win;
    }
    if (candidate > expected + hwin && candidate >= win) {
        return candidate - win;
    }
    return candidate;
}

bool quic_read_varint(const uint8_t* p, size_t len, size_t* pos, uint64_t* out) {
    if (*pos >= len) {
        return false;
    }
    const size_t n = size_t{1} << (p[*pos] >> 6);
    if (len - *pos < n) {
        return false;
    }
    uint64_t v = p[*pos] & 0x3f;
    for (size_t i = 1; i < n; ++i) {
        v = v << 8 | p[*pos + i];
    }
    *pos += n;
    *out = v;
    return true;
}

bool parse_quic_long_header(const uint8_t* p, size_t len, QuicLongHeader& out) {
    return parse_header(p, len, out) == HeaderResult::ok;
}

bool looks_like_quic_initial(const uint8_t* p, size_t len) {
    if (len < 7 || (p[0] & 0xc0) != 0xc0 || !quic_version_known(be32(p + 1))) {
        return false;
    }
    QuicLongHeader h;
    return parse_header(p, len, h) == HeaderResult::ok &&
           h.type == static_cast<uint8_t>(QuicPacketType::initial) &&
           size_t{h.pn_offset} + 4 + kSampleLen <= h.packet_len;
}

const char* quic_status_name(QuicStatus s) {
    switch (s) {
        case QuicStatus::ok:
            return "ok";
        case QuicStatus::not_quic:
            return "not_quic";
        case QuicStatus::not_initial:
            return "not_initial";
        case QuicStatus::unknown_version:
            return "unknown_version";
        case QuicStatus::decrypt_failed:
            return "decrypt_failed";
        case QuicStatus::malformed:
            return "malformed";
    }
    return "?";
}

struct QuicInitialDecryptor::Impl {
    Hkdf hkdf;
    EVP_CIPHER* gcm = nullptr;
    EVP_CIPHER* ecb = nullptr;
    EVP_CIPHER_CTX* gcm_ctx = nullptr;
    EVP_CIPHER_CTX* ecb_ctx = nullptr;
    bool ok = false;
    std::unique_ptr<uint8_t[]> buf;

    // Keys of the last (version, DCID).
    bool cached = false;
    uint32_t cached_version = 0;
    uint8_t cached_dcid_len = 0;
    uint8_t cached_dcid[255] = {};
    QuicKeys client{}, server{};

    Impl() : buf(new uint8_t[kMaxPacket]) {
        gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
        ecb = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
        gcm_ctx = EVP_CIPHER_CTX_new();
        ecb_ctx = EVP_CIPHER_CTX_new();
        ok = hkdf.ready() && gcm != nullptr && ecb != nullptr && gcm_ctx != nullptr &&
             ecb_ctx != nullptr &&
             EVP_DecryptInit_ex2(gcm_ctx, gcm, nullptr, nullptr, nullptr) == 1 &&
             EVP_EncryptInit_ex2(ecb_ctx, ecb, nullptr, nullptr, nullptr) == 1 &&
             EVP_CIPHER_CTX_set_padding(ecb_ctx, 0) == 1;
    }
    ~Impl() {
        EVP_CIPHER_CTX_free(gcm_ctx);
        EVP_CIPHER_CTX_free(ecb_ctx);
        EVP_CIPHER_free(gcm);
        EVP_CIPHER_free(ecb);
    }

    const QuicKeys* keys(uint32_t version, Span dcid, bool server_dir) {
        if (dcid.n > sizeof cached_dcid) {
            return nullptr;
        }
        if (!cached || cached_version != version || cached_dcid_len != dcid.n ||
            (dcid.n != 0 && std::memcmp(cached_dcid, dcid.p, dcid.n) != 0)) {
            cached = false;
            if (!hkdf.initial_keys(version, dcid.p, dcid.n, client, server)) {
                return nullptr;
            }
            cached = true;
            cached_version = version;
            cached_dcid_len = static_cast<uint8_t>(dcid.n);
            if (dcid.n != 0) {
                std::memcpy(cached_dcid, dcid.p, dcid.n);
            }
        }
        return server_dir ? &server : &client;
    }

    /// Unprotects and decrypts one Initial packet `pkt` (header `h`, which
    /// fits the datagram), filling h's packet number fields, then walks its
    /// frames.
    QuicStatus packet(const uint8_t* pkt, QuicLongHeader& h, bool from_server, Span keys_dcid,
                      CryptoFn on_crypto, void* ctx) {
        if (h.packet_len > kMaxPacket || size_t{h.pn_offset} + 4 + kSampleLen > h.packet_len) {
            return QuicStatus::malformed;
        }
        if (!ok) {
            return QuicStatus::decrypt_failed;
        }
        const QuicKeys* k = keys(h.version, keys_dcid.empty() ? h.dcid : keys_dcid, from_server);
        if (k == nullptr) {
            return QuicStatus::decrypt_failed;
        }
        // Header protection (RFC 9001 5.4.1): the mask is AES-ECB(hp, sample).
        uint8_t mask[32];
        int mask_len = 0;
        if (EVP_EncryptInit_ex2(ecb_ctx, nullptr, k->hp, nullptr, nullptr) != 1 ||
            EVP_EncryptUpdate(ecb_ctx, mask, &mask_len, pkt + h.pn_offset + 4,
                              static_cast<int>(kSampleLen)) != 1 ||
            mask_len != static_cast<int>(kSampleLen)) {
            return QuicStatus::decrypt_failed;
        }
        uint8_t* out = buf.get();
        const uint8_t first = pkt[0] ^ (mask[0] & 0x0f);
        const unsigned pn_len = (first & 3) + 1;
        const size_t hdr_len = h.pn_offset + pn_len;
        std::memcpy(out, pkt, hdr_len);
        out[0] = first;
        uint64_t truncated = 0;
        for (unsigned i = 0; i < pn_len; ++i) {
            out[h.pn_offset + i] ^= mask[1 + i];
            truncated = truncated << 8 | out[h.pn_offset + i];
        }
        h.pn_len = static_cast<uint8_t>(pn_len);
        h.packet_number = quic_decode_packet_number(-1, truncated, pn_len);

        // Payload (RFC 9001 5.3): nonce = iv XOR packet number, AAD = header.
        uint8_t nonce[12];
        std::memcpy(nonce, k->iv, sizeof nonce);
        for (int i = 0; i < 8; ++i) {
            nonce[11 - i] ^= static_cast<uint8_t>(h.packet_number >> (8 * i));
        }
        const size_t ct_len = h.packet_len - hdr_len - kTagLen;  // >= 0: length >= 20 > pn_len+16
        uint8_t* pt = out + hdr_len;
        int n = 0;
        int fin = 0;
        if (EVP_DecryptInit_ex2(gcm_ctx, nullptr, k->key, nonce, nullptr) != 1 ||
            EVP_DecryptUpdate(gcm_ctx, nullptr, &n, out, static_cast<int>(hdr_len)) != 1 ||
            EVP_DecryptUpdate(gcm_ctx, pt, &n, pkt + hdr_len, static_cast<int>(ct_len)) != 1 ||
            EVP_CIPHER_CTX_ctrl(gcm_ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagLen),
                                const_cast<uint8_t*>(pkt + h.packet_len - kTagLen)) != 1 ||
            EVP_DecryptFinal_ex(gcm_ctx, pt + n, &fin) != 1) {
            return QuicStatus::decrypt_failed;
        }
        return frames(pt, ct_len, on_crypto, ctx);
    }

    /// The frames of a decrypted Initial payload (RFC 9000 12.4: only
    /// PADDING, PING, ACK, CRYPTO and CONNECTION_CLOSE 0x1c are allowed).
    static QuicStatus frames(const uint8_t* p, size_t len, CryptoFn on_crypto, void* ctx) {
        if (len == 0) {
            return QuicStatus::malformed;  // a packet with no frames
        }
        size_t pos = 0;
        uint64_t a = 0, b = 0, c = 0;
        while (pos < len) {
            uint64_t type = 0;
            if (!quic_read_varint(p, len, &pos, &type)) {
                return QuicStatus::malformed;
            }
            switch (type) {
                case 0x00:  // PADDING: usually a long run
                    while (pos < len && p[pos] == 0) {
                        ++pos;
                    }
                    break;
                case 0x01:  // PING
                    break;
                case 0x02:    // ACK
                case 0x03: {  // ACK with ECN counts
                    uint64_t ranges = 0;
                    if (!quic_read_varint(p, len, &pos, &a) ||       // largest acknowledged
                        !quic_read_varint(p, len, &pos, &b) ||       // ACK delay
                        !quic_read_varint(p, len, &pos, &ranges) ||  // ACK range count
                        !quic_read_varint(p, len, &pos, &c)) {       // first ACK range
                        return QuicStatus::malformed;
                    }
                    // Each range takes at least 2 bytes: the loop ends with the data.
                    for (uint64_t i = 0; i < ranges; ++i) {
                        if (!quic_read_varint(p, len, &pos, &a) ||
                            !quic_read_varint(p, len, &pos, &b)) {
                            return QuicStatus::malformed;
                        }
                    }
                    if (type == 0x03 && (!quic_read_varint(p, len, &pos, &a) ||
                                         !quic_read_varint(p, len, &pos, &b) ||
                                         !quic_read_varint(p, len, &pos, &c))) {
                        return QuicStatus::malformed;
                    }
                    break;
                }
                case 0x06: {  // CRYPTO
                    uint64_t off = 0, n = 0;
                    if (!quic_read_varint(p, len, &pos, &off) ||
                        !quic_read_varint(p, len, &pos, &n) || n > len - pos ||
                        off + n > (uint64_t{1} << 62) - 1) {
                        return QuicStatus::malformed;
                    }
                    if (on_crypto != nullptr) {
                        on_crypto(ctx, off, Span{p + pos, static_cast<uint32_t>(n)});
                    }
                    pos += n;
                    break;
                }
                case 0x1c: {                                    // CONNECTION_CLOSE (transport)
                    if (!quic_read_varint(p, len, &pos, &a) ||  // error code
                        !quic_read_varint(p, len, &pos, &b) ||  // frame type
                        !quic_read_varint(p, len, &pos, &c) || c > len - pos) {
                        return QuicStatus::malformed;
                    }
                    pos += c;
                    break;
                }
                default:
                    return QuicStatus::malformed;
            }
        }
        return QuicStatus::ok;
    }
};

QuicInitialDecryptor::QuicInitialDecryptor() : impl_(std::make_unique<Impl>()) {}
QuicInitialDecryptor::~QuicInitialDecryptor() = default;

bool QuicInitialDecryptor::ready() const {
    return impl_->ok;
}

QuicStatus QuicInitialDecryptor::decrypt(const uint8_t* udp_payload, size_t len, bool from_server,
                                         Span keys_dcid, QuicLongHeader& hdr, CryptoFn on_crypto,
                                         void* ctx) {
    hdr = QuicLongHeader{};
    if (len == 0 || udp_payload == nullptr || (udp_payload[0] & 0x80) == 0) {
        return QuicStatus::not_quic;
    }
    if (len >= 5 && be32(udp_payload + 1) == 0) {
        return QuicStatus::not_initial;  // version negotiation
    }
    bool any_initial = false;
    size_t off = 0;
    QuicLongHeader first;
    while (off < len) {
        const uint8_t* pkt = udp_payload + off;
        const size_t rem = len - off;
        if ((pkt[0] & 0x80) == 0) {
            break;  // a short-header packet ends the datagram
        }
        if (off != 0 && rem < 5) {
            return QuicStatus::malformed;  // a long header cut short
        }
        if (off != 0 && be32(pkt + 1) != first.version) {
            break;  // RFC 9000 12.2: another version is not part of this connection
        }
        QuicLongHeader h;
        switch (parse_header(pkt, rem, h)) {
            case HeaderResult::ok:
                break;
            case HeaderResult::unknown_version:
                return QuicStatus::unknown_version;
            case HeaderResult::not_long:  // checked above
            case HeaderResult::malformed:
                return QuicStatus::malformed;
        }
        if (off == 0) {
            first = h;
        } else if (!span_eq(h.dcid, first.dcid)) {
            break;
        }
        if (h.type == static_cast<uint8_t>(QuicPacketType::retry)) {
            break;
        }
        if (h.type == static_cast<uint8_t>(QuicPacketType::initial)) {
            const QuicStatus st = impl_->packet(pkt, h, from_server, keys_dcid, on_crypto, ctx);
            if (!any_initial) {
                hdr = h;
                any_initial = true;
            }
            if (st != QuicStatus::ok) {
                return st;
            }
        }
        off += h.packet_len;
    }
    return any_initial ? QuicStatus::ok : QuicStatus::not_initial;
}

}  // namespace spate::proto
