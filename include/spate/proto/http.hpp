#pragma once
/// HTTP/1.x message heads (RFC 9110, RFC 9112): recognising the start of a
/// message from its first bytes, and splitting start lines and header
/// lines. Allocation-free; every function reads only the bytes it is given
/// and returns views into them.
#include <cstdint>
#include <string_view>

#include "spate/proto/span.hpp"

namespace spate::proto {

/// What the first bytes of a message are.
enum class HttpStart : uint8_t {
    need_more,  ///< too few bytes to tell
    request,    ///< a method token followed by a space
    response,   ///< "HTTP/1."
    not_http,
};

/// Classifies the first `n` bytes of a message (the start line or a
/// prefix of it, without the line end). `complete` says the whole start
/// line is there: then a request must also end in " HTTP/1.<d>" or
/// " HTTP/0.9" (or be an HTTP/0.9 "GET uri"), and a method token that is not
/// a well-known method is accepted only that way. A prefix is accepted as a request only for a
/// well-known method (RFC 9110, WebDAV, and other registered methods).
HttpStart http_classify_start(const uint8_t* p, uint32_t n, bool complete);

/// True for a registered HTTP method name (case-sensitive, as on the wire).
bool http_known_method(std::string_view m);

struct HttpRequestLine {
    Span method;
    Span uri;
    Span version;  ///< empty for HTTP/0.9
};

struct HttpStatusLine {
    Span version;
    uint16_t status = 0;  ///< 0 when the status code is not 3 digits
    Span reason;
};

/// Splits a request line (without its line end): method SP uri [SP version].
/// False when there is no space after the method.
bool http_parse_request_line(Span line, HttpRequestLine& out);

/// Splits a status line (without its line end): version SP status [SP reason].
bool http_parse_status_line(Span line, HttpStatusLine& out);

/// Splits a header line (without its line end) at its colon; the value has
/// leading and trailing spaces and tabs removed. False when there is no
/// colon (the whole line is then in `name`, `value` is empty).
bool http_parse_header_line(Span line, Span& name, Span& value);

/// Case-insensitive comparison of a header name with a lowercase name.
bool http_name_is(Span name, std::string_view lower);

/// True when `name` is in `list`, a comma-separated list of lowercase names
/// (spaces around names allowed); an empty list holds every name.
bool http_name_in_list(Span name, std::string_view list);

/// A Content-Length value: digits, optionally repeated as "n, n" (RFC 9110
/// 8.6). False when it is not a valid length.
bool http_parse_content_length(Span value, uint64_t& out);

/// True when the last transfer coding of a Transfer-Encoding value is
/// "chunked".
bool http_te_chunked(Span value);

/// Splits a head (start line and header lines, LF or CRLF line ends) into
/// lines without their line ends; calls line(Span) for each line, stopping at
/// the first empty line. A last line without a line end is passed too.
template <class F>
void http_for_each_line(Span head, F&& line) {
    uint32_t start = 0;
    for (uint32_t i = 0; i <= head.n; ++i) {
        if (i == head.n || head.p[i] == '\n') {
            uint32_t end = i;
            if (end > start && head.p[end - 1] == '\r') {
                --end;
            }
            if (i == head.n && start == head.n) {
                break;
            }
            if (end == start) {
                break;  // the empty line ends the head
            }
            line(Span{head.p + start, end - start});
            start = i + 1;
        }
    }
}

}  // namespace spate::proto
