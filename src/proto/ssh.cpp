// SSH identification lines, KEXINIT name-lists, negotiation and HASSH.
#include "spate/proto/ssh.hpp"

#include <openssl/evp.h>

#include <cstring>

#include "spate/parse/cursor.hpp"

namespace spate::proto {

const std::string_view kSshListNames[kSshLists] = {
    "kex_algorithms",
    "host_key_algorithms",
    "encryption_algorithms_c2s",
    "encryption_algorithms_s2c",
    "mac_algorithms_c2s",
    "mac_algorithms_s2c",
    "compression_algorithms_c2s",
    "compression_algorithms_s2c",
    "languages_c2s",
    "languages_s2c",
};

bool parse_ssh_banner(const uint8_t* line, uint32_t len, SshBanner& out) {
    out = SshBanner{};
    if (line == nullptr || len < 4 || std::memcmp(line, "SSH-", 4) != 0) {
        return false;
    }
    // Drop a trailing CR LF if the caller left it.
    while (len > 4 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        --len;
    }
    uint32_t i = 4;
    const uint32_t pv = i;
    while (i < len && line[i] != '-' && line[i] != ' ') {
        ++i;
    }
    out.proto_version = Span{line + pv, i - pv};
    if (i >= len || line[i] != '-') {
        return true;
    }
    ++i;
    const uint32_t sw = i;
    while (i < len && line[i] != ' ') {
        ++i;
    }
    out.software = Span{line + sw, i - sw};
    if (i < len) {
        ++i;
        out.comments = Span{line + i, len - i};
    }
    return true;
}

bool parse_ssh_kexinit(const uint8_t* payload, uint32_t len, SshKexinit& out) {
    out = SshKexinit{};
    if (payload == nullptr || len < 17 || payload[0] != kSshMsgKexinit) {
        return false;
    }
    parse::Cursor c(payload, len);
    c.skip(1);
    out.cookie = Span{c.data(), 16};
    c.skip(16);
    for (uint8_t i = 0; i < kSshLists; ++i) {
        if (!c.has(4)) {
            out.cut = true;
            return true;
        }
        const uint32_t n = c.read_u32();
        if (n > c.remaining()) {
            out.list[i] = Span{c.data(), static_cast<uint32_t>(c.remaining())};
            out.cut = true;
            return true;
        }
        out.list[i] = Span{c.data(), n};
        c.skip(n);
        out.lists = static_cast<uint8_t>(i + 1);
    }
    if (c.has(5)) {
        out.first_kex_packet_follows = c.read_u8() != 0;
        c.read_u32();
        out.complete = true;
    } else {
        out.cut = true;
    }
    return true;
}

bool next_ssh_name(Span list, uint32_t& pos, Span& name) {
    if (pos >= list.n) {
        return false;
    }
    uint32_t e = pos;
    while (e < list.n && list.p[e] != ',') {
        ++e;
    }
    name = Span{list.p + pos, e - pos};
    pos = e + 1;
    return true;
}

Span ssh_negotiate(Span client, Span server) {
    uint32_t cp = 0;
    for (Span c; next_ssh_name(client, cp, c);) {
        if (c.n == 0) {
            continue;
        }
        uint32_t sp = 0;
        for (Span s; next_ssh_name(server, sp, s);) {
            if (s.n == c.n && std::memcmp(s.p, c.p, c.n) == 0) {
                return c;
            }
        }
    }
    return Span{};
}

uint32_t ssh_hassh_string(const SshKexinit& k, bool server, char* out, uint32_t cap) {
    const SshList idx[4] = {kSshKex, server ? kSshEncS2C : kSshEncC2S,
                            server ? kSshMacS2C : kSshMacC2S, server ? kSshCompS2C : kSshCompC2S};
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) {
        const Span s = k.list[idx[i]];
        const uint32_t need = s.n + (i > 0 ? 1 : 0);
        if (n + need > cap) {
            return 0;
        }
        if (i > 0) {
            out[n++] = ';';
        }
        if (s.n > 0) {
            std::memcpy(out + n, s.p, s.n);
        }
        n += s.n;
    }
    return n;
}

void ssh_md5_hex(const void* s, size_t n, char out[33]) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    static const char* hex = "0123456789abcdef";
    if (EVP_Digest(s, n, d, &dn, EVP_md5(), nullptr) != 1 || dn != 16) {
        std::memset(out, '0', 32);
        out[32] = '\0';
        return;
    }
    for (unsigned i = 0; i < 16; ++i) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[32] = '\0';
}

bool ssh_packet_header_ok(uint32_t packet_length, uint8_t padding_length) {
    return packet_length <= kSshMaxPacket && padding_length >= 4 &&
           uint32_t{padding_length} + 2 <= packet_length;
}

}  // namespace spate::proto
