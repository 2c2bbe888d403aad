// Content rules on the whole program: matches agree with what the protocol
// units parse on their own (HTTP GETs, TLS ClientHellos), offsets are where
// the patterns end, records are the same for any worker count, and bad rule
// files stop the start naming the file and line (exit 2).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "harness.hpp"
#include "oracle.hpp"

using namespace spate_test;

namespace {

fs::path data(const char* name) {
    return source_root() / "tests" / "data" / name;
}

std::string inputs() {
    std::string in;
    for (const char* f : {"zeek__wikipedia.pcap", "joy__sample.pcap", "joy__tls12.pcap",
                          "joy__ssh-dropbear-default.pcap"}) {
        in += " -r " + shell_quote(data(f).string());
    }
    return in;
}

std::vector<std::string> split_lines(const std::string& text) {
    return lines_of(text);
}

std::vector<std::string> sorted_lines_of(const std::string& text) {
    std::vector<std::string> v = lines_of(text);
    std::sort(v.begin(), v.end());
    return v;
}

fs::path write_rules(const fs::path& dir, const std::string& name, const std::string& text) {
    const fs::path p = dir / name;
    std::ofstream(p) << text;
    return p;
}

const char* kRules =
    "# test rules\n"
    "1 http-get dir=client proto=tcp /^GET /\n"
    "2 tls-client-hello dir=client proto=tcp depth=6 /^\\x16\\x03[\\x00-\\x04]..\\x01/s\n"
    "3 ssh-banner match=first proto=tcp /^SSH-2\\.0-/\n"
    "4 not-on-client dir=server proto=tcp /^GET /\n";

}  // namespace

TEST(Rules, MatchesAgreeWithTheProtocolUnits) {
    if (!SPATE_HAVE_HYPERSCAN_TEST) {
        GTEST_SKIP() << "this build has no Hyperscan";
    }
    const fs::path dir = temp_dir();
    const fs::path rules = write_rules(dir, "t.rules", kRules);
    RunResult r = run_spate(inputs() + " -q --features http,tls,ssh --rules " +
                            shell_quote(rules.string()));
    ASSERT_EQ(r.status, 0) << r.err;
    simdjson::dom::parser parser;
    size_t gets = 0, hellos = 0, banners = 0;
    for (const std::string& line : split_lines(r.out)) {
        simdjson::dom::element rec;
        ASSERT_EQ(parser.parse(line).get(rec), simdjson::SUCCESS);
        std::map<int64_t, std::set<std::string>> got;  // id -> "dir@offset"
        simdjson::dom::array ms;
        if (rec["matches"].get(ms) == simdjson::SUCCESS) {
            for (simdjson::dom::element m : ms) {
                got[int64_t(m["id"])].insert(std::string(std::string_view(m["dir"])) + "@" +
                                            std::to_string(int64_t(m["offset"])));
            }
        }
        // HTTP: the http unit saw a GET request <=> rule 1 matched at 4, client side.
        bool get = false;
        simdjson::dom::array http;
        if (rec["http"].get(http) == simdjson::SUCCESS) {
            for (simdjson::dom::element m : http) {
                std::string_view method;
                if (m["method"].get(method) == simdjson::SUCCESS && method == "GET") {
                    get = true;
                }
            }
        }
        // Only the first request of a connection starts the stream.
        if (get) {
            ++gets;
            EXPECT_EQ(got[1], std::set<std::string>{">@4"}) << line.substr(0, 200);
        } else {
            EXPECT_EQ(got.count(1), 0u) << line.substr(0, 200);
        }
        EXPECT_EQ(got.count(4), 0u);  // client bytes never meet a server-only rule
        // TLS: a parsed ClientHello <=> rule 2 at offset 6.
        simdjson::dom::element tls;
        const bool hello = rec["tls"].get(tls) == simdjson::SUCCESS &&
                           tls["c_version"].error() == simdjson::SUCCESS;
        if (hello) {
            ++hellos;
            EXPECT_EQ(got[2], std::set<std::string>{">@6"}) << line.substr(0, 200);
        } else {
            EXPECT_EQ(got.count(2), 0u) << line.substr(0, 200);
        }
        // SSH: banners on both sides, each matched once at 8.
        if (rec["ssh"].error() == simdjson::SUCCESS) {
            ++banners;
            EXPECT_EQ(got[3], (std::set<std::string>{">@8", "<@8"}));
        }
    }
    EXPECT_GE(gets, 10u);
    EXPECT_GE(hellos, 1u);
    EXPECT_GE(banners, 1u);

    // The same records with several workers (timeouts off: the captures'
    // timelines are years apart, so which flows a sweep finds would depend
    // on the interleaving).
    std::string two;
    for (const char* f : {"zeek__wikipedia.pcap", "joy__sample.pcap", "joy__tls12.pcap"}) {
        two += " -r " + shell_quote(data(f).string());
    }
    const std::string common =
        two + " -q --idle-timeout 0 --features http,tls --rules " + shell_quote(rules.string());
    RunResult w1 = run_spate(common);
    RunResult w3 = run_spate(common + " --workers 3");
    ASSERT_EQ(w1.status, 0) << w1.err;
    ASSERT_EQ(w3.status, 0) << w3.err;
    EXPECT_NE(w1.out.find("\"matches\""), std::string::npos);
    EXPECT_EQ(sorted_lines_of(w3.out), sorted_lines_of(w1.out));
    fs::remove_all(dir);
}

TEST(Rules, StreamExhaustionIsFlaggedAndCounted) {
    if (!SPATE_HAVE_HYPERSCAN_TEST) {
        GTEST_SKIP() << "this build has no Hyperscan";
    }
    const fs::path dir = temp_dir();
    const fs::path rules = write_rules(dir, "t.rules", kRules);
    // One stream per worker: concurrent directions find none.
    RunResult r = run_spate(inputs() + " --rule-streams 1 --rules " + shell_quote(rules.string()));
    ASSERT_EQ(r.status, 0) << r.err;
    size_t flagged = 0;
    for (const std::string& line : split_lines(r.out)) {
        flagged += line.find("\"matches_no_state\":true") != std::string::npos ? 1 : 0;
    }
    EXPECT_GT(flagged, 0u);
    EXPECT_NE(r.err.find("content: "), std::string::npos) << r.err;
    fs::remove_all(dir);
}

TEST(Rules, BadRuleFilesExit2NamingFileAndLine) {
    const fs::path dir = temp_dir();
    struct Case {
        std::string text, want;
    } cases[] = {
        {"1 a /x/\n1 b /y/\n", ":2: rule id 1 is used twice"},
        {"\n1 a dir=sideways /x/\n", ":2: option 'dir'"},
        {"1 a /x(/\n", ":1: rule 1 (a): pattern rejected by Hyperscan"},
    };
    for (const auto& c : cases) {
        const fs::path p = write_rules(dir, "bad.rules", c.text);
        RunResult r = run_spate("-r " + shell_quote(data("joy__sample.pcap").string()) +
                                " --rules " + shell_quote(p.string()));
        EXPECT_EQ(r.status, 2) << r.err;
        if (!SPATE_HAVE_HYPERSCAN_TEST && c.want.find("Hyperscan") != std::string::npos) {
            continue;
        }
        EXPECT_NE(r.err.find(p.string() + c.want), std::string::npos) << r.err;
    }
    RunResult missing = run_spate("-r " + shell_quote(data("joy__sample.pcap").string()) +
                                  " --rules /nonexistent.rules");
    EXPECT_EQ(missing.status, 2);
    EXPECT_NE(missing.err.find("/nonexistent.rules: cannot read"), std::string::npos);
    RunResult no_rules = run_spate("-r " + shell_quote(data("joy__sample.pcap").string()) +
                                   " --features content");
    EXPECT_EQ(no_rules.status, 2);
    EXPECT_NE(no_rules.err.find("needs rules"), std::string::npos) << no_rules.err;
    fs::remove_all(dir);
}
