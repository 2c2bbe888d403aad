#include "spate/export/sink.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sink_test_util.hpp"

namespace spate {
namespace {

using ::testing::HasSubstr;
using namespace sink_test;  // NOLINT(google-build-using-namespace): test helpers

uint64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::string utc_format(uint64_t ns, const char* fmt) {
    const auto secs = static_cast<time_t>(ns / 1000000000ULL);
    tm utc{};
    gmtime_r(&secs, &utc);
    char buf[128];
    const size_t n = std::strftime(buf, sizeof buf, fmt, &utc);
    return std::string(buf, n);
}

std::string seq6(size_t i) {
    std::string s = std::to_string(i);
    return std::string(s.size() < 6 ? 6 - s.size() : 0, '0') + s;
}

// ---------------------------------------------------------------------------
// Plain files and stdout

TEST(FdSink, PlainFileContent) {
    TempDir tmp;
    const std::string path = tmp / "out.jsonl";
    SinkConfig cfg;
    cfg.path = path;
    auto sink = make_sink(cfg);

    // Small writes, one bigger than the 1 MiB buffer, and writes that
    // straddle the buffer's end.
    std::string expect;
    std::mt19937_64 rng(1);
    for (int i = 0; i < 200; ++i) {
        const size_t n = i == 50 ? (3u << 20) : rng() % 40000;
        std::string chunk(n, static_cast<char>('A' + i % 26));
        sink->write(chunk);
        expect += chunk;
    }
    sink->write("");
    EXPECT_EQ(sink->bytes_in(), expect.size());
    sink->flush();
    EXPECT_EQ(sink->bytes_out(), expect.size());
    EXPECT_EQ(read_file(path), expect);
    sink->close();
    sink->close();  // idempotent
    EXPECT_EQ(read_file(path), expect);
    EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"out.jsonl"});  // no .part
    EXPECT_THROW(sink->write("x"), SinkError);
}

TEST(FdSink, TruncatesExistingFile) {
    TempDir tmp;
    const std::string path = tmp / "out.jsonl";
    {
        std::ofstream f(path);
        f << "old content that is longer";
    }
    SinkConfig cfg;
    cfg.path = path;
    auto sink = make_sink(cfg);
    sink->write("new\n");
    sink->close();
    EXPECT_EQ(read_file(path), "new\n");
}

TEST(FdSink, DestructorFlushes) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp / "out.jsonl";
    make_sink(cfg)->write("abc\n");
    EXPECT_EQ(read_file(cfg.path), "abc\n");
}

TEST(FdSink, Stdout) {
    for (const char* path : {"-", ""}) {
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        std::fflush(stdout);
        const int saved = dup(STDOUT_FILENO);
        ASSERT_GE(saved, 0);
        ASSERT_GE(dup2(fds[1], STDOUT_FILENO), 0);
        ::close(fds[1]);
        {
            SinkConfig cfg;
            cfg.path = path;
            auto sink = make_sink(cfg);
            sink->write("to stdout\n");
            sink->close();
            EXPECT_EQ(sink->bytes_out(), 10u);
        }
        // stdout itself must still be open.
        EXPECT_EQ(::write(STDOUT_FILENO, "!", 1), 1);
        dup2(saved, STDOUT_FILENO);
        ::close(saved);
        char buf[64];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        ::close(fds[0]);
        EXPECT_EQ(std::string(buf, static_cast<size_t>(std::max<ssize_t>(n, 0))), "to stdout\n!");
    }
}

TEST(FdSink, UnwritablePathNamesThePath) {
    TempDir tmp;
    {
        std::ofstream f(tmp / "file");
        f << "x";
    }
    SinkConfig cfg;
    cfg.path = tmp / "file/sub/out.jsonl";  // parent is a regular file: fails even for root
    try {
        make_sink(cfg);
        FAIL() << "no SinkError";
    } catch (const SinkError& e) {
        EXPECT_THAT(e.what(), HasSubstr(cfg.path));
    }
    cfg.path = tmp.path();  // a directory, without rotation
    EXPECT_THROW(make_sink(cfg), SinkError);
    cfg.zstd = true;
    cfg.path = tmp / "nodir/out.jsonl.zst";
    try {
        make_sink(cfg);
        FAIL() << "no SinkError";
    } catch (const SinkError& e) {
        EXPECT_THAT(e.what(), HasSubstr(cfg.path));
    }
}

TEST(FdSink, WriteErrorNamesThePath) {
    if (access("/dev/full", W_OK) != 0) {
        GTEST_SKIP() << "no /dev/full";
    }
    SinkConfig cfg;
    cfg.path = "/dev/full";
    auto sink = make_sink(cfg);
    sink->write("x");
    try {
        sink->flush();
        FAIL() << "no SinkError";
    } catch (const SinkError& e) {
        EXPECT_THAT(e.what(), HasSubstr("/dev/full: write failed: "));
    }
}

// ---------------------------------------------------------------------------
// zstd

TEST(ZstdSink, RoundTrip) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp / "out.jsonl.zst";
    cfg.zstd = true;
    cfg.zstd_level = 5;
    auto sink = make_sink(cfg);
    const auto recs = make_records(20000, 7);
    for (const auto& r : recs) {
        sink->write(r);
    }
    sink->close();
    const std::string input = join(recs);
    const std::string file = read_file(cfg.path);
    EXPECT_EQ(sink->bytes_in(), input.size());
    EXPECT_EQ(sink->bytes_out(), file.size());
    EXPECT_LT(file.size(), input.size() / 2);
    EXPECT_EQ(zstd_decode_whole(file, input.size() + 1), input);
    const Decoded d = zstd_stream_decode(file);
    EXPECT_FALSE(d.error);
    EXPECT_TRUE(d.frame_complete);
    EXPECT_EQ(d.data, input);

    // RFC 8878 3.1.1: magic 28 B5 2F FD, then the frame header descriptor,
    // whose bit 2 is Content_Checksum_flag.
    ASSERT_GT(file.size(), 5u);
    EXPECT_EQ(file.substr(0, 4), "\x28\xB5\x2F\xFD");
    EXPECT_TRUE(static_cast<unsigned char>(file[4]) & 0x04);
    EXPECT_EQ(ZSTD_findFrameCompressedSize(file.data(), file.size()), file.size());  // one frame
}

TEST(ZstdSink, CompressionThreadsGiveTheSameStream) {
    // ZSTD_c_nbWorkers: the data is compressed on zstd's own threads; the
    // file must decode to the same bytes, with frames ended at each flush.
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp / "mt.jsonl.zst";
    cfg.zstd = true;
    cfg.zstd_threads = 2;
    auto sink = make_sink(cfg);
    const auto recs = make_records(60000, 5);  // several MiB: several zstd jobs
    std::string so_far;
    size_t flushes = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
        sink->write(recs[i]);
        so_far += recs[i];
        if (i % 20000 == 19999) {
            sink->flush();
            ++flushes;
            const Decoded d = zstd_stream_decode(read_file(cfg.path));
            EXPECT_FALSE(d.error) << i;
            EXPECT_TRUE(d.frame_complete) << i;
            EXPECT_EQ(d.data.size(), so_far.size()) << i;
        }
    }
    sink->close();
    const std::string file = read_file(cfg.path);
    EXPECT_EQ(count_frames(file), flushes);
    EXPECT_EQ(sink->bytes_in(), so_far.size());
    EXPECT_EQ(sink->bytes_out(), file.size());
    EXPECT_LT(file.size(), so_far.size() / 2);
    const Decoded d = zstd_stream_decode(file);
    EXPECT_FALSE(d.error);
    EXPECT_EQ(d.data, so_far);
}

TEST(ZstdSink, RunWithoutRecordsLeavesNoFile) {
    // Plain and compressed: a run that wrote nothing leaves nothing behind.
    for (const bool zstd : {false, true}) {
        TempDir tmp;
        SinkConfig cfg;
        cfg.path = tmp / (zstd ? "out.jsonl.zst" : "out.jsonl");
        cfg.zstd = zstd;
        make_sink(cfg)->close();
        EXPECT_TRUE(list_dir(tmp.path()).empty()) << zstd;
        // One record: the file stays (and decodes).
        auto sink = make_sink(cfg);
        sink->write("r\n");
        sink->close();
        const std::string text = read_file(cfg.path);
        EXPECT_EQ(zstd ? zstd_stream_decode(text).data : text, "r\n");
    }
}

TEST(ZstdSink, FlushMakesEverythingSoFarDecodable) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp / "out.zst";
    cfg.zstd = true;
    cfg.zstd_level = 19;  // large windows: a lot would stay buffered without flush
    auto sink = make_sink(cfg);
    const auto recs = make_records(3000, 11);
    std::string so_far;
    size_t flushes = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
        sink->write(recs[i]);
        so_far += recs[i];
        if (i % 1000 == 999 || i == 10) {
            sink->flush();
            ++flushes;
            // Each flush ends a frame: the file is whole frames, which a
            // decoder reads as one stream (what recover() cuts back to).
            const std::string file = read_file(cfg.path);
            const Decoded d = zstd_stream_decode(file);
            EXPECT_FALSE(d.error) << i;
            EXPECT_TRUE(d.frame_complete) << i;
            EXPECT_EQ(d.data, so_far) << i;
            EXPECT_EQ(count_frames(file), flushes) << i;
        }
    }
    sink->flush();  // nothing new: no empty frame
    sink->close();  // right after a flush: nothing to add either
    const std::string file = read_file(cfg.path);
    EXPECT_EQ(count_frames(file), flushes);
    EXPECT_EQ(zstd_decode_whole(file, so_far.size() + 1), so_far);
    const Decoded d = zstd_stream_decode(file);
    EXPECT_TRUE(d.frame_complete);
    EXPECT_EQ(d.data, so_far);

    // A frame per flush costs a header, a checksum and the history: at the
    // exporter's flush sizes, a few percent over one frame.
    const size_t one_frame = ZSTD_compressBound(so_far.size());
    std::string single(one_frame, '\0');
    const size_t n = ZSTD_compress(single.data(), single.size(), so_far.data(), so_far.size(), 19);
    ASSERT_FALSE(ZSTD_isError(n));
    EXPECT_LT(file.size(), n + n / 10) << "one frame: " << n;
}

// ---------------------------------------------------------------------------
// Rotation

/// The parts of a directory-mode name "spate-YYYYmmddTHHMMSS-NNNNNN.jsonl[.zst]".
struct DirName {
    std::string stamp;
    std::string seq;
    bool zstd = false;
};

std::optional<DirName> parse_dir_name(const std::string& name) {
    auto digits = [&](size_t pos, size_t n) {
        return pos + n <= name.size() &&
               std::all_of(name.begin() + static_cast<std::ptrdiff_t>(pos),
                           name.begin() + static_cast<std::ptrdiff_t>(pos + n),
                           [](char c) { return c >= '0' && c <= '9'; });
    };
    // spate-20130307T214206-000000.jsonl
    // 0     6       14     21     28
    if (!name.starts_with("spate-") || !digits(6, 8) || name.size() < 34 || name[14] != 'T' ||
        !digits(15, 6) || name[21] != '-' || !digits(22, 6)) {
        return std::nullopt;
    }
    const std::string ext = name.substr(28);
    if (ext != ".jsonl" && ext != ".jsonl.zst") {
        return std::nullopt;
    }
    return DirName{name.substr(6, 15), name.substr(22, 6), ext == ".jsonl.zst"};
}

class RotateBytes : public ::testing::TestWithParam<bool> {};

TEST_P(RotateBytes, CompleteFilesNamedInOrder) {
    const bool zstd = GetParam();
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path();
    cfg.zstd = zstd;
    cfg.rotate_bytes = 10000;
    auto sink = make_sink(cfg);
    const auto recs = make_records(1000, 3);

    // What the exporter does: maybe_rotate() between records. Expected file
    // contents follow the same rule.
    std::vector<std::string> expect(1);
    const uint64_t t = now_ns();
    for (size_t i = 0; i < recs.size(); ++i) {
        sink->maybe_rotate(t);
        if (expect.back().size() >= cfg.rotate_bytes) {
            expect.emplace_back();
        }
        sink->write(recs[i]);
        expect.back() += recs[i];
        if (i % 97 == 0) {
            sink->flush();
        }
        // Until a file is complete it is only visible as a hidden .part.
        if (i == 5) {
            EXPECT_THAT(list_dir(tmp.path()),
                        ::testing::ElementsAre(::testing::MatchesRegex(R"(\.spate-.*\.part)")));
        }
    }
    ASSERT_GT(expect.size(), 5u);
    EXPECT_EQ(sink->files_closed(), expect.size() - 1);
    sink->close();
    sink->close();
    EXPECT_EQ(sink->files_closed(), expect.size());
    EXPECT_EQ(sink->bytes_in(), join(recs).size());

    const auto names = list_dir(tmp.path());
    ASSERT_EQ(names.size(), expect.size());
    std::string all;
    uint64_t out_bytes = 0;
    for (size_t i = 0; i < names.size(); ++i) {
        const auto m = parse_dir_name(names[i]);
        ASSERT_TRUE(m.has_value()) << names[i];
        EXPECT_EQ(m->seq, seq6(i));
        EXPECT_EQ(m->zstd, zstd);
        const std::string file = read_file(tmp / names[i]);
        out_bytes += file.size();
        std::string content = file;
        if (zstd) {
            const Decoded d = zstd_stream_decode(file);  // standalone, complete frame
            EXPECT_FALSE(d.error) << names[i];
            EXPECT_TRUE(d.frame_complete) << names[i];
            content = d.data;
        }
        EXPECT_EQ(content, expect[i]) << names[i];  // whole records only
        EXPECT_TRUE(content.ends_with("}\n"));
        if (i + 1 < names.size()) {
            EXPECT_GE(content.size(), cfg.rotate_bytes);
        }
        all += content;
    }
    EXPECT_EQ(all, join(recs));
    EXPECT_EQ(sink->bytes_out(), out_bytes);
}

INSTANTIATE_TEST_SUITE_P(Export, RotateBytes, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "zstd" : "plain"; });

TEST(Rotate, ByTimeWithFakeClock) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path() + "/";  // trailing slash: directory mode
    cfg.zstd = true;
    cfg.rotate_seconds = 60;
    auto sink = make_sink(cfg);
    const uint64_t t0 = now_ns();  // the first file started at or before t0
    const uint64_t s = 1000000000ULL;
    // A record every 10 s for 5 minutes: rotations at t0+60 s, +120 s, ...
    std::vector<std::string> expect(1);
    for (uint64_t k = 0; k < 30; ++k) {
        sink->maybe_rotate(t0 + k * 10 * s);
        if (k > 0 && k % 6 == 0) {
            expect.emplace_back();
        }
        const std::string rec = "{\"k\":" + std::to_string(k) + "}\n";
        sink->write(rec);
        expect.back() += rec;
    }
    sink->close();
    const auto names = list_dir(tmp.path());
    ASSERT_EQ(names.size(), 5u);
    EXPECT_EQ(sink->files_closed(), 5u);
    for (size_t i = 0; i < names.size(); ++i) {
        const auto m = parse_dir_name(names[i]);
        ASSERT_TRUE(m.has_value()) << names[i];
        EXPECT_EQ(m->seq, seq6(i));
        if (i > 0) {  // later files start at the fake time that rotated them
            EXPECT_EQ(m->stamp, utc_format(t0 + i * 60 * s, "%Y%m%dT%H%M%S"));
        }
        const Decoded d = zstd_stream_decode(read_file(tmp / names[i]));
        EXPECT_TRUE(d.frame_complete);
        EXPECT_EQ(d.data, expect[i]) << names[i];
    }
}

// Capture time (files, replays): the first file waits for the first
// record's time and is named for it; later ones for the capture time that
// rotated them; none at all without records; a reopening after a fault is
// named for the capture time reached, never the wall clock.
TEST(Rotate, CaptureTimeNamesFilesForTheRecordsTime) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path() + "/f-%Y%m%dT%H%M%S.jsonl";
    cfg.rotate_seconds = 60;
    cfg.capture_time = true;
    const uint64_t s = 1000000000ULL;
    const uint64_t t0 = 1452263349ULL * s + 661578000ULL;  // 2016-01-08T14:29:09.661578Z
    {
        auto none = make_sink(cfg);
        EXPECT_FALSE(none->rotation_due(t0 + 3600 * s));  // no file yet: nothing to rotate
        none->maybe_rotate(t0 + 3600 * s);
        none->close();
        EXPECT_TRUE(list_dir(tmp.path()).empty());
    }
    auto sink = make_sink(cfg);
    EXPECT_TRUE(list_dir(tmp.path()).empty());  // nothing before the first record
    sink->open_at(t0);
    sink->write("a\n");
    sink->maybe_rotate(t0 + 30 * s);
    sink->write("b\n");
    sink->open_at(t0 + 40 * s);  // only the first call opens
    sink->maybe_rotate(t0 + 61 * s);
    sink->write("c\n");
    sink->close();
    const auto names = list_dir(tmp.path());
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0], "f-20160108T142909-000000.jsonl");
    EXPECT_EQ(names[1], "f-20160108T143010-000001.jsonl");
    EXPECT_EQ(read_file(tmp / names[0]), "a\nb\n");
    EXPECT_EQ(read_file(tmp / names[1]), "c\n");
}

TEST(Rotate, CaptureTimeRefusesAnUnwritableDirectoryAtOnce) {
    SinkConfig cfg;
    cfg.path = "/proc/spate-no/f-%Y.jsonl";
    cfg.rotate_seconds = 60;
    cfg.capture_time = true;
    try {
        make_sink(cfg);
        FAIL() << "no error";
    } catch (const SinkError& e) {
        EXPECT_NE(std::string(e.what()).find("/proc/spate-no/"), std::string::npos) << e.what();
    }
}

TEST(Rotate, ClockGoingBackwardsDoesNotRotate) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path();
    cfg.rotate_seconds = 1;
    auto sink = make_sink(cfg);
    sink->write("a\n");
    sink->maybe_rotate(1000);  // far in the past: no unsigned wrap-around
    sink->write("b\n");
    sink->close();
    EXPECT_EQ(sink->files_closed(), 1u);
}

TEST(Rotate, IdleIntervalsLeaveNoEmptyFiles) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path();
    cfg.rotate_seconds = 10;
    auto sink = make_sink(cfg);
    const uint64_t t0 = now_ns();
    const uint64_t s = 1000000000ULL;
    for (uint64_t k = 1; k <= 10; ++k) {
        sink->maybe_rotate(t0 + k * 10 * s);  // nothing written: no file published
    }
    EXPECT_EQ(sink->files_closed(), 0u);
    sink->write("late\n");
    sink->maybe_rotate(t0 + 105 * s);  // only 5 s into the restarted file
    sink->write("later\n");
    sink->close();
    const auto names = list_dir(tmp.path());
    ASSERT_EQ(names.size(), 1u);
    const auto m = parse_dir_name(names[0]);
    ASSERT_TRUE(m.has_value()) << names[0];
    EXPECT_EQ(m->stamp, utc_format(t0 + 100 * s, "%Y%m%dT%H%M%S"));
    EXPECT_EQ(m->seq, "000000");
    EXPECT_EQ(read_file(tmp / names[0]), "late\nlater\n");
}

TEST(Rotate, RunWithoutRecordsLeavesNoFile) {
    for (const bool zstd : {false, true}) {
        TempDir tmp;
        SinkConfig cfg;
        cfg.path = tmp.path();
        cfg.zstd = zstd;
        cfg.rotate_bytes = 100;
        auto sink = make_sink(cfg);
        sink->maybe_rotate(now_ns());
        sink->close();
        EXPECT_EQ(sink->files_closed(), 0u);
        EXPECT_TRUE(list_dir(tmp.path()).empty()) << zstd;  // not even a hidden .part
    }
}

TEST(Rotate, TrailingEmptyFileIsRemoved) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path();
    cfg.zstd = true;
    cfg.rotate_bytes = 4;
    auto sink = make_sink(cfg);
    sink->write("abcd\n");
    sink->maybe_rotate(now_ns());  // rotates: the new file stays empty
    sink->close();
    EXPECT_EQ(sink->files_closed(), 1u);
    const auto names = list_dir(tmp.path());
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(names[0].ends_with("-000000.jsonl.zst"));
    EXPECT_EQ(zstd_stream_decode(read_file(tmp / names[0])).data, "abcd\n");
}

TEST(Rotate, PatternWithStrftimeAndSequence) {
    TempDir tmp;
    SinkConfig cfg;
    // Conversions in the directory part too; missing directories are created.
    cfg.path = tmp.path() + "/%Y/%m%d/flows-%H%M%S.%N.jsonl";
    cfg.rotate_bytes = 1;
    auto sink = make_sink(cfg);
    const uint64_t t = 1362692526869344000ULL;  // 2013-03-07T21:42:06Z
    sink->write("0\n");
    for (int i = 1; i < 3; ++i) {
        sink->maybe_rotate(t + static_cast<uint64_t>(i) * 3600 * 1000000000ULL);
        sink->write(std::to_string(i) + "\n");
    }
    sink->close();
    EXPECT_EQ(sink->files_closed(), 3u);
    const std::string day = tmp.path() + "/2013/0307";
    EXPECT_EQ(list_dir(day),
              (std::vector<std::string>{"flows-224206.000001.jsonl", "flows-234206.000002.jsonl"}));
    EXPECT_EQ(read_file(day + "/flows-224206.000001.jsonl"), "1\n");
    EXPECT_EQ(read_file(day + "/flows-234206.000002.jsonl"), "2\n");
}

TEST(Rotate, PatternWithoutSequenceGetsOneBeforeTheExtension) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp.path() + "/flows_%Y%m%d.jsonl.zst";
    cfg.zstd = true;
    cfg.rotate_bytes = 1;
    const std::string today = utc_format(now_ns(), "%Y%m%d");  // the first file's date
    auto sink = make_sink(cfg);
    sink->write("a\n");
    sink->maybe_rotate(1362692526869344000ULL);  // 2013-03-07
    sink->write("b\n");
    sink->close();
    EXPECT_EQ(list_dir(tmp.path()),
              (std::vector<std::string>{"flows_20130307-000001.jsonl.zst",
                                        "flows_" + today + "-000000.jsonl.zst"}));
    EXPECT_EQ(zstd_stream_decode(read_file(tmp / "flows_20130307-000001.jsonl.zst")).data, "b\n");
}

TEST(Rotate, PatternEdgeCases) {
    TempDir tmp;
    struct Case {
        std::string pattern;
        std::string first_name;
    };
    const std::vector<Case> cases = {
        {".hidden.jsonl", ".hidden-000000.jsonl"},  // a leading dot is not an extension
        {"pct%%N-%N.log", "pct%N-000000.log"},      // %% is a literal percent
        {"a.b.c", "a-000000.b.c"},
    };
    for (const auto& c : cases) {
        const std::string dir = tmp / ("case" + std::to_string(&c - cases.data()));
        SinkConfig cfg;
        cfg.path = dir + "/" + c.pattern;
        cfg.rotate_seconds = 3600;
        auto sink = make_sink(cfg);
        sink->maybe_rotate(now_ns() + 7200ULL * 1000000000ULL);  // empty: restart, same sequence
        sink->write("x\n");
        sink->close();
        EXPECT_EQ(list_dir(dir), std::vector<std::string>{c.first_name}) << c.pattern;
    }
}

TEST(Rotate, NameWithoutExtensionOrConversionIsASpoolDirectory) {
    // Not "spool-000000" beside it: the directory is made, files go inside.
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp / "a/spool";
    cfg.rotate_seconds = 3600;
    auto sink = make_sink(cfg);
    sink->write("x\n");
    sink->close();
    EXPECT_EQ(list_dir(tmp / "a"), std::vector<std::string>{"spool"});
    const auto names = list_dir(tmp / "a/spool");
    ASSERT_EQ(names.size(), 1u);
    EXPECT_TRUE(parse_dir_name(names[0]).has_value()) << names[0];
}

TEST(Rotate, UnwritablePathNamesThePath) {
    TempDir tmp;
    {
        std::ofstream f(tmp / "file");
        f << "x";
    }
    for (const std::string p : {"/file/sub/flows-%N.jsonl", "/file/sub/", "/file/x/%Y/a.jsonl"}) {
        SinkConfig cfg;
        cfg.path = tmp.path() + p;
        cfg.rotate_bytes = 1000;
        try {
            make_sink(cfg);
            ADD_FAILURE() << "no SinkError for " << cfg.path;
        } catch (const SinkError& e) {
            EXPECT_THAT(e.what(), HasSubstr(tmp / "file/")) << e.what();
        }
    }
}

TEST(Rotate, StdoutCannotRotate) {
    SinkConfig cfg;
    cfg.path = "-";
    cfg.rotate_seconds = 60;
    EXPECT_THROW(make_sink(cfg), SinkError);
}

TEST(Rotate, DestructorPublishesTheFile) {
    TempDir tmp;
    SinkConfig cfg;
    cfg.path = tmp / "out.jsonl";
    cfg.rotate_bytes = 1000;
    make_sink(cfg)->write("x\n");
    EXPECT_EQ(list_dir(tmp.path()), std::vector<std::string>{"out-000000.jsonl"});
}

}  // namespace
}  // namespace spate
