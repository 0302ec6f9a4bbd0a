/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tc: the "tc" knob, footprintd's tree on a shared egress device
 * (planner.h draws it): an HTB root qdisc fd00:, its classes, and the
 * cls_bpf classifier of bpf/fp_tc.bpf.c, applied with libnl-route and
 * libbpf's rtnetlink filter calls, and read back to confirm.  It also
 * reads what a device has (ifindex, speed, root qdisc) for the planner, and
 * which devices carry the default routes.
 *
 * On a multi-queue device the tree replaces the per-queue qdiscs of mq:
 * all queues go through one root qdisc and its one lock, which is what
 * lets one shaper order and bound the whole device.  Its cost is measured
 * by tests/perf/bench-tc-rootlock.sh.
 */
#pragma once

#include <glib.h>

#include "fp-config.h"
#include "journal.h"
#include "planner.h"

G_BEGIN_DECLS

typedef struct _FpTc FpTc;

FpTc *fp_tc_new(const FpTuningConfig *config, GError **error);
void fp_tc_free(FpTc *tc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpTc, fp_tc_free)

gboolean fp_tc_prepare(FpTc *tc, GError **error);
FpEgressDevice *fp_tc_read_device(FpTc *tc, const char *name, GError **error);
char **fp_tc_default_egress(FpTc *tc, GError **error);
char *fp_tc_root_to_string(const FpEgressDevice *dev);
gboolean fp_tc_apply(FpTc *tc, const FpPlanDevice *device, GError **error);
gboolean fp_tc_verify(FpTc *tc, const FpPlanDevice *device, GError **error);
gboolean fp_tc_remove(FpTc *tc, const char *name, gboolean *removed, GError **error);
gboolean fp_tc_set_vms(FpTc *tc, GHashTable *slots, GError **error);
const char *fp_tc_classifier_mode(FpTc *tc);

extern const FpKnobClass fp_tc_knob;

G_END_DECLS
