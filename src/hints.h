/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hints: RUNTIME_DIR/hints.json, the host summary, its trait and every
 * VM's footprint for schedulers other than OpenStack's (an oVirt engine
 * script, a cron job with jq).  The schema is a contract, documented in the
 * README ("Hints file"); fp_hints_format() is pure and fixture-tested.
 */
#pragma once

#include <glib.h>

#include "atomic-file.h"

#include "fp-config.h"
#include "host-summary.h"
#include "snapshot.h"

G_BEGIN_DECLS

/* Version of the hints.json schema; bumped only for incompatible changes. */
#define FP_HINTS_VERSION 1
#define FP_HINTS_FILE_NAME "hints.json"
/* Least time between two rewrites caused by rates alone, seconds. */
#define FP_HINTS_RATE_INTERVAL_S 10.0

char *fp_hints_format(const FpSnapshot *snapshot, const FpHostFigures *figures, const char *host);
gboolean fp_hints_write(const char *path, const char *text, GError **error);

typedef struct _FpHints FpHints;

FpHints *fp_hints_new(const char *path, double rate_interval_s);
FpHints *fp_hints_new_from_config(const FpConfig *config);
void fp_hints_free(FpHints *hints);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpHints, fp_hints_free)

void fp_hints_set_host(FpHints *hints, const char *host);
void fp_hints_set_async(FpHints *hints, gboolean async);
void fp_hints_consume(FpHints *hints, const FpSnapshot *snapshot, const FpHostFigures *figures);
const char *fp_hints_get_path(const FpHints *hints);
guint64 fp_hints_get_writes(const FpHints *hints);
const FpFileWriteStatus *fp_hints_get_write_status(const FpHints *hints);

G_END_DECLS
