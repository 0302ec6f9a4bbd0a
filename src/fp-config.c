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
};

static const char *const mode_names[] = {"observe", "advise", "enforce", NULL};
static const char *const backend_names[] = {"auto", "bpf-netfilter", "ctnetlink", NULL};

#define OFF(field) G_STRUCT_OFFSET(FpConfig, field)
#define FOFF(field) (OFF(footprint) + G_STRUCT_OFFSET(FpFootprintPolicy, field))

static const FpKeyDef key_defs[] = {
    {"agent", "mode", FP_KEY_ENUM, FP_APPLY_RELOAD, OFF(mode), 0, 0, mode_names},
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
    {"sense", "ringbuf_size", FP_KEY_UINT, FP_APPLY_RESTART, OFF(ringbuf_size), 4096,
     64 * 1024 * 1024, NULL},
    {"sense", "hook_priority", FP_KEY_INT, FP_APPLY_RESTART, OFF(hook_priority), 1, 10000, NULL},
    {"sense", "enable_acct", FP_KEY_BOOL, FP_APPLY_RESTART, OFF(enable_acct), 0, 0, NULL},
    {"dbus", "bus_name", FP_KEY_STRING, FP_APPLY_RESTART, OFF(bus_name), 0, 0, NULL},
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
    {"metrics", "textfile", FP_KEY_OPTIONAL_PATH, FP_APPLY_RELOAD, OFF(metrics_textfile), 0, 0,
     NULL},
    {"metrics", "interval", FP_KEY_UINT, FP_APPLY_RELOAD, OFF(metrics_interval_s), 1, 3600, NULL},
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

    c->mode = FP_MODE_OBSERVE;
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
    c->libvirt_uri = g_strdup("qemu:///system");
    fp_footprint_policy_init(&c->footprint);
    c->forget_after_days = 30;
    c->metrics_textfile = g_strdup("/var/lib/prometheus/node-exporter/footprintd.prom");
    c->metrics_interval_s = 10;
    return c;
}

void fp_config_free(FpConfig *config)
{
    if (!config)
        return;
    g_free(config->state_dir);
    g_free(config->runtime_dir);
    g_free(config->bus_name);
    g_free(config->libvirt_uri);
    g_free(config->metrics_textfile);
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
    tmp.libvirt_uri = g_strdup(src->libvirt_uri);
    tmp.metrics_textfile = g_strdup(src->metrics_textfile);
    g_free(dst->state_dir);
    g_free(dst->runtime_dir);
    g_free(dst->bus_name);
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
        return g_strdup(*(char *const *)field ? *(char *const *)field : "");
    }
    g_assert_not_reached();
}

static gboolean values_equal(const FpConfig *a, const FpConfig *b, const FpKeyDef *def)
{
    const guint8 *x = (const guint8 *)a + def->offset, *y = (const guint8 *)b + def->offset;

    switch (def->type) {
    case FP_KEY_UINT:
        return *(const guint *)x == *(const guint *)y;
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
        memcpy(to, from, sizeof(guint));
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
