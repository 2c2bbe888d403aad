#include "spate/export/record_json.hpp"

#include <array>

#include "spate/core/community_id.hpp"

namespace spate {

namespace {

void write_ip(JsonWriter& w, std::string_view key, const IpAddr& a, uint8_t version) {
    char buf[64];
    size_t n = format_ip(a, version, buf);
    w.key(key);
    w.value(std::string_view(buf, n));
}

/// The Community ID of the record's flow: the key's src is the initiator,
/// and for ICMP the initiator's first type and code stand in for the ports.
void write_community_id(JsonWriter& w, const FlowData& f, uint16_t seed) {
    const FlowKey& k = f.key;
    community_id::Tuple t;
    t.src = k.src;
    t.dst = k.dst;
    t.ip_version = k.ip_version;
    t.proto = k.proto;
    const bool icmp = k.proto == 1 || k.proto == 58;
    t.sport = icmp ? f.icmp_type : k.sport;
    t.dport = icmp ? f.icmp_code : k.dport;
    char buf[community_id::kTextLen];
    const size_t n = community_id::format(t, seed, buf);
    w.key("community_id");
    w.value(std::string_view(buf, n));
}

}  // namespace

bool parse_time_format(std::string_view s, TimeFormat& out) {
    if (s == "seconds") {
        out = TimeFormat::seconds;
    } else if (s == "ns") {
        out = TimeFormat::ns;
    } else if (s == "iso8601") {
        out = TimeFormat::iso8601;
    } else {
        return false;
    }
    return true;
}

void write_record_json(JsonWriter& w, const FlowData& f, const RecordFormat& fmt,
                       const features::FeatureSet* features, const uint8_t* state) {
    const FlowKey& k = f.key;
    w.begin_object();
    write_ip(w, "sa", k.src, k.ip_version);
    write_ip(w, "da", k.dst, k.ip_version);
    w.key("pr");
    w.value(uint64_t{k.proto});
    w.key("sp");
    w.value(uint64_t{k.sport});
    w.key("dp");
    w.value(uint64_t{k.dport});
    w.key("ip_version");
    w.value(uint64_t{k.ip_version});
    write_community_id(w, f, fmt.community_id_seed);
    if (!fmt.observer.empty()) {
        w.key("observer");
        w.value(std::string_view(fmt.observer));
    }
    w.key("ingress");
    w.begin_object();
    w.key("port");
    w.value(uint64_t{f.in_port});
    w.key("queue");
    w.value(uint64_t{f.in_queue});
    w.end_object();
    w.key("num_pkts_out");
    w.value(f.dir[0].pkts);
    w.key("num_pkts_in");
    w.value(f.dir[1].pkts);
    w.key("bytes_out");
    w.value(f.dir[0].bytes);
    w.key("bytes_in");
    w.value(f.dir[1].bytes);
    w.key("ip_bytes_out");
    w.value(f.dir[0].ip_bytes);
    w.key("ip_bytes_in");
    w.value(f.dir[1].ip_bytes);
    const uint64_t duration = f.last_ns >= f.first_ns ? f.last_ns - f.first_ns : 0;
    switch (fmt.time) {
        case TimeFormat::seconds:
            w.key("time_start");
            w.timestamp(f.first_ns, fmt.nanosecond);
            w.key("time_end");
            w.timestamp(f.last_ns, fmt.nanosecond);
            w.key("duration");
            w.timestamp(duration, fmt.nanosecond);
            break;
        case TimeFormat::ns:
            w.key("time_start");
            w.value(f.first_ns);
            w.key("time_end");
            w.value(f.last_ns);
            w.key("duration");
            w.value(duration);
            break;
        case TimeFormat::iso8601:
            w.key("time_start");
            w.iso8601(f.first_ns);
            w.key("time_end");
            w.iso8601(f.last_ns);
            w.key("duration");
            w.timestamp(duration, true);  // seconds, as a number
            break;
    }
    if (k.proto == 6) {
        w.key("tcp_flags_out");
        w.value(uint64_t{f.dir[0].tcp_flags});
        w.key("tcp_flags_in");
        w.value(uint64_t{f.dir[1].tcp_flags});
    }
    if (f.icmp_type != 0 || f.icmp_code != 0 || k.proto == 1 || k.proto == 58) {
        w.key("icmp");
        w.begin_object();
        w.key("type");
        w.value(uint64_t{f.icmp_type});
        w.key("code");
        w.value(uint64_t{f.icmp_code});
        w.end_object();
    }
    if (f.vlan_count > 0) {
        w.key("vlan");
        w.value(uint64_t{f.vlans[0]});
        if (f.vlan_count > 1) {
            w.key("vlans");
            w.begin_array();
            for (int i = 0; i < f.vlan_count && i < parse::kMaxVlans; ++i) {
                w.value(uint64_t{f.vlans[i]});
            }
            w.end_array();
        }
    }
    if (f.mpls_count > 0) {
        w.key("mpls");
        w.begin_object();
        w.key("labels");
        w.value(uint64_t{f.mpls_count});
        w.key("top");
        w.value(uint64_t{f.mpls_top});
        w.end_object();
    }
    if (f.tunnel_count > 0) {
        w.key("tunnel");
        w.begin_object();
        w.key("encap");
        w.begin_array();
        for (int i = 0; i < f.tunnel_count && i < parse::kMaxTunnels; ++i) {
            w.value(parse::to_string(f.tunnels[i]));
        }
        w.end_array();
        write_ip(w, "outer_sa", f.outer_src, f.outer_ip_version);
        write_ip(w, "outer_da", f.outer_dst, f.outer_ip_version);
        w.end_object();
    }
    if (f.fragments > 0) {
        w.key("fragments");
        w.value(f.fragments);
    }
    if (f.l4_truncated > 0) {
        w.key("l4_truncated");
        w.value(uint64_t{f.l4_truncated});
    }
    if (f.initiator_from_synack) {
        w.key("initiator_from_synack");
        w.value(true);
    }
    if (features != nullptr && state != nullptr) {
        features->write_json(state, f, w);
    }
    w.key("end_reason");
    w.value(to_string(f.end_reason));
    w.end_object();
    w.newline();
}

}  // namespace spate
