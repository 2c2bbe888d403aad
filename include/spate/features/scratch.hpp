#pragma once
/// A worker's working memory for the feature units: the pool of TLS
/// reassembly buffers (leased by flows that need one, by index and tag, so
/// flow state holds no pointers), crypto contexts, and counters.
#include <cstdint>
#include <memory>
#include <vector>

#include "spate/features/arena.hpp"
#include "spate/features/feature.hpp"
#include "spate/proto/quic.hpp"

namespace spate::match {
class ContentMatcher;
}

namespace spate::features {

/// Fixed-size byte buffers leased to flows. A lease is (slot, tag); the slot
/// is the lessee's while its owner tag equals the lease's. With every buffer
/// leased, the next request takes the oldest lease (clock order) and counts
/// it: the old lessee finds its tag gone and reports the message incomplete.
class BufferPool {
public:
    BufferPool(uint32_t slots, uint32_t slot_bytes);

    struct Lease {
        uint32_t slot = 0;
        uint32_t tag = 0;  ///< 0: no lease
    };

    Lease acquire();
    void release(Lease l);
    /// The buffer of a live lease; nullptr when it was taken back.
    uint8_t* get(Lease l) {
        return l.tag != 0 && l.slot < slots_ && owner_[l.slot] == l.tag
                   ? mem_.get() + size_t{l.slot} * slot_bytes_
                   : nullptr;
    }
    uint32_t slot_bytes() const { return slot_bytes_; }
    uint32_t in_use() const { return slots_ - static_cast<uint32_t>(free_.size()); }

    uint64_t acquired = 0;
    uint64_t stolen = 0;  ///< leases taken back from a flow because all were in use

private:
    uint32_t slots_;
    uint32_t slot_bytes_;
    std::unique_ptr<uint8_t[]> mem_;
    std::vector<uint32_t> owner_;  ///< tag of each slot's lease, 0 = free
    std::vector<uint32_t> free_;
    uint32_t hand_ = 0;
    uint32_t next_tag_ = 1;
};

/// Counters of the TLS/QUIC unit, per worker.
struct TlsCounters {
    uint64_t handshake_messages = 0;  ///< parsed ClientHello/ServerHello/Certificate/CKE
    uint64_t message_too_big = 0;     ///< a message larger than --tls-buffer (not parsed)
    uint64_t gaps = 0;                ///< a direction stopped at a hole that never filled
    uint64_t out_of_order_held = 0;   ///< segments held until the bytes before them came
    uint64_t malformed = 0;           ///< messages that failed to parse
    uint64_t quic_initials = 0;       ///< QUIC Initial packets decrypted
    uint64_t quic_failed = 0;         ///< QUIC Initial packets that did not decrypt
};

/// Counters of an application unit (dns, http, ssh, dhcp, ike), per worker.
struct AppCounters {
    uint64_t messages = 0;   ///< messages parsed
    uint64_t malformed = 0;  ///< messages or streams that failed to parse
    uint64_t truncated = 0;  ///< a bound was hit (flow state full, line too long, ...)
    uint64_t gaps = 0;       ///< a TCP stream stopped at a hole
};

struct WorkerScratch {
    explicit WorkerScratch(const FeatureConfig& c);

    BufferPool pool;  ///< reassembly buffers shared by the units that follow streams
    /// Arena pools of the units with large state (ArenaKind order); a unit
    /// that is not enabled has an empty pool.
    ArenaPool arena[kArenaKinds];
    TlsCounters tls;
    AppCounters dns;
    AppCounters http;
    AppCounters ssh;
    AppCounters dhcp;
    AppCounters ike;
    proto::QuicInitialDecryptor quic;
    /// Content matching (unit "content"); null without rules.
    std::unique_ptr<match::ContentMatcher> content;
    ~WorkerScratch();
};

}  // namespace spate::features
