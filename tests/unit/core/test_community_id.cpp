// Community ID v1 against the published test vectors of the specification,
// https://github.com/corelight/community-id-spec (commit b1fe530f, 2024-09-23):
// the tables of baseline/README.md and the flows of baseline/baseline_deflt.json
// (seed 0) and baseline/baseline_seed1.json (seed 1), which pycommunityid's
// community-id-pcap produced from pcaps/combined.pcap.gz. The JSON files give
// ICMP flows as the spec's port equivalents (type, counterpart type) for
// request/reply types; here they are written as spate sees them, (type, code),
// with code 0.
#include "spate/core/community_id.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>

using namespace spate;

namespace {

struct Vector {
    int proto;
    const char* src;
    const char* dst;
    int sport;  ///< ICMP: type
    int dport;  ///< ICMP: code
    const char* seed0;
    const char* seed1;
};

// clang-format off
// baseline/README.md, "Default settings" and "A custom seed=1 value".
constexpr Vector kReadme[] = {
    {6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
    {17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
    {17, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
    {132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
    {132, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
    {1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
    {1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
    {1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=", "1:1DD7cWGC/Yg91YGsQeni8du3pIA="},
    {58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 128, 0,
     "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
    {58, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 129, 0,
     "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
    {58, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 146, 0,
     "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="},
    {46, "1.2.3.4", "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
    {46, "5.6.7.8", "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
    {46, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 0, 0,
     "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
    {46, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 0, 0,
     "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
};

// baseline/baseline_deflt.json and baseline/baseline_seed1.json, in file order.
constexpr Vector kBaseline[] = {
    {58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {58, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 0, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {58, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
    {58, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
    {58, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {58, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 0, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
    {58, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
    {1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "192.168.0.1", "192.168.0.89", 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},
    {1, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},
    {6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
    {46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
};
// clang-format on

community_id::Tuple tuple(const Vector& v) {
    community_id::Tuple t;
    const bool v6 = std::strchr(v.src, ':') != nullptr;
    t.ip_version = v6 ? 6 : 4;
    EXPECT_EQ(inet_pton(v6 ? AF_INET6 : AF_INET, v.src, t.src.b.data()), 1) << v.src;
    EXPECT_EQ(inet_pton(v6 ? AF_INET6 : AF_INET, v.dst, t.dst.b.data()), 1) << v.dst;
    t.proto = static_cast<uint8_t>(v.proto);
    t.sport = static_cast<uint16_t>(v.sport);
    t.dport = static_cast<uint16_t>(v.dport);
    return t;
}

std::string id(const community_id::Tuple& t, uint16_t seed) {
    char buf[community_id::kTextLen];
    const size_t n = community_id::format(t, seed, buf);
    return std::string(buf, n);
}

std::string hex(const std::array<uint8_t, 20>& d) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : d) {
        s += kHex[b >> 4];
        s += kHex[b & 15];
    }
    return s;
}

}  // namespace

TEST(Sha1, FipsExamples) {
    // FIPS 180-2 appendix A: one block, two blocks (56 bytes: the length
    // spills into a second padding block), and a million 'a'.
    const std::string abc = "abc";
    EXPECT_EQ(hex(community_id::sha1(reinterpret_cast<const uint8_t*>(abc.data()), abc.size())),
              "a9993e364706816aba3e25717850c26c9cd0d89d");
    const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    EXPECT_EQ(hex(community_id::sha1(reinterpret_cast<const uint8_t*>(two.data()), two.size())),
              "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const std::string million(1000000, 'a');
    EXPECT_EQ(
        hex(community_id::sha1(reinterpret_cast<const uint8_t*>(million.data()), million.size())),
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    EXPECT_EQ(hex(community_id::sha1(nullptr, 0)), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(CommunityId, SpecReadmeTables) {
    for (const Vector& v : kReadme) {
        const community_id::Tuple t = tuple(v);
        EXPECT_EQ(id(t, 0), v.seed0) << v.proto << " " << v.src << " " << v.dst << " " << v.sport;
        EXPECT_EQ(id(t, 1), v.seed1) << v.proto << " " << v.src << " " << v.dst << " " << v.sport;
    }
}

TEST(CommunityId, SpecBaselineFlows) {
    for (const Vector& v : kBaseline) {
        const community_id::Tuple t = tuple(v);
        EXPECT_EQ(id(t, 0), v.seed0) << v.proto << " " << v.src << " " << v.dst << " " << v.sport;
        EXPECT_EQ(id(t, 1), v.seed1) << v.proto << " " << v.src << " " << v.dst << " " << v.sport;
    }
}

TEST(CommunityId, SameWhicheverEndpointIsSource) {
    for (const Vector& v : kReadme) {
        community_id::Tuple t = tuple(v);
        if (t.proto == 1 || t.proto == 58) {
            continue;  // ICMP: the reverse of a message is another type
        }
        community_id::Tuple r = t;
        std::swap(r.src, r.dst);
        std::swap(r.sport, r.dport);
        EXPECT_EQ(id(t, 0), id(r, 0)) << v.src << " " << v.dst;
        EXPECT_EQ(id(t, 7), id(r, 7)) << v.src << " " << v.dst;
    }
    // Same address, ports decide the order.
    community_id::Tuple t = tuple({6, "10.0.0.1", "10.0.0.1", 80, 4000, "", ""});
    community_id::Tuple r = t;
    std::swap(r.sport, r.dport);
    EXPECT_EQ(id(t, 0), id(r, 0));
}

TEST(CommunityId, IcmpRequestCodeIgnoredOneWayCodeKept) {
    // Echo request with a non-zero code: a request/reply type is keyed by
    // (type, counterpart), so the code does not count.
    community_id::Tuple echo = tuple({1, "1.2.3.4", "5.6.7.8", 8, 5, "", ""});
    EXPECT_EQ(id(echo, 0), "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    // One-way: the code is the second "port", and the order is the sender's.
    community_id::Tuple unreach = tuple({1, "5.6.7.8", "1.2.3.4", 3, 1, "", ""});
    community_id::Tuple unreach2 = unreach;
    unreach2.dport = 3;
    EXPECT_NE(id(unreach, 0), id(unreach2, 0));
    community_id::Tuple back = unreach;
    std::swap(back.src, back.dst);
    EXPECT_NE(id(unreach, 0), id(back, 0));
}

TEST(CommunityId, PortsIgnoredForPortlessProtocols) {
    community_id::Tuple t = tuple({46, "1.2.3.4", "5.6.7.8", 0, 0, "", ""});
    community_id::Tuple p = t;
    p.sport = 99;
    p.dport = 7;
    EXPECT_EQ(id(t, 0), id(p, 0));
    EXPECT_EQ(id(p, 0), "1:ikv3kmf89luf73WPz1jOs49S768=");
}
