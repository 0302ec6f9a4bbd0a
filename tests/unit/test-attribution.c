/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The VM index (tap names -> ifindex -> VM interface, through hot-plug,
 * resyncs and tap ifindex reuse) and flow attribution from devices, with
 * a fake device table instead of the host's. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "attribution.h"
#include "vm-index.h"

#define UUID_A "11111111-1111-1111-1111-111111111111"
#define UUID_B "22222222-2222-2222-2222-222222222222"

/* The fake host: device name -> ifindex. */
static GHashTable *devices;

static guint32 fake_resolve(const char *name, gpointer user_data)
{
    const guint32 *ifindex = g_hash_table_lookup(devices, name);

    return ifindex ? *ifindex : 0;
}

static void set_dev(const char *name, guint32 ifindex)
{
    if (ifindex)
        g_hash_table_insert(devices, g_strdup(name), g_memdup2(&ifindex, sizeof(ifindex)));
    else
        g_hash_table_remove(devices, name);
}

/* A running domain with one interface per tap name ("!" prefix: hostdev). */
static FpVm *make_vm(const char *uuid, const char *name, const char *const *taps)
{
    g_autoptr(GString) xml = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    FpVm *vm = NULL;

    g_string_append_printf(xml, "<domain type='kvm'><name>%s</name><uuid>%s</uuid><devices>", name,
                           uuid);
    for (guint i = 0; taps && taps[i]; i++) {
        if (taps[i][0] == '!')
            g_string_append_printf(xml,
                                   "<interface type='hostdev'><mac address='52:54:00:00:00:%02x'/>"
                                   "<source><address type='pci' domain='0' bus='3' slot='0' "
                                   "function='%u'/></source></interface>",
                                   i, i);
        else
            g_string_append_printf(xml,
                                   "<interface type='ethernet'><mac address='52:54:00:00:00:%02x'/>"
                                   "<target dev='%s'/><model type='virtio'/></interface>",
                                   i, taps[i]);
    }
    g_string_append(xml, "</devices></domain>");
    g_assert_true(fp_domain_xml_parse(xml->str, xml->len, "test", &vm, &error));
    g_assert_no_error(error);
    return vm;
}

static FpFlow make_flow(guint32 in0, guint32 out0, guint32 in1, guint32 out1)
{
    FpFlow f;

    memset(&f, 0, sizeof(f));
    f.key.family = AF_INET;
    f.key.proto = IPPROTO_TCP;
    f.in_ifindex[0] = in0;
    f.out_ifindex[0] = out0;
    f.in_ifindex[1] = in1;
    f.out_ifindex[1] = out1;
    f.has_devices = TRUE;
    return f;
}

static FpVmIndex *setup(void)
{
    g_clear_pointer(&devices, g_hash_table_unref);
    devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return fp_vm_index_new(fake_resolve, NULL);
}

static void test_directions(void)
{
    g_autoptr(FpVmIndex) index = setup();
    FpFlowAttribution a;
    FpFlow f;

    set_dev("tapa", 10);
    set_dev("tapb", 20);
    set_dev("eth0", 2);
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", NULL}));
    fp_vm_index_put(index, make_vm(UUID_B, "db", (const char *[]){"tapb", NULL}));

    /* VM -> outside: in through the tap, out through eth0; reply reversed. */
    f = make_flow(10, 2, 2, 10);
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpint(a.owner, ==, FP_OWNER_VM);
    g_assert_nonnull(a.src.vm);
    g_assert_cmpstr(a.src.vm->uuid, ==, UUID_A);
    g_assert_cmpstr(a.src.iface->target, ==, "tapa");
    g_assert_null(a.dst.vm);

    /* Outside -> VM: leaves through the tap. */
    f = make_flow(2, 20, 20, 2);
    fp_attribute_flow(index, &f, &a);
    g_assert_null(a.src.vm);
    g_assert_cmpstr(a.dst.vm->name, ==, "db");

    /* Only the reply direction seen (the flow predates the agent). */
    f = make_flow(0, 0, 2, 10);
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpstr(a.src.vm->name, ==, "web");
    f = make_flow(0, 0, 20, 0);
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpstr(a.dst.vm->name, ==, "db");

    /* VM -> host (LOCAL_IN: no out device) and host -> VM. */
    f = make_flow(10, 0, 0, 10);
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpstr(a.src.vm->name, ==, "web");
    g_assert_null(a.dst.vm);
    f = make_flow(0, 20, 20, 0);
    fp_attribute_flow(index, &f, &a);
    g_assert_null(a.src.vm);
    g_assert_cmpstr(a.dst.vm->name, ==, "db");

    /* VM <-> VM on this host: both sides. */
    f = make_flow(10, 20, 20, 10);
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpstr(a.src.vm->name, ==, "web");
    g_assert_cmpstr(a.dst.vm->name, ==, "db");
    g_assert_true(fp_attribution_matches(&a, fp_vm_index_find(index, "web")));
    g_assert_true(fp_attribution_matches(&a, fp_vm_index_find(index, UUID_B)));
    {
        g_autofree char *d = fp_attribution_describe(&a);

        g_assert_cmpstr(d, ==, "VM 'web' (tapa) -> VM 'db' (tapb)");
    }

    /* Host and forwarded non-VM traffic: the host's. */
    f = make_flow(2, 3, 3, 2);
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpint(a.owner, ==, FP_OWNER_HOST);
    g_assert_false(fp_attribution_matches(&a, fp_vm_index_find(index, "web")));

    /* No devices (ctnetlink backend): unknown, never "host". */
    f.has_devices = FALSE;
    fp_attribute_flow(index, &f, &a);
    g_assert_cmpint(a.owner, ==, FP_OWNER_UNKNOWN);
    g_assert_cmpstr(fp_owner_to_string(a.owner), ==, "unknown");
}

static void test_hotplug_and_unobservable(void)
{
    g_autoptr(FpVmIndex) index = setup();
    FpVmPort port;

    set_dev("tapa", 10);
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", "!vf", NULL}));
    g_assert_cmpuint(fp_vm_index_get_ifindex(index, UUID_A, 0), ==, 10);
    g_assert_cmpuint(fp_vm_index_get_ifindex(index, UUID_A, 1), ==, 0);

    /* Hot-plug: the device-added event re-reads the XML. */
    set_dev("taphp", 11);
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", "!vf", "taphp", NULL}));
    g_assert_true(fp_vm_index_lookup_ifindex(index, 11, &port));
    g_assert_cmpstr(port.iface->target, ==, "taphp");
    g_assert_cmpuint(port.iface_index, ==, 2);
    g_assert_true(fp_vm_index_lookup_ifindex(index, 10, NULL));

    /* Unplug. */
    set_dev("taphp", 0);
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", "!vf", NULL}));
    g_assert_false(fp_vm_index_lookup_ifindex(index, 11, NULL));
    g_assert_true(fp_vm_index_lookup_ifindex(index, 10, NULL));
    g_assert_cmpuint(fp_vm_index_size(index), ==, 1);
}

static void test_late_tap_and_refresh(void)
{
    g_autoptr(FpVmIndex) index = setup();

    /* The event came before the tap existed. */
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", NULL}));
    g_assert_false(fp_vm_index_lookup_ifindex(index, 10, NULL));
    g_assert_cmpuint(fp_vm_index_refresh(index), ==, 0);
    set_dev("tapa", 10);
    g_assert_cmpuint(fp_vm_index_refresh(index), ==, 1);
    g_assert_true(fp_vm_index_lookup_ifindex(index, 10, NULL));
    g_assert_cmpuint(fp_vm_index_refresh(index), ==, 0);
    /* The tap vanished (and was recreated with a new ifindex). */
    set_dev("tapa", 0);
    g_assert_cmpuint(fp_vm_index_refresh(index), ==, 1);
    g_assert_false(fp_vm_index_lookup_ifindex(index, 10, NULL));
    set_dev("tapa", 13);
    fp_vm_index_refresh(index);
    g_assert_true(fp_vm_index_lookup_ifindex(index, 13, NULL));
    g_assert_false(fp_vm_index_lookup_ifindex(index, 10, NULL));
}

static void test_tap_reuse(void)
{
    g_autoptr(FpVmIndex) index = setup();
    FpVmPort port;

    /* vnet0 belongs to A; A stops (its event was lost: libvirtd was down)
     * and B starts with a new vnet0. */
    set_dev("vnet0", 10);
    fp_vm_index_put(index, make_vm(UUID_A, "old", (const char *[]){"vnet0", NULL}));
    set_dev("vnet0", 14);
    fp_vm_index_put(index, make_vm(UUID_B, "new", (const char *[]){"vnet0", NULL}));
    g_assert_true(fp_vm_index_lookup_ifindex(index, 14, &port));
    g_assert_cmpstr(port.vm->name, ==, "new");
    /* A's stale claim on ifindex 10 must not outlive its tap. */
    fp_vm_index_refresh(index);
    g_assert_false(fp_vm_index_lookup_ifindex(index, 10, NULL));
    g_assert_true(fp_vm_index_lookup_ifindex(index, 14, &port));
    g_assert_cmpstr(port.vm->name, ==, "new");
    g_assert_cmpuint(fp_vm_index_get_ifindex(index, UUID_A, 0), ==, 0);
    /* Refreshing again changes nothing: the newer VM keeps the device. */
    g_assert_cmpuint(fp_vm_index_refresh(index), ==, 0);

    /* The same ifindex handed to another VM (the old owner is gone). */
    fp_vm_index_remove(index, UUID_B);
    g_assert_false(fp_vm_index_lookup_ifindex(index, 14, NULL));
    set_dev("vnet0", 0);
    set_dev("vnet7", 14);
    fp_vm_index_put(index, make_vm(UUID_B, "new", (const char *[]){"vnet7", NULL}));
    g_assert_true(fp_vm_index_lookup_ifindex(index, 14, &port));
    g_assert_cmpstr(port.iface->target, ==, "vnet7");
}

static void test_resync_and_find(void)
{
    g_autoptr(FpVmIndex) index = setup();
    g_autoptr(GHashTable) alive = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) list = NULL;

    set_dev("tapa", 10);
    set_dev("tapb", 20);
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", NULL}));
    fp_vm_index_put(index, make_vm(UUID_B, "db", (const char *[]){"tapb", NULL}));
    list = fp_vm_index_list(index);
    g_assert_cmpuint(list->len, ==, 2);
    g_assert_cmpstr(((FpVm *)g_ptr_array_index(list, 0))->name, ==, "db");
    g_assert_nonnull(fp_vm_index_find(index, "web"));
    g_assert_nonnull(fp_vm_index_find(index, UUID_A));
    g_assert_null(fp_vm_index_find(index, "nope"));

    /* After a reconnect only B is still running. */
    g_hash_table_add(alive, (gpointer)UUID_B);
    g_assert_cmpuint(fp_vm_index_retain(index, alive), ==, 1);
    g_assert_null(fp_vm_index_find(index, "web"));
    g_assert_false(fp_vm_index_lookup_ifindex(index, 10, NULL));
    g_assert_true(fp_vm_index_lookup_ifindex(index, 20, NULL));
    g_assert_false(fp_vm_index_remove(index, UUID_A));
    g_assert_true(fp_vm_index_remove(index, UUID_B));
    g_assert_cmpuint(fp_vm_index_size(index), ==, 0);
}

static void test_traffic(void)
{
    g_autoptr(FpVmIndex) index = setup();
    g_autoptr(GPtrArray) flows = g_ptr_array_new();
    g_autoptr(GHashTable) traffic = NULL;
    FpFlow out, in, between, host;
    const FpVmTraffic *a, *b;

    set_dev("tapa", 10);
    set_dev("tapb", 20);
    fp_vm_index_put(index, make_vm(UUID_A, "web", (const char *[]){"tapa", NULL}));
    fp_vm_index_put(index, make_vm(UUID_B, "db", (const char *[]){"tapb", NULL}));

    out = make_flow(10, 2, 2, 10); /* web uploads 1000 B/s, gets 10 */
    out.rate_bps[0] = 1000;
    out.rate_bps[1] = 10;
    out.bytes[0] = 50000;
    out.bytes[1] = 500;
    out.elephant = FP_ELEPHANT_BY_BPF;
    in = make_flow(2, 10, 10, 2); /* a client downloads 300 B/s from web */
    in.rate_bps[0] = 5;
    in.rate_bps[1] = 300;
    between = make_flow(10, 20, 20, 10); /* web asks db: 7 up, 70 down */
    between.rate_bps[0] = 7;
    between.rate_bps[1] = 70;
    host = make_flow(2, 3, 3, 2);
    host.rate_bps[0] = 1e9;
    g_ptr_array_add(flows, &out);
    g_ptr_array_add(flows, &in);
    g_ptr_array_add(flows, &between);
    g_ptr_array_add(flows, &host);

    traffic = fp_attribute_traffic(index, flows);
    g_assert_cmpuint(g_hash_table_size(traffic), ==, 2);
    a = g_hash_table_lookup(traffic, UUID_A);
    b = g_hash_table_lookup(traffic, UUID_B);
    g_assert_cmpuint(a->flows, ==, 3);
    g_assert_cmpuint(a->elephants, ==, 1);
    g_assert_cmpfloat(a->tx_bps, ==, 1000 + 300 + 7);
    g_assert_cmpfloat(a->rx_bps, ==, 10 + 5 + 70);
    g_assert_cmpuint(a->tx_bytes, ==, 50000);
    g_assert_cmpuint(a->rx_bytes, ==, 500);
    g_assert_cmpuint(b->flows, ==, 1);
    g_assert_cmpuint(b->elephants, ==, 0);
    g_assert_cmpfloat(b->tx_bps, ==, 70);
    g_assert_cmpfloat(b->rx_bps, ==, 7);
}

int main(int argc, char **argv)
{
    int rc;

    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/attribution/directions", test_directions);
    g_test_add_func("/attribution/hotplug-and-unobservable", test_hotplug_and_unobservable);
    g_test_add_func("/attribution/late-tap-and-refresh", test_late_tap_and_refresh);
    g_test_add_func("/attribution/tap-reuse", test_tap_reuse);
    g_test_add_func("/attribution/resync-and-find", test_resync_and_find);
    g_test_add_func("/attribution/traffic", test_traffic);
    rc = g_test_run();
    g_clear_pointer(&devices, g_hash_table_unref);
    return rc;
}
