// TLS ClientHello / ServerHello parsers (RFC 8446 4.1.2-4.1.3, RFC 5246
// 7.4.1, RFC 6101 E.2 for the SSLv2-format hello). Every read goes through
// a bounds-checked Cursor; nothing is allocated; the views point into the
// message bytes.
#include "spate/proto/tls.hpp"

#include <cstring>

#include "spate/parse/cursor.hpp"

namespace spate::proto {

namespace {

using parse::Cursor;

Span span_of(const Cursor& c) {
    return Span{c.data(), static_cast<uint32_t>(c.remaining())};
}

/// Reads a vector with a 1- or 2-byte length prefix as a Span; failure
/// (sticky on `c`) when it runs past the end.
Span read_vec(Cursor& c, int len_bytes) {
    size_t n = len_bytes == 1 ? c.read_u8() : c.read_u16();
    Cursor v = c.sub(n);
    return c.ok() ? span_of(v) : Span{};
}

/// The extensions block: fills the list and calls `known` for each.
template <size_t N, class F>
bool read_extensions(Cursor& c, TlsExtension (&list)[N], uint16_t& count, bool& truncated,
                     F&& known) {
    if (c.remaining() == 0) {
        return true;  // no extensions block at all (allowed before TLS 1.2)
    }
    Cursor exts = c.sub(c.read_u16());
    if (!c.ok()) {
        return false;
    }
    while (exts.remaining() > 0) {
        uint16_t type = exts.read_u16();
        Cursor data = exts.sub(exts.read_u16());
        if (!exts.ok()) {
            return false;
        }
        if (count < N) {
            list[count++] = TlsExtension{type, span_of(data)};
        } else {
            truncated = true;
        }
        known(type, data);
    }
    return true;
}

}  // namespace

bool parse_client_hello(const uint8_t* body, size_t len, ClientHello& out) {
    out = ClientHello{};
    Cursor c(body, len);
    out.legacy_version = c.read_u16();
    Cursor random = c.sub(32);
    if (!c.ok()) {
        return false;
    }
    out.random = span_of(random);
    out.session_id = read_vec(c, 1);
    out.cipher_suites = read_vec(c, 2);
    if (out.cipher_suites.n % 2 != 0) {
        out.cipher_suites.n -= 1;
        return false;
    }
    out.compression_methods = read_vec(c, 1);
    if (!c.ok()) {
        return false;
    }
    return read_extensions(c, out.extensions, out.extension_count, out.extensions_truncated,
                           [&](uint16_t type, Cursor d) {
                               switch (type) {
                                   case 0: {  // server_name: list of (type, name)
                                       Cursor list = d.sub(d.read_u16());
                                       while (list.ok() && list.remaining() > 0) {
                                           uint8_t kind = list.read_u8();
                                           Cursor name = list.sub(list.read_u16());
                                           if (list.ok() && kind == 0 && out.sni.empty()) {
                                               out.sni = span_of(name);
                                           }
                                       }
                                       break;
                                   }
                                   case 10:
                                       out.supported_groups = read_vec(d, 2);
                                       break;
                                   case 11:
                                       out.ec_point_formats = read_vec(d, 1);
                                       break;
                                   case 13:
                                       out.signature_algorithms = read_vec(d, 2);
                                       break;
                                   case 16:
                                       out.alpn = read_vec(d, 2);
                                       break;
                                   case 43:
                                       out.supported_versions = read_vec(d, 1);
                                       break;
                                   case 51:
                                       out.key_share = read_vec(d, 2);
                                       break;
                                   default:
                                       break;
                               }
                           });
}

bool parse_sslv2_client_hello(const uint8_t* rec, size_t len, ClientHello& out) {
    out = ClientHello{};
    out.sslv2 = true;
    Cursor c(rec, len);
    uint16_t rec_len = c.read_u16();
    if ((rec_len & 0x8000) == 0) {
        return false;  // 3-byte headers (with padding) are never used by a ClientHello
    }
    Cursor m = c.sub_at_most(rec_len & 0x7fff);
    if (m.read_u8() != 1) {
        return false;
    }
    out.legacy_version = m.read_u16();
    uint16_t specs = m.read_u16();
    uint16_t sid = m.read_u16();
    uint16_t challenge = m.read_u16();
    if (!m.ok() || specs % 3 != 0) {
        return false;
    }
    Cursor s = m.sub(specs);
    Cursor i = m.sub(sid);
    Cursor ch = m.sub(challenge);
    if (!m.ok()) {
        return false;
    }
    out.cipher_specs = span_of(s);
    out.session_id = span_of(i);
    out.random = span_of(ch);
    return true;
}

bool parse_server_hello(const uint8_t* body, size_t len, ServerHello& out) {
    // SHA-256("HelloRetryRequest"), RFC 8446 4.1.3.
    static constexpr uint8_t kHrr[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
                                         0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                                         0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
                                         0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    out = ServerHello{};
    Cursor c(body, len);
    out.legacy_version = c.read_u16();
    Cursor random = c.sub(32);
    if (!c.ok()) {
        return false;
    }
    out.random = span_of(random);
    out.hello_retry_request = std::memcmp(random.data(), kHrr, 32) == 0;
    out.session_id = read_vec(c, 1);
    out.cipher_suite = c.read_u16();
    out.compression_method = c.read_u8();
    if (!c.ok()) {
        return false;
    }
    return read_extensions(c, out.extensions, out.extension_count, out.extensions_truncated,
                           [&](uint16_t type, Cursor d) {
                               switch (type) {
                                   case 16:
                                       out.alpn = read_vec(d, 2);
                                       break;
                                   case 43:
                                       out.selected_version = d.read_u16();
                                       break;
                                   case 51:
                                       out.key_share_group = d.read_u16();
                                       break;
                                   default:
                                       break;
                               }
                           });
}

}  // namespace spate::proto
