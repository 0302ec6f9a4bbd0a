/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Fixture snapshots for the consumers' tests: a few figures per VM. */
#pragma once

#include <glib.h>

#include "snapshot.h"

/* Times of fixture snapshots: t seconds after these. */
#define FP_TEST_MONO_BASE_US G_GINT64_CONSTANT(1000000000)
#define FP_TEST_REAL_BASE_S G_GINT64_CONSTANT(1735689600) /* 2025-01-01T00:00:00Z */

/**
 * FpTestVm:
 * @uuid: the domain uuid
 * @name: the domain name
 * @nova: (nullable): the Nova instance uuid, %NULL: not a Nova instance
 * @klass: the class in effect (@pinned when set, else @learned)
 * @pinned: the operator's pin, %FP_CLASS_UNKNOWN (0) when none
 * @rx_bps: rate towards the VM, bytes/s
 * @tx_bps: rate from the VM, bytes/s
 * @elephant_share: share of its bytes in elephant flows
 * @confidence: confidence in @klass
 */
typedef struct {
    const char *uuid;
    const char *name;
    const char *nova;
    FpClass klass;
    FpClass pinned;
    double rx_bps;
    double tx_bps;
    double elephant_share;
    double confidence;
} FpTestVm;

FpSnapshot *fp_test_snapshot(guint64 seq, double t_s, const FpTestVm *vms, gsize n_vms);
