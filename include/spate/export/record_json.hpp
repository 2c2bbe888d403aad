#pragma once
/// Flow record -> one JSON object (the schema is docs/record-schema.md).
#include <cstdint>
#include <string>

#include "spate/export/json_writer.hpp"
#include "spate/features/feature_set.hpp"
#include "spate/flow/flow.hpp"

namespace spate {

/// How times are written (--time-format).
enum class TimeFormat : uint8_t {
    seconds,  ///< 1418145369.924505488: a JSON number, 9 decimals for nanosecond inputs, else 6
    ns,       ///< 1418145369924505488: integer nanoseconds since the epoch
    iso8601,  ///< "2014-12-09T17:16:09.924505488Z": UTC, always 9 decimals
};

struct RecordFormat {
    bool nanosecond = false;  ///< 9 decimals in times (else 6)
    TimeFormat time = TimeFormat::seconds;
    uint16_t community_id_seed = 0;  ///< --community-id-seed
    std::string observer;            ///< --observer ("" = no "observer" field)
};

/// "seconds", "ns", "iso8601" -> the format; false for anything else.
bool parse_time_format(std::string_view s, TimeFormat& out);

/// Appends the record as one JSON object followed by a newline. When
/// `features` is given, `state` is the flow's feature block and the enabled
/// units add their fields.
void write_record_json(JsonWriter& w, const FlowData& f, const RecordFormat& fmt,
                       const features::FeatureSet* features = nullptr,
                       const uint8_t* state = nullptr);

}  // namespace spate
