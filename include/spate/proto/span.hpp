#pragma once
/// A non-owning view of bytes inside a message (a packet, a reassembly
/// buffer, or a flow's saved state). Valid only while those bytes are.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spate::proto {

struct Span {
    const uint8_t* p = nullptr;
    uint32_t n = 0;

    constexpr bool empty() const { return n == 0; }
    constexpr const uint8_t* begin() const { return p; }
    constexpr const uint8_t* end() const { return p + n; }
    std::string_view text() const {
        return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
    }
};

}  // namespace spate::proto
