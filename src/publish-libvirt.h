/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * publish-libvirt: our footprint element in a domain's libvirt metadata
 * (namespace FP_FOOTPRINT_MODEL_XMLNS, key FP_FOOTPRINT_MODEL_XML_KEY).
 * Only that element is ever read or written: other metadata is untouched.
 * The element's content is built and parsed by footprint-model.c.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

#include "footprint-model.h"
#include "inventory.h"
#include "snapshot.h"

G_BEGIN_DECLS

/* After a failed metadata write, the next attempt waits this long. */
#define FP_LIBVIRT_METADATA_RETRY_S 30
/* A metadata write waiting this long is logged (once). */
#define FP_LIBVIRT_METADATA_SLOW_S 5

gboolean fp_libvirt_read_footprint(virConnectPtr conn, const char *uuid, char **xml,
                                   GError **error);
gboolean fp_libvirt_write_footprint(virConnectPtr conn, const char *uuid, const char *xml,
                                    GError **error);

/* ---- the consumer of each sweep's snapshot ------------------------------ */

/**
 * FpPinFoundFunc:
 * @uuid: the VM's uuid
 * @pin: the pin its element in libvirt holds (%FP_CLASS_UNKNOWN: none)
 * @user_data: the callback's data
 *
 * A write found that the operator pinned (or unpinned) the VM since the
 * inventory last read its element; nothing was written.
 */
typedef void (*FpPinFoundFunc)(const char *uuid, FpClass pin, gpointer user_data);

typedef struct _FpLibvirtPublisher FpLibvirtPublisher;

FpLibvirtPublisher *fp_libvirt_publisher_new(const FpFootprintPolicy *policy,
                                             FpInventory *inventory);
void fp_libvirt_publisher_free(FpLibvirtPublisher *publisher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpLibvirtPublisher, fp_libvirt_publisher_free)
void fp_libvirt_publisher_set_pin_found_func(FpLibvirtPublisher *publisher, FpPinFoundFunc func,
                                             gpointer user_data);
void fp_libvirt_publisher_consume(FpLibvirtPublisher *publisher, const FpSnapshot *snapshot);
gboolean fp_libvirt_publisher_written(FpLibvirtPublisher *publisher, const char *uuid);

G_END_DECLS
