/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the agent changes on the host is put back when it stops.  When it
 * dies instead (SIGKILL, the watchdog, a crash) and is not started again,
 * nothing would: footprintd --restore does it from the files the agent
 * keeps for that purpose, and the systemd unit runs it as ExecStopPost=
 * after every stop.  It is idempotent (a clean stop leaves it nothing to
 * do) and takes the instance lock first, so it never undoes what a running
 * agent needs.  The tuning journal will be replayed from here too.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "atomic-file.h"
#include "conntrack.h"
#include "footprints.h"
#include "fp-error.h"
#include "hints.h"
#include "instance-lock.h"
#include "leftovers.h"
#include "publish-prometheus.h"

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
    g_autofree char *hints = g_build_filename(config->runtime_dir, FP_HINTS_FILE_NAME, NULL);
    guint n = fp_atomic_file_remove_stale(state) + fp_atomic_file_remove_stale(acct) +
              fp_atomic_file_remove_stale(hints);

    if (config->metrics_textfile)
        n += fp_atomic_file_remove_stale(config->metrics_textfile);
    return n;
}

/**
 * fp_leftovers_restore:
 * @config: the configuration of the agent to clean up after
 * @report: lines saying what was done, for the operator
 * @error: return location for a #GError
 *
 * Unless a footprintd holds the runtime dir's lock (it puts things back
 * itself when it stops): puts back nf_conntrack_acct as it was before the
 * agent turned it on, removes the metrics file (node_exporter must not
 * serve a dead agent's last values as current) and the temporary files of
 * writes cut short.
 *
 * Returns: %FALSE when something could not be put back
 */
gboolean fp_leftovers_restore(const FpConfig *config, GString *report, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(FpInstanceLock) lock = NULL;
    g_autofree char *saved = g_build_filename(config->runtime_dir, FP_CONNTRACK_ACCT_SAVED, NULL);
    g_autofree char *value = NULL;
    guint temps;

    lock = fp_instance_lock_acquire(config->runtime_dir, NULL, &local);
    if (!lock && g_error_matches(local, FP_ERROR, FP_ERROR_BUSY)) {
        g_string_append_printf(report, "%s: it puts things back when it stops; nothing done\n",
                               local->message);
        return TRUE;
    }
    if (!lock) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (g_file_get_contents(saved, &value, NULL, NULL)) {
        if (!fp_conntrack_restore_acct(config->runtime_dir, error))
            return FALSE;
        g_string_append_printf(report, "net.netfilter.nf_conntrack_acct restored to %s\n",
                               g_strstrip(value));
    } else {
        g_string_append(report, "net.netfilter.nf_conntrack_acct: nothing saved to restore\n");
    }
    if (config->metrics_textfile && g_file_test(config->metrics_textfile, G_FILE_TEST_EXISTS)) {
        fp_prometheus_remove(config->metrics_textfile);
        g_string_append_printf(report, "metrics file '%s' removed\n", config->metrics_textfile);
    }
    temps = fp_leftovers_remove_temps(config);
    if (temps)
        g_string_append_printf(report, "%u temporary file(s) of interrupted writes removed\n",
                               temps);
    return TRUE;
}
