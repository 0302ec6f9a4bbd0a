/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * publish-prometheus: write footprintd's metrics in the Prometheus text
 * exposition format (0.0.4) for node_exporter's textfile collector.
 *
 * The file is replaced atomically every time (atomic-file.h): written to a
 * hidden temporary file in the same directory (node_exporter reads only
 * "*.prom", so it never sees a half-written file), then renamed over the
 * old one.  It is removed when footprintd stops.  Label
 * values come from domain definitions (anyone who may define a domain
 * chooses its name): they are made valid UTF-8 and escaped as the format
 * requires (backslash, double quote, line feed).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "atomic-file.h"
#include "fp-error.h"
#include "publish-prometheus.h"

/**
 * fp_prometheus_escape_label:
 * @value: (nullable): a label value, any bytes
 *
 * Returns: (transfer full): @value as valid UTF-8 (invalid sequences
 * replaced by U+FFFD) with backslash, double quote and line feed escaped;
 * "" for %NULL.
 */
char *fp_prometheus_escape_label(const char *value)
{
    g_autofree char *valid = g_utf8_make_valid(value != NULL ? value : "", -1);
    GString *out = g_string_sized_new(strlen(valid) + 8);

    for (const char *p = valid; *p != '\0'; p++) {
        switch (*p) {
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        default:
            g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
}

static void fp_append_double(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (isnan(v))
        g_string_append(out, "NaN");
    else if (isinf(v))
        g_string_append(out, v > 0 ? "+Inf" : "-Inf");
    else {
        /* The shortest of %.15g..%.17g that reads back exactly: 0.93, not
         * 0.93000000000000005. */
        for (int precision = 15; precision <= 17; precision++) {
            char format[8];

            g_snprintf(format, sizeof(format), "%%.%dg", precision);
            g_ascii_formatd(buf, sizeof(buf), format, v);
            if (g_ascii_strtod(buf, NULL) == v)
                break;
        }
        g_string_append(out, buf);
    }
}

static void fp_header(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void fp_agent_counter(GString *out, const char *name, const char *help, guint64 v)
{
    fp_header(out, name, "counter", help);
    g_string_append_printf(out, "%s %" G_GUINT64_FORMAT "\n", name, v);
}

static void fp_agent_gauge(GString *out, const char *name, const char *help, double v)
{
    fp_header(out, name, "gauge", help);
    g_string_append_printf(out, "%s ", name);
    fp_append_double(out, v);
    g_string_append_c(out, '\n');
}

/* The labels that identify a VM, escaped, without braces. */
static char *fp_vm_labels(const FpPromVm *vm)
{
    g_autofree char *name = fp_prometheus_escape_label(vm->name);
    g_autofree char *uuid = fp_prometheus_escape_label(vm->uuid);

    if (vm->nova_instance_uuid != NULL && vm->nova_instance_uuid[0] != '\0') {
        g_autofree char *nova = fp_prometheus_escape_label(vm->nova_instance_uuid);

        return g_strdup_printf("domain=\"%s\",uuid=\"%s\",nova_instance_uuid=\"%s\"", name, uuid,
                               nova);
    }
    return g_strdup_printf("domain=\"%s\",uuid=\"%s\"", name, uuid);
}

typedef enum {
    FP_VM_RX_BYTES,
    FP_VM_TX_BYTES,
    FP_VM_RX_RATE,
    FP_VM_TX_RATE,
    FP_VM_FLOWS,
    FP_VM_FLOWS_STARTED,
    FP_VM_ELEPHANT_SHARE,
    FP_VM_CLASS,
    FP_VM_CONFIDENCE,
} FpVmMetric;

static const struct {
    const char *name;
    const char *type;
    const char *help;
} fp_vm_metrics[] = {
    [FP_VM_RX_BYTES] = {"footprintd_vm_rx_bytes_total", "counter",
                        "Bytes towards the VM (conntrack: IP header and payload) since the agent "
                        "started."},
    [FP_VM_TX_BYTES] = {"footprintd_vm_tx_bytes_total", "counter",
                        "Bytes from the VM since the agent started."},
    [FP_VM_RX_RATE] = {"footprintd_vm_learned_rx_bytes_per_second", "gauge",
                       "Learned rate towards the VM (EWMA over the footprint window)."},
    [FP_VM_TX_RATE] = {"footprintd_vm_learned_tx_bytes_per_second", "gauge",
                       "Learned rate from the VM (EWMA over the footprint window)."},
    [FP_VM_FLOWS] = {"footprintd_vm_flows", "gauge",
                     "Active flows of the VM by kind (elephant or mice)."},
    [FP_VM_FLOWS_STARTED] = {"footprintd_vm_flows_started_total", "counter",
                             "Flows of the VM started since the agent started."},
    [FP_VM_ELEPHANT_SHARE] = {"footprintd_vm_elephant_bytes_ratio", "gauge",
                              "Share of the VM's bytes in elephant flows (EWMA), 0 to 1."},
    [FP_VM_CLASS] = {"footprintd_vm_class_info", "gauge",
                     "The VM's footprint class (idle, latency, throughput, mixed, unknown); "
                     "pinned=\"true\" when set by the operator."},
    [FP_VM_CONFIDENCE] = {"footprintd_vm_class_confidence_ratio", "gauge",
                          "Confidence in the VM's footprint class, 0 to 1 (1 when pinned)."},
};

static void fp_append_vm_metric(GString *out, FpVmMetric m, const FpPromVm *vm, const char *labels)
{
    const char *name = fp_vm_metrics[m].name;
    g_autofree char *klass = NULL;

    switch (m) {
    case FP_VM_RX_BYTES:
        g_string_append_printf(out, "%s{%s} %" G_GUINT64_FORMAT "\n", name, labels, vm->rx_bytes);
        return;
    case FP_VM_TX_BYTES:
        g_string_append_printf(out, "%s{%s} %" G_GUINT64_FORMAT "\n", name, labels, vm->tx_bytes);
        return;
    case FP_VM_FLOWS:
        g_string_append_printf(out, "%s{%s,kind=\"elephant\"} %u\n", name, labels,
                               vm->elephant_flows);
        g_string_append_printf(out, "%s{%s,kind=\"mice\"} %u\n", name, labels, vm->mice_flows);
        return;
    case FP_VM_FLOWS_STARTED:
        g_string_append_printf(out, "%s{%s} %" G_GUINT64_FORMAT "\n", name, labels,
                               vm->flows_started);
        return;
    case FP_VM_CLASS:
        klass = fp_prometheus_escape_label(vm->klass != NULL ? vm->klass : "unknown");
        g_string_append_printf(out, "%s{%s,class=\"%s\",pinned=\"%s\"} 1\n", name, labels, klass,
                               vm->pinned ? "true" : "false");
        return;
    case FP_VM_RX_RATE:
    case FP_VM_TX_RATE:
    case FP_VM_ELEPHANT_SHARE:
    case FP_VM_CONFIDENCE:
        break;
    }
    g_string_append_printf(out, "%s{%s} ", name, labels);
    fp_append_double(out, m == FP_VM_RX_RATE          ? vm->rx_bps
                          : m == FP_VM_TX_RATE        ? vm->tx_bps
                          : m == FP_VM_ELEPHANT_SHARE ? vm->elephant_share
                                                      : vm->confidence);
    g_string_append_c(out, '\n');
}

/**
 * fp_prometheus_format:
 * @agent: the agent's health
 * @vms: (array length=n_vms) (nullable): the VMs
 * @n_vms: number of @vms
 *
 * Formats the metrics; every metric family once, with HELP and TYPE.  The
 * caller passes each VM once (a uuid twice would be a duplicate series).
 *
 * Returns: (transfer full): the file's contents.
 */
char *fp_prometheus_format(const FpPromAgent *agent, const FpPromVm *vms, gsize n_vms)
{
    GString *out = g_string_new(NULL);
    g_autofree char *backend = fp_prometheus_escape_label(agent->backend);
    g_autofree char *version = fp_prometheus_escape_label(agent->version);
    g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);

    fp_header(out, "footprintd_build_info", "gauge", "footprintd's version.");
    g_string_append_printf(out, "footprintd_build_info{version=\"%s\"} 1\n", version);
    fp_header(out, "footprintd_backend_info", "gauge", "The active sensing backend.");
    g_string_append_printf(out, "footprintd_backend_info{backend=\"%s\"} 1\n", backend);
    fp_header(out, "footprintd_bpf_run_time_seconds_total", "counter",
              "Time spent in footprintd's BPF programs (needs kernel.bpf_stats_enabled=1).");
    g_string_append(out, "footprintd_bpf_run_time_seconds_total ");
    fp_append_double(out, (double)agent->bpf_run_time_ns / 1e9);
    g_string_append_c(out, '\n');
    fp_agent_counter(out, "footprintd_bpf_runs_total",
                     "Runs of footprintd's BPF programs (needs kernel.bpf_stats_enabled=1).",
                     agent->bpf_run_count);
    fp_agent_counter(out, "footprintd_events_total", "Elephant events from the kernel program.",
                     agent->events);
    fp_agent_counter(out, "footprintd_events_dropped_total",
                     "Elephant events lost to a full ring buffer (caught by the next sweep).",
                     agent->events_dropped);
    fp_agent_counter(out, "footprintd_flows_evicted_total",
                     "Idle flows evicted from the kernel flow table.", agent->flows_evicted);
    fp_agent_counter(out, "footprintd_flows_table_full_total",
                     "Flows refused by a full kernel flow table.", agent->flows_table_full);
    fp_agent_counter(out, "footprintd_flows_log_lost_total",
                     "New flows whose devices were lost: the kernel's new-flow log overran.",
                     agent->flows_log_lost);
    fp_agent_counter(out, "footprintd_read_errors_total",
                     "Conntrack entries the kernel program could not read (flows or samples lost).",
                     agent->read_errors);
    fp_agent_counter(out, "footprintd_sweeps_total", "Conntrack sweeps done.", agent->sweeps);
    fp_agent_gauge(out, "footprintd_sweep_max_seconds",
                   "The longest sweep so far: sensing, learning and the consumers.",
                   agent->sweep_max_s);
    fp_agent_gauge(out, "footprintd_loop_dispatch_max_seconds",
                   "The longest the main loop was away from its poll (D-Bus calls and events "
                   "wait that long).",
                   agent->loop_dispatch_max_s);
    fp_agent_counter(out, "footprintd_loop_dispatches_slow_total",
                     "Main-loop dispatches over 50 ms.", agent->loop_dispatches_slow);
    fp_header(out, "footprintd_loop_run_queue_wait_seconds_total", "counter",
              "Time the main loop's thread was runnable but waited for a CPU.");
    g_string_append(out, "footprintd_loop_run_queue_wait_seconds_total ");
    fp_append_double(out, agent->loop_run_queue_wait_s);
    g_string_append_c(out, '\n');
    fp_agent_gauge(out, "footprintd_flows", "Flows footprintd tracks now.",
                   (double)agent->flows_active);
    if (agent->placement_state != NULL) {
        g_autofree char *state = fp_prometheus_escape_label(agent->placement_state);

        fp_header(out, "footprintd_placement_info", "gauge",
                  "The Placement client's state (off, syncing, synced, retrying).");
        g_string_append_printf(out, "footprintd_placement_info{state=\"%s\"} 1\n", state);
        fp_agent_counter(out, "footprintd_placement_failures_total",
                         "Failed attempts to update this host's traits in Placement.",
                         agent->placement_failures);
    }
    fp_agent_counter(out, "footprintd_destroy_events_lost_total",
                     "Conntrack destroy events lost (ended flows then age out instead).",
                     agent->destroy_events_lost);
    fp_agent_counter(out, "footprintd_elephant_log_suppressed_total",
                     "Elephant log lines over the limit (10 a second), not logged.",
                     agent->elephant_log_suppressed);
    fp_agent_counter(out, "footprintd_libvirt_domain_xml_errors_total",
                     "Running domains whose XML footprintd could not use (listed by uuid only).",
                     agent->libvirt_domain_xml_errors);
    fp_header(out, "footprintd_file_write_failures_total", "counter",
              "Failed writes of footprintd's files (the previous file stays whole).");
    g_string_append_printf(
        out,
        "footprintd_file_write_failures_total{file=\"state\"} %" G_GUINT64_FORMAT "\n"
        "footprintd_file_write_failures_total{file=\"metrics\"} %" G_GUINT64_FORMAT "\n"
        "footprintd_file_write_failures_total{file=\"hints\"} %" G_GUINT64_FORMAT "\n",
        agent->state_write_failures, agent->metrics_write_failures, agent->hints_write_failures);
    fp_header(out, "footprintd_file_write_failing", "gauge",
              "1 while the last write of the file failed (a full disk, a read-only directory).");
    g_string_append_printf(out,
                           "footprintd_file_write_failing{file=\"state\"} %d\n"
                           "footprintd_file_write_failing{file=\"metrics\"} %d\n"
                           "footprintd_file_write_failing{file=\"hints\"} %d\n",
                           agent->state_write_failing ? 1 : 0, agent->metrics_write_failing ? 1 : 0,
                           agent->hints_write_failing ? 1 : 0);
    fp_agent_gauge(out, "footprintd_conntrack_active",
                   "1 when conntrack sees traffic, 0 when traffic is invisible to footprintd.",
                   agent->conntrack_active ? 1 : 0);
    fp_agent_gauge(out, "footprintd_vms", "VMs footprintd knows.", (double)n_vms);

    for (gsize i = 0; i < n_vms; i++)
        g_ptr_array_add(labels, fp_vm_labels(&vms[i]));
    for (guint m = 0; m < G_N_ELEMENTS(fp_vm_metrics); m++) {
        if (n_vms == 0)
            break;
        fp_header(out, fp_vm_metrics[m].name, fp_vm_metrics[m].type, fp_vm_metrics[m].help);
        for (gsize i = 0; i < n_vms; i++)
            fp_append_vm_metric(out, (FpVmMetric)m, &vms[i], g_ptr_array_index(labels, i));
    }
    return g_string_free(out, FALSE);
}

static void fp_rows_of_snapshot(const FpSnapshot *snap, FpPromAgent *agent, FpPromVm *rows)
{
    const FpHealth *h = &snap->health;

    *agent = (FpPromAgent){
        .backend = fp_backend_to_string(h->sense.backend),
        .version = PACKAGE_VERSION,
        .bpf_run_time_ns = h->sense.bpf_run_time_ns,
        .bpf_run_count = h->sense.bpf_run_count,
        .events = h->sense.events,
        .events_dropped = h->sense.events_dropped,
        .flows_evicted = h->sense.flows_evicted_idle,
        .flows_table_full = h->sense.flows_table_full,
        .flows_log_lost = h->sense.flows_log_lost,
        .read_errors = h->sense.read_errors,
        .flows_active = h->flows,
        .sweeps = h->sense.sweeps,
        .conntrack_active = h->sense.conntrack_active,
        .placement_state = fp_placement_state_to_string(h->placement_state),
        .placement_failures = h->placement_failures,
        .destroy_events_lost = h->sense.destroy_events_lost,
        .elephant_log_suppressed = h->elephant_log_suppressed,
        .libvirt_domain_xml_errors = h->libvirt_domain_xml_errors,
        .state_write_failures = h->state_write.failures,
        .state_write_failing = h->state_write.error != NULL,
        .metrics_write_failures = h->metrics_write.failures,
        .metrics_write_failing = h->metrics_write.error != NULL,
        .hints_write_failures = h->hints_write.failures,
        .hints_write_failing = h->hints_write.error != NULL,
        .sweep_max_s = (double)h->sweep_whole_max_us / G_USEC_PER_SEC,
        .loop_dispatch_max_s = (double)h->loop.dispatch_max_us / G_USEC_PER_SEC,
        .loop_dispatches_slow = h->loop.slow,
        .loop_run_queue_wait_s = (double)h->loop.run_queue_wait_us / G_USEC_PER_SEC,
    };
    for (guint i = 0; i < snap->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(snap->vms, i);
        const FpFootprintTotals *t = &v->totals;

        rows[i] = (FpPromVm){
            .name = v->vm->name,
            .uuid = v->vm->uuid,
            .nova_instance_uuid = v->vm->nova ? v->vm->nova->instance_uuid : NULL,
            .rx_bytes = t->rx_bytes,
            .tx_bytes = t->tx_bytes,
            .rx_bps = v->explain.rx_bps,
            .tx_bps = v->explain.tx_bps,
            .elephant_flows = t->elephant_flows,
            .mice_flows =
                t->active_flows >= t->elephant_flows ? t->active_flows - t->elephant_flows : 0,
            .flows_started = t->flows,
            .elephant_share = v->explain.elephant_share,
            .klass = fp_class_to_string(v->klass),
            .pinned = v->pinned != FP_CLASS_UNKNOWN,
            .confidence = v->confidence,
        };
    }
}

/**
 * fp_prometheus_format_snapshot:
 * @snapshot: a sweep's snapshot, its health filled
 *
 * Returns: (transfer full): the file's contents for @snapshot
 */
char *fp_prometheus_format_snapshot(const FpSnapshot *snapshot)
{
    g_autofree FpPromVm *rows = g_new0(FpPromVm, snapshot->vms->len + 1);
    FpPromAgent agent;

    fp_rows_of_snapshot(snapshot, &agent, rows);
    return fp_prometheus_format(&agent, rows, snapshot->vms->len);
}

/**
 * fp_prometheus_write:
 * @path: the .prom file, e.g. %FP_PROMETHEUS_DEFAULT_PATH; its directory
 *     must exist
 * @agent: the agent's health
 * @vms: (array length=n_vms) (nullable): the VMs
 * @n_vms: number of @vms
 * @error: return location for an #FP_ERROR_IO
 *
 * Replaces @path atomically with fp_prometheus_format()'s output, mode
 * 0644 (node_exporter runs as another user).  Not fsync'ed: the file is
 * rewritten every interval and a crash loses nothing worth a disk flush.
 *
 * Returns: %TRUE on success; on failure @path is untouched and no
 * temporary file is left.
 */
gboolean fp_prometheus_write(const char *path, const FpPromAgent *agent, const FpPromVm *vms,
                             gsize n_vms, GError **error)
{
    g_autofree char *text = fp_prometheus_format(agent, vms, n_vms);

    return fp_prometheus_write_text(path, text, error);
}

/**
 * fp_prometheus_write_text:
 * @path: the .prom file; its directory must exist
 * @text: its new contents
 * @error: return location for an #FP_ERROR_IO
 *
 * The atomic replacement behind fp_prometheus_write().
 *
 * Returns: %TRUE on success; on failure @path is untouched and no
 * temporary file is left.
 */
gboolean fp_prometheus_write_text(const char *path, const char *text, GError **error)
{
    /* The temporary file is hidden and does not end in ".prom": the
     * collector ignores it. */
    return fp_atomic_file_write(path, "metrics file", text, strlen(text), 0644, FP_ATOMIC_FILE_NONE,
                                error);
}

/**
 * fp_prometheus_remove:
 * @path: the .prom file
 *
 * Removes the file when footprintd stops, so that node_exporter does not
 * serve its last values as if they were current.  A missing file is fine;
 * another failure is logged.
 */
void fp_prometheus_remove(const char *path)
{
    if (g_unlink(path) < 0 && errno != ENOENT)
        g_message("metrics file '%s': cannot remove it: %s", path, g_strerror(errno));
}

/* ---- the consumer ------------------------------------------------------- */

struct _FpPrometheus {
    char *path;
    gint64 interval_us;
    gint64 last_us;
    FpFileWriteStatus write; /* a failure is logged once per change */
};

/**
 * fp_prometheus_new:
 * @path: (nullable): the .prom file ([metrics] textfile); %NULL: none
 * @interval_s: least time between two writes ([metrics] interval)
 *
 * Returns: (transfer full): the metrics consumer of the sweeps' snapshots
 */
FpPrometheus *fp_prometheus_new(const char *path, guint interval_s)
{
    FpPrometheus *self = g_new0(FpPrometheus, 1);

    self->path = g_strdup(path);
    self->interval_us = (gint64)interval_s * G_USEC_PER_SEC;
    return self;
}

void fp_prometheus_free(FpPrometheus *self)
{
    if (self == NULL)
        return;
    g_free(self->path);
    fp_file_write_status_clear(&self->write);
    g_free(self);
}

/**
 * fp_prometheus_reconfigure:
 * @prometheus: the metrics consumer
 * @path: (nullable): the .prom file after a reload
 * @interval_s: the interval after a reload
 *
 * A file nobody updates any more is removed; the next snapshot is written.
 */
void fp_prometheus_reconfigure(FpPrometheus *self, const char *path, guint interval_s)
{
    if (self->path != NULL && g_strcmp0(self->path, path) != 0)
        fp_prometheus_remove(self->path);
    g_free(self->path);
    self->path = g_strdup(path);
    self->interval_us = (gint64)interval_s * G_USEC_PER_SEC;
    self->last_us = 0;
    fp_file_write_status_clear(&self->write);
    self->write = (FpFileWriteStatus){0};
}

/**
 * fp_prometheus_get_write_status:
 * @prometheus: the metrics consumer
 *
 * Returns: (transfer none): how the writes of the text file fare
 */
const FpFileWriteStatus *fp_prometheus_get_write_status(FpPrometheus *self)
{
    return &self->write;
}

/**
 * fp_prometheus_stop:
 * @prometheus: the metrics consumer
 *
 * At a clean stop: the file goes, so that node_exporter does not serve our
 * last values as current.
 */
void fp_prometheus_stop(FpPrometheus *self)
{
    if (self->path != NULL)
        fp_prometheus_remove(self->path);
}

/**
 * fp_prometheus_consume:
 * @prometheus: the metrics consumer
 * @snapshot: a sweep's snapshot, its health filled
 *
 * Writes the text file from @snapshot when the interval has passed since
 * the previous write (the first snapshot is always written).  A failure is
 * logged once per distinct problem: node_exporter may not be installed.
 */
void fp_prometheus_consume(FpPrometheus *self, const FpSnapshot *snapshot)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    if (self->path == NULL ||
        (self->last_us != 0 && snapshot->mono_us - self->last_us < self->interval_us))
        return;
    self->last_us = snapshot->mono_us;
    text = fp_prometheus_format_snapshot(snapshot);
    fp_prometheus_write_text(self->path, text, &error);
    fp_file_write_status_note(&self->write, "metrics file", self->path, error, snapshot->real_us);
}
