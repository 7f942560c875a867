/*
 * CloudEvents 1.0 structured-mode JSON: events made, encoded and decoded.
 *
 * Decoding is strict about what the spec requires (specversion "1.0",
 * non-empty id, source and type) and about what the suite relies on (string
 * extension attributes, JSON data), and lenient about unknown extension
 * attributes, which CloudEvents says consumers must tolerate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eb_int.h"
#include "eventbus/envelope.h"

/* Fills ev but for its id and time, which the callers set. */
static eb_err_t event_fill(eb_event_t *ev, const char *type, const char *source,
                           const char *subject, cJSON *data)
{
    memset(ev, 0, sizeof(*ev));
    if (!type || strlen(type) >= sizeof(ev->type) || !source ||
        strlen(source) >= sizeof(ev->source) || (subject && strlen(subject) >= sizeof(ev->subject)))
        return EB_ERR_INVALID;
    strcpy(ev->type, type);
    strcpy(ev->source, source);
    if (subject)
        strcpy(ev->subject, subject);
    ev->data = data;
    return EB_OK;
}

eb_err_t eb_event_derive(eb_event_t *ev, const char *type, const char *source, const char *subject,
                         const eb_event_t *cause, cJSON *data)
{
    eb_err_t err;

    if (!cause || !cause->id[0]) {
        memset(ev, 0, sizeof(*ev));
        return EB_ERR_INVALID;
    }
    /* No random id and no clock: both would be replaced at once (a
     * getpid(2) and a time format per consumed event, bench/RESULTS.md). */
    err = event_fill(ev, type, source, subject, data);
    if (err)
        return err;
    eb_uuid_derive(cause->id, type, ev->id);
    if (cause->time[0])
        snprintf(ev->time, sizeof(ev->time), "%s", cause->time);
    else
        eb_time_format(eb_time_now_ms(), ev->time);
    strcpy(ev->correlationid, cause->correlationid[0] ? cause->correlationid : cause->id);
    strcpy(ev->causationid, cause->id);
    return EB_OK;
}

eb_err_t eb_event_init(eb_event_t *ev, const char *type, const char *source, const char *subject,
                       const eb_event_t *cause, cJSON *data)
{
    return eb_event_init_at(ev, type, source, subject, cause, data, NULL);
}

eb_err_t eb_event_init_at(eb_event_t *ev, const char *type, const char *source, const char *subject,
                          const eb_event_t *cause, cJSON *data, const char *time)
{
    eb_err_t err = event_fill(ev, type, source, subject, data);

    if (err)
        return err;
    if (time && strlen(time) >= sizeof(ev->time)) {
        memset(ev, 0, sizeof(*ev));
        return EB_ERR_INVALID;
    }
    eb_uuid_generate(ev->id);
    if (time)
        strcpy(ev->time, time);
    else
        eb_time_format(eb_time_now_ms(), ev->time);
    if (cause) {
        strcpy(ev->correlationid, cause->correlationid[0] ? cause->correlationid : cause->id);
        strcpy(ev->causationid, cause->id);
    } else {
        strcpy(ev->correlationid, ev->id);
        strcpy(ev->causationid, ev->id);
    }
    return EB_OK;
}

void eb_event_close(eb_event_t *ev)
{
    if (!ev)
        return;
    cJSON_Delete(ev->data);
    memset(ev, 0, sizeof(*ev));
}

/* Writes ,"<key>":<v quoted> at o unless v is empty; returns the end. */
static char *put_attr(char *o, const char *key, size_t key_len, const char *v)
{
    size_t n = strlen(v);

    if (!n)
        return o;
    memcpy(o, key, key_len);
    return eb_json_quote(o + key_len, v, n);
}

#define PUT_ATTR(o, key, v) put_attr(o, ",\"" key "\":", sizeof(key) + 3, v)

char *eb_event_encode_json(const eb_event_t *ev, const char *data, size_t data_len, size_t *len)
{
    static const char head[] = "{\"specversion\":\"1.0\"";
    static const char dct[] = ",\"datacontenttype\":\"application/json\"";
    const char *attrs[] = {ev->id,      ev->source,        ev->type,        ev->time,
                           ev->subject, ev->correlationid, ev->causationid, ev->dataschema};
    size_t cap = sizeof(head) + sizeof(dct) + 128 + data_len + 2;
    char *out, *o;

    /* The attributes' names take less than 128 bytes together. */
    for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
        cap += EB_JSON_QUOTED_MAX(strlen(attrs[i]));
    if (!(out = malloc(cap)))
        return NULL;
    /* Attribute order follows the contract's example, for readable topics;
     * the bytes are those the cJSON tree this replaced printed. */
    memcpy(out, head, sizeof(head) - 1);
    o = out + sizeof(head) - 1;
    o = PUT_ATTR(o, "id", ev->id);
    o = PUT_ATTR(o, "source", ev->source);
    o = PUT_ATTR(o, "type", ev->type);
    o = PUT_ATTR(o, "time", ev->time);
    memcpy(o, dct, sizeof(dct) - 1);
    o += sizeof(dct) - 1;
    o = PUT_ATTR(o, "subject", ev->subject);
    o = PUT_ATTR(o, "correlationid", ev->correlationid);
    o = PUT_ATTR(o, "causationid", ev->causationid);
    o = PUT_ATTR(o, "dataschema", ev->dataschema);
    if (data) {
        memcpy(o, ",\"data\":", 8);
        memcpy(o + 8, data, data_len);
        o += 8 + data_len;
    }
    *o++ = '}';
    *o = '\0';
    if (len)
        *len = (size_t)(o - out);
    return out;
}

char *eb_event_encode(const eb_event_t *ev, size_t *len)
{
    char *data = NULL, *out;

    if (ev->data && !(data = cJSON_PrintUnformatted(ev->data)))
        return NULL;
    out = eb_event_encode_json(ev, data, data ? strlen(data) : 0, len);
    cJSON_free(data);
    return out;
}

/* The type/subtype of a media type: what stands before any ';' parameters,
 * without surrounding blanks. Sets *n to its length and returns its start. */
static const char *media_essence(const char *v, size_t len, size_t *n)
{
    const char *end;

    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    end = memchr(v, ';', len);
    *n = end ? (size_t)(end - v) : len;
    while (*n && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
        (*n)--;
    return v;
}

int eb_media_type_is_json(const char *value, size_t len)
{
    size_t n;
    const char *v = media_essence(value, len, &n);
    const char *slash = memchr(v, '/', n);

    if (!slash || slash == v || slash + 1 == v + n)
        return 0;
    if (n == 16 && strncasecmp(v, "application/json", 16) == 0)
        return 1;
    /* a +json suffix on a subtype of its own: "application/vnd.x+json" */
    return (size_t)(v + n - slash) > 6 && strncasecmp(v + n - 5, "+json", 5) == 0;
}

eb_err_t eb_event_check_content_type(const void *value, size_t len, char *errstr,
                                     size_t errstr_size)
{
    static const char want[] = "application/cloudevents+json";
    const unsigned char *b = value;
    char shown[100 * 4 + 1] = "";
    size_t n, o = 0;
    const char *v;

    if (!value)
        return EB_OK;
    v = media_essence(value, len, &n);
    if (n == sizeof(want) - 1 && strncasecmp(v, want, n) == 0)
        return EB_OK;
    /* The reason goes into a header and a log line as text: the header's
     * bytes, printable ASCII as they are and any other byte as \xNN. */
    for (size_t i = 0; i < len && i < 100; i++)
        o += (size_t)snprintf(shown + o, sizeof(shown) - o,
                              b[i] >= 0x20 && b[i] < 0x7f ? "%c" : "\\x%02x", b[i]);
    return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                      "content-type '%s' is not a structured-mode CloudEvent (%s); "
                      "binary mode is not supported",
                      shown, want);
}

/* The members decode reads, looked up in one pass over the object. */
enum {
    A_SPECVERSION,
    A_ID,
    A_SOURCE,
    A_TYPE,
    A_TIME,
    A_SUBJECT,
    A_CORRELATIONID,
    A_CAUSATIONID,
    A_DATASCHEMA,
    A_DATACONTENTTYPE,
    A_DATA_BASE64,
    A_DATA,
    A_COUNT
};

static const char *const attr_names[A_COUNT] = {"specversion",   "id",
                                                "source",        "type",
                                                "time",          "subject",
                                                "correlationid", "causationid",
                                                "dataschema",    "datacontenttype",
                                                "data_base64",   "data"};

/* Sets found[a] to the first member named attr_names[a] (as
 * cJSON_GetObjectItemCaseSensitive would find it), NULL when absent. */
static void find_attrs(const cJSON *root, const cJSON *found[A_COUNT])
{
    for (int a = 0; a < A_COUNT; a++)
        found[a] = NULL;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!it->string)
            continue;
        for (int a = 0; a < A_COUNT; a++)
            if (!found[a] && it->string[0] == attr_names[a][0] &&
                strcmp(it->string, attr_names[a]) == 0) {
                found[a] = it;
                break;
            }
    }
}

/* Copies an optional (required != 0: mandatory, non-empty) string attribute. */
static eb_err_t take_attr(const cJSON *it, const char *name, int required, char *dst,
                          size_t dst_size, char *errstr, size_t errstr_size)
{
    size_t n;

    if (!it) {
        if (required)
            return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                              "not a CloudEvent: missing \"%s\"", name);
        return EB_OK;
    }
    if (!cJSON_IsString(it))
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" is not a string", name);
    n = strlen(it->valuestring);
    if (required && n == 0)
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" is empty", name);
    if (n == 0 && strcmp(name, "dataschema") == 0) /* a URI if present: never empty */
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" is empty", name);
    if (n >= dst_size)
        return eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT, "\"%s\" longer than %zu bytes",
                          name, dst_size - 1);
    memcpy(dst, it->valuestring, n + 1);
    return EB_OK;
}

#define TAKE(a, req, field)                                                                        \
    take_attr(f[a], attr_names[a], req, ev->field, sizeof(ev->field), errstr, errstr_size)

eb_err_t eb_event_decode(const void *buf, size_t len, eb_event_t *ev, char *errstr,
                         size_t errstr_size)
{
    const cJSON *f[A_COUNT], *it;
    cJSON *root;
    eb_err_t err;

    memset(ev, 0, sizeof(*ev));
    root = eb_json_parse(buf, len, EB_JSON_MAX_DEPTH, errstr, errstr_size);
    if (!root)
        return EB_ERR_BAD_EVENT;
    if (!cJSON_IsObject(root)) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "not a CloudEvent: value is not a JSON object");
        goto fail;
    }
    find_attrs(root, f);
    it = f[A_SPECVERSION];
    if (!it) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "not a CloudEvent: missing \"specversion\"");
        goto fail;
    }
    if (!cJSON_IsString(it) || strcmp(it->valuestring, "1.0") != 0) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "unsupported CloudEvents specversion (want \"1.0\")");
        goto fail;
    }
    if ((err = TAKE(A_ID, 1, id)) || (err = TAKE(A_SOURCE, 1, source)) ||
        (err = TAKE(A_TYPE, 1, type)) || (err = TAKE(A_TIME, 0, time)) ||
        (err = TAKE(A_SUBJECT, 0, subject)) || (err = TAKE(A_CORRELATIONID, 0, correlationid)) ||
        (err = TAKE(A_CAUSATIONID, 0, causationid)) || (err = TAKE(A_DATASCHEMA, 0, dataschema)))
        goto fail;
    if (ev->time[0] && !eb_time_valid(ev->time)) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "\"time\" is not an RFC 3339 timestamp");
        goto fail;
    }
    it = f[A_DATACONTENTTYPE];
    if (it &&
        (!cJSON_IsString(it) || !eb_media_type_is_json(it->valuestring, strlen(it->valuestring)))) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "\"datacontenttype\" is not JSON (application/json or a +json type)");
        goto fail;
    }
    if (f[A_DATA_BASE64]) {
        err = eb__seterr(errstr, errstr_size, EB_ERR_BAD_EVENT,
                         "\"data_base64\" is not supported: data must be JSON");
        goto fail;
    }
    ev->data = f[A_DATA] ? cJSON_DetachItemViaPointer(root, (cJSON *)f[A_DATA]) : NULL;
    cJSON_Delete(root);
    return EB_OK;

fail:
    cJSON_Delete(root);
    memset(ev, 0, sizeof(*ev));
    return err;
}
