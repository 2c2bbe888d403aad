// Rule files (parser, errors naming file and line) and their compilation
// into Hyperscan databases (flags, depth, directions, protocols).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spate/match/content_db.hpp"
#include "spate/match/rules.hpp"
#include "spate_config.h"

#if SPATE_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

namespace spate::match {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

RuleSet parse(const std::string& text, const std::string& file = "t.rules") {
    RuleSet s;
    s.parse(text, file);
    return s;
}

std::string error_of(const std::string& text) {
    try {
        parse(text);
    } catch (const RuleError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Rules, EveryOptionAndFlag) {
    const RuleSet s = parse(
        "# a comment\n"
        "\n"
        "   # an indented comment\n"
        "1 http-get dir=client depth=16 proto=tcp port=80,8000-8080 /^GET \\//\n"
        "2\tssh.banner  match=every   /SSH-2\\.0-[^\\r\\n]*/ism  \r\n"
        "4294967295 any:thing /a/b/c/\n");
    ASSERT_EQ(s.rules.size(), 3u);
    const Rule& a = s.rules[0];
    EXPECT_EQ(a.id, 1u);
    EXPECT_EQ(a.name, "http-get");
    EXPECT_EQ(a.dir, RuleDir::client);
    EXPECT_EQ(a.depth, 16u);
    EXPECT_EQ(a.proto, RuleProto::tcp);
    ASSERT_EQ(a.ports.size(), 2u);
    EXPECT_TRUE(a.port_ok(80));
    EXPECT_TRUE(a.port_ok(8000));
    EXPECT_TRUE(a.port_ok(8080));
    EXPECT_FALSE(a.port_ok(8081));
    EXPECT_FALSE(a.port_ok(443));
    EXPECT_EQ(a.pattern, "^GET \\/");
    EXPECT_FALSE(a.every);
    EXPECT_FALSE(a.caseless);
    EXPECT_EQ(a.line, 4u);
    EXPECT_EQ(a.file, "t.rules");
    const Rule& b = s.rules[1];
    EXPECT_EQ(b.name, "ssh.banner");
    EXPECT_TRUE(b.every);
    EXPECT_TRUE(b.caseless);
    EXPECT_TRUE(b.dotall);
    EXPECT_TRUE(b.multiline);
    EXPECT_EQ(b.dir, RuleDir::any);
    EXPECT_EQ(b.proto, RuleProto::any);
    EXPECT_EQ(b.depth, kDefaultDepth);
    EXPECT_TRUE(b.port_ok(1));
    EXPECT_EQ(b.pattern, "SSH-2\\.0-[^\\r\\n]*");
    const Rule& c = s.rules[2];
    EXPECT_EQ(c.id, 4294967295u);
    EXPECT_EQ(c.pattern, "a/b/c");  // up to the last slash
    EXPECT_EQ(c.line, 6u);
}

TEST(Rules, ErrorsNameTheFileTheLineAndWhat) {
    struct Case {
        std::string text;
        std::string want;
    } cases[] = {
        {"x name /a/\n", "t.rules:1: expected a rule id"},
        {"0 name /a/\n", "t.rules:1: expected a rule id"},
        {"4294967296 name /a/\n", "t.rules:1: expected a rule id"},
        {"\n\n1 /a/\n", "t.rules:3: rule 1 has no name"},
        {"1 na!me /a/\n", "rule name 'na!me' may hold only"},
        {"1 " + std::string(65, 'n') + " /a/\n", "rule name longer than 64"},
        {"1 name\n", "rule 1 has no /PATTERN/"},
        {"1 name dir=up /a/\n", "option 'dir': expected client, server or any, got 'up'"},
        {"1 name proto=sctp /a/\n", "option 'proto'"},
        {"1 name depth=0 /a/\n", "option 'depth'"},
        {"1 name depth=2000000 /a/\n", "option 'depth'"},
        {"1 name depth=1k /a/\n", "option 'depth'"},
        {"1 name port=70000 /a/\n", "option 'port': '70000' is not a port"},
        {"1 name port=90-80 /a/\n", "option 'port': '90-80' is not a range"},
        {"1 name port= /a/\n", "option 'port'"},
        {"1 name port=1,,2 /a/\n", "option 'port'"},
        {"1 name match=all /a/\n", "option 'match'"},
        {"1 name colour=red /a/\n", "unknown option 'colour'"},
        {"1 name depth=1 depth=2 /a/\n", "option 'depth' given twice"},
        {"1 name word /a/\n", "expected OPTION=VALUE or /PATTERN/, got 'word'"},
        {"1 name /abc\n", "pattern has no closing '/'"},
        {"1 name //\n", "empty pattern"},
        {"1 name /a/x\n", "unknown pattern flag 'x'"},
        {"1 name /a/ii\n", "pattern flag 'i' given twice"},
        {"1 name /a/ trailing\n", "text after /PATTERN/FLAGS: ' trailing'"},
        {"1 name /a/i s\n", "text after /PATTERN/FLAGS"},
        {"1 a /x/\n2 b /y/\n1 c /z/\n", "t.rules:3: rule id 1 is used twice (first at t.rules:1)"},
        {std::string("1 name /a\0b/\n", 13), "t.rules:1: NUL byte"},
    };
    for (const auto& c : cases) {
        EXPECT_THAT(error_of(c.text), HasSubstr(c.want)) << c.text;
        EXPECT_THAT(error_of(c.text), StartsWith("t.rules:")) << c.text;
    }
}

TEST(Rules, IdsAreUniqueAcrossFiles) {
    RuleSet s;
    s.parse("7 seven /a/\n", "one.rules");
    try {
        s.parse("\n7 again /b/\n", "two.rules");
        FAIL() << "no error";
    } catch (const RuleError& e) {
        EXPECT_STREQ(e.what(),
                     "two.rules:2: rule id 7 is used twice (first at one.rules:1)");
    }
}

TEST(Rules, LoadNamesAFileItCannotRead) {
    RuleSet s;
    try {
        s.load("/nonexistent/dir/x.rules");
        FAIL() << "no error";
    } catch (const RuleError& e) {
        EXPECT_THAT(e.what(), StartsWith("/nonexistent/dir/x.rules: cannot read"));
    }
}

#if SPATE_HAVE_HYPERSCAN

/// One datagram through the UDP database (stream mode, as the matcher
/// does: scan, then close): the ids of the rules that match.
std::vector<uint32_t> scan_udp(const ContentDb& db, int dir, const std::string& data) {
    ContentScratch scratch(db);
    std::vector<uint32_t> ids;
    const hs_database* d = db.db(Transport::udp, dir);
    if (d == nullptr) {
        return ids;
    }
    auto on_match = [](unsigned int id, unsigned long long, unsigned long long, unsigned int,
                       void* ctx) -> int {
        static_cast<std::vector<uint32_t>*>(ctx)->push_back(id);
        return 0;
    };
    hs_stream_t* st = nullptr;
    EXPECT_EQ(hs_open_stream(d, 0, &st), HS_SUCCESS);
    EXPECT_EQ(hs_scan_stream(st, data.data(), static_cast<unsigned>(data.size()), 0,
                             scratch.get(), on_match, &ids),
              HS_SUCCESS);
    EXPECT_EQ(hs_close_stream(st, scratch.get(), on_match, &ids), HS_SUCCESS);
    for (uint32_t& id : ids) {
        id = db.rules()[id].id;  // Hyperscan ids are indexes into rules()
    }
    return ids;
}

TEST(ContentDb, CompilesPerTransportAndDirection) {
    auto db = ContentDb::compile(parse(
        "1 c-tcp dir=client proto=tcp /abc/\n"
        "2 s-any dir=server /xyz/\n"
        "3 any-udp proto=udp depth=10 /q+/\n"));
    ASSERT_NE(db, nullptr);
    EXPECT_NE(db->db(Transport::tcp, 0), nullptr);  // rule 1
    EXPECT_NE(db->db(Transport::tcp, 1), nullptr);  // rule 2
    EXPECT_NE(db->db(Transport::udp, 0), nullptr);  // rule 3
    EXPECT_NE(db->db(Transport::udp, 1), nullptr);  // rules 2 and 3
    EXPECT_EQ(db->max_depth(Transport::tcp, 0), kDefaultDepth);
    EXPECT_EQ(db->max_depth(Transport::udp, 0), 10u);
    EXPECT_EQ(db->max_depth(Transport::udp, 1), kDefaultDepth);
    EXPECT_GT(db->stream_bytes(0), 0u);
    EXPECT_GT(db->stream_bytes(1), 0u);

    // Directions and transports keep rules apart.
    EXPECT_THAT(scan_udp(*db, 0, "abc xyz qq"), ::testing::ElementsAre(3u));
    EXPECT_THAT(scan_udp(*db, 1, "abc xyz"), ::testing::ElementsAre(2u));
    // depth=10: a match ending past byte 10 is not reported.
    EXPECT_TRUE(scan_udp(*db, 0, "0123456789q").empty());
    EXPECT_THAT(scan_udp(*db, 0, "012345678q"), ::testing::ElementsAre(3u));
}

TEST(ContentDb, FlagsAndMatchModes) {
    auto db = ContentDb::compile(parse(
        "1 caseless proto=udp /hello/i\n"
        "2 dotall proto=udp /a.b/s\n"
        "3 multiline proto=udp /^line2$/m\n"
        "4 first proto=udp /zz/\n"
        "5 every proto=udp match=every /yy/\n"));
    EXPECT_THAT(scan_udp(*db, 0, "HeLLo"), ::testing::ElementsAre(1u));
    EXPECT_THAT(scan_udp(*db, 0, "a\nb"), ::testing::ElementsAre(2u));
    EXPECT_THAT(scan_udp(*db, 0, "line1\nline2\nline3"), ::testing::ElementsAre(3u));
    EXPECT_THAT(scan_udp(*db, 0, "zz zz zz"), ::testing::ElementsAre(4u));
    EXPECT_THAT(scan_udp(*db, 0, "yy yy yy"), ::testing::ElementsAre(5u, 5u, 5u));
    // Without the flags the same texts do not match.
    auto plain = ContentDb::compile(parse("1 a proto=udp /hello/\n2 b proto=udp /a.b/\n"));
    EXPECT_TRUE(scan_udp(*plain, 0, "HeLLo a\nb").empty());
}

TEST(ContentDb, RefusedPatternNamesFileLineRuleAndHyperscansMessage) {
    RuleSet s;
    s.parse("1 fine /abc/\n\n2 broken /a(b/\n", "bad.rules");
    try {
        ContentDb::compile(std::move(s));
        FAIL() << "no error";
    } catch (const RuleError& e) {
        EXPECT_THAT(e.what(), StartsWith("bad.rules:3: rule 2 (broken): pattern rejected by "
                                         "Hyperscan: "));
        EXPECT_THAT(e.what(), HasSubstr("parenthes"));  // Hyperscan: "Missing close parenthesis..."
    }
    RuleSet empty_match;
    empty_match.parse("9 empty /a*/\n", "e.rules");
    EXPECT_THROW(ContentDb::compile(std::move(empty_match)), RuleError);
}

TEST(ContentDb, NoRulesNoDatabases) {
    auto db = ContentDb::compile(RuleSet{});
    for (int t = 0; t < 2; ++t) {
        for (int dir = 0; dir < 2; ++dir) {
            EXPECT_EQ(db->db(static_cast<Transport>(t), dir), nullptr);
        }
    }
}

#endif

}  // namespace
}  // namespace spate::match
