#pragma once
/// The DPDK port driver: EAL set-up, ports and RX queues, bursts of mbufs
/// handed out as PacketRefs. The port itself is a burst source over every
/// queue (read by the dispatcher: devices without RSS, vdevs); with an
/// rx-map each worker lcore polls a queue source of its own. The driver
/// only hands out bursts: the receive loop is the worker's (rx_loop.hpp).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spate/port/eal_diagnosis.hpp"
#include "spate/port/pcap_port.hpp"
#include "spate/port/port_driver.hpp"

namespace spate {

struct DpdkPortConfig {
    std::string
        eal_args;  ///< EAL arguments, e.g. "--no-huge -m 1024 --vdev net_pcap0,rx_pcap=f.pcap"
    uint16_t rx_queues =
        1;  ///< RX queues per port; 0 = auto_queues, capped at the device's maximum
    uint16_t auto_queues = 1;  ///< RX queues per port
    uint16_t rx_desc = 1024;   ///< descriptors per RX queue (clamped to the device's limits)
    uint32_t mbufs = 0;        ///< mempool size; 0 = ports x queues x descriptors + bursts + cache
    bool promiscuous = true;
    uint16_t mtu = 0;        ///< 0: the device's default; else set (checked against its limits)
    double link_wait_s = 5;  ///< wait this long for each port's link to come up (0: do not wait)
    /// Link type of the frames (DLT); NICs give Ethernet, a vdev replay may not.
    uint16_t linktype = 1;
    /// RX queues per port id when an rx-map is given (only those ports are started).
    std::map<uint16_t, uint16_t> port_queues;
    /// Show the EAL's whole output as it comes (--verbose); otherwise it is
    /// kept, a refusal is summarised (PortConfigError) and only warnings
    /// and errors of a start that worked are shown.
    bool verbose = false;
};

/// Checks the lcores of an rx-map (and the exporter lcore, -1 for none)
/// against the EAL: each enabled, not the main lcore, none used twice, and
/// every enabled worker lcore given work. Throws PortConfigError naming
/// rx-map or exporter-lcore.
void check_worker_lcores(const std::vector<unsigned>& lcores, int exporter_lcore);

/// Runs fn on an EAL worker lcore (a worker's receive loop, or the
/// exporter); fn must outlive the run. Throws naming the lcore if it is busy.
void launch_on_lcore(unsigned lcore, std::function<void()>& fn);

/// A burst source over some of the port's RX queues (port, queue), for the
/// lcore that polls them. `port` must come from make_dpdk_port and outlive
/// the source; each source is used by one thread. It ends once the port is
/// asked to stop (request_stop).
std::unique_ptr<BurstSource> make_dpdk_queue_source(
    PortDriver& port, const std::vector<std::pair<uint16_t, uint16_t>>& queues);

/// Waits until every launched lcore has returned.
void wait_lcores();

/// True when this build has the DPDK driver.
bool have_dpdk();

/// Initialises the EAL and every probed port. Throws PortConfigError (exit 2)
/// for what the configuration asks and the machine or device cannot give
/// (told from the EAL's output: hugepages, lcores, a missing device, file or
/// interface, permissions), std::runtime_error for a device that fails;
/// both name the EAL argument, port or setting at fault.
std::unique_ptr<PortDriver> make_dpdk_port(const DpdkPortConfig& cfg, PortLogFn log);

}  // namespace spate
