/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One sweep's read-only view (snapshot.h) and the agent's health (health.h).
 */
#include "config.h"

#include <string.h>

#include "snapshot.h"

typedef struct {
    FpSnapshot public;
    gint ref;
    gboolean sealed;
} FpSnapshotPriv;

static void vm_snapshot_free(gpointer data)
{
    FpVmSnapshot *s = data;

    fp_vm_free(s->vm);
    g_free(s->ifindex);
    g_free(s);
}

/**
 * fp_snapshot_new:
 * @seq: the sweep's number
 * @mono_us: monotonic time of the sweep
 * @real_us: wall-clock time of the sweep
 *
 * Returns: (transfer full): an empty snapshot to fill, then seal
 */
FpSnapshot *fp_snapshot_new(guint64 seq, gint64 mono_us, gint64 real_us)
{
    FpSnapshotPriv *p = g_new0(FpSnapshotPriv, 1);

    p->ref = 1;
    p->public.seq = seq;
    p->public.mono_us = mono_us;
    p->public.real_us = real_us;
    p->public.vms = g_ptr_array_new_with_free_func(vm_snapshot_free);
    p->public.gone = g_ptr_array_new_with_free_func(g_free);
    return &p->public;
}

FpSnapshot *fp_snapshot_ref(FpSnapshot *snapshot)
{
    g_atomic_int_inc(&((FpSnapshotPriv *)snapshot)->ref);
    return snapshot;
}

void fp_snapshot_unref(FpSnapshot *snapshot)
{
    FpSnapshotPriv *p = (FpSnapshotPriv *)snapshot;

    if (snapshot == NULL || !g_atomic_int_dec_and_test(&p->ref))
        return;
    g_ptr_array_unref(snapshot->vms);
    g_ptr_array_unref(snapshot->gone);
    fp_health_clear(&snapshot->health);
    g_free(p);
}

/**
 * fp_snapshot_add_vm:
 * @snapshot: a snapshot being filled
 * @vm: the VM (copied)
 * @ifindex: (nullable) (array): each interface's ifindex (copied), %NULL
 *     for all 0
 *
 * Returns: (transfer none): the VM's record, for the caller to fill
 */
FpVmSnapshot *fp_snapshot_add_vm(FpSnapshot *snapshot, const FpVm *vm, const guint32 *ifindex)
{
    FpVmSnapshot *s = g_new0(FpVmSnapshot, 1);
    guint n = vm->interfaces ? vm->interfaces->len : 0;

    g_return_val_if_fail(!((FpSnapshotPriv *)snapshot)->sealed, NULL);
    s->vm = fp_vm_copy(vm);
    s->ifindex = g_new0(guint32, n + 1);
    if (ifindex != NULL)
        memcpy(s->ifindex, ifindex, n * sizeof(guint32));
    g_ptr_array_add(snapshot->vms, s);
    return s;
}

/**
 * fp_snapshot_add_gone:
 * @snapshot: a snapshot being filled
 * @uuid: a VM of the previous snapshot that is not running any more
 */
void fp_snapshot_add_gone(FpSnapshot *snapshot, const char *uuid)
{
    g_ptr_array_add(snapshot->gone, g_strdup(uuid));
}

static gint by_uuid(gconstpointer a, gconstpointer b)
{
    const FpVmSnapshot *x = *(const FpVmSnapshot *const *)a;
    const FpVmSnapshot *y = *(const FpVmSnapshot *const *)b;

    return strcmp(x->vm->uuid, y->vm->uuid);
}

/**
 * fp_snapshot_seal:
 * @snapshot: a filled snapshot
 *
 * Sorts the VMs by uuid; the snapshot is read-only from here on.
 */
void fp_snapshot_seal(FpSnapshot *snapshot)
{
    g_ptr_array_sort(snapshot->vms, by_uuid);
    ((FpSnapshotPriv *)snapshot)->sealed = TRUE;
}

/**
 * fp_snapshot_find:
 * @snapshot: a snapshot
 * @name_or_uuid: a VM's uuid or name
 *
 * Returns: (transfer none) (nullable): the VM's record
 */
const FpVmSnapshot *fp_snapshot_find(const FpSnapshot *snapshot, const char *name_or_uuid)
{
    for (guint i = 0; i < snapshot->vms->len; i++) {
        const FpVmSnapshot *s = g_ptr_array_index(snapshot->vms, i);

        if (g_ascii_strcasecmp(s->vm->uuid, name_or_uuid) == 0)
            return s;
    }
    for (guint i = 0; i < snapshot->vms->len; i++) {
        const FpVmSnapshot *s = g_ptr_array_index(snapshot->vms, i);

        /* The name as shown, or as libvirt has it (cut or escaped for
         * display when it is long or has control characters). */
        if (g_strcmp0(s->vm->name, name_or_uuid) == 0 ||
            g_strcmp0(s->vm->libvirt_name, name_or_uuid) == 0)
            return s;
    }
    return NULL;
}

/* ---- health ------------------------------------------------------------- */

/**
 * fp_health_set_sense:
 * @health: a health record
 * @stats: sensing's counters (its strings are copied)
 */
void fp_health_set_sense(FpHealth *health, const FpSenseStats *stats)
{
    g_free(health->backend_reason);
    g_free(health->conntrack_warning);
    health->sense = *stats;
    health->backend_reason = g_strdup(stats->backend_reason);
    health->conntrack_warning = g_strdup(stats->conntrack_warning);
    health->sense.backend_reason = health->backend_reason;
    health->sense.conntrack_warning = health->conntrack_warning;
}

/**
 * fp_health_clear:
 * @health: a health record
 *
 * Frees the strings it owns and zeroes it.
 */
void fp_health_clear(FpHealth *health)
{
    g_free(health->backend_reason);
    g_free(health->conntrack_warning);
    g_free(health->libvirt_uri);
    g_free(health->libvirt_error);
    g_free(health->placement_provider);
    g_free(health->placement_provider_uuid);
    g_free(health->placement_traits);
    g_free(health->placement_error);
    fp_file_write_status_clear(&health->state_write);
    fp_file_write_status_clear(&health->metrics_write);
    fp_file_write_status_clear(&health->hints_write);
    memset(health, 0, sizeof(*health));
}

/**
 * fp_placement_state_to_string:
 * @state: a Placement client state
 *
 * Returns: its name in status output and metrics: "off", "syncing",
 * "synced" or "retrying"
 */
const char *fp_placement_state_to_string(FpPlacementState state)
{
    static const char *const names[] = {"off", "syncing", "synced", "retrying"};

    return (guint)state < G_N_ELEMENTS(names) ? names[state] : "unknown";
}

/**
 * fp_sweep_profile_format:
 * @profile: a sweep's profile
 *
 * Returns: (transfer full): one line for `footprintctl status`: each
 * step's time, then the sweep's CPU and run-queue wait
 */
char *fp_sweep_profile_format(const FpSweepProfile *p)
{
    static const char *const names[FP_SWEEP_N_PHASES] = {
        "events", "new flows", "conntrack", "merge", "devices", "learn", "publish",
    };
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < FP_SWEEP_N_PHASES; i++) {
        g_string_append_printf(out, "%s %.1f ms", names[i], (double)p->phase_us[i] / 1000);
        if (i == FP_SWEEP_PUBLISH && p->consumer != NULL)
            g_string_append_printf(out, " (the longest: %s %.1f ms)", p->consumer,
                                   (double)p->consumer_us / 1000);
        g_string_append(out, ", ");
    }
    g_string_append_printf(out, "whole %.1f ms: CPU %.1f ms, run-queue wait %.1f ms",
                           (double)p->wall_us / 1000, (double)p->cpu_us / 1000,
                           (double)p->wait_us / 1000);
    return g_string_free(out, FALSE);
}
