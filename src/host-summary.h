/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * host-summary: what this host carries as a whole, from each sweep's
 * snapshot: VMs per class, the elephant load against the egress capacity,
 * the headroom, and the one trait the scheduler should see
 * (CUSTOM_FOOTPRINT_ELEPHANTS or CUSTOM_FOOTPRINT_QUIET), with hysteresis
 * and a hold time so that the trait does not flap.  Pure code: no clock
 * (the snapshot's times), no I/O.  The Placement client and the hints file
 * read its figures.
 */
#pragma once

#include <glib.h>

#include "footprint-model.h"
#include "fp-config.h"
#include "snapshot.h"

G_BEGIN_DECLS

/* The traits (a contract: README and footprintd(8)): the only ones footprintd owns. */
#define FP_TRAIT_ELEPHANTS "CUSTOM_FOOTPRINT_ELEPHANTS"
#define FP_TRAIT_QUIET "CUSTOM_FOOTPRINT_QUIET"

/**
 * FpHostTrait:
 * @FP_HOST_TRAIT_NONE: no trait (the summary is not mature yet)
 * @FP_HOST_TRAIT_QUIET: %FP_TRAIT_QUIET: a good host for latency-sensitive VMs
 * @FP_HOST_TRAIT_ELEPHANTS: %FP_TRAIT_ELEPHANTS: the host carries elephants
 */
typedef enum {
    FP_HOST_TRAIT_NONE,
    FP_HOST_TRAIT_QUIET,
    FP_HOST_TRAIT_ELEPHANTS,
} FpHostTrait;

const char *fp_host_trait_to_string(FpHostTrait trait);

/**
 * FpHostSummaryPolicy:
 * @egress_capacity_bps: the host's egress capacity, bytes/s; 0 when unknown
 *     (then only a VM classed throughput makes the host carry elephants).
 *     From [placement] egress_capacity_mbit, or from the tuner's figure for
 *     the shared egress (fp_host_summary_set_capacity()).
 * @elephant_load: elephant load, as a share of @egress_capacity_bps, from
 *     which the host carries elephants (0.01..1)
 * @hysteresis: relative margin: once carrying elephants, the host carries
 *     them until the load falls below @elephant_load × (1 − @hysteresis)
 * @hold_s: seconds in a row the figures must ask for the other trait before
 *     it changes
 * @mature_after_s: seconds of snapshots before the first trait
 *
 * The summary's input besides the snapshots.
 */
typedef struct {
    double egress_capacity_bps;
    double elephant_load;
    double hysteresis;
    double hold_s;
    double mature_after_s;
} FpHostSummaryPolicy;

void fp_host_summary_policy_from_config(FpHostSummaryPolicy *policy,
                                        const FpPlacementConfig *config);

/**
 * FpHostFigures:
 * @seq: the snapshot's sweep number
 * @real_us: the snapshot's wall-clock time
 * @observed_s: seconds since the first snapshot
 * @mature: enough observation for a trait: @observed_s reached
 *     mature_after and no VM that moves traffic was still without a class
 *     (once mature, the summary stays mature)
 * @vms: running VMs
 * @vms_by_class: (array fixed-size=5): running VMs per class in effect,
 *     indexed by #FpClass (%FP_CLASS_UNKNOWN: still warming up)
 * @rx_bps: all VMs' rate towards them, bytes/s
 * @tx_bps: all VMs' rate from them, bytes/s
 * @elephant_rx_bps: of @rx_bps, the throughput VMs' whole rate and the
 *     other VMs' elephant flows' rate
 * @elephant_tx_bps: the same from the VMs
 * @elephant_bps: the busier direction's elephant rate
 * @capacity_bps: the egress capacity, bytes/s; 0 when unknown
 * @elephant_load: @elephant_bps / @capacity_bps; NaN when unknown
 * @load: the busier direction's whole rate / @capacity_bps; NaN when unknown
 * @headroom_bps: @capacity_bps minus the busier direction's rate, at
 *     least 0; NaN when unknown
 * @headroom: @headroom_bps / @capacity_bps; NaN when unknown
 * @wanted: the trait these figures alone ask for (with the hysteresis band)
 * @trait: the trait in effect: what Placement and hints.json carry
 * @wanted_s: how long @wanted has differed from @trait, seconds (0 when
 *     they agree)
 * @reason: why @trait (or why none), one line of ASCII
 *
 * The host at one sweep.  Valid until the next fp_host_summary_consume().
 */
typedef struct {
    guint64 seq;
    gint64 real_us;
    double observed_s;
    gboolean mature;
    guint vms;
    guint vms_by_class[FP_CLASS_COUNT];
    double rx_bps;
    double tx_bps;
    double elephant_rx_bps;
    double elephant_tx_bps;
    double elephant_bps;
    double capacity_bps;
    double elephant_load;
    double load;
    double headroom_bps;
    double headroom;
    FpHostTrait wanted;
    FpHostTrait trait;
    double wanted_s;
    const char *reason;
} FpHostFigures;

typedef struct _FpHostSummary FpHostSummary;

FpHostSummary *fp_host_summary_new(const FpHostSummaryPolicy *policy);
void fp_host_summary_free(FpHostSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpHostSummary, fp_host_summary_free)

void fp_host_summary_set_policy(FpHostSummary *summary, const FpHostSummaryPolicy *policy);
void fp_host_summary_set_capacity(FpHostSummary *summary, double egress_capacity_bps);
const FpHostFigures *fp_host_summary_consume(FpHostSummary *summary, const FpSnapshot *snapshot);
const FpHostFigures *fp_host_summary_get(const FpHostSummary *summary);

G_END_DECLS
