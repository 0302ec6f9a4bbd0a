/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hints: hints.json, written by hand rather than with json-glib's
 * generator so that numbers keep a fixed, readable precision (rates in
 * whole bytes/s, shares to three decimals): the file is compared with
 * expected text in the tests, read by people, and rewritten only when
 * what it says changes.
 *
 * When to rewrite: at once when what a scheduler decides on changes (the
 * trait, maturity, a VM's class or pin, VMs coming and going); when only
 * rates moved, at most every FP_HINTS_RATE_INTERVAL_S (rates change at
 * every sweep, a scheduler does not need them each second).  The file is
 * replaced atomically (temporary file, fsync, rename): a reader sees the
 * old file or the new one.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "fp-error.h"
#include "hints.h"
#include "safe-text.h"

struct _FpHints {
    char *path;
    char *host;
    double rate_interval_s;
    char *last_body;     /* what was written, without its time and sweep */
    char *last_decision; /* the part a scheduler decides on */
    gint64 last_write_mono_us;
    guint64 writes;
    FpFileWriteStatus write; /* a failure is logged once per change */
    FpAtomicWriter *writer;  /* (nullable): writes in a thread (fp_hints_set_async()) */
};

/* The write that ended: its status noted, the next one started.  A failed
 * one makes the next sweep write again (last_body forgotten). */
static void reap_write(FpHints *hints)
{
    g_autoptr(GError) error = NULL;
    gint64 real_us = 0;

    if (hints->writer == NULL || !fp_atomic_writer_reap(hints->writer, &error, &real_us))
        return;
    fp_file_write_status_note(&hints->write, "hints file", hints->path, error, real_us);
    if (error != NULL)
        g_clear_pointer(&hints->last_body, g_free);
    else
        hints->writes++;
}

/* A number with at most @decimals decimals, trailing zeros dropped; null
 * when not finite (an unknown capacity). */
static void append_number(GString *out, double v, int decimals)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    char format[8];

    if (!isfinite(v)) {
        g_string_append(out, "null");
        return;
    }
    g_snprintf(format, sizeof(format), "%%.%df", decimals);
    g_ascii_formatd(buf, sizeof(buf), format, v);
    if (strchr(buf, '.') != NULL) {
        char *end = buf + strlen(buf) - 1;

        while (*end == '0')
            *end-- = '\0';
        if (*end == '.')
            *end = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        strcpy(buf, "0");
    g_string_append(out, buf);
}

static void member(GString *out, const char *indent, const char *name)
{
    g_string_append_printf(out, "%s\"%s\": ", indent, name);
}

static void append_vm(GString *out, const FpVmSnapshot *vm)
{
    const FpFootprintExplain *e = &vm->explain;

    g_string_append(out, "{\"uuid\": ");
    fp_text_json_string(out, vm->vm->uuid);
    g_string_append(out, ", \"name\": ");
    fp_text_json_string(out, vm->vm->name);
    g_string_append(out, ", \"nova_instance_uuid\": ");
    fp_text_json_string(out, vm->vm->nova != NULL && vm->vm->nova->instance_uuid[0] != '\0'
                                 ? vm->vm->nova->instance_uuid
                                 : NULL);
    g_string_append(out, ", \"class\": ");
    fp_text_json_string(out, fp_class_to_string(vm->klass));
    g_string_append(out, ", \"learned\": ");
    fp_text_json_string(out, fp_class_to_string(vm->learned));
    g_string_append(out, ", \"pinned\": ");
    fp_text_json_string(out,
                        vm->pinned != FP_CLASS_UNKNOWN ? fp_class_to_string(vm->pinned) : NULL);
    g_string_append(out, ", \"confidence\": ");
    append_number(out, vm->confidence, 3);
    g_string_append(out, ", \"rx_bps\": ");
    append_number(out, e->rx_bps, 0);
    g_string_append(out, ", \"tx_bps\": ");
    append_number(out, e->tx_bps, 0);
    g_string_append(out, ", \"elephant_share\": ");
    append_number(out, e->elephant_share, 3);
    g_string_append(out, "}");
}

static void append_traits(GString *out, FpHostTrait trait)
{
    const char *name = fp_host_trait_to_string(trait);

    g_string_append_c(out, '[');
    if (name != NULL)
        fp_text_json_string(out, name);
    g_string_append_c(out, ']');
}

/* Everything but the time and the sweep number. */
static char *format_body(const FpSnapshot *snapshot, const FpHostFigures *f, const char *host)
{
    GString *out = g_string_new(NULL);
    static const char *const in = "    ";

    member(out, "  ", "host");
    fp_text_json_string(out, host);
    g_string_append(out, ",\n");
    member(out, "  ", "traits");
    append_traits(out, f->trait);
    g_string_append(out, ",\n");
    member(out, "  ", "summary");
    g_string_append(out, "{\n");
    member(out, in, "mature");
    g_string_append(out, f->mature ? "true" : "false");
    g_string_append(out, ",\n");
    member(out, in, "trait");
    fp_text_json_string(out, fp_host_trait_to_string(f->trait));
    g_string_append(out, ",\n");
    member(out, in, "wanted");
    fp_text_json_string(out, fp_host_trait_to_string(f->wanted));
    g_string_append(out, ",\n");
    member(out, in, "reason");
    fp_text_json_string(out, f->reason);
    g_string_append(out, ",\n");
    member(out, in, "vms");
    g_string_append_printf(out, "%u,\n", f->vms);
    member(out, in, "vms_by_class");
    g_string_append_c(out, '{');
    for (guint k = 0; k < FP_CLASS_COUNT; k++)
        g_string_append_printf(out, "%s\"%s\": %u", k ? ", " : "", fp_class_to_string(k),
                               f->vms_by_class[k]);
    g_string_append(out, "},\n");
    {
        const struct {
            const char *name;
            double v;
            int decimals;
        } numbers[] = {
            {"rx_bps", f->rx_bps, 0},
            {"tx_bps", f->tx_bps, 0},
            {"elephant_rx_bps", f->elephant_rx_bps, 0},
            {"elephant_tx_bps", f->elephant_tx_bps, 0},
            {"egress_capacity_bps", f->capacity_bps > 0 ? f->capacity_bps : NAN, 0},
            {"elephant_load", f->elephant_load, 3},
            {"load", f->load, 3},
            {"headroom_bps", f->headroom_bps, 0},
            {"headroom", f->headroom, 3},
        };

        for (gsize i = 0; i < G_N_ELEMENTS(numbers); i++) {
            member(out, in, numbers[i].name);
            append_number(out, numbers[i].v, numbers[i].decimals);
            g_string_append(out, i + 1 < G_N_ELEMENTS(numbers) ? ",\n" : "\n");
        }
    }
    g_string_append(out, "  },\n");
    member(out, "  ", "vms");
    g_string_append_c(out, '[');
    for (guint i = 0; i < snapshot->vms->len; i++) {
        g_string_append(out, i ? ",\n    " : "\n    ");
        append_vm(out, g_ptr_array_index(snapshot->vms, i));
    }
    g_string_append(out, snapshot->vms->len ? "\n  ]\n" : "]\n");
    return g_string_free(out, FALSE);
}

static char *format_head(const FpSnapshot *snapshot)
{
    g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(snapshot->real_us / G_USEC_PER_SEC);
    g_autofree char *when = t != NULL ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : NULL;

    return g_strdup_printf("{\n  \"version\": %d,\n  \"updated\": \"%s\",\n"
                           "  \"sweep\": %" G_GUINT64_FORMAT ",\n",
                           FP_HINTS_VERSION, when != NULL ? when : "1970-01-01T00:00:00Z",
                           snapshot->seq);
}

/**
 * fp_hints_format:
 * @snapshot: a sealed snapshot
 * @figures: the host summary of @snapshot
 * @host: (nullable): the host's name as the scheduler knows it (the
 *     resource provider's name)
 *
 * Returns: (transfer full): hints.json's text (schema: README, "Hints file")
 */
char *fp_hints_format(const FpSnapshot *snapshot, const FpHostFigures *figures, const char *host)
{
    g_autofree char *head = format_head(snapshot);
    g_autofree char *body = format_body(snapshot, figures, host);

    return g_strconcat(head, body, "}\n", NULL);
}

/**
 * fp_hints_write:
 * @path: the file to replace
 * @text: its new contents
 * @error: return location for an #FP_ERROR_IO
 *
 * Replaces @path atomically (temporary file in the same directory, fsync,
 * rename), mode 0644.  The directory must exist.
 */
gboolean fp_hints_write(const char *path, const char *text, GError **error)
{
    /* atomic-file.h: the temporary file of a killed writer is found and
     * removed at the next start (leftovers.c). */
    return fp_atomic_file_write(path, "hints file", text, strlen(text), 0644,
                                FP_ATOMIC_FILE_DURABLE, error);
}

/* What a scheduler decides on: written at once when it changes. */
static char *decision(const FpSnapshot *snapshot, const FpHostFigures *f)
{
    GString *out = g_string_new(NULL);

    g_string_append_printf(out, "%d %d %d", f->mature, f->trait, f->wanted);
    for (guint i = 0; i < snapshot->vms->len; i++) {
        const FpVmSnapshot *vm = g_ptr_array_index(snapshot->vms, i);

        g_string_append_printf(out, " %s:%d:%d:%d", vm->vm->uuid, vm->klass, vm->learned,
                               vm->pinned);
    }
    return g_string_free(out, FALSE);
}

/**
 * fp_hints_new:
 * @path: the hints file
 * @rate_interval_s: least time between two rewrites caused by rates alone
 *
 * Returns: (transfer full): a hints writer that has written nothing yet
 */
FpHints *fp_hints_new(const char *path, double rate_interval_s)
{
    FpHints *h = g_new0(FpHints, 1);

    h->path = g_strdup(path);
    h->host = g_strdup(g_get_host_name());
    h->rate_interval_s = rate_interval_s;
    return h;
}

/**
 * fp_hints_new_from_config:
 * @config: the configuration
 *
 * Returns: (transfer full) (nullable): the writer of RUNTIME_DIR/hints.json,
 * %NULL when [placement] hints is false (fp_hints_consume() takes %NULL)
 */
FpHints *fp_hints_new_from_config(const FpConfig *config)
{
    g_autofree char *path = NULL;
    FpHints *h;

    if (!config->placement.hints)
        return NULL;
    path = g_build_filename(config->runtime_dir, FP_HINTS_FILE_NAME, NULL);
    h = fp_hints_new(path, FP_HINTS_RATE_INTERVAL_S);
    if (config->placement.provider != NULL)
        fp_hints_set_host(h, config->placement.provider);
    return h;
}

void fp_hints_free(FpHints *hints)
{
    if (hints == NULL)
        return;
    /* A write under way ends first (it waits for its fsync). */
    fp_atomic_writer_free(hints->writer);
    g_free(hints->path);
    fp_file_write_status_clear(&hints->write);
    g_free(hints->host);
    g_free(hints->last_body);
    g_free(hints->last_decision);
    g_free(hints);
}

/**
 * fp_hints_set_async:
 * @hints: a hints writer
 * @async: whether to write in a worker thread
 *
 * The file is written with an fsync, which can sleep for a long time on a
 * busy disk: the daemon writes it in a worker thread, one write at a time
 * (the latest text waits for the one under way; older ones are dropped),
 * and the write status follows at the next fp_hints_consume() after the
 * write ended.  Without it (the default), fp_hints_consume() writes before
 * it returns.
 */
void fp_hints_set_async(FpHints *hints, gboolean async)
{
    if (async && hints->writer == NULL)
        hints->writer = fp_atomic_writer_new(hints->path, "hints file", 0644,
                                             FP_ATOMIC_FILE_DURABLE, "fp-hints-write");
    else if (!async)
        g_clear_pointer(&hints->writer, fp_atomic_writer_free);
}

/**
 * fp_hints_set_host:
 * @hints: a hints writer
 * @host: the host's name as the scheduler knows it: [placement] provider,
 *     else the hypervisor's hostname (virConnectGetHostname()); the
 *     default is g_get_host_name()
 */
void fp_hints_set_host(FpHints *hints, const char *host)
{
    g_free(hints->host);
    hints->host = g_strdup(host);
    g_clear_pointer(&hints->last_body, g_free);
}

/**
 * fp_hints_consume:
 * @hints: (nullable): a hints writer, %NULL when hints are off
 * @snapshot: a sealed snapshot
 * @figures: the host summary of @snapshot (fp_host_summary_consume())
 *
 * Rewrites the file when what it says changed (see the top of hints.c).
 * A failure is logged, once until a write works again; the sweep goes on.
 */
void fp_hints_consume(FpHints *hints, const FpSnapshot *snapshot, const FpHostFigures *figures)
{
    g_autofree char *body = NULL;
    g_autofree char *decided = NULL;
    g_autofree char *text = NULL;
    g_autofree char *head = NULL;
    g_autoptr(GError) error = NULL;
    gboolean due;

    if (hints == NULL)
        return;
    reap_write(hints);
    body = format_body(snapshot, figures, hints->host);
    decided = decision(snapshot, figures);
    if (hints->last_body != NULL && strcmp(body, hints->last_body) == 0)
        return;
    due = hints->last_body == NULL || hints->write.error != NULL ||
          g_strcmp0(decided, hints->last_decision) != 0 ||
          (double)(snapshot->mono_us - hints->last_write_mono_us) / 1e6 >= hints->rate_interval_s;
    if (!due)
        return;
    head = format_head(snapshot);
    text = g_strconcat(head, body, "}\n", NULL);
    if (hints->writer != NULL) {
        gsize len = strlen(text);

        /* Taken as written; a failure makes the sweep after it write
         * again (reap_write()). */
        fp_atomic_writer_submit(hints->writer, g_steal_pointer(&text), len, snapshot->real_us);
        hints->last_write_mono_us = snapshot->mono_us;
        g_free(hints->last_body);
        hints->last_body = g_steal_pointer(&body);
        g_free(hints->last_decision);
        hints->last_decision = g_steal_pointer(&decided);
        return;
    }
    fp_hints_write(hints->path, text, &error);
    fp_file_write_status_note(&hints->write, "hints file", hints->path, error, snapshot->real_us);
    if (error != NULL)
        return;
    hints->writes++;
    hints->last_write_mono_us = snapshot->mono_us;
    g_free(hints->last_body);
    hints->last_body = g_steal_pointer(&body);
    g_free(hints->last_decision);
    hints->last_decision = g_steal_pointer(&decided);
}

const char *fp_hints_get_path(const FpHints *hints)
{
    return hints->path;
}

/**
 * fp_hints_get_writes:
 * @hints: a hints writer
 *
 * Returns: how many times the file was written
 */
/**
 * fp_hints_get_write_status:
 * @hints: the hints file writer
 *
 * Returns: (transfer none): how the writes of the file fare
 */
const FpFileWriteStatus *fp_hints_get_write_status(const FpHints *hints)
{
    return &hints->write;
}

guint64 fp_hints_get_writes(const FpHints *hints)
{
    return hints->writes;
}
