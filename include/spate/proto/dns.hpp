#pragma once
/// DNS message parsing (RFC 1035 and later, mDNS RFC 6762, LLMNR RFC 4795):
/// the header, the question and resource-record sections in message order,
/// names with compression pointers, and the rdata of the common types.
/// Allocation-free and bounds-checked: every read stays inside the message,
/// a compression pointer must point backwards (so no loop can form), a name
/// is at most 255 bytes on the wire, and at most kDnsMaxJumps pointers are
/// followed. Errors are reported, never thrown.
#include <cstdint>
#include <string_view>

namespace spate::proto {

constexpr uint32_t kDnsHeader = 12;
constexpr uint32_t kDnsMaxName = 255;  ///< wire bytes of a name (RFC 1035 3.1)
constexpr uint32_t kDnsMaxJumps = 64;  ///< compression pointers followed in one name
/// Presentation text of a name: at most 255 wire bytes, each written as at
/// most 4 characters (\DDD).
constexpr uint32_t kDnsNameText = 4 * kDnsMaxName + 4;

enum class DnsError : uint8_t {
    none = 0,
    short_header,     ///< fewer than 12 bytes
    name_past_end,    ///< a label or pointer runs past the end of the message
    name_loop,        ///< a compression pointer that does not point backwards (or too many)
    name_too_long,    ///< more than 255 bytes on the wire
    name_bad_label,   ///< label type 0x40 or 0x80 (extended / binary labels)
    record_past_end,  ///< a question or record header runs past the end
    rdata_past_end,   ///< rdlength runs past the end of the message
    rdata_bad,        ///< rdata that does not match its type (a bad name inside, wrong size)
};

std::string_view to_string(DnsError e);

struct DnsHeader {
    uint16_t id = 0;
    uint16_t flags = 0;  ///< QR(15) opcode(14..11) AA TC RD RA Z AD CD rcode(3..0)
    uint16_t qdcount = 0;
    uint16_t ancount = 0;
    uint16_t nscount = 0;
    uint16_t arcount = 0;

    bool response() const { return (flags & 0x8000) != 0; }
    uint8_t opcode() const { return static_cast<uint8_t>((flags >> 11) & 0xf); }
    uint8_t rcode() const { return static_cast<uint8_t>(flags & 0xf); }
};

enum class DnsSection : uint8_t { question = 0, answer, authority, additional };

/// One question (no ttl/rdata) or resource record, by offsets into the message.
struct DnsEntry {
    DnsSection section = DnsSection::question;
    uint32_t name_off = 0;  ///< where the owner name starts
    uint16_t type = 0;
    uint16_t cls = 0;
    uint32_t ttl = 0;
    uint16_t rdlen = 0;
    uint32_t rdata_off = 0;
};

/// Reads a name starting at `at` into presentation form ("www.example.com",
/// "." for the root; '.' and '\' inside a label and bytes below 0x21 or
/// 0x7f are escaped as "\." / "\\" / "\DDD"; other bytes, UTF-8 included,
/// are copied). `out` may be nullptr (validate only); otherwise it holds
/// kDnsNameText chars. `after` is set to the offset just past the name at
/// its original place (the first pointer, or the root label).
DnsError dns_read_name(const uint8_t* msg, uint32_t n, uint32_t at, uint32_t& after, char* out,
                       uint32_t& out_len);

/// Walks a message: the header, then each question and record in order.
class DnsMessage {
public:
    DnsMessage(const uint8_t* msg, uint32_t n);

    bool header_ok() const { return n_ >= kDnsHeader; }
    const DnsHeader& header() const { return h_; }
    const uint8_t* data() const { return msg_; }
    uint32_t size() const { return n_; }

    /// The next entry in message order; false at the end of the sections the
    /// header announces, or at an error (error() says which).
    bool next(DnsEntry& e);
    DnsError error() const { return err_; }
    /// Offset after the last entry read.
    uint32_t offset() const { return pos_; }

private:
    const uint8_t* msg_;
    uint32_t n_;
    DnsHeader h_;
    uint32_t pos_ = kDnsHeader;
    uint32_t left_[4] = {};
    uint8_t section_ = 0;
    DnsError err_ = DnsError::none;
};

/// Checks the rdata of the types whose rdata holds names or has a fixed
/// layout (A, AAAA, NS, CNAME, PTR, DNAME, MX, SOA, SRV, TXT, SVCB/HTTPS).
DnsError dns_check_rdata(const uint8_t* msg, uint32_t n, const DnsEntry& e);

struct DnsSummary {
    DnsHeader header;
    uint32_t entries = 0;  ///< questions and records read
    DnsError error = DnsError::none;
    bool questions_plausible = false;  ///< every question has a known class and a non-zero type
};

/// Walks the whole message (names and known rdata checked).
DnsSummary dns_validate(const uint8_t* msg, uint32_t n);

/// A plausible DNS message recognised by content alone (no port hint): a
/// standard header (opcode QUERY/IQUERY/STATUS/NOTIFY/UPDATE, Z bit clear,
/// 1 question for a query or 0..1 for a response, record counts that fit
/// the bytes), and the whole message parses.
bool dns_looks_like(const uint8_t* msg, uint32_t n);

/// A quick look at the first `n` (possibly fewer than 12) bytes of a header:
/// false when what is there cannot start a DNS message for dns_looks_like().
bool dns_header_prefix_plausible(const uint8_t* p, uint32_t n);

/// Mnemonic of an RR type ("A", "AAAA", ..., "HTTPS"); empty when unknown.
std::string_view dns_type_name(uint16_t type);

}  // namespace spate::proto
