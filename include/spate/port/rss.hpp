#pragma once
/// Software receive-side scaling: the Microsoft RSS Toeplitz hash, the
/// symmetric key that makes it direction-independent, the hash inputs laid out
/// as NICs lay them out, and the redirection table (RETA) that maps a hash to
/// a queue. Used to predict which queue (and so which worker) a NIC will
/// deliver a flow to, and by the pcap driver to spread packets the same way.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace spate {

/// Key length accepted by most NICs (Intel 82599/X710, Mellanox CX-4+...).
inline constexpr size_t kRssKeyLen = 40;
/// Key length of NICs with a longer key (Intel E810 / ice, some others).
inline constexpr size_t kRssKeyLenLong = 52;

/// The symmetric RSS key of Woo & Park: 0x6D, 0x5A repeated to `len` bytes.
/// Its bit pattern repeats every 16 bits, and the RSS inputs swap fields at
/// offsets that are multiples of 16 bits (32/128-bit addresses, 16-bit ports),
/// so hash(src, dst, sport, dport) == hash(dst, src, dport, sport): both
/// directions of a connection land on the same queue.
std::vector<uint8_t> symmetric_rss_key(size_t len = kRssKeyLen);

/// The Microsoft RSS Toeplitz hash of `input` under `key`: for each input bit
/// set (most significant bit of input[0] first) XOR in the 32-bit window of the
/// key that starts at that bit's position. Requires input_len <= key_len - 4
/// (36 bytes for a 40-byte key, enough for IPv6 with ports); key bits past the
/// end of the key are read as zero, so a longer input is safe but not what a
/// NIC computes. Processes a byte at a time over a sliding 64-bit key window.
uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t input_len);

/// Builds the IPv4 RSS input as NICs do, in network byte order: src address,
/// dst address and, when with_ports, src port then dst port (ports given in
/// host order). Returns the input length: 12 with ports, 8 without.
size_t rss_input_ipv4(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
                      bool with_ports, uint8_t out[12]);

/// Builds the IPv6 RSS input: src address, dst address and, when with_ports,
/// src port then dst port (network byte order). Returns 36 with ports, 32
/// without.
size_t rss_input_ipv6(const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport,
                      bool with_ports, uint8_t out[36]);

/// A redirection table of `reta_size` entries spread evenly over `queues`
/// queues: entry i = i % queues. NIC tables are powers of two (64, 128, 512,
/// 2048...). Throws std::invalid_argument when queues is 0.
std::vector<uint16_t> rss_reta(size_t reta_size, uint16_t queues);

/// The queue a NIC delivers a packet with this hash to: reta[hash % size].
/// NICs index the table with the low bits of the hash, which is the same as
/// the modulo because RETA sizes are powers of two; for any other size the
/// result is well defined but matches no hardware. An empty table gives 0.
inline uint16_t rss_queue(uint32_t hash, const std::vector<uint16_t>& reta) {
    if (reta.empty()) {
        return 0;
    }
    return reta[hash % reta.size()];
}

}  // namespace spate
