/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "fp-config.h"
#include "health.h"

typedef struct _FpSense FpSense;

typedef void (*FpSenseElephantFunc)(FpFlow *flow, gpointer user_data);

/**
 * FpDeviceCounts:
 * @ifindex: the device
 * @births: flows whose first packet came in on it ([0]) or left through it
 *     ([1]): for a VM's tap, flows the VM started and flows started
 *     towards it
 * @samples: packets the kernel program sampled, in and out
 * @bytes_est: bytes in and out, estimated from the samples (each stands
 *     for 2^sample_shift bytes); the device's own counters are exact
 *
 * What the kernel counts per device (bpf/fp_devstats.bpf.h), summed over
 * the CPUs, since the agent started.
 */
typedef struct {
    guint32 ifindex;
    guint64 births[2];
    guint64 samples[2];
    guint64 bytes_est[2];
} FpDeviceCounts;

FpSense *fp_sense_new(const FpConfig *config, FpFlowTable *table, GError **error);
void fp_sense_free(FpSense *sense);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSense, fp_sense_free)
void fp_sense_set_elephant_func(FpSense *sense, FpSenseElephantFunc func, gpointer user_data);
gboolean fp_sense_sweep(FpSense *sense, GError **error);
gboolean fp_sense_sweep_step(FpSense *sense, gboolean *done, GError **error);
void fp_sense_get_stats(FpSense *sense, FpSenseStats *stats);
void fp_sense_get_profile(FpSense *sense, FpSweepProfile *profile);
gboolean fp_sense_decode_event(const void *data, gsize size, struct fp_event *event,
                               GError **error);
char *fp_sense_probe(const FpConfig *config);
const FpDeviceCounts *fp_sense_get_device(FpSense *sense, guint32 ifindex);
gboolean fp_sense_counts_devices(FpSense *sense);
