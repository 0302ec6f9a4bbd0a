/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt-pin: the "libvirt-pin" knob, the CPU pins libvirt keeps for a
 * domain: its emulator threads (virDomainPinEmulator), each I/O thread
 * (virDomainPinIOThread) and each vCPU (virDomainPinVcpuFlags), live only.
 * Where libvirt has an API for a thread, footprintd uses it, so that
 * libvirt's view (virsh emulatorpin, the live XML's <cputune>, the
 * emulator cgroup's cpuset) stays true; affinity.c writes only the threads
 * libvirt has none for (vhost-net workers).
 *
 * The journal names a pin "UUID emulator", "UUID iothread ID" or "UUID
 * vcpu N"; values are CPU lists.  A pin takes the domain's job in libvirtd,
 * which another client may hold for up to 30 s: the tuner applies pins in
 * a thread (fp_libvirt_pin_apply_async()); only undo, at stop or when a
 * change is no longer wanted, waits.
 */
#pragma once

#include <gio/gio.h>
#include <glib.h>

#include "cpuset.h"
#include "journal.h"

G_BEGIN_DECLS

typedef struct _FpLibvirtPin FpLibvirtPin;

/* Returns a virConnectPtr (borrowed), or NULL while there is none. */
typedef gpointer (*FpConnectionFunc)(gpointer data);

FpLibvirtPin *fp_libvirt_pin_new(void);
void fp_libvirt_pin_free(FpLibvirtPin *pin);
void fp_libvirt_pin_set_connection(FpLibvirtPin *pin, FpConnectionFunc get, gpointer data);
gboolean fp_libvirt_pin_available(FpLibvirtPin *pin);
gboolean fp_libvirt_pin_busy(FpLibvirtPin *pin);

char *fp_libvirt_pin_object(const char *uuid, const char *what, int index);
gboolean fp_libvirt_pin_write(FpLibvirtPin *pin, const char *object, const FpCpuSet *set,
                              gboolean *gone, GError **error);

/**
 * FpPinWrite:
 * @object: the pin
 * @set: its CPUs
 * @seq: the journal entry of the change
 * @back: the write puts the pin back to what it was (the entry goes)
 * @gone: (out): the domain is gone
 * @error: (out): why the write failed, %NULL when it did not
 */
typedef struct {
    char *object;
    FpCpuSet set;
    guint64 seq;
    gboolean back;
    gboolean gone;
    GError *error;
} FpPinWrite;

void fp_pin_write_free(FpPinWrite *write);
void fp_libvirt_pin_apply_async(FpLibvirtPin *pin, GPtrArray *writes, GAsyncReadyCallback done,
                                gpointer data);
GPtrArray *fp_libvirt_pin_apply_finish(GAsyncResult *result);

extern const FpKnobClass fp_libvirt_pin_knob;

G_END_DECLS
