/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "footprint.h"

typedef struct fp_flow_key FpFlowKey;

typedef enum {
    FP_ELEPHANT_NONE,
    FP_ELEPHANT_BY_BPF,   /* the kernel program saw the threshold crossed */
    FP_ELEPHANT_BY_SWEEP, /* user space saw it between two conntrack dumps */
} FpElephantSource;

#define FP_FLOW_SAMPLES 10
/* A quiet flow is queried at least every 2^FP_FLOW_QUIET_MAX sweeps. */
#define FP_FLOW_QUIET_MAX 3

/* One flow as footprintd knows it: conntrack's counters plus what the
 * kernel program saw (devices, first packet, elephant). */
typedef struct {
    FpFlowKey key;
    guint64 bytes[2]; /* per direction (original, reply), conntrack's counters */
    guint64 packets[2];
    gint64 first_seen_us; /* CLOCK_MONOTONIC µs */
    gint64 last_seen_us;  /* last time the counters moved */
    gint64 updated_us;    /* last time conntrack reported the flow */
    guint32 in_ifindex[2];
    guint32 out_ifindex[2];
    gboolean has_devices;
    FpElephantSource elephant;
    gint64 elephant_us;
    double rate_bps[2]; /* bytes/s over the last sweep */
    guint generation;   /* the last sweep that reported it */
    guint born;         /* the sweep it appeared in */
    /* Bytes moved between conntrack's last two reports of it (see
     * fp_counter_delta()), and the sweep of the later report. */
    guint64 delta[2];
    guint delta_generation;
    /* Sweeps that query flow by flow ask about a flow whose counters stood
     * still at its last `quiet` reports only every 2^quiet sweeps. */
    guint quiet;
    guint next_query; /* the sweep (generation) its next query is due at */
    /* Taken back after the table let it go (fp_flow_table_take_back()):
     * its next report is a new base, not bytes moved. */
    gboolean rebase;
    /* Sweep-side detector: (time, total bytes) samples within the window. */
    guint n_samples;
    gint64 sample_us[FP_FLOW_SAMPLES];
    guint64 sample_bytes[FP_FLOW_SAMPLES];
} FpFlow;

typedef struct _FpFlowTable FpFlowTable;

/* Flows removed and not yet taken (fp_flow_table_take_ended()); beyond,
 * the oldest are forgotten and counted. */
#define FP_FLOW_TABLE_MAX_ENDED 65536u

/**
 * fp_counter_delta:
 * @now: a counter now
 * @before: the same counter at the previous report
 *
 * The one rule for conntrack counters: they only grow while an entry
 * lives, so a smaller one belongs to a new entry with the same tuple and
 * counts in full.
 *
 * Returns: what moved since @before
 */
static inline guint64 fp_counter_delta(guint64 now, guint64 before)
{
    return now >= before ? now - before : now;
}

FpFlowTable *fp_flow_table_new(guint64 elephant_bytes, gint64 window_us);
void fp_flow_table_free(FpFlowTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpFlowTable, fp_flow_table_free)

guint fp_flow_table_begin_sweep(FpFlowTable *table, gint64 now_us);
void fp_flow_table_set_max(FpFlowTable *table, guint max);
void fp_flow_table_set_partial(FpFlowTable *table, gboolean partial);
gboolean fp_flow_table_is_partial(FpFlowTable *table);
void fp_flow_table_get_counts(FpFlowTable *table, guint64 *refused, guint64 *evicted);
guint fp_flow_table_make_room(FpFlowTable *table);
FpFlow *fp_flow_table_take_back(FpFlowTable *table, const FpFlowKey *key, gint64 now_us);
FpFlow *fp_flow_table_ensure(FpFlowTable *table, const FpFlowKey *key, gint64 now_us,
                             gboolean *created);
FpFlow *fp_flow_table_ensure_any(FpFlowTable *table, const FpFlowKey *key, gint64 now_us,
                                 gboolean *created);
FpFlow *fp_flow_table_observe(FpFlowTable *table, const FpFlowKey *key, const guint64 bytes[2],
                              const guint64 packets[2], gint64 now_us);
guint fp_flow_table_end_sweep(FpFlowTable *table);
void fp_flow_table_abort_sweep(FpFlowTable *table);
GArray *fp_flow_table_due(FpFlowTable *table, guint max, guint *late);
guint fp_flow_table_end_query_sweep(FpFlowTable *table, GArray *queried);
void fp_flow_table_query_soon(FpFlowTable *table, FpFlow *flow);
FpFlow *fp_flow_table_lookup(FpFlowTable *table, const FpFlowKey *key);
void fp_flow_table_set_devices(FpFlow *flow, const guint32 in_ifindex[2],
                               const guint32 out_ifindex[2]);
void fp_flow_table_mark_elephant(FpFlowTable *table, FpFlow *flow, FpElephantSource source,
                                 gint64 when_us);
gboolean fp_flow_table_remove(FpFlowTable *table, const FpFlowKey *key);
guint fp_flow_table_size(FpFlowTable *table);
guint fp_flow_table_get_generation(FpFlowTable *table);
GPtrArray *fp_flow_table_take_ended(FpFlowTable *table, guint64 *forgotten);
guint fp_flow_table_count_elephants(FpFlowTable *table);
GPtrArray *fp_flow_table_list(FpFlowTable *table);
GPtrArray *fp_flow_table_list_unsorted(FpFlowTable *table);

/* Where a page of the listing ends: the last flow's bytes and key. */
typedef struct {
    guint64 bytes;
    FpFlowKey key;
} FpFlowCursor;

typedef gboolean (*FpFlowFilterFunc)(const FpFlow *flow, gpointer user_data);

GPtrArray *fp_flow_table_page(FpFlowTable *table, FpFlowFilterFunc filter, gpointer filter_data,
                              const FpFlowCursor *after, guint limit, FpFlowCursor *next,
                              gboolean *more);

guint fp_flow_key_hash(gconstpointer key);
gboolean fp_flow_key_equal(gconstpointer a, gconstpointer b);
void fp_flow_key_format(const FpFlowKey *key, char *src, gsize src_len, char *dst, gsize dst_len);
const char *fp_flow_proto_name(guint8 proto, char *buf, gsize len);
