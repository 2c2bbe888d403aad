// DNS message parsing: header, sections, compressed names, rdata checks.
#include "spate/proto/dns.hpp"

namespace spate::proto {

namespace {

uint16_t rd16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

uint32_t rd32(const uint8_t* p) {
    return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

void put_label_byte(char* out, uint32_t& len, uint8_t c) {
    if (c == '.' || c == '\\') {
        out[len++] = '\\';
        out[len++] = static_cast<char>(c);
    } else if (c < 0x21 && c != ' ') {
        out[len++] = '\\';
        out[len++] = static_cast<char>('0' + c / 100);
        out[len++] = static_cast<char>('0' + c / 10 % 10);
        out[len++] = static_cast<char>('0' + c % 10);
    } else if (c == 0x7f) {
        out[len++] = '\\';
        out[len++] = '1';
        out[len++] = '2';
        out[len++] = '7';
    } else {
        out[len++] = static_cast<char>(c);
    }
}

/// A name inside rdata: valid, and its inline part ends inside the rdata.
bool rdata_name(const uint8_t* msg, uint32_t n, uint32_t at, uint32_t end, uint32_t& after) {
    uint32_t len = 0;
    if (at >= end) {
        return false;
    }
    return dns_read_name(msg, n, at, after, nullptr, len) == DnsError::none && after <= end;
}

bool known_class(uint16_t c) {
    c &= 0x7fff;  // mDNS: unicast-response / cache-flush bit
    return c == 1 || c == 3 || c == 4 || c == 254 || c == 255;
}

bool known_opcode(uint8_t op) {
    return op == 0 || op == 1 || op == 2 || op == 4 || op == 5;
}

}  // namespace

std::string_view to_string(DnsError e) {
    switch (e) {
        case DnsError::none:
            return "none";
        case DnsError::short_header:
            return "short_header";
        case DnsError::name_past_end:
            return "name_past_end";
        case DnsError::name_loop:
            return "name_loop";
        case DnsError::name_too_long:
            return "name_too_long";
        case DnsError::name_bad_label:
            return "name_bad_label";
        case DnsError::record_past_end:
            return "record_past_end";
        case DnsError::rdata_past_end:
            return "rdata_past_end";
        case DnsError::rdata_bad:
            return "rdata_bad";
    }
    return "unknown";
}

DnsError dns_read_name(const uint8_t* msg, uint32_t n, uint32_t at, uint32_t& after, char* out,
                       uint32_t& out_len) {
    out_len = 0;
    after = 0;
    uint32_t pos = at;
    uint32_t segment = at;  // start of the current run of labels: pointers must go below it
    uint32_t wire = 0;
    uint32_t jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= n) {
            return DnsError::name_past_end;
        }
        const uint8_t b = msg[pos];
        if ((b & 0xc0) == 0xc0) {
            if (pos + 1 >= n) {
                return DnsError::name_past_end;
            }
            const uint32_t target = uint32_t(b & 0x3f) << 8 | msg[pos + 1];
            if (!jumped) {
                after = pos + 2;
                jumped = true;
            }
            if (target >= segment || ++jumps > kDnsMaxJumps) {
                return DnsError::name_loop;
            }
            pos = target;
            segment = target;
            continue;
        }
        if ((b & 0xc0) != 0) {
            return DnsError::name_bad_label;
        }
        wire += 1u + b;
        if (wire > kDnsMaxName) {
            return DnsError::name_too_long;
        }
        if (b == 0) {
            if (!jumped) {
                after = pos + 1;
            }
            if (out != nullptr && out_len == 0) {
                out[out_len++] = '.';
            }
            return DnsError::none;
        }
        if (pos + 1 + b > n) {
            return DnsError::name_past_end;
        }
        if (out != nullptr) {
            if (out_len != 0) {
                out[out_len++] = '.';
            }
            for (uint32_t i = 0; i < b; ++i) {
                put_label_byte(out, out_len, msg[pos + 1 + i]);
            }
        }
        pos += 1u + b;
    }
}

DnsMessage::DnsMessage(const uint8_t* msg, uint32_t n) : msg_(msg), n_(n) {
    if (n < kDnsHeader) {
        err_ = DnsError::short_header;
        section_ = 4;
        return;
    }
    h_.id = rd16(msg);
    h_.flags = rd16(msg + 2);
    h_.qdcount = rd16(msg + 4);
    h_.ancount = rd16(msg + 6);
    h_.nscount = rd16(msg + 8);
    h_.arcount = rd16(msg + 10);
    left_[0] = h_.qdcount;
    left_[1] = h_.ancount;
    left_[2] = h_.nscount;
    left_[3] = h_.arcount;
}

bool DnsMessage::next(DnsEntry& e) {
    if (err_ != DnsError::none) {
        return false;
    }
    while (section_ < 4 && left_[section_] == 0) {
        ++section_;
    }
    if (section_ == 4) {
        return false;
    }
    e = DnsEntry{};
    e.section = static_cast<DnsSection>(section_);
    e.name_off = pos_;
    uint32_t after = 0;
    uint32_t len = 0;
    const DnsError ne = dns_read_name(msg_, n_, pos_, after, nullptr, len);
    if (ne != DnsError::none) {
        err_ = ne;
        return false;
    }
    const uint32_t fixed = section_ == 0 ? 4 : 10;
    if (after + fixed > n_) {
        err_ = DnsError::record_past_end;
        return false;
    }
    const uint8_t* p = msg_ + after;
    e.type = rd16(p);
    e.cls = rd16(p + 2);
    if (section_ == 0) {
        pos_ = after + 4;
    } else {
        e.ttl = rd32(p + 4);
        e.rdlen = rd16(p + 8);
        e.rdata_off = after + 10;
        if (e.rdata_off + e.rdlen > n_) {
            err_ = DnsError::rdata_past_end;
            return false;
        }
        pos_ = e.rdata_off + e.rdlen;
    }
    --left_[section_];
    return true;
}

DnsError dns_check_rdata(const uint8_t* msg, uint32_t n, const DnsEntry& e) {
    if (e.section == DnsSection::question) {
        return DnsError::none;
    }
    const uint32_t at = e.rdata_off;
    const uint32_t end = e.rdata_off + e.rdlen;
    if (end > n) {
        return DnsError::rdata_past_end;
    }
    uint32_t after = 0;
    switch (e.type) {
        case 1:
            return e.rdlen == 4 ? DnsError::none : DnsError::rdata_bad;
        case 28:
            return e.rdlen == 16 ? DnsError::none : DnsError::rdata_bad;
        case 2:
        case 5:
        case 12:
        case 39:
            return rdata_name(msg, n, at, end, after) && after == end ? DnsError::none
                                                                      : DnsError::rdata_bad;
        case 15:
            return e.rdlen > 2 && rdata_name(msg, n, at + 2, end, after) && after == end
                       ? DnsError::none
                       : DnsError::rdata_bad;
        case 33:
            return e.rdlen > 6 && rdata_name(msg, n, at + 6, end, after) && after == end
                       ? DnsError::none
                       : DnsError::rdata_bad;
        case 64:
        case 65:
            return e.rdlen > 2 && rdata_name(msg, n, at + 2, end, after) ? DnsError::none
                                                                         : DnsError::rdata_bad;
        case 6: {
            uint32_t mid = 0;
            if (!rdata_name(msg, n, at, end, mid) || !rdata_name(msg, n, mid, end, after) ||
                after + 20 != end) {
                return DnsError::rdata_bad;
            }
            return DnsError::none;
        }
        case 16: {
            uint32_t p = at;
            while (p < end) {
                p += 1u + msg[p];
            }
            return p == end ? DnsError::none : DnsError::rdata_bad;
        }
        default:
            return DnsError::none;
    }
}

DnsSummary dns_validate(const uint8_t* msg, uint32_t n) {
    DnsSummary s;
    DnsMessage m(msg, n);
    s.header = m.header();
    if (!m.header_ok()) {
        s.error = DnsError::short_header;
        return s;
    }
    s.questions_plausible = true;
    DnsEntry e;
    while (m.next(e)) {
        ++s.entries;
        if (e.section == DnsSection::question) {
            if (e.type == 0 || !known_class(e.cls)) {
                s.questions_plausible = false;
            }
            continue;
        }
        const DnsError r = dns_check_rdata(msg, n, e);
        if (r != DnsError::none && s.error == DnsError::none) {
            s.error = r;
        }
    }
    if (m.error() != DnsError::none) {
        s.error = m.error();
    }
    return s;
}

bool dns_header_prefix_plausible(const uint8_t* p, uint32_t n) {
    if (n >= 3 && !known_opcode(static_cast<uint8_t>((p[2] >> 3) & 0xf))) {
        return false;
    }
    if (n >= 4 && (p[3] & 0x40) != 0) {
        return false;  // Z
    }
    if (n >= 6) {
        const uint16_t qd = rd16(p + 4);
        if (qd > 1 || ((p[2] & 0x80) == 0 && qd != 1)) {
            return false;
        }
    }
    return true;
}

bool dns_looks_like(const uint8_t* msg, uint32_t n) {
    if (n < kDnsHeader || !dns_header_prefix_plausible(msg, n)) {
        return false;
    }
    const uint32_t records = uint32_t{rd16(msg + 6)} + rd16(msg + 8) + rd16(msg + 10);
    if (kDnsHeader + 5 * uint32_t{rd16(msg + 4)} + 11 * records > n) {
        return false;
    }
    const DnsSummary s = dns_validate(msg, n);
    if (s.error != DnsError::none || !s.questions_plausible) {
        return false;
    }
    return s.header.qdcount == 1 || s.header.ancount > 0;
}

std::string_view dns_type_name(uint16_t t) {
    switch (t) {
        case 1:
            return "A";
        case 2:
            return "NS";
        case 3:
            return "MD";
        case 4:
            return "MF";
        case 5:
            return "CNAME";
        case 6:
            return "SOA";
        case 7:
            return "MB";
        case 8:
            return "MG";
        case 9:
            return "MR";
        case 10:
            return "NULL";
        case 11:
            return "WKS";
        case 12:
            return "PTR";
        case 13:
            return "HINFO";
        case 14:
            return "MINFO";
        case 15:
            return "MX";
        case 16:
            return "TXT";
        case 17:
            return "RP";
        case 18:
            return "AFSDB";
        case 24:
            return "SIG";
        case 25:
            return "KEY";
        case 28:
            return "AAAA";
        case 29:
            return "LOC";
        case 33:
            return "SRV";
        case 35:
            return "NAPTR";
        case 36:
            return "KX";
        case 37:
            return "CERT";
        case 39:
            return "DNAME";
        case 41:
            return "OPT";
        case 42:
            return "APL";
        case 43:
            return "DS";
        case 44:
            return "SSHFP";
        case 45:
            return "IPSECKEY";
        case 46:
            return "RRSIG";
        case 47:
            return "NSEC";
        case 48:
            return "DNSKEY";
        case 49:
            return "DHCID";
        case 50:
            return "NSEC3";
        case 51:
            return "NSEC3PARAM";
        case 52:
            return "TLSA";
        case 53:
            return "SMIMEA";
        case 55:
            return "HIP";
        case 59:
            return "CDS";
        case 60:
            return "CDNSKEY";
        case 61:
            return "OPENPGPKEY";
        case 62:
            return "CSYNC";
        case 63:
            return "ZONEMD";
        case 64:
            return "SVCB";
        case 65:
            return "HTTPS";
        case 99:
            return "SPF";
        case 249:
            return "TKEY";
        case 250:
            return "TSIG";
        case 251:
            return "IXFR";
        case 252:
            return "AXFR";
        case 253:
            return "MAILB";
        case 254:
            return "MAILA";
        case 255:
            return "ANY";
        case 256:
            return "URI";
        case 257:
            return "CAA";
        default:
            return {};
    }
}

}  // namespace spate::proto
