// content: Hyperscan content rules (--rules, docs/rules.md) matched in each
// flow direction's bytes by the worker's ContentMatcher; the record lists
// the matches.
#include <cstring>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"
#include "spate/match/content_matcher.hpp"

namespace spate::features {

namespace {

constexpr uint8_t kTcpSyn = 0x02;

struct ContentState {
    match::ContentFlow flow;
    uint16_t server_port;  ///< the responder's port (port= filters)
    uint8_t port_set;
    uint8_t pad[5];
};

}  // namespace

size_t Content::state_size(const FeatureConfig&) {
    return sizeof(ContentState);
}

void Content::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, sizeof(ContentState));
}

void Content::update(uint8_t* s, const PacketView& p, const FeatureConfig&) {
    if (p.scratch == nullptr || p.scratch->content == nullptr) {
        return;
    }
    auto& st = *reinterpret_cast<ContentState*>(s);
    const parse::DecodedPacket& pkt = *p.pkt;
    if (st.port_set == 0) {
        // The packet's own ports: from the initiator, the destination is the responder's.
        st.server_port = p.dir == 0 ? pkt.key.dport : pkt.key.sport;
        st.port_set = 1;
    }
    match::ContentMatcher& m = *p.scratch->content;
    if (pkt.key.proto == 6) {
        m.tcp(st.flow, p.dir, pkt.tcp_seq, (pkt.tcp_flags & kTcpSyn) != 0, p.payload,
              p.payload_cap, st.server_port);
    } else if (pkt.key.proto == 17 && p.payload_cap > 0) {
        m.udp(st.flow, p.dir, p.payload, p.payload_cap, st.server_port);
    }
}

void Content::finish(uint8_t* s, WorkerScratch* scratch) {
    if (scratch == nullptr || scratch->content == nullptr) {
        return;
    }
    auto& st = *reinterpret_cast<ContentState*>(s);
    scratch->content->finish(st.flow, st.server_port);
}

void Content::release(uint8_t* s, WorkerScratch* scratch) {
    finish(s, scratch);  // a record dropped under overload never went through finish()
}

namespace {

/// The rules a flow's matches index (those of the generation it was bound to).
const std::vector<match::Rule>* rules_of(const match::ContentFlow& f, const FeatureConfig& c) {
    return c.rule_registry == nullptr ? nullptr : c.rule_registry->rules(f.gen);
}

}  // namespace

const char* Content::app_name(const uint8_t* s, const FeatureConfig& c) {
    const match::ContentFlow& f = reinterpret_cast<const ContentState*>(s)->flow;
    const std::vector<match::Rule>* rules = rules_of(f, c);
    if (f.app_rule == 0 || rules == nullptr || f.app_rule > rules->size()) {
        return nullptr;
    }
    return (*rules)[f.app_rule - 1].app.c_str();
}

void Content::write_json(const uint8_t* s, const FlowData&, JsonWriter& w, const FeatureConfig& c) {
    const auto& st = *reinterpret_cast<const ContentState*>(s);
    const match::ContentFlow& f = st.flow;
    const std::vector<match::Rule>* table = rules_of(f, c);
    if (table == nullptr) {
        return;
    }
    const auto& rules = *table;
    if (f.nhits > 0) {
        w.key("matches");
        w.begin_array();
        for (uint32_t i = 0; i < f.nhits && i < match::kMaxHits; ++i) {
            const match::MatchHit& h = f.hits[i];
            if (h.rule >= rules.size()) {
                continue;
            }
            w.begin_object();
            w.key("id");
            w.value(uint64_t{rules[h.rule].id});
            w.key("name");
            w.value(std::string_view(rules[h.rule].name));
            w.key("dir");
            w.value(h.dir == 0 ? ">" : "<");
            w.key("offset");
            w.value(uint64_t{h.offset});
            w.end_object();
        }
        w.end_array();
    }
    if (f.hits_truncated != 0) {
        w.key("matches_truncated");
        w.value(true);
    }
    if (f.dir[0].no_state != 0 || f.dir[1].no_state != 0) {
        w.key("matches_no_state");
        w.value(true);
    }
    if (f.dir[0].gap != 0 || f.dir[1].gap != 0) {
        w.key("matches_gap");
        w.value(true);
    }
}

}  // namespace spate::features
