#pragma once
/// What travels on the rings: dispatcher -> worker (packets, time ticks, end)
/// and worker -> exporter (flow records, done).
#include <cstdint>

#include "spate/flow/flow.hpp"
#include "spate/parse/decoder.hpp"

namespace spate {

enum class MsgType : uint32_t {
    packet = 1,  ///< PacketMsg, followed by the frame bytes when data == nullptr
    tick,        ///< TickMsg: capture time advanced (lets quiet workers expire flows)
    end,         ///< no more packets: export everything and finish
    record,      ///< RecordMsg
    done,        ///< worker finished; nothing more on this ring
};

struct PacketMsg {
    parse::DecodedPacket pkt;
    uint64_t hash;
    /// The frame, when the driver's buffers are stable; nullptr when the
    /// bytes follow this struct in the ring message (pkt.cap_len of them).
    const uint8_t* data;
};

struct TickMsg {
    uint64_t now_ns;
};

struct RecordMsg {
    FlowData flow;
};

}  // namespace spate
