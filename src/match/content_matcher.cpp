// Per-worker content matching: Hyperscan streams per TCP flow direction fed
// in-order bytes, block scans per UDP datagram (content_matcher.hpp).
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

/// What a match callback needs.
struct ContentMatcher::Ctx {
    ContentMatcher* m;
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
    const Rule& r = db_->rules()[id];
    if (!r.port_ok(c.port)) {
        return;
    }
    const uint64_t offset = c.base + to;
    if (offset > r.depth) {
        return;  // UDP: the depth counts over the direction's datagrams
    }
    ContentFlow& f = *c.f;
    if (!r.every) {
        for (uint32_t i = 0; i < f.nhits; ++i) {
            if (f.hits[i].rule == id && f.hits[i].dir == c.dir) {
                return;  // UDP: the first match per direction was in an earlier datagram
            }
        }
    }
    ++rule_hits_[id];
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
    : db_(std::move(db)), scratch_(*db_), pool_(pool), slab_(std::make_unique<Slab>()) {
    rule_hits_.assign(db_->rules().size(), 0);
#if SPATE_HAVE_HYPERSCAN
    static std::once_flag once;
    std::call_once(once, [] { hs_set_stream_allocator(slab_alloc, slab_free); });
#endif
    const size_t need = std::max(db_->stream_bytes(0), db_->stream_bytes(1));
    if (need > 0 && max_streams > 0) {
        Slab& s = *slab_;
        s.block = (need + 63) & ~size_t{63};
        s.count = max_streams;
        s.raw = std::make_unique_for_overwrite<uint8_t[]>(s.block * s.count + 64);
        const auto addr = reinterpret_cast<uintptr_t>(s.raw.get());
        s.base = s.raw.get() + ((64 - addr % 64) % 64);
        s.free.reserve(max_streams);
        for (uint32_t i = max_streams; i > 0; --i) {
            s.free.push_back(i - 1);  // block 0 first
        }
    }
}

ContentMatcher::~ContentMatcher() = default;

void ContentMatcher::close_stream(ContentFlow& f, int dir, uint16_t server_port) {
    ContentFlow::Dir& d = f.dir[dir];
    if (d.slot == 0) {
        return;
    }
#if SPATE_HAVE_HYPERSCAN
    auto* id = reinterpret_cast<hs_stream_t*>(slab_->base + size_t{d.slot - 1} * slab_->block);
    Ctx c{this, &f, 0, server_port, static_cast<uint8_t>(dir)};
    const SlabScope scope(slab_.get());
    // End-anchored patterns ($, \z) report now; the block goes back to the slab.
    if (hs_close_stream(id, scratch_.get(), on_match, &c) != HS_SUCCESS) {
        ++counters_.scan_errors;
    }
#endif
    d.slot = 0;
    --in_use_;
}

void ContentMatcher::scan_stream(ContentFlow& f, int dir, const uint8_t* data, uint32_t len,
                                 uint16_t server_port) {
    ContentFlow::Dir& d = f.dir[dir];
    if (d.done != 0 || d.no_state != 0 || len == 0) {
        return;
    }
#if SPATE_HAVE_HYPERSCAN
    const hs_database* db = db_->db(Transport::tcp, dir);
    if (d.slot == 0) {
        hs_stream_t* id = nullptr;
        hs_error_t e;
        {
            const SlabScope scope(slab_.get());
            e = hs_open_stream(db, 0, &id);
        }
        if (e != HS_SUCCESS || id == nullptr || !slab_->owns(id)) {
            d.no_state = 1;
            ++counters_.streams_refused;
            return;
        }
        d.slot = static_cast<uint32_t>((reinterpret_cast<uint8_t*>(id) - slab_->base) /
                                       slab_->block) +
                 1;
        ++in_use_;
        ++counters_.streams_opened;
    }
    const uint32_t max = db_->max_depth(Transport::tcp, dir);
    const uint32_t take = std::min(len, max - std::min(max, d.fed));
    auto* id = reinterpret_cast<hs_stream_t*>(slab_->base + size_t{d.slot - 1} * slab_->block);
    Ctx c{this, &f, 0, server_port, static_cast<uint8_t>(dir)};
    if (take > 0 && hs_scan_stream(id, reinterpret_cast<const char*>(data), take, 0,
                                   scratch_.get(), on_match, &c) != HS_SUCCESS) {
        ++counters_.scan_errors;
    }
    d.fed += take;
    if (d.fed >= max) {
        close_stream(f, dir, server_port);  // past every rule's depth
        d.done = 1;
    }
#else
    (void)data;
    (void)server_port;
#endif
}

void ContentMatcher::tcp(ContentFlow& f, int dir, uint32_t seq, bool syn, const uint8_t* data,
                         uint32_t len, uint16_t server_port) {
    if (db_->db(Transport::tcp, dir) == nullptr) {
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
        [&](const uint8_t* q, uint32_t n) { scan_stream(f, dir, q, n, server_port); },
        [&] { return d.done == 0 && d.no_state == 0; });
    if (r == features::StreamFeed::gap && d.done == 0 && d.no_state == 0) {
        d.gap = 1;
        d.done = 1;
        ++counters_.gaps;
        close_stream(f, dir, server_port);
    }
    if (d.done != 0 || d.no_state != 0) {
        features::stream_release(d.stream, pool_);  // after the feed: it may read the buffer
    }
}

void ContentMatcher::udp(ContentFlow& f, int dir, const uint8_t* data, uint32_t len,
                         uint16_t server_port) {
#if SPATE_HAVE_HYPERSCAN
    const hs_database* db = db_->db(Transport::udp, dir);
    ContentFlow::Dir& d = f.dir[dir];
    if (db == nullptr || d.done != 0 || len == 0) {
        return;
    }
    const uint32_t max = db_->max_depth(Transport::udp, dir);
    const uint32_t take = std::min(len, max - std::min(max, d.fed));
    Ctx c{this, &f, d.fed, server_port, static_cast<uint8_t>(dir)};
    if (take > 0 && hs_scan(db, reinterpret_cast<const char*>(data), take, 0, scratch_.get(),
                            on_match, &c) != HS_SUCCESS) {
        ++counters_.scan_errors;
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
    for (int dir = 0; dir < 2; ++dir) {
        close_stream(f, dir, server_port);
        features::stream_release(f.dir[dir].stream, pool_);
        f.dir[dir].done = 1;
    }
}

}  // namespace spate::match
