/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The footprint sampler: flow table -> per-VM samples per sweep (bytes
 * since the previous sweep, rx/tx from the VM's side, new, elephant and
 * ended flows), with a fake device table instead of the host's. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "footprints.h"

#define UUID_A "11111111-1111-1111-1111-111111111111"
#define UUID_B "22222222-2222-2222-2222-222222222222"

static guint32 fake_resolve(const char *name, gpointer user_data)
{
    return g_str_equal(name, "tapa") ? 10 : g_str_equal(name, "tapb") ? 20 : 0;
}

static FpVm *make_vm(const char *uuid, const char *name, const char *tap)
{
    g_autofree char *xml = g_strdup_printf(
        "<domain type='kvm'><name>%s</name><uuid>%s</uuid><devices><interface type='ethernet'>"
        "<mac address='52:54:00:00:00:01'/><target dev='%s'/></interface></devices></domain>",
        name, uuid, tap);
    g_autoptr(GError) error = NULL;
    FpVm *vm = NULL;

    g_assert_true(fp_domain_xml_parse(xml, strlen(xml), "test", &vm, &error));
    return vm;
}

/* A flow from ifindex @from to ifindex @to (0: the host), port @port. */
static FpFlow *make_flow(guint16 port, guint32 from, guint32 to)
{
    FpFlow *f = g_new0(FpFlow, 1);

    f->key.family = AF_INET;
    f->key.proto = IPPROTO_TCP;
    f->key.sport = port;
    f->key.dport = 80;
    f->in_ifindex[0] = from;
    f->out_ifindex[0] = to;
    f->in_ifindex[1] = to;
    f->out_ifindex[1] = from;
    f->has_devices = TRUE;
    return f;
}

static const FpFootprintSample *get(GHashTable *samples, const char *uuid)
{
    return g_hash_table_lookup(samples, uuid);
}

static void test_sampler(void)
{
    g_autoptr(FpVmIndex) index = fp_vm_index_new(fake_resolve, NULL);
    g_autoptr(FpSampler) sampler = fp_sampler_new();
    g_autoptr(GPtrArray) flows = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GHashTable) s = NULL;
    FpFlow *old, *bulk, *mouse, *between;
    const FpFootprintSample *a, *b;

    fp_vm_index_put(index, make_vm(UUID_A, "bulk", "tapa"));
    fp_vm_index_put(index, make_vm(UUID_B, "web", "tapb"));

    /* First step: a baseline only; an older flow's bytes are not counted. */
    old = make_flow(1000, 10, 0);
    old->bytes[0] = 1000000;
    g_ptr_array_add(flows, old);
    g_assert_null(fp_sampler_step(sampler, index, flows, G_USEC_PER_SEC));

    /* A -> host bulk flow (elephant), a new mouse host -> B, A -> B. */
    old->bytes[0] += 5000;
    old->bytes[1] += 100;
    old->elephant = FP_ELEPHANT_BY_BPF;
    bulk = make_flow(1001, 10, 0);
    bulk->bytes[0] = 20000;
    bulk->elephant = FP_ELEPHANT_BY_SWEEP;
    mouse = make_flow(1002, 0, 20);
    mouse->bytes[0] = 300;
    mouse->bytes[1] = 700;
    between = make_flow(1003, 10, 20);
    between->bytes[0] = 50;
    g_ptr_array_add(flows, bulk);
    g_ptr_array_add(flows, mouse);
    g_ptr_array_add(flows, between);
    s = fp_sampler_step(sampler, index, flows, G_USEC_PER_SEC / 2);
    g_assert_nonnull(s);
    a = get(s, UUID_A);
    b = get(s, UUID_B);
    g_assert_cmpint(a->interval_us, ==, G_USEC_PER_SEC / 2);
    g_assert_cmpuint(a->tx_bytes, ==, 5000 + 20000 + 50);
    g_assert_cmpuint(a->rx_bytes, ==, 100);
    g_assert_cmpuint(a->elephant_bytes, ==, 5100 + 20000);
    g_assert_cmpuint(a->elephant_flows, ==, 2);
    g_assert_cmpuint(a->active_flows, ==, 3);
    g_assert_cmpuint(a->new_flows, ==, 2);
    g_assert_cmpuint(a->mice_started, ==, 1);
    /* B receives the mouse's original direction and sends its reply. */
    g_assert_cmpuint(b->rx_bytes, ==, 300 + 50);
    g_assert_cmpuint(b->tx_bytes, ==, 700);
    g_assert_cmpuint(b->elephant_bytes, ==, 0);
    g_assert_cmpuint(b->new_flows, ==, 2);
    g_assert_cmpuint(b->mice_started, ==, 2);
    g_clear_pointer(&s, g_hash_table_unref);

    /* Nothing moves, the mouse ends: only deltas, one mouse ended for B. */
    g_ptr_array_remove(flows, mouse);
    s = fp_sampler_step(sampler, index, flows, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    b = get(s, UUID_B);
    g_assert_cmpuint(a->tx_bytes + a->rx_bytes, ==, 0);
    g_assert_cmpuint(a->active_flows, ==, 0);
    g_assert_cmpuint(a->new_flows, ==, 0);
    g_assert_cmpuint(a->mice_ended, ==, 0);
    g_assert_cmpuint(b->mice_ended, ==, 1);
    g_assert_cmpuint(b->rx_bytes, ==, 0);
    g_clear_pointer(&s, g_hash_table_unref);

    /* A VM gone from the index: its flows are no one's. */
    g_assert_true(fp_vm_index_remove(index, UUID_A));
    bulk->bytes[0] += 1;
    s = fp_sampler_step(sampler, index, flows, G_USEC_PER_SEC);
    g_assert_null(get(s, UUID_A));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sampler/steps", test_sampler);
    return g_test_run();
}
