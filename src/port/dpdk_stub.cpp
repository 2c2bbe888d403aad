// Built instead of dpdk_port.cpp when DPDK is absent (meson -Ddpdk=disabled).
#include <stdexcept>

#include "spate/control/stats_snapshot.hpp"
#include "spate/port/dpdk_port.hpp"

namespace spate {

bool have_dpdk() {
    return false;
}

void register_stats_telemetry(const StatsSnapshot*) {}

void launch_on_lcore(unsigned, std::function<void()>&) {
    throw std::runtime_error("lcores: this build has no DPDK driver");
}

void check_worker_lcores(const std::vector<unsigned>&, int) {
    throw PortConfigError("rx-map: this build has no DPDK driver",
                          "rebuild with libdpdk-dev installed (scripts/bootstrap)");
}

std::unique_ptr<BurstSource> make_dpdk_queue_source(
    PortDriver&, const std::vector<std::pair<uint16_t, uint16_t>>&) {
    throw std::runtime_error("rx-map: this build has no DPDK driver");
}

void wait_lcores() {}

std::unique_ptr<PortDriver> make_dpdk_port(const DpdkPortConfig&, PortLogFn) {
    throw PortConfigError("--driver dpdk: this build has no DPDK driver",
                          "rebuild with libdpdk-dev installed (scripts/bootstrap), or use "
                          "--driver pcap");
}

}  // namespace spate
