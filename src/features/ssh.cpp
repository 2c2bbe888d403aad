// ssh: placeholder until the unit is written (issue 6); records nothing.
#include <cstring>

#include "spate/features/units.hpp"

namespace spate::features {

size_t Ssh::state_size(const FeatureConfig&) {
    return 8;
}

void Ssh::init(uint8_t* s, const FeatureConfig&) {
    std::memset(s, 0, 8);
}

void Ssh::update(uint8_t*, const PacketView&, const FeatureConfig&) {}

void Ssh::write_json(const uint8_t*, const FlowData&, JsonWriter&, const FeatureConfig&) {}

void Ssh::release(uint8_t*, WorkerScratch*) {}

}  // namespace spate::features
