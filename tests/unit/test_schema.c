/*
 * Event versions (schema.c): the registry's rules, upcasting chains, and
 * the reasons an unknown version is dead-lettered with.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "eventbus/schema.h"

/* v1 -> v2: "name" becomes "fullName". */
static eb_err_t rename_name(cJSON *data, char *errstr, size_t errstr_size)
{
    cJSON *name = cJSON_DetachItemFromObjectCaseSensitive(data, "name");

    if (!name) {
        snprintf(errstr, errstr_size, "no name");
        return EB_ERR_BAD_EVENT;
    }
    cJSON_AddItemToObject(data, "fullName", name);
    return EB_OK;
}

/* v2 -> v3: adds "tier", counting the calls so the chain's order shows. */
static int tier_calls;
static eb_err_t add_tier(cJSON *data, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    tier_calls++;
    if (!cJSON_GetObjectItemCaseSensitive(data, "fullName"))
        return EB_ERR_BAD_EVENT; /* ran before rename_name: wrong order */
    cJSON_AddStringToObject(data, "tier", "basic");
    return EB_OK;
}

static eb_schemas_t *three_versions(void)
{
    eb_schemas_t *s = eb_schemas_new();

    assert_non_null(s);
    assert_int_equal(eb_schemas_add(s, "UserSeen", 1, "urn:x:UserSeen:1", NULL), EB_OK);
    assert_int_equal(eb_schemas_add(s, "UserSeen", 2, "urn:x:UserSeen:2", rename_name), EB_OK);
    assert_int_equal(eb_schemas_add(s, "UserSeen", 3, "urn:x:UserSeen:3", add_tier), EB_OK);
    assert_int_equal(eb_schemas_add(s, "Other", 1, "https://s.example/Other/v1.json", NULL), EB_OK);
    return s;
}

static void event(eb_event_t *ev, const char *type, const char *dataschema, const char *data)
{
    memset(ev, 0, sizeof(*ev));
    strcpy(ev->id, "e-1");
    strcpy(ev->type, type);
    strcpy(ev->dataschema, dataschema);
    ev->data = cJSON_Parse(data);
    assert_non_null(ev->data);
}

static void add_rules(void **state)
{
    eb_schemas_t *s = eb_schemas_new();
    char longer[EB_DATASCHEMA_MAX + 2];

    (void)state;
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(eb_schemas_add(s, "T", 2, "urn:T:2", rename_name), EB_ERR_INVALID); /* gap */
    assert_int_equal(eb_schemas_add(s, "T", 1, "urn:T:1", rename_name), EB_ERR_INVALID);
    assert_int_equal(eb_schemas_add(s, "T", 1, "", NULL), EB_ERR_INVALID);
    assert_int_equal(eb_schemas_add(s, "T", 1, longer, NULL), EB_ERR_INVALID);
    assert_int_equal(eb_schemas_add(s, "", 1, "urn:T:1", NULL), EB_ERR_INVALID);
    assert_int_equal(eb_schemas_add(s, "T", 0, "urn:T:0", NULL), EB_ERR_INVALID);
    assert_int_equal(eb_schemas_add(s, "T", 1, "urn:T:1", NULL), EB_OK);
    assert_int_equal(eb_schemas_add(s, "T", 1, "urn:T:1b", NULL), EB_ERR_INVALID); /* repeat */
    assert_int_equal(eb_schemas_add(s, "T", 2, "urn:T:2", NULL), EB_ERR_INVALID);  /* no up */
    assert_int_equal(eb_schemas_add(s, "U", 1, "urn:T:1", NULL), EB_ERR_INVALID);  /* taken */
    assert_int_equal(eb_schemas_add(s, "T", 2, "urn:T:2", rename_name), EB_OK);
    eb_schemas_free(s);
    eb_schemas_free(NULL);
}

static void newest_and_stamp(void **state)
{
    eb_schemas_t *s = three_versions();
    const char *ds = "unset";
    eb_event_t ev;

    (void)state;
    assert_int_equal(eb_schemas_newest(s, "UserSeen", &ds), 3);
    assert_string_equal(ds, "urn:x:UserSeen:3");
    assert_int_equal(eb_schemas_newest(s, "Nope", &ds), 0);
    assert_null(ds);
    event(&ev, "UserSeen", "", "{}");
    assert_int_equal(eb_schemas_stamp(s, &ev), EB_OK);
    assert_string_equal(ev.dataschema, "urn:x:UserSeen:3");
    strcpy(ev.type, "Nope");
    assert_int_equal(eb_schemas_stamp(s, &ev), EB_ERR_INVALID);
    eb_event_close(&ev);
    eb_schemas_free(s);
}

/* No dataschema is version 1: the whole chain runs, in order. */
static void upcast_chain_from_v1(void **state)
{
    eb_schemas_t *s = three_versions();
    char err[256] = "";
    eb_event_t ev;

    (void)state;
    tier_calls = 0;
    event(&ev, "UserSeen", "", "{\"name\":\"Ada\"}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_OK);
    assert_string_equal(ev.dataschema, "urn:x:UserSeen:3");
    assert_string_equal(cJSON_GetObjectItem(ev.data, "fullName")->valuestring, "Ada");
    assert_string_equal(cJSON_GetObjectItem(ev.data, "tier")->valuestring, "basic");
    assert_null(cJSON_GetObjectItem(ev.data, "name"));
    assert_int_equal(tier_calls, 1);
    eb_event_close(&ev);

    /* from version 2: only the last step */
    event(&ev, "UserSeen", "urn:x:UserSeen:2", "{\"fullName\":\"Ada\"}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_OK);
    assert_int_equal(tier_calls, 2);
    assert_string_equal(cJSON_GetObjectItem(ev.data, "tier")->valuestring, "basic");
    eb_event_close(&ev);

    /* the newest: untouched */
    event(&ev, "UserSeen", "urn:x:UserSeen:3", "{\"fullName\":\"Ada\",\"tier\":\"gold\"}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_OK);
    assert_int_equal(tier_calls, 2);
    assert_string_equal(cJSON_GetObjectItem(ev.data, "tier")->valuestring, "gold");
    eb_event_close(&ev);

    /* a type the registry does not know passes as it is */
    event(&ev, "Elsewhere", "urn:whatever:9", "{\"a\":1}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_OK);
    assert_string_equal(ev.dataschema, "urn:whatever:9");
    eb_event_close(&ev);
    eb_schemas_free(s);
}

static void upcast_refusals(void **state)
{
    eb_schemas_t *s = three_versions();
    char err[256] = "";
    eb_event_t ev;

    (void)state;
    /* a newer version than the consumer knows, named as such */
    event(&ev, "UserSeen", "urn:x:UserSeen:4", "{}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "UserSeen version 4");
    assert_contains(err, "newer than this consumer knows (up to version 3");
    assert_string_equal(ev.dataschema, "urn:x:UserSeen:4");
    eb_event_close(&ev);

    /* the ".../v2.json" style of URI reads the same way */
    event(&ev, "Other", "https://s.example/Other/v2.json", "{}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "Other version 2");
    assert_contains(err, "newer");
    eb_event_close(&ev);

    /* something else entirely: unknown, not "newer" */
    event(&ev, "UserSeen", "https://elsewhere.example/user.json", "{}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "unknown dataschema 'https://elsewhere.example/user.json' for UserSeen");
    assert_contains(err, "versions 1 to 3");
    eb_event_close(&ev);

    /* another type's schema is not this type's version */
    event(&ev, "UserSeen", "https://s.example/Other/v1.json", "{}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "unknown dataschema");
    eb_event_close(&ev);

    /* an upcaster's refusal names the step and its reason */
    event(&ev, "UserSeen", "urn:x:UserSeen:1", "{\"nick\":\"A\"}");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "UserSeen version 1 cannot be upcast to version 2: no name");
    assert_string_equal(ev.dataschema, "urn:x:UserSeen:1");
    eb_event_close(&ev);

    /* data that is not an object cannot be upcast */
    event(&ev, "UserSeen", "", "[1]");
    assert_int_equal(eb_schemas_upcast(s, &ev, err, sizeof(err)), EB_ERR_BAD_EVENT);
    assert_contains(err, "no data object");
    eb_event_close(&ev);
    eb_schemas_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_rules),
        cmocka_unit_test(newest_and_stamp),
        cmocka_unit_test(upcast_chain_from_v1),
        cmocka_unit_test(upcast_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
