#pragma once
/// The bench harness's port: packets held in memory (captures loaded once,
/// or a synthetic set of concurrent flows), replayed through the unchanged
/// pipeline as fast as possible or at a set rate, loop after loop. Each loop
/// shifts the addresses of the keying IP header with a checksum-neutral
/// bijection (as ../shared/bench/make_bench.py does), so a loop creates new
/// flows instead of hitting the old ones, and moves the timestamps on by the
/// capture's duration, so timeouts behave as in the capture.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spate/port/port_driver.hpp"

namespace spate {

/// Packets in one packed buffer, with what the replay needs to rewrite them.
class PacketStore {
public:
    /// Loads capture files (pcap, pcapng) in order. Throws std::runtime_error
    /// naming a file that cannot be read; a truncated file keeps its packets.
    static std::shared_ptr<PacketStore> load(const std::vector<std::string>& files);

    /// A synthetic trace of `flows` concurrent TCP flows (IPv4), each of
    /// `packets_per_flow` packets (SYN, SYN-ACK, ACK, data both ways, FIN),
    /// interleaved so that every flow is open until its last packet: packet
    /// i belongs to flow i % flows. Built on the fly, so 10M flows cost no
    /// memory beyond the template.
    static std::shared_ptr<PacketStore> synthetic(uint64_t flows, uint32_t packets_per_flow = 8,
                                                  uint32_t payload = 64);

    /// The packets of every flow whose symmetric hash is `part` modulo
    /// `parts` (for synthetic stores: every parts-th flow): one worker's share
    /// when workers read their own input, as with NIC RSS queues.
    std::shared_ptr<PacketStore> subset(uint32_t parts, uint32_t part) const;

    struct Packet {
        uint64_t offset;  ///< into bytes()
        uint32_t caplen;
        uint32_t wirelen;
        uint64_t ts_ns;  ///< from the first packet of the store
        uint16_t linktype;
        uint16_t ip_off;  ///< keying IP header (0xffff: none, not rewritten)
        uint8_t ip_version;
        uint32_t flow_hash;  ///< symmetric hash of the flow key (subset())
    };

    uint64_t size() const { return synthetic_flows_ != 0 ? synthetic_packets() : packets_.size(); }
    uint64_t bytes_total() const { return bytes_total_; }
    /// Time from the first to the last packet, plus one mean gap.
    uint64_t duration_ns() const { return duration_ns_; }
    uint64_t base_ts_ns() const { return base_ts_ns_; }
    bool nanosecond() const { return nanosecond_; }
    uint64_t synthetic_flows() const { return synthetic_flows_; }
    const std::string& description() const { return description_; }

    /// Writes packet i of loop `loop` into `out` (at most `cap` bytes) and
    /// fills `ref` (data = out, or the stored bytes themselves when they need
    /// no rewriting and `may_alias`).
    void materialise(uint64_t i, uint64_t loop, uint8_t* out, uint32_t cap, PacketRef& ref,
                     bool may_alias) const;

private:
    uint64_t synthetic_packets() const { return synthetic_flows_ * synthetic_ppf_; }
    std::vector<uint8_t> bytes_;
    std::vector<Packet> packets_;
    uint64_t bytes_total_ = 0;
    uint64_t duration_ns_ = 0;
    uint64_t base_ts_ns_ = 0;
    bool nanosecond_ = false;
    uint64_t synthetic_flows_ = 0;
    uint32_t synthetic_ppf_ = 0;
    uint32_t synthetic_payload_ = 0;
    uint32_t synthetic_stride_ = 1;  ///< flow f of this store is flow f * stride + offset
    uint32_t synthetic_offset_ = 0;
    std::string description_;
};

struct MemoryPortConfig {
    uint64_t loops = 1;     ///< replays of the store; 0 = until duration_s
    double duration_s = 0;  ///< stop after this long (0 = after `loops`)
    double rate_pps = 0;    ///< packets per second (0 = as fast as possible)
    double rate_gbps = 0;   ///< or bits per second on the wire, in Gbps
    double speed = 0;       ///< or a multiple of the capture's own timing
};

/// A port that replays `store`. Thread-compatible: one reader.
std::unique_ptr<PortDriver> make_memory_port(std::shared_ptr<const PacketStore> store,
                                             const MemoryPortConfig& cfg);

}  // namespace spate
