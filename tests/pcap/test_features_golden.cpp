// Golden tests of the intraflow features: spate's values must equal those of
// an independent reference (tests/reference/features_ref.py, Python + dpkt),
// whose output for each capture is committed in tests/golden/features/.
// Regenerate the golden files with tests/reference/make_golden.sh; never
// copy spate's own output there.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "harness.hpp"

using namespace spate_test;

namespace {

const char* kFeatureArgs =
    "-q --idle-timeout 0 --active-timeout 0 --tcp-close-timeout 0 --features "
    "splt,bd,entropy,idp,tcp,ip";

// Fields compared per unit (the unit is named in failure messages).
const std::map<std::string, std::vector<std::string>> kUnitFields = {
    {"splt", {"packets", "packets_truncated"}},
    {"bd",
     {"byte_dist", "byte_dist_mean", "byte_dist_std", "compact_byte_dist", "byte_dist_truncated"}},
    {"entropy", {"entropy", "total_entropy"}},
    {"idp", {"idp_out", "idp_len_out", "idp_in", "idp_len_in"}},
    {"tcp", {"tcp"}},
    {"ip", {"ip"}},
};

/// Structural equality; integers exact, floating-point numbers to 1e-6 relative.
bool same(simdjson::dom::element a, simdjson::dom::element b, std::string& why,
          const std::string& path) {
    using T = simdjson::dom::element_type;
    auto ta = a.type(), tb = b.type();
    bool a_num = ta == T::INT64 || ta == T::UINT64 || ta == T::DOUBLE;
    bool b_num = tb == T::INT64 || tb == T::UINT64 || tb == T::DOUBLE;
    if (a_num && b_num) {
        if (ta != T::DOUBLE && tb != T::DOUBLE) {
            if (ta == T::INT64 || tb == T::INT64) {
                if (int64_t(a) == int64_t(b))
                    return true;
            } else if (uint64_t(a) == uint64_t(b)) {
                return true;
            }
        } else {
            double x = double(a), y = double(b);
            if (std::fabs(x - y) <= 1e-6 * std::max(1.0, std::fabs(y)))
                return true;
        }
        why = path + ": " + simdjson::minify(a) + " != " + simdjson::minify(b);
        return false;
    }
    if (ta != tb) {
        why = path + ": " + simdjson::minify(a) + " != " + simdjson::minify(b);
        return false;
    }
    switch (ta) {
        case T::ARRAY: {
            auto x = a.get_array().value(), y = b.get_array().value();
            if (x.size() != y.size()) {
                why = path + ": " + std::to_string(x.size()) + " elements, expected " +
                      std::to_string(y.size());
                return false;
            }
            for (size_t i = 0; i < x.size(); ++i) {
                if (!same(x.at(i).value(), y.at(i).value(), why,
                          path + "[" + std::to_string(i) + "]"))
                    return false;
            }
            return true;
        }
        case T::OBJECT: {
            auto x = a.get_object().value(), y = b.get_object().value();
            std::set<std::string> kx, ky;
            for (auto f : x)
                kx.insert(std::string(f.key));
            for (auto f : y)
                ky.insert(std::string(f.key));
            if (kx != ky) {
                why =
                    path + ": keys " + simdjson::minify(a) + " vs expected " + simdjson::minify(b);
                return false;
            }
            for (const auto& k : kx) {
                if (!same(x[k].value(), y[k].value(), why, path + "." + k))
                    return false;
            }
            return true;
        }
        default:
            if (simdjson::minify(a) == simdjson::minify(b))
                return true;
            why = path + ": " + simdjson::minify(a) + " != " + simdjson::minify(b);
            return false;
    }
}

std::string key_of(simdjson::dom::element r) {
    std::string a =
        std::string(std::string_view(r["sa"])) + "|" + std::to_string(uint64_t(r["sp"]));
    std::string b =
        std::string(std::string_view(r["da"])) + "|" + std::to_string(uint64_t(r["dp"]));
    if (b < a)
        std::swap(a, b);
    return std::to_string(uint64_t(r["pr"])) + "|" + a + "|" + b;
}

fs::path capture_for(const std::string& name) {
    fs::path bundled = source_root() / "tests" / "data" / name;
    if (fs::exists(bundled))
        return bundled;
    return corpus_dir() / "pcaps" / name;
}

}  // namespace

TEST(FeaturesGolden, EqualIndependentReference) {
    fs::path dir = source_root() / "tests" / "golden" / "features";
    std::vector<fs::path> goldens;
    for (auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".jsonl")
            goldens.push_back(e.path());
    }
    std::sort(goldens.begin(), goldens.end());
    ASSERT_FALSE(goldens.empty()) << "no golden files in " << dir;
    int compared = 0, skipped = 0;
    for (const fs::path& g : goldens) {
        std::string name = g.filename().string();
        name.resize(name.size() - 6);
        fs::path pcap = capture_for(name);
        if (!fs::exists(pcap)) {
            std::cout << "[ skip ] " << name << ": capture not found (corpus missing?)\n";
            ++skipped;
            continue;
        }
        RunResult r = run_spate(std::string(kFeatureArgs) + " -r " + shell_quote(pcap.string()));
        ASSERT_EQ(r.status, 0) << name << ": " << r.err;
        simdjson::dom::parser p_ours, p_ref;
        // Records as text keyed by flow (elements of parse_many do not outlive their batch).
        std::map<std::string, std::string> ours;
        {
            std::istringstream lines(r.out);
            std::string line;
            simdjson::dom::parser lp;
            while (std::getline(lines, line)) {
                simdjson::dom::element e = lp.parse(line);
                std::string k = key_of(e);
                EXPECT_EQ(ours.count(k), 0u) << name << ": spate split flow " << k
                                             << " (choose a capture without 5-tuple reuse)";
                ours[k] = line;
            }
        }
        simdjson::padded_string ref_text = simdjson::padded_string::load(g.string()).value();
        size_t flows = 0;
        for (auto doc : p_ref.parse_many(ref_text)) {
            simdjson::dom::element ref = doc.value();
            std::string k = key_of(ref);
            ++flows;
            auto it = ours.find(k);
            if (it == ours.end()) {
                ADD_FAILURE() << name << ": flow " << k << " missing from spate's output";
                continue;
            }
            simdjson::dom::element mine = p_ours.parse(it->second);
            for (const auto& [unit, fields] : kUnitFields) {
                for (const auto& f : fields) {
                    auto want = ref[f];
                    auto got = mine[f];
                    if (want.error() && got.error())
                        continue;
                    if (want.error() || got.error()) {
                        ADD_FAILURE() << name << " " << k << " unit " << unit << ": field " << f
                                      << " present in "
                                      << (want.error() ? "spate only" : "the reference only");
                        continue;
                    }
                    std::string why;
                    EXPECT_TRUE(same(got.value(), want.value(), why, f))
                        << name << " flow " << k << " unit " << unit << ": " << why;
                }
            }
        }
        EXPECT_GT(flows, 0u) << name;
        ++compared;
    }
    std::cout << "[ golden ] " << compared << " captures compared, " << skipped << " skipped\n";
}
