#pragma once
/// DHCP (RFC 2131/2132: the BOOTP header, the magic cookie 99.130.83.99 and
/// the options) and DHCPv6 (RFC 8415: client/server and relay messages and
/// their options).
///
/// Everything here reads untrusted bytes: every length is checked, nothing
/// allocates, and Spans point into the bytes that were parsed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spate/proto/span.hpp"

namespace spate::proto {

/// op .. chaddr: the BOOTP fields before sname, file and the cookie.
constexpr uint32_t kDhcpFixed = 44;
/// Fixed header, sname (64), file (128) and the magic cookie (4).
constexpr uint32_t kDhcpOptionsOffset = 240;

struct DhcpMessage {
    uint8_t op = 0;  ///< 1 BOOTREQUEST, 2 BOOTREPLY
    uint8_t htype = 0;
    uint8_t hlen = 0;
    uint8_t hops = 0;
    uint32_t xid = 0;
    uint16_t secs = 0;
    uint16_t flags = 0;
    uint8_t ciaddr[4] = {};
    uint8_t yiaddr[4] = {};
    uint8_t siaddr[4] = {};
    uint8_t giaddr[4] = {};
    Span chaddr;   ///< min(hlen, 16) bytes
    Span options;  ///< the bytes after the magic cookie
};

/// The BOOTP fixed part (kDhcpFixed bytes at `p`) into `m`.
bool parse_dhcp_fixed(const uint8_t* p, uint32_t len, DhcpMessage& m);

/// A DHCP message: op 1 or 2, hlen <= 16, and the magic cookie. False when
/// the bytes are not one (or are cut before the options start).
bool parse_dhcp(const uint8_t* p, uint32_t len, DhcpMessage& m);

struct DhcpOption {
    uint8_t code = 0;
    Span data;
};

/// Walks a DHCP options area: pads (0) are skipped, End (255) stops it.
/// `truncated()` tells that an option ran past the bytes.
class DhcpOptionIter {
public:
    explicit DhcpOptionIter(Span options) : s_(options) {}
    bool next(DhcpOption& o);
    bool truncated() const { return truncated_; }
    bool ended() const { return ended_; }  ///< the End option was seen

private:
    Span s_;
    uint32_t pos_ = 0;
    bool truncated_ = false;
    bool ended_ = false;
};

/// The name of a DHCP message type (option 53), "" when unknown.
std::string_view dhcp_message_type_name(uint8_t type);

// ---- DHCPv6 ----

struct Dhcp6Message {
    uint8_t msg_type = 0;
    uint32_t xid = 0;  ///< 24 bits (client/server messages)
    bool relay = false;
    uint8_t hop_count = 0;  ///< relay messages
    Span link_address;      ///< relay messages, 16 bytes
    Span peer_address;      ///< relay messages, 16 bytes
    Span options;
};

/// Fixed part length: 4 for client/server messages, 34 for relay messages.
uint32_t dhcp6_header_len(uint8_t msg_type);

/// A DHCPv6 message: a known message type (1..36) and the fixed part. A
/// message cut inside its options still parses (the walk flags it).
bool parse_dhcp6(const uint8_t* p, uint32_t len, Dhcp6Message& m);

struct Dhcp6Option {
    uint16_t code = 0;
    Span data;
};

class Dhcp6OptionIter {
public:
    explicit Dhcp6OptionIter(Span options) : s_(options) {}
    bool next(Dhcp6Option& o);
    bool truncated() const { return truncated_; }

private:
    Span s_;
    uint32_t pos_ = 0;
    bool truncated_ = false;
};

std::string_view dhcp6_message_type_name(uint8_t type);

}  // namespace spate::proto
