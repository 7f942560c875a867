/*
 * kafka-local's JVM options (tools/kafka-local/jvm.c).
 */
#include "unit.h"

#include "kafka_local.h"

static void a_named_collector_replaces_the_serial_one(void **state)
{
    assert_true(kl_names_collector("-XX:+UseZGC"));
    assert_true(kl_names_collector("-Xlog:gc -XX:+UseShenandoahGC"));
    assert_true(kl_names_collector("-XX:+UseG1GC\t-Xss1m"));
    assert_true(kl_names_collector("-XX:+UseParallelGC"));
}

static void other_options_keep_the_serial_collector(void **state)
{
    assert_false(kl_names_collector(NULL));
    assert_false(kl_names_collector(""));
    assert_false(kl_names_collector("-Xlog:gc:file=/tmp/gc.log"));
    assert_false(kl_names_collector("-XX:+UseStringDeduplication"));
    assert_false(kl_names_collector("-XX:+UseLargePages -XX:-UseGC"));
    assert_false(kl_names_collector("-Dx=-XX:+UseZGC")); /* inside another word */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_named_collector_replaces_the_serial_one),
        cmocka_unit_test(other_options_keep_the_serial_collector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
