#pragma once
/// Packets as the port drivers hand them to the pipeline.
#include <cstdint>

namespace spate {

/// Link-layer types (DLT / LINKTYPE numbers) the decoder understands.
enum class LinkType : uint16_t {
    null_bsd = 0,  ///< BSD loopback: 4-byte host-order address family
    ethernet = 1,
    raw = 101,   ///< raw IPv4 or IPv6 (version nibble decides)
    loop = 108,  ///< OpenBSD loopback: 4-byte network-order family
    linux_sll = 113,
    ipv4 = 228,
    ipv6 = 229,
    linux_sll2 = 276,
};

/// One received frame. `data` stays valid until the driver's next rx_burst()
/// on the same port, or for the whole run when the driver says so
/// (PortDriver::stable_buffers()).
struct PacketRef {
    const uint8_t* data = nullptr;
    uint32_t caplen = 0;    ///< bytes available at data
    uint32_t wirelen = 0;   ///< length on the wire (>= caplen normally)
    uint64_t ts_ns = 0;     ///< capture time, nanoseconds since the epoch
    uint16_t linktype = 1;  ///< LinkType value (per packet: pcapng interfaces differ)
    /// Where it came in (a record's "in"): the DPDK port id, the pcapng
    /// interface id in a capture file (0 for pcap files and live capture).
    uint16_t port = 0;
    uint16_t queue = 0;  ///< the DPDK RX queue; 0 elsewhere
};

}  // namespace spate
