#include "spate/proto/fingerprint.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

#include "spate/proto/fingerprint_db.hpp"

namespace spate::proto {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------
// Helpers: a ClientHello built by hand from lists, owning its bytes.

std::vector<uint8_t> be16s(const std::vector<uint16_t>& v) {
    std::vector<uint8_t> b;
    for (uint16_t x : v) {
        b.push_back(static_cast<uint8_t>(x >> 8));
        b.push_back(static_cast<uint8_t>(x));
    }
    return b;
}

Span span(const std::vector<uint8_t>& b) {
    return Span{b.data(), static_cast<uint32_t>(b.size())};
}

/// Owns the bytes every Span of `ch` points to. Fill the vectors, then call
/// finish() (after which the vectors must not change).
struct HelloBuilder {
    uint16_t version = 0x0303;
    bool sslv2 = false;
    std::vector<uint16_t> ciphers;
    std::vector<std::pair<uint16_t, std::vector<uint8_t>>> exts;  // type, data
    std::vector<uint16_t> groups, sigalgs, versions;
    std::vector<uint8_t> point_formats;
    std::string sni;
    bool has_sni = false;
    std::vector<std::string> alpn;

    std::vector<uint8_t> b_ciphers, b_groups, b_sigalgs, b_versions, b_alpn, b_sni;
    ClientHello ch;

    const ClientHello& finish() {
        b_ciphers = be16s(ciphers);
        b_groups = be16s(groups);
        b_sigalgs = be16s(sigalgs);
        b_versions = be16s(versions);
        b_alpn.clear();
        for (const auto& a : alpn) {
            b_alpn.push_back(static_cast<uint8_t>(a.size()));
            b_alpn.insert(b_alpn.end(), a.begin(), a.end());
        }
        b_sni.assign(sni.begin(), sni.end());
        ch = ClientHello{};
        ch.legacy_version = version;
        ch.sslv2 = sslv2;
        ch.cipher_suites = span(b_ciphers);
        ch.supported_groups = span(b_groups);
        ch.signature_algorithms = span(b_sigalgs);
        ch.supported_versions = span(b_versions);
        ch.ec_point_formats = span(point_formats);
        ch.alpn = span(b_alpn);
        if (has_sni) {
            ch.sni = span(b_sni);
        }
        for (const auto& [type, data] : exts) {
            if (ch.extension_count == ClientHello::kMaxExtensions) {
                ch.extensions_truncated = true;
                break;
            }
            ch.extensions[ch.extension_count++] = TlsExtension{type, span(data)};
        }
        return ch;
    }
};

std::string ja3s_of(const ClientHello& ch) {
    char buf[4096];
    size_t n = ja3_string(ch, buf, sizeof buf);
    return std::string(buf, n);
}
std::string ja3h_of(const ClientHello& ch) {
    char buf[kJa3HashBuf];
    return ja3_hash(ch, buf) ? std::string(buf) : std::string("<none>");
}
std::string ja4_of(const ClientHello& ch, TlsTransport t = TlsTransport::tcp) {
    char buf[kJa4Buf];
    size_t n = ja4(ch, t, buf, sizeof buf);
    return n == 0 ? std::string("<none>") : std::string(buf, n);
}
std::string merc_of(const ClientHello& ch) {
    char buf[8192];
    size_t n = tls_fingerprint(ch, buf, sizeof buf);
    return std::string(buf, n);
}
std::string tcp_of(uint16_t win, const std::vector<uint8_t>& o) {
    char buf[512];
    size_t n = tcp_syn_fingerprint(win, o.data(), o.size(), buf, sizeof buf);
    return std::string(buf, n);
}

/// Independent reference digests (one-shot EVP_Digest), lowercase hex.
std::string ref_digest(const char* alg, const std::string& s) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_MD* md = EVP_MD_fetch(nullptr, alg, nullptr);
    EXPECT_NE(md, nullptr);
    EXPECT_EQ(EVP_Digest(s.data(), s.size(), d, &n, md, nullptr), 1);
    EVP_MD_free(md);
    std::string out;
    char h[3];
    for (unsigned i = 0; i < n; ++i) {
        std::snprintf(h, sizeof h, "%02x", d[i]);
        out += h;
    }
    return out;
}

// ---------------------------------------------------------------------------
// JA3 / JA3S

TEST(Ja3, HandBuiltWithGrease) {
    HelloBuilder b;
    b.version = 0x0303;
    b.ciphers = {0x1a1a, 0x1301, 0xc02b, 0x002f};
    b.exts = {{0x2a2a, {}}, {0, {}}, {10, {}}, {11, {}}, {0x3a3a, {}}, {43, {}}};
    b.groups = {0x4a4a, 0x001d, 0x0017};
    b.point_formats = {0};
    const ClientHello& ch = b.finish();
    const std::string s = "771,4865-49195-47,0-10-11-43,29-23,0";
    EXPECT_EQ(ja3s_of(ch), s);
    EXPECT_EQ(ja3h_of(ch), ref_digest("MD5", s));
}

TEST(Ja3, EmptyListsAndSmallBuffer) {
    HelloBuilder b;
    b.version = 0x0301;
    b.ciphers = {0x0005};
    const ClientHello& ch = b.finish();
    EXPECT_EQ(ja3s_of(ch), "769,5,,,");
    char small[8];
    EXPECT_EQ(ja3_string(ch, small, sizeof small), 0u);  // 8 chars + NUL do not fit
    EXPECT_STREQ(small, "");
    char exact[9];
    EXPECT_EQ(ja3_string(ch, exact, sizeof exact), 8u);
    EXPECT_STREQ(exact, "769,5,,,");
}

TEST(Ja3, Sslv2HasNone) {
    HelloBuilder b;
    b.version = 0x0002;
    b.sslv2 = true;
    const ClientHello& ch = b.finish();
    char buf[64] = "x";
    EXPECT_EQ(ja3_string(ch, buf, sizeof buf), 0u);
    EXPECT_STREQ(buf, "");
    char h[kJa3HashBuf];
    EXPECT_FALSE(ja3_hash(ch, h));
    EXPECT_EQ(tls_fingerprint(ch, buf, sizeof buf), 0u);
    EXPECT_EQ(ja4_of(ch), "ts2i000000_000000000000_000000000000");
}

TEST(Ja3s, HandBuilt) {
    ServerHello sh;
    sh.legacy_version = 0x0303;
    sh.cipher_suite = 0x1302;
    sh.extensions[0].type = 43;
    sh.extensions[1].type = 0x5a5a;  // GREASE, removed
    sh.extensions[2].type = 51;
    sh.extension_count = 3;
    char buf[64];
    ASSERT_EQ(ja3s_string(sh, buf, sizeof buf), 14u);
    EXPECT_STREQ(buf, "771,4866,43-51");
    char h[kJa3HashBuf];
    ASSERT_TRUE(ja3s_hash(sh, h));
    EXPECT_STREQ(h, "15af977ce25de452b96affa2addb1036");  // tshark's, zeek__tls__hrr
}

// ---------------------------------------------------------------------------
// JA4

/// The Chrome example of FoxIO technical_details/JA4.md:
/// t13d1516h2_8daaf6152771_e5627efa2ab1 (GREASE and wire order added here).
HelloBuilder spec_chrome() {
    HelloBuilder b;
    b.version = 0x0303;
    b.ciphers = {0x8a8a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
                 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    for (uint16_t t :
         {0xdadaU, 0x0000U, 0x0017U, 0xff01U, 0x000aU, 0x000bU, 0x0023U, 0x0010U, 0x0005U, 0x000dU,
          0x0012U, 0x0033U, 0x002dU, 0x002bU, 0x001bU, 0x4469U, 0x0015U, 0x2a2aU}) {
        b.exts.push_back({static_cast<uint16_t>(t), {}});
    }
    b.sigalgs = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    b.versions = {0x7a7a, 0x0304, 0x0303};
    b.alpn = {"h2", "http/1.1"};
    b.sni = "example.com";
    b.has_sni = true;
    return b;
}

TEST(Ja4, SpecChromeExample) {
    HelloBuilder b = spec_chrome();
    EXPECT_EQ(ja4_of(b.finish()), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    EXPECT_EQ(ja4_of(b.ch, TlsTransport::quic), "q13d1516h2_8daaf6152771_e5627efa2ab1");
    EXPECT_EQ(ja4_of(b.ch, TlsTransport::dtls), "d13d1516h2_8daaf6152771_e5627efa2ab1");
}

TEST(Ja4, SpecVariants) {
    // No SNI extension and no ALPN: 'i', "00", and the counts drop by one each.
    HelloBuilder b = spec_chrome();
    b.has_sni = false;
    b.alpn.clear();
    b.exts.erase(std::remove_if(b.exts.begin(), b.exts.end(),
                                [](const auto& e) { return e.first == 0 || e.first == 16; }),
                 b.exts.end());
    // SNI and ALPN are not in the extension hash, so the hashes stay.
    EXPECT_EQ(ja4_of(b.finish()), "t13i151400_8daaf6152771_e5627efa2ab1");

    // No signature algorithms: the extension hash has no "_..." part.
    HelloBuilder c = spec_chrome();
    c.sigalgs.clear();
    const std::string ext = "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01";
    EXPECT_EQ(ja4_of(c.finish()),
              "t13d1516h2_8daaf6152771_" + ref_digest("SHA256", ext).substr(0, 12));

    // Without supported_versions the legacy version counts.
    HelloBuilder d = spec_chrome();
    d.versions = {0x0a0a};  // only GREASE: ignored
    EXPECT_EQ(ja4_of(d.finish()).substr(0, 4), "t12d");
    d.version = 0x0300;
    EXPECT_EQ(ja4_of(d.finish()).substr(0, 4), "ts3d");
    d.version = 0xfefd;
    EXPECT_EQ(ja4_of(d.finish(), TlsTransport::dtls).substr(0, 4), "dd2d");
    d.version = 0x7f1c;  // unknown (e.g. a draft)
    EXPECT_EQ(ja4_of(d.finish()).substr(0, 4), "t00d");
}

TEST(Ja4, AlpnNonAlphanumeric) {
    HelloBuilder b = spec_chrome();
    b.alpn = {std::string("\xba\xad", 2)};
    EXPECT_EQ(ja4_of(b.finish()).substr(8, 2), "bd");  // per JA4.md: 0xBA 0xAD -> "bd"
    b.alpn = {"h"};
    EXPECT_EQ(ja4_of(b.finish()).substr(8, 2), "hh");
    b.alpn = {"h2-"};  // last char not alphanumeric: hex of 'h' (68) and '-' (2d)
    EXPECT_EQ(ja4_of(b.finish()).substr(8, 2), "6d");
}

TEST(Ja4, EmptyListsAndCaps) {
    HelloBuilder b;
    b.version = 0x0303;
    EXPECT_EQ(ja4_of(b.finish()), "t12i000000_000000000000_000000000000");
    // 120 ciphers, 70 extensions (only 64 stored): counts capped at 99/stored.
    for (uint16_t i = 0; i < 120; ++i) {
        b.ciphers.push_back(static_cast<uint16_t>(0x0100 + i));
    }
    for (uint16_t i = 0; i < 70; ++i) {
        b.exts.push_back({static_cast<uint16_t>(100 + i), {}});
    }
    EXPECT_EQ(ja4_of(b.finish()).substr(0, 10), "t12i996400");
    char small[kJa4Len];
    EXPECT_EQ(ja4(b.ch, TlsTransport::tcp, small, sizeof small), 0u);
}

TEST(Ja4, LongCipherListMatchesReference) {
    // More ciphers than the stack sort holds (512): the selection walk must
    // give the same sorted list, duplicates included.
    for (size_t count : {500u, 513u, 2000u}) {
        HelloBuilder b;
        uint32_t x = 12345;
        for (size_t i = 0; i < count; ++i) {
            x = x * 1103515245u + 12345u;
            b.ciphers.push_back(static_cast<uint16_t>(x >> 16));
        }
        b.ciphers.push_back(b.ciphers[7]);  // a duplicate
        b.ciphers.push_back(0x0a0a);        // GREASE
        std::vector<uint16_t> sorted;
        for (uint16_t c : b.ciphers) {
            if (!is_grease(c)) {
                sorted.push_back(c);
            }
        }
        std::sort(sorted.begin(), sorted.end());
        std::string s;
        char h[8];
        for (size_t i = 0; i < sorted.size(); ++i) {
            std::snprintf(h, sizeof h, "%s%04x", i ? "," : "", sorted[i]);
            s += h;
        }
        EXPECT_EQ(ja4_of(b.finish()).substr(11, 12), ref_digest("SHA256", s).substr(0, 12))
            << count;
    }
}

// ---------------------------------------------------------------------------
// mercury / Joy TLS fingerprint

TEST(TlsFingerprint, DocumentedExample) {
    HelloBuilder b;
    b.ciphers = {0x0a0a, 0x1301, 0xc02b};
    b.exts.push_back({0x1a1a, {}});
    b.exts.push_back({0, {0, 9, 0, 0, 6, 'a', '.', 'b', '.', 'c', 'd'}});  // data not included
    b.exts.push_back({10, {0x00, 0x06, 0x5a, 0x5a, 0x00, 0x1d, 0x00, 0x17}});
    std::vector<uint8_t> alpn = {0x00, 0x0c, 2,   'h', '2', 8,   'h',
                                 't',  't',  'p', '/', '1', '.', '1'};
    b.exts.push_back({16, alpn});
    EXPECT_EQ(merc_of(b.finish()),
              "(0303)(0a0a1301c02b)((0a0a)(0000)(000a000800060a0a001d0017)"
              "(0010000e000c02683208687474702f312e31))");
}

TEST(TlsFingerprint, ExtensionKinds) {
    HelloBuilder b;
    b.version = 0x0301;
    b.ciphers = {0xc014, 0xc00a};
    b.exts.push_back({43, {0x06, 0xea, 0xea, 0x03, 0x04, 0x03, 0x03}});  // supported_versions
    b.exts.push_back({11, {0x01, 0x00}});                                // ec_point_formats
    b.exts.push_back({13, {0x00, 0x02, 0x04, 0x03}});                    // signature_algorithms
    b.exts.push_back({23, {}});                                          // ems: type only
    b.exts.push_back({45, {0x01, 0x01}});                                // psk modes
    b.exts.push_back({51, {0x00, 0x1d, 0x00, 0x01, 0xff}});              // key_share: type only
    b.exts.push_back({21760, {}});                                       // data kind, empty
    b.exts.push_back({0xff01, {0x00}});                                  // renegotiation_info
    // quic_transport_parameters: ids 0x01 (len 2), 0x4005 (2-byte varint id,
    // len 0), 0x0f (len 1); then a truncated parameter that is not listed.
    b.exts.push_back(
        {57, {0x01, 0x02, 0xaa, 0xbb, 0x40, 0x05, 0x00, 0x0f, 0x01, 0x07, 0x03, 0x05}});
    EXPECT_EQ(merc_of(b.finish()),
              "(0301)(c014c00a)((002b0007060a0a03040303)(000b00020100)(000d000400020403)(0017)"
              "(002d00020101)(0033)(55000000)(ff01)((0039)((01)(4005)(0f))))");
    char small[10];
    EXPECT_EQ(tls_fingerprint(b.ch, small, sizeof small), 0u);
    EXPECT_STREQ(small, "");
}

// ---------------------------------------------------------------------------
// TCP SYN fingerprint

TEST(TcpFingerprint, KnownOptionList) {
    // MSS 1460, SACK permitted, timestamps, NOP, window scale 8.
    std::vector<uint8_t> o = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x01, 0x02,
                              0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x08};
    EXPECT_EQ(tcp_of(0xfc00, o), "(fc00)(020405b4)(04)(08)(01)(030308)");
    EXPECT_EQ(tcp_of(0xffff, {}), "(ffff)");
    EXPECT_EQ(tcp_syn_fingerprint(1, nullptr, 0, nullptr, 0), 0u);
}

TEST(TcpFingerprint, MalformedStopsCleanly) {
    // EOL ends the list.
    EXPECT_EQ(tcp_of(0x7210, {0x02, 0x04, 0x05, 0xb4, 0x00, 0x03, 0x03, 0x08}),
              "(7210)(020405b4)(00)");
    // Length running past the end.
    EXPECT_EQ(tcp_of(0x7210, {0x01, 0x03, 0x05, 0x08}), "(7210)(01)");
    // Length < 2 (would loop forever if trusted).
    EXPECT_EQ(tcp_of(0x7210, {0x01, 0x08, 0x00, 0x01}), "(7210)(01)");
    EXPECT_EQ(tcp_of(0x7210, {0x01, 0x08, 0x01}), "(7210)(01)");
    // Length byte missing.
    EXPECT_EQ(tcp_of(0x7210, {0x01, 0x02}), "(7210)(01)");
    // Buffer too small: nothing, not a truncated string.
    std::vector<uint8_t> o = {0x02, 0x04, 0x05, 0xb4};
    char buf[10];
    EXPECT_EQ(tcp_syn_fingerprint(0xfc00, o.data(), o.size(), buf, sizeof buf), 0u);
    EXPECT_STREQ(buf, "");
}

// ---------------------------------------------------------------------------
// A real ClientHello through the parser: ndpi__chrome.pcap frame 4 (the
// handshake body after the 4-byte header). tshark: ja3
// aa50c12a5dfa717d9d6ab34e97de79d5; the oracle's ja4 is FoxIO's Chrome
// example. The mercury string was computed by an independent Python script.

const char kChromeHelloHex[] =
    "0303d77aa0f252cff8ff81a9c82edc42621f8c80d83b0322361c96ae2f2bda7849ce207094dfde2fae965e90"
    "337a4b4c5c840b86caabaca5ab87a6e290440145ae762900209a9a130313011302cca9cca8c02bc02fc02cc0"
    "30c013c014009c009d002f0035010001934a4a000000000013001100000e7777772e6969742e636e722e6974"
    "00170000ff01000100000a000a00086a6a001d00170018000b00020100002300000010000e000c0268320868"
    "7474702f312e31000500050100000000000d0012001004030804040105030805050108060601001200000033"
    "002b00296a6a000100001d00203af18d95cb86205f04c0a3e2b8c68b9026c6a90ef630fe20a68d31ea2525b6"
    "48002d00020101002b000b0a6a6a0304030303020301001b00030200024469000500030268326a6a00010000"
    "1500c50000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000";

std::vector<uint8_t> unhex(std::string_view h) {
    std::vector<uint8_t> v;
    for (size_t i = 0; i + 1 < h.size(); i += 2) {
        v.push_back(static_cast<uint8_t>(std::stoul(std::string(h.substr(i, 2)), nullptr, 16)));
    }
    return v;
}

TEST(RealHello, ChromeThroughParser) {
    const std::vector<uint8_t> body = unhex(kChromeHelloHex);
    ASSERT_EQ(body.size(), 508u);
    ClientHello ch;
    ASSERT_TRUE(parse_client_hello(body.data(), body.size(), ch));
    EXPECT_EQ(ja3h_of(ch), "aa50c12a5dfa717d9d6ab34e97de79d5");
    EXPECT_EQ(ja4_of(ch), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    EXPECT_EQ(merc_of(ch),
              "(0303)(0a0a130313011302cca9cca8c02bc02fc02cc030c013c014009c009d002f0035)("
              "(0a0a)(0000)(0017)(ff01)(000a000a00080a0a001d00170018)(000b00020100)(0023)"
              "(0010000e000c02683208687474702f312e31)(000500050100000000)"
              "(000d0012001004030804040105030805050108060601)(0012)(0033)(002d00020101)"
              "(002b000b0a0a0a0304030303020301)(001b0003020002)(4469)(0a0a)(0015))");
}

// ---------------------------------------------------------------------------
// The tshark oracle

fs::path corpus_dir() {
    if (const char* c = std::getenv("SPATE_CORPUS")) {
        return c;
    }
    return {};
}

uint16_t hexnum(std::string_view s) {
    return static_cast<uint16_t>(std::stoul(std::string(s), nullptr, 16));
}

std::vector<uint16_t> hex_list(simdjson::dom::object o, const char* key) {
    std::vector<uint16_t> v;
    simdjson::dom::array a;
    if (o[key].get_array().get(a) == simdjson::SUCCESS) {
        for (auto e : a) {
            v.push_back(hexnum(std::string_view(e)));
        }
    }
    return v;
}

struct OracleStats {
    size_t hellos = 0, ja3 = 0, ja4 = 0, ja3s = 0, files = 0;
    std::vector<std::string> failures;
};

void check_client_hello(const std::string& where, simdjson::dom::object h, OracleStats& st) {
    ++st.hellos;
    HelloBuilder b;
    b.version = hexnum(std::string_view(h["handshake_version"]));
    b.ciphers = hex_list(h, "cipher_suites");
    for (auto e : simdjson::dom::array(h["extensions"])) {
        b.exts.push_back({static_cast<uint16_t>(int64_t(e)), {}});
    }
    b.groups = hex_list(h, "supported_groups");
    b.sigalgs = hex_list(h, "signature_algorithms");
    b.versions = hex_list(h, "supported_versions");
    simdjson::dom::array a;
    if (h["ec_point_formats"].get_array().get(a) == simdjson::SUCCESS) {
        for (auto e : a) {
            b.point_formats.push_back(static_cast<uint8_t>(int64_t(e)));
        }
    }
    std::string_view s;
    if (h["sni"].get_string().get(s) == simdjson::SUCCESS) {
        b.sni = std::string(s);
        b.has_sni = true;
    }
    if (h["alpn"].get_array().get(a) == simdjson::SUCCESS) {
        for (auto e : a) {
            b.alpn.emplace_back(std::string_view(e));
        }
    }
    b.sslv2 = h["sslv2_cipher_specs"].error() == simdjson::SUCCESS;
    std::string_view transport(h["transport"]);
    TlsTransport t = transport == "quic"   ? TlsTransport::quic
                     : transport == "dtls" ? TlsTransport::dtls
                                           : TlsTransport::tcp;
    const ClientHello& ch = b.finish();

    std::string_view want;
    if (h["ja3_full"].get_string().get(want) == simdjson::SUCCESS) {
        ++st.ja3;
        std::string got = ja3s_of(ch);
        if (got != want) {
            st.failures.push_back(where + " ja3_full: got " + got + " want " + std::string(want));
        }
        std::string_view wh(h["ja3"]);
        if (ja3h_of(ch) != wh) {
            st.failures.push_back(where + " ja3: got " + ja3h_of(ch) + " want " + std::string(wh));
        }
    } else if (!b.sslv2) {
        st.failures.push_back(where + ": no ja3 in the oracle for a non-SSLv2 hello");
    } else if (ja3s_of(ch) != "") {
        st.failures.push_back(where + ": SSLv2 hello got a JA3");
    }
    ++st.ja4;
    std::string_view wj(h["ja4"]);
    if (ja4_of(ch, t) != wj) {
        st.failures.push_back(where + " ja4: got " + ja4_of(ch, t) + " want " + std::string(wj));
    }
}

void check_server_hello(const std::string& where, simdjson::dom::object h, OracleStats& st) {
    ServerHello sh;
    sh.legacy_version = hexnum(std::string_view(h["handshake_version"]));
    sh.cipher_suite = hexnum(std::string_view(h["cipher_suite"]));
    for (auto e : simdjson::dom::array(h["extensions"])) {
        if (sh.extension_count < ServerHello::kMaxExtensions) {
            sh.extensions[sh.extension_count++].type = static_cast<uint16_t>(int64_t(e));
        }
    }
    ++st.ja3s;
    char buf[1024];
    size_t n = ja3s_string(sh, buf, sizeof buf);
    std::string_view want(h["ja3s_full"]);
    if (std::string_view(buf, n) != want) {
        st.failures.push_back(where + " ja3s_full: got " + std::string(buf, n) + " want " +
                              std::string(want));
    }
    char hash[kJa3HashBuf];
    std::string_view wh(h["ja3s"]);
    if (!ja3s_hash(sh, hash) || std::string_view(hash) != wh) {
        st.failures.push_back(where + " ja3s: got " + hash + " want " + std::string(wh));
    }
}

TEST(Oracle, Ja3Ja3sJa4MatchTshark) {
    const fs::path dir = corpus_dir() / "oracle";
    if (corpus_dir().empty() || !fs::is_directory(dir)) {
        GTEST_SKIP() << "tshark oracle not found: set SPATE_CORPUS to the corpus directory "
                        "(looked for '"
                     << dir.string() << "')";
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.is_regular_file() && e.path().extension() == ".jsonl") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    OracleStats st;
    simdjson::dom::parser parser;
    for (const auto& f : files) {
        ++st.files;
        std::ifstream in(f);
        std::string line;
        size_t line_no = 0;
        while (std::getline(in, line)) {
            ++line_no;
            simdjson::dom::element doc;
            ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << f << ":" << line_no;
            simdjson::dom::object tls;
            if (doc["tls"].get_object().get(tls) != simdjson::SUCCESS) {
                continue;
            }
            const std::string where = f.filename().string() + ":" + std::to_string(line_no);
            simdjson::dom::array a;
            if (tls["client_hellos"].get_array().get(a) == simdjson::SUCCESS) {
                for (auto h : a) {
                    check_client_hello(where, h.get_object(), st);
                }
            }
            if (tls["server_hellos"].get_array().get(a) == simdjson::SUCCESS) {
                for (auto h : a) {
                    check_server_hello(where, h.get_object(), st);
                }
            }
        }
    }
    std::printf(
        "oracle: %zu files, %zu client hellos; compared JA3 %zu, JA4 %zu, JA3S %zu; "
        "%zu mismatches\n",
        st.files, st.hellos, st.ja3, st.ja4, st.ja3s, st.failures.size());
    for (const auto& m : st.failures) {
        ADD_FAILURE() << m;
    }
    EXPECT_GT(st.hellos, 0u);
}

// ---------------------------------------------------------------------------
// Fingerprint database

fs::path sample_db() {
    const char* root = std::getenv("SPATE_SOURCE_ROOT");
    return fs::path(root != nullptr ? root : ".") / "tests" / "data" / "fingerprint_db_sample.json";
}

TEST(FingerprintDb, SampleMatches) {
    const fs::path p = sample_db();
    if (!fs::exists(p)) {
        GTEST_SKIP() << "sample db not found: set SPATE_SOURCE_ROOT (looked for " << p << ")";
    }
    FingerprintDb db = FingerprintDb::load(p.string());
    EXPECT_EQ(db.size(), 4u);

    // The first line is the fingerprint of DocumentedExample's hello.
    HelloBuilder b;
    b.ciphers = {0x0a0a, 0x1301, 0xc02b};
    b.exts.push_back({0x1a1a, {}});
    b.exts.push_back({0, {}});
    b.exts.push_back({10, {0x00, 0x06, 0x5a, 0x5a, 0x00, 0x1d, 0x00, 0x17}});
    b.exts.push_back({16, {0x00, 0x0c, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'}});
    char fp[1024];
    ASSERT_GT(tls_fingerprint(b.finish(), fp, sizeof fp), 0u);
    const FingerprintMatch* m = db.find(fp);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->process, "firefox");
    EXPECT_EQ(m->category, "browser");
    EXPECT_EQ(m->os, "(Darwin)(21.6.0)");
    EXPECT_DOUBLE_EQ(m->prevalence, 0.7);
    EXPECT_EQ(m->count, 7u);
    EXPECT_EQ(m->total_count, 10u);

    // Given prevalence, no category, no os, total from the process counts.
    m = db.find("(0301)(c014c00a0039)((0000)(000b000403000102))");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->process, "python");
    EXPECT_EQ(m->category, "");
    EXPECT_EQ(m->os, "");
    EXPECT_DOUBLE_EQ(m->prevalence, 0.25);
    EXPECT_EQ(m->total_count, 4u);

    // No process_info: os from the line's os_info.
    m = db.find("(0302)(002f)()");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->process, "");
    EXPECT_EQ(m->os, "(FreeBSD)");
    EXPECT_DOUBLE_EQ(m->prevalence, 0.0);

    // Floating point counts; the highest count wins.
    m = db.find("(0303)(c02f)((ff01))");
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->process, "okhttp");
    EXPECT_DOUBLE_EQ(m->prevalence, 0.75);

    EXPECT_EQ(db.find("(0303)(c02f)((ff02))"), nullptr);
    EXPECT_EQ(db.find(""), nullptr);
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "<no exception>";
}

TEST(FingerprintDb, Errors) {
    const std::string good = R"x({"str_repr": "(0303)(00)()"})x";
    // Line 3 is not JSON (line 2 is blank and still counted).
    std::string msg =
        error_of([&] { FingerprintDb::parse(good + "\n\n{\"str_repr\": \n", "mem.json"); });
    EXPECT_NE(msg.find("mem.json:3"), std::string::npos) << msg;
    // Lacks str_repr.
    msg = error_of([&] { FingerprintDb::parse(good + "\n{\"process_info\": []}\n", "x.json"); });
    EXPECT_NE(msg.find("x.json:2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("str_repr"), std::string::npos) << msg;
    // str_repr not a string; a line that is not an object.
    msg = error_of([&] { FingerprintDb::parse("{\"str_repr\": 5}", "y.json"); });
    EXPECT_NE(msg.find("y.json:1"), std::string::npos) << msg;
    msg = error_of([&] { FingerprintDb::parse(good + "\n[1,2]", "z.json"); });
    EXPECT_NE(msg.find("z.json:2"), std::string::npos) << msg;

    // The same through a file.
    const fs::path tmp =
        fs::temp_directory_path() / ("spate_fpdb_" + std::to_string(::getpid()) + ".json");
    {
        std::ofstream(tmp) << good << "\n"
                           << good << "\n"
                           << "{\"str_repr\": \"a\",}\n";
    }
    msg = error_of([&] { FingerprintDb::load(tmp.string()); });
    EXPECT_NE(msg.find(tmp.string() + ":3"), std::string::npos) << msg;
    fs::remove(tmp);

    // Missing file.
    msg = error_of([] { FingerprintDb::load("/nonexistent/spate/fp_db.json"); });
    EXPECT_NE(msg.find("/nonexistent/spate/fp_db.json"), std::string::npos) << msg;

    // Empty text: an empty database; a trailing line without newline works.
    EXPECT_EQ(FingerprintDb::parse("", "e").size(), 0u);
    EXPECT_EQ(FingerprintDb::parse(good, "e").size(), 1u);
}

}  // namespace
}  // namespace spate::proto
