#pragma once
/// The option tables of a program as plain lines, for the man page
/// generator (man/gen_man.py): spate and spate-bench print them with the
/// hidden option --dump-options.
#include <boost/program_options/options_description.hpp>
#include <string>
#include <utility>
#include <vector>

namespace spate {

/// An options_description's groups with their captions, as --help shows
/// them (boost 1.74 keeps both private).
using OptionGroups =
    std::vector<std::pair<std::string, boost::program_options::options_description>>;

/// "S\tLINE" for each synopsis line, then per group "G\tCAPTION" and per
/// option "O\tSHORT\tLONG\tPARAMETER\tDESCRIPTION" (PARAMETER as --help
/// shows it, e.g. "SECONDS (=15)"; empty for a flag).
std::string dump_option_table(const std::vector<std::string>& synopsis, const OptionGroups& groups);

}  // namespace spate
