/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprints: the daemon's footprint learner.  Every sweep it turns the
 * attributed flow table into one FpFootprintSample per running VM, feeds
 * the per-VM models (footprint-model.h), and publishes what they learn:
 * the libvirt metadata element (publish-libvirt.h), the Prometheus text
 * file (publish-prometheus.h), a class-changed callback (D-Bus signal).
 * The models are persisted under the state dir.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "footprint-model.h"
#include "fp-config.h"
#include "inventory.h"
#include "sense.h"
#include "vm-index.h"

G_BEGIN_DECLS

/* The state file, under [agent] state_dir. */
#define FP_FOOTPRINTS_STATE_FILE "footprints"
/* How often the state file is rewritten while running (and at stop). */
#define FP_FOOTPRINTS_SAVE_INTERVAL_S 60
/* After a failed metadata write, the next attempt waits this long. */
#define FP_FOOTPRINTS_METADATA_RETRY_S 30
/* A metadata write waiting this long is logged (once). */
#define FP_FOOTPRINTS_METADATA_SLOW_S 5

/* ---- the sampler: flow table -> per-VM samples (pure) ------------------- */

typedef struct _FpSampler FpSampler;

FpSampler *fp_sampler_new(void);
void fp_sampler_free(FpSampler *sampler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSampler, fp_sampler_free)
GHashTable *fp_sampler_step(FpSampler *sampler, FpVmIndex *index, GPtrArray *flows,
                            gint64 interval_us);

/* ---- the learner -------------------------------------------------------- */

/**
 * FpClassChangedFunc:
 * @uuid: the VM's uuid
 * @name: the VM's name
 * @old_class: the class in effect before
 * @new_class: the class in effect now
 * @confidence: confidence in @new_class
 * @user_data: the callback's data
 */
typedef void (*FpClassChangedFunc)(const char *uuid, const char *name, FpClass old_class,
                                   FpClass new_class, double confidence, gpointer user_data);

typedef struct _FpFootprints FpFootprints;

FpFootprints *fp_footprints_new(const FpConfig *config, FpFlowTable *table, FpSense *sense,
                                FpInventory *inventory);
void fp_footprints_free(FpFootprints *footprints);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpFootprints, fp_footprints_free)

void fp_footprints_reconfigure(FpFootprints *footprints, const FpConfig *config);
void fp_footprints_set_class_changed_func(FpFootprints *footprints, FpClassChangedFunc func,
                                          gpointer user_data);
gboolean fp_footprints_restore(FpFootprints *footprints, GError **error);
gboolean fp_footprints_save(FpFootprints *footprints, GError **error);
void fp_footprints_sweep(FpFootprints *footprints, gint64 now_us);
gboolean fp_footprints_write_metrics(FpFootprints *footprints, GError **error);

GVariant *fp_footprints_get(FpFootprints *footprints, const char *vm, gboolean explain,
                            GError **error);
GVariant *fp_footprints_list(FpFootprints *footprints);

G_END_DECLS
