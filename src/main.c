/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprintd: one GLib main loop, one thread.  Sensing feeds the flow
 * table; the libvirt inventory knows which VM owns which tap; D-Bus serves
 * both, flows attributed to VMs; signals stop everything cleanly (hooks
 * detached, nf_conntrack_acct restored).
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <systemd/sd-daemon.h>

#include "attribution.h"
#include "dbus.h"
#include "flow-table.h"
#include "footprints.h"
#include "fp-config.h"
#include "fp-error.h"
#include "instance-lock.h"
#include "inventory.h"
#include "leftovers.h"
#include "log-limit.h"
#include "publish-prometheus.h"
#include "sense.h"

#define DEFAULT_CONFIG SYSCONFDIR "/footprintd/footprintd.conf"
/* One elephant is one log line; a guest can make hundreds a second. */
#define ELEPHANT_LOG_PER_SECOND 10

typedef struct {
    GMainLoop *loop;
    const char *config_path; /* --config, or NULL for DEFAULT_CONFIG if it exists */
    FpConfig *config;
    FpInstanceLock *lock;
    GSource *sweep;
    FpFlowTable *table;
    FpSense *sense;
    FpInventory *inventory;
    FpDbus *dbus;
    FpFootprints *footprints;
    FpLogLimit *elephant_log;
    GDBusConnection *bus;
    guint name_id;
    int exit_code;
} FpDaemon;

static gboolean on_signal(gpointer user_data)
{
    FpDaemon *d = user_data;

    g_message("stopping on signal");
    sd_notify(0, "STOPPING=1");
    g_main_loop_quit(d->loop);
    return G_SOURCE_CONTINUE;
}

/* --config FILE must exist; without it, a missing default file means the
 * built-in defaults. */
static gboolean load_config(FpConfig *config, const char *path, GError **error)
{
    if (!path && !g_file_test(DEFAULT_CONFIG, G_FILE_TEST_EXISTS))
        return TRUE;
    return fp_config_load_file(config, path ? path : DEFAULT_CONFIG, error);
}

static gboolean on_sweep(gpointer user_data);

static void start_sweeps(FpDaemon *d)
{
    if (d->sweep) {
        g_source_destroy(d->sweep);
        g_source_unref(d->sweep);
    }
    d->sweep = g_timeout_source_new(d->config->sweep_interval_ms);
    g_source_set_callback(d->sweep, on_sweep, d, NULL);
    g_source_set_name(d->sweep, "sweep");
    g_source_attach(d->sweep, NULL);
}

/*
 * RECONFIGURE: the one place where a configuration reloaded at run time
 * (SIGHUP) reaches the components.  d->config already holds the new values
 * of the keys that apply at run time (fp_config_reload(); footprintd(8)
 * lists them) and the old ones of the others.  A component that can change
 * at run time gets one call here:
 *
 *     fp_tuner_reconfigure(d->tuner, d->config);   (the tuner, when it lands)
 */
static void reconfigure(FpDaemon *d, const FpConfig *before)
{
    fp_footprints_reconfigure(d->footprints, d->config);
    if (d->config->sweep_interval_ms != before->sweep_interval_ms)
        start_sweeps(d);
    if (before->metrics_textfile &&
        g_strcmp0(before->metrics_textfile, d->config->metrics_textfile) != 0)
        fp_prometheus_remove(before->metrics_textfile); /* nobody updates it any more */
}

/* SIGHUP: read the configuration file again.  A file that does not load
 * changes nothing; otherwise what can change at run time does, and each
 * changed key is logged. */
static gboolean on_reload(gpointer user_data)
{
    FpDaemon *d = user_data;
    g_autoptr(FpConfig) next = fp_config_new_default();
    g_autoptr(FpConfig) before = NULL;
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) changes = NULL;
    guint applied = 0;

    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT, g_get_monotonic_time());
    if (!load_config(next, d->config_path, &error)) {
        g_message("reload: %s; the running configuration stays", error->message);
        sd_notify(0, "READY=1");
        return G_SOURCE_CONTINUE;
    }
    before = fp_config_dup(d->config);
    changes = fp_config_reload(d->config, next, &applied);
    for (guint i = 0; changes[i]; i++)
        g_message("reload: %s", changes[i]);
    if (!changes[0])
        g_message("reload: the configuration did not change");
    if (applied)
        reconfigure(d, before);
    sd_notify(0, "READY=1");
    return G_SOURCE_CONTINUE;
}

/* The summary of elephant lines a burst suppressed, once its second is over. */
static void say_suppressed(FpDaemon *d, guint64 n)
{
    if (n)
        g_message("elephant: %" G_GUINT64_FORMAT " more elephant lines suppressed (at most %u a "
                  "second; footprintctl flows --elephants lists them all)",
                  n, fp_log_limit_get_per_second(d->elephant_log));
}

static gboolean on_sweep(gpointer user_data)
{
    FpDaemon *d = user_data;
    g_autoptr(GError) error = NULL;

    say_suppressed(d, fp_log_limit_flush(d->elephant_log, g_get_monotonic_time()));
    if (!fp_sense_sweep(d->sense, &error))
        g_warning("%s", error->message);
    fp_footprints_sweep(d->footprints, g_get_monotonic_time());
    return G_SOURCE_CONTINUE;
}

static gboolean on_watchdog(gpointer user_data)
{
    sd_notify(0, "WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

static void on_elephant(FpFlow *flow, gpointer user_data)
{
    FpDaemon *d = user_data;
    char src[64], dst[64], pbuf[8];
    FpFlowAttribution a;
    g_autofree char *desc = NULL;
    guint64 suppressed = 0;
    gboolean log = fp_log_limit_take(d->elephant_log, g_get_monotonic_time(), &suppressed);

    say_suppressed(d, suppressed);
    if (d->dbus)
        fp_dbus_emit_elephant(d->dbus, flow);
    if (!log)
        return;
    fp_flow_key_format(&flow->key, src, sizeof(src), dst, sizeof(dst));
    fp_attribute_flow(fp_inventory_get_index(d->inventory), flow, &a);
    desc = fp_attribution_describe(&a);
    g_message("elephant: %s %s:%u -> %s:%u (%" G_GUINT64_FORMAT " bytes, seen by %s): %s",
              fp_flow_proto_name(flow->key.proto, pbuf, sizeof(pbuf)), src, flow->key.sport, dst,
              flow->key.dport, flow->bytes[0] + flow->bytes[1],
              flow->elephant == FP_ELEPHANT_BY_BPF ? "bpf" : "sweep", desc);
}

static void on_class_changed(const char *uuid, const char *name, FpClass old_class,
                             FpClass new_class, double confidence, gpointer user_data)
{
    FpDaemon *d = user_data;

    fp_dbus_emit_class_changed(d->dbus, uuid, name, old_class, new_class, confidence);
}

static void on_name_acquired(GDBusConnection *connection, const char *name, gpointer user_data)
{
    FpSenseStats st;
    FpDaemon *d = user_data;

    fp_sense_get_stats(d->sense, &st);
    g_message("ready: %s on the bus; backend %s", name, st.backend_reason);
    sd_notifyf(0, "READY=1\nSTATUS=backend %s", fp_backend_to_string(st.backend));
}

static void on_name_lost(GDBusConnection *connection, const char *name, gpointer user_data)
{
    FpDaemon *d = user_data;

    g_printerr("footprintd: cannot own D-Bus name %s (another footprintd running, or the "
               "D-Bus policy is not installed)\n",
               name);
    d->exit_code = EXIT_FAILURE;
    g_main_loop_quit(d->loop);
}

static void daemon_clear(FpDaemon *d)
{
    if (d->name_id)
        g_bus_unown_name(d->name_id);
    g_clear_pointer(&d->dbus, fp_dbus_free);
    if (d->sweep) {
        g_source_destroy(d->sweep);
        g_clear_pointer(&d->sweep, g_source_unref);
    }
    g_clear_pointer(&d->footprints, fp_footprints_free);
    g_clear_pointer(&d->elephant_log, fp_log_limit_free);
    g_clear_pointer(&d->inventory, fp_inventory_free);
    g_clear_pointer(&d->sense, fp_sense_free);
    g_clear_pointer(&d->table, fp_flow_table_free);
    g_clear_object(&d->bus);
    /* Last: everything above has put the host back. */
    g_clear_pointer(&d->lock, fp_instance_lock_release);
    g_clear_pointer(&d->config, fp_config_free);
    g_clear_pointer(&d->loop, g_main_loop_unref);
}

int main(int argc, char **argv)
{
    g_autofree char *config_path = NULL;
    gboolean probe = FALSE, version = FALSE, check_config = FALSE, restore = FALSE;
    g_autoptr(GError) error = NULL;
    g_autoptr(GOptionContext) ctx = NULL;
    FpDaemon d = {0};
    guint64 watchdog_usec = 0;
    g_autoptr(GSource) watchdog = NULL;
    const GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
         "Configuration file (default " DEFAULT_CONFIG ")", "FILE"},
        {"probe", 0, 0, G_OPTION_ARG_NONE, &probe,
         "Print what this kernel supports and which backend would be used", NULL},
        {"check-config", 0, 0, G_OPTION_ARG_NONE, &check_config,
         "Validate the configuration and exit", NULL},
        {"restore", 0, 0, G_OPTION_ARG_NONE, &restore,
         "Put back what a stopped or killed footprintd changed on the host, and exit", NULL},
        {"version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL},
        {NULL},
    };

    setlocale(LC_ALL, "");
    ctx = g_option_context_new("- learn VMs' network footprints from conntrack");
    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("footprintd: %s\n", error->message);
        return 2;
    }
    if (version) {
        g_print("footprintd %s\n", PACKAGE_VERSION);
        return 0;
    }
    d.config_path = config_path;
    d.config = fp_config_new_default();
    if (!load_config(d.config, d.config_path, &error)) {
        g_printerr("footprintd: %s\n", error->message);
        daemon_clear(&d);
        return 2;
    }
    if (check_config) {
        g_print("configuration OK\n");
        daemon_clear(&d);
        return 0;
    }
    if (restore) {
        g_autoptr(GString) report = g_string_new(NULL);
        gboolean ok = fp_leftovers_restore(d.config, report, &error);

        g_print("%s", report->str);
        if (!ok)
            g_printerr("footprintd: %s\n", error->message);
        daemon_clear(&d);
        return ok ? 0 : 1;
    }
    if (probe) {
        g_autofree char *report = fp_sense_probe(d.config);

        g_print("%s", report);
        daemon_clear(&d);
        return 0;
    }

    /* One agent per runtime dir, decided before anything touches the host. */
    d.lock = fp_instance_lock_acquire(d.config->runtime_dir, NULL, &error);
    if (!d.lock) {
        g_printerr("footprintd: %s; this copy changes nothing and exits\n", error->message);
        daemon_clear(&d);
        return 1;
    }
    fp_leftovers_remove_temps(d.config);
    d.loop = g_main_loop_new(NULL, FALSE);
    d.table = fp_flow_table_new(d.config->elephant_bytes,
                                (gint64)d.config->elephant_window_s * G_USEC_PER_SEC);
    d.sense = fp_sense_new(d.config, d.table, &error);
    if (!d.sense) {
        g_printerr("footprintd: %s\n", error->message);
        daemon_clear(&d);
        return 1;
    }
    d.elephant_log = fp_log_limit_new(ELEPHANT_LOG_PER_SECOND);
    fp_sense_set_elephant_func(d.sense, on_elephant, &d);
    d.inventory = fp_inventory_new(d.config->libvirt_uri);
    d.footprints = fp_footprints_new(d.config, d.table, d.sense, d.inventory);
    if (!fp_footprints_restore(d.footprints, &error)) {
        g_message("%s; starting without learnt footprints", error->message);
        g_clear_error(&error);
    }
    d.bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    if (d.bus)
        d.dbus = fp_dbus_new(d.bus, d.table, d.sense, d.inventory, &error);
    if (d.dbus) {
        fp_dbus_set_footprints(d.dbus, d.footprints);
        fp_dbus_set_elephant_log(d.dbus, d.elephant_log);
        fp_footprints_set_class_changed_func(d.footprints, on_class_changed, &d);
    }
    if (!d.dbus) {
        g_printerr("footprintd: D-Bus system bus: %s\n", error->message);
        daemon_clear(&d);
        return 1;
    }
    d.name_id =
        g_bus_own_name_on_connection(d.bus, d.config->bus_name, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                     on_name_acquired, on_name_lost, &d, NULL);
    g_unix_signal_add(SIGTERM, on_signal, &d);
    g_unix_signal_add(SIGINT, on_signal, &d);
    g_unix_signal_add(SIGHUP, on_reload, &d);
    fp_inventory_start(d.inventory);
    on_sweep(&d);
    start_sweeps(&d);
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
        watchdog = g_timeout_source_new((guint)(watchdog_usec / 2000));
        g_source_set_callback(watchdog, on_watchdog, NULL, NULL);
        g_source_attach(watchdog, NULL);
    }
    g_main_loop_run(d.loop);
    if (!fp_footprints_save(d.footprints, &error)) {
        g_message("%s", error->message);
        g_clear_error(&error);
    }
    /* node_exporter must not serve our last values as current. */
    if (d.config->metrics_textfile)
        fp_prometheus_remove(d.config->metrics_textfile);
    if (watchdog)
        g_source_destroy(watchdog);
    daemon_clear(&d);
    g_message("stopped; hooks detached");
    return d.exit_code;
}
