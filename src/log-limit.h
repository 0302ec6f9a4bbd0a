/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * log-limit: at most N lines a second of one kind (an elephant each, which
 * a guest can make hundreds of a second), and one line saying how many
 * were suppressed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _FpLogLimit FpLogLimit;

FpLogLimit *fp_log_limit_new(guint per_second);
void fp_log_limit_free(FpLogLimit *limit);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpLogLimit, fp_log_limit_free)
gboolean fp_log_limit_take(FpLogLimit *limit, gint64 now_us, guint64 *suppressed);
guint64 fp_log_limit_flush(FpLogLimit *limit, gint64 now_us);
guint64 fp_log_limit_get_suppressed_total(const FpLogLimit *limit);
guint fp_log_limit_get_per_second(const FpLogLimit *limit);

G_END_DECLS
