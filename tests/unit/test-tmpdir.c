/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scratch directories for unit tests that write files. */
#include "config.h"

#include <glib/gstdio.h>

#include "test-tmpdir.h"

/**
 * fp_test_tmpdir:
 * @prefix: the directory name's start, e.g. the test program's name
 *
 * Returns: (transfer full): a new empty directory under $TMPDIR
 */
char *fp_test_tmpdir(const char *prefix)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *tmpl = g_strdup_printf("%s-XXXXXX", prefix);
    char *dir = g_dir_make_tmp(tmpl, &error);

    g_assert_no_error(error);
    return dir;
}

/**
 * fp_test_rm_rf:
 * @dir: a directory made by fp_test_tmpdir()
 *
 * Removes @dir with everything under it (symbolic links are removed, not
 * followed).
 */
void fp_test_rm_rf(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *p = g_build_filename(dir, name, NULL);

        if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
            fp_test_rm_rf(p);
        else
            g_unlink(p);
    }
    g_rmdir(dir);
}

/**
 * fp_test_count_entries:
 * @dir: a directory
 *
 * Returns: how many entries it holds (temporary files left behind count)
 */
guint fp_test_count_entries(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    guint n = 0;

    while (g_dir_read_name(d) != NULL)
        n++;
    return n;
}
