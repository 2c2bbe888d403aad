// app: the flow's application protocol, from what the protocol units
// recognised, else the app= content rules, else the responder's port.
#include "spate/features/units.hpp"
#include "spate/match/app.hpp"

namespace spate::features {

void App::write_app(const AppEvidence& e, const FlowData& f, JsonWriter& w,
                    const FeatureConfig& c) {
    const char* proto = e.unit;
    const char* by = "unit";
    // A rule may say more than the http unit: HTTP proxying (CONNECT,
    // absolute URIs) and protocols built on HTTP's syntax.
    const bool weak = proto != nullptr && std::string_view(proto) == "http" &&
                      e.rule != nullptr && std::string_view(e.rule) != "http";
    if ((proto == nullptr || weak) && e.rule != nullptr) {
        proto = e.rule;
        by = "rule";
    }
    if (proto == nullptr && (f.key.proto == 6 || f.key.proto == 17)) {
        // The responder's port first; then the initiator's (a flow whose
        // start was missed, or two servers talking, e.g. resolvers on 53).
        proto = match::port_app(f.key.proto, f.key.dport);
        if (proto == nullptr) {
            proto = match::port_app(f.key.proto, f.key.sport);
        }
        by = "port";
    }
    if (proto == nullptr) {
        return;
    }
    w.key("app");
    w.begin_object();
    w.key("proto");
    w.value(std::string_view(proto));
    w.key("by");
    w.value(std::string_view(by));
    if (!e.alpn.empty() && e.unit != nullptr) {
        w.key("alpn");
        w.value(e.alpn);
    }
    w.end_object();
}

}  // namespace spate::features
