#pragma once
/// IPv4/IPv6 addresses in one 16-byte value.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace spate {

/// 16 bytes in network order. IPv4 addresses occupy bytes 0..3 and the rest
/// is zero; the IP version travels beside the address (in FlowKey).
struct IpAddr {
    std::array<uint8_t, 16> b{};

    static IpAddr v4(const uint8_t* p) {
        IpAddr a;
        std::memcpy(a.b.data(), p, 4);
        return a;
    }
    static IpAddr v6(const uint8_t* p) {
        IpAddr a;
        std::memcpy(a.b.data(), p, 16);
        return a;
    }
    friend bool operator==(const IpAddr&, const IpAddr&) = default;
    friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

/// Text form: dotted quad for version 4, RFC 5952 for version 6.
std::string to_string(const IpAddr& a, uint8_t ip_version);

/// Writes the text form into out (at least 46 bytes); returns its length.
size_t format_ip(const IpAddr& a, uint8_t ip_version, char* out);

}  // namespace spate
