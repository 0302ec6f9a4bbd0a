/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprints: the daemon's footprint learner.  Every sweep it turns the
 * attributed flow table into one FpFootprintSample per running VM, feeds
 * the per-VM models (footprint-model.h) and returns what they learnt as one
 * immutable snapshot (snapshot.h).  It knows no consumer of that snapshot:
 * sweep.c hands it to each.  The only file it writes is its own state file
 * under the state dir.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "atomic-file.h"
#include "footprint-model.h"
#include "snapshot.h"
#include "vm-index.h"

G_BEGIN_DECLS

/* The state file, under [agent] state_dir. */
#define FP_FOOTPRINTS_STATE_FILE "footprints"
/* How often the state file is rewritten while running (and at stop). */
#define FP_FOOTPRINTS_SAVE_INTERVAL_S 60

/* ---- the sampler: flow table -> per-VM samples (pure) ------------------- */

typedef struct _FpSampler FpSampler;

FpSampler *fp_sampler_new(void);
void fp_sampler_free(FpSampler *sampler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSampler, fp_sampler_free)
GHashTable *fp_sampler_step(FpSampler *sampler, FpVmIndex *index, GPtrArray *flows,
                            GPtrArray *ended, guint generation, gint64 interval_us);

/**
 * FpBirthsFunc:
 * @ifindex: a device
 * @births: (out): flows whose first packet came in on it ([0]) and left
 *     through it ([1]), counted since sensing started
 * @user_data: the data given with the function
 *
 * Returns: %FALSE when nothing is counted for @ifindex (no flow yet)
 */
typedef gboolean (*FpBirthsFunc)(guint32 ifindex, guint64 births[2], gpointer user_data);

void fp_sampler_set_births_func(FpSampler *sampler, FpBirthsFunc func, gpointer user_data);

/**
 * FpTapBytesFunc:
 * @ifindex: a device
 * @bytes: (out): the device's own byte counters: received by it ([0]: for
 *     a VM's tap, what the VM sent) and sent by it ([1]: what the VM got)
 * @user_data: the data given with the function
 *
 * Returns: %FALSE when they cannot be read (the device is gone)
 */
typedef gboolean (*FpTapBytesFunc)(guint32 ifindex, guint64 bytes[2], gpointer user_data);

void fp_sampler_set_tap_bytes_func(FpSampler *sampler, FpTapBytesFunc func, gpointer user_data);
void fp_sampler_set_partial(FpSampler *sampler, gboolean partial);

/* ---- the learner -------------------------------------------------------- */

typedef struct _FpFootprints FpFootprints;

FpFootprints *fp_footprints_new(const FpFootprintPolicy *policy, const char *state_dir,
                                guint forget_after_days);
void fp_footprints_free(FpFootprints *footprints);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpFootprints, fp_footprints_free)

void fp_footprints_set_save_interval(FpFootprints *footprints, guint interval_s);
void fp_footprints_set_async(FpFootprints *footprints, gboolean async);
const FpFileWriteStatus *fp_footprints_get_write_status(FpFootprints *footprints);
void fp_footprints_reconfigure(FpFootprints *footprints, const FpFootprintPolicy *policy,
                               guint forget_after_days);
gboolean fp_footprints_restore(FpFootprints *footprints, GError **error);
gboolean fp_footprints_save(FpFootprints *footprints, GError **error);
FpSnapshot *fp_footprints_sweep(FpFootprints *footprints, FpVmIndex *index, FpFlowTable *table,
                                gint64 now_us, gint64 real_us);
void fp_footprints_follow_pin(FpFootprints *footprints, const char *uuid, FpClass pin);
gboolean fp_footprints_lookup_saved(FpFootprints *footprints, const char *uuid,
                                    FpFootprintExplain *explain, FpFootprintTotals *totals);
void fp_footprints_set_births_func(FpFootprints *footprints, FpBirthsFunc func, gpointer user_data);
void fp_footprints_set_tap_bytes_func(FpFootprints *footprints, FpTapBytesFunc func,
                                      gpointer user_data);

G_END_DECLS
