#pragma once
/// A fixed-capacity bidirectional flow table owned by one worker.
///
/// Open addressing (linear probing, backward-shift deletion) over a slot
/// array at most half full; flows live in a pool sized at start. Two
/// intrusive lists in last-activity order (open flows, closing TCP flows)
/// make idle expiry and eviction O(expired); a third list in creation order
/// makes the active timeout O(expired). Nothing allocates after construction.
///
/// The activity lists are lazy: a packet moves its flow to the list tail
/// only when its time falls in a later activity bucket (kBucketShift, about
/// 134 ms) than the flow's previous packet, not on every packet (a move
/// touches two neighbours: random cache misses at scale). The lists stay
/// ordered by the bucket of each flow's last packet, so a sweep visits the
/// due flows and at most the rest of one bucket.
#include <cstdint>
#include <memory>
#include <vector>

#include "spate/flow/flow.hpp"

namespace spate {

struct FlowTableConfig {
    uint32_t max_flows = 1u << 20;
    uint64_t idle_timeout_ns = 15'000'000'000ULL;      ///< 0 = never
    uint64_t active_timeout_ns = 1800'000'000'000ULL;  ///< 0 = never
    uint64_t tcp_close_timeout_ns = 2'000'000'000ULL;  ///< linger after FIN+FIN or RST
    uint32_t extra_bytes = 0;  ///< per-flow feature state stored after each entry
};

struct FlowTableCounters {
    uint64_t created = 0;
    uint64_t removed = 0;  ///< flows taken out of the table (exported or empty)
    uint64_t evicted = 0;  ///< exported early because the table was full
    uint64_t expired_idle = 0;
    uint64_t expired_active = 0;
    uint64_t tcp_ended = 0;
    uint64_t max_active = 0;  ///< high-water mark of concurrent flows
    /// New flows refused: no free slot within kMaxProbe of their home slot
    /// (never with a random hash seed and the table at most half full, short
    /// of tuples crafted against a known seed).
    uint64_t probe_overflow = 0;
};

class FlowTable {
public:
    explicit FlowTable(const FlowTableConfig& cfg);

    /// Laid out hot first: the table's links and TCP tracking, then the
    /// record, whose first 120 bytes (key, times, per-direction counters)
    /// are what a packet updates; its cold part (VLANs, MPLS, tunnels, outer
    /// addresses: written at the first packet) comes last, before the
    /// feature state.
    struct Entry {
        uint64_t hash = 0;
        uint32_t list_prev = kNil, list_next = kNil;  ///< open or closing list
        uint32_t age_prev = kNil, age_next = kNil;    ///< creation-order list
        uint32_t self = 0;                            ///< own pool index
        uint8_t list = 0;  ///< which activity list: 0 open, 1 closing, 2 free
        bool closing = false;
        /// TCP sequence tracking per direction: highest sequence + length seen.
        uint8_t tcp_seq_valid[2] = {0, 0};
        uint32_t tcp_high[2] = {0, 0};
        FlowData data;
        /// Feature state: config().extra_bytes bytes right after the entry.
        uint8_t* extra();
        const uint8_t* extra() const;
    };
    static constexpr uint32_t kNil = 0xffffffffu;
    /// Longest probe: a lookup reads at most this many slots, and a flow that
    /// would sit further from its home slot is refused (and counted).
    static constexpr uint32_t kMaxProbe = 256;
    /// Size of an entry rounded to 8 bytes: where its feature state starts.
    static constexpr size_t kEntryBytes = (sizeof(Entry) + 7) & ~size_t{7};

    /// Batch hints, a few packets ahead of find(): first the probe's slot,
    /// then (once the slot is in cache) the entry it points to.
    void prefetch_slot(uint64_t hash) const {
        __builtin_prefetch(&slots_[static_cast<uint32_t>(hash) & slot_mask_]);
    }
    void prefetch_entry(uint64_t hash) const {
        const Slot& slot = slots_[static_cast<uint32_t>(hash) & slot_mask_];
        if (slot.tag == tag_of(hash)) {
            const uint8_t* e = pool_.get() + size_t{slot.idx} * stride_;
            // The hot part: links, TCP tracking, key, times, counters.
            __builtin_prefetch(e);
            __builtin_prefetch(e + 64);
            __builtin_prefetch(e + 128 + 31);
            if (stride_ > kEntryBytes) {
                __builtin_prefetch(e + kEntryBytes);  // the feature state's first line
            }
        }
    }

    /// Finds the flow of a packet, or nullptr. `reverse` is set when the
    /// packet travels responder -> initiator.
    Entry* find(const FlowKey& k, uint64_t hash, bool& reverse);

    /// Inserts a new flow keyed (initiator orientation) by k. When the table
    /// is full the least recently active flow is handed to `evict` first.
    /// Returns nullptr (counted in probe_overflow) when no slot within
    /// kMaxProbe of the flow's home slot is free.
    template <class Evict>
    Entry* insert(const FlowKey& k, uint64_t hash, Evict&& evict);

    /// Activity at time `ts` on a flow whose previous packet was at
    /// `prev_ns`: moves it to its list's tail when ts is in a later bucket.
    void touch(Entry* e, uint64_t prev_ns, uint64_t ts) {
        if ((ts >> kBucketShift) != (prev_ns >> kBucketShift)) {
            move_to_tail(e);
        }
    }
    /// Activity buckets of 2^27 ns (134 ms): a sweep visits at most one
    /// bucket's worth of flows that are not yet due.
    static constexpr int kBucketShift = 27;
    /// Moves a TCP flow to the closing list (shorter timeout).
    void mark_closing(Entry* e);
    /// Restarts the creation-order position (after an active-timeout export).
    void restart_age(Entry* e);
    /// Removes a flow (after it was exported).
    void remove(Entry* e);

    /// Hands every flow that is due at `now` to fn(Entry&, EndReason), then
    /// removes it (idle / closing) or leaves it for the caller to reset
    /// (active: fn must reset the counters; it stays in the table).
    template <class Fn>
    void expire(uint64_t now_ns, Fn&& fn);

    /// Hands every flow to fn and empties the table.
    template <class Fn>
    void drain(Fn&& fn);

    uint32_t size() const { return size_; }
    uint32_t capacity() const { return cap_; }
    const FlowTableConfig& config() const { return cfg_; }
    FlowTableCounters& counters() { return counters_; }
    const FlowTableCounters& counters() const { return counters_; }
    /// Bytes of memory this table holds (pool + slots).
    size_t memory_bytes() const;

private:
    struct Slot {
        uint32_t tag;   ///< upper hash bits (0 never used as a valid tag)
        uint32_t idx;   ///< pool index
        uint32_t home;  ///< lower hash bits: the home slot, without reading the entry
    };
    struct List {
        uint32_t head = kNil, tail = kNil;
    };

    static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 32) | 1u; }
    void move_to_tail(Entry* e);
    void list_unlink(List& l, Entry& e, bool age);
    void list_append(List& l, Entry& e, uint32_t idx, bool age);
    void slot_erase(const Entry& e, uint32_t idx);
    Entry* oldest_for_eviction();

    FlowTableConfig cfg_;
    FlowTableCounters counters_;
    Entry& at(uint32_t i) { return *reinterpret_cast<Entry*>(pool_.get() + size_t{i} * stride_); }
    const Entry& at(uint32_t i) const {
        return *reinterpret_cast<const Entry*>(pool_.get() + size_t{i} * stride_);
    }

    struct PoolDelete {
        size_t bytes;
        void operator()(uint8_t* p) const;
    };
    std::unique_ptr<uint8_t[], PoolDelete> pool_;
    size_t stride_ = 0;
    struct SlotsDelete {
        size_t bytes;
        void operator()(Slot* p) const;
    };
    /// The open-addressing index, zero pages from mmap (a zero Slot is empty).
    std::unique_ptr<Slot[], SlotsDelete> slots_;
    uint32_t nslots_ = 0;
    uint32_t slot_mask_ = 0;
    uint32_t cap_ = 0;
    uint32_t size_ = 0;
    uint32_t free_head_ = kNil;
    uint32_t next_unused_ = 0;  ///< entries at and after this index were never used
    List lists_[2];  ///< [0] open flows, [1] closing TCP flows, each in last-activity order
    List age_;       ///< all flows in creation order
};

// ---- inline and template members ----

inline uint8_t* FlowTable::Entry::extra() {
    return reinterpret_cast<uint8_t*>(this) + kEntryBytes;
}
inline const uint8_t* FlowTable::Entry::extra() const {
    return reinterpret_cast<const uint8_t*>(this) + kEntryBytes;
}

template <class Evict>
FlowTable::Entry* FlowTable::insert(const FlowKey& k, uint64_t hash, Evict&& evict) {
    if (free_head_ == kNil) {
        if (next_unused_ < cap_) {
            // First use of this part of the pool: pages are touched only now.
            Entry* fresh = new (pool_.get() + size_t{next_unused_} * stride_) Entry{};
            fresh->self = next_unused_++;
            fresh->list = 2;
            fresh->list_next = kNil;
            free_head_ = fresh->self;
        } else {
            Entry* victim = oldest_for_eviction();
            victim->data.end_reason = EndReason::evicted;
            ++counters_.evicted;
            evict(*victim);
            remove(victim);
        }
    }
    uint32_t idx = free_head_;
    Entry& e = at(idx);
    free_head_ = e.list_next;
    e.data = FlowData{};
    e.data.key = k;
    e.tcp_seq_valid[0] = e.tcp_seq_valid[1] = 0;
    e.hash = hash;
    e.closing = false;
    uint32_t s = static_cast<uint32_t>(hash) & slot_mask_;
    uint32_t probe = 0;
    while (slots_[s].tag != 0) {
        if (++probe == kMaxProbe) {
            // Give the entry back: the flow has no place within reach.
            e.list = 2;
            e.list_next = free_head_;
            free_head_ = idx;
            ++counters_.probe_overflow;
            return nullptr;
        }
        s = (s + 1) & slot_mask_;
    }
    e.list = 0;
    list_append(lists_[0], e, idx, false);
    list_append(age_, e, idx, true);
    slots_[s] = Slot{tag_of(hash), idx, static_cast<uint32_t>(hash)};
    ++size_;
    ++counters_.created;
    if (size_ > counters_.max_active) {
        counters_.max_active = size_;
    }
    return &e;
}

template <class Fn>
void FlowTable::expire(uint64_t now, Fn&& fn) {
    auto due = [now](uint64_t t, uint64_t timeout) {
        return timeout != 0 && now > t && now - t > timeout;
    };
    // The activity lists are ordered by bucket of the last packet: every
    // flow in a bucket that starts after now - timeout is not due, so the
    // walk stops at the first of those; in the bucket that straddles the
    // limit, flows not yet due are stepped over.
    auto sweep = [&](List& l, uint64_t timeout, EndReason why, uint64_t& count) {
        if (timeout == 0 || now <= timeout) {
            return;
        }
        const uint64_t last_due_bucket = (now - timeout - 1) >> kBucketShift;
        uint32_t i = l.head;
        while (i != kNil) {
            Entry& e = at(i);
            i = e.list_next;
            if (due(e.data.last_ns, timeout)) {
                e.data.end_reason = why;
                ++count;
                fn(e);
                remove(&e);
            } else if ((e.data.last_ns >> kBucketShift) > last_due_bucket) {
                break;
            }
        }
    };
    sweep(lists_[0], cfg_.idle_timeout_ns, EndReason::idle, counters_.expired_idle);
    sweep(lists_[1], cfg_.tcp_close_timeout_ns, EndReason::tcp_end, counters_.tcp_ended);
    if (cfg_.active_timeout_ns != 0) {
        while (age_.head != kNil) {
            Entry& e = at(age_.head);
            if (!(now >= e.data.first_ns && now - e.data.first_ns >= cfg_.active_timeout_ns)) {
                break;
            }
            e.data.end_reason = EndReason::active;
            ++counters_.expired_active;
            fn(e);  // the caller resets the counters and first_ns; the flow stays
            restart_age(&e);
        }
    }
}

template <class Fn>
void FlowTable::drain(Fn&& fn) {
    while (age_.head != kNil) {
        Entry& e = at(age_.head);
        fn(e);
        remove(&e);
    }
}

}  // namespace spate
