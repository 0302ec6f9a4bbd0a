/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file: whatever the writer writes, the loader reads (a property
 * test over random models, and the largest file the writer may write); a
 * bad entry loses that VM only; a file that cannot be used at all is moved
 * aside, never written over; VMs not seen for a while are forgotten.
 *
 * Fixtures: $FP_TEST_DATA_DIR/footprint-state/NAME.state is loaded into an
 * empty set and checked against NAME.expect, one line each:
 *   vm UUID KEY=VALUE...   a VM loaded, with these fields (learned, pinned,
 *                          pending: class names; pending_count, last_seen:
 *                          integers; any figure of the file: a number)
 *   skipped TEXT           a note on a skipped entry contains TEXT, in order
 *   error TEXT             the file is refused as a whole, the message
 *                          contains TEXT
 * Every VM loaded must have its line.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "footprint-model.h"
#include "footprints.h"
#include "fp-config.h"
#include "fp-error.h"
#include "test-tmpdir.h"
#include "vm-index.h"

#define UUID_A "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c01"
#define UUID_B "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c02"
#define UUID_C "0b7a9a3e-46c4-4e0c-8d5e-6a3f2a1b0c03"
#define DAY 86400

static char *data_dir(void)
{
    const char *env = g_getenv("FP_TEST_DATA_DIR");

    return g_build_filename(env != NULL && *env != '\0' ? env : FP_TEST_DATA_DIR, "footprint-state",
                            NULL);
}

/* ---- fixtures ----------------------------------------------------------- */

static double state_field(const FpFootprintState *st, const FpFootprint *fp, const char *key,
                          gboolean *known)
{
    static const struct {
        const char *key;
        gsize offset;
    } doubles[] = {
        {"confidence", G_STRUCT_OFFSET(FpFootprintState, confidence)},
        {"rx_bps", G_STRUCT_OFFSET(FpFootprintState, rx_bps)},
        {"tx_bps", G_STRUCT_OFFSET(FpFootprintState, tx_bps)},
        {"elephant_bps", G_STRUCT_OFFSET(FpFootprintState, elephant_bps)},
        {"observed_s", G_STRUCT_OFFSET(FpFootprintState, observed_s)},
        {"peak_bps", G_STRUCT_OFFSET(FpFootprintState, peak_bps)},
    };

    *known = TRUE;
    if (g_str_equal(key, "pending_count"))
        return st->pending_count;
    if (g_str_equal(key, "last_seen"))
        return (double)fp_footprint_get_last_seen(fp);
    for (guint i = 0; i < G_N_ELEMENTS(doubles); i++)
        if (g_str_equal(key, doubles[i].key))
            return G_STRUCT_MEMBER(double, st, doubles[i].offset);
    *known = FALSE;
    return 0;
}

static void check_vm_line(FpFootprintSet *set, char **words, const char *name)
{
    FpFootprint *fp = fp_footprint_set_lookup(set, words[1]);
    FpFootprintState st;

    if (fp == NULL) {
        g_test_fail_printf("%s: VM %s not loaded", name, words[1]);
        return;
    }
    fp_footprint_get_state(fp, &st);
    for (guint i = 2; words[i] != NULL; i++) {
        g_auto(GStrv) kv = g_strsplit(words[i], "=", 2);
        FpClass want_class;
        gboolean known;
        double got;

        g_assert_nonnull(kv[1]);
        if (g_str_equal(kv[0], "learned") || g_str_equal(kv[0], "pinned") ||
            g_str_equal(kv[0], "pending")) {
            FpClass got_class;

            g_assert_true(fp_class_from_string(kv[1], &want_class));
            got_class = g_str_equal(kv[0], "learned")  ? st.learned
                        : g_str_equal(kv[0], "pinned") ? st.pinned
                                                       : st.pending;
            if (got_class != want_class)
                g_test_fail_printf("%s: VM %s: %s is %s, expected %s", name, words[1], kv[0],
                                   fp_class_to_string(got_class), kv[1]);
            continue;
        }
        got = state_field(&st, fp, kv[0], &known);
        g_assert_true(known);
        if (got != g_ascii_strtod(kv[1], NULL))
            g_test_fail_printf("%s: VM %s: %s is %.17g, expected %s", name, words[1], kv[0], got,
                               kv[1]);
    }
}

static void test_fixture(gconstpointer data)
{
    const char *name = data;
    g_autofree char *dir = data_dir();
    g_autofree char *state = g_strdup_printf("%s/%s.state", dir, name);
    g_autofree char *expect_path = g_strdup_printf("%s/%s.expect", dir, name);
    g_autofree char *expect = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
    g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    guint n_vms = 0, n_skipped = 0;
    gboolean ok;

    g_assert_true(g_file_get_contents(expect_path, &expect, NULL, NULL));
    ok = fp_footprint_set_load(set, state, skipped, &error);
    g_assert_true(ok == (error == NULL));
    for (guint i = 0; i < skipped->len; i++)
        g_test_message("%s: skipped: %s", name, (const char *)g_ptr_array_index(skipped, i));
    if (error != NULL)
        g_test_message("%s: %s", name, error->message);
    lines = g_strsplit(g_strchomp(expect), "\n", -1);
    for (guint l = 0; lines[l] != NULL; l++) {
        g_auto(GStrv) words = g_strsplit(lines[l], " ", -1);
        const char *rest = strchr(lines[l], ' ') != NULL ? strchr(lines[l], ' ') + 1 : "";

        if (g_str_equal(words[0], "error")) {
            if (ok || strstr(error->message, rest) == NULL)
                g_test_fail_printf("%s: expected an error containing '%s'", name, rest);
            g_assert_cmpuint(fp_footprint_set_size(set), ==, 0);
        } else if (g_str_equal(words[0], "vm")) {
            g_assert_true(ok);
            check_vm_line(set, words, name);
            n_vms++;
        } else if (g_str_equal(words[0], "skipped")) {
            const char *note =
                n_skipped < skipped->len ? g_ptr_array_index(skipped, n_skipped) : "";

            if (strstr(note, rest) == NULL)
                g_test_fail_printf("%s: note %u '%s' does not contain '%s'", name, n_skipped, note,
                                   rest);
            n_skipped++;
        } else {
            g_error("%s: bad line '%s'", expect_path, lines[l]);
        }
    }
    if (ok && fp_footprint_set_size(set) != n_vms)
        g_test_fail_printf("%s: %u VMs loaded, %u expected", name, fp_footprint_set_size(set),
                           n_vms);
    if (skipped->len != n_skipped)
        g_test_fail_printf("%s: %u notes, %u expected", name, skipped->len, n_skipped);
}

/* ---- whatever the writer writes, the loader reads ----------------------- */

static FpFootprintSample random_sample(void)
{
    static const guint64 bytes[] = {0, 1, 1500, 1000000, G_GUINT64_CONSTANT(1) << 40, G_MAXUINT64};
    static const gint64 intervals[] = {1, 1000, G_USEC_PER_SEC, 60 * G_USEC_PER_SEC,
                                       G_GINT64_CONSTANT(24) * 3600 * G_USEC_PER_SEC};
    FpFootprintSample s = {0};

    s.interval_us = intervals[g_test_rand_int_range(0, G_N_ELEMENTS(intervals))];
    s.rx_bytes = bytes[g_test_rand_int_range(0, G_N_ELEMENTS(bytes))];
    s.tx_bytes = bytes[g_test_rand_int_range(0, G_N_ELEMENTS(bytes))];
    s.elephant_bytes = bytes[g_test_rand_int_range(0, G_N_ELEMENTS(bytes))];
    s.active_flows = (guint)g_test_rand_int_range(0, 2) ? G_MAXUINT : 3;
    s.new_flows = (guint)g_test_rand_int_range(0, 1000);
    s.elephant_flows = (guint)g_test_rand_int_range(0, 3);
    s.mice_started = (guint)g_test_rand_int_range(0, 2) ? G_MAXUINT : s.new_flows;
    s.mice_ended = (guint)g_test_rand_int_range(0, 1000);
    return s;
}

static void test_round_trip_property(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint-state");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    FpFootprintPolicy policy;
    guint rounds = g_test_slow() ? 400 : 60;

    fp_footprint_policy_init(&policy);
    /* A warm-up longer than the samples below: the pending count grows. */
    policy.warmup_s = 86400;
    policy.switch_after = 1000;
    for (guint r = 0; r < rounds; r++) {
        g_autoptr(FpFootprintSet) set = fp_footprint_set_new(&policy);
        g_autoptr(FpFootprintSet) back = fp_footprint_set_new(&policy);
        g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) uuids = NULL;
        g_autoptr(GError) error = NULL;
        guint n_vms = (guint)g_test_rand_int_range(1, 6);

        for (guint v = 0; v < n_vms; v++) {
            g_autofree char *uuid = g_uuid_string_random();
            FpFootprint *fp = fp_footprint_set_ensure(set, uuid, NULL);
            guint n =
                (guint)g_test_rand_int_range(0, 2) ? 1200 : (guint)g_test_rand_int_range(0, 50);
            FpFootprintSample same = random_sample();

            for (guint k = 0; k < n; k++) {
                FpFootprintSample s = k % 7 == 0 ? random_sample() : same;

                g_assert_true(fp_footprint_feed(fp, &s, &error));
            }
            if (g_test_rand_int_range(0, 3) == 0)
                fp_footprint_set_pinned(fp, (FpClass)g_test_rand_int_range(1, FP_CLASS_COUNT));
            if (g_test_rand_int_range(0, 2) == 0)
                fp_footprint_set_touch(set, uuid, g_test_rand_int_range(1, G_MAXINT32));
        }
        g_assert_true(fp_footprint_set_save(set, path, &error));
        g_assert_no_error(error);
        if (!fp_footprint_set_load(back, path, skipped, &error)) {
            g_autofree char *text = NULL;

            g_file_get_contents(path, &text, NULL, NULL);
            g_error("round %u: our own file is refused: %s\n%s", r, error->message, text);
        }
        if (skipped->len > 0)
            g_error("round %u: our own entry is skipped: %s", r,
                    (const char *)g_ptr_array_index(skipped, 0));
        g_assert_cmpuint(fp_footprint_set_size(back), ==, n_vms);
        uuids = fp_footprint_set_list_uuids(set);
        for (guint v = 0; v < uuids->len; v++) {
            const char *uuid = g_ptr_array_index(uuids, v);
            FpFootprint *a = fp_footprint_set_lookup(set, uuid);
            FpFootprint *b = fp_footprint_set_lookup(back, uuid);
            FpFootprintState sa, sb;

            g_assert_nonnull(b);
            fp_footprint_get_state(a, &sa);
            fp_footprint_get_state(b, &sb);
            g_assert_cmpuint(sa.pending_count, <=, FP_FOOTPRINT_PENDING_MAX);
            g_assert_cmpint(sb.learned, ==, sa.learned);
            g_assert_cmpint(sb.pinned, ==, sa.pinned);
            g_assert_cmpuint(sb.pending_count, ==, sa.pending_count);
            g_assert_cmpint(fp_footprint_get_last_seen(b), ==, fp_footprint_get_last_seen(a));
            /* Figures come back exactly, or saturated to the loader's bound. */
            g_assert_true(sb.rx_bps == sa.rx_bps || (sb.rx_bps == 1e15 && sa.rx_bps > 1e15));
            g_assert_true(sb.observed_s == sa.observed_s ||
                          (sb.observed_s == 1e10 && sa.observed_s > 1e10));
        }
    }
    fp_test_rm_rf(dir);
}

/* A figure anywhere in 0..max, its edges and awkward doubles most often. */
static double random_figure(double max)
{
    static const double special[] = {0.0,     -0.0, 5e-324, 2.2250738585072014e-308, 1e-300, 0.1,
                                     1.0 / 3, 1.0,  1500.5, 123456789.123456789};
    double v;

    switch (g_test_rand_int_range(0, 5)) {
    case 0:
        v = special[g_test_rand_int_range(0, G_N_ELEMENTS(special))];
        return v <= max ? v : max;
    case 1:
        return max;
    case 2:
        return nextafter(max, 0);
    case 3:
        return g_test_rand_double_range(0, 1) * max;
    default:
        return ldexp(g_test_rand_double_range(0.5, 1), g_test_rand_int_range(-1074, 0)) * max;
    }
}

static FpClass random_class(void)
{
    return (FpClass)g_test_rand_int_range(0, FP_CLASS_COUNT);
}

/* Any state the model may hold (all that fp_footprint_state_check()
 * accepts: a prior from the metadata element goes in as it is), not only
 * the ones a run of samples reaches: the writer writes it, the loader
 * takes it back whole; a pending count beyond the bound comes back as the
 * bound. */
static void test_round_trip_any_state(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint-state");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    static const guint counts[] = {0,
                                   1,
                                   FP_FOOTPRINT_PENDING_MAX - 1,
                                   FP_FOOTPRINT_PENDING_MAX,
                                   FP_FOOTPRINT_PENDING_MAX + 1,
                                   G_MAXUINT};
    guint rounds = g_test_slow() ? 2000 : 200;

    for (guint r = 0; r < rounds; r++) {
        g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
        g_autoptr(FpFootprintSet) back = fp_footprint_set_new(NULL);
        g_autoptr(GPtrArray) skipped = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) uuids = NULL;
        g_autoptr(GError) error = NULL;
        guint n_vms = (guint)g_test_rand_int_range(1, 9);

        for (guint v = 0; v < n_vms; v++) {
            g_autofree char *uuid = g_uuid_string_random();
            FpFootprint *fp = fp_footprint_set_ensure(set, uuid, NULL);
            FpFootprintState st = {
                .learned = random_class(),
                .pinned = random_class(),
                .pending = random_class(),
                .pending_count = g_test_rand_int_range(0, 2)
                                     ? counts[g_test_rand_int_range(0, G_N_ELEMENTS(counts))]
                                     : (guint)g_test_rand_int(),
                .confidence = random_figure(1),
                .rx_bps = random_figure(1e15),
                .tx_bps = random_figure(1e15),
                .elephant_bps = random_figure(1e15),
                .elephants = random_figure(1e15),
                .active_flows = random_figure(1e15),
                .mice_rate = random_figure(1e15),
                .mice_end_rate = random_figure(1e15),
                .new_flow_rate = random_figure(1e15),
                .short_bps = random_figure(1e15),
                .peak_bps = random_figure(1e15),
                .observed_s = random_figure(1e10),
            };

            if (!fp_footprint_set_state(fp, &st, &error))
                g_error("round %u: a state in range is refused: %s", r, error->message);
            if (g_test_rand_int_range(0, 3) > 0)
                fp_footprint_set_touch(set, uuid,
                                       g_test_rand_int_range(0, 2)
                                           ? g_test_rand_int_range(1, G_MAXINT32)
                                           : G_GINT64_CONSTANT(1) << 40);
        }
        g_assert_true(fp_footprint_set_save(set, path, &error));
        if (!fp_footprint_set_load(back, path, skipped, &error)) {
            g_autofree char *text = NULL;

            g_file_get_contents(path, &text, NULL, NULL);
            g_error("round %u: our own file is refused: %s\n%s", r, error->message, text);
        }
        if (skipped->len > 0)
            g_error("round %u: our own entry is skipped: %s", r,
                    (const char *)g_ptr_array_index(skipped, 0));
        g_assert_cmpuint(fp_footprint_set_size(back), ==, n_vms);
        uuids = fp_footprint_set_list_uuids(set);
        for (guint v = 0; v < uuids->len; v++) {
            const char *uuid = g_ptr_array_index(uuids, v);
            FpFootprint *a = fp_footprint_set_lookup(set, uuid);
            FpFootprint *b = fp_footprint_set_lookup(back, uuid);
            FpFootprintState sa, sb;

            g_assert_nonnull(b);
            fp_footprint_get_state(a, &sa);
            fp_footprint_get_state(b, &sb);
            sa.pending_count = MIN(sa.pending_count, FP_FOOTPRINT_PENDING_MAX);
            g_assert_cmpint(sb.learned, ==, sa.learned);
            g_assert_cmpint(sb.pinned, ==, sa.pinned);
            g_assert_cmpint(sb.pending, ==, sa.pending);
            g_assert_cmpuint(sb.pending_count, ==, sa.pending_count);
            g_assert_cmpfloat(sb.confidence, ==, sa.confidence);
            g_assert_cmpfloat(sb.rx_bps, ==, sa.rx_bps);
            g_assert_cmpfloat(sb.tx_bps, ==, sa.tx_bps);
            g_assert_cmpfloat(sb.elephant_bps, ==, sa.elephant_bps);
            g_assert_cmpfloat(sb.elephants, ==, sa.elephants);
            g_assert_cmpfloat(sb.active_flows, ==, sa.active_flows);
            g_assert_cmpfloat(sb.mice_rate, ==, sa.mice_rate);
            g_assert_cmpfloat(sb.mice_end_rate, ==, sa.mice_end_rate);
            g_assert_cmpfloat(sb.new_flow_rate, ==, sa.new_flow_rate);
            g_assert_cmpfloat(sb.short_bps, ==, sa.short_bps);
            g_assert_cmpfloat(sb.peak_bps, ==, sa.peak_bps);
            g_assert_cmpfloat(sb.observed_s, ==, sa.observed_s);
            g_assert_cmpint(fp_footprint_get_last_seen(b), ==, fp_footprint_get_last_seen(a));
        }
    }
    fp_test_rm_rf(dir);
}

/* As many VMs as the writer keeps, each at its longest: the file stays
 * within the loader's size bound. */
static void test_largest_file(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint-state");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
    g_autoptr(FpFootprintSet) back = fp_footprint_set_new(NULL);
    g_autoptr(GError) error = NULL;
    FpFootprintState worst = {
        .learned = FP_CLASS_THROUGHPUT,
        .pinned = FP_CLASS_THROUGHPUT,
        .pending = FP_CLASS_LATENCY,
        .pending_count = FP_FOOTPRINT_PENDING_MAX - 1,
        .confidence = 0.12345678901234567,
        .observed_s = 1234567.1234567891,
    };
    GStatBuf st;

    worst.rx_bps = worst.tx_bps = worst.elephant_bps = worst.elephants = 123456789012345.67;
    worst.active_flows = worst.mice_rate = worst.mice_end_rate = worst.new_flow_rate = 1234567.891;
    worst.short_bps = worst.peak_bps = 123456789012345.67;
    for (guint i = 0; i < FP_FOOTPRINT_STATE_MAX_VMS; i++) {
        g_autofree char *uuid = g_uuid_string_random();
        FpFootprint *fp = fp_footprint_set_ensure(set, uuid, NULL);

        g_assert_true(fp_footprint_set_state(fp, &worst, &error));
        fp_footprint_set_touch(set, uuid, G_MAXINT64);
    }
    g_assert_true(fp_footprint_set_save(set, path, &error));
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_test_message("%u VMs: %lld bytes (bound %u)", FP_FOOTPRINT_STATE_MAX_VMS,
                   (long long)st.st_size, FP_FOOTPRINT_STATE_MAX_SIZE);
    g_assert_cmpint(st.st_size, <=, FP_FOOTPRINT_STATE_MAX_SIZE);
    g_assert_true(fp_footprint_set_load(back, path, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(fp_footprint_set_size(back), ==, FP_FOOTPRINT_STATE_MAX_VMS);
    fp_test_rm_rf(dir);
}

/* ---- forgetting --------------------------------------------------------- */

static void test_forget(void)
{
    g_autoptr(FpFootprintSet) set = fp_footprint_set_new(NULL);
    g_autoptr(GPtrArray) forgotten = g_ptr_array_new_with_free_func(g_free);
    gint64 now = 1800000000;

    fp_footprint_set_ensure(set, UUID_A, NULL);
    fp_footprint_set_ensure(set, UUID_B, NULL);
    fp_footprint_set_ensure(set, UUID_C, NULL);
    fp_footprint_set_touch(set, UUID_A, now - 31 * DAY);
    fp_footprint_set_touch(set, UUID_B, now - 29 * DAY);
    /* C: never seen (a file from before last_seen): counts as seen now. */
    g_assert_cmpuint(fp_footprint_set_forget(set, now, 30 * DAY, 100, forgotten), ==, 1);
    g_assert_null(fp_footprint_set_lookup(set, UUID_A));
    g_assert_nonnull(fp_footprint_set_lookup(set, UUID_B));
    g_assert_cmpint(fp_footprint_get_last_seen(fp_footprint_set_lookup(set, UUID_C)), ==, now);
    g_assert_cmpstr(g_ptr_array_index(forgotten, 0), ==,
                    "VM " UUID_A ": not seen for 31 days: its footprint is forgotten");

    /* The size bound: the ones seen longest ago go first. */
    fp_footprint_set_ensure(set, UUID_A, NULL);
    fp_footprint_set_touch(set, UUID_A, now - DAY);
    g_assert_cmpuint(fp_footprint_set_forget(set, now, 30 * DAY, 2, forgotten), ==, 1);
    g_assert_null(fp_footprint_set_lookup(set, UUID_B));
    g_assert_nonnull(fp_footprint_set_lookup(set, UUID_A));
    g_assert_nonnull(fp_footprint_set_lookup(set, UUID_C));
    g_test_message("%s", (const char *)g_ptr_array_index(forgotten, 1));
    g_assert_cmpuint(fp_footprint_set_forget(set, now, 30 * DAY, 2, NULL), ==, 0);
}

/* ---- the daemon's restore: moved aside, never overwritten --------------- */

static void test_restore_sets_aside(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint-state");
    g_autofree char *path = g_build_filename(dir, "footprints", NULL);
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(FpFootprints) fps = NULL;
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) d = NULL;
    const char *garbage = "[footprintd]\nformat=7\n[vm " UUID_A "]\nlearned=idle\n";
    g_autofree char *aside = NULL;
    g_autofree char *text = NULL;
    const char *entry;
    guint n = 0;

    g_free(config->state_dir);
    config->state_dir = g_strdup(dir);
    g_assert_true(g_file_set_contents(path, garbage, -1, NULL));
    fps = fp_footprints_new(&config->footprint, config->state_dir, config->forget_after_days);
    g_assert_false(fp_footprints_restore(fps, &error));
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, "format 7 is newer"));
    g_assert_nonnull(strstr(error->message, "; moved aside to '"));
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    d = g_dir_open(dir, 0, NULL);
    while ((entry = g_dir_read_name(d)) != NULL) {
        g_assert_true(g_str_has_prefix(entry, "footprints.bad-"));
        g_assert_nonnull(strstr(error->message, entry));
        aside = g_build_filename(dir, entry, NULL);
        n++;
    }
    g_assert_cmpuint(n, ==, 1);

    /* The next save writes a new file and leaves the old one alone. */
    g_clear_error(&error);
    g_assert_true(fp_footprints_save(fps, &error));
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_assert_true(g_file_get_contents(aside, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, garbage);

    /* A second bad file in the same second gets its own name. */
    g_clear_pointer(&fps, fp_footprints_free);
    g_assert_true(g_file_set_contents(path, "garbage", -1, NULL));
    fps = fp_footprints_new(&config->footprint, config->state_dir, config->forget_after_days);
    g_clear_error(&error);
    g_assert_false(fp_footprints_restore(fps, &error));
    g_test_message("%s", error->message);
    g_assert_true(g_file_test(aside, G_FILE_TEST_IS_REGULAR));
    fp_test_rm_rf(dir);
}

/* A state dir that cannot be written (here: its parent is a file) fails
 * every save: the learner keeps running, the status says why and since
 * when; once it can be written, the next save clears it. */
static void test_save_fails_then_recovers(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint-state");
    g_autofree char *blocker = g_build_filename(dir, "blocker", NULL);
    g_autofree char *state_dir = g_build_filename(blocker, "state", NULL);
    g_autofree char *path = g_build_filename(state_dir, "footprints", NULL);
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(FpFootprints) fps = NULL;
    g_autoptr(GError) error = NULL;
    const FpFileWriteStatus *st;

    fps = fp_footprints_new(&config->footprint, state_dir, config->forget_after_days);
    st = fp_footprints_get_write_status(fps);
    g_assert_true(fp_footprints_restore(fps, &error)); /* no file yet */
    g_assert_true(g_file_set_contents(blocker, "not a directory", -1, NULL));
    g_assert_false(fp_footprints_save(fps, &error));
    g_test_message("%s", error->message);
    g_assert_nonnull(strstr(error->message, path));
    g_assert_cmpstr(st->error, ==, error->message);
    g_assert_nonnull(strstr(st->error, g_strerror(ENOTDIR)));
    g_assert_cmpuint(st->failures, ==, 1);
    g_assert_cmpint(st->last_ok_us, ==, 0);
    g_clear_error(&error);
    g_assert_false(fp_footprints_save(fps, &error));
    g_assert_cmpuint(st->failures, ==, 2);

    g_assert_cmpint(g_unlink(blocker), ==, 0);
    g_clear_error(&error);
    g_assert_true(fp_footprints_save(fps, &error));
    g_assert_null(st->error);
    g_assert_cmpint(st->last_ok_us, >, 0);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    fp_test_rm_rf(dir);
}

/* One sweep of a learner over nothing (no VM, no flow); the sweeps'
 * saves are the test's subject. */
static void sweep_once(FpFootprints *fps, FpVmIndex *index, FpFlowTable *t, gint64 now)
{
    fp_flow_table_begin_sweep(t, now);
    fp_flow_table_end_sweep(t);
    fp_snapshot_unref(fp_footprints_sweep(fps, index, t, now, g_get_real_time()));
}

/* The daemon's saves during a run are written in a worker thread
 * (fp_footprints_set_async()): the sweep returns before the file is
 * written; a later sweep notes how the write went; a state dir that
 * cannot be made fails in the sweep itself; fp_footprints_save() at a
 * clean stop writes before it returns. */
static void test_save_in_worker(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-footprint-state");
    g_autofree char *state_dir = g_build_filename(dir, "state", NULL);
    g_autofree char *path = g_build_filename(state_dir, "footprints", NULL);
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(FpFootprints) fps = NULL;
    g_autoptr(FpVmIndex) index = fp_vm_index_new(NULL, NULL);
    g_autoptr(FpFlowTable) t = fp_flow_table_new(G_MAXUINT64, 10 * G_USEC_PER_SEC);
    g_autoptr(GError) error = NULL;
    const FpFileWriteStatus *st;
    gint64 now = g_get_monotonic_time();
    int sweeps = 0;

    fps = fp_footprints_new(&config->footprint, state_dir, config->forget_after_days);
    st = fp_footprints_get_write_status(fps);
    g_assert_true(fp_footprints_restore(fps, &error));
    fp_footprints_set_save_interval(fps, 0); /* every sweep saves */
    fp_footprints_set_async(fps, TRUE);
    /* The status follows at a sweep after the write ended. */
    while (sweeps < 500) {
        sweep_once(fps, index, t, now + sweeps * G_USEC_PER_SEC);
        sweeps++;
        if (fp_footprints_get_write_status(fps)->last_ok_us != 0)
            break;
        g_usleep(10000);
    }
    g_test_message("written and noted after %d sweeps", sweeps);
    /* The first sweep only handed the write over (a save in the sweep
     * itself would have noted it there). */
    g_assert_cmpint(sweeps, >=, 2);
    g_assert_cmpint(st->last_ok_us, >, 0);
    g_assert_null(st->error);
    g_assert_cmpuint(st->failures, ==, 0);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));

    /* A save is under way again (the sweep that noted the last one
     * started it): a clean stop's save waits for it, then writes. */
    g_assert_true(fp_footprints_save(fps, &error));
    g_assert_no_error(error);

    /* A state dir that cannot be made: the sweep says so at once. */
    fp_test_rm_rf(state_dir);
    g_assert_true(g_file_set_contents(state_dir, "not a directory", -1, NULL));
    sweep_once(fps, index, t, now + (sweeps + 1) * G_USEC_PER_SEC);
    g_assert_nonnull(st->error);
    g_test_message("%s", st->error);
    g_assert_nonnull(strstr(st->error, state_dir));
    g_assert_cmpuint(st->failures, ==, 1);

    /* A clean stop's save waits for its own write. */
    g_assert_cmpint(g_unlink(state_dir), ==, 0);
    sweep_once(fps, index, t, now + (sweeps + 2) * G_USEC_PER_SEC); /* one under way */
    g_assert_true(fp_footprints_save(fps, &error));
    g_assert_no_error(error);
    g_assert_null(st->error);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_clear_pointer(&fps, fp_footprints_free);
    fp_test_rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_autofree char *dir = NULL;
    g_autoptr(GDir) d = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *entry;

    g_test_init(&argc, &argv, NULL);
    dir = data_dir();
    d = g_dir_open(dir, 0, NULL);
    g_assert_nonnull(d);
    while ((entry = g_dir_read_name(d)) != NULL)
        if (g_str_has_suffix(entry, ".state"))
            g_ptr_array_add(names, g_strndup(entry, strlen(entry) - strlen(".state")));
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    g_assert_cmpuint(names->len, >=, 5);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *path = g_strdup_printf("/footprint-state/fixtures/%s",
                                                (const char *)g_ptr_array_index(names, i));

        g_test_add_data_func(path, g_ptr_array_index(names, i), test_fixture);
    }
    g_test_add_func("/footprint-state/round-trip-property", test_round_trip_property);
    g_test_add_func("/footprint-state/round-trip-any-state", test_round_trip_any_state);
    g_test_add_func("/footprint-state/largest-file", test_largest_file);
    g_test_add_func("/footprint-state/forget", test_forget);
    g_test_add_func("/footprint-state/restore-sets-aside", test_restore_sets_aside);
    g_test_add_func("/footprint-state/save-fails-then-recovers", test_save_fails_then_recovers);
    g_test_add_func("/footprint-state/save-in-worker", test_save_in_worker);
    return g_test_run();
}
