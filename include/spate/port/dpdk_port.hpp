#pragma once
/// The DPDK port driver: EAL set-up, ports and RX queues, bursts of mbufs
/// handed to the pipeline as PacketRefs. This first form runs the receive loop
/// on the main thread and feeds the same dispatcher as the libpcap driver
/// (the shape for devices without RSS, and for every vdev).
#include <cstdint>
#include <memory>
#include <string>

#include "spate/port/pcap_port.hpp"
#include "spate/port/port_driver.hpp"

namespace spate {

struct DpdkPortConfig {
    std::string
        eal_args;  ///< EAL arguments, e.g. "--no-huge -m 1024 --vdev net_pcap0,rx_pcap=f.pcap"
    uint16_t rx_queues = 1;   ///< RX queues per port
    uint16_t rx_desc = 1024;  ///< descriptors per RX queue (clamped to the device's limits)
    uint32_t mbufs = 0;       ///< mempool size; 0 = ports x queues x descriptors + bursts + cache
    bool promiscuous = true;
    double idle_exit_s = 0;  ///< end of input after this long without a packet (replays); 0 = never
    uint16_t linktype =
        1;  ///< link type of the frames (DLT); NICs give Ethernet, a vdev replay may not
};

/// True when this build has the DPDK driver.
bool have_dpdk();

/// Initialises the EAL and every probed port. Throws std::runtime_error with
/// a message naming the EAL argument, port or setting at fault.
std::unique_ptr<PortDriver> make_dpdk_port(const DpdkPortConfig& cfg, PortLogFn log);

}  // namespace spate
