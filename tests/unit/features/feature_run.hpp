#pragma once
// A worker with feature units enabled, fed hand-made frames through the
// decoder; records come back as JSON lines. Shared by the feature tests.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../parse/packet_builder.hpp"
#include "spate/export/record_json.hpp"
#include "spate/worker/worker.hpp"

namespace spate::test {

struct FeatureRun {
    features::FeatureSet fs;
    SpscRing ring{64 << 20};
    Worker w;
    parse::Decoder dec;

    explicit FeatureRun(const std::string& units, features::FeatureConfig cfg = {})
        : fs(features::FeatureSet::parse(units, cfg)), w(0, table_cfg(), ring, fs) {}

    static FlowTableConfig table_cfg() {
        FlowTableConfig c;
        c.max_flows = 64;
        c.idle_timeout_ns = 0;
        c.active_timeout_ns = 0;
        return c;
    }

    void feed(const Bytes& frame, uint64_t ts) {
        PacketRef ref{frame.data(),
                      static_cast<uint32_t>(frame.size()),
                      static_cast<uint32_t>(frame.size()),
                      ts,
                      1,
                      0};
        parse::DecodedPacket d;
        ASSERT_EQ(dec.decode(ref, d), parse::DecodeStatus::ok);
        w.on_packet(d, symmetric_hash(d.key), frame.data());
    }

    /// Finishes and returns the JSON lines.
    std::vector<std::string> records() {
        w.finish();
        std::vector<std::string> out;
        SpscRing::Message m;
        while (ring.peek(m)) {
            if (static_cast<MsgType>(m.type) == MsgType::record) {
                std::string buf;
                JsonWriter jw(buf);
                FlowData f;
                std::memcpy(&f, m.data, sizeof(f));
                write_record_json(jw, f, RecordFormat{}, &fs, m.data + sizeof(FlowData));
                buf.pop_back();  // newline
                out.push_back(buf);
            }
            ring.pop(m);
        }
        ring.release();
        return out;
    }

    /// The one record of a one-flow run.
    std::string record() {
        auto recs = records();
        EXPECT_EQ(recs.size(), 1u);
        return recs.empty() ? std::string("{}") : recs[0];
    }
};

}  // namespace spate::test
