// Fuzz target: arbitrary bytes as a capture file. The bytes go into a memfd
// (no file system litter, nothing shared between parallel runs) that
// CaptureFile opens through /proc/self/fd and reads to the end.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "memfd_file.hpp"
#include "spate/port/capture_file.hpp"

namespace {

struct Seen {
    uint64_t ts;
    uint32_t caplen;
    uint32_t wirelen;
    uint16_t linktype;
    std::string data;
    bool operator==(const Seen&) const = default;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = spate_fuzz::write_memfd(data, size);
    try {
        // Mapped, then streamed in small chunks and batches (refills land
        // inside records and blocks): both must read the same packets and
        // end the same way.
        spate::CaptureFile f = spate::CaptureFile::open(path);
        spate::PacketRef pkt;
        std::vector<Seen> mapped;
        spate::CaptureFile::Next last;
        while ((last = f.next(pkt)) == spate::CaptureFile::Next::packet) {
            mapped.push_back({pkt.ts_ns, pkt.caplen, pkt.wirelen, pkt.linktype,
                              std::string(reinterpret_cast<const char*>(pkt.data), pkt.caplen)});
        }
        if (f.records_read() > size) {
            std::abort();  // every record takes at least one byte of the file
        }
        const size_t chunk = 1 + (size > 0 ? data[0] % 61 : 0);
        spate::CaptureFile g =
            spate::CaptureFile::open(path, spate::CaptureFile::Access::streamed, chunk);
        std::vector<Seen> streamed;
        spate::CaptureFile::Next glast = spate::CaptureFile::Next::end;
        for (bool more = true; more;) {
            g.begin_batch();
            for (int i = 0; i < 3; ++i) {
                glast = g.next(pkt);
                if (glast == spate::CaptureFile::Next::again) {
                    if (i == 0) {
                        std::abort();  // a batch's first packet can always be read
                    }
                    break;
                }
                if (glast != spate::CaptureFile::Next::packet) {
                    more = false;
                    break;
                }
                streamed.push_back({pkt.ts_ns, pkt.caplen, pkt.wirelen, pkt.linktype,
                                    std::string(reinterpret_cast<const char*>(pkt.data),
                                                pkt.caplen)});
            }
        }
        if (streamed != mapped || glast != last || g.message() != f.message()) {
            std::abort();
        }
    } catch (const spate::CaptureOpenError&) {
        // rejected inputs are fine
    }
    return 0;
}
