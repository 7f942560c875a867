/*
 * What every unit test file needs: cmocka (with the headers it expects
 * before it) and the checks several test files share.
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#define assert_contains(haystack, needle)                                                          \
    do {                                                                                           \
        if (strstr((haystack), (needle)) == NULL)                                                  \
            fail_msg("expected \"%s\" to contain \"%s\"", (haystack), (needle));                   \
    } while (0)

/* A lower-case 8-4-4-4-12 UUID of the given version (0: any) and RFC 4122
 * variant. */
static inline int is_uuid(const char *s, char version)
{
    if (strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return 0;
        }
    }
    if (version && s[14] != version)
        return 0;
    return strchr("89ab", s[19]) != NULL;
}

#endif /* TESTS_UNIT_UNIT_H */
