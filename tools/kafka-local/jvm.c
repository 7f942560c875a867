/*
 * The JVM options of a node that depend only on what the user gave (pure,
 * tests/unit/test_kafka_local.c).
 */
#include <string.h>

#include "kafka_local.h"

bool kl_names_collector(const char *opts)
{
    /* A collector option is one word -XX:+Use<Name>GC. */
    for (const char *w = opts; w && (w = strstr(w, "-XX:+Use")); w += 8) {
        size_t len = strcspn(w, " \t");
        if (len > 10 && w[len - 2] == 'G' && w[len - 1] == 'C' &&
            (w == opts || w[-1] == ' ' || w[-1] == '\t'))
            return true;
    }
    return false;
}
