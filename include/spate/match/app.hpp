#pragma once
/// Application identification (unit "app", docs/rules.md): the shipped
/// rule set (rules/apps.rules, built into the binary) and the table of
/// well-known ports behind "by": "port" guesses.
#include <cstdint>
#include <string_view>

namespace spate::match {

/// The text of rules/apps.rules as built into this binary.
std::string_view builtin_app_rules();

/// The application protocol commonly served on a responder's port
/// (ipproto 6: TCP, 17: UDP), by the names the app rules use; nullptr when
/// the port has no entry. Only a guess: the record marks it "by": "port".
const char* port_app(uint8_t ipproto, uint16_t port);

}  // namespace spate::match
