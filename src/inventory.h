/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inventory: the running libvirt domains and their host devices, kept
 * current from libvirt's events on the GLib main loop, across libvirtd
 * restarts.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "vm-index.h"

G_BEGIN_DECLS

/**
 * FpInventoryStatus:
 * @uri: the libvirt URI
 * @connected: whether the connection to libvirtd is up
 * @last_error: why the last connection attempt failed or the connection was
 *     lost, or %NULL
 * @connects: successful connections so far (more than 1: reconnected)
 * @events: domain events handled
 * @resyncs: full resynchronisations done
 * @domain_xml_errors: domains whose XML could not be used (listed by uuid
 *     and name only, with the reason)
 *
 * How the inventory is doing (strings owned by the inventory).
 */
typedef struct {
    const char *uri;
    gboolean connected;
    const char *last_error;
    guint64 connects;
    guint64 events;
    guint64 resyncs;
    guint64 domain_xml_errors;
} FpInventoryStatus;

typedef struct _FpInventory FpInventory;

FpInventory *fp_inventory_new(const char *uri);
void fp_inventory_start(FpInventory *inventory);
void fp_inventory_free(FpInventory *inventory);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpInventory, fp_inventory_free)

FpVmIndex *fp_inventory_get_index(FpInventory *inventory);
virConnectPtr fp_inventory_get_connection(FpInventory *inventory);
void fp_inventory_get_status(FpInventory *inventory, FpInventoryStatus *status);
gboolean fp_inventory_get_device_rates(FpInventory *inventory, const char *dev, double *to_vm_bps,
                                       double *from_vm_bps);
gboolean fp_inventory_host_visibility(const char *dev, char **reason);

G_END_DECLS
