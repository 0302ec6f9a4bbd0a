/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tuner: the consumer that acts.  It takes each sweep's snapshot and each
 * elephant event, keeps the elephant flows it watches, asks the planner for
 * the desired state of the shared egress, and, in enforce mode, applies the
 * difference through its knobs (tc.c, ctmark.c), journaling each change
 * before it is made (journal.c).  It knows no sensing, no inventory and no
 * bus: main.c wires it.
 *
 * Wiring (main.c):
 *   fp_tuner_new()            at start-up, after the config is loaded; it
 *                             first undoes what a crashed run left
 *   fp_tuner_set_libvirt()    the inventory's connection, for libvirt's pins
 *   fp_tuner_consume()        each sweep, with the sweep's snapshot
 *   fp_tuner_elephant()       each elephant event: demotes at once
 *   fp_tuner_flow_ended()     when conntrack destroys a flow (optional: the
 *                             tuner also finds out by itself at the next sweep)
 *   fp_tuner_reconfigure()    on SIGHUP, with the config read again
 *   fp_tuner_free()           on SIGTERM/SIGINT: undoes everything
 * and D-Bus (dbus.c): fp_tuner_describe(), fp_tuner_set_mode(),
 * fp_tuner_undo_all().
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "fp-config.h"
#include "libvirt-pin.h"
#include "snapshot.h"

G_BEGIN_DECLS

typedef struct _FpTuner FpTuner;

FpTuner *fp_tuner_new(const FpConfig *config, GError **error);
void fp_tuner_free(FpTuner *tuner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpTuner, fp_tuner_free)

void fp_tuner_consume(FpTuner *tuner, const FpSnapshot *snapshot);
void fp_tuner_elephant(FpTuner *tuner, const FpFlow *flow);
double fp_tuner_egress_capacity(FpTuner *tuner);
void fp_tuner_flow_ended(FpTuner *tuner, const FpFlowKey *key);
gboolean fp_tuner_set_mode(FpTuner *tuner, FpMode mode, GError **error);
FpMode fp_tuner_get_mode(FpTuner *tuner);
void fp_tuner_set_libvirt(FpTuner *tuner, FpConnectionFunc get, gpointer data);
gboolean fp_tuner_reconfigure(FpTuner *tuner, const FpConfig *config, GError **error);
gboolean fp_tuner_undo_all(FpTuner *tuner, GError **error);
GVariant *fp_tuner_describe(FpTuner *tuner);
char *fp_tuner_plan_text(FpTuner *tuner);

G_END_DECLS
