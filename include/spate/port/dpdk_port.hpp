#pragma once
/// The DPDK port driver: EAL set-up, ports and RX queues, bursts of mbufs
/// handed to the pipeline as PacketRefs. This first form runs the receive loop
/// on the main thread and feeds the same dispatcher as the libpcap driver
/// (the shape for devices without RSS, and for every vdev).
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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
    double idle_exit_s = 0;  ///< end of input after this long without a packet (replays); 0 = never
    uint16_t mtu = 0;        ///< 0: the device's default; else set (checked against its limits)
    double link_wait_s = 5;  ///< wait this long for each port's link to come up (0: do not wait)
    /// Link type of the frames (DLT); NICs give Ethernet, a vdev replay may not.
    uint16_t linktype = 1;
    /// RX queues per port id when an rx-map is given (only those ports are started).
    std::map<uint16_t, uint16_t> port_queues;
};

class Worker;
namespace parse {
class Decoder;
}

/// One worker lcore in rx-map mode: the (port, queue) pairs it polls, the
/// worker whose flow table it updates and its own decoder.
struct LcoreWork {
    unsigned lcore = 0;
    std::vector<std::pair<uint16_t, uint16_t>> queues;
    Worker* worker = nullptr;
    parse::Decoder* decoder = nullptr;
    std::atomic<uint64_t> packets{0};  ///< published once per burst, for idle detection
    /// The lcore's decoder counters, published once per burst for the control thread.
    std::atomic<uint64_t> decoded{0};
    std::atomic<uint64_t> non_ip{0};
    std::atomic<uint64_t> malformed{0};
};

/// Checks the lcores of an rx-map (and the exporter lcore, -1 for none)
/// against the EAL: each enabled, not the main lcore, none used twice, and
/// every enabled worker lcore given work. Throws std::runtime_error naming
/// rx-map or exporter-lcore.
void check_worker_lcores(const std::vector<unsigned>& lcores, int exporter_lcore);

/// Runs fn on a worker lcore (the exporter); fn must outlive the run.
void launch_on_lcore(unsigned lcore, std::function<void()>& fn);

/// Starts each LcoreWork on its lcore (`port` must come from make_dpdk_port).
/// Each polls its queues in bursts, decodes, updates its worker, frees the
/// mbufs; when `stop` is set it exports every flow (Worker::finish) and returns.
void launch_worker_lcores(PortDriver& port, std::vector<std::unique_ptr<LcoreWork>>& work,
                          const std::atomic<bool>& stop);

/// Waits until every launched lcore has returned.
void wait_worker_lcores();

/// True when this build has the DPDK driver.
bool have_dpdk();

/// Initialises the EAL and every probed port. Throws std::runtime_error with
/// a message naming the EAL argument, port or setting at fault.
std::unique_ptr<PortDriver> make_dpdk_port(const DpdkPortConfig& cfg, PortLogFn log);

}  // namespace spate
