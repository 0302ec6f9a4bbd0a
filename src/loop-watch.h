/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * loop-watch: how long the main loop is away from its poll, measured from
 * the outside (a wrapper around the context's poll function), so that no
 * source can hide from it: a D-Bus call, an elephant event or a signal
 * waits at most that long.  With the thread's CPU and run-queue wait
 * (/proc/thread-self/schedstat) over the same stretch, it tells work from
 * waiting for a CPU.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A dispatch longer than this is slow (the agent's target: no single
 * dispatch of the main loop over 50 ms). */
#define FP_LOOP_SLOW_US 50000

/**
 * FpLoopStats:
 * @dispatches: main-loop iterations (each dispatches the sources that
 *     were ready at one poll)
 * @dispatch_max_us: the longest, wall-clock, from the return of a poll to
 *     the next poll
 * @dispatch_max_cpu_us: the thread's CPU time in that longest one
 * @dispatch_max_wait_us: its run-queue wait in it (runnable, not running:
 *     the CPUs were busy with others); the rest of @dispatch_max_us is
 *     CPU or sleeping in the kernel
 * @dispatch_cpu_max_us: the most CPU any one dispatch used
 * @slow: dispatches over %FP_LOOP_SLOW_US
 * @slow_cpu: dispatches that used over %FP_LOOP_SLOW_US of CPU (the
 *     agent's own doing, whatever the machine's load)
 * @wake_wait_max_us: the longest run-queue wait between a poll's wake-up
 *     and its return (ready, but no CPU to run on)
 * @run_queue_wait_us: the thread's run-queue wait so far, in all
 * @cpu_us: the thread's CPU time so far
 * @schedstat: whether the kernel reports run-queue waits
 *     (CONFIG_SCHED_INFO); without it the wait figures stay 0
 *
 * Figures since the watch started.
 */
typedef struct {
    guint64 dispatches;
    gint64 dispatch_max_us;
    gint64 dispatch_max_cpu_us;
    gint64 dispatch_max_wait_us;
    gint64 dispatch_cpu_max_us;
    guint64 slow;
    guint64 slow_cpu;
    gint64 wake_wait_max_us;
    gint64 run_queue_wait_us;
    gint64 cpu_us;
    gboolean schedstat;
} FpLoopStats;

typedef struct _FpLoopWatch FpLoopWatch;

FpLoopWatch *fp_loop_watch_new(GMainContext *context);
void fp_loop_watch_free(FpLoopWatch *watch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpLoopWatch, fp_loop_watch_free)
void fp_loop_watch_get_stats(FpLoopWatch *watch, FpLoopStats *stats);
gboolean fp_thread_sched(gint64 *cpu_us, gint64 *wait_us);
gint64 fp_thread_cpu_us(void);

G_END_DECLS
