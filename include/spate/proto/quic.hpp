#pragma once
/// QUIC Initial packets: header parsing, Initial key derivation and the
/// decryption of Initial packets (RFC 9000, RFC 9001; QUIC v2 RFC 9369;
/// draft-27..34 with their salts), so that the TLS ClientHello and
/// ServerHello that they carry in CRYPTO frames can be read by a passive
/// probe.
///
/// Everything here reads untrusted bytes: every length is checked against
/// the datagram, nothing reads past `len`, and the decryptor allocates only
/// in its constructor.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "spate/proto/span.hpp"

namespace spate::proto {

/// Version numbers with Initial keys this file knows.
inline constexpr uint32_t kQuicV1 = 0x00000001;
inline constexpr uint32_t kQuicV2 = 0x6b3343cf;
inline constexpr uint32_t kQuicDraft29 = 0xff00001d;

/// Long-header packet types, in QUIC v1 numbering whatever the version's
/// wire encoding (QUIC v2 encodes Initial as 0b01, RFC 9369 3.2).
enum class QuicPacketType : uint8_t { initial = 0, zero_rtt = 1, handshake = 2, retry = 3 };

/// One long-header packet. Spans point into the datagram that was parsed.
struct QuicLongHeader {
    uint32_t version = 0;
    uint8_t type = 0;  ///< a QuicPacketType value (v1 numbering)
    Span dcid;
    Span scid;
    Span token;                  ///< Initial only (may be empty)
    uint32_t length = 0;         ///< the Length field: packet number + protected payload
    uint32_t pn_offset = 0;      ///< offset of the packet number from the packet's start
    uint32_t packet_len = 0;     ///< whole packet: pn_offset + length
    uint8_t pn_len = 0;          ///< 1..4, known only after header protection was removed
    uint64_t packet_number = 0;  ///< likewise (decoded with no earlier packet: see decrypt)
};

/// AEAD_AES_128_GCM Initial keys of one direction (RFC 9001 5.2).
struct QuicKeys {
    uint8_t key[16];
    uint8_t iv[12];
    uint8_t hp[16];
};

/// True for a version whose Initial salt and labels are known: v1, v2 and
/// draft-27..34 (0xff00001b..0xff000022).
bool quic_version_known(uint32_t version);

/// Derives the Initial keys of one direction (`server` false: the client's)
/// from the Destination Connection ID of the client's first Initial. False
/// for an unknown version, a DCID longer than 255 bytes, or a libcrypto
/// failure. Allocates (libcrypto contexts): QuicInitialDecryptor caches.
bool quic_initial_keys(uint32_t version, Span client_dcid, bool server, QuicKeys& out);

/// RFC 9000 A.3: the full packet number from a truncated one of `pn_len`
/// bytes, given the largest packet number received so far in the same
/// packet number space (-1 when none).
uint64_t quic_decode_packet_number(int64_t largest_pn, uint64_t truncated, unsigned pn_len);

/// Reads a QUIC variable-length integer (RFC 9000 16) at p[*pos], advancing
/// *pos. False (and *pos unchanged) when it runs past `len`.
bool quic_read_varint(const uint8_t* p, size_t len, size_t* pos, uint64_t* out);

/// Parses the long header at the start of `p` for a known version (fields up
/// to the packet number, which is still protected). False when `p` is not a
/// long header of a known version, or when the header or the packet that
/// its Length field announces runs past `len`. Retry packets, which have no
/// Length, get packet_len = len.
bool parse_quic_long_header(const uint8_t* p, size_t len, QuicLongHeader& out);

/// Cheap classification of a UDP payload: long header with the fixed bit
/// set, a known version, type Initial, a DCID of at most 20 bytes, and room
/// for a header-protection sample. It does not require the 1200-byte size of
/// a client's first datagram (callers that want it can check), nor does it
/// accept a cleared fixed bit (RFC 9287 greasing; decrypt() accepts one).
bool looks_like_quic_initial(const uint8_t* p, size_t len);

enum class QuicStatus : uint8_t {
    ok,           ///< every Initial packet seen decrypted, its frames parsed
    not_quic,     ///< empty, or a short header first
    not_initial,  ///< a known-version long header, but no Initial first (or version negotiation)
    unknown_version,  ///< a long header of a version without known Initial keys
    decrypt_failed,   ///< the AEAD tag did not verify (wrong keys or damaged packet)
    malformed,        ///< a header or frame runs past its packet, or a frame type not allowed
};

const char* quic_status_name(QuicStatus s);

/// Removes header protection from and decrypts the Initial packets of UDP
/// payloads. One per worker thread: it creates its libcrypto contexts and
/// its packet buffer once, caches the keys of the last DCID, and allocates
/// nothing per packet. Not copyable.
class QuicInitialDecryptor {
public:
    /// Largest packet handled (a UDP payload is at most 65527 bytes).
    static constexpr size_t kMaxPacket = 65536;

    /// Called for each CRYPTO frame: `data` points into the decryptor's
    /// buffer and is valid only during the call.
    using CryptoFn = void (*)(void* ctx, uint64_t offset, Span data);

    QuicInitialDecryptor();
    ~QuicInitialDecryptor();
    QuicInitialDecryptor(const QuicInitialDecryptor&) = delete;
    QuicInitialDecryptor& operator=(const QuicInitialDecryptor&) = delete;

    /// False when libcrypto could not provide AES-128-GCM, AES-128-ECB or
    /// HMAC-SHA256 (every decrypt() then returns decrypt_failed).
    bool ready() const;

    /// Walks the long-header packets coalesced in one UDP payload. Each
    /// Initial packet is unprotected with the keys of `from_server`'s
    /// direction, derived from `keys_dcid` (the DCID of the client's first
    /// Initial: both directions derive from it), or, when that is empty, from
    /// the packet's own DCID (right for a client's first Initial). Its frames
    /// are walked: PADDING, PING, ACK and CONNECTION_CLOSE are skipped and
    /// on_crypto is called for each CRYPTO frame.
    ///
    /// Other long-header packets (Handshake, 0-RTT) are stepped over by their
    /// Length; the walk stops at a short header, at a packet of another
    /// version or DCID (RFC 9000 12.2), at a Retry, and after a failure.
    /// `hdr` gets the first Initial's header. The packet number is decoded
    /// as if no packet had been received yet (RFC 9000 A.3 with no largest),
    /// i.e. the truncated number is taken as the full one: right for the
    /// first packets of a connection, which is what a probe looks at.
    ///
    /// The status is that of the first packet that is not ok (a long header
    /// cut short after good packets is malformed); ok when none is and at
    /// least one Initial was read, not_initial when none was. on_crypto may
    /// already have run for earlier packets of the payload when the status is
    /// not ok. Reserved header bits are not checked. Not reentrant: the
    /// callback must not call decrypt() on the same decryptor.
    QuicStatus decrypt(const uint8_t* udp_payload, size_t len, bool from_server, Span keys_dcid,
                       QuicLongHeader& hdr, CryptoFn on_crypto, void* ctx);

    /// The same with any callable `void(uint64_t offset, Span data)`.
    template <class F>
    QuicStatus decrypt(const uint8_t* udp_payload, size_t len, bool from_server, Span keys_dcid,
                       QuicLongHeader& hdr, F&& on_crypto) {
        using Fn = std::remove_reference_t<F>;
        return decrypt(
            udp_payload, len, from_server, keys_dcid, hdr,
            [](void* c, uint64_t off, Span d) { (*static_cast<Fn*>(c))(off, d); },
            const_cast<void*>(static_cast<const void*>(&on_crypto)));
    }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace spate::proto
