/*
 * user-service's domain: turning a validated request into a user record
 * and its UserRegistered or UserUpdated event, and rendering users as JSON.
 *
 * The user document is svc_user_json()'s (userId, name, email, age,
 * createdAt) plus "updatedAt" once the user has been updated. The same
 * document is the API's answer and the event's data, so a client and a
 * consumer see the same user.
 *
 * Events (CloudEvents, eventbus/envelope.h): source /user-service, subject
 * and Kafka key the userId. correlationid is the userId too: every event of
 * one user belongs to the same story, and a consumer can find them all
 * without state in user-service. causationid is the event's own id (an HTTP
 * request, not an event, caused it), as for OrderCreated.
 */
#ifndef SERVICES_USER_USER_H
#define SERVICES_USER_USER_H

#include <stddef.h>

#include "../common/domain.h"
#include "eventbus/envelope.h"

/* A user about to be stored, with everything fixed before the write: its
 * fields, its document and its event (id included). */
typedef struct user_record_s {
    svc_user_t user;                  /* user_id and created_at filled */
    char updated_at[EB_TIME_LEN + 1]; /* empty for a new user */
    const char *topic;                /* TOPIC_USER_REGISTERED or TOPIC_USER_UPDATED */
    char *doc;                        /* malloc'd: the user document */
    size_t doc_len;
    char *event; /* malloc'd CloudEvent JSON */
    size_t event_len;
    char event_id[EB_UUID_LEN + 1];
} user_record_t;

/* Parses and validates a POST /users or PUT /users/<id> body (len bytes):
 * one JSON object in UTF-8, nested at most EB_JSON_MAX_DEPTH deep,
 * following every rule of svc_user_parse(SVC_USER_REQUEST). Returns EB_OK,
 * or EB_ERR_INVALID with verr filled (code INVALID_JSON when the body is not
 * such a document). */
eb_err_t user_parse_request(const char *body, size_t len, svc_user_t *out, svc_verr_t *verr);

/* A new user from a validated request: a fresh UUID as userId, createdAt
 * now, a UserRegistered event. Returns EB_OK or EB_ERR_NOMEM;
 * user_record_close() frees o either way. */
eb_err_t user_record_register(const svc_user_t *req, user_record_t *o);

/* The update of user user_id (created created_at) with a validated request:
 * updatedAt now, a UserUpdated event. Returns EB_OK, EB_ERR_INVALID when
 * user_id or created_at does not fit, or EB_ERR_NOMEM; user_record_close()
 * frees o either way. */
eb_err_t user_record_update(const svc_user_t *req, const char *user_id, const char *created_at,
                            user_record_t *o);

void user_record_close(user_record_t *o);

/* The user document of u, with "updatedAt" when updated_at is neither NULL
 * nor empty. A new tree the caller owns, or NULL when out of memory. */
cJSON *user_json(const svc_user_t *u, const char *updated_at);

/* The same, printed. A malloc'd string (cJSON_free), or NULL. */
char *user_render(const svc_user_t *u, const char *updated_at, size_t *len);

#endif /* SERVICES_USER_USER_H */
