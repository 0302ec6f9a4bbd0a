/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * atomic-file: a replaced file is the old one or the new one, never a
 * truncated one (a write that fails half-way, as on a full disk, leaves the
 * old file and no temporary); a writer killed mid-write leaves a temporary
 * file that fp_atomic_file_remove_stale() finds, and nothing else is
 * removed.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "atomic-file.h"
#include "fp-error.h"
#include "test-tmpdir.h"

#define BIG (1024 * 1024)

static void test_write(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-atomic-file");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    GStatBuf st;
    mode_t old_umask = umask(077);

    g_assert_true(
        fp_atomic_file_write(path, "test file", "one\n", 4, 0644, FP_ATOMIC_FILE_DURABLE, &error));
    g_assert_no_error(error);
    g_assert_true(
        fp_atomic_file_write(path, "test file", "two\n", 4, 0644, FP_ATOMIC_FILE_NONE, &error));
    umask(old_umask);
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "two\n");
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0644);
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 1);
    fp_test_rm_rf(dir);
}

/* A write that fails half-way (RLIMIT_FSIZE stands in for a full disk:
 * write() fails with EFBIG as it would with ENOSPC) keeps the old file and
 * leaves no temporary file. */
static void test_write_fails_half_way(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-atomic-file");
    g_autofree char *path = g_build_filename(dir, "footprintd.prom", NULL);
    g_autofree char *missing = g_build_filename(dir, "missing", "footprintd.prom", NULL);
    g_autofree char *text = NULL;
    g_autofree char *big = g_malloc0(BIG);
    g_autoptr(GError) error = NULL;
    struct rlimit old, small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    void (*old_handler)(int);

    g_assert_true(g_file_set_contents(path, "old\n", -1, NULL));
    g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
    small.rlim_max = old.rlim_max;
    old_handler = signal(SIGXFSZ, SIG_IGN);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &small), ==, 0);
    g_assert_false(
        fp_atomic_file_write(path, "metrics file", big, BIG, 0644, FP_ATOMIC_FILE_NONE, &error));
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
    signal(SIGXFSZ, old_handler);
    g_assert_error(error, FP_ERROR, FP_ERROR_IO);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "metrics file '"));
    g_assert_nonnull(strstr(error->message, "cannot write"));
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "old\n");
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 1);

    /* No directory: nothing created. */
    g_clear_error(&error);
    g_assert_false(
        fp_atomic_file_write(missing, "metrics file", "x", 1, 0644, FP_ATOMIC_FILE_NONE, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_IO);
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 1);
    fp_test_rm_rf(dir);
}

static void test_temp_names(void)
{
    static const struct {
        const char *name;
        gboolean temp;
    } cases[] = {
        {".footprints.tmp-Ab3dE9", TRUE},
        {".footprints.tmp-abcdef", TRUE},
        {"footprints", FALSE},
        {".footprints", FALSE},
        {"footprints.bad-20261206T120000Z", FALSE},
        {".footprints.tmp-Ab3dE", FALSE},
        {".footprints.tmp-Ab3dE99", FALSE},
        {".footprints.tmp-Ab.dE9", FALSE},
        {".footprints.tmp-Ab/dE9", FALSE},
        {"footprints.tmp-Ab3dE9", FALSE},
        {".footprints.Ab3dE9", FALSE},
        {".footprintsx.tmp-Ab3dE9", FALSE},
        {".other.tmp-Ab3dE9", FALSE},
        {"", FALSE},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (fp_atomic_file_is_temp_of(cases[i].name, "footprints") != cases[i].temp)
            g_error("'%s' taken as %s", cases[i].name, cases[i].temp ? "ours" : "not ours");
    }
    g_assert_true(fp_atomic_file_is_temp_of(".footprintd.prom.tmp-q1W2e3", "footprintd.prom"));
    g_assert_false(fp_atomic_file_is_temp_of(".footprintd.prom.tmp-q1W2e3", "footprints"));
}

/* A writer killed mid-write (SIGXFSZ here, SIGKILL or a watchdog abort in
 * real life) leaves its temporary file; the clean-up at start removes that,
 * and only that. */
static void test_killed_writer(void)
{
    g_autofree char *dir = g_strdup(g_getenv("FP_TEST_ATOMIC_DIR"));
    g_autofree char *path = NULL;

    if (g_test_subprocess()) {
        g_autofree char *big = g_malloc0(BIG);
        struct rlimit small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
        struct rlimit old, no_core = {0, 0};

        setrlimit(RLIMIT_CORE, &no_core);
        g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
        small.rlim_max = old.rlim_max;
        signal(SIGXFSZ, SIG_DFL);
        g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &small), ==, 0);
        path = g_build_filename(dir, "footprints", NULL);
        fp_atomic_file_write(path, "footprint state", big, BIG, 0644, FP_ATOMIC_FILE_NONE, NULL);
        g_error("the write was not cut short");
    }
    dir = fp_test_tmpdir("test-atomic-file");
    path = g_build_filename(dir, "footprints", NULL);
    g_assert_true(g_file_set_contents(path, "old\n", -1, NULL));
    g_setenv("FP_TEST_ATOMIC_DIR", dir, TRUE);
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 2);

    /* Neighbours that must survive the clean-up. */
    {
        g_autofree char *bad = g_build_filename(dir, "footprints.bad-20261206T120000Z", NULL);
        g_autofree char *other = g_build_filename(dir, ".other.tmp-Ab3dE9", NULL);
        g_autofree char *subdir = g_build_filename(dir, ".footprints.tmp-SubDir", NULL);
        g_autofree char *text = NULL;

        g_assert_true(g_file_set_contents(bad, "x", -1, NULL));
        g_assert_true(g_file_set_contents(other, "x", -1, NULL));
        g_assert_cmpint(g_mkdir(subdir, 0755), ==, 0);
        g_assert_cmpuint(fp_atomic_file_remove_stale(path), ==, 1);
        g_assert_cmpuint(fp_test_count_entries(dir), ==, 4);
        g_assert_true(g_file_test(bad, G_FILE_TEST_IS_REGULAR));
        g_assert_true(g_file_test(other, G_FILE_TEST_IS_REGULAR));
        g_assert_true(g_file_test(subdir, G_FILE_TEST_IS_DIR));
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
        g_assert_cmpstr(text, ==, "old\n");
        g_assert_cmpuint(fp_atomic_file_remove_stale(path), ==, 0);
    }
    fp_test_rm_rf(dir);
}

static void keep_message(const char *domain, GLogLevelFlags level, const char *message,
                         gpointer data)
{
    g_ptr_array_add(data, g_strdup(message));
}

/* A full disk fails every write until it is freed: the log hears of each
 * change once (a failure, another failure, written again), the status
 * holds the rest. */
static void test_write_status(void)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    guint handler = g_log_set_handler("footprintd", G_LOG_LEVEL_MESSAGE, keep_message, lines);
    g_autoptr(GError) full = g_error_new_literal(
        FP_ERROR, FP_ERROR_IO,
        "footprint state '/s/footprints': cannot write: No space left on device");
    g_autoptr(GError) ro = g_error_new_literal(FP_ERROR, FP_ERROR_IO,
                                               "footprint state '/s/footprints': cannot create a "
                                               "temporary file: Read-only file system");
    FpFileWriteStatus st = {0};

    fp_file_write_status_note(&st, "footprint state", "/s/footprints", NULL, 100);
    g_assert_cmpuint(lines->len, ==, 0);
    g_assert_null(st.error);
    g_assert_cmpint(st.last_ok_us, ==, 100);

    for (gint64 t = 200; t < 500; t += 100)
        fp_file_write_status_note(&st, "footprint state", "/s/footprints", full, t);
    g_assert_cmpuint(lines->len, ==, 1);
    g_assert_cmpstr(g_ptr_array_index(lines, 0), ==,
                    "footprint state '/s/footprints': cannot write: No space left on device; the "
                    "last complete file stays, and the write is retried (said again only when "
                    "this changes)");
    g_assert_cmpstr(st.error, ==, full->message);
    g_assert_cmpuint(st.failures, ==, 3);
    g_assert_cmpint(st.last_ok_us, ==, 100);

    fp_file_write_status_note(&st, "footprint state", "/s/footprints", ro, 500);
    fp_file_write_status_note(&st, "footprint state", "/s/footprints", ro, 600);
    g_assert_cmpuint(lines->len, ==, 2);
    g_assert_nonnull(strstr(g_ptr_array_index(lines, 1), "Read-only file system"));
    g_assert_cmpstr(st.error, ==, ro->message);

    fp_file_write_status_note(&st, "footprint state", "/s/footprints", NULL, 700);
    fp_file_write_status_note(&st, "footprint state", "/s/footprints", NULL, 800);
    g_assert_cmpuint(lines->len, ==, 3);
    g_assert_cmpstr(g_ptr_array_index(lines, 2), ==,
                    "footprint state '/s/footprints': written again, after 5 failed writes");
    g_assert_null(st.error);
    g_assert_cmpint(st.last_ok_us, ==, 800);
    g_assert_cmpuint(st.failures, ==, 5);
    g_log_remove_handler("footprintd", handler);
    fp_file_write_status_clear(&st);
}

/* Reaps until the writer has nothing under way; returns how many writes
 * ended, the last one's error in @error. */
static guint reap_all(FpAtomicWriter *w, GError **error)
{
    guint ended = 0;

    for (int i = 0; i < 1000; i++) {
        g_autoptr(GError) local = NULL;
        gint64 real_us = 0;

        if (fp_atomic_writer_reap(w, &local, &real_us)) {
            ended++;
            g_assert_cmpint(real_us, >, 0);
            g_clear_error(error);
            if (local != NULL)
                g_propagate_error(error, g_steal_pointer(&local));
            i = 0;
            continue;
        }
        g_usleep(5000);
        if (i > 200)
            break; /* nothing more after a second */
    }
    return ended;
}

/* The writer in a worker thread: contents given while a write is under
 * way wait for it, and only the latest of them is written; a failure
 * comes back from the reap; a drain drops what waits and waits for what
 * is under way. */
static void test_writer(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-atomic-file");
    g_autofree char *path = g_build_filename(dir, "hints.json", NULL);
    g_autofree char *missing = g_build_filename(dir, "missing", "hints.json", NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpAtomicWriter) w =
        fp_atomic_writer_new(path, "test file", 0644, FP_ATOMIC_FILE_DURABLE, "fp-test-write");
    g_autoptr(FpAtomicWriter) bad =
        fp_atomic_writer_new(missing, "test file", 0644, FP_ATOMIC_FILE_DURABLE, "fp-test-write");

    g_assert_false(fp_atomic_writer_reap(w, &error, NULL)); /* nothing under way */
    /* Not reaped in between: the first is under way for the writer until
     * it is, so the second waits and the third replaces it. */
    fp_atomic_writer_submit(w, g_strdup("one\n"), 4, 1);
    fp_atomic_writer_submit(w, g_strdup("two\n"), 4, 2);
    fp_atomic_writer_submit(w, g_strdup("three\n"), 6, 3);
    g_assert_cmpuint(reap_all(w, &error), ==, 2);
    g_assert_no_error(error);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "three\n");
    g_clear_pointer(&text, g_free);
    g_assert_cmpuint(fp_test_count_entries(dir), ==, 1);

    fp_atomic_writer_submit(bad, g_strdup("one\n"), 4, 1);
    g_assert_cmpuint(reap_all(bad, &error), ==, 1);
    g_assert_error(error, FP_ERROR, FP_ERROR_IO);
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, missing));
    g_clear_error(&error);

    fp_atomic_writer_submit(w, g_strdup("four\n"), 5, 4);
    fp_atomic_writer_submit(w, g_strdup("five\n"), 5, 5);
    fp_atomic_writer_drain(w);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "four\n");
    g_assert_true(fp_atomic_writer_reap(w, &error, NULL));
    g_assert_no_error(error);
    g_assert_false(fp_atomic_writer_reap(w, &error, NULL)); /* five was dropped */
    fp_test_rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/atomic-file/write", test_write);
    g_test_add_func("/atomic-file/write-fails-half-way", test_write_fails_half_way);
    g_test_add_func("/atomic-file/temp-names", test_temp_names);
    g_test_add_func("/atomic-file/killed-writer", test_killed_writer);
    g_test_add_func("/atomic-file/write-status", test_write_status);
    g_test_add_func("/atomic-file/writer", test_writer);
    return g_test_run();
}
