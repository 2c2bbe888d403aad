#pragma once
// spate-bench --compare (a run against a baseline written by --json) and
// the checks made before the first run.
#include <simdjson.h>

#include <map>
#include <string>
#include <vector>

#include "bench_figures.hpp"

namespace spate::bench {

/// The baseline file: read and checked before the first run.
struct Baseline {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    std::map<std::string, simdjson::dom::element> configs;
    std::vector<std::string> order;  ///< keys as the file lists them
};

/// Reads and checks a --json file. Throws std::runtime_error naming it.
void load_baseline(Baseline& b, const std::string& path);

/// Prints, per configuration in both (full name), each figure's medians,
/// spreads, ratio and mark; then the configurations on one side only.
void compare_with(const std::vector<Config>& configs, Baseline& base, const std::string& path);

/// Checks that `path` can be written (created, or an existing file or
/// device written over) without writing it: a bad path fails before the
/// first run, not after all of them. `dir_ok`: a directory is fine (an
/// output with rotation, whose missing directories are made).
/// Throws std::invalid_argument naming the option and the path.
void check_writable(const char* option, const std::string& path, bool dir_ok);

}  // namespace spate::bench
