/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agent: footprintd's parts and the one place that wires them.  A sweep is
 * one pass down the loop:
 *
 *   sense (conntrack + kernel program -> flow table)
 *   -> learn (flow table + VM index -> snapshot, footprints.c)
 *   -> the agent's health into the snapshot
 *   -> each consumer in turn: libvirt metadata, Prometheus, D-Bus, the tuner,
 *      the host summary, and from it the hints file and Placement
 *
 * and an elephant event goes from sensing to the log, the bus and the tuner
 * (which demotes the flow) at once.
 * No other file knows every part; adding a consumer is adding its file and
 * a line here (CONTRIBUTING.md, "Architecture").
 */
#pragma once

#include <gio/gio.h>

#include "dbus.h"
#include "flow-table.h"
#include "footprints.h"
#include "fp-config.h"
#include "hints.h"
#include "host-summary.h"
#include "inventory.h"
#include "log-limit.h"
#include "loop-watch.h"
#include "publish-libvirt.h"
#include "publish-placement.h"
#include "publish-prometheus.h"
#include "sense.h"
#include "snapshot.h"
#include "tuner.h"

G_BEGIN_DECLS

/**
 * FpAgent:
 * @config: the configuration (borrowed)
 * @table: the flow table
 * @sense: sensing
 * @inventory: the libvirt domains
 * @learner: the footprint learner
 * @libvirt: the metadata consumer
 * @prometheus: the metrics consumer
 * @tuner: (nullable): the tuner, %NULL when it cannot run (logged)
 * @summary: the host summary (elephant load, VMs per class, the trait)
 * @hints: (nullable): the hints file writer, %NULL when [placement] hints
 *     is off
 * @placement: (nullable): the Placement client, %NULL when it cannot run
 *     (logged); off (fp_placement_enabled()) without [placement] url
 * @dbus: (nullable): the bus object, once exported
 * @elephant_log: the elephant log lines' rate limit
 * @last: (nullable): the latest sweep's snapshot
 */
typedef enum {
    FP_AGENT_SWEEP_IDLE,
    FP_AGENT_SWEEP_SENSE,
    FP_AGENT_SWEEP_LEARN,
    FP_AGENT_SWEEP_PUBLISH,
} FpAgentSweepStage;

typedef struct {
    const FpConfig *config;
    FpFlowTable *table;
    FpSense *sense;
    FpInventory *inventory;
    FpFootprints *learner;
    FpLibvirtPublisher *libvirt;
    FpPrometheus *prometheus;
    FpTuner *tuner;
    FpHostSummary *summary;
    FpHints *hints;
    FpPlacement *placement;
    gboolean placement_host_set;
    FpDbus *dbus;
    FpLogLimit *elephant_log;
    FpSnapshot *last;
    char *sense_error;            /* the sensing failure last logged, until a sweep works */
    gint64 sweep_whole_max_us;    /* the longest whole sweep (sense, learn, consumers) */
    FpSweepProfile profile;       /* the last sweep's steps */
    FpSweepProfile sweep_slowest; /* the longest whole sweep's */
    FpLoopWatch *loop_watch;      /* (nullable): the main loop's, set by whoever runs the loop */
    /* A sweep under way (fp_agent_sweep_step()) */
    FpAgentSweepStage sweep_stage;
    gint64 sweep_start_us;
    GError *sweep_error;        /* its sensing's failure */
    FpSnapshot *sweep_snapshot; /* (transfer none): learnt, to publish */
    GSource *sweep_source;      /* (nullable): the loop runs its steps */
    guint64 sweeps_overrun;     /* sweeps due while one was still under way */
} FpAgent;

gboolean fp_agent_init(FpAgent *agent, const FpConfig *config, GError **error);
gboolean fp_agent_export(FpAgent *agent, GDBusConnection *bus, GError **error);
void fp_agent_start(FpAgent *agent);
void fp_agent_sweep(FpAgent *agent);
gboolean fp_agent_sweep_step(FpAgent *agent);
void fp_agent_sweep_in_steps(FpAgent *agent);
void fp_agent_learn(FpAgent *agent, const GError *sense_error);
void fp_agent_reconfigure(FpAgent *agent);
void fp_agent_stop(FpAgent *agent);
void fp_agent_clear(FpAgent *agent);

G_END_DECLS
