/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The D-Bus object footprintctl (and any other client) talks to.  The
 * interface is described in org.footprintd.Footprint1.xml, compiled in.
 */
#include "config.h"

#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "attribution.h"
#include "dbus.h"
#include "fp-error.h"
#include "introspection.h"
#include "log-limit.h"
#include "safe-text.h"

struct _FpDbus {
    GDBusConnection *connection;
    GDBusNodeInfo *node;
    guint registration;
    FpFlowTable *table;
    FpSense *sense;
    FpInventory *inventory;
    FpFootprints *footprints;
    const FpLogLimit *elephant_log;
};

static void add_dev(GVariantBuilder *b, const char *key, guint32 ifindex)
{
    char name[IF_NAMESIZE];

    /* The kernel's names need not be UTF-8. */
    if (ifindex && if_indextoname(ifindex, name))
        g_variant_builder_add(b, "{sv}", key, fp_text_variant(name));
}

static GVariant *port_variant(const FpVmPort *port)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "uuid", g_variant_new_string(port->vm->uuid));
    g_variant_builder_add(&b, "{sv}", "name", fp_text_variant(port->vm->name));
    if (port->iface->target)
        g_variant_builder_add(&b, "{sv}", "interface", fp_text_variant(port->iface->target));
    if (port->iface->mac)
        g_variant_builder_add(&b, "{sv}", "mac", fp_text_variant(port->iface->mac));
    return g_variant_builder_end(&b);
}

static void add_attribution(GVariantBuilder *b, const FpFlowAttribution *a)
{
    g_variant_builder_add(b, "{sv}", "owner", g_variant_new_string(fp_owner_to_string(a->owner)));
    if (a->src.vm)
        g_variant_builder_add(b, "{sv}", "vm_src", port_variant(&a->src));
    if (a->dst.vm)
        g_variant_builder_add(b, "{sv}", "vm_dst", port_variant(&a->dst));
}

/**
 * fp_flow_to_variant:
 * @flow: a flow
 * @vms: (nullable): the running VMs, to attribute the flow
 * @now_mono_us: g_get_monotonic_time() now
 * @now_real_us: g_get_real_time() now
 *
 * Returns: (transfer floating): the flow as an a{sv} with the contract's
 * field names
 */
GVariant *fp_flow_to_variant(const FpFlow *flow, FpVmIndex *vms, gint64 now_mono_us,
                             gint64 now_real_us)
{
    GVariantBuilder b;
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
    gint64 offset = now_real_us - now_mono_us;

    fp_flow_key_format(&flow->key, src, sizeof(src), dst, sizeof(dst));
    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(
        &b, "{sv}", "proto",
        g_variant_new_string(fp_flow_proto_name(flow->key.proto, pbuf, sizeof(pbuf))));
    g_variant_builder_add(&b, "{sv}", "src", g_variant_new_string(src));
    g_variant_builder_add(&b, "{sv}", "dst", g_variant_new_string(dst));
    g_variant_builder_add(&b, "{sv}", "sport", g_variant_new_uint16(flow->key.sport));
    g_variant_builder_add(&b, "{sv}", "dport", g_variant_new_uint16(flow->key.dport));
    g_variant_builder_add(&b, "{sv}", "zone", g_variant_new_uint16(flow->key.zone));
    g_variant_builder_add(&b, "{sv}", "bytes_orig", g_variant_new_uint64(flow->bytes[0]));
    g_variant_builder_add(&b, "{sv}", "bytes_reply", g_variant_new_uint64(flow->bytes[1]));
    g_variant_builder_add(&b, "{sv}", "packets_orig", g_variant_new_uint64(flow->packets[0]));
    g_variant_builder_add(&b, "{sv}", "packets_reply", g_variant_new_uint64(flow->packets[1]));
    g_variant_builder_add(&b, "{sv}", "elephant",
                          g_variant_new_boolean(flow->elephant != FP_ELEPHANT_NONE));
    g_variant_builder_add(&b, "{sv}", "elephant_by",
                          g_variant_new_string(flow->elephant == FP_ELEPHANT_BY_BPF     ? "bpf"
                                               : flow->elephant == FP_ELEPHANT_BY_SWEEP ? "sweep"
                                                                                        : ""));
    g_variant_builder_add(&b, "{sv}", "first_seen",
                          g_variant_new_double((double)(flow->first_seen_us + offset) / 1e6));
    g_variant_builder_add(&b, "{sv}", "last_seen",
                          g_variant_new_double((double)(flow->last_seen_us + offset) / 1e6));
    g_variant_builder_add(&b, "{sv}", "rate_orig_bps", g_variant_new_double(flow->rate_bps[0]));
    g_variant_builder_add(&b, "{sv}", "rate_reply_bps", g_variant_new_double(flow->rate_bps[1]));
    if (flow->has_devices) {
        add_dev(&b, "in_dev", flow->in_ifindex[0]);
        add_dev(&b, "out_dev", flow->out_ifindex[0]);
    }
    if (vms) {
        FpFlowAttribution a;

        fp_attribute_flow(vms, flow, &a);
        add_attribution(&b, &a);
    }
    return g_variant_builder_end(&b);
}

static GVariant *status_variant(FpDbus *self)
{
    FpSenseStats st;
    GVariantBuilder b;

    fp_sense_get_stats(self->sense, &st);
    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
#define ADD(k, v) g_variant_builder_add(&b, "{sv}", k, v)
    ADD("version", g_variant_new_string(PACKAGE_VERSION));
    ADD("backend", g_variant_new_string(fp_backend_to_string(st.backend)));
    ADD("backend_reason", fp_text_variant(st.backend_reason));
    ADD("hook_priority", g_variant_new_int32(st.hook_priority));
    ADD("flows", g_variant_new_uint32(fp_flow_table_size(self->table)));
    ADD("elephants", g_variant_new_uint32(fp_flow_table_count_elephants(self->table)));
    ADD("flows_new", g_variant_new_uint64(st.flows_new));
    ADD("flows_table_full", g_variant_new_uint64(st.flows_table_full));
    ADD("flows_evicted_idle", g_variant_new_uint64(st.flows_evicted_idle));
    ADD("events", g_variant_new_uint64(st.events));
    ADD("events_dropped", g_variant_new_uint64(st.events_dropped));
    ADD("destroy_events", g_variant_new_uint64(st.destroy_events));
    ADD("destroy_events_lost", g_variant_new_uint64(st.destroy_events_lost));
    ADD("untracked_packets", g_variant_new_uint64(st.untracked_packets));
    ADD("samples", g_variant_new_uint64(st.samples));
    ADD("samples_skipped", g_variant_new_uint64(st.samples_skipped));
    ADD("checkpoints", g_variant_new_uint64(st.checkpoints));
    ADD("read_errors", g_variant_new_uint64(st.read_errors));
    ADD("flows_log_lost", g_variant_new_uint64(st.flows_log_lost));
    ADD("sweeps", g_variant_new_uint64(st.sweeps));
    ADD("sweep_dumps", g_variant_new_uint64(st.sweep_dumps));
    ADD("sweep_queries", g_variant_new_uint64(st.sweep_queries));
    ADD("sweep_queries_spared", g_variant_new_uint64(st.sweep_queries_spared));
    ADD("sweep_last_us", g_variant_new_int64(st.sweep_last_us));
    ADD("sweep_max_us", g_variant_new_int64(st.sweep_max_us));
    ADD("bpf_run_time_ns", g_variant_new_uint64(st.bpf_run_time_ns));
    ADD("bpf_run_count", g_variant_new_uint64(st.bpf_run_count));
    ADD("event_latency_p50_ns", g_variant_new_int64(st.event_latency_p50_ns));
    ADD("event_latency_p99_ns", g_variant_new_int64(st.event_latency_p99_ns));
    ADD("event_latency_samples", g_variant_new_uint32(st.event_latency_samples));
    ADD("conntrack_active", g_variant_new_boolean(st.conntrack_active));
    ADD("conntrack_warning", fp_text_variant(st.conntrack_warning ? st.conntrack_warning : ""));
    if (self->elephant_log)
        ADD("elephant_log_suppressed",
            g_variant_new_uint64(fp_log_limit_get_suppressed_total(self->elephant_log)));
    ADD("acct_enabled_by_agent", g_variant_new_boolean(st.acct_enabled_by_us));
    if (self->inventory) {
        FpInventoryStatus inv;

        fp_inventory_get_status(self->inventory, &inv);
        ADD("libvirt_uri", fp_text_variant(inv.uri));
        ADD("libvirt_connected", g_variant_new_boolean(inv.connected));
        ADD("libvirt_error", fp_text_variant(inv.last_error ? inv.last_error : ""));
        ADD("libvirt_connects", g_variant_new_uint64(inv.connects));
        ADD("libvirt_events", g_variant_new_uint64(inv.events));
        ADD("libvirt_resyncs", g_variant_new_uint64(inv.resyncs));
        ADD("libvirt_domain_xml_errors", g_variant_new_uint64(inv.domain_xml_errors));
        ADD("vms", g_variant_new_uint32(fp_vm_index_size(fp_inventory_get_index(self->inventory))));
    }
#undef ADD
    return g_variant_builder_end(&b);
}

static FpVmIndex *vm_index(FpDbus *self)
{
    return self->inventory ? fp_inventory_get_index(self->inventory) : NULL;
}

/* Returns NULL with @error set when the options name an unknown VM. */
static GVariant *list_flows(FpDbus *self, GVariant *options, GError **error)
{
    g_autoptr(GPtrArray) flows = fp_flow_table_list(self->table);
    FpVmIndex *vms = vm_index(self);
    gboolean elephants_only = FALSE;
    const char *vm_name = NULL;
    const FpVm *vm = NULL;
    gint64 mono = g_get_monotonic_time(), real = g_get_real_time();
    GVariantBuilder b;

    g_variant_lookup(options, "elephants", "b", &elephants_only);
    if (g_variant_lookup(options, "vm", "&s", &vm_name) && *vm_name) {
        vm = vms ? fp_vm_index_find(vms, vm_name) : NULL;
        if (!vm) {
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "no running VM named '%s'", vm_name);
            return NULL;
        }
    }
    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; i < flows->len; i++) {
        const FpFlow *f = g_ptr_array_index(flows, i);

        if (elephants_only && f->elephant == FP_ELEPHANT_NONE)
            continue;
        if (vm) {
            FpFlowAttribution a;

            fp_attribute_flow(vms, f, &a);
            if (!fp_attribution_matches(&a, vm))
                continue;
        }
        g_variant_builder_add_value(&b, fp_flow_to_variant(f, vms, mono, real));
    }
    return g_variant_builder_end(&b);
}

/* Every string of a VM or its interfaces: from libvirt or the kernel. */
static void add_str(GVariantBuilder *b, const char *key, const char *value)
{
    if (value)
        g_variant_builder_add(b, "{sv}", key, fp_text_variant(value));
}

static GVariant *interface_variant(FpVmIndex *vms, const FpVm *vm, guint i)
{
    const FpVmInterface *nic = g_ptr_array_index(vm->interfaces, i);
    guint32 ifindex = fp_vm_index_get_ifindex(vms, vm->uuid, i);
    g_autofree char *host_reason = NULL;
    g_autofree char *missing = NULL;
    gboolean observable = nic->observable;
    const char *reason = nic->reason;
    GVariantBuilder b;

    /* The XML says whether a host device exists by design; the host says
     * whether it exists now and whether conntrack sees its traffic. */
    if (observable && !ifindex) {
        observable = FALSE;
        missing =
            g_strdup_printf("host device '%s' not found", nic->target ? nic->target : "(none)");
        reason = missing;
    } else if (observable && !fp_inventory_host_visibility(nic->target, &host_reason)) {
        observable = FALSE;
        reason = host_reason;
    }
    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    add_str(&b, "type", nic->type);
    add_str(&b, "target", nic->target);
    add_str(&b, "mac", nic->mac);
    add_str(&b, "source", nic->source);
    add_str(&b, "model", nic->model);
    g_variant_builder_add(&b, "{sv}", "queues", g_variant_new_uint32(nic->queues));
    g_variant_builder_add(&b, "{sv}", "ifindex", g_variant_new_uint32(ifindex));
    g_variant_builder_add(&b, "{sv}", "observable", g_variant_new_boolean(observable));
    add_str(&b, "reason", reason);
    add_str(&b, "problem", nic->problem);
    return g_variant_builder_end(&b);
}

static GVariant *list_vms(FpDbus *self, GVariant *options)
{
    FpVmIndex *vms = vm_index(self);
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GPtrArray) flows = NULL;
    g_autoptr(GHashTable) traffic = NULL;
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    if (!vms)
        return g_variant_builder_end(&b);
    all = fp_vm_index_list(vms);
    flows = fp_flow_table_list(self->table);
    traffic = fp_attribute_traffic(vms, flows);
    for (guint i = 0; i < all->len; i++) {
        const FpVm *vm = g_ptr_array_index(all, i);
        const FpVmTraffic *tr = g_hash_table_lookup(traffic, vm->uuid);
        FpVmTraffic none = {0};
        GVariantBuilder vb, ib;
        double rx_bps = 0, tx_bps = 0;
        gboolean sampled = FALSE;

        if (!tr)
            tr = &none;
        /* Live rates from the taps' counters (all traffic, tracked or not);
         * from the flows' when no tap has been sampled yet. */
        for (guint j = 0; j < vm->interfaces->len; j++) {
            const FpVmInterface *nic = g_ptr_array_index(vm->interfaces, j);
            double to_vm, from_vm;

            if (fp_inventory_get_device_rates(self->inventory, nic->target, &to_vm, &from_vm)) {
                rx_bps += to_vm;
                tx_bps += from_vm;
                sampled = TRUE;
            }
        }
        if (!sampled) {
            rx_bps = tr->rx_bps;
            tx_bps = tr->tx_bps;
        }
        g_variant_builder_init(&vb, G_VARIANT_TYPE_VARDICT);
        add_str(&vb, "name", vm->name);
        g_variant_builder_add(&vb, "{sv}", "name_truncated",
                              g_variant_new_boolean(vm->name_truncated));
        add_str(&vb, "uuid", vm->uuid);
        add_str(&vb, "problem", vm->problem);
        if (vm->nova) {
            add_str(&vb, "nova_name", vm->nova->name);
            add_str(&vb, "nova_project", vm->nova->project_name);
        }
        g_variant_builder_init(&ib, G_VARIANT_TYPE("aa{sv}"));
        for (guint j = 0; j < vm->interfaces->len; j++)
            g_variant_builder_add_value(&ib, interface_variant(vms, vm, j));
        g_variant_builder_add(&vb, "{sv}", "interfaces", g_variant_builder_end(&ib));
        g_variant_builder_add(&vb, "{sv}", "rx_bps", g_variant_new_double(rx_bps));
        g_variant_builder_add(&vb, "{sv}", "tx_bps", g_variant_new_double(tx_bps));
        g_variant_builder_add(&vb, "{sv}", "rx_bytes", g_variant_new_uint64(tr->rx_bytes));
        g_variant_builder_add(&vb, "{sv}", "tx_bytes", g_variant_new_uint64(tr->tx_bytes));
        g_variant_builder_add(&vb, "{sv}", "flows", g_variant_new_uint32(tr->flows));
        g_variant_builder_add(&vb, "{sv}", "elephants", g_variant_new_uint32(tr->elephants));
        g_variant_builder_add_value(&b, g_variant_builder_end(&vb));
    }
    return g_variant_builder_end(&b);
}

static void on_method_call(GDBusConnection *connection, const char *sender, const char *path,
                           const char *interface, const char *method, GVariant *params,
                           GDBusMethodInvocation *invocation, gpointer user_data)
{
    FpDbus *self = user_data;

    if (g_str_equal(method, "GetStatus")) {
        g_dbus_method_invocation_return_value(
            invocation, g_variant_new_tuple((GVariant *[]){status_variant(self)}, 1));
    } else if (g_str_equal(method, "ListFlows")) {
        g_autoptr(GVariant) options = g_variant_get_child_value(params, 0);
        g_autoptr(GError) error = NULL;
        GVariant *flows = list_flows(self, options, &error);

        if (!flows)
            g_dbus_method_invocation_return_error_literal(
                invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                error ? error->message : "invalid options");
        else
            g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&flows, 1));
    } else if (g_str_equal(method, "GetFootprint") || g_str_equal(method, "Explain")) {
        g_autoptr(GError) error = NULL;
        const char *vm = NULL;
        GVariant *fp = NULL;

        g_variant_get(params, "(&s)", &vm);
        if (self->footprints)
            fp = fp_footprints_get(self->footprints, vm, g_str_equal(method, "Explain"), &error);
        else
            g_set_error_literal(&error, FP_ERROR, FP_ERROR_NOT_FOUND, "footprints not available");
        if (!fp)
            g_dbus_method_invocation_return_error_literal(
                invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS, error->message);
        else
            g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&fp, 1));
    } else if (g_str_equal(method, "ListFootprints")) {
        GVariant *all = self->footprints ? fp_footprints_list(self->footprints)
                                         : g_variant_new_array(G_VARIANT_TYPE_VARDICT, NULL, 0);

        g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&all, 1));
    } else if (g_str_equal(method, "ListVms")) {
        g_autoptr(GVariant) options = g_variant_get_child_value(params, 0);

        g_dbus_method_invocation_return_value(
            invocation, g_variant_new_tuple((GVariant *[]){list_vms(self, options)}, 1));
    } else {
        g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                              "unknown method %s", method);
    }
}

static GVariant *on_get_property(GDBusConnection *connection, const char *sender, const char *path,
                                 const char *interface, const char *property, GError **error,
                                 gpointer user_data)
{
    FpDbus *self = user_data;
    FpSenseStats st;

    if (g_str_equal(property, "Version"))
        return g_variant_new_string(PACKAGE_VERSION);
    if (g_str_equal(property, "Backend")) {
        fp_sense_get_stats(self->sense, &st);
        return g_variant_new_string(fp_backend_to_string(st.backend));
    }
    g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "unknown property %s",
                property);
    return NULL;
}

static const GDBusInterfaceVTable vtable = {
    .method_call = on_method_call,
    .get_property = on_get_property,
};

/**
 * fp_dbus_new:
 * @connection: the bus
 * @table: the flow table to serve (borrowed)
 * @sense: the sensing module to report on (borrowed)
 * @inventory: (nullable): the VMs, to attribute flows (borrowed)
 * @error: return location for a #GError
 *
 * Exports the object; the caller owns the bus name.
 */
FpDbus *fp_dbus_new(GDBusConnection *connection, FpFlowTable *table, FpSense *sense,
                    FpInventory *inventory, GError **error)
{
    g_autoptr(FpDbus) self = g_new0(FpDbus, 1);

    self->connection = g_object_ref(connection);
    self->table = table;
    self->sense = sense;
    self->inventory = inventory;
    self->node = g_dbus_node_info_new_for_xml(fp_introspection_xml, error);
    if (!self->node)
        return NULL;
    self->registration = g_dbus_connection_register_object(
        connection, FP_DBUS_PATH, g_dbus_node_info_lookup_interface(self->node, FP_DBUS_INTERFACE),
        &vtable, self, NULL, error);
    if (!self->registration)
        return NULL;
    return g_steal_pointer(&self);
}

void fp_dbus_free(FpDbus *self)
{
    if (!self)
        return;
    if (self->registration)
        g_dbus_connection_unregister_object(self->connection, self->registration);
    g_clear_pointer(&self->node, g_dbus_node_info_unref);
    g_clear_object(&self->connection);
    g_free(self);
}

/**
 * fp_dbus_set_footprints:
 * @dbus: a #FpDbus
 * @footprints: (nullable): the learner to serve (borrowed)
 */
void fp_dbus_set_footprints(FpDbus *self, FpFootprints *footprints)
{
    self->footprints = footprints;
}

/**
 * fp_dbus_set_elephant_log:
 * @dbus: a #FpDbus
 * @limit: (nullable): the elephant lines' limiter, for its count of lines
 *     suppressed (borrowed)
 */
void fp_dbus_set_elephant_log(FpDbus *self, const FpLogLimit *limit)
{
    self->elephant_log = limit;
}

/**
 * fp_dbus_emit_class_changed:
 * @dbus: a #FpDbus
 * @uuid: the VM's uuid
 * @name: the VM's name
 * @old_class: the class in effect before
 * @new_class: the class in effect now
 * @confidence: confidence in @new_class
 */
void fp_dbus_emit_class_changed(FpDbus *self, const char *uuid, const char *name, FpClass old_class,
                                FpClass new_class, double confidence)
{
    g_autoptr(GError) error = NULL;

    if (!g_dbus_connection_emit_signal(
            self->connection, NULL, FP_DBUS_PATH, FP_DBUS_INTERFACE, "ClassChanged",
            g_variant_new("(ssssd)", uuid, name, fp_class_to_string(old_class),
                          fp_class_to_string(new_class), confidence),
            &error))
        g_message("cannot emit ClassChanged: %s", error->message);
}

/**
 * fp_dbus_emit_elephant:
 * @dbus: a #FpDbus
 * @flow: the flow that just became an elephant
 */
void fp_dbus_emit_elephant(FpDbus *self, const FpFlow *flow)
{
    g_autoptr(GError) error = NULL;
    GVariant *v =
        fp_flow_to_variant(flow, vm_index(self), g_get_monotonic_time(), g_get_real_time());

    if (!g_dbus_connection_emit_signal(self->connection, NULL, FP_DBUS_PATH, FP_DBUS_INTERFACE,
                                       "ElephantFound", g_variant_new_tuple(&v, 1), &error))
        g_warning("cannot emit ElephantFound: %s", error->message);
}
