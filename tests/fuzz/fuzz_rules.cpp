// Fuzz target: arbitrary bytes as a rule file. Parsing either yields rules
// that keep the format's promises or a RuleError naming the file and line;
// small rule sets are compiled too (a refused pattern is a RuleError).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spate/match/content_db.hpp"
#include "spate/match/rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    spate::match::RuleSet set;
    try {
        set.parse(text, "fuzz.rules");
    } catch (const spate::match::RuleError& e) {
        if (std::string_view(e.what()).substr(0, 11) != "fuzz.rules:") {
            std::abort();  // every parse error names the file and line
        }
        return 0;
    }
    size_t pattern_bytes = 0;
    for (const auto& r : set.rules) {
        if (r.id == 0 || r.name.empty() || r.name.size() > spate::match::kMaxRuleName ||
            r.pattern.empty() || r.depth < 1 || r.depth > spate::match::kMaxDepth ||
            r.line == 0) {
            std::abort();
        }
        for (const auto& p : r.ports) {
            if (p.lo > p.hi) {
                std::abort();
            }
        }
        pattern_bytes += r.pattern.size();
    }
    // Compiling is slow for large sets: only small ones.
    if (set.rules.size() <= 4 && pattern_bytes <= 64) {
        try {
            auto db = spate::match::ContentDb::compile(std::move(set));
            spate::match::ContentScratch scratch(*db);
        } catch (const spate::match::RuleError&) {
        }
    }
    return 0;
}
