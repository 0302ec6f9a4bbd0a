/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The footprint element in libvirt metadata.  virDomainSetMetadata() with
 * VIR_DOMAIN_METADATA_ELEMENT replaces the one element of our namespace and
 * leaves every other namespace's alone.  A running persistent domain gets
 * it in both its live and its persistent definition (so it survives a
 * restart of the domain and travels with a migration); a transient domain
 * has no persistent definition, only the live one.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <libvirt/virterror.h>

#include "footprint-model.h"
#include "fp-cleanup.h"
#include "fp-error.h"
#include "publish-libvirt.h"

static virDomainPtr lookup(virConnectPtr conn, const char *uuid, GError **error)
{
    virDomainPtr dom;

    if (conn == NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain %s: not connected to libvirt", uuid);
        return NULL;
    }
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (dom == NULL)
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "domain %s: %s", uuid,
                    virGetLastErrorMessage());
    return dom;
}

/*
 * virDomainGetMetadata() returns the element with the key's prefix taken
 * off its name but the prefix's declaration kept:
 *   <footprint xmlns:footprint="NS" class="..."/>
 * so the element itself is in no namespace.  Put it back in ours with a
 * default namespace declaration (attributes are unprefixed either way).
 */
static char *renamespace(char *xml)
{
    const char *tag = "<" FP_FOOTPRINT_MODEL_XML_KEY;
    gsize n = strlen(tag);
    char *fixed;

    if (strncmp(xml, tag, n) != 0 || (xml[n] != ' ' && xml[n] != '/' && xml[n] != '>') ||
        strstr(xml, "xmlns=\"") != NULL)
        return xml;
    fixed = g_strdup_printf("%s xmlns=\"%s\"%s", tag, FP_FOOTPRINT_MODEL_XMLNS, xml + n);
    free(xml);
    return fixed;
}

/* Our element of one definition; TRUE with *xml NULL when it has none. */
static gboolean get_element(virDomainPtr dom, unsigned int flags, char **xml, GError **error)
{
    virErrorPtr err;

    *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, FP_FOOTPRINT_MODEL_XMLNS, flags);
    if (*xml != NULL) {
        *xml = renamespace(*xml);
        return TRUE;
    }
    err = virGetLastError();
    if (err != NULL && err->code == VIR_ERR_NO_DOMAIN_METADATA)
        return TRUE;
    g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain '%s': cannot read metadata %s: %s",
                virDomainGetName(dom), FP_FOOTPRINT_MODEL_XMLNS, virGetLastErrorMessage());
    return FALSE;
}

/**
 * fp_libvirt_read_footprint:
 * @conn: (nullable): the libvirt connection, %NULL when disconnected
 * @uuid: the domain's uuid
 * @xml: (out) (transfer full): the element, in our namespace (free()), %NULL
 *     when the domain has none
 * @error: return location for a #GError
 *
 * Reads the element from the live definition of a running domain (where
 * `virsh metadata --live` and our own writes put it), else from the
 * persistent one.
 *
 * Returns: %TRUE on success, also when there is no element.
 */
gboolean fp_libvirt_read_footprint(virConnectPtr conn, const char *uuid, char **xml, GError **error)
{
    g_autoptr(virDomain) dom = lookup(conn, uuid, error);

    *xml = NULL;
    if (dom == NULL)
        return FALSE;
    if (virDomainIsActive(dom) == 1) {
        if (!get_element(dom, VIR_DOMAIN_AFFECT_LIVE, xml, error))
            return FALSE;
        if (*xml != NULL || virDomainIsPersistent(dom) != 1)
            return TRUE;
    }
    return get_element(dom, VIR_DOMAIN_AFFECT_CONFIG, xml, error);
}

/**
 * fp_libvirt_write_footprint:
 * @conn: (nullable): the libvirt connection, %NULL when disconnected
 * @uuid: the domain's uuid
 * @xml: the element (fp_footprint_state_to_xml())
 * @error: return location for a #GError
 *
 * Sets the element on the live definition of a running domain and on the
 * persistent definition of a persistent one.
 *
 * Returns: %TRUE on success.
 */
gboolean fp_libvirt_write_footprint(virConnectPtr conn, const char *uuid, const char *xml,
                                    GError **error)
{
    g_autoptr(virDomain) dom = lookup(conn, uuid, error);
    unsigned int flags = 0;

    if (dom == NULL)
        return FALSE;
    if (virDomainIsActive(dom) == 1)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (virDomainIsPersistent(dom) == 1)
        flags |= VIR_DOMAIN_AFFECT_CONFIG;
    if (flags == 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "domain '%s' is gone",
                    virDomainGetName(dom));
        return FALSE;
    }
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, FP_FOOTPRINT_MODEL_XML_KEY,
                             FP_FOOTPRINT_MODEL_XMLNS, flags) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain '%s': cannot set metadata %s: %s",
                    virDomainGetName(dom), FP_FOOTPRINT_MODEL_XMLNS, virGetLastErrorMessage());
        return FALSE;
    }
    return TRUE;
}

/* ---- the consumer ------------------------------------------------------- */

/* What the publisher keeps about a running VM. */
typedef struct {
    char *name;
    gboolean written; /* @written_state is in libvirt */
    FpFootprintState written_state;
    gint64 written_us;
    gint64 retry_us;      /* no metadata write before this (after a failure) */
    GTask *publishing;    /* the metadata write in flight (not a reference), or NULL */
    gint64 publishing_us; /* when it began */
    gboolean slow_logged; /* its wait was logged */
} FpPublishedVm;

struct _FpLibvirtPublisher {
    FpFootprintPolicy policy;
    FpInventory *inventory;
    GHashTable *vms;     /* uuid -> FpPublishedVm */
    GCancellable *alive; /* cancelled when freed: late writes find it so */
    FpPinFoundFunc pin_found;
    gpointer pin_found_data;
};

static void published_vm_free(gpointer data)
{
    FpPublishedVm *m = data;

    g_free(m->name);
    g_free(m);
}

/**
 * fp_libvirt_publisher_new:
 * @policy: when a write is due ([footprint] metadata_interval,
 *     metadata_confidence_step)
 * @inventory: the libvirt connection (borrowed)
 *
 * Returns: (transfer full): the metadata consumer of the sweeps' snapshots
 */
FpLibvirtPublisher *fp_libvirt_publisher_new(const FpFootprintPolicy *policy,
                                             FpInventory *inventory)
{
    FpLibvirtPublisher *self = g_new0(FpLibvirtPublisher, 1);

    self->policy = *policy;
    self->inventory = inventory;
    self->vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, published_vm_free);
    self->alive = g_cancellable_new();
    return self;
}

void fp_libvirt_publisher_free(FpLibvirtPublisher *self)
{
    if (self == NULL)
        return;
    g_cancellable_cancel(self->alive);
    g_object_unref(self->alive);
    g_hash_table_unref(self->vms);
    g_free(self);
}

/**
 * fp_libvirt_publisher_set_pin_found_func:
 * @publisher: the metadata consumer
 * @func: (nullable): called when a write finds a pin the snapshot did not have
 * @user_data: its data
 */
void fp_libvirt_publisher_set_pin_found_func(FpLibvirtPublisher *self, FpPinFoundFunc func,
                                             gpointer user_data)
{
    self->pin_found = func;
    self->pin_found_data = user_data;
}

/**
 * fp_libvirt_publisher_written:
 * @publisher: the metadata consumer
 * @uuid: a running VM
 *
 * Returns: whether libvirt holds the VM's footprint as last learnt (or as
 * its element said when the VM was first seen)
 */
gboolean fp_libvirt_publisher_written(FpLibvirtPublisher *self, const char *uuid)
{
    const FpPublishedVm *m = g_hash_table_lookup(self->vms, uuid);

    return m != NULL && m->written;
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
    FpClass pin;         /* out: the pin libvirt's element holds, when not st.pinned */
} FpPublishJob;

static void publish_job_free(gpointer data)
{
    FpPublishJob *job = data;

    virConnectClose(job->conn);
    g_free(job->uuid);
    g_free(job->name);
    g_free(job->xml);
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
    job->pin = fp_footprint_pinned_attribute(current, job->name, NULL);
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
    FpLibvirtPublisher *self = user_data;
    g_autoptr(GError) error = NULL;
    gboolean written = g_task_propagate_boolean(task, &error);
    gint64 now_us = g_get_monotonic_time();
    FpPublishedVm *m;

    (void)source;
    if (g_cancellable_is_cancelled(g_task_get_cancellable(task)))
        return; /* the publisher is gone */
    m = g_hash_table_lookup(self->vms, job->uuid);
    if (m == NULL || m->publishing != task)
        return; /* stopped or gone meanwhile */
    m->publishing = NULL;
    if (m->slow_logged)
        g_message("footprint: VM '%s': the metadata write waited %.0f s", job->name,
                  (double)(now_us - m->publishing_us) / G_USEC_PER_SEC);
    if (error != NULL) {
        g_message("footprint: %s", error->message);
        m->retry_us = now_us + FP_LIBVIRT_METADATA_RETRY_S * G_USEC_PER_SEC;
        return;
    }
    if (!written) {
        /* Pinned meanwhile: the learner follows the pin; a later sweep writes. */
        if (self->pin_found)
            self->pin_found(job->uuid, job->pin, self->pin_found_data);
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
}

/* Starts writing the VM's element when a write is due and none is in
 * flight for it. */
static void publish(FpLibvirtPublisher *self, FpPublishedVm *m, const FpVmSnapshot *v,
                    gint64 now_us)
{
    virConnectPtr conn = fp_inventory_get_connection(self->inventory);
    g_autoptr(GTask) task = NULL;
    FpFootprintState state = v->state;
    const FpFootprintState *st = &state;
    FpPublishJob *job;
    char *xml;

    /* Our element carries only the pin set the older way, in its pinned
     * attribute: the operator's pin element is theirs and never written. */
    state.pinned = fp_footprint_pinned_attribute(v->vm->footprint_xml, v->vm->name, NULL);

    if (m->publishing != NULL) {
        /* Once per write: libvirt lets it wait up to 30 s for the domain's
         * job (another job holds it: a hung QEMU, a migration). */
        if (!m->slow_logged &&
            now_us - m->publishing_us >= FP_LIBVIRT_METADATA_SLOW_S * G_USEC_PER_SEC) {
            g_message("footprint: VM '%s': the metadata write waits for libvirt for %d s "
                      "(domain job held: QEMU hung, or a migration?)",
                      v->vm->name, FP_LIBVIRT_METADATA_SLOW_S);
            m->slow_logged = TRUE;
        }
        return;
    }
    if (st->learned == FP_CLASS_UNKNOWN && st->pinned == FP_CLASS_UNKNOWN)
        return; /* nothing learned yet: nothing worth writing */
    if (conn == NULL || now_us < m->retry_us ||
        !fp_footprint_metadata_due(m->written ? &m->written_state : NULL, st,
                                   (double)(now_us - m->written_us) / G_USEC_PER_SEC,
                                   &self->policy))
        return;
    xml = fp_footprint_state_to_xml(st, g_get_real_time() / G_USEC_PER_SEC);
    if (xml == NULL) {
        g_message("footprint: VM '%s': cannot format its metadata: out of memory", v->vm->name);
        m->retry_us = now_us + FP_LIBVIRT_METADATA_RETRY_S * G_USEC_PER_SEC;
        return;
    }
    job = g_new0(FpPublishJob, 1);
    virConnectRef(conn);
    job->conn = conn;
    job->uuid = g_strdup(v->vm->uuid);
    job->name = g_strdup(v->vm->name);
    job->xml = xml;
    job->st = *st;
    task = g_task_new(NULL, self->alive, publish_done, self);
    g_task_set_source_tag(task, publish);
    g_task_set_task_data(task, job, publish_job_free);
    m->publishing = task;
    m->publishing_us = now_us;
    m->slow_logged = FALSE;
    g_task_run_in_thread(task, publish_thread);
}

/* A VM seen for the first time: what its element says is what libvirt
 * holds, so a write is due only once the footprint moved from it (a
 * restarted agent does not rewrite every VM's element). */
static FpPublishedVm *first_sight(FpLibvirtPublisher *self, const FpVmSnapshot *v, gint64 now_us)
{
    FpPublishedVm *m = g_new0(FpPublishedVm, 1);
    const char *xml = v->vm->footprint_xml;

    m->name = g_strdup(v->vm->name);
    if (xml != NULL &&
        fp_footprint_state_from_xml(xml, strlen(xml), v->vm->name, &m->written_state, NULL, NULL)) {
        m->written = TRUE;
        m->written_us = now_us;
    }
    g_hash_table_insert(self->vms, g_strdup(v->vm->uuid), m);
    return m;
}

/**
 * fp_libvirt_publisher_consume:
 * @publisher: the metadata consumer
 * @snapshot: a sweep's snapshot
 *
 * Starts a write of each running VM's element that is due
 * (fp_footprint_metadata_due()) and forgets the VMs gone.
 */
void fp_libvirt_publisher_consume(FpLibvirtPublisher *self, const FpSnapshot *snapshot)
{
    gint64 now_us = snapshot->mono_us;

    for (guint i = 0; i < snapshot->gone->len; i++)
        g_hash_table_remove(self->vms, g_ptr_array_index(snapshot->gone, i));
    for (guint i = 0; i < snapshot->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(snapshot->vms, i);
        FpPublishedVm *m = g_hash_table_lookup(self->vms, v->vm->uuid);

        if (m == NULL)
            m = first_sight(self, v, now_us);
        if (g_strcmp0(m->name, v->vm->name) != 0) {
            g_free(m->name);
            m->name = g_strdup(v->vm->name);
        }
        publish(self, m, v, now_us);
    }
}
