/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wiring of footprintd's parts (agent.h).  Arrows that must never
 * exist, so that each part stays testable alone: the learner knows no
 * output; sensing knows no VM; parsing knows no connection; footprintctl
 * talks to the daemon only over D-Bus.
 */
#include "config.h"

#include <stdlib.h>
#include <net/if.h>

#include "agent.h"
#include "attribution.h"
#include "loop-watch.h"

/* One elephant is one log line; a guest can make hundreds a second. */
#define ELEPHANT_LOG_PER_SECOND 10

/* The summary of elephant lines a burst suppressed, once its second is over. */
static void say_suppressed(FpAgent *a, guint64 n)
{
    if (n)
        g_message("elephant: %" G_GUINT64_FORMAT " more elephant lines suppressed (at most %u a "
                  "second; footprintctl flows --elephants lists them all)",
                  n, fp_log_limit_get_per_second(a->elephant_log));
}

/* Elephant events: the bus and the tuner at once, the log within its
 * rate limit. */
static void on_elephant(FpFlow *flow, gpointer user_data)
{
    FpAgent *a = user_data;
    char src[64], dst[64], pbuf[8];
    FpFlowAttribution attr;
    g_autofree char *desc = NULL;
    guint64 suppressed = 0;
    gboolean log = fp_log_limit_take(a->elephant_log, g_get_monotonic_time(), &suppressed);

    say_suppressed(a, suppressed);
    if (a->dbus)
        fp_dbus_emit_elephant(a->dbus, flow);
    if (a->tuner)
        fp_tuner_elephant(a->tuner, flow);
    if (!log)
        return;
    fp_flow_key_format(&flow->key, src, sizeof(src), dst, sizeof(dst));
    fp_attribute_flow(fp_inventory_get_index(a->inventory), flow, &attr);
    desc = fp_attribution_describe(&attr);
    g_message("elephant: %s %s:%u -> %s:%u (%" G_GUINT64_FORMAT " bytes, seen by %s): %s",
              fp_flow_proto_name(flow->key.proto, pbuf, sizeof(pbuf)), src, flow->key.sport, dst,
              flow->key.dport, flow->bytes[0] + flow->bytes[1],
              flow->elephant == FP_ELEPHANT_BY_BPF ? "bpf" : "sweep", desc);
}

/* The metadata writer found an operator's pin: the learner follows it. */
/* The learner's per-device flow births: the kernel's counters. */
static gboolean births_of(guint32 ifindex, guint64 births[2], gpointer user_data)
{
    const FpDeviceCounts *d = fp_sense_get_device(user_data, ifindex);

    if (!d)
        return FALSE;
    births[0] = d->births[0];
    births[1] = d->births[1];
    return TRUE;
}

/* The learner's tap bytes: the device's own counters, as the kernel keeps
 * them (host side: what it received is what the VM sent). */
static gboolean tap_bytes_of(guint32 ifindex, guint64 bytes[2], gpointer user_data)
{
    static const char *const which[2] = {"rx_bytes", "tx_bytes"};
    char name[IF_NAMESIZE];

    if (!if_indextoname(ifindex, name))
        return FALSE;
    for (int i = 0; i < 2; i++) {
        g_autofree char *path = g_strdup_printf("/sys/class/net/%s/statistics/%s", name, which[i]);
        g_autofree char *text = NULL;

        if (!g_file_get_contents(path, &text, NULL, NULL) ||
            !g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, G_MAXUINT64, &bytes[i], NULL))
            return FALSE;
    }
    return TRUE;
}

static void on_pin_found(const char *uuid, FpClass pin, gpointer user_data)
{
    FpAgent *a = user_data;

    fp_footprints_follow_pin(a->learner, uuid, pin);
}

/**
 * fp_agent_init:
 * @agent: (out caller-allocates): zeroed storage
 * @config: the configuration (borrowed; must outlive @agent)
 * @error: return location for a #GError
 *
 * Creates the parts: the flow table, sensing (which touches the host:
 * hooks, nf_conntrack_acct), the inventory (not connected yet), the learner
 * with its state file restored, and the consumers.
 *
 * Returns: %FALSE when sensing cannot start (@agent is then cleared)
 */
gboolean fp_agent_init(FpAgent *a, const FpConfig *config, GError **error)
{
    g_autoptr(GError) local = NULL;

    a->config = config;
    a->elephant_log = fp_log_limit_new(ELEPHANT_LOG_PER_SECOND);
    a->table = fp_flow_table_new(config->elephant_bytes,
                                 (gint64)config->elephant_window_s * G_USEC_PER_SEC);
    a->sense = fp_sense_new(config, a->table, error);
    if (a->sense == NULL) {
        fp_agent_clear(a);
        return FALSE;
    }
    fp_sense_set_elephant_func(a->sense, on_elephant, a);
    a->inventory = fp_inventory_new(config->libvirt_uri);
    a->learner =
        fp_footprints_new(&config->footprint, config->state_dir, config->forget_after_days);
    fp_footprints_set_save_interval(a->learner, config->save_interval_s);
    /* The saves' fsync must not hold the main loop (a clean stop still
     * waits for its own). */
    fp_footprints_set_async(a->learner, TRUE);
    if (fp_sense_counts_devices(a->sense))
        fp_footprints_set_births_func(a->learner, births_of, a->sense);
    fp_footprints_set_tap_bytes_func(a->learner, tap_bytes_of, NULL);
    if (!fp_footprints_restore(a->learner, &local))
        g_message("%s; starting without learnt footprints", local->message);
    a->libvirt = fp_libvirt_publisher_new(&config->footprint, a->inventory);
    fp_libvirt_publisher_set_pin_found_func(a->libvirt, on_pin_found, a);
    a->prometheus = fp_prometheus_new(config->metrics_textfile, config->metrics_interval_s);
    /* The tuner first undoes what a crashed run left (its journal).  When
     * it cannot run at all, the agent still observes and says why. */
    g_clear_error(&local);
    a->tuner = fp_tuner_new(config, &local);
    if (a->tuner == NULL)
        g_message("tuning: unavailable: %s", local->message);
    else
        fp_tuner_set_libvirt(a->tuner, (FpConnectionFunc)fp_inventory_get_connection, a->inventory);
    {
        FpHostSummaryPolicy policy;

        fp_host_summary_policy_from_config(&policy, &config->placement);
        a->summary = fp_host_summary_new(&policy);
    }
    a->hints = fp_hints_new_from_config(config);
    /* Its fsync must not hold the main loop. */
    if (a->hints != NULL)
        fp_hints_set_async(a->hints, TRUE);
    g_clear_error(&local);
    a->placement = fp_placement_new(config, &local);
    if (a->placement == NULL)
        g_message("placement: unavailable: %s", local->message);
    return TRUE;
}

/**
 * fp_agent_export:
 * @agent: an agent
 * @bus: the system bus
 * @error: return location for a #GError
 *
 * Exports the D-Bus object (the caller owns the name).
 */
gboolean fp_agent_export(FpAgent *a, GDBusConnection *bus, GError **error)
{
    a->dbus = fp_dbus_new(bus, a->table, a->inventory, a->learner, a->libvirt, error);
    if (a->dbus != NULL && a->tuner != NULL)
        fp_dbus_set_tuner(a->dbus, a->tuner);
    if (a->dbus != NULL)
        fp_dbus_set_sense(a->dbus, a->sense);
    if (a->dbus != NULL && a->last != NULL)
        fp_dbus_consume(a->dbus, a->last);
    return a->dbus != NULL;
}

/**
 * fp_agent_start:
 * @agent: an agent
 *
 * Connects to libvirt (in the background) and runs the first sweep.
 */
void fp_agent_start(FpAgent *a)
{
    fp_inventory_start(a->inventory);
    fp_agent_sweep(a);
}

static void copy_write_status(FpFileWriteStatus *to, const FpFileWriteStatus *from)
{
    *to = *from;
    to->error = g_strdup(from->error);
}

static void fill_health(FpAgent *a, FpHealth *h)
{
    FpSenseStats st;
    FpInventoryStatus inv;

    if (a->sense != NULL) {
        fp_sense_get_stats(a->sense, &st);
        fp_health_set_sense(h, &st);
    }
    h->flows = fp_flow_table_size(a->table);
    h->elephants = fp_flow_table_count_elephants(a->table);
    fp_inventory_get_status(a->inventory, &inv);
    h->libvirt_uri = g_strdup(inv.uri);
    h->libvirt_connected = inv.connected;
    h->libvirt_error = g_strdup(inv.last_error);
    h->libvirt_connects = inv.connects;
    h->libvirt_events = inv.events;
    h->libvirt_resyncs = inv.resyncs;
    h->libvirt_domain_xml_errors = inv.domain_xml_errors;
    h->elephant_log_suppressed = fp_log_limit_get_suppressed_total(a->elephant_log);
    copy_write_status(&h->state_write, fp_footprints_get_write_status(a->learner));
    copy_write_status(&h->metrics_write, fp_prometheus_get_write_status(a->prometheus));
    if (a->hints != NULL)
        copy_write_status(&h->hints_write, fp_hints_get_write_status(a->hints));
    h->sweep_whole_max_us = a->sweep_whole_max_us;
    h->sweep_slowest = a->sweep_slowest;
    h->sweeps_overrun = a->sweeps_overrun;
    if (a->loop_watch != NULL)
        fp_loop_watch_get_stats(a->loop_watch, &h->loop);
    if (a->placement != NULL)
        fp_placement_fill_health(a->placement, h);
    h->vms = fp_vm_index_size(fp_inventory_get_index(a->inventory));
}

/* The host summary, and from it the hints file and Placement.  The
 * compute node's provider is named as nova-compute names it: libvirt's
 * hostname, asked once the connection is up. */
static void place(FpAgent *a, const FpSnapshot *snap)
{
    const FpHostFigures *figures;
    virConnectPtr conn;

    /* Without [placement] egress_capacity_mbit, the capacity is the shared
     * egress's rate as the tuner knows it. */
    if (a->config->placement.egress_capacity_mbit == 0 && a->tuner != NULL)
        fp_host_summary_set_capacity(a->summary, fp_tuner_egress_capacity(a->tuner));
    figures = fp_host_summary_consume(a->summary, snap);
    conn = fp_inventory_get_connection(a->inventory);

    if (!a->placement_host_set && conn != NULL) {
        char *host = virConnectGetHostname(conn);

        if (host != NULL) {
            if (a->placement != NULL)
                fp_placement_set_hypervisor_hostname(a->placement, host);
            if (a->hints != NULL && a->config->placement.provider == NULL)
                fp_hints_set_host(a->hints, host);
            free(host);
            a->placement_host_set = TRUE;
        }
    }
    if (a->hints != NULL)
        fp_hints_consume(a->hints, snap, figures);
    if (a->placement != NULL)
        fp_placement_consume(a->placement, snap, figures);
}

/* The learner's step: the snapshot of this sweep, with the agent's health
 * in it.  %NULL after a failed sensing: nothing is learnt nor published,
 * the last snapshot stays the one consumers and the bus see. */
static FpSnapshot *learn_step(FpAgent *a, const GError *sense_error)
{
    FpSnapshot *snap;

    if (sense_error != NULL) {
        /* Counters that did not move because they were not read would
         * push every VM towards idle: this sweep teaches nothing.  Said
         * once per reason, not at every sweep while it lasts. */
        if (g_strcmp0(a->sense_error, sense_error->message) != 0) {
            g_warning("%s; this sweep is not learnt from (said again only when this changes)",
                      sense_error->message);
            g_free(a->sense_error);
            a->sense_error = g_strdup(sense_error->message);
        }
        return NULL;
    }
    if (a->sense_error != NULL) {
        g_message("sensing works again (it failed with: %s)", a->sense_error);
        g_clear_pointer(&a->sense_error, g_free);
    }
    snap = fp_footprints_sweep(a->learner, fp_inventory_get_index(a->inventory), a->table,
                               g_get_monotonic_time(), g_get_real_time());
    fill_health(a, &snap->health);
    g_clear_pointer(&a->last, fp_snapshot_unref);
    a->last = snap;
    return snap;
}

/* Notes @name as the sweep's longest consumer if it took longer than the
 * others since @mark_us; the next one is timed from now. */
static void consumer_done(FpAgent *a, const char *name, gint64 *mark_us)
{
    gint64 now = g_get_monotonic_time();

    if (now - *mark_us > a->profile.consumer_us) {
        a->profile.consumer = name;
        a->profile.consumer_us = now - *mark_us;
    }
    *mark_us = now;
}

/* Each consumer in turn, from the sealed snapshot. */
static void publish_step(FpAgent *a, FpSnapshot *snap)
{
    gint64 mark = g_get_monotonic_time();

    fp_libvirt_publisher_consume(a->libvirt, snap);
    consumer_done(a, "libvirt metadata", &mark);
    fp_prometheus_consume(a->prometheus, snap);
    consumer_done(a, "metrics file", &mark);
    if (a->dbus)
        fp_dbus_consume(a->dbus, snap);
    consumer_done(a, "D-Bus", &mark);
    if (a->tuner)
        fp_tuner_consume(a->tuner, snap);
    consumer_done(a, "tuner", &mark);
    place(a, snap);
    consumer_done(a, "hints and Placement", &mark);
}

/**
 * fp_agent_sweep_step:
 * @agent: an agent
 *
 * One step of a sweep: a step of sensing (fp_sense_sweep_step()), then
 * learning, then the consumers, each a dispatch of its own when the main
 * loop runs them (fp_agent_sweep_in_steps()), so that no single one holds
 * the loop long.
 *
 * Returns: whether the sweep is over
 */
gboolean fp_agent_sweep_step(FpAgent *a)
{
    FpSweepProfile *p = &a->profile;
    gint64 cpu0, wait0, cpu1, wait1, t0;
    gboolean done = FALSE;

    fp_thread_sched(&cpu0, &wait0);
    t0 = g_get_monotonic_time();
    switch (a->sweep_stage) {
    case FP_AGENT_SWEEP_IDLE:
        memset(p, 0, sizeof(*p));
        a->sweep_start_us = t0;
        say_suppressed(a, fp_log_limit_flush(a->elephant_log, t0));
        a->sweep_stage = FP_AGENT_SWEEP_SENSE;
        /* fall through */
    case FP_AGENT_SWEEP_SENSE: {
        gboolean sensed = FALSE;
        FpSweepProfile sp;

        if (!fp_sense_sweep_step(a->sense, &sensed, &a->sweep_error))
            sensed = TRUE;
        fp_sense_get_profile(a->sense, &sp);
        for (int i = 0; i < FP_SWEEP_LEARN; i++)
            p->phase_us[i] = sp.phase_us[i];
        if (sensed)
            a->sweep_stage = FP_AGENT_SWEEP_LEARN;
        break;
    }
    case FP_AGENT_SWEEP_LEARN:
        a->sweep_snapshot = learn_step(a, a->sweep_error);
        p->phase_us[FP_SWEEP_LEARN] = g_get_monotonic_time() - t0;
        a->sweep_stage = FP_AGENT_SWEEP_PUBLISH;
        done = a->sweep_snapshot == NULL;
        break;
    case FP_AGENT_SWEEP_PUBLISH:
        publish_step(a, a->sweep_snapshot);
        p->phase_us[FP_SWEEP_PUBLISH] = g_get_monotonic_time() - t0;
        done = TRUE;
        break;
    }
    fp_thread_sched(&cpu1, &wait1);
    p->cpu_us += cpu1 - cpu0;
    p->wait_us += wait1 - wait0;
    if (done) {
        /* From its start to its end, the loop's other work between the
         * steps included; shown from the next sweep on (the snapshot is
         * sealed by now). */
        p->wall_us = g_get_monotonic_time() - a->sweep_start_us;
        if (p->wall_us > a->sweep_whole_max_us) {
            a->sweep_whole_max_us = p->wall_us;
            a->sweep_slowest = *p;
        }
        a->sweep_snapshot = NULL;
        g_clear_error(&a->sweep_error);
        a->sweep_stage = FP_AGENT_SWEEP_IDLE;
    }
    return done;
}

/**
 * fp_agent_sweep:
 * @agent: an agent
 *
 * One whole sweep at once: sense, learn, fill the health, hand the
 * snapshot to each consumer in turn.
 */
void fp_agent_sweep(FpAgent *a)
{
    while (!fp_agent_sweep_step(a))
        ;
}

static gboolean on_sweep_step(gpointer user_data)
{
    FpAgent *a = user_data;

    if (!fp_agent_sweep_step(a))
        return G_SOURCE_CONTINUE;
    g_clear_pointer(&a->sweep_source, g_source_unref);
    return G_SOURCE_REMOVE;
}

/**
 * fp_agent_sweep_in_steps:
 * @agent: an agent
 *
 * Starts a sweep whose steps the main loop runs one per dispatch, its
 * other sources served between them.  A sweep still under way is let
 * finish (counted in sweeps_overrun): the next starts at the next call.
 */
void fp_agent_sweep_in_steps(FpAgent *a)
{
    if (a->sweep_source != NULL) {
        a->sweeps_overrun++;
        return;
    }
    a->sweep_source = g_idle_source_new();
    /* As the sweep timer and D-Bus calls: taken in turn with them, after
     * the events (G_PRIORITY_HIGH). */
    g_source_set_priority(a->sweep_source, G_PRIORITY_DEFAULT);
    g_source_set_callback(a->sweep_source, on_sweep_step, a, NULL);
    g_source_set_name(a->sweep_source, "sweep step");
    g_source_attach(a->sweep_source, NULL);
}

/**
 * fp_agent_learn:
 * @agent: an agent
 * @sense_error: (nullable): why the sweep's sensing failed; %NULL: the
 *     flow table was just refreshed
 *
 * The rest of a sweep once sensing is done: learn, fill the health, hand
 * the snapshot to each consumer in turn.  After a failed sensing nothing
 * is learnt nor published: the last snapshot stays the one consumers and
 * the bus see.
 */
void fp_agent_learn(FpAgent *a, const GError *sense_error)
{
    FpSnapshot *snap = learn_step(a, sense_error);

    if (snap != NULL)
        publish_step(a, snap);
}

/**
 * fp_agent_reconfigure:
 * @agent: an agent
 *
 * The one place a configuration reloaded at run time (SIGHUP) reaches the
 * parts: its config (borrowed) already holds the new values of the keys
 * that apply at run time (fp_config_reload(); footprintd(8) lists them).
 */
void fp_agent_reconfigure(FpAgent *a)
{
    const FpConfig *c = a->config;

    g_autoptr(GError) error = NULL;

    fp_footprints_reconfigure(a->learner, &c->footprint, c->forget_after_days);
    fp_footprints_set_save_interval(a->learner, c->save_interval_s);
    fp_prometheus_reconfigure(a->prometheus, c->metrics_textfile, c->metrics_interval_s);
    if (a->tuner != NULL && !fp_tuner_reconfigure(a->tuner, c, &error))
        g_message("reload: tuning: %s", error->message);
}

/**
 * fp_agent_stop:
 * @agent: an agent
 *
 * What a clean stop does before the parts go: the learner's state saved,
 * the metrics file removed (node_exporter must not serve stale values).
 */
void fp_agent_stop(FpAgent *a)
{
    g_autoptr(GError) error = NULL;

    if (a->learner != NULL && !fp_footprints_save(a->learner, &error))
        g_message("%s", error->message);
    if (a->prometheus != NULL)
        fp_prometheus_stop(a->prometheus);
}

/**
 * fp_agent_clear:
 * @agent: an agent
 *
 * Frees the parts, consumers first: the bus object (it serves the tuner),
 * the tuner (which undoes every change it made), then sensing last (it
 * detaches the hooks and restores nf_conntrack_acct).
 */
void fp_agent_clear(FpAgent *a)
{
    if (a->sweep_source != NULL) {
        g_source_destroy(a->sweep_source);
        g_clear_pointer(&a->sweep_source, g_source_unref);
    }
    g_clear_error(&a->sweep_error);
    g_clear_pointer(&a->dbus, fp_dbus_free);
    g_clear_pointer(&a->placement, fp_placement_free);
    g_clear_pointer(&a->hints, fp_hints_free);
    g_clear_pointer(&a->summary, fp_host_summary_free);
    g_clear_pointer(&a->tuner, fp_tuner_free);
    g_clear_pointer(&a->prometheus, fp_prometheus_free);
    g_clear_pointer(&a->libvirt, fp_libvirt_publisher_free);
    g_clear_pointer(&a->last, fp_snapshot_unref);
    g_clear_pointer(&a->learner, fp_footprints_free);
    g_clear_pointer(&a->inventory, fp_inventory_free);
    g_clear_pointer(&a->sense, fp_sense_free);
    g_clear_pointer(&a->table, fp_flow_table_free);
    g_clear_pointer(&a->elephant_log, fp_log_limit_free);
    g_clear_pointer(&a->sense_error, g_free);
}
