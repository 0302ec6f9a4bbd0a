/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel program's new-flow log as src/newlog.c reads it through mmap:
 * memory another party writes, so nothing in it is trusted.  The input is
 * the log of FP_FUZZ_CPUS CPUs with 2^FP_FUZZ_SHIFT records each (padded
 * with zeros or cut), read by a few drains.  Whatever is in it, the reader
 * must stop, never hand on a record being written, hand on each record
 * once at most, and never forget a loss it counted.
 */
#include "config.h"

#include "newlog.h"

#define FP_FUZZ_CPUS 2
#define FP_FUZZ_SHIFT 3
#define FP_FUZZ_RECORDS (FP_FUZZ_CPUS << FP_FUZZ_SHIFT)

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static void on_record(const struct fp_new_flow *r, gpointer user_data)
{
    guint *n = user_data;

    g_assert_cmpuint(r->seq, >, 0); /* 0: being written, never handed on */
    (*n)++;
}

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    g_autofree struct fp_new_flow *mem = g_new0(struct fp_new_flow, FP_FUZZ_RECORDS);
    g_autoptr(FpNewLog) log = NULL;
    guint n = 0;
    guint64 lost = 0;

    memcpy(mem, data, MIN(size, sizeof(*mem) * FP_FUZZ_RECORDS));
    log = fp_newlog_new(mem, FP_FUZZ_CPUS, FP_FUZZ_SHIFT);
    for (int i = 0; i < 4; i++) {
        fp_newlog_drain(log, on_record, &n);
        g_assert_cmpuint(fp_newlog_lost(log), >=, lost);
        lost = fp_newlog_lost(log);
    }
    /* Nobody writes meanwhile: each slot is handed on once at most. */
    g_assert_cmpuint(n, <=, FP_FUZZ_RECORDS);
    return TRUE;
}
