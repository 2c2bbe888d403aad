#include "spate/export/json_writer.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace spate {
namespace {

// ---------------------------------------------------------------------------
// Independent references. They are written differently from the code under
// test on purpose (generic code point decoding instead of per-lead ranges),
// so that a shared mistake is unlikely.

/// Length of the valid UTF-8 sequence at s[i] (1 for ASCII), or 0.
size_t ref_utf8_len(std::string_view s, size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
        return 1;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + len > s.size()) {
        return 0;
    }
    for (size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
        return 0;
    }
    return len;
}

std::string utf8_encode(uint32_t cp) {
    std::string o;
    if (cp < 0x80) {
        o += static_cast<char>(cp);
    } else if (cp < 0x800) {
        o += static_cast<char>(0xC0 | (cp >> 6));
        o += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o += static_cast<char>(0xE0 | (cp >> 12));
        o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        o += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        o += static_cast<char>(0xF0 | (cp >> 18));
        o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        o += static_cast<char>(0x80 | (cp & 0x3F));
    }
    return o;
}

/// The exact text escape_string() must produce for s.
std::string ref_escape(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string o = "\"";
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t len = ref_utf8_len(s, i);
        if (len == 0 || c < 0x20 || c == '"' || c == '\\') {
            switch (c) {
                case '"':
                    o += "\\\"";
                    break;
                case '\\':
                    o += "\\\\";
                    break;
                case '\n':
                    o += "\\n";
                    break;
                case '\r':
                    o += "\\r";
                    break;
                case '\t':
                    o += "\\t";
                    break;
                case '\b':
                    o += "\\b";
                    break;
                case '\f':
                    o += "\\f";
                    break;
                default:
                    o += "\\u00";
                    o += hex[c >> 4];
                    o += hex[c & 0xF];
            }
            ++i;
        } else {
            o.append(s.substr(i, len));
            i += len;
        }
    }
    return o + "\"";
}

/// What a standard JSON parser must return for escape_string(s): valid UTF-8
/// as is, and every other byte as the code point U+00XX (in UTF-8).
std::string ref_parsed(std::string_view s) {
    std::string o;
    size_t i = 0;
    while (i < s.size()) {
        const size_t len = ref_utf8_len(s, i);
        if (len == 0) {
            o += utf8_encode(static_cast<unsigned char>(s[i]));
            ++i;
        } else {
            o.append(s.substr(i, len));
            i += len;
        }
    }
    return o;
}

/// Recovers the original bytes from the JSON text of a string literal:
/// "\u00XX" -> byte XX, the short escapes -> their character, every other
/// byte as is. Returns nullopt on anything escape_string() must never emit
/// (a raw control character, an unescaped quote, an escape above \u00ff).
///
/// This has to work on the text, not on a parser's result: after parsing,
/// "\u0080" (from an invalid byte 0x80) and the valid UTF-8 "\xC2\x80"
/// are the same string (see the Ambiguity test below).
std::optional<std::string> unescape_literal(std::string_view lit) {
    if (lit.size() < 2 || lit.front() != '"' || lit.back() != '"') {
        return std::nullopt;
    }
    lit = lit.substr(1, lit.size() - 2);
    std::string o;
    for (size_t i = 0; i < lit.size(); ++i) {
        const auto c = static_cast<unsigned char>(lit[i]);
        if (c < 0x20 || c == '"') {
            return std::nullopt;
        }
        if (c != '\\') {
            o += static_cast<char>(c);
            continue;
        }
        if (++i >= lit.size()) {
            return std::nullopt;
        }
        switch (lit[i]) {
            case '"':
                o += '"';
                break;
            case '\\':
                o += '\\';
                break;
            case 'n':
                o += '\n';
                break;
            case 'r':
                o += '\r';
                break;
            case 't':
                o += '\t';
                break;
            case 'b':
                o += '\b';
                break;
            case 'f':
                o += '\f';
                break;
            case 'u': {
                if (i + 4 >= lit.size()) {
                    return std::nullopt;
                }
                unsigned v = 0;
                for (size_t k = 1; k <= 4; ++k) {
                    const char h = lit[i + k];
                    if (h >= '0' && h <= '9') {
                        v = v * 16 + static_cast<unsigned>(h - '0');
                    } else if (h >= 'a' && h <= 'f') {
                        v = v * 16 + static_cast<unsigned>(h - 'a' + 10);
                    } else {
                        return std::nullopt;  // escape_string writes lowercase hex
                    }
                }
                if (v > 0xFF) {
                    return std::nullopt;
                }
                o += static_cast<char>(v);
                i += 4;
                break;
            }
            default:
                return std::nullopt;
        }
    }
    return o;
}

/// Parses "[<literal>]" with simdjson and returns the string, or nullopt.
std::optional<std::string> simdjson_string(simdjson::dom::parser& parser, const std::string& lit) {
    const std::string doc = "[" + lit + "]";
    simdjson::dom::element root;
    if (parser.parse(doc).get(root) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    simdjson::dom::array arr;
    std::string_view sv;
    if (root.get_array().get(arr) != simdjson::SUCCESS || arr.size() != 1 ||
        arr.at(0).get_string().get(sv) != simdjson::SUCCESS) {
        return std::nullopt;
    }
    return std::string(sv);
}

std::string esc(std::string_view s) {
    std::string o;
    escape_string(o, s);
    return o;
}

using namespace std::string_literals;

// ---------------------------------------------------------------------------
// escape_string

TEST(EscapeString, PlainAndShortEscapes) {
    EXPECT_EQ(esc(""), R"("")");
    EXPECT_EQ(esc("hello world"), R"("hello world")");
    EXPECT_EQ(esc("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(esc("\n\r\t\b\f"), R"("\n\r\t\b\f")");
    EXPECT_EQ(esc("/"), R"("/")");       // '/' needs no escape
    EXPECT_EQ(esc("\x7f"), "\"\x7f\"");  // DEL is valid JSON as is
}

TEST(EscapeString, OtherControlCharactersAsU00XX) {
    EXPECT_EQ(esc("\0"s), R"("\u0000")");
    EXPECT_EQ(esc("\x01\x07\x0b\x0e\x1b\x1f"), R"("\u0001\u0007\u000b\u000e\u001b\u001f")");
    for (int c = 0; c < 0x20; ++c) {
        const std::string in(1, static_cast<char>(c));
        EXPECT_EQ(esc(in), ref_escape(in)) << c;
    }
}

TEST(EscapeString, ValidUtf8PassesThrough) {
    const std::vector<std::string> valid = {
        "\xC2\x80",          // U+0080, smallest 2-byte
        "\xDF\xBF",          // U+07FF
        "\xE0\xA0\x80",      // U+0800, smallest 3-byte
        "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
        "\xEE\x80\x80",      // U+E000, just above
        "\xEF\xBF\xBF",      // U+FFFF
        "\xF0\x90\x80\x80",  // U+10000, smallest 4-byte
        "\xF4\x8F\xBF\xBF",  // U+10FFFF, the largest
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
    };
    for (const auto& s : valid) {
        EXPECT_EQ(esc(s), "\"" + s + "\"");
    }
}

TEST(EscapeString, InvalidBytesAsU00XX) {
    struct Case {
        std::string in;
        std::string out;
    };
    const std::vector<Case> cases = {
        {"\x80", R"("\u0080")"},  // lone continuation
        {"\xBF", R"("\u00bf")"},
        {"\xC0\x80", R"("\u00c0\u0080")"},                                // overlong NUL
        {"\xC1\xBF", R"("\u00c1\u00bf")"},                                // overlong 2-byte
        {"\xE0\x80\x80", R"("\u00e0\u0080\u0080")"},                      // overlong 3-byte
        {"\xE0\x9F\xBF", R"("\u00e0\u009f\u00bf")"},                      // overlong U+07FF
        {"\xF0\x80\x80\x80", R"("\u00f0\u0080\u0080\u0080")"},            // overlong 4-byte
        {"\xF0\x8F\xBF\xBF", R"("\u00f0\u008f\u00bf\u00bf")"},            // overlong U+FFFF
        {"\xED\xA0\x80", R"("\u00ed\u00a0\u0080")"},                      // U+D800
        {"\xED\xBF\xBF", R"("\u00ed\u00bf\u00bf")"},                      // U+DFFF
        {"\xF4\x90\x80\x80", R"("\u00f4\u0090\u0080\u0080")"},            // U+110000
        {"\xF5\x80\x80\x80", R"("\u00f5\u0080\u0080\u0080")"},            // lead above F4
        {"\xF8\x88\x80\x80\x80", R"("\u00f8\u0088\u0080\u0080\u0080")"},  // old 5-byte
        {"\xFE\xFF", R"("\u00fe\u00ff")"},
        {"\xE2\x82", R"("\u00e2\u0082")"},  // truncated at the end
        {"\xE2\x82"
         "A",
         R"("\u00e2\u0082A")"},  // truncated mid-string
        {"\xF0\x9F\x98", R"("\u00f0\u009f\u0098")"},
        {"\xC3", R"("\u00c3")"},
        {"\xC3\xC3\xA9", R"("\u00c3é")"},  // bad lead, then valid
        {"a\xFF"
         "b\"\xC3\xA9\n",
         R"("a\u00ffb\"é\n")"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(esc(c.in), c.out);
        EXPECT_EQ(esc(c.in), ref_escape(c.in));
    }
}

TEST(EscapeString, AppendsToExistingBuffer) {
    std::string out = "prefix:";
    escape_string(out, "x\xFFy");
    EXPECT_EQ(out, R"(prefix:"x\u00ffy")");
}

// Every special byte at every offset around the 8-byte fast path, so a
// mistake in the word-at-a-time scan shows.
TEST(EscapeString, EveryByteAtEveryOffset) {
    for (size_t len = 1; len <= 26; ++len) {
        for (size_t pos = 0; pos < len; ++pos) {
            for (int c = 0; c < 256; ++c) {
                std::string s(len, 'a');
                s[pos] = static_cast<char>(c);
                ASSERT_EQ(esc(s), ref_escape(s)) << "len " << len << " pos " << pos << " c " << c;
            }
        }
    }
}

// All two-byte strings, and all three-byte strings with a 3- or 4-byte lead;
// differential against the reference.
TEST(EscapeString, ExhaustiveShortSequences) {
    std::string s(2, '\0');
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            s[0] = static_cast<char>(a);
            s[1] = static_cast<char>(b);
            ASSERT_EQ(esc(s), ref_escape(s)) << a << " " << b;
        }
    }
    s.assign(3, '\0');
    std::string out;
    for (int a = 0xE0; a < 0x100; ++a) {
        for (int b = 0; b < 256; ++b) {
            for (int c = 0; c < 256; ++c) {
                s[0] = static_cast<char>(a);
                s[1] = static_cast<char>(b);
                s[2] = static_cast<char>(c);
                out.clear();
                escape_string(out, s);
                ASSERT_EQ(out, ref_escape(s)) << a << " " << b << " " << c;
            }
        }
    }
    s.assign(4, '\0');
    for (int a = 0xF0; a < 0x100; ++a) {
        for (int b = 0; b < 256; ++b) {
            for (int c : {0x80, 0xBF, 0x41, 0xC0}) {
                for (int d : {0x80, 0xBF, 0x22, 0xF0}) {
                    s[0] = static_cast<char>(a);
                    s[1] = static_cast<char>(b);
                    s[2] = static_cast<char>(c);
                    s[3] = static_cast<char>(d);
                    ASSERT_EQ(esc(s), ref_escape(s)) << a << " " << b << " " << c << " " << d;
                }
            }
        }
    }
}

/// A random string: pure random bytes, or a mix of plain ASCII runs (long
/// enough for the fast path), escapes, valid code points of every length and
/// near-miss invalid sequences.
std::string random_string(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> byte(0, 255);
    std::string s;
    if (rng() % 3 == 0) {
        const size_t n = rng() % 80;
        for (size_t i = 0; i < n; ++i) {
            s += static_cast<char>(byte(rng));
        }
        return s;
    }
    static const std::vector<std::string> bad = {
        "\x80",
        "\xBF",
        "\xC0\x80",
        "\xC1\xBF",
        "\xE0\x80\x80",
        "\xE0\x9F\xBF",
        "\xED\xA0\x80",
        "\xED\xBF\xBF",
        "\xF0\x80\x80\x80",
        "\xF0\x8F\xBF\xBF",
        "\xF4\x90\x80\x80",
        "\xF5\x80\x80\x80",
        "\xFF",
        "\xE2\x82",
        "\xF0\x9F\x98",
        "\xC3",
    };
    const size_t pieces = rng() % 12;
    for (size_t p = 0; p < pieces; ++p) {
        switch (rng() % 6) {
            case 0: {
                const size_t n = rng() % 40;
                for (size_t i = 0; i < n; ++i) {
                    s += static_cast<char>(0x20 + rng() % 0x60);  // 0x20..0x7F
                }
                break;
            }
            case 1:
                s += "\"\\\n\t\x01\x1f"[rng() % 6];
                break;
            case 2: {
                uint32_t cp = 0;
                switch (rng() % 4) {
                    case 0:
                        cp = 0x80 + rng() % (0x800 - 0x80);
                        break;
                    case 1:
                        cp = 0x800 + rng() % (0x10000 - 0x800);
                        break;
                    case 2:
                        cp = 0x10000 + rng() % (0x110000 - 0x10000);
                        break;
                    default:
                        cp = rng() % 0x80;
                        break;
                }
                if (cp >= 0xD800 && cp <= 0xDFFF) {
                    cp = 0xFFFD;
                }
                s += utf8_encode(cp);
                break;
            }
            case 3:
                s += bad[rng() % bad.size()];
                break;
            case 4:
                s += static_cast<char>(byte(rng));
                break;
            default: {
                // A valid sequence cut short, or with a bad byte inside.
                std::string v = utf8_encode(0x80 + rng() % (0x110000 - 0x80));
                if (v.size() > 1) {
                    if (rng() % 2 == 0) {
                        v.pop_back();
                    } else {
                        v[1 + rng() % (v.size() - 1)] = static_cast<char>(byte(rng));
                    }
                }
                s += v;
                break;
            }
        }
    }
    return s;
}

TEST(EscapeString, RandomStringsRoundTrip) {
    std::mt19937_64 rng(0x5ba7e);
    simdjson::dom::parser parser;
    std::string out;
    for (int n = 0; n < 10000; ++n) {
        const std::string in = random_string(rng);
        out.clear();
        escape_string(out, in);

        // 1. The exact text.
        ASSERT_EQ(out, ref_escape(in)) << "case " << n;
        // 2. Valid JSON (and valid UTF-8: simdjson validates it) whose string
        //    value is the input with each invalid byte as U+00XX.
        const auto parsed = simdjson_string(parser, out);
        ASSERT_TRUE(parsed.has_value()) << "case " << n << ": " << out;
        ASSERT_EQ(*parsed, ref_parsed(in)) << "case " << n;
        // 3. The original bytes, recovered from the text.
        const auto back = unescape_literal(out);
        ASSERT_TRUE(back.has_value()) << "case " << n;
        ASSERT_EQ(*back, in) << "case " << n;
    }
}

// Documents the limit of "the original bytes can be recovered": only from
// the JSON text. A parser maps the escape of an invalid byte 0x80 and the
// valid UTF-8 for U+0080 to the same string.
TEST(EscapeString, Ambiguity) {
    simdjson::dom::parser parser;
    const std::string from_invalid = esc("\x80");
    const std::string from_valid = esc("\xC2\x80");
    EXPECT_NE(from_invalid, from_valid);
    EXPECT_EQ(simdjson_string(parser, from_invalid), simdjson_string(parser, from_valid));
    EXPECT_EQ(unescape_literal(from_invalid), "\x80");
    EXPECT_EQ(unescape_literal(from_valid), "\xC2\x80");
}

// ---------------------------------------------------------------------------
// JsonWriter

TEST(JsonWriter, NestedObjectsAndArrays) {
    std::string buf;
    JsonWriter w(buf);
    w.begin_object();
    w.key("a");
    w.value(uint64_t{1});
    w.key("b");
    w.begin_array();
    w.value(1);
    w.value(int64_t{-2});
    w.begin_object();
    w.key("c");
    w.value("x");
    w.end_object();
    w.begin_array();
    w.end_array();
    w.begin_object();
    w.end_object();
    w.end_array();
    w.key("d");
    w.begin_object();
    w.key("e");
    w.null();
    w.key("f");
    w.value(true);
    w.key("g");
    w.value(false);
    w.key("h");
    w.begin_array();
    w.begin_array();
    w.value(uint32_t{7});
    w.end_array();
    w.begin_array();
    w.end_array();
    w.end_array();
    w.end_object();
    w.key(std::string_view("q\"k"));  // not a literal key: escaped
    w.raw("12.5");
    w.end_object();
    w.newline();
    EXPECT_EQ(buf, R"({"a":1,"b":[1,-2,{"c":"x"},[],{}],"d":{"e":null,"f":true,"g":false,)"
                   R"("h":[[7],[]]},"q\"k":12.5})"
                   "\n");

    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(buf).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(uint64_t(doc["a"]), 1u);
    EXPECT_EQ(int64_t(doc["b"].at(1)), -2);
    EXPECT_EQ(std::string_view(doc["b"].at(2)["c"]), "x");
    EXPECT_TRUE(doc["d"]["e"].is_null());
    EXPECT_TRUE(bool(doc["d"]["f"]));
    EXPECT_EQ(uint64_t(doc["d"]["h"].at(0).at(0)), 7u);
    EXPECT_EQ(double(doc["q\"k"]), 12.5);
}

TEST(JsonWriter, IntegerArraysMatchToChars) {
    // The 32-bit array has short paths for one and two digits: every
    // boundary, against std::to_chars, and both widths agree.
    std::vector<uint32_t> v32 = {0, 1, 9, 10, 11, 42, 99, 100, 101, 999, 1000, 65535,
                                 4294967295u, 7};
    for (uint32_t x = 0; x < 300; x += 7) {
        v32.push_back(x);
    }
    std::vector<uint64_t> v64(v32.begin(), v32.end());
    v64.push_back(18446744073709551615ULL);
    std::string expect32 = "[";
    for (size_t i = 0; i < v32.size(); ++i) {
        expect32 += (i != 0 ? "," : "") + std::to_string(v32[i]);
    }
    expect32 += "]";
    std::string a;
    JsonWriter wa(a);
    wa.uint_array(v32.data(), v32.size());
    EXPECT_EQ(a, expect32);
    std::string b;
    JsonWriter wb(b);
    wb.uint_array(v64.data(), v32.size());
    EXPECT_EQ(b, expect32);
    std::string c;
    JsonWriter wc(c);
    wc.begin_object();
    wc.key("e");
    wc.uint_array(v32.data(), 0);
    wc.key("f");
    wc.uint_array(v64.data() + v64.size() - 1, 1);
    wc.end_object();
    EXPECT_EQ(c, R"({"e":[],"f":[18446744073709551615]})");
}

TEST(JsonWriter, HexEveryByteValue) {
    std::vector<uint8_t> bytes(256);
    std::string expect = "\"";
    for (int i = 0; i < 256; ++i) {
        bytes[i] = static_cast<uint8_t>(i);
        char two[3];
        std::snprintf(two, sizeof two, "%02x", i);
        expect += two;
    }
    expect += "\"";
    std::string buf;
    JsonWriter w(buf);
    w.hex(bytes.data(), bytes.size());
    w.hex(bytes.data(), 0);
    EXPECT_EQ(buf, expect + ",\"\"");
}

TEST(JsonWriter, KeysNeedingEscapesAreEscaped) {
    // Plain keys take a copy-only path; anything else is escaped as a value.
    std::string buf;
    JsonWriter w(buf);
    w.begin_object();
    w.key("plain_key");
    w.value(1);
    w.key(std::string_view("a\nb\x01\xff", 5));
    w.value(2);
    w.key(std::string(70, 'k'));  // long: the escaping path, same text
    w.value(3);
    w.key("");
    w.value(4);
    w.end_object();
    EXPECT_EQ(buf, "{\"plain_key\":1,\"a\\nb\\u0001\\u00ff\":2,\"" + std::string(70, 'k') +
                       "\":3,\"\":4}");
}

TEST(JsonWriter, NewlineResetsCommaState) {
    std::string buf;
    JsonWriter w(buf);
    for (int i = 0; i < 3; ++i) {
        w.begin_object();
        w.key("i");
        w.value(i);
        w.key("s");
        w.value(std::string_view("a\nb"));
        w.end_object();
        w.newline();
    }
    EXPECT_EQ(buf,
              "{\"i\":0,\"s\":\"a\\nb\"}\n{\"i\":1,\"s\":\"a\\nb\"}\n{\"i\":2,\"s\":\"a\\nb\"}\n");
    simdjson::dom::parser parser;
    simdjson::dom::document_stream stream;
    ASSERT_EQ(parser.parse_many(buf).get(stream), simdjson::SUCCESS);
    int n = 0;
    for (auto doc : stream) {
        int64_t v = -1;
        ASSERT_EQ(doc["i"].get_int64().get(v), simdjson::SUCCESS);
        EXPECT_EQ(v, n);
        ++n;
    }
    EXPECT_EQ(n, 3);
}

TEST(JsonWriter, TopLevelValuesAreCommaSeparated) {
    // Values without a container still get commas between them, as in the
    // body of an array whose brackets the caller writes with raw().
    std::string buf;
    JsonWriter w(buf);
    w.value("a");
    w.value(uint64_t{2});
    w.null();
    EXPECT_EQ(buf, R"("a",2,null)");
}

TEST(JsonWriter, IntegerLimits) {
    std::string buf;
    JsonWriter w(buf);
    w.begin_array();
    w.value(std::numeric_limits<uint64_t>::max());
    w.value(std::numeric_limits<int64_t>::min());
    w.value(std::numeric_limits<int64_t>::max());
    w.value(uint64_t{0});
    w.value(-1);
    w.end_array();
    EXPECT_EQ(buf, "[18446744073709551615,-9223372036854775808,9223372036854775807,0,-1]");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(buf).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(uint64_t(doc.at(0)), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(int64_t(doc.at(1)), std::numeric_limits<int64_t>::min());
}

TEST(JsonWriter, Doubles) {
    std::string buf;
    JsonWriter w(buf);
    w.begin_array();
    w.value_double(1.5, 3);
    w.value_double(1.0 / 3.0, 4);
    w.value_double(1234.5678, 2);
    w.value_double(-0.25, 1);  // exactly representable: the tie goes to even
    w.value_double(42.0, 0);
    w.value_double(1e20, 1);
    w.value_double(0.0, 6);
    w.value_double(std::nan(""), 3);
    w.value_double(std::numeric_limits<double>::infinity(), 3);
    w.value_double(-std::numeric_limits<double>::infinity(), 3);
    w.value_double(7.0, -3);  // negative decimals: treated as 0
    w.value_double(std::numeric_limits<double>::max(), 2);
    w.end_array();
    const std::string head =
        "[1.500,0.3333,1234.57,-0.2,42,100000000000000000000.0,0.000000,null,null,null,7,";
    ASSERT_TRUE(buf.starts_with(head)) << buf;
    const std::string max_str = buf.substr(head.size(), buf.size() - head.size() - 1);
    EXPECT_EQ(max_str.size(), 309u + 3);  // 309 integer digits and ".00"
    EXPECT_TRUE(max_str.starts_with("17976931348623157"));
    EXPECT_TRUE(max_str.ends_with(".00"));
    EXPECT_TRUE(buf.ends_with("]"));

    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(buf).get(doc), simdjson::SUCCESS);
    EXPECT_DOUBLE_EQ(double(doc.at(1)), 0.3333);
    EXPECT_DOUBLE_EQ(double(doc.at(2)), 1234.57);
    EXPECT_DOUBLE_EQ(double(doc.at(5)), 1e20);
    EXPECT_TRUE(doc.at(7).is_null());
    EXPECT_TRUE(doc.at(9).is_null());
    EXPECT_EQ(int64_t(doc.at(10)), 7);
    EXPECT_DOUBLE_EQ(double(doc.at(11)), std::numeric_limits<double>::max());
}

TEST(JsonWriter, Timestamps) {
    std::string buf;
    JsonWriter w(buf);
    w.begin_array();
    w.timestamp(1362692526869344000ULL, true);
    w.timestamp(1362692526869344000ULL, false);
    w.timestamp(1362692526869344999ULL, false);  // truncated, not rounded
    w.timestamp(1362692526999999999ULL, false);  // never carries into the seconds
    w.timestamp(0, true);
    w.timestamp(0, false);
    w.timestamp(5, true);
    w.timestamp(1000000000ULL, true);
    w.timestamp(std::numeric_limits<uint64_t>::max(), true);
    w.end_array();
    EXPECT_EQ(buf,
              "[1362692526.869344000,1362692526.869344,1362692526.869344,1362692526.999999,"
              "0.000000000,0.000000,0.000000005,1.000000000,18446744073.709551615]");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(buf).get(doc), simdjson::SUCCESS);
    EXPECT_DOUBLE_EQ(double(doc.at(0)), 1362692526.869344);
    EXPECT_DOUBLE_EQ(double(doc.at(6)), 5e-9);
}

TEST(JsonWriter, Iso8601MatchesGmtimeOverFiveCenturies) {
    // Fixed cases, then a day walk with odd times of day (leap years, the
    // century rules of 1900, 2000 and 2100, month ends) against gmtime_r.
    auto iso = [](uint64_t ns) {
        std::string buf;
        JsonWriter w(buf);
        w.iso8601(ns);
        return buf;
    };
    EXPECT_EQ(iso(0), "\"1970-01-01T00:00:00.000000000Z\"");
    EXPECT_EQ(iso(1418145369924505488ULL), "\"2014-12-09T17:16:09.924505488Z\"");
    EXPECT_EQ(iso(951782400ULL * 1000000000ULL), "\"2000-02-29T00:00:00.000000000Z\"");
    EXPECT_EQ(iso(946684799999999999ULL), "\"1999-12-31T23:59:59.999999999Z\"");
    for (uint64_t day = 0; day < 200000; day += 7) {
        const uint64_t secs = day * 86400 + (day * 7919) % 86400;
        const auto t = static_cast<time_t>(secs);
        tm utc{};
        gmtime_r(&t, &utc);
        char want[64];
        std::snprintf(want, sizeof want, "\"%04d-%02d-%02dT%02d:%02d:%02d.%09uZ\"",
                      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                      utc.tm_sec, static_cast<unsigned>(day % 1000000000));
        ASSERT_EQ(iso(secs * 1000000000ULL + day % 1000000000), want) << secs;
    }
}

TEST(JsonWriter, KeysAndStringsAreEscaped) {
    std::string buf;
    JsonWriter w(buf);
    w.begin_object();
    w.key(std::string_view("k\xff\n"));
    w.value("v\x01\"");
    w.key("c");
    w.value(static_cast<const char*>("plain"));
    w.end_object();
    EXPECT_EQ(buf, R"({"k\u00ff\n":"v\u0001\"","c":"plain"})");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(buf).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(std::string_view(doc["k\xC3\xBF\n"]), "v\x01\"");
}

TEST(JsonWriter, NoAllocationOnceTheBufferHasGrown) {
    std::string buf;
    JsonWriter w(buf);
    auto record = [&] {
        w.begin_object();
        w.key("src");
        w.value("10.0.0.1");
        w.key("bytes");
        w.value(uint64_t{123456789});
        w.key("ts");
        w.timestamp(1362692526869344000ULL, false);
        w.key("rtt");
        w.value_double(0.123456, 3);
        w.key("sni");
        w.value("ex\xE4mple.com");
        w.end_object();
        w.newline();
    };
    record();
    buf.clear();
    const auto* data = buf.data();
    const size_t cap = buf.capacity();
    record();
    EXPECT_EQ(buf.data(), data);
    EXPECT_EQ(buf.capacity(), cap);
}

TEST(JsonWriter, HexAndIntegerArrays) {
    std::string buf;
    JsonWriter w(buf);
    w.begin_object();
    w.key("h");
    const uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff};
    w.hex(bytes, sizeof(bytes));
    w.key("e");
    w.hex(bytes, 0);
    w.key("a");
    const uint64_t v[] = {0, 7, 18446744073709551615ULL, 42};
    w.uint_array(v, 4);
    w.key("z");
    w.uint_array(v, 0);
    w.key("n");
    w.value(uint64_t{1});
    w.end_object();
    EXPECT_EQ(buf, R"({"h":"000fa5ff","e":"","a":[0,7,18446744073709551615,42],"z":[],"n":1})");
}

}  // namespace
}  // namespace spate
