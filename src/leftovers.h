/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * leftovers: what a footprintd that stopped or died left on the host.
 */
#pragma once

#include <glib.h>

#include "fp-config.h"

G_BEGIN_DECLS

guint fp_leftovers_remove_temps(const FpConfig *config);

G_END_DECLS
