/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * placement-drive: the sweep's Placement consumers without the rest of the
 * agent, for tests/integration/placement-lab.sh.  Every --interval ms it
 * builds a snapshot from its fixture VMs and hands it, as main.c does, to
 * the host summary, the Placement client and the hints writer; it prints
 * the Placement health as one JSON line whenever it changes.
 *
 *   placement-drive --config FILE [--interval MS]
 *
 * Commands on stdin, one per line:
 *   vm UUID NAME CLASS RX_BPS TX_BPS ELEPHANT_SHARE   add or change a VM
 *   drop UUID                                           the VM is gone
 *   sync                                                fp_placement_sync_now()
 *   quit
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#include "hints.h"
#include "host-summary.h"
#include "publish-placement.h"
#include "snapshot.h"

typedef struct {
    GMainLoop *loop;
    FpHostSummary *summary;
    FpPlacement *placement;
    FpHints *hints;
    GHashTable *vms; /* uuid -> FixtureVm */
    guint64 seq;
    char *last_line;
    GString *input;
} Drive;

typedef struct {
    char *name;
    FpClass klass;
    double rx, tx, share;
} FixtureVm;

static void fixture_vm_free(gpointer p)
{
    FixtureVm *v = p;

    g_free(v->name);
    g_free(v);
}

static void print_health(Drive *d, const FpHostFigures *f)
{
    FpHealth h = {0};
    g_autofree char *line = NULL;
    g_autofree char *err = NULL;

    fp_placement_fill_health(d->placement, &h);
    err = h.placement_error != NULL ? g_strescape(h.placement_error, NULL) : NULL;
    line = g_strdup_printf(
        "{\"trait\": \"%s\", \"state\": \"%s\", \"traits\": \"%s\", \"error\": %s%s%s, "
        "\"syncs\": %" G_GUINT64_FORMAT ", \"failures\": %" G_GUINT64_FORMAT
        ", \"conflicts\": %" G_GUINT64_FORMAT ", \"last_sync_us\": %" G_GINT64_FORMAT
        ", \"retry_us\": %" G_GINT64_FORMAT ", \"provider_uuid\": \"%s\"}",
        f->trait != FP_HOST_TRAIT_NONE ? fp_host_trait_to_string(f->trait) : "",
        fp_placement_state_to_string(h.placement_state),
        h.placement_traits != NULL ? h.placement_traits : "?", err != NULL ? "\"" : "",
        err != NULL ? err : "null", err != NULL ? "\"" : "", h.placement_syncs,
        h.placement_failures, h.placement_conflicts, h.placement_last_sync_us, h.placement_retry_us,
        h.placement_provider_uuid != NULL ? h.placement_provider_uuid : "");
    fp_health_clear(&h);
    if (g_strcmp0(line, d->last_line) != 0) {
        printf("%s\n", line);
        fflush(stdout);
        g_free(d->last_line);
        d->last_line = g_steal_pointer(&line);
    }
}

static gboolean on_sweep(gpointer data)
{
    Drive *d = data;
    g_autoptr(FpSnapshot) snap =
        fp_snapshot_new(++d->seq, g_get_monotonic_time(), g_get_real_time());
    GHashTableIter it;
    gpointer key, value;
    const FpHostFigures *f;

    g_hash_table_iter_init(&it, d->vms);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        const FixtureVm *v = value;
        g_autoptr(FpVm) vm = g_new0(FpVm, 1);
        FpVmSnapshot *s;

        g_strlcpy(vm->uuid, key, sizeof(vm->uuid));
        vm->name = g_strdup(v->name);
        vm->nova = g_new0(FpNova, 1);
        g_strlcpy(vm->nova->instance_uuid, key, sizeof(vm->nova->instance_uuid));
        vm->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);
        s = fp_snapshot_add_vm(snap, vm, NULL);
        s->klass = s->learned = s->previous = v->klass;
        s->confidence = 0.9;
        fp_footprint_policy_init(&s->explain.policy);
        s->explain.klass = s->explain.learned = v->klass;
        s->explain.warm = v->klass != FP_CLASS_UNKNOWN;
        s->explain.rx_bps = v->rx;
        s->explain.tx_bps = v->tx;
        s->explain.total_bps = v->rx + v->tx;
        s->explain.elephant_share = v->share;
        s->explain.idle_bps = s->explain.policy.idle_bps;
    }
    fp_snapshot_seal(snap);
    /* The wiring main.c does for a sweep. */
    f = fp_host_summary_consume(d->summary, snap);
    fp_placement_consume(d->placement, snap, f);
    fp_hints_consume(d->hints, snap, f);
    print_health(d, f);
    return G_SOURCE_CONTINUE;
}

static void command(Drive *d, const char *line)
{
    g_auto(GStrv) w = g_strsplit_set(line, " \t", -1);
    guint n = g_strv_length(w);

    if (n == 7 && strcmp(w[0], "vm") == 0) {
        FixtureVm *v = g_new0(FixtureVm, 1);

        v->name = g_strdup(w[2]);
        if (!fp_class_from_string(w[3], &v->klass))
            g_printerr("placement-drive: bad class '%s'\n", w[3]);
        v->rx = g_ascii_strtod(w[4], NULL);
        v->tx = g_ascii_strtod(w[5], NULL);
        v->share = g_ascii_strtod(w[6], NULL);
        g_hash_table_replace(d->vms, g_strdup(w[1]), v);
    } else if (n == 2 && strcmp(w[0], "drop") == 0) {
        g_hash_table_remove(d->vms, w[1]);
    } else if (n == 1 && strcmp(w[0], "sync") == 0) {
        fp_placement_sync_now(d->placement);
    } else if (n == 1 && strcmp(w[0], "quit") == 0) {
        g_main_loop_quit(d->loop);
    } else if (n > 0 && w[0][0] != '\0') {
        g_printerr("placement-drive: unknown command '%s'\n", line);
    }
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer data)
{
    Drive *d = data;
    GString *buf = d->input;
    char chunk[4096];
    gssize n = read(fd, chunk, sizeof(chunk));
    char *nl;

    if (n <= 0) {
        g_main_loop_quit(d->loop);
        return G_SOURCE_REMOVE;
    }
    g_string_append_len(buf, chunk, n);
    while ((nl = strchr(buf->str, '\n')) != NULL) {
        g_autofree char *line = g_strndup(buf->str, nl - buf->str);

        g_string_erase(buf, 0, nl - buf->str + 1);
        command(d, line);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
    g_main_loop_quit(((Drive *)data)->loop);
    return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    int interval = 200;
    GOptionEntry entries[] = {
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &config_path, "footprintd.conf", "FILE"},
        {"interval", 0, 0, G_OPTION_ARG_INT, &interval, "sweep interval, ms", "MS"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- drive the Placement consumers");
    g_autoptr(GError) error = NULL;
    g_autoptr(FpConfig) config = fp_config_new_default();
    FpHostSummaryPolicy policy;
    Drive d = {0};

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || config_path == NULL ||
        !fp_config_load_file(config, config_path, &error)) {
        g_printerr("placement-drive: %s\n", error != NULL ? error->message : "--config needed");
        return 2;
    }
    fp_host_summary_policy_from_config(&policy, &config->placement);
    d.summary = fp_host_summary_new(&policy);
    d.placement = fp_placement_new(config, &error);
    if (d.placement == NULL) {
        g_printerr("placement-drive: %s\n", error->message);
        return 2;
    }
    d.hints = fp_hints_new_from_config(config);
    if (d.hints != NULL)
        fp_hints_set_host(d.hints, fp_placement_get_provider_name(d.placement));
    d.vms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, fixture_vm_free);
    d.loop = g_main_loop_new(NULL, FALSE);
    d.input = g_string_new(NULL);
    g_timeout_add((guint)interval, on_sweep, &d);
    g_unix_fd_add(0, G_IO_IN | G_IO_HUP, on_stdin, &d);
    g_unix_signal_add(SIGTERM, on_signal, &d);
    g_unix_signal_add(SIGINT, on_signal, &d);
    g_main_loop_run(d.loop);
    fp_placement_free(d.placement);
    fp_hints_free(d.hints);
    fp_host_summary_free(d.summary);
    g_hash_table_unref(d.vms);
    g_main_loop_unref(d.loop);
    g_free(d.last_line);
    g_string_free(d.input, TRUE);
    return 0;
}
