// RSS: the Toeplitz hash against the Microsoft verification vectors and a
// bit-by-bit reference, the symmetric key's direction independence (hash and
// queue), the spread over queues, and the redirection table.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include "spate/port/rss.hpp"

using spate::rss_input_ipv4;
using spate::rss_input_ipv6;
using spate::rss_queue;
using spate::rss_reta;
using spate::symmetric_rss_key;
using spate::toeplitz_hash;

namespace {

/// The key of the Microsoft "Verifying the RSS Hash Calculation" page.
const std::vector<uint8_t> kMsKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/// The pseudo-code of the Microsoft page, literally: for each input bit from
/// the left, XOR in the left-most 32 bits of K, then shift K left one bit.
uint32_t reference_hash(const std::vector<uint8_t>& key, const uint8_t* input, size_t len) {
    auto key_bit = [&](size_t pos) -> uint32_t {
        if (pos / 8 >= key.size()) {
            return 0;
        }
        return (key[pos / 8] >> (7 - pos % 8)) & 1u;
    };
    uint32_t result = 0;
    for (size_t bit = 0; bit < len * 8; ++bit) {
        if ((input[bit / 8] >> (7 - bit % 8)) & 1u) {
            uint32_t window = 0;
            for (size_t k = 0; k < 32; ++k) {
                window = (window << 1) | key_bit(bit + k);
            }
            result ^= window;
        }
    }
    return result;
}

std::array<uint8_t, 4> v4(const char* text) {
    std::array<uint8_t, 4> a{};
    EXPECT_EQ(inet_pton(AF_INET, text, a.data()), 1) << text;
    return a;
}

std::array<uint8_t, 16> v6(const char* text) {
    std::array<uint8_t, 16> a{};
    EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
    return a;
}

uint32_t hash_v4(const std::vector<uint8_t>& key, const uint8_t* src, const uint8_t* dst,
                 uint16_t sport, uint16_t dport, bool with_ports) {
    uint8_t in[12];
    const size_t n = rss_input_ipv4(src, dst, sport, dport, with_ports, in);
    return toeplitz_hash(key.data(), key.size(), in, n);
}

uint32_t hash_v6(const std::vector<uint8_t>& key, const uint8_t* src, const uint8_t* dst,
                 uint16_t sport, uint16_t dport, bool with_ports) {
    uint8_t in[36];
    const size_t n = rss_input_ipv6(src, dst, sport, dport, with_ports, in);
    return toeplitz_hash(key.data(), key.size(), in, n);
}

/// One row of the Microsoft tables. The page lists the destination first;
/// here the fields are named for what they are, and the hash input is
/// (src addr, dst addr, src port, dst port) as a NIC builds it.
struct Vector {
    const char* src;
    uint16_t sport;
    const char* dst;
    uint16_t dport;
    uint32_t l3;    ///< addresses only
    uint32_t l3l4;  ///< addresses and ports
};

const Vector kV4[] = {
    {"66.9.149.187", 2794, "161.142.100.80", 1766, 0x323e8fc2, 0x51ccc178},
    {"199.92.111.2", 14230, "65.69.140.83", 4739, 0xd718262a, 0xc626b0ea},
    {"24.19.198.95", 12898, "12.22.207.184", 38024, 0xd2d0a5de, 0x5c2b394a},
    {"38.27.205.30", 48228, "209.142.163.6", 2217, 0x82989176, 0xafc7327f},
    {"153.39.163.191", 44251, "202.188.127.2", 1303, 0x5d1809c5, 0x10e828a2},
};

const Vector kV6[] = {
    {"3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x2cc18cd5, 0x40207d3d},
    {"3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0x0f0c461c, 0xdde51bbf},
    {"3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024, 0x4b61e985,
     0x02d1feef},
};

}  // namespace

TEST(Rss, SymmetricKeyBytes) {
    for (size_t len : {size_t{40}, size_t{52}, size_t{0}, size_t{7}}) {
        const auto key = symmetric_rss_key(len);
        ASSERT_EQ(key.size(), len);
        for (size_t i = 0; i < len; ++i) {
            EXPECT_EQ(key[i], i % 2 == 0 ? 0x6D : 0x5A) << "len " << len << " byte " << i;
        }
    }
    EXPECT_EQ(symmetric_rss_key().size(), spate::kRssKeyLen);
}

TEST(Rss, InputLayoutIpv4) {
    const auto src = v4("1.2.3.4");
    const auto dst = v4("5.6.7.8");
    uint8_t out[12] = {};
    ASSERT_EQ(rss_input_ipv4(src.data(), dst.data(), 0x1122, 0x3344, true, out), 12u);
    const uint8_t want[12] = {1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x22, 0x33, 0x44};
    EXPECT_EQ(0, std::memcmp(out, want, 12));
    uint8_t l3[12] = {};
    ASSERT_EQ(rss_input_ipv4(src.data(), dst.data(), 0x1122, 0x3344, false, l3), 8u);
    EXPECT_EQ(0, std::memcmp(l3, want, 8));
    EXPECT_EQ(l3[8], 0);  // nothing written past the 8 bytes
}

TEST(Rss, InputLayoutIpv6) {
    const auto src = v6("2001:db8::1");
    const auto dst = v6("2001:db8::2");
    uint8_t out[36] = {};
    ASSERT_EQ(rss_input_ipv6(src.data(), dst.data(), 443, 0xabcd, true, out), 36u);
    EXPECT_EQ(0, std::memcmp(out, src.data(), 16));
    EXPECT_EQ(0, std::memcmp(out + 16, dst.data(), 16));
    EXPECT_EQ(out[32], 0x01);
    EXPECT_EQ(out[33], 0xbb);
    EXPECT_EQ(out[34], 0xab);
    EXPECT_EQ(out[35], 0xcd);
    uint8_t l3[36] = {};
    ASSERT_EQ(rss_input_ipv6(src.data(), dst.data(), 443, 0xabcd, false, l3), 32u);
    EXPECT_EQ(0, std::memcmp(l3, out, 32));
    EXPECT_EQ(l3[32], 0);
}

TEST(Rss, MicrosoftVectorsIpv4) {
    for (const auto& v : kV4) {
        const auto s = v4(v.src);
        const auto d = v4(v.dst);
        EXPECT_EQ(hash_v4(kMsKey, s.data(), d.data(), v.sport, v.dport, true), v.l3l4) << v.src;
        EXPECT_EQ(hash_v4(kMsKey, s.data(), d.data(), v.sport, v.dport, false), v.l3) << v.src;
    }
}

TEST(Rss, MicrosoftVectorsIpv6) {
    for (const auto& v : kV6) {
        const auto s = v6(v.src);
        const auto d = v6(v.dst);
        EXPECT_EQ(hash_v6(kMsKey, s.data(), d.data(), v.sport, v.dport, true), v.l3l4) << v.src;
        EXPECT_EQ(hash_v6(kMsKey, s.data(), d.data(), v.sport, v.dport, false), v.l3) << v.src;
    }
}

TEST(Rss, MicrosoftKeyIsNotSymmetric) {
    // The vectors pin the direction: with the ordinary key, swapping the
    // endpoints changes the hash (the pitfall of reading the table's first
    // column, the destination, as the source).
    for (const auto& v : kV4) {
        const auto s = v4(v.src);
        const auto d = v4(v.dst);
        EXPECT_NE(hash_v4(kMsKey, d.data(), s.data(), v.dport, v.sport, true), v.l3l4) << v.src;
    }
    for (const auto& v : kV6) {
        const auto s = v6(v.src);
        const auto d = v6(v.dst);
        EXPECT_NE(hash_v6(kMsKey, d.data(), s.data(), v.sport, v.dport, true), v.l3l4) << v.src;
        EXPECT_NE(hash_v6(kMsKey, d.data(), s.data(), v.dport, v.sport, true), v.l3l4) << v.src;
    }
}

TEST(Rss, LongerKeyGivesSameHashes) {
    // A 52-byte key whose first 40 bytes are the Microsoft key: inputs of up
    // to 36 bytes only ever see the first 40 bytes.
    auto key = kMsKey;
    for (int i = 0; i < 12; ++i) {
        key.push_back(static_cast<uint8_t>(0xA5 ^ (i * 37)));
    }
    for (const auto& v : kV4) {
        const auto s = v4(v.src);
        const auto d = v4(v.dst);
        EXPECT_EQ(hash_v4(key, s.data(), d.data(), v.sport, v.dport, true), v.l3l4);
    }
    for (const auto& v : kV6) {
        const auto s = v6(v.src);
        const auto d = v6(v.dst);
        EXPECT_EQ(hash_v6(key, s.data(), d.data(), v.sport, v.dport, true), v.l3l4);
    }
}

TEST(Rss, MatchesBitByBitReference) {
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> byte(0, 255);
    for (size_t key_len : {size_t{40}, size_t{52}}) {
        for (int round = 0; round < 2000; ++round) {
            std::vector<uint8_t> key(key_len);
            for (auto& b : key) {
                b = static_cast<uint8_t>(byte(rng));
            }
            const size_t len = static_cast<size_t>(round) % (key_len - 4 + 1);
            std::vector<uint8_t> input(len);
            for (auto& b : input) {
                b = static_cast<uint8_t>(byte(rng));
            }
            ASSERT_EQ(toeplitz_hash(key.data(), key.size(), input.data(), len),
                      reference_hash(key, input.data(), len))
                << "key_len " << key_len << " len " << len << " round " << round;
        }
    }
}

TEST(Rss, EdgeCases) {
    const uint8_t zeros[36] = {};
    EXPECT_EQ(toeplitz_hash(kMsKey.data(), kMsKey.size(), zeros, 0), 0u);
    EXPECT_EQ(toeplitz_hash(kMsKey.data(), kMsKey.size(), zeros, 36), 0u);
    // A single leading bit selects the first 32 key bits.
    const uint8_t msb[1] = {0x80};
    EXPECT_EQ(toeplitz_hash(kMsKey.data(), kMsKey.size(), msb, 1), 0x6d5a56dau);
    // The last bit of a 36-byte input selects the last 32 bits of the key.
    uint8_t last[36] = {};
    last[35] = 0x01;
    EXPECT_EQ(toeplitz_hash(kMsKey.data(), kMsKey.size(), last, 36),
              reference_hash(kMsKey, last, 36));
    // Past the end of a short key, key bits read as zero (no overrun).
    const uint8_t key4[4] = {0xff, 0xff, 0xff, 0xff};
    const uint8_t two[2] = {0x00, 0x80};
    EXPECT_EQ(toeplitz_hash(key4, 4, two, 2), 0xffffff00u);
}

namespace {

struct Tuple4 {
    std::array<uint8_t, 4> src, dst;
    uint16_t sport, dport;
};
struct Tuple6 {
    std::array<uint8_t, 16> src, dst;
    uint16_t sport, dport;
};

template <typename Tuple>
std::vector<Tuple> random_tuples(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<int> port(0, 65535);
    std::vector<Tuple> out(n);
    for (auto& t : out) {
        for (auto& b : t.src) {
            b = static_cast<uint8_t>(byte(rng));
        }
        for (auto& b : t.dst) {
            b = static_cast<uint8_t>(byte(rng));
        }
        t.sport = static_cast<uint16_t>(port(rng));
        t.dport = static_cast<uint16_t>(port(rng));
    }
    return out;
}

constexpr size_t kTuples = 100000;

}  // namespace

TEST(Rss, SymmetricKeyIsSymmetric) {
    const auto t4 = random_tuples<Tuple4>(kTuples, 1);
    const auto t6 = random_tuples<Tuple6>(kTuples, 2);
    std::vector<std::vector<uint16_t>> retas;
    for (size_t size : {size_t{128}, size_t{512}}) {
        for (uint16_t queues : {uint16_t{2}, uint16_t{3}, uint16_t{4}}) {
            retas.push_back(rss_reta(size, queues));
        }
    }
    for (size_t key_len : {spate::kRssKeyLen, spate::kRssKeyLenLong}) {
        const auto key = symmetric_rss_key(key_len);
        for (bool ports : {true, false}) {
            size_t bad_hash = 0;
            size_t bad_queue = 0;
            auto check = [&](uint32_t fwd, uint32_t rev) {
                bad_hash += fwd != rev;
                for (const auto& reta : retas) {
                    bad_queue += rss_queue(fwd, reta) != rss_queue(rev, reta);
                }
            };
            for (const auto& t : t4) {
                check(hash_v4(key, t.src.data(), t.dst.data(), t.sport, t.dport, ports),
                      hash_v4(key, t.dst.data(), t.src.data(), t.dport, t.sport, ports));
            }
            for (const auto& t : t6) {
                check(hash_v6(key, t.src.data(), t.dst.data(), t.sport, t.dport, ports),
                      hash_v6(key, t.dst.data(), t.src.data(), t.dport, t.sport, ports));
            }
            EXPECT_EQ(bad_hash, 0u) << "key_len " << key_len << " ports " << ports;
            EXPECT_EQ(bad_queue, 0u) << "key_len " << key_len << " ports " << ports;
        }
    }
}

TEST(Rss, SymmetricKeySpreadsEvenly) {
    // 100k random tuples over 4 queues: each queue within 25% +- 2%.
    const auto key = symmetric_rss_key(spate::kRssKeyLen);
    const auto reta = rss_reta(128, 4);
    const auto t4 = random_tuples<Tuple4>(kTuples, 3);
    const auto t6 = random_tuples<Tuple6>(kTuples, 4);
    for (bool ports : {true, false}) {
        std::array<size_t, 4> n4{};
        std::array<size_t, 4> n6{};
        for (const auto& t : t4) {
            ++n4[rss_queue(hash_v4(key, t.src.data(), t.dst.data(), t.sport, t.dport, ports),
                           reta)];
        }
        for (const auto& t : t6) {
            ++n6[rss_queue(hash_v6(key, t.src.data(), t.dst.data(), t.sport, t.dport, ports),
                           reta)];
        }
        for (size_t q = 0; q < 4; ++q) {
            const double f4 = static_cast<double>(n4[q]) / kTuples;
            const double f6 = static_cast<double>(n6[q]) / kTuples;
            EXPECT_NEAR(f4, 0.25, 0.02) << "ipv4 queue " << q << " ports " << ports;
            EXPECT_NEAR(f6, 0.25, 0.02) << "ipv6 queue " << q << " ports " << ports;
        }
    }
}

TEST(Rss, RetaSizesAndSpread) {
    for (size_t size : {size_t{1}, size_t{64}, size_t{128}, size_t{512}, size_t{2048}}) {
        for (uint16_t queues = 1; queues <= 16; ++queues) {
            const auto reta = rss_reta(size, queues);
            ASSERT_EQ(reta.size(), size);
            std::vector<size_t> count(queues);
            for (size_t i = 0; i < size; ++i) {
                ASSERT_EQ(reta[i], i % queues);
                ++count[reta[i]];
            }
            // Even: entry counts differ by at most one between queues.
            size_t lo = size;
            size_t hi = 0;
            for (size_t c : count) {
                lo = std::min(lo, c);
                hi = std::max(hi, c);
            }
            EXPECT_LE(hi - lo, 1u) << "size " << size << " queues " << queues;
        }
    }
    EXPECT_TRUE(rss_reta(0, 4).empty());
    EXPECT_THROW(rss_reta(128, 0), std::invalid_argument);
}

TEST(Rss, QueueUsesLowBits) {
    const auto reta = rss_reta(128, 4);
    // For a power-of-two table the index is the low 7 bits of the hash.
    for (uint32_t hash : {0u, 1u, 0x7fu, 0x80u, 0x12345u, 0xdeadbeefu, 0xffffffffu}) {
        EXPECT_EQ(rss_queue(hash, reta), reta[hash & 127u]) << hash;
    }
    const std::vector<uint16_t> custom = {7, 3};
    EXPECT_EQ(rss_queue(0x10, custom), 7);
    EXPECT_EQ(rss_queue(0x11, custom), 3);
    EXPECT_EQ(rss_queue(0x11, {}), 0);
}
