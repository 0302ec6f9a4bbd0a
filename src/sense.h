/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "fp-config.h"

typedef struct _FpSense FpSense;

/* What the agent reports about its eyes (D-Bus Status, metrics). */
typedef struct {
    FpBackend backend;
    const char *backend_reason; /* why this backend (owned by FpSense) */
    int hook_priority;
    guint64 flows_new;
    guint64 flows_table_full;
    guint64 flows_evicted_idle;
    guint64 events;
    guint64 events_dropped;
    guint64 destroy_events;
    guint64 destroy_events_lost;
    guint64 untracked_packets;
    guint64 samples;         /* packets the kernel program sampled */
    guint64 samples_skipped; /* of those, packets of flows known as elephants */
    guint64 checkpoints;     /* samples that moved a flow to a new checkpoint */
    guint64 read_errors;     /* conntrack entries the kernel program could not read */
    guint64 flows_log_lost;  /* new-flow records overwritten before they were read */
    guint64 sweeps;
    guint64 sweep_dumps;   /* sweeps that dumped conntrack (the others queried flow by flow) */
    guint64 sweep_queries; /* flows the queried sweeps asked conntrack about */
    guint64 sweep_queries_spared; /* and the flows they left alone (quiet, or their turn later) */
    gint64 sweep_last_us;         /* how long the last sweep held the main loop */
    gint64 sweep_max_us;
    guint64 bpf_run_time_ns;
    guint64 bpf_run_count;
    gint64 event_latency_p50_ns; /* threshold-crossing packet -> user space, -1: none yet */
    gint64 event_latency_p99_ns;
    guint event_latency_samples;
    gboolean conntrack_active;
    const char *conntrack_warning; /* NULL when conntrack sees traffic */
    gboolean acct_enabled_by_us;
} FpSenseStats;

typedef void (*FpSenseElephantFunc)(FpFlow *flow, gpointer user_data);

FpSense *fp_sense_new(const FpConfig *config, FpFlowTable *table, GError **error);
void fp_sense_free(FpSense *sense);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSense, fp_sense_free)
void fp_sense_set_elephant_func(FpSense *sense, FpSenseElephantFunc func, gpointer user_data);
gboolean fp_sense_sweep(FpSense *sense, GError **error);
void fp_sense_get_stats(FpSense *sense, FpSenseStats *stats);
gboolean fp_sense_decode_event(const void *data, gsize size, struct fp_event *event,
                               GError **error);
char *fp_sense_probe(const FpConfig *config);
