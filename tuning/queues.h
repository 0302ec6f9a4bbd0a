/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * queues: the "queues" knob, the CPU masks of a tap's queues:
 * /sys/class/net/TAP/queues/rx-N/rps_cpus (which CPUs process what the VM
 * sends, after the tap: Receive Packet Steering) and tx-N/xps_cpus (which
 * CPUs send into queue N towards the VM).  The journal names a mask by its
 * path under /sys/class/net ("vnet3/queues/rx-0/rps_cpus") and keeps the
 * text the kernel printed, which is what is written back.
 */
#pragma once

#include <glib.h>

#include "cpuset.h"
#include "journal.h"

G_BEGIN_DECLS

/**
 * FpTapQueue:
 * @object: its path under /sys/class/net
 * @device: the tap
 * @rps: an rx queue's rps_cpus (else a tx queue's xps_cpus)
 * @mask: the CPUs in it now (none: the kernel's default)
 * @text: the mask as the kernel printed it
 */
typedef struct {
    char *object;
    char *device;
    gboolean rps;
    FpCpuSet mask;
    char *text;
} FpTapQueue;

void fp_tap_queue_free(FpTapQueue *queue);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpTapQueue, fp_tap_queue_free)
FpTapQueue *fp_tap_queue_new(const char *object, const char *text, GError **error);

GPtrArray *fp_queues_read(const char *sysfs_net, const char *device, GError **error);
gboolean fp_queues_write(const char *sysfs_net, const char *object, const char *text,
                         gboolean *gone, GError **error);

/* The knob's instance is the sysfs directory it works in (a const char *,
 * /sys/class/net outside tests). */
extern const FpKnobClass fp_queues_knob;

G_END_DECLS
