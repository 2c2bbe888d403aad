// CaptureFile: classic pcap and pcapng read straight out of a read-only
// private mapping. Every read is checked against the end of the mapping; the
// format comes from the magic number only.
#include "spate/port/capture_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
    size_t buf_off = 0;  ///< file offset of buf[0]
    size_t buf_len = 0;  ///< valid bytes in buf
    int read_errno = 0;  ///< a failed pread: the reader stops with an error
    size_t chunk = kStreamChunk;  ///< bytes per refill

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
        if (!may_refill || !refill(off, n)) {
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
            const ssize_t r = ::pread(fd, buf.get() + got, want - got, static_cast<off_t>(off + got));
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

    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw fail(std::strerror(errno));
    }
    struct stat sb {};
    if (::fstat(fd, &sb) != 0) {
        int e = errno;
        ::close(fd);
        throw fail(std::strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        ::close(fd);
        throw fail("not a regular file");
    }
    f.impl_ = new Impl;
    const size_t size = static_cast<size_t>(sb.st_size);
    if (size == 0) {
        ::close(fd);
        return f;  // no packets, no header: a clean, empty input
    }
    void* m = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    if (m == MAP_FAILED) {
        ::close(fd);
        throw fail(std::string("cannot map the file: ") + std::strerror(e));
    }
    f.impl_->base = static_cast<const uint8_t*>(m);
    f.impl_->size = size;
    if (access == Access::streamed) {
        f.impl_->fd = fd;  // closed with the Impl
        f.impl_->streamed = true;
        if (stream_chunk != 0) {
            f.impl_->chunk = stream_chunk;
        }
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    } else {
        ::close(fd);
        ::madvise(m, size, MADV_SEQUENTIAL);
    }

    Impl& im = *f.impl_;
    const uint8_t* b = im.base;
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
    (void)ng_step(im.base, im.size, look, scratch);  // stops at a packet, the end or an error
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

CaptureFile::Next CaptureFile::next(PacketRef& pkt) {
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
                    const size_t need =
                        std::min(std::max<size_t>(r.step == Step::end ? 0 : r.need,
                                                  kPcapngMinBlock),
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
    im.pos = off + kPcapRecordHeader + incl;
    return handed_out();
}

}  // namespace spate
