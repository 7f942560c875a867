/*
 * The control socket's argument rules, shared by kafka-dev-broker and
 * kafka-local (tools/common/control.c).
 */
#include "unit.h"

#include "control.h"

static void node_ids_within_the_cluster(void **state)
{
    int id = 0;

    assert_true(tool_control_node("1", 3, &id));
    assert_int_equal(id, 1);
    assert_true(tool_control_node("3", 3, &id));
    assert_int_equal(id, 3);
    assert_true(tool_control_node("all", 3, &id));
    assert_int_equal(id, -1);
}

static void node_ids_outside_or_malformed_are_refused(void **state)
{
    const char *bad[] = {"0", "4", "-1", "", "1x", "x", " 1", "ALL", "2.0", "99999999999"};
    int id = 42;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(tool_control_node(bad[i], 3, &id));
        assert_int_equal(id, 42); /* untouched on refusal */
    }
    assert_false(tool_control_node(NULL, 3, &id));
}

static void only_the_suites_topics_are_known(void **state)
{
    assert_true(tool_control_topic("order-created"));
    assert_true(tool_control_topic("payment-failed-dlq"));
    assert_false(tool_control_topic("order-create"));
    assert_false(tool_control_topic("order-created "));
    assert_false(tool_control_topic("__consumer_offsets"));
    assert_false(tool_control_topic(""));
    assert_false(tool_control_topic(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_ids_within_the_cluster),
        cmocka_unit_test(node_ids_outside_or_malformed_are_refused),
        cmocka_unit_test(only_the_suites_topics_are_known),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
