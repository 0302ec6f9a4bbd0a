/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "libvirt-pin" knob (libvirt-pin.h). */
#include "config.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <string.h>

#include "fp-cleanup.h"
#include "fp-error.h"
#include "libvirt-pin.h"

struct _FpLibvirtPin {
    FpConnectionFunc get;
    gpointer data;
    gboolean busy;    /* a batch of writes is in flight */
    gpointer checked; /* the connection whose driver was asked */
    gboolean qemu;    /* ... and it is libvirt's QEMU driver */
};

FpLibvirtPin *fp_libvirt_pin_new(void)
{
    return g_new0(FpLibvirtPin, 1);
}

void fp_libvirt_pin_free(FpLibvirtPin *pin)
{
    g_free(pin);
}

/**
 * fp_libvirt_pin_set_connection:
 * @pin: the knob
 * @get: (nullable): returns the agent's libvirt connection, or %NULL
 * @data: @get's argument
 *
 * Without a connection (none set, or libvirtd away) the tuner writes every
 * thread's affinity itself (affinity.c).
 */
void fp_libvirt_pin_set_connection(FpLibvirtPin *pin, FpConnectionFunc get, gpointer data)
{
    pin->get = get;
    pin->data = data;
}

static virConnectPtr connection(FpLibvirtPin *pin)
{
    return pin->get ? pin->get(pin->data) : NULL;
}

/**
 * fp_libvirt_pin_available:
 * @pin: the knob
 *
 * Only libvirt's QEMU driver runs the qemu processes found from its pid
 * files (/run/libvirt/qemu): with another driver (the test driver of the
 * tuning labs) the threads go through their affinity.
 *
 * Returns: whether pins go through libvirt
 */
gboolean fp_libvirt_pin_available(FpLibvirtPin *pin)
{
    virConnectPtr conn = connection(pin);

    if (!conn)
        return FALSE;
    if (pin->checked != conn) {
        const char *type = virConnectGetType(conn); /* asked once per connection */

        pin->checked = conn;
        pin->qemu = type && g_ascii_strcasecmp(type, "QEMU") == 0;
    }
    return pin->qemu;
}

gboolean fp_libvirt_pin_busy(FpLibvirtPin *pin)
{
    return pin->busy;
}

/**
 * fp_libvirt_pin_object:
 * @uuid: the domain
 * @what: "emulator", "iothread" or "vcpu"
 * @index: the I/O thread's id or the vCPU's number (ignored for the emulator)
 *
 * Returns: (transfer full): the pin's name in the journal
 */
char *fp_libvirt_pin_object(const char *uuid, const char *what, int index)
{
    if (g_str_equal(what, "emulator"))
        return g_strdup_printf("%s emulator", uuid);
    return g_strdup_printf("%s %s %d", uuid, what, index);
}

static gboolean parse_object(const char *object, char **uuid, char **what, guint *index)
{
    g_auto(GStrv) p = g_strsplit(object, " ", 4);
    guint n = g_strv_length(p);
    guint64 v = 0;

    if (n < 2 || strlen(p[0]) != 36)
        return FALSE;
    if (n == 2 && g_str_equal(p[1], "emulator"))
        v = 0;
    else if (n != 3 || !(g_str_equal(p[1], "iothread") || g_str_equal(p[1], "vcpu")) ||
             !g_ascii_string_to_unsigned(p[2], 10, 0, 65535, &v, NULL))
        return FALSE;
    *uuid = g_strdup(p[0]);
    *what = g_strdup(p[1]);
    *index = (guint)v;
    return TRUE;
}

/* Runs in the main thread (undo) or the apply thread: a libvirt connection
 * may be used from any thread. */
static gboolean write_pin(virConnectPtr conn, const char *object, const FpCpuSet *set,
                          gboolean *gone, GError **error)
{
    g_autofree char *uuid = NULL, *what = NULL;
    g_autoptr(virDomain) dom = NULL;
    guint index = 0, ncpus = 0;
    g_autofree unsigned char *map = NULL;
    int maplen, r;

    *gone = FALSE;
    if (!parse_object(object, &uuid, &what, &index)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "libvirt-pin: '%s' is not a pin", object);
        return FALSE;
    }
    if (!conn) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "libvirt-pin: '%s': no libvirt connection",
                    object);
        return FALSE;
    }
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (!dom) {
        if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN) {
            *gone = TRUE;
            return TRUE;
        }
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "libvirt-pin: domain %s: %s", uuid,
                    virGetLastErrorMessage());
        return FALSE;
    }
    for (guint c = 0; c < FP_CPUSET_MAX; c++)
        if (fp_cpuset_has(set, c))
            ncpus = c + 1;
    maplen = (int)VIR_CPU_MAPLEN(MAX(ncpus, 1));
    map = g_malloc0((gsize)maplen);
    for (guint c = 0; c < ncpus; c++)
        if (fp_cpuset_has(set, c))
            VIR_USE_CPU(map, c);
    if (g_str_equal(what, "emulator"))
        r = virDomainPinEmulator(dom, map, maplen, VIR_DOMAIN_AFFECT_LIVE);
    else if (g_str_equal(what, "iothread"))
        r = virDomainPinIOThread(dom, index, map, maplen, VIR_DOMAIN_AFFECT_LIVE);
    else
        r = virDomainPinVcpuFlags(dom, index, map, maplen, VIR_DOMAIN_AFFECT_LIVE);
    if (r < 0) {
        int code = virGetLastErrorCode();
        g_autofree char *list = fp_cpuset_to_list(set);

        if (code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_OPERATION_INVALID) {
            *gone = TRUE; /* gone, or no longer running */
            return TRUE;
        }
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "libvirt-pin: %s: cannot pin to CPUs '%s': %s",
                    object, list, virGetLastErrorMessage());
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_libvirt_pin_write:
 * @pin: the knob
 * @object: the pin (fp_libvirt_pin_object())
 * @set: its CPUs
 * @gone: (out): the domain is gone or not running (nothing was written)
 * @error: return location for a #GError
 *
 * Pins at once; waits for the domain's job.
 *
 * Returns: %FALSE when libvirt refused or is unreachable (%FP_ERROR_IO)
 */
gboolean fp_libvirt_pin_write(FpLibvirtPin *pin, const char *object, const FpCpuSet *set,
                              gboolean *gone, GError **error)
{
    return write_pin(connection(pin), object, set, gone, error);
}

void fp_pin_write_free(FpPinWrite *w)
{
    if (!w)
        return;
    g_free(w->object);
    g_clear_error(&w->error);
    g_free(w);
}

static void connection_unref(gpointer conn)
{
    virConnectClose(conn);
}

static void apply_thread(GTask *task, gpointer source G_GNUC_UNUSED, gpointer data,
                         GCancellable *cancellable G_GNUC_UNUSED)
{
    GPtrArray *writes = data;
    virConnectPtr conn = g_object_get_data(G_OBJECT(task), "conn");

    for (guint i = 0; i < writes->len; i++) {
        FpPinWrite *w = g_ptr_array_index(writes, i);

        write_pin(conn, w->object, &w->set, &w->gone, &w->error);
    }
    g_task_return_boolean(task, TRUE);
}

static void apply_done(GObject *source G_GNUC_UNUSED, GAsyncResult *result, gpointer data)
{
    GTask *task = G_TASK(result);
    FpLibvirtPin *pin = g_object_get_data(G_OBJECT(task), "pin");
    GAsyncReadyCallback done = g_object_get_data(G_OBJECT(task), "done");

    pin->busy = FALSE;
    done(NULL, result, data);
}

/**
 * fp_libvirt_pin_apply_async:
 * @pin: the knob
 * @writes: (transfer full) (element-type FpPinWrite): the pins to write
 * @done: called in the main thread when all were tried
 * @data: @done's data
 *
 * Writes the pins in a thread, in order (each waits for its domain's job).
 * One batch at a time (fp_libvirt_pin_busy()).  The knob must outlive the
 * batch: fp_tuner_free() waits for it.
 */
void fp_libvirt_pin_apply_async(FpLibvirtPin *pin, GPtrArray *writes, GAsyncReadyCallback done,
                                gpointer data)
{
    GTask *task = g_task_new(NULL, NULL, apply_done, data);
    virConnectPtr conn = connection(pin);

    if (conn)
        virConnectRef(conn);
    g_object_set_data_full(G_OBJECT(task), "conn", conn, conn ? connection_unref : NULL);
    g_object_set_data(G_OBJECT(task), "pin", pin);
    g_object_set_data(G_OBJECT(task), "done", (gpointer)done);
    g_task_set_task_data(task, writes, (GDestroyNotify)g_ptr_array_unref);
    pin->busy = TRUE;
    g_task_run_in_thread(task, apply_thread);
    g_object_unref(task);
}

/**
 * fp_libvirt_pin_apply_finish:
 * @result: the result @done got
 *
 * Returns: (transfer container) (element-type FpPinWrite): the writes,
 * each with its outcome
 */
GPtrArray *fp_libvirt_pin_apply_finish(GAsyncResult *result)
{
    return g_ptr_array_ref(g_task_get_task_data(G_TASK(result)));
}

static gboolean libvirt_pin_undo(gpointer knob, const FpJournalEntry *e, GError **error)
{
    FpCpuSet previous;
    gboolean gone;
    g_autoptr(GError) local = NULL;

    if (!fp_cpuset_parse_list(e->previous, &previous, &local) || fp_cpuset_is_empty(&previous)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "libvirt-pin: '%s': %s", e->object,
                    local ? local->message : "an empty CPU list");
        return FALSE;
    }
    return fp_libvirt_pin_write(knob, e->object, &previous, &gone, error);
}

const FpKnobClass fp_libvirt_pin_knob = {
    .name = "libvirt-pin",
    .undo = libvirt_pin_undo,
};
