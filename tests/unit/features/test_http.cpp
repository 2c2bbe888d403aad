// The http unit through the worker: hand-built HTTP/1.x exchanges cut into
// TCP segments in the ways that matter (one byte per segment, pipelined
// messages in one segment, keep-alive bodies by Content-Length and chunked
// coding with chunk headers split, out of order, a hole), the bounds (a 100
// KB header line, the header allow-list, the per-flow arena), recognition by
// content on any port, and the JSON record checked field by field. Also the
// head parsers of src/proto/http.cpp directly.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "feature_run.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/http.hpp"
#include "tcp_conn.hpp"

using namespace spate;
using namespace spate::test;

namespace {

using Conn = TcpConn<80>;
using spate::test::parse;

std::vector<size_t> every_byte(size_t n) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < n; ++i) {
        cuts.push_back(i);
    }
    return cuts;
}

std::string sv(simdjson::simdjson_result<simdjson::dom::element> e) {
    return e.error() ? std::string("(absent)") : std::string(std::string_view(e));
}

/// "name: value" for each header of a message.
std::vector<std::string> headers(simdjson::simdjson_result<simdjson::dom::element> m) {
    std::vector<std::string> v;
    for (auto h : m["headers"].get_array()) {
        v.push_back(sv(h.at(0)) + ": " + sv(h.at(1)));
    }
    return v;
}

/// The messages as one-line summaries: "> GET /a HTTP/1.1" / "< HTTP/1.1 200 OK".
std::vector<std::string> summary(simdjson::dom::element rec) {
    std::vector<std::string> v;
    auto http = rec["http"];
    if (http.error()) {
        return v;
    }
    for (auto m : http.get_array()) {
        if (!m["method"].error()) {
            v.push_back(sv(m["dir"]) + " " + sv(m["method"]) + " " + sv(m["uri"]) + " " +
                        sv(m["version"]));
        } else {
            v.push_back(sv(m["dir"]) + " " + sv(m["version"]) + " " +
                        std::to_string(uint64_t(m["status"])) + " " + sv(m["reason"]));
        }
    }
    return v;
}

const std::string kReq =
    "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test/1.0\r\n"
    "Accept: */*\r\n\r\n";

TEST(Http, RequestOneBytePerSegmentAndResponse) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client(kReq, every_byte(kReq.size()));
    const std::string resp =
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 10\r\n\r\n<html>abcd";
    c.server(resp, every_byte(resp.size()));
    std::string json = r.record();
    auto rec = parse(json);
    auto http = rec["http"];
    ASSERT_FALSE(http.error()) << json;
    ASSERT_EQ(http.get_array().size(), 2u) << json;
    auto q = http.at(0);
    EXPECT_EQ(sv(q["dir"]), ">");
    EXPECT_EQ(sv(q["method"]), "GET");
    EXPECT_EQ(sv(q["uri"]), "/index.html?q=1");
    EXPECT_EQ(sv(q["version"]), "HTTP/1.1");
    EXPECT_EQ(headers(q), (std::vector<std::string>{"Host: example.com", "User-Agent: test/1.0",
                                                    "Accept: */*"}));
    EXPECT_TRUE(q["body"].error());
    EXPECT_TRUE(q["truncated"].error());
    EXPECT_TRUE(q["incomplete"].error());
    auto s = http.at(1);
    EXPECT_EQ(sv(s["dir"]), "<");
    EXPECT_EQ(sv(s["version"]), "HTTP/1.1");
    EXPECT_EQ(uint64_t(s["status"]), 200u);
    EXPECT_EQ(sv(s["reason"]), "OK");
    EXPECT_EQ(headers(s),
              (std::vector<std::string>{"Content-Type: text/html", "Content-Length: 10"}));
    EXPECT_EQ(sv(s["body"]), "3c68746d6c3e6162");  // "<html>ab"
    EXPECT_TRUE(rec["http_gap"].error());
}

TEST(Http, PipelinedRequestsInOneSegment) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client(
        "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n");
    // The HEAD response announces a length but has no body; the next
    // response follows at once.
    c.server(
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
        "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    c.client("GET /d HTTP/1.1\r\n\r\n");
    c.server("HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
    std::string json = r.record();
    auto rec = parse(json);
    EXPECT_EQ(summary(rec), (std::vector<std::string>{
                                "> GET /a HTTP/1.1", "> POST /b HTTP/1.1", "> HEAD /c HTTP/1.1",
                                "< HTTP/1.1 200 OK", "< HTTP/1.1 201 Created", "< HTTP/1.1 200 OK",
                                "> GET /d HTTP/1.1", "< HTTP/1.1 404 Not Found"}))
        << json;
    EXPECT_EQ(sv(rec["http"].at(1)["body"]), "68656c6c6f");
    EXPECT_EQ(sv(rec["http"].at(3)["body"]), "616263");
    EXPECT_TRUE(rec["http"].at(5)["body"].error());
    EXPECT_TRUE(rec["http_malformed"].error());
}

TEST(Http, KeepAliveWithContentLengthAndChunkedBodies) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client("GET /1 HTTP/1.1\r\nHost: h\r\n\r\n");
    const std::string chunked =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
        "1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n"
        "3\r\n123\r\n"
        "0\r\nTrailer: x\r\n\r\n";
    // Cut inside the first chunk-size line ("1|a"), inside the chunk data,
    // between CR and LF after the data, and inside the trailer.
    const size_t head = chunked.find("1a;");
    c.server(chunked, {head + 1, head + 5, head + 20, head + 37, head + 38, chunked.size() - 5});
    c.client("GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    const std::string fixed = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n0123456789ab";
    c.server(fixed, {fixed.size() - 6});
    c.client("GET /3 HTTP/1.1\r\nHost: h\r\n\r\n");
    c.server("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
    c.client("GET /4 HTTP/1.1\r\nHost: h\r\n\r\n");
    c.server("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
    std::string json = r.record();
    auto rec = parse(json);
    EXPECT_EQ(summary(rec),
              (std::vector<std::string>{
                  "> GET /1 HTTP/1.1", "< HTTP/1.1 200 OK", "> GET /2 HTTP/1.1",
                  "< HTTP/1.1 200 OK", "> GET /3 HTTP/1.1", "< HTTP/1.1 304 Not Modified",
                  "> GET /4 HTTP/1.1", "< HTTP/1.1 204 No Content", "< HTTP/1.1 200 OK"}))
        << json;
    // The first 8 bytes of the chunked body are of the data, not the chunk framing.
    EXPECT_EQ(sv(rec["http"].at(1)["body"]), "6162636465666768");
    EXPECT_EQ(sv(rec["http"].at(3)["body"]), "3031323334353637");
    EXPECT_EQ(sv(rec["http"].at(8)["body"]), "7a");
    EXPECT_TRUE(rec["http_malformed"].error()) << json;
}

TEST(Http, InterimResponsesAndBodyUntilClose) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client("POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
    c.server("HTTP/1.1 100 Continue\r\n\r\n");
    c.client("data");
    c.server("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody without a length");
    auto rec = parse(r.record());
    EXPECT_EQ(summary(rec),
              (std::vector<std::string>{"> POST /up HTTP/1.1", "< HTTP/1.1 100 Continue",
                                        "< HTTP/1.0 200 OK"}));
    EXPECT_EQ(sv(rec["http"].at(0)["body"]), "64617461");
    EXPECT_EQ(sv(rec["http"].at(2)["body"]), "626f647920776974");
}

TEST(Http, HundredKilobyteHeaderLineIsCutAndFlagged) {
    features::FeatureConfig cfg;
    cfg.http_bytes = 65535;
    FeatureRun r("http", cfg);
    Conn c{r};
    c.open();
    const std::string big(100 * 1024, 'x');
    const std::string req =
        "GET /big HTTP/1.1\r\nHost: h\r\nCookie: " + big + "\r\nAccept: */*\r\n\r\n";
    std::vector<size_t> cuts;
    for (size_t i = 1400; i < req.size(); i += 1400) {
        cuts.push_back(i);
    }
    c.client(req, cuts);
    c.client("GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
    c.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    std::string json = r.record();
    auto rec = parse(json);
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"> GET /big HTTP/1.1", "> GET /next HTTP/1.1",
                                                      "< HTTP/1.1 200 OK"}));
    auto m = rec["http"].at(0);
    EXPECT_TRUE(bool(m["truncated"])) << json.substr(0, 300);
    auto h = headers(m);
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[0], "Host: h");
    EXPECT_EQ(h[1].size(), 4096u) << "the line is kept up to 4096 bytes";
    EXPECT_EQ(h[1].rfind("Cookie: xxx", 0), 0u);
    EXPECT_EQ(h[2], "Accept: */*");
    EXPECT_TRUE(rec["http"].at(1)["truncated"].error());
}

TEST(Http, HeaderAllowList) {
    features::FeatureConfig cfg;
    cfg.http_headers = "host, user-agent,content-type";
    FeatureRun r("http", cfg);
    Conn c{r};
    c.open();
    c.client(kReq, {20, 40});  // cut inside "Host" and inside "User-Agent"
    c.server(
        "HTTP/1.1 200 OK\r\nServer: s\r\nCONTENT-TYPE: text/plain\r\nContent-Length: 0\r\n\r\n");
    auto rec = parse(r.record());
    EXPECT_EQ(headers(rec["http"].at(0)),
              (std::vector<std::string>{"Host: example.com", "User-Agent: test/1.0"}));
    EXPECT_EQ(headers(rec["http"].at(1)), (std::vector<std::string>{"CONTENT-TYPE: text/plain"}));
    EXPECT_EQ(sv(rec["http"].at(1)["reason"]), "OK");
}

TEST(Http, PerFlowBoundTruncatesAndCountsDroppedMessages) {
    features::FeatureConfig cfg;
    cfg.http_bytes = 512;
    FeatureRun r("http", cfg);
    Conn c{r};
    c.open();
    for (int i = 0; i < 20; ++i) {
        c.client("GET /item/" + std::to_string(i) + " HTTP/1.1\r\nHost: example.com\r\n\r\n");
        c.server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }
    std::string json = r.record();
    auto rec = parse(json);
    auto msgs = rec["http"].get_array();
    ASSERT_GT(msgs.size(), 3u);
    ASSERT_LT(msgs.size(), 40u);
    // Messages in order, the first ones whole; one cut; the rest counted.
    EXPECT_EQ(sv(msgs.at(0)["uri"]), "/item/0");
    EXPECT_EQ(sv(msgs.at(2)["uri"]), "/item/1");
    bool cut = false;
    for (auto m : msgs) {
        cut = cut || !m["truncated"].error();
    }
    EXPECT_TRUE(cut) << json;
    EXPECT_EQ(uint64_t(rec["http_dropped"]) + msgs.size(), 40u) << json;
    EXPECT_LE(json.size(), 2000u);
}

TEST(Http, NonHttpOnPort80IsIgnored) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client("\x16\x03\x01\x00\x05hello GET / HTTP/1.1\r\n\r\n");
    c.server("SSH-2.0-OpenSSH_9.0\r\n");
    c.client("HELO mail.example\r\n");
    auto rec = parse(r.record());
    EXPECT_TRUE(rec["http"].error());
    EXPECT_TRUE(rec["http_malformed"].error());
}

TEST(Http, OtherTextProtocolsAreNotHttp) {
    FeatureRun r("http");
    Conn rtsp{r, 40001, 554};
    rtsp.open();
    rtsp.client("OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    rtsp.server("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n");
    Conn sip{r, 40002, 5060};
    sip.open();
    sip.client("REGISTER sip:example.com SIP/2.0\r\n\r\n");
    Conn h2{r, 40003, 80};
    h2.open();
    h2.client(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24));
    for (auto& j : r.records()) {
        EXPECT_TRUE(parse(j)["http"].error()) << j;
    }
}

TEST(Http, FoundOnPort8081ByContent) {
    FeatureRun r("http");
    Conn c{r, 40000, 8081};
    c.open();
    c.client("PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\n");
    c.server("HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\n");
    auto rec = parse(r.record());
    EXPECT_EQ(uint64_t(rec["dp"]), 8081u);
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"> PROPFIND /dav/ HTTP/1.1",
                                                      "< HTTP/1.1 207 Multi-Status"}));
}

TEST(Http, UnknownMethodNeedsAWholeRequestLine) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client("FROBNICATE /x HTTP/1.1\r\n\r\n");
    auto rec = parse(r.record());
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"> FROBNICATE /x HTTP/1.1"}));
}

TEST(Http, OutOfOrderSegmentsAreReordered) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client(kReq, {10, 30, 50}, {0, 2, 1, 3});
    auto rec = parse(r.record());
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"> GET /index.html?q=1 HTTP/1.1"}));
    EXPECT_EQ(headers(rec["http"].at(0)).size(), 3u);
}

TEST(Http, HoleStopsTheDirectionAndIsFlagged) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client(kReq, {40, 60}, {0, 2});  // piece 1 never comes
    auto rec = parse(r.record());
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"> GET /index.html?q=1 HTTP/1.1"}));
    ASSERT_FALSE(rec["http"].error());
    EXPECT_TRUE(bool(rec["http"].at(0)["incomplete"]));
    EXPECT_TRUE(bool(rec["http_gap"]));
}

TEST(Http, UpgradeEndsParsing) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    c.server("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
    c.client("\x81\x82\x00\x00\x00\x00hi");
    auto rec = parse(r.record());
    EXPECT_EQ(summary(rec), (std::vector<std::string>{"> GET /ws HTTP/1.1",
                                                      "< HTTP/1.1 101 Switching Protocols"}));
    EXPECT_TRUE(rec["http_malformed"].error());
}

TEST(Http, GarbageAfterAMessageIsMalformed) {
    FeatureRun r("http");
    Conn c{r};
    c.open();
    c.client("GET / HTTP/1.1\r\n\r\n\x01\x02\x03 binary");
    auto rec = parse(r.record());
    EXPECT_EQ(summary(rec).size(), 1u);
    EXPECT_TRUE(bool(rec["http_malformed"]));
}

TEST(Http, CountersThroughTheUnit) {
    features::FeatureConfig cfg;
    cfg.http_bytes = 512;
    auto fs = features::FeatureSet::parse("http", cfg);
    auto scratch = fs.make_scratch();
    std::vector<uint8_t> state(fs.state_bytes() + 8);
    fs.init(state.data());
    auto feed = [&](uint8_t dir, uint32_t seq, const std::string& s) {
        parse::DecodedPacket p;
        p.key.proto = 6;
        p.tcp_flags = 0x18;
        p.tcp_seq = seq;
        p.payload_len = uint32_t(s.size());
        features::PacketView v{};
        v.pkt = &p;
        v.payload = reinterpret_cast<const uint8_t*>(s.data());
        v.payload_cap = uint32_t(s.size());
        v.dir = dir;
        v.scratch = scratch.get();
        fs.update(state.data(), v);
    };
    const std::string req = "GET / HTTP/1.1\r\nCookie: " + std::string(2000, 'c') + "\r\n\r\n";
    feed(0, 1, req);
    feed(0, 1 + uint32_t(req.size()), "GET /2 HTTP/1.1\r\n\r\n\x01");
    feed(1, 100, "HTTP/1.1 200 OK\r\n");
    feed(1, 100000, "later");  // a hole too far ahead to hold
    EXPECT_EQ(scratch->http.messages, 2u);
    EXPECT_GE(scratch->http.truncated, 1u);
    EXPECT_EQ(scratch->http.malformed, 1u);
    EXPECT_EQ(scratch->http.gaps, 1u);
    fs.release(state.data(), scratch.get());
}

// ---- the parsers ----

proto::Span span(const char* s) {
    return proto::Span{reinterpret_cast<const uint8_t*>(s), uint32_t(std::strlen(s))};
}

proto::HttpStart classify(const std::string& s, bool complete) {
    return proto::http_classify_start(reinterpret_cast<const uint8_t*>(s.data()),
                                      uint32_t(s.size()), complete);
}

TEST(HttpProto, ClassifyStart) {
    using proto::HttpStart;
    EXPECT_EQ(classify("GE", false), HttpStart::need_more);
    EXPECT_EQ(classify("GET ", false), HttpStart::request);
    EXPECT_EQ(classify("GET / HTTP/1.1", true), HttpStart::request);
    EXPECT_EQ(classify("GET /", true), HttpStart::request);  // HTTP/0.9
    EXPECT_EQ(classify("POST /", true), HttpStart::not_http);
    EXPECT_EQ(classify("HTTP/1.", false), HttpStart::response);
    EXPECT_EQ(classify("HTTP/", false), HttpStart::need_more);
    EXPECT_EQ(classify("HTTP/2 200", true), HttpStart::not_http);
    EXPECT_EQ(classify("get / HTTP/1.1", true), HttpStart::not_http);
    EXPECT_EQ(classify("GET\t/ HTTP/1.1", true), HttpStart::not_http);
    EXPECT_EQ(classify("BREW ", false), HttpStart::need_more);
    EXPECT_EQ(classify("BREW /pot HTTP/1.1", true), HttpStart::request);
    EXPECT_EQ(classify("BREW /pot HTCPCP/1.0", true), HttpStart::not_http);
    EXPECT_EQ(classify("DESCRIBE rtsp://x RTSP/1.0", true), HttpStart::not_http);
    EXPECT_EQ(classify("SSH-2.0-x", false), HttpStart::not_http);
    EXPECT_EQ(classify("\x16\x03\x01", false), HttpStart::not_http);
    EXPECT_EQ(classify("", true), HttpStart::not_http);
    EXPECT_TRUE(proto::http_known_method("M-SEARCH"));
    EXPECT_FALSE(proto::http_known_method("get"));
}

TEST(HttpProto, StartAndHeaderLines) {
    proto::HttpRequestLine r;
    ASSERT_TRUE(proto::http_parse_request_line(span("GET /a b HTTP/1.0"), r));
    EXPECT_EQ(r.method.text(), "GET");
    EXPECT_EQ(r.uri.text(), "/a b");
    EXPECT_EQ(r.version.text(), "HTTP/1.0");
    ASSERT_TRUE(proto::http_parse_request_line(span("GET /x"), r));
    EXPECT_EQ(r.uri.text(), "/x");
    EXPECT_TRUE(r.version.empty());
    EXPECT_FALSE(proto::http_parse_request_line(span("GET"), r));
    proto::HttpStatusLine s;
    ASSERT_TRUE(proto::http_parse_status_line(span("HTTP/1.1 404 Not Found"), s));
    EXPECT_EQ(s.status, 404);
    EXPECT_EQ(s.reason.text(), "Not Found");
    ASSERT_TRUE(proto::http_parse_status_line(span("HTTP/1.1 200"), s));
    EXPECT_TRUE(s.reason.empty());
    EXPECT_FALSE(proto::http_parse_status_line(span("HTTP/1.1 2000 x"), s));
    proto::Span n, v;
    ASSERT_TRUE(proto::http_parse_header_line(span("Content-Type :\t text/html  "), n, v));
    EXPECT_EQ(n.text(), "Content-Type");
    EXPECT_EQ(v.text(), "text/html");
    EXPECT_FALSE(proto::http_parse_header_line(span("no colon"), n, v));
    EXPECT_TRUE(proto::http_name_is(span("HOST"), "host"));
    EXPECT_TRUE(proto::http_name_in_list(span("User-Agent"), "host, user-agent"));
    EXPECT_FALSE(proto::http_name_in_list(span("User"), "host,user-agent"));
    EXPECT_TRUE(proto::http_name_in_list(span("X"), ""));
    uint64_t len = 0;
    EXPECT_TRUE(proto::http_parse_content_length(span("42"), len));
    EXPECT_EQ(len, 42u);
    EXPECT_TRUE(proto::http_parse_content_length(span("7, 7"), len));
    EXPECT_FALSE(proto::http_parse_content_length(span("7, 8"), len));
    EXPECT_FALSE(proto::http_parse_content_length(span("-1"), len));
    EXPECT_FALSE(proto::http_parse_content_length(span(""), len));
    EXPECT_FALSE(proto::http_parse_content_length(span("99999999999999999999"), len));
    EXPECT_TRUE(proto::http_te_chunked(span("gzip, Chunked")));
    EXPECT_TRUE(proto::http_te_chunked(span("chunked;x=1")));
    EXPECT_FALSE(proto::http_te_chunked(span("chunked, gzip")));
    std::vector<std::string> lines;
    proto::http_for_each_line(span("A\r\nB\nC\r\n\r\nD"),
                              [&](proto::Span l) { lines.emplace_back(l.text()); });
    EXPECT_EQ(lines, (std::vector<std::string>{"A", "B", "C"}));
}

}  // namespace
