// X.509 certificate fields from DER, without allocation or recursion.
#include "spate/proto/x509.hpp"

#include <cstdint>
#include <cstring>

namespace spate::proto {

// ---------------------------------------------------------------------------
// DER reader
// ---------------------------------------------------------------------------
namespace der {

Status read_tlv(const uint8_t* p, size_t n, Tlv& out) {
    out = Tlv{};
    if (n == 0 || p == nullptr) {
        return Status::end;
    }
    size_t i = 0;
    const uint8_t id = p[i++];
    out.id = id;
    uint32_t number = id & 0x1f;
    if (number == 0x1f) {
        // High tag number form: base 128, most significant group first.
        number = 0;
        for (int k = 0;; ++k) {
            if (k == 4) {
                return Status::malformed;  // over 28 bits
            }
            if (i >= n) {
                return Status::truncated;
            }
            const uint8_t b = p[i++];
            if (k == 0 && b == 0x80) {
                return Status::malformed;  // leading zero group
            }
            number = number << 7 | (b & 0x7f);
            if ((b & 0x80) == 0) {
                break;
            }
        }
    }
    out.number = number;
    if (i >= n) {
        return Status::truncated;
    }
    const uint8_t l = p[i++];
    uint32_t len = 0;
    if (l < 0x80) {
        len = l;
    } else if (l == 0x80) {
        return Status::malformed;  // indefinite length (BER only)
    } else {
        const size_t k = l & 0x7f;
        if (k > 4) {
            return Status::malformed;
        }
        if (k > n - i) {
            return Status::truncated;
        }
        for (size_t j = 0; j < k; ++j) {
            len = len << 8 | p[i++];
        }
    }
    out.header = static_cast<uint32_t>(i);
    out.length = len;
    out.header_complete = true;
    out.value.p = p + i;
    const size_t avail = n - i;
    if (len > avail) {
        out.value.n = static_cast<uint32_t>(avail);
        return Status::truncated;
    }
    out.value.n = len;
    return Status::ok;
}

Status Reader::next(Tlv& t) {
    if (failed_ != Status::ok) {
        t = Tlv{};
        return failed_;
    }
    const Status s = read_tlv(p_, n_, t);
    if (s == Status::ok) {
        const size_t adv = size_t{t.header} + t.length;
        p_ += adv;
        n_ -= adv;
    } else {
        failed_ = s;
    }
    return s;
}

}  // namespace der

namespace {

using der::Status;
using der::Tlv;

// ---------------------------------------------------------------------------
// Well-known OIDs, encoded at compile time from their dotted form.
// ---------------------------------------------------------------------------

struct OidDef {
    uint8_t enc[24] = {};
    uint8_t n = 0;
    const char* short_name = nullptr;  ///< attribute types only
    const char* name = nullptr;
    uint16_t bits = 0;  ///< curves: key size
};

consteval OidDef def(const char* dotted, const char* short_name, const char* name,
                     uint16_t bits = 0) {
    OidDef d;
    d.short_name = short_name;
    d.name = name;
    d.bits = bits;
    uint64_t arcs[16] = {};
    size_t k = 0;
    uint64_t v = 0;
    for (const char* c = dotted;; ++c) {
        if (*c == '.' || *c == '\0') {
            arcs[k++] = v;
            v = 0;
            if (*c == '\0') {
                break;
            }
        } else {
            v = v * 10 + static_cast<uint64_t>(*c - '0');
        }
    }
    auto put = [&d](uint64_t x) {
        uint8_t tmp[10] = {};
        size_t m = 0;
        do {
            tmp[m++] = static_cast<uint8_t>(x & 0x7f);
            x >>= 7;
        } while (x != 0);
        while (m > 0) {
            --m;
            d.enc[d.n++] = static_cast<uint8_t>(tmp[m] | (m > 0 ? 0x80 : 0));
        }
    };
    put(arcs[0] * 40 + arcs[1]);
    for (size_t i = 2; i < k; ++i) {
        put(arcs[i]);
    }
    return d;
}

constexpr OidDef kOids[] = {
    // Name attribute types (OpenSSL short names, X.520 / PKCS #9 long names).
    def("2.5.4.3", "CN", "commonName"),
    def("2.5.4.4", "SN", "surname"),
    def("2.5.4.5", "serialNumber", "serialNumber"),
    def("2.5.4.6", "C", "countryName"),
    def("2.5.4.7", "L", "localityName"),
    def("2.5.4.8", "ST", "stateOrProvinceName"),
    def("2.5.4.9", "street", "streetAddress"),
    def("2.5.4.10", "O", "organizationName"),
    def("2.5.4.11", "OU", "organizationalUnitName"),
    def("2.5.4.12", "title", "title"),
    def("2.5.4.13", "description", "description"),
    def("2.5.4.15", "businessCategory", "businessCategory"),
    def("2.5.4.17", "postalCode", "postalCode"),
    def("2.5.4.41", "name", "name"),
    def("2.5.4.42", "GN", "givenName"),
    def("2.5.4.43", "initials", "initials"),
    def("2.5.4.44", "generationQualifier", "generationQualifier"),
    def("2.5.4.46", "dnQualifier", "dnQualifier"),
    def("2.5.4.65", "pseudonym", "pseudonym"),
    def("2.5.4.97", "organizationIdentifier", "organizationIdentifier"),
    def("1.2.840.113549.1.9.1", "emailAddress", "emailAddress"),
    def("1.2.840.113549.1.9.2", "unstructuredName", "unstructuredName"),
    def("0.9.2342.19200300.100.1.1", "UID", "userId"),
    def("0.9.2342.19200300.100.1.25", "DC", "domainComponent"),
    def("1.3.6.1.4.1.311.60.2.1.1", "jurisdictionL", "jurisdictionLocalityName"),
    def("1.3.6.1.4.1.311.60.2.1.2", "jurisdictionST", "jurisdictionStateOrProvinceName"),
    def("1.3.6.1.4.1.311.60.2.1.3", "jurisdictionC", "jurisdictionCountryName"),
    // Public key algorithms.
    def("1.2.840.113549.1.1.1", nullptr, "rsaEncryption"),
    def("1.2.840.113549.1.1.10", nullptr, "RSASSA-PSS"),
    def("1.2.840.10045.2.1", nullptr, "id-ecPublicKey"),
    def("1.2.840.10040.4.1", nullptr, "dsaEncryption"),
    def("1.2.840.10046.2.1", nullptr, "dhpublicnumber"),
    def("1.3.101.110", nullptr, "X25519"),
    def("1.3.101.111", nullptr, "X448"),
    def("1.3.101.112", nullptr, "Ed25519"),
    def("1.3.101.113", nullptr, "Ed448"),
    // Signature algorithms.
    def("1.2.840.113549.1.1.2", nullptr, "md2WithRSAEncryption"),
    def("1.2.840.113549.1.1.4", nullptr, "md5WithRSAEncryption"),
    def("1.2.840.113549.1.1.5", nullptr, "sha1WithRSAEncryption"),
    def("1.2.840.113549.1.1.11", nullptr, "sha256WithRSAEncryption"),
    def("1.2.840.113549.1.1.12", nullptr, "sha384WithRSAEncryption"),
    def("1.2.840.113549.1.1.13", nullptr, "sha512WithRSAEncryption"),
    def("1.2.840.113549.1.1.14", nullptr, "sha224WithRSAEncryption"),
    def("1.2.840.10045.4.1", nullptr, "ecdsa-with-SHA1"),
    def("1.2.840.10045.4.3.1", nullptr, "ecdsa-with-SHA224"),
    def("1.2.840.10045.4.3.2", nullptr, "ecdsa-with-SHA256"),
    def("1.2.840.10045.4.3.3", nullptr, "ecdsa-with-SHA384"),
    def("1.2.840.10045.4.3.4", nullptr, "ecdsa-with-SHA512"),
    def("1.2.840.10040.4.3", nullptr, "dsaWithSHA1"),
    def("2.16.840.1.101.3.4.3.1", nullptr, "dsa_with_SHA224"),
    def("2.16.840.1.101.3.4.3.2", nullptr, "dsa_with_SHA256"),
    def("1.2.643.2.2.3", nullptr, "GOST R 34.11-94 with GOST R 34.10-2001"),
    def("1.2.156.10197.1.501", nullptr, "SM2-with-SM3"),
    // Named curves.
    def("1.2.840.10045.3.1.1", nullptr, "prime192v1", 192),
    def("1.2.840.10045.3.1.7", nullptr, "prime256v1", 256),
    def("1.3.132.0.10", nullptr, "secp256k1", 256),
    def("1.3.132.0.33", nullptr, "secp224r1", 224),
    def("1.3.132.0.34", nullptr, "secp384r1", 384),
    def("1.3.132.0.35", nullptr, "secp521r1", 521),
    def("1.3.36.3.3.2.8.1.1.7", nullptr, "brainpoolP256r1", 256),
    def("1.3.36.3.3.2.8.1.1.11", nullptr, "brainpoolP384r1", 384),
    def("1.3.36.3.3.2.8.1.1.13", nullptr, "brainpoolP512r1", 512),
    def("1.2.156.10197.1.301", nullptr, "SM2", 256),
    // Extensions.
    def("2.5.29.14", nullptr, "subjectKeyIdentifier"),
    def("2.5.29.15", nullptr, "keyUsage"),
    def("2.5.29.17", nullptr, "subjectAltName"),
    def("2.5.29.18", nullptr, "issuerAltName"),
    def("2.5.29.19", nullptr, "basicConstraints"),
    def("2.5.29.30", nullptr, "nameConstraints"),
    def("2.5.29.31", nullptr, "cRLDistributionPoints"),
    def("2.5.29.32", nullptr, "certificatePolicies"),
    def("2.5.29.35", nullptr, "authorityKeyIdentifier"),
    def("2.5.29.37", nullptr, "extKeyUsage"),
    def("1.3.6.1.5.5.7.1.1", nullptr, "authorityInfoAccess"),
    def("1.3.6.1.4.1.11129.2.4.2", nullptr, "ct_precert_scts"),
};

const OidDef* find_oid(Span oid) {
    if (oid.n == 0 || oid.p == nullptr) {
        return nullptr;
    }
    for (const OidDef& d : kOids) {
        if (d.n == oid.n && std::memcmp(d.enc, oid.p, oid.n) == 0) {
            return &d;
        }
    }
    return nullptr;
}

constexpr OidDef kRsa = def("1.2.840.113549.1.1.1", nullptr, nullptr);
constexpr OidDef kRsaPss = def("1.2.840.113549.1.1.10", nullptr, nullptr);
constexpr OidDef kEc = def("1.2.840.10045.2.1", nullptr, nullptr);
constexpr OidDef kDsa = def("1.2.840.10040.4.1", nullptr, nullptr);
constexpr OidDef kX25519 = def("1.3.101.110", nullptr, nullptr);
constexpr OidDef kX448 = def("1.3.101.111", nullptr, nullptr);
constexpr OidDef kEd25519 = def("1.3.101.112", nullptr, nullptr);
constexpr OidDef kEd448 = def("1.3.101.113", nullptr, nullptr);

bool is(Span oid, const OidDef& d) {
    return oid_equals(oid, d.enc, d.n);
}

// ---------------------------------------------------------------------------
// Certificate walk
// ---------------------------------------------------------------------------

/// A window over the content of one element. `declared` is how long the
/// element says it is; `avail` how much of it the input holds (less when the
/// input ends inside it).
struct Win {
    const uint8_t* p = nullptr;
    size_t avail = 0;
    size_t declared = 0;
};

enum class Got : uint8_t {
    whole,    ///< a complete element
    partial,  ///< its header is there, its content runs past the input
    cut,      ///< the input ends before the element (or its header)
    end,      ///< the window is used up
    bad,      ///< malformed
};

Got take(Win& w, Tlv& t, Win* inner) {
    if (w.avail == 0) {
        t = Tlv{};
        return w.declared > 0 ? Got::cut : Got::end;
    }
    switch (der::read_tlv(w.p, w.avail, t)) {
        case Status::ok: {
            const size_t adv = size_t{t.header} + t.length;
            w.p += adv;
            w.avail -= adv;
            w.declared -= adv;
            if (inner != nullptr) {
                *inner = Win{t.value.p, t.length, t.length};
            }
            return Got::whole;
        }
        case Status::truncated:
            if (w.declared == w.avail) {
                return Got::bad;  // the element overruns its complete container
            }
            if (!t.header_complete) {
                return Got::cut;
            }
            if (size_t{t.header} + t.length > w.declared) {
                return Got::bad;  // longer than its container says it is
            }
            if (inner != nullptr) {
                *inner = Win{t.value.p, t.value.n, t.length};
            }
            w.p += w.avail;
            w.avail = 0;  // later takes report cut (declared stays > 0)
            return Got::partial;
        case Status::end:
        case Status::malformed:
            break;
    }
    return Got::bad;
}

enum class Res : uint8_t { ok, cut, bad };

/// Takes an element that must be there with identifier `id`. `container`
/// accepts a partial one (to read what there is of it).
Res expect(Win& w, uint8_t id, Tlv& t, Win* inner, bool container) {
    const Got g = take(w, t, inner);
    switch (g) {
        case Got::whole:
            return t.id == id ? Res::ok : Res::bad;
        case Got::partial:
            if (t.id != id) {
                return Res::bad;
            }
            return container ? Res::ok : Res::cut;
        case Got::cut:
            return Res::cut;
        case Got::end:
        case Got::bad:
            break;
    }
    return Res::bad;
}

Span whole_tlv(const Tlv& t) {
    return {t.value.p - t.header, t.header + t.length};
}

uint32_t clamp32(uint64_t v) {
    return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v);
}

/// Bits in a big-endian unsigned magnitude, leading zeros ignored.
uint32_t magnitude_bits(Span v) {
    uint32_t i = 0;
    while (i < v.n && v.p[i] == 0) {
        ++i;
    }
    if (i == v.n) {
        return 0;
    }
    uint64_t bits = uint64_t{v.n - i - 1} * 8;
    for (uint8_t b = v.p[i]; b != 0; b >>= 1) {
        ++bits;
    }
    return clamp32(bits);
}

/// Bits of the first INTEGER in a SEQUENCE (RSAPublicKey's modulus,
/// Dss-Parms' p); 0 when it is not that.
uint32_t first_integer_bits(Span seq_tlv) {
    Tlv seq, n;
    if (der::read_tlv(seq_tlv.p, seq_tlv.n, seq) != Status::ok || seq.id != der::kSequence) {
        return 0;
    }
    if (der::read_tlv(seq.value.p, seq.value.n, n) != Status::ok || n.id != der::kInteger) {
        return 0;
    }
    return magnitude_bits(n.value);
}

uint32_t key_bits(const CertView& c, uint8_t unused_bits) {
    const uint64_t all = uint64_t{c.pk.n} * 8;
    const uint32_t raw = all > unused_bits ? clamp32(all - unused_bits) : 0;
    if (is(c.pk_alg, kRsa) || is(c.pk_alg, kRsaPss)) {
        const uint32_t b = first_integer_bits(c.pk);
        return b != 0 ? b : raw;
    }
    if (is(c.pk_alg, kEc)) {
        if (c.pk_param_tag == der::kOid) {
            if (const OidDef* d = find_oid(c.pk_param); d != nullptr && d->bits != 0) {
                return d->bits;
            }
        }
        if (c.pk.n >= 3 && c.pk.p[0] == 0x04 && (c.pk.n - 1) % 2 == 0) {
            return clamp32(uint64_t{c.pk.n - 1} / 2 * 8);
        }
        if (c.pk.n >= 2 && (c.pk.p[0] == 0x02 || c.pk.p[0] == 0x03)) {
            return clamp32(uint64_t{c.pk.n - 1} * 8);
        }
        return raw;
    }
    if (is(c.pk_alg, kEd25519)) {
        return 256;
    }
    if (is(c.pk_alg, kEd448)) {
        return 456;
    }
    if (is(c.pk_alg, kX25519)) {
        return 253;
    }
    if (is(c.pk_alg, kX448)) {
        return 448;
    }
    if (is(c.pk_alg, kDsa) && c.pk_param_tag == der::kSequence) {
        // Dss-Parms ::= SEQUENCE { p, q, g }: pk_param is its content.
        Tlv p;
        if (der::read_tlv(c.pk_param.p, c.pk_param.n, p) == Status::ok && p.id == der::kInteger) {
            return magnitude_bits(p.value);
        }
    }
    return raw;
}

/// AlgorithmIdentifier: its OID into `oid`, its parameters (if any, not
/// NULL) into `param`.
Res algorithm(Win& w, Span& oid, Span* param, uint8_t* param_tag) {
    Tlv t;
    Win a;
    Res r = expect(w, der::kSequence, t, &a, true);
    if (r != Res::ok) {
        return r;
    }
    Tlv o;
    if ((r = expect(a, der::kOid, o, nullptr, false)) != Res::ok) {
        return r;
    }
    if (o.value.empty()) {
        return Res::bad;
    }
    Tlv p;
    const Got g = take(a, p, nullptr);
    if (g == Got::bad) {
        return Res::bad;
    }
    if (g == Got::cut || g == Got::partial) {
        return Res::cut;
    }
    // Only a whole AlgorithmIdentifier counts (so a truncated one stays empty).
    if (t.value.n != t.length) {
        return Res::cut;
    }
    oid = o.value;
    if (g == Got::whole && p.id != der::kNull && param != nullptr) {
        *param = p.value;
        *param_tag = p.id;
    }
    return Res::ok;
}

/// One Extension (whole): records subjectAltName.
Res extension(Win& list, CertView& out) {
    Tlv t;
    Win e;
    const Got g = take(list, t, &e);
    if (g == Got::cut || g == Got::partial) {
        return Res::cut;
    }
    if (g != Got::whole || t.id != der::kSequence) {
        return Res::bad;
    }
    Tlv oid, v;
    if (expect(e, der::kOid, oid, nullptr, false) != Res::ok || oid.value.empty() ||
        take(e, v, nullptr) != Got::whole) {
        return Res::bad;
    }
    if (v.id == der::kBoolean) {
        if (v.value.n != 1 || take(e, v, nullptr) != Got::whole) {
            return Res::bad;
        }
    }
    if (v.id != der::kOctetString || take(e, t, nullptr) != Got::end) {
        return Res::bad;
    }
    if (oid_equals(oid.value, kOidSubjectAltName, sizeof kOidSubjectAltName) &&
        out.san.p == nullptr) {
        Tlv names;
        if (der::read_tlv(v.value.p, v.value.n, names) != Status::ok ||
            names.id != der::kSequence || names.header + names.length != v.value.n) {
            return Res::bad;
        }
        out.san = names.value;
    }
    return Res::ok;
}

Res walk(const uint8_t* der, size_t len, CertView& out) {
    Win top{der, len, SIZE_MAX};  // running out of input here is truncation
    Tlv t;
    Win cert;
    Res r = expect(top, der::kSequence, t, &cert, true);
    if (r != Res::ok) {
        return r;
    }
    const uint64_t total = uint64_t{t.header} + t.length;
    out.length = total > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(total);

    // TBSCertificate
    Tlv tbs_tlv;
    Win tbs;
    if ((r = expect(cert, der::kSequence, tbs_tlv, &tbs, true)) != Res::ok) {
        return r;
    }
    if (tbs_tlv.value.n == tbs_tlv.length) {
        out.tbs = whole_tlv(tbs_tlv);
    }

    out.version = 1;
    if (tbs.avail > 0 && tbs.p[0] == 0xa0) {
        Win vw;
        if ((r = expect(tbs, 0xa0, t, &vw, true)) != Res::ok) {
            return r;
        }
        if ((r = expect(vw, der::kInteger, t, nullptr, false)) != Res::ok) {
            return r;
        }
        if (t.value.n != 1 || t.value.p[0] > 2) {
            return Res::bad;
        }
        const uint8_t v = t.value.p[0];
        const Got g = take(vw, t, nullptr);
        if (g != Got::end) {
            return g == Got::cut ? Res::cut : Res::bad;
        }
        out.version = static_cast<uint8_t>(v + 1);
    }

    if ((r = expect(tbs, der::kInteger, t, nullptr, false)) != Res::ok) {
        return r;
    }
    if (t.value.empty()) {
        return Res::bad;
    }
    out.serial = t.value;

    if ((r = algorithm(tbs, out.signature_alg, nullptr, nullptr)) != Res::ok) {
        return r;
    }

    if ((r = expect(tbs, der::kSequence, t, nullptr, false)) != Res::ok) {
        return r;
    }
    out.issuer = t.value;

    Win validity;
    if ((r = expect(tbs, der::kSequence, t, &validity, true)) != Res::ok) {
        return r;
    }
    for (int i = 0; i < 2; ++i) {
        const Got g = take(validity, t, nullptr);
        if (g == Got::cut || g == Got::partial) {
            return Res::cut;
        }
        if (g != Got::whole || (t.id != der::kUtcTime && t.id != der::kGeneralizedTime)) {
            return Res::bad;
        }
        (i == 0 ? out.not_before : out.not_after) = t.value;
        (i == 0 ? out.not_before_tag : out.not_after_tag) = t.id;
    }
    if (const Got g = take(validity, t, nullptr); g != Got::end) {
        return g == Got::cut ? Res::cut : Res::bad;
    }

    if ((r = expect(tbs, der::kSequence, t, nullptr, false)) != Res::ok) {
        return r;
    }
    out.subject = t.value;

    // SubjectPublicKeyInfo
    Tlv spki_tlv;
    Win spki;
    if ((r = expect(tbs, der::kSequence, spki_tlv, &spki, true)) != Res::ok) {
        return r;
    }
    Span pk_alg, pk_param;
    uint8_t pk_param_tag = 0;
    if ((r = algorithm(spki, pk_alg, &pk_param, &pk_param_tag)) != Res::ok) {
        return r;
    }
    out.pk_alg = pk_alg;
    out.pk_param = pk_param;
    out.pk_param_tag = pk_param.p != nullptr ? pk_param_tag : 0;
    if ((r = expect(spki, der::kBitString, t, nullptr, false)) != Res::ok) {
        return r;
    }
    if (t.value.empty() || t.value.p[0] > 7) {
        return Res::bad;
    }
    if (spki_tlv.value.n == spki_tlv.length) {
        out.spki = whole_tlv(spki_tlv);
    }
    out.pk = {t.value.p + 1, t.value.n - 1};
    out.pk_bits = key_bits(out, t.value.p[0]);
    if (const Got g = take(spki, t, nullptr); g != Got::end) {
        return g == Got::cut ? Res::cut : Res::bad;
    }

    // issuerUniqueID [1], subjectUniqueID [2], extensions [3]
    for (;;) {
        Win x;
        const Got g = take(tbs, t, &x);
        if (g == Got::end) {
            break;
        }
        if (g == Got::cut || g == Got::bad) {
            return g == Got::cut ? Res::cut : Res::bad;
        }
        if (t.id != 0xa3) {
            if (g == Got::partial) {
                return Res::cut;
            }
            continue;  // unique IDs and anything unknown
        }
        Tlv list_tlv;
        Win list;
        if ((r = expect(x, der::kSequence, list_tlv, &list, true)) != Res::ok) {
            return r;
        }
        if (list_tlv.value.n == list_tlv.length) {
            out.extensions = list_tlv.value;
        }
        for (;;) {
            if (list.avail == 0 && list.declared == 0) {
                break;
            }
            if ((r = extension(list, out)) != Res::ok) {
                return r;
            }
        }
        if (const Got e = take(x, t, nullptr); e != Got::end) {
            return e == Got::cut ? Res::cut : Res::bad;
        }
    }

    // signatureAlgorithm, signatureValue
    Span alg;
    if ((r = algorithm(cert, alg, nullptr, nullptr)) != Res::ok) {
        return r;
    }
    out.signature_alg = alg;
    if ((r = expect(cert, der::kBitString, t, nullptr, false)) != Res::ok) {
        return r;
    }
    if (t.value.empty()) {
        return Res::bad;
    }
    out.signature = t.value;
    if (const Got g = take(cert, t, nullptr); g != Got::end) {
        return g == Got::cut ? Res::cut : Res::bad;
    }
    return Res::ok;
}

// ---------------------------------------------------------------------------
// Text output
// ---------------------------------------------------------------------------

/// Bounded writer: keeps one byte for the NUL; remembers an overflow.
struct Out {
    char* p;
    size_t cap;
    size_t n = 0;
    bool over = false;

    void put(char c) {
        if (n + 1 >= cap) {
            over = true;
            return;
        }
        p[n++] = c;
    }
    void put(const char* s) {
        while (*s != '\0') {
            put(*s++);
        }
    }
    void dec(uint64_t v, int width = 0, char pad = '0') {
        char tmp[24];
        int k = 0;
        do {
            tmp[k++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v != 0);
        for (int i = k; i < width; ++i) {
            put(pad);
        }
        while (k > 0) {
            put(tmp[--k]);
        }
    }
    size_t finish() {
        if (p == nullptr || cap == 0) {
            return 0;
        }
        if (over) {
            p[0] = '\0';
            return 0;
        }
        p[n] = '\0';
        return n;
    }
};

/// An unsigned integer of up to 6 * 9 decimal digits, base 10^9 limbs.
struct Big {
    static constexpr uint32_t kBase = 1'000'000'000;
    uint32_t limb[6] = {};

    void mul_add(uint32_t m, uint32_t a) {
        uint64_t carry = a;
        for (uint32_t& l : limb) {
            const uint64_t v = uint64_t{l} * m + carry;
            l = static_cast<uint32_t>(v % kBase);
            carry = v / kBase;
        }
    }
    bool below(uint32_t v) const {
        for (size_t i = 1; i < 6; ++i) {
            if (limb[i] != 0) {
                return false;
            }
        }
        return limb[0] < v;
    }
    void sub(uint32_t v) {  // requires *this >= v
        if (limb[0] >= v) {
            limb[0] -= v;
            return;
        }
        limb[0] = limb[0] + kBase - v;
        for (size_t i = 1; i < 6; ++i) {
            if (limb[i] != 0) {
                --limb[i];
                return;
            }
            limb[i] = kBase - 1;
        }
    }
    void write(Out& o) const {
        int top = 5;
        while (top > 0 && limb[top] == 0) {
            --top;
        }
        o.dec(limb[top]);
        for (int i = top - 1; i >= 0; --i) {
            o.dec(limb[i], 9);
        }
    }
};

bool digits(const uint8_t* s, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

uint32_t num(const uint8_t* s, size_t n) {
    uint32_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v = v * 10 + static_cast<uint32_t>(s[i] - '0');
    }
    return v;
}

constexpr const char* kMonths[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date, and back
// (the well-known era-based civil calendar conversion).
int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) {
    y -= m <= 2 ? 1 : 0;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t& y, uint32_t& m, uint32_t& d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    d = static_cast<uint32_t>(doy - (153 * mp + 2) / 5 + 1);
    m = static_cast<uint32_t>(mp < 10 ? mp + 3 : mp - 9);
    y = yoe + era * 400 + (m <= 2 ? 1 : 0);
}

bool valid_date(uint32_t mo, uint32_t d, uint32_t h, uint32_t mi, uint32_t s) {
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

size_t utc_time(Span t, Out& o) {
    const uint8_t* s = t.p;
    const size_t n = t.n;
    // YYMMDDhhmm[ss](Z|+hhmm|-hhmm)
    if (n < 11 || !digits(s, 10)) {
        return 0;
    }
    size_t i = 10;
    bool has_sec = false;
    if (digits(s + i, 1)) {
        if (n < 13 || !digits(s + i + 1, 1)) {
            return 0;
        }
        has_sec = true;
        i += 2;
    }
    const uint32_t yy = num(s, 2), mo = num(s + 2, 2), d = num(s + 4, 2), h = num(s + 6, 2),
                   mi = num(s + 8, 2), sec = has_sec ? num(s + 10, 2) : 0;
    if (!valid_date(mo, d, h, mi, sec)) {
        return 0;
    }
    const uint8_t* zone = s + i;
    if (!(n == i + 1 && zone[0] == 'Z') &&
        !(n == i + 5 && (zone[0] == '+' || zone[0] == '-') && digits(zone + 1, 4))) {
        return 0;
    }
    o.dec(yy < 50 ? 2000 + yy : 1900 + yy);
    o.put('-');
    o.dec(mo, 2);
    o.put('-');
    o.dec(d, 2);
    o.put(' ');
    o.dec(h, 2);
    o.put(':');
    o.dec(mi, 2);
    if (has_sec) {
        o.put(':');
        o.dec(sec, 2);
    }
    o.put(" (UTC");
    if (zone[0] != 'Z') {
        for (int k = 0; k < 5; ++k) {
            o.put(static_cast<char>(zone[k]));
        }
    }
    o.put(')');
    return 1;
}

size_t generalized_time(Span t, Out& o) {
    const uint8_t* s = t.p;
    const size_t n = t.n;
    // YYYYMMDDhh[mm[ss]][(.|,)f+](Z|+hhmm|-hhmm)
    if (n < 11 || !digits(s, 10)) {
        return 0;
    }
    size_t i = 10;
    uint32_t mi = 0, sec = 0, nsec = 0;
    if (i + 2 <= n && digits(s + i, 2)) {
        mi = num(s + i, 2);
        i += 2;
        if (i + 2 <= n && digits(s + i, 2)) {
            sec = num(s + i, 2);
            i += 2;
        }
    }
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        ++i;
        const size_t f0 = i;
        uint32_t scale = 100'000'000;
        while (i < n && digits(s + i, 1)) {
            nsec += static_cast<uint32_t>(s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == f0) {
            return 0;
        }
    }
    const int64_t year = num(s, 4);
    const uint32_t mo = num(s + 4, 2), d = num(s + 6, 2), h = num(s + 8, 2);
    if (!valid_date(mo, d, h, mi, sec)) {
        return 0;
    }
    int64_t offset = 0;
    if (n == i + 1 && s[i] == 'Z') {
        offset = 0;
    } else if (n == i + 5 && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 4)) {
        const uint32_t oh = num(s + i + 1, 2), om = num(s + i + 3, 2);
        if (oh > 23 || om > 59) {
            return 0;
        }
        offset = (s[i] == '+' ? 1 : -1) * int64_t{oh * 3600 + om * 60};
    } else {
        return 0;  // local time, or junk
    }
    int64_t secs =
        days_from_civil(year, mo, d) * 86400 + int64_t{h} * 3600 + int64_t{mi} * 60 + sec - offset;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int64_t y;
    uint32_t m, dd;
    civil_from_days(days, y, m, dd);
    if (y < 0) {
        return 0;
    }
    o.put(kMonths[m - 1]);
    o.put(' ');
    o.dec(dd, 2, ' ');
    o.put(", ");
    o.dec(static_cast<uint64_t>(y));
    o.put(' ');
    o.dec(static_cast<uint64_t>(rem / 3600), 2);
    o.put(':');
    o.dec(static_cast<uint64_t>(rem / 60 % 60), 2);
    o.put(':');
    o.dec(static_cast<uint64_t>(rem % 60), 2);
    o.put('.');
    o.dec(nsec, 9);
    o.put(" UTC");
    return 1;
}

void put_utf8(Out& o, uint32_t cp) {
    if (cp < 0x80) {
        o.put(static_cast<char>(cp));
    } else if (cp < 0x800) {
        o.put(static_cast<char>(0xc0 | cp >> 6));
        o.put(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        o.put(static_cast<char>(0xe0 | cp >> 12));
        o.put(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
        o.put(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        o.put(static_cast<char>(0xf0 | cp >> 18));
        o.put(static_cast<char>(0x80 | (cp >> 12 & 0x3f)));
        o.put(static_cast<char>(0x80 | (cp >> 6 & 0x3f)));
        o.put(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

}  // namespace

bool parse_certificate(const uint8_t* der, size_t len, CertView& out) {
    out = CertView{};
    if (der == nullptr || len == 0) {
        return false;
    }
    if (len > UINT32_MAX) {
        len = UINT32_MAX;  // Spans hold 32-bit lengths
    }
    switch (walk(der, len, out)) {
        case Res::ok:
            return true;
        case Res::cut:
            out.truncated = true;
            return true;
        case Res::bad:
            break;
    }
    return false;
}

size_t oid_to_text(Span oid, char* out, size_t cap) {
    if (oid.n == 0 || oid.p == nullptr || out == nullptr || cap == 0) {
        return 0;
    }
    Out o{out, cap};
    size_t i = 0;
    bool first = true;
    while (i < oid.n) {
        if (oid.p[i] == 0x80) {
            o.over = true;  // non-minimal subidentifier
            break;
        }
        size_t j = i;
        while (j < oid.n && (oid.p[j] & 0x80) != 0) {
            ++j;
        }
        if (j == oid.n || j - i + 1 > 20) {
            o.over = true;  // cut off, or an arc over 140 bits
            break;
        }
        Big b;
        for (size_t k = i; k <= j; ++k) {
            b.mul_add(128, oid.p[k] & 0x7fu);
        }
        if (first) {
            if (b.below(40)) {
                o.put('0');
            } else if (b.below(80)) {
                o.put('1');
                b.sub(40);
            } else {
                o.put('2');
                b.sub(80);
            }
            first = false;
        }
        o.put('.');
        b.write(o);
        i = j + 1;
    }
    return o.finish();
}

const char* oid_short_name(Span oid) {
    const OidDef* d = find_oid(oid);
    return d != nullptr ? d->short_name : nullptr;
}

const char* oid_name(Span oid) {
    const OidDef* d = find_oid(oid);
    return d != nullptr ? d->name : nullptr;
}

size_t time_to_text(Span t, uint8_t tag, char* out, size_t cap) {
    if (t.p == nullptr || out == nullptr || cap == 0) {
        return 0;
    }
    Out o{out, cap};
    size_t ok = 0;
    if (tag == der::kUtcTime) {
        ok = utc_time(t, o);
    } else if (tag == der::kGeneralizedTime) {
        ok = generalized_time(t, o);
    }
    if (ok == 0) {
        o.over = true;
    }
    return o.finish();
}

size_t serial_to_text(Span serial, char* out, size_t cap) {
    if (serial.n == 0 || serial.p == nullptr || out == nullptr || cap == 0) {
        return 0;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    Out o{out, cap};
    for (uint32_t i = 0; i < serial.n && !o.over; ++i) {
        if (i > 0) {
            o.put(':');
        }
        o.put(kHex[serial.p[i] >> 4]);
        o.put(kHex[serial.p[i] & 0xf]);
    }
    return o.finish();
}

size_t name_value_to_utf8(Span value, uint8_t tag, char* out, size_t cap) {
    if (out == nullptr || cap == 0) {
        return 0;
    }
    Out o{out, cap};
    if (value.p == nullptr) {
        return o.finish();
    }
    if (tag == der::kBmpString) {
        if (value.n % 2 != 0) {
            o.over = true;
        }
        for (uint32_t i = 0; i + 1 < value.n && !o.over; i += 2) {
            uint32_t cp = uint32_t{value.p[i]} << 8 | value.p[i + 1];
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (i + 3 >= value.n) {
                    o.over = true;
                    break;
                }
                const uint32_t lo = uint32_t{value.p[i + 2]} << 8 | value.p[i + 3];
                if (lo < 0xdc00 || lo > 0xdfff) {
                    o.over = true;
                    break;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 2;
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                o.over = true;
                break;
            }
            put_utf8(o, cp);
        }
    } else if (tag == der::kUniversalString) {
        if (value.n % 4 != 0) {
            o.over = true;
        }
        for (uint32_t i = 0; i + 3 < value.n && !o.over; i += 4) {
            const uint32_t cp = uint32_t{value.p[i]} << 24 | uint32_t{value.p[i + 1]} << 16 |
                                uint32_t{value.p[i + 2]} << 8 | value.p[i + 3];
            if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
                o.over = true;
                break;
            }
            put_utf8(o, cp);
        }
    } else {
        for (uint32_t i = 0; i < value.n && !o.over; ++i) {
            o.put(static_cast<char>(value.p[i]));
        }
    }
    return o.finish();
}

}  // namespace spate::proto
