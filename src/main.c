/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprintd: options, configuration, the single-instance lock, signals,
 * the bus name and sd_notify around one GLib main loop.  The loop's work
 * runs on it; the libvirt connection and metadata writes run in worker
 * threads whose results come back to it.  agent.c wires the parts and runs
 * each sweep (CONTRIBUTING.md, "Architecture"); signals stop everything
 * cleanly (tuning undone, hooks detached, nf_conntrack_acct restored).
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <gio/gio.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "fp-config.h"
#include "fp-error.h"
#include "instance-lock.h"
#include "leftovers.h"

#define DEFAULT_CONFIG SYSCONFDIR "/footprintd/footprintd.conf"
/* One elephant is one log line; a guest can make hundreds a second. */
#define ELEPHANT_LOG_PER_SECOND 10

typedef struct {
    GMainLoop *loop;
    const char *config_path; /* --config, or NULL for DEFAULT_CONFIG if it exists */
    FpConfig *config;
    FpInstanceLock *lock;
    GSource *sweep;
    FpAgent agent;
    FpLoopWatch *loop_watch;
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

static gboolean on_sweep(gpointer user_data)
{
    FpDaemon *d = user_data;

    /* In steps, each a dispatch of its own: the loop stays responsive. */
    fp_agent_sweep_in_steps(&d->agent);
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

/* SIGHUP: read the configuration file again.  A file that does not load
 * changes nothing; otherwise what can change at run time does (agent.c's
 * fp_agent_reconfigure() is the one place it reaches the parts), and each
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
    if (applied) {
        fp_agent_reconfigure(&d->agent);
        if (d->config->sweep_interval_ms != before->sweep_interval_ms)
            start_sweeps(d);
    }
    sd_notify(0, "READY=1");
    return G_SOURCE_CONTINUE;
}

static gboolean on_watchdog(gpointer user_data)
{
    sd_notify(0, "WATCHDOG=1");
    return G_SOURCE_CONTINUE;
}

static void on_name_acquired(GDBusConnection *connection, const char *name, gpointer user_data)
{
    FpDaemon *d = user_data;
    const FpSenseStats *st = &d->agent.last->health.sense;

    g_message("ready: %s on the bus; backend %s", name, st->backend_reason);
    sd_notifyf(0, "READY=1\nSTATUS=backend %s", fp_backend_to_string(st->backend));
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
    if (d->sweep) {
        g_source_destroy(d->sweep);
        g_clear_pointer(&d->sweep, g_source_unref);
    }
    fp_agent_clear(&d->agent);
    g_clear_pointer(&d->loop_watch, fp_loop_watch_free);
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
    if (!fp_agent_init(&d.agent, d.config, &error)) {
        g_printerr("footprintd: %s\n", error->message);
        daemon_clear(&d);
        return 1;
    }
    d.bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    if (!d.bus || !fp_agent_export(&d.agent, d.bus, &error)) {
        g_printerr("footprintd: D-Bus system bus: %s\n", error->message);
        daemon_clear(&d);
        return 1;
    }
    d.name_id =
        g_bus_own_name_on_connection(d.bus, FP_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                                     on_name_acquired, on_name_lost, &d, NULL);
    g_unix_signal_add(SIGTERM, on_signal, &d);
    g_unix_signal_add(SIGINT, on_signal, &d);
    g_unix_signal_add(SIGHUP, on_reload, &d);
    /* From here on the loop runs: how long it is away from its poll. */
    d.loop_watch = fp_loop_watch_new(NULL);
    d.agent.loop_watch = d.loop_watch;
    fp_agent_start(&d.agent);
    start_sweeps(&d);
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0) {
        watchdog = g_timeout_source_new((guint)(watchdog_usec / 2000));
        g_source_set_callback(watchdog, on_watchdog, NULL, NULL);
        g_source_attach(watchdog, NULL);
    }
    g_main_loop_run(d.loop);
    fp_agent_stop(&d.agent);
    if (watchdog)
        g_source_destroy(watchdog);
    daemon_clear(&d);
    g_message("stopped; hooks detached");
    return d.exit_code;
}
