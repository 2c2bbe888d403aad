#pragma once
/// Waiting for a ring without burning a core: spin briefly, then yield, then
/// sleep in growing steps (at most 200 us). Used only when there is no work.
#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace spate {

class Backoff {
public:
    void wait() {
        if (round_ < 32) {
#if defined(__x86_64__) || defined(__i386__)
            _mm_pause();
#endif
        } else if (round_ < 64) {
            std::this_thread::yield();
        } else {
            uint32_t us = round_ < 200 ? 10 : 200;
            std::this_thread::sleep_for(std::chrono::microseconds(us));
        }
        if (round_ < 1000) {
            ++round_;
        }
    }
    void reset() {
        round_ = 0;
    }

private:
    uint32_t round_ = 0;
};

}  // namespace spate
