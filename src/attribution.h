/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * attribution: which VM interface each side of a flow belongs to, from the
 * devices the flow's packets crossed, and each VM's share of the traffic.
 * Pure: reads a flow table's flows and a VM index.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "vm-index.h"

G_BEGIN_DECLS

typedef enum {
    FP_OWNER_UNKNOWN, /* the flow's devices are not known (ctnetlink backend) */
    FP_OWNER_HOST,    /* no side of the flow crosses a VM interface */
    FP_OWNER_VM,      /* at least one side does */
} FpOwner;

/**
 * FpFlowAttribution:
 * @owner: who the flow belongs to
 * @src: the VM interface of the original direction's sender (@src.vm is
 *     %NULL when the flow starts outside any VM)
 * @dst: the VM interface of the original direction's receiver
 */
typedef struct {
    FpOwner owner;
    FpVmPort src;
    FpVmPort dst;
} FpFlowAttribution;

/**
 * FpVmTraffic:
 * @rx_bps: bytes/s towards the VM over the last sweep
 * @tx_bps: bytes/s from the VM
 * @rx_bytes: bytes towards the VM, over its live flows' lifetimes
 * @tx_bytes: bytes from the VM
 * @flows: live flows with a side in the VM
 * @elephants: those of them that are elephants
 *
 * One VM's traffic, the VM's point of view.
 */
typedef struct {
    double rx_bps;
    double tx_bps;
    guint64 rx_bytes;
    guint64 tx_bytes;
    guint flows;
    guint elephants;
} FpVmTraffic;

/**
 * FpVmSide:
 * @vm: a VM the flow touches
 * @dir: the flow direction the VM sends in (0: original, 1: reply)
 * @counts_flow: this side counts the flow (FALSE for the second side of a
 *     flow between two interfaces of one VM)
 *
 * One VM's part in a flow (fp_attribution_sides()).
 */
typedef struct {
    const FpVm *vm;
    int dir;
    gboolean counts_flow;
} FpVmSide;

void fp_attribute_flow(FpVmIndex *index, const FpFlow *flow, FpFlowAttribution *out);
guint fp_attribution_sides(const FpFlowAttribution *attr, FpVmSide sides[2]);
guint fp_attribute_flow_sides(FpVmIndex *index, const FpFlow *flow, FpVmSide sides[2]);
gboolean fp_attribution_matches(const FpFlowAttribution *attr, const FpVm *vm);
const char *fp_owner_to_string(FpOwner owner);
char *fp_attribution_describe(const FpFlowAttribution *attr);
GHashTable *fp_attribute_traffic(FpVmIndex *index, GPtrArray *flows);

G_END_DECLS
