/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * conntrack-scan: one dump of a conntrack table too big to dump on the
 * main loop, in a worker thread of its own, keeping only the biggest
 * flows (a bounded heap): the ctnetlink fallback's way to find the
 * elephants among a million entries without holding the loop, nor a copy
 * of every entry.
 */
#pragma once

#include <glib.h>

#include "conntrack.h"

G_BEGIN_DECLS

typedef struct _FpCtScan FpCtScan;

/**
 * FpCtScanResult:
 * @entries: the conntrack entries the dump reported
 * @kept: of those, kept: the biggest, at most the scan's @keep
 * @cpu_us: the worker's CPU time for the dump (the kernel's side of it
 *     included: ctnetlink fills the dump in the reader's recvmsg)
 * @wall_us: its wall-clock time
 */
typedef struct {
    guint64 entries;
    guint kept;
    gint64 cpu_us;
    gint64 wall_us;
} FpCtScanResult;

FpCtScan *fp_ct_scan_start(guint keep, guint64 min_bytes, GError **error);
gboolean fp_ct_scan_done(FpCtScan *scan);
GArray *fp_ct_scan_finish(FpCtScan *scan, FpCtScanResult *result, GError **error);
void fp_ct_scan_free(FpCtScan *scan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpCtScan, fp_ct_scan_free)

G_END_DECLS
