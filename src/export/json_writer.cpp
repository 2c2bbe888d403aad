#include "spate/export/json_writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace spate {

namespace {

constexpr char kHex[] = "0123456789abcdef";

/// "000102...ff": the two hex digits of every byte value.
constexpr std::array<char, 512> make_hex_pairs() {
    std::array<char, 512> t{};
    for (int i = 0; i < 256; ++i) {
        t[2 * i] = kHex[i >> 4];
        t[2 * i + 1] = kHex[i & 15];
    }
    return t;
}
constexpr std::array<char, 512> kHexPairs = make_hex_pairs();

/// "00".."99".
constexpr std::array<char, 200> make_dec_pairs() {
    std::array<char, 200> t{};
    for (int i = 0; i < 100; ++i) {
        t[2 * i] = static_cast<char>('0' + i / 10);
        t[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
    return t;
}
constexpr std::array<char, 200> kDecPairs = make_dec_pairs();

/// Per-byte class for escape_string: 0 = copy as is, 1 = needs a short or
/// \u00XX escape (", \, control characters), 2 = start of a non-ASCII byte
/// sequence that must be validated as UTF-8.
constexpr std::array<uint8_t, 256> make_class_table() {
    std::array<uint8_t, 256> t{};
    for (int c = 0; c < 0x20; ++c) {
        t[c] = 1;
    }
    t['"'] = 1;
    t['\\'] = 1;
    for (int c = 0x80; c < 0x100; ++c) {
        t[c] = 2;
    }
    return t;
}
constexpr std::array<uint8_t, 256> kClass = make_class_table();

constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHigh = 0x8080808080808080ULL;

/// True when none of the 8 bytes at p needs attention (no byte < 0x20, none
/// >= 0x80, no '"' and no '\\'). The classic "has byte less than n" bit trick:
/// it can report a false hit only in a word that also has a true one, so a
/// "clean" answer is exact.
inline bool clean8(const unsigned char* p) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    const uint64_t lt20 = (w - kOnes * 0x20) & ~w;
    const uint64_t xq = w ^ (kOnes * '"');
    const uint64_t xb = w ^ (kOnes * '\\');
    const uint64_t eq = ((xq - kOnes) & ~xq) | ((xb - kOnes) & ~xb);
    return ((lt20 | eq | w) & kHigh) == 0;
}

/// Length of the valid UTF-8 sequence starting at p[0] (>= 0x80), or 0 when
/// the bytes there are not one (Unicode 15, table 3-7: no overlong forms, no
/// surrogates, nothing above U+10FFFF, no truncated sequence).
inline size_t utf8_len(const unsigned char* p, size_t avail) {
    const unsigned c = p[0];
    auto cont = [](unsigned b) { return (b & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) {
        return (avail >= 2 && cont(p[1])) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3) {
            return 0;
        }
        const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;  // E0: overlong below A0
        const unsigned hi = c == 0xED ? 0x9F : 0xBF;  // ED: surrogates from A0
        return (p[1] >= lo && p[1] <= hi && cont(p[2])) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4) {
            return 0;
        }
        const unsigned lo = c == 0xF0 ? 0x90 : 0x80;  // F0: overlong below 90
        const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;  // F4: above U+10FFFF from 90
        return (p[1] >= lo && p[1] <= hi && cont(p[2]) && cont(p[3])) ? 4 : 0;
    }
    return 0;  // 80..C1 (continuation or overlong lead), F5..FF
}

inline void append_u00(std::string& out, unsigned char c) {
    const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
    out.append(esc, sizeof esc);
}

inline void append_escape(std::string& out, unsigned char c) {
    switch (c) {
        case '"':
            out.append("\\\"", 2);
            return;
        case '\\':
            out.append("\\\\", 2);
            return;
        case '\n':
            out.append("\\n", 2);
            return;
        case '\r':
            out.append("\\r", 2);
            return;
        case '\t':
            out.append("\\t", 2);
            return;
        case '\b':
            out.append("\\b", 2);
            return;
        case '\f':
            out.append("\\f", 2);
            return;
        default:
            append_u00(out, c);
            return;
    }
}

template <typename T>
inline void append_int(std::string& out, T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<size_t>(r.ptr - buf));
}

/// Appends v zero-padded to `width` digits (v < 10^width).
inline void append_padded(std::string& out, uint64_t v, int width) {
    char buf[20];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    out.append(buf, static_cast<size_t>(width));
}

}  // namespace

void escape_string(std::string& out, std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const size_t n = s.size();
    out.push_back('"');
    size_t run = 0;  // start of the bytes not yet appended
    size_t i = 0;
    while (i < n) {
        while (i + 8 <= n && clean8(p + i)) {
            i += 8;
        }
        while (i < n && kClass[p[i]] == 0) {
            ++i;
        }
        if (i >= n) {
            break;
        }
        const unsigned char c = p[i];
        if (kClass[c] == 2) {
            const size_t len = utf8_len(p + i, n - i);
            if (len != 0) {
                i += len;  // valid UTF-8 stays in the pending run
                continue;
            }
            out.append(s.data() + run, i - run);
            append_u00(out, c);
        } else {
            out.append(s.data() + run, i - run);
            append_escape(out, c);
        }
        ++i;
        run = i;
    }
    out.append(s.data() + run, n - run);
    out.push_back('"');
}

void JsonWriter::comma() {
    if (need_comma_) {
        out_.push_back(',');
    }
}

void JsonWriter::begin_object() {
    comma();
    out_.push_back('{');
    need_comma_ = false;
}

void JsonWriter::end_object() {
    out_.push_back('}');
    need_comma_ = true;
}

void JsonWriter::begin_array() {
    comma();
    out_.push_back('[');
    need_comma_ = false;
}

void JsonWriter::end_array() {
    out_.push_back(']');
    need_comma_ = true;
}

void JsonWriter::key_string(std::string_view k) {
    comma();
    // Keys are nearly always plain ASCII names: one copy, no escaping pass.
    bool plain = k.size() <= 64;
    for (size_t i = 0; plain && i < k.size(); ++i) {
        plain = kClass[static_cast<unsigned char>(k[i])] == 0;
    }
    if (plain) {
        const size_t at = out_.size();
        out_.resize(at + k.size() + 3);
        char* o = out_.data() + at;
        o[0] = '"';
        std::memcpy(o + 1, k.data(), k.size());
        o[k.size() + 1] = '"';
        o[k.size() + 2] = ':';
    } else {
        escape_string(out_, k);
        out_.push_back(':');
    }
    need_comma_ = false;
}

void JsonWriter::value(std::string_view s) {
    comma();
    escape_string(out_, s);
    need_comma_ = true;
}

void JsonWriter::value(uint64_t v) {
    comma();
    append_int(out_, v);
    need_comma_ = true;
}

void JsonWriter::value(int64_t v) {
    comma();
    append_int(out_, v);
    need_comma_ = true;
}

void JsonWriter::hex(const uint8_t* p, size_t n) {
    comma();
    const size_t at = out_.size();
    out_.resize(at + 2 * n + 2);
    char* o = out_.data() + at;
    *o++ = '"';
    for (size_t i = 0; i < n; ++i) {
        std::memcpy(o + 2 * i, kHexPairs.data() + 2 * p[i], 2);  // one 2-byte store per byte
    }
    o[2 * n] = '"';
    need_comma_ = true;
}

void JsonWriter::uint_array(const uint32_t* v, size_t n) {
    comma();
    const size_t at = out_.size();
    out_.resize(at + 2 + n * 11);  // 10 digits + a comma each, at most
    char* o = out_.data() + at;
    char* const end = out_.data() + out_.size();
    *o++ = '[';
    for (size_t i = 0; i < n; ++i) {
        // Counts are mostly small: one or two digits without a division loop.
        const uint32_t x = v[i];
        if (x < 10) {
            o[0] = static_cast<char>('0' + x);
            o[1] = ',';
            o += 2;
        } else if (x < 100) {
            std::memcpy(o, kDecPairs.data() + 2 * x, 2);
            o[2] = ',';
            o += 3;
        } else {
            o = std::to_chars(o, end, x).ptr;
            *o++ = ',';
        }
    }
    if (n != 0) {
        --o;  // the last comma
    }
    *o++ = ']';
    out_.resize(static_cast<size_t>(o - out_.data()));
    need_comma_ = true;
}

void JsonWriter::uint_array(const uint64_t* v, size_t n) {
    comma();
    const size_t at = out_.size();
    out_.resize(at + 2 + n * 21);  // 20 digits + a comma each, at most
    char* o = out_.data() + at;
    char* const end = out_.data() + out_.size();
    *o++ = '[';
    for (size_t i = 0; i < n; ++i) {
        if (i != 0) {
            *o++ = ',';
        }
        o = std::to_chars(o, end, v[i]).ptr;
    }
    *o++ = ']';
    out_.resize(static_cast<size_t>(o - out_.data()));
    need_comma_ = true;
}

void JsonWriter::value(bool b) {
    comma();
    if (b) {
        out_.append("true", 4);
    } else {
        out_.append("false", 5);
    }
    need_comma_ = true;
}

void JsonWriter::value_double(double v, int decimals) {
    comma();
    need_comma_ = true;
    if (!std::isfinite(v)) {
        out_.append("null", 4);
        return;
    }
    // Fixed notation of DBL_MAX has 309 integer digits; decimals are capped
    // so the buffer always suffices.
    decimals = std::clamp(decimals, 0, 64);
    char buf[400];
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
    out_.append(buf, static_cast<size_t>(r.ptr - buf));
}

void JsonWriter::null() {
    comma();
    out_.append("null", 4);
    need_comma_ = true;
}

void JsonWriter::raw(std::string_view json) {
    comma();
    out_.append(json);
    need_comma_ = true;
}

void JsonWriter::timestamp(uint64_t ns, bool nanosecond) {
    comma();
    need_comma_ = true;
    append_int(out_, ns / 1000000000ULL);
    out_.push_back('.');
    const uint64_t frac = ns % 1000000000ULL;
    if (nanosecond) {
        append_padded(out_, frac, 9);
    } else {
        append_padded(out_, frac / 1000, 6);  // truncated, never rounded up
    }
}

void JsonWriter::iso8601(uint64_t ns) {
    comma();
    need_comma_ = true;
    // Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days).
    const uint64_t secs = ns / 1000000000ULL;
    const int64_t z = static_cast<int64_t>(secs / 86400) + 719468;
    const uint64_t sod = secs % 86400;
    const int64_t era = z / 146097;
    const auto doe = static_cast<uint64_t>(z - era * 146097);
    const uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const uint64_t mp = (5 * doy + 2) / 153;
    const uint64_t day = doy - (153 * mp + 2) / 5 + 1;
    const uint64_t month = mp < 10 ? mp + 3 : mp - 9;
    const uint64_t year = static_cast<uint64_t>(static_cast<int64_t>(yoe) + era * 400) + (month <= 2);
    out_.push_back('"');
    append_padded(out_, year, 4);
    out_.push_back('-');
    append_padded(out_, month, 2);
    out_.push_back('-');
    append_padded(out_, day, 2);
    out_.push_back('T');
    append_padded(out_, sod / 3600, 2);
    out_.push_back(':');
    append_padded(out_, sod / 60 % 60, 2);
    out_.push_back(':');
    append_padded(out_, sod % 60, 2);
    out_.push_back('.');
    append_padded(out_, ns % 1000000000ULL, 9);
    out_.append("Z\"");
}

void JsonWriter::newline() {
    out_.push_back('\n');
    need_comma_ = false;
}

}  // namespace spate
