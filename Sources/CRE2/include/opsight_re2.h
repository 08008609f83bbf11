// A C face for RE2 (Debian's libre2-dev), so Swift can match PromQL label regexes in linear time.
#ifndef OPSIGHT_RE2_H
#define OPSIGHT_RE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A compiled, fully anchored pattern; safe to match from several threads at once.
typedef struct opsight_re2 opsight_re2;

/// Compiles `pattern` (RE2 syntax, `.` matching newlines); NULL on error, with the reason in `error`
/// (NUL-terminated, truncated to `error_size`).
opsight_re2 *opsight_re2_compile(const char *pattern, size_t length, char *error, size_t error_size);

/// 1 when the whole of `text` matches, else 0.
int opsight_re2_full_match(const opsight_re2 *re, const char *text, size_t length);

/// Frees a compiled pattern.
void opsight_re2_free(opsight_re2 *re);

#ifdef __cplusplus
}
#endif

#endif
