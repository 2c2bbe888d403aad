// Hyperscan compilation of content rules (docs/rules.md).
#include "spate/match/content_db.hpp"

#include "spate_config.h"

#if SPATE_HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

#include <algorithm>
#include <cstdint>
#include <string>
#include <thread>

namespace spate::match {

RuleRegistry::RuleRegistry(std::shared_ptr<const ContentDb> first) {
    publish(std::move(first));
}

bool RuleRegistry::publish(std::shared_ptr<const ContentDb> db) {
    std::lock_guard<std::mutex> g(mu_);
    const uint32_t next = gen_.load(std::memory_order_relaxed) + 1;
    if (next > kMaxGenerations) {
        return false;
    }
    tables_[next] = db->table();
    current_ = std::move(db);
    gen_.store(next, std::memory_order_release);  // after the table: readers index it by gen
    return true;
}

std::shared_ptr<const ContentDb> RuleRegistry::current() const {
    std::lock_guard<std::mutex> g(mu_);
    return current_;
}

#if SPATE_HAVE_HYPERSCAN

namespace {

bool applies(const Rule& r, Transport t, int dir) {
    if (r.proto == RuleProto::tcp && t != Transport::tcp) {
        return false;
    }
    if (r.proto == RuleProto::udp && t != Transport::udp) {
        return false;
    }
    if (r.dir == RuleDir::client && dir != 0) {
        return false;
    }
    if (r.dir == RuleDir::server && dir != 1) {
        return false;
    }
    return true;
}

}  // namespace

bool ContentDb::available() {
    return true;
}

std::shared_ptr<const ContentDb> ContentDb::compile(RuleSet set) {
    std::shared_ptr<ContentDb> cdb(new ContentDb());
    cdb->rules_ = std::make_shared<const std::vector<Rule>>(std::move(set.rules));
    const std::vector<Rule>& rules = *cdb->rules_;
    // One job per database (transport x direction), compiled on threads of
    // their own: start-up waits for the slowest, not for the sum.
    struct Job {
        int t = 0;
        int dir = 0;
        std::vector<const char*> exprs;
        std::vector<unsigned> flags;
        std::vector<unsigned> ids;
        std::vector<hs_expr_ext_t> exts;
        uint32_t depth = 0;
        hs_database_t* db = nullptr;
        std::string error;
        size_t error_rule = SIZE_MAX;  ///< index of the rule refused (SIZE_MAX: none named)
    };
    std::vector<Job> jobs;
    for (int t = 0; t < 2; ++t) {
        for (int dir = 0; dir < 2; ++dir) {
            Job j;
            j.t = t;
            j.dir = dir;
            for (size_t i = 0; i < rules.size(); ++i) {
                const Rule& r = rules[i];
                if (!applies(r, static_cast<Transport>(t), dir)) {
                    continue;
                }
                unsigned f = 0;
                f |= r.caseless ? HS_FLAG_CASELESS : 0;
                f |= r.dotall ? HS_FLAG_DOTALL : 0;
                f |= r.multiline ? HS_FLAG_MULTILINE : 0;
                f |= r.every ? 0 : HS_FLAG_SINGLEMATCH;
                j.exprs.push_back(r.pattern.c_str());
                j.flags.push_back(f);
                j.ids.push_back(static_cast<unsigned>(i));  // the callback's index into rules()
                hs_expr_ext_t ext{};
                ext.flags = HS_EXT_FLAG_MAX_OFFSET;
                ext.max_offset = r.depth;  // no match ending past the rule's depth
                j.exts.push_back(ext);
                j.depth = std::max(j.depth, r.depth);
            }
            if (!j.exprs.empty()) {
                jobs.push_back(std::move(j));
            }
        }
    }
    auto run = [&rules](Job& j) {
        std::vector<const hs_expr_ext_t*> ext_ptrs(j.exts.size());
        for (size_t i = 0; i < j.exts.size(); ++i) {
            ext_ptrs[i] = &j.exts[i];
        }
        hs_compile_error_t* err = nullptr;
        // Stream mode for UDP too: each datagram is scanned in a stream
        // that is reset after it (ContentMatcher::udp). Hyperscan compiles
        // anchored byte patterns in block mode several times slower (the
        // shipped app set: 1.9 s against 0.5 s).
        if (hs_compile_ext_multi(j.exprs.data(), j.flags.data(), j.ids.data(), ext_ptrs.data(),
                                 static_cast<unsigned>(j.exprs.size()), HS_MODE_STREAM, nullptr,
                                 &j.db, &err) != HS_SUCCESS) {
            const std::string why =
                err != nullptr && err->message != nullptr ? err->message : "compile failed";
            std::string where;
            if (err != nullptr && err->expression >= 0 &&
                static_cast<size_t>(err->expression) < j.ids.size()) {
                j.error_rule = j.ids[static_cast<size_t>(err->expression)];
                const Rule& r = rules[j.error_rule];
                where = r.file + ":" + std::to_string(r.line) + ": rule " + std::to_string(r.id) +
                        " (" + r.name + "): ";
            }
            hs_free_compile_error(err);
            j.db = nullptr;
            j.error = where + "pattern rejected by Hyperscan: " + why;
        }
    };
    std::vector<std::thread> threads;
    for (size_t k = 1; k < jobs.size(); ++k) {
        threads.emplace_back(run, std::ref(jobs[k]));
    }
    if (!jobs.empty()) {
        run(jobs[0]);
    }
    for (std::thread& th : threads) {
        th.join();
    }
    for (Job& j : jobs) {
        cdb->db_[j.t][j.dir] = j.db;  // freed by ~ContentDb, errors or not
    }
    // The error of the rule that comes first in the files, whichever database found it.
    const Job* bad = nullptr;
    for (const Job& j : jobs) {
        if (!j.error.empty() && (bad == nullptr || j.error_rule < bad->error_rule)) {
            bad = &j;
        }
    }
    if (bad != nullptr) {
        throw RuleError(bad->error);
    }
    for (const Job& j : jobs) {
        cdb->depth_[j.t][j.dir] = j.depth;
        if (j.t == 0) {
            size_t bytes = 0;
            if (hs_stream_size(j.db, &bytes) == HS_SUCCESS) {
                cdb->stream_bytes_[j.dir] = bytes;
            }
        }
    }
    return cdb;
}

ContentDb::~ContentDb() {
    for (auto& per : db_) {
        for (hs_database* d : per) {
            hs_free_database(d);
        }
    }
}

ContentScratch::ContentScratch(const ContentDb& db) {
    for (int t = 0; t < 2; ++t) {
        for (int dir = 0; dir < 2; ++dir) {
            const hs_database* d = db.db(static_cast<Transport>(t), dir);
            if (d != nullptr && hs_alloc_scratch(d, &scratch_) != HS_SUCCESS) {
                hs_free_scratch(scratch_);
                scratch_ = nullptr;
                throw RuleError("content rules: cannot allocate Hyperscan scratch");
            }
        }
    }
}

ContentScratch::~ContentScratch() {
    hs_free_scratch(scratch_);
}

#else  // no Hyperscan in this build

bool ContentDb::available() {
    return false;
}

std::shared_ptr<const ContentDb> ContentDb::compile(RuleSet set) {
    if (set.rules.empty()) {
        std::shared_ptr<ContentDb> cdb(new ContentDb());
        cdb->rules_ = std::make_shared<const std::vector<Rule>>();
        return cdb;
    }
    throw RuleError("content rules need Hyperscan, which this build does not have");
}

ContentDb::~ContentDb() = default;

ContentScratch::ContentScratch(const ContentDb&) {}
ContentScratch::~ContentScratch() = default;

#endif

}  // namespace spate::match
