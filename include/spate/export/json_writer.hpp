#pragma once
/// A small, allocation-free-in-steady-state JSON text builder appending to a
/// growable buffer. It tracks commas itself; strings are always escaped so
/// the output is valid JSON (and valid UTF-8) whatever bytes go in.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

namespace spate {

/// An object key written as a string literal: checked at compile time (no
/// byte that would need escaping), so writing it is a single copy.
class JsonKey {
public:
    template <size_t N>
    consteval JsonKey(const char (&s)[N])  // NOLINT(google-explicit-constructor): literals convert
        : p_(s), n_(N - 1) {
        for (size_t i = 0; i + 1 < N; ++i) {
            const auto c = static_cast<unsigned char>(s[i]);
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == 0) {
                throw "a JSON key literal must not need escaping";  // a compile error
            }
        }
    }
    const char* data() const { return p_; }
    size_t size() const { return n_; }

private:
    const char* p_;
    size_t n_;
};

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    void begin_object();  ///< "{" (as a value, after key() or in an array)
    void end_object();
    void begin_array();
    void end_array();
    /// "k": for a literal key (checked when compiled).
    void key(JsonKey k) {
        const size_t extra = need_comma_ ? 1 : 0;
        const size_t at = out_.size();
        out_.resize(at + extra + k.size() + 3);
        char* o = out_.data() + at;
        o[0] = ',';  // overwritten below when no comma is due
        o += extra;
        o[0] = '"';
        std::memcpy(o + 1, k.data(), k.size());
        o[k.size() + 1] = '"';
        o[k.size() + 2] = ':';
        need_comma_ = false;
    }
    /// "k": for any other key (escaped as needed).
    template <class T>
        requires(std::is_convertible_v<const T&, std::string_view> && !std::is_array_v<T>)
    void key(const T& k) {
        key_string(std::string_view(k));
    }
    void key_string(std::string_view k);

    void value(std::string_view s);  ///< escaped string, see escape_string()
    void value(const char* s) { value(std::string_view(s)); }
    void value(uint64_t v);
    void value(int64_t v);
    void value(uint32_t v) { value(uint64_t{v}); }
    void value(int v) { value(int64_t{v}); }
    void value(bool b);
    void value_double(double v, int decimals);  ///< fixed notation; NaN/inf -> null
    void null();
    /// Lowercase hex of n bytes as a string value (no escaping needed).
    void hex(const uint8_t* p, size_t n);
    /// An array of unsigned integers, formatted in one pass.
    void uint_array(const uint64_t* v, size_t n);
    void uint_array(const uint32_t* v, size_t n);
    /// Appends pre-formatted JSON (a number or literal) as a value.
    void raw(std::string_view json);
    /// Epoch nanoseconds as seconds with 9 (nanosecond) or 6 decimals, as a JSON number.
    void timestamp(uint64_t ns, bool nanosecond);
    /// Nanoseconds since the epoch as an ISO 8601 UTC string with 9
    /// decimals: "2014-12-09T17:16:09.924505488Z".
    void iso8601(uint64_t ns);

    /// Ends the current line ("\n") and resets comma state for the next record.
    void newline();

    std::string& buffer() { return out_; }

private:
    void comma();
    std::string& out_;
    bool need_comma_ = false;
};

/// Appends s as a JSON string literal (with quotes). Valid UTF-8 sequences
/// pass through; ", \ and control characters are escaped; every byte that is
/// not part of valid UTF-8 becomes \u00XX (its Latin-1 code point), so the
/// original bytes can be recovered and nothing is dropped.
void escape_string(std::string& out, std::string_view s);

}  // namespace spate
