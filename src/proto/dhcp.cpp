// DHCP and DHCPv6 messages and options.
#include "spate/proto/dhcp.hpp"

#include <cstring>

#include "spate/parse/cursor.hpp"

namespace spate::proto {

bool parse_dhcp_fixed(const uint8_t* p, uint32_t len, DhcpMessage& m) {
    m = DhcpMessage{};
    if (p == nullptr || len < kDhcpFixed) {
        return false;
    }
    parse::Cursor c(p, len);
    m.op = c.read_u8();
    m.htype = c.read_u8();
    m.hlen = c.read_u8();
    m.hops = c.read_u8();
    m.xid = c.read_u32();
    m.secs = c.read_u16();
    m.flags = c.read_u16();
    std::memcpy(m.ciaddr, p + 12, 4);
    std::memcpy(m.yiaddr, p + 16, 4);
    std::memcpy(m.siaddr, p + 20, 4);
    std::memcpy(m.giaddr, p + 24, 4);
    m.chaddr = Span{p + 28, m.hlen <= 16 ? m.hlen : 16u};
    return (m.op == 1 || m.op == 2) && m.hlen <= 16;
}

bool parse_dhcp(const uint8_t* p, uint32_t len, DhcpMessage& m) {
    if (len < kDhcpOptionsOffset || !parse_dhcp_fixed(p, len, m)) {
        return false;
    }
    if (p[236] != 99 || p[237] != 130 || p[238] != 83 || p[239] != 99) {
        return false;
    }
    m.options = Span{p + kDhcpOptionsOffset, len - kDhcpOptionsOffset};
    return true;
}

bool DhcpOptionIter::next(DhcpOption& o) {
    while (!ended_ && !truncated_ && pos_ < s_.n) {
        const uint8_t code = s_.p[pos_];
        if (code == 0) {
            ++pos_;
            continue;
        }
        if (code == 255) {
            ended_ = true;
            return false;
        }
        if (pos_ + 2 > s_.n) {
            truncated_ = true;
            return false;
        }
        const uint32_t n = s_.p[pos_ + 1];
        if (pos_ + 2 + n > s_.n) {
            truncated_ = true;
            return false;
        }
        o.code = code;
        o.data = Span{s_.p + pos_ + 2, n};
        pos_ += 2 + n;
        return true;
    }
    return false;
}

std::string_view dhcp_message_type_name(uint8_t type) {
    static constexpr std::string_view kNames[] = {"",
                                                  "DISCOVER",
                                                  "OFFER",
                                                  "REQUEST",
                                                  "DECLINE",
                                                  "ACK",
                                                  "NAK",
                                                  "RELEASE",
                                                  "INFORM",
                                                  "FORCERENEW",
                                                  "LEASEQUERY",
                                                  "LEASEUNASSIGNED",
                                                  "LEASEUNKNOWN",
                                                  "LEASEACTIVE",
                                                  "BULKLEASEQUERY",
                                                  "LEASEQUERYDONE",
                                                  "ACTIVELEASEQUERY",
                                                  "LEASEQUERYSTATUS",
                                                  "TLS"};
    return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : std::string_view{};
}

uint32_t dhcp6_header_len(uint8_t msg_type) {
    return msg_type == 12 || msg_type == 13 ? 34 : 4;
}

bool parse_dhcp6(const uint8_t* p, uint32_t len, Dhcp6Message& m) {
    m = Dhcp6Message{};
    if (p == nullptr || len < 4 || p[0] == 0 || p[0] > 36) {
        return false;
    }
    m.msg_type = p[0];
    const uint32_t h = dhcp6_header_len(m.msg_type);
    if (len < h) {
        return false;
    }
    if (h == 34) {
        m.relay = true;
        m.hop_count = p[1];
        m.link_address = Span{p + 2, 16};
        m.peer_address = Span{p + 18, 16};
    } else {
        m.xid = uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
    }
    m.options = Span{p + h, len - h};
    return true;
}

bool Dhcp6OptionIter::next(Dhcp6Option& o) {
    if (truncated_ || pos_ >= s_.n) {
        return false;
    }
    if (pos_ + 4 > s_.n) {
        truncated_ = true;
        return false;
    }
    const uint16_t code = static_cast<uint16_t>(s_.p[pos_] << 8 | s_.p[pos_ + 1]);
    const uint32_t n = uint32_t(s_.p[pos_ + 2]) << 8 | s_.p[pos_ + 3];
    if (pos_ + 4 + n > s_.n) {
        truncated_ = true;
        return false;
    }
    o.code = code;
    o.data = Span{s_.p + pos_ + 4, n};
    pos_ += 4 + n;
    return true;
}

std::string_view dhcp6_message_type_name(uint8_t type) {
    static constexpr std::string_view kNames[] = {
        "",           "SOLICIT",   "ADVERTISE", "REQUEST", "CONFIRM",     "RENEW",
        "REBIND",     "REPLY",     "RELEASE",   "DECLINE", "RECONFIGURE", "INFORMATION-REQUEST",
        "RELAY-FORW", "RELAY-REPL"};
    return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : std::string_view{};
}

}  // namespace spate::proto
