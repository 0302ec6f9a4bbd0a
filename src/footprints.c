/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's footprint learner.  Each sweep:
 *
 *   1. the sampler turns the flow table into per-VM samples: each flow's
 *      bytes moved since the previous sweep go to the VM(s) on its sides
 *      (fp_attribution_sides() says how), split into rx/tx from the VM's
 *      point of view; flows born since are new flows (mice when not
 *      elephants yet), flows the table removed since have ended;
 *   2. every running VM's model is fed its sample (a VM without flows gets
 *      an empty one: that is how a VM becomes idle);
 *   3. the result is one sealed snapshot: a record per running VM and the
 *      VMs gone since the previous one.  What becomes of it (metadata,
 *      metrics, signals, tuning, Placement) is sweep.c's business.
 *
 * Priors and pins.  A VM seen for the first time in this run starts from
 * the state file when it has an entry there, else from its metadata
 * element (a footprint travels with its VM).  The operator's pin lives in
 * the metadata element: the inventory re-reads a domain's XML on every
 * metadata-change event, and each sweep applies the pin of the element it
 * found (none when the element has no pin or is gone).  The metadata
 * writer re-reads the element before each write and hands a pin it finds
 * there back through fp_footprints_follow_pin().
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "attribution.h"
#include "footprints.h"
#include "fp-error.h"

/* ---- the sampler -------------------------------------------------------- */

/* The flow table keeps what a flow moved at its latest report and when it
 * was born (flow-table.h); the sampler only remembers the last sweep it
 * looked at. */
struct _FpSampler {
    guint generation; /* the flow table's sweep at the previous step */
    gboolean primed;  /* the first step only records where the table stands */
    /* Per-device flow births from the kernel (nullable), and each device's
     * count at the previous step (ifindex -> guint64[2]). */
    FpBirthsFunc births_func;
    gpointer births_data;
    GHashTable *births_prev;
    /* The taps' own byte counters (nullable), each device's at the
     * previous step, and whether the flows of this step are not all of
     * them (the bounded table refused or let go some). */
    FpTapBytesFunc tap_func;
    gpointer tap_data;
    GHashTable *tap_prev;
    gboolean partial;
};

/**
 * fp_sampler_new:
 *
 * Returns: (transfer full): a sampler that has seen no sweep
 */
FpSampler *fp_sampler_new(void)
{
    return g_new0(FpSampler, 1);
}

void fp_sampler_free(FpSampler *sampler)
{
    if (!sampler)
        return;
    g_clear_pointer(&sampler->births_prev, g_hash_table_unref);
    g_clear_pointer(&sampler->tap_prev, g_hash_table_unref);
    g_free(sampler);
}

/**
 * fp_sampler_set_tap_bytes_func:
 * @sampler: a sampler
 * @func: (nullable): the taps' own byte counters
 * @user_data: for @func
 *
 * With @func, a step that is partial (fp_sampler_set_partial()) takes a
 * VM's bytes from its taps' counters when they are more than its flows'
 * sum: the flows the table did not follow are in them.
 */
void fp_sampler_set_tap_bytes_func(FpSampler *sampler, FpTapBytesFunc func, gpointer user_data)
{
    sampler->tap_func = func;
    sampler->tap_data = user_data;
    if (!sampler->tap_prev)
        sampler->tap_prev = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
}

/**
 * fp_sampler_set_partial:
 * @sampler: a sampler
 * @partial: whether the next step's flows miss some (the bounded flow
 *     table refused or let go flows since the previous step)
 */
void fp_sampler_set_partial(FpSampler *sampler, gboolean partial)
{
    sampler->partial = partial;
}

/**
 * fp_sampler_set_births_func:
 * @sampler: a sampler
 * @func: (nullable): the kernel's per-device flow births
 * @user_data: for @func
 *
 * With @func, a VM's new flows (and mice started) are the births counted
 * on its devices, every flow of them, not the flows the table took in: a
 * table bounded by [sense] flows_max misses some on a busy host.
 */
void fp_sampler_set_births_func(FpSampler *sampler, FpBirthsFunc func, gpointer user_data)
{
    sampler->births_func = func;
    sampler->births_data = user_data;
    if (!sampler->births_prev)
        sampler->births_prev = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
}

static FpFootprintSample *sample_of(GHashTable *samples, const char *uuid, gint64 interval_us);

/* A device's counters @now ([2]) since the previous step, into @delta;
 * none at the first look at a device (a VM the inventory learns late must
 * not get all that time in one interval). */
static void device_delta(GHashTable *prev_of, guint32 ifindex, const guint64 now[2],
                         guint64 delta[2])
{
    guint64 *prev = g_hash_table_lookup(prev_of, GUINT_TO_POINTER(ifindex));

    if (!prev) {
        g_hash_table_insert(prev_of, GUINT_TO_POINTER(ifindex), g_memdup2(now, 2 * sizeof(*now)));
        delta[0] = delta[1] = 0;
        return;
    }
    for (int s = 0; s < 2; s++) {
        delta[s] = fp_counter_delta(now[s], prev[s]);
        prev[s] = now[s];
    }
}

/* Births on @ifindex since the previous step (both sides). */
static guint64 births_since(FpSampler *sampler, guint32 ifindex)
{
    guint64 now[2], delta[2];

    if (!ifindex || !sampler->births_func(ifindex, now, sampler->births_data))
        return 0;
    device_delta(sampler->births_prev, ifindex, now, delta);
    return delta[0] + delta[1];
}

/* A tap's bytes since the previous step, into @sum: [0] the VM sent. */
static void tap_bytes_since(FpSampler *sampler, guint32 ifindex, guint64 sum[2])
{
    guint64 now[2], delta[2];

    if (!ifindex || !sampler->tap_func(ifindex, now, sampler->tap_data))
        return;
    device_delta(sampler->tap_prev, ifindex, now, delta);
    sum[0] += delta[0];
    sum[1] += delta[1];
}

/* Every running VM's counts from its devices.  New flows are the births
 * on them; mice started are those births less the new flows the table
 * already knows as elephants.  In a partial step, bytes are the taps'
 * when they are more than the flows' (which miss those not followed).
 * @record: only note where the counters stand (the first step). */
static void devices_to_samples(FpSampler *sampler, GHashTable *samples, FpVmIndex *index,
                               gint64 interval_us, gboolean record)
{
    g_autoptr(GPtrArray) vms = index ? fp_vm_index_list(index) : NULL;

    for (guint i = 0; vms && i < vms->len; i++) {
        const FpVm *vm = g_ptr_array_index(vms, i);
        guint64 born = 0, tap[2] = {0, 0};
        gboolean more_bytes;
        FpFootprintSample *s;

        for (guint j = 0; j < vm->interfaces->len; j++) {
            guint32 ifindex = fp_vm_index_get_ifindex(index, vm->uuid, j);

            if (sampler->births_func)
                born += births_since(sampler, ifindex);
            if (sampler->tap_func)
                tap_bytes_since(sampler, ifindex, tap);
        }
        if (record)
            continue;
        s = g_hash_table_lookup(samples, vm->uuid);
        more_bytes = sampler->partial && tap[0] + tap[1] > 0 &&
                     (!s || tap[0] > s->tx_bytes || tap[1] > s->rx_bytes);
        if (!s && (born || more_bytes))
            s = sample_of(samples, vm->uuid, interval_us);
        if (!s)
            continue;
        if (sampler->births_func) {
            guint64 new_elephants = s->new_flows - MIN(s->mice_started, s->new_flows);

            s->new_flows = born;
            s->mice_started = born > new_elephants ? born - new_elephants : 0;
        }
        if (more_bytes) {
            s->tx_bytes = MAX(s->tx_bytes, tap[0]);
            s->rx_bytes = MAX(s->rx_bytes, tap[1]);
        }
    }
}

static FpFootprintSample *sample_of(GHashTable *samples, const char *uuid, gint64 interval_us)
{
    FpFootprintSample *s = g_hash_table_lookup(samples, uuid);

    if (s == NULL) {
        s = g_new0(FpFootprintSample, 1);
        s->interval_us = interval_us;
        g_hash_table_insert(samples, g_strdup(uuid), s);
    }
    return s;
}

/* One VM's part of a flow in this interval. */
static void add_to_sample(FpFootprintSample *s, const FpFlow *f, const guint64 delta[2],
                          const FpVmSide *side, gboolean is_new)
{
    gboolean elephant = f->elephant != FP_ELEPHANT_NONE;

    s->tx_bytes += delta[side->dir];
    s->rx_bytes += delta[!side->dir];
    if (!side->counts_flow)
        return;
    if (delta[0] + delta[1] > 0)
        s->active_flows++;
    if (elephant) {
        s->elephant_flows++;
        s->elephant_bytes += delta[0] + delta[1];
    }
    if (is_new) {
        s->new_flows++;
        if (!elephant)
            s->mice_started++;
    }
}

/* Sweeps after the previous step, up to @generation. */
static gboolean since(const FpSampler *sampler, guint sweep, guint generation)
{
    return sweep > sampler->generation && sweep <= generation;
}

static void sample_flow(FpSampler *sampler, GHashTable *samples, FpVmIndex *index, const FpFlow *f,
                        guint generation, gint64 interval_us, gboolean ended)
{
    /* Bytes reported since the previous step; a flow born since is new (one
     * the table took in after its sweep belongs to the next). */
    gboolean fresh = since(sampler, f->delta_generation, generation);
    guint64 delta[2] = {fresh ? f->delta[0] : 0, fresh ? f->delta[1] : 0};
    gboolean is_new = since(sampler, f->born, generation) || (ended && f->born > generation);
    FpVmSide sides[2];
    guint n = fp_attribute_flow_sides(index, f, sides);

    for (guint k = 0; k < n; k++) {
        FpFootprintSample *s = sample_of(samples, sides[k].vm->uuid, interval_us);

        add_to_sample(s, f, delta, &sides[k], is_new);
        if (ended && sides[k].counts_flow && f->elephant == FP_ELEPHANT_NONE)
            s->mice_ended++;
    }
}

/**
 * fp_sampler_step:
 * @sampler: a sampler
 * @index: the running VMs
 * @flows: (element-type FpFlow): the flow table's flows now
 * @ended: (element-type FpFlow) (nullable): the flows it removed since the
 *     previous step (fp_flow_table_take_ended())
 * @generation: the flow table's sweep now (fp_flow_table_get_generation())
 * @interval_us: time since the previous step, µs (> 0)
 *
 * Returns: (transfer full) (nullable): uuid -> #FpFootprintSample for every
 * VM with a flow in the interval (new, moving, or ended), or %NULL on the
 * first step, which only records where the table stands (flows older than
 * the agent are not new, and their past bytes are not this interval's).
 */
GHashTable *fp_sampler_step(FpSampler *sampler, FpVmIndex *index, GPtrArray *flows,
                            GPtrArray *ended, guint generation, gint64 interval_us)
{
    GHashTable *samples;

    if (!sampler->primed) {
        sampler->primed = TRUE;
        sampler->generation = generation;
        if (sampler->births_func || sampler->tap_func)
            devices_to_samples(sampler, NULL, index, interval_us, TRUE);
        return NULL;
    }
    samples = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    for (guint i = 0; i < flows->len; i++)
        sample_flow(sampler, samples, index, g_ptr_array_index(flows, i), generation, interval_us,
                    FALSE);
    /* Their last bytes count, and one born and gone within the interval
     * is both a new flow and an ended one. */
    for (guint i = 0; ended != NULL && i < ended->len; i++)
        sample_flow(sampler, samples, index, g_ptr_array_index(ended, i), generation, interval_us,
                    TRUE);
    if (sampler->births_func || sampler->tap_func)
        devices_to_samples(sampler, samples, index, interval_us, FALSE);
    sampler->generation = generation;
    return samples;
}

/* ---- the learner -------------------------------------------------------- */

/* What the learner keeps about a running VM besides its model. */
typedef struct {
    FpClass last_class; /* the class in the previous snapshot */
    char *seen_xml;     /* the metadata element last applied */
    char *seen_pin_xml; /* the operator's pin element last applied */
    gboolean running;   /* in the VM index at the last sweep */
} FpVmMeta;

struct _FpFootprints {
    FpFootprintPolicy policy;
    char *state_path;
    FpFootprintSet *set;
    FpSampler *sampler;
    GHashTable *meta; /* uuid -> FpVmMeta */
    guint64 seq;
    gint64 last_sweep_us, last_save_us;
    gint64 forget_after_s;   /* [footprint] forget_after_days */
    gint64 save_interval_us; /* [footprint] save_interval */
    gboolean state_kept;     /* the state file could not be read or moved aside */
    FpFileWriteStatus state_write;
    FpAtomicWriter *state_writer; /* (nullable): saves in a thread (fp_footprints_set_async()) */
    guint64 flows_dropped;        /* the flow table's refused + let go at the last sweep */
};

static void meta_free(gpointer data)
{
    FpVmMeta *m = data;

    g_free(m->seen_xml);
    g_free(m->seen_pin_xml);
    g_free(m);
}

/**
 * fp_footprints_new:
 * @policy: the model's thresholds ([footprint])
 * @state_dir: where the state file lives ([agent] state_dir)
 * @forget_after_days: a VM not seen for this long leaves the state file
 *
 * Returns: (transfer full): a learner with no models; call
 * fp_footprints_restore() to load the state file.
 */
FpFootprints *fp_footprints_new(const FpFootprintPolicy *policy, const char *state_dir,
                                guint forget_after_days)
{
    FpFootprints *self = g_new0(FpFootprints, 1);

    self->forget_after_s = (gint64)forget_after_days * 86400;
    self->save_interval_us = (gint64)FP_FOOTPRINTS_SAVE_INTERVAL_S * G_USEC_PER_SEC;
    self->policy = *policy;
    self->state_path = g_build_filename(state_dir, FP_FOOTPRINTS_STATE_FILE, NULL);
    self->set = fp_footprint_set_new(&self->policy);
    self->sampler = fp_sampler_new();
    self->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, meta_free);
    return self;
}

void fp_footprints_free(FpFootprints *self)
{
    if (self == NULL)
        return;
    /* A save under way ends first (it waits for its fsync). */
    fp_atomic_writer_free(self->state_writer);
    g_free(self->state_path);
    fp_file_write_status_clear(&self->state_write);
    fp_footprint_set_free(self->set);
    fp_sampler_free(self->sampler);
    g_hash_table_unref(self->meta);
    g_free(self);
}

/**
 * fp_footprints_reconfigure:
 * @footprints: a learner
 * @policy: the [footprint] thresholds after a reload
 * @forget_after_days: [footprint] forget_after_days after a reload
 *
 * Applies what may change at run time: every model keeps its figures;
 * classes follow the new thresholds at the next evaluations, with
 * hysteresis; forgetting follows at the next save.
 */
void fp_footprints_reconfigure(FpFootprints *self, const FpFootprintPolicy *policy,
                               guint forget_after_days)
{
    self->policy = *policy;
    fp_footprint_set_set_policy(self->set, &self->policy);
    self->forget_after_s = (gint64)forget_after_days * 86400;
}

/**
 * fp_footprints_set_save_interval:
 * @footprints: a learner
 * @interval_s: [footprint] save_interval: least time between two saves
 *     of the state file during a run (it is saved at stop too)
 */
void fp_footprints_set_save_interval(FpFootprints *self, guint interval_s)
{
    self->save_interval_us = (gint64)interval_s * G_USEC_PER_SEC;
}

/**
 * fp_footprints_set_async:
 * @footprints: a learner
 * @async: whether the saves during a run are written in a worker thread
 *
 * The state file is written with an fsync, which can sleep for seconds on
 * a busy disk: the daemon's saves during a run (every save_interval, from
 * fp_footprints_sweep()) are written in a worker thread, one at a time;
 * their status follows at the sweep after the write ended.
 * fp_footprints_save() still writes before it returns (a clean stop).
 * Without it (the default), the sweep's saves do too.
 */
void fp_footprints_set_async(FpFootprints *self, gboolean async)
{
    if (async && self->state_writer == NULL)
        self->state_writer = fp_atomic_writer_new(self->state_path, "footprint state", 0644,
                                                  FP_ATOMIC_FILE_DURABLE, "fp-state-write");
    else if (!async)
        g_clear_pointer(&self->state_writer, fp_atomic_writer_free);
}

/* The status of a save the worker ended (fp_footprints_set_async()). */
static void reap_save(FpFootprints *self)
{
    g_autoptr(GError) error = NULL;
    gint64 real_us = 0;

    if (self->state_writer != NULL && fp_atomic_writer_reap(self->state_writer, &error, &real_us))
        fp_file_write_status_note(&self->state_write, "footprint state", self->state_path, error,
                                  real_us);
}

/**
 * fp_footprints_get_write_status:
 * @footprints: a learner
 *
 * Returns: (transfer none): how the writes of the state file fare
 */
const FpFileWriteStatus *fp_footprints_get_write_status(FpFootprints *self)
{
    return &self->state_write;
}

/**
 * fp_footprints_restore:
 * @footprints: a learner
 * @error: return location for a #GError
 *
 * Loads the state file.  A missing file (first start) is not an error; a
 * bad entry loses that VM only (logged).  A file that cannot be used at
 * all is moved aside (footprints.bad-TIME) so that the next save does not
 * overwrite it; if even that fails, it is never written over in this run.
 *
 * Returns: %FALSE when the file exists but cannot be used (nothing loaded;
 * the message says where the file went).
 */
gboolean fp_footprints_restore(FpFootprints *self, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GError) aside_error = NULL;
    g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *aside = NULL;

    if (fp_footprint_set_load(self->set, self->state_path, skipped, &local)) {
        /* A bad entry loses that VM only. */
        for (guint i = 0; i < skipped->len; i++)
            g_message("%s", (const char *)g_ptr_array_index(skipped, i));
        return TRUE;
    }
    if (g_error_matches(local, FP_ERROR, FP_ERROR_NOT_FOUND))
        return TRUE;
    /* Not overwritten by the next save: what it holds may be recovered. */
    aside = fp_footprint_state_file_set_aside(self->state_path, g_get_real_time() / G_USEC_PER_SEC,
                                              &aside_error);
    if (aside) {
        g_set_error(error, FP_ERROR, local->code, "%s; moved aside to '%s'", local->message, aside);
    } else {
        self->state_kept = TRUE;
        g_set_error(error, FP_ERROR, local->code, "%s; %s: it is kept and not written over",
                    local->message, aside_error->message);
    }
    return FALSE;
}

/* Records the running VMs as seen now, and forgets the VMs not seen for
 * [footprint] forget_after_days (or beyond what the state file holds). */
static void forget_stale(FpFootprints *self)
{
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(GPtrArray) forgotten = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, self->meta);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (((FpVmMeta *)value)->running)
            fp_footprint_set_touch(self->set, key, now);
    fp_footprint_set_forget(self->set, now, self->forget_after_s, FP_FOOTPRINT_STATE_MAX_VMS,
                            forgotten);
    for (guint i = 0; i < forgotten->len; i++)
        g_message("footprint: %s", (const char *)g_ptr_array_index(forgotten, i));
}

/**
 * fp_footprints_save:
 * @footprints: a learner
 * @error: return location for a #GError
 *
 * Forgets the VMs not seen for [footprint] forget_after_days (the running
 * ones are seen now), then writes the state file atomically, creating the
 * state dir if needed.  A failure leaves the previous file whole, is
 * logged once per change (fp_file_write_status_note()) and is kept for
 * the health (fp_footprints_get_write_status()).  Nothing is written over a state file that could
 * not be read nor moved aside (fp_footprints_restore()).
 */
/* What every save does first: forgets the stale VMs and makes the state
 * dir.  FALSE (and @error) when there is nothing to write to. */
static gboolean save_prepare(FpFootprints *self, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(self->state_path);

    forget_stale(self);
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "footprint state '%s': state dir '%s': %s",
                    self->state_path, dir, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

gboolean fp_footprints_save(FpFootprints *self, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (self->state_kept)
        return TRUE; /* fp_footprints_restore() said why */
    /* A save in the worker is older than this one: it ends first, and
     * one waiting is dropped. */
    if (self->state_writer != NULL) {
        fp_atomic_writer_drain(self->state_writer);
        reap_save(self);
    }
    if (save_prepare(self, &local))
        fp_footprint_set_save(self->set, self->state_path, &local);
    /* The log hears of a failure once, not at every save (a full disk
     * fails them all); the health carries it meanwhile. */
    fp_file_write_status_note(&self->state_write, "footprint state", self->state_path, local,
                              g_get_real_time());
    if (local != NULL) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    return TRUE;
}

/* The sweep's save: in the worker when there is one (its status follows
 * at a later sweep, reap_save()), else here. */
static void save_during_run(FpFootprints *self)
{
    g_autoptr(GError) error = NULL;
    char *data;
    gsize len = 0;

    if (self->state_writer == NULL || self->state_kept) {
        /* fp_footprints_save() logs a failure once per change. */
        fp_footprints_save(self, &error);
        return;
    }
    if (!save_prepare(self, &error)) {
        fp_file_write_status_note(&self->state_write, "footprint state", self->state_path, error,
                                  g_get_real_time());
        return;
    }
    data = fp_footprint_set_to_data(self->set, &len);
    fp_atomic_writer_submit(self->state_writer, data, len, g_get_real_time());
}

/* The pinned attribute of our own element; an unreadable one is logged. */
static FpClass pin_of(const char *xml, const char *name)
{
    g_autoptr(GError) error = NULL;
    FpClass pin = fp_footprint_pinned_attribute(xml, name, &error);

    if (error != NULL)
        g_message("%s", error->message);
    return pin;
}

/* The pin in effect: the operator's pin element when the domain has one
 * (footprintd never writes it, so no write of ours can lose it), else the
 * pinned attribute of our own element (the older way). */
static FpClass pin_of_vm(const FpVm *vm)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *origin = NULL;
    FpClass pin;

    if (vm->pin_xml == NULL)
        return pin_of(vm->footprint_xml, vm->name);
    origin = g_strdup_printf("domain '%s' metadata", vm->name);
    if (fp_footprint_pin_from_xml(vm->pin_xml, strlen(vm->pin_xml), origin, &pin, &error))
        return pin;
    g_message("%s; not pinned", error->message);
    return FP_CLASS_UNKNOWN;
}

static void apply_pin(FpFootprint *fp, FpClass pin, const char *name)
{
    if (fp_footprint_get_pinned(fp) == pin)
        return;
    if (pin == FP_CLASS_UNKNOWN)
        g_message("footprint: VM '%s': pin removed, learned class %s in effect", name,
                  fp_class_to_string(fp_footprint_get_learned_class(fp)));
    else
        g_message("footprint: VM '%s': class pinned to %s by the operator", name,
                  fp_class_to_string(pin));
    fp_footprint_set_pinned(fp, pin);
}

/* A VM of the index seen for the first time in this run: its model (from
 * the state file, else its metadata element as the prior) and its meta. */
static FpVmMeta *first_sight(FpFootprints *self, const FpVm *vm, FpFootprint **out)
{
    gboolean created = FALSE;
    FpFootprint *fp = fp_footprint_set_ensure(self->set, vm->uuid, &created);
    FpFootprintState prior;
    g_autoptr(GError) error = NULL;
    FpVmMeta *m;

    if (fp == NULL)
        return NULL;
    if (created && vm->footprint_xml != NULL) {
        g_autofree char *origin = g_strdup_printf("domain '%s' metadata", vm->name);

        if (!fp_footprint_state_from_xml(vm->footprint_xml, strlen(vm->footprint_xml), origin,
                                         &prior, NULL, &error) ||
            !fp_footprint_set_state(fp, &prior, &error))
            g_message("footprint: %s; learning from scratch", error->message);
        else
            g_message("footprint: VM '%s': prior from its libvirt metadata: %s (confidence "
                      "%.2f)",
                      vm->name, fp_class_to_string(fp_footprint_get_class(fp)),
                      fp_footprint_get_confidence(fp));
    } else if (!created) {
        g_message("footprint: VM '%s': restored from the state file: %s (confidence %.2f)",
                  vm->name, fp_class_to_string(fp_footprint_get_class(fp)),
                  fp_footprint_get_confidence(fp));
    }
    /* The element as the VM comes with it decides the pin, whatever the
     * state file says: the operator may have pinned or unpinned (even
     * removed the element) while footprintd was not running. */
    m = g_new0(FpVmMeta, 1);
    m->seen_xml = g_strdup(vm->footprint_xml);
    m->seen_pin_xml = g_strdup(vm->pin_xml);
    apply_pin(fp, pin_of_vm(vm), vm->name);
    m->last_class = fp_footprint_get_class(fp);
    g_hash_table_insert(self->meta, g_strdup(vm->uuid), m);
    *out = fp;
    return m;
}

/* Applies the pin of the elements the inventory last read, when they
 * changed. */
static void follow_metadata(FpVmMeta *m, FpFootprint *fp, const FpVm *vm)
{
    if (g_strcmp0(m->seen_xml, vm->footprint_xml) == 0 &&
        g_strcmp0(m->seen_pin_xml, vm->pin_xml) == 0)
        return;
    g_free(m->seen_xml);
    m->seen_xml = g_strdup(vm->footprint_xml);
    g_free(m->seen_pin_xml);
    m->seen_pin_xml = g_strdup(vm->pin_xml);
    apply_pin(fp, pin_of_vm(vm), vm->name);
}

/**
 * fp_footprints_follow_pin:
 * @footprints: a learner
 * @uuid: a running VM
 * @pin: the pin its metadata element holds now (%FP_CLASS_UNKNOWN: none)
 *
 * The metadata writer found a pin in our own element in libvirt that the
 * inventory has not reported yet: the model follows it at once, unless the
 * operator's pin element (which wins) is there.
 */
void fp_footprints_follow_pin(FpFootprints *self, const char *uuid, FpClass pin)
{
    FpFootprint *fp = fp_footprint_set_lookup(self->set, uuid);
    const FpVmMeta *m = g_hash_table_lookup(self->meta, uuid);

    if (fp != NULL && m != NULL && m->seen_pin_xml == NULL)
        apply_pin(fp, pin, uuid);
}

static void fill_record(FpVmSnapshot *r, const FpFootprint *fp, const FpVmMeta *m,
                        gboolean appeared)
{
    r->klass = fp_footprint_get_class(fp);
    r->learned = fp_footprint_get_learned_class(fp);
    r->pinned = fp_footprint_get_pinned(fp);
    r->confidence = fp_footprint_get_confidence(fp);
    r->appeared = appeared;
    r->previous = appeared ? FP_CLASS_UNKNOWN : m->last_class;
    fp_footprint_get_state(fp, &r->state);
    fp_footprint_explain(fp, &r->explain);
    fp_footprint_get_totals(fp, &r->totals);
}

static void learn(FpFootprints *self, FpVmIndex *index, GHashTable *samples, gint64 interval_us,
                  FpSnapshot *snap)
{
    g_autoptr(GPtrArray) vms = fp_vm_index_list(index);
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, self->meta);
    while (g_hash_table_iter_next(&it, NULL, &value))
        ((FpVmMeta *)value)->running = FALSE;
    for (guint i = 0; i < vms->len; i++) {
        const FpVm *vm = g_ptr_array_index(vms, i);
        FpVmMeta *m = g_hash_table_lookup(self->meta, vm->uuid);
        FpFootprint *fp = fp_footprint_set_lookup(self->set, vm->uuid);
        const FpFootprintSample *s = samples ? g_hash_table_lookup(samples, vm->uuid) : NULL;
        FpFootprintSample empty = {.interval_us = interval_us};
        g_autoptr(GError) error = NULL;
        g_autofree guint32 *ifindex = g_new0(guint32, vm->interfaces->len + 1);
        gboolean appeared = m == NULL || fp == NULL;
        FpClass klass;

        if (vm->interfaces_unknown)
            continue; /* its traffic cannot be attributed: nothing to learn */
        if (appeared) {
            g_hash_table_remove(self->meta, vm->uuid);
            m = first_sight(self, vm, &fp);
            if (m == NULL)
                continue; /* the set is full */
        }
        m->running = TRUE;
        follow_metadata(m, fp, vm);
        if (samples != NULL && !fp_footprint_feed(fp, s ? s : &empty, &error))
            g_message("footprint: VM '%s': %s", vm->name, error->message);
        klass = fp_footprint_get_class(fp);
        if (klass != m->last_class)
            g_message("footprint: VM '%s' (%s): %s -> %s (confidence %.2f)", vm->name, vm->uuid,
                      fp_class_to_string(m->last_class), fp_class_to_string(klass),
                      fp_footprint_get_confidence(fp));
        for (guint j = 0; j < vm->interfaces->len; j++)
            ifindex[j] = fp_vm_index_get_ifindex(index, vm->uuid, j);
        fill_record(fp_snapshot_add_vm(snap, vm, ifindex), fp, m, appeared);
        m->last_class = klass;
    }
    /* Stopped or migrated away: the model stays (state file), the rest goes;
     * a later start reads the metadata afresh. */
    g_hash_table_iter_init(&it, self->meta);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (((FpVmMeta *)value)->running)
            continue;
        fp_snapshot_add_gone(snap, key);
        g_hash_table_iter_remove(&it);
    }
}

/**
 * fp_footprints_sweep:
 * @footprints: a learner
 * @index: the running VMs
 * @table: the flow table, just swept (its ended flows are taken)
 * @now_us: g_get_monotonic_time() after the flow table's sweep
 * @real_us: g_get_real_time() then
 *
 * Feeds every running VM's model one interval and saves the state file
 * when its time has come.
 *
 * Returns: (transfer full): the sweep's snapshot, sealed; its health is
 * the caller's to fill
 */
FpSnapshot *fp_footprints_sweep(FpFootprints *self, FpVmIndex *index, FpFlowTable *table,
                                gint64 now_us, gint64 real_us)
{
    g_autoptr(GPtrArray) flows = fp_flow_table_list_unsorted(table);
    g_autoptr(GPtrArray) ended = fp_flow_table_take_ended(table, NULL);
    g_autoptr(GHashTable) samples = NULL;
    gint64 interval_us = self->last_sweep_us ? now_us - self->last_sweep_us : 0;
    FpSnapshot *snap = fp_snapshot_new(++self->seq, now_us, real_us);
    guint64 refused, let_go;

    reap_save(self);
    fp_flow_table_get_counts(table, &refused, &let_go);
    /* Flows refused or let go since the previous sweep, or a conntrack too
     * big to follow whole: this one's flows are not all of them. */
    fp_sampler_set_partial(self->sampler, refused + let_go != self->flows_dropped ||
                                              fp_flow_table_is_partial(table));
    self->flows_dropped = refused + let_go;
    if (self->last_sweep_us == 0 || interval_us > 0) {
        samples = fp_sampler_step(self->sampler, index, flows, ended,
                                  fp_flow_table_get_generation(table), interval_us);
        self->last_sweep_us = now_us;
    }
    learn(self, index, samples, interval_us, snap);
    fp_snapshot_seal(snap);

    if (self->last_save_us == 0)
        self->last_save_us = now_us;
    if (now_us - self->last_save_us >= self->save_interval_us) {
        self->last_save_us = now_us;
        save_during_run(self);
    }
    return snap;
}

/**
 * fp_footprints_set_births_func:
 * @footprints: a learner
 * @func: (nullable): the kernel's per-device flow births
 * @user_data: for @func
 *
 * See fp_sampler_set_births_func().
 */
void fp_footprints_set_births_func(FpFootprints *self, FpBirthsFunc func, gpointer user_data)
{
    fp_sampler_set_births_func(self->sampler, func, user_data);
}

/**
 * fp_footprints_set_tap_bytes_func:
 * @footprints: a learner
 * @func: (nullable): the taps' own byte counters
 * @user_data: for @func
 *
 * See fp_sampler_set_tap_bytes_func(); a sweep is partial when the flow
 * table refused or let go flows since the previous one.
 */
void fp_footprints_set_tap_bytes_func(FpFootprints *self, FpTapBytesFunc func, gpointer user_data)
{
    fp_sampler_set_tap_bytes_func(self->sampler, func, user_data);
}

/**
 * fp_footprints_lookup_saved:
 * @footprints: a learner
 * @uuid: a VM's uuid, running or not
 * @explain: (out): the figures behind its class
 * @totals: (out): its counters
 *
 * For VMs that are not running: the model the state file keeps.
 *
 * Returns: %FALSE when the learner has no model for @uuid
 */
gboolean fp_footprints_lookup_saved(FpFootprints *self, const char *uuid,
                                    FpFootprintExplain *explain, FpFootprintTotals *totals)
{
    FpFootprint *fp = fp_footprint_set_lookup(self->set, uuid);

    if (fp == NULL)
        return FALSE;
    fp_footprint_explain(fp, explain);
    fp_footprint_get_totals(fp, totals);
    return TRUE;
}
