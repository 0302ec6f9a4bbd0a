/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Placement client against an in-process fake of Placement and
 * Keystone (a small HTTP server on 127.0.0.1, an ephemeral port), on one
 * GLib main loop: the request chain, read-modify-write with the
 * generation, 409s, Placement gone and back, too slow, a deleted trait, a
 * recreated provider, Keystone tokens (scoped password, application
 * credential, catalog, expiry, revocation), and a client freed with a
 * request in flight.  The real Placement is tests/integration/placement-lab.sh.
 */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "placement-json.h"
#include "publish-placement.h"
#include "test-snapshots.h"

#define RP_NAME "compute-1.example.org"
#define RP_UUID "11111111-1111-4111-8111-111111111111"
#define RP_UUID2 "33333333-3333-4333-8333-333333333333"

/* ---- the fake ----------------------------------------------------------- */

/* A minimal HTTP/1.1 server on GIO (one request per connection, then
 * "Connection: close"): libsoup's own server keeps a socket and an address
 * per listen (3.2) that the leak checkers of the gates would report. */
typedef struct {
    char *method;
    char *path;
    char *name; /* the query's name=, decoded */
    char *token;
    char *api_version;
    char *body;
    gsize body_len;
    guint status;
    char *response;
    char *subject_token;
} FakeMsg;

typedef struct {
    GSocketService *service;
    guint port;
    char *url;
    char *rp_name;
    char *rp_uuid;
    gint64 generation;
    GPtrArray *traits;
    GHashTable *known;  /* trait names Placement has */
    GPtrArray *log;     /* "METHOD /path" */
    guint race_puts;    /* bump the generation under this many PUTs */
    guint unauthorized; /* answer 401 to this many Placement requests */
    guint huge;         /* answer this many trait reads with 5 MiB */
    guint token_life_s;
    guint tokens;
    char *valid_token;
    char *auth_body;
    char *last_api_version;
} Fake;

static void fake_respond(FakeMsg *m, guint status, const char *json)
{
    m->status = status;
    g_free(m->response);
    m->response = g_strdup(json);
}

static char *fake_traits_json(const Fake *f)
{
    GString *s = g_string_new("{\"traits\": [");

    for (guint i = 0; i < f->traits->len; i++)
        g_string_append_printf(s, "%s\"%s\"", i ? ", " : "",
                               (const char *)g_ptr_array_index(f->traits, i));
    g_string_append_printf(s, "], \"resource_provider_generation\": %" G_GINT64_FORMAT "}",
                           f->generation);
    return g_string_free(s, FALSE);
}

static gboolean fake_has_trait(const Fake *f, const char *t)
{
    for (guint i = 0; i < f->traits->len; i++)
        if (strcmp(g_ptr_array_index(f->traits, i), t) == 0)
            return TRUE;
    return FALSE;
}

static void fake_put_traits(Fake *f, FakeMsg *m)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_autofree char *out = NULL;
    JsonObject *o;
    JsonArray *a;

    g_assert_true(json_parser_load_from_data(p, m->body, (gssize)m->body_len, NULL));
    o = json_node_get_object(json_parser_get_root(p));
    if (f->race_puts > 0) {
        /* Someone else (nova-compute) writes the provider in between. */
        f->race_puts--;
        f->generation++;
        if (!fake_has_trait(f, "CUSTOM_RACE"))
            g_ptr_array_add(f->traits, g_strdup("CUSTOM_RACE"));
    }
    if (json_object_get_int_member(o, "resource_provider_generation") != f->generation) {
        fake_respond(m, 409,
                     "{\"errors\": [{\"status\": 409, \"title\": \"Conflict\", \"detail\": "
                     "\"There was a conflict when trying to complete your request.\\n\\n "
                     "resource provider generation conflict  \", \"code\": "
                     "\"placement.concurrent_update\"}]}");
        return;
    }
    a = json_object_get_array_member(o, "traits");
    for (guint i = 0; i < json_array_get_length(a); i++) {
        const char *t = json_array_get_string_element(a, i);

        if (!g_hash_table_contains(f->known, t)) {
            g_autofree char *e = g_strdup_printf(
                "{\"errors\": [{\"status\": 400, \"title\": \"Bad Request\", \"detail\": "
                "\"The server could not comply with the request since it is either malformed "
                "or otherwise incorrect.\\n\\n No such trait(s): %s  \"}]}",
                t);

            fake_respond(m, 400, e);
            return;
        }
    }
    g_ptr_array_set_size(f->traits, 0);
    for (guint i = 0; i < json_array_get_length(a); i++)
        g_ptr_array_add(f->traits, g_strdup(json_array_get_string_element(a, i)));
    f->generation++;
    out = fake_traits_json(f);
    fake_respond(m, 200, out);
}

static void fake_token(Fake *f, FakeMsg *m)
{
    g_autoptr(GDateTime) exp = NULL;
    g_autofree char *when = NULL;
    g_autofree char *json = NULL;

    g_free(f->auth_body);
    f->auth_body = g_strndup(m->body, m->body_len);
    f->tokens++;
    g_free(f->valid_token);
    f->valid_token = g_strdup_printf("tok-%u", f->tokens);
    exp = g_date_time_new_from_unix_utc(g_get_real_time() / G_USEC_PER_SEC + f->token_life_s);
    when = g_date_time_format(exp, "%Y-%m-%dT%H:%M:%S.000000Z");
    json =
        g_strdup_printf("{\"token\": {\"methods\": [\"password\"], \"expires_at\": \"%s\", "
                        "\"catalog\": [{\"type\": \"placement\", \"endpoints\": [{\"interface\":"
                        " \"public\", \"region\": \"RegionOne\", \"url\": \"%s/placement\"}]}]}}",
                        when, f->url);
    m->subject_token = g_strdup(f->valid_token);
    fake_respond(m, 201, json);
}

static void fake_handler(Fake *f, FakeMsg *m)
{
    const char *path = m->path;
    g_autofree char *rp_traits = g_strdup_printf("/resource_providers/%s/traits", f->rp_uuid);

    g_ptr_array_add(f->log, g_strdup_printf("%s %s", m->method, path));
    if (strcmp(path, "/v3/auth/tokens") == 0 && strcmp(m->method, "POST") == 0) {
        fake_token(f, m);
        return;
    }
    /* Placement behind a path prefix, as the catalog says. */
    if (g_str_has_prefix(path, "/placement/"))
        path += strlen("/placement");
    g_free(f->last_api_version);
    f->last_api_version = g_strdup(m->api_version);
    if (f->unauthorized > 0 || g_strcmp0(m->token, f->valid_token) != 0) {
        if (f->unauthorized > 0)
            f->unauthorized--;
        fake_respond(m, 401, "{\"error\": {\"code\": 401}}");
        return;
    }
    if (strcmp(path, "/resource_providers") == 0 && strcmp(m->method, "GET") == 0) {
        g_autofree char *json = NULL;

        if (g_strcmp0(m->name, f->rp_name) == 0)
            json = g_strdup_printf("{\"resource_providers\": [{\"uuid\": \"%s\", \"name\": "
                                   "\"%s\", \"generation\": %" G_GINT64_FORMAT "}]}",
                                   f->rp_uuid, f->rp_name, f->generation);
        else
            json = g_strdup("{\"resource_providers\": []}");
        fake_respond(m, 200, json);
    } else if (strcmp(path, rp_traits) == 0 && strcmp(m->method, "GET") == 0) {
        g_autofree char *json = fake_traits_json(f);

        if (f->huge > 0) {
            f->huge--;
            g_free(json);
            json = g_strnfill(5 * 1024 * 1024, ' ');
        }
        fake_respond(m, 200, json);
    } else if (strcmp(path, rp_traits) == 0 && strcmp(m->method, "PUT") == 0) {
        fake_put_traits(f, m);
    } else if (g_str_has_prefix(path, "/traits/CUSTOM_") && strcmp(m->method, "PUT") == 0) {
        gboolean had = g_hash_table_contains(f->known, path + strlen("/traits/"));

        g_hash_table_add(f->known, g_strdup(path + strlen("/traits/")));
        fake_respond(m, had ? 204 : 201, NULL);
    } else {
        fake_respond(m, 404, "{\"errors\": [{\"status\": 404, \"title\": \"Not Found\"}]}");
    }
}

/* ---- its HTTP ---------------------------------------------------------- */

typedef struct {
    Fake *fake;
    GSocketConnection *conn;
    GByteArray *in;
    guint8 chunk[4096];
    char *out;
    gsize out_len;
} FakeConn;

static void fake_conn_free(FakeConn *c)
{
    g_io_stream_close(G_IO_STREAM(c->conn), NULL, NULL);
    g_object_unref(c->conn);
    g_byte_array_unref(c->in);
    g_free(c->out);
    g_free(c);
}

static void fake_msg_clear(FakeMsg *m)
{
    g_free(m->method);
    g_free(m->path);
    g_free(m->name);
    g_free(m->token);
    g_free(m->api_version);
    g_free(m->body);
    g_free(m->response);
    g_free(m->subject_token);
}

static void on_fake_written(GObject *source, GAsyncResult *result, gpointer data)
{
    g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, NULL);
    fake_conn_free(data);
}

/* Parses the request in c->in when it is complete; answers it. */
static gboolean fake_try_request(FakeConn *c)
{
    const char *text = (const char *)c->in->data;
    const char *end = g_strstr_len(text, (gssize)c->in->len, "\r\n\r\n");
    g_autofree char *headers = NULL;
    g_auto(GStrv) lines = NULL;
    g_auto(GStrv) first = NULL;
    FakeMsg m = {0};
    gsize head, length = 0;
    GString *out;
    const char *q;

    if (end == NULL)
        return FALSE;
    head = (gsize)(end - text) + 4;
    headers = g_strndup(text, head - 4);
    lines = g_strsplit(headers, "\r\n", -1);
    for (guint i = 1; lines[i] != NULL; i++) {
        g_auto(GStrv) kv = g_strsplit(lines[i], ":", 2);

        if (kv[1] == NULL)
            continue;
        g_strstrip(kv[1]);
        if (g_ascii_strcasecmp(kv[0], "Content-Length") == 0)
            length = g_ascii_strtoull(kv[1], NULL, 10);
        else if (g_ascii_strcasecmp(kv[0], "X-Auth-Token") == 0)
            m.token = g_strdup(kv[1]);
        else if (g_ascii_strcasecmp(kv[0], "OpenStack-API-Version") == 0)
            m.api_version = g_strdup(kv[1]);
    }
    if (c->in->len < head + length) {
        fake_msg_clear(&m);
        return FALSE;
    }
    first = g_strsplit(lines[0], " ", 3);
    m.method = g_strdup(first[0]);
    q = strchr(first[1], '?');
    m.path = q != NULL ? g_strndup(first[1], q - first[1]) : g_strdup(first[1]);
    if (q != NULL && g_str_has_prefix(q, "?name="))
        m.name = g_uri_unescape_string(q + strlen("?name="), NULL);
    m.body = g_strndup(text + head, length);
    m.body_len = length;
    fake_handler(c->fake, &m);
    out = g_string_new(NULL);
    g_string_append_printf(out, "HTTP/1.1 %u Fake\r\nConnection: close\r\n", m.status);
    if (m.subject_token != NULL)
        g_string_append_printf(out, "X-Subject-Token: %s\r\n", m.subject_token);
    if (m.response != NULL)
        g_string_append_printf(out,
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                               strlen(m.response), m.response);
    else
        g_string_append(out, "Content-Length: 0\r\n\r\n");
    c->out_len = out->len;
    c->out = g_string_free(out, FALSE);
    fake_msg_clear(&m);
    g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(c->conn)), c->out,
                                    c->out_len, G_PRIORITY_DEFAULT, NULL, on_fake_written, c);
    return TRUE;
}

static void on_fake_read(GObject *source, GAsyncResult *result, gpointer data)
{
    FakeConn *c = data;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, NULL);

    if (n <= 0) {
        fake_conn_free(c);
        return;
    }
    g_byte_array_append(c->in, c->chunk, (guint)n);
    if (!fake_try_request(c))
        g_input_stream_read_async(G_INPUT_STREAM(source), c->chunk, sizeof(c->chunk),
                                  G_PRIORITY_DEFAULT, NULL, on_fake_read, c);
}

static gboolean on_fake_incoming(GSocketService *service, GSocketConnection *conn, GObject *source,
                                 gpointer data)
{
    FakeConn *c = g_new0(FakeConn, 1);

    c->fake = data;
    c->conn = g_object_ref(conn);
    c->in = g_byte_array_new();
    g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(conn)), c->chunk,
                              sizeof(c->chunk), G_PRIORITY_DEFAULT, NULL, on_fake_read, c);
    return TRUE;
}

static void fake_listen(Fake *f)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) addr = g_inet_socket_address_new(lo, (guint16)f->port);
    g_autoptr(GSocketAddress) bound = NULL;

    f->service = g_socket_service_new();
    g_assert_true(g_socket_listener_add_address(G_SOCKET_LISTENER(f->service), addr,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                                &bound, &error));
    g_assert_no_error(error);
    f->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_signal_connect(f->service, "incoming", G_CALLBACK(on_fake_incoming), f);
    g_socket_service_start(f->service);
}

/* Placement stopped: connections are refused. */
static void fake_stop(Fake *f)
{
    g_socket_service_stop(f->service);
    g_socket_listener_close(G_SOCKET_LISTENER(f->service));
    g_clear_object(&f->service);
}

static Fake *fake_new(void)
{
    static const char *const standard[] = {"HW_CPU_X86_AVX2", "COMPUTE_NET_VIF_MODEL_VIRTIO",
                                           "CUSTOM_OPERATOR_GOLD", "CUSTOM_RACE"};
    Fake *f = g_new0(Fake, 1);

    fake_listen(f);
    f->url = g_strdup_printf("http://127.0.0.1:%u", f->port);
    f->rp_name = g_strdup(RP_NAME);
    f->rp_uuid = g_strdup(RP_UUID);
    f->generation = 5;
    f->traits = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(f->traits, g_strdup("HW_CPU_X86_AVX2"));
    g_ptr_array_add(f->traits, g_strdup("CUSTOM_OPERATOR_GOLD"));
    f->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS(standard); i++)
        g_hash_table_add(f->known, g_strdup(standard[i]));
    f->log = g_ptr_array_new_with_free_func(g_free);
    f->valid_token = g_strdup("admin");
    f->token_life_s = 3600;
    return f;
}

static void spin(double seconds);

static void fake_free(Fake *f)
{
    /* Let the last connections finish (the client is gone by now). */
    spin(0.05);
    if (f->service != NULL)
        fake_stop(f);
    g_free(f->url);
    g_free(f->rp_name);
    g_free(f->rp_uuid);
    g_ptr_array_unref(f->traits);
    g_hash_table_unref(f->known);
    g_ptr_array_unref(f->log);
    g_free(f->valid_token);
    g_free(f->auth_body);
    g_free(f->last_api_version);
    g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fake, fake_free)

static char *fake_traits(const Fake *f)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < f->traits->len; i++)
        g_string_append_printf(s, "%s%s", i ? "," : "",
                               (const char *)g_ptr_array_index(f->traits, i));
    return g_string_free(s, FALSE);
}

static guint fake_count_exact(const Fake *f, const char *request)
{
    guint n = 0;

    for (guint i = 0; i < f->log->len; i++)
        n += strcmp(g_ptr_array_index(f->log, i), request) == 0;
    return n;
}

static guint fake_count(const Fake *f, const char *request)
{
    guint n = 0;

    for (guint i = 0; i < f->log->len; i++)
        n += g_str_has_prefix(g_ptr_array_index(f->log, i), request);
    return n;
}

/* ---- the client --------------------------------------------------------- */

static FpConfig *token_config(const Fake *f)
{
    FpConfig *c = fp_config_new_default();

    c->placement.url = g_strdup(f->url);
    c->placement.auth = FP_PLACEMENT_AUTH_TOKEN;
    c->placement.token = g_strdup("admin");
    c->placement.provider = g_strdup(RP_NAME);
    c->placement.timeout_s = 2;
    c->placement.retry_max_s = 1;
    return c;
}

static gboolean on_deadline(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

typedef gboolean (*Cond)(FpPlacement *p, Fake *f);

/* Runs the main loop until @cond holds; fails after @timeout_s. */
static void wait_for(FpPlacement *p, Fake *f, Cond cond, double timeout_s, const char *what)
{
    gboolean late = FALSE;
    guint id = g_timeout_add((guint)(timeout_s * 1000), on_deadline, &late);

    while (!cond(p, f) && !late)
        g_main_context_iteration(NULL, TRUE);
    if (late)
        g_error("timed out waiting for %s", what);
    g_source_remove(id);
}

static void spin(double seconds)
{
    gboolean done = FALSE;

    g_timeout_add((guint)(seconds * 1000), on_deadline, &done);
    while (!done)
        g_main_context_iteration(NULL, TRUE);
}

static FpHealth health(FpPlacement *p)
{
    FpHealth h = {0};

    fp_placement_fill_health(p, &h);
    return h;
}

static gboolean is_synced(FpPlacement *p, Fake *f)
{
    FpHealth h = health(p);
    gboolean ok = h.placement_state == FP_PLACEMENT_STATE_SYNCED;

    fp_health_clear(&h);
    return ok;
}

static gboolean is_retrying(FpPlacement *p, Fake *f)
{
    FpHealth h = health(p);
    gboolean ok = h.placement_state == FP_PLACEMENT_STATE_RETRYING;

    fp_health_clear(&h);
    return ok;
}

static guint64 syncs(FpPlacement *p)
{
    FpHealth h = health(p);
    guint64 n = h.placement_syncs;

    fp_health_clear(&h);
    return n;
}

/* Feeds a figures record asking for @trait. */
static void ask(FpPlacement *p, FpHostTrait trait)
{
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = trait, .wanted = trait, .mature = trait != FP_HOST_TRAIT_NONE};

    fp_placement_consume(p, snap, &fig);
}

/* ... and waits until a synchronisation ends well. */
static void want(FpPlacement *p, Fake *f, FpHostTrait trait)
{
    guint64 before = syncs(p);
    gboolean late = FALSE;
    guint id;

    ask(p, trait);
    id = g_timeout_add(10000, on_deadline, &late);
    while (!(syncs(p) > before && is_synced(p, f)) && !late)
        g_main_context_iteration(NULL, TRUE);
    if (late)
        g_error("timed out waiting for a synchronisation");
    g_source_remove(id);
}

static void wait_synced_with(FpPlacement *p, Fake *f, const char *expected)
{
    gboolean late = FALSE;
    guint id = g_timeout_add(10000, on_deadline, &late);

    for (;;) {
        g_autofree char *now = fake_traits(f);

        if (is_synced(p, f) && strcmp(now, expected) == 0)
            break;
        if (late)
            g_error("Placement has '%s', not '%s'", now, expected);
        g_main_context_iteration(NULL, TRUE);
    }
    g_source_remove(id);
}

static void test_off(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpPlacement) p = fp_placement_new(c, &error);
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = FP_HOST_TRAIT_QUIET};
    FpHealth h = {0};

    g_assert_no_error(error);
    g_assert_false(fp_placement_enabled(p));
    fp_placement_consume(p, snap, &fig);
    fp_placement_sync_now(p);
    fp_placement_fill_health(p, &h);
    g_assert_cmpint(h.placement_state, ==, FP_PLACEMENT_STATE_OFF);
    g_assert_cmpstr(fp_placement_state_to_string(h.placement_state), ==, "off");
    g_assert_null(h.placement_provider);
    g_assert_null(h.placement_error);
    fp_health_clear(&h);

    c->placement.ca_file = g_strdup("/nonexistent/ca.pem");
    c->placement.url = g_strdup("http://127.0.0.1:1");
    g_assert_null(fp_placement_new(c, &error));
    g_assert_nonnull(strstr(error->message, "[placement] ca_file '/nonexistent/ca.pem'"));
}

/* Immature: nothing of ours to remove.  Then each trait in turn, the
 * others' traits untouched, our trait created once. */
static void test_sync(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = fp_placement_new(c, NULL);
    FpHealth h = {0};

    g_assert_true(fp_placement_enabled(p));
    g_assert_cmpstr(fp_placement_get_provider_name(p), ==, RP_NAME);
    want(p, f, FP_HOST_TRAIT_NONE);
    g_assert_cmpuint(fake_count(f, "GET /resource_providers/"), ==, 1);
    g_assert_cmpuint(fake_count(f, "PUT"), ==, 0);
    g_assert_cmpstr(f->last_api_version, ==, FP_PLACEMENT_MICROVERSION);

    want(p, f, FP_HOST_TRAIT_QUIET);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");
    g_assert_cmpuint(fake_count(f, "PUT /traits/CUSTOM_FOOTPRINT_QUIET"), ==, 1);
    /* The provider was looked up once. */
    g_assert_cmpuint(fake_count_exact(f, "GET /resource_providers"), ==, 1);
    g_assert_cmpint(f->generation, ==, 6);

    want(p, f, FP_HOST_TRAIT_ELEPHANTS);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_ELEPHANTS");
    want(p, f, FP_HOST_TRAIT_QUIET);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");
    g_assert_cmpuint(fake_count(f, "PUT /traits/CUSTOM_FOOTPRINT_QUIET"), ==, 1);
    g_assert_cmpuint(fake_count(f, "PUT /traits/CUSTOM_FOOTPRINT_ELEPHANTS"), ==, 1);

    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(fp_placement_state_to_string(h.placement_state), ==, "synced");
    g_assert_cmpstr(h.placement_provider, ==, RP_NAME);
    g_assert_cmpstr(h.placement_provider_uuid, ==, RP_UUID);
    g_assert_cmpstr(h.placement_traits, ==, "CUSTOM_FOOTPRINT_QUIET");
    g_assert_null(h.placement_error);
    g_assert_cmpuint(h.placement_syncs, ==, 4);
    g_assert_cmpuint(h.placement_failures, ==, 0);
    g_assert_cmpint(h.placement_last_sync_us, >, 0);
    g_assert_cmpint(h.placement_retry_us, ==, 0);
    fp_health_clear(&h);

    /* Not mature again: ours goes, the others stay. */
    want(p, f, FP_HOST_TRAIT_NONE);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD");
    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(h.placement_traits, ==, "");
    fp_health_clear(&h);
}

/* nova-compute writes the provider between our read and our write. */
static void test_conflict(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = fp_placement_new(c, NULL);
    FpHealth h = {0};

    f->race_puts = 2;
    want(p, f, FP_HOST_TRAIT_ELEPHANTS);
    wait_synced_with(p, f,
                     "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_RACE,CUSTOM_FOOTPRINT_ELEPHANTS");
    g_assert_cmpuint(fake_count(f, "PUT /resource_providers/"), ==, 3);
    g_assert_cmpuint(fake_count(f, "GET /resource_providers/"), ==, 3);
    fp_placement_fill_health(p, &h);
    g_assert_cmpuint(h.placement_conflicts, ==, 2);
    g_assert_cmpuint(h.placement_failures, ==, 0);
    fp_health_clear(&h);

    /* A writer that never stops: give up, back off, converge later. */
    f->race_puts = 1000;
    ask(p, FP_HOST_TRAIT_NONE);
    wait_for(p, f, is_retrying, 10, "the conflicts to give up");
    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(h.placement_error, ==,
                    "provider traits update: 8 generation conflicts in a row");
    g_assert_cmpint(h.placement_retry_us, >, 0);
    fp_health_clear(&h);
    f->race_puts = 0;
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_RACE");
}

/* Placement stopped: backoff and the health says so; started: converges. */
static void test_down_and_up(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = fp_placement_new(c, NULL);
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = FP_HOST_TRAIT_ELEPHANTS, .mature = TRUE};
    FpHealth h = {0};
    gint64 synced_at;

    want(p, f, FP_HOST_TRAIT_QUIET);
    fp_placement_fill_health(p, &h);
    synced_at = h.placement_last_sync_us;
    fp_health_clear(&h);

    fake_stop(f);
    fp_placement_consume(p, snap, &fig);
    wait_for(p, f, is_retrying, 10, "the failure");
    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(fp_placement_state_to_string(h.placement_state), ==, "retrying");
    g_assert_nonnull(h.placement_error);
    g_test_message("Placement down: %s", h.placement_error);
    g_assert_true(
        g_str_has_prefix(h.placement_error, "provider traits read: GET http://127.0.0.1:"));
    g_assert_null(strchr(h.placement_error, '\n'));
    g_assert_cmpint(h.placement_last_error_us, >=, synced_at);
    g_assert_cmpint(h.placement_last_sync_us, ==, synced_at);
    g_assert_cmpint(h.placement_retry_us, >, h.placement_last_error_us);
    /* Placement still has what we set last. */
    g_assert_cmpstr(h.placement_traits, ==, "CUSTOM_FOOTPRINT_QUIET");
    fp_health_clear(&h);
    /* It keeps trying. */
    spin(2.5);
    fp_placement_fill_health(p, &h);
    g_assert_cmpuint(h.placement_failures, >=, 2);
    g_assert_cmpint(h.placement_state, ==, FP_PLACEMENT_STATE_RETRYING);
    fp_health_clear(&h);

    fake_listen(f);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_ELEPHANTS");
    fp_placement_fill_health(p, &h);
    g_assert_null(h.placement_error);
    g_assert_cmpint(h.placement_retry_us, ==, 0);
    g_assert_cmpint(h.placement_last_sync_us, >, synced_at);
    fp_health_clear(&h);
}

/* An endpoint that accepts and never answers. */
static void test_slow(void)
{
    g_autoptr(GSocketListener) hole = g_socket_listener_new();
    g_autoptr(GError) error = NULL;
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(FpPlacement) p = NULL;
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = FP_HOST_TRAIT_QUIET, .mature = TRUE};
    guint16 port = g_socket_listener_add_any_inet_port(hole, NULL, &error);
    gint64 t0 = g_get_monotonic_time();
    FpHealth h = {0};

    g_assert_no_error(error);
    c->placement.url = g_strdup_printf("http://127.0.0.1:%u", port);
    c->placement.timeout_s = 1;
    c->placement.retry_max_s = 5;
    p = fp_placement_new(c, NULL);
    fp_placement_consume(p, snap, &fig);
    wait_for(p, NULL, is_retrying, 10, "the timeout");
    g_assert_cmpint(g_get_monotonic_time() - t0, >=, G_USEC_PER_SEC / 2);
    fp_placement_fill_health(p, &h);
    g_test_message("Placement slow: %s", h.placement_error);
    g_assert_true(g_str_has_prefix(h.placement_error, "resource provider lookup: GET "));
    fp_health_clear(&h);
}

static void test_provider_missing_then_created(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = NULL;
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = FP_HOST_TRAIT_QUIET, .mature = TRUE};
    FpHealth h = {0};

    /* No [placement] provider: the hypervisor's hostname. */
    g_clear_pointer(&c->placement.provider, g_free);
    p = fp_placement_new(c, NULL);
    g_assert_cmpstr(fp_placement_get_provider_name(p), ==, g_get_host_name());
    fp_placement_set_hypervisor_hostname(p, "compute-9");
    g_assert_cmpstr(fp_placement_get_provider_name(p), ==, "compute-9");
    fp_placement_consume(p, snap, &fig);
    wait_for(p, f, is_retrying, 10, "the lookup to fail");
    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(h.placement_error, ==,
                    "no resource provider named 'compute-9' (has nova-compute registered this "
                    "host?)");
    g_assert_cmpstr(h.placement_provider, ==, "compute-9");
    g_assert_null(h.placement_provider_uuid);
    fp_health_clear(&h);
    /* nova-compute registers it. */
    g_free(f->rp_name);
    f->rp_name = g_strdup("compute-9");
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");

    /* Deleted and registered again under a new uuid: found again. */
    g_free(f->rp_uuid);
    f->rp_uuid = g_strdup(RP_UUID2);
    g_ptr_array_set_size(f->traits, 0);
    fp_placement_sync_now(p);
    wait_synced_with(p, f, "CUSTOM_FOOTPRINT_QUIET");
    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(h.placement_provider_uuid, ==, RP_UUID2);
    fp_health_clear(&h);
}

/* Someone deletes our custom trait (and so takes it off the provider):
 * the next write creates it again. */
static void test_trait_deleted(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = fp_placement_new(c, NULL);

    want(p, f, FP_HOST_TRAIT_QUIET);
    want(p, f, FP_HOST_TRAIT_ELEPHANTS);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_ELEPHANTS");
    g_hash_table_remove(f->known, FP_TRAIT_QUIET);
    want(p, f, FP_HOST_TRAIT_QUIET);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");
    g_assert_cmpuint(fake_count(f, "PUT /traits/CUSTOM_FOOTPRINT_QUIET"), ==, 2);
}

/* Someone removes our trait from the provider: put back at the resync. */
static void test_resync(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = NULL;

    c->placement.resync_s = 1; /* below the config's range, for the test */
    p = fp_placement_new(c, NULL);
    want(p, f, FP_HOST_TRAIT_QUIET);
    g_ptr_array_remove_index(f->traits, 2);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD");
    spin(1.5);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");
}

static void test_huge_response(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    g_autoptr(FpPlacement) p = fp_placement_new(c, NULL);
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = FP_HOST_TRAIT_QUIET, .mature = TRUE};
    FpHealth h = {0};

    f->huge = 1;
    fp_placement_consume(p, snap, &fig);
    wait_for(p, f, is_retrying, 10, "the refusal");
    fp_placement_fill_health(p, &h);
    g_assert_cmpstr(h.placement_error, ==,
                    "provider traits read: response larger than 4194304 bytes");
    fp_health_clear(&h);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");
}

/* A scoped password, Placement from the catalog, a revoked token, an
 * expiring one. */
static void test_keystone_password(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(FpPlacement) p = NULL;
    g_autofree char *expected = NULL;

    g_clear_pointer(&f->valid_token, g_free);
    f->valid_token = g_strdup("none yet");
    c->placement.auth = FP_PLACEMENT_AUTH_PASSWORD;
    c->placement.auth_url = g_strdup_printf("%s/v3", f->url);
    c->placement.username = g_strdup("footprintd");
    c->placement.password = g_strdup("secret");
    c->placement.project_name = g_strdup("service");
    c->placement.provider = g_strdup(RP_NAME);
    c->placement.retry_max_s = 1;
    p = fp_placement_new(c, NULL);
    g_assert_true(fp_placement_enabled(p));
    want(p, f, FP_HOST_TRAIT_QUIET);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_QUIET");
    g_assert_cmpuint(f->tokens, ==, 1);
    expected = fp_keystone_auth_request(&c->placement);
    g_assert_cmpstr(f->auth_body, ==, expected);
    /* Through the catalog's URL, with its path. */
    g_assert_cmpuint(fake_count(f, "GET /placement/resource_providers/"), ==, 1);

    /* Revoked: one new token, the same synchronisation. */
    f->unauthorized = 1;
    want(p, f, FP_HOST_TRAIT_ELEPHANTS);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_ELEPHANTS");
    g_assert_cmpuint(f->tokens, ==, 2);
}

static void test_keystone_expiry(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(FpPlacement) p = NULL;

    g_clear_pointer(&f->valid_token, g_free);
    f->token_life_s = 4; /* 3 to 4 s left when issued: renewed after half of it */
    c->placement.url = g_strdup_printf("%s/placement/", f->url);
    c->placement.auth = FP_PLACEMENT_AUTH_APPLICATION_CREDENTIAL;
    c->placement.auth_url = g_strdup(f->url);
    c->placement.application_credential_id = g_strdup("423f19a4");
    c->placement.application_credential_secret = g_strdup("s3cr3t");
    c->placement.provider = g_strdup(RP_NAME);
    p = fp_placement_new(c, NULL);
    want(p, f, FP_HOST_TRAIT_QUIET);
    g_assert_cmpuint(f->tokens, ==, 1);
    g_assert_nonnull(strstr(f->auth_body, "\"application_credential\":{\"id\":\"423f19a4\""));
    g_assert_null(strstr(f->auth_body, "scope"));
    fp_placement_sync_now(p);
    wait_for(p, f, is_synced, 10, "a resync");
    g_assert_cmpuint(f->tokens, ==, 1);
    spin(2.5);
    want(p, f, FP_HOST_TRAIT_ELEPHANTS);
    wait_synced_with(p, f, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_ELEPHANTS");
    g_assert_cmpuint(f->tokens, ==, 2);
}

static void test_free_in_flight(void)
{
    g_autoptr(Fake) f = fake_new();
    g_autoptr(FpConfig) c = token_config(f);
    FpPlacement *p = fp_placement_new(c, NULL);
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(1, 0, NULL, 0);
    FpHostFigures fig = {.trait = FP_HOST_TRAIT_QUIET, .mature = TRUE};

    fp_placement_consume(p, snap, &fig);
    g_main_context_iteration(NULL, FALSE);
    fp_placement_free(p);
    spin(0.3);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/placement-client/off", test_off);
    g_test_add_func("/placement-client/sync", test_sync);
    g_test_add_func("/placement-client/conflict", test_conflict);
    g_test_add_func("/placement-client/down-and-up", test_down_and_up);
    g_test_add_func("/placement-client/slow", test_slow);
    g_test_add_func("/placement-client/provider-missing-then-created",
                    test_provider_missing_then_created);
    g_test_add_func("/placement-client/trait-deleted", test_trait_deleted);
    g_test_add_func("/placement-client/resync", test_resync);
    g_test_add_func("/placement-client/huge-response", test_huge_response);
    g_test_add_func("/placement-client/keystone-password", test_keystone_password);
    g_test_add_func("/placement-client/keystone-expiry", test_keystone_expiry);
    g_test_add_func("/placement-client/free-in-flight", test_free_in_flight);
    return g_test_run();
}
