/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Attribution from devices.  The kernel program records, per direction of
 * a conntrack flow, the device its first packet came in on and the one it
 * left through.  A VM's packets enter the host through its tap; packets
 * for the VM leave through it.  So, for a flow whose original direction
 * goes from A to B:
 *
 *   A is a VM when  in[orig]  is its tap  (or out[reply] is: the answer
 *                                          goes back into it)
 *   B is a VM when  out[orig] is its tap  (or in[reply] is)
 *
 * This holds through NAT (devices, not addresses) and gives both sides of
 * VM-to-VM flows on this host.  Devices are looked up at query time, so a
 * destroyed VM's flows stop being attributed to it at once.
 */
#include "config.h"

#include <string.h>

#include "attribution.h"

static gboolean lookup_any(FpVmIndex *index, guint32 a, guint32 b, FpVmPort *port)
{
    return fp_vm_index_lookup_ifindex(index, a, port) || fp_vm_index_lookup_ifindex(index, b, port);
}

/**
 * fp_attribute_flow:
 * @index: the VMs
 * @flow: a flow
 * @out: (out): its attribution
 */
void fp_attribute_flow(FpVmIndex *index, const FpFlow *flow, FpFlowAttribution *out)
{
    memset(out, 0, sizeof(*out));
    if (!flow->has_devices) {
        out->owner = FP_OWNER_UNKNOWN;
        return;
    }
    lookup_any(index, flow->in_ifindex[0], flow->out_ifindex[1], &out->src);
    lookup_any(index, flow->out_ifindex[0], flow->in_ifindex[1], &out->dst);
    out->owner = out->src.vm || out->dst.vm ? FP_OWNER_VM : FP_OWNER_HOST;
}

/**
 * fp_attribution_matches:
 * @attr: a flow's attribution
 * @vm: a VM
 *
 * Returns: whether a side of the flow is in @vm
 */
gboolean fp_attribution_matches(const FpFlowAttribution *attr, const FpVm *vm)
{
    return (attr->src.vm && g_str_equal(attr->src.vm->uuid, vm->uuid)) ||
           (attr->dst.vm && g_str_equal(attr->dst.vm->uuid, vm->uuid));
}

const char *fp_owner_to_string(FpOwner owner)
{
    switch (owner) {
    case FP_OWNER_HOST:
        return "host";
    case FP_OWNER_VM:
        return "vm";
    case FP_OWNER_UNKNOWN:
    default:
        return "unknown";
    }
}

static void describe_side(GString *out, const FpVmPort *port)
{
    if (port->vm)
        g_string_append_printf(out, "VM '%s' (%s)", port->vm->name,
                               port->iface->target ? port->iface->target : "?");
    else
        g_string_append(out, "not a VM");
}

/**
 * fp_attribution_describe:
 * @attr: a flow's attribution
 *
 * Returns: (transfer full): one line for logs, e.g.
 *     "VM 'web' (vnet3) -> not a VM", "host", "unknown (no devices)"
 */
char *fp_attribution_describe(const FpFlowAttribution *attr)
{
    GString *out;

    if (attr->owner == FP_OWNER_UNKNOWN)
        return g_strdup("unknown (no devices)");
    if (attr->owner == FP_OWNER_HOST)
        return g_strdup("host");
    out = g_string_new(NULL);
    describe_side(out, &attr->src);
    g_string_append(out, " -> ");
    describe_side(out, &attr->dst);
    return g_string_free(out, FALSE);
}

/**
 * fp_attribution_sides:
 * @attr: a flow's attribution
 * @sides: (out caller-allocates) (array fixed-size=2): the VMs' parts
 *
 * The one rule for summing flows per VM.  The sender's VM sends in the
 * original direction, the receiver's in the reply direction.  A flow
 * between two interfaces of one VM crosses the VM's interfaces twice (out
 * of one, into the other), as the taps' own counters see it: its bytes
 * count both ways, and it counts once as a flow.
 *
 * Returns: how many of @sides are filled (0, 1 or 2)
 */
guint fp_attribution_sides(const FpFlowAttribution *attr, FpVmSide sides[2])
{
    guint n = 0;

    if (attr->src.vm != NULL)
        sides[n++] = (FpVmSide){attr->src.vm, 0, TRUE};
    if (attr->dst.vm != NULL)
        sides[n++] = (FpVmSide){attr->dst.vm, 1, attr->dst.vm != attr->src.vm};
    return n;
}

/**
 * fp_attribute_flow_sides:
 * @index: the VMs
 * @flow: a flow
 * @sides: (out caller-allocates) (array fixed-size=2): the VMs' parts
 *
 * fp_attribute_flow() then fp_attribution_sides().
 *
 * Returns: how many of @sides are filled
 */
guint fp_attribute_flow_sides(FpVmIndex *index, const FpFlow *flow, FpVmSide sides[2])
{
    FpFlowAttribution a;

    fp_attribute_flow(index, flow, &a);
    return fp_attribution_sides(&a, sides);
}

static FpVmTraffic *traffic_of(GHashTable *t, const FpVm *vm)
{
    FpVmTraffic *tr = g_hash_table_lookup(t, vm->uuid);

    if (!tr) {
        tr = g_new0(FpVmTraffic, 1);
        g_hash_table_insert(t, g_strdup(vm->uuid), tr);
    }
    return tr;
}

/* @dir: the flow direction the VM sends in (0: original, 1: reply). */
static void add_side(FpVmTraffic *tr, const FpFlow *f, int dir)
{
    tr->tx_bps += f->rate_bps[dir];
    tr->rx_bps += f->rate_bps[!dir];
    tr->tx_bytes += f->bytes[dir];
    tr->rx_bytes += f->bytes[!dir];
}

/**
 * fp_attribute_traffic:
 * @index: the VMs
 * @flows: (element-type FpFlow): live flows
 *
 * Sums each VM's flows (fp_attribution_sides() says how).
 *
 * Returns: (transfer full): uuid -> #FpVmTraffic, VMs without flows absent
 */
GHashTable *fp_attribute_traffic(FpVmIndex *index, GPtrArray *flows)
{
    GHashTable *t = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    for (guint i = 0; i < flows->len; i++) {
        const FpFlow *f = g_ptr_array_index(flows, i);
        gboolean ele = f->elephant != FP_ELEPHANT_NONE;
        FpVmSide sides[2];
        guint n = fp_attribute_flow_sides(index, f, sides);

        for (guint k = 0; k < n; k++) {
            FpVmTraffic *tr = traffic_of(t, sides[k].vm);

            add_side(tr, f, sides[k].dir);
            if (sides[k].counts_flow) {
                tr->flows++;
                tr->elephants += ele;
            }
        }
    }
    return t;
}
