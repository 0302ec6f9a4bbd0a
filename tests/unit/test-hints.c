/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hints.json: fixture snapshots → the whole expected text
 * ($FP_TEST_DATA_DIR/hints/NAME.json; FP_TEST_REGENERATE=1 rewrites them:
 * review every diff by hand, the schema is a contract), valid JSON whatever
 * a domain is named, and when the file is rewritten.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "hints.h"
#include "host-summary.h"
#include "test-snapshots.h"
#include "test-tmpdir.h"

#define UUID_A "00000000-0000-4000-8000-00000000000a"
#define UUID_B "00000000-0000-4000-8000-00000000000b"
#define UUID_C "00000000-0000-4000-8000-00000000000c"
#define NOVA_A "8d3c1f0e-5b2a-4c6d-9e7f-0a1b2c3d4e5f"

static const FpHostSummaryPolicy policy = {
    .egress_capacity_bps = 1.25e9,
    .elephant_load = 0.3,
    .hysteresis = 0.2,
    .hold_s = 60,
    .mature_after_s = 120,
};

static const FpTestVm three_vms[] = {
    {UUID_A, "spark-worker-1", NOVA_A, FP_CLASS_THROUGHPUT, 0, 2.5e6, 4.1e8, 0.97, 0.91},
    {UUID_B, "web-1", NULL, FP_CLASS_LATENCY, 0, 1.2e6, 3.4e6, 0.02, 0.8},
    {UUID_C, "batch", NULL, FP_CLASS_IDLE, FP_CLASS_IDLE, 0, 12.4, 0, 1},
};

static const FpTestVm hostile_vms[] = {
    {UUID_A, "evil\"name\\\n\t\x01 \xe6\x97\xa5\xff", NULL, FP_CLASS_MIXED, 0, 1, 2, 0.5, 0.5},
};

static void check_fixture(const char *name, const char *actual)
{
    g_autofree char *path = g_strdup_printf("%s/hints/%s.json", FP_TEST_DATA_DIR, name);
    g_autofree char *expected = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();

    /* Whatever the names, a JSON parser takes it. */
    if (!json_parser_load_from_data(parser, actual, -1, &error))
        g_error("%s: not JSON: %s\n%s", name, error->message, actual);
    if (g_getenv("FP_TEST_REGENERATE") != NULL) {
        g_assert_true(g_file_set_contents(path, actual, -1, &error));
        return;
    }
    if (!g_file_get_contents(path, &expected, NULL, &error))
        g_error("%s: %s", name, error->message);
    if (strcmp(expected, actual) != 0)
        g_error("%s: output differs from %s\nexpected:\n%sactual:\n%s", name, path, expected,
                actual);
}

static char *format_after(const FpTestVm *vms, gsize n, double t_s, const char *host)
{
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&policy);
    g_autoptr(FpSnapshot) first = fp_test_snapshot(1, 0, vms, n);
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(42, t_s, vms, n);

    fp_host_summary_consume(s, first);
    return fp_hints_format(snap, fp_host_summary_consume(s, snap), host);
}

static void test_fixture_elephants(void)
{
    g_autofree char *text =
        format_after(three_vms, G_N_ELEMENTS(three_vms), 300, "compute-1.example.org");

    check_fixture("elephants", text);
}

static void test_fixture_not_mature(void)
{
    g_autofree char *text = format_after(three_vms, 2, 30, "compute-1.example.org");

    check_fixture("not-mature", text);
}

static void test_fixture_quiet_unknown_capacity(void)
{
    FpHostSummaryPolicy p = policy;
    g_autoptr(FpHostSummary) s = NULL;
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(5, 0, &three_vms[1], 2);
    g_autofree char *text = NULL;

    p.egress_capacity_bps = 0;
    p.mature_after_s = 0;
    s = fp_host_summary_new(&p);
    text = fp_hints_format(snap, fp_host_summary_consume(s, snap), NULL);
    check_fixture("quiet-unknown-capacity", text);
}

static void test_fixture_empty_host(void)
{
    g_autofree char *text = format_after(NULL, 0, 120, "compute-2");

    check_fixture("empty-host", text);
}

static void test_hostile_names(void)
{
    g_autofree char *text =
        format_after(hostile_vms, G_N_ELEMENTS(hostile_vms), 500, "host\"\n\xff");
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    JsonObject *root, *vm;

    g_assert_true(g_utf8_validate(text, -1, NULL));
    g_assert_true(json_parser_load_from_data(parser, text, -1, &error));
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpstr(json_object_get_string_member(root, "host"), ==, "host\"\n\xef\xbf\xbd");
    vm = json_array_get_object_element(json_object_get_array_member(root, "vms"), 0);
    g_assert_cmpstr(json_object_get_string_member(vm, "name"), ==,
                    "evil\"name\\\n\t\x01 \xe6\x97\xa5\xef\xbf\xbd");
    g_assert_true(json_object_get_null_member(vm, "nova_instance_uuid"));
    g_assert_cmpint(json_object_get_int_member(root, "version"), ==, FP_HINTS_VERSION);
}

/* What jq and other readers rely on: the members and their types. */
static void test_schema(void)
{
    g_autofree char *text = format_after(three_vms, G_N_ELEMENTS(three_vms), 300, "h");
    g_autoptr(JsonParser) parser = json_parser_new();
    JsonObject *root, *summary, *vm;
    JsonArray *traits, *vms;

    g_assert_true(json_parser_load_from_data(parser, text, -1, NULL));
    root = json_node_get_object(json_parser_get_root(parser));
    g_assert_cmpstr(json_object_get_string_member(root, "updated"), ==, "2025-01-01T00:05:00Z");
    g_assert_cmpint(json_object_get_int_member(root, "sweep"), ==, 42);
    traits = json_object_get_array_member(root, "traits");
    g_assert_cmpuint(json_array_get_length(traits), ==, 1);
    g_assert_cmpstr(json_array_get_string_element(traits, 0), ==, "CUSTOM_FOOTPRINT_ELEPHANTS");
    summary = json_object_get_object_member(root, "summary");
    g_assert_true(json_object_get_boolean_member(summary, "mature"));
    g_assert_cmpint(json_object_get_int_member(
                        json_object_get_object_member(summary, "vms_by_class"), "throughput"),
                    ==, 1);
    vms = json_object_get_array_member(root, "vms");
    g_assert_cmpuint(json_array_get_length(vms), ==, 3);
    vm = json_array_get_object_element(vms, 0);
    g_assert_cmpstr(json_object_get_string_member(vm, "nova_instance_uuid"), ==, NOVA_A);
    g_assert_cmpstr(json_object_get_string_member(vm, "class"), ==, "throughput");
    g_assert_true(json_object_get_null_member(vm, "pinned"));
    vm = json_array_get_object_element(vms, 2);
    g_assert_cmpstr(json_object_get_string_member(vm, "pinned"), ==, "idle");
}

static void consume(FpHints *h, FpHostSummary *s, guint64 seq, double t, const FpTestVm *vms,
                    gsize n)
{
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(seq, t, vms, n);

    fp_hints_consume(h, snap, fp_host_summary_consume(s, snap));
}

static void test_rewrite_when_changed(void)
{
    g_autofree char *dir = fp_test_tmpdir("fp18-hints");
    g_autofree char *path = g_build_filename(dir, "hints.json", NULL);
    g_autoptr(FpHints) h = fp_hints_new(path, 10);
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&policy);
    FpTestVm vms[G_N_ELEMENTS(three_vms)];
    g_autofree char *text = NULL;
    struct stat st;

    memcpy(vms, three_vms, sizeof(vms));
    fp_hints_set_host(h, "compute-1");
    g_assert_cmpstr(fp_hints_get_path(h), ==, path);
    consume(h, s, 1, 0, vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 1);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0644);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\"host\": \"compute-1\""));

    /* Nothing changed but the time: not rewritten. */
    consume(h, s, 2, 1, vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 1);
    /* Rates alone: at most every 10 s. */
    vms[1].rx_bps += 1000;
    consume(h, s, 3, 2, vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 1);
    consume(h, s, 4, 10, vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 2);
    /* A class: at once. */
    vms[1].klass = FP_CLASS_MIXED;
    consume(h, s, 5, 11, vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 3);
    /* A VM gone: at once. */
    consume(h, s, 6, 12, vms, 2);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 4);
    /* Maturity and the trait: at once. */
    consume(h, s, 7, 13, vms, 2);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 4);
    consume(h, s, 8, 120, vms, 2);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 5);
    g_clear_pointer(&text, g_free);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\"traits\": [\"CUSTOM_FOOTPRINT_ELEPHANTS\"]"));
    /* Nothing left behind but the file. */
    {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        guint n = 0;

        while (g_dir_read_name(d) != NULL)
            n++;
        g_assert_cmpuint(n, ==, 1);
    }
    fp_test_rm_rf(dir);
}

/* A directory that is not there: logged, no write counted, and written as
 * soon as it can be. */
static void test_write_failure(void)
{
    g_autofree char *dir = fp_test_tmpdir("fp18-hints");
    g_autofree char *sub = g_build_filename(dir, "missing", NULL);
    g_autofree char *path = g_build_filename(sub, "hints.json", NULL);
    g_autoptr(FpHints) h = fp_hints_new(path, 10);
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&policy);
    g_autoptr(GError) error = NULL;

    consume(h, s, 1, 0, three_vms, 3);
    consume(h, s, 2, 1, three_vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 0);
    g_assert_false(fp_hints_write(path, "{}", &error));
    g_assert_nonnull(strstr(error->message, "hints file '"));
    g_assert_nonnull(strstr(fp_hints_get_write_status(h)->error, g_strerror(ENOENT)));
    g_assert_cmpuint(fp_hints_get_write_status(h)->failures, ==, 2);
    g_assert_null(strchr(error->message, '\n'));
    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
    consume(h, s, 3, 2, three_vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 1);
    g_assert_null(fp_hints_get_write_status(h)->error);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_unlink(path);
    fp_test_rm_rf(sub);
    fp_test_rm_rf(dir);
}

/* Consumes the same snapshot until @writes writes, or @failures failed
 * ones, have ended and been noted (the file's fsync happens in a worker
 * thread). */
static void settle(FpHints *h, FpHostSummary *s, guint64 seq, double t, const FpTestVm *vms,
                   gsize n, guint64 writes, guint64 failures)
{
    for (int i = 0; i < 1000; i++) {
        consume(h, s, seq, t, vms, n);
        if (fp_hints_get_writes(h) >= writes && fp_hints_get_write_status(h)->failures >= failures)
            return;
        g_usleep(10000);
    }
    g_assert_cmpuint(fp_hints_get_writes(h), >=, writes);
    g_assert_cmpuint(fp_hints_get_write_status(h)->failures, >=, failures);
}

/* In a worker thread (the daemon's way): the same file, the same rules,
 * and a failure retried once the directory is there. */
static void test_async(void)
{
    g_autofree char *dir = fp_test_tmpdir("fp18-hints");
    g_autofree char *sub = g_build_filename(dir, "later", NULL);
    g_autofree char *path = g_build_filename(sub, "hints.json", NULL);
    g_autoptr(FpHints) h = fp_hints_new(path, 10);
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&policy);
    FpTestVm vms[G_N_ELEMENTS(three_vms)];
    g_autofree char *text = NULL;

    memcpy(vms, three_vms, sizeof(vms));
    fp_hints_set_async(h, TRUE);
    fp_hints_set_host(h, "compute-1");
    /* No directory yet: the failure is noted after the write ended. */
    settle(h, s, 1, 0, vms, 3, 0, 1);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 0);
    g_assert_nonnull(strstr(fp_hints_get_write_status(h)->error, g_strerror(ENOENT)));
    g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
    settle(h, s, 2, 1, vms, 3, 1, 1);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 1);
    g_assert_null(fp_hints_get_write_status(h)->error);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\"host\": \"compute-1\""));
    /* Nothing changed: not rewritten, however often consumed. */
    settle(h, s, 3, 2, vms, 3, 1, 1);
    consume(h, s, 4, 3, vms, 3);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 1);
    /* A class, then another: each written, one after the other, the
     * last one's text in the file. */
    vms[1].klass = FP_CLASS_MIXED;
    consume(h, s, 5, 4, vms, 3);
    vms[1].klass = FP_CLASS_LATENCY;
    consume(h, s, 6, 5, vms, 3);
    settle(h, s, 7, 6, vms, 3, 3, 1);
    g_assert_cmpuint(fp_hints_get_writes(h), ==, 3);
    g_clear_pointer(&text, g_free);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "\"class\": \"latency\""));
    g_clear_pointer(&h, fp_hints_free);
    g_unlink(path);
    fp_test_rm_rf(sub);
    fp_test_rm_rf(dir);
}

static void test_from_config(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(FpHints) h = NULL;

    h = fp_hints_new_from_config(c);
    g_assert_cmpstr(fp_hints_get_path(h), ==, "/run/footprintd/hints.json");
    c->placement.hints = FALSE;
    g_assert_null(fp_hints_new_from_config(c));
    /* Off is a NULL writer, which consumes nothing. */
    fp_hints_consume(NULL, NULL, NULL);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/hints/fixture/elephants", test_fixture_elephants);
    g_test_add_func("/hints/async", test_async);
    g_test_add_func("/hints/fixture/not-mature", test_fixture_not_mature);
    g_test_add_func("/hints/fixture/quiet-unknown-capacity", test_fixture_quiet_unknown_capacity);
    g_test_add_func("/hints/fixture/empty-host", test_fixture_empty_host);
    g_test_add_func("/hints/hostile-names", test_hostile_names);
    g_test_add_func("/hints/schema", test_schema);
    g_test_add_func("/hints/rewrite-when-changed", test_rewrite_when_changed);
    g_test_add_func("/hints/write-failure", test_write_failure);
    g_test_add_func("/hints/from-config", test_from_config);
    return g_test_run();
}
