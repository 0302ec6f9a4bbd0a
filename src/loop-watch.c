/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The main loop's responsiveness, measured around its poll (loop-watch.h).
 * Between the return of one poll and the start of the next, the loop
 * dispatches whatever was ready; nothing else it serves can run meanwhile.
 * That stretch, with the thread's CPU time and run-queue wait over it, is
 * what a D-Bus caller or an elephant event can be kept waiting.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "loop-watch.h"

struct _FpLoopWatch {
    GMainContext *context;
    GPollFunc prev;
    int fd; /* the loop thread's schedstat, -1 when the kernel has none */
    gboolean dispatching;
    gint64 t0, cpu0, wait0; /* at the last poll's return */
    FpLoopStats stats;
};

/* GPollFunc takes no user data: the one watch of the process. */
static FpLoopWatch *the_watch;

/* The calling thread's CPU time so far, in microseconds. */
gint64 fp_thread_cpu_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (gint64)ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* "cpu_ns run_delay_ns timeslices" (Documentation/scheduler/sched-stats). */
static gboolean parse_schedstat(const char *text, gint64 *cpu_us, gint64 *wait_us)
{
    char *end;
    guint64 cpu = g_ascii_strtoull(text, &end, 10);
    guint64 wait;

    if (end == text || *end != ' ')
        return FALSE;
    text = end + 1;
    wait = g_ascii_strtoull(text, &end, 10);
    if (end == text)
        return FALSE;
    *cpu_us = (gint64)(cpu / 1000);
    *wait_us = (gint64)(wait / 1000);
    return TRUE;
}

static gboolean read_schedstat(int fd, gint64 *cpu_us, gint64 *wait_us)
{
    char buf[96];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    if (n <= 0)
        return FALSE;
    buf[n] = '\0';
    return parse_schedstat(buf, cpu_us, wait_us);
}

/**
 * fp_thread_sched:
 * @cpu_us: (out): the calling thread's CPU time so far
 * @wait_us: (out): its run-queue wait so far (0 without schedstat)
 *
 * Returns: whether the kernel reports the run-queue wait
 */
gboolean fp_thread_sched(gint64 *cpu_us, gint64 *wait_us)
{
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    gint64 stale_cpu;
    gboolean ok = fd >= 0 && read_schedstat(fd, &stale_cpu, wait_us);

    if (fd >= 0)
        close(fd);
    if (!ok)
        *wait_us = 0;
    /* schedstat's CPU time of a running thread lags until the next tick;
     * the clock's is exact.  Its run-queue wait is exact: it only grows
     * while the thread waits, which it does not while it reads. */
    *cpu_us = fp_thread_cpu_us();
    return ok;
}

static void sched_now(FpLoopWatch *w, gint64 *cpu_us, gint64 *wait_us)
{
    gint64 stale_cpu;

    if (w->fd < 0 || !read_schedstat(w->fd, &stale_cpu, wait_us))
        *wait_us = 0;
    *cpu_us = fp_thread_cpu_us(); /* see fp_thread_sched() */
}

static gint watched_poll(GPollFD *fds, guint n_fds, gint timeout)
{
    FpLoopWatch *w = the_watch;
    FpLoopStats *s = &w->stats;
    gint64 now, cpu, wait, enter_wait;
    gint ret;

    /* The thread's figures within the clock's: read at the end of a
     * dispatch before the clock, at its start after it. */
    sched_now(w, &cpu, &wait);
    now = g_get_monotonic_time();
    if (w->dispatching) {
        gint64 took = now - w->t0, took_cpu = cpu - w->cpu0;

        s->dispatches++;
        if (took > s->dispatch_max_us) {
            s->dispatch_max_us = took;
            s->dispatch_max_cpu_us = took_cpu;
            s->dispatch_max_wait_us = wait - w->wait0;
        }
        s->dispatch_cpu_max_us = MAX(s->dispatch_cpu_max_us, took_cpu);
        s->slow += took > FP_LOOP_SLOW_US;
        s->slow_cpu += took_cpu > FP_LOOP_SLOW_US;
    }
    enter_wait = wait;
    ret = w->prev(fds, n_fds, timeout);
    w->t0 = g_get_monotonic_time();
    sched_now(w, &w->cpu0, &w->wait0);
    s->wake_wait_max_us = MAX(s->wake_wait_max_us, w->wait0 - enter_wait);
    w->dispatching = TRUE;
    return ret;
}

/**
 * fp_loop_watch_new:
 * @context: (nullable): the context to watch, iterated by the calling
 *     thread; %NULL for the default one
 *
 * Wraps @context's poll function.  One watch per process.
 *
 * Returns: (transfer full): the watch; free it to unwrap
 */
FpLoopWatch *fp_loop_watch_new(GMainContext *context)
{
    FpLoopWatch *w = g_new0(FpLoopWatch, 1);

    g_return_val_if_fail(the_watch == NULL, NULL);
    w->context = g_main_context_ref(context ? context : g_main_context_default());
    w->fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (w->fd >= 0 && !read_schedstat(w->fd, &w->cpu0, &w->wait0)) {
        close(w->fd);
        w->fd = -1;
    }
    w->stats.schedstat = w->fd >= 0;
    w->prev = g_main_context_get_poll_func(w->context);
    the_watch = w;
    g_main_context_set_poll_func(w->context, watched_poll);
    return w;
}

void fp_loop_watch_free(FpLoopWatch *w)
{
    if (!w)
        return;
    g_main_context_set_poll_func(w->context, w->prev);
    the_watch = NULL;
    if (w->fd >= 0)
        close(w->fd);
    g_main_context_unref(w->context);
    g_free(w);
}

/**
 * fp_loop_watch_get_stats:
 * @watch: a #FpLoopWatch
 * @stats: (out): its figures, and the thread's CPU and run-queue wait now
 *
 * Call it from the thread that iterates the context.
 */
void fp_loop_watch_get_stats(FpLoopWatch *w, FpLoopStats *stats)
{
    *stats = w->stats;
    sched_now(w, &stats->cpu_us, &stats->run_queue_wait_us);
}
