/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every libFuzzer target of footprintd shares.  A target defines one
 * function,
 *
 *     static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);
 *
 * that hands @data to a parser exactly as the daemon would, and includes
 * this header after it.  The header turns it into LLVMFuzzerTestOneInput()
 * and adds the checks the sanitizers cannot make on their own:
 *
 *  - the error contract of STYLE.md: a parser that returns FALSE has set
 *    @error, one that returns TRUE has not;
 *  - error messages are one line of UTF-8 (they go to the journal and over
 *    D-Bus, where invalid UTF-8 is refused).  A target may define
 *    FP_FUZZ_CHECK_UTF8 to 0 before including this header, with a comment
 *    saying why.
 *
 * A broken contract aborts, which libFuzzer reports as a crash.
 *
 * Seed check: with FP_FUZZ_SEED_CHECK=1 in the environment, the binary
 * parses each file (or each file of each directory) named on the command
 * line once and exits.  A seed named "valid-*" must be accepted and one
 * named "invalid-*" refused, so a corpus that the parser no longer agrees
 * with is noticed instead of silently fuzzing only the error paths.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FP_FUZZ_CHECK_UTF8
#define FP_FUZZ_CHECK_UTF8 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

/* Checks one parser call against the error contract; aborts when broken. */
static void G_GNUC_UNUSED fp_fuzz_check_result(const char *what, gboolean ok, const GError *error)
{
    if (ok && error) {
        fprintf(stderr, "fuzz: %s returned TRUE and set an error: %s\n", what, error->message);
        abort();
    }
    if (!ok && !error) {
        fprintf(stderr, "fuzz: %s returned FALSE without setting an error\n", what);
        abort();
    }
    if (error && (!error->message || strchr(error->message, '\n') ||
                  (FP_FUZZ_CHECK_UTF8 && !g_utf8_validate(error->message, -1, NULL)))) {
        fprintf(stderr, "fuzz: %s: error message is not one line of UTF-8: %s\n", what,
                error->message ? error->message : "(null)");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    gboolean ok = fp_fuzz_one(data, size, &error);

    fp_fuzz_check_result("fp_fuzz_one", ok, error);
    return 0;
}

static int fp_fuzz_compare_paths(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static gboolean fp_fuzz_seed_check_file(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *data = NULL;
    g_autoptr(GError) error = NULL;
    gsize len = 0;
    gboolean ok;

    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "seed-check: %s\n", error->message);
        return FALSE;
    }
    ok = fp_fuzz_one((const guint8 *)data, len, &error);
    fp_fuzz_check_result(path, ok, error);
    if (g_str_has_prefix(base, "valid-") && !ok) {
        fprintf(stderr, "seed-check: %s: valid seed refused: %s\n", path, error->message);
        return FALSE;
    }
    if (g_str_has_prefix(base, "invalid-") && ok) {
        fprintf(stderr, "seed-check: %s: invalid seed accepted\n", path);
        return FALSE;
    }
    printf("seed-check: %s: %s%s%s\n", path, ok ? "accepted" : "refused", ok ? "" : ": ",
           ok ? "" : error->message);
    return TRUE;
}

/* The signature is libFuzzer's; argc cannot be const. */
/* cppcheck-suppress constParameter */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    guint failed = 0, seen = 0;

    if (!g_getenv("FP_FUZZ_SEED_CHECK"))
        return 0;
    for (int i = 1; i < *argc; i++) {
        const char *arg = (*argv)[i];

        if (arg[0] == '-')
            continue;
        if (g_file_test(arg, G_FILE_TEST_IS_DIR)) {
            g_autoptr(GDir) dir = g_dir_open(arg, 0, NULL);
            g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
            const char *name;

            while (dir && (name = g_dir_read_name(dir)))
                g_ptr_array_add(names, g_build_filename(arg, name, NULL));
            g_ptr_array_sort(names, fp_fuzz_compare_paths);
            for (guint n = 0; n < names->len; n++, seen++)
                failed += !fp_fuzz_seed_check_file(g_ptr_array_index(names, n));
        } else {
            failed += !fp_fuzz_seed_check_file(arg);
            seen++;
        }
    }
    printf("seed-check: %u seeds, %u failed\n", seen, failed);
    exit(failed || !seen ? 1 : 0);
}
