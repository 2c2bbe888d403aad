#pragma once
/// Per-worker content matching (docs/rules.md): TCP bytes are put in order
/// by the stream component (retransmissions and overlaps dropped, early
/// segments held) and fed to one Hyperscan stream per flow direction, so a
/// pattern split over segments matches once, at its offset in the stream;
/// UDP datagrams are scanned one by one (a stream reset after each) with the depth counted
/// over the direction's datagrams. Hyperscan stream state comes from a
/// per-worker slab of fixed-size blocks (bounded; a direction that finds it
/// empty is counted and flagged), through an allocator hook, so opening a
/// stream never calls malloc.
#include <cstdint>
#include <memory>
#include <vector>

#include "spate/features/scratch.hpp"
#include "spate/features/stream.hpp"
#include "spate/match/content_db.hpp"

namespace spate::match {

inline constexpr uint32_t kMaxHits = 8;  ///< matches kept per flow (both directions)

struct MatchHit {
    uint32_t rule;    ///< index into ContentDb::rules()
    uint32_t offset;  ///< where the match ends, from the direction's first byte
    uint8_t dir;      ///< 0: client bytes, 1: server bytes
    uint8_t pad[3];
};

/// A flow's matching state: plain data, no pointers (it lives in the flow
/// entry); zero-initialised means "nothing seen".
struct ContentFlow {
    struct Dir {
        features::StreamState stream;  ///< TCP in-order delivery
        uint32_t fed;                  ///< bytes scanned so far (stream offset of the next byte)
        uint32_t slot;                 ///< Hyperscan stream: slab block + 1 (0: none open)
        uint8_t done;                  ///< past the depth, or stopped: nothing more to scan
        uint8_t no_state;              ///< the slab was empty: this direction was not scanned
        uint8_t gap;                   ///< a hole in the TCP stream stopped the scan
        uint8_t pad;
    };
    Dir dir[2];
    uint16_t nhits;
    uint8_t hits_truncated;  ///< more matches than kMaxHits
    uint8_t pad;
    /// The app= rule that names the flow's application: index into
    /// ContentDb::rules() + 1 (0: none matched). Of several, the one loaded
    /// first wins (rule files are priority-ordered).
    uint32_t app_rule;
    /// The rule generation (RuleRegistry) the flow was bound to at its first
    /// packet: its hits index that generation's rules (0: not bound yet).
    uint32_t gen;
    uint8_t bound;  ///< holds a reference on its generation (until finish)
    uint8_t pad2[3];
    MatchHit hits[kMaxHits];
};

struct MatcherCounters {
    uint64_t streams_opened = 0;
    uint64_t streams_refused = 0;  ///< the stream slab was empty
    uint64_t gaps = 0;             ///< TCP directions stopped at a hole
    uint64_t hits_truncated = 0;   ///< flows with more matches than kMaxHits
    uint64_t scan_errors = 0;      ///< Hyperscan returned an error
};

class ContentMatcher {
public:
    /// max_streams: Hyperscan streams open at once in this worker per rule
    /// generation (each TCP flow direction being scanned holds one). pool:
    /// the worker's buffer pool for held out-of-order segments (may be
    /// null: early segments are then gaps). New flows use the registry's
    /// current rules (refresh()).
    ContentMatcher(std::shared_ptr<RuleRegistry> rules, uint32_t max_streams,
                   features::BufferPool* pool);
    /// One fixed rule set (its own registry).
    ContentMatcher(std::shared_ptr<const ContentDb> db, uint32_t max_streams,
                   features::BufferPool* pool);
    ~ContentMatcher();
    ContentMatcher(const ContentMatcher&) = delete;
    ContentMatcher& operator=(const ContentMatcher&) = delete;

    /// A TCP segment of direction `dir` (0: from the initiator) at sequence
    /// number `seq`; syn: the segment has SYN (its data starts at seq + 1).
    /// server_port: the responder's port (for port= filters).
    void tcp(ContentFlow& f, int dir, uint32_t seq, bool syn, const uint8_t* data, uint32_t len,
             uint16_t server_port);
    /// A UDP datagram's payload.
    void udp(ContentFlow& f, int dir, const uint8_t* data, uint32_t len, uint16_t server_port);
    /// The flow ends: closes its streams (end-anchored patterns report here)
    /// and gives back their slab blocks, buffers and its hold on its rule
    /// generation. Idempotent.
    void finish(ContentFlow& f, uint16_t server_port);

    /// Picks up rules reloaded since (RuleRegistry::publish): flows that
    /// start from now on use them; flows already bound finish with theirs,
    /// whose database is freed when the last of them ends. Cheap when
    /// nothing changed (one atomic load): call it every so often.
    void refresh() {
        if (registry_->generation() != cur_id_) {
            adopt();
        }
    }

    /// The current rules.
    const ContentDb& db() const;
    const RuleRegistry& registry() const { return *registry_; }
    const MatcherCounters& counters() const { return counters_; }
    /// Matches reported per rule id, every generation together, rules with
    /// none left out (sorted by id). An app= rule counts when it names (or
    /// renames) a flow's application.
    std::vector<std::pair<uint32_t, uint64_t>> rule_hits() const;
    uint64_t total_hits() const { return total_hits_; }
    uint32_t streams_in_use() const { return in_use_; }
    /// Rule generations this worker still holds (the current one included).
    uint32_t generations_held() const { return static_cast<uint32_t>(gens_.size()); }

    // For the Hyperscan callbacks and allocator hooks (content_matcher.cpp).
    struct Slab;
    struct Ctx;
    struct Gen;
    void record_hit(Ctx& c, uint32_t id, uint64_t to);

private:
    void adopt();
    Gen* bind(ContentFlow& f);
    Gen* find(uint32_t gen) const;
    void retire(Gen* g);
    void close_stream(Gen& g, ContentFlow& f, int dir, uint16_t server_port);
    void scan_stream(Gen& g, ContentFlow& f, int dir, const uint8_t* data, uint32_t len,
                     uint16_t server_port);

    std::shared_ptr<RuleRegistry> registry_;
    uint32_t max_streams_;
    features::BufferPool* pool_;
    std::vector<std::unique_ptr<Gen>> gens_;  ///< back(): the current one
    Gen* cur_ = nullptr;
    uint32_t cur_id_ = 0;
    MatcherCounters counters_;
    std::vector<std::pair<uint32_t, uint64_t>> retired_hits_;  ///< of freed generations, by id
    uint64_t total_hits_ = 0;
    uint32_t in_use_ = 0;
};

}  // namespace spate::match
