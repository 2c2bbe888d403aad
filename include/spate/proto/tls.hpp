#pragma once
/// TLS handshake messages: bounded, allocation-free views of a ClientHello
/// and a ServerHello parsed from a handshake message body (the bytes after
/// the 4-byte handshake header). Every list is a Span into those bytes, so a
/// view is valid only while they are.
#include <cstddef>
#include <cstdint>

#include "spate/proto/span.hpp"

namespace spate::proto {

/// True for the 16 reserved GREASE values 0x0a0a, 0x1a1a, ... 0xfafa (RFC 8701).
constexpr bool is_grease(uint16_t v) {
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/// One extension: its type and its data (without the 4-byte type/length).
struct TlsExtension {
    uint16_t type = 0;
    Span data;
};

struct ClientHello {
    static constexpr size_t kMaxExtensions = 64;

    uint16_t legacy_version = 0;  ///< e.g. 0x0303; for SSLv2-format hellos, the version field
    bool sslv2 = false;           ///< an SSLv2-format ClientHello (cipher_specs holds 3-byte specs)
    Span random;                  ///< 32 bytes (SSLv2: the challenge)
    Span session_id;
    Span cipher_suites;  ///< 2 bytes each, wire order, GREASE kept (SSLv2: empty)
    Span cipher_specs;   ///< SSLv2 only: 3 bytes each
    Span compression_methods;
    TlsExtension extensions[kMaxExtensions];
    uint16_t extension_count = 0;
    bool extensions_truncated = false;  ///< more than kMaxExtensions

    // Contents of well-known extensions (empty when absent), inner lists only:
    Span sni;                   ///< host_name of server_name (0), the first name
    Span alpn;                  ///< ALPN (16) protocol_name_list: 1-byte length + name, repeated
    Span supported_versions;    ///< (43) 2 bytes each
    Span supported_groups;      ///< (10) 2 bytes each
    Span signature_algorithms;  ///< (13) 2 bytes each
    Span ec_point_formats;      ///< (11) 1 byte each
    Span key_share;             ///< (51) client_shares: group(2) len(2) key..., repeated

    size_t cipher_suite_count() const { return cipher_suites.n / 2; }
    uint16_t cipher_suite(size_t i) const {
        return static_cast<uint16_t>(cipher_suites.p[2 * i] << 8 | cipher_suites.p[2 * i + 1]);
    }
};

struct ServerHello {
    static constexpr size_t kMaxExtensions = 64;

    uint16_t legacy_version = 0;
    Span random;
    Span session_id;
    uint16_t cipher_suite = 0;
    uint8_t compression_method = 0;
    bool hello_retry_request = false;  ///< random equals the HRR magic (RFC 8446 4.1.3)
    TlsExtension extensions[kMaxExtensions];
    uint16_t extension_count = 0;
    bool extensions_truncated = false;

    uint16_t selected_version =
        0;      ///< supported_versions (43) in a ServerHello: one value; 0 absent
    Span alpn;  ///< ALPN (16): protocol_name_list with one name
    uint16_t key_share_group = 0;  ///< key_share (51): the selected group; 0 absent
};

/// Parses a ClientHello body (TLS handshake type 1). False when malformed;
/// fields read before the fault are kept. Extensions after the 64th are
/// skipped (extensions_truncated) but the well-known ones are still read.
bool parse_client_hello(const uint8_t* body, size_t len, ClientHello& out);

/// Parses an SSLv2-format ClientHello record (RFC 6101 appendix E.2): `rec`
/// starts at the 2-byte record header (high bit set).
bool parse_sslv2_client_hello(const uint8_t* rec, size_t len, ClientHello& out);

/// Parses a ServerHello body (TLS handshake type 2).
bool parse_server_hello(const uint8_t* body, size_t len, ServerHello& out);

}  // namespace spate::proto
