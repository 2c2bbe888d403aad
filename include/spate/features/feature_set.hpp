#pragma once
/// The enabled feature units of a run and where each keeps its state.
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "spate/features/feature.hpp"

namespace spate::features {

class FeatureError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class FeatureSet {
public:
    FeatureSet() = default;

    /// Parses "splt,bd,..." ("joy", "all" and "none" expand). Throws
    /// FeatureError naming an unknown unit.
    static FeatureSet parse(const std::string& list, FeatureConfig cfg);

    /// Names of every unit, and what "joy" stands for.
    static std::vector<std::string> unit_names();
    static const char* joy_set();

    bool empty() const { return mask_ == 0; }
    /// Bytes of feature state in each flow-table entry (arenas apart).
    size_t state_bytes() const { return state_bytes_; }
    /// Bytes of feature state a record may carry at most.
    size_t record_state_bytes() const { return full_bytes_; }
    const FeatureConfig& config() const { return cfg_; }
    /// Enabled unit names, in registration order.
    std::vector<std::string> enabled() const;

    void init(uint8_t* block) const;
    void update(uint8_t* block, const PacketView& p) const;
    /// Writes the units' fields from a packed record (see pack()).
    void write_json(const uint8_t* packed, const FlowData& f, JsonWriter& w) const;
    /// Bytes pack() writes for this flow's state.
    size_t packed_size(const uint8_t* block) const;
    /// Copies the part of each unit's state that is in use (units with a
    /// used_bytes() say how much; the others copy all of it) as
    /// [u32 length][bytes] per enabled unit: what the record message carries,
    /// so a flow whose large units stayed empty costs little to send.
    /// Returns the bytes written (always packed_size(block)).
    /// Units with an arena copy their control part and then the arena's used
    /// bytes from `scratch` (the worker's pools).
    size_t pack(const uint8_t* block, uint8_t* out, const WorkerScratch* scratch) const;
    /// The flow ends, before pack(): units that still hold work finish it
    /// (content rules close their streams).
    void finish(uint8_t* block, WorkerScratch* scratch) const;
    /// The flow's record was sent: units give back what they hold in `scratch`.
    void release(uint8_t* block, WorkerScratch* scratch) const;
    /// A worker's working memory for the enabled units; arena pools sized
    /// by FeatureConfig::state_pool, or for `max_flows` flows by default.
    std::unique_ptr<WorkerScratch> make_scratch(uint32_t max_flows = 1024) const;

    static constexpr size_t kMaxUnits = 32;

private:
    /// Unit "app": gathers what the other units found (their states, by
    /// unit index; nullptr when off) and writes the record's "app".
    void write_app(const std::array<const uint8_t*, kMaxUnits>& states, const FlowData& f,
                   JsonWriter& w) const;

    FeatureConfig cfg_;
    uint32_t mask_ = 0;
    size_t state_bytes_ = 0;
    size_t full_bytes_ = 0;
    std::array<uint32_t, kMaxUnits> offset_{};       ///< in the entry
    std::array<uint32_t, kMaxUnits> full_offset_{};  ///< in a full-size block (tests)
};

}  // namespace spate::features
