/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * planner-nic: the CPU lever's third part, the host NICs named in
 * [tuning] nic_devices.  Pure like planner-cpu.c: from the CPU plan's
 * elephant set, each NIC's queues, queue IRQs and RSS table as read, and
 * the elephant flows' tuples, what each IRQ's affinity and each table
 * should be.  Fixture-free unit tests: tests/unit/test-planner-nic.c.
 *
 * While the CPUs are split, k of a NIC's n RX queues are its elephant
 * queues, the highest-numbered, k = round(n x |elephant set| / |CPUs
 * online|), at least 1 and at most n - 1 (a 1-queue NIC is left alone):
 *  - [tuning] nic_irqs: an elephant queue's IRQs go to the elephant CPUs,
 *    every other queue's to the rest; an IRQ a running irqbalance manages
 *    is left alone (and noted) unless [tuning] irqbalance_override;
 *  - [tuning] nic_rss: each elephant flow's slot in the indirection table
 *    (the Toeplitz hash of the tuple the NIC receives, with the NIC's key
 *    and the fields it hashes for that flow type, modulo the table's
 *    size) points at an elephant queue, every other slot at the other
 *    queues, spread evenly.  So an inbound elephant's interrupts and
 *    softirq run on the elephant CPUs, and a latency flow lands there only
 *    when it shares a slot with an elephant (about one in the table's size
 *    per elephant).  A table whose hash is not Toeplitz, or with no key,
 *    is left alone.
 * Each IRQ and table is set outright, not narrowed: naming the NIC in
 * nic_devices is the operator's consent, and an IRQ's affinity is the
 * driver's choice, not a pin to keep.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "nic-irq.h"
#include "nic-rss.h"
#include "planner-cpu.h"

G_BEGIN_DECLS

/**
 * FpNicWork:
 * @device: the NIC
 * @n_queues: its RX (combined) queues
 * @irqs: (element-type FpNicIrq): its queue IRQs as read
 * @rss: (nullable): its RSS table as read
 * @problem: (nullable): why it could not be read at all
 * @rss_problem: (nullable): why its table could not be read
 */
typedef struct {
    char *device;
    guint n_queues;
    GPtrArray *irqs;
    FpNicRss *rss;
    char *problem;
    char *rss_problem;
} FpNicWork;

FpNicWork *fp_nic_work_new(const char *device);
void fp_nic_work_free(FpNicWork *work);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNicWork, fp_nic_work_free)

/**
 * FpNicPlanInput:
 * @nics: (element-type FpNicWork): the NICs of [tuning] nic_devices
 * @flows: (element-type FpFlowKey): the elephant flows' tuples in the
 *     direction the NICs receive them
 * @config: [tuning]
 * @original: (element-type utf8 utf8) (nullable): "KNOB OBJECT" → the
 *     value the journal kept
 * @irqbalance: (nullable): the running irqbalance: an IRQ footprintd
 *     moved is irqbalance's or not by the affinity it had before (one moved
 *     out of irqbalance's banned CPUs is still not irqbalance's)
 */
typedef struct {
    GPtrArray *nics;
    GArray *flows;
    const FpTuningConfig *config;
    GHashTable *original;
    const FpIrqbalance *irqbalance;
} FpNicPlanInput;

guint fp_nic_elephant_queues(guint n_queues, guint n_elephant_cpus, guint n_online);
guint32 fp_toeplitz(const guint8 *key, gsize key_len, const guint8 *data, gsize len);
gboolean fp_nic_rss_hash(const FpNicRss *rss, const FpFlowKey *flow, guint32 *hash);
void fp_nic_plan_compute(FpCpuPlan *plan, const FpNicPlanInput *input);

G_END_DECLS
