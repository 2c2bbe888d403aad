// Input forms: stdin, FIFOs, compressed captures (gzip, zstd, xz), filter
// files, and timestamps that step back. Each form must give the very records
// the plain file gives.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lzma.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <thread>

#include "harness.hpp"

using namespace spate_test;

namespace {

fs::path data(const char* name) {
    return source_root() / "tests" / "data" / name;
}

void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string gzip(const std::string& in) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&z, in.size()) + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string zstd(const std::string& in) {
    // With the content checksum, as the zstd tool writes by default.
    std::string out(ZSTD_compressBound(in.size()), '\0');
    ZSTD_CCtx* c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    const size_t n = ZSTD_compress2(c, out.data(), out.size(), in.data(), in.size());
    ZSTD_freeCCtx(c);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::string xz(const std::string& in) {
    std::string out(lzma_stream_buffer_bound(in.size()), '\0');
    size_t pos = 0;
    EXPECT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, nullptr,
                                      reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                                      reinterpret_cast<uint8_t*>(out.data()), &pos, out.size()),
              LZMA_OK);
    out.resize(pos);
    return out;
}

uint32_t le32(const std::string& s, size_t off) {
    uint32_t v;
    std::memcpy(&v, s.data() + off, 4);
    return v;
}

void put32(std::string& s, uint32_t v) {
    s.append(reinterpret_cast<const char*>(&v), 4);
}

void put16(std::string& s, uint16_t v) {
    s.append(reinterpret_cast<const char*>(&v), 2);
}

/// A little-endian microsecond pcap rewritten as pcapng (SHB, IDB, EPBs).
/// With two_interfaces: two IDBs of the same link type, each packet on
/// interface (its microsecond timestamp) % 2.
std::string to_pcapng(const std::string& pcap, bool two_interfaces = false) {
    std::string ng;
    put32(ng, 0x0A0D0D0A);
    put32(ng, 28);
    put32(ng, 0x1A2B3C4D);
    put16(ng, 1);
    put16(ng, 0);
    put32(ng, 0xffffffff);
    put32(ng, 0xffffffff);
    put32(ng, 28);
    put32(ng, 1);  // IDB
    put32(ng, 20);
    put16(ng, static_cast<uint16_t>(le32(pcap, 20)));
    put16(ng, 0);
    put32(ng, 262144);
    put32(ng, 20);
    if (two_interfaces) {
        put32(ng, 1);
        put32(ng, 20);
        put16(ng, static_cast<uint16_t>(le32(pcap, 20)));
        put16(ng, 0);
        put32(ng, 262144);
        put32(ng, 20);
    }
    for (size_t off = 24; off + 16 <= pcap.size();) {
        const uint32_t incl = le32(pcap, off + 8);
        const uint64_t ts = uint64_t{le32(pcap, off)} * 1000000 + le32(pcap, off + 4);
        const uint32_t padded = (incl + 3) & ~3u;
        const uint32_t len = 32 + padded;
        put32(ng, 6);
        put32(ng, len);
        put32(ng, two_interfaces ? static_cast<uint32_t>(ts % 2) : 0);
        put32(ng, static_cast<uint32_t>(ts >> 32));
        put32(ng, static_cast<uint32_t>(ts));
        put32(ng, incl);
        put32(ng, le32(pcap, off + 12));
        ng.append(pcap, off + 16, incl);
        ng.append(padded - incl, '\0');
        put32(ng, len);
        off += 16 + incl;
    }
    return ng;
}

const std::string kCommon = "--hash-seed 1 -q --workers 1 ";

RunResult run_on(const std::string& input) {
    return run_spate(kCommon + "-r " + shell_quote(input));
}

}  // namespace

TEST(Inputs, StdinFifoAndCompressedGiveTheSameRecords) {
    const fs::path in = data("joy__sample.pcap");
    const RunResult plain = run_on(in.string());
    ASSERT_EQ(plain.status, 0) << plain.err;
    ASSERT_FALSE(plain.out.empty());

    const RunResult stdin_run = run_spate(kCommon + "-r - < " + shell_quote(in.string()));
    EXPECT_EQ(stdin_run.status, 0) << stdin_run.err;
    EXPECT_EQ(stdin_run.out, plain.out) << "-r -";

    const RunResult piped = run_spate("--version >/dev/null; cat " + shell_quote(in.string()) +
                                      " | " + shell_quote(spate_bin()) + " " + kCommon + "-r -");
    EXPECT_EQ(piped.out, plain.out) << "a pipe";

    const fs::path dir = temp_dir();
    const std::string bytes = read_all(in);
    const struct {
        const char* name;
        std::string data;
    } forms[] = {
        {"c.gz", gzip(bytes)},
        {"c.zst", zstd(bytes)},
        {"c.xz", xz(bytes)},
        {"no-suffix", gzip(bytes)},  // content, not the name, says gzip
        {"two-members.gz", gzip(bytes.substr(0, 5000)) + gzip(bytes.substr(5000))},
    };
    for (const auto& f : forms) {
        write_file(dir / f.name, f.data);
        const RunResult r = run_on((dir / f.name).string());
        EXPECT_EQ(r.status, 0) << f.name << ": " << r.err;
        EXPECT_EQ(r.out, plain.out) << f.name;
        // and compressed through stdin
        const RunResult s = run_spate(kCommon + "-r - < " + shell_quote((dir / f.name).string()));
        EXPECT_EQ(s.out, plain.out) << f.name << " on stdin";
    }

    // pcapng, plain and compressed.
    const std::string ng = to_pcapng(bytes);
    write_file(dir / "c.pcapng", ng);
    write_file(dir / "c.pcapng.zst", zstd(ng));
    write_file(dir / "c.pcapng.xz", xz(ng));
    for (const char* name : {"c.pcapng", "c.pcapng.zst", "c.pcapng.xz"}) {
        const RunResult r = run_on((dir / name).string());
        EXPECT_EQ(r.status, 0) << name << ": " << r.err;
        EXPECT_EQ(r.out, plain.out) << name;
    }
    const RunResult ngin =
        run_spate(kCommon + "-r - < " + shell_quote((dir / "c.pcapng").string()));
    EXPECT_EQ(ngin.out, plain.out) << "pcapng on stdin";
    fs::remove_all(dir);
}

TEST(Inputs, FifoIsReadAsAStream) {
    const fs::path in = data("joy__sample.pcap");
    const RunResult plain = run_on(in.string());
    const fs::path dir = temp_dir();
    const std::string bytes = read_all(in);
    for (const bool compressed : {false, true}) {
        const fs::path fifo = dir / (compressed ? "zfifo" : "fifo");
        ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
        const std::string payload = compressed ? gzip(bytes) : bytes;
        std::thread writer([&] {
            const int fd = ::open(fifo.c_str(), O_WRONLY);
            ASSERT_GE(fd, 0);
            // Small writes, so the reader sees short reads.
            for (size_t off = 0; off < payload.size(); off += 1000) {
                const size_t n = std::min<size_t>(1000, payload.size() - off);
                ASSERT_EQ(::write(fd, payload.data() + off, n), static_cast<ssize_t>(n));
            }
            ::close(fd);
        });
        const RunResult r = run_on(fifo.string());
        writer.join();
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, plain.out) << (compressed ? "gzip through a FIFO" : "FIFO");
    }
    // Process substitution: /dev/fd/N.
    const RunResult sub = run_spate("--version >/dev/null; bash -c " +
                                    shell_quote(shell_quote(spate_bin()) + " " + kCommon +
                                                "-r <(cat " + shell_quote(in.string()) + ")"));
    EXPECT_EQ(sub.out, plain.out) << "/dev/fd/N";
    fs::remove_all(dir);
}

TEST(Inputs, CutOrDamagedCompressedStreamKeepsThePacketsBefore) {
    const fs::path in = data("joy__sample.pcap");
    const std::string bytes = read_all(in);
    const fs::path dir = temp_dir();
    const std::string full = gzip(bytes);
    write_file(dir / "cut.gz", full.substr(0, full.size() / 2));
    const RunResult r =
        run_spate("--hash-seed 1 --workers 1 -r " + shell_quote((dir / "cut.gz").string()));
    EXPECT_EQ(r.status, 0) << r.err;  // a truncated input is a warning, as for plain files
    EXPECT_NE(r.err.find("cut.gz"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
    const std::vector<Flow> flows = parse_records(r.out);
    EXPECT_FALSE(flows.empty()) << "the packets before the cut make records";

    // Damage in the middle of the compressed data: corrupt, named, and the
    // packets before it still counted.
    for (const char* name : {"bad.zst", "bad.xz"}) {
        std::string z = std::string(name) == "bad.zst" ? zstd(bytes) : xz(bytes);
        for (size_t i = z.size() / 2; i < z.size() / 2 + 16; ++i) {
            z[i] = static_cast<char>(z[i] ^ 0x5a);
        }
        write_file(dir / name, z);
        const RunResult d =
            run_spate("--hash-seed 1 --workers 1 -r " + shell_quote((dir / name).string()));
        EXPECT_NE(d.err.find(name), std::string::npos) << d.err;
        EXPECT_NE(d.err.find("corrupt"), std::string::npos) << d.err;
    }
    fs::remove_all(dir);
}

TEST(Inputs, FilterFileMatchesBpf) {
    const fs::path in = data("joy__sample.pcap");
    const fs::path dir = temp_dir();
    write_file(dir / "filter", "udp\n  or port 443\n");
    const RunResult a =
        run_spate(kCommon + "--bpf 'udp or port 443' -r " + shell_quote(in.string()));
    const RunResult b = run_spate(kCommon + "-F " + shell_quote((dir / "filter").string()) +
                                  " -r " + shell_quote(in.string()));
    const RunResult c = run_spate(kCommon + "--bpf-file " + shell_quote((dir / "filter").string()) +
                                  " -r " + shell_quote(in.string()));
    const RunResult all = run_on(in.string());
    ASSERT_EQ(a.status, 0) << a.err;
    EXPECT_EQ(b.status, 0) << b.err;
    EXPECT_EQ(a.out, b.out);
    EXPECT_EQ(a.out, c.out);
    EXPECT_NE(a.out, all.out) << "the filter drops something";

    const RunResult both = run_spate("--bpf udp -F " + shell_quote((dir / "filter").string()) +
                                     " -r " + shell_quote(in.string()));
    EXPECT_EQ(both.status, 2) << both.err;
    EXPECT_NE(both.err.find("--bpf"), std::string::npos) << both.err;

    const RunResult missing = run_spate("-F /nonexistent/filter -r " + shell_quote(in.string()));
    EXPECT_EQ(missing.status, 2) << missing.err;
    EXPECT_NE(missing.err.find("/nonexistent/filter"), std::string::npos) << missing.err;

    const RunResult bad = run_spate("--bpf 'tcp and and' -r " + shell_quote(in.string()));
    EXPECT_EQ(bad.status, 2) << bad.err;
    EXPECT_NE(bad.err.find("--bpf"), std::string::npos) << bad.err;

    write_file(dir / "badfilter", "nonsense words here\n");
    const RunResult badf = run_spate("-F " + shell_quote((dir / "badfilter").string()) + " -r " +
                                     shell_quote(in.string()));
    EXPECT_EQ(badf.status, 2) << badf.err;
    EXPECT_NE(badf.err.find("--bpf-file"), std::string::npos) << badf.err;
    fs::remove_all(dir);
}

TEST(Inputs, TimestampsSteppingBackAreWarnedOnceAndCounted) {
    // A pcap of UDP packets at 100, 101, 50 (back 51 s), 51, 20 (back 31 s),
    // 20.5 seconds: two steps back, one warning.
    std::string p;
    put32(p, 0xa1b2c3d4);
    put16(p, 2);
    put16(p, 4);
    put32(p, 0);
    put32(p, 0);
    put32(p, 65535);
    put32(p, 1);
    const uint32_t secs[] = {100, 101, 50, 51, 20, 20};
    const uint32_t usecs[] = {0, 0, 0, 0, 0, 500000};
    for (int i = 0; i < 6; ++i) {
        std::string frame(14, '\0');
        frame[12] = 0x08;
        const uint8_t ip[20] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
        frame.append(reinterpret_cast<const char*>(ip), 20);
        const uint8_t udp[8] = {0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0};
        frame.append(reinterpret_cast<const char*>(udp), 8);
        put32(p, secs[i]);
        put32(p, usecs[i]);
        put32(p, static_cast<uint32_t>(frame.size()));
        put32(p, static_cast<uint32_t>(frame.size()));
        p += frame;
    }
    const fs::path dir = temp_dir();
    write_file(dir / "back.pcap", p);
    const RunResult r = run_spate("--workers 1 -r " + shell_quote((dir / "back.pcap").string()));
    EXPECT_EQ(r.status, 0) << r.err;
    size_t warnings = 0;
    for (size_t at = 0; (at = r.err.find("timestamps go back", at)) != std::string::npos; ++at) {
        ++warnings;
    }
    EXPECT_EQ(warnings, 1u) << r.err;
    EXPECT_NE(r.err.find("back.pcap"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("stepped back more than 1 s 2 times"), std::string::npos) << r.err;

    // In order: no warning, no counter line.
    const RunResult ok =
        run_spate("--workers 1 -r " + shell_quote(data("joy__sample.pcap").string()));
    EXPECT_EQ(ok.err.find("timestamps go back"), std::string::npos) << ok.err;
    EXPECT_EQ(ok.err.find("stepped back"), std::string::npos) << ok.err;
    fs::remove_all(dir);
}

// Each record says where its flow's first packet came in: the pcapng
// interface id ("queue" 0); a pcap file is interface 0.
TEST(Inputs, RecordsNameTheInterfaceOfTheFlowsFirstPacket) {
    const fs::path dir = temp_dir();
    const std::string pcap = read_all(source_root() / "tests" / "data" / "joy__sample.pcap");
    write_file(dir / "two.pcapng", to_pcapng(pcap, true));
    RunResult r =
        run_spate(kCommon + "--time-format ns -r " + shell_quote((dir / "two.pcapng").string()));
    ASSERT_EQ(r.status, 0) << r.err;
    RunResult plain =
        run_spate(kCommon + "--time-format ns -r " +
                  shell_quote((source_root() / "tests" / "data" / "joy__sample.pcap").string()));
    ASSERT_EQ(plain.status, 0) << plain.err;
    simdjson::dom::parser p;
    std::istringstream in(r.out);
    std::string line;
    int on[2] = {0, 0};
    while (std::getline(in, line)) {
        simdjson::dom::element rec = p.parse(line);
        const uint64_t first_us = uint64_t(rec["time_start"]) / 1000;
        const uint64_t port = rec["ingress"]["port"];
        EXPECT_EQ(port, first_us % 2) << line;
        EXPECT_EQ(uint64_t(rec["ingress"]["queue"]), 0u) << line;
        ++on[port % 2];
    }
    EXPECT_GT(on[0], 0);
    EXPECT_GT(on[1], 0);
    // The same flows as the pcap, where every record is on interface 0.
    EXPECT_EQ(on[0] + on[1], std::count(plain.out.begin(), plain.out.end(), '\n'));
    std::istringstream pin(plain.out);
    while (std::getline(pin, line)) {
        EXPECT_NE(line.find(",\"ingress\":{\"port\":0,\"queue\":0},"), std::string::npos) << line;
    }
    fs::remove_all(dir);
}
