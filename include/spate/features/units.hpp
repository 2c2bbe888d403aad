#pragma once
/// Declarations of the feature units (see feature.hpp for the interface).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spate/features/arena.hpp"
#include "spate/features/feature.hpp"

namespace spate::features {

/// The members every unit has (see feature.hpp).
#define SPATE_UNIT_MEMBERS(name)                                                 \
    static constexpr std::string_view kName = name;                              \
    static size_t state_size(const FeatureConfig& c);                            \
    static void init(uint8_t* s, const FeatureConfig& c);                        \
    static void update(uint8_t* s, const PacketView& p, const FeatureConfig& c); \
    static void write_json(const uint8_t* s, const FlowData& f, JsonWriter& w,   \
                           const FeatureConfig& c);

#define SPATE_FEATURE_UNIT(Type, name) \
    struct Type {                      \
        SPATE_UNIT_MEMBERS(name)       \
    }

/// Units whose state is mostly room for later data also say how much of it
/// is in use (used_bytes): only that part travels in the record.
#define SPATE_PACKED_UNIT(Type, name)                                       \
    struct Type {                                                           \
        SPATE_UNIT_MEMBERS(name)                                            \
        static size_t used_bytes(const uint8_t* s, const FeatureConfig& c); \
    }

/// Units whose large state is an arena leased from a per-worker pool.
#define SPATE_ARENA_MEMBERS(kind)                                            \
    static constexpr ArenaKind kArena = kind;                                \
    static size_t control_size(const FeatureConfig& c);                      \
    static uint32_t arena_max(const FeatureConfig& c);                       \
    static size_t arena_used(const uint8_t* s, const FeatureConfig& c);      \
    static const ArenaRef* arena_ref(const uint8_t* s);

#define SPATE_ARENA_UNIT(Type, name, kind) \
    struct Type {                          \
        SPATE_UNIT_MEMBERS(name)           \
        SPATE_ARENA_MEMBERS(kind)          \
    }

/// Sequence of packet lengths and times (Joy "packets").
SPATE_ARENA_UNIT(Splt, "splt", kArenaSplt);
/// Byte value counts over the payload: byte_dist (unit "bd") and entropy (unit "entropy").
SPATE_ARENA_UNIT(ByteCounts, "bd", kArenaBd);
/// Initial data packet per direction.
SPATE_ARENA_UNIT(Idp, "idp", kArenaIdp);
/// Minimum TTL and first IP ids per direction.
SPATE_FEATURE_UNIT(IpInfo, "ip");
/// TCP details: first sequence number, window, options, retransmissions.
SPATE_FEATURE_UNIT(TcpInfo, "tcp");
/// Per-packet info (seq, ack, flags, length, direction, time) of the first packets.
SPATE_FEATURE_UNIT(Ppi, "ppi");
/// Sequence and acknowledgement numbers of the first TCP packets.
SPATE_FEATURE_UNIT(Salt, "salt");
/// Walsh-Hadamard transform of the payload's 4-byte blocks per direction.
SPATE_FEATURE_UNIT(Wht, "wht");
/// Header description: the first bytes of each direction's first payload.
SPATE_FEATURE_UNIT(Hd, "hd");
/// Probable OS per direction from the initial TTL and the SYN window.
SPATE_FEATURE_UNIT(ProbableOs, "os");
/// Log2 histograms of sizes and inter-packet times, and bursts, per direction.
SPATE_FEATURE_UNIT(Hist, "hist");

/// The application units follow TCP streams (StreamState, with buffers
/// leased from the worker's pool) and give the buffers back in release().
/// app() names the application protocol when the unit recognised the flow
/// (nullptr otherwise), from a packed state, for unit "app"; it may set
/// `alpn` (TLS: the ALPN protocol selected, or else first offered).
#define SPATE_APP_MEMBERS                                                  \
    static const char* app(const uint8_t* s, const FlowData& f, const FeatureConfig& c, \
                           std::string_view& alpn);

#define SPATE_STREAM_UNIT(Type, name)                                       \
    struct Type {                                                           \
        SPATE_UNIT_MEMBERS(name)                                            \
        SPATE_APP_MEMBERS                                                   \
        static void release(uint8_t* s, WorkerScratch* scratch);            \
        static size_t used_bytes(const uint8_t* s, const FeatureConfig& c); \
    }

/// Stream units whose messages are kept in an arena.
#define SPATE_STREAM_ARENA_UNIT(Type, name, kind)                \
    struct Type {                                                \
        SPATE_UNIT_MEMBERS(name)                                 \
        SPATE_ARENA_MEMBERS(kind)                                \
        SPATE_APP_MEMBERS                                        \
        static void release(uint8_t* s, WorkerScratch* scratch); \
    }

/// TLS over TCP and inside QUIC Initials: hellos, certificates, record
/// lengths and times, fingerprints.
SPATE_STREAM_ARENA_UNIT(Tls, "tls", kArenaTls);
/// DNS messages over UDP and TCP (mDNS, LLMNR included).
SPATE_STREAM_ARENA_UNIT(Dns, "dns", kArenaDns);
/// HTTP/1.x requests and responses.
SPATE_STREAM_ARENA_UNIT(Http, "http", kArenaHttp);
/// SSH banners, KEXINIT algorithm lists, HASSH.
SPATE_STREAM_ARENA_UNIT(Ssh, "ssh", kArenaSsh);
/// DHCP and DHCPv6 messages.
SPATE_STREAM_UNIT(Dhcp, "dhcp");
/// IKEv1/IKEv2 headers and payload types.
SPATE_STREAM_UNIT(Ike, "ike");
/// Content rules (--rules): Hyperscan matches in each direction's bytes.
struct Content {
    SPATE_UNIT_MEMBERS("content")
    /// Before the record is packed: closes the flow's streams (end-anchored
    /// patterns report then).
    static void finish(uint8_t* s, WorkerScratch* scratch);
    static void release(uint8_t* s, WorkerScratch* scratch);
    /// The application named by the flow's app= rule (nullptr: none).
    static const char* app_name(const uint8_t* s, const FeatureConfig& c);
};

/// What unit "app" is told about a flow when its record is written.
struct AppEvidence {
    const char* unit = nullptr;  ///< the first protocol unit that recognised the flow
    std::string_view alpn;       ///< from the tls unit
    const char* rule = nullptr;  ///< from an app= content rule
};

/// The flow's application protocol (docs/rules.md): from the protocol
/// units, else the app= content rules, else a guess from the responder's
/// port. No per-packet work: FeatureSet::write_json gathers the evidence
/// from the other units' states and calls write_app().
struct App {
    static constexpr std::string_view kName = "app";
    static size_t state_size(const FeatureConfig&) { return 0; }
    static void init(uint8_t*, const FeatureConfig&) {}
    static void update(uint8_t*, const PacketView&, const FeatureConfig&) {}
    static void write_json(const uint8_t*, const FlowData&, JsonWriter&, const FeatureConfig&) {}
    static void write_app(const AppEvidence& e, const FlowData& f, JsonWriter& w,
                          const FeatureConfig& c);
};

#undef SPATE_STREAM_UNIT
#undef SPATE_APP_MEMBERS
#undef SPATE_STREAM_ARENA_UNIT
#undef SPATE_ARENA_UNIT
#undef SPATE_ARENA_MEMBERS
#undef SPATE_PACKED_UNIT
#undef SPATE_UNIT_MEMBERS
#undef SPATE_FEATURE_UNIT

}  // namespace spate::features
