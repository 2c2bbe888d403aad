#pragma once
/// Community ID v1 (https://github.com/corelight/community-id-spec): a
/// flow's identity that other tools (Zeek, Suricata, Arkime...) compute the
/// same way, "1:" followed by the base64 of a SHA-1 over the seed and the
/// ordered endpoint tuple.
#include <array>
#include <cstddef>
#include <cstdint>

#include "spate/core/ip_addr.hpp"

namespace spate::community_id {

/// "1:" + 28 characters of base64 (20 bytes of SHA-1).
inline constexpr size_t kTextLen = 30;

/// One flow as the spec sees it. For ICMP (1) and ICMPv6 (58) `sport` and
/// `dport` are the type and code of the initiator's message; the spec's
/// request/reply mapping is applied inside. For TCP, UDP and SCTP they are
/// the ports; any other protocol is hashed without ports.
struct Tuple {
    IpAddr src;
    IpAddr dst;
    uint8_t ip_version = 4;  ///< 4: the first 4 bytes of each address count, 6: all 16
    uint8_t proto = 0;
    uint16_t sport = 0;
    uint16_t dport = 0;
};

/// The SHA-1 of a byte range (FIPS 180-4), by libcrypto.
std::array<uint8_t, 20> sha1(const uint8_t* data, size_t len);

/// Writes the Community ID of `t` under `seed` into out (kTextLen bytes,
/// no terminator); returns kTextLen. The same for both directions of a
/// flow, except for one-way ICMP messages, which the spec keys as sent.
size_t format(const Tuple& t, uint16_t seed, char* out);

}  // namespace spate::community_id
