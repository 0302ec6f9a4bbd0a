/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * planner-cpu: the planner's second lever, CPU separation.  From each
 * VM's class and the packet-processing work found for it (its threads,
 * its taps' queues: affinity.h, queues.h), the CPUs online and the
 * configuration, what each thread's affinity and each queue's mask should
 * be.  Pure like planner.c: no I/O, no clock; the journal's previous
 * values come in as an input, so a plan made after a change is the same
 * as the one made before it.  Fixture-tested (tests/unit/test-planner-cpu.c,
 * tests/data/planner-cpu/).
 *
 * The host's CPUs are split into an elephant set and the rest, when there
 * is at least one throughput VM carrying elephant flows and one latency VM
 * to keep apart (the split follows the elephants: it goes [tuning]
 * cpu_hold seconds after the last one is released):
 *  - a throughput VM's emulator threads, I/O threads and vhost-net workers
 *    (and its vCPUs with [tuning] elephant_vcpus) are narrowed to the
 *    elephant set, and its taps' RPS and XPS masks are set to it;
 *  - every thread of a latency VM is narrowed to the rest;
 *  - other VMs are left alone.
 * Narrowed means: the CPUs it had (as found before footprintd's first
 * change) that are in the set.  Nothing is ever widened, so what libvirt
 * pinned (<cputune>, the cgroup cpuset) holds; a thread with none of its
 * CPUs in the set is left alone and reported.
 */
#pragma once

#include <glib.h>

#include "affinity.h"
#include "cpuset.h"
#include "footprint-model.h"
#include "fp-config.h"
#include "queues.h"

G_BEGIN_DECLS

/**
 * FpVmWork:
 * @uuid: the VM
 * @name: its name
 * @klass: its class in effect
 * @carrying: a throughput VM carries elephant flows now (or did within
 *     [tuning] cpu_hold): only such a VM takes part in the split
 * @libvirt: libvirt runs it: its emulator threads, I/O threads and vCPUs
 *     are pinned through libvirt's API (knob "libvirt-pin"), only the rest
 *     (vhost-net workers) through their affinity
 * @pid: its qemu's pid, 0 when not found
 * @problem: (nullable): why it was not found
 * @threads: (element-type FpVmThread): qemu's threads and vhost workers
 * @queues: (element-type FpTapQueue): its taps' queue masks
 *
 * One VM's packet-processing work as found on the host.
 */
typedef struct {
    char *uuid;
    char *name;
    FpClass klass;
    gboolean carrying;
    gboolean libvirt;
    int pid;
    char *problem;
    GPtrArray *threads;
    GPtrArray *queues;
} FpVmWork;

FpVmWork *fp_vm_work_new(const char *uuid, const char *name, FpClass klass);
void fp_vm_work_free(FpVmWork *work);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpVmWork, fp_vm_work_free)

/**
 * FpCpuPlanInput:
 * @vms: (element-type FpVmWork): the running VMs
 * @online: the CPUs online
 * @config: [tuning]
 * @original: (element-type utf8 utf8) (nullable): "KNOB OBJECT" → the
 *     value the journal kept, for what footprintd changed already
 */
typedef struct {
    GPtrArray *vms;
    FpCpuSet online;
    const FpTuningConfig *config;
    GHashTable *original;
} FpCpuPlanInput;

/**
 * FpCpuPlanAction:
 * @knob: "affinity", "queues", "libvirt-pin", or a NIC's "irq" and "rss"
 *     (planner-nic.h)
 * @object: the thread or queue mask, as the knob names it
 * @vm: the VM's uuid
 * @previous: its value before footprintd (the journal's, else now's)
 * @value: its desired value (a CPU list for affinity, a mask for queues)
 * @set: @value as a set
 * @now: what it is now
 * @now_text: (nullable): for a value that is no CPU set (an RSS table),
 *     what it is now as text: the action is done when it equals @value
 * @reason: one line: which VM, which thread, which side
 */
typedef struct {
    const char *knob;
    char *object;
    char *vm;
    char *previous;
    char *value;
    FpCpuSet set;
    FpCpuSet now;
    char *now_text;
    char *reason;
} FpCpuPlanAction;

/**
 * FpCpuPlan:
 * @active: the CPUs are split
 * @elephant: the elephant set (empty when not @active)
 * @rest: the other CPUs online
 * @why: one line: how the sets were chosen, or why there are none
 * @actions: (element-type FpCpuPlanAction): the desired state of every
 *     thread and mask footprintd governs now; what is not here and was
 *     changed goes back to its previous value
 * @notes: (element-type utf8): what was left alone and why (a VM pinned
 *     too tightly to move, qemu not found)
 */
typedef struct {
    gboolean active;
    FpCpuSet elephant;
    FpCpuSet rest;
    char *why;
    GPtrArray *actions;
    GPtrArray *notes;
} FpCpuPlan;

FpCpuPlan *fp_cpu_plan_compute(const FpCpuPlanInput *input);
void fp_cpu_plan_free(FpCpuPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpCpuPlan, fp_cpu_plan_free)
void fp_cpu_plan_action_free(FpCpuPlanAction *action);
gboolean fp_cpu_plan_action_done(const FpCpuPlanAction *action);
const FpCpuPlanAction *fp_cpu_plan_find(const FpCpuPlan *plan, const char *knob,
                                        const char *object);
char *fp_cpu_plan_to_text(const FpCpuPlan *plan);

G_END_DECLS
