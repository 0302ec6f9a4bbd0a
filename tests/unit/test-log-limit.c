/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log-limit: a burst of 300 lines in a second logs 10 and one summary. */
#include "config.h"

#include "log-limit.h"

#define S G_USEC_PER_SEC

static void test_burst(void)
{
    g_autoptr(FpLogLimit) l = fp_log_limit_new(10);
    gint64 t0 = 1000 * S;
    guint64 suppressed = 0, said = 0;
    guint logged = 0;

    /* 300 elephants within one second (one guest at 25 Gbit/s). */
    for (guint i = 0; i < 300; i++) {
        logged += fp_log_limit_take(l, t0 + i * (S / 300), &suppressed);
        g_assert_cmpuint(suppressed, ==, 0);
    }
    g_assert_cmpuint(logged, ==, 10);
    g_assert_cmpuint(fp_log_limit_get_suppressed_total(l), ==, 290);
    /* Not before the window ends... */
    g_assert_cmpuint(fp_log_limit_flush(l, t0 + S - 1), ==, 0);
    /* ...then once, by the periodic flush... */
    said = fp_log_limit_flush(l, t0 + S);
    g_assert_cmpuint(said, ==, 290);
    g_assert_cmpuint(fp_log_limit_flush(l, t0 + 2 * S), ==, 0);
    /* ...or by the next line, whichever comes first. */
    for (guint i = 0; i < 12; i++)
        fp_log_limit_take(l, t0 + 3 * S, &suppressed);
    g_assert_true(fp_log_limit_take(l, t0 + 5 * S, &suppressed));
    g_assert_cmpuint(suppressed, ==, 2);
    g_assert_cmpuint(fp_log_limit_get_suppressed_total(l), ==, 292);
}

static void test_steady(void)
{
    g_autoptr(FpLogLimit) l = fp_log_limit_new(10);
    guint64 suppressed = 0;

    /* 5 lines a second for a minute: all logged. */
    for (guint i = 0; i < 300; i++) {
        g_assert_true(fp_log_limit_take(l, S + i * (S / 5), &suppressed));
        g_assert_cmpuint(suppressed, ==, 0);
    }
    g_assert_cmpuint(fp_log_limit_get_suppressed_total(l), ==, 0);
    g_assert_cmpuint(fp_log_limit_get_per_second(l), ==, 10);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/log-limit/burst", test_burst);
    g_test_add_func("/log-limit/steady", test_steady);
    return g_test_run();
}
