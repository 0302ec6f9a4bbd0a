/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * health: the agent's own health, one struct filled once per sweep (sensing
 * counters, the libvirt connection, table sizes) that every output reads:
 * D-Bus GetStatus, the Prometheus file, Placement.  Pure data.
 */
#pragma once

#include <glib.h>

#include "fp-config.h"

G_BEGIN_DECLS

/* What the agent reports about its eyes (filled by sense.c). */
typedef struct {
    FpBackend backend;
    const char *backend_reason; /* why this backend (owned by whoever filled it) */
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

/**
 * FpHealth:
 * @sense: sensing's counters; its strings point into @backend_reason and
 *     @conntrack_warning
 * @backend_reason: (nullable): owned copy
 * @conntrack_warning: (nullable): owned copy
 * @flows: flows in the agent's table
 * @elephants: of those, elephants
 * @libvirt_uri: the libvirt URI (owned)
 * @libvirt_connected: the connection to libvirtd is up
 * @libvirt_error: (nullable): why it is not, or why it was lost (owned)
 * @libvirt_connects: successful connections so far
 * @libvirt_events: domain events handled
 * @libvirt_resyncs: full resynchronisations
 * @vms: running VMs known
 *
 * The agent's health at one sweep.
 */
typedef struct {
    FpSenseStats sense;
    char *backend_reason;
    char *conntrack_warning;
    guint flows;
    guint elephants;
    char *libvirt_uri;
    gboolean libvirt_connected;
    char *libvirt_error;
    guint64 libvirt_connects;
    guint64 libvirt_events;
    guint64 libvirt_resyncs;
    guint vms;
} FpHealth;

void fp_health_set_sense(FpHealth *health, const FpSenseStats *stats);
void fp_health_clear(FpHealth *health);

G_END_DECLS
