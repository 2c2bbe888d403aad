// CaptureFile: classic pcap and pcapng read straight out of a read-only
// private mapping, with pread() into a reused buffer, or front to back from a
// byte stream (stdin, a FIFO, a pipe, a compressed file). Every read is
// checked against the end of the data; the format and the compression come
// from the magic numbers only.
#include "spate/port/capture_file.hpp"

#include <fcntl.h>
#include <lzma.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

namespace spate {

namespace {

constexpr uint32_t kPcapMagicUsec = 0xa1b2c3d4;
constexpr uint32_t kPcapMagicNsec = 0xa1b23c4d;
constexpr uint32_t kPcapngShb = 0x0A0D0D0A;
constexpr uint32_t kPcapngBom = 0x1A2B3C4D;
constexpr uint32_t kPcapngIdb = 1;
constexpr uint32_t kPcapngPb = 2;  // obsolete Packet Block
constexpr uint32_t kPcapngSpb = 3;
constexpr uint32_t kPcapngEpb = 6;
constexpr uint16_t kOptEnd = 0;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kOptIfTsoffset = 14;

constexpr size_t kPcapFileHeader = 24;
constexpr size_t kPcapRecordHeader = 16;
/// Larger than any real frame (libpcap caps snaplen at 256 KiB); anything
/// above is a damaged length field, not a packet.
constexpr uint32_t kMaxRecordLen = 0x10000000;
constexpr size_t kPcapngMinBlock = 12;
constexpr size_t kShbFixed = 28;  // type, length, BOM, version, section length, trailer

constexpr uint64_t kNsPerSec = 1000000000ull;

uint16_t load16(const uint8_t* p, bool big) {
    return big ? static_cast<uint16_t>((p[0] << 8) | p[1])
               : static_cast<uint16_t>((p[1] << 8) | p[0]);
}

uint32_t load32(const uint8_t* p, bool big) {
    if (big) {
        return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    }
    return (uint32_t{p[3]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[1]} << 8) | p[0];
}

uint64_t load64(const uint8_t* p, bool big) {
    uint64_t a = load32(p, big);
    uint64_t b = load32(p + 4, big);
    return big ? (a << 32) | b : (b << 32) | a;
}

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08" PRIx32, v);
    return buf;
}

/// How one pcapng interface's timestamp units become nanoseconds.
struct TsScale {
    enum class Kind : uint8_t { mul, div, shift, zero } kind = Kind::mul;
    uint64_t factor = 1000;  // default if_tsresol 6: microseconds
    unsigned shift = 0;

    /// From an if_tsresol byte: 10^-v, or 2^-(v & 0x7f) when the high bit is set.
    static TsScale from_tsresol(uint8_t v) {
        TsScale s;
        if (v & 0x80) {
            s.kind = Kind::shift;
            s.shift = v & 0x7f;
            return s;
        }
        uint64_t p = 1;
        if (v <= 9) {
            for (unsigned i = v; i < 9; ++i) {
                p *= 10;
            }
            s.kind = Kind::mul;
            s.factor = p;
        } else if (v - 9 <= 19) {  // 10^19 is the largest power of ten in 64 bits
            for (unsigned i = 9; i < v; ++i) {
                p *= 10;
            }
            s.kind = Kind::div;
            s.factor = p;
        } else {
            s.kind = Kind::zero;
        }
        return s;
    }

    /// Finer than a microsecond: the file has real nanosecond digits.
    static bool finer_than_usec(uint8_t v) {
        // 2^20 = 1048576 > 10^6 ticks per second.
        return (v & 0x80) ? (v & 0x7f) >= 20 : v > 6;
    }

    uint64_t to_ns(uint64_t ts) const {
        switch (kind) {
            case Kind::mul:
                return ts * factor;  // wraps on absurd values; never UB
            case Kind::div:
                return ts / factor;
            case Kind::shift:
                return static_cast<uint64_t>((static_cast<unsigned __int128>(ts) * kNsPerSec) >>
                                             shift);
            case Kind::zero:
                return 0;
        }
        return 0;
    }
};

struct Interface {
    uint16_t linktype = 1;
    uint32_t snaplen = 0;
    TsScale scale;
    uint64_t offset_ns = 0;  // if_tsoffset, seconds, as ns (two's complement wrap)
};

/// Where a pcapng reader is; copied for the look-ahead done at open.
struct NgState {
    size_t pos = 0;
    bool big = false;
    std::vector<Interface> ifaces;
    bool nanosecond = false;
    int32_t first_linktype = -1;  // of the first IDB in the file
};

/// Bytes read from the compressed input per read() (gzip, zstd, xz).
constexpr size_t kCompressedChunk = size_t{256} << 10;

/// The fd under a stream: the magic bytes read to choose a decoder come
/// first, then read() on.
struct RawInput {
    int fd = -1;
    uint8_t head[8] = {};
    size_t head_len = 0;
    size_t head_pos = 0;
    uint64_t consumed = 0;  ///< bytes read from the fd so far (for messages)
    int error = 0;          ///< errno of a failed read

    ~RawInput() {
        if (fd >= 0) {
            ::close(fd);
        }
    }

    /// Up to cap bytes: > 0, 0 at the end, -1 on a read error (error set).
    ssize_t read(uint8_t* dst, size_t cap) {
        if (head_pos < head_len) {
            const size_t n = std::min(cap, head_len - head_pos);
            std::memcpy(dst, head + head_pos, n);
            head_pos += n;
            return static_cast<ssize_t>(n);
        }
        for (;;) {
            const ssize_t r = ::read(fd, dst, cap);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                error = errno;
                return -1;
            }
            consumed += static_cast<size_t>(r);
            return r;
        }
    }
};

}  // namespace

/// A source read once, front to back: stdin, a FIFO or pipe, or the
/// decompressed bytes of a gzip, zstd or xz capture. One virtual call per
/// buffer refill, never per packet.
class ByteStream {
public:
    virtual ~ByteStream() = default;
    /// Up to cap bytes: > 0, 0 at the clean end, -1 on an error (error()
    /// says what; cut() when the data simply stops too early).
    virtual ssize_t read(uint8_t* dst, size_t cap) = 0;
    const std::string& error() const { return error_; }
    bool cut() const { return cut_; }

protected:
    ssize_t fail(std::string why, bool cut) {
        error_ = std::move(why);
        cut_ = cut;
        return -1;
    }

    std::string error_;
    bool cut_ = false;
};

namespace {

/// An uncompressed stream: read() as it comes.
class PlainStream final : public ByteStream {
public:
    explicit PlainStream(std::unique_ptr<RawInput> in) : in_(std::move(in)) {}

    ssize_t read(uint8_t* dst, size_t cap) override {
        const ssize_t r = in_->read(dst, cap);
        if (r < 0) {
            return fail(std::string("read failed: ") + std::strerror(in_->error), false);
        }
        return r;
    }

private:
    std::unique_ptr<RawInput> in_;
};

/// Base of the decoders: the compressed bytes come in through one buffer.
class Decoder : public ByteStream {
protected:
    Decoder(std::unique_ptr<RawInput> in, const char* name)
        : in_(std::move(in)),
          name_(name),
          ibuf_(std::make_unique_for_overwrite<uint8_t[]>(kCompressedChunk)) {}

    /// Reads more compressed bytes: > 0, 0 at the end, -1 on a read error.
    ssize_t pull() {
        const ssize_t r = in_->read(ibuf_.get(), kCompressedChunk);
        if (r < 0) {
            return fail(std::string("read failed: ") + std::strerror(in_->error), false);
        }
        return r;
    }

    ssize_t damaged(const std::string& what) {
        return fail(std::string(name_) + " data corrupt near compressed offset " +
                        std::to_string(in_->consumed) + ": " + what,
                    false);
    }

    ssize_t cut_short() {
        return fail(std::string(name_) + " stream truncated: the compressed data ends after " +
                        std::to_string(in_->consumed) + " bytes, inside a compressed block",
                    true);
    }

    std::unique_ptr<RawInput> in_;
    const char* name_;
    std::unique_ptr<uint8_t[]> ibuf_;
};

/// gzip (any number of members, as `cat a.gz b.gz` makes) through zlib.
class GzipStream final : public Decoder {
public:
    explicit GzipStream(std::unique_ptr<RawInput> in) : Decoder(std::move(in), "gzip") {
        if (inflateInit2(&z_, 15 + 16) != Z_OK) {
            throw std::runtime_error("cannot start a gzip decoder");
        }
    }
    ~GzipStream() override { inflateEnd(&z_); }
    GzipStream(const GzipStream&) = delete;
    GzipStream& operator=(const GzipStream&) = delete;

    ssize_t read(uint8_t* dst, size_t cap) override {
        if (!error_.empty()) {
            return -1;
        }
        z_.next_out = dst;
        z_.avail_out = static_cast<uInt>(std::min<size_t>(cap, UINT32_MAX));
        const uInt room = z_.avail_out;
        while (z_.avail_out == room) {
            if (z_.avail_in == 0) {
                const ssize_t r = pull();
                if (r < 0) {
                    return -1;
                }
                if (r == 0) {
                    return member_done_ ? 0 : cut_short();
                }
                z_.next_in = ibuf_.get();
                z_.avail_in = static_cast<uInt>(r);
            }
            if (member_done_) {
                inflateReset(&z_);  // another member follows
                member_done_ = false;
            }
            const int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                member_done_ = true;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return damaged(z_.msg != nullptr ? z_.msg : "inflate error " + std::to_string(rc));
            }
        }
        return static_cast<ssize_t>(room - z_.avail_out);
    }

private:
    z_stream z_{};
    bool member_done_ = false;
};

/// zstd (any number of frames) through libzstd.
class ZstdStream final : public Decoder {
public:
    explicit ZstdStream(std::unique_ptr<RawInput> in)
        : Decoder(std::move(in), "zstd"), ds_(ZSTD_createDStream()) {
        if (ds_ == nullptr) {
            throw std::runtime_error("cannot start a zstd decoder");
        }
    }
    ~ZstdStream() override { ZSTD_freeDStream(ds_); }
    ZstdStream(const ZstdStream&) = delete;
    ZstdStream& operator=(const ZstdStream&) = delete;

    ssize_t read(uint8_t* dst, size_t cap) override {
        if (!error_.empty()) {
            return -1;
        }
        ZSTD_outBuffer out{dst, cap, 0};
        while (out.pos == 0) {
            if (in_pos_ == in_len_) {
                const ssize_t r = pull();
                if (r < 0) {
                    return -1;
                }
                if (r == 0) {
                    return frame_done_ ? 0 : cut_short();
                }
                in_pos_ = 0;
                in_len_ = static_cast<size_t>(r);
            }
            ZSTD_inBuffer in{ibuf_.get(), in_len_, in_pos_};
            const size_t rc = ZSTD_decompressStream(ds_, &out, &in);
            in_pos_ = in.pos;
            if (ZSTD_isError(rc)) {
                return damaged(ZSTD_getErrorName(rc));
            }
            frame_done_ = rc == 0;
        }
        return static_cast<ssize_t>(out.pos);
    }

private:
    ZSTD_DStream* ds_;
    size_t in_pos_ = 0;
    size_t in_len_ = 0;
    bool frame_done_ = false;
};

constexpr uint64_t kXzMemLimit = uint64_t{256} << 20;

/// xz (any number of concatenated streams) through liblzma.
class XzStream final : public Decoder {
public:
    explicit XzStream(std::unique_ptr<RawInput> in) : Decoder(std::move(in), "xz") {
        // 256 MiB covers every xz preset (-9: a 64 MiB dictionary); a header
        // asking for more (a damaged or hostile file) is an error, not an
        // allocation of up to 1.5 GiB.
        if (lzma_stream_decoder(&s_, kXzMemLimit, LZMA_CONCATENATED) != LZMA_OK) {
            throw std::runtime_error("cannot start an xz decoder");
        }
    }
    ~XzStream() override { lzma_end(&s_); }
    XzStream(const XzStream&) = delete;
    XzStream& operator=(const XzStream&) = delete;

    ssize_t read(uint8_t* dst, size_t cap) override {
        if (!error_.empty()) {
            return -1;
        }
        if (ended_) {
            return 0;
        }
        s_.next_out = dst;
        s_.avail_out = cap;
        while (s_.avail_out == cap) {
            if (s_.avail_in == 0 && !in_end_) {
                const ssize_t r = pull();
                if (r < 0) {
                    return -1;
                }
                in_end_ = r == 0;
                s_.next_in = ibuf_.get();
                s_.avail_in = static_cast<size_t>(r);
            }
            const lzma_ret rc = lzma_code(&s_, in_end_ ? LZMA_FINISH : LZMA_RUN);
            if (rc == LZMA_STREAM_END) {
                ended_ = true;
                break;
            }
            if (rc == LZMA_BUF_ERROR && in_end_) {
                return cut_short();
            }
            if (rc != LZMA_OK) {
                return damaged(describe(rc));
            }
        }
        return static_cast<ssize_t>(cap - s_.avail_out);
    }

private:
    static std::string describe(lzma_ret rc) {
        switch (rc) {
            case LZMA_FORMAT_ERROR:
                return "not in the xz format";
            case LZMA_OPTIONS_ERROR:
                return "unsupported compression options";
            case LZMA_DATA_ERROR:
                return "compressed data is corrupt";
            case LZMA_MEMLIMIT_ERROR:
                return "needs more than 256 MiB of memory to decode";
            case LZMA_MEM_ERROR:
                return "out of memory";
            default:
                return "liblzma error " + std::to_string(static_cast<int>(rc));
        }
    }

    lzma_stream s_ = LZMA_STREAM_INIT;
    bool in_end_ = false;
    bool ended_ = false;
};

/// Compression recognised from the first bytes, never from the name.
enum class Compression : uint8_t { none, gzip, zstd, xz };

Compression sniff(const uint8_t* p, size_t n) {
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        return Compression::gzip;
    }
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
        return Compression::zstd;
    }
    constexpr uint8_t kXzMagic[6] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
    if (n >= 6 && std::memcmp(p, kXzMagic, 6) == 0) {
        return Compression::xz;
    }
    return Compression::none;
}

std::unique_ptr<ByteStream> make_stream(std::unique_ptr<RawInput> in, Compression c) {
    switch (c) {
        case Compression::gzip:
            return std::make_unique<GzipStream>(std::move(in));
        case Compression::zstd:
            return std::make_unique<ZstdStream>(std::move(in));
        case Compression::xz:
            return std::make_unique<XzStream>(std::move(in));
        case Compression::none:
            break;
    }
    return std::make_unique<PlainStream>(std::move(in));
}

/// Size of a stream until its end is seen: large, and far from overflow.
constexpr size_t kUnknownSize = SIZE_MAX / 4;

}  // namespace

/// How far ahead of the record being read CaptureFile::next prefetches.
constexpr size_t kPrefetchAhead = 2048;

/// Streamed reading: bytes read per refill. Small enough to stay in the
/// cache between the copy and the packet handling that follows.
constexpr size_t kStreamChunk = size_t{1} << 20;

struct CaptureFile::Impl {
    const uint8_t* base = nullptr;
    size_t size = 0;  // bytes mapped (= file size)
    // classic pcap
    size_t pos = 0;
    bool big = false;
    uint64_t frac_mult = 1000;
    uint16_t linktype = 1;
    /// Before format 2.3 the record header had orig_len before incl_len;
    /// some 2.3 writers kept that order (libpcap and Wireshark both cope).
    enum class Lengths : uint8_t { in_order, swapped, maybe_swapped } lengths = Lengths::in_order;
    // pcapng
    NgState ng;

    // Streamed reading (CaptureFile::Access::streamed): packets are read with
    // pread() into one reused buffer instead of being touched in the map.
    // Touching a new page of a mapping costs a fault (and, under
    // shadow-paging hypervisors, a hypervisor exit) every page; a reused
    // buffer costs a copy. The map stays for open()'s header checks.
    int fd = -1;
    bool streamed = false;
    bool may_refill = true;   ///< false once a batch has handed out a packet
    bool auto_refill = true;  ///< no batches (begin_batch() never called): refill any time
    std::unique_ptr<uint8_t[]> buf;
    size_t buf_cap = 0;
    size_t buf_off = 0;           ///< file offset of buf[0]
    size_t buf_len = 0;           ///< valid bytes in buf
    int read_errno = 0;           ///< a failed pread: the reader stops with an error
    size_t chunk = kStreamChunk;  ///< bytes per refill

    // Sequential reading (a pipe, stdin, a FIFO, a compressed file): the
    // bytes come from `stream` front to back; size is kUnknownSize until the
    // end is seen. Always streamed.
    std::unique_ptr<ByteStream> stream;
    bool sequential = false;
    /// A refill found the end of the stream (size is now known): the caller
    /// retries the record with the real size.
    bool retry = false;

    /// Pointer to file bytes [off, off + n) (n <= size - off), or nullptr
    /// when they are not buffered and a refill is not allowed now (or the
    /// read failed: read_errno). Mapped mode: straight into the map.
    const uint8_t* view(size_t off, size_t n) {
        if (!streamed) {
            return base + off;
        }
        if (off >= buf_off && off + n <= buf_off + buf_len) {
            return buf.get() + (off - buf_off);
        }
        if (!may_refill || !(sequential ? refill_sequential(off, n) : refill(off, n))) {
            return nullptr;
        }
        return buf.get();
    }

    /// Reads from file offset off: at least n bytes (the buffer grows for a
    /// larger record), as much as a chunk when the file has it.
    bool refill(size_t off, size_t n) {
        const size_t want = std::min(std::max(n, chunk), size - off);
        if (want > buf_cap) {
            buf_cap = std::max(want, chunk);
            buf = std::make_unique_for_overwrite<uint8_t[]>(buf_cap);
        }
        size_t got = 0;
        while (got < want) {
            const ssize_t r =
                ::pread(fd, buf.get() + got, want - got, static_cast<off_t>(off + got));
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                // An error, or the file shrank under us: stop where the data stops.
                read_errno = r < 0 ? errno : EIO;
                buf_off = off;
                buf_len = got;
                return false;
            }
            got += static_cast<size_t>(r);
        }
        buf_off = off;
        buf_len = got;
        return true;
    }

    /// Sequential: keeps the bytes from off on (moved to the front), then
    /// reads until n are buffered. Each read() takes what the source has, up
    /// to the room left, so a slow pipe is not waited on for a whole chunk.
    /// At the end of the stream size becomes known and retry is set.
    bool refill_sequential(size_t off, size_t n) {
        const size_t end = buf_off + buf_len;
        size_t keep = 0;
        if (off < end) {
            keep = end - off;
        }
        if (n > buf_cap || buf == nullptr) {
            const size_t cap = std::max(n, chunk);
            auto grown = std::make_unique_for_overwrite<uint8_t[]>(cap);
            if (keep != 0) {
                std::memcpy(grown.get(), buf.get() + (off - buf_off), keep);
            }
            buf = std::move(grown);
            buf_cap = cap;
        } else if (keep != 0 && off != buf_off) {
            std::memmove(buf.get(), buf.get() + (off - buf_off), keep);
        }
        buf_off = std::min(off, end);
        buf_len = keep;
        // off beyond the buffered bytes (never for records read in order):
        // read and drop up to it.
        while (buf_off < off) {
            const ssize_t r = stream->read(buf.get(), std::min(buf_cap, off - buf_off));
            if (r <= 0) {
                return stream_stopped(r);
            }
            buf_off += static_cast<size_t>(r);
        }
        while (buf_len < n) {
            const ssize_t r = stream->read(buf.get() + buf_len, buf_cap - buf_len);
            if (r <= 0) {
                return stream_stopped(r);
            }
            buf_len += static_cast<size_t>(r);
        }
        return true;
    }

    bool stream_stopped(ssize_t r) {
        if (r == 0) {
            size = buf_off + buf_len;
            retry = true;
        } else {
            read_errno = EIO;  // the message comes from stream->error()
        }
        return false;
    }

    /// Sequential, at open: reads until n bytes from the start are buffered
    /// (or the stream ends). False on a stream error.
    bool fill_to(size_t n) {
        if (buf_len >= n || size != kUnknownSize) {
            return true;
        }
        const bool ok = refill_sequential(0, n);
        retry = false;
        return ok || read_errno == 0;
    }

    ~Impl() {
        if (base != nullptr) {
            ::munmap(const_cast<uint8_t*>(base), size);
        }
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

namespace {

/// Outcome of one pcapng block step.
enum class Step : uint8_t { packet, end, truncated, corrupt };

struct StepResult {
    Step step;
    size_t offset = 0;   // block start
    size_t have = 0;     // truncated: bytes present from offset
    size_t need = 0;     // truncated: bytes the block needs
    std::string reason;  // corrupt (built only on the error path)
};

StepResult done(Step s) {
    return StepResult{s, 0, 0, 0, {}};
}

StepResult cut(size_t off, size_t have, size_t need) {
    return StepResult{Step::truncated, off, have, need, {}};
}

StepResult bad(size_t off, std::string why) {
    return StepResult{Step::corrupt, off, 0, 0, std::move(why)};
}

/// IDB options: if_tsresol and if_tsoffset. A malformed option list ends the
/// scan quietly; the interface keeps the defaults for what was not read.
void parse_idb_options(const uint8_t* p, size_t len, bool big, Interface& ifc, bool& nanosecond) {
    size_t off = 0;
    while (len - off >= 4) {
        uint16_t code = load16(p + off, big);
        uint16_t olen = load16(p + off + 2, big);
        off += 4;
        if (code == kOptEnd || olen > len - off) {
            return;
        }
        if (code == kOptIfTsresol && olen >= 1) {
            ifc.scale = TsScale::from_tsresol(p[off]);
            if (TsScale::finer_than_usec(p[off])) {
                nanosecond = true;
            }
        } else if (code == kOptIfTsoffset && olen >= 8) {
            ifc.offset_ns = load64(p + off, big) * kNsPerSec;
        }
        size_t padded = (size_t{olen} + 3) & ~size_t{3};
        if (padded > len - off) {
            return;
        }
        off += padded;
    }
}

/// Reads pcapng blocks from st.pos until a packet, the end or an error.
/// Non-packet blocks update st (sections, interfaces) and are passed over.
StepResult ng_step(const uint8_t* base, size_t size, NgState& st, PacketRef& pkt) {
    for (;;) {
        const size_t off = st.pos;
        const size_t remaining = size - off;
        if (remaining == 0) {
            return done(Step::end);
        }
        if (remaining < 8) {
            return cut(off, remaining, kPcapngMinBlock);
        }
        const uint8_t* b = base + off;
        const uint32_t type = load32(b, st.big);  // SHB type reads the same either way
        bool big = st.big;
        if (type == kPcapngShb) {
            if (remaining < kPcapngMinBlock) {
                return cut(off, remaining, kPcapngMinBlock);
            }
            if (load32(b + 8, false) == kPcapngBom) {
                big = false;
            } else if (load32(b + 8, true) == kPcapngBom) {
                big = true;
            } else {
                return bad(off, "section header byte-order magic " + hex32(load32(b + 8, true)) +
                                    " is not 0x1a2b3c4d");
            }
        }
        const uint32_t len = load32(b + 4, big);
        if (len < kPcapngMinBlock) {
            return bad(off, "block length " + std::to_string(len) + " is less than 12");
        }
        if (len % 4 != 0) {
            return bad(off, "block length " + std::to_string(len) + " is not a multiple of 4");
        }
        if (len > remaining) {
            return cut(off, remaining, len);
        }
        const uint32_t trailer = load32(b + len - 4, big);
        if (trailer != len) {
            return bad(off, "block length " + std::to_string(len) + " and trailing length " +
                                std::to_string(trailer) + " differ");
        }
        const uint8_t* body = b + 8;
        const size_t body_len = len - kPcapngMinBlock;

        switch (type) {
            case kPcapngShb: {
                if (len < kShbFixed) {
                    return bad(off, "section header block length " + std::to_string(len) +
                                        " is less than 28");
                }
                const uint16_t major = load16(body + 4, big);
                if (major != 1) {
                    return bad(off, "unsupported pcapng version " + std::to_string(major) + "." +
                                        std::to_string(load16(body + 6, big)));
                }
                st.big = big;
                st.ifaces.clear();  // interface ids are per section
                break;
            }
            case kPcapngIdb: {
                if (body_len < 8) {
                    return bad(off, "interface description block too short");
                }
                Interface ifc;
                ifc.linktype = load16(body, big);
                ifc.snaplen = load32(body + 4, big);
                parse_idb_options(body + 8, body_len - 8, big, ifc, st.nanosecond);
                if (st.first_linktype < 0) {
                    st.first_linktype = ifc.linktype;
                }
                st.ifaces.push_back(ifc);  // once per interface, never per packet
                break;
            }
            case kPcapngEpb:
            case kPcapngPb: {
                if (body_len < 20) {
                    return bad(off, "packet block too short");
                }
                const uint32_t ifid =
                    type == kPcapngEpb ? load32(body, big) : uint32_t{load16(body, big)};
                if (ifid >= st.ifaces.size()) {
                    return bad(off, "interface id " + std::to_string(ifid) + " is not defined (" +
                                        std::to_string(st.ifaces.size()) +
                                        " interfaces in this section)");
                }
                const uint64_t ts = (uint64_t{load32(body + 4, big)} << 32) | load32(body + 8, big);
                const uint32_t caplen = load32(body + 12, big);
                const uint32_t origlen = load32(body + 16, big);
                if (caplen > body_len - 20) {
                    return bad(off, "captured length " + std::to_string(caplen) +
                                        " is larger than the block (" +
                                        std::to_string(body_len - 20) + " bytes of data)");
                }
                const Interface& ifc = st.ifaces[ifid];
                pkt.data = body + 20;
                pkt.caplen = caplen;
                pkt.wirelen = origlen;
                pkt.ts_ns = ifc.scale.to_ns(ts) + ifc.offset_ns;
                pkt.linktype = ifc.linktype;
                pkt.port = ifid > 0xffff ? uint16_t{0xffff} : static_cast<uint16_t>(ifid);
                pkt.queue = 0;
                st.pos = off + len;
                return done(Step::packet);
            }
            case kPcapngSpb: {
                if (body_len < 4) {
                    return bad(off, "simple packet block too short");
                }
                if (st.ifaces.empty()) {
                    return bad(off, "simple packet block before any interface description");
                }
                const Interface& ifc = st.ifaces[0];
                const uint32_t origlen = load32(body, big);
                uint32_t caplen = origlen;
                if (caplen > body_len - 4) {
                    caplen = static_cast<uint32_t>(body_len - 4);
                }
                if (ifc.snaplen != 0 && caplen > ifc.snaplen) {
                    caplen = ifc.snaplen;
                }
                pkt.data = body + 4;
                pkt.caplen = caplen;
                pkt.wirelen = origlen;
                pkt.ts_ns = 0;  // an SPB has no timestamp
                pkt.linktype = ifc.linktype;
                pkt.port = 0;  // a simple packet block is on interface 0
                pkt.queue = 0;
                st.pos = off + len;
                return done(Step::packet);
            }
            default:
                break;  // statistics, name resolution, custom, ...: not needed
        }
        st.pos = off + len;
    }
}

}  // namespace

CaptureFile CaptureFile::open(const std::string& path, Access access, size_t stream_chunk) {
    CaptureFile f;
    f.path_ = path;
    auto fail = [&](const std::string& why) { return CaptureOpenError(path + ": " + why); };

    const bool is_stdin = path == "-";
    // stdin is duplicated so that closing the reader leaves fd 0 alone.
    int fd = is_stdin ? ::fcntl(0, F_DUPFD_CLOEXEC, 0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw fail(std::strerror(errno));
    }
    auto close_fd = [&] { ::close(fd); };
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
        int e = errno;
        close_fd();
        throw fail(std::strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close_fd();
        throw fail("is a directory");
    }
    f.impl_ = new Impl;
    Impl& im = *f.impl_;
    // stdin is always a stream, even when redirected from a file: it is read
    // from where its offset stands, as any program reading stdin would.
    const bool regular = S_ISREG(sb.st_mode) && !is_stdin;

    // The first bytes say whether the input is compressed: pread() on a
    // file (the offset stays at 0), read() on anything else (kept, and
    // handed to the decoder first).
    auto raw = std::make_unique<RawInput>();
    raw->fd = fd;
    while (raw->head_len < 6) {
        const ssize_t r = regular ? ::pread(fd, raw->head + raw->head_len, 6 - raw->head_len,
                                            static_cast<off_t>(raw->head_len))
                                  : ::read(fd, raw->head + raw->head_len, 6 - raw->head_len);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            throw fail(std::strerror(errno));  // raw closes fd
        }
        if (r == 0) {
            break;
        }
        raw->head_len += static_cast<size_t>(r);
    }
    const Compression comp = sniff(raw->head, raw->head_len);
    if (regular) {
        raw->head_len = 0;  // read() starts at offset 0 anyway
    } else {
        raw->consumed = raw->head_len;
    }

    size_t size = 0;  // bytes available to the header checks
    const uint8_t* b = nullptr;
    if (!regular || comp != Compression::none) {
        // Stdin, a FIFO, a pipe, a compressed file: one pass, front to back.
        im.sequential = true;
        im.streamed = true;
        im.size = kUnknownSize;
        if (stream_chunk != 0) {
            im.chunk = stream_chunk;
        }
        if (regular) {
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        }
        im.stream = make_stream(std::move(raw), comp);
    } else {
        raw->fd = -1;  // the fd is kept below, not by a stream
        raw.reset();
        size = static_cast<size_t>(sb.st_size);
        if (size == 0) {
            close_fd();
            return f;  // no packets, no header: a clean, empty input
        }
        void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        int e = errno;
        if (m == MAP_FAILED) {
            close_fd();
            throw fail(std::string("cannot map the file: ") + std::strerror(e));
        }
        im.base = static_cast<const uint8_t*>(m);
        im.size = size;
        b = im.base;
        if (access == Access::streamed) {
            im.fd = fd;  // closed with the Impl
            im.streamed = true;
            if (stream_chunk != 0) {
                im.chunk = stream_chunk;
            }
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        } else {
            close_fd();
            ::madvise(m, size, MADV_SEQUENTIAL);
        }
    }
    // Sequential: the header checks read the buffer, filled as they need.
    auto need = [&](size_t n) {
        if (!im.sequential) {
            return;
        }
        if (!im.fill_to(n)) {
            throw fail(im.stream->error());
        }
        b = im.buf.get();
        size = im.buf_len;
    };
    need(kShbFixed);
    if (im.sequential && size == 0) {
        return f;  // an empty stream: a clean, empty input
    }

    if (size < 4) {
        throw fail("too short for a capture file header (" + std::to_string(size) + " bytes)");
    }
    const uint32_t magic_be = load32(b, true);
    const uint32_t magic_le = load32(b, false);
    if (magic_le == kPcapMagicUsec || magic_le == kPcapMagicNsec || magic_be == kPcapMagicUsec ||
        magic_be == kPcapMagicNsec) {
        im.big = magic_be == kPcapMagicUsec || magic_be == kPcapMagicNsec;
        const uint32_t magic = im.big ? magic_be : magic_le;
        const bool nsec = magic == kPcapMagicNsec;
        if (size < kPcapFileHeader) {
            throw fail("too short for a pcap file header (" + std::to_string(size) +
                       " of 24 bytes)");
        }
        const uint16_t major = load16(b + 4, im.big);
        const uint16_t minor = load16(b + 6, im.big);
        if (major < 2) {
            throw fail("unsupported pcap version " + std::to_string(major) + "." +
                       std::to_string(minor));
        }
        if ((major == 2 && minor < 3) || major == 543) {  // 543.0: DG/UX tcpdump
            im.lengths = Impl::Lengths::swapped;
        } else if (major == 2 && minor == 3) {
            im.lengths = Impl::Lengths::maybe_swapped;
        }
        f.format_ = nsec ? CaptureFormat::pcap_nsec : CaptureFormat::pcap_usec;
        f.nanosecond_ = nsec;
        im.frac_mult = nsec ? 1 : 1000;
        // The upper bits of the link-type field can carry FCS information.
        im.linktype = static_cast<uint16_t>(load32(b + 20, im.big) & 0xffff);
        f.linktype_ = im.linktype;
        im.pos = kPcapFileHeader;
        return f;
    }
    if (magic_be != kPcapngShb) {
        throw fail("not a pcap or pcapng file (magic " + hex32(magic_be) + ")");
    }

    // pcapng: the first Section Header Block is the file header; check it here
    // so that a broken one is an open error and not a corrupt first record.
    f.format_ = CaptureFormat::pcapng;
    if (size < kShbFixed) {
        throw fail("too short for a pcapng section header (" + std::to_string(size) +
                   " of 28 bytes)");
    }
    bool big;
    if (load32(b + 8, false) == kPcapngBom) {
        big = false;
    } else if (load32(b + 8, true) == kPcapngBom) {
        big = true;
    } else {
        throw fail("not a pcapng file (byte-order magic " + hex32(load32(b + 8, true)) + ")");
    }
    const uint32_t shb_len = load32(b + 4, big);
    if (shb_len < kShbFixed || shb_len % 4 != 0) {
        throw fail("pcapng section header block length " + std::to_string(shb_len) +
                   " is not valid");
    }
    if (shb_len <= kMaxRecordLen) {
        need(shb_len);
    }
    if (shb_len > size) {
        throw fail("file truncated inside the pcapng section header block (" +
                   std::to_string(size) + " of " + std::to_string(shb_len) + " bytes present)");
    }
    const uint16_t major = load16(b + 12, big);
    if (major != 1) {
        throw fail("unsupported pcapng version " + std::to_string(major) + "." +
                   std::to_string(load16(b + 14, big)));
    }
    if (load32(b + shb_len - 4, big) != shb_len) {
        throw fail("pcapng section header block length " + std::to_string(shb_len) +
                   " and trailing length differ");
    }

    // Look ahead through the blocks before the first packet so that
    // linktype() and nanosecond() describe the file before it is read.
    NgState look = im.ng;
    PacketRef scratch;
    if (!im.sequential) {
        (void)ng_step(im.base, im.size, look, scratch);  // stops at a packet, the end or an error
    } else {
        // A stream: read on until the first packet block is buffered (or the
        // stream ends); the buffer keeps it all for next().
        for (;;) {
            look = im.ng;
            const StepResult r = ng_step(im.buf.get(), im.buf_len, look, scratch);
            const bool more = im.size == kUnknownSize;
            if (!more || r.step == Step::packet || r.step == Step::corrupt ||
                im.buf_len >= kMaxRecordLen) {
                break;
            }
            const size_t want =
                r.step == Step::truncated
                    ? std::max(r.offset + std::max(r.need, kPcapngMinBlock), im.buf_len + 1)
                    : im.buf_len + kPcapngMinBlock;
            if (!im.fill_to(std::min<size_t>(want, kMaxRecordLen))) {
                throw fail(im.stream->error());
            }
        }
    }
    if (look.first_linktype >= 0) {
        f.linktype_ = static_cast<uint16_t>(look.first_linktype);
    }
    f.nanosecond_ = look.nanosecond;
    return f;
}

CaptureFile::CaptureFile(CaptureFile&& o) noexcept
    : impl_(std::exchange(o.impl_, nullptr)),
      path_(std::move(o.path_)),
      message_(std::move(o.message_)),
      format_(o.format_),
      linktype_(o.linktype_),
      nanosecond_(o.nanosecond_),
      records_(o.records_) {}

CaptureFile& CaptureFile::operator=(CaptureFile&& o) noexcept {
    if (this != &o) {
        delete impl_;
        impl_ = std::exchange(o.impl_, nullptr);
        path_ = std::move(o.path_);
        message_ = std::move(o.message_);
        format_ = o.format_;
        linktype_ = o.linktype_;
        nanosecond_ = o.nanosecond_;
        records_ = o.records_;
    }
    return *this;
}

CaptureFile::~CaptureFile() {
    delete impl_;
}

void CaptureFile::begin_batch() {
    if (impl_ != nullptr) {
        impl_->auto_refill = false;
        impl_->may_refill = true;
    }
}

uint64_t CaptureFile::bytes_read() const {
    if (impl_ == nullptr) {
        return 0;
    }
    return format_ == CaptureFormat::pcapng ? impl_->ng.pos : impl_->pos;
}

bool CaptureFile::size_known() const {
    return impl_ == nullptr || !impl_->sequential;
}

uint64_t CaptureFile::size() const {
    return size_known() && impl_ != nullptr ? impl_->size : 0;
}

CaptureFile::Next CaptureFile::next(PacketRef& pkt) {
    for (;;) {
        const Next r = next_once(pkt);
        if (r != Next::again || impl_ == nullptr || !impl_->retry) {
            return r;
        }
        impl_->retry = false;  // a stream's end was found: read the record again, knowing it
    }
}

CaptureFile::Next CaptureFile::next_once(PacketRef& pkt) {
    if (impl_ == nullptr || impl_->size == 0) {
        return Next::end;
    }
    Impl& im = *impl_;
    const uint64_t n = records_ + 1;  // 1-based number of the record being read
    auto truncated = [&](size_t off, size_t have, size_t need) {
        message_ = path_ + ": file truncated inside record " + std::to_string(n) + " (offset " +
                   std::to_string(off) + "): " + std::to_string(have) + " of " +
                   std::to_string(need) + " bytes present";
        return Next::truncated;
    };
    auto corrupt = [&](size_t off, const std::string& why) {
        message_ = path_ + ": corrupt record " + std::to_string(n) + " at offset " +
                   std::to_string(off) + ": " + why;
        return Next::corrupt;
    };
    // A view that could not be had: a batch to end, or a read error.
    auto unavailable = [&](size_t off) {
        if (im.read_errno == 0) {
            return Next::again;
        }
        if (im.sequential && !im.stream->error().empty()) {
            // A stream stopped by a read error, or by a damaged or cut
            // compressed stream: the packets before it were handed out.
            message_ = path_ + ": " + im.stream->error() + " (in record " + std::to_string(n) +
                       ", at offset " + std::to_string(off) + " of the capture data)";
            return im.stream->cut() ? Next::truncated : Next::corrupt;
        }
        message_ = path_ + ": read failed at offset " + std::to_string(off) + " (record " +
                   std::to_string(n) + "): " + std::strerror(im.read_errno);
        return Next::corrupt;
    };
    auto handed_out = [&] {
        ++records_;
        im.may_refill = im.auto_refill;
        return Next::packet;
    };

    if (format_ == CaptureFormat::pcapng) {
        for (;;) {
            // ng_step works on offsets from the base it is given: the map,
            // or the buffer (offsets moved by buf_off while it runs).
            StepResult r;
            size_t shift = 0;
            if (!im.streamed) {
                r = ng_step(im.base, im.size, im.ng, pkt);
            } else {
                if (im.ng.pos < im.buf_off ||
                    im.ng.pos + std::min(kPcapngMinBlock, im.size - im.ng.pos) >
                        im.buf_off + im.buf_len) {
                    // Not even a block header buffered (the first call, or the
                    // buffer ends here): read on from the block.
                    if (im.view(im.ng.pos, std::min(kPcapngMinBlock, im.size - im.ng.pos)) ==
                        nullptr) {
                        return unavailable(im.ng.pos);
                    }
                }
                shift = im.buf_off;
                im.ng.pos -= shift;
                r = ng_step(im.buf.get(), im.buf_len, im.ng, pkt);
                im.ng.pos += shift;
                const bool more_in_file = im.buf_off + im.buf_len < im.size;
                if (more_in_file && (r.step == Step::truncated || r.step == Step::end)) {
                    // Cut by the buffer, not by the file (ng_step stepped over
                    // blocks right to the buffer's end, or found one that
                    // goes past it): read on from that block.
                    const size_t at = r.step == Step::end ? im.ng.pos : r.offset + shift;
                    const size_t need = std::min(
                        std::max<size_t>(r.step == Step::end ? 0 : r.need, kPcapngMinBlock),
                        im.size - at);
                    if (im.view(at, need) == nullptr) {
                        return unavailable(at);
                    }
                    continue;
                }
            }
            switch (r.step) {
                case Step::packet:
                    if (im.ng.nanosecond) {
                        nanosecond_ = true;
                    }
                    return handed_out();
                case Step::end:
                    return Next::end;
                case Step::truncated:
                    return truncated(r.offset + shift, r.have, r.need);
                case Step::corrupt:
                    return corrupt(r.offset + shift, r.reason);
            }
            return Next::end;
        }
    }

    const size_t off = im.pos;
    const size_t remaining = im.size - off;
    if (remaining == 0) {
        return Next::end;
    }
    if (remaining < kPcapRecordHeader) {
        return truncated(off, remaining, kPcapRecordHeader);
    }
    const uint8_t* h = im.view(off, kPcapRecordHeader);
    if (h == nullptr) {
        return unavailable(off);
    }
    uint32_t incl = load32(h + 8, im.big);
    uint32_t orig = load32(h + 12, im.big);
    if (im.lengths == Impl::Lengths::swapped ||
        (im.lengths == Impl::Lengths::maybe_swapped && incl > orig)) {
        std::swap(incl, orig);
    }
    if (incl > kMaxRecordLen) {
        return corrupt(off, "captured length " + std::to_string(incl) + " is larger than " +
                                std::to_string(kMaxRecordLen));
    }
    if (incl > remaining - kPcapRecordHeader) {
        return truncated(off, remaining, kPcapRecordHeader + size_t{incl});
    }
    h = im.view(off, kPcapRecordHeader + size_t{incl});  // may have moved (a refill)
    if (h == nullptr) {
        return unavailable(off);
    }
    // The reader walks forward: touch what comes a few packets on while
    // this one is handled.
    __builtin_prefetch(h + kPrefetchAhead);
    __builtin_prefetch(h + kPrefetchAhead + 64);
    pkt.data = h + kPcapRecordHeader;
    pkt.caplen = incl;
    pkt.wirelen = orig;  // may be below incl: accepted as is
    pkt.ts_ns =
        uint64_t{load32(h, im.big)} * kNsPerSec + uint64_t{load32(h + 4, im.big)} * im.frac_mult;
    pkt.linktype = im.linktype;
    pkt.port = 0;
    pkt.queue = 0;
    im.pos = off + kPcapRecordHeader + incl;
    return handed_out();
}

}  // namespace spate
