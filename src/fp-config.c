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
    FP_KEY_DOUBLE,        /* finite; the range is checked by the key's owner */
    FP_KEY_OPTIONAL_PATH, /* absolute, or empty for none (NULL) */
    FP_KEY_MASK,          /* a 32-bit mask, hexadecimal ("0x00ff0000") or decimal, not 0 */
    FP_KEY_NAMES,         /* device names separated by commas or spaces; empty: none (NULL) */
} FpKeyType;

typedef struct {
    const char *group;
    const char *key;
    FpKeyType type;
    gsize offset;
    gint64 min, max;            /* numeric keys */
    const char *const *choices; /* FP_KEY_ENUM, index is the value */
} FpKeyDef;

static const char *const mode_names[] = {"observe", "advise", "enforce", NULL};
static const char *const backend_names[] = {"auto", "bpf-netfilter", "ctnetlink", NULL};

#define OFF(field) G_STRUCT_OFFSET(FpConfig, field)
#define FOFF(field) (OFF(footprint) + G_STRUCT_OFFSET(FpFootprintPolicy, field))
#define TOFF(field) (OFF(tuning) + G_STRUCT_OFFSET(FpTuningConfig, field))

static const FpKeyDef key_defs[] = {
    {"agent", "state_dir", FP_KEY_PATH, OFF(state_dir), 0, 0, NULL},
    {"agent", "runtime_dir", FP_KEY_PATH, OFF(runtime_dir), 0, 0, NULL},
    {"agent", "sweep_interval_ms", FP_KEY_UINT, OFF(sweep_interval_ms), 100, 60000, NULL},
    {"agent", "idle_timeout", FP_KEY_UINT, OFF(idle_timeout_s), 1, 86400, NULL},
    {"sense", "backend", FP_KEY_ENUM, OFF(backend), 0, 0, backend_names},
    {"sense", "elephant_bytes", FP_KEY_UINT64, OFF(elephant_bytes), 65536,
     G_GINT64_CONSTANT(1) << 40, NULL},
    {"sense", "elephant_window", FP_KEY_UINT, OFF(elephant_window_s), 1, 3600, NULL},
    {"sense", "flow_table_size", FP_KEY_UINT, OFF(flow_table_size), 1024, 16 * 1024 * 1024, NULL},
    {"sense", "ringbuf_size", FP_KEY_UINT, OFF(ringbuf_size), 4096, 64 * 1024 * 1024, NULL},
    {"sense", "hook_priority", FP_KEY_INT, OFF(hook_priority), 1, 10000, NULL},
    {"sense", "enable_acct", FP_KEY_BOOL, OFF(enable_acct), 0, 0, NULL},
    {"dbus", "bus_name", FP_KEY_STRING, OFF(bus_name), 0, 0, NULL},
    {"dbus", "read_group", FP_KEY_STRING, OFF(read_group), 0, 0, NULL},
    {"libvirt", "uri", FP_KEY_STRING, OFF(libvirt_uri), 0, 0, NULL},
    /* [footprint]: ranges are fp_footprint_policy_check()'s, applied after
     * the whole file is read (some thresholds depend on each other). */
    {"footprint", "window", FP_KEY_DOUBLE, FOFF(window_s), 0, 0, NULL},
    {"footprint", "short_window", FP_KEY_DOUBLE, FOFF(short_window_s), 0, 0, NULL},
    {"footprint", "warmup", FP_KEY_DOUBLE, FOFF(warmup_s), 0, 0, NULL},
    {"footprint", "idle_bps", FP_KEY_DOUBLE, FOFF(idle_bps), 0, 0, NULL},
    {"footprint", "idle_flow_rate", FP_KEY_DOUBLE, FOFF(idle_flow_rate), 0, 0, NULL},
    {"footprint", "throughput_share", FP_KEY_DOUBLE, FOFF(throughput_share), 0, 0, NULL},
    {"footprint", "latency_share", FP_KEY_DOUBLE, FOFF(latency_share), 0, 0, NULL},
    {"footprint", "mixed_mice_rate", FP_KEY_DOUBLE, FOFF(mixed_mice_rate), 0, 0, NULL},
    {"footprint", "hysteresis_share", FP_KEY_DOUBLE, FOFF(hysteresis_share), 0, 0, NULL},
    {"footprint", "hysteresis_ratio", FP_KEY_DOUBLE, FOFF(hysteresis_ratio), 0, 0, NULL},
    {"footprint", "switch_after", FP_KEY_UINT, FOFF(switch_after), 1, 1000, NULL},
    {"footprint", "metadata_interval", FP_KEY_DOUBLE, FOFF(metadata_interval_s), 0, 0, NULL},
    {"footprint", "metadata_confidence_step", FP_KEY_DOUBLE, FOFF(metadata_confidence_step), 0, 0,
     NULL},
    {"metrics", "textfile", FP_KEY_OPTIONAL_PATH, OFF(metrics_textfile), 0, 0, NULL},
    {"metrics", "interval", FP_KEY_UINT, OFF(metrics_interval_s), 1, 3600, NULL},
    /* [tuning]: ct_mark_mask, fair_slots and demoted_min_share are checked
     * together by check_tuning() after the whole file is read. */
    {"tuning", "mode", FP_KEY_ENUM, TOFF(mode), 0, 0, mode_names},
    {"tuning", "egress", FP_KEY_NAMES, TOFF(egress), 0, 0, NULL},
    {"tuning", "egress_rate_mbit", FP_KEY_UINT, TOFF(egress_rate_mbit), 0, 10000000, NULL},
    {"tuning", "ct_mark_mask", FP_KEY_MASK, TOFF(ct_mark_mask), 0, 0, NULL},
    {"tuning", "fair_slots", FP_KEY_UINT, TOFF(fair_slots), 1, 255, NULL},
    {"tuning", "demoted_min_share", FP_KEY_DOUBLE, TOFF(demoted_min_share), 0, 0, NULL},
    {"tuning", "demote_throughput_vms", FP_KEY_BOOL, TOFF(demote_throughput_vms), 0, 0, NULL},
    {"tuning", "hold", FP_KEY_UINT, TOFF(hold_s), 0, 86400, NULL},
    {"tuning", "flow_idle", FP_KEY_UINT, TOFF(flow_idle_s), 1, 3600, NULL},
    {"tuning", "max_changes_per_minute", FP_KEY_UINT, TOFF(max_changes_per_minute), 1, 6000, NULL},
    {"tuning", "max_flows", FP_KEY_UINT, TOFF(max_flows), 1, 1000000, NULL},
};

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
    c->ringbuf_size = FP_EVENTS_BYTES_DEFAULT;
    c->hook_priority = 300;
    c->enable_acct = TRUE;
    c->bus_name = g_strdup("org.footprintd.Footprint1");
    c->read_group = g_strdup("footprintd");
    c->libvirt_uri = g_strdup("qemu:///system");
    fp_footprint_policy_init(&c->footprint);
    c->metrics_textfile = g_strdup("/var/lib/prometheus/node-exporter/footprintd.prom");
    c->metrics_interval_s = 10;
    c->tuning.mode = FP_MODE_ADVISE;
    c->tuning.egress = NULL;
    c->tuning.egress_rate_mbit = 0;
    c->tuning.ct_mark_mask = 0x00ff0000;
    c->tuning.fair_slots = 16;
    c->tuning.demoted_min_share = 0.1;
    c->tuning.demote_throughput_vms = TRUE;
    c->tuning.hold_s = 30;
    c->tuning.flow_idle_s = 5;
    c->tuning.max_changes_per_minute = 30;
    c->tuning.max_flows = 4096;
    return c;
}

void fp_config_free(FpConfig *config)
{
    if (!config)
        return;
    g_free(config->state_dir);
    g_free(config->runtime_dir);
    g_free(config->bus_name);
    g_free(config->read_group);
    g_free(config->libvirt_uri);
    g_free(config->metrics_textfile);
    g_strfreev(config->tuning.egress);
    g_free(config);
}

static const FpKeyDef *find_key(const char *group, const char *key)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++)
        if (g_str_equal(key_defs[i].group, group) && g_str_equal(key_defs[i].key, key))
            return &key_defs[i];
    return NULL;
}

static gboolean group_known(const char *group)
{
    for (gsize i = 0; i < G_N_ELEMENTS(key_defs); i++)
        if (g_str_equal(key_defs[i].group, group))
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
    case FP_KEY_OPTIONAL_PATH:
        if (text[0] == '\0') {
            g_clear_pointer((char **)field, g_free);
            return TRUE;
        }
        if (!g_path_is_absolute(text) || !g_utf8_validate(text, -1, NULL)) {
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
        g_auto(GStrv) parts = g_regex_split_simple("[,;[:space:]]+", text, 0, 0);
        GStrvBuilder *b = g_strv_builder_new();
        guint n = 0;

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
    tmp.bus_name = g_strdup(src->bus_name);
    tmp.read_group = g_strdup(src->read_group);
    tmp.libvirt_uri = g_strdup(src->libvirt_uri);
    tmp.metrics_textfile = g_strdup(src->metrics_textfile);
    tmp.tuning.egress = g_strdupv(src->tuning.egress);
    g_strfreev(dst->tuning.egress);
    g_free(dst->state_dir);
    g_free(dst->runtime_dir);
    g_free(dst->bus_name);
    g_free(dst->read_group);
    g_free(dst->libvirt_uri);
    g_free(dst->metrics_textfile);
    *dst = tmp;
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

/**
 * fp_config_copy:
 * @config: a configuration
 *
 * Returns: (transfer full): a deep copy
 */
FpConfig *fp_config_copy(const FpConfig *config)
{
    FpConfig *c = fp_config_new_default();

    copy_config(c, config);
    return c;
}
