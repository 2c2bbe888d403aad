// The ssh, dhcp and ike units through the worker, with hand-built frames:
// SSH identification lines and KEXINIT packets cut into TCP segments in
// every way that matters (one segment, split, one byte per segment, banner
// and KEXINIT together, out of order, cut by the state bound, a flow that
// ends inside the KEXINIT, a stream that is not SSH); DHCP messages with
// options, a cut options list and DHCPv6; IKEv1 and IKEv2 messages (RFC 7296
// layouts), over 4500 with the non-ESP marker, and a cut header.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "feature_run.hpp"
#include "spate/features/scratch.hpp"
#include "spate/proto/dhcp.hpp"
#include "spate/proto/ike.hpp"
#include "spate/proto/ssh.hpp"
#include "tcp_conn.hpp"

using namespace spate;
using namespace spate::test;

namespace {

std::vector<std::string> strings(simdjson::simdjson_result<simdjson::dom::element> e) {
    std::vector<std::string> v;
    if (e.error()) {
        return v;
    }
    for (auto x : e.get_array()) {
        v.emplace_back(std::string_view(x));
    }
    return v;
}

std::vector<uint64_t> numbers(simdjson::simdjson_result<simdjson::dom::element> e) {
    std::vector<uint64_t> v;
    if (e.error()) {
        return v;
    }
    for (auto x : e.get_array()) {
        v.push_back(uint64_t(x));
    }
    return v;
}

std::string text(simdjson::simdjson_result<simdjson::dom::element> e) {
    return e.error() ? std::string("<absent>") : std::string(std::string_view(e));
}

// ---------------------------------------------------------------- SSH

using Conn = TcpConn<22>;
using spate::test::parse;

/// The ten name-lists of a KEXINIT.
struct Lists {
    std::string l[10];
};

const Lists kClientLists = {{
    "curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha1,ext-info-c",
    "ssh-ed25519,rsa-sha2-512,ssh-rsa",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes256-gcm@openssh.com",
    "aes256-ctr,aes128-ctr",
    "umac-64-etm@openssh.com,hmac-sha2-256",
    "hmac-sha1,hmac-sha2-256",
    "none,zlib@openssh.com",
    "zlib,none",
    "",
    "",
}};

const Lists kServerLists = {{
    "ecdh-sha2-nistp256,curve25519-sha256,kex-strict-s-v00@openssh.com",
    "rsa-sha2-512,ssh-ed25519",
    "aes128-ctr,chacha20-poly1305@openssh.com",
    "aes128-ctr,aes256-ctr",
    "hmac-sha2-256,umac-64-etm@openssh.com",
    "hmac-sha2-256",
    "zlib@openssh.com,none",
    "none",
    "",
    "",
}};

Bytes kexinit_payload(const Lists& ls) {
    Bytes p{20};
    p = p + zeros(16, 0xab);
    for (const auto& l : ls.l) {
        put32(p, uint32_t(l.size()));
        p = p + str(l);
    }
    p.push_back(0);  // first_kex_packet_follows
    put32(p, 0);     // reserved
    return p;
}

/// An unencrypted binary packet around `payload` (block size 8, RFC 4253 6).
Bytes ssh_packet(const Bytes& payload) {
    uint32_t pad = 8 - (5 + payload.size()) % 8;
    if (pad < 4) {
        pad += 8;
    }
    Bytes b;
    put32(b, uint32_t(1 + payload.size() + pad));
    put8(b, uint8_t(pad));
    return b + payload + zeros(pad, 0x5a);
}

const std::string kClientBanner = "SSH-2.0-OpenSSH_9.6 Ubuntu-3ubuntu13";
const std::string kServerBanner = "SSH-2.0-dropbear_2022.83";

std::string hassh_str(const Lists& ls, bool server) {
    const int o = server ? 1 : 0;
    return ls.l[0] + ";" + ls.l[2 + o] + ";" + ls.l[4 + o] + ";" + ls.l[6 + o];
}

Bytes client_bytes() {
    return str(kClientBanner + "\r\n") + ssh_packet(kexinit_payload(kClientLists));
}
Bytes server_bytes() {
    return str(kServerBanner + "\r\n") + ssh_packet(kexinit_payload(kServerLists));
}

/// Everything a complete exchange must give.
void expect_full_ssh(const std::string& json) {
    auto rec = parse(json);
    auto ssh = rec["ssh"];
    ASSERT_FALSE(ssh.error()) << json;
    auto c = ssh["client"];
    auto s = ssh["server"];
    EXPECT_EQ(text(c["banner"]), kClientBanner);
    EXPECT_EQ(text(c["proto_version"]), "2.0");
    EXPECT_EQ(text(c["software"]), "OpenSSH_9.6");
    EXPECT_EQ(text(c["comments"]), "Ubuntu-3ubuntu13");
    EXPECT_EQ(text(s["banner"]), kServerBanner);
    EXPECT_EQ(text(s["software"]), "dropbear_2022.83");
    EXPECT_TRUE(s["comments"].error());
    EXPECT_EQ(strings(c["kex_algorithms"]),
              (std::vector<std::string>{"curve25519-sha256", "ecdh-sha2-nistp256",
                                        "diffie-hellman-group14-sha1", "ext-info-c"}));
    EXPECT_EQ(strings(s["host_key_algorithms"]),
              (std::vector<std::string>{"rsa-sha2-512", "ssh-ed25519"}));
    EXPECT_EQ(strings(c["compression_algorithms_s2c"]), (std::vector<std::string>{"zlib", "none"}));
    EXPECT_EQ(strings(c["languages_c2s"]), std::vector<std::string>{});
    EXPECT_EQ(text(c["hassh_algorithms"]), hassh_str(kClientLists, false));
    EXPECT_EQ(text(c["hassh"]), md5_hex(hassh_str(kClientLists, false)));
    EXPECT_EQ(text(s["hassh_server_algorithms"]), hassh_str(kServerLists, true));
    EXPECT_EQ(text(s["hassh_server"]), md5_hex(hassh_str(kServerLists, true)));
    EXPECT_EQ(text(s["host_key_type"]), "ssh-ed25519");
    auto ch = ssh["chosen"];
    EXPECT_EQ(text(ch["kex"]), "curve25519-sha256");
    EXPECT_EQ(text(ch["host_key"]), "ssh-ed25519");
    EXPECT_EQ(text(ch["encryption_c2s"]), "chacha20-poly1305@openssh.com");
    EXPECT_EQ(text(ch["encryption_s2c"]), "aes256-ctr");
    EXPECT_EQ(text(ch["mac_c2s"]), "umac-64-etm@openssh.com");
    EXPECT_EQ(text(ch["mac_s2c"]), "hmac-sha2-256");
    EXPECT_EQ(text(ch["compression_c2s"]), "none");
    EXPECT_EQ(text(ch["compression_s2c"]), "none");
    EXPECT_TRUE(c["kexinit_truncated"].error()) << json;
    EXPECT_TRUE(s["kexinit_truncated"].error()) << json;
    EXPECT_TRUE(c["incomplete"].error()) << json;
}

TEST(Ssh, BannerAndKexinitInSeparateSegments) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    const size_t cb = kClientBanner.size() + 2;
    const size_t sb = kServerBanner.size() + 2;
    c.server(server_bytes(), {sb});
    c.client(client_bytes(), {cb});
    expect_full_ssh(r.record());
}

TEST(Ssh, KexinitInTheBannerSegment) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    c.client(client_bytes());
    c.server(server_bytes());
    expect_full_ssh(r.record());
}

TEST(Ssh, SplitAcrossSegments) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    // Cuts inside the banner, inside the packet header, inside the cookie
    // and inside a name-list.
    c.client(client_bytes(), {5, 20, kClientBanner.size() + 1, kClientBanner.size() + 4, 60, 97});
    c.server(server_bytes(), {3, kServerBanner.size() + 2 + 2, 50, 140});
    expect_full_ssh(r.record());
}

TEST(Ssh, OneBytePerSegment) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    const Bytes cb = client_bytes();
    const Bytes sb = server_bytes();
    std::vector<size_t> ccuts, scuts;
    for (size_t i = 1; i < cb.size(); ++i) {
        ccuts.push_back(i);
    }
    for (size_t i = 1; i < sb.size(); ++i) {
        scuts.push_back(i);
    }
    c.client(cb, ccuts);
    c.server(sb, scuts);
    expect_full_ssh(r.record());
}

TEST(Ssh, OutOfOrderAndRetransmitted) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    c.client(client_bytes(), {30, 100}, {1, 0, 0, 2});
    c.server(server_bytes(), {40}, {1, 0});
    expect_full_ssh(r.record());
}

TEST(Ssh, LinesBeforeTheServerBanner) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    c.server(str("Welcome to the host\r\nauthorised users only\r\n") + server_bytes());
    c.client(client_bytes());
    expect_full_ssh(r.record());
}

TEST(Ssh, KexinitCutByTheStateBound) {
    features::FeatureConfig cfg;
    cfg.ssh_bytes = 1024;  // 512 per direction: the banner and a part of the lists
    FeatureRun r("ssh", cfg);
    Conn c{r};
    c.open();
    Lists big = kClientLists;
    big.l[0] = std::string(600, 'k');
    c.client(str(kClientBanner + "\r\n") + ssh_packet(kexinit_payload(big)));
    c.server(server_bytes());
    const std::string json = r.record();
    auto ssh = parse(json)["ssh"];
    ASSERT_FALSE(ssh.error()) << json;
    EXPECT_EQ(text(ssh["client"]["banner"]), kClientBanner);
    EXPECT_TRUE(bool(ssh["client"]["kexinit_truncated"])) << json;
    EXPECT_TRUE(ssh["client"]["hassh"].error()) << json;
    EXPECT_TRUE(ssh["chosen"].error()) << json;
    // The server's KEXINIT fits in its half.
    EXPECT_EQ(text(ssh["server"]["hassh_server"]), md5_hex(hassh_str(kServerLists, true)));
}

TEST(Ssh, FlowEndsInsideTheKexinit) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    const Bytes b = client_bytes();
    c.client(Bytes(b.begin(), b.begin() + long(kClientBanner.size() + 2 + 5 + 17 + 4 + 20)));
    const std::string json = r.record();
    auto ssh = parse(json)["ssh"];
    ASSERT_FALSE(ssh.error()) << json;
    EXPECT_EQ(text(ssh["client"]["banner"]), kClientBanner);
    EXPECT_TRUE(bool(ssh["client"]["kexinit_truncated"])) << json;
    EXPECT_EQ(strings(ssh["client"]["kex_algorithms"]),
              (std::vector<std::string>{"curve25519-sha256", "ec"}));
    EXPECT_TRUE(ssh["client"]["hassh"].error()) << json;
}

TEST(Ssh, GapStopsTheDirection) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    const Bytes b = client_bytes();
    // The banner, then a segment far ahead (a hole that never fills).
    c.client(Bytes(b.begin(), b.begin() + long(kClientBanner.size() + 2)));
    r.feed(tcp_frame(kC, kS, c.cport, c.sport, seg(0x18, c.cbase + 100000, c.sbase), zeros(100)),
           c.t += kMs);
    const std::string json = r.record();
    auto ssh = parse(json)["ssh"];
    ASSERT_FALSE(ssh.error()) << json;
    EXPECT_TRUE(bool(ssh["client"]["incomplete"])) << json;
}

TEST(Ssh, NotSsh) {
    FeatureRun r("ssh");
    Conn c{r};
    c.sport = 443;
    c.open();
    c.client(Bytes{0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5});
    // An identification line after more than 4 other lines is not looked for.
    c.server(str("HTTP/1.1 200 OK\r\nServer: x\r\nA: 1\r\nB: 2\r\n\r\nSSH-2.0-not-really\r\n"));
    const std::string json = r.record();
    EXPECT_TRUE(parse(json)["ssh"].error()) << json;
}

TEST(Ssh, SshOneHasNoKexinit) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    c.server(str("SSH-1.5-OldServer\n") + zeros(40, 0x77));
    c.client(str("SSH-1.5-OldClient\n") + zeros(40, 0x66));
    const std::string json = r.record();
    auto ssh = parse(json)["ssh"];
    ASSERT_FALSE(ssh.error()) << json;
    EXPECT_EQ(text(ssh["server"]["proto_version"]), "1.5");
    EXPECT_EQ(text(ssh["client"]["software"]), "OldClient");
    EXPECT_TRUE(ssh["client"]["kexinit_malformed"].error()) << json;
}

TEST(Ssh, BadPacketAfterBanner) {
    FeatureRun r("ssh");
    Conn c{r};
    c.open();
    Bytes b = str(kClientBanner + "\r\n");
    put32(b, 12);
    put8(b, 4);
    b = b + Bytes{21} + zeros(10);  // not a KEXINIT
    c.client(b);
    const std::string json = r.record();
    auto ssh = parse(json)["ssh"];
    ASSERT_FALSE(ssh.error()) << json;
    EXPECT_TRUE(bool(ssh["client"]["kexinit_malformed"])) << json;
}

TEST(SshProto, NegotiateAndBanner) {
    auto span = [](const std::string& s) {
        return proto::Span{reinterpret_cast<const uint8_t*>(s.data()), uint32_t(s.size())};
    };
    const std::string c = "a,b,c", s = "c,b", none = "x,y";
    EXPECT_EQ(proto::ssh_negotiate(span(c), span(s)).text(), "b");
    EXPECT_TRUE(proto::ssh_negotiate(span(c), span(none)).empty());
    EXPECT_TRUE(proto::ssh_negotiate(span(""), span(s)).empty());
    const std::string line = "SSH-2.0-OpenSSH_7.3p1 Ubuntu-1ubuntu0.1";
    proto::SshBanner b;
    ASSERT_TRUE(proto::parse_ssh_banner(reinterpret_cast<const uint8_t*>(line.data()),
                                        uint32_t(line.size()), b));
    EXPECT_EQ(b.proto_version.text(), "2.0");
    EXPECT_EQ(b.software.text(), "OpenSSH_7.3p1");
    EXPECT_EQ(b.comments.text(), "Ubuntu-1ubuntu0.1");
    const std::string odd = "SSH-2.0";
    ASSERT_TRUE(proto::parse_ssh_banner(reinterpret_cast<const uint8_t*>(odd.data()),
                                        uint32_t(odd.size()), b));
    EXPECT_TRUE(b.software.empty());
}

// ---------------------------------------------------------------- DHCP

Bytes udp_frame(const V4& s, const V4& d, uint16_t sp, uint16_t dp, const Bytes& payload) {
    return eth(kIpv4, ipv4(s, d, 17, udp(sp, dp, payload)));
}

Bytes dhcp_option(uint8_t code, const Bytes& data) {
    Bytes b{code, uint8_t(data.size())};
    return b + data;
}

/// A BOOTP header (op..chaddr, sname, file), the cookie and `options`.
Bytes dhcp_message(uint8_t op, uint32_t xid, const Bytes& options, const V4& yiaddr = {}) {
    Bytes b{op, 1, 6, 0};
    put32(b, xid);
    put16(b, 3);       // secs
    put16(b, 0x8000);  // broadcast flag
    b = b + zeros(4);  // ciaddr
    b = b + Bytes(yiaddr.begin(), yiaddr.end());
    b = b + Bytes{192, 168, 0, 1};  // siaddr
    b = b + zeros(4);               // giaddr
    b = b + Bytes{0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42} + zeros(10);
    b = b + zeros(64 + 128);
    b = b + Bytes{99, 130, 83, 99};
    return b + options;
}

Bytes discover_options() {
    return dhcp_option(53, {1}) + dhcp_option(61, {1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42}) +
           dhcp_option(50, {192, 168, 0, 10}) + Bytes{0} + dhcp_option(12, str("laptop")) +
           dhcp_option(60, str("MSFT 5.0")) + dhcp_option(55, {1, 3, 6, 15, 31, 33, 43, 44}) +
           Bytes{255, 0, 0};
}

TEST(Dhcp, DiscoverAndOffer) {
    FeatureRun r("dhcp");
    const V4 any{0, 0, 0, 0}, bcast{255, 255, 255, 255};
    r.feed(udp_frame(any, bcast, 68, 67, dhcp_message(1, 0x3903f326, discover_options())),
           1000 * kMs);
    r.feed(udp_frame(bcast, any, 67, 68,
                     dhcp_message(2, 0x3903f326,
                                  dhcp_option(53, {2}) + dhcp_option(54, {192, 168, 0, 1}) +
                                      dhcp_option(51, {0, 0, 0x0e, 0x10}) + Bytes{255},
                                  V4{192, 168, 0, 10})),
           1001 * kMs);
    const std::string json = r.record();
    auto d = parse(json)["dhcp"];
    ASSERT_FALSE(d.error()) << json;
    auto m = d.at(0);
    EXPECT_EQ(std::string_view(m["dir"]), ">");
    EXPECT_EQ(uint64_t(m["version"]), 4u);
    EXPECT_EQ(uint64_t(m["op"]), 1u);
    EXPECT_EQ(uint64_t(m["xid"]), 0x3903f326u);
    EXPECT_EQ(uint64_t(m["secs"]), 3u);
    EXPECT_EQ(uint64_t(m["flags"]), 0x8000u);
    EXPECT_EQ(text(m["ciaddr"]), "0.0.0.0");
    EXPECT_EQ(text(m["siaddr"]), "192.168.0.1");
    EXPECT_EQ(text(m["chaddr"]), "00:0b:82:01:fc:42");
    EXPECT_EQ(numbers(m["options"]), (std::vector<uint64_t>{53, 61, 50, 12, 60, 55}));
    EXPECT_EQ(uint64_t(m["message_type"]), 1u);
    EXPECT_EQ(text(m["message_type_name"]), "DISCOVER");
    EXPECT_EQ(text(m["client_id"]), "01000b8201fc42");
    EXPECT_EQ(text(m["requested_ip"]), "192.168.0.10");
    EXPECT_EQ(text(m["hostname"]), "laptop");
    EXPECT_EQ(text(m["vendor_class_id"]), "MSFT 5.0");
    EXPECT_EQ(numbers(m["parameter_request_list"]),
              (std::vector<uint64_t>{1, 3, 6, 15, 31, 33, 43, 44}));
    EXPECT_EQ(text(m["fingerprint"]), "1,3,6,15,31,33,43,44");
    EXPECT_TRUE(m["options_truncated"].error()) << json;
    auto o = d.at(1);
    EXPECT_EQ(std::string_view(o["dir"]), "<");
    EXPECT_EQ(text(o["message_type_name"]), "OFFER");
    EXPECT_EQ(text(o["yiaddr"]), "192.168.0.10");
    EXPECT_EQ(text(o["server_id"]), "192.168.0.1");
    EXPECT_EQ(uint64_t(o["lease_time"]), 3600u);
}

TEST(Dhcp, TruncatedOptionsList) {
    FeatureRun r("dhcp");
    // Option 55 says 12 bytes, 3 are there.
    const Bytes opts = dhcp_option(53, {3}) + dhcp_option(12, str("pc")) + Bytes{55, 12, 1, 3, 6};
    r.feed(udp_frame({10, 0, 0, 5}, {10, 0, 0, 1}, 68, 67, dhcp_message(1, 7, opts)), 1000 * kMs);
    const std::string json = r.record();
    auto m = parse(json)["dhcp"].at(0);
    ASSERT_FALSE(m.error()) << json;
    EXPECT_EQ(numbers(m["options"]), (std::vector<uint64_t>{53, 12}));
    EXPECT_EQ(text(m["message_type_name"]), "REQUEST");
    EXPECT_EQ(text(m["hostname"]), "pc");
    EXPECT_TRUE(m["parameter_request_list"].error()) << json;
    EXPECT_TRUE(bool(m["options_truncated"])) << json;
    EXPECT_TRUE(bool(m["options_malformed"])) << json;
}

TEST(Dhcp, NotDhcp) {
    FeatureRun r("dhcp");
    Bytes b = dhcp_message(1, 7, discover_options());
    b[236] = 0;  // no magic cookie: plain BOOTP or something else
    r.feed(udp_frame({10, 0, 0, 5}, {10, 0, 0, 1}, 68, 67, b), 1000 * kMs);
    const std::string json = r.record();
    EXPECT_TRUE(parse(json)["dhcp"].error()) << json;
}

TEST(Dhcp, BoundedMessages) {
    FeatureRun r("dhcp");
    for (int i = 0; i < 20; ++i) {
        r.feed(udp_frame({10, 0, 0, 5}, {10, 0, 0, 1}, 68, 67,
                         dhcp_message(1, uint32_t(i), discover_options())),
               (1000 + uint64_t(i)) * kMs);
    }
    const std::string json = r.record();
    auto rec = parse(json);
    const size_t n = rec["dhcp"].get_array().size();
    EXPECT_LE(n, 16u);
    EXPECT_EQ(uint64_t(rec["dhcp_dropped"]), 20 - n);
}

TEST(Dhcp, Dhcp6Solicit) {
    FeatureRun r("dhcp");
    Bytes msg{1, 0x12, 0x34, 0x56};  // SOLICIT, transaction id
    const Bytes duid{0, 1, 0, 1, 0x1c, 0x39, 0xcf, 0x88, 0x08, 0x00, 0x27, 0xfe, 0x8f, 0x95};
    put16(msg, 1);
    put16(msg, uint16_t(duid.size()));
    msg = msg + duid;
    put16(msg, 8);  // elapsed time
    put16(msg, 2);
    put16(msg, 0);
    put16(msg, 3);  // IA_NA: iaid, t1, t2
    put16(msg, 12);
    put32(msg, 0x0a0b0c0d);
    put32(msg, 0);
    put32(msg, 0);
    put16(msg, 6);  // ORO
    put16(msg, 4);
    put16(msg, 23);
    put16(msg, 24);
    const V6 c = v6(0xfe, 1), s = v6(0xff, 2);
    r.feed(eth(kIpv6, ipv6(c, s, 17, udp(546, 547, msg))), 1000 * kMs);
    // And one cut inside an option.
    Bytes cut = msg;
    cut.resize(msg.size() - 3);
    r.feed(eth(kIpv6, ipv6(c, s, 17, udp(546, 547, cut))), 1001 * kMs);
    const std::string json = r.record();
    auto d = parse(json)["dhcp"];
    ASSERT_FALSE(d.error()) << json;
    auto m = d.at(0);
    EXPECT_EQ(uint64_t(m["version"]), 6u);
    EXPECT_EQ(uint64_t(m["message_type"]), 1u);
    EXPECT_EQ(text(m["message_type_name"]), "SOLICIT");
    EXPECT_EQ(uint64_t(m["transaction_id"]), 0x123456u);
    EXPECT_EQ(numbers(m["options"]), (std::vector<uint64_t>{1, 8, 3, 6}));
    EXPECT_EQ(text(m["client_id"]), "000100011c39cf88080027fe8f95");
    EXPECT_EQ(uint64_t(m["ia_na_iaid"]), 0x0a0b0c0du);
    EXPECT_EQ(numbers(m["option_request"]), (std::vector<uint64_t>{23, 24}));
    EXPECT_TRUE(m["options_truncated"].error()) << json;
    auto m2 = d.at(1);
    EXPECT_EQ(numbers(m2["options"]), (std::vector<uint64_t>{1, 8, 3}));
    EXPECT_TRUE(bool(m2["options_truncated"])) << json;
}

// ---------------------------------------------------------------- IKE

Bytes ike_header(uint8_t next, uint8_t version, uint8_t exchange, uint8_t flags, uint32_t msgid,
                 const Bytes& payloads, uint64_t spi_i = 0x0102030405060708ULL,
                 uint64_t spi_r = 0) {
    Bytes b;
    put32(b, uint32_t(spi_i >> 32));
    put32(b, uint32_t(spi_i));
    put32(b, uint32_t(spi_r >> 32));
    put32(b, uint32_t(spi_r));
    b = b + Bytes{next, version, exchange, flags};
    put32(b, msgid);
    put32(b, uint32_t(28 + payloads.size()));
    return b + payloads;
}

Bytes ike_payload(uint8_t next, const Bytes& body) {
    Bytes b{next, 0};
    put16(b, uint16_t(4 + body.size()));
    return b + body;
}

Bytes ikev2_transform(bool last, uint8_t type, uint16_t id, uint16_t keylen = 0) {
    Bytes attrs;
    if (keylen != 0) {
        put16(attrs, 0x800e);
        put16(attrs, keylen);
    }
    Bytes b{uint8_t(last ? 0 : 3), 0};
    put16(b, uint16_t(8 + attrs.size()));
    b = b + Bytes{type, 0};
    put16(b, id);
    return b + attrs;
}

/// IKE_SA_INIT request: SA (one proposal: AES-CBC-256, SHA2-256 PRF and
/// integrity, group 19), KE, Nonce, two Notify payloads (RFC 7296 3.x).
Bytes ikev2_sa_init() {
    const Bytes transforms = ikev2_transform(false, 1, 12, 256) + ikev2_transform(false, 2, 5) +
                             ikev2_transform(false, 3, 12) + ikev2_transform(true, 4, 19);
    Bytes prop{0, 0};
    put16(prop, uint16_t(8 + transforms.size()));
    prop = prop + Bytes{1, 1, 0, 4} + transforms;  // #1, IKE, no SPI, 4 transforms
    Bytes ke;
    put16(ke, 19);
    put16(ke, 0);
    ke = ke + zeros(64, 0x42);
    Bytes notify1{0, 0};
    put16(notify1, 16388);  // NAT_DETECTION_SOURCE_IP
    notify1 = notify1 + zeros(20, 1);
    Bytes notify2{0, 0};
    put16(notify2, 16389);
    notify2 = notify2 + zeros(20, 2);
    const Bytes payloads = ike_payload(34, prop) + ike_payload(40, ke) +
                           ike_payload(41, zeros(32, 0x99)) + ike_payload(41, notify1) +
                           ike_payload(0, notify2);
    return ike_header(33, 0x20, 34, 0x08, 0, payloads);
}

TEST(Ike, V2SaInitAndEncryptedReply) {
    FeatureRun r("ike");
    const Bytes init = ikev2_sa_init();
    r.feed(udp_frame(kC, kS, 500, 500, init), 1000 * kMs);
    // IKE_AUTH: an SK payload whose inner payloads are encrypted.
    const Bytes auth = ike_header(46, 0x20, 35, 0x20, 1, ike_payload(35, zeros(80, 0xee)),
                                  0x0102030405060708ULL, 0x1111222233334444ULL);
    r.feed(udp_frame(kS, kC, 500, 500, auth), 1001 * kMs);
    const std::string json = r.record();
    auto ike = parse(json)["ike"];
    ASSERT_FALSE(ike.error()) << json;
    auto m = ike.at(0);
    EXPECT_EQ(std::string_view(m["dir"]), ">");
    EXPECT_EQ(text(m["initiator_spi"]), "0102030405060708");
    EXPECT_EQ(text(m["responder_spi"]), "0000000000000000");
    EXPECT_EQ(uint64_t(m["next_payload"]), 33u);
    EXPECT_EQ(uint64_t(m["major_version"]), 2u);
    EXPECT_EQ(uint64_t(m["minor_version"]), 0u);
    EXPECT_EQ(uint64_t(m["exchange_type"]), 34u);
    EXPECT_EQ(uint64_t(m["flags"]), 8u);
    EXPECT_EQ(uint64_t(m["message_id"]), 0u);
    EXPECT_EQ(uint64_t(m["length"]), init.size());
    EXPECT_EQ(numbers(m["payloads"]), (std::vector<uint64_t>{33, 34, 40, 41, 41}));
    auto t = m["transforms"];
    ASSERT_FALSE(t.error()) << json;
    ASSERT_EQ(t.get_array().size(), 4u);
    EXPECT_EQ(uint64_t(t.at(0)["type"]), 1u);
    EXPECT_EQ(uint64_t(t.at(0)["id"]), 12u);
    EXPECT_EQ(uint64_t(t.at(0)["key_length"]), 256u);
    EXPECT_EQ(uint64_t(t.at(3)["type"]), 4u);
    EXPECT_EQ(uint64_t(t.at(3)["id"]), 19u);
    EXPECT_TRUE(m["length_mismatch"].error()) << json;
    auto a = ike.at(1);
    EXPECT_EQ(std::string_view(a["dir"]), "<");
    EXPECT_EQ(text(a["responder_spi"]), "1111222233334444");
    EXPECT_EQ(uint64_t(a["exchange_type"]), 35u);
    EXPECT_EQ(uint64_t(a["message_id"]), 1u);
    EXPECT_EQ(numbers(a["payloads"]), (std::vector<uint64_t>{46}));
}

TEST(Ike, V1MainMode) {
    FeatureRun r("ike");
    // SA (DOI 1, situation 1, an opaque proposal), then two Vendor IDs.
    Bytes sa;
    put32(sa, 1);
    put32(sa, 1);
    sa = sa + zeros(20, 3);
    const Bytes payloads =
        ike_payload(13, sa) + ike_payload(13, zeros(16, 0x4a)) + ike_payload(0, zeros(16, 0x4b));
    r.feed(udp_frame(kC, kS, 500, 500, ike_header(1, 0x10, 2, 0, 0, payloads)), 1000 * kMs);
    // An encrypted message: only its first payload type is known.
    r.feed(udp_frame(kC, kS, 500, 500, ike_header(5, 0x10, 2, 1, 0, zeros(40, 0xcc))), 1001 * kMs);
    const std::string json = r.record();
    auto ike = parse(json)["ike"];
    ASSERT_FALSE(ike.error()) << json;
    EXPECT_EQ(uint64_t(ike.at(0)["major_version"]), 1u);
    EXPECT_EQ(uint64_t(ike.at(0)["exchange_type"]), 2u);
    EXPECT_EQ(numbers(ike.at(0)["payloads"]), (std::vector<uint64_t>{1, 13, 13}));
    EXPECT_TRUE(ike.at(0)["transforms"].error()) << json;
    EXPECT_EQ(uint64_t(ike.at(1)["flags"]), 1u);
    EXPECT_EQ(numbers(ike.at(1)["payloads"]), (std::vector<uint64_t>{5}));
}

TEST(Ike, NatTraversalPort) {
    FeatureRun r("ike");
    const Bytes marker{0, 0, 0, 0};
    r.feed(udp_frame(kC, kS, 4500, 4500, marker + ikev2_sa_init()), 1000 * kMs);
    r.feed(udp_frame(kC, kS, 4500, 4500, Bytes{0xff}), 1001 * kMs);  // NAT keepalive
    Bytes esp;
    put32(esp, 0x1234);  // ESP SPI
    put32(esp, 1);
    r.feed(udp_frame(kC, kS, 4500, 4500, esp + zeros(60)), 1002 * kMs);
    const std::string json = r.record();
    auto ike = parse(json)["ike"];
    ASSERT_FALSE(ike.error()) << json;
    EXPECT_EQ(ike.get_array().size(), 1u);
    EXPECT_TRUE(bool(ike.at(0)["nat_t"]));
    EXPECT_EQ(uint64_t(ike.at(0)["exchange_type"]), 34u);
}

TEST(Ike, TruncatedHeaderAndChain) {
    FeatureRun r("ike");
    const Bytes full = ikev2_sa_init();
    r.feed(udp_frame(kC, kS, 500, 500, Bytes(full.begin(), full.begin() + 20)), 1000 * kMs);
    const std::string none = r.record();
    EXPECT_TRUE(parse(none)["ike"].error()) << none;

    FeatureRun r2("ike");
    // The header claims the whole message; the datagram stops inside the KE payload.
    r2.feed(udp_frame(kC, kS, 500, 500, Bytes(full.begin(), full.begin() + 100)), 1000 * kMs);
    const std::string json = r2.record();
    auto m = parse(json)["ike"].at(0);
    ASSERT_FALSE(m.error()) << json;
    EXPECT_EQ(numbers(m["payloads"]), (std::vector<uint64_t>{33}));
    EXPECT_TRUE(bool(m["payloads_truncated"])) << json;
    EXPECT_TRUE(bool(m["length_mismatch"])) << json;
}

TEST(Ike, NotIkeOnOtherPorts) {
    FeatureRun r("ike");
    r.feed(udp_frame(kC, kS, 5000, 5001, ikev2_sa_init()), 1000 * kMs);
    const std::string json = r.record();
    EXPECT_TRUE(parse(json)["ike"].error()) << json;
}

}  // namespace
