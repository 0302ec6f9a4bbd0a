/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-VM footprint model on synthetic traces, its state file and its
 * libvirt metadata element. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "domain-xml.h"
#include "footprint-model.h"
#include "fp-error.h"
#include "test-tmpdir.h"

#define SEC G_USEC_PER_SEC
#define UUID_A "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01"
#define UUID_B "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c02"
#define UUID_C "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c03"

/* ---- synthetic workloads (one sample = one second) ---------------------- */

/* A Spark worker: one elephant at ~100 MB/s, a few control connections. */
static FpFootprintSample bulk(void)
{
    return (FpFootprintSample){
        .interval_us = SEC,
        .rx_bytes = 2 * 1000 * 1000,
        .tx_bytes = 100 * 1000 * 1000,
        .active_flows = 3,
        .new_flows = 0,
        .elephant_flows = 1,
        .elephant_bytes = 101 * 1000 * 1000,
    };
}

/* A web tier: 200 short connections a second, ~2 MB/s, no elephant. */
static FpFootprintSample mice(void)
{
    return (FpFootprintSample){
        .interval_us = SEC,
        .rx_bytes = 300 * 1000,
        .tx_bytes = 2 * 1000 * 1000,
        .active_flows = 150,
        .new_flows = 200,
        .mice_started = 200,
        .mice_ended = 200,
    };
}

/* An idle VM: ARP, NTP, a monitoring ping. */
static FpFootprintSample idle(void)
{
    return (FpFootprintSample){
        .interval_us = SEC,
        .rx_bytes = 300,
        .tx_bytes = 200,
        .active_flows = 1,
    };
}

/* 10 MB/s with a given share in one elephant, 5 mice a second. */
static FpFootprintSample share(double s)
{
    guint64 total = 10 * 1000 * 1000;

    return (FpFootprintSample){
        .interval_us = SEC,
        .rx_bytes = total / 2,
        .tx_bytes = total / 2,
        .active_flows = 6,
        .new_flows = 5,
        .elephant_flows = 1,
        .elephant_bytes = (guint64)(s * (double)total),
        .mice_started = 5,
        .mice_ended = 5,
    };
}

static void feed(FpFootprint *fp, FpFootprintSample s, guint n)
{
    for (guint i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;

        g_assert_true(fp_footprint_feed(fp, &s, &error));
        g_assert_no_error(error);
    }
}

/* ---- classification ----------------------------------------------------- */

static void test_new_is_unknown(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);

    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_UNKNOWN);
    g_assert_cmpfloat(fp_footprint_get_confidence(fp), ==, 0.0);
}

static void test_steady_bulk_is_throughput(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    FpFootprintPolicy p;
    FpFootprintExplain e;

    fp_footprint_policy_init(&p);
    /* Nothing before the warm-up. */
    feed(fp, bulk(), (guint)p.warmup_s - 1);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_UNKNOWN);
    feed(fp, bulk(), 1);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpfloat(fp_footprint_get_confidence(fp), <, 0.5); /* young */
    feed(fp, bulk(), 280);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpfloat(fp_footprint_get_confidence(fp), >, 0.9);

    fp_footprint_explain(fp, &e);
    g_assert_cmpfloat_with_epsilon(e.rx_bps, 2e6, 1.0);
    g_assert_cmpfloat_with_epsilon(e.tx_bps, 100e6, 1.0);
    g_assert_cmpfloat_with_epsilon(e.elephant_share, 101.0 / 102.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(e.elephants, 1.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(e.peak_ratio, 1.0, 1e-9);
    g_assert_cmpint(e.candidate, ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpuint(e.samples, ==, 300);
}

static void test_steady_mice_is_latency(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    FpFootprintExplain e;
    FpFootprintTotals t;

    feed(fp, mice(), 300);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_LATENCY);
    g_assert_cmpfloat(fp_footprint_get_confidence(fp), >, 0.9);
    fp_footprint_explain(fp, &e);
    g_assert_cmpfloat_with_epsilon(e.mice_rate, 200, 1e-6);
    g_assert_cmpfloat_with_epsilon(e.new_flow_rate, 200, 1e-6);
    g_assert_cmpfloat(e.elephant_share, ==, 0.0);
    fp_footprint_get_totals(fp, &t);
    g_assert_cmpuint(t.rx_bytes, ==, 300 * 300 * 1000);
    g_assert_cmpuint(t.mice_started, ==, 300 * 200);
    g_assert_cmpuint(t.active_flows, ==, 150);
}

static void test_idle_is_idle(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);

    feed(fp, idle(), 120);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_IDLE);
    g_assert_cmpfloat(fp_footprint_get_confidence(fp), >, 0.8);
}

static void test_both_is_mixed(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    FpFootprintSample s = bulk();

    /* An elephant-dominated VM that also serves 200 requests a second. */
    s.new_flows = s.mice_started = s.mice_ended = 200;
    feed(fp, s, 120);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_MIXED);

    g_clear_pointer(&fp, fp_footprint_free);
    fp = fp_footprint_new(NULL);
    feed(fp, share(0.5), 120);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_MIXED);
}

/* Bulk, then mice: the class switches only after the latency candidate
 * has won switch_after evaluations in a row. */
static void test_changing_workload_switches_after_hysteresis(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    FpFootprintPolicy p;
    int first_candidate = -1, switched = -1;

    fp_footprint_policy_init(&p);
    feed(fp, bulk(), 300);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
    for (int i = 0; i < 1200 && switched < 0; i++) {
        FpFootprintExplain e;

        feed(fp, mice(), 1);
        fp_footprint_explain(fp, &e);
        if (first_candidate < 0 && e.pending != FP_CLASS_UNKNOWN)
            first_candidate = i;
        if (e.klass != FP_CLASS_THROUGHPUT)
            switched = i;
        else
            g_assert_cmpint(e.klass, ==, FP_CLASS_THROUGHPUT);
    }
    g_assert_cmpint(first_candidate, >=, 0);
    g_assert_cmpint(switched, >=, 0);
    /* Through mixed first (the share falls through the middle band)... */
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_MIXED);
    g_assert_cmpint(switched - first_candidate, ==, (int)p.switch_after - 1);
    /* ... then latency, and there it stays. */
    feed(fp, mice(), 600);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_LATENCY);
}

/* Counts class changes while a trace alternates between two shares. */
static guint flap(FpFootprint *fp, double a, double b, guint n)
{
    FpClass last = fp_footprint_get_class(fp);
    guint changes = 0;

    for (guint i = 0; i < n; i++) {
        feed(fp, share(i % 2 ? b : a), 1);
        if (fp_footprint_get_class(fp) != last)
            changes++;
        last = fp_footprint_get_class(fp);
    }
    return changes;
}

static void fast_policy(FpFootprintPolicy *p)
{
    /* A 1 s window so the averages follow the flapping input closely:
     * only hysteresis can hold the class. */
    fp_footprint_policy_init(p);
    p->window_s = 1;
    p->short_window_s = 0.5;
    p->warmup_s = 0;
}

static void test_flapping_near_threshold_holds(void)
{
    FpFootprintPolicy p, none;
    g_autoptr(FpFootprint) fp = NULL;
    g_autoptr(FpFootprint) bare = NULL;
    guint candidate_flips = 0;
    FpClass last_candidate = FP_CLASS_UNKNOWN;

    fast_policy(&p);
    none = p;
    none.hysteresis_share = 0;
    none.switch_after = 1;

    /* From mixed: the share flaps across throughput_share (0.7). */
    fp = fp_footprint_new(&p);
    feed(fp, share(0.5), 30);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_MIXED);
    for (guint i = 0; i < 200; i++) {
        FpFootprintExplain e;

        feed(fp, share(i % 2 ? 0.76 : 0.64), 1);
        fp_footprint_explain(fp, &e);
        if (e.candidate != last_candidate)
            candidate_flips++;
        last_candidate = e.candidate;
        g_assert_cmpint(e.klass, ==, FP_CLASS_MIXED);
    }
    /* The figures themselves did cross the threshold, again and again. */
    g_assert_cmpuint(candidate_flips, >, 100);

    /* From throughput: a dip within hysteresis_share does not leave it. */
    g_clear_pointer(&fp, fp_footprint_free);
    fp = fp_footprint_new(&p);
    feed(fp, share(0.8), 30);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpuint(flap(fp, 0.74, 0.67, 200), ==, 0);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
    /* Deep dips, but never switch_after in a row: still held. */
    g_assert_cmpuint(flap(fp, 0.9, 0.4, 200), ==, 0);

    /* Control: the same traces without hysteresis do flap. */
    bare = fp_footprint_new(&none);
    feed(bare, share(0.5), 30);
    g_assert_cmpuint(flap(bare, 0.64, 0.76, 200), >, 50);
}

static void test_pinned_wins(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    g_autofree char *text = NULL;
    FpFootprintExplain e;

    feed(fp, bulk(), 120);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
    fp_footprint_set_pinned(fp, FP_CLASS_LATENCY);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_LATENCY);
    g_assert_cmpint(fp_footprint_get_pinned(fp), ==, FP_CLASS_LATENCY);
    g_assert_cmpfloat(fp_footprint_get_confidence(fp), ==, 1.0);
    /* Learning goes on underneath. */
    feed(fp, bulk(), 120);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_LATENCY);
    g_assert_cmpint(fp_footprint_get_learned_class(fp), ==, FP_CLASS_THROUGHPUT);
    fp_footprint_explain(fp, &e);
    g_assert_cmpint(e.klass, ==, FP_CLASS_LATENCY);
    g_assert_cmpint(e.learned, ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpfloat(e.learned_confidence, >, 0.5);
    text = fp_footprint_explain_to_text(&e);
    g_assert_nonnull(strstr(text, "pinned by the operator"));
    fp_footprint_set_pinned(fp, FP_CLASS_UNKNOWN);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
}

static void test_explain(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    g_autoptr(GVariant) v = NULL;
    g_autofree char *text = NULL;
    const char *s = NULL;
    double d = 0;
    FpFootprintExplain e;

    feed(fp, bulk(), 120);
    fp_footprint_explain(fp, &e);
    /* In throughput, leaving needs the share below 0.70 - 0.05. */
    g_assert_cmpfloat_with_epsilon(e.throughput_share, 0.65, 1e-12);
    g_assert_cmpfloat_with_epsilon(e.policy.throughput_share, 0.7, 1e-12);
    g_assert_cmpfloat_with_epsilon(e.confidence, e.maturity * e.separation, 1e-12);
    text = fp_footprint_explain_to_text(&e);
    g_assert_nonnull(strstr(text, "class        throughput (learned)"));
    g_assert_nonnull(strstr(text, "elephant share 0.990 >= 0.650"));
    g_assert_nonnull(strstr(text, "[0.700]"));

    v = g_variant_ref_sink(fp_footprint_explain_to_variant(&e));
    g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_VARDICT));
    g_assert_true(g_variant_lookup(v, "class", "&s", &s));
    g_assert_cmpstr(s, ==, "throughput");
    g_assert_true(g_variant_lookup(v, "pinned", "&s", &s));
    g_assert_cmpstr(s, ==, "");
    g_assert_true(g_variant_lookup(v, "nominal_throughput_share", "d", &d));
    g_assert_cmpfloat(d, ==, 0.7);
    g_assert_true(g_variant_lookup(v, "reason", "&s", &s));
    g_assert_nonnull(strstr(s, "elephant share"));
}

static void test_policy_check(void)
{
    FpFootprintPolicy p;
    g_autoptr(GError) error = NULL;

    fp_footprint_policy_init(&p);
    g_assert_true(fp_footprint_policy_check(&p, &error));
    g_assert_no_error(error);

    p.throughput_share = 0.32; /* not above latency_share + hysteresis_share */
    g_assert_false(fp_footprint_policy_check(&p, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "throughput_share"));
    g_clear_error(&error);

    fp_footprint_policy_init(&p);
    p.window_s = NAN;
    g_assert_false(fp_footprint_policy_check(&p, &error));
    g_assert_nonnull(strstr(error->message, "window"));
    g_clear_error(&error);

    fp_footprint_policy_init(&p);
    p.switch_after = 0;
    g_assert_false(fp_footprint_policy_check(&p, &error));
    g_clear_error(&error);

    fp_footprint_policy_init(&p);
    p.short_window_s = 120; /* longer than window */
    g_assert_false(fp_footprint_policy_check(&p, &error));
}

static void test_bad_sample(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    g_autoptr(GError) error = NULL;
    FpFootprintSample s = bulk();
    FpFootprintState before, after;

    feed(fp, mice(), 10);
    fp_footprint_get_state(fp, &before);
    s.interval_us = 0;
    g_assert_false(fp_footprint_feed(fp, &s, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    fp_footprint_get_state(fp, &after);
    g_assert_cmpmem(&before, sizeof(before), &after, sizeof(after));

    /* Elephant bytes beyond the total count as the total, no more. */
    s = share(0);
    s.elephant_bytes = G_MAXUINT64;
    g_clear_pointer(&fp, fp_footprint_free);
    fp = fp_footprint_new(NULL);
    feed(fp, s, 60);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_THROUGHPUT);
}

static void test_metadata_due(void)
{
    FpFootprintPolicy p;
    FpFootprintState w = {.learned = FP_CLASS_LATENCY, .confidence = 0.5}, n = w;

    fp_footprint_policy_init(&p);
    g_assert_true(fp_footprint_metadata_due(NULL, &n, 0, &p));
    g_assert_false(fp_footprint_metadata_due(&w, &n, 1e6, &p));
    n.confidence = 0.65;
    g_assert_false(fp_footprint_metadata_due(&w, &n, 10, &p)); /* too soon */
    g_assert_true(fp_footprint_metadata_due(&w, &n, 300, &p));
    n.confidence = 0.55;
    g_assert_false(fp_footprint_metadata_due(&w, &n, 1e6, &p)); /* too small */
    n.learned = FP_CLASS_MIXED;
    g_assert_true(fp_footprint_metadata_due(&w, &n, 0, &p)); /* class changed */
    n = w;
    n.pinned = FP_CLASS_IDLE;
    g_assert_true(fp_footprint_metadata_due(&w, &n, 0, &p));
}

/* ---- state file --------------------------------------------------------- */

static FpFootprintSet *make_set(void)
{
    FpFootprintSet *set = fp_footprint_set_new(NULL);

    feed(fp_footprint_set_ensure(set, UUID_A, NULL), bulk(), 200);
    feed(fp_footprint_set_ensure(set, UUID_B, NULL), mice(), 200);
    feed(fp_footprint_set_ensure(set, UUID_C, NULL), idle(), 3); /* still warming up */
    fp_footprint_set_pinned(fp_footprint_set_lookup(set, UUID_B), FP_CLASS_MIXED);
    /* A pending switch survives a restart too. */
    feed(fp_footprint_set_lookup(set, UUID_A), mice(), 60);
    return set;
}

static void test_set_basics(void)
{
    g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
    g_autoptr(GPtrArray) uuids = NULL;
    gboolean created = FALSE;

    g_assert_nonnull(fp_footprint_set_ensure(set, UUID_B, &created));
    g_assert_true(created);
    g_assert_nonnull(fp_footprint_set_ensure(set, UUID_A, &created));
    g_assert_nonnull(fp_footprint_set_ensure(set, UUID_A, &created));
    g_assert_false(created);
    /* Only the canonical form is a key. */
    g_assert_null(fp_footprint_set_ensure(set, "0B7A9A3E-46C4-4E0C-8D5E-6A3F2A1B0C01", NULL));
    g_assert_null(fp_footprint_set_ensure(set, "../../etc/passwd", NULL));
    g_assert_null(fp_footprint_set_ensure(set, NULL, NULL));
    uuids = fp_footprint_set_list_uuids(set);
    g_assert_cmpuint(uuids->len, ==, 2);
    g_assert_cmpstr(g_ptr_array_index(uuids, 0), ==, UUID_A);
    g_assert_true(fp_footprint_set_remove(set, UUID_A));
    g_assert_false(fp_footprint_set_remove(set, UUID_A));
    g_assert_cmpuint(fp_footprint_set_size(set), ==, 1);
}

static void test_persistence_round_trip(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    g_autoptr(FpFootprintSet) set = make_set();
    g_autoptr(FpFootprintSet) back = fp_footprint_set_new(NULL);
    g_autoptr(GError) error = NULL;
    const char *uuids[] = {UUID_A, UUID_B, UUID_C};
    GStatBuf st;

    g_assert_true(fp_footprint_set_save(set, path, &error));
    g_assert_no_error(error);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_mode & 0777, ==, 0644);
    g_assert_true(fp_footprint_set_load(back, path, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(fp_footprint_set_size(back), ==, 3);
    for (guint i = 0; i < G_N_ELEMENTS(uuids); i++) {
        FpFootprint *a = fp_footprint_set_lookup(set, uuids[i]);
        FpFootprint *b = fp_footprint_set_lookup(back, uuids[i]);
        FpFootprintState sa, sb;

        g_assert_nonnull(b);
        fp_footprint_get_state(a, &sa);
        fp_footprint_get_state(b, &sb);
        /* Bit-exact: GKeyFile writes doubles in round-trip form. */
        g_assert_cmpmem(&sa, sizeof(sa), &sb, sizeof(sb));
        /* And they go on learning identically. */
        feed(a, mice(), 30);
        feed(b, mice(), 30);
        fp_footprint_get_state(a, &sa);
        fp_footprint_get_state(b, &sb);
        g_assert_cmpmem(&sa, sizeof(sa), &sb, sizeof(sb));
    }
    g_assert_cmpint(fp_footprint_get_class(fp_footprint_set_lookup(back, UUID_B)), ==,
                    FP_CLASS_MIXED);
    /* No temporary file left behind. */
    {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);

        g_assert_cmpstr(g_dir_read_name(d), ==, "footprints");
        g_assert_null(g_dir_read_name(d));
    }
    fp_test_rm_rf(dir);
}

static void test_corrupt_state_files(void)
{
    /* Unusable as a whole: nothing is loaded. */
    static const char *const bad[] = {
        "",
        "\x7f"
        "ELF\x02\x01\x01\x00\x00\x00",
        "not a key file at all\n",
        "[footprintd]\n",
        "[footprintd]\nformat=banana\n",
        "[footprintd]\nformat=2\n",
        "[footprintd]\nformat=0\n",
        "[vm " UUID_A "]\nlearned=idle\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nlearned=idle\n[vm " UUID_B "]\nrx_bps=\xff\xfe\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "\n",
    };
    /* One bad entry: that entry is skipped (noted), the file loads. */
    static const char *const bad_entry[] = {
        "[footprintd]\nformat=1\n[vm not-a-uuid]\nlearned=idle\n",
        "[footprintd]\nformat=1\n[vm 0B7A9A3E-46C4-4E0C-8D5E-6A3F2A1B0C01]\n",
        "[footprintd]\nformat=1\n[something else]\nx=1\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nlearned=bogus\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\npinned=unknown-ish\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nrx_bps=nan\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nrx_bps=inf\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nrx_bps=-1\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nrx_bps=1e999\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nrx_bps=12abc\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nrx_bps=\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\npending_count=-3\n",
        "[footprintd]\nformat=1\n[vm " UUID_A "]\nlast_seen=yesterday\n",
    };
    g_autofree char *dir = fp_test_tmpdir("test-footprint");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
    g_autofree char *big = g_build_filename(dir, "big", NULL);
    g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
    FpFootprintState before, after;

    feed(fp_footprint_set_ensure(set, UUID_A, NULL), bulk(), 100);
    fp_footprint_get_state(fp_footprint_set_lookup(set, UUID_A), &before);

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);

        g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
        g_assert_false(fp_footprint_set_load(set, path, skipped, &error));
        g_assert_cmpuint(skipped->len, ==, 0);
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_test_message("corrupt #%u: %s", i, error->message);
        g_assert_nonnull(strstr(error->message, "footprint state '"));
        g_assert_null(strchr(error->message, '\n'));
        /* Nothing of a failed load is applied. */
        g_assert_cmpuint(fp_footprint_set_size(set), ==, 1);
        fp_footprint_get_state(fp_footprint_set_lookup(set, UUID_A), &after);
        g_assert_cmpmem(&before, sizeof(before), &after, sizeof(after));
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad_entry); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
        const char *note;

        g_assert_true(g_file_set_contents(path, bad_entry[i], -1, NULL));
        g_assert_true(fp_footprint_set_load(set, path, skipped, &error));
        g_assert_no_error(error);
        g_assert_cmpuint(skipped->len, ==, 1);
        note = g_ptr_array_index(skipped, 0);
        g_test_message("bad entry #%u: %s", i, note);
        g_assert_true(g_str_has_prefix(note, "footprint state '"));
        g_assert_null(strchr(note, '\n'));
        g_assert_true(g_utf8_validate(note, -1, NULL));
        g_assert_true(strstr(note, "VM " UUID_A ": ") != NULL ||
                      strstr(note, "unexpected group [") != NULL);
        /* The skipped entry changed nothing. */
        g_assert_cmpuint(fp_footprint_set_size(set), ==, 1);
        fp_footprint_get_state(fp_footprint_set_lookup(set, UUID_A), &after);
        g_assert_cmpmem(&before, sizeof(before), &after, sizeof(after));
    }

    /* A half-written, NUL-ridden file. */
    {
        g_autoptr(GError) error = NULL;
        static const char nul[] = "[footprintd]\nformat=1\n\0\0\0";

        g_assert_true(g_file_set_contents(path, nul, sizeof(nul), NULL));
        g_assert_false(fp_footprint_set_load(set, path, NULL, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    }
    /* Missing: the first start. */
    {
        g_autoptr(GError) error = NULL;
        g_autofree char *missing = g_build_filename(dir, "missing", NULL);

        g_assert_false(fp_footprint_set_load(set, missing, NULL, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    }
    /* A FIFO must not hang us; a directory or a huge file is refused. */
    {
        g_autoptr(GError) error = NULL;

        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
        g_assert_false(fp_footprint_set_load(set, fifo, NULL, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_IO);
        g_assert_nonnull(strstr(error->message, "not a regular file"));
        g_clear_error(&error);
        g_assert_false(fp_footprint_set_load(set, dir, NULL, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_IO);
        g_clear_error(&error);
        int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(ftruncate(fd, FP_FOOTPRINT_STATE_MAX_SIZE + 1), ==, 0);
        close(fd);
        g_assert_false(fp_footprint_set_load(set, big, NULL, &error));
        g_assert_nonnull(strstr(error->message, "too large"));
    }
    /* Saving into a missing directory is an error, not a crash. */
    {
        g_autoptr(GError) error = NULL;
        g_autofree char *nodir = g_build_filename(dir, "nodir", "footprints", NULL);

        g_assert_false(fp_footprint_set_save(set, nodir, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_IO);
    }
    g_assert_cmpuint(fp_footprint_set_size(set), ==, 1);
    fp_test_rm_rf(dir);
}

/* ---- libvirt metadata --------------------------------------------------- */

static void assert_close(double a, double b)
{
    g_assert_cmpfloat(fabs(a - b), <=, 1e-5 * MAX(fabs(a), fabs(b)) + 1e-12);
}

static void test_xml_round_trip(void)
{
    g_autoptr(FpFootprint) fp = fp_footprint_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *xml = NULL;
    FpFootprintState st, back;
    gint64 updated = 0;

    feed(fp, bulk(), 200);
    fp_footprint_set_pinned(fp, FP_CLASS_LATENCY);
    fp_footprint_get_state(fp, &st);
    xml = fp_footprint_state_to_xml(&st, 1700000000);
    g_assert_nonnull(xml);
    g_test_message("%s", xml);
    g_assert_true(g_str_has_prefix(
        xml, "<footprint xmlns=\"http://footprintd.org/xmlns/footprint/1.0\" version=\"1\" "
             "class=\"throughput\" pinned=\"latency\" confidence=\"0."));
    g_assert_nonnull(strstr(xml, " updated=\"2023-11-14T22:13:20Z\""));
    g_assert_null(strchr(xml, '\n'));

    g_assert_true(fp_footprint_state_from_xml(xml, strlen(xml), "vm1", &back, &updated, &error));
    g_assert_no_error(error);
    g_assert_cmpint(updated, ==, 1700000000);
    g_assert_cmpint(back.learned, ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpint(back.pinned, ==, FP_CLASS_LATENCY);
    assert_close(back.confidence, st.confidence);
    assert_close(back.rx_bps, st.rx_bps);
    assert_close(back.tx_bps, st.tx_bps);
    assert_close(back.elephant_bps, st.elephant_bps);
    assert_close(back.elephants, st.elephants);
    assert_close(back.mice_rate, st.mice_rate);
    assert_close(back.new_flow_rate, st.new_flow_rate);
    assert_close(back.peak_bps, st.peak_bps);
    assert_close(back.observed_s, st.observed_s);

    /* As a prior: a fresh model restored from it keeps the class. */
    g_clear_pointer(&fp, fp_footprint_free);
    fp = fp_footprint_new(NULL);
    g_assert_true(fp_footprint_set_state(fp, &back, &error));
    g_assert_cmpint(fp_footprint_get_learned_class(fp), ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpint(fp_footprint_get_class(fp), ==, FP_CLASS_LATENCY);
    feed(fp, bulk(), 1);
    g_assert_cmpint(fp_footprint_get_learned_class(fp), ==, FP_CLASS_THROUGHPUT);
}

static void test_xml_accepted_forms(void)
{
    static const char *const good[] = {
        /* What an operator types to pin a class. */
        "<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0' pinned='throughput'/>",
        /* What libvirt gives back: its key as the prefix. */
        "<footprint:footprint xmlns:footprint=\"http://footprintd.org/xmlns/footprint/1.0\" "
        "version=\"1\" class=\"latency\" confidence=\"0.5\" rx_bps=\"1e6\"/>",
        /* Forward compatibility: unknown attributes and children are ignored. */
        "<?xml version='1.0'?>\n<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0' "
        "class='idle' future='x'><note>hi</note></footprint>\n",
        /* An XInclude is not processed, just an unknown child. */
        "<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0' class='idle'>"
        "<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' href='/etc/shadow'/>"
        "</footprint>",
    };

    for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autoptr(GError) error = NULL;
        FpFootprintState st;

        g_assert_true(
            fp_footprint_state_from_xml(good[i], strlen(good[i]), "vm", &st, NULL, &error));
        g_assert_no_error(error);
        if (i == 0) {
            g_assert_cmpint(st.pinned, ==, FP_CLASS_THROUGHPUT);
            g_assert_cmpint(st.learned, ==, FP_CLASS_UNKNOWN);
        }
        if (i == 1) {
            g_assert_cmpint(st.learned, ==, FP_CLASS_LATENCY);
            g_assert_cmpfloat(st.rx_bps, ==, 1e6);
        }
    }
}

/* The path the daemon takes: domain XML as libvirt dumps it (our element
 * with libvirt's prefix), domain-xml.c's serialization, then this parser. */
static void test_xml_from_domain(void)
{
    static const char domain[] =
        "<domain type='kvm'><name>web1</name>"
        "<uuid>0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01</uuid><metadata>"
        "<footprint:footprint xmlns:footprint='http://footprintd.org/xmlns/footprint/1.0' "
        "version='1' class='throughput' pinned='latency' confidence='0.9' rx_bps='10'/>"
        "</metadata></domain>";
    g_autoptr(GError) error = NULL;
    g_autoptr(FpVm) vm = NULL;
    FpFootprintState st;

    g_assert_cmpstr(FP_FOOTPRINT_XMLNS, ==, FP_FOOTPRINT_MODEL_XMLNS);
    g_assert_true(fp_domain_xml_parse(domain, sizeof(domain) - 1, "web1", &vm, &error));
    g_assert_no_error(error);
    g_assert_nonnull(vm->footprint_xml);
    g_assert_true(fp_footprint_state_from_xml(vm->footprint_xml, strlen(vm->footprint_xml),
                                              vm->name, &st, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpint(st.learned, ==, FP_CLASS_THROUGHPUT);
    g_assert_cmpint(st.pinned, ==, FP_CLASS_LATENCY);
    g_assert_cmpfloat(st.rx_bps, ==, 10);
}

/* The operator's pin element: found in the domain, read, and refused with
 * a one-line message for anything but a real class. */
static void test_pin_element(void)
{
    static const char domain[] =
        "<domain type='kvm'><name>web1</name>"
        "<uuid>0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01</uuid><metadata>"
        "<footprint:footprint xmlns:footprint='http://footprintd.org/xmlns/footprint/1.0' "
        "version='1' class='throughput' pinned='latency'/>"
        "<pin:pin xmlns:pin='http://footprintd.org/xmlns/footprint-pin/1.0' class='mixed'/>"
        "</metadata></domain>";
    static const char *const bad[] = {
        "<pin xmlns='http://footprintd.org/xmlns/footprint-pin/1.0'/>",
        "<pin xmlns='http://footprintd.org/xmlns/footprint-pin/1.0' class='unknown'/>",
        "<pin xmlns='http://footprintd.org/xmlns/footprint-pin/1.0' class='fast\nlane'/>",
        "<pin xmlns='urn:not-ours' class='idle'/>",
        "<footprint xmlns='http://footprintd.org/xmlns/footprint-pin/1.0' class='idle'/>",
        "<pin xmlns='http://footprintd.org/xmlns/footprint-pin/1.0' class='idle'",
        "",
    };
    g_autoptr(GError) error = NULL;
    g_autoptr(FpVm) vm = NULL;
    FpClass pin = FP_CLASS_UNKNOWN;

    g_assert_true(fp_domain_xml_parse(domain, sizeof(domain) - 1, "web1", &vm, &error));
    g_assert_nonnull(vm->pin_xml);
    g_assert_true(
        fp_footprint_pin_from_xml(vm->pin_xml, strlen(vm->pin_xml), "web1", &pin, &error));
    g_assert_no_error(error);
    g_assert_cmpint(pin, ==, FP_CLASS_MIXED);
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(fp_footprint_pin_from_xml(bad[i], strlen(bad[i]), "x", &pin, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_assert_null(strchr(error->message, '\n'));
        g_test_message("%s", error->message);
        g_clear_error(&error);
    }
}

static void test_xml_hostile(void)
{
#define NS "xmlns='http://footprintd.org/xmlns/footprint/1.0'"
    static const char *const bad[] = {
        /* entities and DTDs */
        "<?xml version='1.0'?><!DOCTYPE footprint [<!ENTITY a 'aaaaaaaaaa'>"
        "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
        "<footprint " NS " class='&c;'/>",
        "<!DOCTYPE footprint SYSTEM 'http://evil.example/x.dtd'><footprint " NS "/>",
        "<!DOCTYPE footprint [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
        "<footprint " NS " class='&x;'/>",
        "<footprint " NS " class='&undefined;'/>",
        /* not ours */
        "<footprint class='idle'/>",
        "<footprint xmlns='http://footprintd.org/xmlns/footprint/2.0' class='idle'/>",
        "<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'/>",
        "<domain " NS "/>",
        /* bad values */
        "<footprint " NS " version='2'/>",
        "<footprint " NS " version='one'/>",
        "<footprint " NS " class='bulk'/>",
        "<footprint " NS " class='Latency'/>",
        "<footprint " NS " class='latency '/>",
        "<footprint " NS " pinned='unknown'/>",
        "<footprint " NS " pinned=''/>",
        "<footprint " NS " class='late&amp;ncy'/>",
        "<footprint " NS " pinned='latency&#10;'/>",
        "<footprint " NS " confidence='1.5'/>",
        "<footprint " NS " confidence='nan'/>",
        "<footprint " NS " rx_bps='inf'/>",
        "<footprint " NS " rx_bps='1e400'/>",
        "<footprint " NS " rx_bps='-1'/>",
        "<footprint " NS " rx_bps=' 1'/>",
        "<footprint " NS " rx_bps=''/>",
        "<footprint " NS " rx_bps='0x10p3z'/>",
        "<footprint " NS " updated='yesterday'/>",
        /* broken or odd encodings */
        "<footprint " NS " class='idle'>",
        "<footprint " NS " class='idle' class='latency'/>",
        "<footprint " NS " class='\xff\xfe'/>",
        "\xfe\xff\x00<\x00\x66",
        "<?xml version='1.0' encoding='EBCDIC'?><footprint " NS "/>x",
        "footprint",
        "   ",
    };
#undef NS

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        FpFootprintState st;

        g_assert_false(
            fp_footprint_state_from_xml(bad[i], strlen(bad[i]), "dom\n1", &st, NULL, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        g_test_message("hostile #%u: %s", i, error->message);
        g_assert_true(g_utf8_validate(error->message, -1, NULL));
        g_assert_null(strchr(error->message, '\n'));
        g_assert_true(g_str_has_prefix(error->message, "footprint metadata of 'dom\\x0a1': "));
    }
}

static void test_xml_hostile_sizes(void)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GString) s =
        g_string_new("<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0'");
    static const char nul[] = "<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0'\0/>";
    FpFootprintState st;

    /* Too many attributes. */
    for (guint i = 0; i < 300; i++)
        g_string_append_printf(s, " a%u='1'", i);
    g_string_append(s, "/>");
    g_assert_false(fp_footprint_state_from_xml(s->str, s->len, "vm", &st, NULL, &error));
    g_assert_nonnull(strstr(error->message, "too many attributes"));
    g_clear_error(&error);

    /* Too many elements. */
    g_string_assign(s, "<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0'>");
    for (guint i = 0; i < 100; i++)
        g_string_append(s, "<x/>");
    g_string_append(s, "</footprint>");
    g_assert_false(fp_footprint_state_from_xml(s->str, s->len, "vm", &st, NULL, &error));
    g_assert_nonnull(strstr(error->message, "too many elements"));
    g_clear_error(&error);

    /* Deep nesting, within the element limit: fine; beyond: refused. */
    g_string_assign(s, "<footprint xmlns='http://footprintd.org/xmlns/footprint/1.0'>");
    for (guint i = 0; i < 5000; i++)
        g_string_append(s, "<x>");
    g_assert_false(fp_footprint_state_from_xml(s->str, s->len, "vm", &st, NULL, &error));
    g_clear_error(&error);

    /* Too large, empty, NUL inside. */
    g_string_set_size(s, FP_FOOTPRINT_XML_MAX_SIZE + 1);
    memset(s->str, ' ', s->len);
    s->str[0] = '<';
    g_assert_false(fp_footprint_state_from_xml(s->str, s->len, "vm", &st, NULL, &error));
    g_assert_nonnull(strstr(error->message, "out of range"));
    g_clear_error(&error);
    g_assert_false(fp_footprint_state_from_xml("", 0, "vm", &st, NULL, &error));
    g_clear_error(&error);
    g_assert_false(fp_footprint_state_from_xml(nul, sizeof(nul) - 1, "vm", &st, NULL, &error));
    g_assert_nonnull(strstr(error->message, "NUL"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/footprint/new-is-unknown", test_new_is_unknown);
    g_test_add_func("/footprint/steady-bulk-is-throughput", test_steady_bulk_is_throughput);
    g_test_add_func("/footprint/steady-mice-is-latency", test_steady_mice_is_latency);
    g_test_add_func("/footprint/idle-is-idle", test_idle_is_idle);
    g_test_add_func("/footprint/both-is-mixed", test_both_is_mixed);
    g_test_add_func("/footprint/changing-workload-switches-after-hysteresis",
                    test_changing_workload_switches_after_hysteresis);
    g_test_add_func("/footprint/flapping-near-threshold-holds", test_flapping_near_threshold_holds);
    g_test_add_func("/footprint/pinned-wins", test_pinned_wins);
    g_test_add_func("/footprint/explain", test_explain);
    g_test_add_func("/footprint/policy-check", test_policy_check);
    g_test_add_func("/footprint/bad-sample", test_bad_sample);
    g_test_add_func("/footprint/metadata-due", test_metadata_due);
    g_test_add_func("/footprint/set-basics", test_set_basics);
    g_test_add_func("/footprint/persistence-round-trip", test_persistence_round_trip);
    g_test_add_func("/footprint/corrupt-state-files", test_corrupt_state_files);
    g_test_add_func("/footprint/xml-round-trip", test_xml_round_trip);
    g_test_add_func("/footprint/xml-accepted-forms", test_xml_accepted_forms);
    g_test_add_func("/footprint/xml-from-domain", test_xml_from_domain);
    g_test_add_func("/footprint/xml-hostile", test_xml_hostile);
    g_test_add_func("/footprint/pin-element", test_pin_element);
    g_test_add_func("/footprint/xml-hostile-sizes", test_xml_hostile_sizes);
    return g_test_run();
}
