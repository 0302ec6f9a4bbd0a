/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * publish-prometheus: the node_exporter textfile collector file.  Takes
 * plain structs (filled by whoever owns the data: sense, inventory,
 * footprint), so it depends on none of them.
 */
#pragma once

#include <glib.h>

#include "snapshot.h"

G_BEGIN_DECLS

/* A contract: README, "Using it", and footprintd(8). */
#define FP_PROMETHEUS_DEFAULT_PATH "/var/lib/prometheus/node-exporter/footprintd.prom"

/**
 * FpPromVm:
 * @name: the domain name (any bytes; escaped and made valid UTF-8)
 * @uuid: the domain uuid
 * @nova_instance_uuid: (nullable): the Nova instance uuid, %NULL or "" when
 *     the domain is not a Nova instance (the label is then left out)
 * @rx_bytes: bytes towards the VM since the agent started (counter)
 * @tx_bytes: bytes from the VM since the agent started (counter)
 * @rx_bps: learned rate towards the VM, bytes/s (EWMA)
 * @tx_bps: learned rate from the VM, bytes/s (EWMA)
 * @elephant_flows: active elephant flows now
 * @mice_flows: active mice (non-elephant) flows now
 * @flows_started: flows started since the agent started (counter)
 * @elephant_share: share of bytes in elephant flows, 0..1 (EWMA)
 * @klass: the class in effect: "unknown", "idle", "latency", "throughput"
 *     or "mixed"
 * @pinned: the class is the operator's pin
 * @confidence: confidence in @klass, 0..1
 *
 * One VM's line of metrics.
 */
typedef struct {
    const char *name;
    const char *uuid;
    const char *nova_instance_uuid;
    guint64 rx_bytes;
    guint64 tx_bytes;
    double rx_bps;
    double tx_bps;
    guint elephant_flows;
    guint mice_flows;
    guint64 flows_started;
    double elephant_share;
    const char *klass;
    gboolean pinned;
    double confidence;
} FpPromVm;

/**
 * FpPromAgent:
 * @backend: the active sensing backend ("bpf-netfilter", "bpf-fentry", "ctnetlink")
 * @version: the agent's version
 * @bpf_run_time_ns: time spent in the BPF programs (kernel.bpf_stats_enabled;
 *     0 when off)
 * @bpf_run_count: runs of the BPF programs
 * @events: elephant events received from the ring buffer
 * @events_dropped: events lost to a full ring buffer
 * @flows_evicted: flows evicted from the kernel table for idleness
 * @flows_table_full: flows refused by a full kernel table
 * @flows_log_lost: new flows whose record in the kernel's log was
 *     overwritten before it was read (they have no devices)
 * @read_errors: conntrack entries the kernel program could not read
 * @flows_active: flows in the agent's table now
 * @sweeps: conntrack sweeps done
 * @sweep_max_s: the longest whole sweep so far (sense, learn, consumers)
 * @loop_dispatch_max_s: the longest the main loop was away from its poll
 * @loop_dispatches_slow: main-loop dispatches over 50 ms
 * @loop_run_queue_wait_s: the main loop's thread waiting for a CPU, so far
 * @conntrack_active: conntrack sees traffic
 * @placement_state: (nullable): the Placement client's state ("off",
 *     "syncing", "synced", "retrying"); %NULL leaves the metrics out
 * @placement_failures: failed Placement attempts
 * @destroy_events_lost: conntrack destroy events lost (a full socket buffer)
 * @elephant_log_suppressed: elephant log lines over the limit, not logged
 * @libvirt_domain_xml_errors: running domains whose XML could not be used
 * @state_write_failures: failed writes of the state file
 * @state_write_failing: the last write of the state file failed
 * @metrics_write_failures: failed writes of this file
 * @metrics_write_failing: the last write of this file failed
 * @hints_write_failures: failed writes of hints.json
 * @hints_write_failing: the last write of hints.json failed
 *
 * The agent's own health.
 */
typedef struct {
    const char *backend;
    const char *version;
    guint64 bpf_run_time_ns;
    guint64 bpf_run_count;
    guint64 events;
    guint64 events_dropped;
    guint64 flows_evicted;
    guint64 flows_table_full;
    guint64 flows_log_lost;
    guint64 read_errors;
    guint64 flows_active;
    guint64 sweeps;
    gboolean conntrack_active;
    const char *placement_state;
    guint64 placement_failures;
    guint64 destroy_events_lost;
    guint64 elephant_log_suppressed;
    guint64 libvirt_domain_xml_errors;
    guint64 state_write_failures;
    gboolean state_write_failing;
    guint64 metrics_write_failures;
    gboolean metrics_write_failing;
    guint64 hints_write_failures;
    gboolean hints_write_failing;
    double sweep_max_s;
    double loop_dispatch_max_s;
    guint64 loop_dispatches_slow;
    double loop_run_queue_wait_s;
} FpPromAgent;

char *fp_prometheus_format(const FpPromAgent *agent, const FpPromVm *vms, gsize n_vms);
gboolean fp_prometheus_write(const char *path, const FpPromAgent *agent, const FpPromVm *vms,
                             gsize n_vms, GError **error);
void fp_prometheus_remove(const char *path);
char *fp_prometheus_escape_label(const char *value);
char *fp_prometheus_format_snapshot(const FpSnapshot *snapshot);
gboolean fp_prometheus_write_text(const char *path, const char *text, GError **error);

/* ---- the consumer of each sweep's snapshot ------------------------------ */

typedef struct _FpPrometheus FpPrometheus;

FpPrometheus *fp_prometheus_new(const char *path, guint interval_s);
void fp_prometheus_free(FpPrometheus *prometheus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpPrometheus, fp_prometheus_free)
void fp_prometheus_consume(FpPrometheus *prometheus, const FpSnapshot *snapshot);
const FpFileWriteStatus *fp_prometheus_get_write_status(FpPrometheus *prometheus);
void fp_prometheus_reconfigure(FpPrometheus *prometheus, const char *path, guint interval_s);
void fp_prometheus_stop(FpPrometheus *prometheus);

G_END_DECLS
