#pragma once
/// Why the DPDK EAL or a device refused to start, told from what the EAL
/// printed: a one-line cause and the next step to take. Plain text in, text
/// out (no DPDK here), so every case is tested on the EAL's own lines; the
/// driver (dpdk_port.cpp) captures those lines and throws PortConfigError.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace spate {

/// A port configuration this machine cannot run (an EAL argument, a missing
/// device or file, lcores or memory it lacks, an option the device refuses):
/// exit 2. what() is the one-line cause, naming the option, device or file;
/// next_step() says what to do about it.
class PortConfigError : public std::runtime_error {
public:
    PortConfigError(const std::string& cause, std::string next_step, bool output_hidden = false)
        : std::runtime_error(cause), next_(std::move(next_step)), hidden_(output_hidden) {}
    const std::string& next_step() const { return next_; }
    /// True when the EAL's own output was captured and not shown (no --verbose).
    bool output_hidden() const { return hidden_; }

private:
    std::string next_;
    bool hidden_;
};

namespace eal {

/// What the machine offers, for the messages (gathered by machine_facts()).
struct MachineFacts {
    std::string lcores;              ///< CPUs online, "0-1" or "0,2-5"
    bool hugetlbfs_mounted = false;  ///< a hugetlbfs in /proc/mounts
    uint64_t hugepages_total = 0;    ///< HugePages_Total (default page size)
    uint64_t hugepages_free = 0;
    std::vector<std::string> interfaces;  ///< network interface names (if_nameindex)
    bool root = false;
    std::string cwd;
};

MachineFacts machine_facts();

struct Diagnosis {
    std::string cause;      ///< one line, starting with the option ("--eal: ...")
    std::string next_step;  ///< one line
};

/// rte_eal_init failed with rte_errno `err`; `lines` is everything it
/// printed (log lines, its FATAL line, getopt's complaints, the usage text).
Diagnosis diagnose_init_failure(const std::vector<std::string>& lines, int err,
                                const std::string& eal_args, const MachineFacts& m);

/// rte_eal_init succeeded but a device it was asked for did not start (a
/// vdev whose probe failed; a PCI device allowed with -a that cannot be
/// used). nullopt when every requested device started.
std::optional<Diagnosis> diagnose_probe_failure(const std::vector<std::string>& lines,
                                                const std::string& eal_args, const MachineFacts& m);

/// The EAL started but probed no port.
Diagnosis diagnose_no_port(const std::string& eal_args);

/// The value of each `--vdev` / `--vdev=` (or `-a` / `--allow`, with
/// `allow` set) argument, in order.
std::vector<std::string> device_args(const std::string& eal_args, bool allow);

/// The last lines that say something (not the usage text, not the EAL's
/// chatter about detected lcores and NUMA nodes), at most `n`, joined by "; ".
std::string last_meaningful(const std::vector<std::string>& lines, size_t n);

}  // namespace eal

}  // namespace spate
