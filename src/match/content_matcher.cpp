// Per-worker content matching: Hyperscan streams per TCP flow direction fed
// in-order bytes, one scan per UDP datagram (content_matcher.hpp).
#include "spate/match/content_matcher.hpp"

#include "spate_config.h"

#if SPATE_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace spate::match {

/// Fixed-size blocks for Hyperscan stream state, with a free list.
struct ContentMatcher::Slab {
    size_t block = 0;
    uint32_t count = 0;
    std::unique_ptr<uint8_t[]> raw;
    uint8_t* base = nullptr;  ///< 64-byte aligned
    std::vector<uint32_t> free;

    bool owns(const void* p) const {
        const auto* b = static_cast<const uint8_t*>(p);
        return base != nullptr && b >= base && b < base + block * count;
    }
};

namespace {

/// The slab Hyperscan's stream allocator takes from on this thread (set
/// around every Hyperscan call that may open or close a stream).
thread_local ContentMatcher::Slab* t_slab = nullptr;

[[maybe_unused]] void* slab_alloc(size_t n) {
    ContentMatcher::Slab* s = t_slab;
    if (s == nullptr) {
        return std::malloc(n);  // a thread without a matcher (not the packet path)
    }
    if (n > s->block || s->free.empty()) {
        return nullptr;  // Hyperscan then says HS_NOMEM: counted and flagged
    }
    const uint32_t i = s->free.back();
    s->free.pop_back();
    return s->base + size_t{i} * s->block;
}

[[maybe_unused]] void slab_free(void* p) {
    ContentMatcher::Slab* s = t_slab;
    if (p == nullptr) {
        return;
    }
    if (s != nullptr && s->owns(p)) {
        s->free.push_back(static_cast<uint32_t>((static_cast<uint8_t*>(p) - s->base) / s->block));
    } else {
        std::free(p);
    }
}

class SlabScope {
public:
    explicit SlabScope(ContentMatcher::Slab* s) : prev_(t_slab) { t_slab = s; }
    ~SlabScope() { t_slab = prev_; }
    SlabScope(const SlabScope&) = delete;
    SlabScope& operator=(const SlabScope&) = delete;

private:
    ContentMatcher::Slab* prev_;
};

}  // namespace

/// One rule generation as this worker uses it: the database, a scratch
/// for it, the slab its streams live in, and its per-rule counters.
struct ContentMatcher::Gen {
    uint32_t id = 0;
    std::shared_ptr<const ContentDb> db;
    std::unique_ptr<ContentScratch> scratch;
    std::unique_ptr<Slab> slab;
    std::vector<uint64_t> hits;  ///< per rule index
    uint64_t flows = 0;          ///< flows bound to it (ContentFlow::bound)
    /// One stream per UDP database, reset after each datagram.
    void* udp_stream[2] = {nullptr, nullptr};

    ~Gen() {
#if SPATE_HAVE_HYPERSCAN
        for (void* st : udp_stream) {
            if (st != nullptr) {
                const SlabScope scope(nullptr);  // opened with malloc (no slab)
                hs_close_stream(static_cast<hs_stream_t*>(st), nullptr, nullptr, nullptr);
            }
        }
#endif
    }
};

/// What a match callback needs.
struct ContentMatcher::Ctx {
    ContentMatcher* m;
    Gen* g;
    ContentFlow* f;
    uint32_t base;  ///< stream offset of the scanned data's first byte (UDP: bytes before it)
    uint16_t port;
    uint8_t dir;
};

#if SPATE_HAVE_HYPERSCAN

namespace {

int on_match(unsigned int id, unsigned long long /*from*/, unsigned long long to,
             unsigned int /*flags*/, void* p) {
    auto& c = *static_cast<ContentMatcher::Ctx*>(p);
    c.m->record_hit(c, id, to);
    return 0;  // go on: other rules may match too
}

}  // namespace

#endif

void ContentMatcher::record_hit(Ctx& c, uint32_t id, uint64_t to) {
    const Rule& r = c.g->db->rules()[id];
    if (!r.port_ok(c.port)) {
        return;
    }
    const uint64_t offset = c.base + to;
    if (offset > r.depth) {
        return;  // UDP: the depth counts over the direction's datagrams
    }
    ContentFlow& f = *c.f;
    if (!r.app.empty()) {
        // Application rules name the flow's app (unit "app"), they are not listed.
        if (f.app_rule == 0 || id + 1 < f.app_rule) {
            f.app_rule = id + 1;
            ++c.g->hits[id];
            ++total_hits_;
        }
        return;
    }
    if (!r.every) {
        for (uint32_t i = 0; i < f.nhits; ++i) {
            if (f.hits[i].rule == id && f.hits[i].dir == c.dir) {
                return;  // UDP: the first match per direction was in an earlier datagram
            }
        }
    }
    ++c.g->hits[id];
    ++total_hits_;
    if (f.nhits < kMaxHits) {
        MatchHit& h = f.hits[f.nhits++];
        h.rule = id;
        h.offset = static_cast<uint32_t>(offset);
        h.dir = c.dir;
    } else if (f.hits_truncated == 0) {
        f.hits_truncated = 1;
        ++counters_.hits_truncated;
    }
}

ContentMatcher::ContentMatcher(std::shared_ptr<const ContentDb> db, uint32_t max_streams,
                               features::BufferPool* pool)
    : ContentMatcher(std::make_shared<RuleRegistry>(std::move(db)), max_streams, pool) {}

ContentMatcher::ContentMatcher(std::shared_ptr<RuleRegistry> rules, uint32_t max_streams,
                               features::BufferPool* pool)
    : registry_(std::move(rules)), max_streams_(max_streams), pool_(pool) {
#if SPATE_HAVE_HYPERSCAN
    static std::once_flag once;
    std::call_once(once, [] { hs_set_stream_allocator(slab_alloc, slab_free); });
#endif
    adopt();
}

ContentMatcher::~ContentMatcher() = default;

void ContentMatcher::adopt() {
    auto g = std::make_unique<Gen>();
    g->id = registry_->generation();
    g->db = registry_->current();
    g->scratch = std::make_unique<ContentScratch>(*g->db);
    g->slab = std::make_unique<Slab>();
    g->hits.assign(g->db->rules().size(), 0);
#if SPATE_HAVE_HYPERSCAN
    for (int dir = 0; dir < 2; ++dir) {
        if (const hs_database* d = g->db->db(Transport::udp, dir)) {
            hs_stream_t* st = nullptr;
            const SlabScope scope(nullptr);  // not from the TCP slab: malloc, once
            if (hs_open_stream(d, 0, &st) != HS_SUCCESS) {
                throw RuleError("content rules: cannot open a Hyperscan stream for UDP");
            }
            g->udp_stream[dir] = st;
        }
    }
#endif
    const size_t need = std::max(g->db->stream_bytes(0), g->db->stream_bytes(1));
    if (need > 0 && max_streams_ > 0) {
        Slab& s = *g->slab;
        s.block = (need + 63) & ~size_t{63};
        s.count = max_streams_;
        s.raw = std::make_unique_for_overwrite<uint8_t[]>(s.block * s.count + 64);
        const auto addr = reinterpret_cast<uintptr_t>(s.raw.get());
        s.base = s.raw.get() + ((64 - addr % 64) % 64);
        s.free.reserve(max_streams_);
        for (uint32_t i = max_streams_; i > 0; --i) {
            s.free.push_back(i - 1);  // block 0 first
        }
    }
    Gen* old = cur_;
    gens_.push_back(std::move(g));
    cur_ = gens_.back().get();
    cur_id_ = cur_->id;
    if (old != nullptr && old->flows == 0) {
        retire(old);
    }
}

const ContentDb& ContentMatcher::db() const {
    return *cur_->db;
}

ContentMatcher::Gen* ContentMatcher::find(uint32_t gen) const {
    for (const auto& g : gens_) {
        if (g->id == gen) {
            return g.get();
        }
    }
    return nullptr;
}

ContentMatcher::Gen* ContentMatcher::bind(ContentFlow& f) {
    if (f.gen == 0) {
        f.gen = cur_->id;
        f.bound = 1;
        ++cur_->flows;
        return cur_;
    }
    return f.gen == cur_->id ? cur_ : find(f.gen);
}

void ContentMatcher::retire(Gen* g) {
    // Nothing holds it: its counters stay (by rule id), the rest is freed.
    const std::vector<Rule>& rules = g->db->rules();
    for (size_t i = 0; i < g->hits.size(); ++i) {
        if (g->hits[i] == 0) {
            continue;
        }
        const uint32_t id = rules[i].id;
        auto it = std::lower_bound(retired_hits_.begin(), retired_hits_.end(),
                                   std::pair<uint32_t, uint64_t>{id, 0});
        if (it != retired_hits_.end() && it->first == id) {
            it->second += g->hits[i];
        } else {
            retired_hits_.insert(it, {id, g->hits[i]});
        }
    }
    for (auto it = gens_.begin(); it != gens_.end(); ++it) {
        if (it->get() == g) {
            gens_.erase(it);
            break;
        }
    }
}

std::vector<std::pair<uint32_t, uint64_t>> ContentMatcher::rule_hits() const {
    std::vector<std::pair<uint32_t, uint64_t>> out = retired_hits_;
    for (const auto& g : gens_) {
        const std::vector<Rule>& rules = g->db->rules();
        for (size_t i = 0; i < g->hits.size(); ++i) {
            if (g->hits[i] != 0) {
                out.emplace_back(rules[i].id, g->hits[i]);
            }
        }
    }
    std::sort(out.begin(), out.end());
    // One entry per id (a rule kept over a reload is in several generations).
    size_t k = 0;
    for (size_t i = 0; i < out.size(); ++i) {
        if (k > 0 && out[k - 1].first == out[i].first) {
            out[k - 1].second += out[i].second;
        } else {
            out[k++] = out[i];
        }
    }
    out.resize(k);
    return out;
}

void ContentMatcher::close_stream(Gen& g, ContentFlow& f, int dir, uint16_t server_port) {
    ContentFlow::Dir& d = f.dir[dir];
    if (d.slot == 0) {
        return;
    }
#if SPATE_HAVE_HYPERSCAN
    Slab& slab = *g.slab;
    auto* id = reinterpret_cast<hs_stream_t*>(slab.base + size_t{d.slot - 1} * slab.block);
    Ctx c{this, &g, &f, 0, server_port, static_cast<uint8_t>(dir)};
    const SlabScope scope(&slab);
    // End-anchored patterns ($, \z) report now; the block goes back to the slab.
    if (hs_close_stream(id, g.scratch->get(), on_match, &c) != HS_SUCCESS) {
        ++counters_.scan_errors;
    }
#else
    (void)g;
    (void)server_port;
#endif
    d.slot = 0;
    --in_use_;
}

void ContentMatcher::scan_stream(Gen& g, ContentFlow& f, int dir, const uint8_t* data,
                                 uint32_t len, uint16_t server_port) {
    ContentFlow::Dir& d = f.dir[dir];
    if (d.done != 0 || d.no_state != 0 || len == 0) {
        return;
    }
#if SPATE_HAVE_HYPERSCAN
    Slab& slab = *g.slab;
    const hs_database* db = g.db->db(Transport::tcp, dir);
    if (d.slot == 0) {
        hs_stream_t* id = nullptr;
        hs_error_t e;
        {
            const SlabScope scope(&slab);
            e = hs_open_stream(db, 0, &id);
        }
        if (e != HS_SUCCESS || id == nullptr || !slab.owns(id)) {
            d.no_state = 1;
            ++counters_.streams_refused;
            return;
        }
        d.slot = static_cast<uint32_t>((reinterpret_cast<uint8_t*>(id) - slab.base) / slab.block) +
                 1;
        ++in_use_;
        ++counters_.streams_opened;
    }
    const uint32_t max = g.db->max_depth(Transport::tcp, dir);
    const uint32_t take = std::min(len, max - std::min(max, d.fed));
    auto* id = reinterpret_cast<hs_stream_t*>(slab.base + size_t{d.slot - 1} * slab.block);
    Ctx c{this, &g, &f, 0, server_port, static_cast<uint8_t>(dir)};
    if (take > 0 && hs_scan_stream(id, reinterpret_cast<const char*>(data), take, 0,
                                   g.scratch->get(), on_match, &c) != HS_SUCCESS) {
        ++counters_.scan_errors;
    }
    d.fed += take;
    if (d.fed >= max) {
        close_stream(g, f, dir, server_port);  // past every rule's depth
        d.done = 1;
    }
#else
    (void)g;
    (void)data;
    (void)server_port;
#endif
}

void ContentMatcher::tcp(ContentFlow& f, int dir, uint32_t seq, bool syn, const uint8_t* data,
                         uint32_t len, uint16_t server_port) {
    Gen* g = bind(f);
    if (g == nullptr || g->db->db(Transport::tcp, dir) == nullptr) {
        return;
    }
    ContentFlow::Dir& d = f.dir[dir];
    if (syn && d.stream.started == 0) {
        features::stream_start(d.stream, seq + 1);
    }
    if (len == 0 || d.done != 0 || d.no_state != 0) {
        return;
    }
    const uint32_t at = seq + (syn ? 1 : 0);
    const features::StreamFeed r = features::stream_feed(
        d.stream, pool_, 0, at, data, len,
        [&](const uint8_t* q, uint32_t n) { scan_stream(*g, f, dir, q, n, server_port); },
        [&] { return d.done == 0 && d.no_state == 0; });
    if (r == features::StreamFeed::gap && d.done == 0 && d.no_state == 0) {
        d.gap = 1;
        d.done = 1;
        ++counters_.gaps;
        close_stream(*g, f, dir, server_port);
    }
    if (d.done != 0 || d.no_state != 0) {
        features::stream_release(d.stream, pool_);  // after the feed: it may read the buffer
    }
}

void ContentMatcher::udp(ContentFlow& f, int dir, const uint8_t* data, uint32_t len,
                         uint16_t server_port) {
#if SPATE_HAVE_HYPERSCAN
    Gen* g = bind(f);
    if (g == nullptr) {
        return;
    }
    const hs_database* db = g->db->db(Transport::udp, dir);
    ContentFlow::Dir& d = f.dir[dir];
    if (db == nullptr || d.done != 0 || len == 0) {
        return;
    }
    const uint32_t max = g->db->max_depth(Transport::udp, dir);
    const uint32_t take = std::min(len, max - std::min(max, d.fed));
    Ctx c{this, g, &f, d.fed, server_port, static_cast<uint8_t>(dir)};
    auto* st = static_cast<hs_stream_t*>(g->udp_stream[dir]);
    // The datagram, then its end (end-anchored patterns report there) and
    // back to the start state for the next one.
    if (take > 0) {
        const hs_error_t e1 = hs_scan_stream(st, reinterpret_cast<const char*>(data), take, 0,
                                             g->scratch->get(), on_match, &c);
        const hs_error_t e2 = hs_reset_stream(st, 0, g->scratch->get(), on_match, &c);
        if (e1 != HS_SUCCESS || e2 != HS_SUCCESS) {
            ++counters_.scan_errors;
        }
    }
    d.fed += take;
    if (d.fed >= max) {
        d.done = 1;
    }
#else
    (void)f;
    (void)dir;
    (void)data;
    (void)len;
    (void)server_port;
#endif
}

void ContentMatcher::finish(ContentFlow& f, uint16_t server_port) {
    Gen* g = f.gen == 0 ? nullptr : (f.gen == cur_->id ? cur_ : find(f.gen));
    for (int dir = 0; dir < 2; ++dir) {
        if (g != nullptr) {
            close_stream(*g, f, dir, server_port);
        }
        features::stream_release(f.dir[dir].stream, pool_);
        f.dir[dir].done = 1;
    }
    if (f.bound != 0 && g != nullptr) {
        f.bound = 0;
        if (--g->flows == 0 && g != cur_) {
            retire(g);  // the last flow of an older generation: free its database
        }
    }
}

}  // namespace spate::match
