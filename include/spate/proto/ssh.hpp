#pragma once
/// SSH transport-layer pieces a passive probe can read (RFC 4253): the
/// identification string ("SSH-protoversion-softwareversion SP comments"),
/// the binary packet header, the SSH_MSG_KEXINIT payload and its name-lists,
/// the algorithm negotiation of RFC 4253 7.1, and the HASSH / HASSHServer
/// fingerprints (MD5 of "kex;enc;mac;comp").
///
/// Everything here reads untrusted bytes: every length is checked, nothing
/// allocates, and Spans point into the bytes that were parsed.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spate/proto/span.hpp"

namespace spate::proto {

/// The parts of an identification line (without its CR LF).
struct SshBanner {
    Span proto_version;  ///< "2.0", "1.99"
    Span software;       ///< "OpenSSH_7.4"
    Span comments;       ///< after the first space ("Ubuntu-1ubuntu0.1"); empty when none
};

/// True when `line` starts with "SSH-"; splits it into its parts (a line
/// with no second '-' has an empty software part).
bool parse_ssh_banner(const uint8_t* line, uint32_t len, SshBanner& out);

/// The name-lists of a KEXINIT in wire order.
enum SshList : uint8_t {
    kSshKex = 0,
    kSshHostKey,
    kSshEncC2S,
    kSshEncS2C,
    kSshMacC2S,
    kSshMacS2C,
    kSshCompC2S,
    kSshCompS2C,
    kSshLangC2S,
    kSshLangS2C,
    kSshLists
};

/// Field names of the lists in the record (same order as SshList).
extern const std::string_view kSshListNames[kSshLists];

constexpr uint8_t kSshMsgKexinit = 20;

/// One KEXINIT payload (message type byte first). A payload cut short
/// gives the lists that are whole (`lists` of them), the next one cut at the
/// end of the bytes (`cut` set), and the rest empty.
struct SshKexinit {
    Span cookie;
    Span list[kSshLists];
    uint8_t lists = 0;  ///< name-lists read whole
    bool cut = false;   ///< the payload ended inside a list (or before all ten)
    bool first_kex_packet_follows = false;
    bool complete = false;  ///< all ten lists and the trailing boolean and reserved word read
};

/// Parses a KEXINIT payload. False when it is not one (wrong message type,
/// fewer than 17 bytes); a cut payload still returns true with `cut` set.
bool parse_ssh_kexinit(const uint8_t* payload, uint32_t len, SshKexinit& out);

/// The n-th name of a comma-separated name-list; iterate with
/// `for (Span name; next_ssh_name(list, pos, name);)` starting at pos 0.
bool next_ssh_name(Span list, uint32_t& pos, Span& name);

/// RFC 4253 7.1: the first algorithm of the client's list that the server
/// also lists. Empty when there is none.
Span ssh_negotiate(Span client, Span server);

/// "kex;enc;mac;comp" for HASSH (client lists c2s) or HASSHServer (server
/// lists s2c), written into `out` (cap bytes); its length, or 0 when it does
/// not fit. `server` chooses the s2c lists.
uint32_t ssh_hassh_string(const SshKexinit& k, bool server, char* out, uint32_t cap);

/// MD5 of `s` as 32 lowercase hex digits into out[33] (NUL-terminated).
void ssh_md5_hex(const void* s, size_t n, char out[33]);

/// Binary packet limits used to tell an SSH packet from noise.
constexpr uint32_t kSshMaxPacket = 256 * 1024;

/// True when the 5 bytes look like an unencrypted binary packet header
/// (packet_length >= padding_length + 1 + 1, padding_length >= 4, bounded).
bool ssh_packet_header_ok(uint32_t packet_length, uint8_t padding_length);

}  // namespace spate::proto
