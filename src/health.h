/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * health: the agent's own health, one struct filled once per sweep (sensing
 * counters, the libvirt connection, table sizes) that every output reads:
 * D-Bus GetStatus, the Prometheus file, Placement.  Pure data.
 */
#pragma once

#include <glib.h>

#include "atomic-file.h"
#include "fp-config.h"
#include "loop-watch.h"

G_BEGIN_DECLS

/**
 * FpSweepPhase:
 * @FP_SWEEP_EVENTS: reading the kernel program's events
 * @FP_SWEEP_NEW_FLOWS: the new-flow log into the flow table
 * @FP_SWEEP_CONNTRACK: conntrack's counters (queries flow by flow, or a dump)
 * @FP_SWEEP_MERGE: the kernel's flow map merged, the table's room made
 * @FP_SWEEP_DEVICES: the kernel's per-device counters
 * @FP_SWEEP_LEARN: the learner (and the health filled in)
 * @FP_SWEEP_PUBLISH: the consumers of the snapshot
 *
 * The steps of a sweep, timed each (#FpSweepProfile).
 */
typedef enum {
    FP_SWEEP_EVENTS,
    FP_SWEEP_NEW_FLOWS,
    FP_SWEEP_CONNTRACK,
    FP_SWEEP_MERGE,
    FP_SWEEP_DEVICES,
    FP_SWEEP_LEARN,
    FP_SWEEP_PUBLISH,
    FP_SWEEP_N_PHASES,
} FpSweepPhase;

/**
 * FpSweepProfile:
 * @wall_us: the sweep, wall-clock
 * @cpu_us: the thread's CPU time in it
 * @wait_us: its run-queue wait in it (runnable, no CPU free); the rest of
 *     @wall_us less @cpu_us is sleeping in the kernel (netlink, locks)
 * @phase_us: each step's wall-clock time
 * @consumer: (nullable): the consumer that took longest in
 *     %FP_SWEEP_PUBLISH (a static name)
 * @consumer_us: its wall-clock time
 *
 * Where one sweep's time went.
 */
typedef struct {
    gint64 wall_us;
    gint64 cpu_us;
    gint64 wait_us;
    gint64 phase_us[FP_SWEEP_N_PHASES];
    const char *consumer;
    gint64 consumer_us;
} FpSweepProfile;

char *fp_sweep_profile_format(const FpSweepProfile *profile);

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
    guint64 devstats_full;   /* device counts the kernel program lost: its device map was full */
    guint64 flows_refused;   /* new flows the agent's table did not take: [sense] flows_max */
    guint64 flows_let_go;    /* quiet flows the table let go to make room */
    guint64 sweep_dumps_skipped; /* dumps not done: conntrack too big to dump in a sweep */
    guint devices_counted;       /* devices the kernel program keeps counters for */
    /* The ctnetlink fallback's scans of a conntrack too big to dump in a
     * sweep (conntrack-scan.h): done, failed, and the last one's figures */
    guint64 scans;
    gboolean scan_running; /* one is under way now */
    guint64 scan_failures;
    guint64 scan_entries;    /* entries it read */
    guint scan_kept;         /* of those, the biggest it handed to the flow table */
    gint64 scan_cpu_us;      /* its worker's CPU time */
    gint64 scan_wall_us;     /* its wall-clock time (the main loop never waits for it) */
    gint64 scan_interval_us; /* from its end to the next one's start */
    guint64 scan_sweeps;     /* sweeps the loop began while it ran */
    guint64 sweeps;
    guint64 sweep_dumps;   /* sweeps that dumped conntrack (the others queried flow by flow) */
    guint64 sweep_queries; /* flows the queried sweeps asked conntrack about */
    guint64 sweep_queries_spared; /* and the flows they left alone (quiet, or their turn later) */
    gint64 sweep_last_us;         /* how long the last sweep held the main loop */
    gint64 sweep_max_us;
    gint64 sweep_max_cpu_us; /* the CPU time of the sweep that used the most (the rest of
                              * sweep_max_us is waiting: for conntrack, for a CPU) */
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
 * FpPlacementState:
 * @FP_PLACEMENT_STATE_OFF: the Placement client is off ([placement] url)
 * @FP_PLACEMENT_STATE_SYNCING: the first synchronisation is under way
 * @FP_PLACEMENT_STATE_SYNCED: Placement has the traits the host summary asks for
 * @FP_PLACEMENT_STATE_RETRYING: the last attempt failed (see
 *     @placement_error); the next one is due at @placement_retry_us
 *
 * Where the Placement client stands (publish-placement.c).
 */
typedef enum {
    FP_PLACEMENT_STATE_OFF,
    FP_PLACEMENT_STATE_SYNCING,
    FP_PLACEMENT_STATE_SYNCED,
    FP_PLACEMENT_STATE_RETRYING,
} FpPlacementState;

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
 * @libvirt_domain_xml_errors: running domains whose XML could not be used
 *     (listed by uuid and name only, with the reason)
 * @vms: running VMs known
 * @elephant_log_suppressed: elephant log lines over the limit, not logged
 * @state_write: how the writes of the state file fare (footprints.c); its
 *     @error is an owned copy
 * @metrics_write: how the writes of the metrics file fare; the same
 * @hints_write: how the writes of hints.json fare; the same
 * @placement_state: the Placement client's state
 * @placement_provider: (nullable): the resource provider's name (owned)
 * @placement_provider_uuid: (nullable): its uuid once found (owned)
 * @placement_traits: (nullable): our traits on it as last read or written,
 *     comma-separated, "" for none, %NULL when not known yet (owned)
 * @placement_error: (nullable): why the last attempt failed, one line;
 *     %NULL once an attempt succeeded (owned)
 * @placement_last_sync_us: g_get_real_time() of the last success, 0: never
 * @placement_last_error_us: g_get_real_time() of the last failure, 0: never
 * @placement_retry_us: g_get_real_time() when the next attempt is due after
 *     a failure, 0 when none is waiting
 * @placement_syncs: successful synchronisations
 * @placement_failures: failed attempts
 * @placement_conflicts: generation conflicts (409) retried
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
    guint64 libvirt_domain_xml_errors;
    guint vms;
    guint64 elephant_log_suppressed;
    FpFileWriteStatus state_write;
    FpFileWriteStatus metrics_write;
    FpFileWriteStatus hints_write;
    gint64 sweep_whole_max_us;    /* the longest whole sweep so far: sense, learn, consumers */
    FpSweepProfile sweep_slowest; /* where the time of that longest whole sweep went */
    guint64 sweeps_overrun;       /* sweeps due while the previous was still under way */
    FpLoopStats loop;             /* the main loop's responsiveness (loop-watch.h) */
    /* Placement: fp_placement_fill_health() */
    FpPlacementState placement_state;
    char *placement_provider;
    char *placement_provider_uuid;
    char *placement_traits;
    char *placement_error;
    gint64 placement_last_sync_us;
    gint64 placement_last_error_us;
    gint64 placement_retry_us;
    guint64 placement_syncs;
    guint64 placement_failures;
    guint64 placement_conflicts;
} FpHealth;

void fp_health_set_sense(FpHealth *health, const FpSenseStats *stats);
void fp_health_clear(FpHealth *health);
const char *fp_placement_state_to_string(FpPlacementState state);

G_END_DECLS
