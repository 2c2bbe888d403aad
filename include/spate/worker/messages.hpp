#pragma once
/// What travels on the rings: dispatcher -> worker (frames, time ticks, end)
/// and worker -> exporter (flow records, done).
#include <cstdint>

#include "spate/core/packet.hpp"
#include "spate/flow/flow.hpp"

namespace spate {

enum class MsgType : uint32_t {
    frame = 1,  ///< FrameMsg, followed by the frame bytes when ref.data == nullptr
    tick,       ///< TickMsg: packet time advanced (lets quiet workers expire flows)
    end,        ///< no more frames: export everything and finish
    record,     ///< RecordMsg
    done,       ///< worker finished; nothing more on this ring
};

/// A frame handed to a worker, which decodes it. The frame is referenced
/// when the driver's buffers stay valid for the run (memory-mapped files)
/// and copied behind the message otherwise (ref.data == nullptr; ref.caplen
/// bytes follow).
struct FrameMsg {
    PacketRef ref;
};

struct TickMsg {
    uint64_t now_ns;
};

struct RecordMsg {
    FlowData flow;
};

}  // namespace spate
