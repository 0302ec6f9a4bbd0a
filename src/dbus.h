/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

#include "flow-table.h"
#include "footprints.h"
#include "inventory.h"
#include "publish-libvirt.h"
#include "sense.h"
#include "snapshot.h"
#include "tuner.h"

#define FP_DBUS_NAME "org.footprintd.Footprint1"
#define FP_DBUS_PATH "/org/footprintd/Footprint1"
#define FP_DBUS_INTERFACE "org.footprintd.Footprint1"

typedef struct _FpDbus FpDbus;

FpDbus *fp_dbus_new(GDBusConnection *connection, FpFlowTable *table, FpInventory *inventory,
                    FpFootprints *learner, FpLibvirtPublisher *publisher, GError **error);
void fp_dbus_free(FpDbus *dbus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpDbus, fp_dbus_free)
void fp_dbus_emit_elephant(FpDbus *dbus, const FpFlow *flow);
void fp_dbus_consume(FpDbus *dbus, FpSnapshot *snapshot);
void fp_dbus_set_tuner(FpDbus *dbus, FpTuner *tuner);
void fp_dbus_set_sense(FpDbus *dbus, FpSense *sense);
GVariant *fp_flow_to_variant(const FpFlow *flow, FpVmIndex *vms, gint64 now_mono_us,
                             gint64 now_real_us);
