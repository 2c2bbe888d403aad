#pragma once
/// The burst-oriented port-driver interface shared by the libpcap and DPDK
/// drivers. One virtual call per burst, never per packet.
#include <cstdint>
#include <string>

#include "spate/core/packet.hpp"

namespace spate {

/// Counters a driver keeps about its input.
struct PortStats {
    uint64_t packets = 0;       ///< frames handed out
    uint64_t bytes = 0;         ///< captured bytes handed out
    uint64_t filtered = 0;      ///< frames rejected by the BPF filter
    uint64_t kernel_drops = 0;  ///< live capture: dropped by the kernel / NIC
    uint64_t if_drops = 0;
    uint64_t files_done = 0;
    uint64_t truncated_files = 0;  ///< files that ended inside a record
    uint64_t corrupt_files = 0;    ///< files that stopped at a corrupt record
    /// Packets whose timestamp is more than a second before the previous
    /// packet's in the same input (warned once per input).
    uint64_t time_steps_back = 0;
    /// Capture files: bytes of them read so far (updated once per burst),
    /// and their total when every one has a known size (regular,
    /// uncompressed files); 0 when not known (stdin, FIFOs, compressed
    /// files) or not a file input. For the --progress line.
    uint64_t input_bytes_read = 0;
    uint64_t input_bytes_total = 0;
};

enum class RxStatus : uint8_t {
    ok,     ///< zero or more packets; call again
    end,    ///< no more input (end of the last file, or stopped)
    error,  ///< fatal input error already reported; no more input
};

/// What a receive loop polls: bursts of frames from one or more NIC queues,
/// a dispatcher's ring, a file or a replay. One virtual call per burst.
class BurstSource {
public:
    virtual ~BurstSource() = default;

    /// Fills up to n packets. Returns the count; status says whether more may
    /// follow. Buffers stay valid until the next rx_burst() call on this
    /// source, or for the whole run when the driver has stable_buffers().
    virtual uint16_t rx_burst(PacketRef* pkts, uint16_t n, RxStatus& status) = 0;

    /// Packet time the source has reached besides the packets it handed out
    /// (a dispatcher's time ticks): the loop moves its worker's clock on to
    /// it, so quiet workers expire their flows. 0: nothing to add.
    virtual uint64_t time_floor() const { return 0; }
};

class PortDriver : public BurstSource {
public:
    /// True when packet data stays valid until the driver is destroyed
    /// (memory-mapped files), so consumers need not copy it.
    virtual bool stable_buffers() const { return false; }

    /// True when packet times are taken as packets arrive (live interfaces,
    /// NICs): the receive loops then also move time on from CLOCK_MONOTONIC
    /// while a queue is idle, and the default overload policy is to drop
    /// records rather than stall. False for capture files and replays of
    /// their timestamps (packet time only: deterministic records).
    virtual bool live() const { return false; }

    /// True when rx_burst() may wait for packets (libpcap's live read blocks
    /// until its kernel buffer hands over a block): such a port is read by a
    /// dispatcher thread, so that the workers' loops never block and keep
    /// time moving while the link is quiet.
    virtual bool blocking() const { return false; }

    /// True when timestamps carry real nanosecond digits.
    virtual bool nanosecond_timestamps() const { return false; }

    /// Asks a blocking driver (live capture) to return soon; thread-safe.
    virtual void request_stop() {}

    virtual PortStats stats() const = 0;
    /// Per port / queue counters as text lines (empty when the driver has none).
    virtual std::string detail() const { return {}; }
    virtual std::string describe() const = 0;
};

}  // namespace spate
