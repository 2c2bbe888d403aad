#pragma once
// Fuzz input as a file: the bytes go into one memfd per process (no file
// system litter, nothing shared between parallel runs), opened by path
// through /proc/self/fd.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace spate_fuzz {

/// Replaces the memfd's content with data[0..size) and returns its path.
inline std::string write_memfd(const uint8_t* data, size_t size) {
    static int fd = [] {
        int f = ::memfd_create("spate_fuzz_input", MFD_CLOEXEC);
        if (f < 0) {
            std::perror("memfd_create");
            std::abort();
        }
        return f;
    }();
    if (::ftruncate(fd, 0) != 0) {
        std::abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t w = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
        if (w <= 0) {
            std::abort();
        }
        done += static_cast<size_t>(w);
    }
    return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace spate_fuzz
