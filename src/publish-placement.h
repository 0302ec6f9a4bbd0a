/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * publish-placement: the host summary's trait on this host's compute-node
 * resource provider in OpenStack Placement, kept current from the main
 * loop with async HTTP (libsoup).  A consumer of each sweep: it takes the
 * snapshot and its host summary, and never blocks or fails the sweep;
 * Placement down or slow is retried with backoff and reported in the
 * agent's health.
 */
#pragma once

#include <glib.h>

#include "fp-config.h"
#include "health.h"
#include "host-summary.h"
#include "snapshot.h"

G_BEGIN_DECLS

typedef struct _FpPlacement FpPlacement;

FpPlacement *fp_placement_new(const FpConfig *config, GError **error);
void fp_placement_free(FpPlacement *placement);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpPlacement, fp_placement_free)

gboolean fp_placement_enabled(const FpPlacement *placement);
void fp_placement_set_hypervisor_hostname(FpPlacement *placement, const char *hostname);
const char *fp_placement_get_provider_name(const FpPlacement *placement);
void fp_placement_consume(FpPlacement *placement, const FpSnapshot *snapshot,
                          const FpHostFigures *figures);
void fp_placement_sync_now(FpPlacement *placement);
void fp_placement_fill_health(FpPlacement *placement, FpHealth *health);

G_END_DECLS
