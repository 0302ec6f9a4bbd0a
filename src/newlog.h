/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "footprint.h"

/* Reader of fp_newlog, the kernel program's per-CPU log of new flows. */
typedef struct _FpNewLog FpNewLog;

typedef void (*FpNewLogFunc)(const struct fp_new_flow *record, gpointer user_data);
typedef void (*FpNewLogRaceFunc)(volatile struct fp_new_flow *slot, gpointer user_data);

FpNewLog *fp_newlog_new(volatile struct fp_new_flow *base, guint n_cpus, guint shift);
void fp_newlog_free(FpNewLog *log);
guint fp_newlog_drain(FpNewLog *log, FpNewLogFunc func, gpointer user_data);
guint64 fp_newlog_lost(const FpNewLog *log);
void fp_newlog_set_race_func(FpNewLog *log, FpNewLogRaceFunc func, gpointer user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNewLog, fp_newlog_free)
