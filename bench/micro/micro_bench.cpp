// Micro-benchmarks of the per-packet and per-record units. Each reports
// items per second; run with --benchmark_repetitions=5 for median and spread.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "spate/export/record_json.hpp"
#include "spate/flow/flow_table.hpp"
#include "spate/parse/decoder.hpp"
#include "spate/worker/worker.hpp"

using namespace spate;

namespace {

// Ethernet + IPv4 + TCP (SYN) frame, 60 bytes.
std::vector<uint8_t> tcp_frame(uint32_t src, uint16_t sport) {
    std::vector<uint8_t> f(14 + 20 + 20, 0);
    f[12] = 0x08;
    uint8_t* ip = f.data() + 14;
    ip[0] = 0x45;
    ip[3] = 40;
    ip[8] = 64;
    ip[9] = 6;
    std::memcpy(ip + 12, &src, 4);
    ip[16] = 192;
    ip[17] = 0;
    ip[18] = 2;
    ip[19] = 1;
    uint8_t* tcp = ip + 20;
    tcp[0] = static_cast<uint8_t>(sport >> 8);
    tcp[1] = static_cast<uint8_t>(sport);
    tcp[3] = 80;
    tcp[12] = 0x50;
    tcp[13] = 0x02;
    return f;
}

void BM_DecodeTcpIpv4(benchmark::State& state) {
    auto f = tcp_frame(0x0100000a, 1234);
    parse::Decoder dec;
    parse::DecodedPacket d;
    PacketRef ref{f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), 1, 1,
                  0};
    for (auto _ : state) {
        benchmark::DoNotOptimize(dec.decode(ref, d));
        benchmark::DoNotOptimize(d);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeTcpIpv4);

// Lookup of existing flows in a table holding N flows (random order).
void BM_FlowLookup(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    FlowTable t(FlowTableConfig{.max_flows = n});
    std::vector<FlowKey> keys(n);
    std::vector<uint64_t> hashes(n);
    for (uint32_t i = 0; i < n; ++i) {
        uint8_t a[4], b[4] = {192, 0, 2, 1};
        std::memcpy(a, &i, 4);
        keys[i].src = IpAddr::v4(a);
        keys[i].dst = IpAddr::v4(b);
        keys[i].sport = static_cast<uint16_t>(i * 7);
        keys[i].dport = 443;
        keys[i].proto = 6;
        keys[i].ip_version = 4;
        hashes[i] = symmetric_hash(keys[i]);
        t.insert(keys[i], hashes[i], [](FlowTable::Entry&) {});
    }
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i)
        order[i] = i;
    std::shuffle(order.begin(), order.end(), std::mt19937(1));
    size_t i = 0;
    for (auto _ : state) {
        uint32_t k = order[i++ % n];
        bool rev;
        benchmark::DoNotOptimize(t.find(keys[k], hashes[k], rev));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowLookup)->Arg(1000)->Arg(100000)->Arg(1000000);

// The worker's whole per-packet path (lookup, update, touch) over N flows.
void BM_WorkerPacket(benchmark::State& state) {
    const auto n = static_cast<uint32_t>(state.range(0));
    SpscRing ring(64 << 20);
    FlowTableConfig cfg;
    cfg.max_flows = n;
    cfg.idle_timeout_ns = 0;
    cfg.active_timeout_ns = 0;
    features::FeatureSet fs;
    Worker w(0, cfg, ring, fs);
    std::vector<parse::DecodedPacket> pkts(n);
    std::vector<uint64_t> hashes(n);
    parse::Decoder dec;
    for (uint32_t i = 0; i < n; ++i) {
        auto f = tcp_frame(i, static_cast<uint16_t>(i * 13));
        PacketRef ref{
            f.data(), static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size()), 1000, 1, 0};
        dec.decode(ref, pkts[i]);
        pkts[i].tcp_flags = 0x10;
        hashes[i] = symmetric_hash(pkts[i].key);
    }
    size_t i = 0;
    for (auto _ : state) {
        size_t k = i++ % n;
        w.on_packet(pkts[k], hashes[k], nullptr);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WorkerPacket)->Arg(1000)->Arg(100000)->Arg(1000000);

void BM_RecordJson(benchmark::State& state) {
    FlowData f;
    uint8_t a[4] = {10, 0, 0, 1}, b[4] = {192, 0, 2, 1};
    f.key.src = IpAddr::v4(a);
    f.key.dst = IpAddr::v4(b);
    f.key.sport = 51234;
    f.key.dport = 443;
    f.key.proto = 6;
    f.key.ip_version = 4;
    f.dir[0].pkts = 12;
    f.dir[1].pkts = 10;
    f.first_ns = 1700000000123456789ULL;
    f.last_ns = 1700000001123456789ULL;
    std::string buf;
    buf.reserve(1 << 20);
    JsonWriter w(buf);
    for (auto _ : state) {
        write_record_json(w, f, RecordFormat{true});
        if (buf.size() > (1 << 19)) {
            buf.clear();
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordJson);

}  // namespace

BENCHMARK_MAIN();
