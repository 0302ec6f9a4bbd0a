/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "fp-config.h"
#include "health.h"

typedef struct _FpSense FpSense;

typedef void (*FpSenseElephantFunc)(FpFlow *flow, gpointer user_data);

FpSense *fp_sense_new(const FpConfig *config, FpFlowTable *table, GError **error);
void fp_sense_free(FpSense *sense);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSense, fp_sense_free)
void fp_sense_set_elephant_func(FpSense *sense, FpSenseElephantFunc func, gpointer user_data);
gboolean fp_sense_sweep(FpSense *sense, GError **error);
void fp_sense_get_stats(FpSense *sense, FpSenseStats *stats);
gboolean fp_sense_decode_event(const void *data, gsize size, struct fp_event *event,
                               GError **error);
char *fp_sense_probe(const FpConfig *config);
