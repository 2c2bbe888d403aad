// Whole-program tests on the real captures of ../shared/corpus: the flows
// spate finds must equal what tshark finds (the oracle), the records must not
// depend on the number of workers, and bad files must be handled cleanly.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "harness.hpp"

using namespace spate_test;

namespace {

// Captures where spate's flows legitimately differ from tshark's, and why.
// A file listed here must still differ (the test fails when it starts to
// match, so the list stays true).
const std::map<std::string, std::string> kKnownDifferences = {
    {"zeek__tunnels__gtp__gtp1_gn_normal_incl_fragmentation.pcap",
     "tshark reassembles the outer IP fragments of the GTP-U tunnel and adds the outer datagram "
     "lengths to the "
     "inner flow's IP bytes (its fwd_bytes exceed its fwd_frame_bytes), where spate counts each "
     "packet's inner "
     "IP header; and the 4 outer fragments whose datagram never completes are attributed by "
     "fragment id to the "
     "inner flow by spate, while tshark puts them in a flow of the outer addresses with the inner "
     "ports"},
};

struct Endpoint {
    std::array<uint8_t, 16> addr;
    int port;
    auto operator<=>(const Endpoint&) const = default;
};

std::string flow_key(const Flow& f) {
    Endpoint a{addr_bin(f.sa), f.sp}, b{addr_bin(f.da), f.dp};
    if (b < a) {
        std::swap(a, b);
    }
    std::string k = std::to_string(f.ip_version) + "|" + std::to_string(f.proto) + "|";
    for (const Endpoint* e : {&a, &b}) {
        k.append(reinterpret_cast<const char*>(e->addr.data()), 16);
        k += "|" + std::to_string(e->port) + "|";
    }
    return k;
}

/// Merges spate's records of one 5-tuple (split by TCP end or reuse) into
/// one flow oriented like the earliest record, as the oracle keeps them.
std::map<std::string, Flow> merge(std::vector<Flow> recs) {
    std::stable_sort(recs.begin(), recs.end(),
                     [](const Flow& a, const Flow& b) { return a.first_ns < b.first_ns; });
    std::map<std::string, Flow> out;
    for (const Flow& r : recs) {
        std::string k = flow_key(r);
        auto it = out.find(k);
        if (it == out.end()) {
            out.emplace(k, r);
            continue;
        }
        Flow& m = it->second;
        bool same = addr_bin(r.sa) == addr_bin(m.sa) && r.sp == m.sp;
        for (int d = 0; d < 2; ++d) {
            int to = same ? d : 1 - d;
            m.pkts[to] += r.pkts[d];
            m.ip_bytes[to] += r.ip_bytes[d];
            m.payload[to] += r.payload[d];
        }
        m.first_ns = std::min(m.first_ns, r.first_ns);
        m.last_ns = std::max(m.last_ns, r.last_ns);
        ++m.records;
    }
    return out;
}

std::string describe(const Flow& f) {
    std::ostringstream os;
    os << "v" << f.ip_version << " p" << f.proto << " " << f.sa << ":" << f.sp << " -> " << f.da
       << ":" << f.dp << " pkts " << f.pkts[0] << "/" << f.pkts[1] << " ip_bytes " << f.ip_bytes[0]
       << "/" << f.ip_bytes[1] << " first " << f.first_ns << " last " << f.last_ns;
    return os.str();
}

/// Differences between spate's merged flows and the oracle's, one line each.
std::vector<std::string> compare(const std::map<std::string, Flow>& ours,
                                 const std::vector<Flow>& oracle) {
    std::vector<std::string> diffs;
    std::set<std::string> seen;
    for (const Flow& o : oracle) {
        std::string k = flow_key(o);
        seen.insert(k);
        auto it = ours.find(k);
        if (it == ours.end()) {
            diffs.push_back("missing: " + describe(o));
            continue;
        }
        const Flow& s = it->second;
        bool orient = addr_bin(s.sa) == addr_bin(o.sa) && s.sp == o.sp;
        if (!orient || s.pkts[0] != o.pkts[0] || s.pkts[1] != o.pkts[1] ||
            s.ip_bytes[0] != o.ip_bytes[0] || s.ip_bytes[1] != o.ip_bytes[1] ||
            s.first_ns != o.first_ns || s.last_ns != o.last_ns) {
            diffs.push_back("differs: oracle " + describe(o) + "\n           spate  " +
                            describe(s));
        }
    }
    for (const auto& [k, s] : ours) {
        if (!seen.count(k)) {
            diffs.push_back("extra: " + describe(s));
        }
    }
    return diffs;
}

std::vector<fs::path> oracle_files() {
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(corpus_dir() / "oracle")) {
        if (e.is_regular_file() && e.path().extension() == ".jsonl") {
            files.push_back(e.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

TEST(Corpus, FlowsEqualTsharkOracle) {
    SKIP_WITHOUT_CORPUS();
    int files = 0, matched = 0;
    for (const fs::path& o : oracle_files()) {
        fs::path pcap = corpus_dir() / "pcaps" /
                        o.filename().string().substr(0, o.filename().string().size() - 6);
        std::string name = pcap.filename().string();
        RunResult r =
            run_spate("-q --idle-timeout 0 --active-timeout 0 -r " + shell_quote(pcap.string()));
        ASSERT_EQ(r.status, 0) << name << ": " << r.err;
        auto diffs = compare(merge(parse_records(r.out)), parse_oracle(o));
        ++files;
        auto known = kKnownDifferences.find(name);
        if (known == kKnownDifferences.end()) {
            std::string all;
            for (auto& d : diffs)
                all += "  " + d + "\n";
            EXPECT_TRUE(diffs.empty())
                << name << ": " << diffs.size() << " differences from the oracle:\n"
                << all;
            matched += diffs.empty();
        } else {
            EXPECT_FALSE(diffs.empty())
                << name << " now matches the oracle: remove it from kKnownDifferences ("
                << known->second << ")";
            std::cout << "[ known ] " << name << ": " << diffs.size() << " differences, because "
                      << known->second << "\n";
        }
    }
    std::cout << "[ corpus ] " << matched << " of " << files
              << " captures match the oracle exactly\n";
    EXPECT_GT(files, 50);
}

/// Records sorted as text: the set of records, independent of output order.
static std::vector<std::string> sorted_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string l;
    while (std::getline(in, l)) {
        lines.push_back(l);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
}

TEST(Corpus, SameRecordsForOneTwoAndFourWorkers) {
    SKIP_WITHOUT_CORPUS();
    std::random_device seeds;
    int files = 0;
    for (auto& e : fs::directory_iterator(corpus_dir() / "pcaps")) {
        if (!e.is_regular_file()) {
            continue;
        }
        std::string in = shell_quote(e.path().string());
        auto one = run_spate("-q --workers 1 -r " + in);
        ASSERT_EQ(one.status, 0) << e.path() << one.err;
        auto base = sorted_lines(one.out);
        for (int w : {2, 4}) {
            // A new hash seed every time (flows land on other workers), named
            // in the message so that a failure can be repeated.
            const uint64_t seed = (uint64_t{seeds()} << 32) | seeds();
            auto r = run_spate("-q --workers " + std::to_string(w) + " --hash-seed " +
                               std::to_string(seed) + " -r " + in);
            ASSERT_EQ(r.status, 0) << e.path() << r.err;
            EXPECT_EQ(sorted_lines(r.out), base)
                << e.path() << " with --workers " << w << " --hash-seed " << seed;
        }
        ++files;
    }
    EXPECT_GT(files, 50);
}

TEST(Corpus, TruncatedFileWarnsAndKeepsFlows) {
    SKIP_WITHOUT_CORPUS();
    for (const char* name : {"gen__truncated-mid-record.pcap", "gen__truncated-mid-header.pcap",
                             "gen__truncated-pcapng.pcapng"}) {
        fs::path pcap = corpus_dir() / "pcaps" / "malformed" / name;
        RunResult r =
            run_spate("--idle-timeout 0 --active-timeout 0 -r " + shell_quote(pcap.string()));
        EXPECT_EQ(r.status, 0) << name << ": " << r.err;
        EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(name), std::string::npos)
            << "the warning must name the file: " << r.err;
        auto diffs = compare(
            merge(parse_records(r.out)),
            parse_oracle(corpus_dir() / "oracle" / "malformed" / (std::string(name) + ".jsonl")));
        EXPECT_TRUE(diffs.empty()) << name << ": flows read before the cut differ from the oracle";
    }
}

TEST(Corpus, GarbageHeaderIsAnErrorNamingTheFile) {
    SKIP_WITHOUT_CORPUS();
    fs::path pcap = corpus_dir() / "pcaps" / "malformed" / "gen__garbage-header.pcap";
    RunResult r = run_spate("-r " + shell_quote(pcap.string()));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("gen__garbage-header.pcap"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST(Corpus, NothingCrashesOnMalformedFiles) {
    SKIP_WITHOUT_CORPUS();
    for (auto& e : fs::directory_iterator(corpus_dir() / "pcaps" / "malformed")) {
        for (const char* workers : {"1", "3"}) {
            RunResult r = run_spate(std::string("-q --workers ") + workers + " -r " +
                                    shell_quote(e.path().string()));
            EXPECT_TRUE(r.status == 0 || r.status == 1)
                << e.path() << " exit " << r.status << ": " << r.err;
            // Whatever was written is complete JSON Lines.
            EXPECT_NO_THROW(parse_records(r.out)) << e.path();
        }
    }
}
