/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-json: the one description of a VM and its interfaces, the same for
 * `footprintctl inspect-domain --json` (offline, from XML), `footprintctl
 * vms --json` and D-Bus ListVms.  Field names and order are a contract: see
 * fp_vm_to_variant().
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "domain-xml.h"

G_BEGIN_DECLS

/**
 * FpVmInterfaceHost:
 * @ifindex: the host device's ifindex, 0 when not found
 * @observable: its traffic is visible to footprintd on this host
 * @reason: (nullable): why not, when not
 *
 * What the host adds to an interface of the domain XML.
 */
typedef struct {
    guint32 ifindex;
    gboolean observable;
    const char *reason;
} FpVmInterfaceHost;

GVariant *fp_vm_to_variant(const FpVm *vm, const FpVmInterfaceHost *host);
JsonNode *fp_vm_variant_to_json(GVariant *vm);
JsonNode *fp_vm_to_json(const FpVm *vm);
char *fp_json_to_string(JsonNode *node, gboolean pretty);

G_END_DECLS
