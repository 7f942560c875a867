/*
 * The delivered set: a ring of the last max ids and an open-addressing hash
 * table (linear probing) of their ring positions. Forgetting the oldest id
 * removes it from the table by backward-shift deletion, so the table never
 * fills with tombstones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivered.h"

#define EMPTY UINT32_MAX

struct delivered_s {
    char **ring; /* ids by age; ring[head] is the next to go */
    size_t max, n, head;
    uint32_t *slot; /* ring positions, EMPTY where free */
    size_t mask;    /* table size - 1, a power of two >= 2 * max */
};

/* FNV-1a, 64 bits. */
static uint64_t hash(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

delivered_t *delivered_new(size_t max)
{
    delivered_t *d = calloc(1, sizeof(*d));
    size_t size = 2;

    if (!d || max == 0 || max >= EMPTY / 2) {
        free(d);
        return NULL;
    }
    while (size < 2 * max)
        size *= 2;
    d->max = max;
    d->mask = size - 1;
    d->ring = calloc(max, sizeof(*d->ring));
    d->slot = malloc(size * sizeof(*d->slot));
    if (!d->ring || !d->slot) {
        delivered_free(d);
        return NULL;
    }
    memset(d->slot, 0xff, size * sizeof(*d->slot));
    return d;
}

/* The table slot holding id, or the empty slot where it would go. */
static size_t find(const delivered_t *d, const char *id)
{
    size_t i = (size_t)hash(id) & d->mask;

    while (d->slot[i] != EMPTY && strcmp(d->ring[d->slot[i]], id) != 0)
        i = (i + 1) & d->mask;
    return i;
}

int delivered_has(const delivered_t *d, const char *id)
{
    return d->slot[find(d, id)] != EMPTY;
}

/* Empties slot i and moves back the entries after it that would no longer
 * be found past the gap. */
static void remove_slot(delivered_t *d, size_t i)
{
    size_t j = i;

    d->slot[i] = EMPTY;
    for (;;) {
        size_t k;

        j = (j + 1) & d->mask;
        if (d->slot[j] == EMPTY)
            return;
        k = (size_t)hash(d->ring[d->slot[j]]) & d->mask;
        /* The entry at j stays if its home k lies cyclically in (i, j]. */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        d->slot[i] = d->slot[j];
        d->slot[j] = EMPTY;
        i = j;
    }
}

int delivered_add(delivered_t *d, const char *id)
{
    size_t i = find(d, id);
    char *copy;

    if (d->slot[i] != EMPTY)
        return 0;
    copy = strdup(id);
    if (!copy)
        return -1;
    if (d->n == d->max) {
        remove_slot(d, find(d, d->ring[d->head]));
        free(d->ring[d->head]);
        d->n--;
        i = find(d, id); /* the removal may have moved the free slot */
    }
    d->ring[d->head] = copy;
    d->slot[i] = (uint32_t)d->head;
    d->head = (d->head + 1) % d->max;
    d->n++;
    return 0;
}

size_t delivered_count(const delivered_t *d)
{
    return d->n;
}

void delivered_free(delivered_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->ring && i < d->max; i++)
        free(d->ring[i]);
    free(d->ring);
    free(d->slot);
    free(d);
}
