#pragma once
/// The per-flow state of the tls unit (plain bytes: no pointers; buffers are
/// leased from the worker's pool by index and tag). Shared by the unit and
/// its tests.
#include <cstddef>
#include <cstdint>

#include "spate/features/arena.hpp"
#include "spate/features/stream.hpp"

namespace spate::features::tls_state {

constexpr uint32_t kMaxCerts = 4;  ///< certificates of a chain kept
constexpr uint32_t kCertFieldMax =
    1024;  ///< bytes kept of one certificate field (SAN: all that fits)
constexpr uint32_t kCertFields =
    9;  ///< serial, sig alg, subject, issuer, nb, na, pk alg, pk param, san
constexpr uint32_t kMaxQuicPackets = 16;  ///< QUIC packets per flow tried for Initials
constexpr uint8_t kSslv2Hello = 0xfe;     ///< pseudo handshake type: an SSLv2-format ClientHello

enum Mode : uint8_t {
    kModeUnknown = 0,  ///< nothing seen yet
    kModeRecords,      ///< following TLS records
    kModeQuic,         ///< handshake bytes from QUIC CRYPTO frames
    kModeNotTls,       ///< the first bytes were not TLS
    kModeLost,         ///< stopped: a hole, a lost buffer, or records out of sync
    kModeDone,         ///< handshake over and srlt full
};

// DirState::flags
constexpr uint16_t kDirSawRecord = 1 << 0;
constexpr uint16_t kDirCcs = 1 << 1;  ///< ChangeCipherSpec seen: handshake now encrypted
constexpr uint16_t kDirAppData = 1 << 2;
constexpr uint16_t kDirGap = 1 << 3;         ///< a hole in the stream that was never filled
constexpr uint16_t kDirTooBig = 1 << 4;      ///< a message larger than --tls-buffer
constexpr uint16_t kDirBufferLost = 1 << 5;  ///< the reassembly buffer was taken back
constexpr uint16_t kDirLostSync = 1 << 6;    ///< a record header that made no sense

struct DirState {
    StreamState stream;  ///< the bytes in order; its buffer also assembles messages
    uint32_t rec_left;   ///< body bytes left in the current record
    uint32_t hs_len;     ///< current handshake message length
    uint32_t hs_got;     ///< bytes of it seen
    uint16_t flags;
    uint8_t mode;
    uint8_t rec_have;
    uint8_t hs_have;
    uint8_t rec_type;
    uint8_t hs_type;
    uint8_t hs_skip;
    uint8_t rec_hdr[5];
    uint8_t hs_hdr[4];
    uint8_t pad[1];
};

// TlsState::flags
constexpr uint32_t kIsTls = 1 << 0;
constexpr uint32_t kQuic = 1 << 1;
constexpr uint32_t kSslv2 = 1 << 2;
constexpr uint32_t kHrr = 1 << 3;
constexpr uint32_t kChTruncated = 1 << 4;
constexpr uint32_t kShTruncated = 1 << 5;
constexpr uint32_t kCertTruncated = 1 << 6;
constexpr uint32_t kCertSeen = 1 << 7;
constexpr uint32_t kSynSeen = 1 << 8;

/// One certificate in TlsState::certs: this header, then kCertFields items
/// of [u16 length][bytes] (serial, signature algorithm OID, subject Name,
/// issuer Name, notBefore, notAfter, public-key algorithm OID, its
/// parameter OID, subjectAltName GeneralNames), each cut at kCertFieldMax.
struct CertHeader {
    uint16_t total;  ///< bytes of this entry, header included
    uint16_t pk_bits;
    uint32_t der_len;
    uint8_t version;
    uint8_t not_before_tag;
    uint8_t not_after_tag;
    uint8_t pad;
};

/// One TLS record of srlt.
struct SrltEntry {
    uint16_t len;
    uint8_t type;   ///< content type | direction << 7
    uint8_t hs;     ///< first handshake type in a handshake record (0 otherwise)
    uint32_t t_us;  ///< microseconds since the flow's first packet
};

/// The control part (up to `ch`) lives in the flow entry; the rest (the
/// hellos, srlt and certificates: the arena) is leased from the worker's tls
/// pool at the first TLS record and follows the control part in the record,
/// so the packed state reads as this struct.
struct TlsState {
    ArenaRef ref;  ///< the arena: ch, sh, srlt, certificates (from `ch` on)
    DirState dir[2];
    uint32_t flags;
    uint32_t quic_version;
    uint16_t ch_len;
    uint16_t sh_len;
    uint16_t cert_len;
    uint16_t srlt_count;
    uint16_t ch_count;
    uint16_t sh_count;
    uint16_t cke_bits;
    uint16_t syn_window;
    uint8_t cert_count;
    uint8_t ch_dir;
    uint8_t syn_len;
    uint8_t quic_client_dir;
    uint8_t quic_packets;
    uint8_t quic_dcid_len;
    uint8_t quic_scid_len;
    uint8_t quic_server_scid_len;
    uint8_t quic_dcid[20];
    uint8_t quic_scid[20];
    uint8_t quic_server_scid[20];
    uint8_t syn_opts[40];
    uint8_t pad_[4];
    // ---- the arena: offsets from `ch` ----
    uint8_t ch[1536];  ///< the ClientHello body, re-encoded compactly
    uint8_t sh[512];   ///< the ServerHello body, likewise
    // followed by tls_records SrltEntry, then tls_cert_bytes of certificates
    // (CertHeader + fields, per certificate)
};

static_assert(offsetof(TlsState, ch) % 8 == 0);

/// Arena offsets of the parts after the ClientHello.
constexpr uint32_t kShAt = offsetof(TlsState, sh) - offsetof(TlsState, ch);
constexpr uint32_t kSrltAt = sizeof(TlsState) - offsetof(TlsState, ch);

}  // namespace spate::features::tls_state
