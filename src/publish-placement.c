/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * publish-placement: one synchronisation at a time, each a short chain of
 * requests on the main loop:
 *
 *   [POST Keystone /v3/auth/tokens]     when the token is missing or expires soon
 *   [GET /resource_providers?name=N]    until the provider's uuid is known
 *   GET /resource_providers/U/traits    always: read ...
 *   [PUT /traits/CUSTOM_FOOTPRINT_X]    ... create our trait if Placement lacks it ...
 *   [PUT /resource_providers/U/traits]  ... modify and write with the generation read
 *
 * The write carries the provider generation of the read, so a concurrent
 * writer (nova-compute's periodic update, an operator's `openstack resource
 * provider trait set`) makes it fail with 409 instead of being overwritten;
 * the chain then reads again and merges again.  Only the two
 * CUSTOM_FOOTPRINT_* traits are ever added or removed (placement-json.c,
 * fp_placement_merge_traits()).
 *
 * A synchronisation starts at the first snapshot, when the summary's trait
 * changes, every [placement] resync seconds (to put our trait back if
 * someone removed it), and after a failure with exponential backoff (1 s,
 * doubling, up to retry_max, ±20 % jitter).  A failure never reaches the
 * sweep: it is logged on the first occurrence and kept in the health.
 *
 * Lifetime: a request in flight holds an FpRequest, not the FpPlacement;
 * fp_placement_free() detaches it and cancels it, so a late callback finds
 * no owner and only frees itself.
 */
#include "config.h"

#include <string.h>
#include <libsoup/soup.h>

#include "fp-error.h"
#include "placement-json.h"
#include "publish-placement.h"

/* Consecutive 409s within one synchronisation before it backs off. */
#define FP_PLACEMENT_MAX_CONFLICTS 8
/* Read size of a response body. */
#define FP_PLACEMENT_READ_CHUNK 65536
/* Longest accepted X-Subject-Token (Fernet tokens are ~200 bytes). */
#define FP_KEYSTONE_MAX_TOKEN 16384
/* A token is renewed when less than this is left (or half its life). */
#define FP_KEYSTONE_RENEW_US (300 * G_USEC_PER_SEC)

typedef enum {
    FP_STEP_TOKEN,
    FP_STEP_PROVIDER,
    FP_STEP_GET_TRAITS,
    FP_STEP_CREATE_TRAIT,
    FP_STEP_PUT_TRAITS,
} FpStep;

static const char *const step_names[] = {
    [FP_STEP_TOKEN] = "Keystone token",
    [FP_STEP_PROVIDER] = "resource provider lookup",
    [FP_STEP_GET_TRAITS] = "provider traits read",
    [FP_STEP_CREATE_TRAIT] = "trait creation",
    [FP_STEP_PUT_TRAITS] = "provider traits update",
};

typedef struct _FpRequest FpRequest;

struct _FpPlacement {
    FpPlacementConfig cfg; /* strings owned */
    gboolean enabled;
    SoupSession *session;
    GCancellable *cancel;
    char *hypervisor_hostname;
    char *endpoint; /* Placement's URL: [placement] url or the catalog's */
    char *token;    /* Keystone's; the configured one is cfg.token */
    gint64 token_issued_us;
    gint64 token_expires_us;
    char *provider_uuid;
    gboolean trait_known[3]; /* by FpHostTrait: Placement has the trait */

    gboolean have_want;
    FpHostTrait want;
    gboolean busy;
    gboolean again;         /* the want changed during a synchronisation */
    FpHostTrait sync_want;  /* the want the running synchronisation writes */
    GStrv current;          /* the provider's traits as last read */
    gint64 generation;      /* and its generation */
    gboolean have_current;  /* read in this synchronisation */
    guint conflicts_in_row; /* 409s in this synchronisation */
    gboolean retried_auth;  /* a 401 renewed the token once in this one */
    gboolean retried_trait; /* a "No such trait" recreated it once */
    gboolean retried_lookup;
    FpRequest *request; /* in flight */
    GSource *retry_source;
    GSource *resync_source;
    GSource *again_source;
    double backoff_s;

    /* Health. */
    FpPlacementState state;
    char *error;
    char *our_traits; /* NULL: not known yet */
    gint64 last_sync_us;
    gint64 last_error_us;
    gint64 retry_us;
    guint64 syncs;
    guint64 failures;
    guint64 conflicts;
};

struct _FpRequest {
    FpPlacement *owner; /* NULL once the owner is gone */
    FpStep step;
    SoupMessage *msg;
    GCancellable *cancel;
    GInputStream *stream;
    GByteArray *body;
    gboolean too_large;
};

static void sync_start(FpPlacement *self);
static void run(FpPlacement *self);

/* ---- configuration ------------------------------------------------------ */

static void cfg_copy(FpPlacementConfig *dst, const FpPlacementConfig *src)
{
    *dst = *src;
    dst->url = g_strdup(src->url);
    dst->provider = g_strdup(src->provider);
    dst->token = g_strdup(src->token);
    dst->auth_url = g_strdup(src->auth_url);
    dst->username = g_strdup(src->username);
    dst->password = g_strdup(src->password);
    dst->project_name = g_strdup(src->project_name);
    dst->user_domain_name = g_strdup(src->user_domain_name);
    dst->project_domain_name = g_strdup(src->project_domain_name);
    dst->application_credential_id = g_strdup(src->application_credential_id);
    dst->application_credential_secret = g_strdup(src->application_credential_secret);
    dst->region_name = g_strdup(src->region_name);
    dst->ca_file = g_strdup(src->ca_file);
}

static void cfg_clear(FpPlacementConfig *c)
{
    g_free(c->url);
    g_free(c->provider);
    g_free(c->token);
    g_free(c->auth_url);
    g_free(c->username);
    g_free(c->password);
    g_free(c->project_name);
    g_free(c->user_domain_name);
    g_free(c->project_domain_name);
    g_free(c->application_credential_id);
    g_free(c->application_credential_secret);
    g_free(c->region_name);
    g_free(c->ca_file);
}

static gboolean uses_keystone(const FpPlacement *self)
{
    return self->cfg.auth == FP_PLACEMENT_AUTH_PASSWORD ||
           self->cfg.auth == FP_PLACEMENT_AUTH_APPLICATION_CREDENTIAL;
}

/**
 * fp_placement_new:
 * @config: the configuration ([placement] is copied)
 * @error: return location for a #GError (an unreadable [placement] ca_file)
 *
 * Returns: (transfer full): the Placement client; off (it only reports
 * "off" in the health) when [placement] url is empty and auth is neither
 * password nor application_credential.
 */
FpPlacement *fp_placement_new(const FpConfig *config, GError **error)
{
    g_autoptr(FpPlacement) self = g_new0(FpPlacement, 1);
    g_autofree char *agent = g_strdup_printf("footprintd/%s", PACKAGE_VERSION);

    cfg_copy(&self->cfg, &config->placement);
    self->enabled = self->cfg.url != NULL || uses_keystone(self);
    self->state = FP_PLACEMENT_STATE_OFF;
    if (!self->enabled)
        return g_steal_pointer(&self);
    self->endpoint = g_strdup(self->cfg.url);
    self->session = soup_session_new_with_options("timeout", self->cfg.timeout_s, "idle-timeout",
                                                  60, "user-agent", agent, NULL);
    if (self->cfg.ca_file != NULL) {
        g_autoptr(GError) local = NULL;
        g_autoptr(GTlsDatabase) db = g_tls_file_database_new(self->cfg.ca_file, &local);

        if (db == NULL) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "[placement] ca_file '%s': %s",
                        self->cfg.ca_file, local->message);
            return NULL;
        }
        soup_session_set_tls_database(self->session, db);
    }
    self->cancel = g_cancellable_new();
    self->state = FP_PLACEMENT_STATE_SYNCING;
    return g_steal_pointer(&self);
}

static void clear_source(GSource **source)
{
    if (*source != NULL) {
        g_source_destroy(*source);
        g_clear_pointer(source, g_source_unref);
    }
}

static void request_free(FpRequest *req)
{
    g_clear_object(&req->msg);
    g_clear_object(&req->cancel);
    g_clear_object(&req->stream);
    g_clear_pointer(&req->body, g_byte_array_unref);
    g_free(req);
}

void fp_placement_free(FpPlacement *placement)
{
    if (placement == NULL)
        return;
    if (placement->request != NULL) {
        placement->request->owner = NULL;
        placement->request = NULL;
    }
    if (placement->cancel != NULL)
        g_cancellable_cancel(placement->cancel);
    clear_source(&placement->retry_source);
    clear_source(&placement->resync_source);
    clear_source(&placement->again_source);
    g_clear_object(&placement->cancel);
    g_clear_object(&placement->session);
    cfg_clear(&placement->cfg);
    g_free(placement->hypervisor_hostname);
    g_free(placement->endpoint);
    g_free(placement->token);
    g_free(placement->provider_uuid);
    g_strfreev(placement->current);
    g_free(placement->error);
    g_free(placement->our_traits);
    g_free(placement);
}

/**
 * fp_placement_enabled:
 * @placement: the client
 *
 * Returns: whether the client talks to Placement at all
 */
gboolean fp_placement_enabled(const FpPlacement *placement)
{
    return placement->enabled;
}

/**
 * fp_placement_get_provider_name:
 * @placement: the client
 *
 * Returns: the resource provider's name: [placement] provider, else the
 * hypervisor's hostname, else this machine's hostname
 */
const char *fp_placement_get_provider_name(const FpPlacement *placement)
{
    if (placement->cfg.provider != NULL)
        return placement->cfg.provider;
    if (placement->hypervisor_hostname != NULL)
        return placement->hypervisor_hostname;
    return g_get_host_name();
}

/**
 * fp_placement_set_hypervisor_hostname:
 * @placement: the client
 * @hostname: libvirt's virConnectGetHostname(), the name nova-compute's
 *     libvirt driver gives the compute node (and so its resource provider)
 *
 * Used when [placement] provider is empty.  A new name is looked up again.
 */
void fp_placement_set_hypervisor_hostname(FpPlacement *placement, const char *hostname)
{
    if (g_strcmp0(placement->hypervisor_hostname, hostname) == 0)
        return;
    g_free(placement->hypervisor_hostname);
    placement->hypervisor_hostname = g_strdup(hostname);
    if (placement->cfg.provider == NULL)
        g_clear_pointer(&placement->provider_uuid, g_free);
}

/* ---- outcome of one synchronisation ------------------------------------ */

static gboolean on_retry(gpointer data)
{
    FpPlacement *self = data;

    g_clear_pointer(&self->retry_source, g_source_unref);
    self->retry_us = 0;
    sync_start(self);
    return G_SOURCE_REMOVE;
}

static gboolean on_resync(gpointer data)
{
    FpPlacement *self = data;

    g_clear_pointer(&self->resync_source, g_source_unref);
    sync_start(self);
    return G_SOURCE_REMOVE;
}

static gboolean on_again(gpointer data)
{
    FpPlacement *self = data;

    g_clear_pointer(&self->again_source, g_source_unref);
    sync_start(self);
    return G_SOURCE_REMOVE;
}

static GSource *add_timeout(guint ms, GSourceFunc func, gpointer data)
{
    GSource *source = g_timeout_source_new(ms);

    g_source_set_callback(source, func, data, NULL);
    g_source_attach(source, NULL);
    return source;
}

static void fail(FpPlacement *self, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void fail(FpPlacement *self, const char *format, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;
    double delay;
    gboolean first = self->state != FP_PLACEMENT_STATE_RETRYING;

    va_start(ap, format);
    msg = g_strdup_vprintf(format, ap);
    va_end(ap);
    self->busy = FALSE;
    self->again = FALSE;
    self->failures++;
    self->last_error_us = g_get_real_time();
    self->backoff_s = self->backoff_s > 0 ? MIN(self->backoff_s * 2, self->cfg.retry_max_s) : 1;
    delay = MIN(self->backoff_s * g_random_double_range(0.8, 1.2), self->cfg.retry_max_s);
    self->retry_us = self->last_error_us + (gint64)(delay * G_USEC_PER_SEC);
    if (first || g_strcmp0(msg, self->error) != 0)
        g_message("placement: provider '%s': %s; retrying in %.1f s (backoff up to %u s)",
                  fp_placement_get_provider_name(self), msg, delay, self->cfg.retry_max_s);
    else
        g_debug("placement: %s; retrying in %.1f s", msg, delay);
    g_free(self->error);
    self->error = g_steal_pointer(&msg);
    self->state = FP_PLACEMENT_STATE_RETRYING;
    clear_source(&self->retry_source);
    clear_source(&self->resync_source);
    self->retry_source = add_timeout((guint)(delay * 1000), on_retry, self);
}

static char *owned_traits(const char *const *traits)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_auto(GStrv) list = NULL;

    for (guint i = 0; traits != NULL && traits[i] != NULL; i++)
        if (strcmp(traits[i], FP_TRAIT_ELEPHANTS) == 0 || strcmp(traits[i], FP_TRAIT_QUIET) == 0)
            g_strv_builder_add(b, traits[i]);
    list = g_strv_builder_end(b);
    return g_strjoinv(",", list);
}

static void succeed(FpPlacement *self, const char *const *traits)
{
    g_autofree char *ours = owned_traits(traits);

    if (self->state == FP_PLACEMENT_STATE_RETRYING)
        g_message("placement: provider '%s' reachable again", fp_placement_get_provider_name(self));
    if (g_strcmp0(ours, self->our_traits) != 0)
        g_message("placement: provider '%s' (%s) has %s", fp_placement_get_provider_name(self),
                  self->provider_uuid, ours[0] != '\0' ? ours : "no footprint trait");
    g_free(self->our_traits);
    self->our_traits = g_steal_pointer(&ours);
    self->busy = FALSE;
    self->state = FP_PLACEMENT_STATE_SYNCED;
    g_clear_pointer(&self->error, g_free);
    self->last_sync_us = g_get_real_time();
    self->retry_us = 0;
    self->backoff_s = 0;
    self->syncs++;
    clear_source(&self->resync_source);
    self->resync_source = add_timeout(self->cfg.resync_s * 1000, on_resync, self);
    /* The want changed meanwhile: again, from the main loop (not from
     * here, which run() may have called). */
    if (self->again && self->again_source == NULL) {
        self->again = FALSE;
        self->again_source = add_timeout(0, on_again, self);
    }
}

/* ---- HTTP --------------------------------------------------------------- */

static void finish(FpRequest *req);

static void on_read(GObject *source, GAsyncResult *result, gpointer data)
{
    FpRequest *req = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) chunk =
        g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
    FpPlacement *self = req->owner;

    if (self == NULL) {
        request_free(req);
        return;
    }
    if (chunk == NULL) {
        self->request = NULL;
        fail(self, "%s: %s", step_names[req->step], error->message);
        request_free(req);
        return;
    }
    if (g_bytes_get_size(chunk) == 0) {
        finish(req);
        return;
    }
    if (req->body->len + g_bytes_get_size(chunk) > FP_PLACEMENT_MAX_RESPONSE) {
        self->request = NULL;
        fail(self, "%s: response larger than %u bytes", step_names[req->step],
             FP_PLACEMENT_MAX_RESPONSE);
        request_free(req);
        return;
    }
    g_byte_array_append(req->body, g_bytes_get_data(chunk, NULL), g_bytes_get_size(chunk));
    g_input_stream_read_bytes_async(req->stream, FP_PLACEMENT_READ_CHUNK, G_PRIORITY_DEFAULT,
                                    req->cancel, on_read, req);
}

static void on_sent(GObject *source, GAsyncResult *result, gpointer data)
{
    FpRequest *req = data;
    g_autoptr(GError) error = NULL;
    GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), result, &error);
    FpPlacement *self = req->owner;

    req->stream = stream;
    if (self == NULL) {
        request_free(req);
        return;
    }
    if (stream == NULL) {
        g_autofree char *uri = g_uri_to_string_partial(soup_message_get_uri(req->msg),
                                                       G_URI_HIDE_PASSWORD | G_URI_HIDE_QUERY);

        self->request = NULL;
        fail(self, "%s: %s %s: %s", step_names[req->step], soup_message_get_method(req->msg), uri,
             error->message);
        request_free(req);
        return;
    }
    g_input_stream_read_bytes_async(stream, FP_PLACEMENT_READ_CHUNK, G_PRIORITY_DEFAULT,
                                    req->cancel, on_read, req);
}

/* Sends one request of the chain; the response goes to finish(). */
static void send(FpPlacement *self, FpStep step, const char *method, const char *url,
                 const char *body)
{
    FpRequest *req;
    SoupMessage *msg = soup_message_new(method, url);
    SoupMessageHeaders *h;
    const char *token = uses_keystone(self) ? self->token : self->cfg.token;

    if (msg == NULL) {
        fail(self, "%s: '%s' is not a valid URL", step_names[step], url);
        return;
    }
    h = soup_message_get_request_headers(msg);
    soup_message_headers_replace(h, "Accept", "application/json");
    if (step != FP_STEP_TOKEN) {
        soup_message_headers_replace(h, "OpenStack-API-Version", FP_PLACEMENT_MICROVERSION);
        if (token != NULL)
            soup_message_headers_replace(h, "X-Auth-Token", token);
    }
    if (body != NULL) {
        g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));

        soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    }
    req = g_new0(FpRequest, 1);
    req->owner = self;
    req->step = step;
    req->msg = msg;
    req->cancel = g_object_ref(self->cancel);
    req->body = g_byte_array_new();
    self->request = req;
    soup_session_send_async(self->session, msg, G_PRIORITY_DEFAULT, req->cancel, on_sent, req);
}

static gboolean token_usable(const char *token)
{
    gsize n = token != NULL ? strlen(token) : 0;

    if (n == 0 || n > FP_KEYSTONE_MAX_TOKEN)
        return FALSE;
    for (gsize i = 0; i < n; i++)
        if (token[i] <= 0x20 || token[i] >= 0x7f)
            return FALSE;
    return TRUE;
}

static void on_token(FpPlacement *self, guint status, const char *body, gsize len, SoupMessage *msg)
{
    const char *token =
        soup_message_headers_get_one(soup_message_get_response_headers(msg), "X-Subject-Token");
    g_autoptr(GError) error = NULL;
    g_autofree char *url = NULL;
    gint64 expires = 0;

    if (status != SOUP_STATUS_CREATED && status != SOUP_STATUS_OK) {
        g_autofree char *why = fp_placement_error_summary(status, body, len);

        fail(self, "Keystone token: %s", why);
        return;
    }
    if (!token_usable(token)) {
        fail(self, "Keystone token: no usable X-Subject-Token in the response");
        return;
    }
    if (!fp_keystone_parse_token(body, len, self->cfg.region_name, self->cfg.interface, &expires,
                                 self->cfg.url == NULL ? &url : NULL, &error)) {
        fail(self, "%s", error->message);
        return;
    }
    g_free(self->token);
    self->token = g_strdup(token);
    self->token_issued_us = g_get_real_time();
    self->token_expires_us = expires;
    if (url != NULL && g_strcmp0(url, self->endpoint) != 0) {
        g_message("placement: endpoint from Keystone's catalog: %s", url);
        g_free(self->endpoint);
        self->endpoint = g_steal_pointer(&url);
    }
    run(self);
}

static void on_provider(FpPlacement *self, guint status, const char *body, gsize len)
{
    g_autoptr(GError) error = NULL;

    if (status != SOUP_STATUS_OK) {
        g_autofree char *why = fp_placement_error_summary(status, body, len);

        fail(self, "resource provider lookup: %s", why);
        return;
    }
    if (!fp_placement_parse_providers(body, len, fp_placement_get_provider_name(self),
                                      &self->provider_uuid, &error)) {
        fail(self, "%s", error->message);
        return;
    }
    run(self);
}

/* The provider is gone (404): nova-compute may have recreated it under a
 * new uuid; look it up again, once per synchronisation. */
static void provider_gone(FpPlacement *self, const char *what)
{
    if (self->retried_lookup) {
        fail(self, "%s: resource provider %s not found", what, self->provider_uuid);
        g_clear_pointer(&self->provider_uuid, g_free);
        return;
    }
    self->retried_lookup = TRUE;
    g_clear_pointer(&self->provider_uuid, g_free);
    run(self);
}

static void on_get_traits(FpPlacement *self, guint status, const char *body, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) traits = NULL;
    gint64 generation = 0;

    if (status == SOUP_STATUS_NOT_FOUND) {
        provider_gone(self, "provider traits read");
        return;
    }
    if (status != SOUP_STATUS_OK) {
        g_autofree char *why = fp_placement_error_summary(status, body, len);

        fail(self, "provider traits read: %s", why);
        return;
    }
    if (!fp_placement_parse_traits(body, len, &traits, &generation, &error)) {
        fail(self, "%s", error->message);
        return;
    }
    g_strfreev(self->current);
    self->current = g_steal_pointer(&traits);
    self->generation = generation;
    self->have_current = TRUE;
    run(self);
}

static void on_create_trait(FpPlacement *self, guint status, const char *body, gsize len)
{
    if (status != SOUP_STATUS_CREATED && status != SOUP_STATUS_NO_CONTENT) {
        g_autofree char *why = fp_placement_error_summary(status, body, len);

        fail(self, "trait %s creation: %s", fp_host_trait_to_string(self->sync_want), why);
        return;
    }
    self->trait_known[self->sync_want] = TRUE;
    run(self);
}

static void on_put_traits(FpPlacement *self, guint status, const char *body, gsize len)
{
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) traits = NULL;
    gint64 generation = 0;

    switch (status) {
    case SOUP_STATUS_OK:
        if (!fp_placement_parse_traits(body, len, &traits, &generation, &error)) {
            fail(self, "%s", error->message);
            return;
        }
        g_strfreev(self->current);
        self->current = g_strdupv(traits);
        self->generation = generation;
        succeed(self, (const char *const *)traits);
        return;
    case SOUP_STATUS_CONFLICT:
        /* Someone else wrote the provider since we read it: read again. */
        self->conflicts++;
        if (++self->conflicts_in_row > FP_PLACEMENT_MAX_CONFLICTS) {
            fail(self, "provider traits update: %u generation conflicts in a row",
                 self->conflicts_in_row - 1);
            return;
        }
        g_debug("placement: generation %" G_GINT64_FORMAT " is stale (409), reading again",
                self->generation);
        self->have_current = FALSE;
        run(self);
        return;
    case SOUP_STATUS_NOT_FOUND:
        provider_gone(self, "provider traits update");
        return;
    case SOUP_STATUS_BAD_REQUEST:
        if (!self->retried_trait && fp_placement_is_no_such_trait(body, len)) {
            /* Someone deleted our custom trait since we created it. */
            self->retried_trait = TRUE;
            self->trait_known[self->sync_want] = FALSE;
            self->have_current = FALSE;
            run(self);
            return;
        }
        break;
    default:
        break;
    }
    {
        g_autofree char *why = fp_placement_error_summary(status, body, len);

        fail(self, "provider traits update: %s", why);
    }
}

static void finish(FpRequest *req)
{
    FpPlacement *self = req->owner;
    guint status = soup_message_get_status(req->msg);
    const char *body = (const char *)req->body->data;
    gsize len = req->body->len;

    self->request = NULL;
    g_debug("placement: %s %s -> %u (%" G_GSIZE_FORMAT " bytes)", soup_message_get_method(req->msg),
            step_names[req->step], status, len);
    /* An expired or revoked Keystone token: get a new one, once. */
    if (status == SOUP_STATUS_UNAUTHORIZED && req->step != FP_STEP_TOKEN && uses_keystone(self) &&
        !self->retried_auth) {
        self->retried_auth = TRUE;
        g_clear_pointer(&self->token, g_free);
        request_free(req);
        run(self);
        return;
    }
    switch (req->step) {
    case FP_STEP_TOKEN:
        on_token(self, status, body, len, req->msg);
        break;
    case FP_STEP_PROVIDER:
        on_provider(self, status, body, len);
        break;
    case FP_STEP_GET_TRAITS:
        on_get_traits(self, status, body, len);
        break;
    case FP_STEP_CREATE_TRAIT:
        on_create_trait(self, status, body, len);
        break;
    case FP_STEP_PUT_TRAITS:
        on_put_traits(self, status, body, len);
        break;
    }
    request_free(req);
}

/* ---- the chain ---------------------------------------------------------- */

static gboolean token_due(const FpPlacement *self)
{
    gint64 now = g_get_real_time();
    gint64 margin = MIN(FP_KEYSTONE_RENEW_US, (self->token_expires_us - self->token_issued_us) / 2);

    return uses_keystone(self) && (self->token == NULL || now >= self->token_expires_us - margin);
}

/* Sends the next request the synchronisation needs, or ends it. */
static void run(FpPlacement *self)
{
    g_autofree char *url = NULL;
    g_autofree char *path = NULL;
    g_auto(GStrv) merged = NULL;
    g_autofree char *body = NULL;
    gboolean changed = FALSE;

    if (token_due(self)) {
        g_autofree char *tokens = fp_keystone_tokens_url(self->cfg.auth_url);

        body = fp_keystone_auth_request(&self->cfg);
        send(self, FP_STEP_TOKEN, "POST", tokens, body);
        return;
    }
    if (self->endpoint == NULL) {
        fail(self, "no Placement endpoint");
        return;
    }
    if (self->provider_uuid == NULL) {
        g_autofree char *name =
            g_uri_escape_string(fp_placement_get_provider_name(self), NULL, FALSE);

        path = g_strdup_printf("/resource_providers?name=%s", name);
        url = fp_placement_join_url(self->endpoint, path);
        send(self, FP_STEP_PROVIDER, "GET", url, NULL);
        return;
    }
    if (!self->have_current) {
        path = g_strdup_printf("/resource_providers/%s/traits", self->provider_uuid);
        url = fp_placement_join_url(self->endpoint, path);
        send(self, FP_STEP_GET_TRAITS, "GET", url, NULL);
        return;
    }
    merged =
        fp_placement_merge_traits((const char *const *)self->current, self->sync_want, &changed);
    if (!changed) {
        succeed(self, (const char *const *)self->current);
        return;
    }
    if (self->sync_want != FP_HOST_TRAIT_NONE && !self->trait_known[self->sync_want] &&
        !g_strv_contains((const char *const *)self->current,
                         fp_host_trait_to_string(self->sync_want))) {
        /* PUT /traits/CUSTOM_*: 201 created, 204 already there. */
        path = g_strdup_printf("/traits/%s", fp_host_trait_to_string(self->sync_want));
        url = fp_placement_join_url(self->endpoint, path);
        send(self, FP_STEP_CREATE_TRAIT, "PUT", url, NULL);
        return;
    }
    path = g_strdup_printf("/resource_providers/%s/traits", self->provider_uuid);
    url = fp_placement_join_url(self->endpoint, path);
    body = fp_placement_traits_request((const char *const *)merged, self->generation);
    send(self, FP_STEP_PUT_TRAITS, "PUT", url, body);
}

static void sync_start(FpPlacement *self)
{
    if (!self->enabled || !self->have_want)
        return;
    if (self->busy) {
        self->again = TRUE;
        return;
    }
    if (self->retry_source != NULL)
        return; /* the retry takes the latest want */
    self->busy = TRUE;
    self->sync_want = self->want;
    self->have_current = FALSE;
    self->conflicts_in_row = 0;
    self->retried_auth = FALSE;
    self->retried_trait = FALSE;
    self->retried_lookup = FALSE;
    run(self);
}

/* ---- the consumer ------------------------------------------------------- */

/**
 * fp_placement_consume:
 * @placement: the client
 * @snapshot: the sweep's snapshot
 * @figures: its host summary (fp_host_summary_consume())
 *
 * Starts a synchronisation when the summary's trait is not the one
 * Placement was last given (the first time, always: a trait left by an
 * earlier run is corrected, or removed while the summary is not mature).
 * Returns at once; the requests run on the main loop.
 */
void fp_placement_consume(FpPlacement *placement, const FpSnapshot *snapshot,
                          const FpHostFigures *figures)
{
    if (!placement->enabled)
        return;
    if (placement->have_want && figures->trait == placement->want)
        return;
    g_debug("placement: sweep %" G_GUINT64_FORMAT ": trait %s", snapshot->seq,
            figures->trait != FP_HOST_TRAIT_NONE ? fp_host_trait_to_string(figures->trait)
                                                 : "none");
    placement->want = figures->trait;
    placement->have_want = TRUE;
    sync_start(placement);
}

/**
 * fp_placement_sync_now:
 * @placement: the client
 *
 * Reads the provider's traits again now (and corrects them), without
 * waiting for the resync or retry timer.  For a reload (SIGHUP) and tests.
 */
void fp_placement_sync_now(FpPlacement *placement)
{
    if (!placement->enabled || !placement->have_want)
        return;
    clear_source(&placement->retry_source);
    placement->retry_us = 0;
    sync_start(placement);
}

/**
 * fp_placement_fill_health:
 * @placement: the client
 * @health: the health record to fill (its placement_* members)
 */
void fp_placement_fill_health(FpPlacement *placement, FpHealth *health)
{
    health->placement_state = placement->state;
    g_free(health->placement_provider);
    health->placement_provider =
        placement->enabled ? g_strdup(fp_placement_get_provider_name(placement)) : NULL;
    g_free(health->placement_provider_uuid);
    health->placement_provider_uuid = g_strdup(placement->provider_uuid);
    g_free(health->placement_traits);
    health->placement_traits = g_strdup(placement->our_traits);
    g_free(health->placement_error);
    health->placement_error = g_strdup(placement->error);
    health->placement_last_sync_us = placement->last_sync_us;
    health->placement_last_error_us = placement->last_error_us;
    health->placement_retry_us = placement->retry_us;
    health->placement_syncs = placement->syncs;
    health->placement_failures = placement->failures;
    health->placement_conflicts = placement->conflicts;
}
