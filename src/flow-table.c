/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The user-space flow table: a mirror of conntrack's flows (refreshed by
 * each sweep's dump, trimmed by destroy events) with what the BPF program
 * learnt about each.  It also holds the sweep-side elephant detector, used
 * alone by the ctnetlink backend and as a backstop for flows the kernel
 * program could not track (older than the agent, table full).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "flow-table.h"

struct _FpFlowTable {
    GHashTable *flows; /* FpFlowKey* (inside the FpFlow) -> FpFlow* */
    guint64 elephant_bytes;
    gint64 window_us;
    guint generation;
    gboolean in_sweep;    /* between begin and end of a sweep */
    gint64 sweep_us;      /* time of the current sweep */
    gint64 prev_sweep_us; /* time of the previous complete sweep, 0 before */
    GPtrArray *ended;     /* FpFlow removed since the last take */
    guint64 ended_forgotten;
    guint max_flows;  /* 0: no bound (see fp_flow_table_set_max()) */
    guint64 refused;  /* new flows refused: the table was full */
    guint64 evicted;  /* quiet flows let go to make room */
    gboolean partial; /* conntrack has flows it does not follow (fp_flow_table_set_partial()) */
};

static guint key_hash(gconstpointer p)
{
    const guint8 *b = p;
    guint32 h = 2166136261u; /* FNV-1a over the packed key */

    for (gsize i = 0; i < sizeof(FpFlowKey); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(FpFlowKey)) == 0;
}

/* The table's key hash and equality, for other sets of flow keys. */
guint fp_flow_key_hash(gconstpointer key)
{
    return key_hash(key);
}

gboolean fp_flow_key_equal(gconstpointer a, gconstpointer b)
{
    return key_equal(a, b);
}

static void free_flow(gpointer key, gpointer value, gpointer user_data)
{
    g_free(value);
}

/* Every removal goes through here: the flow is kept for the learner
 * (fp_flow_table_take_ended()). */
static void ended(FpFlowTable *t, FpFlow *f)
{
    if (t->ended->len >= FP_FLOW_TABLE_MAX_ENDED) {
        g_ptr_array_remove_index(t->ended, 0);
        t->ended_forgotten++;
    }
    g_ptr_array_add(t->ended, f);
}

/**
 * fp_flow_table_new:
 * @elephant_bytes: bytes within @window_us that make a flow an elephant
 * @window_us: the detection window
 */
FpFlowTable *fp_flow_table_new(guint64 elephant_bytes, gint64 window_us)
{
    FpFlowTable *t = g_new0(FpFlowTable, 1);

    G_STATIC_ASSERT(sizeof(FpFlowKey) == 40);
    t->flows = g_hash_table_new_full(key_hash, key_equal, NULL, NULL);
    t->ended = g_ptr_array_new_with_free_func(g_free);
    t->elephant_bytes = elephant_bytes;
    t->window_us = window_us;
    return t;
}

void fp_flow_table_free(FpFlowTable *table)
{
    if (!table)
        return;
    g_hash_table_foreach(table->flows, free_flow, NULL);
    g_hash_table_destroy(table->flows);
    g_ptr_array_unref(table->ended);
    g_free(table);
}

/**
 * fp_flow_table_begin_sweep:
 * @table: a table
 * @now_us: monotonic time of the dump
 *
 * Starts a sweep.  A full refresh passes every flow conntrack still has to
 * fp_flow_table_observe(), then fp_flow_table_end_sweep() drops the rest.
 * A queried one asks conntrack about the flows fp_flow_table_due() names,
 * passes those it has to fp_flow_table_observe(), then
 * fp_flow_table_end_query_sweep() drops the others of them.
 */
guint fp_flow_table_begin_sweep(FpFlowTable *table, gint64 now_us)
{
    table->sweep_us = now_us;
    table->in_sweep = TRUE;
    return ++table->generation;
}

static void add_sample(FpFlowTable *t, FpFlow *f, gint64 now_us, guint64 total)
{
    /* Keep about one sample per window/8, dropping those older than the
     * window except the newest of them (the base of the comparison). */
    if (f->n_samples > 0 && now_us - f->sample_us[f->n_samples - 1] < t->window_us / 8)
        return;
    while (f->n_samples >= 2 && now_us - f->sample_us[1] >= t->window_us) {
        memmove(f->sample_us, f->sample_us + 1, (f->n_samples - 1) * sizeof(gint64));
        memmove(f->sample_bytes, f->sample_bytes + 1, (f->n_samples - 1) * sizeof(guint64));
        f->n_samples--;
    }
    if (f->n_samples == FP_FLOW_SAMPLES) {
        memmove(f->sample_us, f->sample_us + 1, (f->n_samples - 1) * sizeof(gint64));
        memmove(f->sample_bytes, f->sample_bytes + 1, (f->n_samples - 1) * sizeof(guint64));
        f->n_samples--;
    }
    f->sample_us[f->n_samples] = now_us;
    f->sample_bytes[f->n_samples] = total;
    f->n_samples++;
}

static void detect_elephant(FpFlowTable *t, FpFlow *f, gint64 now_us, guint64 total)
{
    if (f->elephant != FP_ELEPHANT_NONE)
        return;
    /* The oldest sample no older than the window is the base. */
    for (guint i = 0; i < f->n_samples; i++) {
        if (now_us - f->sample_us[i] > t->window_us)
            continue;
        if (total - f->sample_bytes[i] >= t->elephant_bytes)
            fp_flow_table_mark_elephant(t, f, FP_ELEPHANT_BY_SWEEP, now_us);
        break;
    }
}

/**
 * fp_flow_table_set_max:
 * @table: a table
 * @max: flows it keeps at most (0: no bound)
 *
 * Bounds the table: beyond @max, fp_flow_table_ensure() and
 * fp_flow_table_observe() refuse new flows (counted), and
 * fp_flow_table_make_room() lets quiet flows go.  Elephants are always
 * taken (fp_flow_table_ensure_any()).
 */
void fp_flow_table_set_max(FpFlowTable *table, guint max)
{
    table->max_flows = max;
}

/**
 * fp_flow_table_set_partial:
 * @table: a table
 * @partial: whether conntrack has more flows than the table can follow
 *     (a table too big to dump: the table has the flows it was told
 *     about, the rest is in the devices' counters only)
 */
void fp_flow_table_set_partial(FpFlowTable *table, gboolean partial)
{
    table->partial = partial;
}

/**
 * fp_flow_table_is_partial:
 * @table: a table
 *
 * Returns: what fp_flow_table_set_partial() last said
 */
gboolean fp_flow_table_is_partial(FpFlowTable *table)
{
    return table->partial;
}

/**
 * fp_flow_table_get_counts:
 * @table: a table
 * @refused: (out) (optional): new flows refused because it was full
 * @evicted: (out) (optional): quiet flows let go to make room
 */
void fp_flow_table_get_counts(FpFlowTable *table, guint64 *refused, guint64 *evicted)
{
    if (refused)
        *refused = table->refused;
    if (evicted)
        *evicted = table->evicted;
}

/**
 * fp_flow_table_ensure_any:
 * @table: a table
 * @key: the flow
 * @now_us: monotonic time
 * @created: (out) (optional): whether the flow is new
 *
 * fp_flow_table_ensure() without the bound: for elephants, which the table
 * always keeps.
 *
 * Returns: (transfer none): the flow, created without counters when new
 */
FpFlow *fp_flow_table_ensure_any(FpFlowTable *table, const FpFlowKey *key, gint64 now_us,
                                 gboolean *created)
{
    FpFlow *f = g_hash_table_lookup(table->flows, key);

    if (created)
        *created = f == NULL;
    if (f)
        return f;
    f = g_new0(FpFlow, 1);
    f->key = *key;
    f->first_seen_us = now_us;
    f->last_seen_us = now_us;
    f->generation = table->generation;
    /* Between two sweeps (a new-flow log record, an event) a flow belongs
     * to the next one. */
    f->born = table->in_sweep ? table->generation : table->generation + 1;
    f->next_query = table->generation + 1;
    /* A flow that appears after a previous sweep was born since then:
     * count it from zero at that sweep (conservative).  One present at the
     * first sweep is counted from what it has now. */
    if (table->prev_sweep_us) {
        f->first_seen_us = table->prev_sweep_us;
        add_sample(table, f, table->prev_sweep_us, 0);
    }
    g_hash_table_insert(table->flows, &f->key, f);
    return f;
}

/**
 * fp_flow_table_ensure:
 * @table: a table
 * @key: the flow
 * @now_us: monotonic time
 * @created: (out) (optional): whether the flow is new
 *
 * Returns: (transfer none) (nullable): the flow, created without counters
 * when new; %NULL when it is new and the table is full (counted)
 */
FpFlow *fp_flow_table_ensure(FpFlowTable *table, const FpFlowKey *key, gint64 now_us,
                             gboolean *created)
{
    if (table->max_flows && g_hash_table_size(table->flows) >= table->max_flows &&
        !g_hash_table_contains(table->flows, key)) {
        table->refused++;
        if (created)
            *created = FALSE;
        return NULL;
    }
    return fp_flow_table_ensure_any(table, key, now_us, created);
}

/**
 * fp_flow_table_take_back:
 * @table: a table
 * @key: a flow conntrack has that the table does not (let go, or never
 *     taken), which moves again
 * @now_us: monotonic time
 *
 * Takes the flow (if there is room) as one that is not new: its birth was
 * counted when it started, and the bytes it moved before its next report
 * are not counted; it is asked about at the next sweep.
 *
 * Returns: (transfer none) (nullable): the flow; %NULL when the table is
 * full or already had it
 */
FpFlow *fp_flow_table_take_back(FpFlowTable *table, const FpFlowKey *key, gint64 now_us)
{
    gboolean created;
    FpFlow *f = fp_flow_table_ensure(table, key, now_us, &created);

    if (!f || !created)
        return NULL;
    f->born = 0;
    f->rebase = TRUE;
    fp_flow_table_query_soon(table, f);
    return f;
}

/**
 * fp_flow_table_make_room:
 * @table: a bounded table (fp_flow_table_set_max())
 *
 * Once the table is 7/8 full, lets go of flows that stood still at their
 * last FP_FLOW_QUIET_MAX reports (not elephants) until it is 3/4 full, so
 * that new flows find room: a quiet flow adds nothing to a footprint, and
 * the kernel brings it back if it moves again.  Not an end: the flow is not
 * among fp_flow_table_take_ended()'s.  One walk, at most once a sweep.
 *
 * Returns: how many flows it let go
 */
guint fp_flow_table_make_room(FpFlowTable *table)
{
    guint size = g_hash_table_size(table->flows), budget, n = 0;
    GHashTableIter it;
    gpointer v;

    if (!table->max_flows || size < table->max_flows - table->max_flows / 8)
        return 0;
    budget = size - (table->max_flows - table->max_flows / 4);
    g_hash_table_iter_init(&it, table->flows);
    while (n < budget && g_hash_table_iter_next(&it, NULL, &v)) {
        FpFlow *f = v;

        if (f->elephant != FP_ELEPHANT_NONE || f->quiet < FP_FLOW_QUIET_MAX)
            continue;
        g_hash_table_iter_remove(&it);
        g_free(f);
        n++;
    }
    table->evicted += n;
    return n;
}

/**
 * fp_flow_table_observe:
 * @table: a table
 * @key: the flow
 * @bytes: conntrack's byte counters, original and reply
 * @packets: conntrack's packet counters
 * @now_us: monotonic time of the report
 *
 * Records conntrack's view of a flow, creating it when new.
 *
 * Returns: (transfer none) (nullable): the flow; %NULL when it is new and
 * the table is full (fp_flow_table_set_max())
 */
FpFlow *fp_flow_table_observe(FpFlowTable *table, const FpFlowKey *key, const guint64 bytes[2],
                              const guint64 packets[2], gint64 now_us)
{
    gboolean created;
    FpFlow *f = fp_flow_table_ensure(table, key, now_us, &created);
    guint64 total = bytes[0] + bytes[1];
    gboolean moved;

    if (!f)
        return NULL;
    if (f->rebase) {
        /* What it moved while we did not follow it is not this sweep's. */
        f->rebase = FALSE;
        f->n_samples = 0;
        memcpy(f->bytes, bytes, sizeof(f->bytes));
        f->updated_us = now_us;
    }
    moved = !f->updated_us || bytes[0] != f->bytes[0] || bytes[1] != f->bytes[1];

    for (int d = 0; d < 2; d++)
        f->delta[d] = fp_counter_delta(bytes[d], f->updated_us ? f->bytes[d] : 0);
    f->delta_generation = table->generation;
    if (!created && f->updated_us) {
        gint64 dt = now_us - f->updated_us;

        for (int d = 0; d < 2; d++)
            f->rate_bps[d] = dt > 0 ? (double)f->delta[d] * G_USEC_PER_SEC / (double)dt : 0;
        if (moved)
            f->last_seen_us = now_us;
    }
    memcpy(f->bytes, bytes, sizeof(f->bytes));
    memcpy(f->packets, packets, sizeof(f->packets));
    f->updated_us = now_us;
    f->generation = table->generation;
    f->quiet = moved ? 0 : MIN(f->quiet + 1, FP_FLOW_QUIET_MAX);
    f->next_query = table->generation + (1u << f->quiet);
    add_sample(table, f, now_us, total);
    detect_elephant(table, f, now_us, total);
    return f;
}

static gboolean is_stale(gpointer key, gpointer value, gpointer user_data)
{
    FpFlowTable *t = user_data;
    FpFlow *f = value;

    if (f->generation == t->generation)
        return FALSE;
    ended(t, f);
    return TRUE;
}

/**
 * fp_flow_table_end_sweep:
 * @table: a table
 *
 * Drops the flows the sweep did not report: conntrack no longer has them
 * (their destroy event was lost or not yet read).
 *
 * Returns: how many were dropped
 */
guint fp_flow_table_end_sweep(FpFlowTable *table)
{
    table->prev_sweep_us = table->sweep_us;
    table->in_sweep = FALSE;
    return g_hash_table_foreach_remove(table->flows, is_stale, table);
}

/**
 * fp_flow_table_abort_sweep:
 * @table: a table
 *
 * Ends a sweep whose dump or query failed: no flow is dropped for not
 * being reported, and the next sweep compares with the one before.
 */
void fp_flow_table_abort_sweep(FpFlowTable *table)
{
    table->in_sweep = FALSE;
}

typedef struct {
    guint next_query;
    FpFlowKey key;
} DueFlow;

static gint by_due(gconstpointer a, gconstpointer b)
{
    guint x = ((const DueFlow *)a)->next_query, y = ((const DueFlow *)b)->next_query;

    return x < y ? -1 : x > y;
}

/**
 * fp_flow_table_due:
 * @table: a table, between fp_flow_table_begin_sweep() and the sweep's end
 * @max: return at most this many
 * @late: (out): how many sweeps the most overdue flow is past its turn
 *
 * The flows whose turn for a query has come (fp_flow_table_observe() spaces
 * out the turns of flows whose counters stand still), most overdue first.
 * Beyond @max, the rest wait for a later sweep.
 *
 * Returns: (transfer full): up to @max copies of their keys (#FpFlowKey)
 */
/* @heap: a max-heap on next_query (its root the latest due of those
 * kept); sifts element @i down. */
static void due_heap_down(DueFlow *heap, guint n, guint i)
{
    for (;;) {
        guint l = 2 * i + 1, r = l + 1, top = i;
        DueFlow tmp;

        if (l < n && heap[l].next_query > heap[top].next_query)
            top = l;
        if (r < n && heap[r].next_query > heap[top].next_query)
            top = r;
        if (top == i)
            return;
        tmp = heap[i];
        heap[i] = heap[top];
        heap[top] = tmp;
        i = top;
    }
}

GArray *fp_flow_table_due(FpFlowTable *table, guint max, guint *late)
{
    /* The @max most overdue, kept in a heap over one walk: sorting every
     * due flow would cost n log n on a big table. */
    g_autofree DueFlow *heap = g_new(DueFlow, MAX(max, 1));
    guint n = 0, oldest = G_MAXUINT;
    GArray *keys;
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, table->flows);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const FpFlow *f = v;

        if (f->next_query > table->generation)
            continue;
        oldest = MIN(oldest, f->next_query);
        if (n < max) {
            guint i = n++;

            heap[i] = (DueFlow){f->next_query, f->key};
            while (i > 0 && heap[(i - 1) / 2].next_query < heap[i].next_query) {
                DueFlow tmp = heap[i];

                heap[i] = heap[(i - 1) / 2];
                heap[(i - 1) / 2] = tmp;
                i = (i - 1) / 2;
            }
        } else if (max && f->next_query < heap[0].next_query) {
            heap[0] = (DueFlow){f->next_query, f->key};
            due_heap_down(heap, n, 0);
        }
    }
    qsort(heap, n, sizeof(DueFlow), by_due);
    *late = n ? table->generation - oldest : 0;
    keys = g_array_sized_new(FALSE, FALSE, sizeof(FpFlowKey), n);
    for (guint i = 0; i < n; i++)
        g_array_append_val(keys, heap[i].key);
    return keys;
}

/**
 * fp_flow_table_end_query_sweep:
 * @table: a table
 * @queried: the keys (#FpFlowKey) the sweep asked conntrack about
 *
 * Ends a sweep that asked about @queried only: drops those of them it did
 * not report (conntrack no longer has them); the other flows stay as they
 * were.
 *
 * Returns: how many were dropped
 */
guint fp_flow_table_end_query_sweep(FpFlowTable *table, GArray *queried)
{
    guint dropped = 0;

    for (guint i = 0; i < queried->len; i++) {
        const FpFlowKey *key = &g_array_index(queried, FpFlowKey, i);
        const FpFlow *f = g_hash_table_lookup(table->flows, key);

        if (f && f->generation != table->generation)
            dropped += fp_flow_table_remove(table, key);
    }
    table->prev_sweep_us = table->sweep_us;
    table->in_sweep = FALSE;
    return dropped;
}

/**
 * fp_flow_table_query_soon:
 * @table: a table
 * @flow: a flow of @table that moved since conntrack last reported it (the
 *   kernel program saw it pass a checkpoint)
 *
 * Makes @flow due at the next sweep, however long it stood still before.
 */
void fp_flow_table_query_soon(FpFlowTable *table, FpFlow *flow)
{
    flow->quiet = 0;
    flow->next_query = MIN(flow->next_query, table->generation + 1);
}

FpFlow *fp_flow_table_lookup(FpFlowTable *table, const FpFlowKey *key)
{
    return g_hash_table_lookup(table->flows, key);
}

/**
 * fp_flow_table_set_devices:
 * @flow: a flow
 * @in_ifindex: per direction, the device its packets came in on (0: the host)
 * @out_ifindex: per direction, the device they leave through (0: the host)
 */
void fp_flow_table_set_devices(FpFlow *flow, const guint32 in_ifindex[2],
                               const guint32 out_ifindex[2])
{
    memcpy(flow->in_ifindex, in_ifindex, sizeof(flow->in_ifindex));
    memcpy(flow->out_ifindex, out_ifindex, sizeof(flow->out_ifindex));
    flow->has_devices = TRUE;
}

/**
 * fp_flow_table_mark_elephant:
 * @table: a table
 * @flow: a flow of @table
 * @source: who noticed
 * @when_us: when the threshold was crossed
 *
 * Flags @flow as an elephant; the first to notice wins.
 */
void fp_flow_table_mark_elephant(FpFlowTable *table, FpFlow *flow, FpElephantSource source,
                                 gint64 when_us)
{
    if (flow->elephant != FP_ELEPHANT_NONE)
        return;
    flow->elephant = source;
    flow->elephant_us = when_us;
}

gboolean fp_flow_table_remove(FpFlowTable *table, const FpFlowKey *key)
{
    FpFlow *f = g_hash_table_lookup(table->flows, key);

    if (f == NULL)
        return FALSE;
    g_hash_table_remove(table->flows, key);
    ended(table, f);
    return TRUE;
}

/**
 * fp_flow_table_get_generation:
 * @table: a table
 *
 * Returns: the number of the latest sweep (fp_flow_table_begin_sweep())
 */
guint fp_flow_table_get_generation(FpFlowTable *table)
{
    return table->generation;
}

/**
 * fp_flow_table_take_ended:
 * @table: a table
 * @forgotten: (out) (optional): flows removed since the table started that
 *     nobody took in time (more than %FP_FLOW_TABLE_MAX_ENDED between takes)
 *
 * Returns: (transfer full) (element-type FpFlow): the flows removed since
 * the previous take, as they were when removed
 */
GPtrArray *fp_flow_table_take_ended(FpFlowTable *table, guint64 *forgotten)
{
    GPtrArray *out = g_steal_pointer(&table->ended);

    table->ended = g_ptr_array_new_with_free_func(g_free);
    if (forgotten)
        *forgotten = table->ended_forgotten;
    return out;
}

guint fp_flow_table_size(FpFlowTable *table)
{
    return g_hash_table_size(table->flows);
}

guint fp_flow_table_count_elephants(FpFlowTable *table)
{
    GHashTableIter it;
    gpointer v;
    guint n = 0;

    g_hash_table_iter_init(&it, table->flows);
    while (g_hash_table_iter_next(&it, NULL, &v))
        n += ((FpFlow *)v)->elephant != FP_ELEPHANT_NONE;
    return n;
}

static gint by_bytes_desc(gconstpointer a, gconstpointer b)
{
    const FpFlow *fa = *(FpFlow *const *)a, *fb = *(FpFlow *const *)b;
    guint64 ta = fa->bytes[0] + fa->bytes[1], tb = fb->bytes[0] + fb->bytes[1];

    return ta < tb ? 1 : ta > tb ? -1 : memcmp(&fa->key, &fb->key, sizeof(FpFlowKey));
}

/**
 * fp_flow_table_list:
 * @table: a table
 *
 * Returns: (transfer container): the flows, biggest first
 */
GPtrArray *fp_flow_table_list(FpFlowTable *table)
{
    GPtrArray *all = fp_flow_table_list_unsorted(table);

    g_ptr_array_sort(all, by_bytes_desc);
    return all;
}

/**
 * fp_flow_table_list_unsorted:
 * @table: a table
 *
 * For a walk over every flow that needs no order (sorting a million flows
 * costs more than the walk).
 *
 * Returns: (transfer container): the flows, in no particular order
 */
GPtrArray *fp_flow_table_list_unsorted(FpFlowTable *table)
{
    GPtrArray *all = g_ptr_array_sized_new(g_hash_table_size(table->flows));
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, table->flows);
    while (g_hash_table_iter_next(&it, NULL, &v))
        g_ptr_array_add(all, v);
    return all;
}

/* The listing order: biggest first (both directions' bytes), ties by key.
 * < 0 when @a comes before @b. */
static int page_order(const FpFlow *a, const FpFlow *b)
{
    return by_bytes_desc(&a, &b);
}

static int cursor_order(const FpFlowCursor *c, const FpFlow *f)
{
    guint64 t = f->bytes[0] + f->bytes[1];

    return c->bytes < t ? 1 : c->bytes > t ? -1 : memcmp(&c->key, &f->key, sizeof(FpFlowKey));
}

/* @heap (a max-heap in page order: its root is the last of the flows
 * kept): sifts element @i down. */
static void heap_down(GPtrArray *heap, guint i)
{
    for (;;) {
        guint l = 2 * i + 1, r = l + 1, last = i;

        if (l < heap->len && page_order(heap->pdata[l], heap->pdata[last]) > 0)
            last = l;
        if (r < heap->len && page_order(heap->pdata[r], heap->pdata[last]) > 0)
            last = r;
        if (last == i)
            return;
        gpointer tmp = heap->pdata[i];
        heap->pdata[i] = heap->pdata[last];
        heap->pdata[last] = tmp;
        i = last;
    }
}

static void heap_up(GPtrArray *heap, guint i)
{
    while (i > 0) {
        guint parent = (i - 1) / 2;

        if (page_order(heap->pdata[i], heap->pdata[parent]) <= 0)
            return;
        gpointer tmp = heap->pdata[i];
        heap->pdata[i] = heap->pdata[parent];
        heap->pdata[parent] = tmp;
        i = parent;
    }
}

/**
 * fp_flow_table_page:
 * @table: a table
 * @filter: (nullable): TRUE for the flows to list; applied before any
 *     flow is kept
 * @filter_data: its data
 * @after: (nullable): list the flows that come after this one (the
 *     previous page's @next); %NULL: from the biggest
 * @limit: at most this many flows (> 0)
 * @next: (out) (optional): where the next page starts, when there is one
 * @more: (out) (optional): whether flows are left after this page
 *
 * One page of the flows, biggest first (both directions' bytes; ties by
 * key), without sorting the whole table: one walk keeping the @limit
 * biggest in a heap, O(n log @limit).  A flow whose bytes grow between two
 * pages may move to an earlier page (the listing is of a moving table).
 *
 * Returns: (transfer container): the page's flows, biggest first
 */
GPtrArray *fp_flow_table_page(FpFlowTable *table, FpFlowFilterFunc filter, gpointer filter_data,
                              const FpFlowCursor *after, guint limit, FpFlowCursor *next,
                              gboolean *more)
{
    GPtrArray *heap = g_ptr_array_sized_new(MIN(limit, g_hash_table_size(table->flows)) + 1);
    gboolean left = FALSE;
    GHashTableIter it;
    gpointer v;

    g_return_val_if_fail(limit > 0, heap);
    g_hash_table_iter_init(&it, table->flows);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const FpFlow *f = v;

        if (after && cursor_order(after, f) >= 0)
            continue;
        if (filter && !filter(f, filter_data))
            continue;
        if (heap->len < limit) {
            g_ptr_array_add(heap, v);
            heap_up(heap, heap->len - 1);
        } else {
            left = TRUE;
            if (page_order(f, heap->pdata[0]) < 0) {
                heap->pdata[0] = v;
                heap_down(heap, 0);
            }
        }
    }
    g_ptr_array_sort(heap, by_bytes_desc);
    if (more)
        *more = left;
    if (next && left && heap->len) {
        const FpFlow *last = heap->pdata[heap->len - 1];

        next->bytes = last->bytes[0] + last->bytes[1];
        next->key = last->key;
    }
    return heap;
}

/**
 * fp_flow_key_format:
 * @key: a flow key
 * @src: (out): buffer for the source address
 * @src_len: its size (INET6_ADDRSTRLEN is enough)
 * @dst: (out): buffer for the destination address
 * @dst_len: its size
 */
void fp_flow_key_format(const FpFlowKey *key, char *src, gsize src_len, char *dst, gsize dst_len)
{
    int af = key->family == AF_INET6 ? AF_INET6 : AF_INET;

    if (!inet_ntop(af, key->src, src, (socklen_t)src_len))
        g_strlcpy(src, "?", src_len);
    if (!inet_ntop(af, key->dst, dst, (socklen_t)dst_len))
        g_strlcpy(dst, "?", dst_len);
}

/**
 * fp_flow_proto_name:
 * @proto: an IPPROTO_* number
 * @buf: room for a number when the protocol has no name here
 * @len: its size
 *
 * Returns: "tcp", "udp", "icmp", "icmpv6", "sctp" or the number
 */
const char *fp_flow_proto_name(guint8 proto, char *buf, gsize len)
{
    switch (proto) {
    case IPPROTO_TCP:
        return "tcp";
    case IPPROTO_UDP:
        return "udp";
    case IPPROTO_ICMP:
        return "icmp";
    case IPPROTO_ICMPV6:
        return "icmpv6";
    case IPPROTO_SCTP:
        return "sctp";
    default:
        g_snprintf(buf, len, "%u", proto);
        return buf;
    }
}
