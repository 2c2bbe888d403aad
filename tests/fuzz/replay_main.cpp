// Stand-in for libFuzzer's driver when the compiler has no -fsanitize=fuzzer
// (gcc): runs the target on every file given (or every file in every
// directory given), then on deterministic mutations of each: every
// truncation of the first 512 bytes, and N random byte flips / inserts /
// deletions. Built with ASan and UBSan in the sanitizer test build, so the
// suite replays every parser on hostile input on every run.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void run(const std::vector<uint8_t>& buf) {
    // Copy into an exactly-sized heap block so ASan sees reads past the end.
    auto* p = static_cast<uint8_t*>(std::malloc(buf.empty() ? 1 : buf.size()));
    if (!buf.empty()) {
        std::copy(buf.begin(), buf.end(), p);
    }
    LLVMFuzzerTestOneInput(p, buf.size());
    std::free(p);
}

}  // namespace

int main(int argc, char** argv) {
    long mutations = 200;
    if (const char* m = std::getenv("SPATE_FUZZ_MUTATIONS")) {
        mutations = std::strtol(m, nullptr, 10);
    }
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        if (std::filesystem::is_directory(p)) {
            for (auto& e : std::filesystem::recursive_directory_iterator(p)) {
                if (e.is_regular_file()) {
                    files.push_back(e.path());
                }
            }
        } else if (std::filesystem::exists(p)) {
            files.push_back(p);
        }
    }
    std::sort(files.begin(), files.end());
    std::mt19937_64 rng(12345);
    size_t runs = 0;
    run({});
    for (const auto& f : files) {
        auto seed = read_file(f);
        run(seed);
        ++runs;
        size_t cut = std::min<size_t>(seed.size(), 512);
        for (size_t n = 0; n < cut; ++n) {
            run(std::vector<uint8_t>(seed.begin(), seed.begin() + static_cast<long>(n)));
            ++runs;
        }
        for (long m = 0; m < mutations && !seed.empty(); ++m) {
            auto v = seed;
            int edits = 1 + static_cast<int>(rng() % 8);
            for (int e = 0; e < edits && !v.empty(); ++e) {
                size_t pos = rng() % v.size();
                switch (rng() % 4) {
                    case 0:
                        v[pos] = static_cast<uint8_t>(rng());
                        break;
                    case 1:
                        v[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
                        break;
                    case 2:
                        v.insert(v.begin() + static_cast<long>(pos), static_cast<uint8_t>(rng()));
                        break;
                    default:
                        v.erase(v.begin() + static_cast<long>(pos));
                        break;
                }
            }
            run(v);
            ++runs;
        }
    }
    std::printf("replayed %zu inputs from %zu seed files\n", runs, files.size());
    return 0;
}
