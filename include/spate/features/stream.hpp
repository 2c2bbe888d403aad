#pragma once
/// In-order byte streams for the application units (TLS, HTTP, SSH, DNS
/// over TCP, QUIC CRYPTO data). One StreamState per direction lives in the
/// flow state; it puts segments in order by their stream position (TCP
/// sequence number, or CRYPTO offset): bytes already delivered are dropped
/// (retransmissions, overlaps), segments that arrive early are held in a
/// buffer leased from the worker's pool (up to kMaxOoo segments and
/// kOooBytes bytes; the list of held segments lives in that buffer too, so
/// the state in the flow entry stays small), and a hole that cannot be held
/// stops the stream (the unit reports a gap). Nothing is allocated; the
/// state holds no pointers.
#include <cstdint>
#include <cstring>

#include "spate/features/scratch.hpp"

namespace spate::features {

constexpr uint32_t kMaxOoo = 16;      ///< out-of-order segments held per direction
constexpr uint32_t kOooBytes = 8192;  ///< bytes of out-of-order data held per direction

struct OooSeg {
    uint32_t seq;
    uint16_t off;
    uint16_t len;
};

/// Bytes of a pool buffer the stream uses after the unit's own `ooo_offset`
/// bytes: the held data, then the list of held segments.
constexpr uint32_t kOooArea = kOooBytes + kMaxOoo * sizeof(OooSeg);

struct StreamState {
    uint32_t next;  ///< next expected stream position
    uint32_t lease_slot;
    uint32_t lease_tag;  ///< 0: no buffer leased
    uint16_t ooo_used;   ///< bytes of the out-of-order area in use
    uint8_t started;     ///< next is valid
    uint8_t ooo_count;   ///< segments held (their list is in the pool buffer)
    uint8_t buffer_lost;  ///< the pool took the buffer back while it was in use
    uint8_t pad[3];
};
static_assert(sizeof(StreamState) == 20);

/// The held segments' list in the pool buffer `b`.
inline OooSeg* ooo_list(uint8_t* b, uint32_t ooo_offset) {
    return reinterpret_cast<OooSeg*>(b + ooo_offset + kOooBytes);
}

/// Starts the stream at `seq` (a SYN's sequence number + 1, or CRYPTO offset
/// 0); without it the first segment seen sets the start.
inline void stream_start(StreamState& s, uint32_t seq) {
    s.started = 1;
    s.next = seq;
}

/// The direction's pool buffer (pool.slot_bytes() bytes), leased on first
/// use; nullptr when the pool has none or took it back (buffer_lost is set).
inline uint8_t* stream_buffer(StreamState& s, BufferPool* pool) {
    if (pool == nullptr) {
        return nullptr;
    }
    if (s.lease_tag == 0) {
        BufferPool::Lease l = pool->acquire();
        s.lease_slot = l.slot;
        s.lease_tag = l.tag;
    }
    uint8_t* b = pool->get(BufferPool::Lease{s.lease_slot, s.lease_tag});
    if (b == nullptr) {
        s.buffer_lost = 1;
        s.lease_tag = 0;
        s.ooo_count = 0;
        s.ooo_used = 0;
    }
    return b;
}

/// Gives the buffer back (and forgets held segments).
inline void stream_release(StreamState& s, BufferPool* pool) {
    if (s.lease_tag != 0 && pool != nullptr) {
        pool->release(BufferPool::Lease{s.lease_slot, s.lease_tag});
    }
    s.lease_tag = 0;
    s.ooo_count = 0;
    s.ooo_used = 0;
}

enum class StreamFeed : uint8_t {
    ok,    ///< delivered, held, or a repeat of delivered bytes
    held,  ///< ahead of the stream: kept until the bytes before it come
    gap,   ///< ahead, and could not be held: the stream cannot go on
};

/// Feeds bytes at stream position `seq`. In-order bytes go to
/// `consume(const uint8_t*, uint32_t)`, then any held segments that now
/// follow; `wants()` returning false stops delivery (the unit is done with
/// this direction). The out-of-order area is `ooo_offset` bytes into the
/// pool buffer (the unit may use the bytes before it for itself).
template <class Consume, class Wants>
StreamFeed stream_feed(StreamState& s, BufferPool* pool, uint32_t ooo_offset, uint32_t seq,
                       const uint8_t* data, uint32_t len, Consume&& consume, Wants&& wants) {
    if (!s.started) {
        stream_start(s, seq);
    }
    int32_t diff = static_cast<int32_t>(seq - s.next);
    if (diff < 0) {
        const uint32_t old = static_cast<uint32_t>(-static_cast<int64_t>(diff));
        if (old >= len) {
            return StreamFeed::ok;  // a retransmission of bytes already delivered
        }
        data += old;
        len -= old;
        diff = 0;
    }
    if (diff > 0) {
        if (s.ooo_count == kMaxOoo || s.ooo_used + len > kOooBytes ||
            static_cast<uint32_t>(diff) > 4 * kOooBytes || pool == nullptr ||
            pool->slot_bytes() < ooo_offset + kOooArea) {
            return StreamFeed::gap;
        }
        uint8_t* b = stream_buffer(s, pool);
        if (b == nullptr) {
            return StreamFeed::gap;
        }
        std::memcpy(b + ooo_offset + s.ooo_used, data, len);
        ooo_list(b, ooo_offset)[s.ooo_count++] =
            OooSeg{seq, s.ooo_used, static_cast<uint16_t>(len)};
        s.ooo_used = static_cast<uint16_t>(s.ooo_used + len);
        return StreamFeed::held;
    }
    s.next += len;
    consume(data, len);
    // Held segments that now continue the stream.
    bool progress = true;
    while (progress && s.ooo_count > 0 && wants()) {
        progress = false;
        uint8_t* b = stream_buffer(s, pool);
        if (b == nullptr) {
            return StreamFeed::gap;  // taken back: the held segments are gone
        }
        OooSeg* list = ooo_list(b, ooo_offset);
        for (uint8_t i = 0; i < s.ooo_count; ++i) {
            const OooSeg seg = list[i];
            const int32_t ahead = static_cast<int32_t>(seg.seq - s.next);
            if (ahead > 0) {
                continue;
            }
            list[i] = list[--s.ooo_count];
            const uint32_t skip = static_cast<uint32_t>(-static_cast<int64_t>(ahead));
            if (skip < seg.len) {
                s.next += seg.len - skip;
                consume(b + ooo_offset + seg.off + skip, seg.len - skip);
            }
            progress = true;
            break;
        }
    }
    if (s.ooo_count == 0) {
        s.ooo_used = 0;
    }
    return StreamFeed::ok;
}

}  // namespace spate::features
