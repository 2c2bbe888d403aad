// dns: placeholder until the unit is written (issue 6); records nothing.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

size_t Dns::state_size(const FeatureConfig&) {
    return 8;
}

void Dns::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 8);
}

void Dns::update(uint8_t*, const PacketView&, const FeatureConfig&) {}

void Dns::write_json(const uint8_t*, const FlowData&, JsonWriter&, const FeatureConfig&) {}

void Dns::release(uint8_t*, WorkerScratch*) {}

}  // namespace spate::features
