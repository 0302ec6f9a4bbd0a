/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * flow-listing: one listing of every flow, on demand and a page at a time
 * (`footprintctl flows --all`, ListFlowsPage's "all").  First the flows the
 * agent follows, biggest first; then the rest of the conntrack table, in
 * the table's own order, from a ctnetlink dump whose position the kernel
 * keeps between two pages.  Nothing holds the whole table: a page reads
 * just enough of the dump, and user space keeps the keys already listed
 * (at most the flow table's size) so that no flow is listed twice.
 */
#pragma once

#include <glib.h>

#include "attribution.h"
#include "flow-table.h"
#include "vm-index.h"

G_BEGIN_DECLS

/**
 * FpListedFlow:
 * @flow: a copy of the followed flow, or one made from the conntrack
 *     entry (key and counters only)
 * @attr: its attribution (pointers into the VM index of the page's call)
 * @followed: the agent follows the flow (devices, class, times are known)
 * @by_address: @attr comes from the addresses the VMs' followed flows
 *     showed, not from the devices of this flow
 */
typedef struct {
    FpFlow flow;
    FpFlowAttribution attr;
    gboolean followed;
    gboolean by_address;
} FpListedFlow;

/**
 * FpFlowFilter:
 * @vms: the VM index to attribute flows with
 * @vm: (nullable): only the flows of this VM
 * @elephants_only: only elephants
 *
 * What a listing keeps of the followed flows; fp_flow_filter_match() is
 * its fp_flow_table_page() filter (@user_data: the FpFlowFilter).
 */
typedef struct {
    FpVmIndex *vms;
    const FpVm *vm;
    gboolean elephants_only;
} FpFlowFilter;

gboolean fp_flow_filter_match(const FpFlow *flow, gpointer user_data);

typedef struct _FpFlowListing FpFlowListing;

FpFlowListing *fp_flow_listing_new(const char *vm_uuid, gboolean elephants_only);
void fp_flow_listing_free(FpFlowListing *listing);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpFlowListing, fp_flow_listing_free)
gboolean fp_flow_listing_next(FpFlowListing *listing, FpFlowTable *table, FpVmIndex *vms,
                              guint limit, gint64 budget_us, GArray *out, gboolean *done,
                              GError **error);
guint64 fp_flow_listing_get_entries_read(FpFlowListing *listing);

G_END_DECLS
