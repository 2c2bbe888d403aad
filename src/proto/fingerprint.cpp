#include "spate/proto/fingerprint.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace spate::proto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// ------------------------------------------------------------------ digests

/// Algorithms fetched once per process (thread-safe static init).
const EVP_MD* md5_md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
    return md;
}
const EVP_MD* sha256_md() {
    static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

/// One digest context per thread, reused for every fingerprint.
struct ThreadCtx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~ThreadCtx() { EVP_MD_CTX_free(ctx); }
};
EVP_MD_CTX* thread_ctx() {
    thread_local ThreadCtx t;
    return t.ctx;
}

/// Appends characters to an optional bounded buffer and/or an optional
/// digest (staged in 256-byte chunks). Overflowing the buffer is remembered
/// and the buffer is left untouched beyond cap.
class Writer {
public:
    Writer(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

    /// Starts feeding the digest; false when unavailable.
    bool start_digest(const EVP_MD* md) {
        EVP_MD_CTX* ctx = thread_ctx();
        if (md == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1) {
            return false;
        }
        md_ = ctx;
        return true;
    }
    /// Finishes the digest into `digest` (>= EVP_MAX_MD_SIZE bytes).
    bool finish_digest(unsigned char* digest) {
        flush();
        unsigned len = 0;
        bool ok = EVP_DigestFinal_ex(md_, digest, &len) == 1;
        md_ = nullptr;
        return ok;
    }

    void put(char c) {
        if (buf_ != nullptr) {
            if (n_ + 1 < cap_) {
                buf_[n_] = c;
            } else {
                overflow_ = true;
            }
        }
        ++n_;
        if (md_ != nullptr) {
            stage_[staged_++] = c;
            if (staged_ == sizeof(stage_)) {
                flush();
            }
        }
    }
    void put(const char* s) {
        while (*s != '\0') {
            put(*s++);
        }
    }
    void dec(unsigned v) {
        char tmp[10];
        int k = 0;
        do {
            tmp[k++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        while (k > 0) {
            put(tmp[--k]);
        }
    }
    void hex8(uint8_t v) {
        put(kHex[v >> 4]);
        put(kHex[v & 15]);
    }
    void hex16(uint16_t v) {
        hex8(static_cast<uint8_t>(v >> 8));
        hex8(static_cast<uint8_t>(v));
    }
    void hex_bytes(const uint8_t* p, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            hex8(p[i]);
        }
    }

    /// NUL-terminates the buffer; returns the length or 0 on overflow.
    size_t finish_string() {
        if (buf_ == nullptr || cap_ == 0) {
            return 0;
        }
        if (overflow_ || n_ + 1 > cap_) {
            buf_[0] = '\0';
            return 0;
        }
        buf_[n_] = '\0';
        return n_;
    }

private:
    void flush() {
        if (md_ != nullptr && staged_ != 0) {
            EVP_DigestUpdate(md_, stage_, staged_);
        }
        staged_ = 0;
    }

    char* buf_;
    size_t cap_;
    size_t n_ = 0;
    bool overflow_ = false;
    EVP_MD_CTX* md_ = nullptr;
    char stage_[256];
    size_t staged_ = 0;
};

void set_empty(char* out, size_t cap) {
    if (out != nullptr && cap > 0) {
        out[0] = '\0';
    }
}

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// ---------------------------------------------------------------- JA3 / JA3S

/// Writes the '-'-joined decimal 2-byte values of `s`, GREASE removed.
void dec16_list(Writer& w, Span s) {
    bool first = true;
    for (uint32_t i = 0; i + 1 < s.n; i += 2) {
        uint16_t v = be16(s.p + i);
        if (is_grease(v)) {
            continue;
        }
        if (!first) {
            w.put('-');
        }
        first = false;
        w.dec(v);
    }
}

template <typename Hello>
void ext_type_list(Writer& w, const Hello& h) {
    bool first = true;
    for (uint16_t i = 0; i < h.extension_count; ++i) {
        uint16_t t = h.extensions[i].type;
        if (is_grease(t)) {
            continue;
        }
        if (!first) {
            w.put('-');
        }
        first = false;
        w.dec(t);
    }
}

void write_ja3(Writer& w, const ClientHello& ch) {
    w.dec(ch.legacy_version);
    w.put(',');
    dec16_list(w, ch.cipher_suites);
    w.put(',');
    ext_type_list(w, ch);
    w.put(',');
    dec16_list(w, ch.supported_groups);
    w.put(',');
    for (uint32_t i = 0; i < ch.ec_point_formats.n; ++i) {
        if (i != 0) {
            w.put('-');
        }
        w.dec(ch.ec_point_formats.p[i]);
    }
}

void write_ja3s(Writer& w, const ServerHello& sh) {
    w.dec(sh.legacy_version);
    w.put(',');
    w.dec(sh.cipher_suite);
    w.put(',');
    ext_type_list(w, sh);
}

template <typename Fn>
bool md5_hex(char out[kJa3HashBuf], Fn&& write) {
    out[0] = '\0';
    Writer w(nullptr, 0);
    if (!w.start_digest(md5_md())) {
        return false;
    }
    write(w);
    unsigned char d[EVP_MAX_MD_SIZE];
    if (!w.finish_digest(d)) {
        return false;
    }
    for (int i = 0; i < 16; ++i) {
        out[2 * i] = kHex[d[i] >> 4];
        out[2 * i + 1] = kHex[d[i] & 15];
    }
    out[32] = '\0';
    return true;
}

// ---------------------------------------------------------------------- JA4

void ja4_version(uint16_t v, char out[2]) {
    const char* s = "00";
    switch (v) {
        case 0x0304:
            s = "13";
            break;
        case 0x0303:
            s = "12";
            break;
        case 0x0302:
            s = "11";
            break;
        case 0x0301:
            s = "10";
            break;
        case 0x0300:
            s = "s3";
            break;
        case 0x0002:
        case 0x0200:
            s = "s2";
            break;
        case 0xfeff:
            s = "d1";
            break;
        case 0xfefd:
            s = "d2";
            break;
        case 0xfefc:
            s = "d3";
            break;
        default:
            break;
    }
    out[0] = s[0];
    out[1] = s[1];
}

bool is_alnum(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void two_digits(char* p, size_t v) {
    if (v > 99) {
        v = 99;
    }
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

/// Writes the first 12 hex digits of a SHA-256 digest, or "000000000000"
/// when nothing was hashed.
bool hash12(Writer& w, bool empty, char* out) {
    unsigned char d[EVP_MAX_MD_SIZE];
    if (!w.finish_digest(d)) {
        return false;
    }
    for (int i = 0; i < 6; ++i) {
        out[2 * i] = empty ? '0' : kHex[d[i] >> 4];
        out[2 * i + 1] = empty ? '0' : kHex[d[i] & 15];
    }
    return true;
}

/// Calls fn(v) for every non-GREASE 2-byte value of `s` in ascending order
/// (duplicates repeated). Small lists are sorted on the stack; longer ones
/// (rare: the record is 16 KiB at most) are walked by repeated minimum
/// selection, which needs no memory.
template <typename Fn>
void for_each_sorted16(Span s, Fn&& fn) {
    constexpr size_t kStack = 512;
    size_t n = s.n / 2;
    if (n <= kStack) {
        uint16_t v[kStack];
        size_t k = 0;
        for (size_t i = 0; i < n; ++i) {
            uint16_t x = be16(s.p + 2 * i);
            if (!is_grease(x)) {
                v[k++] = x;
            }
        }
        std::sort(v, v + k);
        for (size_t i = 0; i < k; ++i) {
            fn(v[i]);
        }
        return;
    }
    int32_t prev = -1;
    for (;;) {
        int32_t best = 0x10000;
        size_t dups = 0;
        for (size_t i = 0; i < n; ++i) {
            uint16_t x = be16(s.p + 2 * i);
            if (is_grease(x) || x <= prev) {
                continue;
            }
            if (x < best) {
                best = x;
                dups = 1;
            } else if (x == best) {
                ++dups;
            }
        }
        if (best == 0x10000) {
            return;
        }
        for (size_t j = 0; j < dups; ++j) {
            fn(static_cast<uint16_t>(best));
        }
        prev = best;
    }
}

// ------------------------------------------------- mercury TLS fingerprint

constexpr uint16_t kMercuryDataExt[] = {1,  5,  7,  8,  9,  10, 11, 13, 15,
                                        16, 17, 24, 27, 28, 43, 45, 50, 21760};

bool mercury_with_data(uint16_t t) {
    for (uint16_t x : kMercuryDataExt) {
        if (x == t) {
            return true;
        }
    }
    return false;
}

uint16_t degrease(uint16_t v) {
    return is_grease(v) ? 0x0a0a : v;
}

/// Hex of `p[0..n)`: the first `keep` bytes as they are, then 2-byte units
/// with GREASE written as 0a0a (an odd trailing byte is dropped, as mercury
/// does).
void hex_degreased(Writer& w, const uint8_t* p, size_t n, size_t keep) {
    if (keep > n) {
        keep = n;
    }
    w.hex_bytes(p, keep);
    for (size_t i = keep; i + 1 < n; i += 2) {
        w.hex16(degrease(be16(p + i)));
    }
}

/// QUIC variable-length integer length from its first byte (RFC 9000 16).
size_t varint_len(uint8_t b) {
    return size_t{1} << (b >> 6);
}

void quic_params(Writer& w, Span d) {
    w.put('(');
    size_t i = 0;
    while (i < d.n) {
        size_t idl = varint_len(d.p[i]);
        if (i + idl > d.n) {
            break;
        }
        size_t id_at = i;
        i += idl;
        if (i >= d.n) {
            break;
        }
        size_t ll = varint_len(d.p[i]);
        if (i + ll > d.n) {
            break;
        }
        uint64_t len = d.p[i] & 0x3f;
        for (size_t k = 1; k < ll; ++k) {
            len = len << 8 | d.p[i + k];
        }
        i += ll;
        if (len > d.n - i) {
            break;
        }
        i += static_cast<size_t>(len);
        w.put('(');
        w.hex_bytes(d.p + id_at, idl);
        w.put(')');
    }
    w.put(')');
}

}  // namespace

// ------------------------------------------------------------------ public

size_t ja3_string(const ClientHello& ch, char* out, size_t cap) {
    if (ch.sslv2) {
        set_empty(out, cap);
        return 0;
    }
    Writer w(out, cap);
    write_ja3(w, ch);
    return w.finish_string();
}

bool ja3_hash(const ClientHello& ch, char out[kJa3HashBuf]) {
    if (ch.sslv2) {
        out[0] = '\0';
        return false;
    }
    return md5_hex(out, [&](Writer& w) { write_ja3(w, ch); });
}

size_t ja3s_string(const ServerHello& sh, char* out, size_t cap) {
    Writer w(out, cap);
    write_ja3s(w, sh);
    return w.finish_string();
}

bool ja3s_hash(const ServerHello& sh, char out[kJa3HashBuf]) {
    return md5_hex(out, [&](Writer& w) { write_ja3s(w, sh); });
}

size_t ja4(const ClientHello& ch, TlsTransport transport, char* out, size_t cap) {
    if (out == nullptr || cap < kJa4Buf) {
        set_empty(out, cap);
        return 0;
    }
    char* p = out;
    *p++ = transport == TlsTransport::quic ? 'q' : transport == TlsTransport::dtls ? 'd' : 't';

    uint16_t version = ch.legacy_version;
    bool have_sv = false;
    uint16_t best = 0;
    for (uint32_t i = 0; i + 1 < ch.supported_versions.n; i += 2) {
        uint16_t v = be16(ch.supported_versions.p + i);
        if (!is_grease(v) && (!have_sv || v > best)) {
            best = v;
            have_sv = true;
        }
    }
    if (have_sv) {
        version = best;
    }
    ja4_version(version, p);
    p += 2;

    bool sni = !ch.sni.empty();
    size_t ext_count = 0;
    for (uint16_t i = 0; i < ch.extension_count; ++i) {
        uint16_t t = ch.extensions[i].type;
        if (is_grease(t)) {
            continue;
        }
        ++ext_count;
        sni = sni || t == 0x0000;
    }
    *p++ = sni ? 'd' : 'i';

    size_t cipher_count = 0;
    for (size_t i = 0; i < ch.cipher_suite_count(); ++i) {
        cipher_count += is_grease(ch.cipher_suite(i)) ? 0 : 1;
    }
    two_digits(p, cipher_count);
    p += 2;
    two_digits(p, ext_count);
    p += 2;

    // First ALPN value: protocol_name_list is (1-byte length, name)*.
    const uint8_t* a = nullptr;
    size_t alen = 0;
    if (ch.alpn.n >= 1 && ch.alpn.p[0] != 0 && size_t{ch.alpn.p[0]} + 1 <= ch.alpn.n) {
        a = ch.alpn.p + 1;
        alen = ch.alpn.p[0];
    }
    if (a == nullptr) {
        *p++ = '0';
        *p++ = '0';
    } else if (is_alnum(a[0]) && is_alnum(a[alen - 1])) {
        *p++ = static_cast<char>(a[0]);
        *p++ = static_cast<char>(a[alen - 1]);
    } else {
        *p++ = kHex[a[0] >> 4];
        *p++ = kHex[a[alen - 1] & 15];
    }
    *p++ = '_';

    // Cipher hash.
    {
        Writer w(nullptr, 0);
        if (!w.start_digest(sha256_md())) {
            set_empty(out, cap);
            return 0;
        }
        bool first = true;
        for_each_sorted16(ch.cipher_suites, [&](uint16_t v) {
            if (!first) {
                w.put(',');
            }
            first = false;
            w.hex16(v);
        });
        if (!hash12(w, first, p)) {
            set_empty(out, cap);
            return 0;
        }
        p += 12;
    }
    *p++ = '_';

    // Extension hash: sorted types without GREASE, SNI and ALPN, then the
    // signature algorithms in wire order.
    {
        uint16_t types[ClientHello::kMaxExtensions];
        size_t k = 0;
        for (uint16_t i = 0; i < ch.extension_count && i < ClientHello::kMaxExtensions; ++i) {
            uint16_t t = ch.extensions[i].type;
            if (!is_grease(t) && t != 0x0000 && t != 0x0010) {
                types[k++] = t;
            }
        }
        std::sort(types, types + k);
        Writer w(nullptr, 0);
        if (!w.start_digest(sha256_md())) {
            set_empty(out, cap);
            return 0;
        }
        for (size_t i = 0; i < k; ++i) {
            if (i != 0) {
                w.put(',');
            }
            w.hex16(types[i]);
        }
        if (ch.signature_algorithms.n >= 2) {
            w.put('_');
            for (uint32_t i = 0; i + 1 < ch.signature_algorithms.n; i += 2) {
                if (i != 0) {
                    w.put(',');
                }
                w.hex16(be16(ch.signature_algorithms.p + i));
            }
        }
        if (!hash12(w, k == 0, p)) {
            set_empty(out, cap);
            return 0;
        }
        p += 12;
    }
    *p = '\0';
    return kJa4Len;
}

size_t tls_fingerprint(const ClientHello& ch, char* out, size_t cap) {
    if (ch.sslv2) {
        set_empty(out, cap);
        return 0;
    }
    Writer w(out, cap);
    w.put('(');
    w.hex16(ch.legacy_version);
    w.put(')');
    w.put('(');
    hex_degreased(w, ch.cipher_suites.p, ch.cipher_suites.n, 0);
    w.put(')');
    w.put('(');
    for (uint16_t i = 0; i < ch.extension_count && i < ClientHello::kMaxExtensions; ++i) {
        const TlsExtension& e = ch.extensions[i];
        const uint16_t t = e.type;
        const uint16_t len = static_cast<uint16_t>(e.data.n);
        w.put('(');
        if (t == 0x0039 || t == 0xffa5) {
            w.put('(');
            w.hex16(t);
            w.put(')');
            quic_params(w, e.data);
        } else if (mercury_with_data(t)) {
            w.hex16(t);
            w.hex16(degrease(len));
            size_t keep = t == 10 ? 2 : t == 43 ? 1 : e.data.n;
            hex_degreased(w, e.data.p, e.data.n, keep);
        } else {
            w.hex16(degrease(t));
        }
        w.put(')');
    }
    w.put(')');
    return w.finish_string();
}

size_t tcp_syn_fingerprint(uint16_t window, const uint8_t* options, size_t len, char* out,
                           size_t cap) {
    Writer w(out, cap);
    w.put('(');
    w.hex16(window);
    w.put(')');
    size_t i = 0;
    while (options != nullptr && i < len) {
        uint8_t kind = options[i];
        if (kind == 0) {  // end of option list
            w.put("(00)");
            break;
        }
        if (kind == 1) {  // NOP: a single byte
            w.put("(01)");
            ++i;
            continue;
        }
        if (i + 1 >= len) {
            break;
        }
        uint8_t olen = options[i + 1];
        if (olen < 2 || olen > len - i) {
            break;
        }
        w.put('(');
        if (kind == 2 || kind == 3) {
            w.hex_bytes(options + i, olen);
        } else {
            w.hex8(kind);
        }
        w.put(')');
        i += olen;
    }
    return w.finish_string();
}

}  // namespace spate::proto
