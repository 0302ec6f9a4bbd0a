/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * snapshot: what one sweep learnt, immutable once built.  The learner
 * (footprints.c) fills one per sweep; main.c (sweep.c) hands it to every
 * consumer in turn: libvirt metadata, Prometheus, D-Bus signals, the tuner,
 * Placement.  Consumers keep a reference if they need it later and never
 * change it.  Pure data: no libvirt, no sensing, no bus.
 */
#pragma once

#include <glib.h>

#include "domain-xml.h"
#include "footprint-model.h"
#include "health.h"

G_BEGIN_DECLS

/**
 * FpVmSnapshot:
 * @vm: the VM as the inventory knew it at the sweep (a deep copy: uuid,
 *     name, Nova metadata, interfaces in document order)
 * @ifindex: (array length=vm->interfaces->len): each interface's host
 *     ifindex at the sweep, 0 when its device was not found
 * @klass: the class in effect (@pinned when set, else @learned)
 * @learned: the learned class
 * @pinned: the operator's pin, %FP_CLASS_UNKNOWN when none
 * @previous: the class in effect in the previous snapshot; equal to @klass
 *     when it did not change; %FP_CLASS_UNKNOWN when @appeared
 * @appeared: the VM was not in the previous snapshot
 * @confidence: confidence in @klass
 * @state: the model's state (what the metadata element and state file carry)
 * @explain: the figures and thresholds behind @klass
 * @totals: counters since the model was created
 *
 * One running VM's footprint at one sweep.
 */
typedef struct {
    FpVm *vm;
    guint32 *ifindex;
    FpClass klass;
    FpClass learned;
    FpClass pinned;
    FpClass previous;
    gboolean appeared;
    double confidence;
    FpFootprintState state;
    FpFootprintExplain explain;
    FpFootprintTotals totals;
} FpVmSnapshot;

/**
 * FpSnapshot:
 * @seq: the sweep's number, from 1
 * @mono_us: g_get_monotonic_time() at the sweep
 * @real_us: g_get_real_time() at the sweep
 * @vms: (element-type FpVmSnapshot): the running VMs, sorted by uuid
 * @gone: (element-type utf8): uuids of the VMs of the previous snapshot
 *     that are not running any more (stopped, migrated away)
 * @health: the agent's health at the sweep (filled by the caller of the
 *     learner, see health.h)
 *
 * One sweep's read-only view.  Reference-counted.
 */
typedef struct {
    guint64 seq;
    gint64 mono_us;
    gint64 real_us;
    GPtrArray *vms;
    GPtrArray *gone;
    FpHealth health;
} FpSnapshot;

FpSnapshot *fp_snapshot_new(guint64 seq, gint64 mono_us, gint64 real_us);
FpSnapshot *fp_snapshot_ref(FpSnapshot *snapshot);
void fp_snapshot_unref(FpSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSnapshot, fp_snapshot_unref)

FpVmSnapshot *fp_snapshot_add_vm(FpSnapshot *snapshot, const FpVm *vm, const guint32 *ifindex);
void fp_snapshot_add_gone(FpSnapshot *snapshot, const char *uuid);
void fp_snapshot_seal(FpSnapshot *snapshot);
const FpVmSnapshot *fp_snapshot_find(const FpSnapshot *snapshot, const char *name_or_uuid);

G_END_DECLS
