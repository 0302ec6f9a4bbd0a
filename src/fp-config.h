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

/* Every key of footprintd.conf; conf/footprintd.conf documents each one. */
typedef struct {
    /* [agent] */
    FpMode mode;
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
    /* [libvirt] */
    char *libvirt_uri;
    /* [footprint]: the model's thresholds, checked by fp_footprint_policy_check() */
    FpFootprintPolicy footprint;
    guint forget_after_days; /* [footprint]: VMs not seen for this long are forgotten */
    /* [metrics] */
    char *metrics_textfile; /* NULL: no text file */
    guint metrics_interval_s;
} FpConfig;

FpConfig *fp_config_new_default(void);
FpConfig *fp_config_dup(const FpConfig *config);
gboolean fp_config_load_data(FpConfig *config, const char *data, gsize len, const char *origin,
                             GError **error);
gboolean fp_config_load_file(FpConfig *config, const char *path, GError **error);
void fp_config_free(FpConfig *config);
GStrv fp_config_reload(FpConfig *running, const FpConfig *next, guint *n_applied);
gboolean fp_config_key_applies_at_reload(const char *name);
char **fp_config_list_keys(void);
const char *fp_backend_to_string(FpBackend backend);
const char *fp_mode_to_string(FpMode mode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpConfig, fp_config_free)
