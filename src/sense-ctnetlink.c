/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fallback: conntrack alone, read over ctnetlink by sense.c's sweeps
 * (dumps with nf_conntrack_acct counters) and destroy events.  Nothing is
 * loaded into the kernel, so it runs wherever conntrack does; it sees no
 * devices and finds elephants only between two sweeps (the flow table's
 * detector), and every sweep dumps, as nothing tells it about new flows.
 */
#include "config.h"

#include "conntrack.h"
#include "sense-backend.h"

static gboolean probe(const FpConfig *config, GString *report)
{
    gboolean ok = fp_conntrack_available(NULL);

    g_string_append_printf(report, "ctnetlink fallback: %s\n", ok ? "yes" : "no");
    return ok;
}

static char *describe(gpointer state)
{
    return g_strdup("ctnetlink dumps with nf_conntrack_acct counters");
}

const FpSenseBackend fp_sense_backend_ctnetlink = {
    .id = FP_BACKEND_CTNETLINK,
    .probe = probe,
    .describe = describe,
};
