/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-index: the running VMs footprintd knows (by uuid) and which of their
 * interfaces owns which host ifindex.  Pure data, no libvirt: the inventory
 * feeds it, attribution reads it, unit tests drive it with a fake resolver.
 */
#pragma once

#include <glib.h>

#include "domain-xml.h"

G_BEGIN_DECLS

/**
 * FpIfnameResolver:
 * @name: a host network device name
 * @user_data: the resolver's data
 *
 * Returns: the device's ifindex, 0 when there is no such device
 */
typedef guint32 (*FpIfnameResolver)(const char *name, gpointer user_data);

/**
 * FpVmPort:
 * @vm: the VM (owned by the index; valid until the index changes)
 * @iface: the VM's interface (owned by @vm)
 * @iface_index: position of @iface in @vm's interfaces
 * @ifindex: the host device's ifindex
 *
 * One VM interface seen on the host.
 */
typedef struct {
    const FpVm *vm;
    const FpVmInterface *iface;
    guint iface_index;
    guint32 ifindex;
} FpVmPort;

typedef struct _FpVmIndex FpVmIndex;

FpVmIndex *fp_vm_index_new(FpIfnameResolver resolve, gpointer user_data);
void fp_vm_index_free(FpVmIndex *index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpVmIndex, fp_vm_index_free)

void fp_vm_index_put(FpVmIndex *index, FpVm *vm);
gboolean fp_vm_index_remove(FpVmIndex *index, const char *uuid);
guint fp_vm_index_retain(FpVmIndex *index, GHashTable *uuids);
guint fp_vm_index_refresh(FpVmIndex *index);
const FpVm *fp_vm_index_find(FpVmIndex *index, const char *name_or_uuid);
gboolean fp_vm_index_lookup_ifindex(FpVmIndex *index, guint32 ifindex, FpVmPort *port);
guint32 fp_vm_index_get_ifindex(FpVmIndex *index, const char *uuid, guint iface_index);
guint fp_vm_index_size(FpVmIndex *index);
GPtrArray *fp_vm_index_list(FpVmIndex *index);

G_END_DECLS
