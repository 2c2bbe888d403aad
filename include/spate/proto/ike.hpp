#pragma once
/// IKE (ISAKMP, RFC 2408 / IKEv1 RFC 2409, IKEv2 RFC 7296): the 28-byte
/// header, the chain of generic payload headers, and for IKEv2 the
/// transforms of the proposals of an SA payload.
///
/// Everything here reads untrusted bytes: every length is checked, nothing
/// allocates, and Spans point into the bytes that were parsed.
#include <cstddef>
#include <cstdint>

#include "spate/proto/span.hpp"

namespace spate::proto {

constexpr uint32_t kIkeHeaderLen = 28;
constexpr uint8_t kIkePayloadSk = 46;        ///< IKEv2 Encrypted and Authenticated
constexpr uint8_t kIkePayloadSkf = 53;       ///< IKEv2 Encrypted fragment (RFC 7383)
constexpr uint8_t kIkePayloadSa = 33;        ///< IKEv2 Security Association
constexpr uint8_t kIkeFlagEncrypted = 0x01;  ///< IKEv1 flags: the payloads are encrypted

struct IkeHeader {
    uint8_t spi_i[8] = {};
    uint8_t spi_r[8] = {};
    uint8_t next_payload = 0;
    uint8_t major = 0;
    uint8_t minor = 0;
    uint8_t exchange_type = 0;
    uint8_t flags = 0;
    uint32_t message_id = 0;
    uint32_t length = 0;
};

/// The header at `p` (len bytes). False when fewer than 28 bytes, or the
/// major version is not 1 or 2, or the length is below 28.
bool parse_ike_header(const uint8_t* p, uint32_t len, IkeHeader& h);

/// Walks the payload chain that starts after the header: `next()` gives
/// each payload's type and body. Stops at an encrypted payload (IKEv2 SK /
/// SKF, whose body is returned but not looked into), at next payload 0, or
/// when a payload runs past the bytes (`truncated()`).
class IkePayloadIter {
public:
    IkePayloadIter(const uint8_t* msg, uint32_t len, const IkeHeader& h);
    bool next(uint8_t& type, Span& body);
    bool truncated() const { return truncated_; }

private:
    const uint8_t* p_;
    uint32_t len_;
    uint32_t pos_ = kIkeHeaderLen;
    uint8_t type_;
    bool encrypted_v1_;
    bool stop_ = false;
    bool truncated_ = false;
};

struct IkeTransform {
    uint8_t proposal = 0;  ///< proposal number
    uint8_t type = 0;      ///< 1 ENCR, 2 PRF, 3 INTEG, 4 DH, 5 ESN
    uint16_t id = 0;
    uint16_t key_length = 0;  ///< the Key Length attribute (14), 0 when absent
};

/// The transforms of the proposals in an IKEv2 SA payload body, at most
/// `cap` of them into `out`; the number written. `more` is set when some
/// did not fit, `bad` when the body did not parse to its end.
uint32_t ike_sa_transforms(Span sa, IkeTransform* out, uint32_t cap, bool& more, bool& bad);

}  // namespace spate::proto
