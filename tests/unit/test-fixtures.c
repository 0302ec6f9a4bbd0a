/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Text fixtures (test-fixtures.h). */
#include "config.h"

#include <string.h>

#include "test-fixtures.h"

typedef struct {
    char *dir;
    char *name;
    FpFixtureRun run;
} Fixture;

static void fixture_free(gpointer data)
{
    Fixture *f = data;

    g_free(f->dir);
    g_free(f->name);
    g_free(f);
}

/**
 * fp_test_data_dir:
 * @subdir: a directory of tests/data
 *
 * Returns: (transfer full): its path
 */
char *fp_test_data_dir(const char *subdir)
{
    const char *env = g_getenv("FP_TEST_DATA_DIR");

    return g_build_filename(env && *env ? env : FP_TEST_DATA_DIR, subdir, NULL);
}

static void test_fixture(gconstpointer data)
{
    const Fixture *f = data;
    g_autofree char *in = g_strdup_printf("%s/%s.in", f->dir, f->name);
    g_autofree char *out = g_strdup_printf("%s/%s.out", f->dir, f->name);
    g_autofree char *got = f->run(in);
    g_autofree char *want = NULL;
    g_autoptr(GError) error = NULL;

    if (g_getenv("FP_TEST_REGENERATE")) {
        g_assert_true(g_file_set_contents(out, got, -1, &error));
        return;
    }
    if (!g_file_get_contents(out, &want, NULL, &error))
        g_error("%s (FP_TEST_REGENERATE=1 writes it)", error->message);
    if (!g_str_equal(got, want)) {
        g_printerr("--- %s\n+++ got\n%s", out, got);
        g_error("%s: the output differs from %s.out", f->name, f->name);
    }
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/**
 * fp_test_add_fixtures:
 * @prefix: the test paths' prefix, e.g. "/planner"
 * @subdir: the fixtures' directory under tests/data
 * @run: what turns a NAME.in into the text NAME.out holds
 *
 * Adds one test per NAME.in, PREFIX/fixture/NAME, in name order.
 */
void fp_test_add_fixtures(const char *prefix, const char *subdir, FpFixtureRun run)
{
    g_autofree char *dir = fp_test_data_dir(subdir);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;

    g_assert_nonnull(d);
    while ((entry = g_dir_read_name(d)))
        if (g_str_has_suffix(entry, ".in"))
            g_ptr_array_add(names, g_strndup(entry, strlen(entry) - 3));
    g_ptr_array_sort(names, by_name);
    for (guint i = 0; i < names->len; i++) {
        Fixture *f = g_new0(Fixture, 1);
        g_autofree char *path = g_strdup_printf("%s/fixture/%s", prefix, (char *)names->pdata[i]);

        f->dir = g_strdup(dir);
        f->name = g_strdup(names->pdata[i]);
        f->run = run;
        g_test_add_data_func_full(path, f, test_fixture, fixture_free);
    }
}
