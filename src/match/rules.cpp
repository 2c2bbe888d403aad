// Rule files: one rule per line, "ID NAME [OPTION=VALUE ...] /PATTERN/FLAGS"
// (docs/rules.md). Every error names the file and the line.
#include "spate/match/rules.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

namespace spate::match {

namespace {

constexpr size_t kMaxLine = 64 * 1024;

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

template <typename T>
bool parse_uint(std::string_view s, T& out) {
    if (s.empty()) {
        return false;
    }
    const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

/// One line's reader; fail() throws naming the file and the line.
class LineParser {
public:
    LineParser(std::string_view line, const std::string& file, uint32_t number)
        : s_(line), file_(file), number_(number) {}

    [[noreturn]] void fail(const std::string& why) const {
        throw RuleError(file_ + ":" + std::to_string(number_) + ": " + why);
    }

    /// The next whitespace-separated token (empty at the end of the line).
    std::string_view token() {
        while (pos_ < s_.size() && is_space(s_[pos_])) {
            ++pos_;
        }
        const size_t start = pos_;
        while (pos_ < s_.size() && !is_space(s_[pos_])) {
            ++pos_;
        }
        return s_.substr(start, pos_ - start);
    }

    /// Whether the rest of the line starts (after spaces) with '/'.
    bool at_pattern() {
        while (pos_ < s_.size() && is_space(s_[pos_])) {
            ++pos_;
        }
        return pos_ < s_.size() && s_[pos_] == '/';
    }

    /// "/PATTERN/FLAGS" from here to the end of the line: the pattern runs to
    /// the last '/' (so it may hold slashes of its own).
    void pattern(Rule& r) {
        const std::string_view rest = s_.substr(pos_);
        const size_t last = rest.rfind('/');
        if (last == 0) {
            fail("pattern has no closing '/'");
        }
        r.pattern = std::string(rest.substr(1, last - 1));
        if (r.pattern.empty()) {
            fail("empty pattern");
        }
        std::string_view flags = rest.substr(last + 1);
        while (!flags.empty() && is_space(flags.back())) {
            flags.remove_suffix(1);
        }
        for (const char f : flags) {
            if (is_space(f)) {
                fail("text after /PATTERN/FLAGS: '" +
                     std::string(flags.substr(flags.find_first_of(" \t"))) + "'");
            }
            bool* which = nullptr;
            switch (f) {
                case 'i':
                    which = &r.caseless;
                    break;
                case 's':
                    which = &r.dotall;
                    break;
                case 'm':
                    which = &r.multiline;
                    break;
                default:
                    fail(std::string("unknown pattern flag '") + f +
                         "' (i: caseless, s: dot matches newline, m: multi-line anchors)");
            }
            if (*which) {
                fail(std::string("pattern flag '") + f + "' given twice");
            }
            *which = true;
        }
        pos_ = s_.size();
    }

private:
    std::string_view s_;
    const std::string& file_;
    uint32_t number_;
    size_t pos_ = 0;
};

void parse_ports(LineParser& lp, std::string_view v, Rule& r) {
    // port=80 | port=8000-8080 | port=80,443,8000-8080
    size_t start = 0;
    while (start <= v.size()) {
        size_t comma = v.find(',', start);
        if (comma == std::string_view::npos) {
            comma = v.size();
        }
        const std::string_view item = v.substr(start, comma - start);
        PortRange pr;
        const size_t dash = item.find('-');
        if (dash == std::string_view::npos) {
            if (!parse_uint(item, pr.lo)) {
                lp.fail("option 'port': '" + std::string(item) + "' is not a port (0..65535)");
            }
            pr.hi = pr.lo;
        } else if (!parse_uint(item.substr(0, dash), pr.lo) ||
                   !parse_uint(item.substr(dash + 1), pr.hi) || pr.lo > pr.hi) {
            lp.fail("option 'port': '" + std::string(item) + "' is not a range LO-HI of ports");
        }
        r.ports.push_back(pr);
        if (r.ports.size() > 64) {
            lp.fail("option 'port': more than 64 ports or ranges");
        }
        start = comma + 1;
    }
}

void parse_option(LineParser& lp, std::string_view tok, Rule& r, std::unordered_set<std::string>& seen) {
    const size_t eq = tok.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        lp.fail("expected OPTION=VALUE or /PATTERN/, got '" + std::string(tok) + "'");
    }
    const std::string key(tok.substr(0, eq));
    const std::string_view v = tok.substr(eq + 1);
    if (!seen.insert(key).second) {
        lp.fail("option '" + key + "' given twice");
    }
    if (key == "dir") {
        if (v == "client") {
            r.dir = RuleDir::client;
        } else if (v == "server") {
            r.dir = RuleDir::server;
        } else if (v == "any") {
            r.dir = RuleDir::any;
        } else {
            lp.fail("option 'dir': expected client, server or any, got '" + std::string(v) + "'");
        }
    } else if (key == "proto") {
        if (v == "tcp") {
            r.proto = RuleProto::tcp;
        } else if (v == "udp") {
            r.proto = RuleProto::udp;
        } else if (v == "any") {
            r.proto = RuleProto::any;
        } else {
            lp.fail("option 'proto': expected tcp, udp or any, got '" + std::string(v) + "'");
        }
    } else if (key == "depth") {
        if (!parse_uint(v, r.depth) || r.depth < 1 || r.depth > kMaxDepth) {
            lp.fail("option 'depth': expected bytes between 1 and " + std::to_string(kMaxDepth) +
                    ", got '" + std::string(v) + "'");
        }
    } else if (key == "port") {
        parse_ports(lp, v, r);
    } else if (key == "match") {
        if (v == "first") {
            r.every = false;
        } else if (v == "every") {
            r.every = true;
        } else {
            lp.fail("option 'match': expected first or every, got '" + std::string(v) + "'");
        }
    } else if (key == "app") {
        if (v.empty() || v.size() > kMaxAppName) {
            lp.fail("option 'app': expected a protocol name of 1 to " + std::to_string(kMaxAppName) +
                    " characters, got '" + std::string(v) + "'");
        }
        for (const char c : v) {
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                  c == '-')) {
                lp.fail("option 'app': '" + std::string(v) +
                        "' may hold only lowercase letters, digits and _ . -");
            }
        }
        r.app = std::string(v);
    } else {
        lp.fail("unknown option '" + key + "' (dir, proto, port, depth, match, app)");
    }
}

}  // namespace

const char* to_string(RuleDir d) {
    switch (d) {
        case RuleDir::client:
            return "client";
        case RuleDir::server:
            return "server";
        case RuleDir::any:
            break;
    }
    return "any";
}

const char* to_string(RuleProto p) {
    switch (p) {
        case RuleProto::tcp:
            return "tcp";
        case RuleProto::udp:
            return "udp";
        case RuleProto::any:
            break;
    }
    return "any";
}

void RuleSet::parse(std::string_view text, const std::string& file) {
    std::unordered_set<uint32_t> ids;
    for (const Rule& r : rules) {
        ids.insert(r.id);
    }
    uint32_t number = 0;
    size_t at = 0;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        LineParser lp(line, file, number);
        if (line.size() > kMaxLine) {
            lp.fail("line longer than " + std::to_string(kMaxLine) + " bytes");
        }
        if (line.find('\0') != std::string_view::npos) {
            lp.fail("NUL byte in the line");
        }
        size_t first = 0;
        while (first < line.size() && is_space(line[first])) {
            ++first;
        }
        if (first == line.size() || line[first] == '#') {
            continue;
        }
        Rule r;
        r.file = file;
        r.line = number;
        const std::string_view id = lp.token();
        if (!parse_uint(id, r.id) || r.id == 0) {
            lp.fail("expected a rule id (1..4294967295) first, got '" + std::string(id) + "'");
        }
        if (lp.at_pattern()) {
            lp.fail("rule " + std::to_string(r.id) + " has no name");
        }
        const std::string_view name = lp.token();
        if (name.size() > kMaxRuleName) {
            lp.fail("rule name longer than " + std::to_string(kMaxRuleName) + " characters");
        }
        for (const char c : name) {
            if (!name_char(c)) {
                lp.fail("rule name '" + std::string(name) +
                        "' may hold only letters, digits and _ . : -");
            }
        }
        r.name = std::string(name);
        std::unordered_set<std::string> seen;
        while (!lp.at_pattern()) {
            const std::string_view tok = lp.token();
            if (tok.empty()) {
                lp.fail("rule " + std::to_string(r.id) + " has no /PATTERN/");
            }
            parse_option(lp, tok, r, seen);
        }
        lp.pattern(r);
        if (!ids.insert(r.id).second) {
            std::string where;
            for (const Rule& o : rules) {
                if (o.id == r.id) {
                    where = o.file + ":" + std::to_string(o.line);
                }
            }
            lp.fail("rule id " + std::to_string(r.id) + " is used twice (first at " + where + ")");
        }
        if (rules.size() >= kMaxRules) {
            lp.fail("more than " + std::to_string(kMaxRules) + " rules");
        }
        rules.push_back(std::move(r));
    }
}

void RuleSet::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw RuleError(path + ": cannot read: " + std::strerror(errno));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        throw RuleError(path + ": read error");
    }
    parse(ss.str(), path);
}

}  // namespace spate::match
