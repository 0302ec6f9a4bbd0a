/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for src/dbus.c's root-only methods (SetTuningMode, UndoTuning), on
 * a private bus (a dbus-daemon of the test's own): the daemon asks the bus who the caller is
 * before it acts, and answers the caller once the bus has answered it.
 *  - answered: the caller gets the daemon's verdict;
 *  - freed mid-call: the object is freed (footprintd stopping) while the
 *    bus's answer is still on its way (held back here by a filter, so the
 *    order is certain).  The answer must not reach the freed object (the
 *    sanitizer and valgrind gates see any read of it), and the caller still
 *    gets an error that says why.
 */
#include "config.h"

#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "dbus.h"
#include "flow-table.h"
#include "snapshot.h"

typedef struct {
    char *dir;
    GSubprocess *bus;
    GDBusConnection *server;
    GDBusConnection *client;
    FpFlowTable *table;
    FpDbus *dbus;
} Fixture;

/* The bus's answer to the daemon's GetConnectionUnixUser, held back. */
typedef struct {
    gint serial; /* the daemon's question, 0: not asked yet */
    gint held;   /* the bus's answer came and was dropped */
} Hold;

/* dbus-daemon binds its socket before it listens on it: a connection in
 * between is refused, and is tried again (until @end_us). */
static GDBusConnection *connect_to(const char *address, gint64 end_us)
{
    for (;;) {
        g_autoptr(GError) error = NULL;
        GDBusConnection *c = g_dbus_connection_new_for_address_sync(
            address,
            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
            NULL, NULL, &error);

        if (c != NULL || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED) ||
            g_get_monotonic_time() >= end_us) {
            g_assert_no_error(error);
            return c;
        }
        g_usleep(10000);
    }
}

/* A private session bus of our own on a socket we name (GTestDBus in GLib
 * 2.74 sometimes waits for ever for dbus-daemon's --print-address). */
static gboolean setup(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *daemon = g_find_program_in_path("dbus-daemon");
    g_autofree char *socket = NULL, *listen = NULL, *address = NULL;
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    if (!daemon) {
        g_test_skip("dbus-daemon missing (apt-get install dbus)");
        return FALSE;
    }
    f->dir = g_dir_make_tmp("fp-test-dbus.XXXXXX", &error);
    g_assert_no_error(error);
    socket = g_build_filename(f->dir, "bus", NULL);
    listen = g_strdup_printf("--address=unix:path=%s", socket);
    f->bus = g_subprocess_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                              &error, daemon, "--session", "--nofork", "--nopidfile", listen, NULL);
    g_assert_no_error(error);
    while (!g_file_test(socket, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10000);
    }
    address = g_strdup_printf("unix:path=%s", socket);
    f->server = connect_to(address, end);
    f->client = connect_to(address, end);
    f->table = fp_flow_table_new(4 << 20, 10 * G_USEC_PER_SEC);
    f->dbus = fp_dbus_new(f->server, f->table, NULL, NULL, NULL, &error);
    g_assert_no_error(error);
    return TRUE;
}

static void teardown(Fixture *f)
{
    g_autofree char *socket = g_build_filename(f->dir, "bus", NULL);

    g_clear_pointer(&f->dbus, fp_dbus_free);
    g_dbus_connection_close_sync(f->client, NULL, NULL);
    g_dbus_connection_close_sync(f->server, NULL, NULL);
    g_clear_object(&f->client);
    g_clear_object(&f->server);
    g_clear_pointer(&f->table, fp_flow_table_free);
    g_subprocess_force_exit(f->bus);
    g_subprocess_wait(f->bus, NULL, NULL);
    g_clear_object(&f->bus);
    g_unlink(socket);
    g_rmdir(f->dir);
    g_clear_pointer(&f->dir, g_free);
}

static void on_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
    GError **out = user_data;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, out);

    /* Every test here expects an error; a NULL error would mean success. */
    if (reply)
        g_set_error_literal(out, G_IO_ERROR, G_IO_ERROR_FAILED, "it succeeded");
}

/* Calls METHOD on the daemon from the client; the reply's error lands in
 * *out once the main context has run enough. */
static void call(Fixture *f, const char *method, GVariant *params, GError **out)
{
    g_dbus_connection_call(f->client, g_dbus_connection_get_unique_name(f->server), FP_DBUS_PATH,
                           FP_DBUS_INTERFACE, method, params, NULL, G_DBUS_CALL_FLAGS_NONE, 20000,
                           NULL, on_reply, out);
}

/* Runs the main context until *flag is set (by a callback or, for a gint,
 * by the bus's worker thread), at most 10 s. */
static void run_until(const gint *flag, GError *const *error)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

    while (!(flag && g_atomic_int_get(flag)) && !(error && *error)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

static void test_answered(void)
{
    Fixture f = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *expected = NULL;

    if (!setup(&f))
        return;
    /* No tuner: root is told so, anyone else that it is for root only. */
    expected = getuid() == 0 ? g_strdup("the tuner is not running")
                             : g_strdup_printf("UndoTuning is for root only (caller uid %u)",
                                               (unsigned)getuid());
    call(&f, "UndoTuning", NULL, &error);
    run_until(NULL, &error);
    g_dbus_error_strip_remote_error(error);
    g_assert_cmpstr(error->message, ==, expected);
    teardown(&f);
}

static void on_status(GObject *source, GAsyncResult *result, gpointer user_data)
{
    GVariant **out = user_data;
    g_autoptr(GError) error = NULL;

    *out = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
    g_assert_no_error(error);
}

/* GetStatus's ages: the Placement sync's from the snapshot's wall clock
 * (placement_last_sync_us is g_get_real_time()), a file write's as of the
 * call, -1 before the first; a failing file's error and count as the
 * health holds them. */
static void test_status_ages(void)
{
    Fixture f = {0};
    FpSnapshot *snap = fp_snapshot_new(1, 1000000, G_GINT64_CONSTANT(1800000000) * G_USEC_PER_SEC);
    g_autoptr(GVariant) reply = NULL;
    g_autoptr(GVariant) dict = NULL;
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    const char *text;
    guint64 n;
    double age;

    if (!setup(&f)) {
        fp_snapshot_unref(snap);
        return;
    }
    fp_snapshot_seal(snap);
    snap->health.placement_last_sync_us = snap->real_us - 5 * G_USEC_PER_SEC;
    snap->health.state_write.error = g_strdup("footprint state '/s/footprints': cannot write: No "
                                              "space left on device");
    snap->health.state_write.failures = 3;
    snap->health.metrics_write.last_ok_us = g_get_real_time();
    fp_dbus_consume(f.dbus, snap);
    fp_snapshot_unref(snap);
    g_dbus_connection_call(f.client, g_dbus_connection_get_unique_name(f.server), FP_DBUS_PATH,
                           FP_DBUS_INTERFACE, "GetStatus", NULL, G_VARIANT_TYPE("(a{sv})"),
                           G_DBUS_CALL_FLAGS_NONE, 20000, NULL, on_status, &reply);
    while (reply == NULL) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, TRUE);
    }
    dict = g_variant_get_child_value(reply, 0);
    g_assert_true(g_variant_lookup(dict, "placement_last_sync_age_s", "d", &age));
    g_assert_cmpfloat(age, ==, 5.0);
    g_assert_true(g_variant_lookup(dict, "state_write_error", "&s", &text));
    g_assert_cmpstr(text, ==,
                    "footprint state '/s/footprints': cannot write: No space left on device");
    g_assert_true(g_variant_lookup(dict, "state_write_failures", "t", &n));
    g_assert_cmpuint(n, ==, 3);
    g_assert_true(g_variant_lookup(dict, "state_last_write_age_s", "d", &age));
    g_assert_cmpfloat(age, ==, -1);
    g_assert_true(g_variant_lookup(dict, "metrics_write_error", "&s", &text));
    g_assert_cmpstr(text, ==, "");
    g_assert_true(g_variant_lookup(dict, "metrics_last_write_age_s", "d", &age));
    g_assert_cmpfloat(age, >=, 0);
    g_assert_true(g_variant_lookup(dict, "hints_write_failures", "t", &n));
    g_assert_cmpuint(n, ==, 0);
    teardown(&f);
}

typedef struct {
    GVariant *reply;
    GError *error;
    gboolean done;
} Page;

static void on_page(GObject *source, GAsyncResult *result, gpointer user_data)
{
    Page *p = user_data;

    p->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &p->error);
    p->done = TRUE;
}

/* One ListFlowsPage with "all" from @from: the next cursor, or NULL with
 * the error's message in @message. */
static char *list_all_page(Fixture *f, GDBusConnection *from, const char *after, char **message)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    g_autoptr(GVariant) flows = NULL;
    Page p = {0};
    char *next = NULL;

    g_dbus_connection_call(
        from, g_dbus_connection_get_unique_name(f->server), FP_DBUS_PATH, FP_DBUS_INTERFACE,
        "ListFlowsPage",
        g_variant_new_parsed("({'all': <true>, 'limit': <@u 1>, 'after': <%s>},)", after),
        G_VARIANT_TYPE("(aa{sv}s)"), G_DBUS_CALL_FLAGS_NONE, 20000, NULL, on_page, &p);
    while (!p.done) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, TRUE);
    }
    if (p.error) {
        g_dbus_error_strip_remote_error(p.error);
        *message = g_strdup(p.error->message);
        g_error_free(p.error);
        return NULL;
    }
    flows = g_variant_get_child_value(p.reply, 0);
    g_assert_cmpuint(g_variant_n_children(flows), ==, 1);
    g_variant_get_child(p.reply, 1, "s", &next);
    g_variant_unref(p.reply);
    return next;
}

/* Whole-table listings' cursors, without a kernel: with more followed
 * flows than a page holds, a listing stays in its followed part (no
 * conntrack dump yet).  At most 4 at once; a cursor serves only the
 * connection that started it; a malformed one is refused; each is freed
 * with the object (the sanitizer and valgrind gates see a leak). */
static void test_list_all_cursors(void)
{
    Fixture f = {0};
    g_autoptr(GDBusConnection) other = NULL;
    g_autofree char *address = NULL, *socket = NULL;
    char *next[4] = {NULL}, *message = NULL, *refused;

    if (!setup(&f))
        return;
    for (guint i = 0; i < 8; i++) {
        FpFlowKey key = {.family = 2, .proto = 17, .sport = (guint16)(1000 + i), .dport = 53};
        const guint64 bytes[2] = {100 * (i + 1), 0}, packets[2] = {1, 0};

        key.src[0] = 10;
        key.dst[0] = 10;
        g_assert_nonnull(fp_flow_table_observe(f.table, &key, bytes, packets, 1000));
    }
    for (guint i = 0; i < 4; i++) {
        next[i] = list_all_page(&f, f.client, "", &message);
        g_assert_null(message);
        g_assert_true(g_str_has_prefix(next[i], "all:"));
    }
    g_assert_null(list_all_page(&f, f.client, "", &message));
    g_assert_cmpstr(message, ==,
                    "4 whole-table listings in progress (each ends after 30 s without a page "
                    "asked for): try again later");
    g_clear_pointer(&message, g_free);
    socket = g_build_filename(f.dir, "bus", NULL);
    address = g_strdup_printf("unix:path=%s", socket);
    other = connect_to(address, g_get_monotonic_time() + 10 * G_USEC_PER_SEC);
    g_assert_null(list_all_page(&f, other, next[0], &message));
    refused = g_strdup_printf("no listing '%s' of this caller (a listing ends after 30 s without "
                              "a page asked for)",
                              next[0]);
    g_assert_cmpstr(message, ==, refused);
    g_clear_pointer(&message, g_free);
    g_free(refused);
    g_assert_null(list_all_page(&f, f.client, "all:x", &message));
    g_assert_cmpstr(message, ==, "bad page cursor 'all:x'");
    g_clear_pointer(&message, g_free);
    /* Its own caller goes on: the next page, the next flow. */
    refused = list_all_page(&f, f.client, next[0], &message);
    g_assert_null(message);
    g_assert_cmpstr(refused, ==, next[0]);
    g_free(refused);
    for (guint i = 0; i < 4; i++)
        g_free(next[i]);
    g_dbus_connection_close_sync(other, NULL, NULL);
    teardown(&f);
}

static GDBusMessage *hold_caller_check(GDBusConnection *connection, GDBusMessage *message,
                                       gboolean incoming, gpointer user_data)
{
    Hold *h = user_data;
    gint serial;

    if (!incoming) {
        if (g_dbus_message_get_message_type(message) == G_DBUS_MESSAGE_TYPE_METHOD_CALL &&
            g_strcmp0(g_dbus_message_get_member(message), "GetConnectionUnixUser") == 0)
            g_atomic_int_set(&h->serial, (gint)g_dbus_message_get_serial(message));
        return message;
    }
    serial = g_atomic_int_get(&h->serial);
    if (serial && g_dbus_message_get_reply_serial(message) == (guint32)serial) {
        g_atomic_int_set(&h->held, 1);
        g_object_unref(message);
        return NULL;
    }
    return message;
}

static void test_freed_mid_call(gconstpointer data)
{
    const char *method = data;
    Fixture f = {0};
    Hold hold = {0};
    g_autoptr(GError) error = NULL;
    g_autofree char *expected = g_strdup_printf("footprintd is stopping: %s not done", method);
    guint filter;

    if (!setup(&f))
        return;
    filter = g_dbus_connection_add_filter(f.server, hold_caller_check, &hold, NULL);
    call(&f, method, g_str_equal(method, "SetTuningMode") ? g_variant_new("(s)", "enforce") : NULL,
         &error);
    /* The daemon asked the bus who called, and the bus answered: the
     * answer is held, its callback pending. */
    run_until(&hold.held, NULL);
    g_assert_null(error);
    g_clear_pointer(&f.dbus, fp_dbus_free);
    run_until(NULL, &error);
    g_dbus_error_strip_remote_error(error);
    g_assert_cmpstr(error->message, ==, expected);
    g_dbus_connection_remove_filter(f.server, filter);
    teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dbus/status-ages", test_status_ages);
    g_test_add_func("/dbus/list-all/cursors", test_list_all_cursors);
    g_test_add_func("/dbus/root-call/answered", test_answered);
    g_test_add_data_func("/dbus/root-call/freed-mid-call/SetTuningMode", "SetTuningMode",
                         test_freed_mid_call);
    g_test_add_data_func("/dbus/root-call/freed-mid-call/UndoTuning", "UndoTuning",
                         test_freed_mid_call);
    return g_test_run();
}
