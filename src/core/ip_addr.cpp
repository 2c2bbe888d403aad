#include "spate/core/ip_addr.hpp"

#include <arpa/inet.h>

namespace spate {

size_t format_ip(const IpAddr& a, uint8_t ip_version, char* out) {
    if (ip_version == 4) {
        inet_ntop(AF_INET, a.b.data(), out, 46);
    } else {
        inet_ntop(AF_INET6, a.b.data(), out, 46);
    }
    return std::char_traits<char>::length(out);
}

std::string to_string(const IpAddr& a, uint8_t ip_version) {
    char buf[64];
    size_t n = format_ip(a, ip_version, buf);
    return std::string(buf, n);
}

}  // namespace spate
