// IKE headers, payload chains and IKEv2 SA transforms.
#include "spate/proto/ike.hpp"

#include <cstring>

#include "spate/parse/cursor.hpp"

namespace spate::proto {

bool parse_ike_header(const uint8_t* p, uint32_t len, IkeHeader& h) {
    h = IkeHeader{};
    if (p == nullptr || len < kIkeHeaderLen) {
        return false;
    }
    parse::Cursor c(p, len);
    std::memcpy(h.spi_i, p, 8);
    std::memcpy(h.spi_r, p + 8, 8);
    c.skip(16);
    h.next_payload = c.read_u8();
    const uint8_t v = c.read_u8();
    h.major = v >> 4;
    h.minor = v & 15;
    h.exchange_type = c.read_u8();
    h.flags = c.read_u8();
    h.message_id = c.read_u32();
    h.length = c.read_u32();
    return c.ok() && (h.major == 1 || h.major == 2) && h.length >= kIkeHeaderLen;
}

IkePayloadIter::IkePayloadIter(const uint8_t* msg, uint32_t len, const IkeHeader& h)
    : p_(msg),
      len_(len < h.length ? len : h.length),
      type_(h.next_payload),
      encrypted_v1_(h.major == 1 && (h.flags & kIkeFlagEncrypted) != 0) {}

bool IkePayloadIter::next(uint8_t& type, Span& body) {
    if (stop_ || type_ == 0) {
        return false;
    }
    type = type_;
    if (encrypted_v1_) {
        // IKEv1 with the encryption bit: the first payload type is in the
        // clear, its bytes are not.
        stop_ = true;
        body = Span{p_ + pos_, pos_ < len_ ? len_ - pos_ : 0};
        return true;
    }
    if (pos_ + 4 > len_) {
        truncated_ = true;
        stop_ = true;
        return false;
    }
    const uint32_t plen = uint32_t(p_[pos_ + 2]) << 8 | p_[pos_ + 3];
    if (plen < 4 || pos_ + plen > len_) {
        truncated_ = true;
        stop_ = true;
        return false;
    }
    body = Span{p_ + pos_ + 4, plen - 4};
    type_ = p_[pos_];
    pos_ += plen;
    if (type == kIkePayloadSk || type == kIkePayloadSkf) {
        stop_ = true;  // its next-payload field names the first inner payload, encrypted
    }
    return true;
}

uint32_t ike_sa_transforms(Span sa, IkeTransform* out, uint32_t cap, bool& more, bool& bad) {
    more = false;
    bad = false;
    uint32_t n = 0;
    parse::Cursor c(sa.p, sa.n);
    while (c.remaining() > 0) {
        const uint8_t last = c.read_u8();
        c.skip(1);
        const uint16_t plen = c.read_u16();
        if (!c.ok() || plen < 8) {
            bad = true;
            return n;
        }
        parse::Cursor prop = c.sub(plen - 4);
        if (!c.ok()) {
            bad = true;
            return n;
        }
        const uint8_t num = prop.read_u8();
        prop.skip(1);  // protocol id
        const uint8_t spi_size = prop.read_u8();
        const uint8_t count = prop.read_u8();
        prop.skip(spi_size);
        for (uint8_t t = 0; t < count && prop.ok(); ++t) {
            prop.skip(1);  // last substructure
            prop.skip(1);
            const uint16_t tlen = prop.read_u16();
            if (!prop.ok() || tlen < 8) {
                bad = true;
                return n;
            }
            parse::Cursor tr = prop.sub(tlen - 4);
            IkeTransform x;
            x.proposal = num;
            x.type = tr.read_u8();
            tr.skip(1);
            x.id = tr.read_u16();
            // Attributes: TV (bit 15 set, 2-byte value) or TLV.
            while (tr.ok() && tr.remaining() >= 4) {
                const uint16_t at = tr.read_u16();
                if ((at & 0x8000) != 0) {
                    const uint16_t val = tr.read_u16();
                    if ((at & 0x7fff) == 14) {
                        x.key_length = val;
                    }
                } else {
                    tr.skip(tr.read_u16());
                }
            }
            if (!tr.ok() || !prop.ok()) {
                bad = true;
                return n;
            }
            if (n < cap) {
                out[n++] = x;
            } else {
                more = true;
            }
        }
        if (!prop.ok()) {
            bad = true;
            return n;
        }
        if (last == 0) {
            break;
        }
    }
    return n;
}

}  // namespace spate::proto
