// HTTP/1.x heads: start-line recognition and line splitting (RFC 9110, RFC
// 9112). Nothing here allocates; everything is bounds-checked on `n`.
#include "spate/proto/http.hpp"

#include <algorithm>
#include <iterator>

namespace spate::proto {

namespace {

// Registered methods (IANA HTTP Method Registry: RFC 9110, WebDAV, DeltaV,
// CalDAV, ...), plus a few widespread unregistered ones (PURGE, SSDP's
// M-SEARCH/NOTIFY, the UPnP event methods).
constexpr std::string_view kMethods[] = {
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PATCH",
    "ACL",
    "BASELINE-CONTROL",
    "BIND",
    "CHECKIN",
    "CHECKOUT",
    "COPY",
    "LABEL",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MKREDIRECTREF",
    "MKWORKSPACE",
    "MOVE",
    "ORDERPATCH",
    "PROPFIND",
    "PROPPATCH",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "UNBIND",
    "UNCHECKOUT",
    "UNLINK",
    "UNLOCK",
    "UPDATE",
    "UPDATEREDIRECTREF",
    "VERSION-CONTROL",
    "PURGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "POLL",
};

constexpr uint32_t kMaxMethod = 20;

bool tchar_upper(uint8_t c) {
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

bool is_digit(uint8_t c) {
    return c >= '0' && c <= '9';
}

bool is_ws(uint8_t c) {
    return c == ' ' || c == '\t';
}

uint8_t lower(uint8_t c) {
    return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
}

bool starts_with(const uint8_t* p, uint32_t n, std::string_view s) {
    return n >= s.size() && std::equal(s.begin(), s.end(), p);
}

/// "HTTP/1.d" or "HTTP/0.9" exactly.
bool http_version(const uint8_t* p, uint32_t n) {
    return n == 8 && starts_with(p, n, "HTTP/") && (p[5] == '1' || p[5] == '0') && p[6] == '.' &&
           is_digit(p[7]);
}

Span trim(Span s) {
    while (s.n > 0 && is_ws(s.p[0])) {
        ++s.p;
        --s.n;
    }
    while (s.n > 0 && is_ws(s.p[s.n - 1])) {
        --s.n;
    }
    return s;
}

}  // namespace

bool http_known_method(std::string_view m) {
    return std::find(std::begin(kMethods), std::end(kMethods), m) != std::end(kMethods);
}

HttpStart http_classify_start(const uint8_t* p, uint32_t n, bool complete) {
    if (n == 0) {
        return complete ? HttpStart::not_http : HttpStart::need_more;
    }
    if (p[0] == 'H' && n >= 2 && p[1] == 'T') {
        static constexpr std::string_view kResp = "HTTP/1.";
        const uint32_t k = std::min<uint32_t>(n, static_cast<uint32_t>(kResp.size()));
        if (std::equal(p, p + k, kResp.begin())) {
            if (k == kResp.size()) {
                return HttpStart::response;
            }
            return complete ? HttpStart::not_http : HttpStart::need_more;
        }
    }
    // A request: method token, one space.
    uint32_t m = 0;
    while (m < n && m <= kMaxMethod && tchar_upper(p[m])) {
        ++m;
    }
    if (m == 0 || m > kMaxMethod) {
        return HttpStart::not_http;
    }
    if (m == n) {
        return complete ? HttpStart::not_http : HttpStart::need_more;
    }
    if (p[m] != ' ') {
        return HttpStart::not_http;
    }
    const std::string_view method(reinterpret_cast<const char*>(p), m);
    const bool known = http_known_method(method);
    if (!complete) {
        return known ? HttpStart::request : HttpStart::need_more;
    }
    // The whole line: method SP target [SP HTTP/d.d].
    const uint8_t* t = p + m + 1;
    const uint32_t tn = n - m - 1;
    if (tn == 0 || t[0] == ' ') {
        return HttpStart::not_http;
    }
    uint32_t last_sp = tn;
    for (uint32_t i = tn; i > 0; --i) {
        if (t[i - 1] == ' ') {
            last_sp = i - 1;
            break;
        }
    }
    if (last_sp == tn) {
        // HTTP/0.9: "GET uri" only.
        return method == "GET" ? HttpStart::request : HttpStart::not_http;
    }
    if (!http_version(t + last_sp + 1, tn - last_sp - 1)) {
        return HttpStart::not_http;  // e.g. RTSP/1.0, SIP/2.0, the HTTP/2 preface
    }
    return HttpStart::request;
}

bool http_parse_request_line(Span line, HttpRequestLine& out) {
    out = HttpRequestLine{};
    uint32_t sp = 0;
    while (sp < line.n && line.p[sp] != ' ') {
        ++sp;
    }
    if (sp == 0 || sp == line.n) {
        out.method = line;
        return false;
    }
    out.method = Span{line.p, sp};
    Span rest{line.p + sp + 1, line.n - sp - 1};
    // The version is the last word when it looks like one; the target is
    // what is between (spaces in a target are kept).
    uint32_t last = rest.n;
    for (uint32_t i = rest.n; i > 0; --i) {
        if (rest.p[i - 1] == ' ') {
            last = i - 1;
            break;
        }
    }
    if (last < rest.n && starts_with(rest.p + last + 1, rest.n - last - 1, "HTTP/")) {
        out.version = Span{rest.p + last + 1, rest.n - last - 1};
        rest.n = last;
    }
    out.uri = rest;
    return true;
}

bool http_parse_status_line(Span line, HttpStatusLine& out) {
    out = HttpStatusLine{};
    uint32_t sp = 0;
    while (sp < line.n && line.p[sp] != ' ') {
        ++sp;
    }
    out.version = Span{line.p, sp};
    if (sp == line.n) {
        return false;
    }
    const uint8_t* s = line.p + sp + 1;
    const uint32_t sn = line.n - sp - 1;
    if (sn < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) ||
        (sn > 3 && s[3] != ' ')) {
        return false;
    }
    out.status = static_cast<uint16_t>((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
    if (sn > 4) {
        out.reason = Span{s + 4, sn - 4};
    }
    return true;
}

bool http_parse_header_line(Span line, Span& name, Span& value) {
    for (uint32_t i = 0; i < line.n; ++i) {
        if (line.p[i] == ':') {
            name = Span{line.p, i};
            // "Name : value" is invalid (RFC 9112 5.1) but seen; trim it.
            while (name.n > 0 && is_ws(name.p[name.n - 1])) {
                --name.n;
            }
            value = trim(Span{line.p + i + 1, line.n - i - 1});
            return true;
        }
    }
    name = line;
    value = Span{};
    return false;
}

bool http_name_is(Span name, std::string_view lc) {
    if (name.n != lc.size()) {
        return false;
    }
    for (uint32_t i = 0; i < name.n; ++i) {
        if (lower(name.p[i]) != static_cast<uint8_t>(lc[i])) {
            return false;
        }
    }
    return true;
}

bool http_name_in_list(Span name, std::string_view list) {
    if (list.empty()) {
        return true;
    }
    size_t pos = 0;
    while (pos <= list.size()) {
        size_t comma = list.find(',', pos);
        if (comma == std::string_view::npos) {
            comma = list.size();
        }
        std::string_view item = list.substr(pos, comma - pos);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        if (!item.empty() && http_name_is(name, item)) {
            return true;
        }
        pos = comma + 1;
    }
    return false;
}

bool http_parse_content_length(Span value, uint64_t& out) {
    // "n" or a list of equal values "n, n, n".
    bool have = false;
    uint64_t first = 0;
    uint32_t i = 0;
    while (i < value.n) {
        while (i < value.n && is_ws(value.p[i])) {
            ++i;
        }
        uint64_t v = 0;
        uint32_t digits = 0;
        while (i < value.n && is_digit(value.p[i])) {
            if (++digits > 18) {
                return false;
            }
            v = v * 10 + (value.p[i] - '0');
            ++i;
        }
        if (digits == 0) {
            return false;
        }
        while (i < value.n && is_ws(value.p[i])) {
            ++i;
        }
        if (have && v != first) {
            return false;
        }
        first = v;
        have = true;
        if (i < value.n) {
            if (value.p[i] != ',') {
                return false;
            }
            ++i;
        }
    }
    if (have) {
        out = first;
    }
    return have;
}

bool http_te_chunked(Span value) {
    // The last comma-separated coding, parameters dropped.
    uint32_t start = 0;
    for (uint32_t i = value.n; i > 0; --i) {
        if (value.p[i - 1] == ',') {
            start = i;
            break;
        }
    }
    Span last = trim(Span{value.p + start, value.n - start});
    for (uint32_t i = 0; i < last.n; ++i) {
        if (last.p[i] == ';') {
            last = trim(Span{last.p, i});
            break;
        }
    }
    return http_name_is(last, "chunked");
}

}  // namespace spate::proto
