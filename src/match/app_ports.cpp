// app: the well-known port table behind "by": "port" guesses (the IANA
// service name registry, narrowed to what is commonly served on each port).
#include "spate/match/app.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

namespace spate::match {

namespace {

/// One responder port range and the app name (as the app= values of
/// rules/apps.rules) commonly served there.
struct PortApp {
    uint8_t proto;  // 6 TCP, 17 UDP
    uint16_t lo;
    uint16_t hi;
    const char* app;
};

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

// Sorted by (proto, lo); ranges do not overlap. Implicit-TLS ports (443,
// 465 submissions, 636 ldaps, 853 DNS over TLS, 989/990 ftps, 992 telnets,
// 993 imaps, 995 pop3s, 5061 sips, 8443) are "tls": that is all a flow there
// shows without decryption, and what the tls unit and rules say of it;
// UDP 443 is "quic". STARTTLS ports (25, 587, 143, 110, 389, 5222) keep the
// protocol's name. bench/apps/compare_ndpi.py parses this table: keep one
// entry per line in this form.
constexpr std::array kPorts = {
    PortApp{kTcp, 20, 21, "ftp"},
    PortApp{kTcp, 22, 22, "ssh"},
    PortApp{kTcp, 23, 23, "telnet"},
    PortApp{kTcp, 25, 25, "smtp"},
    PortApp{kTcp, 43, 43, "whois"},
    PortApp{kTcp, 49, 49, "tacacs"},
    PortApp{kTcp, 53, 53, "dns"},
    PortApp{kTcp, 79, 79, "finger"},
    PortApp{kTcp, 80, 80, "http"},
    PortApp{kTcp, 88, 88, "kerberos"},
    PortApp{kTcp, 102, 102, "s7comm"},
    PortApp{kTcp, 110, 110, "pop3"},
    PortApp{kTcp, 111, 111, "sunrpc"},
    PortApp{kTcp, 119, 119, "nntp"},
    PortApp{kTcp, 135, 135, "dcerpc"},
    PortApp{kTcp, 139, 139, "netbios"},
    PortApp{kTcp, 143, 143, "imap"},
    PortApp{kTcp, 179, 179, "bgp"},
    PortApp{kTcp, 194, 194, "irc"},
    PortApp{kTcp, 389, 389, "ldap"},
    PortApp{kTcp, 443, 443, "tls"},
    PortApp{kTcp, 445, 445, "smb"},
    PortApp{kTcp, 465, 465, "tls"},
    PortApp{kTcp, 502, 502, "modbus"},
    PortApp{kTcp, 554, 554, "rtsp"},
    PortApp{kTcp, 563, 563, "tls"},
    PortApp{kTcp, 587, 587, "smtp"},
    PortApp{kTcp, 601, 601, "syslog"},
    PortApp{kTcp, 636, 636, "tls"},
    PortApp{kTcp, 853, 853, "tls"},
    PortApp{kTcp, 873, 873, "rsync"},
    PortApp{kTcp, 989, 990, "tls"},
    PortApp{kTcp, 992, 993, "tls"},
    PortApp{kTcp, 995, 995, "tls"},
    PortApp{kTcp, 1080, 1080, "socks"},
    PortApp{kTcp, 1194, 1194, "openvpn"},
    PortApp{kTcp, 1433, 1433, "mssql"},
    PortApp{kTcp, 1494, 1494, "citrix"},
    PortApp{kTcp, 1521, 1521, "oracle"},
    PortApp{kTcp, 1723, 1723, "pptp"},
    PortApp{kTcp, 1883, 1883, "mqtt"},
    PortApp{kTcp, 1935, 1935, "rtmp"},
    PortApp{kTcp, 2049, 2049, "nfs"},
    PortApp{kTcp, 2404, 2404, "iec104"},
    PortApp{kTcp, 2598, 2598, "citrix"},
    PortApp{kTcp, 3128, 3128, "http_proxy"},
    PortApp{kTcp, 3306, 3306, "mysql"},
    PortApp{kTcp, 3389, 3389, "rdp"},
    PortApp{kTcp, 3868, 3868, "diameter"},
    PortApp{kTcp, 4222, 4222, "nats"},
    PortApp{kTcp, 4840, 4840, "opcua"},
    PortApp{kTcp, 5060, 5060, "sip"},
    PortApp{kTcp, 5061, 5061, "tls"},
    PortApp{kTcp, 5222, 5222, "xmpp"},
    PortApp{kTcp, 5269, 5269, "xmpp"},
    PortApp{kTcp, 5432, 5432, "postgresql"},
    PortApp{kTcp, 5671, 5671, "tls"},
    PortApp{kTcp, 5672, 5672, "amqp"},
    PortApp{kTcp, 5900, 5900, "vnc"},
    PortApp{kTcp, 5938, 5938, "teamviewer"},
    PortApp{kTcp, 6000, 6000, "x11"},
    PortApp{kTcp, 6379, 6379, "redis"},
    PortApp{kTcp, 6514, 6514, "tls"},
    PortApp{kTcp, 6667, 6667, "irc"},
    PortApp{kTcp, 6881, 6889, "bittorrent"},
    PortApp{kTcp, 8009, 8009, "ajp"},
    PortApp{kTcp, 8080, 8080, "http"},
    PortApp{kTcp, 8443, 8443, "tls"},
    PortApp{kTcp, 8883, 8883, "tls"},
    PortApp{kTcp, 9042, 9042, "cassandra"},
    PortApp{kTcp, 9050, 9050, "socks"},
    PortApp{kTcp, 9200, 9200, "http"},
    PortApp{kTcp, 9418, 9418, "git"},
    PortApp{kTcp, 10050, 10051, "zabbix"},
    PortApp{kTcp, 11211, 11211, "memcached"},
    PortApp{kTcp, 20000, 20000, "dnp3"},
    PortApp{kTcp, 25565, 25565, "minecraft"},
    PortApp{kTcp, 27017, 27017, "mongodb"},
    PortApp{kTcp, 44818, 44818, "ethernetip"},
    PortApp{kUdp, 53, 53, "dns"},
    PortApp{kUdp, 67, 68, "dhcp"},
    PortApp{kUdp, 69, 69, "tftp"},
    PortApp{kUdp, 88, 88, "kerberos"},
    PortApp{kUdp, 111, 111, "sunrpc"},
    PortApp{kUdp, 123, 123, "ntp"},
    PortApp{kUdp, 135, 135, "dcerpc"},
    PortApp{kUdp, 137, 138, "netbios"},
    PortApp{kUdp, 161, 162, "snmp"},
    PortApp{kUdp, 389, 389, "ldap"},
    PortApp{kUdp, 443, 443, "quic"},
    PortApp{kUdp, 500, 500, "ike"},
    PortApp{kUdp, 514, 514, "syslog"},
    PortApp{kUdp, 546, 547, "dhcpv6"},
    PortApp{kUdp, 1194, 1194, "openvpn"},
    PortApp{kUdp, 1645, 1646, "radius"},
    PortApp{kUdp, 1701, 1701, "l2tp"},
    PortApp{kUdp, 1812, 1813, "radius"},
    PortApp{kUdp, 1900, 1900, "ssdp"},
    PortApp{kUdp, 2049, 2049, "nfs"},
    PortApp{kUdp, 2055, 2056, "netflow"},
    PortApp{kUdp, 2427, 2427, "mgcp"},
    PortApp{kUdp, 3478, 3479, "stun"},
    PortApp{kUdp, 3544, 3544, "teredo"},
    PortApp{kUdp, 3702, 3702, "wsd"},
    PortApp{kUdp, 4500, 4500, "ike"},
    PortApp{kUdp, 4739, 4739, "netflow"},
    PortApp{kUdp, 5004, 5004, "rtp"},
    PortApp{kUdp, 5005, 5005, "rtcp"},
    PortApp{kUdp, 5060, 5060, "sip"},
    PortApp{kUdp, 5353, 5353, "mdns"},
    PortApp{kUdp, 5355, 5355, "llmnr"},
    PortApp{kUdp, 5683, 5683, "coap"},
    PortApp{kUdp, 5684, 5684, "dtls"},
    PortApp{kUdp, 6343, 6343, "sflow"},
    PortApp{kUdp, 6881, 6889, "bittorrent"},
    PortApp{kUdp, 11211, 11211, "memcached"},
    PortApp{kUdp, 17500, 17500, "dropbox"},
    PortApp{kUdp, 27015, 27015, "steam"},
    PortApp{kUdp, 27036, 27036, "steam"},
    PortApp{kUdp, 47808, 47808, "bacnet"},
    PortApp{kUdp, 51820, 51820, "wireguard"},
    PortApp{kUdp, 57621, 57621, "spotify"},
};

constexpr bool sorted_and_disjoint() {
    for (std::size_t i = 0; i < kPorts.size(); ++i) {
        if (kPorts[i].lo > kPorts[i].hi) {
            return false;
        }
        if (i > 0) {
            const PortApp& a = kPorts[i - 1];
            const PortApp& b = kPorts[i];
            if (a.proto > b.proto || (a.proto == b.proto && a.hi >= b.lo)) {
                return false;
            }
        }
    }
    return true;
}
static_assert(sorted_and_disjoint(), "kPorts must be sorted by (proto, lo) without overlaps");

}  // namespace

const char* port_app(uint8_t ipproto, uint16_t port) {
    // The first entry past (ipproto, port); the one before it is the only
    // range that can hold the port.
    const auto* it = std::upper_bound(
        kPorts.begin(), kPorts.end(), std::pair{ipproto, port},
        [](const std::pair<uint8_t, uint16_t>& k, const PortApp& e) {
            return k.first < e.proto || (k.first == e.proto && k.second < e.lo);
        });
    if (it == kPorts.begin()) {
        return nullptr;
    }
    --it;
    if (it->proto != ipproto || port > it->hi) {
        return nullptr;
    }
    return it->app;
}

}  // namespace spate::match
