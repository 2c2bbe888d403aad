#pragma once
/// Flow record -> one JSON object (the schema is docs/record-schema.md).
#include <cstdint>
#include <string>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/flow/flow.hpp"

namespace spate {

struct RecordFormat {
    bool nanosecond = false;  ///< 9 decimals in times (else 6)
    uint16_t community_id_seed = 0;  ///< --community-id-seed
    std::string observer;            ///< --observer ("" = no "observer" field)
};

/// Appends the record as one JSON object followed by a newline. When
/// `features` is given, `state` is the flow's feature block and the enabled
/// units add their fields.
void write_record_json(JsonWriter& w, const FlowData& f, const RecordFormat& fmt,
                       const features::FeatureSet* features = nullptr,
                       const uint8_t* state = nullptr);

}  // namespace spate
