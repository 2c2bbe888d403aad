#pragma once
// Helpers for the whole-program tests on live interfaces: a veth pair made
// by the test (root), Ethernet/IPv4 frames, and a raw sender.
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace spate_test {

using Bytes = std::vector<uint8_t>;

inline uint16_t inet_csum(const Bytes& b) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < b.size(); i += 2) {
        sum += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
    }
    if (b.size() % 2) {
        sum += static_cast<uint32_t>(b.back() << 8);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<uint16_t>(~sum);
}

inline void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}

/// Ethernet + IPv4 (10.77.0.<src> -> 10.77.0.<dst>) around `l4`.
inline Bytes frame(uint8_t src, uint8_t dst, uint8_t proto, const Bytes& l4) {
    Bytes ip{0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, 10, 77, 0, src, 10, 77, 0, dst};
    const size_t total = ip.size() + l4.size();
    ip[2] = static_cast<uint8_t>(total >> 8);
    ip[3] = static_cast<uint8_t>(total);
    const uint16_t c = inet_csum(ip);
    ip[10] = static_cast<uint8_t>(c >> 8);
    ip[11] = static_cast<uint8_t>(c);
    Bytes f{2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00};
    f.insert(f.end(), ip.begin(), ip.end());
    f.insert(f.end(), l4.begin(), l4.end());
    return f;
}

inline Bytes tcp(uint16_t sp, uint16_t dp, uint32_t seq, uint32_t ack, uint8_t flags,
                 const std::string& data = "") {
    Bytes t;
    put16(t, sp);
    put16(t, dp);
    put32(t, seq);
    put32(t, ack);
    t.push_back(5 << 4);
    t.push_back(flags);
    put16(t, 65535);
    put16(t, 0);  // checksum: nothing on this path verifies it
    put16(t, 0);
    t.insert(t.end(), data.begin(), data.end());
    return t;
}

inline Bytes udp(uint16_t sp, uint16_t dp, size_t len) {
    Bytes u;
    put16(u, sp);
    put16(u, dp);
    put16(u, static_cast<uint16_t>(8 + len));
    put16(u, 0);
    u.insert(u.end(), len, 'x');
    return u;
}

inline bool sh(const std::string& cmd) {
    return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

/// A veth pair, up, with IPv6 off (so the kernel sends no solicitations of
/// its own into the capture); removed at the end.
struct Veth {
    std::string a, b;
    bool ok = false;
    /// `tag`: a few letters that keep names apart between test programs.
    explicit Veth(const std::string& tag = "l") {
        const std::string id = std::to_string(getpid() % 100000);
        a = "sp" + tag + "a" + id;
        b = "sp" + tag + "b" + id;
        sh("ip link del " + a);
        ok = sh("ip link add " + a + " type veth peer name " + b);
        for (const std::string& n : {a, b}) {
            sh("sysctl -qw net.ipv6.conf." + n + ".disable_ipv6=1");
            ok = ok && sh("ip link set " + n + " up");
        }
    }
    ~Veth() { sh("ip link del " + a); }
};

inline void send_frames(const std::string& ifname, const std::vector<Bytes>& frames) {
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    ASSERT_GE(fd, 0);
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    sll.sll_halen = 6;
    for (const Bytes& f : frames) {
        ASSERT_EQ(sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)),
                  static_cast<ssize_t>(f.size()));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    close(fd);
}

}  // namespace spate_test
