#pragma once
/// The feature-unit interface. A unit is a struct with static members:
///
///   static constexpr std::string_view kName;          // name in --features
///   static size_t state_size(const FeatureConfig&);   // bytes of per-flow state
///   static void init(uint8_t* state, const FeatureConfig&);
///   static void update(uint8_t* state, const PacketView&, const FeatureConfig&);
///   static void write_json(const uint8_t* state, const FlowData&, JsonWriter&, const
///   FeatureConfig&);
///
/// State is plain bytes inside the flow-table entry (8-byte aligned), copied
/// as is into the record sent to the exporter, so it holds no pointers.
/// Units are listed once in feature_set.cpp (the registration line); calls
/// are direct, not virtual.
///
/// A unit with a large state keeps only a control part in the entry and
/// leases the rest (its arena) from a per-worker ArenaPool when a flow first
/// shows the content (arena.hpp). Such a unit also has:
///
///   static constexpr ArenaKind kArena;                  // which pool
///   static size_t control_size(const FeatureConfig&);   // bytes in the entry
///   static uint32_t arena_max(const FeatureConfig&);    // largest arena
///   static size_t arena_used(const uint8_t* control, const FeatureConfig&);
///   static const ArenaRef* arena_ref(const uint8_t* control);
///
/// and its state_size() is control_size() + arena_max(): the record carries
/// the control part followed by the arena's used bytes, so write_json() reads
/// one contiguous state as before. A refused lease sets the ref's `lost`
/// flag, which the record reports as "<unit>_no_state": true.
#include <array>
#include <memory>
#include <cstdint>
#include <string>
#include <string_view>

#include "spate/export/json_writer.hpp"
#include "spate/flow/flow.hpp"
#include "spate/parse/decoder.hpp"

namespace spate::proto {
class FingerprintDb;
}
namespace spate::match {
class ContentDb;
class RuleRegistry;
}

namespace spate::features {

/// The units whose large state lives in per-worker arena pools (arena.hpp),
/// in the order of FeatureConfig::state_pool.
enum ArenaKind : uint8_t {
    kArenaSplt,
    kArenaBd,
    kArenaIdp,
    kArenaTls,
    kArenaDns,
    kArenaHttp,
    kArenaSsh,
    kArenaKinds
};
inline constexpr std::array<std::string_view, kArenaKinds> kArenaNames = {
    "splt", "bd", "idp", "tls", "dns", "http", "ssh"};

constexpr std::array<uint8_t, 256> default_compact_map() {
    std::array<uint8_t, 256> m{};
    for (int i = 0; i < 256; ++i) {
        m[i] = static_cast<uint8_t>(i >> 4);
    }
    return m;
}

/// Parameters of the units (command line / config file).
struct FeatureConfig {
    uint32_t splt_n = 50;       ///< --splt N (1..1000)
    bool splt_zero = false;     ///< --splt-zero: list zero-payload packets too
    bool splt_retrans = false;  ///< --splt-retrans: list TCP retransmissions too
    uint64_t bd_bytes = 0;      ///< --bd-bytes N: payload bytes counted per flow (0: all)
    /// compact_byte_dist bin (0..15) of each byte value; --bd-compact-map FILE, default value >> 4.
    std::array<uint8_t, 256> compact_map = default_compact_map();
    bool bd_fields = false;       ///< export byte_dist* (unit "bd")
    bool entropy_fields = false;  ///< export entropy* (unit "entropy")
    uint32_t idp_n = 1500;        ///< --idp N (1..1500)
    uint32_t ppi_n = 50;          ///< --ppi N (1..1000)
    uint32_t salt_n = 50;         ///< --salt N (1..1000)
    uint32_t hd_n = 16;           ///< --hd N (1..64)
    uint32_t tls_buffer = 16384;  ///< --tls-buffer N: bytes per direction to reassemble a message
    uint32_t tls_buffers = 1024;  ///< --tls-buffers N: reassembly buffers per worker
    uint32_t tls_records = 20;    ///< --tls-records N: TLS records listed in srlt (0..1000)
    uint32_t tls_cert_bytes = 8192;  ///< --tls-cert-bytes N: per flow, for the certificate chain
    uint32_t dns_bytes = 4096;       ///< --dns-bytes N: per flow, DNS messages kept (512..65535)
    uint32_t http_bytes = 4096;  ///< --http-bytes N: per flow, HTTP header bytes kept (512..65535)
    /// --http-headers LIST: header names reported (lowercase, comma-separated); empty = all.
    std::string http_headers;
    uint32_t ssh_bytes = 4096;  ///< --ssh-bytes N: per flow, SSH banners + KEXINIT lists kept
    /// --state-pool UNIT=SIZE: bytes of arena pool per worker for each
    /// ArenaKind; 0: the default, enough for every flow of the table to hold
    /// the unit's largest arena (address space only: memory is used as
    /// flows need it).
    std::array<uint64_t, kArenaKinds> state_pool{};
    /// Fingerprint database (--fp-db FILE), loaded once at start; nullptr: none.
    const proto::FingerprintDb* fp_db = nullptr;
    /// Compiled content rules (--rules FILE); nullptr: none (unit "content" off).
    std::shared_ptr<const match::ContentDb> content_db;
    /// Every generation of the rules (reloads publish here); made from
    /// content_db by FeatureSet::parse when unset.
    std::shared_ptr<match::RuleRegistry> rule_registry;
    /// --rule-streams N: Hyperscan streams open at once per worker (0: from --max-flows).
    uint32_t rule_streams = 0;
};

/// Per-worker working memory of the units (reassembly buffers, crypto
/// contexts, counters): made once per worker by FeatureSet::make_scratch(),
/// used only by that worker's thread. Flow state refers to it by index, never
/// by pointer.
struct WorkerScratch;

/// How a TCP segment with payload relates to what its direction sent before.
enum class SegClass : uint8_t { none = 0, in_order, retrans, out_of_order };

/// What a unit sees of one packet.
struct PacketView {
    const parse::DecodedPacket* pkt;
    const uint8_t* frame;    ///< captured frame (may be nullptr when no bytes are available)
    const uint8_t* payload;  ///< captured payload bytes (nullptr when none)
    uint32_t payload_cap;    ///< captured payload bytes at `payload` (<= pkt->payload_len)
    uint8_t dir;             ///< 0 initiator -> responder, 1 back
    bool flow_first;         ///< first packet of the flow (record)
    bool dir_first;          ///< first packet of this direction
    SegClass seg;            ///< TCP only
    uint64_t prev_ts_ns;     ///< previous packet of the flow (its own ts when flow_first)
    uint64_t flow_start_ns;  ///< the flow's (record's) first packet
    WorkerScratch* scratch;  ///< this worker's working memory
};

}  // namespace spate::features
