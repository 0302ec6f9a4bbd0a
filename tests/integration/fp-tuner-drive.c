/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fp-tuner-drive: the tuner as the agent will run it, for the netns labs
 * (tests/integration/tuning-*.sh) until main.c wires it: real sensing (the
 * BPF netfilter hooks, elephant events), a sweep that builds a snapshot,
 * the tuner as its consumer, the D-Bus object with the tuner's methods.
 * The VMs come from a key file instead of libvirt, read again every sweep:
 *
 *   [vm NAME]
 *   uuid=...
 *   class=throughput|latency|idle|mixed|unknown
 *   interfaces=TAP[,TAP...]
 *
 * A VM removed from the file has gone away.  SIGTERM/SIGINT stop it
 * (undoing everything); SIGHUP reads the config again.
 *
 *   fp-tuner-drive --config FILE --vms FILE
 */
#include "config.h"

#include <net/if.h>
#include <stdlib.h>
#include <glib-unix.h>
#include <gio/gio.h>

#include "dbus.h"
#include "flow-table.h"
#include "fp-config.h"
#include "sense.h"
#include "snapshot.h"
#include "tuner.h"

typedef struct {
    GMainLoop *loop;
    char *config_path;
    char *vms_path;
    FpConfig *config;
    FpFlowTable *table;
    FpSense *sense;
    FpTuner *tuner;
    FpDbus *dbus;
    GHashTable *running; /* uuid → name, the previous sweep's */
    guint64 seq;
} Drive;

static FpVm *vm_from_group(GKeyFile *kf, const char *group, guint32 **ifindex)
{
    FpVm *vm = g_new0(FpVm, 1);
    g_autofree char *uuid = g_key_file_get_string(kf, group, "uuid", NULL);
    g_auto(GStrv) taps = g_key_file_get_string_list(kf, group, "interfaces", NULL, NULL);
    guint n = taps ? g_strv_length(taps) : 0;

    g_strlcpy(vm->uuid, uuid ? uuid : "", sizeof(vm->uuid));
    vm->name = g_strdup(group + 3);
    vm->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);
    *ifindex = g_new0(guint32, n + 1);
    for (guint i = 0; i < n; i++) {
        FpVmInterface *nic = g_new0(FpVmInterface, 1);

        nic->type = g_strdup("ethernet");
        nic->target = g_strdup(g_strstrip(taps[i]));
        nic->queues = 1;
        nic->observable = TRUE;
        (*ifindex)[i] = if_nametoindex(nic->target);
        g_ptr_array_add(vm->interfaces, nic);
    }
    return vm;
}

static FpSnapshot *build_snapshot(Drive *d)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GHashTable) now = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) groups = NULL;
    FpSnapshot *s = fp_snapshot_new(++d->seq, g_get_monotonic_time(), g_get_real_time());
    GHashTableIter it;
    gpointer k;

    if (g_key_file_load_from_file(kf, d->vms_path, G_KEY_FILE_NONE, NULL))
        groups = g_key_file_get_groups(kf, NULL);
    for (guint g = 0; groups && groups[g]; g++) {
        g_autofree guint32 *ifindex = NULL;
        g_autoptr(FpVm) vm = NULL;
        g_autofree char *klass = NULL;
        FpVmSnapshot *vs;

        if (!g_str_has_prefix(groups[g], "vm "))
            continue;
        vm = vm_from_group(kf, groups[g], &ifindex);
        vs = fp_snapshot_add_vm(s, vm, ifindex);
        klass = g_key_file_get_string(kf, groups[g], "class", NULL);
        if (!klass || !fp_class_from_string(klass, &vs->klass))
            vs->klass = FP_CLASS_UNKNOWN;
        vs->learned = vs->klass;
        vs->previous = vs->klass;
        vs->appeared = !g_hash_table_contains(d->running, vm->uuid);
        g_hash_table_insert(now, g_strdup(vm->uuid), g_strdup(vm->name));
    }
    g_hash_table_iter_init(&it, d->running);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (!g_hash_table_contains(now, k))
            fp_snapshot_add_gone(s, k);
    g_hash_table_unref(d->running);
    d->running = g_steal_pointer(&now);
    fp_snapshot_seal(s);
    return s;
}

static gboolean on_sweep(gpointer user_data)
{
    Drive *d = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(FpSnapshot) snap = NULL;

    if (!fp_sense_sweep(d->sense, &error))
        g_warning("%s", error->message);
    snap = build_snapshot(d);
    fp_tuner_consume(d->tuner, snap);
    if (d->dbus)
        fp_dbus_consume(d->dbus, snap);
    return G_SOURCE_CONTINUE;
}

static void on_elephant(FpFlow *flow, gpointer user_data)
{
    Drive *d = user_data;

    fp_tuner_elephant(d->tuner, flow);
}

static gboolean on_stop(gpointer user_data)
{
    Drive *d = user_data;

    g_main_loop_quit(d->loop);
    return G_SOURCE_CONTINUE;
}

static gboolean on_hup(gpointer user_data)
{
    Drive *d = user_data;
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autoptr(GError) error = NULL;

    if (!fp_config_load_file(c, d->config_path, &error) ||
        !fp_tuner_reconfigure(d->tuner, c, &error))
        g_warning("reload: %s", error->message);
    else
        g_message("reloaded %s", d->config_path);
    return G_SOURCE_CONTINUE;
}

static void on_name_acquired(GDBusConnection *connection, const char *name, gpointer user_data)
{
    g_print("ready\n");
}

int main(int argc, char **argv)
{
    Drive d = {0};
    g_autoptr(GError) error = NULL;
    g_autoptr(GOptionContext) ctx = g_option_context_new("- drive the tuner in a netns lab");
    g_autoptr(GDBusConnection) bus = NULL;
    guint name_id = 0;
    const GOptionEntry entries[] = {
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &d.config_path, "footprintd.conf", "FILE"},
        {"vms", 0, 0, G_OPTION_ARG_FILENAME, &d.vms_path, "the VMs", "FILE"},
        {NULL},
    };

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &error) || !d.config_path || !d.vms_path) {
        g_printerr("fp-tuner-drive: %s\n", error ? error->message : "--config and --vms needed");
        return 2;
    }
    d.config = fp_config_new_default();
    if (!fp_config_load_file(d.config, d.config_path, &error)) {
        g_printerr("fp-tuner-drive: %s\n", error->message);
        return 2;
    }
    d.loop = g_main_loop_new(NULL, FALSE);
    d.running = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    d.table = fp_flow_table_new(d.config->elephant_bytes,
                                (gint64)d.config->elephant_window_s * G_USEC_PER_SEC);
    d.tuner = fp_tuner_new(d.config, &error);
    if (!d.tuner) {
        g_printerr("fp-tuner-drive: %s\n", error->message);
        return 1;
    }
    d.sense = fp_sense_new(d.config, d.table, &error);
    if (!d.sense) {
        g_printerr("fp-tuner-drive: %s\n", error->message);
        return 1;
    }
    fp_sense_set_elephant_func(d.sense, on_elephant, &d);
    bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    if (bus)
        d.dbus = fp_dbus_new(bus, d.table, NULL, NULL, NULL, &error);
    if (!d.dbus) {
        g_printerr("fp-tuner-drive: D-Bus: %s\n", error->message);
        return 1;
    }
    fp_dbus_set_tuner(d.dbus, d.tuner);
    name_id = g_bus_own_name_on_connection(bus, FP_DBUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                           on_name_acquired, NULL, &d, NULL);
    g_unix_signal_add(SIGTERM, on_stop, &d);
    g_unix_signal_add(SIGINT, on_stop, &d);
    g_unix_signal_add(SIGHUP, on_hup, &d);
    g_timeout_add(d.config->sweep_interval_ms, on_sweep, &d);
    on_sweep(&d);
    g_main_loop_run(d.loop);
    g_bus_unown_name(name_id);
    fp_dbus_free(d.dbus);
    fp_tuner_free(d.tuner); /* undoes everything */
    fp_sense_free(d.sense);
    fp_flow_table_free(d.table);
    fp_config_free(d.config);
    g_hash_table_unref(d.running);
    g_main_loop_unref(d.loop);
    g_free(d.config_path);
    g_free(d.vms_path);
    g_message("stopped; tuning undone");
    return 0;
}
