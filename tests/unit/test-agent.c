/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agent: the wiring of a sweep.  A sweep whose sensing failed (a conntrack
 * dump or query that returned an error) must teach the learner nothing:
 * counters that were not read did not move, and learning from them would
 * push every VM towards idle.
 *
 * The failure is injected (the sensing error is made up): a conntrack dump
 * cannot be made to fail on demand on a real kernel here.  Everything else
 * is the agent's own parts (flow table, inventory index, learner,
 * consumers) as fp_agent_init() wires them, without sensing, which needs
 * root and a kernel program.
 */
#include "config.h"

#include <string.h>

#include "agent.h"
#include "domain-xml.h"
#include "fp-error.h"
#include "test-tmpdir.h"

#define UUID_A "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01"

static void agent_without_sense(FpAgent *a, const FpConfig *config)
{
    FpHostSummaryPolicy policy;

    memset(a, 0, sizeof(*a));
    a->config = config;
    a->elephant_log = fp_log_limit_new(10);
    a->table = fp_flow_table_new(config->elephant_bytes,
                                 (gint64)config->elephant_window_s * G_USEC_PER_SEC);
    a->inventory = fp_inventory_new("test:///default"); /* never started */
    a->learner =
        fp_footprints_new(&config->footprint, config->state_dir, config->forget_after_days);
    a->libvirt = fp_libvirt_publisher_new(&config->footprint, a->inventory);
    a->prometheus = fp_prometheus_new(NULL, config->metrics_interval_s);
    fp_host_summary_policy_from_config(&policy, &config->placement);
    a->summary = fp_host_summary_new(&policy);
}

static double observed_s(FpAgent *a)
{
    FpFootprintExplain explain;
    FpFootprintTotals totals;

    g_assert_true(fp_footprints_lookup_saved(a->learner, UUID_A, &explain, &totals));
    return explain.observed_s;
}

/* A sensing pass that worked: the table swept, empty (a quiet VM). */
static void sensed(FpAgent *a)
{
    g_usleep(20000); /* a sweep interval the learner can see */
    fp_flow_table_begin_sweep(a->table, g_get_monotonic_time());
    fp_flow_table_end_sweep(a->table);
    fp_agent_learn(a, NULL);
}

static void test_failed_sweep_not_learnt(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-agent");
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(GError) failure =
        g_error_new_literal(FP_ERROR, FP_ERROR_IO, "conntrack dump failed: Out of memory");
    g_autoptr(GError) error = NULL;
    const char *xml = "<domain type='kvm'><name>web-1</name><uuid>" UUID_A "</uuid><devices>"
                      "<interface type='ethernet'><target dev='fp17tap'/></interface>"
                      "</devices></domain>";
    FpVm *vm = NULL;
    FpSnapshot *last;
    guint64 seq;
    double before;
    FpAgent a;

    g_free(config->state_dir);
    config->state_dir = g_strdup(dir);
    g_clear_pointer(&config->metrics_textfile, g_free);
    agent_without_sense(&a, config);
    g_assert_true(fp_domain_xml_parse(xml, strlen(xml), "fixture", &vm, &error));
    fp_vm_index_put(fp_inventory_get_index(a.inventory), vm);

    /* Two good sweeps: the VM is learnt, its observed time grows. */
    sensed(&a);
    g_assert_nonnull(a.last);
    sensed(&a);
    before = observed_s(&a);
    g_assert_cmpfloat(before, >, 0);
    last = a.last;
    seq = last->seq;

    /* A failed one: said, nothing learnt, nothing published. */
    g_test_expect_message("footprintd", G_LOG_LEVEL_WARNING,
                          "conntrack dump failed: Out of memory; this sweep is not learnt from*");
    g_usleep(20000);
    fp_agent_learn(&a, failure);
    g_test_assert_expected_messages();
    /* Again: not said again (the next message expected is the recovery). */
    fp_agent_learn(&a, failure);
    g_assert_true(a.last == last);
    g_assert_cmpuint(a.last->seq, ==, seq);
    g_assert_cmpfloat(observed_s(&a), ==, before);

    /* The next good sweep learns again, over the whole time since the
     * last one learnt from. */
    g_test_expect_message("footprintd", G_LOG_LEVEL_MESSAGE,
                          "sensing works again (it failed with: conntrack dump failed: Out of "
                          "memory)");
    sensed(&a);
    g_test_assert_expected_messages();
    g_assert_cmpuint(a.last->seq, ==, seq + 1);
    g_assert_cmpfloat(observed_s(&a), >=, before + 0.035);

    fp_agent_clear(&a);
    fp_test_rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/agent/failed-sweep-not-learnt", test_failed_sweep_not_learnt);
    return g_test_run();
}
