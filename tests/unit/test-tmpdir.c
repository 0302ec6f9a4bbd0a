/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Scratch directories for unit tests that write files. */
/* nftw()'s FTW_DEPTH and FTW_PHYS are XSI. */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <ftw.h>
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

static int remove_one(const char *path, const struct stat *st G_GNUC_UNUSED, int flag,
                      struct FTW *ftw G_GNUC_UNUSED)
{
    if (flag == FTW_DP)
        g_rmdir(path);
    else
        g_unlink(path);
    return 0;
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
    nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
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
