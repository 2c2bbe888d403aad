// QUIC Initial decryption: the RFC 9001 / RFC 9369 test vectors (keys,
// client and server Initials), the frame walk on packets protected here,
// truncations and damaged packets, and the real Initials of the corpus
// captures, whose ClientHello / ServerHello are checked against the oracle.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "spate/proto/quic.hpp"

namespace fs = std::filesystem;
using spate::proto::looks_like_quic_initial;
using spate::proto::parse_quic_long_header;
using spate::proto::quic_decode_packet_number;
using spate::proto::quic_initial_keys;
using spate::proto::quic_read_varint;
using spate::proto::quic_status_name;
using spate::proto::quic_version_known;
using spate::proto::QuicInitialDecryptor;
using spate::proto::QuicKeys;
using spate::proto::QuicLongHeader;
using spate::proto::QuicPacketType;
using spate::proto::QuicStatus;
using spate::proto::Span;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(const std::string& s) {
    Bytes out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoul(s.substr(i, 2), nullptr, 16)));
    }
    return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; ++i) {
        s += d[p[i] >> 4];
        s += d[p[i] & 15];
    }
    return s;
}

Span span(const Bytes& b) {
    return Span{b.data(), static_cast<uint32_t>(b.size())};
}

const Bytes kRfcDcid = hex("8394c8f03e515708");

// RFC 9001 A.2 / RFC 9369 A.2: the CRYPTO frame of the client Initial
// (a ClientHello for example.com), padded with 917 PADDING bytes.
const char* const kRfcClientCryptoFrame =
    "060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
    "04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578"
    "616d706c652e636f6dff01000100000a00080006001d00170018001000070005"
    "04616c706e000500050100000000003300260024001d00209370b2c9caa47fba"
    "baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400"
    "0d0010000e0403050306030203080408050806002d00020101001c0002400100"
    "3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000"
    "75300901100f088394c8f03e51570806048000ffff";

// RFC 9001 A.3 / RFC 9369 A.3: the server Initial's payload, an ACK frame
// and a CRYPTO frame with the ServerHello.
const char* const kRfcServerPayload =
    "02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf73988cfc79825df566dc5430b9a"
    "045a1200130100002e00330024001d00209d3c940d89690b84d08a60993c144eca684d1081287c834d5311bc"
    "f32bb9da1a002b00020304";

// The protected packets of RFC 9001 A.2 / A.3 and RFC 9369 A.2 / A.3.
const char* const kRfc9001A2Client =
    "c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11d242b123dc9bd8ba"
    "b936b47d92ec356c0bab7df5976d27cd449f63300099f3991c260ec4c60d17b31f8429157bb35a12"
    "82a643a8d2262cad67500cadb8e7378c8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6"
    "005f80fcb7df621230c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5"
    "457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c2084dce25ff9b06cde5"
    "35d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec4e15daf8500a6ef69ec4e3feb6b1d98e"
    "610ac8b7ec3faf6ad760b7bad1db4ba3485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e3"
    "0c5c4287e53805db059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c"
    "7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f89937f5a67258bf63"
    "ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556be52afe3f565636ad1b17d508b73d874"
    "3eeb524be22b3dcbc2c7468d54119c7468449a13d8e3b95811a198f3491de3e7fe942b330407abf8"
    "2a4ed7c1b311663ac69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00"
    "f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632291d6a418211cc29"
    "62e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe5896425c5bac4aee82e57a85aaf4e2513e4f0"
    "5796b07ba2ee47d80506f8d2c25e50fd14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c"
    "1f28ff18f58891ffef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198"
    "e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009ddc324044e847a4f4a"
    "0ab34f719595de37252d6235365e9b84392b061085349d73203a4a13e96f5432ec0fd4a1ee65accd"
    "d5e3904df54c1da510b0ff20dcc0c77fcb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de3"
    "54270123cb11450efc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade"
    "a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e72404790a2181014f3b94a"
    "4e97d117b438130368cc39dbb2d198065ae3986547926cd2162f40a29f0c3c8745c0f50fba3852e5"
    "66d44575c29d39a03f0cda721984b6f440591f355e12d439ff150aab7613499dbd49adabc8676eef"
    "023b15b65bfc5ca06948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e"
    "8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0be79e2fb8f5d5fbb"
    "e2e30ecadd220723c8c0aea8078cdfcb3868263ff8f0940054da48781893a7e49ad5aff4af300cd8"
    "04a6b6279ab3ff3afb64491c85194aab760d58a606654f9f4400e8b38591356fbf6425aca26dc852"
    "44259ff2b19c41b9f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4"
    "056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd46840647e78bfe706ca4cf5"
    "e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241e221af44860018ab0856972e194cd934";

const char* const kRfc9369A2Client =
    "d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485dd04de806071bf03"
    "dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad049f9a3dd4425ae4d0992cfff18ecf0fdb"
    "5a842d09747052f17ac2053d21f57c5d250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4"
    "f03b55545243cf1a12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500"
    "cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd6818f6625efce3b6de"
    "f6ba7e4b37a40f7732e093daa7d52190935b8da58976ff3312ae50b187c1433c0f028edcc4c2838b"
    "6a9bfc226ca4b4530e7a4ccee1bfa2a3d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c"
    "7777c023462239dd6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520"
    "bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045636e7c0c0fe4eb0f"
    "697545460c806910d2c355f1d253bc9d2452aaa549e27a1fac7cf4ed77f322e8fa894b6a83810a34"
    "b361901751a6f5eb65a0326e07de7c1216ccce2d0193f958bb3850a833f7ae432b65bc5a53975c15"
    "5aa4bcb4f7b2c4e54df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4"
    "fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b8017c25ca9052ca1"
    "079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de714d19d61370f8149748c72f132f0fc99"
    "f34d766c6938597040d8f9e2bb522ff99c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c44"
    "6151adfeceb51b91abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd"
    "80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db848265e3e5eb72df"
    "e8299ad7481a408322cac55786e52f633b2fb6b614eaed18d703dd84045a274ae8bfa73379661388"
    "d6991fe39b0d93debb41700b41f90a15c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e5"
    "7f32162a8560cacc7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61"
    "f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e7071010d3f270121b493c"
    "e85054ef58bada42310138fe081adb04e2bd901f2f13458b3d6758158197107c14ebb193230cd115"
    "7380aa79cae1374a7c1e5bbcb80ee23e06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6"
    "adc38b7ca7331dce8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1"
    "34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1e86215c2d54e6670"
    "e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd5d3b22dc2be80919b490437ae4f36a0a"
    "e55edf1d0b5cb4e9a3ecabee93dfc6e38d209d0fa6536d27a5d6fbb17641cde27525d61093f1b280"
    "72d111b2b4ae5f89d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53"
    "6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb199a37ddec60054547"
    "3cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96ba18b2faa745b6fe189cf772a9f84cbfc";

const char* const kRfc9001A3Server =
    "cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a5816b6394100f37a1c697975"
    "54780bb38cc5a99f5ede4cf73c3ec2493a1839b3dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bde"
    "d74b562bfb19fb84022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc42158407d"
    "d074ee";

const char* const kRfc9369A3Server =
    "dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698baeea26b91eb761d9b89237b"
    "bf87263017915358230035f7fd3945d88965cf17f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e"
    "42757507698075b2c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca84bed8521"
    "e2e140";

struct Frame {
    uint64_t offset;
    Bytes data;
};

struct Result {
    QuicStatus status;
    QuicLongHeader hdr;
    std::vector<Frame> frames;
};

Result run(QuicInitialDecryptor& d, const Bytes& pkt, bool from_server, Span keys_dcid = {}) {
    Result r;
    r.status = d.decrypt(pkt.data(), pkt.size(), from_server, keys_dcid, r.hdr,
                         [&](uint64_t off, Span data) {
                             r.frames.push_back({off, Bytes(data.begin(), data.end())});
                         });
    return r;
}

// ---------------------------------------------------------------------------
// A small Initial packet protector (the inverse of the decryptor), used to
// make packets with chosen frames. It is checked against RFC 9001 A.2 first.

void varint(Bytes& out, uint64_t v) {
    if (v < 64) {
        out.push_back(static_cast<uint8_t>(v));
    } else if (v < 16384) {
        out.push_back(static_cast<uint8_t>(0x40 | v >> 8));
        out.push_back(static_cast<uint8_t>(v));
    } else {
        out.push_back(static_cast<uint8_t>(0x80 | v >> 24));
        out.push_back(static_cast<uint8_t>(v >> 16));
        out.push_back(static_cast<uint8_t>(v >> 8));
        out.push_back(static_cast<uint8_t>(v));
    }
}

struct Protect {
    uint32_t version = spate::proto::kQuicV1;
    Bytes dcid = kRfcDcid;
    Bytes scid;
    Bytes token;
    Bytes keys_dcid;  // empty: dcid
    bool server = false;
    unsigned pn_len = 4;
    uint64_t pn = 2;
    bool clear_fixed_bit = false;
};

Bytes protect(const Protect& o, const Bytes& payload) {
    const uint8_t type_bits = o.version == spate::proto::kQuicV2 ? 1 : 0;
    Bytes p;
    p.push_back(
        static_cast<uint8_t>((o.clear_fixed_bit ? 0x80 : 0xc0) | type_bits << 4 | (o.pn_len - 1)));
    for (int i = 3; i >= 0; --i) {
        p.push_back(static_cast<uint8_t>(o.version >> (8 * i)));
    }
    p.push_back(static_cast<uint8_t>(o.dcid.size()));
    p.insert(p.end(), o.dcid.begin(), o.dcid.end());
    p.push_back(static_cast<uint8_t>(o.scid.size()));
    p.insert(p.end(), o.scid.begin(), o.scid.end());
    varint(p, o.token.size());
    p.insert(p.end(), o.token.begin(), o.token.end());
    const size_t length = o.pn_len + payload.size() + 16;
    p.push_back(static_cast<uint8_t>(0x40 | length >> 8));  // 2-byte varint, as the RFC does
    p.push_back(static_cast<uint8_t>(length));
    const size_t pn_off = p.size();
    for (int i = static_cast<int>(o.pn_len) - 1; i >= 0; --i) {
        p.push_back(static_cast<uint8_t>(o.pn >> (8 * i)));
    }
    QuicKeys k{};
    EXPECT_TRUE(quic_initial_keys(o.version, span(o.keys_dcid.empty() ? o.dcid : o.keys_dcid),
                                  o.server, k));
    uint8_t nonce[12];
    std::memcpy(nonce, k.iv, 12);
    for (int i = 0; i < 8; ++i) {
        nonce[11 - i] ^= static_cast<uint8_t>(o.pn >> (8 * i));
    }
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    Bytes ct(payload.size() + 16);
    int n = 0, fin = 0;
    EXPECT_EQ(1, EVP_EncryptInit_ex2(c, EVP_aes_128_gcm(), k.key, nonce, nullptr));
    EXPECT_EQ(1, EVP_EncryptUpdate(c, nullptr, &n, p.data(), static_cast<int>(p.size())));
    EXPECT_EQ(
        1, EVP_EncryptUpdate(c, ct.data(), &n, payload.data(), static_cast<int>(payload.size())));
    EXPECT_EQ(1, EVP_EncryptFinal_ex(c, ct.data() + n, &fin));
    EXPECT_EQ(1, EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, ct.data() + payload.size()));
    uint8_t mask[16];
    EXPECT_EQ(1, EVP_EncryptInit_ex2(c, EVP_aes_128_ecb(), k.hp, nullptr, nullptr));
    EXPECT_EQ(1, EVP_EncryptUpdate(c, mask, &n, ct.data() + (4 - o.pn_len), 16));
    EVP_CIPHER_CTX_free(c);
    p[0] ^= mask[0] & 0x0f;
    for (unsigned i = 0; i < o.pn_len; ++i) {
        p[pn_off + i] ^= mask[1 + i];
    }
    p.insert(p.end(), ct.begin(), ct.end());
    return p;
}

Bytes padded(Bytes b, size_t to) {
    if (b.size() < to) {
        b.resize(to, 0);
    }
    return b;
}

// ---------------------------------------------------------------------------

TEST(QuicKeys, Rfc9001A1) {
    QuicKeys c{}, s{};
    ASSERT_TRUE(quic_initial_keys(spate::proto::kQuicV1, span(kRfcDcid), false, c));
    ASSERT_TRUE(quic_initial_keys(spate::proto::kQuicV1, span(kRfcDcid), true, s));
    EXPECT_EQ(to_hex(c.key, 16), "1f369613dd76d5467730efcbe3b1a22d");
    EXPECT_EQ(to_hex(c.iv, 12), "fa044b2f42a3fd3b46fb255c");
    EXPECT_EQ(to_hex(c.hp, 16), "9f50449e04a0e810283a1e9933adedd2");
    EXPECT_EQ(to_hex(s.key, 16), "cf3a5331653c364c88f0f379b6067e37");
    EXPECT_EQ(to_hex(s.iv, 12), "0ac1493ca1905853b0bba03e");
    EXPECT_EQ(to_hex(s.hp, 16), "c206b8d9b9f0f37644430b490eeaa314");
}

TEST(QuicKeys, Rfc9369A1) {
    QuicKeys c{}, s{};
    ASSERT_TRUE(quic_initial_keys(spate::proto::kQuicV2, span(kRfcDcid), false, c));
    ASSERT_TRUE(quic_initial_keys(spate::proto::kQuicV2, span(kRfcDcid), true, s));
    EXPECT_EQ(to_hex(c.key, 16), "8b1a0bc121284290a29e0971b5cd045d");
    EXPECT_EQ(to_hex(c.iv, 12), "91f73e2351d8fa91660e909f");
    EXPECT_EQ(to_hex(c.hp, 16), "45b95e15235d6f45a6b19cbcb0294ba9");
    EXPECT_EQ(to_hex(s.key, 16), "82db637861d55e1d011f19ea71d5d2a7");
    EXPECT_EQ(to_hex(s.iv, 12), "dd13c276499c0249d3310652");
    EXPECT_EQ(to_hex(s.hp, 16), "edf6d05c83121201b436e16877593c3a");
}

TEST(QuicKeys, Versions) {
    EXPECT_TRUE(quic_version_known(0x00000001));
    EXPECT_TRUE(quic_version_known(0x6b3343cf));
    EXPECT_TRUE(quic_version_known(0xff00001d));
    EXPECT_TRUE(quic_version_known(0xff00001b));
    EXPECT_TRUE(quic_version_known(0xff000022));
    EXPECT_FALSE(quic_version_known(0));
    EXPECT_FALSE(quic_version_known(0xff00001a));
    EXPECT_FALSE(quic_version_known(0x709a50c4));  // withdrawn v2 draft number
    EXPECT_FALSE(quic_version_known(0x1a2a3a4a));  // a reserved (greasing) version
    QuicKeys k{};
    EXPECT_FALSE(quic_initial_keys(0x1a2a3a4a, span(kRfcDcid), false, k));
    // An empty DCID is allowed (the keys are well defined).
    EXPECT_TRUE(quic_initial_keys(1, Span{}, false, k));
}

TEST(QuicVarint, Rfc9000A1) {
    struct Case {
        const char* bytes;
        uint64_t value;
    } cases[] = {{"c2197c5eff14e88c", 151288809941952652ull},
                 {"9d7f3e7d", 494878333},
                 {"7bbd", 15293},
                 {"25", 37},
                 {"4025", 37}};
    for (const auto& c : cases) {
        const Bytes b = hex(c.bytes);
        size_t pos = 0;
        uint64_t v = 0;
        ASSERT_TRUE(quic_read_varint(b.data(), b.size(), &pos, &v)) << c.bytes;
        EXPECT_EQ(v, c.value);
        EXPECT_EQ(pos, b.size());
        pos = 0;
        EXPECT_FALSE(quic_read_varint(b.data(), b.size() - 1, &pos, &v));
        EXPECT_EQ(pos, 0u);
    }
}

TEST(QuicPacketNumber, Rfc9000A3) {
    EXPECT_EQ(quic_decode_packet_number(0xa82f30ea, 0x9b32, 2), 0xa82f9b32u);
    // No packet yet: the truncated number is the number.
    EXPECT_EQ(quic_decode_packet_number(-1, 0, 1), 0u);
    EXPECT_EQ(quic_decode_packet_number(-1, 2, 4), 2u);
    EXPECT_EQ(quic_decode_packet_number(-1, 0xff, 1), 0xffu);
    // Wrap forward and back.
    EXPECT_EQ(quic_decode_packet_number(0xfe, 0x01, 1), 0x101u);
    EXPECT_EQ(quic_decode_packet_number(0x101, 0xff, 1), 0xffu);
}

TEST(QuicDecrypt, Rfc9001A2Client) {
    const Bytes pkt = hex(kRfc9001A2Client);
    ASSERT_EQ(pkt.size(), 1200u);
    EXPECT_TRUE(looks_like_quic_initial(pkt.data(), pkt.size()));
    QuicInitialDecryptor d;
    ASSERT_TRUE(d.ready());
    const Result r = run(d, pkt, false);
    ASSERT_EQ(r.status, QuicStatus::ok) << quic_status_name(r.status);
    EXPECT_EQ(r.hdr.version, 1u);
    EXPECT_EQ(r.hdr.type, static_cast<uint8_t>(QuicPacketType::initial));
    EXPECT_EQ(to_hex(r.hdr.dcid.p, r.hdr.dcid.n), "8394c8f03e515708");
    EXPECT_EQ(r.hdr.scid.n, 0u);
    EXPECT_EQ(r.hdr.token.n, 0u);
    EXPECT_EQ(r.hdr.length, 0x49eu);
    EXPECT_EQ(r.hdr.pn_offset, 18u);
    EXPECT_EQ(r.hdr.packet_len, 1200u);
    EXPECT_EQ(r.hdr.pn_len, 4u);
    EXPECT_EQ(r.hdr.packet_number, 2u);
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].offset, 0u);
    const Bytes frame = hex(kRfcClientCryptoFrame);
    // The CRYPTO frame is 06 00 40f1: offset 0, 241 bytes of ClientHello.
    EXPECT_EQ(r.frames[0].data, Bytes(frame.begin() + 4, frame.end()));
    EXPECT_EQ(to_hex(r.frames[0].data.data(), 6), "010000ed0303");

    // The same packet with the DCID given as the keys' DCID.
    EXPECT_EQ(run(d, pkt, false, span(kRfcDcid)).status, QuicStatus::ok);
    // Server keys cannot open it.
    EXPECT_EQ(run(d, pkt, true, span(kRfcDcid)).status, QuicStatus::decrypt_failed);
    // Nor keys from another DCID; then the right ones again (cache switch).
    const Bytes other = hex("0102030405060708");
    EXPECT_EQ(run(d, pkt, false, span(other)).status, QuicStatus::decrypt_failed);
    EXPECT_EQ(run(d, pkt, false).status, QuicStatus::ok);
}

TEST(QuicDecrypt, Rfc9001A3Server) {
    const Bytes pkt = hex(kRfc9001A3Server);
    QuicInitialDecryptor d;
    const Result r = run(d, pkt, true, span(kRfcDcid));
    ASSERT_EQ(r.status, QuicStatus::ok) << quic_status_name(r.status);
    EXPECT_EQ(r.hdr.dcid.n, 0u);
    EXPECT_EQ(to_hex(r.hdr.scid.p, r.hdr.scid.n), "f067a5502a4262b5");
    EXPECT_EQ(r.hdr.packet_number, 1u);
    EXPECT_EQ(r.hdr.pn_len, 2u);
    ASSERT_EQ(r.frames.size(), 1u);  // the ACK frame before it is skipped
    const Bytes payload = hex(kRfcServerPayload);
    EXPECT_EQ(r.frames[0].offset, 0u);
    EXPECT_EQ(r.frames[0].data, Bytes(payload.begin() + 9, payload.end()));
    EXPECT_EQ(r.frames[0].data[0], 0x02);  // ServerHello
    // Keys from the packet's own (empty) DCID, or the client's direction: no.
    EXPECT_EQ(run(d, pkt, true).status, QuicStatus::decrypt_failed);
    EXPECT_EQ(run(d, pkt, false, span(kRfcDcid)).status, QuicStatus::decrypt_failed);
}

TEST(QuicDecrypt, Rfc9369V2) {
    QuicInitialDecryptor d;
    const Bytes client = hex(kRfc9369A2Client);
    EXPECT_TRUE(looks_like_quic_initial(client.data(), client.size()));
    Result r = run(d, client, false);
    ASSERT_EQ(r.status, QuicStatus::ok) << quic_status_name(r.status);
    EXPECT_EQ(r.hdr.version, spate::proto::kQuicV2);
    EXPECT_EQ(r.hdr.type, static_cast<uint8_t>(QuicPacketType::initial));
    EXPECT_EQ(r.hdr.packet_number, 2u);
    const Bytes frame = hex(kRfcClientCryptoFrame);
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].data, Bytes(frame.begin() + 4, frame.end()));

    const Bytes server = hex(kRfc9369A3Server);
    r = run(d, server, true, span(kRfcDcid));
    ASSERT_EQ(r.status, QuicStatus::ok) << quic_status_name(r.status);
    const Bytes payload = hex(kRfcServerPayload);
    ASSERT_EQ(r.frames.size(), 1u);
    EXPECT_EQ(r.frames[0].data, Bytes(payload.begin() + 9, payload.end()));

    // A v2 packet whose version field says v1 has the v1 type bits wrong
    // (0b01: 0-RTT), so it is not an Initial; and the keys differ anyway.
    Bytes as_v1 = client;
    as_v1[1] = 0, as_v1[2] = 0, as_v1[3] = 0, as_v1[4] = 1;
    EXPECT_FALSE(looks_like_quic_initial(as_v1.data(), as_v1.size()));
    EXPECT_EQ(run(d, as_v1, false).status, QuicStatus::not_initial);
}

TEST(QuicDecrypt, ProtectorMatchesRfc) {
    const Bytes frame = hex(kRfcClientCryptoFrame);
    EXPECT_EQ(protect({}, padded(frame, 1162)), hex(kRfc9001A2Client));
    Protect v2;
    v2.version = spate::proto::kQuicV2;
    EXPECT_EQ(protect(v2, padded(frame, 1162)), hex(kRfc9369A2Client));
    Protect s;
    s.dcid = {};
    s.scid = hex("f067a5502a4262b5");
    s.keys_dcid = kRfcDcid;
    s.server = true;
    s.pn_len = 2;
    s.pn = 1;
    EXPECT_EQ(protect(s, hex(kRfcServerPayload)), hex(kRfc9001A3Server));
}

TEST(QuicDecrypt, DamagedPackets) {
    QuicInitialDecryptor d;
    for (const char* h : {kRfc9001A2Client, kRfc9369A2Client}) {
        const Bytes pkt = hex(h);
        for (size_t at : {pkt.size() - 1, pkt.size() - 16, pkt.size() - 17, size_t{40}, size_t{30},
                          size_t{0x12}}) {
            Bytes bad = pkt;
            bad[at] ^= 0x01;
            EXPECT_EQ(run(d, bad, false).status, QuicStatus::decrypt_failed) << at;
        }
        // A damaged DCID gives other keys.
        Bytes bad = pkt;
        bad[6] ^= 0x80;
        EXPECT_EQ(run(d, bad, false).status, QuicStatus::decrypt_failed);
        // A Length larger than the datagram.
        bad = pkt;
        bad[16] = 0x4f;
        EXPECT_EQ(run(d, bad, false).status, QuicStatus::malformed);
        // A DCID longer than 20 bytes.
        bad = pkt;
        bad[5] = 21;
        EXPECT_EQ(run(d, bad, false).status, QuicStatus::malformed);
        EXPECT_FALSE(looks_like_quic_initial(bad.data(), bad.size()));
    }
}

// Each prefix of each RFC packet: no crash, and never ok.
TEST(QuicDecrypt, TruncationsNeverOk) {
    QuicInitialDecryptor d;
    for (const char* h : {kRfc9001A2Client, kRfc9369A2Client, kRfc9001A3Server, kRfc9369A3Server}) {
        const Bytes pkt = hex(h);
        const bool server = pkt.size() < 1200;
        for (size_t n = 0; n < pkt.size(); ++n) {
            const Bytes cut(pkt.begin(), pkt.begin() + static_cast<std::ptrdiff_t>(n));
            const Result r = run(d, cut, server, span(kRfcDcid));
            EXPECT_NE(r.status, QuicStatus::ok) << n;
            EXPECT_TRUE(r.frames.empty());
            if (n == 0) {
                EXPECT_EQ(r.status, QuicStatus::not_quic);
            } else if (n >= 7) {
                EXPECT_EQ(r.status, QuicStatus::malformed) << n;
            }
            EXPECT_FALSE(looks_like_quic_initial(cut.data(), cut.size()));
        }
    }
}

TEST(QuicDecrypt, Classification) {
    QuicInitialDecryptor d;
    QuicLongHeader h;
    auto status = [&](const Bytes& b) {
        return d.decrypt(b.data(), b.size(), false, {}, h, [](uint64_t, Span) {});
    };
    EXPECT_EQ(status({}), QuicStatus::not_quic);
    EXPECT_EQ(status(hex("40aabbccdd00112233445566778899")), QuicStatus::not_quic);  // short
    // Version negotiation.
    EXPECT_EQ(status(hex("c000000000080102030405060708000000000100000002")),
              QuicStatus::not_initial);
    // A reserved version.
    Bytes unk = hex(kRfc9001A2Client);
    unk[1] = 0x1a, unk[2] = 0x2a, unk[3] = 0x3a, unk[4] = 0x4a;
    EXPECT_EQ(status(unk), QuicStatus::unknown_version);
    EXPECT_FALSE(looks_like_quic_initial(unk.data(), unk.size()));
    // A Handshake packet (type 2) alone.
    Bytes hs = hex(kRfc9001A2Client);
    hs[0] = static_cast<uint8_t>((hs[0] & ~0x30) | 0x20);
    EXPECT_EQ(status(hs), QuicStatus::not_initial);
    EXPECT_FALSE(looks_like_quic_initial(hs.data(), hs.size()));
    // A Retry.
    EXPECT_EQ(
        status(hex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")),
        QuicStatus::not_initial);
    // The fixed bit cleared (RFC 9287): not a cheap match, but decrypts.
    Protect o;
    o.clear_fixed_bit = true;
    const Bytes greased = protect(o, padded(hex("0600050102030405"), 1162));
    EXPECT_FALSE(looks_like_quic_initial(greased.data(), greased.size()));
    EXPECT_EQ(status(greased), QuicStatus::ok);
}

TEST(QuicFrames, SkipsAllowedFrames) {
    QuicInitialDecryptor d;
    // PING; ACK (largest 5, delay 0, no more ranges, first range 1);
    // ACK_ECN (largest 0x10, delay 1, 1 range, first 2, gap 1 len 0, ECN
    // counts 1 2 3); PADDING; CRYPTO at 0; CONNECTION_CLOSE (reason "hi");
    // CRYPTO at 0x123; PING.
    const Bytes payload =
        hex("01"
            "0205000001"
            "0340100101020100010203"
            "0000"
            "060003aabbcc"
            "1c0006026869"
            "06412302ddee"
            "01");
    const Result r = run(d, protect({}, padded(payload, 300)), false);
    ASSERT_EQ(r.status, QuicStatus::ok) << quic_status_name(r.status);
    ASSERT_EQ(r.frames.size(), 2u);
    EXPECT_EQ(r.frames[0].offset, 0u);
    EXPECT_EQ(r.frames[0].data, hex("aabbcc"));
    EXPECT_EQ(r.frames[1].offset, 0x123u);
    EXPECT_EQ(r.frames[1].data, hex("ddee"));
}

TEST(QuicFrames, StopsOnBadFrames) {
    QuicInitialDecryptor d;
    struct Case {
        const char* payload;
        size_t frames_before;
    } cases[] = {
        // A CRYPTO frame, then a frame type not allowed in Initial:
        {"060002010208000101", 1},  // STREAM
        {"06000201021d0000", 1},    // application CONNECTION_CLOSE
        {"06000201021f", 1},        // HANDSHAKE_DONE
        {"06000a0102", 0},          // CRYPTO longer than the packet
        {"020500", 0},              // ACK cut short
        {"0205000100", 0},          // ACK range missing
        {"1c000605", 0},            // CONNECTION_CLOSE reason past the end
        {"06", 0},                  // CRYPTO without its fields
        {"", 0},                    // no frames at all
    };
    for (const auto& c : cases) {
        const Bytes payload = hex(c.payload);
        const Result r = run(d, protect({}, payload), false);
        EXPECT_EQ(r.status, QuicStatus::malformed) << c.payload;
        EXPECT_EQ(r.frames.size(), c.frames_before) << c.payload;
    }
}

TEST(QuicFrames, PacketNumberLengthsAndTokens) {
    QuicInitialDecryptor d;
    for (unsigned pn_len = 1; pn_len <= 4; ++pn_len) {
        Protect o;
        o.pn_len = pn_len;
        o.pn = pn_len == 1 ? 0x7 : pn_len == 2 ? 0x1234 : pn_len == 3 ? 0x123456 : 0x12345678;
        o.token = hex("746f6b656e");
        o.scid = hex("0a0b0c");
        const Bytes pkt = protect(o, padded(hex("06000401020304"), 20));  // hdr points into it
        const Result r = run(d, pkt, false);
        ASSERT_EQ(r.status, QuicStatus::ok) << pn_len;
        EXPECT_EQ(r.hdr.pn_len, pn_len);
        EXPECT_EQ(r.hdr.packet_number, o.pn);
        EXPECT_EQ(to_hex(r.hdr.token.p, r.hdr.token.n), "746f6b656e");
        EXPECT_EQ(to_hex(r.hdr.scid.p, r.hdr.scid.n), "0a0b0c");
        ASSERT_EQ(r.frames.size(), 1u);
    }
    // The smallest packet: a 1-byte packet number needs 3 bytes of payload
    // for the header-protection sample; with fewer it is malformed.
    Protect o;
    o.pn_len = 1;
    EXPECT_EQ(run(d, protect(o, hex("010000")), false).status, QuicStatus::ok);
    EXPECT_EQ(run(d, protect(o, hex("0100")), false).status, QuicStatus::malformed);
}

TEST(QuicFrames, CoalescedPackets) {
    QuicInitialDecryptor d;
    Protect a;
    a.pn = 0;
    Protect b;
    b.pn = 1;
    const Bytes p1 = protect(a, hex("0600020102"));
    const Bytes p2 = protect(b, hex("0600020304"
                                    "0602020506"));
    Bytes dgram = p1;
    dgram.insert(dgram.end(), p2.begin(), p2.end());
    Result r = run(d, dgram, false);
    ASSERT_EQ(r.status, QuicStatus::ok);
    ASSERT_EQ(r.frames.size(), 3u);
    EXPECT_EQ(r.hdr.packet_number, 0u);  // the first Initial's header
    EXPECT_EQ(r.frames[2].offset, 2u);

    // A Handshake packet (stepped over) between them, then a short header
    // and zero padding after them: still ok.
    // (Handshake: no token field; the Length covers 30 opaque bytes.)
    Bytes hs = hex("e100000001088394c8f03e51570800401e");
    hs.resize(hs.size() + 30, 0xab);
    Bytes mixed = p1;
    mixed.insert(mixed.end(), hs.begin(), hs.end());
    mixed.insert(mixed.end(), p2.begin(), p2.end());
    mixed.insert(mixed.end(), {0x40, 1, 2, 3, 4, 5});
    r = run(d, mixed, false);
    ASSERT_EQ(r.status, QuicStatus::ok);
    EXPECT_EQ(r.frames.size(), 3u);
    r = run(d, padded(p1, 1200), false);
    ASSERT_EQ(r.status, QuicStatus::ok);
    EXPECT_EQ(r.frames.size(), 1u);

    // A second packet of another DCID is not read (RFC 9000 12.2).
    Protect other = b;
    other.dcid = hex("0102030405060708");
    Bytes two = p1;
    const Bytes p3 = protect(other, hex("0600020304"));
    two.insert(two.end(), p3.begin(), p3.end());
    r = run(d, two, false);
    ASSERT_EQ(r.status, QuicStatus::ok);
    EXPECT_EQ(r.frames.size(), 1u);

    // A damaged second Initial: its status, after the first one's frames.
    Bytes bad = dgram;
    bad.back() ^= 1;
    r = run(d, bad, false);
    EXPECT_EQ(r.status, QuicStatus::decrypt_failed);
    EXPECT_EQ(r.frames.size(), 1u);
    // A truncated second packet: malformed.
    bad.pop_back();
    EXPECT_EQ(run(d, bad, false).status, QuicStatus::malformed);
}

// ---------------------------------------------------------------------------
// Corpus captures: the Initials of real clients and servers.

fs::path corpus_dir() {
    if (const char* c = std::getenv("SPATE_CORPUS")) {
        return c;
    }
    if (const char* r = std::getenv("SPATE_SOURCE_ROOT")) {
        return fs::path(r) / ".." / "shared" / "corpus";
    }
    return "../shared/corpus";
}

struct Datagram {
    uint16_t sport = 0, dport = 0;
    Bytes payload;
};

uint32_t rd32(const Bytes& b, size_t at, bool le) {
    return le ? uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 |
                    uint32_t{b[at + 3]} << 24
              : uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 |
                    uint32_t{b[at + 3]};
}

uint16_t be16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

/// The UDP payload of an Ethernet (1) or Linux SLL (113) frame, if any.
std::optional<Datagram> udp_of(uint32_t linktype, const uint8_t* f, size_t n) {
    size_t off = 0;
    uint16_t et = 0;
    if (linktype == 1 && n >= 14) {
        et = be16(f + 12);
        off = 14;
        while ((et == 0x8100 || et == 0x88a8) && n >= off + 4) {
            et = be16(f + off + 2);
            off += 4;
        }
    } else if (linktype == 113 && n >= 16) {
        et = be16(f + 14);
        off = 16;
    } else {
        return std::nullopt;
    }
    size_t l4 = 0;
    if (et == 0x0800 && n >= off + 20 && f[off + 9] == 17) {
        l4 = off + (f[off] & 15) * 4;
    } else if (et == 0x86dd && n >= off + 40 && f[off + 6] == 17) {
        l4 = off + 40;
    } else {
        return std::nullopt;
    }
    if (n < l4 + 8) {
        return std::nullopt;
    }
    const size_t ulen = be16(f + l4 + 4);
    if (ulen < 8 || l4 + ulen > n) {
        return std::nullopt;
    }
    Datagram d;
    d.sport = be16(f + l4);
    d.dport = be16(f + l4 + 2);
    d.payload.assign(f + l4 + 8, f + l4 + ulen);
    return d;
}

/// The UDP datagrams of a pcap or pcapng file (only what these captures use).
std::vector<Datagram> read_capture(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    const Bytes b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    std::vector<Datagram> out;
    if (b.size() < 24) {
        return out;
    }
    auto add = [&](uint32_t lt, size_t at, size_t n) {
        if (at + n <= b.size()) {
            if (auto d = udp_of(lt, b.data() + at, n)) {
                out.push_back(std::move(*d));
            }
        }
    };
    if (rd32(b, 0, true) == 0x0a0d0d0a) {  // pcapng
        const bool le = rd32(b, 8, true) == 0x1a2b3c4d;
        std::vector<uint32_t> ifaces;
        size_t off = 0;
        while (off + 12 <= b.size()) {
            const uint32_t type = rd32(b, off, le);
            const uint32_t len = rd32(b, off + 4, le);
            if (len < 12 || off + len > b.size()) {
                break;
            }
            if (type == 1) {
                ifaces.push_back(le ? (b[off + 8] | b[off + 9] << 8)
                                    : (b[off + 8] << 8 | b[off + 9]));
            } else if (type == 6 && len >= 32) {
                const uint32_t iface = rd32(b, off + 8, le);
                const uint32_t cap = rd32(b, off + 20, le);
                if (iface < ifaces.size()) {
                    add(ifaces[iface], off + 28, cap);
                }
            }
            off += len;
        }
        return out;
    }
    const uint32_t magic = rd32(b, 0, true);
    const bool le = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
    const uint32_t lt = rd32(b, 20, le);
    size_t off = 24;
    while (off + 16 <= b.size()) {
        const uint32_t cap = rd32(b, off + 8, le);
        add(lt, off + 16, cap);
        off += 16 + cap;
    }
    return out;
}

/// One direction's CRYPTO stream, put together by offset.
struct Stream {
    Bytes data = Bytes(65536);
    std::vector<bool> have = std::vector<bool>(65536);

    void add(uint64_t off, Span s) {
        for (uint32_t i = 0; i < s.n; ++i) {
            if (off + i < data.size()) {
                data[off + i] = s.p[i];
                have[off + i] = true;
            }
        }
    }
    size_t contiguous() const {
        size_t n = 0;
        while (n < have.size() && have[n]) {
            ++n;
        }
        return n;
    }
};

struct Hello {
    uint8_t type = 0;
    std::vector<int64_t> extensions;
    std::string sni;
    uint16_t cipher_suite = 0;  // ServerHello
};

/// Parses the first handshake message of a CRYPTO stream (a ClientHello or
/// a ServerHello), enough to list its extensions and find the SNI.
std::optional<Hello> parse_hello(const Stream& s) {
    const size_t avail = s.contiguous();
    if (avail < 4) {
        return std::nullopt;
    }
    const uint8_t* p = s.data.data();
    const size_t len = size_t{p[1]} << 16 | size_t{p[2]} << 8 | p[3];
    if (avail < 4 + len) {
        return std::nullopt;
    }
    Hello h;
    h.type = p[0];
    size_t pos = 4 + 2 + 32;  // version, random
    const size_t end = 4 + len;
    auto need = [&](size_t n) { return pos + n <= end; };
    if (!need(1)) {
        return std::nullopt;
    }
    pos += 1 + p[pos];  // session id
    if (h.type == 1) {
        if (!need(2)) {
            return std::nullopt;
        }
        pos += 2 + be16(p + pos);  // cipher suites
        if (!need(1)) {
            return std::nullopt;
        }
        pos += 1 + p[pos];  // compression methods
    } else {
        if (!need(3)) {
            return std::nullopt;
        }
        h.cipher_suite = be16(p + pos);
        pos += 3;
    }
    if (!need(2)) {
        return std::nullopt;
    }
    const size_t ext_end = pos + 2 + be16(p + pos);
    pos += 2;
    if (ext_end > end) {
        return std::nullopt;
    }
    while (pos + 4 <= ext_end) {
        const uint16_t type = be16(p + pos);
        const size_t n = be16(p + pos + 2);
        pos += 4;
        if (pos + n > ext_end) {
            return std::nullopt;
        }
        h.extensions.push_back(type);
        if (type == 0 && n >= 5 && p[pos + 2] == 0) {  // server_name: host_name
            const size_t name_len = be16(p + pos + 3);
            if (5 + name_len <= n) {
                h.sni.assign(reinterpret_cast<const char*>(p + pos + 5), name_len);
            }
        }
        pos += n;
    }
    return h;
}

struct OracleHello {
    std::vector<int64_t> extensions;
    std::optional<std::string> sni;
    std::string cipher_suite;
};

/// The first QUIC ClientHello and the first ServerHello of the oracle file.
bool read_oracle(const fs::path& path, OracleHello& ch, OracleHello& sh) {
    simdjson::dom::parser parser;
    std::ifstream in(path);
    std::string line;
    bool have_ch = false;
    while (std::getline(in, line)) {
        simdjson::dom::element doc;
        if (parser.parse(line).get(doc) != simdjson::SUCCESS) {
            continue;
        }
        simdjson::dom::object tls;
        if (doc["tls"].get(tls) != simdjson::SUCCESS) {
            continue;
        }
        simdjson::dom::array chs, shs;
        if (!have_ch && tls["client_hellos"].get(chs) == simdjson::SUCCESS) {
            for (simdjson::dom::element c : chs) {
                std::string_view transport;
                if (c["transport"].get(transport) != simdjson::SUCCESS || transport != "quic") {
                    continue;
                }
                simdjson::dom::array exts;
                if (c["extensions"].get(exts) == simdjson::SUCCESS) {
                    for (simdjson::dom::element e : exts) {
                        int64_t v = 0;
                        if (e.get(v) == simdjson::SUCCESS) {
                            ch.extensions.push_back(v);
                        }
                    }
                }
                std::string_view sni;
                if (c["sni"].get(sni) == simdjson::SUCCESS) {
                    ch.sni = std::string(sni);
                }
                have_ch = true;
                break;
            }
        }
        if (have_ch && tls["server_hellos"].get(shs) == simdjson::SUCCESS) {
            for (simdjson::dom::element c : shs) {
                simdjson::dom::array exts;
                if (c["extensions"].get(exts) == simdjson::SUCCESS) {
                    for (simdjson::dom::element e : exts) {
                        int64_t v = 0;
                        if (e.get(v) == simdjson::SUCCESS) {
                            sh.extensions.push_back(v);
                        }
                    }
                }
                std::string_view cs;
                if (c["cipher_suite"].get(cs) == simdjson::SUCCESS) {
                    sh.cipher_suite = std::string(cs);
                }
                break;
            }
        }
        if (have_ch) {
            return true;
        }
    }
    return false;
}

std::string hex16(uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", v);
    return buf;
}

/// End offsets of the long-header packets coalesced in a datagram.
std::vector<size_t> packet_ends(const Bytes& d) {
    std::vector<size_t> ends;
    size_t off = 0;
    QuicLongHeader h;
    while (off < d.size() && parse_quic_long_header(d.data() + off, d.size() - off, h)) {
        off += h.packet_len;
        ends.push_back(off);
        if (h.type == static_cast<uint8_t>(QuicPacketType::retry)) {
            break;
        }
    }
    return ends;
}

struct CorpusCase {
    const char* file;
    uint32_t version;
    size_t client_initials;  // datagrams with an Initial from the client
    size_t server_initials;
    bool client_multi_packet;  // the ClientHello spans several Initials
};

class QuicCorpus : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(QuicCorpus, HellosMatchOracle) {
    const CorpusCase& c = GetParam();
    const fs::path pcap = corpus_dir() / "pcaps" / c.file;
    const fs::path oracle = corpus_dir() / "oracle" / (std::string(c.file) + ".jsonl");
    if (!fs::exists(pcap) || !fs::exists(oracle)) {
        GTEST_SKIP() << "corpus not found (set SPATE_CORPUS): " << pcap.string();
    }
    const std::vector<Datagram> dgrams = read_capture(pcap);
    ASSERT_FALSE(dgrams.empty());
    OracleHello och, osh;
    ASSERT_TRUE(read_oracle(oracle, och, osh)) << oracle.string();

    QuicInitialDecryptor d;
    const uint16_t client_port = dgrams[0].sport;
    Bytes keys_dcid;
    Stream cs, ss;
    size_t client_ok = 0, server_ok = 0, client_chunks = 0;
    for (const Datagram& g : dgrams) {
        const bool from_server = g.sport != client_port;
        QuicLongHeader first;
        const bool is_initial = parse_quic_long_header(g.payload.data(), g.payload.size(), first) &&
                                first.type == static_cast<uint8_t>(QuicPacketType::initial);
        if (!from_server && keys_dcid.empty() && is_initial) {
            keys_dcid.assign(first.dcid.begin(), first.dcid.end());
            EXPECT_TRUE(looks_like_quic_initial(g.payload.data(), g.payload.size()));
        }
        QuicLongHeader hdr;
        Stream& s = from_server ? ss : cs;
        size_t chunks = 0;
        const QuicStatus st = d.decrypt(g.payload.data(), g.payload.size(), from_server,
                                        span(keys_dcid), hdr, [&](uint64_t off, Span data) {
                                            s.add(off, data);
                                            ++chunks;
                                        });
        if (!is_initial) {
            EXPECT_NE(st, QuicStatus::ok);
            continue;
        }
        ASSERT_EQ(st, QuicStatus::ok) << quic_status_name(st) << " server=" << from_server;
        EXPECT_EQ(hdr.version, c.version);
        (from_server ? server_ok : client_ok) += 1;
        if (!from_server) {
            client_chunks += chunks;
        }

        // Every prefix of the datagram: never a crash, ok only where a
        // coalesced packet ends, or inside a short-header packet after the
        // long ones (it has no length: its truncation cannot be seen).
        const std::vector<size_t> ends = packet_ends(g.payload);
        ASSERT_FALSE(ends.empty());
        const bool short_after =
            ends.back() < g.payload.size() && (g.payload[ends.back()] & 0x80) == 0;
        for (size_t n = 0; n < g.payload.size(); ++n) {
            QuicLongHeader h2;
            const QuicStatus st2 = d.decrypt(g.payload.data(), n, from_server, span(keys_dcid), h2,
                                             [](uint64_t, Span) {});
            const bool boundary = std::find(ends.begin(), ends.end(), n) != ends.end() ||
                                  (short_after && n > ends.back());
            if (!boundary) {
                EXPECT_NE(st2, QuicStatus::ok) << n;
            }
        }
        // A damaged tag.
        Bytes bad = g.payload;
        bad[first.packet_len - 1] ^= 0x5a;
        QuicLongHeader h3;
        EXPECT_EQ(d.decrypt(bad.data(), bad.size(), from_server, span(keys_dcid), h3,
                            [](uint64_t, Span) {}),
                  QuicStatus::decrypt_failed);
    }
    EXPECT_EQ(client_ok, c.client_initials);
    EXPECT_EQ(server_ok, c.server_initials);
    if (c.client_multi_packet) {
        EXPECT_GT(client_chunks, 1u);
    }

    const auto ch = parse_hello(cs);
    ASSERT_TRUE(ch.has_value()) << "no complete ClientHello in the client's CRYPTO data";
    EXPECT_EQ(ch->type, 1);
    EXPECT_EQ(ch->extensions, och.extensions);
    EXPECT_EQ(ch->sni, och.sni.value_or(""));
    if (c.server_initials > 0) {
        const auto sh = parse_hello(ss);
        ASSERT_TRUE(sh.has_value()) << "no complete ServerHello in the server's CRYPTO data";
        EXPECT_EQ(sh->type, 2);
        EXPECT_EQ(sh->extensions, osh.extensions);
        EXPECT_EQ(hex16(sh->cipher_suite), osh.cipher_suite);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Captures, QuicCorpus,
    ::testing::Values(
        CorpusCase{"ipfixprobe__quic_initial-sample.pcap", spate::proto::kQuicDraft29, 1, 0, false},
        CorpusCase{"zeek__quic__chromium-115.0.5790.110-api-cirrus-com.pcap", spate::proto::kQuicV1,
                   1, 1, false},
        CorpusCase{"ndpi__quic_frags_ch_in_multiple_packets.pcapng", spate::proto::kQuicV1, 2, 2,
                   true},
        CorpusCase{"ndpi__quic-v2.nosecrets.pcapng", spate::proto::kQuicV2, 1, 1, false}),
    [](const ::testing::TestParamInfo<CorpusCase>& i) {
        std::string n = i.param.file;
        n = n.substr(0, n.find('.'));
        for (char& ch : n) {
            if (!std::isalnum(static_cast<unsigned char>(ch))) {
                ch = '_';
            }
        }
        return n;
    });

}  // namespace
