// Fuzz target: one DER certificate. Parses it, then runs every iterator and
// text helper over what came out. Besides memory errors (ASan, UBSan), a few
// invariants abort the run: every Span of the view lies inside the input,
// and every helper stays within its buffer and NUL-terminates.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "spate/proto/x509.hpp"

namespace {

using spate::proto::CertView;
using spate::proto::Span;

const uint8_t* g_begin = nullptr;
const uint8_t* g_end = nullptr;

void inside(Span s) {
    if (s.n == 0) {
        return;
    }
    if (s.p < g_begin || s.p > g_end || s.n > static_cast<size_t>(g_end - s.p)) {
        std::abort();
    }
}

void check_text(size_t n, const char* buf, size_t cap) {
    if (n >= cap || (n > 0 && buf[n] != '\0')) {
        std::abort();
    }
}

// Runs a text helper twice: into a roomy buffer and into a tight one (so the
// "does not fit" paths run as well).
template <class Fn>
void text(Fn&& fn) {
    char big[4096];
    check_text(fn(big, sizeof big), big, sizeof big);
    char small[8];
    check_text(fn(small, sizeof small), small, sizeof small);
}

void oid(Span o) {
    text([&](char* b, size_t c) { return spate::proto::oid_to_text(o, b, c); });
    (void)spate::proto::oid_short_name(o);
    (void)spate::proto::oid_name(o);
}

void name(Span n) {
    spate::proto::for_each_name_attr(n, [](Span o, Span v, uint8_t tag) {
        inside(o);
        inside(v);
        oid(o);
        text([&](char* b, size_t c) { return spate::proto::name_value_to_utf8(v, tag, b, c); });
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    g_begin = data;
    g_end = data + size;
    CertView c;
    const bool ok = spate::proto::parse_certificate(data, size, c);
    if (!ok && c.truncated) {
        std::abort();  // truncated is only reported with true
    }
    for (Span s : {c.tbs, c.serial, c.signature_alg, c.issuer, c.subject, c.not_before, c.not_after,
                   c.spki, c.pk_alg, c.pk_param, c.pk, c.extensions, c.san, c.signature}) {
        inside(s);
    }
    if (ok && !c.truncated && c.length > size) {
        std::abort();
    }
    if (c.version > 3) {
        std::abort();
    }
    name(c.issuer);
    name(c.subject);
    oid(c.signature_alg);
    oid(c.pk_alg);
    oid(c.pk_param);
    text([&](char* b, size_t n) { return spate::proto::serial_to_text(c.serial, b, n); });
    text([&](char* b, size_t n) {
        return spate::proto::time_to_text(c.not_before, c.not_before_tag, b, n);
    });
    text([&](char* b, size_t n) {
        return spate::proto::time_to_text(c.not_after, c.not_after_tag, b, n);
    });
    spate::proto::for_each_san(c.san, [](uint8_t, Span v) { inside(v); });
    spate::proto::for_each_san_dns(c.san, [](Span v) { inside(v); });
    spate::proto::for_each_extension(c.extensions, [](Span o, bool, Span v) {
        inside(o);
        inside(v);
        oid(o);
    });

    // The raw input through the helpers too: as an OID, a time of each kind,
    // a Name and a GeneralNames list.
    const Span raw{data, static_cast<uint32_t>(size > UINT32_MAX ? UINT32_MAX : size)};
    oid(raw);
    text([&](char* b, size_t n) { return spate::proto::time_to_text(raw, 0x17, b, n); });
    text([&](char* b, size_t n) { return spate::proto::time_to_text(raw, 0x18, b, n); });
    text([&](char* b, size_t n) { return spate::proto::name_value_to_utf8(raw, 0x1e, b, n); });
    text([&](char* b, size_t n) { return spate::proto::name_value_to_utf8(raw, 0x1c, b, n); });
    name(raw);
    spate::proto::for_each_san(raw, [](uint8_t, Span v) { inside(v); });
    return 0;
}
