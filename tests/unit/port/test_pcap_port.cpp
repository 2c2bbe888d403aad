// The libpcap port driver: several files in order, truncated and corrupt
// files in the middle of a run, BPF filtering (per link type), errors at
// make time, and a short live capture on "lo" when running as root.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "spate/port/pcap_port.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using spate::make_pcap_port;
using spate::PacketRef;
using spate::PcapPortConfig;
using spate::PortDriver;
using spate::RxStatus;

using spate::test::TempDir;

namespace {

void put32le(std::vector<uint8_t>& v, uint32_t x) {
    for (int i = 0; i < 4; ++i) {
        v.push_back(static_cast<uint8_t>(x >> (8 * i)));
    }
}
void put16le(std::vector<uint8_t>& v, uint16_t x) {
    v.push_back(static_cast<uint8_t>(x));
    v.push_back(static_cast<uint8_t>(x >> 8));
}

/// Minimal little-endian microsecond pcap.
struct Pcap {
    std::vector<uint8_t> v;
    explicit Pcap(uint32_t linktype = 1, bool nsec = false) {
        put32le(v, nsec ? 0xa1b23c4d : 0xa1b2c3d4);
        put16le(v, 2);
        put16le(v, 4);
        put32le(v, 0);
        put32le(v, 0);
        put32le(v, 65535);
        put32le(v, linktype);
    }
    void add(uint32_t sec, const std::vector<uint8_t>& frame) {
        put32le(v, sec);
        put32le(v, 0);
        put32le(v, static_cast<uint32_t>(frame.size()));
        put32le(v, static_cast<uint32_t>(frame.size()));
        v.insert(v.end(), frame.begin(), frame.end());
    }
};

/// IPv4 header + 8 bytes of a TCP (6) or UDP (17) header.
std::vector<uint8_t> ipv4(uint8_t proto) {
    std::vector<uint8_t> p = {0x45, 0, 0,  28, 0, 0, 0,  0, 64, proto,
                              0,    0, 10, 0,  0, 1, 10, 0, 0,  2};
    std::vector<uint8_t> l4 = {0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0};
    p.insert(p.end(), l4.begin(), l4.end());
    return p;
}

std::vector<uint8_t> ether(uint8_t proto) {
    std::vector<uint8_t> f = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00};
    auto ip = ipv4(proto);
    f.insert(f.end(), ip.begin(), ip.end());
    return f;
}

/// pcapng with an Ethernet interface and a raw-IP interface.
std::vector<uint8_t> two_linktype_pcapng(int udp_eth, int tcp_eth, int udp_raw, int tcp_raw) {
    std::vector<uint8_t> v;
    auto block = [&](uint32_t type, std::vector<uint8_t> body) {
        while (body.size() % 4 != 0) {
            body.push_back(0);
        }
        put32le(v, type);
        put32le(v, static_cast<uint32_t>(body.size() + 12));
        v.insert(v.end(), body.begin(), body.end());
        put32le(v, static_cast<uint32_t>(body.size() + 12));
    };
    std::vector<uint8_t> shb;
    put32le(shb, 0x1A2B3C4D);
    put16le(shb, 1);
    put16le(shb, 0);
    put32le(shb, 0xffffffff);
    put32le(shb, 0xffffffff);
    block(0x0A0D0D0A, shb);
    for (uint16_t lt : {uint16_t{1}, uint16_t{101}}) {
        std::vector<uint8_t> idb;
        put16le(idb, lt);
        put16le(idb, 0);
        put32le(idb, 0);
        block(1, idb);
    }
    auto epb = [&](uint32_t ifid, const std::vector<uint8_t>& frame) {
        std::vector<uint8_t> b;
        put32le(b, ifid);
        put32le(b, 0);
        put32le(b, 1000000);
        put32le(b, static_cast<uint32_t>(frame.size()));
        put32le(b, static_cast<uint32_t>(frame.size()));
        b.insert(b.end(), frame.begin(), frame.end());
        block(6, b);
    };
    for (int i = 0; i < udp_eth; ++i)
        epb(0, ether(17));
    for (int i = 0; i < tcp_eth; ++i)
        epb(0, ether(6));
    for (int i = 0; i < udp_raw; ++i)
        epb(1, ipv4(17));
    for (int i = 0; i < tcp_raw; ++i)
        epb(1, ipv4(6));
    return v;
}

std::vector<std::pair<bool, std::string>> g_log;
void log_fn(bool is_error, const std::string& msg) {
    g_log.emplace_back(is_error, msg);
}

struct Drained {
    std::vector<PacketRef> pkts;
    RxStatus last = RxStatus::ok;
    int bursts = 0;
};

Drained drain(PortDriver& port, uint16_t burst) {
    Drained d;
    std::vector<PacketRef> buf(burst);
    for (int guard = 0; guard < 1000000; ++guard) {
        RxStatus st = RxStatus::ok;
        uint16_t n = port.rx_burst(buf.data(), burst, st);
        EXPECT_LE(n, burst);
        d.pkts.insert(d.pkts.end(), buf.begin(), buf.begin() + n);
        ++d.bursts;
        if (st != RxStatus::ok) {
            d.last = st;
            return d;
        }
    }
    ADD_FAILURE() << "driver never ended";
    return d;
}

fs::path corpus_pcaps() {
    fs::path c;
    if (const char* e = std::getenv("SPATE_CORPUS")) {
        c = e;
    } else if (const char* r = std::getenv("SPATE_SOURCE_ROOT")) {
        c = fs::path(r) / ".." / "shared" / "corpus";
    }
    return c.empty() ? c : c / "pcaps";
}

/// flow 0's first_frame and first_ts_ns from an oracle file, if present.
bool oracle_first(const fs::path& jsonl, uint64_t& frame, uint64_t& ts_ns) {
    std::ifstream in(jsonl);
    std::string line;
    if (!std::getline(in, line) || line.find("\"type\": \"flow\"") == std::string::npos) {
        return false;
    }
    auto field = [&](const char* name, uint64_t& out) {
        std::string key = std::string("\"") + name + "\": ";
        size_t at = line.find(key);
        if (at == std::string::npos) {
            return false;
        }
        out = std::stoull(line.substr(at + key.size()));
        return true;
    };
    return field("first_frame", frame) && field("first_ts_ns", ts_ns);
}

}  // namespace

TEST(PcapPort, FilesInOrderWithTheirPortIndex) {
    TempDir dir;
    Pcap a;
    for (uint32_t i = 0; i < 5; ++i) {
        a.add(100 + i, ether(17));
    }
    Pcap b(1, true);
    for (uint32_t i = 0; i < 3; ++i) {
        b.add(200 + i, ether(6));
    }
    PcapPortConfig cfg;
    cfg.files = {dir.write("a.pcap", a.v), dir.write("b.pcap", b.v),
                 dir.write("c.pcapng", two_linktype_pcapng(1, 0, 1, 0))};
    g_log.clear();
    auto port = make_pcap_port(cfg, log_fn);
    // Files are streamed through a reused buffer: data is valid until the
    // next rx_burst() (a dispatcher copies it).
    EXPECT_FALSE(port->stable_buffers());
    EXPECT_TRUE(port->nanosecond_timestamps());  // b.pcap is nanosecond
    EXPECT_EQ(port->describe(),
              "pcap files: " + cfg.files[0] + ", " + cfg.files[1] + ", " + cfg.files[2]);

    Drained d = drain(*port, 4);
    EXPECT_EQ(d.last, RxStatus::end);
    ASSERT_EQ(d.pkts.size(), 10u);
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(d.pkts[i].port, 0);
        EXPECT_EQ(d.pkts[i].ts_ns, (100 + i) * 1000000000ull);
    }
    for (size_t i = 5; i < 8; ++i) {
        EXPECT_EQ(d.pkts[i].port, 0);  // pcap files: interface 0
        EXPECT_EQ(d.pkts[i].ts_ns, (200 + i - 5) * 1000000000ull);
        EXPECT_EQ(d.pkts[i].caplen, ether(6).size());
    }
    // The pcapng's packets on its interfaces 0 and 1.
    EXPECT_EQ(d.pkts[8].port, 0);
    EXPECT_EQ(d.pkts[8].linktype, 1);
    EXPECT_EQ(d.pkts[9].port, 1);
    EXPECT_EQ(d.pkts[9].linktype, 101);
    for (const PacketRef& p : d.pkts) {
        EXPECT_EQ(p.queue, 0);
    }
    {
        // Data is valid until the next burst.
        auto again = make_pcap_port(cfg, log_fn);
        std::vector<PacketRef> burst(8);
        RxStatus bs = RxStatus::ok;
        ASSERT_EQ(again->rx_burst(burst.data(), 8, bs), 8);
        for (size_t i = 0; i < 5; ++i) {
            EXPECT_EQ(std::vector<uint8_t>(burst[i].data, burst[i].data + burst[i].caplen),
                      ether(17));
        }
        for (size_t i = 5; i < 8; ++i) {
            EXPECT_EQ(std::vector<uint8_t>(burst[i].data, burst[i].data + burst[i].caplen),
                      ether(6));
        }
    }

    auto s = port->stats();
    EXPECT_EQ(s.packets, 10u);
    EXPECT_EQ(s.files_done, 3u);
    EXPECT_EQ(s.truncated_files, 0u);
    EXPECT_EQ(s.corrupt_files, 0u);
    EXPECT_TRUE(g_log.empty());

    RxStatus st = RxStatus::ok;
    std::vector<PacketRef> buf(4);
    EXPECT_EQ(port->rx_burst(buf.data(), 4, st), 0);
    EXPECT_EQ(st, RxStatus::end);
}

TEST(PcapPort, TruncatedAndCorruptFilesAreReportedAndSkipped) {
    TempDir dir;
    Pcap ok;
    ok.add(1, ether(17));
    Pcap cut = ok;
    cut.add(2, ether(17));
    cut.v.resize(cut.v.size() - 5);
    Pcap bad = ok;
    put32le(bad.v, 3);
    put32le(bad.v, 0);
    put32le(bad.v, 0x7fffff00);
    put32le(bad.v, 60);
    PcapPortConfig cfg;
    cfg.files = {dir.write("cut.pcap", cut.v), dir.write("bad.pcap", bad.v),
                 dir.write("ok.pcap", ok.v)};
    g_log.clear();
    auto port = make_pcap_port(cfg, log_fn);
    Drained d = drain(*port, 32);
    EXPECT_EQ(d.last, RxStatus::end);
    ASSERT_EQ(d.pkts.size(), 3u);
    EXPECT_EQ(d.pkts[0].port, 0);  // pcap files: interface 0 whichever file
    EXPECT_EQ(d.pkts[1].port, 0);
    EXPECT_EQ(d.pkts[2].port, 0);
    ASSERT_EQ(g_log.size(), 2u);
    EXPECT_FALSE(g_log[0].first);
    EXPECT_EQ(
        g_log[0].second,
        cfg.files[0] + ": file truncated inside record 2 (offset 82): 53 of 58 bytes present");
    EXPECT_TRUE(g_log[1].first);
    EXPECT_EQ(g_log[1].second, cfg.files[1] +
                                   ": corrupt record 2 at offset 82: captured length 2147483392 "
                                   "is larger than 268435456");
    auto s = port->stats();
    EXPECT_EQ(s.truncated_files, 1u);
    EXPECT_EQ(s.corrupt_files, 1u);
    EXPECT_EQ(s.files_done, 3u);
    EXPECT_EQ(s.packets, 3u);
}

TEST(PcapPort, BpfFilterAcrossLinkTypes) {
    TempDir dir;
    Pcap a;
    a.add(1, ether(17));
    a.add(2, ether(6));
    a.add(3, ether(17));
    PcapPortConfig cfg;
    cfg.files = {dir.write("a.pcap", a.v),
                 dir.write("mixed.pcapng", two_linktype_pcapng(2, 3, 4, 5))};
    cfg.bpf = "udp";
    g_log.clear();
    auto port = make_pcap_port(cfg, log_fn);
    EXPECT_NE(port->describe().find("udp"), std::string::npos);
    Drained d = drain(*port, 3);
    EXPECT_EQ(d.last, RxStatus::end);
    ASSERT_EQ(d.pkts.size(), 2u + 2u + 4u);
    size_t raw = 0;
    for (const auto& p : d.pkts) {
        raw += p.linktype == 101 ? 1 : 0;
    }
    EXPECT_EQ(raw, 4u);
    EXPECT_EQ(port->stats().filtered, 1u + 3u + 5u);
    EXPECT_TRUE(g_log.empty());
}

TEST(PcapPort, BpfOnACorpusCapture) {
    const fs::path pcaps = corpus_pcaps();
    const fs::path file = pcaps / "joy__sample.pcap";
    if (pcaps.empty() || !fs::exists(file)) {
        GTEST_SKIP() << "corpus not found (set SPATE_CORPUS); looked for " << file.string();
    }
    PcapPortConfig all;
    all.files = {file.string()};
    auto p0 = make_pcap_port(all, log_fn);
    const size_t total = drain(*p0, 32).pkts.size();
    EXPECT_EQ(total, 104u);

    PcapPortConfig tcp = all;
    tcp.bpf = "tcp";
    auto p1 = make_pcap_port(tcp, log_fn);
    Drained d = drain(*p1, 32);
    EXPECT_EQ(d.last, RxStatus::end);
    EXPECT_GT(d.pkts.size(), 0u);
    EXPECT_LT(d.pkts.size(), total);
    EXPECT_EQ(d.pkts.size() + p1->stats().filtered, total);

    PcapPortConfig not_tcp = all;
    not_tcp.bpf = "not tcp";
    auto p2 = make_pcap_port(not_tcp, log_fn);
    EXPECT_EQ(drain(*p2, 32).pkts.size(), p1->stats().filtered);
}

TEST(PcapPort, BadFilterAndBadInputsThrowAtMakeTime) {
    TempDir dir;
    Pcap a;
    a.add(1, ether(17));
    PcapPortConfig cfg;
    cfg.files = {dir.write("a.pcap", a.v)};
    cfg.bpf = "tcp and and";
    try {
        (void)make_pcap_port(cfg, log_fn);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()).rfind("--bpf: ", 0), 0u) << e.what();
        EXPECT_GT(std::string(e.what()).size(), 7u);
    }

    PcapPortConfig missing;
    missing.files = {cfg.files[0], (dir.path() / "missing.pcap").string()};
    try {
        (void)make_pcap_port(missing, log_fn);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("missing.pcap: "), std::string::npos) << e.what();
    }

    EXPECT_THROW(make_pcap_port(PcapPortConfig{}, log_fn), std::runtime_error);
}

TEST(PcapPort, EmptyFilesEndCleanly) {
    TempDir dir;
    PcapPortConfig cfg;
    cfg.files = {dir.write("zero.pcap", {}), dir.write("hdr.pcap", Pcap().v)};
    auto port = make_pcap_port(cfg, nullptr);  // a null log is allowed
    Drained d = drain(*port, 32);
    EXPECT_EQ(d.last, RxStatus::end);
    EXPECT_TRUE(d.pkts.empty());
    EXPECT_EQ(port->stats().files_done, 2u);
}

TEST(PcapPort, LiveLoopbackStops) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "live capture on lo needs root";
    }
    PcapPortConfig cfg;
    cfg.interface = "lo";
    cfg.buffer_mb = 2;
    g_log.clear();
    std::unique_ptr<PortDriver> port;
    try {
        port = make_pcap_port(cfg, log_fn);
    } catch (const std::runtime_error& e) {
        GTEST_SKIP() << "cannot open lo for capture here: " << e.what();
    }
    EXPECT_FALSE(port->stable_buffers());
    EXPECT_EQ(port->describe().rfind("pcap live: lo (snaplen ", 0), 0u) << port->describe();

    // A datagram sent to ourselves shows up in the capture, copied intact.
    const std::string marker = "spate-live-test-" + std::to_string(::getpid());
    int sock = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(sock, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool seen = false;
    std::vector<PacketRef> buf(32);
    RxStatus st = RxStatus::ok;
    for (int i = 0; i < 30 && !seen && st == RxStatus::ok; ++i) {
        (void)::sendto(sock, marker.data(), marker.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to);
        uint16_t n = port->rx_burst(buf.data(), 32, st);
        for (uint16_t k = 0; k < n; ++k) {
            std::string bytes(reinterpret_cast<const char*>(buf[k].data), buf[k].caplen);
            if (bytes.find(marker) != std::string::npos) {
                seen = true;
                EXPECT_EQ(buf[k].linktype, 1);  // lo is DLT_EN10MB on Linux
                EXPECT_EQ(buf[k].wirelen, buf[k].caplen);
                EXPECT_GT(buf[k].ts_ns, 1600000000ull * 1000000000ull);
            }
        }
    }
    ::close(sock);
    EXPECT_TRUE(seen) << "sent datagrams never showed up on lo";
    EXPECT_GT(port->stats().packets, 0u);

    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        port->request_stop();
    });
    const auto t0 = std::chrono::steady_clock::now();
    while (st == RxStatus::ok && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
        (void)port->rx_burst(buf.data(), 32, st);
    }
    stopper.join();
    EXPECT_EQ(st, RxStatus::end);
    (void)port->stats();
    RxStatus again = RxStatus::ok;
    EXPECT_EQ(port->rx_burst(buf.data(), 32, again), 0);
    EXPECT_EQ(again, RxStatus::end);
}

TEST(PcapPort, FirstTimestampsMatchTheOracle) {
    const fs::path pcaps = corpus_pcaps();
    if (pcaps.empty() || !fs::exists(pcaps)) {
        GTEST_SKIP() << "corpus not found (set SPATE_CORPUS); looked in '" << pcaps.string() << "'";
    }
    const fs::path oracle = pcaps.parent_path() / "oracle";
    // Must-haves: a nanosecond pcap, a microsecond pcap and a pcapng file.
    const std::set<std::string> required = {"tcpdump__tcp-handshake-nano.pcap", "joy__tls12.pcap",
                                            "zeek__pcapng-multi-interface.pcapng"};
    size_t compared = 0;
    for (const auto& e : fs::directory_iterator(pcaps)) {
        if (!e.is_regular_file()) {
            continue;
        }
        const std::string name = e.path().filename().string();
        uint64_t frame = 0;
        uint64_t ts = 0;
        // The oracle lists IP packets only: flow 0 starts at frame 1 when
        // the file's first packet is IP.
        if (!oracle_first(oracle / (name + ".jsonl"), frame, ts) || frame != 1) {
            EXPECT_EQ(required.count(name), 0u) << name << ": no usable oracle line";
            continue;
        }
        SCOPED_TRACE(name);
        PcapPortConfig cfg;
        cfg.files = {e.path().string()};
        auto port = make_pcap_port(cfg, log_fn);
        PacketRef p;
        RxStatus st = RxStatus::ok;
        ASSERT_EQ(port->rx_burst(&p, 1, st), 1);
        EXPECT_EQ(p.ts_ns, ts);
        ++compared;
    }
    EXPECT_GT(compared, 30u);
}
