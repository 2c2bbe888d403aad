#pragma once
/// Compiled content rules: Hyperscan databases, one per protocol and
/// direction, each holding the rules that apply there (a client-only rule is
/// never scanned against server bytes). TCP databases are stream mode (one
/// stream per flow direction, fed the reassembled bytes); UDP databases are
/// block mode (one scan per datagram). Shared read-only by every worker;
/// each worker has its own scratch (ContentScratch).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spate/match/rules.hpp"

struct hs_database;
struct hs_scratch;

namespace spate::match {

enum class Transport : uint8_t { tcp = 0, udp = 1 };

class ContentDb {
public:
    /// Compiles the rules. Throws RuleError naming the file, the line, the
    /// rule and Hyperscan's message for a pattern it refuses (or saying that
    /// this build has no Hyperscan).
    static std::shared_ptr<const ContentDb> compile(RuleSet rules);

    ~ContentDb();
    ContentDb(const ContentDb&) = delete;
    ContentDb& operator=(const ContentDb&) = delete;

    const std::vector<Rule>& rules() const { return rules_; }
    /// nullptr when no rule applies to that transport and direction
    /// (dir: 0 = client bytes, 1 = server bytes).
    const hs_database* db(Transport t, int dir) const { return db_[static_cast<int>(t)][dir]; }
    /// The deepest rule there: bytes after this are never scanned.
    uint32_t max_depth(Transport t, int dir) const { return depth_[static_cast<int>(t)][dir]; }
    /// Bytes of one Hyperscan stream of a TCP database (0 without one).
    size_t stream_bytes(int dir) const { return stream_bytes_[dir]; }

private:
    ContentDb() = default;
    std::vector<Rule> rules_;
    hs_database* db_[2][2] = {};
    uint32_t depth_[2][2] = {};
    size_t stream_bytes_[2] = {};
};

/// A worker's Hyperscan scratch, good for every database of one ContentDb.
class ContentScratch {
public:
    explicit ContentScratch(const ContentDb& db);
    ~ContentScratch();
    ContentScratch(const ContentScratch&) = delete;
    ContentScratch& operator=(const ContentScratch&) = delete;
    hs_scratch* get() const { return scratch_; }

private:
    hs_scratch* scratch_ = nullptr;
};

}  // namespace spate::match
