#include "spate/features/feature_set.hpp"

#include "spate/match/content_matcher.hpp"

#include <cassert>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <tuple>
#include <utility>

#include "spate/features/scratch.hpp"
#include "spate/features/units.hpp"

namespace spate::features {

namespace {

// The registration list: one line per unit. Order = order in the record.
using Units = std::tuple<Splt, ByteCounts, Idp, IpInfo, TcpInfo, Ppi, Salt, Wht, Hd, ProbableOs,
                         Hist, Tls, Dns, Http, Ssh, Dhcp, Ike, Content, App>;
constexpr size_t kUnits = std::tuple_size_v<Units>;
// Content is registered after the protocol units, App after every unit
// whose state it reads.
constexpr size_t kContentIndex = kUnits - 2;
constexpr size_t kAppIndex = kUnits - 1;
static_assert(std::is_same_v<std::tuple_element_t<kContentIndex, Units>, Content>);
static_assert(std::is_same_v<std::tuple_element_t<kAppIndex, Units>, App>);

template <class U>
concept AppUnit = requires(const uint8_t* s, const FlowData& f, const FeatureConfig& c,
                           std::string_view& alpn) { U::app(s, f, c, alpn); };
static_assert(kUnits <= FeatureSet::kMaxUnits);

// Names accepted in --features that are not a unit of their own.
constexpr const char* kJoySet = "splt,bd,entropy,idp,tcp,ip,tls,dns,http";

template <size_t... I>
int index_of(std::string_view name, std::index_sequence<I...>) {
    int found = -1;
    ((std::tuple_element_t<I, Units>::kName == name ? (found = static_cast<int>(I)) : 0), ...);
    return found;
}

size_t align8(size_t n) {
    return (n + 7) & ~size_t{7};
}

template <class U>
concept ArenaUnit = requires { U::kArena; };

/// Bytes of a unit's state in the packed record at most (control + arena).
template <size_t I>
size_t size_of(const FeatureConfig& c) {
    return align8(std::tuple_element_t<I, Units>::state_size(c));
}

/// Bytes of a unit's state in the flow-table entry.
template <size_t I>
size_t entry_size_of(const FeatureConfig& c) {
    using U = std::tuple_element_t<I, Units>;
    if constexpr (ArenaUnit<U>) {
        static_assert(sizeof(ArenaRef) == 8);
        return align8(U::control_size(c));
    } else {
        return align8(U::state_size(c));
    }
}

}  // namespace

const char* FeatureSet::joy_set() {
    return kJoySet;
}

std::vector<std::string> FeatureSet::unit_names() {
    std::vector<std::string> names;
    std::apply([&](auto... u) { (names.emplace_back(decltype(u)::kName), ...); }, Units{});
    names.emplace_back("entropy");
    return names;
}

FeatureSet FeatureSet::parse(const std::string& list, FeatureConfig cfg) {
    FeatureSet fs;
    std::string expanded;
    std::stringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        // trim spaces
        size_t b = item.find_first_not_of(" \t");
        size_t e = item.find_last_not_of(" \t");
        item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
        if (item.empty() || item == "none") {
            continue;
        }
        if (item == "joy") {
            expanded += std::string(kJoySet) + ",";
        } else if (item == "all") {
            for (const auto& n : unit_names()) {
                if (n != "content" || cfg.content_db != nullptr) {  // content needs rules
                    expanded += n + ",";
                }
            }
        } else {
            expanded += item + ",";
        }
    }
    std::stringstream ex(expanded);
    while (std::getline(ex, item, ',')) {
        if (item.empty()) {
            continue;
        }
        if (item == "entropy") {
            cfg.entropy_fields = true;
            item = "bd";
        } else if (item == "bd") {
            cfg.bd_fields = true;
        }
        int i = index_of(item, std::make_index_sequence<kUnits>{});
        if (i < 0) {
            std::string known;
            for (const auto& n : unit_names()) {
                known += (known.empty() ? "" : ", ") + n;
            }
            throw FeatureError("option '--features': unknown feature unit '" + item +
                               "' (known: " + known + ", joy, all, none)");
        }
        if (item == "content" && cfg.content_db == nullptr) {
            throw FeatureError("option '--features': unit 'content' needs rules (--rules FILE)");
        }
        fs.mask_ |= 1u << i;
    }
    if (cfg.content_db != nullptr && cfg.rule_registry == nullptr) {
        cfg.rule_registry = std::make_shared<match::RuleRegistry>(cfg.content_db);
    }
    if ((fs.mask_ & (1u << kAppIndex)) != 0 && cfg.content_db != nullptr) {
        fs.mask_ |= 1u << kContentIndex;  // app= rules are matched by the content unit
    }
    fs.cfg_ = cfg;
    size_t off = 0;
    [&]<size_t... I>(std::index_sequence<I...>) {
        ((fs.mask_ & (1u << I)
              ? (fs.offset_[I] = static_cast<uint32_t>(off), off += entry_size_of<I>(cfg))
              : 0),
         ...);
    }
    (std::make_index_sequence<kUnits>{});
    fs.state_bytes_ = off;
    size_t full = 0;
    [&]<size_t... I>(std::index_sequence<I...>) {
        ((fs.mask_ & (1u << I)
              ? (fs.full_offset_[I] = static_cast<uint32_t>(full), full += size_of<I>(cfg))
              : 0),
         ...);
    }
    (std::make_index_sequence<kUnits>{});
    fs.full_bytes_ = full;
    return fs;
}

std::vector<std::string> FeatureSet::enabled() const {
    std::vector<std::string> out;
    size_t i = 0;
    std::apply(
        [&](auto... u) {
            ((mask_ & (1u << i++) ? (void)out.emplace_back(decltype(u)::kName) : (void)0), ...);
        },
        Units{});
    if (cfg_.entropy_fields) {
        out.emplace_back("entropy");
    }
    return out;
}

void FeatureSet::init(uint8_t* block) const {
    [&]<size_t... I>(std::index_sequence<I...>) {
        ((mask_ & (1u << I) ? std::tuple_element_t<I, Units>::init(block + offset_[I], cfg_)
                            : void()),
         ...);
    }
    (std::make_index_sequence<kUnits>{});
}

void FeatureSet::update(uint8_t* block, const PacketView& p) const {
    [&]<size_t... I>(std::index_sequence<I...>) {
        ((mask_ & (1u << I) ? std::tuple_element_t<I, Units>::update(block + offset_[I], p, cfg_)
                            : void()),
         ...);
    }
    (std::make_index_sequence<kUnits>{});
}

void FeatureSet::release(uint8_t* block, WorkerScratch* scratch) const {
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using U = std::tuple_element_t<I, Units>;
                if constexpr (requires { U::release(block, scratch); }) {
                    if (mask_ & (1u << I)) {
                        U::release(block + offset_[I], scratch);
                    }
                }
                if constexpr (ArenaUnit<U>) {
                    if ((mask_ & (1u << I)) && scratch != nullptr) {
                        // The ref sits in the control part; the unit's init()
                        // clears it for the next record.
                        auto* ref = const_cast<ArenaRef*>(U::arena_ref(block + offset_[I]));
                        scratch->arena[U::kArena].release(*ref);
                    }
                }
            }(),
            ...);
    }
    (std::make_index_sequence<kUnits>{});
}

void FeatureSet::finish(uint8_t* block, WorkerScratch* scratch) const {
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using U = std::tuple_element_t<I, Units>;
                if constexpr (requires { U::finish(block, scratch); }) {
                    if (mask_ & (1u << I)) {
                        U::finish(block + offset_[I], scratch);
                    }
                }
            }(),
            ...);
    }
    (std::make_index_sequence<kUnits>{});
}

std::unique_ptr<WorkerScratch> FeatureSet::make_scratch(uint32_t max_flows) const {
    auto s = std::make_unique<WorkerScratch>(cfg_);
    if (cfg_.content_db != nullptr && (mask_ & (1u << kContentIndex)) != 0) {
        // Two directions per flow may each hold a stream; by default a
        // stream for every direction of a quarter of the table, at most 1M.
        uint32_t streams = cfg_.rule_streams;
        if (streams == 0) {
            streams = static_cast<uint32_t>(
                std::min<uint64_t>(std::max<uint64_t>(uint64_t{max_flows} / 2, 1024), 1u << 20));
        }
        s->content = std::make_unique<match::ContentMatcher>(cfg_.rule_registry, streams, &s->pool);
    }
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using U = std::tuple_element_t<I, Units>;
                if constexpr (ArenaUnit<U>) {
                    if (mask_ & (1u << I)) {
                        const uint32_t max = U::arena_max(cfg_);
                        uint64_t budget = cfg_.state_pool[U::kArena];
                        if (budget == 0) {
                            // Every flow of the table with the largest arena
                            // (rounded to the pool's 64-byte blocks).
                            budget = uint64_t{max_flows} * ((uint64_t{max} + 63) & ~uint64_t{63});
                        }
                        s->arena[U::kArena] =
                            ArenaPool(budget, max, std::string(kArenaNames[U::kArena]));
                    }
                }
            }(),
            ...);
    }
    (std::make_index_sequence<kUnits>{});
    return s;
}

namespace {

template <size_t I>
size_t used_of(const uint8_t* state, const FeatureConfig& c) {
    using U = std::tuple_element_t<I, Units>;
    if constexpr (ArenaUnit<U>) {
        return U::control_size(c) + U::arena_used(state, c);
    } else if constexpr (requires { U::used_bytes(state, c); }) {
        return U::used_bytes(state, c);
    } else {
        return U::state_size(c);
    }
}

}  // namespace

size_t FeatureSet::packed_size(const uint8_t* block) const {
    size_t n = 0;
    [&]<size_t... I>(std::index_sequence<I...>) {
        ((mask_ & (1u << I) ? (n += 8 + align8(used_of<I>(block + offset_[I], cfg_)), 0) : 0), ...);
    }
    (std::make_index_sequence<kUnits>{});
    return n;
}

size_t FeatureSet::pack(const uint8_t* block, uint8_t* out, const WorkerScratch* scratch) const {
    uint8_t* const start = out;
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using U = std::tuple_element_t<I, Units>;
                if (mask_ & (1u << I)) {
                    const uint8_t* s = block + offset_[I];
                    const uint64_t n = used_of<I>(s, cfg_);
                    std::memcpy(out, &n, 8);
                    if constexpr (ArenaUnit<U>) {
                        // The control part, then the arena's used bytes.
                        const size_t ctl = U::control_size(cfg_);
                        std::memcpy(out + 8, s, ctl);
                        if (n > ctl) {
                            const uint8_t* a =
                                scratch != nullptr
                                    ? scratch->arena[U::kArena].get(*U::arena_ref(s))
                                    : nullptr;
                            assert(a != nullptr && "arena_used() > 0 without an arena");
                            if (a != nullptr) {
                                std::memcpy(out + 8 + ctl, a, n - ctl);
                            } else {
                                std::memset(out + 8 + ctl, 0, n - ctl);
                            }
                        }
                    } else {
                        std::memcpy(out + 8, s, n);
                    }
                    out += 8 + align8(n);
                }
            }(),
            ...);
    }
    (std::make_index_sequence<kUnits>{});
    return static_cast<size_t>(out - start);
}

void FeatureSet::write_app(const std::array<const uint8_t*, kMaxUnits>& states, const FlowData& f,
                           JsonWriter& w) const {
    AppEvidence e;
    // The first protocol unit (registration order) that recognised the
    // flow; http last: an HTTP request also reaches servers of other
    // protocols (a GET sent to an SSH server is an SSH flow).
    const char* http = nullptr;
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using U = std::tuple_element_t<I, Units>;
                if constexpr (AppUnit<U>) {
                    if (e.unit == nullptr && states[I] != nullptr) {
                        if constexpr (std::is_same_v<U, Http>) {
                            std::string_view unused;
                            http = U::app(states[I], f, cfg_, unused);
                        } else {
                            e.unit = U::app(states[I], f, cfg_, e.alpn);
                        }
                    }
                }
            }(),
            ...);
    }
    (std::make_index_sequence<kUnits>{});
    if (e.unit == nullptr) {
        e.unit = http;
    }
    if (states[kContentIndex] != nullptr) {
        e.rule = Content::app_name(states[kContentIndex], cfg_);
    }
    App::write_app(e, f, w, cfg_);
}

void FeatureSet::write_json(const uint8_t* packed, const FlowData& f, JsonWriter& w) const {
    // Each unit reads its state in place: the packed bytes are 8-byte
    // aligned like the flow-table entry. Tests set SPATE_POISON_UNUSED: then
    // each state goes back to a full-size block whose part that was not sent
    // is filled with garbage, so a unit that reads past its used_bytes()
    // shows up as wrong output instead of reading the next unit's bytes.
    static const bool poison = std::getenv("SPATE_POISON_UNUSED") != nullptr;
    thread_local std::vector<uint8_t> block;
    if (poison && block.size() < full_bytes_) {
        block.resize(full_bytes_);
    }
    std::array<const uint8_t*, kMaxUnits> states{};  // for unit app, which reads the others
    [&]<size_t... I>(std::index_sequence<I...>) {
        (
            [&] {
                using U = std::tuple_element_t<I, Units>;
                if (mask_ & (1u << I)) {
                    uint64_t n = 0;
                    std::memcpy(&n, packed, 8);
                    const uint8_t* state = packed + 8;
                    if (poison) {
                        uint8_t* b = block.data() + full_offset_[I];
                        std::memcpy(b, state, n);
                        std::memset(b + n, 0xa5, size_of<I>(cfg_) - n);
                        state = b;
                    }
                    packed += 8 + align8(n);
                    states[I] = state;
                    if constexpr (I == kAppIndex) {
                        write_app(states, f, w);
                    } else {
                        U::write_json(state, f, w, cfg_);
                    }
                    if constexpr (ArenaUnit<U>) {
                        if (U::arena_ref(state)->lost != 0) {
                            static const std::string key = std::string(U::kName) + "_no_state";
                            w.key(key);
                            w.value(true);
                        }
                    }
                }
            }(),
            ...);
    }
    (std::make_index_sequence<kUnits>{});
}

}  // namespace spate::features
