#pragma once
// What the application-unit fuzz targets (tls, dns, http, ssh, dhcp, ike)
// share: a FeatureSet with one unit, its worker scratch and a state buffer
// reused by consecutive inputs; one packet handed to the unit as a
// PacketView; the record's JSON written and checked, then the state
// released; and the two input formats the targets read:
//  - a segment list: [flags][seq delta (2 bytes)][length (2 bytes)][bytes],
//    flags bit 0 the direction; the delta shifts the segment backwards (a
//    retransmission or overlap) when its top bit is set, else forwards (a
//    hole);
//  - a datagram list: [flags][length (2 bytes)][bytes], flags bit 0 the
//    direction.
// The other flag bits are each target's own.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/features/scratch.hpp"

namespace spate::fuzz {

struct UnitHarness {
    UnitHarness(const char* unit, const features::FeatureConfig& config)
        : fs(features::FeatureSet::parse(unit, config)) {}
    features::FeatureSet fs;
    std::unique_ptr<features::WorkerScratch> scratch = fs.make_scratch();
    std::vector<uint8_t> state = std::vector<uint8_t>(fs.state_bytes() + 8);
    std::string json;
    std::vector<uint8_t> packed;

    uint8_t* st() { return state.data(); }
    void init() { fs.init(st()); }
};

/// One packet of a flow as the targets describe it.
struct Packet {
    uint8_t proto = 6;
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t tcp_flags = 0;
    uint32_t seq = 0;
    uint64_t ts = 0;
    uint8_t dir = 0;
    bool first = false;
};

/// The TCP flags of a segment: a SYN, or PSH|ACK.
inline uint8_t tcp_flags(bool syn) {
    return syn ? 0x02 : 0x18;
}

/// Hands `len` payload bytes at `data` to the unit (no frame: the SYN
/// options are not read).
inline void feed(UnitHarness& h, const Packet& k, const uint8_t* data, uint32_t len) {
    parse::DecodedPacket p;
    p.key.proto = k.proto;
    p.key.sport = k.sport;
    p.key.dport = k.dport;
    p.ts_ns = k.ts;
    p.tcp_flags = k.tcp_flags;
    p.tcp_seq = k.seq;
    p.payload_len = len;
    p.cap_len = len;
    features::PacketView v{};
    v.pkt = &p;
    v.frame = nullptr;
    v.payload = len > 0 ? data : nullptr;
    v.payload_cap = len;
    v.dir = k.dir;
    v.flow_first = k.first;
    v.seg = features::SegClass::none;
    v.prev_ts_ns = k.ts;
    v.flow_start_ns = 1;
    v.scratch = h.scratch.get();
    h.fs.update(h.st(), v);
}

/// Writes the record's JSON (aborting unless it is one object) and releases
/// the state.
inline void finish(UnitHarness& h, const FlowData& f = FlowData{}) {
    h.json.clear();
    JsonWriter w(h.json);
    w.begin_object();
    // As a worker hands the state to the exporter: packed, used parts only.
    h.packed.resize(h.fs.packed_size(h.st()));
    h.fs.pack(h.st(), h.packed.data(), h.scratch.get());
    h.fs.write_json(h.packed.data(), f, w);
    w.end_object();
    if (h.json.empty() || h.json.front() != '{' || h.json.back() != '}') {
        std::abort();
    }
    h.fs.release(h.st(), h.scratch.get());
}

/// Calls seg(flags, seq, bytes, len, ts, first) for each segment of a
/// segment list, the sequence numbers of each direction from their own
/// start (client 1000, server 900000), a microsecond apart from 1 s on.
/// Returns the last timestamp.
template <class Segment>
uint64_t for_each_segment(const uint8_t* data, size_t size, Segment&& seg) {
    uint32_t seq[2] = {1000, 900000};
    uint64_t ts = 1'000'000'000;
    bool first = true;
    size_t i = 0;
    while (i + 5 <= size) {
        const uint8_t flags = data[i];
        const uint32_t delta = uint32_t(data[i + 1] << 8 | data[i + 2]);
        uint32_t len = uint32_t(data[i + 3] << 8 | data[i + 4]);
        i += 5;
        if (len > size - i) {
            len = static_cast<uint32_t>(size - i);
        }
        const uint8_t dir = flags & 1;
        const uint32_t s = (delta & 0x8000) != 0 ? seq[dir] - (delta & 0x7fff) : seq[dir] + delta;
        seg(flags, s, data + i, len, ts += 1000, first);
        first = false;
        seq[dir] = s + len;
        i += len;
    }
    return ts;
}

/// Calls datagram(flags, bytes, len, first) for each datagram of a
/// datagram list.
template <class Datagram>
void for_each_datagram(const uint8_t* data, size_t size, Datagram&& datagram) {
    size_t i = 0;
    bool first = true;
    while (i + 3 <= size) {
        const uint8_t flags = data[i];
        uint32_t len = uint32_t(data[i + 1] << 8 | data[i + 2]);
        i += 3;
        if (len > size - i) {
            len = static_cast<uint32_t>(size - i);
        }
        datagram(flags, data + i, len, first);
        first = false;
        i += len;
    }
}

}  // namespace spate::fuzz
