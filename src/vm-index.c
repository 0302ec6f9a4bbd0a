/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VM index: running domains by uuid, and the reverse map from host
 * ifindex to (VM, interface) that attribution needs on every flow.
 *
 * Tap names are reused (libvirt's vnetN, an operator's fixed <target dev>)
 * and every new tap gets a new ifindex, so the map is rebuilt from the
 * names: whenever a VM is added or changed, and on fp_vm_index_refresh(),
 * which the inventory calls periodically and after a resync.  When two VMs
 * claim one ifindex (a stale entry whose tap was recreated for another VM),
 * the VM updated last wins.
 */
#include "config.h"

#include <string.h>
#include <net/if.h>

#include "vm-index.h"

typedef struct {
    FpVm *vm;
    guint32 *ifindex; /* per interface, 0: no host device (yet) */
    guint64 stamp;    /* when the VM was last put: newer wins an ifindex */
} FpVmEntry;

/* Who holds a host device. */
typedef struct {
    guint32 ifindex; /* the key */
    FpVmEntry *entry;
    guint iface;
} FpPortClaim;

struct _FpVmIndex {
    GHashTable *vms;   /* uuid (in the FpVm) -> FpVmEntry* */
    GHashTable *ports; /* &claim->ifindex -> FpPortClaim* (owned) */
    FpIfnameResolver resolve;
    gpointer resolve_data;
    guint64 stamp;
};

static void entry_free(FpVmEntry *e)
{
    fp_vm_free(e->vm);
    g_free(e->ifindex);
    g_free(e);
}

static guint32 resolve_by_name(const char *name, gpointer user_data)
{
    return if_nametoindex(name);
}

/**
 * fp_vm_index_new:
 * @resolve: (nullable): turns a device name into an ifindex;
 *     %NULL for if_nametoindex()
 * @user_data: data for @resolve
 */
FpVmIndex *fp_vm_index_new(FpIfnameResolver resolve, gpointer user_data)
{
    FpVmIndex *index = g_new0(FpVmIndex, 1);

    index->vms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)entry_free);
    index->ports = g_hash_table_new_full(g_int_hash, g_int_equal, NULL, g_free);
    index->resolve = resolve ? resolve : resolve_by_name;
    index->resolve_data = user_data;
    return index;
}

void fp_vm_index_free(FpVmIndex *index)
{
    if (!index)
        return;
    g_hash_table_destroy(index->ports);
    g_hash_table_destroy(index->vms);
    g_free(index);
}

static FpPortClaim *claim_of(FpVmIndex *index, guint32 ifindex)
{
    return ifindex ? g_hash_table_lookup(index->ports, &ifindex) : NULL;
}

/* Drops @e's claim on @ifindex, if it holds it. */
static void release(FpVmIndex *index, const FpVmEntry *e, guint32 ifindex)
{
    FpPortClaim *c = claim_of(index, ifindex);

    if (c && c->entry == e)
        g_hash_table_remove(index->ports, &ifindex);
}

static void unmap_entry(FpVmIndex *index, FpVmEntry *e)
{
    for (guint i = 0; i < e->vm->interfaces->len; i++)
        release(index, e, e->ifindex[i]);
}

/* Resolves @e's interfaces and claims their ifindexes; returns whether
 * anything changed. */
static gboolean map_entry(FpVmIndex *index, FpVmEntry *e)
{
    gboolean changed = FALSE;

    for (guint i = 0; i < e->vm->interfaces->len; i++) {
        const FpVmInterface *nic = g_ptr_array_index(e->vm->interfaces, i);
        guint32 ifindex =
            nic->observable && nic->target ? index->resolve(nic->target, index->resolve_data) : 0;
        FpPortClaim *c = claim_of(index, ifindex);

        /* A newer VM holds this device: our name is stale (the tap was
         * recreated for it), so this interface has no device for now. */
        if (c && c->entry != e && c->entry->stamp > e->stamp) {
            ifindex = 0;
            c = NULL;
        }
        if (ifindex != e->ifindex[i]) {
            release(index, e, e->ifindex[i]);
            e->ifindex[i] = ifindex;
            changed = TRUE;
        }
        if (!ifindex || (c && c->entry == e && c->iface == i))
            continue;
        if (c && c->entry != e) {
            /* The device was recreated for us: drop the older VM's claim. */
            for (guint j = 0; j < c->entry->vm->interfaces->len; j++)
                if (c->entry->ifindex[j] == ifindex)
                    c->entry->ifindex[j] = 0;
        }
        if (!c) {
            c = g_new0(FpPortClaim, 1);
            c->ifindex = ifindex;
            g_hash_table_insert(index->ports, &c->ifindex, c);
        }
        c->entry = e;
        c->iface = i;
        changed = TRUE;
    }
    return changed;
}

/**
 * fp_vm_index_put:
 * @index: an index
 * @vm: (transfer full): a running VM
 *
 * Adds @vm or replaces the VM with its uuid, and maps its interfaces' host
 * devices (which it takes over from any other VM that claimed them).
 */
void fp_vm_index_put(FpVmIndex *index, FpVm *vm)
{
    FpVmEntry *old = g_hash_table_lookup(index->vms, vm->uuid);
    FpVmEntry *e = g_new0(FpVmEntry, 1);

    if (old) {
        unmap_entry(index, old);
        g_hash_table_remove(index->vms, old->vm->uuid);
    }
    e->vm = vm;
    e->ifindex = g_new0(guint32, MAX(vm->interfaces->len, 1));
    e->stamp = ++index->stamp;
    g_hash_table_insert(index->vms, e->vm->uuid, e);
    map_entry(index, e);
}

/**
 * fp_vm_index_remove:
 * @index: an index
 * @uuid: a VM's uuid
 *
 * Returns: whether the VM was known
 */
gboolean fp_vm_index_remove(FpVmIndex *index, const char *uuid)
{
    FpVmEntry *e = g_hash_table_lookup(index->vms, uuid);

    if (!e)
        return FALSE;
    unmap_entry(index, e);
    return g_hash_table_remove(index->vms, uuid);
}

/**
 * fp_vm_index_retain:
 * @index: an index
 * @uuids: a set of uuids (strings)
 *
 * Forgets every VM whose uuid is not in @uuids (after a resync).
 *
 * Returns: how many were forgotten
 */
guint fp_vm_index_retain(FpVmIndex *index, GHashTable *uuids)
{
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, index->vms);
    while (g_hash_table_iter_next(&it, &k, NULL))
        if (!g_hash_table_contains(uuids, k))
            g_ptr_array_add(gone, g_strdup(k));
    for (guint i = 0; i < gone->len; i++)
        fp_vm_index_remove(index, g_ptr_array_index(gone, i));
    return gone->len;
}

static gint by_stamp(gconstpointer a, gconstpointer b)
{
    const FpVmEntry *ea = *(FpVmEntry *const *)a, *eb = *(FpVmEntry *const *)b;

    return ea->stamp < eb->stamp ? -1 : ea->stamp > eb->stamp;
}

/**
 * fp_vm_index_refresh:
 * @index: an index
 *
 * Resolves every interface's device name again: taps that appeared late,
 * disappeared, or were recreated with a new ifindex.
 *
 * Returns: how many VMs' mappings changed
 */
guint fp_vm_index_refresh(FpVmIndex *index)
{
    g_autoptr(GPtrArray) entries = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;
    guint changed = 0;

    g_hash_table_iter_init(&it, index->vms);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(entries, v);
    /* Oldest first, so that the newest claim of a device is the one left. */
    g_ptr_array_sort(entries, by_stamp);
    for (guint i = 0; i < entries->len; i++)
        changed += map_entry(index, g_ptr_array_index(entries, i));
    return changed;
}

/**
 * fp_vm_index_find:
 * @index: an index
 * @name_or_uuid: a VM's uuid or name
 *
 * Returns: (transfer none) (nullable): the VM
 */
const FpVm *fp_vm_index_find(FpVmIndex *index, const char *name_or_uuid)
{
    FpVmEntry *e = g_hash_table_lookup(index->vms, name_or_uuid);
    GHashTableIter it;
    gpointer v;

    if (e)
        return e->vm;
    g_hash_table_iter_init(&it, index->vms);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        e = v;
        if (g_str_equal(e->vm->name, name_or_uuid) ||
            g_strcmp0(e->vm->libvirt_name, name_or_uuid) == 0 ||
            g_ascii_strcasecmp(e->vm->uuid, name_or_uuid) == 0)
            return e->vm;
    }
    return NULL;
}

/**
 * fp_vm_index_lookup_ifindex:
 * @index: an index
 * @ifindex: a host device
 * @port: (out) (optional): the VM interface on it
 *
 * Returns: whether @ifindex is a known VM interface
 */
gboolean fp_vm_index_lookup_ifindex(FpVmIndex *index, guint32 ifindex, FpVmPort *port)
{
    const FpPortClaim *c = claim_of(index, ifindex);

    if (!c)
        return FALSE;
    if (port) {
        port->vm = c->entry->vm;
        port->iface = g_ptr_array_index(c->entry->vm->interfaces, c->iface);
        port->iface_index = c->iface;
        port->ifindex = ifindex;
    }
    return TRUE;
}

/**
 * fp_vm_index_get_ifindex:
 * @index: an index
 * @uuid: a VM's uuid
 * @iface_index: position of the interface in the VM
 *
 * Returns: the interface's host ifindex, 0 when it has none
 */
guint32 fp_vm_index_get_ifindex(FpVmIndex *index, const char *uuid, guint iface_index)
{
    FpVmEntry *e = g_hash_table_lookup(index->vms, uuid);

    if (!e || iface_index >= e->vm->interfaces->len)
        return 0;
    return e->ifindex[iface_index];
}

guint fp_vm_index_size(FpVmIndex *index)
{
    return g_hash_table_size(index->vms);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    const FpVm *va = *(const FpVm *const *)a, *vb = *(const FpVm *const *)b;
    int c = g_strcmp0(va->name, vb->name);

    return c ? c : strcmp(va->uuid, vb->uuid);
}

/**
 * fp_vm_index_list:
 * @index: an index
 *
 * Returns: (transfer container) (element-type FpVm): the VMs by name
 */
GPtrArray *fp_vm_index_list(FpVmIndex *index)
{
    GPtrArray *all = g_ptr_array_sized_new(g_hash_table_size(index->vms));
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, index->vms);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(all, ((FpVmEntry *)v)->vm);
    g_ptr_array_sort(all, by_name);
    return all;
}
