#include "spate/core/ip_addr.hpp"

#include <arpa/inet.h>

namespace spate {

size_t format_ip(const IpAddr& a, uint8_t ip_version, char* out) {
    if (ip_version == 4) {
        // Dotted quad by hand: inet_ntop goes through printf.
        char* p = out;
        for (int i = 0; i < 4; ++i) {
            unsigned v = a.b[i];
            if (v >= 100) {
                *p++ = static_cast<char>('0' + v / 100);
                v %= 100;
                *p++ = static_cast<char>('0' + v / 10);
                *p++ = static_cast<char>('0' + v % 10);
            } else if (v >= 10) {
                *p++ = static_cast<char>('0' + v / 10);
                *p++ = static_cast<char>('0' + v % 10);
            } else {
                *p++ = static_cast<char>('0' + v);
            }
            *p++ = i < 3 ? '.' : '\0';
        }
        return static_cast<size_t>(p - out - 1);
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
