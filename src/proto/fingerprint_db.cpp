#include "spate/proto/fingerprint_db.hpp"

#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace spate::proto {
namespace {

/// A JSON number as a double (int64, uint64 or double); nullopt-like false
/// for anything else.
bool number(simdjson::dom::element e, double& out) {
    switch (e.type()) {
        case simdjson::dom::element_type::INT64: {
            int64_t v = 0;
            if (e.get_int64().get(v) != simdjson::SUCCESS) {
                return false;
            }
            out = static_cast<double>(v);
            return true;
        }
        case simdjson::dom::element_type::UINT64: {
            uint64_t v = 0;
            if (e.get_uint64().get(v) != simdjson::SUCCESS) {
                return false;
            }
            out = static_cast<double>(v);
            return true;
        }
        case simdjson::dom::element_type::DOUBLE:
            return e.get_double().get(out) == simdjson::SUCCESS;
        default:
            return false;
    }
}

uint64_t to_count(double v) {
    return v > 0 ? static_cast<uint64_t>(v + 0.5) : 0;
}

/// The key with the highest count of an {"os": count} object ("" if none).
std::string top_os(simdjson::dom::element e) {
    simdjson::dom::object o;
    if (e.get_object().get(o) != simdjson::SUCCESS) {
        return {};
    }
    std::string_view best;
    double best_n = -1;
    for (auto field : o) {
        double n = 0;
        if (!number(field.value, n)) {
            n = 0;
        }
        if (n > best_n) {
            best_n = n;
            best = field.key;
        }
    }
    return std::string(best);
}

[[noreturn]] void fail(const std::string& name, size_t line, const std::string& why) {
    throw std::runtime_error("fingerprint db " + name + ":" + std::to_string(line) + ": " + why);
}

}  // namespace

FingerprintDb FingerprintDb::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("fingerprint db " + path + ": cannot open file");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        throw std::runtime_error("fingerprint db " + path + ": read error");
    }
    return parse(ss.str(), path);
}

FingerprintDb FingerprintDb::parse(std::string_view text, const std::string& name) {
    FingerprintDb db;
    simdjson::dom::parser parser;
    size_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t eol = text.find('\n', pos);
        if (eol == std::string_view::npos) {
            eol = text.size();
        }
        std::string_view line = text.substr(pos, eol - pos);
        pos = eol + 1;
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
            continue;
        }

        simdjson::dom::element doc;
        if (auto err = parser.parse(line.data(), line.size(), true).get(doc)) {
            fail(name, line_no, std::string("invalid JSON: ") + simdjson::error_message(err));
        }
        simdjson::dom::object obj;
        if (doc.get_object().get(obj) != simdjson::SUCCESS) {
            fail(name, line_no, "not a JSON object");
        }
        std::string_view str_repr;
        if (obj["str_repr"].get_string().get(str_repr) != simdjson::SUCCESS) {
            fail(name, line_no, "missing or non-string \"str_repr\"");
        }
        if (db.map_.find(str_repr) != db.map_.end()) {
            continue;  // first line wins
        }

        FingerprintMatch m;
        double total = -1;
        {
            double t = 0;
            simdjson::dom::element te;
            if (obj["total_count"].get(te) == simdjson::SUCCESS && number(te, t)) {
                total = t;
            }
        }

        simdjson::dom::array procs;
        double sum = 0;
        double best_count = -1;
        double best_prev = -1;
        if (obj["process_info"].get_array().get(procs) == simdjson::SUCCESS) {
            for (simdjson::dom::element p : procs) {
                simdjson::dom::object po;
                if (p.get_object().get(po) != simdjson::SUCCESS) {
                    continue;
                }
                double c = 0;
                simdjson::dom::element ce;
                if (po["count"].get(ce) == simdjson::SUCCESS) {
                    number(ce, c);
                }
                sum += c;
                if (c <= best_count) {
                    continue;
                }
                best_count = c;
                std::string_view s;
                m.process = po["process"].get_string().get(s) == simdjson::SUCCESS ? std::string(s)
                                                                                   : std::string();
                m.category = po["application_category"].get_string().get(s) == simdjson::SUCCESS
                                 ? std::string(s)
                                 : std::string();
                best_prev = -1;
                simdjson::dom::element pe;
                double pv = 0;
                if (po["prevalence"].get(pe) == simdjson::SUCCESS && number(pe, pv)) {
                    best_prev = pv;
                }
                simdjson::dom::element oe;
                m.os = po["os_info"].get(oe) == simdjson::SUCCESS ? top_os(oe) : std::string();
            }
        }
        if (total < 0) {
            total = sum;
        }
        m.count = best_count > 0 ? to_count(best_count) : 0;
        m.total_count = to_count(total);
        if (best_prev >= 0) {
            m.prevalence = best_prev;
        } else if (total > 0 && best_count > 0) {
            m.prevalence = best_count / total;
        }
        if (m.os.empty()) {
            simdjson::dom::element oe;
            if (obj["os_info"].get(oe) == simdjson::SUCCESS) {
                m.os = top_os(oe);
            }
        }
        db.map_.emplace(std::string(str_repr), std::move(m));
    }
    return db;
}

const FingerprintMatch* FingerprintDb::find(std::string_view str_repr) const noexcept {
    auto it = map_.find(str_repr);
    return it == map_.end() ? nullptr : &it->second;
}

}  // namespace spate::proto
