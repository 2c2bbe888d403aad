#pragma once
/// A fingerprint database in the JSON-lines format of cisco/joy's and
/// cisco/mercury's fingerprint_db.json (uncompressed), mapping a fingerprint
/// string (str_repr, e.g. the output of tls_fingerprint()) to the process
/// most often seen with it.
///
/// One JSON object a line; blank lines are skipped:
///   {"str_repr": "(0303)(...)((...))",            required
///    "total_count": N,                            optional
///    "process_info": [{"process": "firefox",      optional list
///                      "application_category": "browser",
///                      "count": N,
///                      "prevalence": x,           optional
///                      "os_info": {"<os>": n, ...}}, ...],   optional
///    "os_info": {"<os>": n, ...}}                 optional
/// Other keys (sha256, classes_*, malware, ...) are ignored.
///
/// The best match of a line is the process with the highest count (the
/// first one on ties). Its prevalence is its "prevalence" when given, else
/// count / total_count (total_count: the line's, else the sum of the
/// process counts; 0 when that is 0). Its os is the key with the highest
/// count in the process's os_info, else in the line's os_info ("" if none).
/// Counts may be integers or floating point numbers. When str_repr repeats,
/// the first line wins.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace spate::proto {

struct FingerprintMatch {
    std::string process;   ///< "" when the line lists no process
    std::string category;  ///< application_category, "" if absent
    std::string os;        ///< most frequent os_info key, "" if none
    double prevalence = 0;
    uint64_t count = 0;        ///< the process's count
    uint64_t total_count = 0;  ///< the line's total_count (or the sum)
};

class FingerprintDb {
public:
    FingerprintDb() = default;

    /// Loads `path`. Throws std::runtime_error naming the file when it cannot
    /// be read, and naming the file and 1-based line number when a line is
    /// not valid JSON, not an object, or lacks a string str_repr.
    static FingerprintDb load(const std::string& path);
    /// Same from text in memory; `name` is used in error messages.
    static FingerprintDb parse(std::string_view text, const std::string& name);

    /// The best match for a fingerprint string, nullptr when unknown. Does not
    /// allocate. The pointer is valid while the database is.
    const FingerprintMatch* find(std::string_view str_repr) const noexcept;

    size_t size() const { return map_.size(); }
    bool empty() const { return map_.empty(); }

private:
    struct Hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, FingerprintMatch, Hash, std::equal_to<>> map_;
};

}  // namespace spate::proto
