/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * planner: what the host's shared egress should look like, from one
 * sweep's snapshot (each VM's class and interfaces), the elephant flows the
 * tuner watches, the egress devices as the host has them and the
 * configuration.  Pure: no clock (the time is an input), no I/O; the
 * previous plan carries the hysteresis, the slots and the rate limit.
 * tuner.c applies the difference between two plans; advise mode only shows
 * it.  Fixture-tested (tests/unit/test-planner.c, tests/data/planner/).
 *
 * The shape it plans on each managed egress device (bpf/fp_tc.h has the
 * numbers):
 *
 *   root htb fd00: (default fd00:10)
 *   └─ fd00:1  rate = ceil = the device's rate
 *      ├─ fd00:10   normal band: prio 0, rate (1 - demoted_min_share) × rate
 *      └─ fd00:20   demoted band: prio 1, rate demoted_min_share × rate,
 *         │         ceil = the whole rate (it borrows all that is unused)
 *         └─ fd00:101 .. fd00:1NN  one leaf per slot (fair_slots), equal
 *                   rates and quantum: the band is shared per VM, not per flow
 *
 * and a cls_bpf classifier (bpf/fp_tc.bpf.c) that sends a packet to slot
 * N's leaf when its conntrack entry's mark holds N in footprintd's bits
 * (a demoted flow), or when it entered the host through the interface of
 * a VM demoted as a whole; every other packet goes to the normal band.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "fp-config.h"
#include "snapshot.h"

G_BEGIN_DECLS

/* The owner of demoted traffic that is no VM's (the host's own elephants). */
#define FP_PLAN_OWNER_HOST "host"

/**
 * FpEgressDevice:
 * @name: the device's name
 * @ifindex: its ifindex, 0 when it does not exist
 * @speed_mbit: the speed the kernel reports, 0 when none
 * @root_kind: (nullable): the kind of its root qdisc now ("noqueue",
 *     "pfifo_fast", "mq", "htb", ...)
 * @root_handle: the root qdisc's handle (0: one the kernel attached itself)
 * @root_ours: the root qdisc is footprintd's (fd00:, with our classifier)
 * @children_default: for an mq root: every child is a kernel default (handle 0)
 *
 * One shared egress device as the host has it (read by tc.c; written by
 * hand in fixtures).
 */
typedef struct {
    char *name;
    guint32 ifindex;
    guint64 speed_mbit;
    char *root_kind;
    guint32 root_handle;
    gboolean root_ours;
    gboolean children_default;
} FpEgressDevice;

FpEgressDevice *fp_egress_device_new(const char *name);
void fp_egress_device_free(FpEgressDevice *dev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpEgressDevice, fp_egress_device_free)
gboolean fp_egress_device_adoptable(const FpEgressDevice *dev);

/**
 * FpPlanFlow:
 * @key: the flow (conntrack's original tuple and zone)
 * @in_ifindex: per direction, the device its packets came in on (as FpFlow)
 * @out_ifindex: per direction, the device they leave through
 * @has_devices: the devices are known
 * @bytes: per direction, bytes so far (who sends most owns the flow)
 * @rate_bps: bytes/s, both directions, over the tuner's last look
 * @elephant_us: when it became an elephant (monotonic µs)
 * @quiet_since_us: since when it has moved under a tenth of the elephant
 *     rate, 0 while it moves faster
 *
 * An elephant flow the tuner watches, from its event until it ends.
 */
typedef struct {
    FpFlowKey key;
    guint32 in_ifindex[2];
    guint32 out_ifindex[2];
    gboolean has_devices;
    guint64 bytes[2];
    double rate_bps;
    gint64 elephant_us;
    gint64 quiet_since_us;
} FpPlanFlow;

/**
 * FpPlanInput:
 * @snapshot: the sweep's snapshot (VMs, class in effect, ifindexes)
 * @flows: (element-type FpPlanFlow): the watched elephant flows
 * @devices: (element-type FpEgressDevice): the egress devices
 * @config: the configuration ([tuning], and [sense] for the elephant rate)
 * @now_us: monotonic time of the plan
 * @previous: (nullable): the previous plan: hysteresis, slots, rate limit
 */
typedef struct {
    const FpSnapshot *snapshot;
    GPtrArray *flows;
    GPtrArray *devices;
    const FpConfig *config;
    gint64 now_us;
    const struct _FpPlan *previous;
} FpPlanInput;

/**
 * FpPlanDevice:
 * @name: the device
 * @ifindex: its ifindex
 * @managed: footprintd may shape it (a rate, and a root qdisc it may adopt
 *     or already owns)
 * @shaped: desired: footprintd's HTB is its root now
 * @reason: why not managed, or what managing it adopts
 * @rate_bps: the rate it is shaped to, bits/s
 * @normal_bps: the normal band's guaranteed rate
 * @demoted_bps: the demoted band's guaranteed rate (its ceiling is @rate_bps)
 * @slot_bps: each slot leaf's guaranteed rate
 * @slots: slot leaves
 * @split_gso: each slot's leaf is a TBF that segments GSO packets as they
 *     queue ([tuning] split_gso)
 * @needed_us: last time it had demoted traffic to carry (for demotion_hold)
 * @since_us: since when @shaped has had its value
 */
typedef struct {
    char *name;
    guint32 ifindex;
    gboolean managed;
    gboolean shaped;
    char *reason;
    guint64 rate_bps;
    guint64 normal_bps;
    guint64 demoted_bps;
    guint64 slot_bps;
    guint slots;
    gboolean split_gso;
    gint64 needed_us;
    gint64 since_us;
} FpPlanDevice;

/**
 * FpPlanFlowState:
 * @key: the flow
 * @demoted: desired: its mark holds @slot
 * @idle: released for idleness (down again only at the elephant rate)
 * @slot: its owner's slot (0 when not demoted)
 * @owner: its owner's uuid, or %FP_PLAN_OWNER_HOST
 * @vm_name: (nullable): the owner VM's name
 * @klass: the owner VM's class in effect (%FP_CLASS_UNKNOWN for the host)
 * @reason: one line: why
 * @since_us: since when @demoted has had its value
 *
 * One watched flow's desired state.
 */
typedef struct {
    FpFlowKey key;
    gboolean demoted;
    gboolean idle;
    guint slot;
    char *owner;
    char *vm_name;
    FpClass klass;
    char *reason;
    gint64 since_us;
} FpPlanFlowState;

/**
 * FpPlanVm:
 * @uuid: the VM
 * @name: its name
 * @klass: its class in effect
 * @demoted: desired: everything it sends goes to @slot's leaf
 * @slot: its slot (0 when not demoted)
 * @ifindex: (array length=n_ifindex): its interfaces' ifindexes (0s left out)
 * @n_ifindex: how many
 * @reason: one line: why, or why not yet
 * @since_us: since when @demoted has had its value
 *
 * One VM's desired state: listed when it is demoted, or was, or would be
 * but for the rate limit.
 */
typedef struct {
    char *uuid;
    char *name;
    FpClass klass;
    gboolean demoted;
    guint slot;
    guint32 *ifindex;
    guint n_ifindex;
    char *reason;
    gint64 since_us;
} FpPlanVm;

/**
 * FpPlan:
 * @now_us: when it was made
 * @devices: (element-type FpPlanDevice): every egress device, in input order
 * @flows: (element-type FpPlanFlowState): every watched flow, sorted
 * @vms: (element-type FpPlanVm): VMs demoted or pending, sorted by uuid
 * @slots: (element-type utf8 guint): owner → slot, for owners with demoted
 *     traffic
 * @changes: (element-type gint64): times of the VM changes of the last
 *     minute (the rate limit)
 * @notes: (element-type utf8): what was left alone, and why
 * @flows_skipped: watched flows beyond max_flows
 *
 * The desired state of the host's shared egress.
 */
typedef struct _FpPlan {
    gint64 now_us;
    GPtrArray *devices;
    GPtrArray *flows;
    GPtrArray *vms;
    GHashTable *slots;
    GArray *changes;
    GPtrArray *notes;
    guint flows_skipped;
} FpPlan;

FpPlan *fp_plan_compute(const FpPlanInput *input);
void fp_plan_free(FpPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpPlan, fp_plan_free)

const FpPlanFlowState *fp_plan_find_flow(const FpPlan *plan, const FpFlowKey *key);
const FpPlanVm *fp_plan_find_vm(const FpPlan *plan, const char *uuid);
const FpPlanDevice *fp_plan_find_device(const FpPlan *plan, const char *name);
gboolean fp_plan_any_shaped(const FpPlan *plan);
char *fp_plan_to_text(const FpPlan *plan);
char *fp_flow_key_to_string(const FpFlowKey *key);
gboolean fp_flow_key_parse(const char *text, FpFlowKey *key, GError **error);
guint fp_plan_slot_classid(guint slot);

G_END_DECLS
