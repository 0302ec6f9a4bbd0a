/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "footprint-model.h"

typedef enum {
    FP_BACKEND_AUTO,
    FP_BACKEND_BPF_NETFILTER,
    FP_BACKEND_CTNETLINK,
} FpBackend;

typedef enum {
    FP_MODE_OBSERVE,
    FP_MODE_ADVISE,
    FP_MODE_ENFORCE,
} FpMode;

/**
 * FpTuningConfig:
 * @mode: what the tuner may do: observe (nothing), advise (plan only),
 *     enforce (apply, journaled)
 * @egress: (nullable) (array zero-terminated=1): the shared egress devices;
 *     %NULL: the devices of the default routes
 * @egress_rate_mbit: the rate to shape each egress device to, Mbit/s; 0:
 *     the device's own speed (a device without one is not managed)
 * @ct_mark_mask: footprintd's bits of the conntrack mark (contiguous);
 *     others' bits are never touched
 * @fair_slots: leaves of the demoted band, one per VM with demoted traffic
 *     while there are enough (fairness between VMs, not flows)
 * @demoted_min_share: share of the rate the demoted band is guaranteed
 *     when the other band is busy; it may always borrow up to all of it
 * @demote_throughput_vms: demote all traffic of VMs whose class is
 *     throughput, not only their elephant flows
 * @hold_s: hysteresis: a VM's demotion, and a device's shaping, lasts at
 *     least this long
 * @flow_idle_s: a demoted flow moving under a tenth of the elephant rate
 *     for this long returns to the normal band
 * @max_changes_per_minute: rate limit on VM demotions and releases (flow
 *     marks follow elephants at once)
 * @max_flows: demoted flows tracked at once; beyond, elephants are left
 *     alone and counted
 *
 * The [tuning] group (tuning/, footprintd.conf(5)).
 */
typedef struct {
    FpMode mode;
    char **egress;
    guint egress_rate_mbit;
    guint ct_mark_mask;
    guint fair_slots;
    double demoted_min_share;
    gboolean demote_throughput_vms;
    guint hold_s;
    guint flow_idle_s;
    guint max_changes_per_minute;
    guint max_flows;
} FpTuningConfig;

/* Every key of footprintd.conf; conf/footprintd.conf documents each one. */
typedef struct {
    /* [agent] */
    char *state_dir;
    char *runtime_dir;
    guint sweep_interval_ms;
    guint idle_timeout_s;
    /* [sense] */
    FpBackend backend;
    guint64 elephant_bytes;
    guint elephant_window_s;
    guint flow_table_size;
    guint ringbuf_size;
    int hook_priority;
    gboolean enable_acct;
    /* [dbus] */
    char *bus_name;
    char *read_group;
    /* [libvirt] */
    char *libvirt_uri;
    /* [footprint]: the model's thresholds, checked by fp_footprint_policy_check() */
    FpFootprintPolicy footprint;
    /* [metrics] */
    char *metrics_textfile; /* NULL: no text file */
    guint metrics_interval_s;
    /* [tuning] */
    FpTuningConfig tuning;
} FpConfig;

FpConfig *fp_config_new_default(void);
gboolean fp_config_load_data(FpConfig *config, const char *data, gsize len, const char *origin,
                             GError **error);
gboolean fp_config_load_file(FpConfig *config, const char *path, GError **error);
void fp_config_free(FpConfig *config);
char **fp_config_list_keys(void);
const char *fp_backend_to_string(FpBackend backend);
const char *fp_mode_to_string(FpMode mode);
gboolean fp_mode_from_string(const char *text, FpMode *mode);
FpConfig *fp_config_copy(const FpConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpConfig, fp_config_free)
