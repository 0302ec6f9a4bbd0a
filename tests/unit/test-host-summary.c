/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host summary: fixture snapshots → figures and the trait.  Maturity,
 * the two reasons for CUSTOM_FOOTPRINT_ELEPHANTS (a throughput VM, the
 * elephant load per direction), and the three brakes against flapping
 * (the hysteresis band, the hold time, maturity that stays).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "host-summary.h"
#include "test-snapshots.h"

#define UUID_A "00000000-0000-4000-8000-00000000000a"
#define UUID_B "00000000-0000-4000-8000-00000000000b"
#define UUID_C "00000000-0000-4000-8000-00000000000c"
/* 1000 Mbit/s in bytes/s. */
#define GBIT_BPS 125e6

static const FpHostSummaryPolicy default_policy = {
    .egress_capacity_bps = GBIT_BPS,
    .elephant_load = 0.3,
    .hysteresis = 0.2,
    .hold_s = 60,
    .mature_after_s = 120,
};

/* One VM whose elephant flows move @load of the capacity, transmitting. */
static FpTestVm loaded_vm(double load)
{
    return (FpTestVm){UUID_A, "web", NULL, FP_CLASS_MIXED, 0, 1e5, load * GBIT_BPS / 0.5, 0.5, 0.9};
}

static const FpHostFigures *feed(FpHostSummary *s, guint64 seq, double t, const FpTestVm *vms,
                                 gsize n)
{
    g_autoptr(FpSnapshot) snap = fp_test_snapshot(seq, t, vms, n);

    return fp_host_summary_consume(s, snap);
}

static void test_empty_host(void)
{
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&default_policy);
    const FpHostFigures *f;

    g_assert_null(fp_host_summary_get(s));
    f = feed(s, 1, 0, NULL, 0);
    g_assert_false(f->mature);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_NONE);
    g_assert_cmpstr(f->reason, ==, "not mature: observed 0 of 120 s");
    f = feed(s, 2, 119.9, NULL, 0);
    g_assert_false(f->mature);
    f = feed(s, 3, 120, NULL, 0);
    g_assert_true(f->mature);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
    g_assert_cmpstr(fp_host_trait_to_string(f->trait), ==, "CUSTOM_FOOTPRINT_QUIET");
    g_assert_cmpfloat(f->elephant_load, ==, 0);
    g_assert_cmpfloat(f->headroom, ==, 1);
    g_assert_cmpfloat(f->headroom_bps, ==, GBIT_BPS);
    g_assert_true(fp_host_summary_get(s) == f);
    g_assert_null(fp_host_trait_to_string(FP_HOST_TRAIT_NONE));
}

static void test_figures(void)
{
    const FpTestVm vms[] = {
        {UUID_A, "bulk", UUID_A, FP_CLASS_THROUGHPUT, 0, 2e6, 50e6, 0.9, 0.8},
        {UUID_B, "web", NULL, FP_CLASS_LATENCY, 0, 10e6, 20e6, 0.1, 0.7},
        {UUID_C, "new", NULL, FP_CLASS_UNKNOWN, 0, 100, 100, 0, 0},
    };
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&default_policy);
    const FpHostFigures *f = feed(s, 7, 0, vms, G_N_ELEMENTS(vms));

    g_assert_cmpuint(f->seq, ==, 7);
    g_assert_cmpuint(f->vms, ==, 3);
    g_assert_cmpuint(f->vms_by_class[FP_CLASS_THROUGHPUT], ==, 1);
    g_assert_cmpuint(f->vms_by_class[FP_CLASS_LATENCY], ==, 1);
    g_assert_cmpuint(f->vms_by_class[FP_CLASS_UNKNOWN], ==, 1);
    g_assert_cmpuint(f->vms_by_class[FP_CLASS_IDLE], ==, 0);
    g_assert_cmpfloat_with_epsilon(f->rx_bps, 12e6 + 100, 1e-3);
    g_assert_cmpfloat_with_epsilon(f->tx_bps, 70e6 + 100, 1e-3);
    /* The throughput VM whole, the latency VM's elephant share. */
    g_assert_cmpfloat_with_epsilon(f->elephant_rx_bps, 2e6 + 1e6, 1e-3);
    g_assert_cmpfloat_with_epsilon(f->elephant_tx_bps, 50e6 + 2e6, 1e-3);
    g_assert_cmpfloat_with_epsilon(f->elephant_bps, 52e6, 1e-3);
    g_assert_cmpfloat_with_epsilon(f->elephant_load, 52e6 / GBIT_BPS, 1e-9);
    g_assert_cmpfloat_with_epsilon(f->load, (70e6 + 100) / GBIT_BPS, 1e-9);
    g_assert_cmpfloat_with_epsilon(f->headroom_bps, GBIT_BPS - 70e6 - 100, 1e-3);
    g_assert_cmpfloat_with_epsilon(f->headroom, 1 - (70e6 + 100) / GBIT_BPS, 1e-9);

    /* Capacity unknown: no load, no headroom; known again from the tuner. */
    fp_host_summary_set_capacity(s, 0);
    f = feed(s, 8, 1, vms, G_N_ELEMENTS(vms));
    g_assert_true(isnan(f->elephant_load) && isnan(f->load) && isnan(f->headroom));
    g_assert_true(isnan(f->headroom_bps));
    g_assert_cmpfloat(f->capacity_bps, ==, 0);
    fp_host_summary_set_capacity(s, NAN);
    g_assert_true(isnan(feed(s, 9, 2, vms, G_N_ELEMENTS(vms))->load));
    fp_host_summary_set_capacity(s, 2 * GBIT_BPS);
    f = feed(s, 10, 3, vms, G_N_ELEMENTS(vms));
    g_assert_cmpfloat_with_epsilon(f->elephant_load, 52e6 / (2 * GBIT_BPS), 1e-9);
    /* Over capacity: no headroom, never negative. */
    fp_host_summary_set_capacity(s, 1e6);
    f = feed(s, 11, 4, vms, G_N_ELEMENTS(vms));
    g_assert_cmpfloat(f->headroom_bps, ==, 0);
    g_assert_cmpfloat(f->headroom, ==, 0);
}

static void test_policy_from_config(void)
{
    g_autoptr(FpConfig) c = fp_config_new_default();
    FpHostSummaryPolicy p;

    c->placement.egress_capacity_mbit = 10000;
    fp_host_summary_policy_from_config(&p, &c->placement);
    g_assert_cmpfloat(p.egress_capacity_bps, ==, 1.25e9);
    g_assert_cmpfloat(p.elephant_load, ==, 0.3);
    g_assert_cmpfloat(p.hysteresis, ==, 0.2);
    g_assert_cmpfloat(p.hold_s, ==, 60);
    g_assert_cmpfloat(p.mature_after_s, ==, 120);
}

/* A VM that moves traffic without a class keeps the summary immature; an
 * idle one does not; a mature summary stays mature. */
static void test_maturity(void)
{
    FpTestVm vms[] = {
        {UUID_A, "warming", NULL, FP_CLASS_UNKNOWN, 0, 1e6, 1e6, 0, 0},
        {UUID_B, "quiet-new", NULL, FP_CLASS_UNKNOWN, 0, 10, 10, 0, 0},
    };
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&default_policy);
    const FpHostFigures *f;

    feed(s, 1, 0, vms, 2);
    f = feed(s, 2, 200, vms, 2);
    g_assert_false(f->mature);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_NONE);
    g_assert_cmpstr(f->reason, ==, "not mature: 1 VM moving traffic without a class yet");
    vms[0].klass = FP_CLASS_LATENCY;
    f = feed(s, 3, 201, vms, 2);
    g_assert_true(f->mature);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
    /* A new VM warming up later changes nothing. */
    vms[0].klass = FP_CLASS_UNKNOWN;
    f = feed(s, 4, 202, vms, 2);
    g_assert_true(f->mature);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
}

/* A VM classed throughput, learned or pinned, is enough; at maturity the
 * first trait is set at once. */
static void test_throughput_vm(void)
{
    FpTestVm vms[] = {
        {UUID_A, "bulk", NULL, FP_CLASS_THROUGHPUT, 0, 1e3, 1e3, 0.9, 0.9},
    };
    g_autoptr(FpHostSummary) s = fp_host_summary_new(&default_policy);
    const FpHostFigures *f;

    feed(s, 1, 0, vms, 1);
    f = feed(s, 2, 120, vms, 1);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_ELEPHANTS);
    g_assert_cmpstr(f->reason, ==, "1 VM classed throughput");
    g_assert_cmpfloat(f->wanted_s, ==, 0);

    /* Pinned by the operator, capacity unknown: still elephants. */
    {
        FpHostSummaryPolicy p = default_policy;
        FpTestVm pinned = {UUID_A, "bulk", NULL, FP_CLASS_THROUGHPUT, FP_CLASS_THROUGHPUT, 0,
                           0,      0,      1};
        g_autoptr(FpHostSummary) s2 = NULL;

        p.egress_capacity_bps = 0;
        p.mature_after_s = 0;
        s2 = fp_host_summary_new(&p);
        f = feed(s2, 1, 0, &pinned, 1);
        g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_ELEPHANTS);
        pinned.klass = pinned.pinned = FP_CLASS_LATENCY;
        p.hold_s = 0;
        fp_host_summary_set_policy(s2, &p);
        f = feed(s2, 2, 1, &pinned, 1);
        g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
        g_assert_cmpstr(f->reason, ==, "no VM classed throughput, egress capacity unknown");
    }
}

/* The load is the busier direction's, not the sum of both. */
static void test_load_per_direction(void)
{
    const FpTestVm both_ways[] = {
        {UUID_A, "sync", NULL, FP_CLASS_MIXED, 0, 0.25 * GBIT_BPS, 0.25 * GBIT_BPS, 1, 0.9},
    };
    FpHostSummaryPolicy p = default_policy;
    g_autoptr(FpHostSummary) s = NULL;
    const FpHostFigures *f;

    p.mature_after_s = 0;
    s = fp_host_summary_new(&p);
    f = feed(s, 1, 0, both_ways, 1);
    g_assert_cmpfloat_with_epsilon(f->elephant_load, 0.25, 1e-9);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
    g_assert_cmpstr(f->reason, ==, "no VM classed throughput, elephant load 0.250 < 0.300");
}

/* Enter at elephant_load, leave below elephant_load × (1 − hysteresis),
 * and only after hold seconds in a row. */
static void test_hysteresis_and_hold(void)
{
    FpHostSummaryPolicy p = default_policy;
    g_autoptr(FpHostSummary) s = NULL;
    const FpHostFigures *f;
    FpTestVm vm;
    double t = 0;
    guint64 seq = 1;

    p.mature_after_s = 0;
    s = fp_host_summary_new(&p);
    vm = loaded_vm(0.29);
    f = feed(s, seq++, t, &vm, 1);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);

    /* Above the threshold: wanted at once, in effect after the hold. */
    vm = loaded_vm(0.31);
    f = feed(s, seq++, t += 1, &vm, 1);
    g_assert_cmpint(f->wanted, ==, FP_HOST_TRAIT_ELEPHANTS);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
    g_assert_cmpstr(f->reason, ==,
                    "elephant load 0.310 of the egress capacity >= 0.300; CUSTOM_FOOTPRINT_QUIET "
                    "stays until this holds for 60 s (0 s so far)");
    f = feed(s, seq++, t += 59, &vm, 1);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);
    g_assert_cmpfloat(f->wanted_s, ==, 59);
    f = feed(s, seq++, t += 1, &vm, 1);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_ELEPHANTS);
    g_assert_cmpfloat(f->wanted_s, ==, 0);

    /* Inside the band (0.24..0.3): elephants it stays, nothing pending. */
    vm = loaded_vm(0.25);
    for (int i = 0; i < 200; i++) {
        f = feed(s, seq++, t += 1, &vm, 1);
        g_assert_cmpint(f->wanted, ==, FP_HOST_TRAIT_ELEPHANTS);
        g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_ELEPHANTS);
    }
    g_assert_cmpstr(f->reason, ==, "elephant load 0.250 of the egress capacity >= 0.240");

    /* Below the band for 30 s, back in it: the hold starts over. */
    vm = loaded_vm(0.2);
    for (int i = 0; i < 30; i++)
        f = feed(s, seq++, t += 1, &vm, 1);
    g_assert_cmpint(f->wanted, ==, FP_HOST_TRAIT_QUIET);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_ELEPHANTS);
    g_assert_cmpfloat(f->wanted_s, ==, 29);
    vm = loaded_vm(0.25);
    f = feed(s, seq++, t += 1, &vm, 1);
    g_assert_cmpfloat(f->wanted_s, ==, 0);
    vm = loaded_vm(0.2);
    for (int i = 0; i < 60; i++) {
        f = feed(s, seq++, t += 1, &vm, 1);
        g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_ELEPHANTS);
    }
    f = feed(s, seq++, t += 1, &vm, 1);
    g_assert_cmpint(f->trait, ==, FP_HOST_TRAIT_QUIET);

    /* From quiet, the band does not count: 0.29 stays quiet. */
    vm = loaded_vm(0.29);
    f = feed(s, seq, t + 1, &vm, 1);
    g_assert_cmpint(f->wanted, ==, FP_HOST_TRAIT_QUIET);
}

/* A load that jumps across the threshold every sweep changes the trait
 * at most once in ten minutes. */
static void test_no_flapping(void)
{
    FpHostSummaryPolicy p = default_policy;
    g_autoptr(FpHostSummary) s = NULL;
    FpHostTrait last = FP_HOST_TRAIT_NONE;
    guint changes = 0;

    p.mature_after_s = 0;
    s = fp_host_summary_new(&p);
    for (guint i = 0; i < 600; i++) {
        FpTestVm vm = loaded_vm(i % 2 ? 0.35 : 0.15);
        const FpHostFigures *f = feed(s, i + 1, i, &vm, 1);

        if (last != FP_HOST_TRAIT_NONE && f->trait != last)
            changes++;
        last = f->trait;
    }
    g_assert_cmpuint(changes, ==, 0);
    g_assert_cmpint(last, ==, FP_HOST_TRAIT_QUIET);
}

/* What a snapshot may carry that no sum should take. */
static void test_hostile_numbers(void)
{
    const FpTestVm vms[] = {
        {UUID_A, "nan", NULL, FP_CLASS_MIXED, 0, NAN, INFINITY, NAN, NAN},
        {UUID_B, "neg", NULL, FP_CLASS_LATENCY, 0, -5, -1e9, 7, 0.5},
        {UUID_C, "bad-class", NULL, (FpClass)99, 0, 10, 10, 0, 0},
    };
    FpHostSummaryPolicy p = default_policy;
    g_autoptr(FpHostSummary) s = NULL;
    const FpHostFigures *f;

    p.mature_after_s = 0;
    s = fp_host_summary_new(&p);
    f = feed(s, 1, 0, vms, G_N_ELEMENTS(vms));
    g_assert_cmpfloat(f->rx_bps, ==, 10);
    g_assert_cmpfloat(f->tx_bps, ==, 10);
    g_assert_cmpfloat(f->elephant_bps, ==, 0);
    g_assert_cmpuint(f->vms_by_class[FP_CLASS_UNKNOWN], ==, 1);
    g_assert_true(isfinite(f->elephant_load));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/host-summary/empty-host", test_empty_host);
    g_test_add_func("/host-summary/figures", test_figures);
    g_test_add_func("/host-summary/policy-from-config", test_policy_from_config);
    g_test_add_func("/host-summary/maturity", test_maturity);
    g_test_add_func("/host-summary/throughput-vm", test_throughput_vm);
    g_test_add_func("/host-summary/load-per-direction", test_load_per_direction);
    g_test_add_func("/host-summary/hysteresis-and-hold", test_hysteresis_and_hold);
    g_test_add_func("/host-summary/no-flapping", test_no_flapping);
    g_test_add_func("/host-summary/hostile-numbers", test_hostile_numbers);
    return g_test_run();
}
