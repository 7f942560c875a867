/*
 * Event versions: a registry of (type, version, dataschema, upcaster) and
 * the upcast a consumer runs on every event before its handler.
 *
 * The registry is a flat array: a suite has tens of versions, and a lookup
 * per event is a few string compares, cheaper than hashing them.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "eb_int.h"
#include "eventbus/schema.h"

typedef struct {
    char type[sizeof(((eb_event_t *)0)->type)];
    int version;
    char dataschema[EB_DATASCHEMA_MAX + 1];
    eb_upcast_fn *up;
} version_t;

struct eb_schemas_s {
    version_t *v;
    size_t n, cap;
};

eb_schemas_t *eb_schemas_new(void)
{
    return calloc(1, sizeof(eb_schemas_t));
}

void eb_schemas_free(eb_schemas_t *s)
{
    if (!s)
        return;
    free(s->v);
    free(s);
}

/* The entry of type at version, or NULL. */
static const version_t *find(const eb_schemas_t *s, const char *type, int version)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].version == version && strcmp(s->v[i].type, type) == 0)
            return &s->v[i];
    return NULL;
}

int eb_schemas_newest(const eb_schemas_t *s, const char *type, const char **dataschema)
{
    const version_t *best = NULL;

    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].type, type) == 0 && (!best || s->v[i].version > best->version))
            best = &s->v[i];
    if (dataschema)
        *dataschema = best ? best->dataschema : NULL;
    return best ? best->version : 0;
}

eb_err_t eb_schemas_add(eb_schemas_t *s, const char *type, int version, const char *dataschema,
                        eb_upcast_fn *up)
{
    version_t *v;

    if (!type || !*type || strlen(type) >= sizeof(v->type) || !dataschema || !*dataschema ||
        strlen(dataschema) > EB_DATASCHEMA_MAX || version < 1 || (version == 1) != !up ||
        eb_schemas_newest(s, type, NULL) != version - 1)
        return EB_ERR_INVALID;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].dataschema, dataschema) == 0)
            return EB_ERR_INVALID;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        version_t *nv = realloc(s->v, cap * sizeof(*nv));

        if (!nv)
            return EB_ERR_NOMEM;
        s->v = nv;
        s->cap = cap;
    }
    v = &s->v[s->n++];
    strcpy(v->type, type);
    v->version = version;
    strcpy(v->dataschema, dataschema);
    v->up = up;
    return EB_OK;
}

eb_err_t eb_schemas_stamp(const eb_schemas_t *s, eb_event_t *ev)
{
    const char *ds;

    if (!eb_schemas_newest(s, ev->type, &ds))
        return EB_ERR_INVALID;
    strcpy(ev->dataschema, ds);
    return EB_OK;
}

/* The number a dataschema ends with ("...:3", ".../v3", ".../v3.json"), with
 * the length of what stands before it; -1 when it ends with none. */
static long trailing_version(const char *ds, size_t *prefix_len)
{
    size_t n = strlen(ds), end;

    if (n > 5 && strcmp(ds + n - 5, ".json") == 0)
        n -= 5;
    end = n;
    while (n && isdigit((unsigned char)ds[n - 1]))
        n--;
    if (n == end || end - n > 6)
        return -1;
    *prefix_len = n;
    return strtol(ds + n, NULL, 10);
}

/* Why ev's dataschema is none of its type's: newer than the newest version
 * when it reads as one (the same URI but for a higher number), else unknown. */
static eb_err_t unknown_version(const eb_event_t *ev, int newest, const char *newest_ds,
                                char *errstr, size_t errstr_size)
{
    size_t pa, pb;
    long a = trailing_version(ev->dataschema, &pa), b = trailing_version(newest_ds, &pb);

    if (a > b && b >= 0 && pa == pb && strncmp(ev->dataschema, newest_ds, pa) == 0)
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                          "%s version %ld (dataschema %s) is newer than this consumer knows "
                          "(up to version %d, %s)",
                          ev->type, a, ev->dataschema, newest, newest_ds);
    return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                      "unknown dataschema '%s' for %s (this consumer knows versions 1 to %d)",
                      ev->dataschema, ev->type, newest);
}

eb_err_t eb_schemas_upcast(const eb_schemas_t *s, eb_event_t *ev, char *errstr, size_t errstr_size)
{
    const char *newest_ds;
    int newest = eb_schemas_newest(s, ev->type, &newest_ds), from = 0;
    char why[200];

    if (!newest)
        return EB_OK;
    if (!ev->dataschema[0]) {
        from = 1;
    } else {
        for (size_t i = 0; i < s->n && !from; i++)
            if (strcmp(s->v[i].dataschema, ev->dataschema) == 0 &&
                strcmp(s->v[i].type, ev->type) == 0)
                from = s->v[i].version;
        if (!from)
            return unknown_version(ev, newest, newest_ds, errstr, errstr_size);
    }
    if (from < newest && !cJSON_IsObject(ev->data))
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                          "%s version %d has no data object to upcast", ev->type, from);
    for (int v = from + 1; v <= newest; v++) {
        why[0] = '\0';
        if (find(s, ev->type, v)->up(ev->data, why, sizeof(why)) != EB_OK)
            return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                              "%s version %d cannot be upcast to version %d: %s", ev->type, v - 1,
                              v, why[0] ? why : "refused");
    }
    strcpy(ev->dataschema, newest_ds);
    return EB_OK;
}
