/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The reader of the kernel program's new-flow log (src/newlog.c), against a
 * writer that follows fp_flow_new()'s protocol in bpf/fp_sense.bpf.c:
 * claim a record number, set seq to 0, write the record, set seq to the
 * number + 1, with full barriers (the program's xchg). */
#include "config.h"

#include <string.h>

#include "newlog.h"

typedef struct {
    struct fp_new_flow *base;
    guint shift;
    guint64 head[4];
} Writer;

/* Everything in record n is derived from n, so a torn copy shows. */
static void fill(struct fp_new_flow *r, guint cpu, guint64 n)
{
    memset(&r->key, 0, sizeof(r->key));
    memcpy(r->key.src, &n, sizeof(n));
    r->key.sport = (guint16)cpu;
    r->key.family = 2;
    r->key.proto = 6;
    r->first_seen_ns = n * 7 + 1;
    r->in_ifindex = (guint32)n ^ 0x5a5a5a5a;
    r->out_ifindex = (guint32)(n >> 3);
}

static gboolean consistent(const struct fp_new_flow *r, guint64 *n)
{
    struct fp_new_flow want;

    memcpy(n, r->key.src, sizeof(*n));
    fill(&want, r->key.sport, *n);
    return memcmp(&want.key, &r->key, sizeof(want.key)) == 0 &&
           want.first_seen_ns == r->first_seen_ns && want.in_ifindex == r->in_ifindex &&
           want.out_ifindex == r->out_ifindex && r->seq == *n + 1;
}

/* Claims a record; returns it half written (seq 0). */
static struct fp_new_flow *begin(Writer *w, guint cpu, guint64 *n)
{
    struct fp_new_flow *r;

    *n = __atomic_fetch_add(&w->head[cpu], 1, __ATOMIC_SEQ_CST);
    r = &w->base[((gsize)cpu << w->shift) | (*n & ((1u << w->shift) - 1))];
    __atomic_exchange_n(&r->seq, 0, __ATOMIC_SEQ_CST);
    fill(r, cpu, *n);
    return r;
}

static void commit(struct fp_new_flow *r, guint64 n)
{
    __atomic_exchange_n(&r->seq, n + 1, __ATOMIC_SEQ_CST);
}

static void write_one(Writer *w, guint cpu)
{
    guint64 n;
    struct fp_new_flow *r = begin(w, cpu, &n);

    commit(r, n);
}

typedef struct {
    guint count[4];
    guint64 last[4];
    gboolean ordered;
    gboolean consistent;
} Seen;

static void on_record(const struct fp_new_flow *r, gpointer user_data)
{
    Seen *seen = user_data;
    guint cpu = r->key.sport;
    guint64 n;

    if (!consistent(r, &n) || cpu >= 4) {
        seen->consistent = FALSE;
        return;
    }
    if (seen->count[cpu] && n <= seen->last[cpu])
        seen->ordered = FALSE;
    seen->last[cpu] = n;
    seen->count[cpu]++;
}

/* A log of @n_cpus CPUs with 2^@shift records each, its writer, its
 * reader and what the reader handed on. */
typedef struct {
    Writer w;
    FpNewLog *log;
    Seen seen;
} Lab;

static void lab_init(Lab *lab, guint n_cpus, guint shift)
{
    lab->w = (Writer){g_new0(struct fp_new_flow, (gsize)n_cpus << shift), shift, {0}};
    lab->log = fp_newlog_new(lab->w.base, n_cpus, shift);
    lab->seen = (Seen){.ordered = TRUE, .consistent = TRUE};
}

static void lab_clear(Lab *lab)
{
    fp_newlog_free(lab->log);
    g_free(lab->w.base);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Lab, lab_clear)

#define SHIFT 4
#define SIZE (1u << SHIFT)

static void test_records_in_order(void)
{
    g_auto(Lab) lab = {0};
    guint n;

    lab_init(&lab, 2, SHIFT);

    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 0);
    for (guint i = 0; i < 10; i++)
        write_one(&lab.w, 0);
    for (guint i = 0; i < 3; i++)
        write_one(&lab.w, 1);
    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 13);
    g_assert_cmpuint(lab.seen.count[0], ==, 10);
    g_assert_cmpuint(lab.seen.count[1], ==, 3);
    /* Across the end of the array, several times. */
    for (guint round = 0; round < 5; round++) {
        for (guint i = 0; i < SIZE - 1; i++)
            write_one(&lab.w, 0);
        fp_newlog_drain(lab.log, on_record, &lab.seen);
    }
    g_assert_cmpuint(lab.seen.count[0], ==, 10 + 5 * (SIZE - 1));
    g_assert_true(lab.seen.ordered);
    g_assert_true(lab.seen.consistent);
    g_assert_cmpuint(fp_newlog_lost(lab.log), ==, 0);
    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 0);
}

/* A record being written stops its CPU's log there (the later ones wait);
 * other CPUs go on. */
static void test_half_written_record_waits(void)
{
    g_auto(Lab) lab = {0};
    guint n;
    struct fp_new_flow *half;
    guint64 rec;

    lab_init(&lab, 2, SHIFT);

    write_one(&lab.w, 0);
    half = begin(&lab.w, 0, &rec);
    write_one(&lab.w, 0);
    write_one(&lab.w, 1);
    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint(lab.seen.count[0], ==, 1);
    commit(half, rec);
    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint(lab.seen.count[0], ==, 3);
    g_assert_true(lab.seen.ordered);
    g_assert_cmpuint(fp_newlog_lost(lab.log), ==, 0);
}

/* The writer laps the reader: the overwritten records are counted lost,
 * the ones still there are read, in order. */
static void test_lapped_counts_lost(void)
{
    g_auto(Lab) lab = {0};

    lab_init(&lab, 1, SHIFT);

    for (guint i = 0; i < 3 * SIZE + 5; i++)
        write_one(&lab.w, 0);
    while (fp_newlog_drain(lab.log, on_record, &lab.seen) > 0)
        ;
    g_assert_cmpuint(lab.seen.count[0], ==, SIZE);
    g_assert_cmpuint(lab.seen.last[0], ==, 3 * SIZE + 4);
    g_assert_cmpuint(fp_newlog_lost(lab.log), ==, 2 * SIZE + 5);
    g_assert_true(lab.seen.ordered);
    g_assert_true(lab.seen.consistent);
}

/* Garbage in a slot (a seq that does not belong there) is skipped and
 * counted, not trusted. */
static void test_foreign_seq_is_lost(void)
{
    g_auto(Lab) lab = {0};
    guint n;

    lab_init(&lab, 1, SHIFT);

    lab.w.base[0].seq = 3; /* record 2 cannot be in slot 0 */
    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 0);
    g_assert_cmpuint(fp_newlog_lost(lab.log), ==, 1);
    lab.w.head[0] = 1;
    write_one(&lab.w, 0);
    n = fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_assert_cmpuint(n, ==, 1);
    g_assert_true(lab.seen.consistent);
}

typedef struct {
    Writer *w;
    gboolean complete; /* the writer finishes the new record, or is caught mid-write */
    guint strikes;
} Race;

/* The writer laps the reader between its reading seq and its copying. */
static void strike(volatile struct fp_new_flow *slot, gpointer user_data)
{
    Race *race = user_data;
    guint64 n;
    struct fp_new_flow *r;

    if (race->strikes++ > 0)
        return;
    r = begin(race->w, 0, &n); /* a full log: it lands in the slot being read */
    g_assert_true((const void *)r == (const void *)slot);
    if (race->complete)
        commit(r, n);
}

/* A record overwritten while the reader copies it is never passed on:
 * counted lost, whether the writer is done with the new one or not. */
static void test_overwritten_while_read(gconstpointer data)
{
    g_auto(Lab) lab = {0};
    Race race = {&lab.w, GPOINTER_TO_INT(data), 0};

    lab_init(&lab, 1, SHIFT);

    for (guint i = 0; i < SIZE; i++)
        write_one(&lab.w, 0);
    fp_newlog_set_race_func(lab.log, strike, &race);
    while (fp_newlog_drain(lab.log, on_record, &lab.seen) > 0)
        ;
    g_assert_true(lab.seen.consistent);
    g_assert_true(lab.seen.ordered);
    /* Record 0 is lost; 1..SIZE-1 are read, then record SIZE if done. */
    g_assert_cmpuint(fp_newlog_lost(lab.log), ==, 1);
    g_assert_cmpuint(lab.seen.count[0], ==, SIZE - 1 + race.complete);
}

typedef struct {
    Writer *w;
    guint64 total;
    gint done;
} Stress;

static gpointer stress_writer(gpointer data)
{
    Stress *s = data;

    for (guint64 i = 0; i < s->total; i++)
        write_one(s->w, 0);
    g_atomic_int_set(&s->done, 1);
    return NULL;
}

/* A real concurrent writer lapping the reader over and over: every record
 * the reader passes on is whole (no torn copy) and in order, and every
 * record is either read or counted lost. */
static void test_concurrent_writer(void)
{
    g_auto(Lab) lab = {0};
    Stress s = {&lab.w, 300000, 0};
    GThread *t;

    lab_init(&lab, 1, 1);
    t = g_thread_new("writer", stress_writer, &s);

    while (!g_atomic_int_get(&s.done))
        fp_newlog_drain(lab.log, on_record, &lab.seen);
    g_thread_join(t);
    for (guint64 lost = G_MAXUINT64;
         fp_newlog_drain(lab.log, on_record, &lab.seen) > 0 || lost != fp_newlog_lost(lab.log);)
        lost = fp_newlog_lost(lab.log);
    g_assert_true(lab.seen.consistent);
    g_assert_true(lab.seen.ordered);
    g_assert_cmpuint(lab.seen.count[0] + fp_newlog_lost(lab.log), ==, s.total);
    g_assert_cmpuint(lab.seen.last[0], ==, s.total - 1);
    g_test_message("%u read, %" G_GUINT64_FORMAT " lost", lab.seen.count[0],
                   fp_newlog_lost(lab.log));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/newlog/records-in-order", test_records_in_order);
    g_test_add_func("/newlog/half-written-record-waits", test_half_written_record_waits);
    g_test_add_func("/newlog/lapped-counts-lost", test_lapped_counts_lost);
    g_test_add_func("/newlog/foreign-seq-is-lost", test_foreign_seq_is_lost);
    g_test_add_data_func("/newlog/overwritten-while-read/half-written", GINT_TO_POINTER(FALSE),
                         test_overwritten_while_read);
    g_test_add_data_func("/newlog/overwritten-while-read/rewritten", GINT_TO_POINTER(TRUE),
                         test_overwritten_while_read);
    g_test_add_func("/newlog/concurrent-writer", test_concurrent_writer);
    return g_test_run();
}
