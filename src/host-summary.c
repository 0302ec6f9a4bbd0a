/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * host-summary: the host as a whole, one FpHostFigures per snapshot.
 *
 * The elephant load is measured per direction, because a host's uplink is
 * full duplex: the VMs' transmit rates share its egress, their receive
 * rates its ingress, and either can be the one that queues.  A VM classed
 * throughput counts with its whole rate (its mice ride in the same queues
 * as its elephants); any other VM with its elephant flows' share of its
 * rate.
 *
 * The trait decision has three brakes against flapping: the VMs' classes
 * themselves have hysteresis (footprint-model.c), the load threshold has a
 * band (leave elephants only below elephant_load × (1 − hysteresis)), and
 * a change must be asked for during hold seconds in a row.  The first trait
 * after maturity is set at once: there is nothing to flap from.
 */
#include "config.h"

#include <math.h>

#include "host-summary.h"

struct _FpHostSummary {
    FpHostSummaryPolicy policy;
    gboolean started;
    gint64 first_mono_us;
    gboolean mature;
    FpHostTrait trait;
    gint64 wanted_since_us; /* when the figures started to ask for another trait, 0: they do not */
    gboolean have_figures;
    FpHostFigures figures;
    char *reason;
};

/**
 * fp_host_trait_to_string:
 * @trait: a trait
 *
 * Returns: (nullable): the Placement trait name, %NULL for none
 */
const char *fp_host_trait_to_string(FpHostTrait trait)
{
    switch (trait) {
    case FP_HOST_TRAIT_QUIET:
        return FP_TRAIT_QUIET;
    case FP_HOST_TRAIT_ELEPHANTS:
        return FP_TRAIT_ELEPHANTS;
    case FP_HOST_TRAIT_NONE:
        break;
    }
    return NULL;
}

/**
 * fp_host_summary_policy_from_config:
 * @policy: (out): the summary's policy
 * @config: the [placement] group
 */
void fp_host_summary_policy_from_config(FpHostSummaryPolicy *policy,
                                        const FpPlacementConfig *config)
{
    *policy = (FpHostSummaryPolicy){
        .egress_capacity_bps = config->egress_capacity_mbit * 1e6 / 8.0,
        .elephant_load = config->elephant_load,
        .hysteresis = config->hysteresis,
        .hold_s = config->hold_s,
        .mature_after_s = config->mature_after_s,
    };
}

/**
 * fp_host_summary_new:
 * @policy: thresholds and the egress capacity (copied)
 *
 * Returns: (transfer full): a summary that has seen no snapshot
 */
FpHostSummary *fp_host_summary_new(const FpHostSummaryPolicy *policy)
{
    FpHostSummary *s = g_new0(FpHostSummary, 1);

    s->policy = *policy;
    return s;
}

void fp_host_summary_free(FpHostSummary *summary)
{
    if (summary == NULL)
        return;
    g_free(summary->reason);
    g_free(summary);
}

/**
 * fp_host_summary_set_policy:
 * @summary: a summary
 * @policy: new thresholds (copied), e.g. after a configuration reload
 *
 * Applies from the next snapshot on; maturity and the trait in effect stay.
 */
void fp_host_summary_set_policy(FpHostSummary *summary, const FpHostSummaryPolicy *policy)
{
    summary->policy = *policy;
}

/**
 * fp_host_summary_set_capacity:
 * @summary: a summary
 * @egress_capacity_bps: the egress capacity, bytes/s, 0 when unknown
 *
 * For the tuner, which knows the shared egress devices' rates.
 */
void fp_host_summary_set_capacity(FpHostSummary *summary, double egress_capacity_bps)
{
    summary->policy.egress_capacity_bps =
        isfinite(egress_capacity_bps) && egress_capacity_bps > 0 ? egress_capacity_bps : 0;
}

/* A rate or share from a snapshot, as a number the sums can take. */
static double sane(double v, double max)
{
    if (!isfinite(v) || v < 0)
        return 0;
    return v > max ? max : v;
}

static void add_vm(FpHostFigures *f, const FpVmSnapshot *vm, guint *warming)
{
    const FpFootprintExplain *e = &vm->explain;
    double rx = sane(e->rx_bps, G_MAXDOUBLE);
    double tx = sane(e->tx_bps, G_MAXDOUBLE);
    double share = vm->klass == FP_CLASS_THROUGHPUT ? 1.0 : sane(e->elephant_share, 1.0);
    FpClass klass = (guint)vm->klass < FP_CLASS_COUNT ? vm->klass : FP_CLASS_UNKNOWN;

    f->vms++;
    f->vms_by_class[klass]++;
    f->rx_bps += rx;
    f->tx_bps += tx;
    f->elephant_rx_bps += rx * share;
    f->elephant_tx_bps += tx * share;
    /* A VM without a class that moves traffic is one whose footprint the
     * summary cannot judge yet. */
    if (klass == FP_CLASS_UNKNOWN && rx + tx >= sane(e->idle_bps, G_MAXDOUBLE))
        (*warming)++;
}

static FpHostTrait decide(const FpHostSummary *s, const FpHostFigures *f, GString *why)
{
    const FpHostSummaryPolicy *p = &s->policy;
    guint throughput = f->vms_by_class[FP_CLASS_THROUGHPUT];
    double threshold = p->elephant_load;

    if (s->trait == FP_HOST_TRAIT_ELEPHANTS)
        threshold *= 1.0 - p->hysteresis;
    if (throughput > 0) {
        g_string_append_printf(why, "%u VM%s classed throughput", throughput,
                               throughput == 1 ? "" : "s");
        return FP_HOST_TRAIT_ELEPHANTS;
    }
    if (f->capacity_bps <= 0) {
        g_string_append(why, "no VM classed throughput, egress capacity unknown");
        return FP_HOST_TRAIT_QUIET;
    }
    if (f->elephant_load >= threshold) {
        g_string_append_printf(why, "elephant load %.3f of the egress capacity >= %.3f",
                               f->elephant_load, threshold);
        return FP_HOST_TRAIT_ELEPHANTS;
    }
    g_string_append_printf(why, "no VM classed throughput, elephant load %.3f < %.3f",
                           f->elephant_load, threshold);
    return FP_HOST_TRAIT_QUIET;
}

/**
 * fp_host_summary_consume:
 * @summary: a summary
 * @snapshot: a sealed snapshot, newer than the previous one
 *
 * Sums the snapshot's VMs and decides the trait.
 *
 * Returns: (transfer none): the figures, valid until the next call
 */
const FpHostFigures *fp_host_summary_consume(FpHostSummary *summary, const FpSnapshot *snapshot)
{
    FpHostFigures *f = &summary->figures;
    const FpHostSummaryPolicy *p = &summary->policy;
    g_autoptr(GString) why = g_string_new(NULL);
    guint warming = 0;
    double busier;

    if (!summary->started) {
        summary->started = TRUE;
        summary->first_mono_us = snapshot->mono_us;
    }
    *f = (FpHostFigures){
        .seq = snapshot->seq,
        .real_us = snapshot->real_us,
        .observed_s = MAX(0, snapshot->mono_us - summary->first_mono_us) / 1e6,
        .capacity_bps = p->egress_capacity_bps,
        .elephant_load = NAN,
        .load = NAN,
        .headroom_bps = NAN,
        .headroom = NAN,
    };
    for (guint i = 0; i < snapshot->vms->len; i++)
        add_vm(f, g_ptr_array_index(snapshot->vms, i), &warming);
    f->elephant_bps = MAX(f->elephant_rx_bps, f->elephant_tx_bps);
    busier = MAX(f->rx_bps, f->tx_bps);
    if (f->capacity_bps > 0) {
        f->elephant_load = f->elephant_bps / f->capacity_bps;
        f->load = busier / f->capacity_bps;
        f->headroom_bps = MAX(0, f->capacity_bps - busier);
        f->headroom = f->headroom_bps / f->capacity_bps;
    }

    if (!summary->mature && f->observed_s >= p->mature_after_s && warming == 0)
        summary->mature = TRUE;
    f->mature = summary->mature;
    if (!f->mature) {
        if (f->observed_s < p->mature_after_s)
            g_string_append_printf(why, "not mature: observed %.0f of %.0f s", f->observed_s,
                                   p->mature_after_s);
        else
            g_string_append_printf(why, "not mature: %u VM%s moving traffic without a class yet",
                                   warming, warming == 1 ? "" : "s");
        f->wanted = f->trait = FP_HOST_TRAIT_NONE;
    } else {
        f->wanted = decide(summary, f, why);
        if (summary->trait == FP_HOST_TRAIT_NONE || f->wanted == summary->trait) {
            summary->trait = f->wanted;
            summary->wanted_since_us = 0;
        } else {
            if (summary->wanted_since_us == 0)
                summary->wanted_since_us = snapshot->mono_us;
            f->wanted_s = MAX(0, snapshot->mono_us - summary->wanted_since_us) / 1e6;
            if (f->wanted_s >= p->hold_s) {
                summary->trait = f->wanted;
                summary->wanted_since_us = 0;
                f->wanted_s = 0;
            } else {
                g_string_append_printf(
                    why, "; %s stays until this holds for %.0f s (%.0f s so far)",
                    fp_host_trait_to_string(summary->trait), p->hold_s, f->wanted_s);
            }
        }
        f->trait = summary->trait;
    }
    g_free(summary->reason);
    summary->reason = g_string_free(g_steal_pointer(&why), FALSE);
    f->reason = summary->reason;
    summary->have_figures = TRUE;
    return f;
}

/**
 * fp_host_summary_get:
 * @summary: a summary
 *
 * Returns: (transfer none) (nullable): the latest figures, %NULL before the
 * first snapshot
 */
const FpHostFigures *fp_host_summary_get(const FpHostSummary *summary)
{
    return summary->have_figures ? &summary->figures : NULL;
}
