// X.509 / DER: real certificates (tests/fuzz/seeds/x509, taken from the test
// corpus's TLS captures or made with `openssl req -x509`) checked field by
// field against `openssl x509 -text` and the tshark oracle's formats, plus
// hand-built DER for the edge cases.
#include "spate/proto/x509.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace {

using spate::proto::CertView;
using spate::proto::Span;
namespace der = spate::proto::der;

using Bytes = std::vector<uint8_t>;
using Attrs = std::vector<std::pair<std::string, std::string>>;

std::filesystem::path seed_dir() {
    if (const char* r = std::getenv("SPATE_SOURCE_ROOT")) {
        return std::filesystem::path(r) / "tests" / "fuzz" / "seeds" / "x509";
    }
    return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "fuzz" / "seeds" / "x509";
}

Bytes load(const std::string& name) {
    std::ifstream f(seed_dir() / name, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

Span span(const Bytes& b) {
    return {b.data(), static_cast<uint32_t>(b.size())};
}

std::string str(Span s) {
    return std::string(s.text());
}

std::string oid_text(Span oid) {
    char buf[128];
    const size_t n = spate::proto::oid_to_text(oid, buf, sizeof buf);
    return std::string(buf, n);
}

std::string time_text(Span t, uint8_t tag) {
    char buf[64];
    const size_t n = spate::proto::time_to_text(t, tag, buf, sizeof buf);
    return std::string(buf, n);
}

std::string serial_text(Span s) {
    char buf[256];
    const size_t n = spate::proto::serial_to_text(s, buf, sizeof buf);
    return std::string(buf, n);
}

std::string utf8(Span v, uint8_t tag) {
    char buf[256];
    const size_t n = spate::proto::name_value_to_utf8(v, tag, buf, sizeof buf);
    return std::string(buf, n);
}

Attrs attrs(Span name) {
    Attrs out;
    EXPECT_TRUE(spate::proto::for_each_name_attr(name, [&](Span oid, Span v, uint8_t tag) {
        out.emplace_back(oid_text(oid), utf8(v, tag));
    }));
    return out;
}

std::vector<std::string> san_dns(Span san) {
    std::vector<std::string> out;
    EXPECT_TRUE(spate::proto::for_each_san_dns(san, [&](Span n) { out.push_back(str(n)); }));
    return out;
}

const char* name_or_empty(Span oid) {
    const char* n = spate::proto::oid_name(oid);
    return n != nullptr ? n : "";
}

// ---------------------------------------------------------------------------
// Real certificates
// ---------------------------------------------------------------------------

struct Expected {
    const char* file;
    uint8_t version;
    const char* serial;
    const char* sig_alg;
    Attrs issuer;
    Attrs subject;
    const char* not_before;
    const char* not_after;
    const char* pk_alg;
    const char* pk_param;  // "" when none
    uint32_t pk_bits;
    std::vector<std::string> dns;
};

void check(const Expected& e) {
    SCOPED_TRACE(e.file);
    const Bytes der = load(e.file);
    ASSERT_FALSE(der.empty()) << "seed not found in " << seed_dir();
    CertView c;
    ASSERT_TRUE(spate::proto::parse_certificate(der.data(), der.size(), c));
    EXPECT_FALSE(c.truncated);
    EXPECT_EQ(c.length, der.size());
    EXPECT_EQ(c.version, e.version);
    EXPECT_EQ(serial_text(c.serial), e.serial);
    EXPECT_STREQ(name_or_empty(c.signature_alg), e.sig_alg);
    EXPECT_EQ(attrs(c.issuer), e.issuer);
    EXPECT_EQ(attrs(c.subject), e.subject);
    EXPECT_EQ(time_text(c.not_before, c.not_before_tag), e.not_before);
    EXPECT_EQ(time_text(c.not_after, c.not_after_tag), e.not_after);
    EXPECT_STREQ(name_or_empty(c.pk_alg), e.pk_alg);
    EXPECT_STREQ(name_or_empty(c.pk_param), e.pk_param);
    EXPECT_EQ(c.pk_bits, e.pk_bits);
    EXPECT_EQ(san_dns(c.san), e.dns);
    EXPECT_EQ(c.san.empty(), e.dns.empty());
    // Spans point into the input, and the TBS / SPKI / signature are whole.
    EXPECT_EQ(c.tbs.p, der.data() + 4);
    EXPECT_GT(c.spki.n, c.pk.n);
    EXPECT_FALSE(c.signature.empty());
    EXPECT_EQ(c.signature.end(), der.data() + der.size());
}

const Attrs kJoy = {{"2.5.4.6", "US"},
                    {"2.5.4.8", "California"},
                    {"2.5.4.7", "Las Angeles"},
                    {"2.5.4.10", "Internet Widgits Pty Ltd"},
                    {"2.5.4.3", "server.blah.com"},
                    {"1.2.840.113549.1.9.1", "teddy@blah.com"}};

TEST(X509Real, JoySelfSignedRsa2048) {
    check({"joy_tls12_selfsigned_rsa2048.der",
           3,
           "00:c0:62:cf:36:80:6f:eb:0d",
           "sha256WithRSAEncryption",
           kJoy,
           kJoy,
           "2017-08-07 15:04:17 (UTC)",
           "2018-08-07 15:04:17 (UTC)",
           "rsaEncryption",
           "",
           2048,
           {}});
}

TEST(X509Real, NtopLetsEncryptWithSan) {
    check({"ndpi_443curl_www_ntop_org.der",
           3,
           "03:c5:6f:66:36:ed:a7:2f:7f:4c:56:65:fa:05:5d:93:32:55",
           "sha256WithRSAEncryption",
           {{"2.5.4.6", "US"},
            {"2.5.4.10", "Let's Encrypt"},
            {"2.5.4.3", "Let's Encrypt Authority X3"}},
           {{"2.5.4.3", "www.ntop.org"}},
           "2019-12-17 01:17:28 (UTC)",
           "2020-03-16 01:17:28 (UTC)",
           "rsaEncryption",
           "",
           2048,
           {"www.ntop.org"}});
}

TEST(X509Real, NetflixFiveSanNames) {
    check({"ndpi_netflix_customerevents.der",
           3,
           "15:04:f6:54:96:24:11:f5:a0:a1:16:b6:df:8b:23:a9",
           "sha256WithRSAEncryption",
           {{"2.5.4.6", "US"},
            {"2.5.4.10", "Symantec Corporation"},
            {"2.5.4.11", "Symantec Trust Network"},
            {"2.5.4.3", "Symantec Class 3 Secure Server CA - G4"}},
           {{"2.5.4.6", "US"},
            {"2.5.4.8", "California"},
            {"2.5.4.7", "los gatos"},
            {"2.5.4.10", "Netflix, Inc."},
            {"2.5.4.11", "Ops"},
            {"2.5.4.3", "customerevents.netflix.com"}},
           "2016-04-12 00:00:00 (UTC)",
           "2018-04-10 23:59:59 (UTC)",
           "rsaEncryption",
           "",
           2048,
           {"ichnaea.netflix.com", "beacon.netflix.com", "presentationtracking.netflix.com",
            "nmtracking.netflix.com", "customerevents.netflix.com"}});
}

TEST(X509Real, NetflixSerialZeroSha1) {
    const Attrs n = {{"2.5.4.3", "Primary Certificate Authority (2009)"},
                     {"2.5.4.8", "California"},
                     {"2.5.4.6", "US"},
                     {"2.5.4.10", "Netflix Inc"},
                     {"2.5.4.11", "Electronic Delivery"},
                     {"2.5.4.7", "Los Gatos"}};
    check({"ndpi_netflix_serial00.der",
           3,
           "00",
           "sha1WithRSAEncryption",
           n,
           n,
           "2001-01-01 12:30:00 (UTC)",
           "2029-01-01 12:30:00 (UTC)",
           "rsaEncryption",
           "",
           2048,
           {}});
}

TEST(X509Real, MalwareRsa3072Wildcard) {
    check({"mercury_malware_tls_rsa3072.der",
           3,
           "05:18:f3:8e:3f:4b:d8:2d:0c:1f:68:a9:e3:02:b6:d4:fe:f2",
           "sha256WithRSAEncryption",
           {{"2.5.4.6", "US"}, {"2.5.4.10", "Let's Encrypt"}, {"2.5.4.3", "R10"}},
           {{"2.5.4.3", "mokoshoponline.com"}},
           "2025-05-30 13:40:32 (UTC)",
           "2025-08-28 13:40:31 (UTC)",
           "rsaEncryption",
           "",
           3072,
           {"*.mokoshoponline.com", "mokoshoponline.com"}});
}

TEST(X509Real, XeroxGeneralizedTime) {
    // The oracle (tshark) shows this GeneralizedTime notAfter exactly so.
    const Attrs x = {{"2.5.4.6", "US"},
                     {"2.5.4.8", "New York"},
                     {"2.5.4.7", "Rochester"},
                     {"2.5.4.10", "Xerox Corporation"},
                     {"2.5.4.11", "Generic Root Certificate Authority"},
                     {"2.5.4.3", "Xerox Generic Root Certificate Authority"}};
    check({"ndpi_ja3_xerox_root_gentime.der",
           3,
           "02",
           "sha256WithRSAEncryption",
           x,
           x,
           "2015-11-12 23:52:40 (UTC)",
           "Apr 15, 2024 23:59:59.000000000 UTC",
           "rsaEncryption",
           "",
           2048,
           {}});
}

TEST(X509Real, FastlyManySanNames) {
    const Bytes der = load("ndpi_verylong_fastly.der");
    ASSERT_EQ(der.size(), 4037u);
    CertView c;
    ASSERT_TRUE(spate::proto::parse_certificate(der.data(), der.size(), c));
    EXPECT_EQ(serial_text(c.serial), "66:30:d5:8f:2c:f2:1d:11:df:0e:d7:94");
    const auto dns = san_dns(c.san);
    ASSERT_EQ(dns.size(), 130u);
    EXPECT_EQ(dns.front(), "p2.shared.global.fastly.net");
    EXPECT_EQ(dns[1], "*.12wbt.com");
    EXPECT_EQ(dns.back(), "www.westwayelectricsupply.com");
    EXPECT_EQ(c.pk_bits, 2048u);
}

TEST(X509Real, EcP256WithSanOfEveryKind) {
    const Attrs n = {{"2.5.4.6", "DE"}, {"2.5.4.10", "Spate Test"}, {"2.5.4.3", "ec.spate.test"}};
    check({"gen_ec_p256_san.der",
           3,
           "12:34",
           "ecdsa-with-SHA256",
           n,
           n,
           "2026-11-27 12:44:22 (UTC)",
           "2036-11-24 12:44:22 (UTC)",
           "id-ecPublicKey",
           "prime256v1",
           256,
           {"ec.spate.test", "*.ec.spate.test"}});

    const Bytes der = load("gen_ec_p256_san.der");
    CertView c;
    ASSERT_TRUE(spate::proto::parse_certificate(der.data(), der.size(), c));
    EXPECT_EQ(c.pk_param_tag, der::kOid);
    EXPECT_EQ(c.pk.n, 65u);
    EXPECT_EQ(c.pk.p[0], 0x04);
    std::vector<std::pair<uint8_t, std::string>> all;
    EXPECT_TRUE(spate::proto::for_each_san(
        c.san, [&](uint8_t tag, Span v) { all.emplace_back(tag, str(v)); }));
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[0], std::make_pair(spate::proto::kSanDns, std::string("ec.spate.test")));
    EXPECT_EQ(all[1], std::make_pair(spate::proto::kSanDns, std::string("*.ec.spate.test")));
    EXPECT_EQ(all[2], std::make_pair(spate::proto::kSanIp, std::string("\xc0\x00\x02\x01", 4)));
    EXPECT_EQ(all[3], std::make_pair(spate::proto::kSanEmail, std::string("a@spate.test")));

    // Extensions in order, with the critical flag of basicConstraints.
    std::vector<std::string> exts;
    EXPECT_TRUE(spate::proto::for_each_extension(c.extensions, [&](Span oid, bool crit, Span) {
        exts.push_back(std::string(name_or_empty(oid)) + (crit ? "!" : ""));
    }));
    EXPECT_EQ(exts, (std::vector<std::string>{"subjectKeyIdentifier", "authorityKeyIdentifier",
                                              "basicConstraints!", "subjectAltName"}));

    // f returning false stops the walk.
    int calls = 0;
    EXPECT_TRUE(spate::proto::for_each_san(c.san, [&](uint8_t, Span) { return ++calls < 2; }));
    EXPECT_EQ(calls, 2);
    calls = 0;
    EXPECT_TRUE(spate::proto::for_each_name_attr(c.subject, [&](Span, Span, uint8_t) {
        ++calls;
        return false;
    }));
    EXPECT_EQ(calls, 1);
}

TEST(X509Real, EcP384BmpStringGeneralizedTime) {
    const Attrs n = {{"2.5.4.3", "p384.spate.test"}, {"2.5.4.10", "Spate \u2603 Test"}};
    check({"gen_ec_p384_bmpstring.der",
           3,
           "00:ff",
           "ecdsa-with-SHA384",
           n,
           n,
           "2026-11-27 12:44:25 (UTC)",
           "Apr 14, 2054 12:44:25.000000000 UTC",
           "id-ecPublicKey",
           "secp384r1",
           384,
           {"p384.spate.test"}});
    const Bytes der = load("gen_ec_p384_bmpstring.der");
    CertView c;
    ASSERT_TRUE(spate::proto::parse_certificate(der.data(), der.size(), c));
    EXPECT_EQ(c.not_after_tag, der::kGeneralizedTime);
    std::vector<uint8_t> tags;
    spate::proto::for_each_name_attr(c.subject, [&](Span, Span, uint8_t t) { tags.push_back(t); });
    EXPECT_EQ(tags, (std::vector<uint8_t>{der::kPrintableString, der::kBmpString}));
}

TEST(X509Real, Ed25519) {
    const Attrs n = {{"2.5.4.3", "ed25519.spate.test"}, {"2.5.4.5", "42"}};
    check({"gen_ed25519.der",
           3,
           "14:6d:6d:95:63:f8:e0:0c:da:30:7d:20:63:39:33:93:cc:7b:2b:81",
           "Ed25519",
           n,
           n,
           "2026-11-27 12:44:22 (UTC)",
           "2026-12-27 12:44:22 (UTC)",
           "Ed25519",
           "",
           256,
           {}});
}

TEST(X509Real, Version1Rsa1024) {
    const Attrs n = {{"2.5.4.3", "v1.spate.test"}, {"2.5.4.10", "Old School"}};
    check({"gen_v1_rsa1024.der",
           1,
           "6d:55:9a:0e:d3:d5:d5:29:a2:55:7a:59:43:22:00:c9:5a:2a:c8:b7",
           "sha256WithRSAEncryption",
           n,
           n,
           "2026-11-27 12:44:22 (UTC)",
           "2026-12-07 12:44:22 (UTC)",
           "rsaEncryption",
           "",
           1024,
           {}});
}

const char* const kSeeds[] = {
    "gen_ec_p256_san.der",
    "gen_ec_p384_bmpstring.der",
    "gen_ed25519.der",
    "gen_v1_rsa1024.der",
    "joy_tls12_selfsigned_rsa2048.der",
    "mercury_malware_tls_rsa3072.der",
    "ndpi_443curl_www_ntop_org.der",
    "ndpi_ja3_xerox_root_gentime.der",
    "ndpi_netflix_customerevents.der",
    "ndpi_netflix_serial00.der",
    "ndpi_verylong_fastly.der",
};

bool same(Span a, Span b) {
    return a.n == b.n && (a.n == 0 || a.p == b.p);
}

// Every prefix of every certificate: no crash, truncated (never a false
// "complete"), and whatever a prefix yields equals the full parse's field.
TEST(X509Real, EveryTruncation) {
    for (const char* name : kSeeds) {
        SCOPED_TRACE(name);
        const Bytes full = load(name);
        ASSERT_FALSE(full.empty());
        CertView ref;
        ASSERT_TRUE(spate::proto::parse_certificate(full.data(), full.size(), ref));
        size_t san_from = 0;
        for (size_t n = 0; n < full.size(); ++n) {
            // An exactly-sized heap copy, so ASan catches a read past the end.
            std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
            CertView c;
            const bool ok = spate::proto::parse_certificate(cut.data(), cut.size(), c);
            if (n == 0) {
                EXPECT_FALSE(ok);
                continue;
            }
            ASSERT_TRUE(ok) << "prefix " << n;
            ASSERT_TRUE(c.truncated) << "prefix " << n;
            if (n >= 4) {  // the Certificate's header is 4 octets in all of these
                EXPECT_EQ(c.length, ref.length);
            }
            auto rebase = [&](Span s) {
                return s.n == 0 ? s : Span{full.data() + (s.p - cut.data()), s.n};
            };
            for (auto [got, want] :
                 std::initializer_list<std::pair<Span, Span>>{{c.serial, ref.serial},
                                                              {c.issuer, ref.issuer},
                                                              {c.subject, ref.subject},
                                                              {c.not_before, ref.not_before},
                                                              {c.not_after, ref.not_after},
                                                              {c.pk_alg, ref.pk_alg},
                                                              {c.pk, ref.pk},
                                                              {c.spki, ref.spki},
                                                              {c.tbs, ref.tbs},
                                                              {c.extensions, ref.extensions},
                                                              {c.san, ref.san}}) {
                if (!got.empty()) {
                    ASSERT_TRUE(same(rebase(got), want)) << "prefix " << n;
                }
            }
            if (!c.pk.empty()) {
                EXPECT_EQ(c.pk_bits, ref.pk_bits);
            }
            if (!c.san.empty() && san_from == 0) {
                san_from = n;
            }
        }
        // Once the TBSCertificate is there, a cut signature loses nothing.
        if (!ref.san.empty()) {
            EXPECT_GT(san_from, 0u);
            EXPECT_LE(san_from, static_cast<size_t>(ref.san.end() - full.data()));
        }
    }
}

TEST(X509Real, TrailingBytesIgnored) {
    Bytes der = load("gen_ed25519.der");
    const size_t n = der.size();
    der.insert(der.end(), {0x30, 0x03, 0x02, 0x01, 0x00, 0xff});
    CertView c;
    ASSERT_TRUE(spate::proto::parse_certificate(der.data(), der.size(), c));
    EXPECT_FALSE(c.truncated);
    EXPECT_EQ(c.length, n);
}

// ---------------------------------------------------------------------------
// Hand-built DER
// ---------------------------------------------------------------------------

Bytes len_octets(size_t n) {
    if (n < 0x80) {
        return {static_cast<uint8_t>(n)};
    }
    Bytes b;
    for (size_t v = n; v != 0; v >>= 8) {
        b.insert(b.begin(), static_cast<uint8_t>(v));
    }
    b.insert(b.begin(), static_cast<uint8_t>(0x80 | b.size()));
    return b;
}

Bytes tlv(uint8_t id, const Bytes& content) {
    Bytes b{id};
    const Bytes l = len_octets(content.size());
    b.insert(b.end(), l.begin(), l.end());
    b.insert(b.end(), content.begin(), content.end());
    return b;
}

Bytes tlv(uint8_t id, const std::string& s) {
    return tlv(id, Bytes(s.begin(), s.end()));
}

Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes b;
    for (const Bytes& p : parts) {
        b.insert(b.end(), p.begin(), p.end());
    }
    return b;
}

const Bytes kCnOid = {0x55, 0x04, 0x03};
const Bytes kSha256Rsa = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b};
const Bytes kRsa = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};

Bytes name_cn(const std::string& cn) {
    return tlv(0x30, tlv(0x31, tlv(0x30, cat({tlv(0x06, kCnOid), tlv(0x0c, cn)}))));
}

Bytes alg(const Bytes& oid) {
    return tlv(0x30, cat({tlv(0x06, oid), tlv(0x05, Bytes{})}));
}

Bytes rsa_spki(size_t modulus_bytes) {
    Bytes mod(modulus_bytes + 1, 0xab);
    mod[0] = 0x00;
    mod[1] = 0x05;  // 3 significant bits in the top octet
    const Bytes key = tlv(0x30, cat({tlv(0x02, mod), tlv(0x02, Bytes{0x01, 0x00, 0x01})}));
    Bytes bits{0x00};
    bits.insert(bits.end(), key.begin(), key.end());
    return tlv(0x30, cat({alg(kRsa), tlv(0x03, bits)}));
}

Bytes extension(const Bytes& oid, const Bytes& value, bool critical = false) {
    Bytes crit = critical ? tlv(0x01, Bytes{0xff}) : Bytes{};
    return tlv(0x30, cat({tlv(0x06, oid), crit, tlv(0x04, value)}));
}

struct TbsParts {
    Bytes version = tlv(0xa0, tlv(0x02, Bytes{0x02}));
    Bytes serial = tlv(0x02, Bytes{0x01});
    Bytes validity = tlv(0x30, cat({tlv(0x17, std::string("491231235959Z")),
                                    tlv(0x17, std::string("500101000000Z"))}));
    Bytes spki = rsa_spki(256);
    Bytes after_spki;
};

Bytes make_cert(const TbsParts& t) {
    const Bytes tbs = tlv(0x30, cat({t.version, t.serial, alg(kSha256Rsa), name_cn("issuer"),
                                     t.validity, name_cn("subject"), t.spki, t.after_spki}));
    return tlv(0x30, cat({tbs, alg(kSha256Rsa), tlv(0x03, Bytes{0x00, 0x01, 0x02})}));
}

CertView parse(const Bytes& b, bool expect_ok = true) {
    CertView c;
    EXPECT_EQ(spate::proto::parse_certificate(b.data(), b.size(), c), expect_ok);
    return c;
}

TEST(X509Synthetic, MinimalV3AndV1) {
    TbsParts t;
    Bytes d = make_cert(t);  // the view points into it: keep it alive
    CertView c = parse(d);
    EXPECT_EQ(c.version, 3);
    EXPECT_EQ(attrs(c.subject), (Attrs{{"2.5.4.3", "subject"}}));
    EXPECT_EQ(time_text(c.not_before, c.not_before_tag), "2049-12-31 23:59:59 (UTC)");
    EXPECT_EQ(time_text(c.not_after, c.not_after_tag), "1950-01-01 00:00:00 (UTC)");
    EXPECT_EQ(c.pk_bits, 256u * 8 - 5);  // leading 00 stripped, then 0x05 = 3 bits
    EXPECT_TRUE(c.san.empty());
    EXPECT_TRUE(c.extensions.empty());

    t.version.clear();
    d = make_cert(t);
    c = parse(d);
    EXPECT_EQ(c.version, 1);
    EXPECT_EQ(serial_text(c.serial), "01");

    t.version = tlv(0xa0, tlv(0x02, Bytes{0x00}));
    EXPECT_EQ(parse(make_cert(t)).version, 1);
    t.version = tlv(0xa0, tlv(0x02, Bytes{0x03}));  // no such version
    parse(make_cert(t), false);
    t.version = tlv(0xa0, tlv(0x02, Bytes{0x00, 0x02}));
    parse(make_cert(t), false);
}

TEST(X509Synthetic, SanFoundAmongUnknownExtensions) {
    const Bytes san_value =
        tlv(0x30, cat({tlv(0x82, std::string("a.example")), tlv(0x86, std::string("http://x/")),
                       tlv(0x82, std::string("b.example"))}));
    // Unknown extensions before and after, one with a deeply nested value.
    Bytes deep = tlv(0x04, Bytes{});
    for (int i = 0; i < 2000; ++i) {
        deep = tlv(0x30, deep);
    }
    TbsParts t;
    t.after_spki =
        cat({tlv(0x81, Bytes{0x00, 0xaa}),  // issuerUniqueID
             tlv(0xa3, tlv(0x30, cat({extension({0x2a, 0x03, 0x04}, deep, true),
                                      extension({0x55, 0x1d, 0x11}, san_value),
                                      extension({0x55, 0x1d, 0x13}, tlv(0x30, Bytes{}))})))});
    const Bytes der = make_cert(t);
    CertView c = parse(der);
    EXPECT_FALSE(c.truncated);
    EXPECT_EQ(san_dns(c.san), (std::vector<std::string>{"a.example", "b.example"}));
    int n = 0;
    EXPECT_TRUE(spate::proto::for_each_extension(c.extensions, [&](Span, bool, Span) { ++n; }));
    EXPECT_EQ(n, 3);

    // A SAN whose value is not one GeneralNames SEQUENCE is malformed.
    t.after_spki =
        tlv(0xa3, tlv(0x30, extension({0x55, 0x1d, 0x11}, cat({san_value, Bytes{0x00}}))));
    parse(make_cert(t), false);
    // So is an extension without its OCTET STRING.
    t.after_spki = tlv(0xa3, tlv(0x30, tlv(0x30, tlv(0x06, Bytes{0x55, 0x1d, 0x11}))));
    parse(make_cert(t), false);
}

TEST(X509Synthetic, BadLengthsAndTags) {
    const Bytes good = make_cert(TbsParts{});
    parse(good);

    // Indefinite length.
    Bytes b = good;
    b[1] = 0x80;
    parse(b, false);
    // A 5-octet length field.
    parse(Bytes{0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x10, 0x02, 0x01, 0x00}, false);
    // 0xff (reserved) as the length's first octet.
    parse(Bytes{0x30, 0xff, 0x00}, false);

    // A huge long-form length at the top: the input simply ends early.
    CertView c = parse(Bytes{0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30, 0x03, 0xa0, 0x01});
    EXPECT_TRUE(c.truncated);
    EXPECT_EQ(c.length, UINT32_MAX);
    // ... but inside a complete element it is malformed.
    TbsParts t;
    t.serial = Bytes{0x02, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x01};
    parse(make_cert(t), false);
    // An element one byte longer than its container.
    t = TbsParts{};
    t.validity = tlv(
        0x30,
        cat({tlv(0x17, std::string("491231235959Z")),
             Bytes{0x17, 0x0e, '5', '0', '0', '1', '0', '1', '0', '0', '0', '0', '0', '0', 'Z'}}));
    parse(make_cert(t), false);
    // Wrong types where the structure says otherwise.
    t = TbsParts{};
    t.serial = tlv(0x04, Bytes{0x01});
    parse(make_cert(t), false);
    t = TbsParts{};
    t.validity =
        tlv(0x30, cat({tlv(0x17, std::string("491231235959Z")), tlv(0x13, std::string("x"))}));
    parse(make_cert(t), false);
    // Not a SEQUENCE at all; an empty input.
    parse(Bytes{0x31, 0x00}, false);
    parse(Bytes{}, false);
    // Trailing junk inside the Certificate SEQUENCE.
    ASSERT_EQ(good[1], 0x82);
    b = good;
    b.push_back(0x05);
    b.push_back(0x00);
    const size_t l = (size_t{good[2]} << 8 | good[3]) + 2;
    b[2] = static_cast<uint8_t>(l >> 8);
    b[3] = static_cast<uint8_t>(l);
    parse(b, false);
}

TEST(X509Synthetic, DeepNestingDoesNotRecurse) {
    // 100000 nested SEQUENCEs: the walk reads a fixed number of levels.
    const int depth = 100000;
    // Build from the inside out with 4-octet lengths so sizes stay simple.
    size_t len = 0;
    std::vector<uint8_t> out(static_cast<size_t>(depth) * 6);
    for (int i = depth - 1; i >= 0; --i) {
        uint8_t* p = out.data() + static_cast<size_t>(i) * 6;
        p[0] = 0x30;
        p[1] = 0x84;
        p[2] = static_cast<uint8_t>(len >> 24);
        p[3] = static_cast<uint8_t>(len >> 16);
        p[4] = static_cast<uint8_t>(len >> 8);
        p[5] = static_cast<uint8_t>(len);
        len += 6;
    }
    parse(out, false);
    // And as a Name: the walk stops at the first wrong type.
    EXPECT_FALSE(spate::proto::for_each_name_attr(span(out), [](Span, Span, uint8_t) {}));
    // A Name attribute whose value is deeply nested is fine: it is not entered.
    Bytes v = tlv(0x0c, std::string("x"));
    for (int i = 0; i < 1000; ++i) {
        v = tlv(0x30, v);
    }
    const Bytes name = tlv(0x31, tlv(0x30, cat({tlv(0x06, kCnOid), v})));
    int n = 0;
    EXPECT_TRUE(spate::proto::for_each_name_attr(span(name), [&](Span, Span, uint8_t tag) {
        EXPECT_EQ(tag, 0x30);
        ++n;
    }));
    EXPECT_EQ(n, 1);
}

TEST(X509Synthetic, MalformedNames) {
    // A SET with an AttributeTypeAndValue missing its value; a SEQUENCE where
    // a SET should be; three elements in one AttributeTypeAndValue; a cut.
    const Bytes missing = tlv(0x31, tlv(0x30, tlv(0x06, kCnOid)));
    const Bytes not_set =
        tlv(0x30, tlv(0x30, cat({tlv(0x06, kCnOid), tlv(0x0c, std::string("x"))})));
    const Bytes three = tlv(0x31, tlv(0x30, cat({tlv(0x06, kCnOid), tlv(0x0c, std::string("x")),
                                                 tlv(0x0c, std::string("y"))})));
    const Bytes cut = {0x31, 0x05, 0x30, 0x03, 0x06};
    for (const Bytes* b : {&missing, &not_set, &three, &cut}) {
        EXPECT_FALSE(spate::proto::for_each_name_attr(span(*b), [](Span, Span, uint8_t) {}));
    }
    // Multi-valued RDN: both values, in order.
    const Bytes multi = tlv(
        0x31,
        cat({tlv(0x30, cat({tlv(0x06, kCnOid), tlv(0x0c, std::string("a"))})),
             tlv(0x30, cat({tlv(0x06, Bytes{0x55, 0x04, 0x0a}), tlv(0x13, std::string("b"))}))}));
    EXPECT_EQ(attrs(span(multi)), (Attrs{{"2.5.4.3", "a"}, {"2.5.4.10", "b"}}));
    EXPECT_TRUE(spate::proto::for_each_name_attr(Span{}, [](Span, Span, uint8_t) {}));
    // GeneralNames with a universal-class element.
    const Bytes san = cat({tlv(0x82, std::string("a")), tlv(0x0c, std::string("b"))});
    EXPECT_FALSE(spate::proto::for_each_san(span(san), [](uint8_t, Span) {}));
}

// ---------------------------------------------------------------------------
// The DER reader itself
// ---------------------------------------------------------------------------

TEST(Der, LengthForms) {
    der::Tlv t;
    const uint8_t s[] = {0x04, 0x02, 0xaa, 0xbb};
    ASSERT_EQ(der::read_tlv(s, sizeof s, t), der::Status::ok);
    EXPECT_EQ(t.header, 2u);
    EXPECT_EQ(t.length, 2u);

    Bytes l1 = {0x04, 0x81, 0x80};
    l1.resize(3 + 0x80);
    ASSERT_EQ(der::read_tlv(l1.data(), l1.size(), t), der::Status::ok);
    EXPECT_EQ(t.header, 3u);
    EXPECT_EQ(t.length, 0x80u);

    Bytes l3 = {0x04, 0x83, 0x01, 0x00, 0x00};
    l3.resize(5 + 0x10000);
    ASSERT_EQ(der::read_tlv(l3.data(), l3.size(), t), der::Status::ok);
    EXPECT_EQ(t.length, 0x10000u);
    EXPECT_EQ(der::read_tlv(l3.data(), l3.size() - 1, t), der::Status::truncated);
    EXPECT_TRUE(t.header_complete);
    EXPECT_EQ(t.value.n, 0xffffu);

    const uint8_t l4[] = {0x04, 0x84, 0x00, 0x00, 0x00, 0x01, 0x99};
    ASSERT_EQ(der::read_tlv(l4, sizeof l4, t), der::Status::ok);
    EXPECT_EQ(t.value.p[0], 0x99);

    const uint8_t indefinite[] = {0x30, 0x80, 0x00, 0x00};
    EXPECT_EQ(der::read_tlv(indefinite, sizeof indefinite, t), der::Status::malformed);
    const uint8_t five[] = {0x04, 0x85, 0, 0, 0, 0, 1, 0};
    EXPECT_EQ(der::read_tlv(five, sizeof five, t), der::Status::malformed);
    const uint8_t huge[] = {0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00};
    EXPECT_EQ(der::read_tlv(huge, sizeof huge, t), der::Status::truncated);
    EXPECT_EQ(t.length, 0xffffffffu);
    EXPECT_EQ(t.value.n, 1u);
    const uint8_t cut_len[] = {0x04, 0x82, 0x01};
    EXPECT_EQ(der::read_tlv(cut_len, sizeof cut_len, t), der::Status::truncated);
    EXPECT_FALSE(t.header_complete);
    EXPECT_EQ(der::read_tlv(cut_len, 1, t), der::Status::truncated);
    EXPECT_EQ(der::read_tlv(cut_len, 0, t), der::Status::end);
}

TEST(Der, MultiOctetTags) {
    der::Tlv t;
    const uint8_t t31[] = {0x9f, 0x1f, 0x01, 0x07};  // [31] primitive
    ASSERT_EQ(der::read_tlv(t31, sizeof t31, t), der::Status::ok);
    EXPECT_EQ(t.id, 0x9f);
    EXPECT_EQ(t.number, 31u);
    EXPECT_EQ(t.header, 3u);
    const uint8_t t201[] = {0xbf, 0x81, 0x49, 0x00};  // [201] constructed
    ASSERT_EQ(der::read_tlv(t201, sizeof t201, t), der::Status::ok);
    EXPECT_EQ(t.number, 201u);
    EXPECT_TRUE(t.constructed());
    EXPECT_EQ(t.tag_class(), 2);
    const uint8_t max[] = {0x1f, 0xff, 0xff, 0xff, 0x7f, 0x00};
    ASSERT_EQ(der::read_tlv(max, sizeof max, t), der::Status::ok);
    EXPECT_EQ(t.number, der::kMaxTagNumber);
    const uint8_t too_long[] = {0x1f, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00};
    EXPECT_EQ(der::read_tlv(too_long, sizeof too_long, t), der::Status::malformed);
    const uint8_t leading_zero[] = {0x1f, 0x80, 0x21, 0x00};
    EXPECT_EQ(der::read_tlv(leading_zero, sizeof leading_zero, t), der::Status::malformed);
    const uint8_t cut[] = {0x1f, 0x81};
    EXPECT_EQ(der::read_tlv(cut, sizeof cut, t), der::Status::truncated);

    // A high-number tag in the place of a one-octet tag does not match it.
    TbsParts p;
    p.serial = {0x1f, 0x02, 0x01, 0x01};
    parse(make_cert(p), false);
}

TEST(Der, ReaderIsSticky) {
    const uint8_t b[] = {0x05, 0x00, 0x04, 0x80, 0x05, 0x00};
    der::Reader r(Span{b, sizeof b});
    der::Tlv t;
    EXPECT_EQ(r.next(t), der::Status::ok);
    EXPECT_EQ(r.next(t), der::Status::malformed);
    EXPECT_EQ(r.next(t), der::Status::malformed);
    der::Reader e;
    EXPECT_TRUE(e.at_end());
    EXPECT_EQ(e.next(t), der::Status::end);
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

std::string oid_of(std::initializer_list<uint8_t> b) {
    const Bytes v(b);
    return oid_text(span(v));
}

TEST(X509Text, OidToText) {
    EXPECT_EQ(oid_of({0x55, 0x04, 0x03}), "2.5.4.3");
    EXPECT_EQ(oid_of({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}),
              "1.2.840.113549.1.9.1");
    EXPECT_EQ(oid_of({0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}),
              "0.9.2342.19200300.100.1.25");
    EXPECT_EQ(oid_of({0x00}), "0.0");
    EXPECT_EQ(oid_of({0x27}), "0.39");
    EXPECT_EQ(oid_of({0x28}), "1.0");
    EXPECT_EQ(oid_of({0x50}), "2.0");
    EXPECT_EQ(oid_of({0x88, 0x37, 0x03}), "2.999.3");
    EXPECT_EQ(oid_of({0x2a, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}),
              "1.2.18446744073709551615");
    // A UUID arc (ITU-T X.667 example), 128 bits.
    EXPECT_EQ(oid_of({0x69, 0x83, 0xf0, 0x9d, 0xa7, 0xeb, 0xcf, 0xde, 0xe0, 0xc7,
                      0xa1, 0xa7, 0xb2, 0xc0, 0x94, 0x8c, 0xc8, 0xf9, 0xd7, 0x76}),
              "2.25.329800735698586629295641978511506172918");
    // The largest arc taken: 2^140 - 1 (20 octets).
    Bytes max = {0x69};
    max.insert(max.end(), 19, 0xff);
    max.push_back(0x7f);
    EXPECT_EQ(oid_text(span(max)), "2.25.1393796574908163946345982392040522594123775");
    // Overlong: 21 octets in one arc.
    Bytes over = {0x69, 0x81};
    over.insert(over.end(), 19, 0x80);
    over.push_back(0x00);
    EXPECT_EQ(oid_text(span(over)), "");
    // And a huge first subidentifier: 2.(2^140 - 1 - 80).
    Bytes first(19, 0xff);
    first.push_back(0x7f);
    EXPECT_EQ(oid_text(span(first)), "2.1393796574908163946345982392040522594123695");
    // Malformed: cut off, non-minimal, empty.
    EXPECT_EQ(oid_of({0x55, 0x04, 0x83}), "");
    EXPECT_EQ(oid_of({0x55, 0x80, 0x03}), "");
    EXPECT_EQ(oid_text(Span{}), "");
    // Too small a buffer: 0 and an empty string, never a partial one.
    const Bytes cn = {0x55, 0x04, 0x03};
    char buf[8];
    std::memset(buf, 'x', sizeof buf);
    EXPECT_EQ(spate::proto::oid_to_text(span(cn), buf, 7), 0u);
    EXPECT_EQ(buf[0], '\0');
    EXPECT_EQ(buf[7], 'x');
    EXPECT_EQ(spate::proto::oid_to_text(span(cn), buf, 8), 7u);
    EXPECT_STREQ(buf, "2.5.4.3");
}

TEST(X509Text, OidNames) {
    auto sn = [](std::initializer_list<uint8_t> b) {
        const Bytes v(b);
        const char* s = spate::proto::oid_short_name(span(v));
        return std::string(s != nullptr ? s : "(null)");
    };
    auto ln = [](std::initializer_list<uint8_t> b) {
        const Bytes v(b);
        const char* s = spate::proto::oid_name(span(v));
        return std::string(s != nullptr ? s : "(null)");
    };
    EXPECT_EQ(sn({0x55, 0x04, 0x03}), "CN");
    EXPECT_EQ(sn({0x55, 0x04, 0x06}), "C");
    EXPECT_EQ(sn({0x55, 0x04, 0x0a}), "O");
    EXPECT_EQ(sn({0x55, 0x04, 0x0b}), "OU");
    EXPECT_EQ(sn({0x55, 0x04, 0x07}), "L");
    EXPECT_EQ(sn({0x55, 0x04, 0x08}), "ST");
    EXPECT_EQ(sn({0x55, 0x04, 0x05}), "serialNumber");
    EXPECT_EQ(sn({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}), "emailAddress");
    EXPECT_EQ(sn({0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}), "DC");
    EXPECT_EQ(sn({0x55, 0x1d, 0x11}), "(null)");  // not an attribute type
    EXPECT_EQ(sn({0x55, 0x04}), "(null)");
    EXPECT_EQ(ln({0x55, 0x04, 0x03}), "commonName");
    EXPECT_EQ(ln({0x55, 0x1d, 0x11}), "subjectAltName");
    EXPECT_EQ(ln({0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}), "id-ecPublicKey");
    EXPECT_EQ(ln({0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}), "prime256v1");
    EXPECT_EQ(ln({0x2b, 0x81, 0x04, 0x00, 0x22}), "secp384r1");
    EXPECT_EQ(ln({0x2b, 0x81, 0x04, 0x00, 0x23}), "secp521r1");
    EXPECT_EQ(ln({0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}), "ecdsa-with-SHA256");
    EXPECT_EQ(ln({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05}), "sha1WithRSAEncryption");
    EXPECT_EQ(ln({0x2b, 0x65, 0x70}), "Ed25519");
    EXPECT_EQ(ln({0x2b, 0x65, 0x71}), "Ed448");
    EXPECT_EQ(ln({0x2a, 0x03}), "(null)");
    EXPECT_EQ(spate::proto::oid_name(Span{}), nullptr);
}

std::string ttext(const char* s, uint8_t tag) {
    return time_text(
        Span{reinterpret_cast<const uint8_t*>(s), static_cast<uint32_t>(std::strlen(s))}, tag);
}

TEST(X509Text, UtcTime) {
    EXPECT_EQ(ttext("170807150417Z", 0x17), "2017-08-07 15:04:17 (UTC)");
    EXPECT_EQ(ttext("491231235959Z", 0x17), "2049-12-31 23:59:59 (UTC)");
    EXPECT_EQ(ttext("500101000000Z", 0x17), "1950-01-01 00:00:00 (UTC)");
    EXPECT_EQ(ttext("000229000000Z", 0x17), "2000-02-29 00:00:00 (UTC)");
    EXPECT_EQ(ttext("991231235960Z", 0x17), "1999-12-31 23:59:60 (UTC)");  // leap second
    // BER forms: no seconds, an offset.
    EXPECT_EQ(ttext("1708071504Z", 0x17), "2017-08-07 15:04 (UTC)");
    EXPECT_EQ(ttext("170807150417+0100", 0x17), "2017-08-07 15:04:17 (UTC+0100)");
    EXPECT_EQ(ttext("1708071504-0530", 0x17), "2017-08-07 15:04 (UTC-0530)");
    // Malformed.
    for (const char* bad :
         {"", "17080715041Z", "170807150417", "170807150417Z0", "171307150417Z", "170800150417Z",
          "170807240417Z", "170807156017Z", "1708071504170Z", "17080715041 Z", "170807150417+01",
          "170807150417+01x0", "2017080715Z"}) {
        EXPECT_EQ(ttext(bad, 0x17), "") << bad;
    }
    EXPECT_EQ(ttext("170807150417Z", 0x13), "");  // not a time tag
    char small[25];  // "2017-08-07 15:04:17 (UTC)" is 25 chars: needs 26
    const char* s = "170807150417Z";
    const Span t{reinterpret_cast<const uint8_t*>(s), 13};
    EXPECT_EQ(spate::proto::time_to_text(t, 0x17, small, sizeof small), 0u);
    char fits[26];
    EXPECT_EQ(spate::proto::time_to_text(t, 0x17, fits, sizeof fits), 25u);
}

TEST(X509Text, GeneralizedTime) {
    EXPECT_EQ(ttext("20240415235959Z", 0x18), "Apr 15, 2024 23:59:59.000000000 UTC");
    EXPECT_EQ(ttext("20500101000000Z", 0x18), "Jan  1, 2050 00:00:00.000000000 UTC");
    EXPECT_EQ(ttext("20491231235959Z", 0x18), "Dec 31, 2049 23:59:59.000000000 UTC");
    EXPECT_EQ(ttext("99991231235959Z", 0x18), "Dec 31, 9999 23:59:59.000000000 UTC");
    EXPECT_EQ(ttext("19700101000000.5Z", 0x18), "Jan  1, 1970 00:00:00.500000000 UTC");
    EXPECT_EQ(ttext("20240415235959.123456789Z", 0x18), "Apr 15, 2024 23:59:59.123456789 UTC");
    EXPECT_EQ(ttext("20240415235959,25Z", 0x18), "Apr 15, 2024 23:59:59.250000000 UTC");
    // An offset is folded into UTC (across a year boundary here).
    EXPECT_EQ(ttext("20240101003000+0100", 0x18), "Dec 31, 2023 23:30:00.000000000 UTC");
    EXPECT_EQ(ttext("20231231233000-0100", 0x18), "Jan  1, 2024 00:30:00.000000000 UTC");
    EXPECT_EQ(ttext("20240229120000Z", 0x18), "Feb 29, 2024 12:00:00.000000000 UTC");
    // Minutes and seconds may be left out (BER).
    EXPECT_EQ(ttext("2024041523Z", 0x18), "Apr 15, 2024 23:00:00.000000000 UTC");
    for (const char* bad :
         {"20240415235959", "20240415235959.Z", "2024041523595Z", "20241315235959Z",
          "20240415235959+01", "2024-04-15 23:59:59Z", "00000101000000+0100"}) {
        EXPECT_EQ(ttext(bad, 0x18), "") << bad;
    }
}

TEST(X509Text, Serial) {
    const Bytes s = {0x00, 0xc0, 0x62, 0xcf};
    EXPECT_EQ(serial_text(span(s)), "00:c0:62:cf");
    EXPECT_EQ(serial_text(Span{}), "");
    char buf[11];  // "00:c0:62:cf" needs 12
    EXPECT_EQ(spate::proto::serial_to_text(span(s), buf, sizeof buf), 0u);
    EXPECT_EQ(buf[0], '\0');
}

TEST(X509Text, NameValues) {
    const Bytes bmp = {0x00, 'S', 0x26, 0x03, 0xd8, 0x3d, 0xde, 0x00};  // "S☃😀"
    EXPECT_EQ(utf8(span(bmp), der::kBmpString), "S\u2603\U0001F600");
    const Bytes odd = {0x00, 'S', 0x00};
    EXPECT_EQ(utf8(span(odd), der::kBmpString), "");
    const Bytes lone_low = {0xdc, 0x00};
    EXPECT_EQ(utf8(span(lone_low), der::kBmpString), "");
    const Bytes lone_high = {0xd8, 0x3d, 0x00, 'a'};
    EXPECT_EQ(utf8(span(lone_high), der::kBmpString), "");
    const Bytes ucs4 = {0x00, 0x00, 0x00, 'A', 0x00, 0x01, 0xf6, 0x00};
    EXPECT_EQ(utf8(span(ucs4), der::kUniversalString), "A\U0001F600");
    const Bytes ucs4_bad = {0x00, 0x11, 0x00, 0x00};
    EXPECT_EQ(utf8(span(ucs4_bad), der::kUniversalString), "");
    // Other types are copied as bytes (a T61String's Latin-1 octet stays one).
    const Bytes t61 = {'c', 0xe9};
    EXPECT_EQ(utf8(span(t61), der::kT61String), "c\xe9");
    const Bytes u = {'a', 'b', 'c'};
    char buf[3];
    EXPECT_EQ(spate::proto::name_value_to_utf8(span(u), der::kUtf8String, buf, sizeof buf), 0u);
    EXPECT_EQ(buf[0], '\0');
    char buf4[4];
    EXPECT_EQ(spate::proto::name_value_to_utf8(span(u), der::kUtf8String, buf4, sizeof buf4), 3u);
    EXPECT_STREQ(buf4, "abc");
}

}  // namespace
