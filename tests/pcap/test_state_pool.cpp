// Flow state on demand: a unit whose arena pool runs dry flags the records
// that lost data ("<unit>_no_state"), counts the refusals, and leaves every
// other unit's fields as they are.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <regex>
#include <set>

#include "harness.hpp"

using namespace spate_test;

namespace {

fs::path data(const char* name) {
    return source_root() / "tests" / "data" / name;
}

std::string inputs() {
    std::string in;
    for (const char* f : {"zeek__wikipedia.pcap", "joy__sample.pcap", "joy__tls12.pcap",
                          "ipfixprobe__quic_initial-sample.pcap", "joy__ssh-dropbear-default.pcap"}) {
        in += " -r " + shell_quote(data(f).string());
    }
    return in;
}

/// The fields each unit with an arena writes (prefixes of the record's keys).
const std::map<std::string, std::vector<std::string>>& unit_keys() {
    static const std::map<std::string, std::vector<std::string>> k = {
        {"splt", {"packets"}},
        {"bd", {"byte_dist", "compact_byte_dist", "entropy", "total_entropy"}},
        {"idp", {"idp_"}},
        {"tls", {"tls", "quic", "fingerprints", "fingerprint_match"}},
        {"dns", {"dns"}},
        {"http", {"http"}},
        {"ssh", {"ssh"}},
    };
    return k;
}

bool belongs(const std::string& key, const std::string& unit) {
    if (key == unit + "_no_state") {
        return true;
    }
    for (const std::string& p : unit_keys().at(unit)) {
        if (key.compare(0, p.size(), p) == 0) {
            return true;
        }
    }
    return false;
}

struct Split {
    std::string others;  ///< the record without the unit's fields (minified)
    std::string mine;    ///< the unit's fields
    bool no_state = false;
};

std::vector<Split> split_records(const std::string& out, const std::string& unit) {
    std::vector<Split> v;
    simdjson::dom::parser parser;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
        simdjson::dom::object o = parser.parse(line).get_object();
        Split s;
        for (auto [key, value] : o) {
            const std::string k(key);
            std::string kv = k + "=" + simdjson::minify(value) + ";";
            if (belongs(k, unit)) {
                s.mine += kv;
                if (k == unit + "_no_state") {
                    s.no_state = true;
                }
            } else {
                s.others += kv;
            }
        }
        v.push_back(std::move(s));
    }
    return v;
}

uint64_t refused_of(const std::string& err, const std::string& unit) {
    std::smatch m;
    const std::regex re(unit + ": leases ([0-9]+), refused ([0-9]+)");
    if (!std::regex_search(err, m, re)) {
        return ~uint64_t{0};
    }
    return std::stoull(m[2]);
}

}  // namespace

TEST(StatePool, AnEmptyPoolFlagsTheRecordsAndLeavesTheOtherUnitsAlone) {
    const std::string base = inputs() + " --features joy,splt,ssh --workers 1 --splt 50";
    RunResult full = run_spate(base);
    ASSERT_EQ(full.status, 0) << full.err;
    for (const auto& [unit, keys] : unit_keys()) {
        SCOPED_TRACE(unit);
        RunResult dry = run_spate(base + " --state-pool " + unit + "=0");
        ASSERT_EQ(dry.status, 0) << dry.err;
        const std::vector<Split> a = split_records(full.out, unit);
        const std::vector<Split> b = split_records(dry.out, unit);
        ASSERT_EQ(a.size(), b.size());
        ASSERT_GT(a.size(), 10u);
        size_t flagged = 0, had_data = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            // Other units' fields (and the flow's own) are untouched.
            EXPECT_EQ(a[i].others, b[i].others) << "record " << i;
            EXPECT_FALSE(a[i].no_state) << "record " << i;
            flagged += b[i].no_state;
            if (b[i].no_state) {
                EXPECT_NE(a[i].mine, b[i].mine) << "record " << i << ": flagged but lost nothing";
            } else {
                // Not flagged: the unit had nothing to keep, so nothing differs.
                EXPECT_EQ(a[i].mine, b[i].mine) << "record " << i;
            }
            had_data += a[i].mine != b[i].mine;
        }
        EXPECT_GT(flagged, 0u);
        EXPECT_EQ(flagged, had_data);
        // Every flagged record had at least one lease refused, and counted.
        const uint64_t refused = refused_of(dry.err, unit);
        ASSERT_NE(refused, ~uint64_t{0}) << dry.err;
        EXPECT_GE(refused, flagged) << dry.err;
        EXPECT_EQ(refused_of(full.err, unit) == ~uint64_t{0} ? 0 : refused_of(full.err, unit), 0u)
            << full.err;
    }
}

TEST(StatePool, ASmallPoolServesSomeFlowsAndRefusesTheRest) {
    // A pool of four arenas: flows take them as they come and give them back
    // when their records go (TCP ends); the others are refused.
    const std::string base =
        inputs() + " --features joy --workers 1 --idle-timeout 0 --active-timeout 0";
    RunResult full = run_spate(base);
    RunResult small = run_spate(base + " --state-pool bd=4K");  // 4 arenas of 1 KiB
    ASSERT_EQ(full.status, 0) << full.err;
    ASSERT_EQ(small.status, 0) << small.err;
    const std::vector<Split> a = split_records(full.out, "bd");
    const std::vector<Split> b = split_records(small.out, "bd");
    ASSERT_EQ(a.size(), b.size());
    size_t kept = 0, flagged = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].others, b[i].others);
        if (b[i].no_state) {
            ++flagged;
        } else {
            EXPECT_EQ(a[i].mine, b[i].mine);
            // entropy is written when some payload was counted
            kept += a[i].mine.find("entropy=") != std::string::npos;
        }
    }
    EXPECT_GE(kept, 4u);
    EXPECT_GT(flagged, 0u);
    // A bd arena never grows: one lease per flow that kept its counts.
    EXPECT_NE(small.err.find("bd: leases " + std::to_string(kept) + ","), std::string::npos)
        << small.err;
    EXPECT_GE(refused_of(small.err, "bd"), flagged);
}

TEST(StatePool, OptionErrorsNameTheOption) {
    for (const char* bad : {"foo=1M", "tls", "tls=12Q", "tls=-1", "dns=1M,idp"}) {
        RunResult r = run_spate(inputs() + " --state-pool " + shell_quote(bad));
        EXPECT_EQ(r.status, 2) << bad;
        EXPECT_NE(r.err.find("--state-pool"), std::string::npos) << bad << ": " << r.err;
    }
}
