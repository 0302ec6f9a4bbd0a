/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The daemon's footprint learner.  Each sweep:
 *
 *   1. the sampler turns the flow table into per-VM samples: each flow's
 *      byte counters since the previous sweep go to the VM(s) on its sides
 *      (attribution.h), split into rx/tx from the VM's point of view; flows
 *      seen for the first time are new flows (mice when not elephants yet),
 *      flows gone from the table have ended;
 *   2. every running VM's model is fed its sample (a VM without flows gets
 *      an empty one: that is how a VM becomes idle);
 *   3. what changed is published: a class-changed callback (the D-Bus
 *      signal), the libvirt metadata element when fp_footprint_metadata_due()
 *      says so, the Prometheus text file every [metrics] interval, the
 *      state file every FP_FOOTPRINTS_SAVE_INTERVAL_S.
 *
 * Priors and pins.  A VM seen for the first time in this run starts from
 * the state file when it has an entry there, else from its metadata
 * element (a footprint travels with its VM).  The operator's pin lives in
 * the metadata element: the inventory re-reads a domain's XML on every
 * metadata-change event, and each sweep applies the pin of the element it
 * found (none when the element has no pin or is gone).  Before each write
 * the element is re-read from libvirt, so a pin set since is never erased.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>

#include "attribution.h"
#include "footprints.h"
#include "fp-error.h"
#include "publish-libvirt.h"
#include "publish-prometheus.h"

/* ---- the sampler -------------------------------------------------------- */

/* What the sampler remembers of one flow between two sweeps. */
typedef struct {
    guint64 bytes[2];
    gboolean elephant;
    guint generation;
    char owner[2][37]; /* uuid of the VM on each side, "" when none */
} FpFlowMemory;

struct _FpSampler {
    GHashTable *flows; /* FpFlowKey (copy) -> FpFlowMemory */
    guint generation;
    gboolean primed; /* the first step only records a baseline */
};

static guint key_hash(gconstpointer key)
{
    const guint8 *p = key;
    guint32 h = 2166136261u;

    for (gsize i = 0; i < sizeof(FpFlowKey); i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(FpFlowKey)) == 0;
}

/**
 * fp_sampler_new:
 *
 * Returns: (transfer full): a sampler that has seen no flow
 */
FpSampler *fp_sampler_new(void)
{
    FpSampler *s = g_new0(FpSampler, 1);

    s->flows = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
    return s;
}

void fp_sampler_free(FpSampler *sampler)
{
    if (sampler == NULL)
        return;
    g_hash_table_unref(sampler->flows);
    g_free(sampler);
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

/* One VM's share of a flow in this interval; @dir is the direction the VM
 * sends in (0: original, 1: reply). */
static void add_to_sample(FpFootprintSample *s, const FpFlow *f, const guint64 delta[2], int dir,
                          gboolean is_new)
{
    gboolean elephant = f->elephant != FP_ELEPHANT_NONE;

    s->tx_bytes += delta[dir];
    s->rx_bytes += delta[!dir];
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

/**
 * fp_sampler_step:
 * @sampler: a sampler
 * @index: the running VMs
 * @flows: (element-type FpFlow): the flow table's flows now
 * @interval_us: time since the previous step, µs (> 0)
 *
 * Returns: (transfer full) (nullable): uuid -> #FpFootprintSample for every
 * VM with a flow in the interval (new, moving, or ended), or %NULL on the
 * first step, which only records where each flow's counters stand (flows
 * older than the agent are not new, and their past bytes are not this
 * interval's).
 */
GHashTable *fp_sampler_step(FpSampler *sampler, FpVmIndex *index, GPtrArray *flows,
                            gint64 interval_us)
{
    GHashTable *samples = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTableIter it;
    gpointer value;

    sampler->generation++;
    for (guint i = 0; i < flows->len; i++) {
        const FpFlow *f = g_ptr_array_index(flows, i);
        FpFlowMemory *m = g_hash_table_lookup(sampler->flows, &f->key);
        gboolean is_new = m == NULL && sampler->primed;
        guint64 delta[2] = {0, 0};
        FpFlowAttribution a;

        if (m == NULL) {
            m = g_new0(FpFlowMemory, 1);
            g_hash_table_insert(sampler->flows, g_memdup2(&f->key, sizeof(f->key)), m);
            if (sampler->primed) {
                delta[0] = f->bytes[0];
                delta[1] = f->bytes[1];
            }
        } else {
            /* Counters only grow; a smaller one is a reused tuple. */
            for (int d = 0; d < 2; d++)
                delta[d] = f->bytes[d] >= m->bytes[d] ? f->bytes[d] - m->bytes[d] : f->bytes[d];
        }
        m->bytes[0] = f->bytes[0];
        m->bytes[1] = f->bytes[1];
        m->elephant = f->elephant != FP_ELEPHANT_NONE;
        m->generation = sampler->generation;
        m->owner[0][0] = m->owner[1][0] = '\0';

        fp_attribute_flow(index, f, &a);
        if (a.src.vm != NULL) {
            g_strlcpy(m->owner[0], a.src.vm->uuid, sizeof(m->owner[0]));
            if (sampler->primed)
                add_to_sample(sample_of(samples, a.src.vm->uuid, interval_us), f, delta, 0, is_new);
        }
        if (a.dst.vm != NULL && a.dst.vm != a.src.vm) {
            g_strlcpy(m->owner[1], a.dst.vm->uuid, sizeof(m->owner[1]));
            if (sampler->primed)
                add_to_sample(sample_of(samples, a.dst.vm->uuid, interval_us), f, delta, 1, is_new);
        }
    }
    /* Flows gone from the table have ended. */
    g_hash_table_iter_init(&it, sampler->flows);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        FpFlowMemory *m = value;

        if (m->generation == sampler->generation)
            continue;
        for (int side = 0; side < 2 && sampler->primed; side++)
            if (m->owner[side][0] != '\0' && !m->elephant)
                sample_of(samples, m->owner[side], interval_us)->mice_ended++;
        g_hash_table_iter_remove(&it);
    }
    if (!sampler->primed) {
        sampler->primed = TRUE;
        g_hash_table_unref(samples);
        return NULL;
    }
    return samples;
}

/* ---- the learner -------------------------------------------------------- */

/* What the learner keeps about a VM besides its model. */
typedef struct {
    char *name;
    FpClass last_class; /* the class last announced */
    gboolean written;   /* @written_state is in libvirt */
    FpFootprintState written_state;
    gint64 written_us;
    gint64 retry_us;      /* no metadata write before this (after a failure) */
    char *seen_xml;       /* the metadata element last applied */
    gboolean running;     /* in the VM index at the last sweep */
    GTask *publishing;    /* the metadata write in flight (not a reference), or NULL */
    gint64 publishing_us; /* when it began */
    gboolean slow_logged; /* its wait was logged */
} FpVmMeta;

struct _FpFootprints {
    FpFootprintPolicy policy;
    char *state_path;
    char *metrics_path;
    gint64 metrics_interval_us;
    FpFlowTable *table;
    FpSense *sense;
    FpInventory *inventory;
    FpFootprintSet *set;
    FpSampler *sampler;
    GHashTable *meta; /* uuid -> FpVmMeta */
    gint64 last_sweep_us, last_save_us, last_metrics_us;
    char *metrics_error;   /* the last metrics failure, logged once */
    gint64 forget_after_s; /* [footprint] forget_after_days */
    gboolean state_kept;   /* the state file could not be read or moved aside */
    GCancellable *alive;   /* cancelled when freed: late metadata writes find it so */
    FpClassChangedFunc class_changed;
    gpointer class_changed_data;
};

static void meta_free(gpointer data)
{
    FpVmMeta *m = data;

    g_free(m->name);
    g_free(m->seen_xml);
    g_free(m);
}

/**
 * fp_footprints_new:
 * @config: the configuration ([agent] state_dir, [footprint], [metrics])
 * @table: the flow table (borrowed)
 * @sense: (nullable): sensing, for the agent's health metrics (borrowed)
 * @inventory: the VMs and the libvirt connection (borrowed)
 *
 * Returns: (transfer full): a learner with no models; call
 * fp_footprints_restore() to load the state file.
 */
FpFootprints *fp_footprints_new(const FpConfig *config, FpFlowTable *table, FpSense *sense,
                                FpInventory *inventory)
{
    FpFootprints *self = g_new0(FpFootprints, 1);

    self->policy = config->footprint;
    self->state_path = g_build_filename(config->state_dir, FP_FOOTPRINTS_STATE_FILE, NULL);
    self->metrics_path = g_strdup(config->metrics_textfile);
    self->metrics_interval_us = (gint64)config->metrics_interval_s * G_USEC_PER_SEC;
    self->forget_after_s = (gint64)config->forget_after_days * 86400;
    self->table = table;
    self->sense = sense;
    self->inventory = inventory;
    self->set = fp_footprint_set_new(&self->policy);
    self->sampler = fp_sampler_new();
    self->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, meta_free);
    self->alive = g_cancellable_new();
    return self;
}

void fp_footprints_free(FpFootprints *self)
{
    if (self == NULL)
        return;
    g_cancellable_cancel(self->alive);
    g_object_unref(self->alive);
    g_free(self->state_path);
    g_free(self->metrics_path);
    g_free(self->metrics_error);
    fp_footprint_set_free(self->set);
    fp_sampler_free(self->sampler);
    g_hash_table_unref(self->meta);
    g_free(self);
}

/**
 * fp_footprints_reconfigure:
 * @footprints: a learner
 * @config: the configuration after a reload
 *
 * Applies what may change at run time: the [footprint] thresholds (every
 * model keeps its figures; classes follow at the next evaluations, with
 * hysteresis) and forget_after_days (at the next save), and [metrics]
 * (written at the next sweep).
 */
void fp_footprints_reconfigure(FpFootprints *self, const FpConfig *config)
{
    self->policy = config->footprint;
    fp_footprint_set_set_policy(self->set, &self->policy);
    g_free(self->metrics_path);
    self->metrics_path = g_strdup(config->metrics_textfile);
    self->metrics_interval_us = (gint64)config->metrics_interval_s * G_USEC_PER_SEC;
    self->forget_after_s = (gint64)config->forget_after_days * 86400;
    self->last_metrics_us = 0;
    g_clear_pointer(&self->metrics_error, g_free);
}

/**
 * fp_footprints_set_class_changed_func:
 * @footprints: a learner
 * @func: (nullable): called when a running VM's class in effect changes
 * @user_data: its data
 */
void fp_footprints_set_class_changed_func(FpFootprints *self, FpClassChangedFunc func,
                                          gpointer user_data)
{
    self->class_changed = func;
    self->class_changed_data = user_data;
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
 * state dir if needed.  Nothing is written over a state file that could
 * not be read nor moved aside (fp_footprints_restore()).
 */
gboolean fp_footprints_save(FpFootprints *self, GError **error)
{
    g_autofree char *dir = g_path_get_dirname(self->state_path);

    if (self->state_kept)
        return TRUE; /* fp_footprints_restore() said why */
    forget_stale(self);
    if (g_mkdir_with_parents(dir, 0755) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "state dir '%s': %s", dir, g_strerror(errno));
        return FALSE;
    }
    return fp_footprint_set_save(self->set, self->state_path, error);
}

static FpClass pin_of(const char *xml, const char *name)
{
    FpFootprintState st;
    g_autoptr(GError) error = NULL;
    g_autofree char *origin = NULL;

    if (xml == NULL)
        return FP_CLASS_UNKNOWN;
    origin = g_strdup_printf("domain '%s' metadata", name);
    if (!fp_footprint_state_from_xml(xml, strlen(xml), origin, &st, NULL, &error)) {
        g_message("%s", error->message);
        return FP_CLASS_UNKNOWN;
    }
    return st.pinned;
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
    FpVmMeta *m = g_new0(FpVmMeta, 1);
    gboolean created = FALSE;
    FpFootprint *fp = fp_footprint_set_ensure(self->set, vm->uuid, &created);
    FpFootprintState prior;
    g_autoptr(GError) error = NULL;
    gint64 updated = 0;

    m->name = g_strdup(vm->name);
    if (fp == NULL) {
        g_free(m->name);
        g_free(m);
        return NULL;
    }
    if (created && vm->footprint_xml != NULL) {
        g_autofree char *origin = g_strdup_printf("domain '%s' metadata", vm->name);

        if (!fp_footprint_state_from_xml(vm->footprint_xml, strlen(vm->footprint_xml), origin,
                                         &prior, &updated, &error) ||
            !fp_footprint_set_state(fp, &prior, &error)) {
            g_message("footprint: %s; learning from scratch", error->message);
        } else {
            g_message("footprint: VM '%s': prior from its libvirt metadata: %s (confidence "
                      "%.2f)",
                      vm->name, fp_class_to_string(fp_footprint_get_class(fp)),
                      fp_footprint_get_confidence(fp));
            /* What libvirt has is what we would write. */
            fp_footprint_get_state(fp, &m->written_state);
            m->written = TRUE;
            m->written_us = g_get_monotonic_time();
        }
    } else if (!created) {
        g_message("footprint: VM '%s': restored from the state file: %s (confidence %.2f)",
                  vm->name, fp_class_to_string(fp_footprint_get_class(fp)),
                  fp_footprint_get_confidence(fp));
    }
    /* The element as the VM comes with it decides the pin, whatever the
     * state file says: the operator may have pinned or unpinned (even
     * removed the element) while footprintd was not running. */
    m->seen_xml = g_strdup(vm->footprint_xml);
    apply_pin(fp, pin_of(vm->footprint_xml, vm->name), vm->name);
    g_hash_table_insert(self->meta, g_strdup(vm->uuid), m);
    *out = fp;
    return m;
}

/* Applies the pin of the element the inventory last read, when it changed. */
static void follow_metadata(FpVmMeta *m, FpFootprint *fp, const FpVm *vm)
{
    if (g_strcmp0(m->seen_xml, vm->footprint_xml) == 0)
        return;
    g_free(m->seen_xml);
    m->seen_xml = g_strdup(vm->footprint_xml);
    apply_pin(fp, pin_of(vm->footprint_xml, vm->name), vm->name);
}

/*
 * A metadata write, run in a thread: virDomainSetMetadata() waits for the
 * domain's job lock, up to 30 s when another job holds it (a hung QEMU
 * monitor, a migration), and the main loop must go on sweeping, reading
 * events and answering the bus (and systemd's watchdog) meanwhile.
 */
typedef struct {
    virConnectPtr conn; /* a reference of its own */
    char *uuid;
    char *name;
    char *xml;           /* the element to write */
    FpFootprintState st; /* what it says */
    char *seen_xml;      /* the inventory's element when the write began */
    FpClass pin;         /* out: the pin libvirt's element holds, when not st.pinned */
} FpPublishJob;

static void publish_job_free(gpointer data)
{
    FpPublishJob *job = data;

    virConnectClose(job->conn);
    g_free(job->uuid);
    g_free(job->name);
    g_free(job->xml);
    g_free(job->seen_xml);
    g_free(job);
}

/* In the thread: TRUE when written; FALSE without an error when the
 * operator pinned another class since (job->pin has it). */
static void publish_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    FpPublishJob *job = data;
    GError *error = NULL;
    char *current = NULL;

    (void)source;
    (void)cancellable;
    /* The operator may have pinned a class since the inventory last read
     * the domain: never write over a pin. */
    if (!fp_libvirt_read_footprint(job->conn, job->uuid, &current, &error)) {
        g_task_return_error(task, error);
        return;
    }
    job->pin = pin_of(current, job->name);
    free(current);
    if (job->pin != job->st.pinned) {
        g_task_return_boolean(task, FALSE);
        return;
    }
    if (!fp_libvirt_write_footprint(job->conn, job->uuid, job->xml, &error)) {
        g_task_return_error(task, error);
        return;
    }
    g_task_return_boolean(task, TRUE);
}

/* Back on the main loop. */
static void publish_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    GTask *task = G_TASK(result);
    FpPublishJob *job = g_task_get_task_data(task);
    FpFootprints *self = user_data;
    g_autoptr(GError) error = NULL;
    gboolean written = g_task_propagate_boolean(task, &error);
    gint64 now_us = g_get_monotonic_time();
    FpFootprint *fp;
    FpVmMeta *m;

    (void)source;
    if (g_cancellable_is_cancelled(g_task_get_cancellable(task)))
        return; /* the learner is gone */
    m = g_hash_table_lookup(self->meta, job->uuid);
    if (m == NULL || m->publishing != task)
        return; /* stopped or gone meanwhile */
    m->publishing = NULL;
    if (m->slow_logged)
        g_message("footprint: VM '%s': the metadata write waited %.0f s", job->name,
                  (double)(now_us - m->publishing_us) / G_USEC_PER_SEC);
    if (error != NULL) {
        g_message("footprint: %s", error->message);
        m->retry_us = now_us + FP_FOOTPRINTS_METADATA_RETRY_S * G_USEC_PER_SEC;
        return;
    }
    fp = fp_footprint_set_lookup(self->set, job->uuid);
    if (!written) {
        /* Pinned meanwhile: follow the pin; the next sweep writes. */
        if (fp != NULL)
            apply_pin(fp, job->pin, job->name);
        return;
    }
    g_message("footprint: VM '%s': metadata written: %s%s%s (confidence %.2f)", job->name,
              fp_class_to_string(job->st.learned),
              job->st.pinned != FP_CLASS_UNKNOWN ? ", pinned " : "",
              job->st.pinned != FP_CLASS_UNKNOWN ? fp_class_to_string(job->st.pinned) : "",
              job->st.confidence);
    m->written = TRUE;
    m->written_state = job->st;
    m->written_us = now_us;
    /* The element the inventory held may predate a pin just read from
     * libvirt: only a later change of it (our write coming back as a
     * metadata-change event, or the operator's) is followed. */
    g_free(m->seen_xml);
    m->seen_xml = g_steal_pointer(&job->seen_xml);
}

/* Starts writing the VM's element when a write is due and none is in
 * flight for it. */
static void publish_metadata(FpFootprints *self, FpVmMeta *m, FpFootprint *fp, const FpVm *vm,
                             gint64 now_us)
{
    virConnectPtr conn = fp_inventory_get_connection(self->inventory);
    g_autoptr(GTask) task = NULL;
    FpPublishJob *job;
    FpFootprintState st;
    char *xml;

    if (m->publishing != NULL) {
        /* Once per write: libvirt lets it wait up to 30 s for the domain's
         * job (another job holds it: a hung QEMU, a migration). */
        if (!m->slow_logged &&
            now_us - m->publishing_us >= FP_FOOTPRINTS_METADATA_SLOW_S * G_USEC_PER_SEC) {
            g_message("footprint: VM '%s': the metadata write waits for libvirt for %d s "
                      "(domain job held: QEMU hung, or a migration?)",
                      vm->name, FP_FOOTPRINTS_METADATA_SLOW_S);
            m->slow_logged = TRUE;
        }
        return;
    }
    fp_footprint_get_state(fp, &st);
    if (st.learned == FP_CLASS_UNKNOWN && st.pinned == FP_CLASS_UNKNOWN)
        return; /* nothing learned yet: nothing worth writing */
    if (conn == NULL || now_us < m->retry_us ||
        !fp_footprint_metadata_due(m->written ? &m->written_state : NULL, &st,
                                   (double)(now_us - m->written_us) / G_USEC_PER_SEC,
                                   &self->policy))
        return;
    xml = fp_footprint_state_to_xml(&st, g_get_real_time() / G_USEC_PER_SEC);
    if (xml == NULL) {
        g_message("footprint: VM '%s': cannot format its metadata: out of memory", vm->name);
        m->retry_us = now_us + FP_FOOTPRINTS_METADATA_RETRY_S * G_USEC_PER_SEC;
        return;
    }
    job = g_new0(FpPublishJob, 1);
    virConnectRef(conn);
    job->conn = conn;
    job->uuid = g_strdup(vm->uuid);
    job->name = g_strdup(vm->name);
    job->xml = xml;
    job->st = st;
    job->seen_xml = g_strdup(vm->footprint_xml);
    task = g_task_new(NULL, self->alive, publish_done, self);
    g_task_set_source_tag(task, publish_metadata);
    g_task_set_task_data(task, job, publish_job_free);
    m->publishing = task;
    m->publishing_us = now_us;
    m->slow_logged = FALSE;
    g_task_run_in_thread(task, publish_thread);
}

static void learn(FpFootprints *self, FpVmIndex *index, GHashTable *samples, gint64 interval_us,
                  gint64 now_us)
{
    g_autoptr(GPtrArray) vms = fp_vm_index_list(index);
    GHashTableIter it;
    gpointer value;

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
        FpClass klass;

        if (vm->interfaces_unknown)
            continue; /* its traffic cannot be attributed: nothing to learn */
        if (m == NULL || fp == NULL) {
            g_hash_table_remove(self->meta, vm->uuid);
            m = first_sight(self, vm, &fp);
            if (m == NULL)
                continue; /* the set is full */
            m->last_class = fp_footprint_get_class(fp);
        }
        m->running = TRUE;
        if (g_strcmp0(m->name, vm->name) != 0) {
            g_free(m->name);
            m->name = g_strdup(vm->name);
        }
        follow_metadata(m, fp, vm);
        if (samples != NULL && !fp_footprint_feed(fp, s ? s : &empty, &error))
            g_message("footprint: VM '%s': %s", vm->name, error->message);
        klass = fp_footprint_get_class(fp);
        if (klass != m->last_class) {
            g_message("footprint: VM '%s' (%s): %s -> %s (confidence %.2f)", vm->name, vm->uuid,
                      fp_class_to_string(m->last_class), fp_class_to_string(klass),
                      fp_footprint_get_confidence(fp));
            if (self->class_changed)
                self->class_changed(vm->uuid, vm->name, m->last_class, klass,
                                    fp_footprint_get_confidence(fp), self->class_changed_data);
            m->last_class = klass;
        }
        publish_metadata(self, m, fp, vm, now_us);
    }
    /* Stopped or migrated away: the model stays (state file), the rest goes;
     * a later start reads the metadata afresh. */
    g_hash_table_iter_init(&it, self->meta);
    while (g_hash_table_iter_next(&it, NULL, &value))
        if (!((FpVmMeta *)value)->running)
            g_hash_table_iter_remove(&it);
}

/**
 * fp_footprints_sweep:
 * @footprints: a learner
 * @now_us: g_get_monotonic_time() after the flow table's sweep
 *
 * Feeds every running VM's model one interval, publishes what changed,
 * and writes the metrics and the state file when their time has come.
 */
void fp_footprints_sweep(FpFootprints *self, gint64 now_us)
{
    FpVmIndex *index = fp_inventory_get_index(self->inventory);
    g_autoptr(GPtrArray) flows = fp_flow_table_list(self->table);
    g_autoptr(GHashTable) samples = NULL;
    g_autoptr(GError) error = NULL;
    gint64 interval_us = self->last_sweep_us ? now_us - self->last_sweep_us : 0;

    if (self->last_sweep_us != 0 && interval_us <= 0)
        return;
    samples = fp_sampler_step(self->sampler, index, flows, interval_us);
    if (self->last_sweep_us == 0 && samples != NULL)
        g_clear_pointer(&samples, g_hash_table_unref);
    self->last_sweep_us = now_us;
    learn(self, index, samples, interval_us, now_us);

    if (self->metrics_path != NULL &&
        (self->last_metrics_us == 0 ||
         now_us - self->last_metrics_us >= self->metrics_interval_us)) {
        self->last_metrics_us = now_us;
        if (fp_footprints_write_metrics(self, &error)) {
            g_clear_pointer(&self->metrics_error, g_free);
        } else if (g_strcmp0(self->metrics_error, error->message) != 0) {
            /* Once per distinct problem: node_exporter may not be installed. */
            g_message("metrics: %s", error->message);
            g_free(self->metrics_error);
            self->metrics_error = g_strdup(error->message);
        }
        g_clear_error(&error);
    }
    if (self->last_save_us == 0)
        self->last_save_us = now_us;
    if (now_us - self->last_save_us >= FP_FOOTPRINTS_SAVE_INTERVAL_S * G_USEC_PER_SEC) {
        self->last_save_us = now_us;
        if (!fp_footprints_save(self, &error))
            g_message("footprint: %s", error->message);
    }
}

/**
 * fp_footprints_write_metrics:
 * @footprints: a learner
 * @error: return location for a #GError
 *
 * Writes the Prometheus text file now (running VMs and the agent's health).
 */
gboolean fp_footprints_write_metrics(FpFootprints *self, GError **error)
{
    FpVmIndex *index = fp_inventory_get_index(self->inventory);
    g_autoptr(GPtrArray) vms = fp_vm_index_list(index);
    g_autofree FpPromVm *rows = g_new0(FpPromVm, vms->len + 1);
    FpPromAgent agent = {.version = PACKAGE_VERSION, .backend = "none"};
    gsize n = 0;

    if (self->metrics_path == NULL)
        return TRUE;
    if (self->sense != NULL) {
        FpSenseStats st;

        fp_sense_get_stats(self->sense, &st);
        agent.backend = fp_backend_to_string(st.backend);
        agent.bpf_run_time_ns = st.bpf_run_time_ns;
        agent.bpf_run_count = st.bpf_run_count;
        agent.events = st.events;
        agent.events_dropped = st.events_dropped;
        agent.flows_evicted = st.flows_evicted_idle;
        agent.flows_table_full = st.flows_table_full;
        agent.flows_log_lost = st.flows_log_lost;
        agent.read_errors = st.read_errors;
        agent.sweeps = st.sweeps;
        agent.conntrack_active = st.conntrack_active;
    }
    agent.flows_active = fp_flow_table_size(self->table);
    for (guint i = 0; i < vms->len; i++) {
        const FpVm *vm = g_ptr_array_index(vms, i);
        FpFootprint *fp = fp_footprint_set_lookup(self->set, vm->uuid);
        FpFootprintTotals t;
        FpFootprintExplain e;
        FpPromVm *r = &rows[n];

        if (fp == NULL)
            continue;
        fp_footprint_get_totals(fp, &t);
        fp_footprint_explain(fp, &e);
        r->name = vm->name;
        r->uuid = vm->uuid;
        r->nova_instance_uuid = vm->nova ? vm->nova->instance_uuid : NULL;
        r->rx_bytes = t.rx_bytes;
        r->tx_bytes = t.tx_bytes;
        r->rx_bps = e.rx_bps;
        r->tx_bps = e.tx_bps;
        r->elephant_flows = t.elephant_flows;
        r->mice_flows = t.active_flows >= t.elephant_flows ? t.active_flows - t.elephant_flows : 0;
        r->flows_started = t.flows;
        r->elephant_share = e.elephant_share;
        r->klass = fp_class_to_string(e.klass);
        r->pinned = e.pinned != FP_CLASS_UNKNOWN;
        r->confidence = e.confidence;
        n++;
    }
    return fp_prometheus_write(self->metrics_path, &agent, rows, n, error);
}

/* The model of a VM named by name or uuid: a running VM, or a known uuid. */
static FpFootprint *find(FpFootprints *self, const char *name_or_uuid, const char **uuid,
                         const char **name, GError **error)
{
    const FpVm *vm = fp_vm_index_find(fp_inventory_get_index(self->inventory), name_or_uuid);
    FpFootprint *fp;

    *uuid = vm ? vm->uuid : name_or_uuid;
    *name = vm ? vm->name : NULL;
    fp = fp_footprint_set_lookup(self->set, *uuid);
    if (fp == NULL)
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND,
                    vm ? "VM '%s' has no footprint yet" : "no VM named '%s'", name_or_uuid);
    return fp;
}

static GVariant *footprint_variant(FpFootprints *self, FpFootprint *fp, const char *uuid,
                                   const char *name, gboolean explain)
{
    FpFootprintExplain e;
    FpFootprintTotals t;
    FpVmMeta *m = g_hash_table_lookup(self->meta, uuid);
    GVariantBuilder b;

    fp_footprint_explain(fp, &e);
    fp_footprint_get_totals(fp, &t);
    if (explain) {
        g_autoptr(GVariant) ex = g_variant_ref_sink(fp_footprint_explain_to_variant(&e));
        g_autofree char *text = fp_footprint_explain_to_text(&e);
        GVariantIter it;
        GVariant *entry;

        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
        g_variant_iter_init(&it, ex);
        while ((entry = g_variant_iter_next_value(&it))) {
            g_variant_builder_add_value(&b, entry);
            g_variant_unref(entry);
        }
        g_variant_builder_add(&b, "{sv}", "text", g_variant_new_string(text ? text : ""));
    } else {
        g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
#define ADD(k, v) g_variant_builder_add(&b, "{sv}", k, v)
        ADD("class", g_variant_new_string(fp_class_to_string(e.klass)));
        ADD("learned", g_variant_new_string(fp_class_to_string(e.learned)));
        ADD("pinned",
            g_variant_new_string(e.pinned != FP_CLASS_UNKNOWN ? fp_class_to_string(e.pinned) : ""));
        ADD("confidence", g_variant_new_double(e.confidence));
        ADD("rx_bps", g_variant_new_double(e.rx_bps));
        ADD("tx_bps", g_variant_new_double(e.tx_bps));
        ADD("elephants", g_variant_new_double(e.elephants));
        ADD("elephant_share", g_variant_new_double(e.elephant_share));
        ADD("mice_rate", g_variant_new_double(e.mice_rate));
        ADD("new_flow_rate", g_variant_new_double(e.new_flow_rate));
        ADD("peak_bps", g_variant_new_double(e.peak_bps));
        ADD("observed_s", g_variant_new_double(e.observed_s));
        ADD("rx_bytes", g_variant_new_uint64(t.rx_bytes));
        ADD("tx_bytes", g_variant_new_uint64(t.tx_bytes));
        ADD("flows_started", g_variant_new_uint64(t.flows));
        ADD("metadata_written", g_variant_new_boolean(m != NULL && m->written));
#undef ADD
    }
    g_variant_builder_add(&b, "{sv}", "uuid", g_variant_new_string(uuid));
    g_variant_builder_add(&b, "{sv}", "name", g_variant_new_string(name ? name : ""));
    g_variant_builder_add(&b, "{sv}", "running", g_variant_new_boolean(name != NULL));
    return g_variant_builder_end(&b);
}

/**
 * fp_footprints_get:
 * @footprints: a learner
 * @vm: a running VM's name or uuid, or the uuid of a VM with a saved model
 * @explain: the numbers and thresholds behind the class
 *     (fp_footprint_explain_to_variant() plus "text"), else the summary
 * @error: return location for an #FP_ERROR_NOT_FOUND
 *
 * Returns: (transfer floating): an a{sv}, or %NULL with @error set
 */
GVariant *fp_footprints_get(FpFootprints *self, const char *vm, gboolean explain, GError **error)
{
    const char *uuid, *name;
    FpFootprint *fp = find(self, vm, &uuid, &name, error);

    return fp ? footprint_variant(self, fp, uuid, name, explain) : NULL;
}

/**
 * fp_footprints_list:
 * @footprints: a learner
 *
 * Returns: (transfer floating): the running VMs' footprints (summaries),
 * an aa{sv}
 */
GVariant *fp_footprints_list(FpFootprints *self)
{
    g_autoptr(GPtrArray) vms = fp_vm_index_list(fp_inventory_get_index(self->inventory));
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; i < vms->len; i++) {
        const FpVm *vm = g_ptr_array_index(vms, i);
        FpFootprint *fp = fp_footprint_set_lookup(self->set, vm->uuid);

        if (fp != NULL)
            g_variant_builder_add_value(&b, footprint_variant(self, fp, vm->uuid, vm->name, FALSE));
    }
    return g_variant_builder_end(&b);
}
