/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fixed one-second window: the first @per_second lines of a window are
 * logged, the others counted.  The count is handed back once the window
 * has ended, by the next fp_log_limit_take() or by fp_log_limit_flush()
 * (call it periodically, so that the summary of a burst that stopped is
 * not held back until the next line).  Pure: the caller passes the time.
 */
#include "config.h"

#include "log-limit.h"

struct _FpLogLimit {
    guint per_second;
    gint64 window_start_us; /* 0: no window yet */
    guint in_window;
    guint64 suppressed_in_window;
    guint64 suppressed_total;
};

/**
 * fp_log_limit_new:
 * @per_second: lines logged per one-second window, at least 1
 *
 * Returns: (transfer full): a limiter
 */
FpLogLimit *fp_log_limit_new(guint per_second)
{
    FpLogLimit *l = g_new0(FpLogLimit, 1);

    l->per_second = MAX(per_second, 1);
    return l;
}

void fp_log_limit_free(FpLogLimit *limit)
{
    g_free(limit);
}

/**
 * fp_log_limit_flush:
 * @limit: a limiter
 * @now_us: g_get_monotonic_time()
 *
 * Returns: how many lines were suppressed in the window that ended, to
 * say so once; 0 when none, or while the window runs
 */
guint64 fp_log_limit_flush(FpLogLimit *l, gint64 now_us)
{
    guint64 n;

    if (l->window_start_us == 0 || now_us - l->window_start_us < G_USEC_PER_SEC)
        return 0;
    n = l->suppressed_in_window;
    l->window_start_us = 0;
    l->in_window = 0;
    l->suppressed_in_window = 0;
    return n;
}

/**
 * fp_log_limit_take:
 * @limit: a limiter
 * @now_us: g_get_monotonic_time()
 * @suppressed: (out): what fp_log_limit_flush() returned first: lines
 *     suppressed in the window that ended, to say so before this line
 *
 * Returns: whether this line may be logged
 */
gboolean fp_log_limit_take(FpLogLimit *l, gint64 now_us, guint64 *suppressed)
{
    *suppressed = fp_log_limit_flush(l, now_us);
    if (l->window_start_us == 0)
        l->window_start_us = MAX(now_us, 1);
    if (l->in_window < l->per_second) {
        l->in_window++;
        return TRUE;
    }
    l->suppressed_in_window++;
    l->suppressed_total++;
    return FALSE;
}

/**
 * fp_log_limit_get_suppressed_total:
 * @limit: a limiter
 *
 * Returns: lines suppressed since the limiter was made
 */
guint64 fp_log_limit_get_suppressed_total(const FpLogLimit *l)
{
    return l->suppressed_total;
}

guint fp_log_limit_get_per_second(const FpLogLimit *l)
{
    return l->per_second;
}
