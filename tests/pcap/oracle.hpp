#pragma once
// What the application-metadata corpus tests (tls, dns, http, ssh) share:
// the oracle files that describe a protocol, spate run over a corpus
// capture, flows matched by their unordered 5-tuple, and JSON values as
// text.
#include <gtest/gtest.h>

#include <initializer_list>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace spate_test {

/// A flow's 5-tuple with its ends in a fixed order, so that both directions
/// of a flow have the same key.
using Key = std::tuple<int, std::string, int, std::string, int>;

inline Key key_of(int proto, std::string a, int ap, std::string b, int bp) {
    if (std::tie(b, bp) < std::tie(a, ap)) {
        std::swap(a, b);
        std::swap(ap, bp);
    }
    return {proto, a, ap, b, bp};
}

/// A JSON value as text: a string's characters, "null", or the minified JSON.
inline std::string s(simdjson::dom::element e) {
    if (e.is_string()) {
        return std::string(std::string_view(e));
    }
    if (e.is_null()) {
        return "null";
    }
    return simdjson::minify(e);
}

/// A field as text, `absent` when there is no such field.
inline std::string field_or(simdjson::simdjson_result<simdjson::dom::element> e,
                            const char* absent) {
    return e.error() ? absent : s(e.value());
}

/// The key of a spate record (sa, sp, da, dp, pr).
inline Key record_key(simdjson::dom::element rec) {
    return key_of(int(int64_t(rec["pr"])), s(rec["sa"].value()), int(int64_t(rec["sp"])),
                  s(rec["da"].value()), int(int64_t(rec["dp"])));
}

/// The key of an oracle flow (src_ip, src_port, dst_ip, dst_port, proto).
inline Key oracle_key(simdjson::dom::element flow) {
    return key_of(int(int64_t(flow["proto"])), s(flow["src_ip"].value()),
                  int(int64_t(flow["src_port"])), s(flow["dst_ip"].value()),
                  int(int64_t(flow["dst_port"])));
}

struct OracleFile {
    std::string name;  ///< the capture's file name (the oracle file's stem)
    std::string text;
};

/// The oracle files whose text holds one of `markers`, in directory order.
inline std::vector<OracleFile> oracle_files_with(std::initializer_list<std::string_view> markers) {
    std::vector<OracleFile> out;
    for (const auto& entry : fs::directory_iterator(corpus_dir() / "oracle")) {
        const fs::path o = entry.path();
        if (o.extension() != ".jsonl") {
            continue;
        }
        std::string text = read_all(o);
        for (std::string_view m : markers) {
            if (text.find(m) != std::string::npos) {
                out.push_back({o.stem().string(), std::move(text)});
                break;
            }
        }
    }
    return out;
}

/// spate over a capture of the corpus, every flow in one record:
/// "-q --features <features> --idle-timeout 0 --active-timeout 0 -r <pcap>".
inline RunResult run_on_capture(const std::string& features, const std::string& pcap) {
    return run_spate("-q --features " + features + " --idle-timeout 0 --active-timeout 0 -r " +
                     shell_quote((corpus_dir() / "pcaps" / pcap).string()));
}

/// The lines of a text.
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

/// Calls f(key, record, line) for each line of spate's output that has
/// `unit`; fails on a line that is not JSON (and stops there).
template <class F>
::testing::AssertionResult for_each_unit_record(const std::string& out, const char* unit, F&& f) {
    simdjson::dom::parser rp;
    std::istringstream rin(out);
    std::string line;
    while (std::getline(rin, line)) {
        auto rec = rp.parse(line);
        if (rec.error()) {
            return ::testing::AssertionFailure() << "invalid JSON: " << line;
        }
        if (rec[unit].error()) {
            continue;
        }
        f(record_key(rec.value()), rec.value(), line);
    }
    return ::testing::AssertionSuccess();
}

/// Calls f(key, flow) for each flow of an oracle file that has `unit`;
/// fails on a line that is not JSON (and stops there).
template <class F>
::testing::AssertionResult for_each_unit_flow(const std::string& text, const char* unit, F&& f) {
    simdjson::dom::parser op;
    std::istringstream oin(text);
    std::string line;
    while (std::getline(oin, line)) {
        auto flow = op.parse(line);
        if (flow.error()) {
            return ::testing::AssertionFailure() << "invalid JSON in the oracle: " << line;
        }
        if (flow[unit].error()) {
            continue;
        }
        f(oracle_key(flow.value()), flow.value());
    }
    return ::testing::AssertionSuccess();
}

/// The lines that differ between what the oracle wants and what spate
/// got, as "oracle" / "spate" pairs, each cut to 300 characters.
inline std::string line_diff(const std::vector<std::string>& got,
                             const std::vector<std::string>& want) {
    std::string d;
    for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
        std::string g = i < got.size() ? got[i] : "(none)";
        std::string w = i < want.size() ? want[i] : "(none)";
        if (g != w) {
            d += "    oracle " + w.substr(0, 300) + "\n    spate  " + g.substr(0, 300) + "\n";
        }
    }
    return d;
}

}  // namespace spate_test
