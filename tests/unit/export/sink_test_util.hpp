#pragma once
/// Helpers shared by the sink and exporter tests: temporary directories,
/// a small tmpfs to fill up, reading files back, zstd decoding, synthetic
/// records and checking them.
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace spate::sink_test {

/// A fresh directory per test (tests run in parallel), removed afterwards.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "spate-sink-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) {
            ADD_FAILURE() << "mkdtemp failed";
        }
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// Names in dir (no "." / ".."), sorted; hidden files included.
inline std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct Decoded {
    std::string data;
    bool frame_complete = false;  ///< the (last) frame was ended
    bool error = false;
};

/// Streaming decompression of everything in `in`, which may stop mid-frame.
inline Decoded zstd_stream_decode(const std::string& in) {
    Decoded d;
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    std::vector<char> out(ZSTD_DStreamOutSize());
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    size_t last = 1;
    while (ib.pos < ib.size) {
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        last = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(last)) {
            d.error = true;
            break;
        }
        d.data.append(out.data(), ob.pos);
    }
    // Drain output still held in the context.
    for (;;) {
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        const size_t r = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(r) || ob.pos == 0) {
            break;
        }
        d.data.append(out.data(), ob.pos);
        last = r;
    }
    d.frame_complete = !d.error && last == 0;
    ZSTD_freeDCtx(dctx);
    return d;
}

/// Complete frames in `in` (0 when a frame is cut short or invalid).
inline size_t count_frames(const std::string& in) {
    size_t frames = 0;
    size_t pos = 0;
    while (pos < in.size()) {
        const size_t n = ZSTD_findFrameCompressedSize(in.data() + pos, in.size() - pos);
        if (ZSTD_isError(n)) {
            return 0;
        }
        pos += n;
        ++frames;
    }
    return frames;
}

/// One-shot decompression of complete frames.
inline std::optional<std::string> zstd_decode_whole(const std::string& in, size_t max_size) {
    std::string out(max_size, '\0');
    const size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
    if (ZSTD_isError(n)) {
        return std::nullopt;
    }
    out.resize(n);
    return out;
}

/// JSON-lines-like records of varying length.
inline std::vector<std::string> make_records(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::string> recs;
    for (size_t i = 0; i < n; ++i) {
        std::string r = "{\"seq\":" + std::to_string(i) + ",\"pad\":\"";
        r.append(rng() % 300, static_cast<char>('a' + rng() % 26));
        r += "\"}\n";
        recs.push_back(std::move(r));
    }
    return recs;
}

inline std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        s += x;
    }
    return s;
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted afterwards. Only
/// root can mount: ok() is false (and why() says why) otherwise.
class SmallTmpfs {
public:
    explicit SmallTmpfs(const char* size = "1m") {
        if (geteuid() != 0) {
            why_ = "needs root to mount a small tmpfs (run as root for the ENOSPC tests)";
            return;
        }
        const std::string opts = std::string("size=") + size + ",mode=0700";
        if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) !=
            0) {
            why_ = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
            return;
        }
        mounted_ = true;
    }
    ~SmallTmpfs() {
        if (mounted_) {
            ::umount2(dir_.path().c_str(), MNT_DETACH);
        }
    }
    SmallTmpfs(const SmallTmpfs&) = delete;
    SmallTmpfs& operator=(const SmallTmpfs&) = delete;

    bool ok() const { return mounted_; }
    const std::string& why() const { return why_; }
    const std::string& path() const { return dir_.path(); }
    std::string operator/(const std::string& name) const { return dir_ / name; }

    /// Fills the file system with "filler" until about `leave` bytes are free.
    void fill(uint64_t leave) const {
        struct statvfs st {};
        ASSERT_EQ(::statvfs(path().c_str(), &st), 0);
        const uint64_t avail = uint64_t{st.f_bavail} * st.f_frsize;
        ASSERT_GT(avail, leave);
        std::FILE* f = std::fopen((*this / "filler").c_str(), "wb");
        ASSERT_NE(f, nullptr);
        const std::string block(4096, 'f');
        for (uint64_t n = 0; n + block.size() <= avail - leave; n += block.size()) {
            ASSERT_EQ(std::fwrite(block.data(), 1, block.size(), f), block.size());
        }
        ASSERT_EQ(std::fclose(f), 0);
    }
    void free_filler() const { ASSERT_EQ(::unlink((*this / "filler").c_str()), 0); }

private:
    TempDir dir_;  // declared first: removed after the unmount
    bool mounted_ = false;
    std::string why_;
};

/// One JSON line with an id and random letters (compress to about 60%).
inline std::string record(uint64_t id) {
    std::mt19937_64 rng(id);
    std::string r = "{\"id\":" + std::to_string(id) + ",\"pad\":\"";
    const size_t n = 50 + rng() % 250;
    for (size_t i = 0; i < n; ++i) {
        r += static_cast<char>('a' + rng() % 26);
    }
    r += "\"}\n";
    return r;
}

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            lines.push_back(text.substr(pos));  // a partial last line
            break;
        }
        lines.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return lines;
}

/// The integer `key` of every line of `text`, each of which must be a
/// complete JSON object.
inline std::vector<uint64_t> ids_of(const std::string& text, const char* key) {
    simdjson::dom::parser parser;
    std::vector<uint64_t> ids;
    EXPECT_TRUE(text.empty() || text.back() == '\n') << "ends in a partial line";
    for (const auto& line : split_lines(text)) {
        simdjson::dom::element doc;
        uint64_t id = 0;
        if (parser.parse(line).get(doc) != simdjson::SUCCESS ||
            doc[key].get_uint64().get(id) != simdjson::SUCCESS) {
            ADD_FAILURE() << "not a complete record: " << line.substr(0, 80);
            continue;
        }
        ids.push_back(id);
    }
    return ids;
}

}  // namespace spate::sink_test
