/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture snapshots, built the way the learner builds them. */
#include "config.h"

#include <string.h>

#include "test-snapshots.h"

/**
 * fp_test_snapshot:
 * @seq: the sweep number
 * @t_s: seconds after FP_TEST_MONO_BASE_US / FP_TEST_REAL_BASE_S
 * @vms: (array length=n_vms): the VMs
 * @n_vms: how many
 *
 * Returns: (transfer full): a sealed snapshot
 */
FpSnapshot *fp_test_snapshot(guint64 seq, double t_s, const FpTestVm *vms, gsize n_vms)
{
    FpSnapshot *snap = fp_snapshot_new(seq, FP_TEST_MONO_BASE_US + (gint64)(t_s * 1e6),
                                       FP_TEST_REAL_BASE_S * G_USEC_PER_SEC + (gint64)(t_s * 1e6));

    for (gsize i = 0; i < n_vms; i++) {
        const FpTestVm *t = &vms[i];
        g_autoptr(FpVm) vm = g_new0(FpVm, 1);
        FpVmSnapshot *s;

        g_strlcpy(vm->uuid, t->uuid, sizeof(vm->uuid));
        vm->name = g_strdup(t->name);
        vm->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);
        if (t->nova != NULL) {
            vm->nova = g_new0(FpNova, 1);
            g_strlcpy(vm->nova->instance_uuid, t->nova, sizeof(vm->nova->instance_uuid));
            vm->nova->name = g_strdup(t->name);
        }
        s = fp_snapshot_add_vm(snap, vm, NULL);
        s->klass = t->klass;
        s->pinned = t->pinned;
        s->learned = t->pinned != FP_CLASS_UNKNOWN ? FP_CLASS_MIXED : t->klass;
        s->previous = s->klass;
        s->confidence = t->confidence;
        fp_footprint_policy_init(&s->explain.policy);
        s->explain.klass = s->klass;
        s->explain.learned = s->learned;
        s->explain.pinned = s->pinned;
        s->explain.confidence = t->confidence;
        s->explain.warm = t->klass != FP_CLASS_UNKNOWN;
        s->explain.rx_bps = t->rx_bps;
        s->explain.tx_bps = t->tx_bps;
        s->explain.total_bps = t->rx_bps + t->tx_bps;
        s->explain.elephant_share = t->elephant_share;
        s->explain.idle_bps = s->explain.policy.idle_bps;
        s->state.learned = s->learned;
        s->state.pinned = s->pinned;
        s->state.rx_bps = t->rx_bps;
        s->state.tx_bps = t->tx_bps;
        s->state.elephant_bps = (t->rx_bps + t->tx_bps) * t->elephant_share;
    }
    fp_snapshot_seal(snap);
    return snap;
}
