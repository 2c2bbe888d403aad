// TLS and QUIC metadata against the tshark oracle, flow by flow, on every
// capture of ../shared/corpus with TLS: client version, cipher suites and
// extension types in order, SNI, supported_versions, selected suite and
// version, certificate subject / issuer / serial / validity / SAN, and the
// JA3, JA3S (tshark's own) and JA4 (the oracle's) fingerprints.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <set>

#include "oracle.hpp"

using namespace spate_test;

namespace {

// Flows the oracle has TLS for that spate does not parse, with the reason.
const std::map<std::string, std::string> kKnownDifferences = {
    {"mercury__emix.pcap", "one flow is DTLS (TLS over UDP), which the tls unit does not parse"},
};

std::string field(simdjson::simdjson_result<simdjson::dom::element> e) {
    return field_or(e, "absent");
}

/// An oracle code point ("0x1301") as the decimal integer spate writes.
std::string from_hex(const std::string& v) {
    if (v.rfind("0x", 0) != 0) {
        return v;
    }
    return std::to_string(std::stoul(v.substr(2), nullptr, 16));
}

/// A list of numbers (or of oracle "0x1301" strings, as numbers), as text.
std::string list(simdjson::simdjson_result<simdjson::dom::element> e, bool hex = false) {
    if (e.error()) {
        return "[]";
    }
    std::string out = "[";
    for (auto x : e.get_array()) {
        out += (hex ? from_hex(s(x)) : s(x)) + ",";
    }
    return out + "]";
}

/// The short attribute names spate writes, as the OIDs the oracle lists.
std::string name_list(simdjson::simdjson_result<simdjson::dom::element> e, bool spate_side) {
    static const std::map<std::string, std::string> oid = {
        {"C", "2.5.4.6"},
        {"ST", "2.5.4.8"},
        {"L", "2.5.4.7"},
        {"O", "2.5.4.10"},
        {"OU", "2.5.4.11"},
        {"CN", "2.5.4.3"},
        {"emailAddress", "1.2.840.113549.1.9.1"},
        {"serialNumber", "2.5.4.5"},
        {"street", "2.5.4.9"},
        {"postalCode", "2.5.4.17"},
        {"businessCategory", "2.5.4.15"},
        {"jurisdictionC", "1.3.6.1.4.1.311.60.2.1.3"},
        {"jurisdictionST", "1.3.6.1.4.1.311.60.2.1.2"},
        {"jurisdictionL", "1.3.6.1.4.1.311.60.2.1.1"},
        {"DC", "0.9.2342.19200300.100.1.25"},
        {"UID", "0.9.2342.19200300.100.1.1"},
        {"title", "2.5.4.12"},
        {"GN", "2.5.4.42"},
        {"SN", "2.5.4.4"},
        {"initials", "2.5.4.43"},
        {"pseudonym", "2.5.4.65"},
        {"generationQualifier", "2.5.4.44"},
        {"dnQualifier", "2.5.4.46"},
        {"organizationIdentifier", "2.5.4.97"},
        {"description", "2.5.4.13"},
        {"name", "2.5.4.41"}};
    if (e.error()) {
        return "[]";
    }
    std::string out;
    for (auto a : e.get_array()) {
        if (spate_side) {
            // {"type": short name or dotted OID, "value": text}: nothing else.
            if (a.get_object().size() != 2) {
                out += "bad attribute " + s(a) + ";";
                continue;
            }
            std::string name = s(a["type"].value());
            auto it = oid.find(name);
            out += (it != oid.end() ? it->second : name) + "=" + s(a["value"].value()) + ";";
        } else {
            out += s(a.at(0)) + "=" + s(a.at(1)) + ";";
        }
    }
    return out;
}

/// The compared fields of one flow as "name: value" lines.
std::vector<std::string> oracle_view(simdjson::dom::element tls) {
    std::vector<std::string> v;
    auto chs = tls["client_hellos"];
    if (!chs.error() && chs.get_array().size() > 0) {
        auto c = chs.at(0);
        std::string ver = s(c["handshake_version"].value());
        v.push_back("c_version: " + from_hex(ver));
        v.push_back("cs: " + list(c["cipher_suites"], true));
        v.push_back("extensions: " + list(c["extensions"]));
        v.push_back("sni: " + (c["sni"].error() ? std::string("null") : s(c["sni"].value())));
        v.push_back("supported_versions: " + list(c["supported_versions"], true));
        if (!c["ja3"].error()) {
            v.push_back("ja3: " + s(c["ja3"].value()));
        }
        v.push_back("ja4: " + field(c["ja4"]));
    }
    auto shs = tls["server_hellos"];
    if (!shs.error()) {
        for (auto h : shs.get_array()) {
            if (!h["hello_retry_request"].error()) {
                continue;  // spate reports the ServerHello that followed it
            }
            v.push_back("scs: " + from_hex(s(h["cipher_suite"].value())));
            auto sv = h["selected_version"];
            v.push_back("s_version: " +
                        from_hex(sv.error() ? s(h["handshake_version"].value()) : s(sv.value())));
            v.push_back("ja3s: " + field(h["ja3s"]));
            break;
        }
    }
    auto certs = tls["certificates"];
    if (!certs.error() && certs.get_array().size() > 0) {
        int i = 0;
        for (auto c : certs.at(0)["chain"].get_array()) {
            std::string p = "cert " + std::to_string(i++) + " ";
            v.push_back(p + "subject: " + name_list(c["subject"], false));
            v.push_back(p + "issuer: " + name_list(c["issuer"], false));
            v.push_back(p + "serial: " + field(c["serial"]));
            v.push_back(p + "validity: " + field(c["not_before"]) + " " + field(c["not_after"]));
            auto san = c["san_dns"];
            std::vector<std::string> names;
            if (!san.error() && san.is_array()) {
                for (auto n : san.get_array()) {
                    names.push_back(s(n));
                }
            }
            std::string joined;
            for (auto& n : names) {
                joined += n + ",";
            }
            v.push_back(p + "san: " + joined);
        }
    }
    return v;
}

std::vector<std::string> spate_view(simdjson::dom::element rec,
                                    const std::vector<std::string>& want) {
    std::vector<std::string> v;
    auto tls = rec["tls"];
    auto fp = rec["fingerprints"];
    auto wants = [&](const std::string& prefix) {
        for (auto& w : want) {
            if (w.rfind(prefix, 0) == 0) {
                return true;
            }
        }
        return false;
    };
    if (wants("c_version")) {
        v.push_back("c_version: " + field(tls["c_version"]));
        v.push_back("cs: " + list(tls["cs"]));
        v.push_back("extensions: " + list(tls["c_extension_types"]));
        v.push_back("sni: " + (tls["sni"].error() ? std::string("null") : s(tls["sni"].value())));
        v.push_back("supported_versions: " + list(tls["c_supported_versions"]));
        if (wants("ja3:")) {
            v.push_back("ja3: " + field(fp["ja3"]));
        }
        v.push_back("ja4: " + field(fp["ja4"]));
    }
    if (wants("scs")) {
        v.push_back("scs: " + field(tls["scs"]));
        v.push_back("s_version: " + field(tls["s_version"]));
        v.push_back("ja3s: " + field(fp["ja3s"]));
    }
    if (wants("cert ")) {
        auto certs = tls["s_cert"];
        if (!certs.error()) {
            int i = 0;
            for (auto c : certs.get_array()) {
                std::string p = "cert " + std::to_string(i++) + " ";
                v.push_back(p + "subject: " + name_list(c["subject"], true));
                v.push_back(p + "issuer: " + name_list(c["issuer"], true));
                v.push_back(p + "serial: " + field(c["serial_number"]));
                v.push_back(p + "validity: " + field(c["validity_not_before"]) + " " +
                            field(c["validity_not_after"]));
                std::string joined;
                for (auto n : c["san"].get_array()) {
                    joined += s(n) + ",";
                }
                v.push_back(p + "san: " + joined);
            }
        }
    }
    return v;
}

}  // namespace

TEST(TlsCorpus, HandshakeFieldsAndFingerprintsEqualTheOracle) {
    SKIP_WITHOUT_CORPUS();
    int files = 0;
    int flows = 0;
    int equal = 0;
    int quic = 0;
    for (const OracleFile& file : oracle_files_with({"\"client_hellos\""})) {
        const std::string& name = file.name;
        ++files;
        RunResult r = run_on_capture("tls", name);
        ASSERT_EQ(r.status, 0) << name << ": " << r.err;
        std::map<Key, std::vector<std::string>> got_json;
        ASSERT_TRUE(
            for_each_unit_record(r.out, "tls",
                                 [&](const Key& k, simdjson::dom::element,
                                     const std::string& line) { got_json[k].push_back(line); }))
            << name;
        int file_diffs = 0;
        std::string report;
        ASSERT_TRUE(
            for_each_unit_flow(file.text, "tls", [&](const Key& k, simdjson::dom::element flow) {
                if (flow["tls"]["client_hellos"].error()) {
                    return;
                }
                ++flows;
                const std::vector<std::string> want = oracle_view(flow["tls"].value());
                std::vector<std::string> got;
                simdjson::dom::parser gp;
                if (got_json.count(k) != 0) {
                    got = spate_view(gp.parse(got_json[k].front()).value(), want);
                }
                if (got == want) {
                    ++equal;
                    quic += int64_t(flow["proto"]) == 17;
                    return;
                }
                ++file_diffs;
                report += name + " flow " + std::to_string(int64_t(flow["flow_id"])) + ":\n" +
                          line_diff(got, want);
            }));
        auto known = kKnownDifferences.find(name);
        if (known == kKnownDifferences.end()) {
            EXPECT_EQ(file_diffs, 0) << report;
        } else {
            EXPECT_GT(file_diffs, 0) << name << " now matches: remove it from kKnownDifferences";
            std::cout << "[ known ] " << name << ": " << file_diffs << " flow(s), because "
                      << known->second << "\n";
        }
    }
    std::cout << "[ tls ] " << equal << " of " << flows << " flows with a ClientHello in " << files
              << " captures equal the oracle (" << quic << " of them QUIC)\n";
    EXPECT_GT(files, 25);
    EXPECT_GE(quic, 25);
}

// ---- without the corpus: the bundled TLS and QUIC captures ----

namespace {

fs::path data(const std::string& name) {
    return source_root() / "tests" / "data" / name;
}

}  // namespace

TEST(TlsCli, FingerprintDatabaseMatchAndUnknown) {
    fs::path dir = temp_dir();
    // The client's normalized fingerprint, as spate writes it.
    RunResult first = run_spate("-q --features tls -r " + shell_quote(data("joy__tls12.pcap")));
    ASSERT_EQ(first.status, 0) << first.err;
    simdjson::dom::parser p;
    auto rec = p.parse(first.out.substr(0, first.out.find('\n')));
    ASSERT_FALSE(rec.error());
    const std::string fp = std::string(std::string_view(rec["fingerprints"]["tls"]));
    ASSERT_EQ(fp.rfind("(0303)(c030c02c", 0), 0u) << fp;
    {
        std::ofstream db(dir / "db.json");
        db << R"J({"str_repr": "(0301)(0005)()", "process_info": [{"process": "other", "count": 1}]})J"
           << "\n"
           << R"J({"str_repr": ")J" << fp
           << R"J(", "total_count": 10, "process_info": [{"process": "openssl", "application_category": "utility", "count": 8, "os_info": {"(Linux)": 8}}, {"process": "curl", "count": 2}]})J"
           << "\n";
    }
    RunResult r = run_spate("-q --features tls --fp-db " + shell_quote((dir / "db.json").string()) +
                            " -r " + shell_quote(data("joy__tls12.pcap")) + " -r " +
                            shell_quote(data("ipfixprobe__quic_initial-sample.pcap")));
    ASSERT_EQ(r.status, 0) << r.err;
    int matched = 0;
    int unknown = 0;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        auto j = p.parse(line);
        ASSERT_FALSE(j.error());
        auto m = j["fingerprint_match"];
        if (m.error()) {
            continue;
        }
        if (!m["unknown"].error()) {
            ++unknown;  // the QUIC client is not in the database
            EXPECT_EQ(std::string_view(j["tls"]["sni"]), "www.google.com");
            EXPECT_EQ(uint64_t(j["quic"]["version"]), 0xff00001du);
        } else {
            ++matched;
            EXPECT_EQ(std::string_view(m["process"]), "openssl");
            EXPECT_EQ(std::string_view(m["category"]), "utility");
            EXPECT_EQ(std::string_view(m["os"]), "(Linux)");
            EXPECT_NEAR(double(m["prevalence"]), 0.8, 1e-9);
        }
    }
    EXPECT_EQ(matched, 1);
    EXPECT_EQ(unknown, 1);
    fs::remove_all(dir);
}

TEST(TlsCli, BadFingerprintDatabaseIsAnErrorNamingTheOptionAndLine) {
    fs::path dir = temp_dir();
    {
        std::ofstream db(dir / "bad.json");
        db << R"J({"str_repr": "(0301)(0005)()", "process_info": []})J"
           << "\n{not json\n";
    }
    RunResult r =
        run_spate("-q --features tls --fp-db " + shell_quote((dir / "bad.json").string()) + " -r " +
                  shell_quote(data("joy__tls12.pcap")));
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("--fp-db"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("bad.json:2"), std::string::npos) << r.err;
    RunResult missing = run_spate("-q --features tls --fp-db /nonexistent/db.json -r " +
                                  shell_quote(data("joy__tls12.pcap")));
    EXPECT_NE(missing.status, 0);
    EXPECT_NE(missing.err.find("/nonexistent/db.json"), std::string::npos) << missing.err;
    fs::remove_all(dir);
}

TEST(TlsCli, TlsOptionsAreChecked) {
    for (const char* bad :
         {"--tls-buffer 10", "--tls-buffers 0", "--tls-records 5000", "--tls-cert-bytes 70000"}) {
        RunResult r = run_spate(std::string("-q --features tls ") + bad + " -r " +
                                shell_quote(data("joy__tls12.pcap")));
        EXPECT_EQ(r.status, 2) << bad;
        std::string opt = std::string(bad).substr(0, std::string(bad).find(' '));
        EXPECT_NE(r.err.find(opt), std::string::npos) << r.err;
    }
}
