/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprintd.conf: a GKeyFile.  Every key is known here with its type and
 * range; an unknown group or key (a typo) or a bad value is an error naming
 * the key, and nothing of a failed load is applied: the daemon never starts
 * half-configured.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fp-error.h"
#include "cpuset.h"
#include "fp-config.h"
#include "footprint.h"

typedef enum {
    FP_KEY_UINT,
    FP_KEY_UINT64,
    FP_KEY_INT,
    FP_KEY_BOOL,
    FP_KEY_STRING,
    FP_KEY_PATH,
    FP_KEY_ENUM,
    FP_KEY_DOUBLE,          /* finite; the range is checked by the key's owner */
    FP_KEY_OPTIONAL_PATH,   /* absolute, or empty for none (NULL) */
    FP_KEY_OPTIONAL_STRING, /* UTF-8, or empty for none (NULL) */
    FP_KEY_MASK,            /* a 32-bit mask, hexadecimal ("0x00ff0000") or decimal, not 0 */
    FP_KEY_NAMES,           /* device names separated by commas or spaces; empty: none (NULL) */
} FpKeyType;

/* When a changed key takes effect (footprintd(8) lists the run-time ones). */
typedef enum {
    FP_APPLY_RESTART, /* at the next start: sizes and programs loaded once, paths, the bus */
    FP_APPLY_RELOAD,  /* on SIGHUP too: fp_config_reload() */
} FpKeyApply;

typedef struct {
    const char *group;
    const char *key;
    FpKeyType type;
    FpKeyApply apply;
    gsize offset;
    gint64 min, max;            /* numeric keys */
    const char *const *choices; /* FP_KEY_ENUM, index is the value */
} FpKeyDef;

/*
 * Keys that were documented once and are gone: a file that sets one is
 * refused with the reason (as a typo would be, but saying what to do).
 */
static const struct {
    const char *group;
    const char *key;
    const char *why;
} removed_keys[] = {
    {"dbus", "read_group",
     "removed: who may read is for the D-Bus policy to say, which the bus enforces and "
     "footprintd cannot change: edit <policy group=\"...\"> in "
     "/usr/share/dbus-1/system.d/org.footprintd.Footprint1.conf (or override it in "
     "/etc/dbus-1/system.d/) and drop this line"},
    {"agent", "mode", "moved: it is [tuning] mode now (observe, advise or enforce)"},
    {"dbus", "bus_name",
     "removed: the name is org.footprintd.Footprint1, fixed: footprintctl calls it and the "
     "D-Bus policy grants it by that name, so another name would only lock every reader out; "
     "drop this line"},
};

static const char *const mode_names[] = {"observe", "advise", "enforce", NULL};
static const char *const backend_names[] = {"auto", "bpf-netfilter", "ctnetlink", "bpf-fentry",
                                            NULL};
static const char *const placement_auth_names[] = {"none", "token", "password",
                                                   "application_credential", NULL};
static const char *const placement_interface_names[] = {"public", "internal", "admin", NULL};

#define OFF(field) G_STRUCT_OFFSET(FpConfig, field)
#define FOFF(field) (OFF(footprint) + G_STRUCT_OFFSET(FpFootprintPolicy, field))
#define TOFF(field) (OFF(tuning) + G_STRUCT_OFFSET(FpTuningConfig, field))
#define POFF(field) (OFF(placement) + G_STRUCT_OFFSET(FpPlacementConfig, field))

/* The strings of [placement], copied and freed with the rest of FpConfig. */
static const gsize placement_strings[] = {
    G_STRUCT_OFFSET(FpPlacementConfig, url),
    G_STRUCT_OFFSET(FpPlacementConfig, provider),
    G_STRUCT_OFFSET(FpPlacementConfig, token),
    G_STRUCT_OFFSET(FpPlacementConfig, auth_url),
    G_STRUCT_OFFSET(FpPlacementConfig, username),
    G_STRUCT_OFFSET(FpPlacementConfig, password),
    G_STRUCT_OFFSET(FpPlacementConfig, project_name),
    G_STRUCT_OFFSET(FpPlacementConfig, user_domain_name),
    G_STRUCT_OFFSET(FpPlacementConfig, project_domain_name),
    G_STRUCT_OFFSET(FpPlacementConfig, application_credential_id),
    G_STRUCT_OFFSET(FpPlacementConfig, application_credential_secret),
    G_STRUCT_OFFSET(FpPlacementConfig, region_name),
    G_STRUCT_OFFSET(FpPlacementConfig, ca_file),
};

static const FpKeyDef key_defs[] = {
    {"agent", "state_dir", FP_KEY_PATH, FP_APPLY_RESTART, OFF(state_dir), 0, 0, NULL},
    {"agent", "runtime_dir", FP_KEY_PATH, FP_APPLY_RESTART, OFF(runtime_dir), 0, 0, NULL},
    {"agent", "sweep_interval_ms", FP_KEY_UINT, FP_APPLY_RELOAD, OFF(sweep_interval_ms), 100, 60000,
     NULL},
    {"agent", "idle_timeout", FP_KEY_UINT, FP_APPLY_RESTART, OFF(idle_timeout_s), 1, 86400, NULL},
    {"sense", "backend", FP_KEY_ENUM, FP_APPLY_RESTART, OFF(backend), 0, 0, backend_names},
    {"sense", "elephant_bytes", FP_KEY_UINT64, FP_APPLY_RESTART, OFF(elephant_bytes), 65536,
     G_GINT64_CONSTANT(1) << 40, NULL},
    {"sense", "elephant_window", FP_KEY_UINT, FP_APPLY_RESTART, OFF(elephant_window_s), 1, 3600,
     NULL},
    {"sense", "flow_table_size", FP_KEY_UINT, FP_APPLY_RESTART, OFF(flow_table_size), 1024,
     16 * 1024 * 1024, NULL},
    {"sense", "flows_max", FP_KEY_UINT, FP_APPLY_RESTART, OFF(flows_max), 1024, 16 * 1024 * 1024,
     NULL},
    {"sense", "ringbuf_size", FP_KEY_UINT, FP_APPLY_RESTART, OFF(ringbuf_size), 4096,
     64 * 1024 * 1024, NULL},
    {"sense", "hook_priority", FP_KEY_INT, FP_APPLY_RESTART, OFF(hook_priority), 1, 10000, NULL},
    {"sense", "enable_acct", FP_KEY_BOOL, FP_APPLY_RESTART, OFF(enable_acct), 0, 0, NULL},
    {"libvirt", "uri", FP_KEY_STRING, FP_APPLY_RESTART, OFF(libvirt_uri), 0, 0, NULL},
    /* [footprint]: ranges are fp_footprint_policy_check()'s, applied after
     * the whole file is read (some thresholds depend on each other). */
    {"footprint", "window", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(window_s), 0, 0, NULL},
    {"footprint", "short_window", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(short_window_s), 0, 0, NULL},
    {"footprint", "warmup", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(warmup_s), 0, 0, NULL},
    {"footprint", "idle_bps", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(idle_bps), 0, 0, NULL},
    {"footprint", "idle_flow_rate", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(idle_flow_rate), 0, 0,
     NULL},
    {"footprint", "throughput_share", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(throughput_share), 0, 0,
     NULL},
    {"footprint", "latency_share", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(latency_share), 0, 0, NULL},
    {"footprint", "mixed_mice_rate", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(mixed_mice_rate), 0, 0,
     NULL},
    {"footprint", "hysteresis_share", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(hysteresis_share), 0, 0,
     NULL},
    {"footprint", "hysteresis_ratio", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(hysteresis_ratio), 0, 0,
     NULL},
    {"footprint", "switch_after", FP_KEY_UINT, FP_APPLY_RELOAD, FOFF(switch_after), 1, 1000, NULL},
    {"footprint", "metadata_interval", FP_KEY_DOUBLE, FP_APPLY_RELOAD, FOFF(metadata_interval_s), 0,
     0, NULL},
    {"footprint", "metadata_confidence_step", FP_KEY_DOUBLE, FP_APPLY_RELOAD,
     FOFF(metadata_confidence_step), 0, 0, NULL},
    {"footprint", "forget_after_days", FP_KEY_UINT, FP_APPLY_RELOAD, OFF(forget_after_days), 1,
     36500, NULL},
    {"footprint", "save_interval", FP_KEY_UINT, FP_APPLY_RELOAD, OFF(save_interval_s), 1, 86400,
     NULL},
    {"metrics", "textfile", FP_KEY_OPTIONAL_PATH, FP_APPLY_RELOAD, OFF(metrics_textfile), 0, 0,
     NULL},
    {"metrics", "interval", FP_KEY_UINT, FP_APPLY_RELOAD, OFF(metrics_interval_s), 1, 3600, NULL},
    /* [placement]: the doubles' ranges and which keys each auth needs are
     * checked by placement_check() once the whole file is read. */
    {"placement", "url", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(url), 0, 0, NULL},
    {"placement", "provider", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(provider), 0, 0, NULL},
    {"placement", "auth", FP_KEY_ENUM, FP_APPLY_RESTART, POFF(auth), 0, 0, placement_auth_names},
    {"placement", "token", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(token), 0, 0, NULL},
    {"placement", "auth_url", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(auth_url), 0, 0, NULL},
    {"placement", "username", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(username), 0, 0, NULL},
    {"placement", "password", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(password), 0, 0, NULL},
    {"placement", "project_name", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(project_name), 0,
     0, NULL},
    {"placement", "user_domain_name", FP_KEY_STRING, FP_APPLY_RESTART, POFF(user_domain_name), 0, 0,
     NULL},
    {"placement", "project_domain_name", FP_KEY_STRING, FP_APPLY_RESTART, POFF(project_domain_name),
     0, 0, NULL},
    {"placement", "application_credential_id", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART,
     POFF(application_credential_id), 0, 0, NULL},
    {"placement", "application_credential_secret", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART,
     POFF(application_credential_secret), 0, 0, NULL},
    {"placement", "region_name", FP_KEY_OPTIONAL_STRING, FP_APPLY_RESTART, POFF(region_name), 0, 0,
     NULL},
    {"placement", "interface", FP_KEY_ENUM, FP_APPLY_RESTART, POFF(interface), 0, 0,
     placement_interface_names},
    {"placement", "ca_file", FP_KEY_OPTIONAL_PATH, FP_APPLY_RESTART, POFF(ca_file), 0, 0, NULL},
    {"placement", "timeout", FP_KEY_UINT, FP_APPLY_RESTART, POFF(timeout_s), 1, 300, NULL},
    {"placement", "retry_max", FP_KEY_UINT, FP_APPLY_RESTART, POFF(retry_max_s), 1, 3600, NULL},
    {"placement", "resync", FP_KEY_UINT, FP_APPLY_RESTART, POFF(resync_s), 10, 86400, NULL},
    {"placement", "egress_capacity_mbit", FP_KEY_UINT, FP_APPLY_RESTART, POFF(egress_capacity_mbit),
     0, 10000000, NULL},
    {"placement", "elephant_load", FP_KEY_DOUBLE, FP_APPLY_RESTART, POFF(elephant_load), 0, 0,
     NULL},
    {"placement", "hysteresis", FP_KEY_DOUBLE, FP_APPLY_RESTART, POFF(hysteresis), 0, 0, NULL},
    {"placement", "hold", FP_KEY_DOUBLE, FP_APPLY_RESTART, POFF(hold_s), 0, 0, NULL},
    {"placement", "mature_after", FP_KEY_DOUBLE, FP_APPLY_RESTART, POFF(mature_after_s), 0, 0,
     NULL},
    {"placement", "hints", FP_KEY_BOOL, FP_APPLY_RESTART, POFF(hints), 0, 0, NULL},
    /* [tuning]: ct_mark_mask, fair_slots and demoted_min_share are checked
     * together by check_tuning() after the whole file is read.  All apply at
     * SIGHUP: fp_tuner_reconfigure() undoes what a new mask or slot count
     * would leave behind. */
    {"tuning", "mode", FP_KEY_ENUM, FP_APPLY_RELOAD, TOFF(mode), 0, 0, mode_names},
    {"tuning", "egress", FP_KEY_NAMES, FP_APPLY_RELOAD, TOFF(egress), 0, 0, NULL},
    {"tuning", "egress_rate_mbit", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(egress_rate_mbit), 0,
     10000000, NULL},
    {"tuning", "ct_mark_mask", FP_KEY_MASK, FP_APPLY_RELOAD, TOFF(ct_mark_mask), 0, 0, NULL},
    {"tuning", "fair_slots", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(fair_slots), 1, 255, NULL},
    {"tuning", "demoted_min_share", FP_KEY_DOUBLE, FP_APPLY_RELOAD, TOFF(demoted_min_share), 0, 0,
     NULL},
    {"tuning", "demote_throughput_vms", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(demote_throughput_vms),
     0, 0, NULL},
    {"tuning", "split_gso", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(split_gso), 0, 0, NULL},
    {"tuning", "demotion_hold", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(hold_s), 0, 86400, NULL},
    {"tuning", "flow_idle", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(flow_idle_s), 1, 3600, NULL},
    {"tuning", "max_changes_per_minute", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(max_changes_per_minute),
     1, 6000, NULL},
    {"tuning", "max_flows", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(max_flows), 1, 1000000, NULL},
    /* CPU separation (issue 15); elephant_cpus and elephant_cpu_share are
     * checked by check_tuning(). */
    {"tuning", "cpu_separation", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(cpu_separation), 0, 0, NULL},
    {"tuning", "elephant_cpus", FP_KEY_OPTIONAL_STRING, FP_APPLY_RELOAD, TOFF(elephant_cpus), 0, 0,
     NULL},
    {"tuning", "elephant_cpu_share", FP_KEY_DOUBLE, FP_APPLY_RELOAD, TOFF(elephant_cpu_share), 0, 0,
     NULL},
    {"tuning", "elephant_vcpus", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(elephant_vcpus), 0, 0, NULL},
    {"tuning", "qemu_run_dir", FP_KEY_PATH, FP_APPLY_RELOAD, TOFF(qemu_run_dir), 0, 0, NULL},
    {"tuning", "cpu_hold", FP_KEY_UINT, FP_APPLY_RELOAD, TOFF(cpu_hold_s), 0, 86400, NULL},
    {"tuning", "nic_devices", FP_KEY_NAMES, FP_APPLY_RELOAD, TOFF(nic_devices), 0, 0, NULL},
    {"tuning", "nic_irqs", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(nic_irqs), 0, 0, NULL},
    {"tuning", "nic_rss", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(nic_rss), 0, 0, NULL},
    {"tuning", "irqbalance_override", FP_KEY_BOOL, FP_APPLY_RELOAD, TOFF(irqbalance_override), 0, 0,
     NULL},
};

static char **placement_string(FpPlacementConfig *p, gsize i)
{
    return (char **)((guint8 *)p + placement_strings[i]);
}

/**
 * fp_config_new_default:
 *
 * Returns: (transfer full): the built-in defaults, as documented in
 * conf/footprintd.conf.
 */
FpConfig *fp_config_new_default(void)
{
    FpConfig *c = g_new0(FpConfig, 1);

    c->state_dir = g_strdup("/var/lib/footprintd");
    c->runtime_dir = g_strdup("/run/footprintd");
    c->sweep_interval_ms = 1000;
    c->idle_timeout_s = 300;
    c->backend = FP_BACKEND_AUTO;
    c->elephant_bytes = 10 * 1024 * 1024;
    c->elephant_window_s = 10;
    c->flow_table_size = FP_FLOWS_MAX_DEFAULT;
    c->flows_max = 32768;
    c->ringbuf_size = FP_EVENTS_BYTES_DEFAULT;
    c->hook_priority = 300;
    c->enable_acct = TRUE;
    c->libvirt_uri = g_strdup("qemu:///system");
    fp_footprint_policy_init(&c->footprint);
    c->forget_after_days = 30;
    c->save_interval_s = 60;
    c->metrics_textfile = g_strdup("/var/lib/prometheus/node-exporter/footprintd.prom");
    c->metrics_interval_s = 10;
    c->placement = (FpPlacementConfig){
        .auth = FP_PLACEMENT_AUTH_NONE,
        .user_domain_name = g_strdup("Default"),
        .project_domain_name = g_strdup("Default"),
        .interface = FP_PLACEMENT_INTERFACE_PUBLIC,
        .timeout_s = 10,
        .retry_max_s = 300,
        .resync_s = 600,
        .egress_capacity_mbit = 0,
        .elephant_load = 0.3,
        .hysteresis = 0.2,
        .hold_s = 60.0,
        .mature_after_s = 120.0,
        .hints = TRUE,
    };
    c->tuning.mode = FP_MODE_ADVISE;
    c->tuning.egress = NULL;
    c->tuning.egress_rate_mbit = 0;
    c->tuning.ct_mark_mask = 0x00ff0000;
    c->tuning.fair_slots = 16;
    c->tuning.demoted_min_share = 0.1;
    c->tuning.demote_throughput_vms = TRUE;
    c->tuning.split_gso = FALSE;
    c->tuning.hold_s = 30;
    c->tuning.flow_idle_s = 5;
    c->tuning.max_changes_per_minute = 30;
    c->tuning.max_flows = 4096;
    c->tuning.cpu_separation = TRUE;
    c->tuning.elephant_cpus = NULL;
    c->tuning.elephant_cpu_share = 0;
    c->tuning.elephant_vcpus = FALSE;
    c->tuning.qemu_run_dir = g_strdup("/run/libvirt/qemu");
    c->tuning.cpu_hold_s = 5;
    c->tuning.nic_devices = NULL;
    c->tuning.nic_irqs = TRUE;
    c->tuning.nic_rss = TRUE;
    c->tuning.irqbalance_override = FALSE;
    return c;
}

void fp_config_free(FpConfig *config)
{
    if (!config)
        return;
    g_free(config->state_dir);
    g_free(config->runtime_dir);
    g_free(config->libvirt_uri);
    g_free(config->metrics_textfile);
    for (gsize i = 0; i < G_N_ELEMENTS(placement_strings); i++)
        g_free(*placement_string(&config->placement, i));
    g_strfreev(config->tuning.egress);
    g_free(config->tuning.elephant_cpus);
    g_free(config->tuning.qemu_run_dir);
    g_strfreev(config->tuning.nic_devices);
    g_free(config);
}

static const FpKeyDef *find_key(const char *group, const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++)
        if (g_str_equal(key_defs[i].group, group) && g_str_equal(key_defs[i].key, key))
            return &key_defs[i];
    return NULL;
}

/* A group whose keys are all gone ([dbus]) is still known: a file copied
 * from an older footprintd.conf keeps the header, and a removed key in it
 * must be refused with its reason, not as an unknown group. */
static gboolean group_known(const char *group)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++)
        if (g_str_equal(key_defs[i].group, group))
            return TRUE;
    for (gsize i = 0; i < G_N_ELEMENTS(removed_keys); i++)
        if (g_str_equal(removed_keys[i].group, group))
            return TRUE;
    return FALSE;
}

static gboolean parse_number(const char *text, gboolean is_signed, gint64 *out)
{
    char *end = NULL;

    errno = 0;
    if (is_signed) {
        *out = g_ascii_strtoll(text, &end, 10);
    } else {
        guint64 v;

        if (text[0] == '-')
            return FALSE;
        v = g_ascii_strtoull(text, &end, 10);
        if (v > G_MAXINT64)
            return FALSE;
        *out = (gint64)v;
    }
    return errno == 0 && end != text && *end == '\0';
}

static gboolean set_value(FpConfig *c, const FpKeyDef *def, const char *origin, const char *raw,
                          GError **error)
{
    guint8 *field = (guint8 *)c + def->offset;
    g_autofree char *text = g_strstrip(g_strdup(raw));
    gint64 v;

    switch (def->type) {
    case FP_KEY_UINT:
    case FP_KEY_UINT64:
    case FP_KEY_INT:
        if (!parse_number(text, def->type == FP_KEY_INT, &v) || v < def->min || v > def->max) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "%s: [%s] %s: '%s' is not an integer in %" G_GINT64_FORMAT
                        "..%" G_GINT64_FORMAT,
                        origin, def->group, def->key, text, def->min, def->max);
            return FALSE;
        }
        if (def->type == FP_KEY_UINT64)
            *(guint64 *)field = (guint64)v;
        else if (def->type == FP_KEY_INT)
            *(int *)field = (int)v;
        else
            *(guint *)field = (guint)v;
        return TRUE;
    case FP_KEY_BOOL:
        if (g_str_equal(text, "true") || g_str_equal(text, "yes") || g_str_equal(text, "1")) {
            *(gboolean *)field = TRUE;
        } else if (g_str_equal(text, "false") || g_str_equal(text, "no") ||
                   g_str_equal(text, "0")) {
            *(gboolean *)field = FALSE;
        } else {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "%s: [%s] %s: '%s' is not a boolean (true/false)", origin, def->group,
                        def->key, text);
            return FALSE;
        }
        return TRUE;
    case FP_KEY_ENUM:
        for (guint i = 0; def->choices[i]; i++) {
            if (g_str_equal(text, def->choices[i])) {
                *(int *)field = (int)i;
                return TRUE;
            }
        }
        {
            g_autofree char *all = g_strjoinv(", ", (char **)def->choices);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] %s: '%s' is not one of %s",
                        origin, def->group, def->key, text, all);
        }
        return FALSE;
    case FP_KEY_DOUBLE: {
        char *end = NULL;
        double d;

        errno = 0;
        d = g_ascii_strtod(text, &end);
        if (errno != 0 || end == text || *end != '\0' || !isfinite(d)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] %s: '%s' is not a number",
                        origin, def->group, def->key, text);
            return FALSE;
        }
        memcpy(field, &d, sizeof(d));
        return TRUE;
    }
    case FP_KEY_OPTIONAL_STRING:
        if (text[0] != '\0' && !g_utf8_validate(text, -1, NULL)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] %s: not UTF-8", origin,
                        def->group, def->key);
            return FALSE;
        }
        /* fall through */
    case FP_KEY_OPTIONAL_PATH:
        if (text[0] == '\0') {
            g_clear_pointer((char **)field, g_free);
            return TRUE;
        }
        if (def->type == FP_KEY_OPTIONAL_PATH &&
            (!g_path_is_absolute(text) || !g_utf8_validate(text, -1, NULL))) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "%s: [%s] %s: '%s' is not an absolute path (or empty for none)", origin,
                        def->group, def->key, text);
            return FALSE;
        }
        g_free(*(char **)field);
        *(char **)field = g_steal_pointer(&text);
        return TRUE;
    case FP_KEY_MASK: {
        char *end = NULL;
        guint64 m;

        errno = 0;
        m = g_ascii_strtoull(text, &end, 0);
        if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || m == 0 ||
            m > G_MAXUINT32) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "%s: [%s] %s: '%s' is not a non-zero 32-bit mask (e.g. 0x00ff0000)", origin,
                        def->group, def->key, text);
            return FALSE;
        }
        *(guint *)field = (guint)m;
        return TRUE;
    }
    case FP_KEY_NAMES: {
        g_auto(GStrv) parts = NULL;
        GStrvBuilder *b = NULL;
        guint n = 0;

        /* g_regex_split_simple() returns NULL for text that is not UTF-8. */
        if (g_utf8_validate(text, -1, NULL))
            parts = g_regex_split_simple("[,;[:space:]]+", text, 0, 0);
        if (parts == NULL) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] %s: not UTF-8", origin,
                        def->group, def->key);
            return FALSE;
        }
        b = g_strv_builder_new();
        for (guint i = 0; parts[i]; i++) {
            /* IFNAMSIZ is 16 with the NUL: what the kernel takes as a name. */
            if (!*parts[i])
                continue;
            if (strlen(parts[i]) > 15 || strchr(parts[i], '/') ||
                !g_utf8_validate(parts[i], -1, NULL)) {
                g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                            "%s: [%s] %s: '%s' is not a device name", origin, def->group, def->key,
                            parts[i]);
                g_strv_builder_unref(b);
                return FALSE;
            }
            g_strv_builder_add(b, parts[i]);
            n++;
        }
        g_strfreev(*(char ***)field);
        *(char ***)field = n ? g_strv_builder_end(b) : NULL;
        g_strv_builder_unref(b);
        return TRUE;
    }
    case FP_KEY_PATH:
        if (!g_path_is_absolute(text)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "%s: [%s] %s: '%s' is not an absolute path", origin, def->group, def->key,
                        text);
            return FALSE;
        }
        /* fall through */
    case FP_KEY_STRING:
        if (text[0] == '\0' || !g_utf8_validate(text, -1, NULL)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] %s: empty or not UTF-8",
                        origin, def->group, def->key);
            return FALSE;
        }
        g_free(*(char **)field);
        *(char **)field = g_steal_pointer(&text);
        return TRUE;
    }
    g_assert_not_reached();
}

static void copy_config(FpConfig *dst, const FpConfig *src)
{
    FpConfig tmp = *src;

    tmp.state_dir = g_strdup(src->state_dir);
    tmp.runtime_dir = g_strdup(src->runtime_dir);
    tmp.libvirt_uri = g_strdup(src->libvirt_uri);
    tmp.metrics_textfile = g_strdup(src->metrics_textfile);
    tmp.tuning.egress = g_strdupv(src->tuning.egress);
    g_strfreev(dst->tuning.egress);
    tmp.tuning.elephant_cpus = g_strdup(src->tuning.elephant_cpus);
    g_free(dst->tuning.elephant_cpus);
    tmp.tuning.qemu_run_dir = g_strdup(src->tuning.qemu_run_dir);
    g_free(dst->tuning.qemu_run_dir);
    tmp.tuning.nic_devices = g_strdupv(src->tuning.nic_devices);
    g_strfreev(dst->tuning.nic_devices);
    for (gsize i = 0; i < G_N_ELEMENTS(placement_strings); i++) {
        char **p = placement_string(&tmp.placement, i);

        *p = g_strdup(*p);
        g_free(*placement_string(&dst->placement, i));
    }
    g_free(dst->state_dir);
    g_free(dst->runtime_dir);
    g_free(dst->libvirt_uri);
    g_free(dst->metrics_textfile);
    *dst = tmp;
}

/**
 * fp_config_dup:
 * @config: a configuration
 *
 * Returns: (transfer full): a copy of @config
 */
FpConfig *fp_config_dup(const FpConfig *config)
{
    FpConfig *copy = g_new0(FpConfig, 1);

    copy_config(copy, config);
    return copy;
}

static gboolean http_url_check(const char *key, const char *url, GError **error)
{
    g_autoptr(GUri) uri = NULL;
    const char *scheme;

    if (url == NULL)
        return TRUE;
    uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    scheme = uri != NULL ? g_uri_get_scheme(uri) : NULL;
    if (scheme == NULL ||
        (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) ||
        g_uri_get_host(uri) == NULL || g_uri_get_host(uri)[0] == '\0') {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: '%s' is not an http(s) URL", key, url);
        return FALSE;
    }
    return TRUE;
}

static gboolean needs(const char *auth, const char *key, const char *value, GError **error)
{
    if (value != NULL)
        return TRUE;
    g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "auth = %s needs %s", auth, key);
    return FALSE;
}

/* [placement] as a whole: ranges of the doubles, URLs, and the keys each
 * kind of auth needs (a client that cannot authenticate is a mistake to
 * report at start-up, not a retry loop). */
static gboolean placement_check(const FpPlacementConfig *p, GError **error)
{
    const char *auth = placement_auth_names[p->auth];

    if (!(p->elephant_load >= 0.01 && p->elephant_load <= 1.0)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "elephant_load = %g is out of range (0.01..1)", p->elephant_load);
        return FALSE;
    }
    if (!(p->hysteresis >= 0 && p->hysteresis <= 0.9)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "hysteresis = %g is out of range (0..0.9)",
                    p->hysteresis);
        return FALSE;
    }
    if (!(p->hold_s >= 0 && p->hold_s <= 86400)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "hold = %g is out of range (0..86400)",
                    p->hold_s);
        return FALSE;
    }
    if (!(p->mature_after_s >= 0 && p->mature_after_s <= 86400)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "mature_after = %g is out of range (0..86400)", p->mature_after_s);
        return FALSE;
    }
    if (!http_url_check("url", p->url, error) || !http_url_check("auth_url", p->auth_url, error))
        return FALSE;
    switch (p->auth) {
    case FP_PLACEMENT_AUTH_NONE:
        return TRUE;
    case FP_PLACEMENT_AUTH_TOKEN:
        return needs(auth, "url", p->url, error) && needs(auth, "token", p->token, error);
    case FP_PLACEMENT_AUTH_PASSWORD:
        return needs(auth, "auth_url", p->auth_url, error) &&
               needs(auth, "username", p->username, error) &&
               needs(auth, "password", p->password, error) &&
               needs(auth, "project_name", p->project_name, error);
    case FP_PLACEMENT_AUTH_APPLICATION_CREDENTIAL:
        return needs(auth, "auth_url", p->auth_url, error) &&
               needs(auth, "application_credential_id", p->application_credential_id, error) &&
               needs(auth, "application_credential_secret", p->application_credential_secret,
                     error);
    }
    g_assert_not_reached();
}

/* The [tuning] keys that depend on each other. */
static gboolean check_tuning(const FpTuningConfig *t, const char *origin, GError **error)
{
    guint shift = (guint)g_bit_nth_lsf(t->ct_mark_mask, -1);
    guint32 values = t->ct_mark_mask >> shift;

    /* Contiguous: the slot is (mark & mask) >> shift, one value per slot. */
    if ((values & (values + 1)) != 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "%s: [tuning] ct_mark_mask: 0x%08x is not one run of contiguous bits", origin,
                    t->ct_mark_mask);
        return FALSE;
    }
    if (t->fair_slots > values) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "%s: [tuning] fair_slots: %u slots do not fit in ct_mark_mask 0x%08x (at "
                    "most %u)",
                    origin, t->fair_slots, t->ct_mark_mask, values);
        return FALSE;
    }
    if (!(t->demoted_min_share >= 0.01 && t->demoted_min_share <= 0.9)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "%s: [tuning] demoted_min_share: %g is out of range 0.01..0.9", origin,
                    t->demoted_min_share);
        return FALSE;
    }
    if (t->elephant_cpus) {
        g_autoptr(GError) local = NULL;
        FpCpuSet set;

        if (!fp_cpuset_parse_list(t->elephant_cpus, &set, &local)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [tuning] elephant_cpus: %s", origin,
                        local->message);
            return FALSE;
        }
    }
    if (!(t->elephant_cpu_share >= 0 && t->elephant_cpu_share < 1)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "%s: [tuning] elephant_cpu_share: %g is out of range 0..1 (0: derived)", origin,
                    t->elephant_cpu_share);
        return FALSE;
    }
    return TRUE;
}

static gboolean load_data(FpConfig *config, const char *data, gsize len, const char *origin,
                          GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;
    g_auto(GStrv) groups = NULL;
    g_autoptr(FpConfig) work = fp_config_new_default();

    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: %s", origin, local->message);
        return FALSE;
    }
    copy_config(work, config);
    groups = g_key_file_get_groups(kf, NULL);
    for (guint g = 0; groups[g]; g++) {
        g_auto(GStrv) keys = NULL;

        if (!group_known(groups[g])) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: unknown group [%s]", origin,
                        groups[g]);
            return FALSE;
        }
        keys = g_key_file_get_keys(kf, groups[g], NULL, NULL);
        for (guint k = 0; keys && keys[k]; k++) {
            const FpKeyDef *def = find_key(groups[g], keys[k]);
            g_autofree char *raw = NULL;

            for (gsize r = 0; !def && r < G_N_ELEMENTS(removed_keys); r++) {
                if (g_str_equal(removed_keys[r].group, groups[g]) &&
                    g_str_equal(removed_keys[r].key, keys[k])) {
                    g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] %s: %s", origin,
                                groups[g], keys[k], removed_keys[r].why);
                    return FALSE;
                }
            }
            if (!def) {
                g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [%s] unknown key '%s'", origin,
                            groups[g], keys[k]);
                return FALSE;
            }
            raw = g_key_file_get_value(kf, groups[g], keys[k], NULL);
            if (!set_value(work, def, origin, raw, error))
                return FALSE;
        }
    }
    if (!fp_footprint_policy_check(&work->footprint, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [footprint] %s", origin,
                    local->message);
        return FALSE;
    }
    if (!placement_check(&work->placement, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: [placement] %s", origin,
                    local->message);
        return FALSE;
    }
    if (!check_tuning(&work->tuning, origin, error))
        return FALSE;
    copy_config(config, work);
    return TRUE;
}

/**
 * fp_config_load_data:
 * @config: the configuration to update
 * @data: key-file text
 * @len: its length
 * @origin: file name for error messages
 * @error: return location for a #GError
 *
 * Applies every key of @data to @config, or nothing when any key is wrong.
 * Error messages quote what the file says; they are made one line of valid
 * UTF-8 whatever the file holds.
 */
gboolean fp_config_load_data(FpConfig *config, const char *data, gsize len, const char *origin,
                             GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *msg = NULL;

    if (load_data(config, data, len, origin, &local))
        return TRUE;
    msg = g_utf8_make_valid(local->message, -1);
    for (char *p = msg; *p; p++)
        if ((guchar)*p < 0x20 || *p == 0x7f)
            *p = '?';
    g_set_error_literal(error, local->domain, local->code, msg);
    return FALSE;
}

/**
 * fp_config_load_file:
 * @config: the configuration to update
 * @path: a footprintd.conf
 * @error: return location for a #GError
 */
gboolean fp_config_load_file(FpConfig *config, const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, &len, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot read config: %s", local->message);
        return FALSE;
    }
    return fp_config_load_data(config, data, len, path, error);
}

/* @def's value in @c as the file would say it ("" for no path). */
static char *format_value(const FpConfig *c, const FpKeyDef *def)
{
    const guint8 *field = (const guint8 *)c + def->offset;

    switch (def->type) {
    case FP_KEY_UINT:
        return g_strdup_printf("%u", *(const guint *)field);
    case FP_KEY_MASK:
        return g_strdup_printf("0x%08x", *(const guint *)field);
    case FP_KEY_NAMES:
        return *(char *const *const *)field ? g_strjoinv(",", *(char **const *)field)
                                            : g_strdup("");
    case FP_KEY_UINT64:
        return g_strdup_printf("%" G_GUINT64_FORMAT, *(const guint64 *)field);
    case FP_KEY_INT:
        return g_strdup_printf("%d", *(const int *)field);
    case FP_KEY_BOOL:
        return g_strdup(*(const gboolean *)field ? "true" : "false");
    case FP_KEY_ENUM:
        return g_strdup(def->choices[*(const int *)field]);
    case FP_KEY_DOUBLE: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        double d;

        /* 15 digits: what an operator wrote (0.7), not its binary form. */
        memcpy(&d, field, sizeof(d));
        return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%.15g", d));
    }
    case FP_KEY_STRING:
    case FP_KEY_PATH:
    case FP_KEY_OPTIONAL_PATH:
    case FP_KEY_OPTIONAL_STRING:
        /* A reload logs what changed: never a credential. */
        if (*(char *const *)field != NULL &&
            (g_str_equal(def->key, "password") || g_str_equal(def->key, "token") ||
             g_str_has_suffix(def->key, "_secret")))
            return g_strdup("(hidden)");
        return g_strdup(*(char *const *)field ? *(char *const *)field : "");
    }
    g_assert_not_reached();
}

static gboolean values_equal(const FpConfig *a, const FpConfig *b, const FpKeyDef *def)
{
    const guint8 *x = (const guint8 *)a + def->offset, *y = (const guint8 *)b + def->offset;

    switch (def->type) {
    case FP_KEY_UINT:
    case FP_KEY_MASK:
        return *(const guint *)x == *(const guint *)y;
    case FP_KEY_NAMES: {
        const char *const *v = *(const char *const *const *)x;
        const char *const *w = *(const char *const *const *)y;

        return (v == NULL && w == NULL) || (v != NULL && w != NULL && g_strv_equal(v, w));
    }
    case FP_KEY_UINT64:
        return *(const guint64 *)x == *(const guint64 *)y;
    case FP_KEY_INT:
    case FP_KEY_ENUM:
        return *(const int *)x == *(const int *)y;
    case FP_KEY_BOOL:
        return !*(const gboolean *)x == !*(const gboolean *)y;
    case FP_KEY_DOUBLE: {
        double d, e;

        memcpy(&d, x, sizeof(d));
        memcpy(&e, y, sizeof(e));
        return d == e;
    }
    case FP_KEY_STRING:
    case FP_KEY_PATH:
    case FP_KEY_OPTIONAL_PATH:
    case FP_KEY_OPTIONAL_STRING:
        return g_strcmp0(*(char *const *)x, *(char *const *)y) == 0;
    }
    g_assert_not_reached();
}

/* Copies @def's value from @src to @dst. */
static void copy_value(FpConfig *dst, const FpConfig *src, const FpKeyDef *def)
{
    guint8 *to = (guint8 *)dst + def->offset;
    const guint8 *from = (const guint8 *)src + def->offset;

    switch (def->type) {
    case FP_KEY_UINT:
    case FP_KEY_MASK:
        memcpy(to, from, sizeof(guint));
        return;
    case FP_KEY_NAMES:
        g_strfreev(*(char ***)to);
        *(char ***)to = g_strdupv(*(char **const *)from);
        return;
    case FP_KEY_UINT64:
        memcpy(to, from, sizeof(guint64));
        return;
    case FP_KEY_INT:
    case FP_KEY_ENUM:
        memcpy(to, from, sizeof(int));
        return;
    case FP_KEY_BOOL:
        memcpy(to, from, sizeof(gboolean));
        return;
    case FP_KEY_DOUBLE:
        memcpy(to, from, sizeof(double));
        return;
    case FP_KEY_STRING:
    case FP_KEY_PATH:
    case FP_KEY_OPTIONAL_PATH:
    case FP_KEY_OPTIONAL_STRING:
        g_free(*(char **)to);
        *(char **)to = g_strdup(*(char *const *)from);
        return;
    }
    g_assert_not_reached();
}

/**
 * fp_config_reload:
 * @running: the configuration in force; the keys that apply at run time
 *     are updated in place
 * @next: the configuration just read from the file (valid: loaded without
 *     error)
 * @n_applied: (out) (optional): how many changed keys were applied
 *
 * What a reload (SIGHUP) changes.  Keys that apply at run time take their
 * new value; the others keep the value in force, since what they size or
 * name was set up at start (BPF maps and programs, the bus name, the
 * runtime dir and its lock, the libvirt connection), and are reported as
 * waiting for the next start.  [footprint] keys move as one policy: it was
 * checked as a whole when @next was loaded.
 *
 * Returns: (transfer full): one line per changed key, for the log:
 * "[group] key: OLD -> NEW" or "... (at the next start; OLD stays in force)"
 */
GStrv fp_config_reload(FpConfig *running, const FpConfig *next, guint *n_applied)
{
    g_autoptr(GStrvBuilder) lines = g_strv_builder_new();
    guint applied = 0;

    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++) {
        const FpKeyDef *def = &key_defs[i];
        g_autofree char *was = NULL, *now = NULL, *line = NULL;

        if (values_equal(running, next, def))
            continue;
        was = format_value(running, def);
        now = format_value(next, def);
        if (def->apply == FP_APPLY_RELOAD) {
            copy_value(running, next, def);
            applied++;
            line = g_strdup_printf("[%s] %s: '%s' -> '%s'", def->group, def->key, was, now);
        } else {
            line = g_strdup_printf("[%s] %s: '%s' -> '%s' at the next start ('%s' stays in force)",
                                   def->group, def->key, was, now, was);
        }
        g_strv_builder_add(lines, line);
    }
    if (n_applied)
        *n_applied = applied;
    return g_strv_builder_end(lines);
}

/**
 * fp_config_key_applies_at_reload:
 * @name: "group/key"
 *
 * Returns: whether a reload (SIGHUP) applies a change of @name; %FALSE too
 * for an unknown key
 */
gboolean fp_config_key_applies_at_reload(const char *name)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++) {
        g_autofree char *full = g_strdup_printf("%s/%s", key_defs[i].group, key_defs[i].key);

        if (g_str_equal(full, name))
            return key_defs[i].apply == FP_APPLY_RELOAD;
    }
    return FALSE;
}

/**
 * fp_config_list_keys:
 *
 * Returns: (transfer full): every known key as "group/key"
 */
char **fp_config_list_keys(void)
{
    GStrvBuilder *b = g_strv_builder_new();
    char **keys;

    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++) {
        g_autofree char *name = g_strdup_printf("%s/%s", key_defs[i].group, key_defs[i].key);

        g_strv_builder_add(b, name);
    }
    keys = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    return keys;
}

const char *fp_backend_to_string(FpBackend backend)
{
    return backend_names[backend];
}

const char *fp_mode_to_string(FpMode mode)
{
    return mode_names[mode];
}

/**
 * fp_mode_from_string:
 * @text: "observe", "advise" or "enforce"
 * @mode: (out): the mode
 *
 * Returns: whether @text names a mode
 */
gboolean fp_mode_from_string(const char *text, FpMode *mode)
{
    for (guint i = 0; mode_names[i]; i++) {
        if (g_strcmp0(text, mode_names[i]) == 0) {
            *mode = (FpMode)i;
            return TRUE;
        }
    }
    return FALSE;
}

const char *fp_placement_auth_to_string(FpPlacementAuth auth)
{
    return placement_auth_names[auth];
}

const char *fp_placement_interface_to_string(FpPlacementInterface interface)
{
    return placement_interface_names[interface];
}
