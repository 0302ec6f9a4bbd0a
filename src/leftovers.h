/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * leftovers: what a footprintd that stopped or died left on the host, and
 * putting it back without the agent (footprintd --restore, the unit's
 * ExecStopPost=): nf_conntrack_acct, the metrics file, temporary files.
 */
#pragma once

#include <glib.h>

#include "fp-config.h"

G_BEGIN_DECLS

guint fp_leftovers_remove_temps(const FpConfig *config);
gboolean fp_leftovers_restore(const FpConfig *config, GString *report, GError **error);

G_END_DECLS
