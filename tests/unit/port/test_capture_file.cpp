// CaptureFile: hand-built classic pcap and pcapng files in every byte order
// and resolution, every truncation of small files, malformed records, and the
// shared real-traffic corpus (packet counts, link types, first timestamps).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lzma.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "spate/port/capture_file.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using spate::CaptureFile;
using spate::CaptureFormat;
using spate::CaptureOpenError;
using spate::PacketRef;
using Next = CaptureFile::Next;

using spate::test::TempDir;

namespace {

/// Appends integers in a chosen byte order.
struct Bytes {
    std::vector<uint8_t> v;
    bool big = false;

    void put(uint64_t x, int n) {
        for (int i = 0; i < n; ++i) {
            v.push_back(static_cast<uint8_t>(x >> (8 * (big ? n - 1 - i : i))));
        }
    }
    void u8(uint8_t x) { put(x, 1); }
    void u16(uint16_t x) { put(x, 2); }
    void u32(uint32_t x) { put(x, 4); }
    void u64(uint64_t x) { put(x, 8); }
    void raw(const std::vector<uint8_t>& d) { v.insert(v.end(), d.begin(), d.end()); }
    void pad4() {
        while (v.size() % 4 != 0) {
            u8(0);
        }
    }
};

std::vector<uint8_t> payload(size_t n, uint8_t seed) {
    std::vector<uint8_t> d(n);
    for (size_t i = 0; i < n; ++i) {
        d[i] = static_cast<uint8_t>(seed + i * 7);
    }
    return d;
}

/// Classic pcap writer; remembers where each record ends.
struct PcapBuilder {
    Bytes b;
    std::vector<size_t> ends;

    PcapBuilder(bool big, bool nsec, uint32_t network = 1) {
        b.big = big;
        b.u32(nsec ? 0xa1b23c4d : 0xa1b2c3d4);
        b.u16(2);
        b.u16(4);
        b.u32(0);
        b.u32(0);
        b.u32(65535);
        b.u32(network);
    }
    void record(uint32_t sec, uint32_t frac, const std::vector<uint8_t>& data, uint32_t origlen) {
        b.u32(sec);
        b.u32(frac);
        b.u32(static_cast<uint32_t>(data.size()));
        b.u32(origlen);
        b.raw(data);
        ends.push_back(b.v.size());
    }
};

struct Option {
    uint16_t code;
    std::vector<uint8_t> value;
};

/// pcapng writer; remembers each block's end and whether it holds a packet.
struct NgBuilder {
    Bytes b;
    std::vector<size_t> ends;
    std::vector<bool> is_packet;

    void block(uint32_t type, const std::vector<uint8_t>& body, bool packet) {
        size_t start = b.v.size();
        b.u32(type);
        b.u32(0);  // patched below
        b.raw(body);
        b.pad4();
        uint32_t total = static_cast<uint32_t>(b.v.size() - start + 4);
        b.u32(total);
        Bytes len;
        len.big = b.big;
        len.u32(total);
        std::copy(len.v.begin(), len.v.end(), b.v.begin() + static_cast<long>(start + 4));
        ends.push_back(b.v.size());
        is_packet.push_back(packet);
    }
    Bytes body() const {
        Bytes x;
        x.big = b.big;
        return x;
    }
    void options(Bytes& x, const std::vector<Option>& opts) {
        if (opts.empty()) {
            return;
        }
        for (const auto& o : opts) {
            x.u16(o.code);
            x.u16(static_cast<uint16_t>(o.value.size()));
            x.raw(o.value);
            x.pad4();
        }
        x.u16(0);
        x.u16(0);
    }
    void shb(bool big, const std::vector<Option>& opts = {}) {
        b.big = big;
        Bytes x = body();
        x.u32(0x1A2B3C4D);
        x.u16(1);
        x.u16(0);
        x.u64(~uint64_t{0});
        options(x, opts);
        block(0x0A0D0D0A, x.v, false);
    }
    void idb(uint16_t linktype, uint32_t snaplen, const std::vector<Option>& opts = {}) {
        Bytes x = body();
        x.u16(linktype);
        x.u16(0);
        x.u32(snaplen);
        options(x, opts);
        block(1, x.v, false);
    }
    void epb(uint32_t ifid, uint64_t ts, const std::vector<uint8_t>& data, uint32_t origlen) {
        Bytes x = body();
        x.u32(ifid);
        x.u32(static_cast<uint32_t>(ts >> 32));
        x.u32(static_cast<uint32_t>(ts));
        x.u32(static_cast<uint32_t>(data.size()));
        x.u32(origlen);
        x.raw(data);
        x.pad4();
        options(x, {{1, {'h', 'i'}}});  // an opt_comment, to be passed over
        block(6, x.v, true);
    }
    void spb(uint32_t origlen, const std::vector<uint8_t>& data) {
        Bytes x = body();
        x.u32(origlen);
        x.raw(data);
        block(3, x.v, true);
    }
    void pb(uint16_t ifid, uint64_t ts, const std::vector<uint8_t>& data, uint32_t origlen) {
        Bytes x = body();
        x.u16(ifid);
        x.u16(0);
        x.u32(static_cast<uint32_t>(ts >> 32));
        x.u32(static_cast<uint32_t>(ts));
        x.u32(static_cast<uint32_t>(data.size()));
        x.u32(origlen);
        x.raw(data);
        block(2, x.v, true);
    }
    void other(uint32_t type, size_t n) { block(type, payload(n, 0x55), false); }
};

std::vector<uint8_t> u8v(uint8_t x) {
    return {x};
}
std::vector<uint8_t> i64v(int64_t x, bool big) {
    Bytes b;
    b.big = big;
    b.u64(static_cast<uint64_t>(x));
    return b.v;
}

struct ReadAll {
    std::vector<PacketRef> pkts;
    std::vector<std::vector<uint8_t>> data;
    Next last = Next::end;
    std::string message;
};

ReadAll read_all(CaptureFile& f) {
    ReadAll r;
    for (;;) {
        PacketRef p;
        Next n = f.next(p);
        if (n != Next::packet) {
            r.last = n;
            r.message = f.message();
            return r;
        }
        r.pkts.push_back(p);
        r.data.emplace_back(p.data, p.data + p.caplen);
    }
}

/// Streamed reading in batches of `batch` packets (0: no batches), each
/// batch's packets checked still intact when the batch ends (they must stay
/// valid until the next begin_batch()).
ReadAll read_streamed(const std::string& path, size_t batch, size_t chunk) {
    CaptureFile f = CaptureFile::open(path, CaptureFile::Access::streamed, chunk);
    ReadAll r;
    for (;;) {
        if (batch != 0) {
            f.begin_batch();
        }
        const size_t first = r.pkts.size();
        bool stop = false;
        size_t got = 0;
        while (batch == 0 || got < batch) {
            PacketRef p;
            const Next n = f.next(p);
            if (n == Next::again) {
                EXPECT_NE(got, 0u) << "again on a batch's first packet";
                if (got == 0) {
                    r.last = n;
                    return r;
                }
                break;
            }
            if (n != Next::packet) {
                r.last = n;
                r.message = f.message();
                stop = true;
                break;
            }
            r.pkts.push_back(p);
            r.data.emplace_back(p.data, p.data + p.caplen);
            ++got;
        }
        for (size_t i = first; i < r.pkts.size(); ++i) {
            const auto& p = r.pkts[i];
            if (batch != 0 && !std::equal(p.data, p.data + p.caplen, r.data[i].begin())) {
                ADD_FAILURE() << "packet " << i << " changed before the batch ended";
                break;
            }
        }
        if (stop) {
            return r;
        }
    }
}

void expect_same(const ReadAll& a, const ReadAll& b, const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_EQ(a.pkts.size(), b.pkts.size());
    for (size_t i = 0; i < a.pkts.size(); ++i) {
        EXPECT_EQ(a.pkts[i].ts_ns, b.pkts[i].ts_ns) << i;
        EXPECT_EQ(a.pkts[i].caplen, b.pkts[i].caplen) << i;
        EXPECT_EQ(a.pkts[i].wirelen, b.pkts[i].wirelen) << i;
        EXPECT_EQ(a.pkts[i].linktype, b.pkts[i].linktype) << i;
        if (a.data[i] != b.data[i]) {
            ADD_FAILURE() << "packet " << i << " data differs";
            return;
        }
    }
    EXPECT_EQ(a.last, b.last);
    EXPECT_EQ(a.message, b.message);
}

/// Reads the file mapped, and streamed in several ways (chunks far smaller
/// than a record, so refills land everywhere; batches of 1, 3 and 32; no
/// batches); every way must give the same packets and the same ending.
ReadAll read_path(const std::string& path) {
    CaptureFile f = CaptureFile::open(path);
    ReadAll mapped = read_all(f);
    for (const size_t chunk : {size_t{0}, size_t{1}, size_t{29}, size_t{100}}) {
        for (const size_t batch : {size_t{0}, size_t{1}, size_t{3}, size_t{32}}) {
            expect_same(
                mapped, read_streamed(path, batch, chunk),
                "streamed, chunk " + std::to_string(chunk) + ", batch " + std::to_string(batch));
        }
    }
    return mapped;
}

const char* next_name(Next n) {
    switch (n) {
        case Next::packet:
            return "packet";
        case Next::end:
            return "end";
        case Next::truncated:
            return "truncated";
        case Next::corrupt:
            return "corrupt";
        case Next::again:
            return "again";
    }
    return "?";
}

}  // namespace

// --- classic pcap -----------------------------------------------------------

class ClassicPcap : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ClassicPcap, ReadsEveryRecord) {
    const auto [big, nsec] = GetParam();
    TempDir dir;
    PcapBuilder pb(big, nsec, 1);
    pb.record(1700000000, nsec ? 123456789 : 123456, payload(60, 1), 60);
    pb.record(1700000001, nsec ? 999999999 : 999999, payload(1514, 2), 1514);
    pb.record(4000000000u, 1, payload(0, 3), 0);  // after 2038: seconds are unsigned
    std::string p = dir.write("a.bin", pb.b.v);

    CaptureFile f = CaptureFile::open(p);
    EXPECT_EQ(f.format(), nsec ? CaptureFormat::pcap_nsec : CaptureFormat::pcap_usec);
    EXPECT_EQ(f.nanosecond(), nsec);
    EXPECT_EQ(f.linktype(), 1);
    EXPECT_EQ(f.path(), p);
    ReadAll r = read_all(f);
    ASSERT_EQ(r.last, Next::end) << r.message;
    ASSERT_EQ(r.pkts.size(), 3u);
    EXPECT_EQ(f.records_read(), 3u);
    const uint64_t m = nsec ? 1 : 1000;
    EXPECT_EQ(r.pkts[0].ts_ns, 1700000000ull * 1000000000ull + (nsec ? 123456789 : 123456) * m);
    EXPECT_EQ(r.pkts[1].ts_ns, 1700000001ull * 1000000000ull + (nsec ? 999999999 : 999999) * m);
    EXPECT_EQ(r.pkts[2].ts_ns, 4000000000ull * 1000000000ull + m);
    EXPECT_EQ(r.data[0], payload(60, 1));
    EXPECT_EQ(r.data[1], payload(1514, 2));
    EXPECT_EQ(r.pkts[1].caplen, 1514u);
    EXPECT_EQ(r.pkts[1].wirelen, 1514u);
    EXPECT_EQ(r.pkts[2].caplen, 0u);
    for (const auto& pk : r.pkts) {
        EXPECT_EQ(pk.linktype, 1);
    }
    PacketRef again;
    EXPECT_EQ(f.next(again), Next::end);  // end is sticky
}

INSTANTIATE_TEST_SUITE_P(ByteOrderAndResolution, ClassicPcap,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                             return std::string(std::get<0>(info.param) ? "Big" : "Little") +
                                    (std::get<1>(info.param) ? "Nsec" : "Usec");
                         });

TEST(CaptureFile, LinkTypeIgnoresFcsBits) {
    TempDir dir;
    // FCS present (bit 28) with 4 bytes of FCS (bits 29-31 = 2): still Ethernet.
    PcapBuilder pb(false, false, 0x50000000u | 113u);
    pb.record(1, 2, payload(20, 0), 20);
    CaptureFile f = CaptureFile::open(dir.write("fcs.pcap", pb.b.v));
    EXPECT_EQ(f.linktype(), 113);
    ReadAll r = read_all(f);
    ASSERT_EQ(r.pkts.size(), 1u);
    EXPECT_EQ(r.pkts[0].linktype, 113);
}

TEST(CaptureFile, SnaplenCutRecordsKeepWireLength) {
    TempDir dir;
    PcapBuilder pb(false, false);
    pb.record(1, 0, payload(68, 0), 1500);
    pb.record(1, 0, payload(100, 0), 60);  // incl_len > orig_len: accepted as is
    ReadAll r = read_path(dir.write("s.pcap", pb.b.v));
    ASSERT_EQ(r.last, Next::end);
    ASSERT_EQ(r.pkts.size(), 2u);
    EXPECT_EQ(r.pkts[0].caplen, 68u);
    EXPECT_EQ(r.pkts[0].wirelen, 1500u);
    EXPECT_EQ(r.pkts[1].caplen, 100u);
    EXPECT_EQ(r.pkts[1].wirelen, 60u);
}

TEST(CaptureFile, BogusCaptureLengthIsCorrupt) {
    TempDir dir;
    PcapBuilder pb(false, false);
    pb.record(1, 0, payload(60, 0), 60);
    size_t bad_at = pb.b.v.size();
    pb.b.u32(1);
    pb.b.u32(0);
    pb.b.u32(0x7fffff00);
    pb.b.u32(60);
    pb.b.raw(payload(60, 0));
    std::string p = dir.write("bogus.pcap", pb.b.v);
    CaptureFile f = CaptureFile::open(p);
    ReadAll r = read_all(f);
    EXPECT_EQ(r.pkts.size(), 1u);
    ASSERT_EQ(r.last, Next::corrupt);
    EXPECT_EQ(r.message, p + ": corrupt record 2 at offset " + std::to_string(bad_at) +
                             ": captured length 2147483392 is larger than 268435456");
    // Exactly 256 MiB is allowed, and here simply runs past the end.
    PcapBuilder edge(false, false);
    edge.b.u32(1);
    edge.b.u32(0);
    edge.b.u32(0x10000000);
    edge.b.u32(60);
    EXPECT_EQ(read_path(dir.write("edge.pcap", edge.b.v)).last, Next::truncated);
}

TEST(CaptureFile, TruncationMessage) {
    TempDir dir;
    PcapBuilder pb(false, false);
    pb.record(1, 0, payload(60, 0), 60);
    pb.record(1, 0, payload(60, 0), 60);
    std::vector<uint8_t> cut(pb.b.v.begin(), pb.b.v.end() - 10);
    std::string p = dir.write("cut.pcap", cut);
    ReadAll r = read_path(p);
    ASSERT_EQ(r.last, Next::truncated);
    EXPECT_EQ(r.pkts.size(), 1u);
    EXPECT_EQ(r.message,
              p + ": file truncated inside record 2 (offset 100): 66 of 76 bytes present");
}

TEST(CaptureFile, EveryTruncationOfAClassicFile) {
    TempDir dir;
    for (bool big : {false, true}) {
        PcapBuilder pb(big, true);
        for (uint8_t i = 0; i < 4; ++i) {
            pb.record(100 + i, i, payload(13 + i * 5, i), 1000);
        }
        const auto& full = pb.b.v;
        std::set<size_t> ends(pb.ends.begin(), pb.ends.end());
        ends.insert(24);
        for (size_t len = 0; len <= full.size(); ++len) {
            SCOPED_TRACE("cut at " + std::to_string(len));
            std::string p = dir.write(
                "t.pcap",
                std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(len)));
            if (len > 0 && len < 24) {
                EXPECT_THROW(CaptureFile::open(p), CaptureOpenError);
                continue;
            }
            ReadAll r = read_path(p);
            size_t whole = 0;
            for (size_t e : pb.ends) {
                whole += e <= len ? 1 : 0;
            }
            EXPECT_EQ(r.pkts.size(), whole);
            EXPECT_EQ(r.last, len == 0 || ends.count(len) ? Next::end : Next::truncated)
                << next_name(r.last);
        }
    }
}

// --- pcapng -----------------------------------------------------------------

class Pcapng : public ::testing::TestWithParam<bool> {};

TEST_P(Pcapng, InterfacesResolutionsAndBlockTypes) {
    const bool big = GetParam();
    TempDir dir;
    NgBuilder ng;
    ng.shb(big, {{4, {'t', 'e', 's', 't'}}});
    ng.other(0xBAD, 7);                                          // unknown block before IDBs
    ng.idb(1, 0, {{2, {'e', 't', 'h', '0'}}, {9, u8v(9)}});      // Ethernet, ns
    ng.idb(101, 0, {{9, u8v(0x80 | 10)}, {14, i64v(-5, big)}});  // raw IP, 2^-10 s, offset -5 s
    ng.epb(0, 1700000000123456789ull, payload(60, 1), 60);
    ng.other(5, 28);  // Interface Statistics Block
    ng.epb(1, (1700000000ull << 10) | 512u, payload(40, 2), 40);
    ng.other(0x40000BAD, 12);  // custom block
    ng.spb(50, payload(50, 3));
    ng.spb(200, payload(64, 4));  // origlen beyond the block: caplen is what the block holds
    ng.pb(1, 1024, payload(33, 5), 99);
    std::string p = dir.write("x.pcapng", ng.b.v);

    CaptureFile f = CaptureFile::open(p);
    EXPECT_EQ(f.format(), CaptureFormat::pcapng);
    EXPECT_EQ(f.linktype(), 1);
    EXPECT_TRUE(f.nanosecond());
    ReadAll r = read_all(f);
    ASSERT_EQ(r.last, Next::end) << r.message;
    ASSERT_EQ(r.pkts.size(), 5u);
    EXPECT_EQ(f.records_read(), 5u);

    EXPECT_EQ(r.pkts[0].ts_ns, 1700000000123456789ull);
    EXPECT_EQ(r.pkts[0].linktype, 1);
    EXPECT_EQ(r.data[0], payload(60, 1));

    EXPECT_EQ(r.pkts[1].ts_ns, (1700000000ull - 5) * 1000000000ull + 500000000ull);
    EXPECT_EQ(r.pkts[1].linktype, 101);
    EXPECT_EQ(r.data[1], payload(40, 2));

    EXPECT_EQ(r.pkts[2].ts_ns, 0u);
    EXPECT_EQ(r.pkts[2].linktype, 1);
    EXPECT_EQ(r.pkts[2].caplen, 50u);
    EXPECT_EQ(r.pkts[2].wirelen, 50u);
    EXPECT_EQ(r.data[2], payload(50, 3));

    EXPECT_EQ(r.pkts[3].caplen, 64u);
    EXPECT_EQ(r.pkts[3].wirelen, 200u);
    EXPECT_EQ(r.data[3], payload(64, 4));

    EXPECT_EQ(r.pkts[4].linktype, 101);
    EXPECT_EQ(r.pkts[4].caplen, 33u);
    EXPECT_EQ(r.pkts[4].wirelen, 99u);
    EXPECT_EQ(r.pkts[4].ts_ns, 1000000000ull - 5000000000ull);  // 1 s minus the offset, wrapped
    EXPECT_EQ(r.data[4], payload(33, 5));
}

INSTANTIATE_TEST_SUITE_P(ByteOrder, Pcapng, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Big" : "Little"; });

TEST(CaptureFile, PcapngDefaultsToMicroseconds) {
    TempDir dir;
    NgBuilder ng;
    ng.shb(false);
    ng.idb(113, 65535);
    ng.epb(0, 1700000000123456ull, payload(20, 0), 20);
    ng.idb(1, 0, {{9, u8v(3)}});  // milliseconds: coarser, still not nanosecond
    ng.epb(1, 1700000000123ull, payload(20, 0), 20);
    CaptureFile f = CaptureFile::open(dir.write("u.pcapng", ng.b.v));
    EXPECT_FALSE(f.nanosecond());
    EXPECT_EQ(f.linktype(), 113);
    ReadAll r = read_all(f);
    ASSERT_EQ(r.pkts.size(), 2u);
    EXPECT_EQ(r.pkts[0].ts_ns, 1700000000123456000ull);
    EXPECT_EQ(r.pkts[0].linktype, 113);
    EXPECT_EQ(r.pkts[1].ts_ns, 1700000000123000000ull);
    EXPECT_FALSE(f.nanosecond());
}

TEST(CaptureFile, PcapngFineBinaryResolutionIsNanosecond) {
    TempDir dir;
    NgBuilder ng;
    ng.shb(false);
    ng.idb(1, 0, {{9, u8v(0x80 | 30)}});
    ng.epb(0, (uint64_t{3} << 30) | (uint64_t{1} << 29), payload(20, 0), 20);
    CaptureFile f = CaptureFile::open(dir.write("b.pcapng", ng.b.v));
    EXPECT_TRUE(f.nanosecond());
    ReadAll r = read_all(f);
    ASSERT_EQ(r.pkts.size(), 1u);
    EXPECT_EQ(r.pkts[0].ts_ns, 3500000000ull);
}

TEST(CaptureFile, PcapngSectionsResetInterfacesAndByteOrder) {
    TempDir dir;
    NgBuilder ng;
    ng.shb(false);
    ng.idb(1, 0);
    ng.epb(0, 1000000, payload(10, 1), 10);
    ng.shb(true);  // new section, other byte order, interface 0 is now raw IP
    ng.idb(101, 0, {{9, u8v(9)}});
    ng.idb(113, 0);
    ng.epb(0, 7, payload(11, 2), 11);
    ng.epb(1, 8, payload(12, 3), 12);
    ng.shb(false);  // and a third, empty one
    std::string p = dir.write("m.pcapng", ng.b.v);
    ReadAll r = read_path(p);
    ASSERT_EQ(r.last, Next::end) << r.message;
    ASSERT_EQ(r.pkts.size(), 3u);
    EXPECT_EQ(r.pkts[0].linktype, 1);
    EXPECT_EQ(r.pkts[0].ts_ns, 1000000000ull);
    EXPECT_EQ(r.pkts[1].linktype, 101);
    EXPECT_EQ(r.pkts[1].ts_ns, 7u);
    EXPECT_EQ(r.pkts[2].linktype, 113);
    EXPECT_EQ(r.pkts[2].ts_ns, 8000u);
    EXPECT_EQ(r.data[2], payload(12, 3));
}

TEST(CaptureFile, PcapngUndefinedInterfaceIsCorrupt) {
    TempDir dir;
    NgBuilder ng;
    ng.shb(false);
    ng.idb(1, 0);
    ng.epb(0, 1, payload(10, 1), 10);
    size_t at = ng.b.v.size();
    ng.epb(1, 1, payload(10, 1), 10);
    std::string p = dir.write("i.pcapng", ng.b.v);
    ReadAll r = read_path(p);
    EXPECT_EQ(r.pkts.size(), 1u);
    ASSERT_EQ(r.last, Next::corrupt);
    EXPECT_EQ(r.message, p + ": corrupt record 2 at offset " + std::to_string(at) +
                             ": interface id 1 is not defined (1 interfaces in this section)");

    NgBuilder spb;  // a Simple Packet Block needs interface 0
    spb.shb(false);
    spb.spb(10, payload(10, 1));
    EXPECT_EQ(read_path(dir.write("s.pcapng", spb.b.v)).last, Next::corrupt);
}

TEST(CaptureFile, PcapngNonsenseBlockLengthsAreCorrupt) {
    TempDir dir;
    struct Case {
        uint32_t len;
        Next expect;
    };
    for (Case c : {Case{8, Next::corrupt}, Case{0, Next::corrupt}, Case{30, Next::corrupt},
                   Case{4000, Next::truncated}}) {
        NgBuilder ng;
        ng.shb(false);
        ng.idb(1, 0);
        ng.epb(0, 1, payload(10, 1), 10);
        size_t at = ng.b.v.size();
        ng.epb(0, 1, payload(10, 1), 10);
        ng.b.v[at + 4] = static_cast<uint8_t>(c.len);
        ng.b.v[at + 5] = static_cast<uint8_t>(c.len >> 8);
        ReadAll r = read_path(dir.write("l.pcapng", ng.b.v));
        EXPECT_EQ(r.pkts.size(), 1u);
        EXPECT_EQ(r.last, c.expect) << "length " << c.len << ": " << r.message;
    }
    // A captured length beyond its block, and a trailer that disagrees.
    NgBuilder ng;
    ng.shb(false);
    ng.idb(1, 0);
    size_t at = ng.b.v.size();
    ng.epb(0, 1, payload(10, 1), 10);
    ng.b.v[at + 20] = 200;
    EXPECT_EQ(read_path(dir.write("c.pcapng", ng.b.v)).last, Next::corrupt);
    ng.b.v[at + 20] = 10;
    ng.b.v[ng.b.v.size() - 4] ^= 4;
    EXPECT_EQ(read_path(dir.write("t.pcapng", ng.b.v)).last, Next::corrupt);
}

TEST(CaptureFile, EveryTruncationOfAPcapngFile) {
    TempDir dir;
    for (bool big : {false, true}) {
        NgBuilder ng;
        ng.shb(big);
        ng.idb(1, 0, {{9, u8v(9)}});
        ng.epb(0, 5, payload(17, 1), 17);
        ng.other(5, 8);
        ng.spb(9, payload(9, 2));
        ng.shb(!big);
        ng.idb(101, 0);
        ng.pb(0, 5, payload(3, 3), 3);
        ng.epb(0, 6, payload(0, 4), 0);
        const auto& full = ng.b.v;
        const size_t header = ng.ends[0];
        std::set<size_t> ends(ng.ends.begin(), ng.ends.end());
        for (size_t len = 0; len <= full.size(); ++len) {
            SCOPED_TRACE("cut at " + std::to_string(len));
            std::string p = dir.write(
                "t.pcapng",
                std::vector<uint8_t>(full.begin(), full.begin() + static_cast<long>(len)));
            if (len > 0 && len < header) {
                EXPECT_THROW(CaptureFile::open(p), CaptureOpenError);
                continue;
            }
            ReadAll r = read_path(p);
            size_t whole = 0;
            for (size_t i = 0; i < ng.ends.size(); ++i) {
                whole += ng.is_packet[i] && ng.ends[i] <= len ? 1 : 0;
            }
            EXPECT_EQ(r.pkts.size(), whole);
            EXPECT_EQ(r.last, len == 0 || ends.count(len) ? Next::end : Next::truncated)
                << next_name(r.last) << " " << r.message;
        }
    }
}

// --- open errors, empty files, moves ------------------------------------------

TEST(CaptureFile, OpenErrorsNameTheFile) {
    TempDir dir;
    std::string missing = (dir.path() / "nope.pcap").string();
    try {
        (void)CaptureFile::open(missing);
        FAIL() << "no exception";
    } catch (const CaptureOpenError& e) {
        EXPECT_EQ(std::string(e.what()), missing + ": No such file or directory");
    }

    std::string garbage =
        dir.write("g.pcap", {0x12, 0x34, 0xab, 0xcd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                             0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    try {
        (void)CaptureFile::open(garbage);
        FAIL() << "no exception";
    } catch (const CaptureOpenError& e) {
        EXPECT_EQ(std::string(e.what()),
                  garbage + ": not a pcap or pcapng file (magic 0x1234abcd)");
    }

    std::string dirpath = dir.path().string();
    EXPECT_THROW(CaptureFile::open(dirpath), CaptureOpenError);
    EXPECT_THROW(CaptureFile::open(dir.write("short1", {0xd4, 0xc3})), CaptureOpenError);
    EXPECT_THROW(CaptureFile::open(dir.write("short2", {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0})),
                 CaptureOpenError);
    // pcapng magic with a bad byte-order magic.
    NgBuilder ng;
    ng.shb(false);
    ng.b.v[8] = 0x99;
    EXPECT_THROW(CaptureFile::open(dir.write("bom.pcapng", ng.b.v)), CaptureOpenError);
}

TEST(CaptureFile, EmptyFileIsACleanEnd) {
    TempDir dir;
    CaptureFile f = CaptureFile::open(dir.write("empty.pcap", {}));
    PacketRef p;
    EXPECT_EQ(f.next(p), Next::end);
    EXPECT_EQ(f.next(p), Next::end);
    EXPECT_EQ(f.records_read(), 0u);
}

TEST(CaptureFile, MovedReaderCarriesOn) {
    TempDir dir;
    PcapBuilder pb(false, false);
    for (uint8_t i = 0; i < 3; ++i) {
        pb.record(i, 0, payload(10, i), 10);
    }
    CaptureFile a = CaptureFile::open(dir.write("mv.pcap", pb.b.v));
    PacketRef p;
    ASSERT_EQ(a.next(p), Next::packet);
    CaptureFile b(std::move(a));
    ASSERT_EQ(b.next(p), Next::packet);
    EXPECT_EQ(p.ts_ns, 1000000000u);
    CaptureFile c = CaptureFile::open(dir.write("other.pcap", pb.b.v));
    c = std::move(b);
    ASSERT_EQ(c.next(p), Next::packet);
    EXPECT_EQ(p.ts_ns, 2000000000u);
    EXPECT_EQ(c.next(p), Next::end);
    EXPECT_EQ(c.records_read(), 3u);
}

// --- the shared corpus --------------------------------------------------------

namespace {

fs::path corpus_dir() {
    if (const char* c = std::getenv("SPATE_CORPUS")) {
        return c;
    }
    if (const char* r = std::getenv("SPATE_SOURCE_ROOT")) {
        return fs::path(r) / ".." / "shared" / "corpus";
    }
    return {};
}

struct ManifestRow {
    std::string file;
    int link_type = -1;  // -1 when the manifest has "-"
    std::string format;
    uint64_t packets = 0;
};

std::vector<ManifestRow> read_manifest(const fs::path& dir) {
    std::ifstream in(dir / "MANIFEST.tsv");
    std::string line;
    std::vector<ManifestRow> rows;
    std::map<std::string, size_t> col;
    bool header = true;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, '\t')) {
            f.push_back(cell);
        }
        if (header) {
            for (size_t i = 0; i < f.size(); ++i) {
                col[f[i]] = i;
            }
            header = false;
            continue;
        }
        if (f.size() <= col["packets"]) {
            continue;
        }
        ManifestRow r;
        r.file = f[col["file"]];
        const std::string& lt = f[col["link_type"]];
        r.link_type =
            (!lt.empty() && std::isdigit(static_cast<unsigned char>(lt[0]))) ? std::stoi(lt) : -1;
        r.format = f[col["format"]];
        r.packets = std::stoull(f[col["packets"]]);
        rows.push_back(r);
    }
    return rows;
}

#define SKIP_WITHOUT_CORPUS(dir)                                                               \
    if ((dir).empty() || !fs::exists((dir) / "MANIFEST.tsv")) {                                \
        GTEST_SKIP() << "corpus not found (set SPATE_CORPUS or SPATE_SOURCE_ROOT; looked in '" \
                     << (dir).string() << "')";                                                \
    }

}  // namespace

TEST(Corpus, EveryCaptureReadsItsManifestCount) {
    const fs::path dir = corpus_dir();
    SKIP_WITHOUT_CORPUS(dir);
    size_t checked = 0;
    for (const ManifestRow& row : read_manifest(dir)) {
        if (row.file.find('/') != std::string::npos) {
            continue;  // malformed/: see the next test
        }
        SCOPED_TRACE(row.file);
        const std::string path = (dir / "pcaps" / row.file).string();
        CaptureFile f = CaptureFile::open(path);
        ReadAll r = read_all(f);
        EXPECT_EQ(r.last, Next::end) << r.message;
        expect_same(r, read_streamed(path, 32, 0), "streamed");
        expect_same(r, read_streamed(path, 5, 4096), "streamed, 4 KiB chunks");
        EXPECT_EQ(r.pkts.size(), row.packets);
        EXPECT_EQ(f.linktype(), row.link_type);
        for (const auto& p : r.pkts) {
            if (p.linktype != row.link_type) {
                ADD_FAILURE() << "packet with link type " << p.linktype;
                break;
            }
        }
        const CaptureFormat want = row.format == "pcapng" ? CaptureFormat::pcapng
                                   : row.format == "nsec" ? CaptureFormat::pcap_nsec
                                                          : CaptureFormat::pcap_usec;
        EXPECT_EQ(f.format(), want);
        if (row.format == "nsec") {
            EXPECT_TRUE(f.nanosecond());
        } else if (row.format == "pcap") {
            EXPECT_FALSE(f.nanosecond());
        }
        ++checked;
    }
    EXPECT_GT(checked, 60u);
    // Every capture on disk is in the manifest.
    size_t on_disk = 0;
    for (const auto& e : fs::directory_iterator(dir / "pcaps")) {
        on_disk += e.is_regular_file() ? 1 : 0;
    }
    EXPECT_EQ(on_disk, checked);
}

TEST(Corpus, MalformedCaptures) {
    const fs::path dir = corpus_dir();
    SKIP_WITHOUT_CORPUS(dir);
    struct Expect {
        const char* file;
        size_t packets;
        Next last;
    };
    const Expect cases[] = {
        {"gen__truncated-mid-record.pcap", 5, Next::truncated},
        {"gen__truncated-mid-header.pcap", 7, Next::truncated},
        {"gen__truncated-pcapng.pcapng", 3, Next::truncated},
        {"ndpi__fuzz-2021-10-13.pcap", 1, Next::truncated},
        {"gen__bogus-caplen.pcap", 2, Next::corrupt},
        {"gen__caplen-gt-origlen.pcap", 14, Next::end},
        {"gen__zero-bytes.pcap", 0, Next::end},
        {"zeek__empty.pcap", 0, Next::end},
        {"tcpdump__empty.pcapng", 0, Next::end},
    };
    for (const Expect& c : cases) {
        SCOPED_TRACE(c.file);
        const std::string path = (dir / "pcaps" / "malformed" / c.file).string();
        ReadAll r = read_path(path);
        EXPECT_EQ(r.pkts.size(), c.packets);
        EXPECT_EQ(r.last, c.last) << next_name(r.last) << " " << r.message;
        if (c.last != Next::end) {
            EXPECT_EQ(r.message.rfind(path + ": ", 0), 0u) << r.message;
        }
    }
    const std::string bogus = (dir / "pcaps" / "malformed" / "gen__bogus-caplen.pcap").string();
    EXPECT_NE(read_path(bogus).message.find(": corrupt record 3 at offset "), std::string::npos);
    const std::string garbage = (dir / "pcaps" / "malformed" / "gen__garbage-header.pcap").string();
    try {
        (void)CaptureFile::open(garbage);
        FAIL() << "no exception";
    } catch (const CaptureOpenError& e) {
        EXPECT_EQ(std::string(e.what()).rfind(garbage + ": not a pcap or pcapng file (magic 0x", 0),
                  0u)
            << e.what();
    }
}

// ---------------------------------------------------------------------------
// Streams: compressed files and pipes, read front to back.

namespace {

std::vector<uint8_t> gz(const std::vector<uint8_t>& in) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::vector<uint8_t> out(deflateBound(&z, in.size()) + 64);
    z.next_in = const_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::vector<uint8_t> zst(const std::vector<uint8_t>& in) {
    std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
    const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
    EXPECT_FALSE(ZSTD_isError(n));
    out.resize(n);
    return out;
}

std::vector<uint8_t> xz(const std::vector<uint8_t>& in) {
    std::vector<uint8_t> out(lzma_stream_buffer_bound(in.size()));
    size_t pos = 0;
    EXPECT_EQ(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(),
                                      out.data(), &pos, out.size()),
              LZMA_OK);
    out.resize(pos);
    return out;
}

/// Same packets and ending; messages alike but for the file name.
void expect_same_but_path(const ReadAll& a, const std::string& pa, ReadAll b, const std::string& pb,
                          const std::string& what) {
    if (b.message.starts_with(pb)) {
        b.message = pa + b.message.substr(pb.size());
    }
    expect_same(a, b, what);
}

PcapBuilder sample_pcap() {
    PcapBuilder pb(false, false);
    for (int i = 0; i < 40; ++i) {
        const size_t len = 40 + static_cast<size_t>(i * 37 % 300);
        pb.record(100 + static_cast<uint32_t>(i), static_cast<uint32_t>(i),
                  payload(len, static_cast<uint8_t>(i)), static_cast<uint32_t>(len));
    }
    return pb;
}

}  // namespace

TEST(CaptureStream, CompressedFilesReadLikeThePlainFile) {
    TempDir dir;
    const PcapBuilder pb = sample_pcap();
    const std::vector<uint8_t>& plain = pb.b.v;
    const std::string pp = dir.write("plain.pcap", plain);
    CaptureFile f = CaptureFile::open(pp);
    const ReadAll want = read_all(f);
    ASSERT_EQ(want.pkts.size(), 40u);
    // Whole, and cut inside a record (the pcap data, not the compression).
    const std::vector<uint8_t> cut(plain.begin(), plain.end() - 25);
    const std::string pc = dir.write("cut.pcap", cut);
    CaptureFile fc = CaptureFile::open(pc);
    const ReadAll want_cut = read_all(fc);
    ASSERT_EQ(want_cut.last, Next::truncated);

    for (const auto& [name, pack] :
         {std::pair{"gz", &gz}, std::pair{"zst", &zst}, std::pair{"xz", &xz}}) {
        const std::string p = dir.write(std::string("c.") + name, pack(plain));
        const std::string q = dir.write(std::string("cut.") + name, pack(cut));
        for (const size_t chunk : {size_t{0}, size_t{1}, size_t{29}, size_t{100}}) {
            for (const size_t batch : {size_t{0}, size_t{1}, size_t{3}, size_t{32}}) {
                const std::string what = std::string(name) + ", chunk " + std::to_string(chunk) +
                                         ", batch " + std::to_string(batch);
                expect_same_but_path(want, pp, read_streamed(p, batch, chunk), p, what);
                expect_same_but_path(want_cut, pc, read_streamed(q, batch, chunk), q,
                                     what + ", cut pcap");
            }
        }
        // Mapped access asked for: a compressed file is streamed anyway.
        CaptureFile m = CaptureFile::open(p);
        expect_same_but_path(want, pp, read_all(m), p, std::string(name) + ", mapped asked");
    }
}

TEST(CaptureStream, CutCompressionKeepsThePacketsBefore) {
    TempDir dir;
    const PcapBuilder pb = sample_pcap();
    for (const auto& [name, pack] :
         {std::pair{"gz", &gz}, std::pair{"zst", &zst}, std::pair{"xz", &xz}}) {
        // Two frames / members / streams (a small file is one compressed
        // block), cut inside the second.
        const size_t half = pb.b.v.size() / 2;
        std::vector<uint8_t> z = pack({pb.b.v.begin(), pb.b.v.begin() + static_cast<long>(half)});
        const std::vector<uint8_t> z2 =
            pack({pb.b.v.begin() + static_cast<long>(half), pb.b.v.end()});
        z.insert(z.end(), z2.begin(), z2.begin() + static_cast<long>(z2.size() / 2));
        const std::string p = dir.write(std::string("cut.") + name, z);
        const ReadAll r = read_streamed(p, 8, 0);
        SCOPED_TRACE(name);
        EXPECT_EQ(r.last, Next::truncated);
        EXPECT_GT(r.pkts.size(), 0u);
        EXPECT_LT(r.pkts.size(), 40u);
        EXPECT_TRUE(r.message.starts_with(p + ": ")) << r.message;
        EXPECT_NE(r.message.find("stream truncated"), std::string::npos) << r.message;
    }
}

TEST(CaptureStream, PipeIsReadAsAStream) {
    const PcapBuilder pb = sample_pcap();
    for (const bool compressed : {false, true}) {
        const std::vector<uint8_t> bytes = compressed ? gz(pb.b.v) : pb.b.v;
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        std::thread writer([&] {
            for (size_t off = 0; off < bytes.size(); off += 7) {
                const size_t n = std::min<size_t>(7, bytes.size() - off);
                ASSERT_EQ(::write(fds[1], bytes.data() + off, n), static_cast<ssize_t>(n));
            }
            ::close(fds[1]);
        });
        const std::string path = "/dev/fd/" + std::to_string(fds[0]);
        const ReadAll r = read_streamed(path, 3, 0);
        writer.join();
        ::close(fds[0]);
        EXPECT_EQ(r.last, Next::end) << r.message;
        EXPECT_EQ(r.pkts.size(), 40u);
    }
}
