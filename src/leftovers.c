/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a footprintd that died left behind: the temporary files of writes
 * it was killed in the middle of.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "atomic-file.h"
#include "conntrack.h"
#include "footprints.h"
#include "leftovers.h"

/**
 * fp_leftovers_remove_temps:
 * @config: the configuration (state, runtime and metrics paths)
 *
 * Removes the temporary files a writer killed mid-write left next to the
 * files footprintd replaces (atomic-file.h).  Call it under the instance
 * lock, before anything writes them.
 *
 * Returns: how many were removed
 */
guint fp_leftovers_remove_temps(const FpConfig *config)
{
    g_autofree char *state = g_build_filename(config->state_dir, FP_FOOTPRINTS_STATE_FILE, NULL);
    g_autofree char *acct = g_build_filename(config->runtime_dir, FP_CONNTRACK_ACCT_SAVED, NULL);
    guint n = fp_atomic_file_remove_stale(state) + fp_atomic_file_remove_stale(acct);

    if (config->metrics_textfile)
        n += fp_atomic_file_remove_stale(config->metrics_textfile);
    return n;
}
