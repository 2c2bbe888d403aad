#pragma once
/// Content rules: the text format of rule files (docs/rules.md) and its
/// parser. Parsing needs no Hyperscan; compiling the patterns is
/// ContentDb's work (content_db.hpp).
///
/// One rule per line:
///
///     ID NAME [OPTION=VALUE ...] /PATTERN/FLAGS
///
/// e.g. `1001 http-get dir=client depth=16 proto=tcp /^GET \//`. Blank
/// lines and lines starting with '#' are ignored.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spate::match {

/// A rule file that cannot be used: what() is "FILE:LINE: why" (or "FILE:
/// why" when no line is to blame).
class RuleError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Which direction's bytes a rule is matched against. client: the flow's
/// initiator (the record's "out" side); server: the responder ("in").
enum class RuleDir : uint8_t { any, client, server };
enum class RuleProto : uint8_t { any, tcp, udp };

struct PortRange {
    uint16_t lo = 0;
    uint16_t hi = 0;
};

inline constexpr uint32_t kDefaultDepth = 4096;       ///< bytes from a direction's start
inline constexpr uint32_t kMaxDepth = 1u << 20;       ///< the largest depth= accepted
inline constexpr size_t kMaxRuleName = 64;
inline constexpr size_t kMaxAppName = 32;  ///< app=PROTO: [a-z0-9_.-]{1,32}
inline constexpr size_t kMaxRules = 100000;           ///< per rule set, all files together

struct Rule {
    uint32_t id = 0;    ///< unique in the rule set (1..2^32-1)
    std::string name;   ///< [A-Za-z0-9_.:-]{1,64}
    std::string pattern;  ///< a Hyperscan regular expression, without the slashes
    RuleDir dir = RuleDir::any;
    RuleProto proto = RuleProto::any;
    uint32_t depth = kDefaultDepth;
    /// The responder's port (the record's dp) must be in one of these; empty: any port.
    std::vector<PortRange> ports;
    bool every = false;  ///< every match, not just the first per direction
    /// app=PROTO: the rule names the flow's application protocol (unit
    /// "app"); such a rule's matches set the record's app instead of being
    /// listed in its matches. Empty: an ordinary rule.
    std::string app;
    bool caseless = false;   ///< flag i
    bool dotall = false;     ///< flag s
    bool multiline = false;  ///< flag m
    std::string file;  ///< where it was read (for error messages)
    uint32_t line = 0;

    bool port_ok(uint16_t port) const {
        if (ports.empty()) {
            return true;
        }
        for (const PortRange& r : ports) {
            if (port >= r.lo && port <= r.hi) {
                return true;
            }
        }
        return false;
    }
};

struct RuleSet {
    std::vector<Rule> rules;

    /// Parses one file's text and appends its rules; file names the file in
    /// errors. Throws RuleError at the first bad line, or for an id used
    /// twice (in this file or an earlier one).
    void parse(std::string_view text, const std::string& file);
    /// Reads and parses a file (RuleError names it when it cannot be read).
    void load(const std::string& path);
};

const char* to_string(RuleDir d);
const char* to_string(RuleProto p);

}  // namespace spate::match
