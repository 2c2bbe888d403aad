#include "spate/features/arena.hpp"

#include <sys/mman.h>

#include <cstring>
#include <stdexcept>
#include <utility>

namespace spate::features {

namespace {

constexpr uint64_t kBlock = 64;

uint32_t round64(uint64_t n) {
    return static_cast<uint32_t>((n + kBlock - 1) & ~(kBlock - 1));
}

}  // namespace

ArenaPool::ArenaPool(uint64_t budget, uint32_t max_bytes, std::string name)
    : max_bytes_(round64(max_bytes == 0 ? kBlock : max_bytes)), name_(std::move(name)) {
    // Classes: 64, 96, 128, 192, 256, 384, ... (alternate x1.5 and x1.33,
    // so at most a third of a block is unused), the last one max_bytes.
    uint64_t size = kBlock;
    while (classes_ < kMaxClasses - 1 && size < max_bytes_) {
        class_bytes_[classes_++] = static_cast<uint32_t>(size);
        const uint64_t pow2 = size & (size - 1) ? 0 : size;
        size = pow2 != 0 ? size + size / 2 : (size & ~(size >> 1)) * 2;
        size = round64(size);
    }
    class_bytes_[classes_++] = max_bytes_;
    for (uint32_t& f : free_) {
        f = kNone;
    }
    // Block indexes are 32-bit in 64-byte units.
    budget_ = std::min<uint64_t>(budget, (uint64_t{kNone} - 1) * kBlock);
    if (budget_ == 0) {
        return;
    }
    void* mem = mmap(nullptr, budget_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        throw std::runtime_error("state pool '" + name_ + "': cannot reserve " +
                                 std::to_string(budget_ >> 20) +
                                 " MiB (lower --state-pool " + name_ + "=SIZE or --max-flows)");
    }
    base_ = static_cast<uint8_t*>(mem);
    if (budget_ >= (uint64_t{4} << 20)) {
        ::madvise(mem, budget_, MADV_HUGEPAGE);  // fewer faults and TLB misses; see FlowTable
    }
}

ArenaPool::~ArenaPool() {
    if (base_ != nullptr) {
        munmap(base_, budget_);
    }
}

ArenaPool::ArenaPool(ArenaPool&& o) noexcept {
    *this = std::move(o);
}

ArenaPool& ArenaPool::operator=(ArenaPool&& o) noexcept {
    if (this != &o) {
        if (base_ != nullptr) {
            munmap(base_, budget_);
        }
        base_ = std::exchange(o.base_, nullptr);
        budget_ = std::exchange(o.budget_, 0);
        bump_ = std::exchange(o.bump_, 0);
        max_bytes_ = o.max_bytes_;
        classes_ = o.classes_;
        std::memcpy(class_bytes_, o.class_bytes_, sizeof(class_bytes_));
        std::memcpy(free_, o.free_, sizeof(free_));
        c_ = o.c_;
        name_ = std::move(o.name_);
    }
    return *this;
}

uint32_t ArenaPool::take(uint32_t cls, uint32_t& got_cls) {
    if (free_[cls] != kNone) {
        const uint32_t b = free_[cls];
        std::memcpy(&free_[cls], base_ + size_t{b} * kBlock, sizeof(uint32_t));
        got_cls = cls;
        return b;
    }
    const uint32_t bytes = class_bytes_[cls];
    if (bump_ + bytes <= budget_) {
        const auto b = static_cast<uint32_t>(bump_ / kBlock);
        bump_ += bytes;
        c_.bytes_touched = bump_;
        got_cls = cls;
        return b;
    }
    // The region is used up: a free block of a larger class will do.
    for (uint32_t k = cls + 1; k < classes_; ++k) {
        if (free_[k] != kNone) {
            const uint32_t b = free_[k];
            std::memcpy(&free_[k], base_ + size_t{b} * kBlock, sizeof(uint32_t));
            got_cls = k;
            return b;
        }
    }
    return kNone;
}

uint8_t* ArenaPool::reserve_slow(ArenaRef& r, uint32_t need, uint32_t keep) {
    uint32_t cls = 0;
    while (cls < classes_ && class_bytes_[cls] < need) {
        ++cls;
    }
    uint32_t got = 0;
    const uint32_t b = cls < classes_ && base_ != nullptr ? take(cls, got) : kNone;
    if (b == kNone) {
        ++c_.dry;
        r.lost = 1;
        return nullptr;
    }
    uint8_t* p = base_ + size_t{b} * kBlock;
    c_.bytes_in_use += class_bytes_[got];
    if (r.cls != 0) {
        const uint32_t old_bytes = class_bytes_[r.cls - 1];
        std::memcpy(p, base_ + size_t{r.block} * kBlock, std::min(keep, old_bytes));
        release(r);
        ++c_.grows;
    } else {
        ++c_.leases;
    }
    if (c_.bytes_in_use > c_.bytes_peak) {
        c_.bytes_peak = c_.bytes_in_use;
    }
    r.block = b;
    r.cls = static_cast<uint8_t>(got + 1);
    return p;
}

void ArenaPool::release(ArenaRef& r) {
    if (r.cls == 0) {
        return;
    }
    const uint32_t cls = r.cls - 1u;
    std::memcpy(base_ + size_t{r.block} * kBlock, &free_[cls], sizeof(uint32_t));
    free_[cls] = r.block;
    c_.bytes_in_use -= class_bytes_[cls];
    r.cls = 0;
}

uint64_t parse_size(const std::string& text, const std::string& what) {
    size_t pos = 0;
    uint64_t v = 0;
    try {
        if (text.empty() || text[0] == '-') {
            throw std::invalid_argument("");
        }
        v = std::stoull(text, &pos);
    } catch (const std::exception&) {
        throw std::invalid_argument(what + ": '" + text +
                                    "' is not a size (a number of bytes, with K, M, G or T)");
    }
    std::string suffix = text.substr(pos);
    if (suffix.size() == 2 && (suffix[1] == 'B' || suffix[1] == 'b')) {
        suffix.pop_back();
    }
    int shift = 0;
    if (suffix.empty()) {
        shift = 0;
    } else if (suffix == "K" || suffix == "k") {
        shift = 10;
    } else if (suffix == "M" || suffix == "m") {
        shift = 20;
    } else if (suffix == "G" || suffix == "g") {
        shift = 30;
    } else if (suffix == "T" || suffix == "t") {
        shift = 40;
    } else {
        throw std::invalid_argument(what + ": '" + text +
                                    "' has an unknown unit (use K, M, G or T)");
    }
    if (shift > 0 && v > (~uint64_t{0} >> shift)) {
        throw std::invalid_argument(what + ": '" + text + "' is too large");
    }
    return v << shift;
}

}  // namespace spate::features
