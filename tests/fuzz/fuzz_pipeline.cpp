// Fuzz target for the whole packet path from capture-file bytes: the bytes
// are a capture file (memfd), read by CaptureFile, decoded, run through a
// worker's flow table with small timeouts and capacity (so expiry, TCP end
// and eviction all happen), and every record is formatted as JSON. The same
// code as the real pipeline, on one thread. Every feature unit is on,
// content rules included (a small rule set: TCP streams and UDP blocks,
// first and every match, end-anchored, depth and port filters).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "memfd_file.hpp"
#include "spate/export/record_json.hpp"
#include "spate/match/app.hpp"
#include "spate/match/content_db.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/port/capture_file.hpp"
#include "spate/worker/worker.hpp"
#include "spate_config.h"

namespace {

void drain(spate::SpscRing& ring, std::string& out) {
    spate::JsonWriter w(out);
    spate::SpscRing::Message m;
    while (ring.peek(m)) {
        if (static_cast<spate::MsgType>(m.type) == spate::MsgType::record) {
            const auto* rec = reinterpret_cast<const spate::RecordMsg*>(m.data);
            spate::write_record_json(w, rec->flow, spate::RecordFormat{true});
        }
        ring.pop(m);
    }
    ring.release();
    out.clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = spate_fuzz::write_memfd(data, size);
    static spate::SpscRing ring(1 << 20);
    static std::string json;
    spate::FlowTableConfig cfg;
    cfg.max_flows = 8;
    cfg.idle_timeout_ns = 1'000'000'000;
    cfg.active_timeout_ns = 5'000'000'000;
    cfg.tcp_close_timeout_ns = 500'000'000;
    static const spate::features::FeatureSet fs = [] {
        spate::features::FeatureConfig fc;
#if SPATE_HAVE_HYPERSCAN
        spate::match::RuleSet rules;
        rules.parse(
            "1 get dir=client proto=tcp depth=16 /^GET /\n"
            "2 any-o match=every /o/\n"
            "3 tail proto=tcp /\\r\\n\\r\\n$/\n"
            "4 dns proto=udp port=53 depth=64 /\\x00\\x01\\x00\\x01/\n"
            "5 srv dir=server /HTTP\\/1\\.[01] [0-9]{3}/i\n",
            "fuzz.rules");
        // And the shipped application set (unit app, in "all").
        rules.parse(spate::match::builtin_app_rules(), "apps.rules");
        fc.content_db = spate::match::ContentDb::compile(std::move(rules));
        fc.rule_streams = 4;  // small: exhaustion happens too
#endif
        return spate::features::FeatureSet::parse("all", fc);
    }();
    spate::Worker worker(0, cfg, ring, fs);
    spate::parse::DecoderConfig dcfg;
    dcfg.frag_slots = 16;
    spate::parse::Decoder decoder(dcfg);
    try {
        spate::CaptureFile f = spate::CaptureFile::open(path);
        spate::PacketRef pkt;
        spate::parse::DecodedPacket d;
        int n = 0;
        while (f.next(pkt) == spate::CaptureFile::Next::packet) {
            if (decoder.decode(pkt, d) == spate::parse::DecodeStatus::ok) {
                worker.on_packet(d, spate::symmetric_hash(d.key), pkt.data);
            }
            if (++n % 16 == 0) {
                worker.publish();
                drain(ring, json);
            }
        }
    } catch (const spate::CaptureOpenError&) {
    }
    worker.finish();
    drain(ring, json);
    return 0;
}
