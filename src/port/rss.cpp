// Software RSS: Toeplitz hash, symmetric key, NIC-layout hash inputs, RETA.
#include "spate/port/rss.hpp"

#include <cstring>
#include <stdexcept>

namespace spate {

std::vector<uint8_t> symmetric_rss_key(size_t len) {
    std::vector<uint8_t> key(len);
    for (size_t i = 0; i < len; ++i) {
        key[i] = (i % 2 == 0) ? 0x6D : 0x5A;
    }
    return key;
}

uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t input_len) {
    // window holds key bytes [i, i + 8) big-endian while input byte i is
    // hashed; the 32-bit key window for bit j (0 = MSB) of that byte is then
    // bits [j, j + 32) of it, i.e. window >> (32 - j). The 8 bits of lookahead
    // past the 32 needed are what lets the byte be done without reloading.
    auto key_byte = [&](size_t k) -> uint64_t { return k < key_len ? key[k] : 0; };
    uint64_t window = 0;
    for (size_t k = 0; k < 8; ++k) {
        window = (window << 8) | key_byte(k);
    }
    uint32_t hash = 0;
    for (size_t i = 0; i < input_len; ++i) {
        const uint8_t byte = input[i];
        for (int j = 0; j < 8; ++j) {
            if (byte & (0x80u >> j)) {
                hash ^= static_cast<uint32_t>(window >> (32 - j));
            }
        }
        window = (window << 8) | key_byte(i + 8);
    }
    return hash;
}

namespace {

inline void put_be16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}

}  // namespace

size_t rss_input_ipv4(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      bool with_ports, uint8_t out[12]) {
    std::memcpy(out, src, 4);
    std::memcpy(out + 4, dst, 4);
    if (!with_ports) {
        return 8;
    }
    put_be16(out + 8, sport);
    put_be16(out + 10, dport);
    return 12;
}

size_t rss_input_ipv6(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport,
                      bool with_ports, uint8_t out[36]) {
    std::memcpy(out, src, 16);
    std::memcpy(out + 16, dst, 16);
    if (!with_ports) {
        return 32;
    }
    put_be16(out + 32, sport);
    put_be16(out + 34, dport);
    return 36;
}

std::vector<uint16_t> rss_reta(size_t reta_size, uint16_t queues) {
    if (queues == 0) {
        throw std::invalid_argument("rss_reta: queues must be at least 1");
    }
    std::vector<uint16_t> reta(reta_size);
    for (size_t i = 0; i < reta_size; ++i) {
        reta[i] = static_cast<uint16_t>(i % queues);
    }
    return reta;
}

}  // namespace spate
