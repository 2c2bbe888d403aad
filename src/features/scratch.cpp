#include "spate/features/scratch.hpp"

#include "spate/features/stream.hpp"
#include "spate/match/content_matcher.hpp"

namespace spate::features {

BufferPool::BufferPool(uint32_t slots, uint32_t slot_bytes)
    : slots_(slots),
      slot_bytes_(slot_bytes),
      // Not zeroed: pages are touched only when a buffer is first used.
      mem_(std::make_unique_for_overwrite<uint8_t[]>(size_t{slots} * slot_bytes)),
      owner_(slots, 0) {
    free_.reserve(slots);
    for (uint32_t i = slots; i > 0; --i) {
        free_.push_back(i - 1);
    }
}

BufferPool::Lease BufferPool::acquire() {
    if (slots_ == 0) {
        return {};
    }
    uint32_t slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        slot = hand_;  // every buffer leased: take back the next in clock order
        hand_ = (hand_ + 1) % slots_;
        ++stolen;
    }
    if (++next_tag_ == 0) {
        next_tag_ = 1;
    }
    owner_[slot] = next_tag_;
    ++acquired;
    return Lease{slot, next_tag_};
}

void BufferPool::release(Lease l) {
    if (l.tag != 0 && l.slot < slots_ && owner_[l.slot] == l.tag) {
        owner_[l.slot] = 0;
        free_.push_back(l.slot);
    }
}

WorkerScratch::WorkerScratch(const FeatureConfig& c)
    : pool(c.tls_buffers, c.tls_buffer + kOooArea) {}

WorkerScratch::~WorkerScratch() = default;

}  // namespace spate::features
