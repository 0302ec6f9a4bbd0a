/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The footprint sampler: flow table -> per-VM samples per sweep (bytes
 * since the previous sweep, rx/tx from the VM's side, new, elephant and
 * ended flows), with a fake device table instead of the host's. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "attribution.h"
#include "footprints.h"
#include "fp-config.h"
#include "snapshot.h"

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

static FpFlowKey key_of(guint16 port)
{
    FpFlowKey k = {0};

    k.family = AF_INET;
    k.proto = IPPROTO_TCP;
    k.sport = port;
    k.dport = 80;
    return k;
}

/* Conntrack reports the flow on port @port, from ifindex @from to ifindex
 * @to (0: the host), with these counters. */
static FpFlow *report(FpFlowTable *t, guint16 port, guint32 from, guint32 to, guint64 orig,
                      guint64 reply)
{
    FpFlowKey k = key_of(port);
    const guint64 bytes[2] = {orig, reply}, packets[2] = {1, 1};
    const guint32 in[2] = {from, to}, out[2] = {to, from};
    FpFlow *f = fp_flow_table_observe(t, &k, bytes, packets, g_get_monotonic_time());

    fp_flow_table_set_devices(f, in, out);
    return f;
}

static GHashTable *step(FpSampler *sampler, FpVmIndex *index, FpFlowTable *t, gint64 interval_us)
{
    g_autoptr(GPtrArray) flows = fp_flow_table_list(t);
    g_autoptr(GPtrArray) ended = fp_flow_table_take_ended(t, NULL);

    return fp_sampler_step(sampler, index, flows, ended, fp_flow_table_get_generation(t),
                           interval_us);
}

static const FpFootprintSample *get(GHashTable *samples, const char *uuid)
{
    return g_hash_table_lookup(samples, uuid);
}

static void test_sampler(void)
{
    g_autoptr(FpVmIndex) index = fp_vm_index_new(fake_resolve, NULL);
    g_autoptr(FpSampler) sampler = fp_sampler_new();
    g_autoptr(FpFlowTable) t = fp_flow_table_new(G_MAXUINT64, 10 * G_USEC_PER_SEC);
    g_autoptr(GHashTable) s = NULL;
    FpFlow *f;
    const FpFootprintSample *a, *b;

    fp_vm_index_put(index, make_vm(UUID_A, "bulk", "tapa"));
    fp_vm_index_put(index, make_vm(UUID_B, "web", "tapb"));

    /* First step: a baseline only; an older flow's bytes are not counted. */
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 1000, 10, 0, 1000000, 0);
    fp_flow_table_end_sweep(t);
    g_assert_null(step(sampler, index, t, G_USEC_PER_SEC));

    /* A -> host bulk flow (elephant), a new mouse host -> B, A -> B. */
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    f = report(t, 1000, 10, 0, 1005000, 100);
    fp_flow_table_mark_elephant(t, f, FP_ELEPHANT_BY_BPF, 0);
    f = report(t, 1001, 10, 0, 20000, 0);
    fp_flow_table_mark_elephant(t, f, FP_ELEPHANT_BY_SWEEP, 0);
    report(t, 1002, 0, 20, 300, 700);
    report(t, 1003, 10, 20, 50, 0);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC / 2);
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
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 1000, 10, 0, 1005000, 100);
    report(t, 1001, 10, 0, 20000, 0);
    report(t, 1003, 10, 20, 50, 0);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    b = get(s, UUID_B);
    g_assert_cmpuint(a->tx_bytes + a->rx_bytes, ==, 0);
    g_assert_cmpuint(a->active_flows, ==, 0);
    g_assert_cmpuint(a->new_flows, ==, 0);
    g_assert_cmpuint(a->mice_ended, ==, 0);
    g_assert_cmpuint(b->mice_ended, ==, 1);
    g_assert_cmpuint(b->rx_bytes, ==, 0);
    g_clear_pointer(&s, g_hash_table_unref);

    /* A counter that went backwards is a new entry with the same tuple: its
     * bytes count in full.  A mouse born and gone within the interval is
     * both new and ended, with its bytes. */
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 1000, 10, 0, 1005000, 100);
    report(t, 1001, 10, 0, 20000, 0);
    report(t, 1003, 10, 20, 40, 0);
    report(t, 1004, 0, 20, 10, 20);
    {
        FpFlowKey k = key_of(1004);

        g_assert_true(fp_flow_table_remove(t, &k));
    }
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    b = get(s, UUID_B);
    g_assert_cmpuint(a->tx_bytes, ==, 40);
    g_assert_cmpuint(b->rx_bytes, ==, 40 + 10);
    g_assert_cmpuint(b->tx_bytes, ==, 20);
    g_assert_cmpuint(b->new_flows, ==, 1);
    g_assert_cmpuint(b->mice_started, ==, 1);
    g_assert_cmpuint(b->mice_ended, ==, 1);
    g_clear_pointer(&s, g_hash_table_unref);

    /* A VM gone from the index: its flows are no one's. */
    g_assert_true(fp_vm_index_remove(index, UUID_A));
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 1000, 10, 0, 1005001, 100);
    report(t, 1001, 10, 0, 20001, 0);
    report(t, 1003, 10, 20, 40, 0);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    g_assert_null(get(s, UUID_A));
}

/* A flow between two interfaces of one VM crosses its interfaces twice:
 * its bytes count both ways (as the taps' counters see them), once as a
 * flow; the live per-VM sums (fp_attribute_traffic()) follow the same rule. */
static guint32 two_taps(const char *name, gpointer user_data)
{
    return g_str_equal(name, "tapa") ? 10 : g_str_equal(name, "tapa2") ? 11 : 0;
}

static void test_within_one_vm(void)
{
    g_autoptr(FpVmIndex) index = fp_vm_index_new(two_taps, NULL);
    g_autoptr(FpSampler) sampler = fp_sampler_new();
    g_autoptr(FpFlowTable) t = fp_flow_table_new(G_MAXUINT64, 10 * G_USEC_PER_SEC);
    g_autoptr(GHashTable) s = NULL;
    g_autoptr(GHashTable) traffic = NULL;
    g_autoptr(GPtrArray) flows = NULL;
    g_autoptr(GError) error = NULL;
    const char *xml = "<domain type='kvm'><name>two</name><uuid>" UUID_A "</uuid><devices>"
                      "<interface type='ethernet'><target dev='tapa'/></interface>"
                      "<interface type='ethernet'><target dev='tapa2'/></interface>"
                      "</devices></domain>";
    const FpFootprintSample *a;
    const FpVmTraffic *tr;
    FpVm *vm = NULL;

    g_assert_true(fp_domain_xml_parse(xml, strlen(xml), "test", &vm, &error));
    fp_vm_index_put(index, vm);
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    fp_flow_table_end_sweep(t);
    g_assert_null(step(sampler, index, t, G_USEC_PER_SEC));
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 2000, 10, 11, 1000, 30);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    g_assert_cmpuint(a->tx_bytes, ==, 1030);
    g_assert_cmpuint(a->rx_bytes, ==, 1030);
    g_assert_cmpuint(a->new_flows, ==, 1);
    g_assert_cmpuint(a->active_flows, ==, 1);

    flows = fp_flow_table_list(t);
    traffic = fp_attribute_traffic(index, flows);
    tr = g_hash_table_lookup(traffic, UUID_A);
    g_assert_cmpuint(tr->tx_bytes, ==, 1030);
    g_assert_cmpuint(tr->rx_bytes, ==, 1030);
    g_assert_cmpuint(tr->flows, ==, 1);
}

/* The kernel's per-device births, as a test sets them. */
static guint64 fake_births[32][2];

static gboolean fake_births_of(guint32 ifindex, guint64 births[2], gpointer user_data)
{
    if (ifindex >= G_N_ELEMENTS(fake_births) ||
        !(fake_births[ifindex][0] | fake_births[ifindex][1]))
        return FALSE;
    births[0] = fake_births[ifindex][0];
    births[1] = fake_births[ifindex][1];
    return TRUE;
}

/* With the kernel's per-device births, a VM's new flows are the births on
 * its taps since the previous step (both directions), not the flows the
 * bounded table took in; mice started leave out the new flows the table
 * knows as elephants; the first look at a device is a base only. */
static void test_births_from_devices(void)
{
    g_autoptr(FpVmIndex) index = fp_vm_index_new(fake_resolve, NULL);
    g_autoptr(FpSampler) sampler = fp_sampler_new();
    g_autoptr(FpFlowTable) t = fp_flow_table_new(G_MAXUINT64, 10 * G_USEC_PER_SEC);
    g_autoptr(GHashTable) s = NULL;
    const FpFootprintSample *a, *b;
    FpFlow *f;

    memset(fake_births, 0, sizeof(fake_births));
    fp_sampler_set_births_func(sampler, fake_births_of, NULL);
    fp_vm_index_put(index, make_vm(UUID_A, "bulk", "tapa"));
    fp_vm_index_put(index, make_vm(UUID_B, "web", "tapb"));
    fake_births[10][0] = 500; /* before the agent looked: not counted */
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    fp_flow_table_end_sweep(t);
    g_assert_null(step(sampler, index, t, G_USEC_PER_SEC));

    /* A started 40 flows and got 2; the table took one of them in, an
     * elephant already.  B's tap is seen for the first time: a base. */
    fake_births[10][0] = 540;
    fake_births[10][1] = 2;
    fake_births[20][1] = 7;
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    f = report(t, 2000, 10, 0, 1000, 0);
    fp_flow_table_mark_elephant(t, f, FP_ELEPHANT_BY_BPF, 0);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    g_assert_nonnull(a);
    g_assert_cmpuint(a->new_flows, ==, 42);
    g_assert_cmpuint(a->mice_started, ==, 41);
    g_assert_null(get(s, UUID_B));
    g_clear_pointer(&s, g_hash_table_unref);

    /* Then B gets 5 flows the table never took (it was full): counted. */
    fake_births[20][1] = 12;
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 2000, 10, 0, 1000, 0);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    b = get(s, UUID_B);
    g_assert_nonnull(b);
    g_assert_cmpuint(b->new_flows, ==, 5);
    g_assert_cmpuint(b->mice_started, ==, 5);
    a = get(s, UUID_A);
    g_assert_true(a == NULL || a->new_flows == 0);
}

/* The taps' own counters, as a test sets them: [0] the VM sent. */
static guint64 fake_tap[32][2];

static gboolean fake_tap_bytes(guint32 ifindex, guint64 bytes[2], gpointer user_data)
{
    if (ifindex >= G_N_ELEMENTS(fake_tap))
        return FALSE;
    bytes[0] = fake_tap[ifindex][0];
    bytes[1] = fake_tap[ifindex][1];
    return TRUE;
}

/* A step whose flows are not all of them (the bounded table refused or
 * let go some) takes a VM's bytes from its taps when they are more; a
 * complete step keeps the flows' (conntrack's exact counters). */
static void test_tap_bytes_when_partial(void)
{
    g_autoptr(FpVmIndex) index = fp_vm_index_new(fake_resolve, NULL);
    g_autoptr(FpSampler) sampler = fp_sampler_new();
    g_autoptr(FpFlowTable) t = fp_flow_table_new(G_MAXUINT64, 10 * G_USEC_PER_SEC);
    g_autoptr(GHashTable) s = NULL;
    const FpFootprintSample *a, *b;

    memset(fake_tap, 0, sizeof(fake_tap));
    fp_sampler_set_tap_bytes_func(sampler, fake_tap_bytes, NULL);
    fp_vm_index_put(index, make_vm(UUID_A, "bulk", "tapa"));
    fp_vm_index_put(index, make_vm(UUID_B, "web", "tapb"));
    fake_tap[10][0] = 1000;
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 3000, 10, 0, 100, 10);
    fp_flow_table_end_sweep(t);
    g_assert_null(step(sampler, index, t, G_USEC_PER_SEC));

    /* Complete: A's flow moved 400 / 20; its tap saw more (other traffic). */
    fake_tap[10][0] = 6000;
    fake_tap[10][1] = 500;
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 3000, 10, 0, 500, 30);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    g_assert_cmpuint(a->tx_bytes, ==, 400);
    g_assert_cmpuint(a->rx_bytes, ==, 20);
    g_clear_pointer(&s, g_hash_table_unref);

    /* Partial: A's tap counts what the table did not follow; B has no
     * flow in the table at all but its tap moved. */
    fake_tap[10][0] = 16000;
    fake_tap[10][1] = 700;
    fake_tap[20][1] = 3000; /* B: no flow followed, its tap moved */
    fp_sampler_set_partial(sampler, TRUE);
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 3000, 10, 0, 600, 530);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    a = get(s, UUID_A);
    g_assert_cmpuint(a->tx_bytes, ==, 10000);
    g_assert_cmpuint(a->rx_bytes, ==, 500); /* the flow's 500 > the tap's 200 */
    b = get(s, UUID_B);
    g_assert_nonnull(b);
    g_assert_cmpuint(b->rx_bytes, ==, 3000);
    g_clear_pointer(&s, g_hash_table_unref);

    fake_tap[20][1] = 9000;
    fp_flow_table_begin_sweep(t, g_get_monotonic_time());
    report(t, 3000, 10, 0, 600, 530);
    fp_flow_table_end_sweep(t);
    s = step(sampler, index, t, G_USEC_PER_SEC);
    b = get(s, UUID_B);
    g_assert_nonnull(b);
    g_assert_cmpuint(b->rx_bytes, ==, 6000);
    g_assert_cmpuint(b->new_flows, ==, 0);
}

/* The learner over a flow table that does not follow every conntrack
 * flow (fp_flow_table_set_partial(): a conntrack too big to dump): a VM's
 * bytes are its tap's even in a sweep where the table refused and let go
 * nothing.  Its totals over two sweeps, the tap moving 5000 / 700 bytes. */
static guint64 learnt_tx(gboolean partial, guint64 *rx)
{
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autofree char *dir = g_dir_make_tmp("fp16-sampler-XXXXXX", NULL);
    g_autoptr(FpVmIndex) index = fp_vm_index_new(fake_resolve, NULL);
    g_autoptr(FpFlowTable) t = fp_flow_table_new(G_MAXUINT64, 10 * G_USEC_PER_SEC);
    FpFootprints *fps = fp_footprints_new(&config->footprint, dir, config->forget_after_days);
    gint64 now = g_get_monotonic_time();
    guint64 tx = 0;

    memset(fake_tap, 0, sizeof(fake_tap));
    fp_footprints_set_tap_bytes_func(fps, fake_tap_bytes, NULL);
    fp_vm_index_put(index, make_vm(UUID_A, "bulk", "tapa"));
    fp_flow_table_set_partial(t, partial);
    g_assert_true(fp_flow_table_is_partial(t) == partial);
    for (int i = 0; i < 3; i++) {
        g_autoptr(FpSnapshot) snap = NULL;

        fake_tap[10][0] += i ? 5000 : 100;
        fake_tap[10][1] += i ? 700 : 10;
        fp_flow_table_begin_sweep(t, now + i * G_USEC_PER_SEC);
        fp_flow_table_end_sweep(t);
        snap = fp_footprints_sweep(fps, index, t, now + i * G_USEC_PER_SEC, g_get_real_time());
        g_assert_cmpuint(snap->vms->len, ==, 1);
        tx = ((const FpVmSnapshot *)g_ptr_array_index(snap->vms, 0))->totals.tx_bytes;
        *rx = ((const FpVmSnapshot *)g_ptr_array_index(snap->vms, 0))->totals.rx_bytes;
    }
    fp_footprints_free(fps);
    g_rmdir(dir);
    return tx;
}

static void test_partial_table(void)
{
    guint64 rx;

    /* Every flow followed (none here): the flows' bytes, nothing. */
    g_assert_cmpuint(learnt_tx(FALSE, &rx), ==, 0);
    g_assert_cmpuint(rx, ==, 0);
    /* Not all followed: the tap's. */
    g_assert_cmpuint(learnt_tx(TRUE, &rx), ==, 10000);
    g_assert_cmpuint(rx, ==, 1400);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sampler/steps", test_sampler);
    g_test_add_func("/sampler/within-one-vm", test_within_one_vm);
    g_test_add_func("/sampler/births-from-devices", test_births_from_devices);
    g_test_add_func("/sampler/tap-bytes-when-partial", test_tap_bytes_when_partial);
    g_test_add_func("/sampler/partial-table", test_partial_table);
    return g_test_run();
}
