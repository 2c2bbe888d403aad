#pragma once
/// Reader for capture files: classic pcap (microsecond and nanosecond,
/// either byte order) and pcapng (any number of sections and interfaces,
/// per-interface link type and timestamp resolution), from a regular file
/// (mapped or pread), or front to back from stdin ("-"), a FIFO, a pipe or
/// /dev/fd/N. gzip, zstd and xz compression is undone while reading. The
/// format and the compression are detected from the magic numbers, never from
/// the file name.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "spate/core/packet.hpp"

namespace spate {

/// Thrown by CaptureFile::open for a file that cannot be read at all
/// (missing, unreadable, no known magic). what() names the file.
class CaptureOpenError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class CaptureFormat : uint8_t { pcap_usec, pcap_nsec, pcapng };

class CaptureFile {
public:
    enum class Next : uint8_t {
        packet,     ///< pkt filled
        end,        ///< clean end of file
        truncated,  ///< file ends inside a record or block: message() says where; stop
        corrupt,  ///< a record that cannot be right (caplen over 256 MiB / block length nonsense),
                  ///< or a read error: message(); stop
        again,    ///< streamed, in a batch: the next packet needs a refill; end the batch,
                  ///< call begin_batch() and next() again
    };

    /// How packet data is reached.
    enum class Access : uint8_t {
        /// pkt.data points into a map of the whole file, valid while this
        /// object lives.
        mapped,
        /// The file is read with pread() into one reused buffer (1 MiB, more
        /// for a larger record): far fewer page faults than touching every
        /// page of a map. pkt.data is valid until the next next() call; with
        /// batches (begin_batch()), until the next begin_batch().
        streamed,
    };

    /// Opens the file (and maps it: the headers are checked at open). An
    /// empty (0-byte) file opens fine and yields end. "-" is stdin. Stdin,
    /// FIFOs, pipes and compressed files are always read as a stream
    /// (read(), no seeking, size unknown until the end), as Access::streamed
    /// says, whatever `access` asks; a damaged or cut compressed stream ends
    /// the file as corrupt or truncated after the last whole packet. Throws
    /// CaptureOpenError naming the file for anything unreadable.
    /// stream_chunk: bytes per read when streamed (0: 1 MiB); tests use
    /// tiny chunks to refill at every position of a record.
    static CaptureFile open(const std::string& path, Access access = Access::mapped,
                            size_t stream_chunk = 0);

    CaptureFile(CaptureFile&&) noexcept;
    CaptureFile& operator=(CaptureFile&&) noexcept;
    ~CaptureFile();

    /// Next packet; pkt.data valid as Access says. pkt.port is the pcapng
    /// interface id (0 for pcap), pkt.queue 0.
    Next next(PacketRef& pkt);

    /// Streamed: starts a batch. The packets that next() hands out from here
    /// stay valid until the next begin_batch(); next() refills the buffer
    /// only before the batch's first packet and says `again` when the batch
    /// cannot go on without one. Without batches, next() refills as needed.
    void begin_batch();

    /// For truncated / corrupt: "FILE: truncated inside record 6 (offset N)".
    const std::string& message() const { return message_; }
    const std::string& path() const { return path_; }
    CaptureFormat format() const { return format_; }
    /// Link type of the first interface (pcap header, or first pcapng IDB).
    uint16_t linktype() const { return linktype_; }
    /// True when the file's timestamps have sub-microsecond digits
    /// (nanosecond pcap, or a pcapng interface with finer if_tsresol).
    bool nanosecond() const { return nanosecond_; }
    uint64_t records_read() const { return records_; }
    /// Bytes of capture data read so far (the offset of the next record;
    /// of the decompressed data for a compressed file). For progress: read
    /// once per burst, never per packet.
    uint64_t bytes_read() const;
    /// True when size() is the file's length: a regular, uncompressed
    /// file. Stdin, FIFOs, pipes and compressed files: false.
    bool size_known() const;
    uint64_t size() const;

private:
    CaptureFile() = default;
    Next next_once(PacketRef& pkt);
    struct Impl;
    Impl* impl_ = nullptr;
    std::string path_;
    std::string message_;
    CaptureFormat format_ = CaptureFormat::pcap_usec;
    uint16_t linktype_ = 1;
    bool nanosecond_ = false;
    uint64_t records_ = 0;
};

}  // namespace spate
