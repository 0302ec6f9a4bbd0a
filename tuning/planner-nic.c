/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host NICs' queue IRQs and RSS tables (planner-nic.h). */
#include "config.h"

#include <math.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "planner-nic.h"
#include "planner.h"

FpNicWork *fp_nic_work_new(const char *device)
{
    FpNicWork *w = g_new0(FpNicWork, 1);

    w->device = g_strdup(device);
    w->irqs = g_ptr_array_new_with_free_func((GDestroyNotify)fp_nic_irq_free);
    return w;
}

void fp_nic_work_free(FpNicWork *work)
{
    if (!work)
        return;
    g_free(work->device);
    g_ptr_array_unref(work->irqs);
    fp_nic_rss_free(work->rss);
    g_free(work->problem);
    g_free(work->rss_problem);
    g_free(work);
}

/**
 * fp_nic_elephant_queues:
 * @n_queues: a NIC's RX queues
 * @n_elephant_cpus: CPUs in the elephant set
 * @n_online: CPUs online
 *
 * Returns: k, how many of its queues (the highest-numbered) are elephant
 * queues: round(n × elephant / online), at least 1, at most n - 1; 0 when
 * the NIC has fewer than 2 queues
 */
guint fp_nic_elephant_queues(guint n_queues, guint n_elephant_cpus, guint n_online)
{
    long k;

    if (n_queues < 2 || !n_online)
        return 0;
    k = lround((double)n_queues * n_elephant_cpus / n_online);
    return (guint)CLAMP(k, 1, (long)n_queues - 1);
}

/**
 * fp_toeplitz:
 * @key: (array length=key_len): the RSS key
 * @key_len: its length (at least @len + 4)
 * @data: (array length=len): the hash input
 * @len: its length
 *
 * The Toeplitz hash RSS NICs compute: for each bit of @data set, from the
 * first byte's most significant bit on, the 32 key bits starting at that
 * bit's position are XORed into the result.
 *
 * Returns: the hash
 */
guint32 fp_toeplitz(const guint8 *key, gsize key_len, const guint8 *data, gsize len)
{
    guint32 hash = 0, window;
    gsize next = 4;

    if (key_len < 4)
        return 0;
    window = (guint32)key[0] << 24 | (guint32)key[1] << 16 | (guint32)key[2] << 8 | key[3];
    for (gsize i = 0; i < len; i++) {
        guint8 in = data[i], k = next < key_len ? key[next] : 0;

        next++;
        for (int b = 7; b >= 0; b--) {
            if (in & (1u << b))
                hash ^= window;
            window = window << 1 | ((k >> b) & 1u);
        }
    }
    return hash;
}

/**
 * fp_nic_rss_hash:
 * @rss: a NIC's table, key and hashed fields
 * @flow: a tuple as the NIC receives it
 * @hash: (out): the hash the NIC computes for it
 *
 * The standard input: source and destination address, then source and
 * destination port when the NIC hashes the ports for the flow's type.
 *
 * Returns: %FALSE when the NIC's hash is not Toeplitz, it shows no key, the
 * flow is not TCP or UDP, or the fields hashed for its type are unknown
 */
gboolean fp_nic_rss_hash(const FpNicRss *rss, const FpFlowKey *flow, guint32 *hash)
{
    gboolean v6 = flow->family == AF_INET6;
    guint8 in[36];
    gsize alen = v6 ? 16 : 4, n = 0;
    guint32 fields;
    int type;

    if (!(rss->hfunc & FP_RSS_HASH_TOP) || rss->key_len < 4)
        return FALSE;
    if (flow->proto == IPPROTO_TCP)
        type = v6 ? FP_RSS_TCP6 : FP_RSS_TCP4;
    else if (flow->proto == IPPROTO_UDP)
        type = v6 ? FP_RSS_UDP6 : FP_RSS_UDP4;
    else
        return FALSE;
    fields = rss->fields[type];
    if ((fields & (FP_RSS_IP_SRC | FP_RSS_IP_DST)) != (FP_RSS_IP_SRC | FP_RSS_IP_DST))
        return FALSE;
    memcpy(in, flow->src, alen);
    memcpy(in + alen, flow->dst, alen);
    n = 2 * alen;
    if ((fields & (FP_RSS_L4_0_1 | FP_RSS_L4_2_3)) == (FP_RSS_L4_0_1 | FP_RSS_L4_2_3)) {
        in[n++] = (guint8)(flow->sport >> 8);
        in[n++] = (guint8)flow->sport;
        in[n++] = (guint8)(flow->dport >> 8);
        in[n++] = (guint8)flow->dport;
    }
    if (rss->key_len < n + 4)
        return FALSE;
    *hash = fp_toeplitz(rss->key, rss->key_len, in, n);
    return TRUE;
}

static const char *original(const FpNicPlanInput *in, const char *knob, const char *object)
{
    g_autofree char *key = g_strdup_printf("%s %s", knob, object);

    return in->original ? g_hash_table_lookup(in->original, key) : NULL;
}

static void plan_irqs(FpCpuPlan *plan, const FpNicPlanInput *in, const FpNicWork *nic, guint k)
{
    guint n = nic->n_queues;

    for (guint i = 0; i < nic->irqs->len; i++) {
        const FpNicIrq *q = g_ptr_array_index(nic->irqs, i);
        gboolean elephant = (guint)q->queue % n >= n - k;
        const FpCpuSet *side = elephant ? &plan->elephant : &plan->rest;
        g_autofree char *object = fp_nic_irq_object(q);
        const char *kept = original(in, "irq", object);
        int managed_by = q->managed_by;
        FpCpuPlanAction *a;
        FpCpuSet before;

        /* Whose it is goes by the affinity it had before footprintd's
         * change: else moving it out of irqbalance's banned CPUs would
         * make it irqbalance's, give it back, and so on at each sweep. */
        if (kept && in->irqbalance && fp_cpuset_parse_list(kept, &before, NULL))
            managed_by =
                fp_irqbalance_manages(in->irqbalance, q->irq, &before) ? in->irqbalance->pid : 0;
        if (managed_by && !in->config->irqbalance_override) {
            g_ptr_array_add(plan->notes,
                            g_strdup_printf("nic %s: IRQ %u (%s) managed by irqbalance (pid %d): "
                                            "left alone",
                                            nic->device, q->irq, q->name, managed_by));
            continue;
        }
        a = g_new0(FpCpuPlanAction, 1);
        a->knob = "irq";
        a->object = g_steal_pointer(&object);
        a->vm = NULL;
        a->previous = g_strdup(kept ? kept : q->text);
        a->set = *side;
        a->value = fp_cpuset_to_list(side);
        a->now = q->affinity;
        a->reason = g_strdup_printf("nic %s: queue %d's IRQ to the %s CPUs%s", nic->device,
                                    q->queue, elephant ? "elephant" : "other",
                                    managed_by ? " (irqbalance_override)" : "");
        g_ptr_array_add(plan->actions, a);
    }
}

static void plan_rss(FpCpuPlan *plan, const FpNicPlanInput *in, const FpNicWork *nic, guint k)
{
    const FpNicRss *rss = nic->rss;
    guint n = MIN(nic->n_queues, rss->n_rx ? rss->n_rx : nic->n_queues);
    g_autofree gboolean *hot = NULL;
    g_autofree guint32 *table = NULL;
    const char *kept;
    guint hot_i = 0, cold_i = 0, n_hot = 0;
    FpCpuPlanAction *a;

    if (!(rss->hfunc & FP_RSS_HASH_TOP) || rss->key_len < 4) {
        g_ptr_array_add(plan->notes,
                        g_strdup_printf("nic %s: its RSS hash is not Toeplitz with a key the "
                                        "driver shows (hfunc 0x%x, key %u bytes): its "
                                        "indirection table is left alone",
                                        nic->device, rss->hfunc, rss->key_len));
        return;
    }
    if (n < 2 || k >= n)
        return;
    hot = g_new0(gboolean, rss->size);
    for (guint i = 0; in->flows && i < in->flows->len; i++) {
        const FpFlowKey *f = &g_array_index(in->flows, FpFlowKey, i);
        g_autofree char *name = NULL;
        guint32 hash;

        if (!fp_nic_rss_hash(rss, f, &hash))
            continue;
        if (!hot[hash % rss->size])
            n_hot++;
        hot[hash % rss->size] = TRUE;
        name = fp_flow_key_to_string(f);
        g_ptr_array_add(plan->notes,
                        g_strdup_printf("nic %s: elephant %s hashes to 0x%08x, slot %u of %u",
                                        nic->device, name, hash, hash % rss->size, rss->size));
    }
    /* Elephant slots over the k highest queues, the others over the rest,
     * round robin in slot order: a deterministic table, the same at each
     * plan for the same flows. */
    table = g_new(guint32, rss->size);
    for (guint s = 0; s < rss->size; s++)
        table[s] = hot[s] ? (n - k) + hot_i++ % k : cold_i++ % (n - k);
    kept = original(in, "rss", nic->device);
    a = g_new0(FpCpuPlanAction, 1);
    a->knob = "rss";
    a->object = g_strdup(nic->device);
    a->previous = g_strdup(kept ? kept : rss->text);
    a->value = fp_nic_rss_table_to_text(table, rss->size);
    a->now_text = g_strdup(rss->text);
    a->reason = g_strdup_printf("nic %s: %u elephant slot(s) of %u to queues %u-%u, the others "
                                "to queues 0-%u",
                                nic->device, n_hot, rss->size, n - k, n - 1, n - k - 1);
    g_ptr_array_add(plan->actions, a);
}

/**
 * fp_nic_plan_compute:
 * @plan: the CPU plan (its sets), to which the NICs' actions and notes are
 *     added
 * @input: the NICs, the elephant flows, the config, the journal's values
 *
 * Adds nothing when the CPUs are not split: what was changed goes back.
 */
void fp_nic_plan_compute(FpCpuPlan *plan, const FpNicPlanInput *in)
{
    guint n_el = fp_cpuset_count(&plan->elephant);
    guint n_online = n_el + fp_cpuset_count(&plan->rest);

    if (!plan->active || !in->nics)
        return;
    for (guint i = 0; i < in->nics->len; i++) {
        const FpNicWork *nic = g_ptr_array_index(in->nics, i);
        guint k = fp_nic_elephant_queues(nic->n_queues, n_el, n_online);

        if (nic->problem) {
            g_ptr_array_add(plan->notes,
                            g_strdup_printf("nic %s: left alone: %s", nic->device, nic->problem));
            continue;
        }
        if (!k) {
            g_ptr_array_add(plan->notes,
                            g_strdup_printf("nic %s has %u RX queue(s): no queue to keep for the "
                                            "elephants, left alone",
                                            nic->device, nic->n_queues));
            continue;
        }
        if (in->config->nic_irqs) {
            if (!nic->irqs->len)
                g_ptr_array_add(plan->notes,
                                g_strdup_printf("nic %s: no queue IRQ found (names not "
                                                "recognised, or no MSI IRQs): IRQs left alone",
                                                nic->device));
            plan_irqs(plan, in, nic, k);
        }
        if (in->config->nic_rss) {
            if (nic->rss)
                plan_rss(plan, in, nic, k);
            else
                g_ptr_array_add(plan->notes,
                                g_strdup_printf("nic %s: RSS table left alone: %s", nic->device,
                                                nic->rss_problem ? nic->rss_problem : "not read"));
        }
    }
}
