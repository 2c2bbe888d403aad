#include "spate/flow/flow_table.hpp"

#include <cstddef>

#include <sys/mman.h>

#include <new>
#include <stdexcept>
#include <string>

namespace spate {

std::string_view to_string(EndReason r) {
    switch (r) {
        case EndReason::idle:
            return "idle";
        case EndReason::active:
            return "active";
        case EndReason::tcp_end:
            return "tcp_end";
        case EndReason::evicted:
            return "evicted";
        case EndReason::end_of_input:
            return "end_of_input";
        case EndReason::count_:
            break;
    }
    return "unknown";
}

// The per-packet fields end within the entry's first 160 bytes.
static_assert(offsetof(FlowTable::Entry, data) + offsetof(FlowData, fragments) <= 160);

namespace {

/// Asks for transparent huge pages on a large region (ignored where THP is
/// off or unsupported: the region works the same with 4 KiB pages).
void advise_huge(void* p, size_t bytes) {
    if (bytes >= (size_t{4} << 20)) {
        ::madvise(p, bytes, MADV_HUGEPAGE);
    }
}

}  // namespace

FlowTable::FlowTable(const FlowTableConfig& cfg) : cfg_(cfg) {
    if (cfg.max_flows == 0 || cfg.max_flows > (1u << 30)) {
        throw std::invalid_argument("max-flows must be between 1 and 2^30");
    }
    cap_ = cfg.max_flows;
    stride_ = kEntryBytes + ((size_t{cfg.extra_bytes} + 7) & ~size_t{7});
    // Reserved, not touched: an entry's pages are first written when the entry
    // is first used, so a large --max-flows costs memory only as flows come.
    // Transparent huge pages where the kernel allows them (madvise mode): a
    // random access over millions of entries then misses the TLB far less,
    // and memory is taken 2 MiB at a time instead of a fault per 4 KiB.
    const size_t bytes = stride_ * cap_;
    void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        throw std::runtime_error("flow table: cannot reserve " + std::to_string(bytes >> 20) +
                                 " MiB for " + std::to_string(cap_) + " flows of " +
                                 std::to_string(stride_) +
                                 " bytes each (lower --max-flows, or the per-flow feature bounds)");
    }
    advise_huge(mem, bytes);
    pool_ = std::unique_ptr<uint8_t[], PoolDelete>(static_cast<uint8_t*>(mem), PoolDelete{bytes});
    uint32_t nslots = 16;
    while (nslots < 2 * static_cast<uint64_t>(cap_)) {
        nslots <<= 1;
    }
    const size_t slot_bytes = size_t{nslots} * sizeof(Slot);
    void* smem = mmap(nullptr, slot_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (smem == MAP_FAILED) {
        throw std::runtime_error("flow table: cannot reserve " + std::to_string(slot_bytes >> 20) +
                                 " MiB for its index (lower --max-flows)");
    }
    advise_huge(smem, slot_bytes);
    slots_ = std::unique_ptr<Slot[], SlotsDelete>(static_cast<Slot*>(smem), SlotsDelete{slot_bytes});
    nslots_ = nslots;
    slot_mask_ = nslots - 1;
    free_head_ = kNil;
    next_unused_ = 0;
}

void FlowTable::SlotsDelete::operator()(Slot* p) const {
    munmap(p, bytes);
}

void FlowTable::PoolDelete::operator()(uint8_t* p) const {
    munmap(p, bytes);
}

size_t FlowTable::memory_bytes() const {
    return stride_ * cap_ + size_t{nslots_} * sizeof(Slot);
}

FlowTable::Entry* FlowTable::find(const FlowKey& k, uint64_t hash, bool& reverse) {
    uint32_t tag = tag_of(hash);
    uint32_t s = static_cast<uint32_t>(hash) & slot_mask_;
    // insert() never places a flow further than kMaxProbe from its home,
    // and deletion only moves flows closer to it.
    for (uint32_t probe = 0; probe < kMaxProbe; ++probe) {
        const Slot& slot = slots_[s];
        if (slot.tag == 0) {
            return nullptr;
        }
        if (slot.tag == tag) {
            Entry& e = at(slot.idx);
            const FlowKey& fk = e.data.key;
            if (fk == k) {
                reverse = false;
                return &e;
            }
            if (fk.proto == k.proto && fk.ip_version == k.ip_version && fk.vlan == k.vlan &&
                fk.src == k.dst && fk.dst == k.src && fk.sport == k.dport && fk.dport == k.sport) {
                reverse = true;
                return &e;
            }
        }
        s = (s + 1) & slot_mask_;
    }
    return nullptr;
}

void FlowTable::list_unlink(List& l, Entry& e, bool age) {
    uint32_t& prev = age ? e.age_prev : e.list_prev;
    uint32_t& next = age ? e.age_next : e.list_next;
    if (prev != kNil) {
        (age ? at(prev).age_next : at(prev).list_next) = next;
    } else {
        l.head = next;
    }
    if (next != kNil) {
        (age ? at(next).age_prev : at(next).list_prev) = prev;
    } else {
        l.tail = prev;
    }
    prev = next = kNil;
}

void FlowTable::list_append(List& l, Entry& e, uint32_t idx, bool age) {
    uint32_t& prev = age ? e.age_prev : e.list_prev;
    uint32_t& next = age ? e.age_next : e.list_next;
    prev = l.tail;
    next = kNil;
    if (l.tail != kNil) {
        (age ? at(l.tail).age_next : at(l.tail).list_next) = idx;
    } else {
        l.head = idx;
    }
    l.tail = idx;
}

void FlowTable::move_to_tail(Entry* e) {
    auto idx = e->self;
    List& l = lists_[e->list];
    if (l.tail == idx) {
        return;
    }
    list_unlink(l, *e, false);
    list_append(l, *e, idx, false);
}

void FlowTable::mark_closing(Entry* e) {
    if (e->closing) {
        return;
    }
    auto idx = e->self;
    list_unlink(lists_[e->list], *e, false);
    e->closing = true;
    e->list = 1;
    list_append(lists_[1], *e, idx, false);
}

void FlowTable::restart_age(Entry* e) {
    auto idx = e->self;
    list_unlink(age_, *e, true);
    list_append(age_, *e, idx, true);
}

void FlowTable::slot_erase(const Entry& e, uint32_t idx) {
    uint32_t s = static_cast<uint32_t>(e.hash) & slot_mask_;
    while (!(slots_[s].tag != 0 && slots_[s].idx == idx)) {
        s = (s + 1) & slot_mask_;
    }
    // Backward-shift deletion keeps every probe chain unbroken.
    uint32_t hole = s;
    uint32_t j = s;
    for (;;) {
        j = (j + 1) & slot_mask_;
        if (slots_[j].tag == 0) {
            break;
        }
        uint32_t home = slots_[j].home & slot_mask_;
        // Move j into the hole when its home is not cyclically in (hole, j].
        bool in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = Slot{0, 0, 0};
}

void FlowTable::remove(Entry* e) {
    auto idx = e->self;
    slot_erase(*e, idx);
    list_unlink(lists_[e->list], *e, false);
    list_unlink(age_, *e, true);
    e->list = 2;
    e->list_next = free_head_;
    free_head_ = idx;
    --size_;
    ++counters_.removed;
}

FlowTable::Entry* FlowTable::oldest_for_eviction() {
    // The lists are ordered by activity bucket, not exactly by last packet:
    // the least recently active flow is among the first few of each list.
    constexpr int kLook = 8;
    Entry* best = nullptr;
    for (const List& l : lists_) {
        uint32_t i = l.head;
        for (int n = 0; n < kLook && i != kNil; ++n) {
            Entry& e = at(i);
            if (best == nullptr || e.data.last_ns < best->data.last_ns) {
                best = &e;
            }
            i = e.list_next;
        }
    }
    return best;
}

}  // namespace spate
