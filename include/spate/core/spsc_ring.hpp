#pragma once
/// A lock-free single-producer / single-consumer ring of variable-length
/// messages. Producer and consumer indices live on separate cache lines;
/// each side publishes its index once per batch, not once per message.
///
/// Messages are 8-byte aligned and never wrap: when a message does not fit
/// before the end of the buffer, the producer writes a pad marker and starts
/// again at offset 0.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>

namespace spate {

inline constexpr size_t kCacheLine = 64;

class SpscRing {
public:
    /// capacity_bytes is rounded up to a power of two (at least 4 KiB).
    explicit SpscRing(size_t capacity_bytes) {
        size_t cap = 4096;
        while (cap < capacity_bytes) {
            cap <<= 1;
        }
        cap_ = cap;
        mask_ = cap - 1;
        buf_.reset(static_cast<uint8_t*>(::operator new (cap, std::align_val_t{kCacheLine})));
        std::memset(buf_.get(), 0, cap);
    }
    SpscRing(const SpscRing&) = delete;
    SpscRing& operator=(const SpscRing&) = delete;

    size_t capacity() const { return cap_; }
    /// Largest payload one message may carry.
    size_t max_message() const { return cap_ / 4 - kHeader; }

    // ---- producer side ----

    /// Space for a message of `len` payload bytes, or nullptr when the ring is
    /// full right now. The message becomes visible to the consumer at the next
    /// publish(). `type` is an application tag carried with the message.
    void* try_reserve(uint32_t type, size_t len) {
        size_t need = kHeader + align8(len);
        size_t pos = prod_.local & mask_;
        size_t tail_room = cap_ - pos;
        size_t total = need <= tail_room ? need : tail_room + need;
        if (prod_.local + total - prod_.cached_head > cap_) {
            prod_.cached_head = cons_.head.load(std::memory_order_acquire);
            if (prod_.local + total - prod_.cached_head > cap_) {
                return nullptr;
            }
        }
        if (need > tail_room) {
            write_header(pos, kPad, static_cast<uint32_t>(tail_room - kHeader));
            prod_.local += tail_room;
            pos = 0;
        }
        write_header(pos, type, static_cast<uint32_t>(len));
        prod_.local += need;
        return buf_.get() + pos + kHeader;
    }

    /// Makes every reserved message visible to the consumer.
    void publish() { prod_.tail.store(prod_.local, std::memory_order_release); }

    /// True when the consumer has taken everything published.
    bool empty_for_producer() const {
        return cons_.head.load(std::memory_order_acquire) == prod_.local;
    }

    // ---- consumer side ----

    struct Message {
        uint32_t type;
        uint32_t len;
        const uint8_t* data;
    };

    /// Next published message, or false when none is available.
    bool peek(Message& m) {
        for (;;) {
            if (cons_.local == cons_.cached_tail) {
                cons_.cached_tail = prod_.tail.load(std::memory_order_acquire);
                if (cons_.local == cons_.cached_tail) {
                    return false;
                }
            }
            size_t pos = cons_.local & mask_;
            uint32_t hdr[2];
            std::memcpy(hdr, buf_.get() + pos, sizeof(hdr));
            if (hdr[0] == kPad) {
                cons_.local += kHeader + hdr[1];
                continue;
            }
            m.type = hdr[0];
            m.len = hdr[1];
            m.data = buf_.get() + pos + kHeader;
            return true;
        }
    }

    /// Consumes the message returned by the last peek().
    void pop(const Message& m) { cons_.local += kHeader + align8(m.len); }

    /// Gives consumed space back to the producer.
    void release() { cons_.head.store(cons_.local, std::memory_order_release); }

    static constexpr uint32_t kPad = 0xffffffffu;

private:
    static constexpr size_t kHeader = 8;
    static size_t align8(size_t n) { return (n + 7) & ~size_t{7}; }
    void write_header(size_t pos, uint32_t type, uint32_t len) {
        uint32_t hdr[2] = {type, len};
        std::memcpy(buf_.get() + pos, hdr, sizeof(hdr));
    }

    struct AlignedDelete {
        void operator()(uint8_t* p) const { ::operator delete (p, std::align_val_t{kCacheLine}); }
    };

    // Read-mostly configuration.
    alignas(kCacheLine) std::unique_ptr<uint8_t, AlignedDelete> buf_;
    size_t cap_ = 0;
    size_t mask_ = 0;

    struct alignas(kCacheLine) Producer {
        std::atomic<size_t> tail{0};  // published by the producer
        size_t local = 0;             // producer's private write position
        size_t cached_head = 0;       // last head seen
    } prod_;
    struct alignas(kCacheLine) Consumer {
        std::atomic<size_t> head{0};  // published by the consumer
        size_t local = 0;
        size_t cached_tail = 0;
    } cons_;
};

}  // namespace spate
