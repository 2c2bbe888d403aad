#pragma once
/// Compiled content rules: Hyperscan databases, one per protocol and
/// direction, each holding the rules that apply there (a client-only rule is
/// never scanned against server bytes). TCP databases are stream mode (one
/// stream per flow direction, fed the reassembled bytes); UDP databases are
/// stream mode too, scanned one datagram at a time (a stream reset after
/// each). Shared read-only by every worker;
/// each worker has its own scratch (ContentScratch).
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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
    /// Whether this build can compile rules (it has Hyperscan).
    static bool available();

    ~ContentDb();
    ContentDb(const ContentDb&) = delete;
    ContentDb& operator=(const ContentDb&) = delete;

    const std::vector<Rule>& rules() const { return *rules_; }
    /// The rules, shareable: a RuleRegistry keeps them after the database is freed.
    const std::shared_ptr<const std::vector<Rule>>& table() const { return rules_; }
    /// nullptr when no rule applies to that transport and direction
    /// (dir: 0 = client bytes, 1 = server bytes).
    const hs_database* db(Transport t, int dir) const { return db_[static_cast<int>(t)][dir]; }
    /// The deepest rule there: bytes after this are never scanned.
    uint32_t max_depth(Transport t, int dir) const { return depth_[static_cast<int>(t)][dir]; }
    /// Bytes of one Hyperscan stream of a TCP database (0 without one).
    size_t stream_bytes(int dir) const { return stream_bytes_[dir]; }

private:
    ContentDb() = default;
    std::shared_ptr<const std::vector<Rule>> rules_;
    hs_database* db_[2][2] = {};
    uint32_t depth_[2][2] = {};
    size_t stream_bytes_[2] = {};
};

/// The rule sets of a run, one generation per (re)load: the current
/// compiled database, which workers pick up for new flows, and the rule
/// table of every generation, which records name their matches from (a
/// flow keeps the generation it started with). Reloads happen on the
/// control thread; workers read generation() once per burst.
class RuleRegistry {
public:
    static constexpr uint32_t kMaxGenerations = 4096;

    /// Generation 1 is `first` (not null).
    explicit RuleRegistry(std::shared_ptr<const ContentDb> first);

    /// Makes `db` current (a reload). False when every generation is used
    /// (a restart is needed to load again).
    bool publish(std::shared_ptr<const ContentDb> db);
    uint32_t generation() const { return gen_.load(std::memory_order_acquire); }
    /// The current database (under a lock: not for the packet path).
    std::shared_ptr<const ContentDb> current() const;
    /// The rules of generation g (1..generation()); nullptr for another g.
    /// Valid for the registry's life.
    const std::vector<Rule>* rules(uint32_t g) const {
        return g == 0 || g > generation() ? nullptr : tables_[g].get();
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const ContentDb> current_;
    std::array<std::shared_ptr<const std::vector<Rule>>, kMaxGenerations + 1> tables_;
    std::atomic<uint32_t> gen_{0};
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
