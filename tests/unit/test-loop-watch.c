/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * loop-watch: the main loop's dispatches measured around its poll, on a
 * real GLib context and the kernel's own per-thread figures.  A source
 * that sleeps 60 ms is a slow dispatch that used no CPU; one that spins
 * 60 ms of CPU is slow by its own doing; quick ones are neither.
 */
#include "config.h"

#include <time.h>

#include "loop-watch.h"

#define LONG_US 60000

static gint64 thread_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (gint64)ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

static gboolean on_sleep(gpointer user_data)
{
    g_usleep(LONG_US);
    return G_SOURCE_REMOVE;
}

static gboolean on_spin(gpointer user_data)
{
    gint64 until = thread_cpu_us() + LONG_US;
    volatile guint64 n = 0;

    while (thread_cpu_us() < until)
        n++;
    return G_SOURCE_REMOVE;
}

static gboolean on_quick(gpointer user_data)
{
    (*(guint *)user_data)++;
    return G_SOURCE_REMOVE;
}

/* Runs @func once as an idle of @ctx, then lets the loop poll again. */
static void dispatch(GMainContext *ctx, GSourceFunc func, gpointer data)
{
    GSource *s = g_idle_source_new();

    g_source_set_callback(s, func, data, NULL);
    g_source_attach(s, ctx);
    g_source_unref(s);
    while (g_main_context_iteration(ctx, FALSE))
        ;
    /* One more poll ends the last dispatch's measurement. */
    g_main_context_iteration(ctx, FALSE);
}

static void test_dispatches(void)
{
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(FpLoopWatch) w = NULL;
    FpLoopStats st;
    guint quick = 0;
    guint64 slow;

    g_main_context_push_thread_default(ctx);
    w = fp_loop_watch_new(ctx);
    for (int i = 0; i < 5; i++)
        dispatch(ctx, on_quick, &quick);
    g_assert_cmpuint(quick, ==, 5);
    fp_loop_watch_get_stats(w, &st);
    g_assert_cmpuint(st.dispatches, >=, 5);
    /* (Wall-clock figures of quick dispatches depend on the machine's
     * load: only their CPU is checked.) */
    g_assert_cmpuint(st.slow_cpu, ==, 0);
    slow = st.slow;

    /* Sleeping: slow, but not by its CPU. */
    dispatch(ctx, on_sleep, NULL);
    fp_loop_watch_get_stats(w, &st);
    g_assert_cmpuint(st.slow, >=, slow + 1);
    g_assert_cmpuint(st.slow_cpu, ==, 0);
    g_assert_cmpint(st.dispatch_max_us, >=, LONG_US);
    g_assert_cmpint(st.dispatch_max_cpu_us, <, LONG_US / 2);
    slow = st.slow;

    /* Spinning: slow by its own CPU, exactly once. */
    dispatch(ctx, on_spin, NULL);
    fp_loop_watch_get_stats(w, &st);
    g_assert_cmpuint(st.slow, >=, slow + 1);
    g_assert_cmpuint(st.slow_cpu, ==, 1);
    g_assert_cmpint(st.dispatch_cpu_max_us, >=, LONG_US);
    g_assert_cmpint(st.cpu_us, >=, LONG_US);
    if (st.schedstat) {
        /* Whatever the machine's load, a dispatch is its CPU plus its
         * run-queue wait plus its sleep: never less than the first two. */
        g_assert_cmpint(st.dispatch_max_us, >=,
                        st.dispatch_max_cpu_us + st.dispatch_max_wait_us - 1000);
    } else {
        g_test_message("no schedstat here (CONFIG_SCHED_INFO): run-queue waits not checked");
    }
    g_clear_pointer(&w, fp_loop_watch_free);
    /* Unwrapped: the context polls as before. */
    dispatch(ctx, on_quick, &quick);
    g_assert_cmpuint(quick, ==, 6);
    g_main_context_pop_thread_default(ctx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/loop-watch/dispatches", test_dispatches);
    return g_test_run();
}
