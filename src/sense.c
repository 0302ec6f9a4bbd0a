/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Sensing: picks a backend at run time by trying them in order (see
 * sense-backend.h), keeps the flow table in step with conntrack (sweeps,
 * destroy events, nf_conntrack_acct) and says when conntrack sees nothing.
 * What a backend adds beyond conntrack (devices, new flows, elephants
 * found in the kernel) comes in through its ops.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <glib-unix.h>

#include "conntrack.h"
#include "conntrack-scan.h"
#include "fp-error.h"
#include "loop-watch.h"
#include "sense.h"
#include "sense-backend.h"

#define LATENCY_RING 1024

/* A sweep asks conntrack for up to this many flows (a hash lookup each,
 * ~15 us here) instead of dumping its table.  A dump walks all of
 * nf_conntrack_buckets: ~10 ms of kernel time even with a handful of
 * flows, taken from packet processing on its CPU (iperf3 through the host
 * lost 10-30 % to a `conntrack -L` per second; tests/perf/bench-sweep.sh
 * shows it in the pings' round-trip tail).  Flows whose counters
 * stand still are asked about less and less often (1, 2, 4, 8 sweeps);
 * when more flows move than the queries can follow, the ones left out wait,
 * and once one has waited SWEEP_QUERY_LATE_MAX sweeps a dump refreshes all
 * at once. */
#define SWEEP_QUERY_MAX 512
#define SWEEP_QUERY_LATE_MAX 8

/* A sweep's queries run in slices of this long, each one dispatch of the
 * main loop: with the sweep's other steps, no dispatch holds the loop for
 * much more (a D-Bus call or an elephant event waits at most that). */
#define SWEEP_SLICE_US 5000

/* A backend that logs new flows never dumps a conntrack table bigger than
 * this: a dump holds the main loop ~3.7 us per entry here (368 ms at 100k
 * entries, 14 s at 1M), and the sweep must stay under 50 ms.  It queries
 * the flows it knows instead; flows older than the agent, or lost from the
 * new-flow log, are then not listed until the kernel samples them moving
 * (elephants always are), and per-VM flow births come from the kernel's
 * per-device counters. */
#define SWEEP_DUMP_MAX_ENTRIES 8192

/* A backend that logs no new flows (the ctnetlink fallback) on a table
 * too big to dump within a sweep: the sweeps query the flows the table
 * follows, and a scan (conntrack-scan.c) dumps the whole table in a worker
 * thread now and then, to find the big flows among the rest (the biggest
 * flows_max / SCAN_KEEP_DIV with at least elephant_bytes / SCAN_MIN_DIV
 * bytes).  A scan of 1M entries costs ~4 CPU-s here, so the next one
 * starts once the last one's CPU is SCAN_CPU_PERCENT % of the time since
 * it ended (~200 s at 1M, ~20 s at 100k), and never sooner than
 * SCAN_MIN_INTERVAL_S: an elephant older than the table's flows is found
 * minutes late at 1M, which a fallback can afford (elephants are long). */
#define SCAN_CPU_PERCENT 2
#define SCAN_MIN_INTERVAL_S 10
#define SCAN_KEEP_DIV 4
#define SCAN_MIN_DIV 8

/* The backends `[sense] backend = auto` tries, in this order; the last
 * one must start wherever conntrack runs. */
static const FpSenseBackend *const backends[] = {
    &fp_sense_backend_bpf_netfilter,
    &fp_sense_backend_bpf_fentry,
    &fp_sense_backend_ctnetlink,
};

typedef struct {
    FpSense *self;
    gint64 now_us;
    guint n;
    guint without_counters;
} SweepCtx;

typedef enum {
    SWEEP_STAGE_IDLE,
    SWEEP_STAGE_QUERY,
    SWEEP_STAGE_DUMP,
    SWEEP_STAGE_END,
} SweepStage;

/* A sweep under way, between its steps (fp_sense_sweep_step()). */
typedef struct {
    SweepStage stage;
    SweepCtx s;
    gboolean by_query, too_big;
    guint64 ct_count;
    GArray *due; /* FpFlowKey: the flows this sweep queries */
    guint next_query;
    gint64 cpu_us; /* its steps' CPU time so far */
} SweepRun;

struct _FpSense {
    FpFlowTable *table;
    FpSenseStats stats;
    char *backend_reason;
    char *conntrack_warning;
    FpSenseElephantFunc elephant_func;
    gpointer elephant_data;

    FpConntrack *ct;
    gboolean acct_enabled_by_us;
    char *acct_runtime_dir;

    const FpSenseBackend *backend;
    gpointer backend_state;
    GSource *event_source;

    guint64 prev_untracked;
    guint quiet_sweeps;

    gint64 latency[LATENCY_RING];
    guint n_latency;

    GHashTable *devices;    /* ifindex -> FpDeviceCounts, as of the last sweep */
    FpSweepProfile profile; /* the last sweep's steps (sensing's only) */

    SweepRun run;

    FpCtScan *scan;      /* (nullable): a scan under way */
    gint64 next_scan_us; /* when the next one may start */
    guint scan_keep;     /* flows a scan keeps at most */
    guint64 scan_min_bytes;
    char *scan_error;        /* the last failure logged, until a scan works */
    guint64 sweeps_scanning; /* sweeps begun while the scan under way ran */
};

FpFlowTable *fp_sense_get_table(FpSense *self)
{
    return self->table;
}

/**
 * fp_sense_elephant_from_kernel:
 * @sense: a #FpSense
 * @flow: a flow of its table
 * @when_us: when the kernel saw it cross the threshold (CLOCK_MONOTONIC µs)
 *
 * A backend's kernel program found @flow an elephant: marks it so, unless
 * it already is, and tells the elephant func.
 */
void fp_sense_elephant_from_kernel(FpSense *self, FpFlow *flow, gint64 when_us)
{
    if (flow->elephant != FP_ELEPHANT_NONE)
        return;
    fp_flow_table_mark_elephant(self->table, flow, FP_ELEPHANT_BY_BPF, when_us);
    if (self->elephant_func)
        self->elephant_func(flow, self->elephant_data);
}

/**
 * fp_sense_note_event_latency:
 * @sense: a #FpSense
 * @latency_ns: from the packet that made an event to its reading here
 *
 * One sample for the event latency percentiles of fp_sense_get_stats().
 */
void fp_sense_note_event_latency(FpSense *self, gint64 latency_ns)
{
    self->latency[self->n_latency % LATENCY_RING] = latency_ns;
    self->n_latency++;
}

static gboolean on_backend_events(gint fd, GIOCondition cond, gpointer user_data)
{
    FpSense *self = user_data;

    self->backend->read_events(self->backend_state);
    return G_SOURCE_CONTINUE;
}

/* Starts @b and makes it ours, or says why it cannot run. */
static gboolean backend_start(FpSense *self, const FpSenseBackend *b, const FpConfig *config,
                              GError **error)
{
    g_autofree gpointer state = g_malloc0(b->state_size);
    int fd;

    if (b->start && !b->start(state, self, config, error))
        return FALSE;
    self->backend = b;
    self->backend_state = g_steal_pointer(&state);
    self->stats.backend = b->id;
    fd = b->event_fd ? b->event_fd(self->backend_state) : -1;
    if (fd >= 0) {
        g_autofree char *name = g_strdup_printf("%s events", fp_backend_to_string(b->id));

        self->event_source = g_unix_fd_source_new(fd, G_IO_IN);
        g_source_set_callback(self->event_source, G_SOURCE_FUNC(on_backend_events), self, NULL);
        g_source_set_name(self->event_source, name);
        /* Elephant events before sweeps, D-Bus and timers when both are ready. */
        g_source_set_priority(self->event_source, G_PRIORITY_HIGH);
        g_source_attach(self->event_source, NULL);
    }
    return TRUE;
}

static void backend_stop(FpSense *self)
{
    if (self->event_source) {
        g_source_destroy(self->event_source);
        g_clear_pointer(&self->event_source, g_source_unref);
    }
    if (self->backend && self->backend->stop)
        self->backend->stop(self->backend_state);
    g_clear_pointer(&self->backend_state, g_free);
    self->backend = NULL;
}

/*
 * The backend to run: the configured one, or the first of the list that
 * starts.  backend_reason says which and why, with each refused backend's
 * reason before it.
 */
static gboolean choose_backend(FpSense *self, const FpConfig *config, GError **error)
{
    g_autoptr(GString) refused = g_string_new(NULL);
    g_autofree char *how = NULL;

    for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
        const FpSenseBackend *b = backends[i];
        g_autoptr(GError) local = NULL;

        if (config->backend != FP_BACKEND_AUTO && config->backend != b->id)
            continue;
        if (!backend_start(self, b, config, &local)) {
            if (config->backend != FP_BACKEND_AUTO) {
                g_propagate_error(error, g_steal_pointer(&local));
                return FALSE;
            }
            g_string_append_printf(refused, "%s refused: %s; ", fp_backend_to_string(b->id),
                                   local->message);
            continue;
        }
        how = b->describe(self->backend_state);
        if (config->backend != FP_BACKEND_AUTO)
            self->backend_reason = g_strdup_printf("%s (configured)", how);
        else if (refused->len)
            self->backend_reason = g_strdup_printf("%susing %s", refused->str, how);
        else
            self->backend_reason = g_steal_pointer(&how);
        return TRUE;
    }
    /* Only when the list's last backend refused too (it should not). */
    g_string_truncate(refused, refused->len >= 2 ? refused->len - 2 : 0);
    g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "no sensing backend runs here: %s",
                refused->str);
    return FALSE;
}

static void on_destroy(const FpCtEntry *e, gpointer user_data)
{
    FpSense *self = user_data;

    self->stats.destroy_events++;
    fp_flow_table_remove(self->table, &e->key);
    if (self->backend->forget)
        self->backend->forget(self->backend_state, &e->key);
}

/**
 * fp_sense_new:
 * @config: the agent's configuration
 * @table: the flow table to keep current (borrowed, must outlive the result)
 * @error: return location for a #GError
 *
 * Starts sensing with the configured backend, or with the best one this
 * kernel supports when it is "auto".
 */
FpSense *fp_sense_new(const FpConfig *config, FpFlowTable *table, GError **error)
{
    g_autoptr(FpSense) self = g_new0(FpSense, 1);
    g_autofree char *reason = NULL;

    self->table = table;
    fp_flow_table_set_max(table, config->flows_max);
    self->scan_keep = MAX(config->flows_max / SCAN_KEEP_DIV, 1);
    self->scan_min_bytes = config->elephant_bytes / SCAN_MIN_DIV;
    self->devices = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    if (!fp_conntrack_available(&reason)) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "%s", reason);
        return NULL;
    }
    /* A previous run that crashed may have left acct on: put the operator's
     * value back first, then turn it on again for us. */
    if (!fp_conntrack_restore_acct(config->runtime_dir, error))
        return NULL;
    if (config->enable_acct) {
        if (!fp_conntrack_enable_acct(config->runtime_dir, &self->acct_enabled_by_us, error))
            return NULL;
        self->acct_runtime_dir = g_strdup(config->runtime_dir);
    }
    self->ct = fp_conntrack_new(error);
    if (!self->ct)
        return NULL;
    /* Before the backend starts: destroy events wait in the socket until
     * the main loop runs, and none is missed meanwhile. */
    if (!fp_conntrack_watch_destroy(self->ct, on_destroy, self, error))
        return NULL;
    if (!choose_backend(self, config, error))
        return NULL;
    return g_steal_pointer(&self);
}

/**
 * fp_sense_free:
 * @sense: (nullable): a #FpSense
 *
 * Detaches everything and restores nf_conntrack_acct if we turned it on.
 */
void fp_sense_free(FpSense *self)
{
    g_autoptr(GError) error = NULL;

    if (!self)
        return;
    g_clear_pointer(&self->scan, fp_ct_scan_free);
    g_free(self->scan_error);
    g_clear_pointer(&self->run.due, g_array_unref);
    backend_stop(self);
    fp_conntrack_free(self->ct);
    if (self->acct_runtime_dir && !fp_conntrack_restore_acct(self->acct_runtime_dir, &error))
        g_warning("%s", error->message);
    g_free(self->acct_runtime_dir);
    g_free(self->backend_reason);
    g_free(self->conntrack_warning);
    g_clear_pointer(&self->devices, g_hash_table_unref);
    g_free(self);
}

void fp_sense_set_elephant_func(FpSense *self, FpSenseElephantFunc func, gpointer user_data)
{
    self->elephant_func = func;
    self->elephant_data = user_data;
}

static void on_dumped(const FpCtEntry *e, gpointer user_data)
{
    SweepCtx *s = user_data;
    FpFlow *flow;
    gboolean was_elephant;

    s->n++;
    if (!e->has_counters) {
        /* Created before nf_conntrack_acct was on: conntrack has no counters
         * for it and neither do we. */
        s->without_counters++;
    }
    flow = fp_flow_table_lookup(s->self->table, &e->key);
    was_elephant = flow && flow->elephant != FP_ELEPHANT_NONE;
    flow = fp_flow_table_observe(s->self->table, &e->key, e->bytes, e->packets, s->now_us);
    if (!flow) /* new, and the table is full: counted there */
        return;
    if (!was_elephant && flow->elephant != FP_ELEPHANT_NONE && s->self->elephant_func)
        s->self->elephant_func(flow, s->self->elephant_data);
}

static void check_conntrack_active(FpSense *self, guint n_flows)
{
    const FpSenseBackend *b = self->backend;
    guint64 untracked = b->untracked_packets ? b->untracked_packets(self->backend_state) : 0;
    gboolean untracked_traffic = untracked > self->prev_untracked;

    self->prev_untracked = untracked;
    self->stats.untracked_packets = untracked;
    g_clear_pointer(&self->conntrack_warning, g_free);
    if (n_flows > 0) {
        self->quiet_sweeps = 0;
        self->stats.conntrack_active = TRUE;
        return;
    }
    self->quiet_sweeps++;
    self->stats.conntrack_active = FALSE;
    if (untracked_traffic)
        self->conntrack_warning =
            g_strdup("packets pass the hooks without a conntrack entry: nothing loads conntrack "
                     "for this traffic (add a 'ct state' nftables rule or an iptables "
                     "conntrack/NAT rule)");
    else if (self->quiet_sweeps > 1)
        self->conntrack_warning = g_strdup(
            "conntrack has no entries: either there is no traffic or nothing loads conntrack "
            "(no 'ct' nftables rule, no iptables NAT/conntrack rule)");
}

/* Flows without counters while we own nf_conntrack_acct: someone turned it
 * off under us (another tool restoring "its" value).  Say so and turn it
 * back on; our saved value (the operator's) stays what it was. */
static void keep_acct_on(FpSense *self)
{
    g_autoptr(GError) error = NULL;
    gboolean changed = FALSE;

    if (!fp_conntrack_enable_acct(self->acct_runtime_dir, &changed, &error))
        g_warning("%s", error->message);
    else if (changed)
        g_warning("nf_conntrack_acct was turned off while footprintd runs; turned it back on "
                  "(flows created meanwhile have no counters)");
    self->acct_enabled_by_us |= changed;
}

/* A dump or query failed: the flows stay as they were (none is dropped
 * for not being reported), but the backend's per-sweep work (idle
 * eviction, the expiry of the elephants each CPU skips) still happens. */
static void sweep_failed(FpSense *self, gboolean by_query, gint64 now_us)
{
    fp_flow_table_abort_sweep(self->table);
    if (self->backend->merge)
        self->backend->merge(self->backend_state, by_query, now_us);
}

/* conntrack's entries now (cheap: a counter), G_MAXUINT64 when unknown. */
static guint64 conntrack_count(void)
{
    g_autofree char *text = NULL;
    guint64 n;

    if (!g_file_get_contents("/proc/sys/net/netfilter/nf_conntrack_count", &text, NULL, NULL) ||
        !g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, G_MAXUINT64, &n, NULL))
        return G_MAXUINT64;
    return n;
}

/* The scan that ended: its biggest flows into the table, as flows that
 * are not new (their births are long past, their bytes until now not
 * this sweep's), to be queried at this sweep, the biggest first. */
static void scan_finished(FpSense *self, gint64 now_us)
{
    g_autoptr(FpCtScan) scan = g_steal_pointer(&self->scan);
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) found = NULL;
    FpCtScanResult r;
    gint64 gap_us;

    found = fp_ct_scan_finish(scan, &r, &error);
    if (!found) {
        if (g_strcmp0(self->scan_error, error->message) != 0) {
            g_warning("%s; tried again in %d s (said again only when this changes)", error->message,
                      SCAN_MIN_INTERVAL_S);
            g_free(self->scan_error);
            self->scan_error = g_strdup(error->message);
        }
        self->stats.scan_failures++;
        self->next_scan_us = now_us + SCAN_MIN_INTERVAL_S * G_USEC_PER_SEC;
        return;
    }
    g_clear_pointer(&self->scan_error, g_free);
    for (guint i = 0; i < found->len; i++)
        fp_flow_table_take_back(self->table, &g_array_index(found, FpCtEntry, i).key, now_us);
    gap_us = MAX(r.cpu_us * (100 / SCAN_CPU_PERCENT), SCAN_MIN_INTERVAL_S * G_USEC_PER_SEC);
    self->next_scan_us = now_us + gap_us;
    self->stats.scans++;
    self->stats.scan_entries = r.entries;
    self->stats.scan_kept = r.kept;
    self->stats.scan_cpu_us = r.cpu_us;
    self->stats.scan_wall_us = r.wall_us;
    self->stats.scan_interval_us = gap_us;
    self->stats.scan_sweeps = self->sweeps_scanning;
}

/* Takes the result of a scan that ended; starts one when conntrack is too
 * big to dump and its time has come. */
static void scan_step(FpSense *self, gboolean too_big, gint64 now_us)
{
    g_autoptr(GError) error = NULL;

    if (self->scan && fp_ct_scan_done(self->scan))
        scan_finished(self, now_us);
    /* A sweep that starts while the scan runs: the loop is not held. */
    if (self->scan)
        self->sweeps_scanning++;
    if (self->scan || !too_big || now_us < self->next_scan_us)
        return;
    self->sweeps_scanning = 0;
    self->scan = fp_ct_scan_start(self->scan_keep, self->scan_min_bytes, &error);
    if (!self->scan) {
        g_warning("%s", error->message);
        self->stats.scan_failures++;
        self->next_scan_us = now_us + SCAN_MIN_INTERVAL_S * G_USEC_PER_SEC;
    }
}

/* Ends step @phase of the sweep's profile: its time since @mark_us. */
static void phase_done(FpSense *self, FpSweepPhase phase, gint64 *mark_us)
{
    gint64 now = g_get_monotonic_time();

    self->profile.phase_us[phase] += now - *mark_us;
    *mark_us = now;
}

/* The first step: events, new flows, a scan's result, then what this
 * sweep asks conntrack (the flows due, or a dump). */
static void sweep_begin(FpSense *self)
{
    const FpSenseBackend *b = self->backend;
    gpointer state = self->backend_state;
    SweepRun *r = &self->run;
    gint64 mark = g_get_monotonic_time();

    memset(&self->profile, 0, sizeof(self->profile));
    g_clear_pointer(&r->due, g_array_unref);
    *r = (SweepRun){.stage = SWEEP_STAGE_IDLE};
    r->s = (SweepCtx){self, mark, 0, 0};
    /* Events first: a dump of many flows must not delay them. */
    if (b->read_events)
        b->read_events(state);
    phase_done(self, FP_SWEEP_EVENTS, &mark);
    /* Query flow by flow when the backend tells us about every new flow
     * (it lost none since the last dump); the first sweep dumps, to learn
     * the flows older than the agent. */
    r->by_query = b->may_query && self->stats.sweeps > 0 && b->may_query(state);
    /* A table too big to dump within a sweep's budget: query instead, and
     * say what was not done. */
    r->ct_count = conntrack_count();
    r->too_big = r->ct_count != G_MAXUINT64 && r->ct_count > SWEEP_DUMP_MAX_ENTRIES;
    if (r->too_big && !r->by_query)
        self->stats.sweep_dumps_skipped++;
    r->by_query = r->by_query || r->too_big;
    if (r->by_query && b->add_new_flows)
        b->add_new_flows(state);
    /* Nothing tells this backend about new flows: a scan finds the big
     * ones, away from the loop. */
    if (!b->may_query)
        scan_step(self, r->too_big, r->s.now_us);
    /* The flows it does not follow are in the taps' counters only. */
    fp_flow_table_set_partial(self->table, r->too_big);
    phase_done(self, FP_SWEEP_NEW_FLOWS, &mark);
    fp_flow_table_begin_sweep(self->table, r->s.now_us);
    if (r->by_query) {
        guint late;

        r->due = fp_flow_table_due(self->table, SWEEP_QUERY_MAX, &late);
        if (late >= SWEEP_QUERY_LATE_MAX && r->too_big)
            self->stats.sweep_dumps_skipped++;
        r->by_query = late < SWEEP_QUERY_LATE_MAX || r->too_big;
    }
    r->stage = r->by_query ? SWEEP_STAGE_QUERY : SWEEP_STAGE_DUMP;
}

/* Queries the due flows for at most SWEEP_SLICE_US, from where the last
 * slice stopped.  TRUE when all have been asked. */
static gboolean query_slice(FpSense *self, GError **error)
{
    SweepRun *r = &self->run;
    gint64 until = g_get_monotonic_time() + SWEEP_SLICE_US;

    while (r->next_query < r->due->len) {
        FpCtEntry e;
        gboolean found;

        if (!fp_conntrack_get(self->ct, &g_array_index(r->due, FpFlowKey, r->next_query), &e,
                              &found, error))
            return FALSE;
        r->next_query++;
        if (found)
            on_dumped(&e, &r->s);
        if (g_get_monotonic_time() >= until && r->next_query < r->due->len)
            return TRUE;
    }
    self->stats.sweep_queries += r->due->len;
    self->stats.sweep_queries_spared += fp_flow_table_size(self->table) - r->due->len;
    fp_flow_table_end_query_sweep(self->table, r->due);
    r->stage = SWEEP_STAGE_END;
    return TRUE;
}

/* The last step: the backend's merge, room in the table, devices, the
 * activity check, the sweep's figures. */
static void sweep_end(FpSense *self, gint64 cpu0)
{
    const FpSenseBackend *b = self->backend;
    gpointer state = self->backend_state;
    SweepRun *r = &self->run;
    gint64 mark = g_get_monotonic_time(), took;

    if (r->s.without_counters && self->acct_runtime_dir)
        keep_acct_on(self);
    if (b->merge)
        b->merge(state, r->by_query, r->s.now_us);
    fp_flow_table_make_room(self->table);
    phase_done(self, FP_SWEEP_MERGE, &mark);
    if (b->read_devices)
        b->read_devices(state, self->devices);
    phase_done(self, FP_SWEEP_DEVICES, &mark);
    /* A queried sweep takes the flows it did not ask about as still there;
     * conntrack too big to dump is not idle, whatever the table follows. */
    check_conntrack_active(self, r->too_big    ? (guint)MIN(r->ct_count, G_MAXUINT)
                                 : r->by_query ? fp_flow_table_size(self->table)
                                               : r->s.n);
    self->stats.sweeps++;
    /* From its start to its end, the time the loop served others between
     * its steps included: the honest age of what it reports. */
    took = g_get_monotonic_time() - r->s.now_us;
    self->stats.sweep_last_us = took;
    self->stats.sweep_max_us = MAX(self->stats.sweep_max_us, took);
    r->cpu_us += fp_thread_cpu_us() - cpu0;
    self->stats.sweep_max_cpu_us = MAX(self->stats.sweep_max_cpu_us, r->cpu_us);
    g_clear_pointer(&r->due, g_array_unref);
    r->stage = SWEEP_STAGE_IDLE;
}

/**
 * fp_sense_sweep_step:
 * @sense: a #FpSense
 * @done: (out): whether the sweep is over (after its last step, or a
 *     failure)
 * @error: return location for a #GError
 *
 * One step of a sweep, each short enough for the main loop to come back
 * to its other sources between them: the first reads events and new flows
 * and decides what to ask conntrack; then the queries of the flows whose
 * turn it is, SWEEP_SLICE_US at a time, or one dump of a table small
 * enough (SWEEP_DUMP_MAX_ENTRIES); then the backend's merge and the
 * devices.  Together they refresh the flow table with conntrack's exact
 * counters, merge what the backend learnt (the kernel program's flow map
 * and new-flow log) and drop the flows that ended.
 *
 * Returns: %FALSE when conntrack could not be read (the sweep is then
 * over and its flows stay as they were)
 */
gboolean fp_sense_sweep_step(FpSense *self, gboolean *done, GError **error)
{
    SweepRun *r = &self->run;
    gint64 cpu0 = fp_thread_cpu_us(), mark = g_get_monotonic_time();
    gboolean ok = TRUE;

    switch (r->stage) {
    case SWEEP_STAGE_IDLE:
        sweep_begin(self);
        break;
    case SWEEP_STAGE_QUERY:
        ok = query_slice(self, error);
        phase_done(self, FP_SWEEP_CONNTRACK, &mark);
        break;
    case SWEEP_STAGE_DUMP:
        ok = fp_conntrack_dump(self->ct, on_dumped, &r->s, error);
        if (ok) {
            fp_flow_table_end_sweep(self->table);
            self->stats.sweep_dumps++;
            r->stage = SWEEP_STAGE_END;
        }
        phase_done(self, FP_SWEEP_CONNTRACK, &mark);
        break;
    case SWEEP_STAGE_END:
        sweep_end(self, cpu0);
        *done = TRUE;
        return TRUE;
    default:
        g_assert_not_reached();
    }
    r->cpu_us += fp_thread_cpu_us() - cpu0;
    if (!ok) {
        sweep_failed(self, r->by_query, r->s.now_us);
        g_clear_pointer(&r->due, g_array_unref);
        r->stage = SWEEP_STAGE_IDLE;
    }
    *done = !ok;
    return ok;
}

/**
 * fp_sense_sweep:
 * @sense: a #FpSense
 * @error: return location for a #GError
 *
 * A whole sweep at once (fp_sense_sweep_step() until it is done).
 */
gboolean fp_sense_sweep(FpSense *self, GError **error)
{
    gboolean done = FALSE;

    while (!done) {
        if (!fp_sense_sweep_step(self, &done, error))
            return FALSE;
    }
    return TRUE;
}

/**
 * fp_sense_get_profile:
 * @sense: a #FpSense
 * @profile: (out): the time of each sensing step of the last sweep (the
 *     other steps and the totals are the caller's)
 */
void fp_sense_get_profile(FpSense *self, FpSweepProfile *profile)
{
    *profile = self->profile;
}

static int cmp_gint64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return x < y ? -1 : x > y;
}

void fp_sense_get_stats(FpSense *self, FpSenseStats *stats)
{
    guint n = MIN(self->n_latency, LATENCY_RING);

    *stats = self->stats;
    stats->backend_reason = self->backend_reason;
    stats->conntrack_warning = self->conntrack_warning;
    stats->acct_enabled_by_us = self->acct_enabled_by_us;
    stats->destroy_events_lost = fp_conntrack_events_lost(self->ct);
    stats->event_latency_p50_ns = stats->event_latency_p99_ns = -1;
    stats->event_latency_samples = self->n_latency;
    if (n) {
        gint64 sorted[LATENCY_RING];

        memcpy(sorted, self->latency, n * sizeof(gint64));
        qsort(sorted, n, sizeof(gint64), cmp_gint64);
        stats->event_latency_p50_ns = sorted[(n - 1) / 2];
        stats->event_latency_p99_ns = sorted[(n - 1) * 99 / 100];
    }
    stats->devices_counted = g_hash_table_size(self->devices);
    stats->scan_running = self->scan != NULL;
    fp_flow_table_get_counts(self->table, &stats->flows_refused, &stats->flows_let_go);
    if (self->backend->fill_stats)
        self->backend->fill_stats(self->backend_state, stats);
}

/**
 * fp_sense_get_device:
 * @sense: a #FpSense
 * @ifindex: a device
 *
 * Returns: (nullable): what the kernel counted for @ifindex as of the last
 * sweep, %NULL when it counts nothing for it (no flow seen on it, or a
 * backend that does not count per device)
 */
const FpDeviceCounts *fp_sense_get_device(FpSense *self, guint32 ifindex)
{
    return g_hash_table_lookup(self->devices, GUINT_TO_POINTER(ifindex));
}

/**
 * fp_sense_counts_devices:
 * @sense: a #FpSense
 *
 * Returns: whether its backend counts flow births per device (else
 * fp_sense_get_device() always returns %NULL)
 */
gboolean fp_sense_counts_devices(FpSense *self)
{
    return self->backend->read_devices != NULL;
}

/**
 * fp_sense_probe:
 * @config: the configuration (hook priority, sizes)
 *
 * Tries each backend without keeping anything attached.
 *
 * Returns: (transfer full): a report for `footprintd --probe`
 */
char *fp_sense_probe(const FpConfig *config)
{
    GString *out = g_string_new(NULL);
    struct utsname u;
    g_autofree char *reason = NULL;
    g_autofree char *acct = NULL;
    const FpSenseBackend *first = NULL;

    uname(&u);
    g_string_append_printf(out, "kernel: %s %s\n", u.sysname, u.release);
    g_string_append_printf(out, "kernel BTF: %s\n",
                           g_file_test("/sys/kernel/btf/vmlinux", G_FILE_TEST_EXISTS) ? "yes"
                                                                                      : "no");
    g_string_append_printf(out, "conntrack: %s\n",
                           fp_conntrack_available(&reason) ? "yes" : reason);
    if (g_file_get_contents("/proc/sys/net/netfilter/nf_conntrack_acct", &acct, NULL, NULL))
        g_string_append_printf(out, "nf_conntrack_acct: %s", acct);
    for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
        if (backends[i]->probe(config, out) && !first)
            first = backends[i];
    }
    g_string_append_printf(out, "backend: %s\n",
                           config->backend != FP_BACKEND_AUTO
                               ? fp_backend_to_string(config->backend)
                           : first ? fp_backend_to_string(first->id)
                                   : "none");
    return g_string_free(out, FALSE);
}
