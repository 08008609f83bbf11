// RE2 guarantees matching in time linear in the input, whatever the pattern: a label regex from a query
// (`(a+)+$` and friends) cannot stall the server the way a backtracking engine can. It is also the syntax
// Prometheus itself accepts (Go's regexp is RE2).
#include "opsight_re2.h"

#include <re2/re2.h>

#include <cstring>
#include <new>
#include <string>

struct opsight_re2 {
    RE2 regex;
    opsight_re2(const re2::StringPiece &pattern, const RE2::Options &options) : regex(pattern, options) {}
};

extern "C" opsight_re2 *opsight_re2_compile(const char *pattern, size_t length, char *error, size_t error_size) {
    RE2::Options options;
    options.set_dot_nl(true);
    options.set_log_errors(false);
    options.set_encoding(RE2::Options::EncodingUTF8);
    auto *re = new (std::nothrow) opsight_re2(re2::StringPiece(pattern, length), options);
    if (re == nullptr) {
        if (error_size > 0) std::strncpy(error, "out of memory", error_size - 1), error[error_size - 1] = 0;
        return nullptr;
    }
    if (!re->regex.ok()) {
        if (error_size > 0) {
            std::strncpy(error, re->regex.error().c_str(), error_size - 1);
            error[error_size - 1] = 0;
        }
        delete re;
        return nullptr;
    }
    return re;
}

extern "C" int opsight_re2_full_match(const opsight_re2 *re, const char *text, size_t length) {
    return RE2::FullMatch(re2::StringPiece(text, length), re->regex) ? 1 : 0;
}

extern "C" void opsight_re2_free(opsight_re2 *re) { delete re; }
