/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The flow model: conntrack's counters in, flows, rates, elephants and
 * ended flows out. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "flow-table.h"

#define MiB (1024 * 1024)
#define SEC G_USEC_PER_SEC

static FpFlowKey make_key(const char *src, guint16 sport, const char *dst, guint16 dport)
{
    FpFlowKey k;

    memset(&k, 0, sizeof(k));
    k.family = AF_INET;
    k.proto = IPPROTO_TCP;
    g_assert_cmpint(inet_pton(AF_INET, src, k.src), ==, 1);
    g_assert_cmpint(inet_pton(AF_INET, dst, k.dst), ==, 1);
    k.sport = sport;
    k.dport = dport;
    return k;
}

static FpFlow *sweep_one(FpFlowTable *t, const FpFlowKey *k, guint64 orig, guint64 reply,
                         gint64 now)
{
    guint64 bytes[2] = {orig, reply}, packets[2] = {orig / 1000 + 1, reply / 1000 + 1};
    FpFlow *f;

    fp_flow_table_begin_sweep(t, now);
    f = fp_flow_table_observe(t, k, bytes, packets, now);
    fp_flow_table_end_sweep(t);
    return f;
}

/* A bulk flow born after the agent's first sweep crosses 10 MiB within
 * 10 s: an elephant, noticed by the sweep. */
static void test_bulk_is_elephant(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(10 * MiB, 10 * SEC);
    FpFlowKey k = make_key("10.0.0.1", 40000, "10.0.1.1", 5201);
    FpFlow *f;

    fp_flow_table_begin_sweep(t, 1 * SEC);
    fp_flow_table_end_sweep(t);
    for (int s = 2; s <= 4; s++) {
        f = sweep_one(t, &k, (guint64)(s - 1) * 4 * MiB, 1000, s * SEC);
        if (s < 4)
            g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_NONE);
    }
    g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_BY_SWEEP);
    g_assert_cmpuint(f->bytes[0], ==, 12 * MiB);
    g_assert_cmpfloat_with_epsilon(f->rate_bps[0], 4.0 * MiB, 1.0);
    g_assert_cmpuint(fp_flow_table_count_elephants(t), ==, 1);
}

/* The same bytes spread over more than the window: not an elephant. */
static void test_slow_flow_is_not_elephant(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(10 * MiB, 10 * SEC);
    FpFlowKey k = make_key("10.0.0.1", 40001, "10.0.1.1", 80);
    FpFlow *f = NULL;

    fp_flow_table_begin_sweep(t, 0);
    fp_flow_table_end_sweep(t);
    for (int s = 1; s <= 60; s++)
        f = sweep_one(t, &k, (guint64)s * 512 * 1024, 0, s * SEC); /* 0.5 MiB/s */
    g_assert_nonnull(f);
    g_assert_cmpuint(f->bytes[0], ==, 30 * MiB);
    g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_NONE);
}

/* A flow already huge when the agent starts is judged on what it moves
 * from then on, not on its history. */
static void test_preexisting_flow_counts_from_start(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(10 * MiB, 10 * SEC);
    FpFlowKey k = make_key("10.0.0.1", 40002, "10.0.1.1", 22);
    FpFlow *f;

    f = sweep_one(t, &k, 500 * MiB, 0, 1 * SEC);
    g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_NONE);
    f = sweep_one(t, &k, 501 * MiB, 0, 2 * SEC);
    g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_NONE);
    f = sweep_one(t, &k, 520 * MiB, 0, 3 * SEC);
    g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_BY_SWEEP);
}

/* Flows conntrack no longer reports are dropped at the end of a sweep; a
 * destroy event removes one at once. */
static void test_ended_flows_disappear(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(10 * MiB, 10 * SEC);
    FpFlowKey a = make_key("10.0.0.1", 1, "10.0.1.1", 80);
    FpFlowKey b = make_key("10.0.0.1", 2, "10.0.1.1", 80);
    guint64 bytes[2] = {100, 200}, packets[2] = {1, 1};

    fp_flow_table_begin_sweep(t, 1 * SEC);
    fp_flow_table_observe(t, &a, bytes, packets, 1 * SEC);
    fp_flow_table_observe(t, &b, bytes, packets, 1 * SEC);
    g_assert_cmpuint(fp_flow_table_end_sweep(t), ==, 0);
    g_assert_cmpuint(fp_flow_table_size(t), ==, 2);

    fp_flow_table_begin_sweep(t, 2 * SEC);
    fp_flow_table_observe(t, &a, bytes, packets, 2 * SEC);
    g_assert_cmpuint(fp_flow_table_end_sweep(t), ==, 1);
    g_assert_null(fp_flow_table_lookup(t, &b));
    g_assert_nonnull(fp_flow_table_lookup(t, &a));

    g_assert_true(fp_flow_table_remove(t, &a));
    g_assert_false(fp_flow_table_remove(t, &a));
    g_assert_cmpuint(fp_flow_table_size(t), ==, 0);
}

/* The kernel's verdict wins over a later sweep, and is kept. */
static void test_first_detector_wins(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(MiB, 10 * SEC);
    FpFlowKey k = make_key("192.0.2.1", 5, "192.0.2.2", 6);
    FpFlow *f = sweep_one(t, &k, 10, 10, 1 * SEC);
    guint32 in[2] = {3, 4}, out[2] = {4, 3};

    fp_flow_table_mark_elephant(t, f, FP_ELEPHANT_BY_BPF, 1 * SEC);
    fp_flow_table_set_devices(f, in, out);
    f = sweep_one(t, &k, 50 * MiB, 10, 2 * SEC);
    g_assert_cmpint(f->elephant, ==, FP_ELEPHANT_BY_BPF);
    g_assert_cmpuint(f->in_ifindex[0], ==, 3);
    g_assert_cmpuint(f->out_ifindex[1], ==, 3);
    g_assert_true(f->has_devices);
}

/* Listing is biggest first and formats both address families. */
static void test_list_and_format(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(MiB, 10 * SEC);
    FpFlowKey small = make_key("10.0.0.1", 1, "10.0.0.2", 2);
    FpFlowKey big = make_key("10.0.0.3", 1, "10.0.0.4", 2);
    FpFlowKey v6;
    guint64 b1[2] = {10, 0}, b2[2] = {9999, 1}, p[2] = {1, 1};
    g_autoptr(GPtrArray) all = NULL;
    char src[64], dst[64], buf[8];

    fp_flow_table_begin_sweep(t, SEC);
    fp_flow_table_observe(t, &small, b1, p, SEC);
    fp_flow_table_observe(t, &big, b2, p, SEC);
    fp_flow_table_end_sweep(t);
    all = fp_flow_table_list(t);
    g_assert_cmpuint(all->len, ==, 2);
    g_assert_cmpuint(((FpFlow *)all->pdata[0])->bytes[0], ==, 9999);

    memset(&v6, 0, sizeof(v6));
    v6.family = AF_INET6;
    inet_pton(AF_INET6, "fd00::1", v6.src);
    inet_pton(AF_INET6, "fd00::2", v6.dst);
    fp_flow_key_format(&v6, src, sizeof(src), dst, sizeof(dst));
    g_assert_cmpstr(src, ==, "fd00::1");
    g_assert_cmpstr(dst, ==, "fd00::2");
    g_assert_cmpstr(fp_flow_proto_name(IPPROTO_UDP, buf, sizeof(buf)), ==, "udp");
    g_assert_cmpstr(fp_flow_proto_name(132, buf, sizeof(buf)), ==, "sctp");
    g_assert_cmpstr(fp_flow_proto_name(47, buf, sizeof(buf)), ==, "47");
}

static gboolean odd_sport(const FpFlow *f, gpointer user_data)
{
    guint *calls = user_data;

    (*calls)++;
    return f->key.sport % 2 == 1;
}

/* Pages of the listing: biggest first, ties by key, the filter applied
 * before the limit, each flow on exactly one page, a cursor only while
 * flows are left. */
static void test_pages(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(1000 * MiB, 10 * SEC);
    g_autoptr(GPtrArray) sorted = NULL;
    g_autoptr(GPtrArray) paged = g_ptr_array_new();
    FpFlowCursor cursor;
    gboolean more = TRUE, have_cursor = FALSE;
    guint calls = 0, pages = 0;

    fp_flow_table_begin_sweep(t, SEC);
    for (guint i = 0; i < 101; i++) {
        FpFlowKey k = make_key("10.0.0.1", i, "10.0.0.2", 80);
        /* Every size 3 times: ties are ordered by key. */
        guint64 b[2] = {(i % 34) * 1000, i % 34}, p[2] = {1, 1};

        fp_flow_table_observe(t, &k, b, p, SEC);
    }
    fp_flow_table_end_sweep(t);
    sorted = fp_flow_table_list(t);
    while (more) {
        g_autoptr(GPtrArray) page = fp_flow_table_page(
            t, odd_sport, &calls, have_cursor ? &cursor : NULL, 7, &cursor, &more);

        g_assert_cmpuint(page->len, <=, 7);
        g_assert_true(more ? page->len == 7 : TRUE);
        for (guint i = 0; i < page->len; i++)
            g_ptr_array_add(paged, page->pdata[i]);
        have_cursor = TRUE;
        pages++;
    }
    /* The odd source ports of the sorted listing, in its order. */
    for (guint i = 0, j = 0; i < sorted->len; i++) {
        const FpFlow *f = sorted->pdata[i];

        if (f->key.sport % 2 == 0)
            continue;
        g_assert_cmpuint(j, <, paged->len);
        g_assert_true(paged->pdata[j] == f);
        j++;
        if (i == sorted->len - 1 || j == 50)
            g_assert_cmpuint(j, ==, paged->len);
    }
    g_assert_cmpuint(paged->len, ==, 50);
    g_assert_cmpuint(pages, ==, 8); /* 7 pages of 7, then one */
    /* One page bigger than the table: all of it, nothing left. */
    {
        g_autoptr(GPtrArray) all = fp_flow_table_page(t, NULL, NULL, NULL, 1000, NULL, &more);

        g_assert_cmpuint(all->len, ==, 101);
        g_assert_false(more);
        g_assert_true(all->pdata[0] == sorted->pdata[0]);
    }
}

/* One queried sweep (the next generation) at second `sweep`: asks about the due flows (at most
 * `max`), reports those of them in `has` with the counters `bytes`, and
 * returns how many it asked about; `late` says how late the latest was. */
static guint query_sweep(FpFlowTable *t, gint64 sweep, guint max, const FpFlowKey *has, guint n_has,
                         const guint64 bytes[2], guint *late)
{
    guint64 p[2] = {1, 1};
    g_autoptr(GArray) due = NULL;

    fp_flow_table_begin_sweep(t, sweep * SEC);
    due = fp_flow_table_due(t, max, late);
    for (guint i = 0; i < due->len; i++) {
        const FpFlowKey *k = &g_array_index(due, FpFlowKey, i);

        for (guint j = 0; j < n_has; j++)
            if (memcmp(k, &has[j], sizeof(*k)) == 0)
                fp_flow_table_observe(t, k, bytes, p, sweep * SEC);
    }
    fp_flow_table_end_query_sweep(t, due);
    return due->len;
}

/* Queried sweeps ask about a flow whose counters stand still every 1, 2,
 * 4, then 8 sweeps, and every sweep again once they move. */
static void test_quiet_flows_are_queried_less(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(MiB, 10 * SEC);
    FpFlowKey k = make_key("10.0.0.1", 1000, "10.0.0.2", 80);
    guint64 still[2] = {100, 50}, moved[2] = {200, 50};
    guint late, asked_at[8], n = 0;

    fp_flow_table_ensure(t, &k, 0, NULL); /* from the new-flow log */
    for (gint64 sweep = 1; sweep <= 24 && n < G_N_ELEMENTS(asked_at); sweep++)
        if (query_sweep(t, sweep, 512, &k, 1, still, &late) == 1)
            asked_at[n++] = (guint)sweep;
    /* 1 (new), 2 (first still: quiet 1), 4 (2), 8 (3), then every 8. */
    g_assert_cmpuint(n, ==, 6);
    g_assert_cmpuint(asked_at[0], ==, 1);
    g_assert_cmpuint(asked_at[1], ==, 2);
    g_assert_cmpuint(asked_at[2], ==, 4);
    g_assert_cmpuint(asked_at[3], ==, 8);
    g_assert_cmpuint(asked_at[4], ==, 16);
    g_assert_cmpuint(asked_at[5], ==, 24);
    g_assert_cmpuint(fp_flow_table_size(t), ==, 1);
    /* It moves: noticed at its next turn (sweep 32), then asked about at
     * every sweep again. */
    for (gint64 sweep = 25; sweep < 32; sweep++)
        g_assert_cmpuint(query_sweep(t, sweep, 512, &k, 1, moved, &late), ==, 0);
    g_assert_cmpuint(fp_flow_table_lookup(t, &k)->bytes[0], ==, 100);
    g_assert_cmpuint(query_sweep(t, 32, 512, &k, 1, moved, &late), ==, 1);
    g_assert_cmpuint(fp_flow_table_lookup(t, &k)->bytes[0], ==, 200);
    moved[0] = 300;
    g_assert_cmpuint(query_sweep(t, 33, 512, &k, 1, moved, &late), ==, 1);
    g_assert_cmpuint(late, ==, 0);
    /* Quiet again: asked about at sweeps 34, 36 and 40, next at 48; the
     * kernel program saw it move: asked about at sweep 41. */
    for (gint64 sweep = 34; sweep <= 40; sweep++)
        g_assert_cmpuint(query_sweep(t, sweep, 512, &k, 1, moved, &late), ==,
                         sweep == 34 || sweep == 36 || sweep == 40);
    fp_flow_table_query_soon(t, fp_flow_table_lookup(t, &k));
    moved[0] = 400;
    g_assert_cmpuint(query_sweep(t, 41, 512, &k, 1, moved, &late), ==, 1);
    g_assert_cmpuint(fp_flow_table_lookup(t, &k)->bytes[0], ==, 400);
    /* Gone from conntrack: dropped when it is asked about. */
    g_assert_cmpuint(query_sweep(t, 42, 512, NULL, 0, moved, &late), ==, 1);
    g_assert_cmpuint(fp_flow_table_size(t), ==, 0);
}

/* Beyond `max` due flows, the most overdue go first, the others wait and
 * say how late they are; a flow left out is not dropped. */
static void test_due_flows_take_turns(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(MiB, 10 * SEC);
    FpFlowKey k[3] = {make_key("10.0.0.1", 1, "10.0.0.2", 80),
                      make_key("10.0.0.1", 2, "10.0.0.2", 80),
                      make_key("10.0.0.1", 3, "10.0.0.2", 80)};
    guint64 bytes[2] = {1, 1};
    guint late;

    for (guint i = 0; i < 3; i++)
        fp_flow_table_ensure(t, &k[i], 0, NULL);
    for (gint64 sweep = 1; sweep <= 6; sweep++) {
        /* Three moving flows, two queries per sweep: each is asked about
         * at least every other sweep, and none waits more than one. */
        bytes[0] += 100;
        g_assert_cmpuint(query_sweep(t, sweep, 2, k, 3, bytes, &late), ==, 2);
        g_assert_cmpuint(late, <=, 1);
        g_assert_cmpuint(fp_flow_table_size(t), ==, 3);
    }
    for (guint i = 0; i < 3; i++)
        g_assert_cmpuint(fp_flow_table_lookup(t, &k[i])->bytes[0], >=, bytes[0] - 100);
}

/* A sweep whose dump failed drops no flow, and what is born after it
 * belongs to the next sweep (issue 17, item 10). */
static void test_aborted_sweep(void)
{
    g_autoptr(FpFlowTable) t = fp_flow_table_new(1 << 20, 10 * G_USEC_PER_SEC);
    FpFlowKey a = make_key("10.0.0.1", 7, "10.0.1.1", 80);
    FpFlowKey b = make_key("10.0.0.1", 8, "10.0.1.1", 80);
    const guint64 bytes[2] = {100, 0}, packets[2] = {1, 0};
    guint gen;
    FpFlow *f;

    fp_flow_table_begin_sweep(t, 1000000);
    fp_flow_table_observe(t, &a, bytes, packets, 1000000);
    fp_flow_table_end_sweep(t);
    gen = fp_flow_table_begin_sweep(t, 2000000);
    fp_flow_table_abort_sweep(t); /* the dump failed: a was not reported */
    g_assert_nonnull(fp_flow_table_lookup(t, &a));
    f = fp_flow_table_ensure(t, &b, 2500000, NULL); /* between sweeps */
    g_assert_cmpuint(f->born, ==, gen + 1);
    g_assert_cmpuint(fp_flow_table_size(t), ==, 2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/flow-table/bulk-is-elephant", test_bulk_is_elephant);
    g_test_add_func("/flow-table/aborted-sweep", test_aborted_sweep);
    g_test_add_func("/flow-table/slow-flow-is-not-elephant", test_slow_flow_is_not_elephant);
    g_test_add_func("/flow-table/preexisting-flow", test_preexisting_flow_counts_from_start);
    g_test_add_func("/flow-table/ended-flows-disappear", test_ended_flows_disappear);
    g_test_add_func("/flow-table/first-detector-wins", test_first_detector_wins);
    g_test_add_func("/flow-table/list-and-format", test_list_and_format);
    g_test_add_func("/flow-table/pages", test_pages);
    g_test_add_func("/flow-table/quiet-flows-are-queried-less", test_quiet_flows_are_queried_less);
    g_test_add_func("/flow-table/due-flows-take-turns", test_due_flows_take_turns);
    return g_test_run();
}
