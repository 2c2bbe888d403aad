// Sinks on a full file system (a small tmpfs, root only) and on outputs
// that cannot be cut back: after a real ENOSPC, recover() leaves exactly the
// records flushed before, and writing goes on once there is room.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "sink_test_util.hpp"
#include "spate/export/sink.hpp"

namespace spate {
namespace {

using ::testing::HasSubstr;
using namespace sink_test;  // NOLINT(google-build-using-namespace): test helpers

/// Drives a sink as the exporter does (flush before a due rotation, flush
/// every 16 records) and keeps what must be in the output: everything up
/// to the last successful flush.
struct Driver {
    explicit Driver(Sink& s) : sink(s) {}

    Sink& sink;
    std::string committed;  ///< flushed: must survive any later fault
    std::string pending;    ///< written since the last flush: a fault drops it
    uint64_t next_id = 0;
    uint64_t errors = 0;

    void flush() {
        sink.flush();
        committed += pending;
        pending.clear();
    }

    /// Writes records until a SinkError (true) or `max` records (false).
    bool write_until_error(uint64_t max, uint64_t now_ns = 0) {
        for (uint64_t end = next_id + max; next_id < end; ++next_id) {
            try {
                if (sink.rotation_due(now_ns)) {
                    flush();
                    sink.maybe_rotate(now_ns);
                }
                const std::string r = record(next_id);
                sink.write(r);
                pending += r;
                if (next_id % 16 == 15) {
                    flush();
                }
            } catch (const SinkError& e) {
                EXPECT_THAT(e.what(), HasSubstr("No space left on device"));
                ++errors;
                pending.clear();
                ++next_id;  // that one is lost
                return true;
            }
        }
        return false;
    }
};

class FullDisk : public ::testing::TestWithParam<bool> {};

TEST_P(FullDisk, FileIsCutBackToTheLastFlush) {
    const bool zstd = GetParam();
    SmallTmpfs fs;
    if (!fs.ok()) {
        GTEST_SKIP() << fs.why();
    }
    fs.fill(96 * 1024);
    SinkConfig cfg;
    cfg.path = fs / "out.jsonl";
    cfg.zstd = zstd;
    auto sink = make_sink(cfg);
    Driver d(*sink);
    auto decoded = [&] {
        const std::string file = read_file(cfg.path);
        if (!zstd) {
            return file;
        }
        const Decoded z = zstd_stream_decode(file);
        EXPECT_FALSE(z.error);
        EXPECT_TRUE(z.data.empty() || z.frame_complete) << "ends inside a frame";
        return z.data;
    };

    // Fault, recover, and again while the disk stays full: each time the
    // file holds exactly what was flushed before.
    int cuts = 0;
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(d.write_until_error(100000)) << "the disk never filled up";
        const auto before = std::filesystem::file_size(cfg.path);
        sink->recover();
        cuts += std::filesystem::file_size(cfg.path) < before ? 1 : 0;
        EXPECT_EQ(decoded(), d.committed) << "round " << round;
    }
    EXPECT_GT(cuts, 0) << "no partial output to cut: the test proves little";
    EXPECT_GT(d.committed.size(), 0u);

    // Room again: writing goes on after the cut.
    fs.free_filler();
    const uint64_t first_after = d.next_id;
    ASSERT_FALSE(d.write_until_error(2000));
    d.flush();
    EXPECT_EQ(decoded(), d.committed);
    sink->close();
    const std::string out = decoded();
    EXPECT_EQ(out, d.committed);
    const auto ids = ids_of(out, "id");
    ASSERT_FALSE(ids.empty());
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
    EXPECT_EQ(ids.back(), d.next_id - 1);
    EXPECT_TRUE(std::find(ids.begin(), ids.end(), first_after) != ids.end());
}

TEST_P(FullDisk, RotationPublishesOnlyCompleteFiles) {
    const bool zstd = GetParam();
    SmallTmpfs fs;
    if (!fs.ok()) {
        GTEST_SKIP() << fs.why();
    }
    fs.fill(128 * 1024);
    SinkConfig cfg;
    cfg.path = fs / "out/";
    cfg.zstd = zstd;
    cfg.rotate_bytes = 16 * 1024;
    auto sink = make_sink(cfg);
    Driver d(*sink);

    // Every published file is whole records; in sequence order they are
    // everything committed, the current .part (if any) holding the rest.
    auto check = [&](bool closed) {
        std::vector<std::string> names = list_dir(fs / "out");
        std::string finals;
        std::string part;
        size_t parts = 0;
        // spate-YYYYmmddTHHMMSS-NNNNNN...: order by the sequence number.
        std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
            return a.substr(a.find('-', 7)) < b.substr(b.find('-', 7));
        });
        for (const auto& name : names) {
            std::string data = read_file(fs / ("out/" + name));
            if (zstd) {
                const Decoded z = zstd_stream_decode(data);
                EXPECT_FALSE(z.error) << name;
                EXPECT_TRUE(z.data.empty() || z.frame_complete) << name;
                data = z.data;
            }
            if (name.ends_with(".part")) {
                ++parts;
                part += data;
                continue;
            }
            EXPECT_FALSE(data.empty()) << name;
            ids_of(data, "id");  // complete records only
            finals += data;
        }
        EXPECT_LE(parts, closed ? 0u : 1u);
        EXPECT_EQ(finals + part, d.committed + d.pending);
        return finals;
    };

    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(d.write_until_error(100000)) << "the disk never filled up";
        // Opening the next file may fail too; a real exporter retries later.
        bool recovered = false;
        for (int attempt = 0; attempt < 3 && !recovered; ++attempt) {
            try {
                sink->recover();
                recovered = true;
            } catch (const SinkError& e) {
                ADD_FAILURE() << "recover: " << e.what();
            }
        }
        ASSERT_TRUE(recovered);
        EXPECT_EQ(check(false), d.committed) << "round " << round;  // all published
    }
    fs.free_filler();
    ASSERT_FALSE(d.write_until_error(500));
    sink->close();
    d.committed += d.pending;  // close() finishes the last file
    d.pending.clear();
    EXPECT_EQ(check(true), d.committed);
    EXPECT_GT(sink->files_closed(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Export, FullDisk, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "zstd" : "plain"; });

// Outputs that cannot be cut back: recover() drops the buffer only.
TEST(SinkFaults, DeviceOutputDropsTheBuffer) {
    if (access("/dev/full", W_OK) != 0) {
        GTEST_SKIP() << "no /dev/full";
    }
    SinkConfig cfg;
    cfg.path = "/dev/full";
    auto sink = make_sink(cfg);
    sink->write("{\"id\":1}\n");
    EXPECT_THROW(sink->flush(), SinkError);
    EXPECT_NO_THROW(sink->recover());  // nothing reached it: nothing to repair
    sink->write("{\"id\":2}\n");
    EXPECT_NO_THROW(sink->recover());  // drops the buffered record...
    EXPECT_NO_THROW(sink->close());    // ...so closing has nothing to write
}

/// stdout on a full non-blocking pipe: a short write leaves a partial line
/// with the reader; recover() ends it (once the pipe has room) so that the
/// next record starts a line of its own.
TEST(SinkFaults, PipeGetsItsPartialLineEnded) {
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_NONBLOCK), 0);
    const int cap = fcntl(fds[1], F_SETPIPE_SZ, 4096);
    ASSERT_GT(cap, 0);
    std::fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    ASSERT_GE(saved, 0);
    ASSERT_GE(dup2(fds[1], STDOUT_FILENO), 0);
    ::close(fds[1]);
    auto read_some = [&] {
        std::string got;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(fds[0], buf, sizeof buf)) > 0) {
            got.append(buf, static_cast<size_t>(n));
        }
        return got;
    };
    std::string got;
    const std::string big =
        "{\"id\":1,\"pad\":\"" + std::string(static_cast<size_t>(cap) + 2000, 'a') + "\"}\n";
    {
        SinkConfig cfg;
        cfg.path = "-";
        auto sink = make_sink(cfg);
        sink->write(big);
        EXPECT_THROW(sink->flush(), SinkError);    // the pipe took `cap` bytes, then EAGAIN
        EXPECT_THROW(sink->recover(), SinkError);  // still full: the line cannot be ended yet
        got = read_some();
        EXPECT_EQ(got, big.substr(0, static_cast<size_t>(cap)));
        EXPECT_NO_THROW(sink->recover());
        sink->write("{\"id\":2}\n");
        sink->flush();
        sink->close();
    }
    dup2(saved, STDOUT_FILENO);
    ::close(saved);
    got += read_some();
    ::close(fds[0]);
    EXPECT_EQ(got, big.substr(0, static_cast<size_t>(cap)) + "\n{\"id\":2}\n");
}

}  // namespace
}  // namespace spate
