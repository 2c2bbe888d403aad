#pragma once
/// The libpcap port driver: offline capture files (read through
/// CaptureFile's memory mapping, filtered with libpcap's BPF when asked) or a
/// live interface through libpcap.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "spate/port/port_driver.hpp"

namespace spate {

struct PcapPortConfig {
    std::vector<std::string> files;    ///< read in this order, one after another
    std::string interface;             ///< live capture when not empty
    std::string bpf;                   ///< filter expression, empty = none
    std::string bpf_option = "--bpf";  ///< where bpf came from, named in errors
    int snaplen = 262144;
    bool promiscuous = true;
    int buffer_mb = 64;  ///< live: kernel buffer size
};

/// Thrown by make_pcap_port when the filter expression does not compile:
/// a usage error (exit status 2), not an input error. what() starts with the
/// option ("--bpf: ...").
class FilterError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Reports a warning or error line about the input (file truncated, ...).
/// Called on the thread that calls rx_burst, never per packet.
using PortLogFn = void (*)(bool is_error, const std::string& message);

/// Opens the inputs. Throws std::runtime_error with a message naming the
/// file or interface when one cannot be opened or the filter does not compile.
/// All files are opened (and so checked) up front.
std::unique_ptr<PortDriver> make_pcap_port(const PcapPortConfig& cfg, PortLogFn log);

}  // namespace spate
