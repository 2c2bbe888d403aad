#pragma once
/// Per-worker pools for the large parts of the units' flow state (TLS
/// hellos, certificates and record list, DNS messages, HTTP heads, the idp
/// bytes, byte counts). A flow's entry holds only a unit's small control
/// part and an ArenaRef; the arena is leased when the flow first shows the
/// content that needs it, grows through size classes as it fills, and goes
/// back when the flow's record is packed. So a flow costs the memory of what
/// it carries, not of everything it might have carried.
///
/// Each pool is a region reserved at start (address space only: pages are
/// first touched when a block is first used) and cut into blocks of size
/// classes 64, 96, 128, 192, ... (steps of 1.5x and 1.33x) up to the unit's
/// largest arena. A freed block goes on its class's free list and is reused
/// first. A pool that runs dry refuses the lease: the caller keeps what it
/// has, flags the record (`<unit>_no_state`) and the pool counts it. Nothing
/// is allocated after construction.
#include <cstddef>
#include <cstdint>
#include <string>

namespace spate::features {

/// A flow's lease on an arena: plain bytes, lives in the unit's state.
struct ArenaRef {
    uint32_t block = 0;  ///< offset in the pool's region, in 64-byte units
    uint8_t cls = 0;     ///< size class + 1; 0: no arena
    uint8_t lost = 0;    ///< a lease or growth was refused: some data was not kept
    uint16_t pad = 0;
};
static_assert(sizeof(ArenaRef) == 8);

/// Counters of one pool (one worker, one unit).
struct ArenaCounters {
    uint64_t leases = 0;      ///< arenas handed out (first lease of a flow)
    uint64_t grows = 0;       ///< arenas moved to a larger class
    uint64_t dry = 0;         ///< leases or growths refused: the pool was full
    uint64_t bytes_in_use = 0;
    uint64_t bytes_peak = 0;   ///< high-water mark of bytes_in_use
    uint64_t bytes_touched = 0;  ///< region bytes ever handed out (resident at most this)
};

class ArenaPool {
public:
    ArenaPool() = default;
    /// A pool of `budget` bytes for arenas of at most `max_bytes` each.
    /// Throws std::runtime_error when the region cannot be reserved.
    ArenaPool(uint64_t budget, uint32_t max_bytes, std::string name);
    ~ArenaPool();
    ArenaPool(ArenaPool&& o) noexcept;
    ArenaPool& operator=(ArenaPool&& o) noexcept;
    ArenaPool(const ArenaPool&) = delete;
    ArenaPool& operator=(const ArenaPool&) = delete;

    /// The arena of `r` with room for at least `need` bytes (need <=
    /// max_bytes()): leases one, or moves the arena to a larger class keeping
    /// its first `keep` bytes. nullptr when the pool is dry: then `r` keeps
    /// its old arena (if any) and r.lost is set.
    uint8_t* reserve(ArenaRef& r, uint32_t need, uint32_t keep) {
        if (r.cls != 0 && class_bytes_[r.cls - 1] >= need) {
            return base_ + size_t{r.block} * 64;
        }
        return reserve_slow(r, need, keep);
    }
    /// The arena of `r`, or nullptr when it has none.
    uint8_t* get(ArenaRef r) const {
        return r.cls != 0 ? base_ + size_t{r.block} * 64 : nullptr;
    }
    /// Bytes the arena of `r` can hold (0: none).
    uint32_t capacity(ArenaRef r) const { return r.cls != 0 ? class_bytes_[r.cls - 1] : 0; }
    /// Gives the arena back; r.cls becomes 0 (r.lost stays).
    void release(ArenaRef& r);

    uint32_t max_bytes() const { return max_bytes_; }
    uint64_t budget() const { return budget_; }
    const std::string& name() const { return name_; }
    const ArenaCounters& counters() const { return c_; }

    static constexpr uint32_t kMaxClasses = 40;

private:
    uint8_t* reserve_slow(ArenaRef& r, uint32_t need, uint32_t keep);
    /// A block of class `cls` (0-based) from its free list, the region, or a
    /// larger class's free list; kNone when dry.
    uint32_t take(uint32_t cls, uint32_t& got_cls);
    static constexpr uint32_t kNone = 0xffffffffu;

    uint8_t* base_ = nullptr;
    uint64_t budget_ = 0;  ///< bytes reserved
    uint64_t bump_ = 0;    ///< bytes of the region handed out so far
    uint32_t max_bytes_ = 0;
    uint32_t classes_ = 0;
    uint32_t class_bytes_[kMaxClasses] = {};
    uint32_t free_[kMaxClasses] = {};  ///< free-list heads (block index), kNone: empty
    ArenaCounters c_;
    std::string name_;
};

/// Parses a size with an optional K, M, G or T suffix (powers of 1024);
/// throws std::invalid_argument naming `what` on anything else.
uint64_t parse_size(const std::string& text, const std::string& what);

}  // namespace spate::features
