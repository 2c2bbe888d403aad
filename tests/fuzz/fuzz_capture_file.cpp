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

#include "memfd_file.hpp"
#include "spate/port/capture_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = spate_fuzz::write_memfd(data, size);
    try {
        spate::CaptureFile f = spate::CaptureFile::open(path);
        spate::PacketRef pkt;
        uint64_t sum = 0;
        while (f.next(pkt) == spate::CaptureFile::Next::packet) {
            // Touch the first and last byte so a bad pointer or length shows up.
            if (pkt.caplen > 0) {
                sum += pkt.data[0] + pkt.data[pkt.caplen - 1];
            }
        }
        if (f.records_read() > size) {
            std::abort();  // every record takes at least one byte of the file
        }
        (void)sum;
    } catch (const spate::CaptureOpenError&) {
        // rejected inputs are fine
    }
    return 0;
}
