/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file under [agent] state_dir, as footprintd reads it at start.
 * footprintd wrote it, but a disk, an editor or another tool may have
 * damaged it: a file that is refused changes nothing, a bad entry is
 * skipped with a one-line note, and whatever is loaded saves and loads
 * back the same.
 */
#include "config.h"

#include <string.h>

#include "footprint-model.h"
#include "fp-error.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
    g_autoptr(FpFootprintSet) again = fp_footprint_set_new(NULL);
    g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) local = NULL;
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!fp_footprint_set_load_data(set, (const char *)data, size, "fuzz.state", skipped, error)) {
        g_assert_cmpuint(fp_footprint_set_size(set), ==, 0);
        return FALSE;
    }
    for (guint i = 0; i < skipped->len; i++) {
        const char *note = g_ptr_array_index(skipped, i);

        if (strchr(note, '\n') != NULL || !g_utf8_validate(note, -1, NULL))
            g_error("a note is not one line of UTF-8: %s", note);
    }
    g_assert_cmpuint(fp_footprint_set_size(set), <=, FP_FOOTPRINT_STATE_MAX_VMS);
    /* What we loaded, we write and read back whole. */
    text = fp_footprint_set_to_data(set, &len);
    g_ptr_array_set_size(skipped, 0);
    if (!fp_footprint_set_load_data(again, text, len, "again", skipped, &local))
        g_error("our own text is refused: %s\n%s", local->message, text);
    g_assert_cmpuint(skipped->len, ==, 0);
    g_assert_cmpuint(fp_footprint_set_size(again), ==, fp_footprint_set_size(set));
    return TRUE;
}
