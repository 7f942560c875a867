/*
 * UUIDs: random ones (version 4) for new things, name-based ones (version 5)
 * for things derived from others.
 */
#include <string.h>

#include <uuid/uuid.h>

#include "eb_int.h"
#include "eventbus/uuid.h"

void eb_uuid_generate(char *out)
{
    unsigned char b[16];
    char *p = out;

    eb__random_bytes(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    p = eb__random_hex(p, b, 4);
    *p++ = '-';
    p = eb__random_hex(p, b + 4, 2);
    *p++ = '-';
    p = eb__random_hex(p, b + 6, 2);
    *p++ = '-';
    p = eb__random_hex(p, b + 8, 2);
    *p++ = '-';
    p = eb__random_hex(p, b + 10, 6);
    *p = '\0';
}

/* The namespace of the suite's derived ids (a random UUID, fixed). */
static const uuid_t derive_ns = {0x3f, 0x8a, 0x5c, 0x1e, 0x27, 0xd4, 0x4b, 0x90,
                                 0xa6, 0x13, 0x5e, 0x0c, 0x9b, 0x71, 0x2d, 0x48};

void eb_uuid_derive(const char *a, const char *b, char *out)
{
    size_t la = strlen(a), lb = strlen(b);
    char name[512];
    uuid_t u;

    /* "<a>\n<b>": a newline is in no id or type, so no two pairs collide. */
    if (la + lb + 1 > sizeof(name)) {
        la = la > 255 ? 255 : la;
        lb = lb > sizeof(name) - la - 1 ? sizeof(name) - la - 1 : lb;
    }
    memcpy(name, a, la);
    name[la] = '\n';
    memcpy(name + la + 1, b, lb);
    uuid_generate_sha1(u, derive_ns, name, la + 1 + lb);
    uuid_unparse_lower(u, out);
}
