// The dns unit: the parser on hand-built messages (compression, pointer
// loops, names over 255 bytes, labels past the end), and the unit through
// the worker: UDP queries and responses, every decoded rdata type, DNS over
// TCP split one byte per segment and two messages in one segment, the
// per-flow bound, mDNS and LLMNR, recognition by content off the usual ports.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "feature_run.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/dns.hpp"
#include "tcp_conn.hpp"

using namespace spate;
using namespace spate::test;

namespace {

/// A name in wire form ("www.example.com" -> 3www7example3com0).
Bytes wire_name(const std::string& n) {
    Bytes b;
    size_t at = 0;
    while (at < n.size()) {
        size_t dot = n.find('.', at);
        if (dot == std::string::npos) {
            dot = n.size();
        }
        b.push_back(uint8_t(dot - at));
        b.insert(b.end(), n.begin() + long(at), n.begin() + long(dot));
        at = dot + 1;
    }
    b.push_back(0);
    return b;
}

Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
             uint16_t ar = 0) {
    Bytes b;
    put16(b, id);
    put16(b, flags);
    put16(b, qd);
    put16(b, an);
    put16(b, ns);
    put16(b, ar);
    return b;
}

Bytes question(const Bytes& name, uint16_t type, uint16_t cls = 1) {
    Bytes b = name;
    put16(b, type);
    put16(b, cls);
    return b;
}

Bytes rr(const Bytes& name, uint16_t type, uint32_t ttl, const Bytes& rdata, uint16_t cls = 1) {
    Bytes b = name;
    put16(b, type);
    put16(b, cls);
    put32(b, ttl);
    put16(b, uint16_t(rdata.size()));
    return b + rdata;
}

Bytes ptr(uint16_t off) {
    return Bytes{uint8_t(0xc0 | off >> 8), uint8_t(off)};
}

Bytes query(uint16_t id, const std::string& name, uint16_t type) {
    return header(id, 0x0100, 1, 0) + question(wire_name(name), type);
}

/// A response to `name` with answers of every decoded type (names compressed
/// against the question at offset 12).
Bytes big_response(uint16_t id) {
    Bytes b = header(id, 0x8180, 1, 10, 1, 1) + question(wire_name("example.com"), 1);
    const Bytes q = ptr(12);
    b = b + rr(q, 1, 300, {93, 184, 216, 34});
    Bytes v6 = zeros(16);
    v6[0] = 0x20;
    v6[1] = 0x01;
    v6[2] = 0x0d;
    v6[3] = 0xb8;
    v6[15] = 1;
    b = b + rr(q, 28, 60, v6);
    b = b + rr(q, 5, 10, Bytes{3, 'w', 'w', 'w'} + ptr(12));
    Bytes mx;
    put16(mx, 10);
    b = b + rr(q, 15, 20, mx + Bytes{4, 'm', 'a', 'i', 'l'} + ptr(12));
    Bytes srv;
    put16(srv, 1);
    put16(srv, 5);
    put16(srv, 5060);
    b = b + rr(q, 33, 30, srv + Bytes{3, 's', 'i', 'p'} + ptr(12));
    b = b + rr(q, 16, 40, Bytes{5, 'h', 'e', 'l', 'l', 'o', 0, 5, 'a', '"', 'b', 0x01, '\\'});
    b = b + rr(q, 12, 50, wire_name("host.example.net"));
    b = b + rr(q, 2, 60, Bytes{3, 'n', 's', '1'} + ptr(12));
    Bytes https;
    put16(https, 1);
    b = b + rr(q, 65, 70, https + Bytes{0} + Bytes{0, 1, 0, 3, 2, 'h', '2'});
    b = b + rr(q, 99, 80, Bytes{1, 2, 3});  // SPF: type and length only
    Bytes soa = Bytes{2, 'n', 's'} + ptr(12) + Bytes{4, 'r', 'o', 'o', 't'} + ptr(12);
    for (uint32_t v : {2024010101u, 7200u, 3600u, 1209600u, 300u}) {
        put32(soa, v);
    }
    b = b + rr(q, 6, 90, soa);
    Bytes opt;
    b = b + rr(Bytes{0}, 41, 0x00008000, opt, 1232);
    return b;
}

Bytes udp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, const Bytes& payload) {
    return eth(kIpv4, ipv4(s, d, 17, udp(sp, dp, payload)));
}

Bytes framed(const Bytes& m) {
    Bytes b;
    put16(b, uint16_t(m.size()));
    return b + m;
}

features::FeatureConfig cfg(uint32_t bytes = 4096) {
    features::FeatureConfig c;
    c.dns_bytes = bytes;
    c.tls_buffer = 2048;
    c.tls_buffers = 8;
    return c;
}

std::string str(simdjson::dom::element e) {
    return std::string(std::string_view(e));
}

using Conn = TcpConn<53>;
using spate::test::parse;

// ---- the parser ----

std::string name_at(const Bytes& m, uint32_t at, proto::DnsError& err) {
    char out[proto::kDnsNameText];
    uint32_t len = 0;
    uint32_t after = 0;
    err = proto::dns_read_name(m.data(), uint32_t(m.size()), at, after, out, len);
    return std::string(out, len);
}

TEST(DnsParser, CompressedNamesAndEscapes) {
    Bytes m = header(1, 0x8180, 1, 1) + question(wire_name("a.example.com"), 1);
    m = m + rr(Bytes{3, 'x', '.', 'y'} + ptr(14), 1, 1, {1, 2, 3, 4});
    proto::DnsError e;
    EXPECT_EQ(name_at(m, 12, e), "a.example.com");
    EXPECT_EQ(e, proto::DnsError::none);
    // "x.y" label (a dot inside a label is escaped) + pointer to "example.com".
    EXPECT_EQ(name_at(m, 12 + 15 + 4, e), "x\\.y.example.com");
    EXPECT_EQ(e, proto::DnsError::none);
    EXPECT_EQ(name_at(Bytes{0}, 0, e), ".");
    EXPECT_EQ(proto::dns_validate(m.data(), uint32_t(m.size())).error, proto::DnsError::none);
    EXPECT_TRUE(proto::dns_looks_like(m.data(), uint32_t(m.size())));
}

TEST(DnsParser, PointerLoopsAreCaught) {
    proto::DnsError e;
    // A pointer to itself.
    Bytes self = header(1, 0x0100, 1, 0) + ptr(12) + Bytes{0, 1, 0, 1};
    name_at(self, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_loop);
    // Two pointers to each other (12 -> 14 -> 12), and a forward pointer.
    Bytes pair = header(1, 0x0100, 1, 0) + ptr(14) + ptr(12);
    name_at(pair, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_loop);
    name_at(pair, 14, e);
    EXPECT_EQ(e, proto::DnsError::name_loop);
    // A backward pointer into a run of labels that leads to the pointer again.
    Bytes back = header(1, 0x0100, 1, 0) + Bytes{1, 'a'} + ptr(12);
    name_at(back, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_loop);
    EXPECT_EQ(proto::dns_validate(back.data(), uint32_t(back.size())).error,
              proto::DnsError::name_loop);
}

TEST(DnsParser, NamesOver255BytesAndLabelsPastTheEnd) {
    proto::DnsError e;
    // 5 labels of 63 bytes: 320 bytes on the wire.
    Bytes longname;
    for (int i = 0; i < 5; ++i) {
        longname.push_back(63);
        Bytes l = zeros(63, 'a');
        longname = longname + l;
    }
    longname.push_back(0);
    Bytes m = header(1, 0x0100, 1, 0) + question(longname, 1);
    name_at(m, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_too_long);
    // Exactly 255 is allowed: 3 x 63 + 1 x 61 labels + root = 4*64 - 2 + 1 = 255.
    Bytes edge;
    for (int i = 0; i < 3; ++i) {
        edge.push_back(63);
        edge = edge + zeros(63, 'b');
    }
    edge.push_back(61);
    edge = edge + zeros(61, 'c');
    edge.push_back(0);
    ASSERT_EQ(edge.size(), 255u);
    Bytes ok = header(1, 0x0100, 1, 0) + question(edge, 1);
    EXPECT_EQ(name_at(ok, 12, e).size(), 253u);  // 250 bytes + 3 dots
    EXPECT_EQ(e, proto::DnsError::none);
    // A label that runs past the end, a pointer cut in half, a bad label type.
    Bytes past = header(1, 0x0100, 1, 0) + Bytes{10, 'a', 'b'};
    name_at(past, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_past_end);
    Bytes half = header(1, 0x0100, 1, 0) + Bytes{0xc0};
    name_at(half, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_past_end);
    Bytes ext = header(1, 0x0100, 1, 0) + Bytes{0x41, 0};
    name_at(ext, 12, e);
    EXPECT_EQ(e, proto::DnsError::name_bad_label);
    // Pointer chains are bounded: with backward-only pointers a chain of 64
    // jumps is the most that can be followed.
    Bytes chain = header(1, 0x0100, 0, 0) + Bytes{0};
    for (int i = 0; i < 80; ++i) {
        chain = chain + ptr(uint16_t(chain.size() - (i == 0 ? 1 : 2)));
    }
    name_at(chain, uint32_t(chain.size() - 2), e);
    EXPECT_EQ(e, proto::DnsError::name_loop);
    name_at(chain, 13 + 2 * 10, e);
    EXPECT_EQ(e, proto::DnsError::none);
}

TEST(DnsParser, RecordsPastTheEndAndBadRdata) {
    Bytes m =
        header(1, 0x8180, 1, 1) + question(wire_name("a.b"), 1) + rr(ptr(12), 1, 5, {1, 2, 3, 4});
    Bytes cut(m.begin(), m.end() - 2);
    EXPECT_EQ(proto::dns_validate(cut.data(), uint32_t(cut.size())).error,
              proto::DnsError::rdata_past_end);
    Bytes hdr_cut(m.begin(), m.begin() + 12 + 5 + 4 + 2 + 5);
    EXPECT_EQ(proto::dns_validate(hdr_cut.data(), uint32_t(hdr_cut.size())).error,
              proto::DnsError::record_past_end);
    Bytes bad_a =
        header(1, 0x8180, 1, 1) + question(wire_name("a.b"), 1) + rr(ptr(12), 1, 5, {1, 2, 3});
    EXPECT_EQ(proto::dns_validate(bad_a.data(), uint32_t(bad_a.size())).error,
              proto::DnsError::rdata_bad);
    EXPECT_EQ(proto::dns_validate(m.data(), 11).error, proto::DnsError::short_header);
    EXPECT_FALSE(proto::dns_looks_like(cut.data(), uint32_t(cut.size())));
}

// ---- the unit through the worker ----

TEST(DnsUnit, UdpQueryAndResponseWithEveryDecodedType) {
    FeatureRun r("dns", cfg());
    r.feed(udp_frame(kC, kS, 33000, 53, query(0x1234, "example.com", 1)), 1000 * kMs);
    r.feed(udp_frame(kS, kC, 53, 33000, big_response(0x1234)), 1001 * kMs);
    auto rec = parse(r.record());
    auto dns = rec["dns"].get_array();
    ASSERT_EQ(dns.size(), 2u);
    auto q = dns.at(0);
    EXPECT_EQ(str(q["dir"]), ">");
    EXPECT_EQ(int64_t(q["id"]), 0x1234);
    EXPECT_EQ(str(q["qr"]), "query");
    EXPECT_EQ(str(q["qn"]), "example.com");
    EXPECT_EQ(str(q["qt_name"]), "A");
    EXPECT_EQ(int64_t(q["qt"]), 1);
    EXPECT_EQ(int64_t(q["class"]), 1);
    EXPECT_EQ(str(q["flags"]), "rd");
    EXPECT_TRUE(q["answers"].error());
    auto a = dns.at(1);
    EXPECT_EQ(str(a["dir"]), "<");
    EXPECT_EQ(str(a["qr"]), "response");
    EXPECT_EQ(int64_t(a["rc"]), 0);
    EXPECT_EQ(str(a["flags"]), "qr rd ra");
    auto ans = a["answers"].get_array();
    ASSERT_EQ(ans.size(), 10u);
    auto data = [&](size_t i) { return str(ans.at(i)["data"]); };
    EXPECT_EQ(str(ans.at(0)["name"]), "example.com");
    EXPECT_EQ(str(ans.at(0)["type_name"]), "A");
    EXPECT_EQ(int64_t(ans.at(0)["type"]), 1);
    EXPECT_EQ(int64_t(ans.at(0)["ttl"]), 300);
    EXPECT_EQ(data(0), "93.184.216.34");
    EXPECT_EQ(data(1), "2001:db8::1");
    EXPECT_EQ(str(ans.at(2)["type_name"]), "CNAME");
    EXPECT_EQ(data(2), "www.example.com");
    EXPECT_EQ(data(3), "10 mail.example.com");
    EXPECT_EQ(data(4), "1 5 5060 sip.example.com");
    // TXT: "data" in zone-file form (a string, as for every type), "txt" the strings.
    EXPECT_EQ(data(5), R"("hello" "" "a\"b\001\\")");
    auto txt = ans.at(5)["txt"].get_array();
    ASSERT_EQ(txt.size(), 3u);
    EXPECT_EQ(str(txt.at(0)), "hello");
    EXPECT_EQ(str(txt.at(1)), "");
    EXPECT_EQ(str(txt.at(2)), std::string("a\"b\x01\\"));
    EXPECT_EQ(data(6), "host.example.net");
    EXPECT_EQ(str(ans.at(7)["type_name"]), "NS");
    EXPECT_EQ(data(7), "ns1.example.com");
    EXPECT_EQ(str(ans.at(8)["type_name"]), "HTTPS");
    EXPECT_EQ(data(8), "1 .");
    EXPECT_EQ(str(ans.at(9)["type_name"]), "SPF");
    EXPECT_TRUE(ans.at(9)["data"].error());
    EXPECT_EQ(int64_t(ans.at(9)["len"]), 3);
    auto soa = a["authority"].at(0);
    EXPECT_EQ(str(soa["type_name"]), "SOA");
    EXPECT_EQ(str(soa["data"]), "ns.example.com root.example.com 2024010101 7200 3600 1209600 300");
    auto opt = a["additional"].at(0);
    EXPECT_EQ(str(opt["name"]), ".");
    EXPECT_EQ(str(opt["type_name"]), "OPT");
    EXPECT_EQ(int64_t(opt["udp_size"]), 1232);
    EXPECT_TRUE(bool(opt["do"]));
    EXPECT_TRUE(opt["ttl"].error());
    EXPECT_TRUE(rec["dns_truncated"].error());
}

TEST(DnsUnit, MalformedNamesAreFlaggedNotFatal) {
    FeatureRun r("dns", cfg());
    // A response whose answer name is a pointer loop: the question is kept,
    // the message flagged.
    Bytes loop = header(7, 0x8180, 1, 1) + question(wire_name("a.b"), 1) + ptr(21) + ptr(19);
    r.feed(udp_frame(kC, kS, 33001, 53, query(7, "a.b", 1)), 1000 * kMs);
    r.feed(udp_frame(kS, kC, 53, 33001, loop), 1001 * kMs);
    auto rec = parse(r.record());
    auto dns = rec["dns"].get_array();
    ASSERT_EQ(dns.size(), 2u);
    EXPECT_EQ(str(dns.at(1)["qn"]), "a.b");
    EXPECT_EQ(str(dns.at(1)["malformed"]), "name_loop");
    EXPECT_TRUE(dns.at(0)["malformed"].error());
    // The answer whose owner name loops has no "name" (never null).
    auto ans = dns.at(1)["answers"];
    if (!ans.error()) {
        for (auto a : ans.get_array()) {
            EXPECT_TRUE(a["name"].error());
        }
    }
}

TEST(DnsUnit, UnknownTypesAreNumbersWithRfc3597Names) {
    FeatureRun r("dns", cfg());
    // A query and an answer of type 65280 (private use): the type is the
    // number, its name TYPE65280; the rdata is given by length.
    Bytes resp = header(9, 0x8180, 1, 1) + question(wire_name("x.example"), 65280) +
                 rr(ptr(12), 65280, 30, Bytes{1, 2, 3, 4, 5});
    r.feed(udp_frame(kC, kS, 33002, 53, query(9, "x.example", 65280)), 1000 * kMs);
    r.feed(udp_frame(kS, kC, 53, 33002, resp), 1001 * kMs);
    auto rec = parse(r.record());
    auto dns = rec["dns"].get_array();
    ASSERT_EQ(dns.size(), 2u);
    EXPECT_EQ(int64_t(dns.at(0)["qt"]), 65280);
    EXPECT_EQ(str(dns.at(0)["qt_name"]), "TYPE65280");
    auto an = dns.at(1)["answers"].at(0);
    EXPECT_EQ(int64_t(an["type"]), 65280);
    EXPECT_EQ(str(an["type_name"]), "TYPE65280");
    EXPECT_EQ(int64_t(an["len"]), 5);
    EXPECT_TRUE(an["data"].error());
}

TEST(DnsUnit, TcpMessageOneBytePerSegment) {
    FeatureRun r("dns", cfg());
    Conn c{r};
    c.open();
    const Bytes q = framed(query(42, "example.com", 28));
    for (uint8_t b : q) {
        c.client(Bytes{b});
    }
    const Bytes resp = framed(big_response(42));
    for (uint8_t b : resp) {
        c.server(Bytes{b});
    }
    auto rec = parse(r.record());
    auto dns = rec["dns"].get_array();
    ASSERT_EQ(dns.size(), 2u);
    EXPECT_TRUE(bool(dns.at(0)["tcp"]));
    EXPECT_EQ(str(dns.at(0)["qt_name"]), "AAAA");
    EXPECT_EQ(dns.at(1)["answers"].get_array().size(), 10u);
    EXPECT_TRUE(dns.at(1)["malformed"].error());
    EXPECT_TRUE(rec["dns_gap"].error());
}

TEST(DnsUnit, TwoTcpMessagesInOneSegmentAndOutOfOrder) {
    FeatureRun r("dns", cfg());
    Conn c{r};
    c.open();
    c.client(framed(query(1, "a.example", 1)) + framed(query(2, "b.example", 28)));
    // The server's two responses arrive out of order, cut mid-message.
    const Bytes both = framed(big_response(1)) + framed(big_response(2));
    const uint32_t base = c.sbase;
    const size_t cut = 100;
    r.feed(tcp_frame(kS, kC, 53, 40000, seg(0x18, base + uint32_t(cut), c.cbase),
                     Bytes(both.begin() + cut, both.end())),
           c.t += kMs);
    r.feed(tcp_frame(kS, kC, 53, 40000, seg(0x18, base, c.cbase),
                     Bytes(both.begin(), both.begin() + cut)),
           c.t += kMs);
    auto rec = parse(r.record());
    auto dns = rec["dns"].get_array();
    ASSERT_EQ(dns.size(), 4u);
    EXPECT_EQ(str(dns.at(0)["qn"]), "a.example");
    EXPECT_EQ(str(dns.at(1)["qn"]), "b.example");
    EXPECT_EQ(int64_t(dns.at(2)["id"]), 1);
    EXPECT_EQ(int64_t(dns.at(3)["id"]), 2);
    EXPECT_EQ(dns.at(3)["answers"].get_array().size(), 10u);
}

TEST(DnsUnit, PerFlowBoundCutsAndCounts) {
    // 512 bytes of arena: the query fits, the big response is cut, the
    // later messages are dropped and counted.
    FeatureRun r("dns", cfg(512));
    uint64_t t = 1000 * kMs;
    const Bytes resp = big_response(9);
    ASSERT_GT(resp.size(), 250u);
    for (int i = 0; i < 2; ++i) {
        r.feed(udp_frame(kC, kS, 33002, 53, query(9, "example.com", 1)), t += kMs);
        r.feed(udp_frame(kS, kC, 53, 33002, resp), t += kMs);
    }
    for (int i = 0; i < 5; ++i) {
        r.feed(udp_frame(kC, kS, 33002, 53, query(10, "example.com", 1)), t += kMs);
    }
    auto rec = parse(r.record());
    EXPECT_TRUE(bool(rec["dns_truncated"]));
    auto dns = rec["dns"].get_array();
    ASSERT_GE(dns.size(), 2u);
    size_t kept = dns.size();
    EXPECT_EQ(int64_t(rec["dns_dropped"]), int64_t(9 - kept));
    bool saw_cut = false;
    for (auto m : dns) {
        if (!m["cut"].error()) {
            saw_cut = true;
            EXPECT_GT(int64_t(m["len"]), 0);
            EXPECT_TRUE(m["malformed"].error());
        }
    }
    EXPECT_TRUE(saw_cut);
}

TEST(DnsUnit, CountersThroughTheScratch) {
    features::FeatureConfig c = cfg(512);
    features::FeatureSet fs = features::FeatureSet::parse("dns", c);
    auto scratch = fs.make_scratch();
    std::vector<uint8_t> state(fs.state_bytes() + 8);
    fs.init(state.data());
    auto send = [&](uint8_t dir, const Bytes& m) {
        parse::DecodedPacket p;
        p.key.proto = 17;
        p.key.sport = dir == 0 ? 33000 : 53;
        p.key.dport = dir == 0 ? 53 : 33000;
        p.payload_len = uint32_t(m.size());
        features::PacketView v{};
        v.pkt = &p;
        v.payload = m.data();
        v.payload_cap = uint32_t(m.size());
        v.dir = dir;
        v.scratch = scratch.get();
        fs.update(state.data(), v);
    };
    send(0, query(1, "a.b", 1));
    send(1, header(1, 0x8180, 1, 1) + question(wire_name("a.b"), 1) + ptr(12 + 5 + 4) +
                Bytes{0});  // a loop in the answer name
    send(1, big_response(1));
    send(1, big_response(1));  // cut
    for (int i = 0; i < 3; ++i) {
        send(0, query(2, "a.b", 1));  // dropped
    }
    EXPECT_EQ(scratch->dns.messages, 7u);
    EXPECT_EQ(scratch->dns.malformed, 1u);
    EXPECT_EQ(scratch->dns.truncated, 4u);
    fs.release(state.data(), scratch.get());
}

TEST(DnsUnit, MdnsAndLlmnr) {
    FeatureRun r("dns", cfg());
    const V4 group{224, 0, 0, 251};
    // mDNS query with the unicast-response bit, then an announcement with
    // the cache-flush bit and no question.
    Bytes q = header(0, 0, 1, 0) + question(wire_name("printer._ipp._tcp.local"), 12, 0x8001);
    r.feed(udp_frame(kC, group, 5353, 5353, q), 1000 * kMs);
    Bytes ann =
        header(0, 0x8400, 0, 1) + rr(wire_name("printer.local"), 1, 120, {10, 0, 0, 9}, 0x8001);
    r.feed(udp_frame(kS, group, 5353, 5353, ann), 1001 * kMs);
    const V4 llmnr{224, 0, 0, 252};
    r.feed(udp_frame(kC, llmnr, 50000, 5355, query(77, "wpad", 1)), 1002 * kMs);
    auto recs = r.records();
    ASSERT_EQ(recs.size(), 3u);
    int mdns = 0;
    int ll = 0;
    for (auto& line : recs) {
        auto rec = parse(line);
        auto m = rec["dns"].at(0);
        if (str(m["dialect"]) == "mdns") {
            ++mdns;
            if (str(m["qr"]) == "query") {
                EXPECT_EQ(str(m["qt_name"]), "PTR");
                EXPECT_EQ(int64_t(m["class"]), 1);
                EXPECT_TRUE(bool(m["qu"]));
            } else {
                auto a = m["answers"].at(0);
                EXPECT_EQ(str(a["data"]), "10.0.0.9");
                EXPECT_TRUE(bool(a["flush"]));
                EXPECT_TRUE(a["class"].error());
                EXPECT_TRUE(m["qn"].error());
            }
        } else {
            ++ll;
            EXPECT_EQ(str(m["dialect"]), "llmnr");
            EXPECT_EQ(str(m["qn"]), "wpad");
        }
    }
    EXPECT_EQ(mdns, 2);
    EXPECT_EQ(ll, 1);
}

TEST(DnsUnit, RecognisedByContentOffTheUsualPorts) {
    FeatureRun r("dns", cfg());
    r.feed(udp_frame(kC, kS, 40001, 8053, query(5, "example.org", 1)), 1000 * kMs);
    r.feed(udp_frame(kS, kC, 8053, 40001, big_response(5)), 1001 * kMs);
    // Not DNS: random-looking datagrams on another flow.
    for (int i = 0; i < 10; ++i) {
        r.feed(udp_frame(kC, kS, 40002, 9999, zeros(40, uint8_t(0x41 + i))), 1002 * kMs);
    }
    // DNS over TCP on an odd port.
    Conn c{r, 40000, 8053};
    c.open();
    c.client(framed(query(6, "tcp.example", 1)));
    auto recs = r.records();
    int with_dns = 0;
    for (auto& line : recs) {
        auto rec = parse(line);
        if (!rec["dns"].error()) {
            ++with_dns;
            EXPECT_NE(int64_t(rec["dp"]), 9999);
        }
    }
    EXPECT_EQ(with_dns, 2);
}

TEST(DnsUnit, TcpBadLengthPrefixStopsTheDirection) {
    FeatureRun r("dns", cfg());
    Conn c{r};
    c.open();
    c.client(framed(query(1, "a.example", 1)) + Bytes{0, 3, 1, 2, 3});
    c.client(framed(query(2, "b.example", 1)));
    auto rec = parse(r.record());
    EXPECT_EQ(rec["dns"].get_array().size(), 1u);
    EXPECT_TRUE(bool(rec["dns_lost_sync"]));
}

}  // namespace
