#include "spate/worker/worker.hpp"

#include "spate/match/content_matcher.hpp"

#include <cassert>
#include <cstring>

#include "spate/core/backoff.hpp"
#include "spate/features/scratch.hpp"

namespace spate {

namespace {

constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoIcmp = 1;
constexpr uint8_t kProtoIcmp6 = 58;

inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// After an active-timeout export the flow goes on with fresh counters; its
// key, orientation and encapsulation stay.
void restart_counters(FlowData& f, uint64_t ts) {
    f.dir = {};
    f.fragments = 0;
    f.l4_truncated = 0;
    f.first_ns = ts;
    f.last_ns = ts;
}

// Retransmission / out-of-order classification of a TCP segment, per the
// definition in docs/record-schema.md: `high` is the highest sequence number
// + payload length seen in the direction (serial arithmetic).
features::SegClass classify_segment(FlowTable::Entry& e, uint8_t dir,
                                    const parse::DecodedPacket& pkt) {
    const uint32_t seq = pkt.tcp_seq;
    const uint32_t len = pkt.payload_len;
    const uint32_t syn = (pkt.tcp_flags & kSyn) ? 1 : 0;
    if (!e.tcp_seq_valid[dir]) {
        e.tcp_seq_valid[dir] = 1;
        e.tcp_high[dir] = seq + syn + len;
        return len > 0 ? features::SegClass::in_order : features::SegClass::none;
    }
    if (len == 0) {
        return features::SegClass::none;
    }
    const uint32_t end = seq + syn + len;
    const uint32_t high = e.tcp_high[dir];
    if (static_cast<int32_t>(end - high) <= 0) {
        return features::SegClass::retrans;
    }
    e.tcp_high[dir] = end;
    if (static_cast<int32_t>(seq + syn - high) > 0) {
        return features::SegClass::out_of_order;
    }
    return features::SegClass::in_order;
}

// Expiry runs when capture time moved on by this much (not per packet).
constexpr uint64_t kExpireStepNs = 100'000'000;  // 100 ms

}  // namespace

namespace {
FlowTableConfig with_feature_state(FlowTableConfig cfg, const features::FeatureSet& fs) {
    cfg.extra_bytes = static_cast<uint32_t>(fs.state_bytes());
    return cfg;
}
}  // namespace

Worker::Worker(uint32_t id, const FlowTableConfig& table_cfg, SpscRing& records_out,
               const features::FeatureSet& features)
    : id_(id),
      table_(with_feature_state(table_cfg, features)),
      out_(records_out),
      features_(features),
      scratch_(features.empty() ? nullptr : features.make_scratch(table_cfg.max_flows)) {}

Worker::~Worker() = default;

// Records carry the units' states right after FlowData, read in place by the
// exporter: they must stay 8-byte aligned like the flow-table entry.
static_assert(sizeof(FlowData) % 8 == 0);

void Worker::emit(FlowTable::Entry& e) {
    const FlowData& f = e.data;
    if (f.dir[0].pkts + f.dir[1].pkts == 0) {
        return;  // a flow reset by the active timeout that saw nothing since
    }
    const size_t len = sizeof(FlowData) + features_.packed_size(e.extra());
    void* slot = out_.try_reserve(static_cast<uint32_t>(MsgType::record), len);
    if (slot == nullptr) {
        out_.publish();
        Backoff backoff;
        while ((slot = out_.try_reserve(static_cast<uint32_t>(MsgType::record), len)) == nullptr) {
            if (backpressure_ == Backpressure::drop) {
                // One look after publishing; then the record goes, counted,
                // and the packet path goes on.
                bump(stats_.records_dropped);
                features_.release(e.extra(), scratch_.get());
                return;
            }
            bump(stats_.record_ring_full_waits);
            backoff.wait();
        }
    }
    std::memcpy(slot, &f, sizeof(FlowData));
    features_.finish(e.extra(), scratch_.get());
    const size_t packed = features_.pack(e.extra(), static_cast<uint8_t*>(slot) + sizeof(FlowData),
                                         scratch_.get());
    assert(packed + sizeof(FlowData) == len && "pack() and packed_size() disagree");
    (void)packed;
    features_.release(e.extra(), scratch_.get());
    bump(stats_.records);
}

void Worker::restart(FlowTable::Entry& e, uint64_t ts) {
    restart_counters(e.data, ts);
    features_.init(e.extra());
}

void Worker::on_packet(const parse::DecodedPacket& pkt, uint64_t hash, const uint8_t* data) {
    const uint64_t ts = pkt.ts_ns;
    if (ts > now_ns_) {
        now_ns_ = ts;
    }
    const FlowTableConfig& cfg = table_.config();
    const bool is_tcp = pkt.key.proto == kProtoTcp;
    const uint8_t flags = is_tcp ? pkt.tcp_flags : 0;

    bool reverse = false;
    FlowTable::Entry* e = table_.find(pkt.key, hash, reverse);
    if (e != nullptr) {
        FlowData& f = e->data;
        // The same tests as the periodic expiry, applied at lookup, so that the
        // records do not depend on when a sweep happened to run.
        const uint64_t timeout = e->closing ? cfg.tcp_close_timeout_ns : cfg.idle_timeout_ns;
        if (timeout != 0 && ts > f.last_ns && ts - f.last_ns > timeout) {
            if (e->closing) {
                f.end_reason = EndReason::tcp_end;
                ++table_.counters().tcp_ended;
            } else {
                f.end_reason = EndReason::idle;
                ++table_.counters().expired_idle;
            }
            emit(*e);
            table_.remove(e);
            e = nullptr;
        } else if (e->closing && (flags & (kSyn | kAck)) == kSyn) {
            // A new connection on a closed 5-tuple.
            f.end_reason = EndReason::tcp_end;
            ++table_.counters().tcp_ended;
            emit(*e);
            table_.remove(e);
            e = nullptr;
        } else if (cfg.active_timeout_ns != 0 && ts >= f.first_ns &&
                   ts - f.first_ns >= cfg.active_timeout_ns) {
            f.end_reason = EndReason::active;
            ++table_.counters().expired_active;
            emit(*e);
            restart(*e, ts);
            table_.restart_age(e);
        }
    }
    if (e == nullptr) {
        FlowKey k = pkt.key;
        bool from_synack = false;
        if ((flags & (kSyn | kAck)) == (kSyn | kAck)) {
            // A SYN-ACK seen first: its receiver opened the connection.
            k = pkt.key.reversed();
            from_synack = true;
        }
        e = table_.insert(k, hash, [this](FlowTable::Entry& victim) { emit(victim); });
        if (e == nullptr) {
            return;  // no slot within reach: counted (probe_overflow), the packet is not in a flow
        }
        reverse = from_synack;
        features_.init(e->extra());
        FlowData& f = e->data;
        f.initiator_from_synack = from_synack;
        f.first_ns = ts;
        f.in_port = pkt.in_port;
        f.in_queue = pkt.in_queue;
        f.vlan_count = pkt.vlan_count;
        for (int i = 0; i < parse::kMaxVlans; ++i) {
            f.vlans[i] = pkt.vlans[i];
        }
        f.mpls_count = pkt.mpls_count;
        f.mpls_top = pkt.mpls_top;
        f.tunnel_count = pkt.tunnel_count;
        f.tunnels = pkt.tunnels;
        f.outer_ip_version = pkt.outer_ip_version;
        f.outer_src = pkt.outer_src;
        f.outer_dst = pkt.outer_dst;
        if (pkt.key.proto == kProtoIcmp || pkt.key.proto == kProtoIcmp6) {
            f.icmp_type = pkt.icmp_type;
            f.icmp_code = pkt.icmp_code;
        }
    }

    FlowData& f = e->data;
    const bool flow_first = f.dir[0].pkts + f.dir[1].pkts == 0;
    const uint64_t prev_ts = flow_first ? ts : f.last_ns;
    if (flow_first) {
        f.first_ns = ts;
    }
    f.last_ns = ts;
    const uint8_t dir = reverse ? 1 : 0;
    FlowDirCounters& d = f.dir[dir];
    const bool dir_first = d.pkts == 0;
    if (d.pkts == 0 || pkt.ttl < d.min_ttl) {
        d.min_ttl = pkt.ttl;
    }
    ++d.pkts;
    d.bytes += pkt.payload_len;
    d.ip_bytes += pkt.ip_len;
    if (pkt.frag != parse::FragKind::none) {
        ++f.fragments;
    }
    if (pkt.l4_truncated) {
        ++f.l4_truncated;
    }
    if (is_tcp) {
        d.tcp_flags |= flags;
        if (flags & kFin) {
            d.fin = 1;
        }
        if ((flags & kRst) || (f.dir[0].fin && f.dir[1].fin)) {
            table_.mark_closing(e);
        }
    }
    const features::SegClass seg =
        is_tcp && !pkt.l4_truncated ? classify_segment(*e, dir, pkt) : features::SegClass::none;
    if (!features_.empty()) {
        features::PacketView v;
        v.pkt = &pkt;
        v.frame = data;
        v.payload_cap = 0;
        v.payload = nullptr;
        if (data != nullptr && pkt.payload_off != 0 && pkt.payload_off < pkt.cap_len) {
            uint32_t cap = pkt.cap_len - pkt.payload_off;
            v.payload_cap = cap < pkt.payload_len ? cap : pkt.payload_len;
            v.payload = data + pkt.payload_off;
        }
        v.dir = dir;
        v.flow_first = flow_first;
        v.dir_first = dir_first;
        v.seg = seg;
        v.prev_ts_ns = prev_ts;
        v.flow_start_ns = f.first_ns;
        v.scratch = scratch_.get();
        features_.update(e->extra(), v);
    }
    table_.touch(e, prev_ts, ts);
    bump(stats_.packets);

    if (now_ns_ - last_expire_ns_ >= kExpireStepNs) {
        advance(now_ns_);
    }
}

void Worker::advance(uint64_t now_ns) {
    if (now_ns > now_ns_) {
        now_ns_ = now_ns;
    }
    if (scratch_ != nullptr && scratch_->content != nullptr) {
        scratch_->content->refresh();  // rules reloaded: new flows use them
    }
    last_expire_ns_ = now_ns_;
    table_.expire(now_ns_, [this](FlowTable::Entry& e) {
        emit(e);
        if (e.data.end_reason == EndReason::active) {
            restart(e, now_ns_);
        }
    });
    sync_stats();
}

void Worker::sync_rule_hits() {
    if (scratch_ == nullptr || scratch_->content == nullptr) {
        return;
    }
    const match::ContentMatcher& cm = *scratch_->content;
    if (cm.total_hits() == rule_hits_synced_) {
        return;
    }
    rule_hits_synced_ = cm.total_hits();
    auto per_rule = cm.rule_hits();
    const std::lock_guard<std::mutex> g(rule_mu_);
    rule_hits_.swap(per_rule);
}

std::vector<std::pair<uint32_t, uint64_t>> Worker::rule_hits() const {
    const std::lock_guard<std::mutex> g(rule_mu_);
    return rule_hits_;
}

void Worker::sync_stats() {
    const FlowTableCounters& c = table_.counters();
    stats_.flows_active.store(table_.size(), std::memory_order_relaxed);
    stats_.flows_created.store(c.created, std::memory_order_relaxed);
    stats_.flows_peak.store(c.max_active, std::memory_order_relaxed);
    stats_.flows_refused.store(c.probe_overflow, std::memory_order_relaxed);
    stats_.flows_evicted.store(c.evicted, std::memory_order_relaxed);
    stats_.expired_idle.store(c.expired_idle, std::memory_order_relaxed);
    stats_.expired_active.store(c.expired_active, std::memory_order_relaxed);
    stats_.tcp_ended.store(c.tcp_ended, std::memory_order_relaxed);
    if (scratch_ != nullptr) {
        const features::TlsCounters& t = scratch_->tls;
        stats_.tls_messages.store(t.handshake_messages, std::memory_order_relaxed);
        stats_.tls_too_big.store(t.message_too_big, std::memory_order_relaxed);
        stats_.tls_gaps.store(t.gaps, std::memory_order_relaxed);
        stats_.tls_ooo_held.store(t.out_of_order_held, std::memory_order_relaxed);
        stats_.tls_malformed.store(t.malformed, std::memory_order_relaxed);
        stats_.tls_buffers_stolen.store(scratch_->pool.stolen, std::memory_order_relaxed);
        stats_.quic_initials.store(t.quic_initials, std::memory_order_relaxed);
        stats_.quic_failed.store(t.quic_failed, std::memory_order_relaxed);
        for (uint32_t k = 0; k < features::kArenaKinds; ++k) {
            const features::ArenaCounters& ac = scratch_->arena[k].counters();
            stats_.state_bytes[k].store(ac.bytes_in_use, std::memory_order_relaxed);
            stats_.state_peak[k].store(ac.bytes_peak, std::memory_order_relaxed);
            stats_.state_leases[k].store(ac.leases, std::memory_order_relaxed);
            stats_.state_refused[k].store(ac.dry, std::memory_order_relaxed);
        }
        const features::AppCounters* apps[5] = {&scratch_->dns, &scratch_->http, &scratch_->ssh,
                                                &scratch_->dhcp, &scratch_->ike};
        if (scratch_->content != nullptr) {
            const match::ContentMatcher& cm = *scratch_->content;
            const match::MatcherCounters& mc = cm.counters();
            const uint64_t hits = cm.total_hits();
            const uint64_t v[5] = {mc.streams_opened, mc.streams_refused, mc.gaps,
                                   mc.hits_truncated, hits};
            for (int i = 0; i < 5; ++i) {
                stats_.content[i].store(v[i], std::memory_order_relaxed);
            }
        }
        for (int i = 0; i < 5; ++i) {
            stats_.app[i][0].store(apps[i]->messages, std::memory_order_relaxed);
            stats_.app[i][1].store(apps[i]->malformed, std::memory_order_relaxed);
            stats_.app[i][2].store(apps[i]->truncated, std::memory_order_relaxed);
            stats_.app[i][3].store(apps[i]->gaps, std::memory_order_relaxed);
        }
    }
}

void Worker::finish() {
    // A flow already due at the last packet time ends as the sweep would have
    // ended it (a sweep runs every 100 ms of packet time and may stop short
    // of a due flow by one activity bucket): records do not depend on when
    // the last sweep happened to run.
    const FlowTableConfig& cfg = table_.config();
    table_.drain([this, &cfg](FlowTable::Entry& e) {
        const uint64_t timeout = e.closing ? cfg.tcp_close_timeout_ns : cfg.idle_timeout_ns;
        const bool due =
            timeout != 0 && now_ns_ > e.data.last_ns && now_ns_ - e.data.last_ns > timeout;
        if (e.closing) {
            e.data.end_reason = EndReason::tcp_end;
            table_.counters().tcp_ended += due ? 1 : 0;
        } else if (due) {
            e.data.end_reason = EndReason::idle;
            ++table_.counters().expired_idle;
        } else {
            e.data.end_reason = EndReason::end_of_input;
        }
        emit(e);
    });
    sync_stats();
    sync_rule_hits();
    Backoff backoff;
    while (out_.try_reserve(static_cast<uint32_t>(MsgType::done), 0) == nullptr) {
        out_.publish();
        backoff.wait();
    }
    out_.publish();
}

}  // namespace spate
