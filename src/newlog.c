/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reader of fp_newlog: the kernel program writes one record per new flow
 * into its CPU's part of a shared array, 2^shift records per CPU, the
 * oldest overwritten, without a lock (bpf/fp_sense.bpf.c, fp_flow_new).
 * Each record's `seq` is its number in that CPU's log plus one, written
 * last; 0 while the record is being written.  The writer sets it with full
 * barriers, so this reader follows the seqlock pattern: read seq, copy,
 * read seq again, and trust the copy only when both are the number it
 * expects.
 *
 * For each CPU the reader keeps `next`, the number of the next record it
 * wants, and looks at that record's slot:
 *   seq == next + 1   the record: copy it, next++;
 *   seq <= next       not written yet (an older lap, or being written): stop;
 *   seq >  next + 1   the writer has lapped us: records up to seq - 2^shift
 *                     are gone.  Count them lost and go on from the oldest
 *                     record still there.
 * Lost records are counted, never silent.
 */
#include "config.h"

#include <string.h>

#include "newlog.h"

struct _FpNewLog {
    volatile struct fp_new_flow *base;
    guint n_cpus;
    guint shift;
    guint64 *next; /* per CPU */
    guint64 lost;
    FpNewLogRaceFunc before_copy; /* tests: the writer strikes mid-read */
    gpointer before_copy_data;
};

/**
 * fp_newlog_new:
 * @base: the log's memory (mmap of fp_newlog): @n_cpus << @shift records
 * @n_cpus: CPUs
 * @shift: log2 of the records per CPU
 */
FpNewLog *fp_newlog_new(volatile struct fp_new_flow *base, guint n_cpus, guint shift)
{
    FpNewLog *log = g_new0(FpNewLog, 1);

    g_return_val_if_fail(shift < 32, NULL);
    log->base = base;
    log->n_cpus = n_cpus;
    log->shift = shift;
    log->next = g_new0(guint64, n_cpus);
    return log;
}

void fp_newlog_free(FpNewLog *log)
{
    if (!log)
        return;
    g_free(log->next);
    g_free(log);
}

/* Saturating: a garbage seq near 2^64 (the memory is not trusted) must not
 * wrap the count around to less than it was. */
static void add_lost(FpNewLog *log, guint64 n)
{
    log->lost = n > G_MAXUINT64 - log->lost ? G_MAXUINT64 : log->lost + n;
}

static guint drain_cpu(FpNewLog *log, guint cpu, FpNewLogFunc func, gpointer user_data)
{
    guint64 size = G_GUINT64_CONSTANT(1) << log->shift;
    volatile struct fp_new_flow *part = log->base + ((gsize)cpu << log->shift);
    guint64 *next = &log->next[cpu];
    guint n = 0;

    /* Bounded, for a writer faster than us: two laps (one of lost records,
     * one of records) per call; what is left waits for the next. */
    for (guint64 i = 0; i < 2 * size; i++) {
        volatile struct fp_new_flow *slot = &part[*next & (size - 1)];
        guint64 seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE);
        struct fp_new_flow copy;

        if (seq <= *next)
            break;
        if (((seq - 1) ^ *next) & (size - 1)) {
            /* Not a record of this slot: never written by the program. */
            add_lost(log, 1);
            (*next)++;
            continue;
        }
        if (seq > *next + 1) {
            /* Lapped: the slot holds record seq - 1, a lap or more ahead
             * (seq - 1 == *next mod size), so the oldest record that may
             * still be there is seq - size > *next. */
            add_lost(log, seq - size - *next);
            *next = seq - size;
            continue;
        }
        if (log->before_copy)
            log->before_copy(slot, log->before_copy_data);
        memcpy(&copy, (const void *)slot, sizeof(copy));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&slot->seq, __ATOMIC_RELAXED) != seq) {
            /* Overwritten while we copied it. */
            add_lost(log, 1);
            (*next)++;
            continue;
        }
        (*next)++;
        func(&copy, user_data);
        n++;
    }
    return n;
}

/**
 * fp_newlog_set_race_func:
 * @log: a #FpNewLog
 * @func: (nullable): called between reading a slot's seq and copying it
 * @user_data: for @func
 *
 * For tests: lets a test writer overwrite a record while it is being read.
 */
void fp_newlog_set_race_func(FpNewLog *log, FpNewLogRaceFunc func, gpointer user_data)
{
    log->before_copy = func;
    log->before_copy_data = user_data;
}

/**
 * fp_newlog_drain:
 * @log: a #FpNewLog
 * @func: called with each new record
 * @user_data: for @func
 *
 * Returns: the records passed to @func
 */
guint fp_newlog_drain(FpNewLog *log, FpNewLogFunc func, gpointer user_data)
{
    guint n = 0;

    for (guint c = 0; c < log->n_cpus; c++)
        n += drain_cpu(log, c, func, user_data);
    return n;
}

/**
 * fp_newlog_lost:
 * @log: a #FpNewLog
 *
 * Returns: records overwritten before this reader could read them
 */
guint64 fp_newlog_lost(const FpNewLog *log)
{
    return log->lost;
}
