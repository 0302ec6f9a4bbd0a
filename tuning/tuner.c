/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tuner (tuner.h): modes, watched flows, plan, apply, undo.
 *
 * One step, whatever started it (a sweep, an elephant event, a mode
 * switch): the planner gets the last snapshot, the watched flows and the
 * egress devices as last read, and returns the desired state; in enforce
 * mode apply() brings the host to it, knob by knob, each change journaled
 * first: devices (tc), then the VMs demoted whole (the classifier's map),
 * then flow marks (ctmark).  In advise mode the plan is only kept for
 * footprintctl; in observe mode nothing is watched or planned.
 *
 * A flow is watched from its elephant event until conntrack no longer has
 * it (the sweep asks conntrack about each watched flow: its counters give
 * the rate that tells an idle flow; a flow conntrack lost has ended).
 */
#include "config.h"

#include <string.h>

#include "affinity.h"
#include "ctmark.h"
#include "fp-error.h"
#include "fp_tc.h"
#include "journal.h"
#include "libvirt-pin.h"
#include "planner.h"
#include "nic-irq.h"
#include "nic-rss.h"
#include "nic.h"
#include "planner-cpu.h"
#include "planner-nic.h"
#include "queues.h"
#include "tc.h"
#include "safe-text.h"
#include "tuner.h"

#define JOURNAL_SUBDIR "tuning"
/* Errors kept for footprintctl tuning. */
#define ERRORS_KEPT 16
/* Where the queues knob reads and writes taps' RPS/XPS masks. */
#define SYSFS_NET "/sys/class/net"
/* Where the irq knob finds IRQs, and irqbalance's pid file. */
#define PROC "/proc"
#define IRQBALANCE_PID_FILE "/run/irqbalance.pid"
/* Watched flows asked about per sweep, at most (~15 µs each). */
#define QUERIES_PER_SWEEP 512

typedef struct {
    FpPlanFlow flow;
    guint64 last_bytes;
    gint64 last_us;
    guint32 applied_bits; /* footprintd's bits we set, 0: none */
    FpFlowKey reply;      /* conntrack's reply tuple (NIC RSS), when has_reply */
    gboolean has_reply;
} FpWatchedFlow;

struct _FpTuner {
    FpConfig *config;
    FpMode mode;
    FpJournal *journal;
    FpTc *tc;
    FpCtMark *ctmark;
    FpKnob knobs[7];
    FpLibvirtPin *pins;   /* the "libvirt-pin" knob (kept across open_knobs()) */
    gboolean undo_retry;  /* a start-up undo failed for a reason that may pass */
    gint64 undo_retry_us; /* its last try */
    gboolean quiet;       /* failures expected to pass: logged, not warned */
    gint64 created_us;
    GHashTable *flows;   /* FpFlowKey → FpWatchedFlow */
    GPtrArray *devices;  /* FpEgressDevice, as last read */
    GHashTable *applied; /* device name → FpPlanDevice applied (rates, slots) */
    FpSnapshot *snapshot;
    FpPlan *plan;
    FpCpuPlan *cpu_plan;           /* the second lever: CPU separation */
    FpIrqbalanceWatch *irqbalance; /* (nullable): made at the first NIC plan */
    GHashTable *carried;           /* VM uuid → when it last carried a demoted elephant (µs) */
    GPtrArray *errors;             /* recent messages */
    guint query_cursor;
    /* counters */
    guint64 elephants;
    guint64 marks_set;
    guint64 changes_undone;
    guint64 devices_shaped;
    gint64 demote_latency_last_us;
    gint64 demote_latency_max_us;
    guint64 threads_moved;
    guint64 masks_set;
    guint64 irqs_moved;
    guint64 rss_tables_set;
};

/* ---- flow keys in a hash table ------------------------------------------- */

static guint flow_key_hash(gconstpointer k)
{
    const guint8 *p = k;
    guint32 h = 2166136261u; /* FNV-1a over the whole key (no padding) */

    for (gsize i = 0; i < sizeof(FpFlowKey); i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static gboolean flow_key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(FpFlowKey)) == 0;
}

/* ---- errors ---------------------------------------------------------------- */

static void report(FpTuner *self, const GError *error)
{
    /* The same message again is not news. */
    if (self->errors->len &&
        g_str_equal(g_ptr_array_index(self->errors, self->errors->len - 1), error->message))
        return;
    if (self->quiet)
        g_message("tuning: %s", error->message);
    else
        g_warning("tuning: %s", error->message);
    if (self->errors->len >= ERRORS_KEPT)
        g_ptr_array_remove_index(self->errors, 0);
    g_ptr_array_add(self->errors, g_strdup(error->message));
}

static void report_all(FpTuner *self, GPtrArray *messages)
{
    for (guint i = 0; i < messages->len; i++) {
        g_autoptr(GError) e = g_error_new_literal(FP_ERROR, FP_ERROR_FAILED, messages->pdata[i]);

        report(self, e);
    }
}

/* ---- knobs and journal ----------------------------------------------------- */

static gboolean open_knobs(FpTuner *self, GError **error)
{
    self->tc = fp_tc_new(&self->config->tuning, error);
    if (!self->tc)
        return FALSE;
    self->ctmark = fp_ct_mark_new(self->config->tuning.ct_mark_mask, error);
    if (!self->ctmark)
        return FALSE;
    self->knobs[0] = (FpKnob){&fp_tc_knob, self->tc};
    self->knobs[1] = (FpKnob){&fp_ct_mark_knob, self->ctmark};
    self->knobs[2] = (FpKnob){&fp_affinity_knob, NULL};
    self->knobs[3] = (FpKnob){&fp_queues_knob, (gpointer)SYSFS_NET};
    self->knobs[4] = (FpKnob){&fp_libvirt_pin_knob, self->pins};
    self->knobs[5] = (FpKnob){&fp_nic_irq_knob, (gpointer)PROC};
    self->knobs[6] = (FpKnob){&fp_nic_rss_knob, NULL};
    return TRUE;
}

static void close_knobs(FpTuner *self)
{
    g_clear_pointer(&self->tc, fp_tc_free);
    g_clear_pointer(&self->ctmark, fp_ct_mark_free);
}

static void forget_applied(FpTuner *self)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_remove_all(self->applied);
    g_hash_table_iter_init(&it, self->flows);
    while (g_hash_table_iter_next(&it, NULL, &v))
        ((FpWatchedFlow *)v)->applied_bits = 0;
}

/* libvirt pins being written in a thread land before anything is undone:
 * a write landing after its undo would leave a change the journal no
 * longer has. */
static void wait_pins(FpTuner *self)
{
    while (self->pins && fp_libvirt_pin_busy(self->pins))
        g_main_context_iteration(NULL, TRUE);
}

/**
 * fp_tuner_undo_all:
 * @tuner: a #FpTuner
 * @error: return location for a #GError
 *
 * Undoes every change in the journal, newest first.  The mode stays; in
 * enforce mode the next step applies the plan again (footprintctl tuning
 * --undo switches to advise first).
 *
 * Returns: %FALSE when some change could not be undone (its entry stays
 * when the failure may pass, and is tried again)
 */
gboolean fp_tuner_undo_all(FpTuner *self, GError **error)
{
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) none = g_hash_table_new(NULL, NULL);
    g_autoptr(GError) local = NULL;
    guint before, left;

    wait_pins(self);
    before = fp_journal_size(self->journal);
    if (!fp_tc_set_vms(self->tc, none, &local))
        g_ptr_array_add(messages, g_strdup(local->message));
    left = fp_journal_replay(self->journal, self->knobs, G_N_ELEMENTS(self->knobs), NULL, messages);
    self->changes_undone += before - left;
    forget_applied(self);
    if (before)
        g_message("tuning: undid %u change(s)%s", before - left, left ? "; some are left" : "");
    report_all(self, messages);
    if (messages->len) {
        g_set_error(error, FP_ERROR, left ? FP_ERROR_IO : FP_ERROR_FAILED,
                    "tuning: %u change(s) not undone: %s", left,
                    (const char *)messages->pdata[messages->len - 1]);
        return FALSE;
    }
    return TRUE;
}

/* ---- reading the host ------------------------------------------------------- */

static void read_devices(FpTuner *self)
{
    g_auto(GStrv) names = NULL;
    g_autoptr(GError) error = NULL;

    if (self->config->tuning.egress) {
        names = g_strdupv(self->config->tuning.egress);
    } else {
        names = fp_tc_default_egress(self->tc, &error);
        if (!names) {
            report(self, error);
            return;
        }
    }
    g_ptr_array_set_size(self->devices, 0);
    for (guint i = 0; names[i]; i++) {
        FpEgressDevice *dev = fp_tc_read_device(self->tc, names[i], &error);

        if (!dev) {
            report(self, error);
            g_clear_error(&error);
            dev = fp_egress_device_new(names[i]); /* unknown now: not managed */
        }
        g_ptr_array_add(self->devices, dev);
    }
}

/* Each watched flow's counters: its rate, whether it is quiet, whether it
 * ended.  At most QUERIES_PER_SWEEP per sweep, round robin. */
static void refresh_flows(FpTuner *self, gint64 now_us)
{
    double quiet_bps =
        (double)self->config->elephant_bytes / (double)MAX(self->config->elephant_window_s, 1) / 10;
    g_autoptr(GArray) keys = g_array_new(FALSE, FALSE, sizeof(FpFlowKey));
    guint len = g_hash_table_size(self->flows), n = MIN(len, QUERIES_PER_SWEEP);
    GHashTableIter it;
    gpointer k;

    /* Copies: a flow that ended is freed on the way. */
    g_hash_table_iter_init(&it, self->flows);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_array_append_vals(keys, k, 1);
    /* cppcheck's GLib model takes g_hash_table_size() for 0. */
    /* cppcheck-suppress knownConditionTrueFalse */
    for (guint i = 0; i < n; i++) {
        const FpFlowKey *key = &g_array_index(keys, FpFlowKey, (self->query_cursor + i) % len);
        FpWatchedFlow *w = g_hash_table_lookup(self->flows, key);
        g_autoptr(GError) error = NULL;
        FpCtMarkEntry e = {0};
        gboolean found;
        guint64 total;

        if (!fp_ct_mark_read(self->ctmark, key, &e, &found, &error)) {
            report(self, error);
            continue;
        }
        if (!found) {
            fp_tuner_flow_ended(self, key);
            continue;
        }
        total = e.bytes[0] + e.bytes[1];
        if (w->last_us && now_us > w->last_us && total >= w->last_bytes)
            w->flow.rate_bps =
                (double)(total - w->last_bytes) * 1e6 / (double)(now_us - w->last_us);
        w->last_bytes = total;
        w->last_us = now_us;
        w->flow.bytes[0] = e.bytes[0];
        w->flow.bytes[1] = e.bytes[1];
        w->reply = e.reply;
        w->has_reply = e.has_reply;
        if (w->flow.rate_bps >= quiet_bps)
            w->flow.quiet_since_us = 0;
        else if (!w->flow.quiet_since_us)
            w->flow.quiet_since_us = now_us;
    }
    self->query_cursor = len ? (self->query_cursor + n) % len : 0;
}

/* ---- applying ----------------------------------------------------------------- */

static gboolean same_device(const FpPlanDevice *a, const FpPlanDevice *b)
{
    return a->ifindex == b->ifindex && a->rate_bps == b->rate_bps &&
           a->normal_bps == b->normal_bps && a->demoted_bps == b->demoted_bps &&
           a->slot_bps == b->slot_bps && a->slots == b->slots && a->split_gso == b->split_gso;
}

static const FpEgressDevice *device_read(FpTuner *self, const char *name)
{
    for (guint i = 0; i < self->devices->len; i++) {
        const FpEgressDevice *d = g_ptr_array_index(self->devices, i);

        if (g_str_equal(d->name, name))
            return d;
    }
    return NULL;
}

static void unshape(FpTuner *self, const FpJournalEntry *e)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *name = g_strdup(e->object);
    guint64 seq = e->seq;

    if (!fp_tc_remove(self->tc, name, NULL, &error) ||
        !fp_journal_remove(self->journal, seq, &error)) {
        report(self, error);
        return;
    }
    g_hash_table_remove(self->applied, name);
    g_message("tuning: device '%s': footprintd's tree removed", name);
}

static void apply_devices(FpTuner *self)
{
    g_autoptr(GPtrArray) entries = NULL;

    for (guint i = 0; i < self->plan->devices->len; i++) {
        const FpPlanDevice *d = g_ptr_array_index(self->plan->devices, i);
        const FpJournalEntry *e = fp_journal_find(self->journal, "tc", d->name);
        const FpPlanDevice *done = g_hash_table_lookup(self->applied, d->name);
        g_autoptr(GError) error = NULL;

        if (!d->shaped) {
            if (e)
                unshape(self, e);
            continue;
        }
        if (done && same_device(done, d) && device_read(self, d->name) &&
            device_read(self, d->name)->root_ours)
            continue;
        /* Not applied yet, changed, or our tree went (someone deleted it):
         * the planner found the root adoptable again. */
        if (!e) {
            const FpEgressDevice *dev = device_read(self, d->name);
            g_autofree char *previous = dev ? fp_tc_root_to_string(dev) : g_strdup("unknown");
            g_autofree char *reason = g_strdup_printf("shared egress: %s", d->reason);

            e = fp_journal_add(self->journal, "tc", d->name, previous, "htb fd00:", reason, NULL,
                               &error);
            if (!e) {
                report(self, error);
                continue;
            }
        }
        if (!fp_tc_apply(self->tc, d, &error) || !fp_tc_verify(self->tc, d, &error)) {
            report(self, error);
            continue;
        }
        if (!done)
            self->devices_shaped++;
        g_message("tuning: device '%s': shaped to %" G_GUINT64_FORMAT " bit/s, %u slots (%s)",
                  d->name, d->rate_bps, d->slots, fp_tc_classifier_mode(self->tc));
        if (device_read(self, d->name)) /* as read before: ours now */
            ((FpEgressDevice *)device_read(self, d->name))->root_ours = TRUE;
        done = g_memdup2(d, sizeof(*d));
        ((FpPlanDevice *)done)->name = NULL;
        ((FpPlanDevice *)done)->reason = NULL;
        g_hash_table_insert(self->applied, g_strdup(d->name), (gpointer)done);
    }
    /* Devices that left the plan ([tuning] egress changed, or gone).  (The
     * copy after the loop above: unshape() frees the entries it removes.) */
    entries = fp_journal_entries(self->journal);
    for (guint i = 0; i < entries->len; i++) {
        const FpJournalEntry *e = g_ptr_array_index(entries, i);

        if (g_str_equal(e->knob, "tc") && !fp_plan_find_device(self->plan, e->object))
            unshape(self, e);
    }
}

static void apply_vms(FpTuner *self)
{
    g_autoptr(GHashTable) slots = g_hash_table_new(NULL, NULL);
    g_autoptr(GError) error = NULL;

    if (fp_plan_any_shaped(self->plan)) {
        for (guint i = 0; i < self->plan->vms->len; i++) {
            const FpPlanVm *v = g_ptr_array_index(self->plan->vms, i);

            for (guint j = 0; v->demoted && j < v->n_ifindex; j++)
                g_hash_table_insert(slots, GUINT_TO_POINTER(v->ifindex[j]),
                                    GUINT_TO_POINTER(v->slot));
        }
    }
    if (!fp_tc_set_vms(self->tc, slots, &error))
        report(self, error);
}

static char *flow_reason(const FpPlanFlowState *f)
{
    g_autofree char *key = fp_flow_key_to_string(&f->key);

    if (f->vm_name)
        return g_strdup_printf("vm %s (%s) class %s: %s %s", f->vm_name, f->owner,
                               fp_class_to_string(f->klass), f->reason, key);
    return g_strdup_printf("host: %s %s", f->reason, key);
}

/* Brings one flow's bits to @bits, journaling first.  Returns FALSE when
 * conntrack no longer has the flow (it ended): the caller forgets it. */
static gboolean set_flow_bits(FpTuner *self, FpWatchedFlow *w, guint32 bits,
                              const FpPlanFlowState *state)
{
    g_autofree char *object = fp_flow_key_to_string(&w->flow.key);
    g_autofree char *value = fp_ct_mark_format(self->ctmark, bits);
    g_autofree char *reason = state ? flow_reason(state) : g_strdup("flow no longer watched");
    const FpJournalEntry *e = fp_journal_find(self->journal, "ctmark", object);
    g_autoptr(GError) error = NULL;
    gboolean found = TRUE;

    if (!e) {
        FpCtMarkEntry now = {0};
        g_autofree char *previous = NULL;

        if (!fp_ct_mark_read(self->ctmark, &w->flow.key, &now, &found, &error)) {
            report(self, error);
            return TRUE;
        }
        if (!found)
            return FALSE;
        previous = fp_ct_mark_format(self->ctmark, now.mark);
        if (g_str_equal(previous, value)) {
            w->applied_bits = bits; /* already so: nothing to change, or undo */
            return TRUE;
        }
        e = fp_journal_add(self->journal, "ctmark", object, previous, value, reason,
                           state && state->vm_name ? state->owner : NULL, &error);
        if (!e) {
            report(self, error);
            return TRUE;
        }
    } else if (g_str_equal(e->previous, value)) {
        /* Back to what it was: write, then forget the change. */
        guint64 seq = e->seq;

        if (!fp_ct_mark_write(self->ctmark, &w->flow.key, bits, &found, &error) ||
            !fp_journal_remove(self->journal, seq, &error)) {
            report(self, error);
            return TRUE;
        }
        w->applied_bits = 0;
        self->changes_undone++;
        return TRUE;
    } else if (!fp_journal_update(self->journal, e->seq, value, reason, &error)) {
        report(self, error);
        return TRUE;
    }
    if (!fp_ct_mark_write(self->ctmark, &w->flow.key, bits, &found, &error)) {
        report(self, error);
        return TRUE;
    }
    if (!found)
        return FALSE;
    w->applied_bits = bits;
    self->marks_set++;
    return TRUE;
}

static void apply_flows(FpTuner *self)
{
    guint shift = (guint)g_bit_nth_lsf(self->config->tuning.ct_mark_mask, -1);
    gboolean shaped = fp_plan_any_shaped(self->plan);
    g_autoptr(GArray) ended = g_array_new(FALSE, FALSE, sizeof(FpFlowKey));
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, self->flows);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        FpWatchedFlow *w = v;
        const FpPlanFlowState *f = fp_plan_find_flow(self->plan, &w->flow.key);
        guint32 bits = f && f->demoted && shaped ? f->slot << shift : 0;

        if (bits != w->applied_bits && !set_flow_bits(self, w, bits, f))
            g_array_append_val(ended, w->flow.key);
    }
    /* Not while iterating: it changes the table. */
    for (guint i = 0; i < ended->len; i++)
        fp_tuner_flow_ended(self, &g_array_index(ended, FpFlowKey, i));
}

static void apply(FpTuner *self)
{
    apply_devices(self);
    apply_vms(self);
    apply_flows(self);
}

/* ---- one step --------------------------------------------------------------- */

static void step(FpTuner *self, gint64 now_us)
{
    g_autoptr(GPtrArray) flows = g_ptr_array_new();
    g_autoptr(FpSnapshot) empty = NULL;
    FpPlanInput in = {0};
    GHashTableIter it;
    gpointer v;
    FpPlan *plan;

    if (self->mode == FP_MODE_OBSERVE)
        return;
    if (!self->snapshot) {
        empty = fp_snapshot_new(0, now_us, g_get_real_time());
        fp_snapshot_seal(empty);
    }
    g_hash_table_iter_init(&it, self->flows);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(flows, &((FpWatchedFlow *)v)->flow);
    in.snapshot = self->snapshot ? self->snapshot : empty;
    in.flows = flows;
    in.devices = self->devices;
    in.config = self->config;
    in.now_us = now_us;
    in.previous = self->plan;
    plan = fp_plan_compute(&in);
    fp_plan_free(self->plan);
    self->plan = plan;
    if (self->mode == FP_MODE_ENFORCE)
        apply(self);
}

/* ---- the second lever: CPU separation ------------------------------------------ */

/* Whether a VM carries elephants now: it owns a demoted flow of the egress
 * plan not released for idleness, or did within [tuning] cpu_hold. */
static gboolean carrying(FpTuner *self, const char *uuid, gint64 now_us)
{
    gpointer last;

    for (guint i = 0; self->plan && i < self->plan->flows->len; i++) {
        const FpPlanFlowState *f = g_ptr_array_index(self->plan->flows, i);

        if (f->demoted && !f->idle && g_str_equal(f->owner, uuid)) {
            g_hash_table_insert(self->carried, g_strdup(uuid), g_memdup2(&now_us, sizeof(now_us)));
            return TRUE;
        }
    }
    last = g_hash_table_lookup(self->carried, uuid);
    if (last &&
        now_us - *(gint64 *)last <= (gint64)self->config->tuning.cpu_hold_s * G_USEC_PER_SEC)
        return TRUE;
    g_hash_table_remove(self->carried, uuid);
    return FALSE;
}

/* Each VM's packet-processing work, for the VMs the CPU plan may move:
 * none unless a throughput VM carrying elephants and a latency VM share
 * the host. */
static GPtrArray *read_work(FpTuner *self)
{
    GPtrArray *work = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_work_free);
    g_autoptr(GHashTable) kthreads = NULL;
    g_autoptr(GHashTable) carry = g_hash_table_new(g_str_hash, g_str_equal);
    gint64 now = g_get_monotonic_time();
    guint n_tp = 0, n_lat = 0;

    for (guint i = 0; self->snapshot && i < self->snapshot->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(self->snapshot->vms, i);

        if (v->klass == FP_CLASS_THROUGHPUT && carrying(self, v->vm->uuid, now)) {
            g_hash_table_add(carry, (gpointer)v->vm->uuid);
            n_tp++;
        }
        n_lat += v->klass == FP_CLASS_LATENCY;
    }
    if (!self->config->tuning.cpu_separation || !n_tp || !n_lat)
        return work;
    /* vhost-net workers that are kernel threads (before Linux 6.4): one
     * scan of /proc for all VMs. */
    kthreads = fp_affinity_vhost_kthreads();
    for (guint i = 0; i < self->snapshot->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(self->snapshot->vms, i);
        g_autoptr(GError) error = NULL;
        FpVmWork *w;
        GPtrArray *threads;

        if (v->klass == FP_CLASS_THROUGHPUT ? !g_hash_table_contains(carry, v->vm->uuid)
                                            : v->klass != FP_CLASS_LATENCY)
            continue;
        w = fp_vm_work_new(v->vm->uuid, v->vm->name, v->klass);
        w->carrying = g_hash_table_contains(carry, v->vm->uuid);
        w->libvirt = fp_libvirt_pin_available(self->pins);
        g_ptr_array_add(work, w);
        w->pid = fp_affinity_read_pid_file(self->config->tuning.qemu_run_dir, v->vm->name, &error);
        threads = w->pid ? fp_affinity_threads(w->pid, kthreads, &error) : NULL;
        if (!threads) {
            w->pid = 0;
            w->problem = g_strdup(error->message);
            continue;
        }
        g_ptr_array_unref(w->threads);
        w->threads = threads;
        if (v->klass != FP_CLASS_THROUGHPUT)
            continue;
        for (guint j = 0; j < v->vm->interfaces->len; j++) {
            const FpVmInterface *nic = g_ptr_array_index(v->vm->interfaces, j);
            g_autoptr(GPtrArray) queues = NULL;

            if (!v->ifindex[j] || !nic->target)
                continue;
            queues = fp_queues_read(SYSFS_NET, nic->target, NULL);
            for (guint q = 0; queues && q < queues->len; q++)
                g_ptr_array_add(w->queues, g_steal_pointer(&queues->pdata[q]));
        }
    }
    return work;
}

/* The NICs of [tuning] nic_devices as they are now: queues, queue IRQs
 * (with irqbalance's claim on each), RSS table. */
static GPtrArray *read_nics(FpTuner *self, const FpIrqbalance *ib)
{
    GPtrArray *nics = g_ptr_array_new_with_free_func((GDestroyNotify)fp_nic_work_free);
    char **names = self->config->tuning.nic_devices;

    for (guint i = 0; names && names[i]; i++)
        g_ptr_array_add(nics, fp_nic_work_read(SYSFS_NET, PROC, names[i], ib,
                                               self->config->tuning.nic_irqs,
                                               self->config->tuning.nic_rss));
    return nics;
}

/* The tuples the NICs receive of the elephant flows the egress plan
 * demotes: the original direction (an inbound flow) and the reply (an
 * outbound one: conntrack's reply tuple, which holds the host's NAT; until
 * the sweep has asked conntrack, the original reversed). */
static GArray *elephant_tuples(FpTuner *self)
{
    GArray *flows = g_array_new(FALSE, FALSE, sizeof(FpFlowKey));

    for (guint i = 0; self->plan && i < self->plan->flows->len; i++) {
        const FpPlanFlowState *f = g_ptr_array_index(self->plan->flows, i);
        const FpWatchedFlow *w = g_hash_table_lookup(self->flows, &f->key);
        FpFlowKey reply = f->key;

        if (!f->demoted || f->idle)
            continue;
        g_array_append_val(flows, f->key);
        if (w && w->has_reply) {
            reply = w->reply;
        } else {
            memcpy(reply.src, f->key.dst, sizeof(reply.src));
            memcpy(reply.dst, f->key.src, sizeof(reply.dst));
            reply.sport = f->key.dport;
            reply.dport = f->key.sport;
        }
        g_array_append_val(flows, reply);
    }
    return flows;
}

static void nic_plan(FpTuner *self, GHashTable *original)
{
    const FpIrqbalance *ib;
    g_autoptr(GPtrArray) nics = NULL;
    g_autoptr(GArray) flows = elephant_tuples(self);
    FpNicPlanInput in = {
        .flows = flows,
        .config = &self->config->tuning,
        .original = original,
    };

    if (self->irqbalance == NULL)
        self->irqbalance = fp_irqbalance_watch_new(PROC, IRQBALANCE_PID_FILE);
    ib = fp_irqbalance_watch_get(self->irqbalance, g_get_monotonic_time());
    nics = read_nics(self, ib);
    in.nics = nics;
    in.irqbalance = ib;
    fp_nic_plan_compute(self->cpu_plan, &in);
}

static void cpu_plan(FpTuner *self)
{
    g_autoptr(GPtrArray) work = read_work(self);
    g_autoptr(GPtrArray) entries = fp_journal_entries(self->journal);
    g_autoptr(GHashTable) original = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GError) error = NULL;
    FpCpuPlanInput in = {0};

    for (guint i = 0; i < entries->len; i++) {
        const FpJournalEntry *e = g_ptr_array_index(entries, i);

        g_hash_table_insert(original, g_strdup_printf("%s %s", e->knob, e->object), e->previous);
    }
    if (work->len && !fp_affinity_read_online(&in.online, &error)) {
        report(self, error);
        g_ptr_array_set_size(work, 0);
    }
    in.vms = work;
    in.config = &self->config->tuning;
    in.original = original;
    g_clear_pointer(&self->cpu_plan, fp_cpu_plan_free);
    self->cpu_plan = fp_cpu_plan_compute(&in);
    if (self->cpu_plan->active && self->config->tuning.nic_devices)
        nic_plan(self, original);
}

static gboolean cpu_write(FpTuner *self, const char *knob, const char *object, const char *value,
                          const FpCpuSet *set, gboolean *gone, GError **error)
{
    if (g_str_equal(knob, "affinity"))
        return fp_affinity_set(object, set, gone, error);
    if (g_str_equal(knob, "irq"))
        return fp_nic_irq_write(PROC, object, value, gone, error);
    if (g_str_equal(knob, "rss"))
        return fp_nic_rss_write(object, value, gone, error);
    return fp_queues_write(SYSFS_NET, object, value, gone, error);
}

/* The libvirt pins of one apply, written in a thread: the outcome. */
static void pins_done(GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
    FpTuner *self = data;
    g_autoptr(GPtrArray) writes = fp_libvirt_pin_apply_finish(result);

    for (guint i = 0; i < writes->len; i++) {
        FpPinWrite *w = g_ptr_array_index(writes, i);
        g_autoptr(GError) error = NULL;
        g_autofree char *list = NULL;

        if (w->error) {
            report(self, w->error);
            continue;
        }
        if (w->gone || w->back) {
            if (!fp_journal_remove(self->journal, w->seq, &error))
                report(self, error);
            if (w->back)
                self->changes_undone++;
            continue;
        }
        self->threads_moved++;
        list = fp_cpuset_to_list(&w->set);
        g_message("tuning: libvirt-pin %s: CPUs %s", w->object, list);
    }
}

static void queue_pin(GPtrArray *batch, const char *object, const FpCpuSet *set, guint64 seq,
                      gboolean back)
{
    FpPinWrite *w = g_new0(FpPinWrite, 1);

    w->object = g_strdup(object);
    w->set = *set;
    w->seq = seq;
    w->back = back;
    g_ptr_array_add(batch, w);
}

/* The CPU lever's knobs written here (libvirt's pins go through a thread). */
static const FpKnob *cpu_knob(FpTuner *self, const char *name)
{
    static const char *const ours[] = {"affinity", "queues", "irq", "rss"};

    for (guint i = 0; i < G_N_ELEMENTS(ours); i++)
        if (g_str_equal(name, ours[i]))
            for (guint k = 0; k < G_N_ELEMENTS(self->knobs); k++)
                if (g_str_equal(self->knobs[k].klass->name, name))
                    return &self->knobs[k];
    return NULL;
}

static void apply_cpu(FpTuner *self)
{
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func((GDestroyNotify)fp_pin_write_free);
    gboolean pins_busy = fp_libvirt_pin_busy(self->pins);

    for (guint i = 0; i < self->cpu_plan->actions->len; i++) {
        const FpCpuPlanAction *a = g_ptr_array_index(self->cpu_plan->actions, i);
        const FpJournalEntry *e = fp_journal_find(self->journal, a->knob, a->object);
        g_autoptr(GError) error = NULL;
        gboolean gone = FALSE, back = g_str_equal(a->previous, a->value);
        gboolean pin = g_str_equal(a->knob, "libvirt-pin");

        if (fp_cpu_plan_action_done(a) && (!e || !back))
            continue; /* as desired already */
        if (!e && back)
            continue;
        if (pin && pins_busy)
            continue; /* the next apply, when the batch in flight has landed */
        if (!e) {
            e = fp_journal_add(self->journal, a->knob, a->object, a->previous, a->value, a->reason,
                               a->vm, &error);
        } else if (!g_str_equal(e->value, a->value) &&
                   !fp_journal_update(self->journal, e->seq, a->value, a->reason, &error)) {
            e = NULL;
        }
        if (!e) {
            report(self, error);
            continue;
        }
        if (pin) {
            queue_pin(batch, a->object, &a->set, e->seq, back);
            continue;
        }
        if (!cpu_write(self, a->knob, a->object, a->value, &a->set, &gone, &error)) {
            report(self, error);
            continue;
        }
        if (gone || back) {
            /* Nothing left to undo: the thread or tap went, or it is back
             * to what it was. */
            if (!fp_journal_remove(self->journal, e->seq, &error))
                report(self, error);
            continue;
        }
        if (g_str_equal(a->knob, "affinity"))
            self->threads_moved++;
        else if (g_str_equal(a->knob, "irq"))
            self->irqs_moved++;
        else if (g_str_equal(a->knob, "rss"))
            self->rss_tables_set++;
        else
            self->masks_set++;
        g_message("tuning: %s %s: %s -> %s (%s)", a->knob, a->object, a->previous, a->value,
                  a->reason);
    }
    /* What the plan no longer wants goes back (a class changed, the CPUs
     * need no split any more, a thread is not the VM's any more). */
    entries = fp_journal_entries(self->journal);
    for (guint i = 0; i < entries->len; i++) {
        const FpJournalEntry *e = g_ptr_array_index(entries, i);
        const FpKnob *knob = cpu_knob(self, e->knob);
        g_autoptr(GError) error = NULL;
        FpCpuSet previous;

        if (g_str_equal(e->knob, "libvirt-pin") && !pins_busy &&
            !fp_cpu_plan_find(self->cpu_plan, e->knob, e->object) &&
            fp_cpuset_parse_list(e->previous, &previous, NULL)) {
            /* Back through libvirt too, in the thread: it may wait for a job. */
            queue_pin(batch, e->object, &previous, e->seq, TRUE);
            continue;
        }
        if (!knob || fp_cpu_plan_find(self->cpu_plan, e->knob, e->object))
            continue;
        if (!knob->klass->undo(knob->self, e, &error) ||
            !fp_journal_remove(self->journal, e->seq, &error)) {
            report(self, error);
            continue;
        }
        self->changes_undone++;
    }
    if (batch->len)
        fp_libvirt_pin_apply_async(self->pins, g_steal_pointer(&batch), pins_done, self);
}

static void step_cpu(FpTuner *self)
{
    if (self->mode == FP_MODE_OBSERVE)
        return;
    cpu_plan(self);
    if (self->mode == FP_MODE_ENFORCE)
        apply_cpu(self);
}

/* ---- the API ------------------------------------------------------------------- */

/**
 * fp_tuner_new:
 * @config: the configuration (copied)
 * @error: return location for a #GError
 *
 * Opens the journal under [agent] state_dir and undoes, newest first, what
 * a run that did not stop cleanly left in force, whatever the mode.
 *
 * Returns: (transfer full) (nullable): the tuner
 */
FpTuner *fp_tuner_new(const FpConfig *config, GError **error)
{
    g_autoptr(FpTuner) self = g_new0(FpTuner, 1);
    g_autofree char *dir = g_build_filename(config->state_dir, JOURNAL_SUBDIR, NULL);
    g_autoptr(GError) local = NULL;

    self->pins = fp_libvirt_pin_new();
    self->created_us = g_get_monotonic_time();
    self->config = fp_config_dup(config);
    self->mode = config->tuning.mode;
    self->flows = g_hash_table_new_full(flow_key_hash, flow_key_equal, NULL, g_free);
    self->devices = g_ptr_array_new_with_free_func((GDestroyNotify)fp_egress_device_free);
    self->applied = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    self->carried = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    self->errors = g_ptr_array_new_with_free_func(g_free);
    self->journal = fp_journal_open(dir, error);
    if (!self->journal || !open_knobs(self, error))
        return NULL;
    if (fp_journal_size(self->journal)) {
        g_message("tuning: undoing %u change(s) a previous run left in force (%s)",
                  fp_journal_size(self->journal), dir);
        /* libvirt's pins wait for the inventory's connection, which
         * comes later: tried again from the sweeps, warned then. */
        self->quiet = TRUE;
        if (!fp_tuner_undo_all(self, &local)) {
            g_message("%s (tried again)", local->message);
            self->undo_retry = TRUE;
        }
        self->quiet = FALSE;
        g_clear_error(&local);
    }
    if (self->mode == FP_MODE_ENFORCE && !fp_tc_prepare(self->tc, &local))
        report(self, local); /* tried again at the first apply */
    g_message("tuning: mode %s", fp_mode_to_string(self->mode));
    return g_steal_pointer(&self);
}

/**
 * fp_tuner_free:
 * @tuner: (nullable): a #FpTuner
 *
 * Undoes every change (SIGTERM), then frees.
 */
void fp_tuner_free(FpTuner *self)
{
    g_autoptr(GError) error = NULL;

    if (!self)
        return;
    wait_pins(self);
    if (self->journal && self->tc && fp_journal_size(self->journal) &&
        !fp_tuner_undo_all(self, &error))
        g_warning("%s", error->message);
    close_knobs(self);
    g_clear_pointer(&self->journal, fp_journal_free);
    g_clear_pointer(&self->irqbalance, fp_irqbalance_watch_free);
    g_clear_pointer(&self->flows, g_hash_table_unref);
    g_clear_pointer(&self->devices, g_ptr_array_unref);
    g_clear_pointer(&self->applied, g_hash_table_unref);
    g_clear_pointer(&self->carried, g_hash_table_unref);
    g_clear_pointer(&self->errors, g_ptr_array_unref);
    g_clear_pointer(&self->snapshot, fp_snapshot_unref);
    g_clear_pointer(&self->plan, fp_plan_free);
    g_clear_pointer(&self->cpu_plan, fp_cpu_plan_free);
    g_clear_pointer(&self->pins, fp_libvirt_pin_free);
    fp_config_free(self->config);
    g_free(self);
}

/**
 * fp_tuner_consume:
 * @tuner: a #FpTuner
 * @snapshot: this sweep's snapshot (a reference is kept)
 *
 * Each sweep: undoes the changes of VMs that went away, reads the egress
 * devices and the watched flows' counters, plans, and in enforce mode
 * applies.
 */
void fp_tuner_consume(FpTuner *self, const FpSnapshot *snapshot)
{
    g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func(g_free);

    g_clear_pointer(&self->snapshot, fp_snapshot_unref);
    self->snapshot = fp_snapshot_ref((FpSnapshot *)snapshot);
    /* What a crashed run left and could not be undone at start (libvirt's
     * pins need the connection the inventory makes later). */
    /* (In enforce the plan takes them over, with their first values, or
     * undoes them: undoing everything there would undo this run's too.) */
    if (self->undo_retry && self->mode != FP_MODE_ENFORCE &&
        snapshot->mono_us - self->undo_retry_us >= 5 * G_USEC_PER_SEC) {
        self->undo_retry_us = snapshot->mono_us;
        /* Quiet while libvirt's connection is still to come (a minute). */
        self->quiet = snapshot->mono_us - self->created_us < 60 * G_USEC_PER_SEC;
        if (fp_tuner_undo_all(self, NULL))
            self->undo_retry = FALSE;
        self->quiet = FALSE;
    }
    if (self->mode == FP_MODE_OBSERVE)
        return;
    if (snapshot->gone->len)
        wait_pins(self);
    for (guint i = 0; i < snapshot->gone->len; i++) {
        const char *uuid = snapshot->gone->pdata[i];
        g_autoptr(GPtrArray) drop = g_ptr_array_new_with_free_func(g_free);

        /* Its flows are no one's to demote now, and its changes go. */
        for (guint f = 0; self->plan && f < self->plan->flows->len; f++) {
            const FpPlanFlowState *s = g_ptr_array_index(self->plan->flows, f);

            if (g_str_equal(s->owner, uuid))
                g_ptr_array_add(drop, g_memdup2(&s->key, sizeof(s->key)));
        }
        for (guint f = 0; f < drop->len; f++)
            g_hash_table_remove(self->flows, drop->pdata[f]);
        fp_journal_replay(self->journal, self->knobs, G_N_ELEMENTS(self->knobs), uuid, messages);
    }
    report_all(self, messages);
    read_devices(self);
    refresh_flows(self, snapshot->mono_us);
    step(self, snapshot->mono_us);
    step_cpu(self);
}

/**
 * fp_tuner_egress_capacity:
 * @tuner: a #FpTuner
 *
 * The shared egress's capacity as the tuner sees it: the sum over the
 * egress devices as last read of the rate each is (or would be) shaped to,
 * [tuning] egress_rate_mbit or else the speed the device reports.
 *
 * Returns: bytes/s; 0 when no device has a known rate
 */
double fp_tuner_egress_capacity(FpTuner *self)
{
    double sum = 0;

    if (!self->devices->len)
        read_devices(self);
    for (guint i = 0; i < self->devices->len; i++) {
        const FpEgressDevice *d = g_ptr_array_index(self->devices, i);
        guint64 mbit = self->config->tuning.egress_rate_mbit ? self->config->tuning.egress_rate_mbit
                                                             : d->speed_mbit;

        if (d->ifindex)
            sum += (double)mbit * 1e6 / 8.0;
    }
    return sum;
}

/**
 * fp_tuner_elephant:
 * @tuner: a #FpTuner
 * @flow: the flow that just became an elephant
 *
 * Watches the flow and, in enforce mode, demotes it at once.
 */
void fp_tuner_elephant(FpTuner *self, const FpFlow *flow)
{
    FpWatchedFlow *w;
    gint64 now = g_get_monotonic_time();

    self->elephants++;
    if (self->mode == FP_MODE_OBSERVE)
        return;
    w = g_hash_table_lookup(self->flows, &flow->key);
    if (!w) {
        if (g_hash_table_size(self->flows) >= self->config->tuning.max_flows * 2)
            return; /* bounded; the planner counts what it skips */
        w = g_new0(FpWatchedFlow, 1);
        w->flow.key = flow->key;
        w->flow.elephant_us = flow->elephant_us ? flow->elephant_us : now;
        w->last_bytes = flow->bytes[0] + flow->bytes[1];
        w->last_us = now;
        g_hash_table_insert(self->flows, &w->flow.key, w);
    }
    memcpy(w->flow.in_ifindex, flow->in_ifindex, sizeof(w->flow.in_ifindex));
    memcpy(w->flow.out_ifindex, flow->out_ifindex, sizeof(w->flow.out_ifindex));
    w->flow.has_devices = flow->has_devices;
    w->flow.bytes[0] = flow->bytes[0];
    w->flow.bytes[1] = flow->bytes[1];
    w->flow.quiet_since_us = 0;
    if (!self->devices->len)
        read_devices(self);
    step(self, now);
    /* step() may have dropped the flow (and freed w): look it up again. */
    w = g_hash_table_lookup(self->flows, &flow->key);
    if (w && w->applied_bits && flow->elephant_us) {
        /* Demoted by this event: from the threshold crossing to the mark. */
        gint64 latency = g_get_monotonic_time() - flow->elephant_us;

        self->demote_latency_last_us = latency;
        self->demote_latency_max_us = MAX(self->demote_latency_max_us, latency);
    }
}

/**
 * fp_tuner_flow_ended:
 * @tuner: a #FpTuner
 * @key: a flow conntrack destroyed
 *
 * Stops watching it; its mark went with its conntrack entry.
 */
void fp_tuner_flow_ended(FpTuner *self, const FpFlowKey *key)
{
    g_autofree char *object = NULL;
    const FpJournalEntry *e;
    g_autoptr(GError) error = NULL;

    if (!g_hash_table_remove(self->flows, key))
        return;
    object = fp_flow_key_to_string(key);
    e = fp_journal_find(self->journal, "ctmark", object);
    if (e && !fp_journal_remove(self->journal, e->seq, &error))
        report(self, error);
}

/**
 * fp_tuner_set_mode:
 * @tuner: a #FpTuner
 * @mode: the new mode
 * @error: return location for a #GError
 *
 * Leaving enforce undoes everything; entering it applies the current plan
 * at once.  In observe mode nothing is watched.
 */
gboolean fp_tuner_set_mode(FpTuner *self, FpMode mode, GError **error)
{
    FpMode old = self->mode;

    if (mode == old)
        return TRUE;
    g_message("tuning: mode %s -> %s", fp_mode_to_string(old), fp_mode_to_string(mode));
    self->mode = mode;
    if (old == FP_MODE_ENFORCE && !fp_tuner_undo_all(self, error))
        return FALSE;
    if (mode == FP_MODE_OBSERVE) {
        g_hash_table_remove_all(self->flows);
        g_clear_pointer(&self->plan, fp_plan_free);
        g_clear_pointer(&self->cpu_plan, fp_cpu_plan_free);
        return TRUE;
    }
    if (mode == FP_MODE_ENFORCE && !fp_tc_prepare(self->tc, error))
        return FALSE;
    if (self->snapshot) {
        read_devices(self);
        step(self, g_get_monotonic_time());
        step_cpu(self);
    }
    return TRUE;
}

FpMode fp_tuner_get_mode(FpTuner *self)
{
    return self->mode;
}

/**
 * fp_tuner_set_libvirt:
 * @tuner: a #FpTuner
 * @get: returns the agent's libvirt connection (a virConnectPtr, borrowed),
 *     or %NULL while there is none
 * @data: @get's argument
 *
 * With a connection, the threads libvirt has an API for (emulator, I/O
 * threads, vCPUs) are pinned through it, so that libvirt's view stays true;
 * without one (the tuner alone, in tests), through their affinity.
 */
void fp_tuner_set_libvirt(FpTuner *self, FpConnectionFunc get, gpointer data)
{
    fp_libvirt_pin_set_connection(self->pins, get, data);
}

/**
 * fp_tuner_reconfigure:
 * @tuner: a #FpTuner
 * @config: the configuration read again (copied)
 * @error: return location for a #GError
 *
 * For SIGHUP.  A new mark mask, state dir or slot count undoes everything
 * first (the classifier is loaded with them); then the mode is switched as
 * fp_tuner_set_mode() does.
 */
gboolean fp_tuner_reconfigure(FpTuner *self, const FpConfig *config, GError **error)
{
    const FpTuningConfig *a = &self->config->tuning, *b = &config->tuning;
    gboolean rebuild = a->ct_mark_mask != b->ct_mark_mask || a->fair_slots != b->fair_slots ||
                       g_strcmp0(self->config->state_dir, config->state_dir) != 0;
    FpMode mode = b->mode;

    if (rebuild) {
        g_autofree char *dir = g_build_filename(config->state_dir, JOURNAL_SUBDIR, NULL);
        FpJournal *journal;

        if (!fp_tuner_undo_all(self, error))
            return FALSE;
        journal = fp_journal_open(dir, error);
        if (!journal)
            return FALSE;
        close_knobs(self);
        fp_journal_free(self->journal);
        self->journal = journal;
        fp_config_free(self->config);
        self->config = fp_config_dup(config);
        g_clear_pointer(&self->plan, fp_plan_free);
        if (!open_knobs(self, error))
            return FALSE;
    } else {
        fp_config_free(self->config);
        self->config = fp_config_dup(config);
    }
    if (!fp_tuner_set_mode(self, mode, error))
        return FALSE;
    if (self->snapshot && mode != FP_MODE_OBSERVE) {
        read_devices(self);
        step(self, g_get_monotonic_time());
        step_cpu(self);
    }
    return TRUE;
}

/**
 * fp_tuner_plan_text:
 * @tuner: a #FpTuner
 *
 * Returns: (transfer full): the current plan as text (planner.c's format),
 * "" when there is none
 */
char *fp_tuner_plan_text(FpTuner *self)
{
    g_autofree char *egress = self->plan ? fp_plan_to_text(self->plan) : g_strdup("");
    g_autofree char *cpus = self->cpu_plan ? fp_cpu_plan_to_text(self->cpu_plan) : g_strdup("");

    return g_strconcat(egress, cpus, NULL);
}

/* ---- describe ---------------------------------------------------------------- */

#define ADD(b, k, v) g_variant_builder_add(b, "{sv}", k, v)

/* Device names are the kernel's (any bytes but '/', ':', whitespace), VM
 * names and reasons quote libvirt's, the journal is read back from disk:
 * each goes through fp_text_variant() (safe-text.h), never straight into
 * g_variant_new_string(), which refuses what is not UTF-8. */
static GVariant *devices_variant(FpTuner *self)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; self->plan && i < self->plan->devices->len; i++) {
        const FpPlanDevice *d = g_ptr_array_index(self->plan->devices, i);
        GVariantBuilder db;

        g_variant_builder_init(&db, G_VARIANT_TYPE_VARDICT);
        ADD(&db, "name", fp_text_variant(d->name));
        ADD(&db, "managed", g_variant_new_boolean(d->managed));
        ADD(&db, "shaped", g_variant_new_boolean(d->shaped));
        ADD(&db, "applied", g_variant_new_boolean(g_hash_table_contains(self->applied, d->name)));
        ADD(&db, "reason", fp_text_variant(d->reason ? d->reason : ""));
        ADD(&db, "rate_bps", g_variant_new_uint64(d->rate_bps));
        ADD(&db, "normal_bps", g_variant_new_uint64(d->normal_bps));
        ADD(&db, "demoted_bps", g_variant_new_uint64(d->demoted_bps));
        ADD(&db, "slots", g_variant_new_uint32(d->slots));
        g_variant_builder_add_value(&b, g_variant_builder_end(&db));
    }
    return g_variant_builder_end(&b);
}

static GVariant *flows_variant(FpTuner *self)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; self->plan && i < self->plan->flows->len; i++) {
        const FpPlanFlowState *f = g_ptr_array_index(self->plan->flows, i);
        const FpWatchedFlow *w = g_hash_table_lookup(self->flows, &f->key);
        g_autofree char *key = fp_flow_key_to_string(&f->key);
        GVariantBuilder fb;

        g_variant_builder_init(&fb, G_VARIANT_TYPE_VARDICT);
        ADD(&fb, "flow", g_variant_new_string(key));
        ADD(&fb, "demoted", g_variant_new_boolean(f->demoted));
        ADD(&fb, "applied", g_variant_new_boolean(w && w->applied_bits != 0));
        ADD(&fb, "slot", g_variant_new_uint32(f->slot));
        ADD(&fb, "owner", fp_text_variant(f->owner));
        ADD(&fb, "vm", fp_text_variant(f->vm_name ? f->vm_name : ""));
        ADD(&fb, "class", g_variant_new_string(f->vm_name ? fp_class_to_string(f->klass) : ""));
        ADD(&fb, "reason", fp_text_variant(f->reason));
        ADD(&fb, "rate_bps", g_variant_new_double(w ? w->flow.rate_bps * 8 : 0));
        ADD(&fb, "for_s", g_variant_new_double((double)(self->plan->now_us - f->since_us) / 1e6));
        g_variant_builder_add_value(&b, g_variant_builder_end(&fb));
    }
    return g_variant_builder_end(&b);
}

static GVariant *vms_variant(FpTuner *self)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; self->plan && i < self->plan->vms->len; i++) {
        const FpPlanVm *v = g_ptr_array_index(self->plan->vms, i);
        GVariantBuilder vb;

        g_variant_builder_init(&vb, G_VARIANT_TYPE_VARDICT);
        ADD(&vb, "uuid", g_variant_new_string(v->uuid));
        ADD(&vb, "name", fp_text_variant(v->name));
        ADD(&vb, "class", g_variant_new_string(fp_class_to_string(v->klass)));
        ADD(&vb, "demoted", g_variant_new_boolean(v->demoted));
        ADD(&vb, "slot", g_variant_new_uint32(v->slot));
        ADD(&vb, "reason", fp_text_variant(v->reason));
        ADD(&vb, "for_s", g_variant_new_double((double)(self->plan->now_us - v->since_us) / 1e6));
        g_variant_builder_add_value(&b, g_variant_builder_end(&vb));
    }
    return g_variant_builder_end(&b);
}

static GVariant *actions_variant(FpTuner *self)
{
    g_autoptr(GPtrArray) entries = fp_journal_entries(self->journal);
    gint64 now = g_get_real_time();
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; i < entries->len; i++) {
        const FpJournalEntry *e = g_ptr_array_index(entries, i);
        GVariantBuilder ab;

        g_variant_builder_init(&ab, G_VARIANT_TYPE_VARDICT);
        ADD(&ab, "seq", g_variant_new_uint64(e->seq));
        ADD(&ab, "knob", fp_text_variant(e->knob));
        ADD(&ab, "object", fp_text_variant(e->object));
        ADD(&ab, "previous", fp_text_variant(e->previous));
        ADD(&ab, "value", fp_text_variant(e->value));
        ADD(&ab, "reason", fp_text_variant(e->reason ? e->reason : ""));
        ADD(&ab, "vm", fp_text_variant(e->vm ? e->vm : ""));
        ADD(&ab, "age_s", g_variant_new_double((double)(now - e->real_us) / 1e6));
        g_variant_builder_add_value(&b, g_variant_builder_end(&ab));
    }
    return g_variant_builder_end(&b);
}

/* The egress plan's notes, then the CPU plan's (a VM pinned too tightly). */
static GVariant *notes_variant(FpTuner *self)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
    for (guint i = 0; self->plan && i < self->plan->notes->len; i++)
        g_variant_builder_add_value(&b, fp_text_variant(self->plan->notes->pdata[i]));
    for (guint i = 0; self->cpu_plan && i < self->cpu_plan->notes->len; i++)
        g_variant_builder_add_value(&b, fp_text_variant(self->cpu_plan->notes->pdata[i]));
    return g_variant_builder_end(&b);
}

/**
 * fp_tuner_describe:
 * @tuner: a #FpTuner
 *
 * Returns: (transfer floating): the tuner for D-Bus GetTuning: mode s,
 * classifier s, journal s, plan s (as text), devices aa{sv}, flows aa{sv},
 * vms aa{sv}, notes as, actions aa{sv} (the journal: each change in force
 * with its previous value, reason and age), errors as, and counters
 * (org.footprintd.Footprint1.xml documents every field)
 */
GVariant *fp_tuner_describe(FpTuner *self)
{
    GVariantBuilder b;
    g_autofree char *text = fp_tuner_plan_text(self);

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    ADD(&b, "mode", g_variant_new_string(fp_mode_to_string(self->mode)));
    ADD(&b, "classifier", g_variant_new_string(fp_tc_classifier_mode(self->tc)));
    ADD(&b, "journal", g_variant_new_string(fp_journal_dir(self->journal)));
    ADD(&b, "plan", g_variant_new_string(text));
    ADD(&b, "devices", devices_variant(self));
    ADD(&b, "flows", flows_variant(self));
    ADD(&b, "vms", vms_variant(self));
    ADD(&b, "notes", notes_variant(self));
    ADD(&b, "cpus",
        fp_text_variant(self->cpu_plan && self->cpu_plan->why ? self->cpu_plan->why : ""));
    ADD(&b, "actions", actions_variant(self));
    ADD(&b, "errors",
        g_variant_new_strv((const char *const *)self->errors->pdata, self->errors->len));
    ADD(&b, "elephants", g_variant_new_uint64(self->elephants));
    ADD(&b, "flows_watched", g_variant_new_uint32(g_hash_table_size(self->flows)));
    ADD(&b, "flows_skipped", g_variant_new_uint32(self->plan ? self->plan->flows_skipped : 0));
    ADD(&b, "marks_set", g_variant_new_uint64(self->marks_set));
    ADD(&b, "changes_undone", g_variant_new_uint64(self->changes_undone));
    ADD(&b, "devices_shaped", g_variant_new_uint64(self->devices_shaped));
    ADD(&b, "demote_latency_last_us", g_variant_new_int64(self->demote_latency_last_us));
    ADD(&b, "demote_latency_max_us", g_variant_new_int64(self->demote_latency_max_us));
    ADD(&b, "threads_moved", g_variant_new_uint64(self->threads_moved));
    ADD(&b, "masks_set", g_variant_new_uint64(self->masks_set));
    ADD(&b, "irqs_moved", g_variant_new_uint64(self->irqs_moved));
    ADD(&b, "rss_tables_set", g_variant_new_uint64(self->rss_tables_set));
    return g_variant_builder_end(&b);
}
