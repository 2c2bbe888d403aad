// spate: command-line entry point.
#include <cstdio>
#include <exception>
#include <iostream>

#include "spate/control/options.hpp"
#include "spate/control/pipeline.hpp"
#include "spate/port/eal_diagnosis.hpp"

int main(int argc, char** argv) {
    spate::Options opts;
    try {
        switch (spate::parse_options(argc, argv, opts)) {
            case spate::ParseOutcome::help:
                std::cout << spate::help_text();
                return 0;
            case spate::ParseOutcome::dump_options:
                std::cout << spate::option_table();
                return 0;
            case spate::ParseOutcome::version:
                std::cout << "spate " << SPATE_VERSION << "\n";
                return 0;
            case spate::ParseOutcome::run:
                break;
        }
    } catch (const spate::UsageError& e) {
        std::fprintf(stderr, "spate: %s\n", e.what());
        return 2;
    }
    spate::install_signal_handlers();
    try {
        return spate::run_pipeline(opts);
    } catch (const spate::PortConfigError& e) {
        // A configuration this machine or device cannot run: the cause, then what to do.
        std::fprintf(stderr, "spate: error: %s\nspate: next step: %s\n", e.what(),
                     e.next_step().c_str());
        if (e.output_hidden()) {
            std::fprintf(stderr, "spate: (--verbose shows the EAL's whole output)\n");
        }
        return 2;
    } catch (const spate::UsageError& e) {
        std::fprintf(stderr, "spate: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "spate: error: %s\n", e.what());
        return 1;
    }
}
