#pragma once
/// X.509 certificates: a bounded, allocation-free DER reader and a view of
/// the fields a flow probe reports (names, serial, validity, key, SAN).
///
/// Every field is a Span into the caller's bytes, so a view is valid only
/// while they are. Nothing recurses: the certificate is walked along its
/// fixed structure, and the iterators below go through one level each, so
/// hostile nesting costs nothing. Text helpers write into caller buffers,
/// never past `cap`, and NUL-terminate when they succeed.
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "spate/proto/span.hpp"

namespace spate::proto {

// ---------------------------------------------------------------------------
// DER reader
// ---------------------------------------------------------------------------
namespace der {

/// Identifier octets of the universal types used here (class universal,
/// primitive unless noted).
inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kBitString = 0x03;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kNull = 0x05;
inline constexpr uint8_t kOid = 0x06;
inline constexpr uint8_t kUtf8String = 0x0c;
inline constexpr uint8_t kPrintableString = 0x13;
inline constexpr uint8_t kT61String = 0x14;
inline constexpr uint8_t kIa5String = 0x16;
inline constexpr uint8_t kUtcTime = 0x17;
inline constexpr uint8_t kGeneralizedTime = 0x18;
inline constexpr uint8_t kUniversalString = 0x1c;
inline constexpr uint8_t kBmpString = 0x1e;
inline constexpr uint8_t kSequence = 0x30;  ///< constructed
inline constexpr uint8_t kSet = 0x31;       ///< constructed

/// Tag numbers above this are rejected (4 base-128 octets).
inline constexpr uint32_t kMaxTagNumber = (1u << 28) - 1;

enum class Status : uint8_t {
    ok,         ///< a whole TLV was read
    end,        ///< no bytes left
    truncated,  ///< the header or the content runs past the bytes given
    malformed,  ///< indefinite length, a length over 4 octets, a bad tag
};

/// One element. For tag numbers under 31, `id` alone identifies it (e.g.
/// 0x30 SEQUENCE, 0xa3 [3] constructed); for higher ones the low five bits
/// of `id` are 0x1f and `number` holds the tag number, so comparing `id`
/// against a one-octet tag never matches them by accident.
struct Tlv {
    uint8_t id = 0;       ///< first identifier octet: class (2 bits), constructed, number
    uint32_t number = 0;  ///< tag number
    uint32_t header = 0;  ///< identifier + length octets
    uint32_t length = 0;  ///< declared content length
    Span value;           ///< content; when truncated, the part that is there
    bool header_complete = false;

    constexpr bool constructed() const { return (id & 0x20) != 0; }
    constexpr uint8_t tag_class() const { return id >> 6; }  ///< 0 universal, 2 context
};

/// Reads the TLV at the start of [p, p + n). Accepts short and long form
/// lengths of 1 to 4 octets and multi-octet tag numbers; rejects the
/// indefinite form (0x80), longer length fields and tag numbers over
/// kMaxTagNumber. On `truncated`, `header_complete` says whether the
/// identifier and length were read, and `value` holds what content there is.
Status read_tlv(const uint8_t* p, size_t n, Tlv& out);

/// Reads the elements of one constructed value (or of any byte range)
/// one after the other. Failure is sticky: after anything but `ok`, next()
/// returns the same status again.
class Reader {
public:
    constexpr Reader() = default;
    constexpr explicit Reader(Span s) : p_(s.p), n_(s.n) {}

    Status next(Tlv& t);
    constexpr bool at_end() const { return n_ == 0; }
    constexpr Span rest() const { return {p_, static_cast<uint32_t>(n_)}; }

private:
    const uint8_t* p_ = nullptr;
    size_t n_ = 0;
    Status failed_ = Status::ok;
};

}  // namespace der

// ---------------------------------------------------------------------------
// Certificate view
// ---------------------------------------------------------------------------

struct CertView {
    uint32_t length = 0;  ///< whole DER certificate (header included), as declared
    uint8_t version = 0;  ///< 1..3 (1 when the [0] version is absent)
    Span tbs;             ///< the whole TBSCertificate TLV (header included), for hashing
    Span serial;          ///< INTEGER content, as encoded (leading 00 kept)
    /// signatureAlgorithm OID content: the outer one, or the TBSCertificate's
    /// copy when the input ends before the outer one.
    Span signature_alg;
    Span issuer, subject;  ///< content of the Name (the SEQUENCE OF RDN)
    Span not_before, not_after;
    uint8_t not_before_tag = 0, not_after_tag = 0;  ///< der::kUtcTime or der::kGeneralizedTime
    Span spki;                                      ///< whole SubjectPublicKeyInfo TLV
    Span pk_alg;                                    ///< subjectPublicKeyInfo algorithm OID content
    /// Algorithm parameters' content: the named curve OID for EC keys, the
    /// Dss-Parms SEQUENCE content for DSA, ...; empty when absent or NULL.
    Span pk_param;
    uint8_t pk_param_tag = 0;  ///< identifier octet of pk_param (0 when empty)
    Span pk;                   ///< subjectPublicKey BIT STRING, without the unused-bits octet
    /// Key size: RSA modulus bits; EC from the curve (256, 384, 521, ...) or
    /// the point size; Ed25519 256, Ed448 456, X25519 253, X448 448; DSA the
    /// bits of p; otherwise the bits of the BIT STRING.
    uint32_t pk_bits = 0;
    Span extensions;         ///< content of the SEQUENCE OF Extension (empty if absent)
    Span san;                ///< content of subjectAltName's GeneralNames (empty if absent)
    Span signature;          ///< signatureValue BIT STRING content (unused-bits octet included)
    bool truncated = false;  ///< input ended before the certificate did
};

/// Parses one DER certificate at the start of [der, der + len); bytes after
/// it are ignored. Returns false when the input is empty or malformed (a bad
/// TLV, a missing or mistyped field, an element longer than its container).
/// When the input ends before the certificate does, returns true with
/// `truncated` set and keeps every field that was read whole (a field cut
/// in the middle stays empty). Fields read before a malformation are kept
/// too. Never reads outside [der, der + len).
bool parse_certificate(const uint8_t* der, size_t len, CertView& out);

namespace detail {
template <class F, class... A>
constexpr bool call_continue(F& f, A&&... a) {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, A...>, bool>) {
        return f(static_cast<A&&>(a)...);
    } else {
        f(static_cast<A&&>(a)...);
        return true;
    }
}
}  // namespace detail

/// Calls f(Span oid, Span value, uint8_t value_tag) for each
/// AttributeTypeAndValue of a Name (CertView::issuer / subject) in DER
/// order. `value` is the content of the attribute value, `value_tag` its
/// identifier octet (0x0c UTF8String, 0x13 PrintableString, 0x1e BMPString,
/// ...; see name_value_to_utf8). f may return bool; false stops the walk
/// (which then returns true). Returns false, stopping, on malformed input.
template <class F>
bool for_each_name_attr(Span name, F&& f) {
    der::Reader rdns(name);
    der::Tlv rdn;
    der::Status st;
    while ((st = rdns.next(rdn)) == der::Status::ok) {
        if (rdn.id != der::kSet) {
            return false;
        }
        der::Reader atvs(rdn.value);
        der::Tlv atv;
        while ((st = atvs.next(atv)) == der::Status::ok) {
            if (atv.id != der::kSequence) {
                return false;
            }
            der::Reader parts(atv.value);
            der::Tlv oid, value, extra;
            if (parts.next(oid) != der::Status::ok || oid.id != der::kOid || oid.value.empty() ||
                parts.next(value) != der::Status::ok || parts.next(extra) != der::Status::end) {
                return false;
            }
            if (!detail::call_continue(f, oid.value, value.value, value.id)) {
                return true;
            }
        }
        if (st != der::Status::end) {
            return false;
        }
    }
    return st == der::Status::end;
}

/// GeneralName tags within subjectAltName (context-specific, as identifier octets).
inline constexpr uint8_t kSanOtherName = 0xa0;
inline constexpr uint8_t kSanEmail = 0x81;
inline constexpr uint8_t kSanDns = 0x82;
inline constexpr uint8_t kSanDirectoryName = 0xa4;
inline constexpr uint8_t kSanUri = 0x86;
inline constexpr uint8_t kSanIp = 0x87;
inline constexpr uint8_t kSanRegisteredId = 0x88;

/// Calls f(uint8_t tag, Span value) for every GeneralName in a
/// subjectAltName (CertView::san), tag being its identifier octet (see
/// kSan*). f may return bool; false stops. Returns false on malformed input.
template <class F>
bool for_each_san(Span san, F&& f) {
    der::Reader r(san);
    der::Tlv t;
    der::Status st;
    while ((st = r.next(t)) == der::Status::ok) {
        if (t.tag_class() != 2) {
            return false;
        }
        if (!detail::call_continue(f, t.id, t.value)) {
            return true;
        }
    }
    return st == der::Status::end;
}

/// Calls f(Span dns_name) for every dNSName ([2]) of a subjectAltName.
template <class F>
bool for_each_san_dns(Span san, F&& f) {
    return for_each_san(san, [&f](uint8_t tag, Span v) {
        return tag == kSanDns ? detail::call_continue(f, v) : true;
    });
}

/// Calls f(Span oid, bool critical, Span value) for every Extension in
/// CertView::extensions, `value` being the content of extnValue's OCTET
/// STRING. f may return bool; false stops. Returns false on malformed input.
template <class F>
bool for_each_extension(Span extensions, F&& f) {
    der::Reader r(extensions);
    der::Tlv ext;
    der::Status st;
    while ((st = r.next(ext)) == der::Status::ok) {
        if (ext.id != der::kSequence) {
            return false;
        }
        der::Reader parts(ext.value);
        der::Tlv oid, t, extra;
        if (parts.next(oid) != der::Status::ok || oid.id != der::kOid ||
            parts.next(t) != der::Status::ok) {
            return false;
        }
        bool critical = false;
        if (t.id == der::kBoolean) {
            if (t.value.n != 1) {
                return false;
            }
            critical = t.value.p[0] != 0;
            if (parts.next(t) != der::Status::ok) {
                return false;
            }
        }
        if (t.id != der::kOctetString || parts.next(extra) != der::Status::end) {
            return false;
        }
        if (!detail::call_continue(f, oid.value, critical, t.value)) {
            return true;
        }
    }
    return st == der::Status::end;
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------
// Each writes at most `cap` bytes including a terminating NUL and returns the
// length without the NUL; 0 when the input is malformed or does not fit.

/// Dotted decimal ("2.5.4.3") of OID content octets. Arcs of any size up to
/// 140 bits (20 octets: 2.25 UUID arcs fit) are printed exactly; a longer
/// arc, a non-minimal arc (leading 0x80) or a cut-off arc gives 0.
size_t oid_to_text(Span oid, char* out, size_t cap);

/// OpenSSL-style short name of a Name attribute type ("CN", "C", "O", "OU",
/// "L", "ST", "emailAddress", "serialNumber", "DC", ...); nullptr otherwise.
const char* oid_short_name(Span oid);

/// Name of a well-known OID: signature and key algorithms
/// ("sha256WithRSAEncryption", "rsaEncryption", "id-ecPublicKey",
/// "ecdsa-with-SHA256", "Ed25519", ...), curves ("prime256v1",
/// "secp384r1", ...), extensions ("subjectAltName", ...) and attribute
/// types ("commonName", ...); nullptr when unknown.
const char* oid_name(Span oid);

/// Validity time as tshark shows it. UTCTime (der::kUtcTime):
/// "2017-08-07 15:04:17 (UTC)", years under 50 being 20xx (seconds are
/// omitted when the encoding omits them, an offset shows as "(UTC+0100)").
/// GeneralizedTime (der::kGeneralizedTime): "Apr 15, 2024 23:59:59.000000000 UTC"
/// (tshark's absolute time, day padded with a space, fraction to 9 digits,
/// an offset folded into UTC). 0 for another tag or a malformed time.
size_t time_to_text(Span t, uint8_t tag, char* out, size_t cap);

/// Lowercase hex octets joined by ':' ("00:c0:62:cf"), as encoded. 0 when empty.
size_t serial_to_text(Span serial, char* out, size_t cap);

/// A Name attribute value as UTF-8: BMPString (UTF-16BE, surrogate pairs
/// joined) and UniversalString (UCS-4BE) are converted, any other type is
/// copied as is. 0 for an odd-sized BMPString, a bad code point, or when it
/// does not fit (3 * value.n + 1 always does). Note an empty value is 0 too.
size_t name_value_to_utf8(Span value, uint8_t tag, char* out, size_t cap);

/// True when `oid` holds exactly the content octets enc[0, n); for
/// comparing against constants like kOidCommonName.
constexpr bool oid_equals(Span oid, const uint8_t* enc, size_t n) {
    if (oid.n != n) {
        return false;
    }
    for (size_t i = 0; i < n; ++i) {
        if (oid.p[i] != enc[i]) {
            return false;
        }
    }
    return true;
}

inline constexpr uint8_t kOidCommonName[] = {0x55, 0x04, 0x03};      ///< 2.5.4.3
inline constexpr uint8_t kOidSubjectAltName[] = {0x55, 0x1d, 0x11};  ///< 2.5.29.17

}  // namespace spate::proto
