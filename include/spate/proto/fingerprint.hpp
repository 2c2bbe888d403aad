#pragma once
/// TLS and TCP fingerprints: JA3, JA3S, JA4, the mercury/Joy normalized TLS
/// fingerprint string and a Joy/mercury style TCP SYN fingerprint.
///
/// Every function writes into a caller-provided buffer and does no heap
/// allocation of its own: MD5/SHA-256 use EVP_MD_fetch once per process and
/// one EVP_MD_CTX per thread, and the digests are fed in 256-byte chunks.
/// (Measured: OpenSSL 3.0's EVP_DigestInit_ex2 itself still mallocs/frees its
/// provider context once per digest, so ja3_hash costs one malloc and ja4
/// two; the string functions none.) Strings are NUL-terminated. Convention for the `size_t`
/// functions: the return value is the length written (without the NUL); 0
/// means "no fingerprint" (not applicable, or `cap` too small: the output is
/// never truncated, `out[0]` is set to NUL when cap > 0).
///
/// Lists beyond ClientHello::kMaxExtensions extensions are not seen by the
/// extension-based parts (extensions_truncated); such hellos do not occur in
/// real traffic.
#include <cstddef>
#include <cstdint>

#include "spate/proto/tls.hpp"

namespace spate::proto {

/// Lowercase hex of an MD5 digest (32) and a NUL.
inline constexpr size_t kJa3HashBuf = 33;
/// JA4 is always 36 characters ("t13d1516h2_8daaf6152771_e5627efa2ab1"),
/// plus the NUL.
inline constexpr size_t kJa4Len = 36;
inline constexpr size_t kJa4Buf = kJa4Len + 1;

/// The transport that carried a ClientHello; selects JA4's first character.
enum class TlsTransport : uint8_t { tcp, quic, dtls };

// ---------------------------------------------------------------- JA3 / JA3S
//
// JA3  = "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats"
// JA3S = "SSLVersion,Cipher,Extensions"
// Decimal values joined by '-'; GREASE (RFC 8701) removed from ciphers,
// extension types and curves, as tshark's tls.handshake.ja3_full does. The
// hash is the lowercase MD5 hex of that string. An SSLv2-format ClientHello
// has no JA3 (tshark prints none either): the functions return 0 / false.

/// The JA3 string of a ClientHello. 0 when SSLv2 or it does not fit in cap.
size_t ja3_string(const ClientHello& ch, char* out, size_t cap);
/// MD5 of the JA3 string, streamed (no size limit). False for SSLv2 hellos
/// or when MD5 is unavailable; out then holds "".
bool ja3_hash(const ClientHello& ch, char out[kJa3HashBuf]);

/// The JA3S string of a ServerHello. 0 when it does not fit in cap.
size_t ja3s_string(const ServerHello& sh, char* out, size_t cap);
bool ja3s_hash(const ServerHello& sh, char out[kJa3HashBuf]);

// ---------------------------------------------------------------------- JA4
//
// FoxIO JA4 (technical_details/JA4.md), e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1":
//  * 't' (TCP), 'q' (QUIC) or 'd' (DTLS);
//  * the version: the numerically highest non-GREASE supported_versions
//    value, else legacy_version; 0x0304 "13", 0x0303 "12", 0x0302 "11",
//    0x0301 "10", 0x0300 "s3", 0x0002/0x0200 "s2", 0xfeff "d1", 0xfefd "d2",
//    0xfefc "d3", anything else "00";
//  * 'd' when the SNI extension (0) is present (or ch.sni is set), else 'i';
//  * the count of non-GREASE cipher suites and of non-GREASE extension types
//    (SNI and ALPN included), two decimal digits each, capped at 99;
//  * the first and last character of the first ALPN value, "00" without
//    ALPN; when either is not ASCII alphanumeric, the first hex digit of the
//    value's first byte and the last hex digit of its last byte;
//  * '_' + the first 12 hex digits of SHA-256 over the sorted non-GREASE
//    cipher suites (4-digit lowercase hex, ','-joined);
//  * '_' + the first 12 hex digits of SHA-256 over the sorted non-GREASE
//    extension types without SNI (0x0000) and ALPN (0x0010), then, if there
//    are signature algorithms, '_' and those in wire order.
//  An empty list hashes to "000000000000". SSLv2 hellos have no cipher_suites
//  and no extensions: "ts2i000000_000000000000_000000000000".

/// Writes the 36-character JA4 into out (cap >= kJa4Buf). Returns kJa4Len,
/// or 0 when cap is too small or SHA-256 is unavailable.
size_t ja4(const ClientHello& ch, TlsTransport transport, char* out, size_t cap);

// ------------------------------------------------- mercury/Joy TLS fingerprint
//
// The normalized ClientHello string of cisco/joy and cisco/mercury, format
// version 0 (the "str_repr" key of Joy's/mercury's fingerprint_db.json):
//
//   "(" legacy_version ")" "(" cipher suites ")" "(" extension* ")"
//
// all in lowercase hex without separators, cipher suites in wire order with
// each GREASE value written as 0a0a. Each extension, in wire order, is
//   * "(" type length data ")" for the types whose data identifies the
//     implementation: 1 max_fragment_length, 5 status_request, 7 client_authz,
//     8 server_authz, 9 cert_type, 10 supported_groups, 11 ec_point_formats,
//     13 signature_algorithms, 15 heartbeat, 16 ALPN, 17 status_request_v2,
//     24 token_binding, 27 compress_certificate, 28 record_size_limit,
//     43 supported_versions, 45 psk_key_exchange_modes, 50
//     signature_algorithms_cert, 21760 token_binding (draft); length is the
//     extension length (4 hex digits). In supported_groups the 2-byte list
//     length is kept and each GREASE group written as 0a0a; in
//     supported_versions the same after the 1-byte list length;
//   * for quic_transport_parameters (57, 0xffa5):
//     "((" type ")(" "(" id ")"* "))", each parameter id as its raw varint
//     bytes in hex, in wire order;
//   * otherwise "(" type ")", a GREASE type written as 0a0a.
// E.g.
// "(0303)(0a0a1301c02b)((0a0a)(0000)(000a000800060a0a001d0017)(0010000e000c02683208687474702f312e31))".
// SSLv2-format hellos have no such fingerprint (returns 0).
size_t tls_fingerprint(const ClientHello& ch, char* out, size_t cap);

// ------------------------------------------------------ TCP SYN fingerprint
//
// Joy/mercury style: "(" window ")" then one group per TCP option, in order:
//   * MSS (2) and window scale (3): "(" kind length data ")", i.e. the whole
//     option in hex, e.g. (020405b4) and (030308);
//   * any other option: "(" kind ")", e.g. (01) NOP, (04) SACK permitted,
//     (08) timestamps;
//   * EOL (0) is written as (00) and ends the list.
// Window is 4 hex digits. Example: "(fc00)(020405b4)(04)(08)(01)(030308)".
// A malformed list (a length byte missing, < 2, or running past `len`) stops
// cleanly: the options before it are kept. Returns the length written, 0
// if cap is too small.
size_t tcp_syn_fingerprint(uint16_t window, const uint8_t* options, size_t len, char* out,
                           size_t cap);

}  // namespace spate::proto
