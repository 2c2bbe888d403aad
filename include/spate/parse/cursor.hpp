#pragma once
/// A non-owning, bounds-checked reader over the bytes of one frame.
///
/// Failure is sticky (the mercury `datum` idiom): a read or skip that runs
/// past the end returns 0, sets the failure flag and empties the cursor, so
/// every later read in the same chain also returns 0. Parsers read a whole
/// header with no checks in between and test ok() once at the end.
#include <cstddef>
#include <cstdint>

namespace spate::parse {

/// A window [pos, end) into a frame that starts at `base`. Copying a cursor
/// is cheap and gives an independent reader over the same bytes.
class Cursor {
public:
    constexpr Cursor() = default;

    /// A cursor over a whole frame: offset() counts from `data`.
    constexpr Cursor(const uint8_t* data, size_t len) : base_(data), pos_(data), end_(data + len) {}

    /// False once any read, skip or sub() went past the end.
    constexpr bool ok() const { return ok_; }

    /// Bytes left between the read position and the end.
    constexpr size_t remaining() const { return static_cast<size_t>(end_ - pos_); }

    /// True when at least n bytes are left.
    constexpr bool has(size_t n) const { return n <= remaining(); }

    /// Position of the next byte, counted from the start of the frame.
    constexpr size_t offset() const { return static_cast<size_t>(pos_ - base_); }

    /// The next byte to read (valid for remaining() bytes).
    constexpr const uint8_t* data() const { return pos_; }

    /// Marks the cursor failed and empties it.
    constexpr void fail() {
        ok_ = false;
        pos_ = end_;
    }

    /// Reads one byte; 0 and failure when none is left.
    constexpr uint8_t read_u8() {
        if (!has(1)) {
            fail();
            return 0;
        }
        return *pos_++;
    }

    /// Reads a 16-bit big-endian (network order) value.
    constexpr uint16_t read_u16() {
        if (!has(2)) {
            fail();
            return 0;
        }
        uint16_t v = static_cast<uint16_t>(pos_[0] << 8 | pos_[1]);
        pos_ += 2;
        return v;
    }

    /// Reads a 32-bit big-endian (network order) value.
    constexpr uint32_t read_u32() {
        if (!has(4)) {
            fail();
            return 0;
        }
        uint32_t v = uint32_t{pos_[0]} << 24 | uint32_t{pos_[1]} << 16 | uint32_t{pos_[2]} << 8 |
                     uint32_t{pos_[3]};
        pos_ += 4;
        return v;
    }

    /// Advances n bytes; failure when fewer are left.
    constexpr void skip(size_t n) {
        if (!has(n)) {
            fail();
            return;
        }
        pos_ += n;
    }

    /// Byte at `at` past the read position without consuming it; 0 when out
    /// of range. Never sets the failure flag (used to look before parsing).
    constexpr uint8_t peek_u8(size_t at = 0) const { return has(at + 1) ? pos_[at] : 0; }

    /// Big-endian 16-bit value at `at` past the read position; 0 when out of range.
    constexpr uint16_t peek_u16(size_t at = 0) const {
        return has(at + 2) ? static_cast<uint16_t>(pos_[at] << 8 | pos_[at + 1]) : 0;
    }

    /// Takes the next n bytes as a cursor of their own and advances past
    /// them. When fewer than n are left both cursors fail.
    constexpr Cursor sub(size_t n) {
        Cursor s = *this;
        if (!has(n)) {
            fail();
            s.fail();
            return s;
        }
        s.end_ = pos_ + n;
        pos_ += n;
        return s;
    }

    /// Takes up to n bytes (fewer when the capture ends first) as a cursor of
    /// their own and advances past them. Never fails: this is how a length
    /// field from a header bounds a payload that snaplen may have cut.
    constexpr Cursor sub_at_most(size_t n) {
        size_t k = n < remaining() ? n : remaining();
        Cursor s = *this;
        s.end_ = pos_ + k;
        pos_ += k;
        return s;
    }

private:
    const uint8_t* base_ = nullptr;
    const uint8_t* pos_ = nullptr;
    const uint8_t* end_ = nullptr;
    bool ok_ = true;
};

}  // namespace spate::parse
