// The tls unit through the worker: hand-built ClientHello / ServerHello /
// Certificate messages in TLS records, cut into TCP segments in every way
// that matters (one segment, three segments, two records, out of order,
// retransmitted, truncated, too big, buffer pool exhausted), and the JSON
// record checked field by field.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "feature_run.hpp"
#include "spate/features/scratch.hpp"
#include "tcp_conn.hpp"

using namespace spate;
using namespace spate::test;

namespace {

void add16(Bytes& b, uint16_t v) {
    put16(b, v);
}
void add24(Bytes& b, uint32_t v) {
    put8(b, uint8_t(v >> 16));
    put16(b, uint16_t(v));
}
Bytes vec16(const Bytes& v) {
    Bytes b;
    add16(b, uint16_t(v.size()));
    return b + v;
}
Bytes vec8(const Bytes& v) {
    Bytes b{uint8_t(v.size())};
    return b + v;
}
Bytes ext(uint16_t type, const Bytes& data) {
    Bytes b;
    add16(b, type);
    return b + vec16(data);
}
/// A TLS 1.3-style ClientHello body with GREASE, SNI, ALPN and key shares.
Bytes client_hello_body(const std::string& sni = "example.com") {
    Bytes b;
    add16(b, 0x0303);
    b = b + zeros(32, 0x11) + vec8(zeros(32, 0x22));
    Bytes cs;
    for (uint16_t s : {0x1a1a, 0x1301, 0x1302, 0xc02b, 0x002f}) {
        add16(cs, s);
    }
    b = b + vec16(cs) + vec8({0});
    Bytes sni_list{0};
    sni_list = sni_list + vec16(str(sni));
    Bytes groups;
    for (uint16_t g : {0x2a2a, 0x001d, 0x0017}) {
        add16(groups, g);
    }
    Bytes sigs;
    for (uint16_t s : {0x0403, 0x0804}) {
        add16(sigs, s);
    }
    Bytes alpn = vec8(str("h2")) + vec8(str("http/1.1"));
    Bytes versions;
    for (uint16_t v : {0x3a3a, 0x0304, 0x0303}) {
        add16(versions, v);
    }
    Bytes share;
    add16(share, 0x001d);
    share = share + vec16(zeros(32, 0x33));
    Bytes exts = ext(0x0a0a, {}) + ext(0, vec16(sni_list)) + ext(10, vec16(groups)) +
                 ext(11, vec8({0})) + ext(13, vec16(sigs)) + ext(16, vec16(alpn)) +
                 ext(43, vec8(versions)) + ext(51, vec16(share)) + ext(21, zeros(40));
    return b + vec16(exts);
}

Bytes handshake(uint8_t type, const Bytes& body) {
    Bytes b{type};
    add24(b, uint32_t(body.size()));
    return b + body;
}

Bytes record(uint8_t type, const Bytes& body, uint16_t version = 0x0301) {
    Bytes b{type};
    add16(b, version);
    add16(b, uint16_t(body.size()));
    return b + body;
}

Bytes server_hello_body(uint16_t suite = 0x1301) {
    Bytes b;
    add16(b, 0x0303);
    b = b + zeros(32, 0x44) + vec8(zeros(32, 0x22));
    add16(b, suite);
    b.push_back(0);
    Bytes sv;
    add16(sv, 0x0304);
    Bytes ks;
    add16(ks, 0x001d);
    ks = ks + vec16(zeros(32, 0x55));
    return b + vec16(ext(43, sv) + ext(51, ks));
}

std::filesystem::path source_root() {
    const char* r = std::getenv("SPATE_SOURCE_ROOT");
    return r != nullptr ? std::filesystem::path(r) : std::filesystem::path(".");
}

Bytes load_der(const std::string& name) {
    std::ifstream f(source_root() / "tests" / "fuzz" / "seeds" / "x509" / name, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

using Conn = TcpConn<443>;
using spate::test::parse;

std::vector<std::string> strings(simdjson::dom::element e) {
    std::vector<std::string> v;
    for (auto x : e.get_array()) {
        v.emplace_back(std::string_view(x));
    }
    return v;
}

std::vector<uint64_t> numbers(simdjson::dom::element e) {
    std::vector<uint64_t> v;
    for (auto x : e.get_array()) {
        v.push_back(uint64_t(x));
    }
    return v;
}

/// The client-side fields every variant of the ClientHello must give.
void expect_client_hello(const std::string& json) {
    auto rec = parse(json);
    auto tls = rec["tls"];
    ASSERT_FALSE(tls.error()) << json;
    EXPECT_EQ(uint64_t(tls["c_version"]), 0x0303u);
    EXPECT_EQ(numbers(tls["cs"].value()),
              (std::vector<uint64_t>{0x1a1a, 0x1301, 0x1302, 0xc02b, 0x002f}));
    EXPECT_EQ(numbers(tls["c_extension_types"].value()),
              (std::vector<uint64_t>{0x0a0a, 0, 10, 11, 13, 16, 43, 51, 21}));
    EXPECT_EQ(std::string_view(tls["sni"]), "example.com");
    EXPECT_EQ(strings(tls["alpn"].value()), (std::vector<std::string>{"h2", "http/1.1"}));
    EXPECT_EQ(numbers(tls["c_supported_versions"].value()),
              (std::vector<uint64_t>{0x3a3a, 0x0304, 0x0303}));
    EXPECT_EQ(numbers(tls["c_key_share_groups"].value()), (std::vector<uint64_t>{0x001d}));
    EXPECT_TRUE(bool(tls["c_grease"]));
    EXPECT_TRUE(tls["incomplete"].error()) << json;
    // JA3 over the non-GREASE values, its MD5 computed here.
    const std::string ja3 = "771,4865-4866-49195-47,0-10-11-13-16-43-51-21,29-23,0";
    auto fp = rec["fingerprints"];
    EXPECT_EQ(std::string_view(fp["ja3_str"]), ja3);
    EXPECT_EQ(std::string_view(fp["ja3"]), md5_hex(ja3));
    // JA4: TLS 1.3, SNI, 4 suites, 8 extensions, ALPN h2.
    EXPECT_EQ(std::string_view(fp["ja4"]).substr(0, 10), "t13d0408h2");
}

features::FeatureConfig cfg() {
    return features::FeatureConfig{};
}

TEST(Tls, ClientHelloInOneSegment) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    c.client(record(22, handshake(1, client_hello_body())));
    expect_client_hello(r.record());
}

TEST(Tls, ClientHelloAcrossThreeSegments) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    Bytes rec = record(22, handshake(1, client_hello_body()));
    c.client(rec, {3, 100});  // the record header itself is cut
    expect_client_hello(r.record());
}

TEST(Tls, ClientHelloAcrossTwoRecords) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    Bytes hs = handshake(1, client_hello_body());
    Bytes a(hs.begin(), hs.begin() + 2);  // even the handshake header is split
    Bytes b(hs.begin() + 2, hs.end());
    c.client(record(22, a) + record(22, b), {7, 60});
    std::string json = r.record();
    expect_client_hello(json);
    auto srlt = parse(json)["tls"]["srlt"];
    ASSERT_EQ(srlt.get_array().size(), 2u);
    EXPECT_EQ(uint64_t(srlt.at(0)["b"]), 2u);
    EXPECT_EQ(uint64_t(srlt.at(1)["b"]), b.size());
}

TEST(Tls, OutOfOrderSegmentsAreReordered) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    Bytes rec = record(22, handshake(1, client_hello_body()));
    c.client(rec, {50, 120, 200}, {0, 2, 3, 1});
    expect_client_hello(r.record());
}

TEST(Tls, RetransmissionsAndOverlapsChangeNothing) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    Bytes rec = record(22, handshake(1, client_hello_body()));
    // Pieces [0,80) [40,160) [0,80) [160,end): overlapping and repeated.
    uint64_t t = 2000 * kMs;
    auto piece = [&](size_t from, size_t to) {
        Bytes p(rec.begin() + long(from), rec.begin() + long(to));
        r.feed(tcp_frame(kC, kS, 40000, 443, seg(0x18, kCisn + 1 + uint32_t(from), kSisn + 1), p),
               t += kMs);
    };
    piece(0, 80);
    piece(40, 160);
    piece(0, 80);
    piece(160, rec.size());
    expect_client_hello(r.record());
}

TEST(Tls, TruncatedHandshakeIsReportedIncomplete) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    Bytes rec = record(22, handshake(1, client_hello_body()));
    rec.resize(rec.size() - 30);  // the last segment never comes
    c.client(rec, {60});
    auto j = parse(r.record());
    auto tls = j["tls"];
    ASSERT_FALSE(tls.error());
    EXPECT_TRUE(tls["cs"].error()) << "no ClientHello fields from half a message";
    EXPECT_EQ(strings(tls["incomplete"].value()),
              (std::vector<std::string>{"c:message_unfinished"}));
}

TEST(Tls, HoleThatNeverFillsIsReportedIncomplete) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    Bytes rec = record(22, handshake(1, client_hello_body()));
    c.client(rec, {50, 100}, {0, 2});  // piece 1 is lost
    auto tls = parse(r.record())["tls"];
    ASSERT_FALSE(tls.error());
    EXPECT_TRUE(tls["cs"].error());
    EXPECT_FALSE(tls["incomplete"].error());
}

TEST(Tls, RecognisedByContentNotPort) {
    FeatureRun r("tls", cfg());
    Conn tls_on_8443{r, 40001, 8443};
    tls_on_8443.open();
    tls_on_8443.client(record(22, handshake(1, client_hello_body("alt.example"))));
    Conn http_on_443{r, 40002, 443};
    http_on_443.open();
    http_on_443.client(str("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    auto recs = r.records();
    ASSERT_EQ(recs.size(), 2u);
    int with_tls = 0;
    for (auto& j : recs) {
        auto e = parse(j);
        if (!e["tls"].error()) {
            ++with_tls;
            EXPECT_EQ(uint64_t(e["dp"]), 8443u);
            EXPECT_EQ(std::string_view(e["tls"]["sni"]), "alt.example");
        }
        // Every TCP flow with a SYN has the TCP fingerprint.
        EXPECT_FALSE(e["fingerprints"]["tcp"].error()) << j;
    }
    EXPECT_EQ(with_tls, 1);
}

TEST(Tls, MessageLargerThanTheBufferIsSkippedAndCounted) {
    features::FeatureConfig c = cfg();
    c.tls_buffer = 1024;
    FeatureRun r("tls", c);
    Conn conn{r};
    conn.open();
    Bytes body = client_hello_body(std::string(1500, 'a'));
    conn.client(record(22, handshake(1, body)), {700});
    auto tls = parse(r.record())["tls"];
    ASSERT_FALSE(tls.error());
    EXPECT_TRUE(tls["cs"].error());
    EXPECT_EQ(strings(tls["incomplete"].value()), (std::vector<std::string>{"c:message_too_big"}));
}

TEST(Tls, ServerHelloCertificateChainAndRecordSequence) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    c.client(record(22, handshake(1, client_hello_body())));
    Bytes leaf = load_der("joy_tls12_selfsigned_rsa2048.der");
    Bytes second = load_der("ndpi_443curl_www_ntop_org.der");
    ASSERT_FALSE(leaf.empty()) << "seed certificates not found under SPATE_SOURCE_ROOT";
    Bytes list;
    add24(list, uint32_t(leaf.size()));
    list = list + leaf;
    add24(list, uint32_t(second.size()));
    list = list + second;
    Bytes cert_body;
    add24(cert_body, uint32_t(list.size()));
    cert_body = cert_body + list;
    Bytes flight = record(22, handshake(2, server_hello_body(0xc02f)), 0x0303) +
                   record(22, handshake(11, cert_body), 0x0303) +
                   record(22, handshake(14, {}), 0x0303);
    c.server(flight, {10, 500, 1400, 2000});
    Bytes cke;
    cke.push_back(65);
    cke = cke + zeros(65, 4);
    c.client(record(22, handshake(16, cke), 0x0303) + record(20, {1}, 0x0303));
    c.server(record(20, {1}, 0x0303) + record(23, zeros(40), 0x0303));
    std::string json = r.record();
    auto j = parse(json);
    auto tls = j["tls"];
    ASSERT_FALSE(tls.error()) << json;
    EXPECT_EQ(uint64_t(tls["scs"]), 0xc02fu);
    EXPECT_EQ(uint64_t(tls["s_version"]), 0x0304u);
    EXPECT_EQ(uint64_t(tls["c_key_length"]), 65u * 8);
    auto certs = tls["s_cert"].get_array();
    ASSERT_EQ(certs.size(), 2u) << json;
    auto leaf_json = certs.at(0);
    EXPECT_EQ(std::string_view(leaf_json["serial_number"]), "00:c0:62:cf:36:80:6f:eb:0d");
    EXPECT_EQ(uint64_t(leaf_json["length"]), leaf.size());
    EXPECT_EQ(std::string_view(leaf_json["validity_not_before"]), "2017-08-07 15:04:17 (UTC)");
    bool cn = false;
    for (auto a : leaf_json["subject"].get_array()) {
        if (std::string_view(a["type"]) == "CN") {
            cn = std::string_view(a["value"]) == "server.blah.com";
        }
    }
    EXPECT_TRUE(cn) << json;
    EXPECT_EQ(uint64_t(leaf_json["public_key_size"]), 2048u);
    // srlt: ClientHello, ServerHello, Certificate, ServerHelloDone, CKE, CCS, CCS, app data.
    std::vector<std::string> seq;
    for (auto e : tls["srlt"].get_array()) {
        seq.push_back(std::string(std::string_view(e["dir"])) + std::to_string(uint64_t(e["tp"])) +
                      (e["hs"].error() ? "" : ":" + std::to_string(uint64_t(e["hs"]))));
    }
    EXPECT_EQ(seq, (std::vector<std::string>{">22:1", "<22:2", "<22:11", "<22:14", ">22:16", ">20",
                                             "<20", "<23"}));
    EXPECT_FALSE(j["fingerprints"]["ja3s"].error());
}

TEST(Tls, SrltIsBounded) {
    features::FeatureConfig c = cfg();
    c.tls_records = 3;
    FeatureRun r("tls", c);
    Conn conn{r};
    conn.open();
    conn.client(record(22, handshake(1, client_hello_body())) + record(20, {1}) +
                record(23, zeros(10)) + record(23, zeros(10)) + record(23, zeros(10)));
    auto tls = parse(r.record())["tls"];
    EXPECT_EQ(tls["srlt"].get_array().size(), 3u);
}

TEST(Tls, ExhaustedBufferPoolTakesTheOldestLeaseBack) {
    features::FeatureConfig c = cfg();
    c.tls_buffers = 1;
    FeatureRun r("tls", c);
    Conn a{r, 40010, 443};
    Conn b{r, 40011, 443};
    a.open();
    b.open();
    Bytes rec = record(22, handshake(1, client_hello_body()));
    Bytes first(rec.begin(), rec.begin() + 100);
    Bytes rest(rec.begin() + 100, rec.end());
    a.client(first);  // a leases the only buffer
    b.client(first);  // b takes it back from a
    a.client(rest);
    b.client(rest);
    int complete = 0;
    int lost = 0;
    for (auto& j : r.records()) {
        auto tls = parse(j)["tls"];
        ASSERT_FALSE(tls.error());
        if (!tls["cs"].error()) {
            ++complete;
        } else if (!tls["incomplete"].error() &&
                   strings(tls["incomplete"].value())[0] == "c:buffer_lost") {
            ++lost;
        }
    }
    EXPECT_EQ(complete, 1);
    EXPECT_EQ(lost, 1);
}

TEST(Tls, NonTlsFirstBytesStopTheDirection) {
    FeatureRun r("tls", cfg());
    Conn c{r};
    c.open();
    c.client(str("SSH-2.0-OpenSSH_9.0\r\n"));
    c.client(record(22, handshake(1, client_hello_body())));  // too late: not a TLS stream
    auto j = parse(r.record());
    EXPECT_TRUE(j["tls"].error());
}

}  // namespace
