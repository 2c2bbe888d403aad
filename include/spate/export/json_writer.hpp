#pragma once
/// A small, allocation-free-in-steady-state JSON text builder appending to a
/// growable buffer. It tracks commas itself; strings are always escaped so
/// the output is valid JSON (and valid UTF-8) whatever bytes go in.
#include <cstdint>
#include <string>
#include <string_view>

namespace spate {

class JsonWriter {
public:
    explicit JsonWriter(std::string& out) : out_(out) {}

    void begin_object();  ///< "{" (as a value, after key() or in an array)
    void end_object();
    void begin_array();
    void end_array();
    void key(std::string_view k);  ///< "k": (k is escaped too)

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
