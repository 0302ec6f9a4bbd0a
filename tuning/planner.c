/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The tuner's planner: snapshot + watched elephant flows + egress devices +
 * config (+ the previous plan) → the desired state of the shared egress.
 * Pure: see planner.h.
 *
 * Policy, in one place:
 *  - Flows.  An elephant flow is demoted as soon as it is watched, whoever
 *    owns it: it has proved it is bulk, and moving it down costs its own
 *    VM's mice nothing.  It returns to the normal band once it has moved
 *    under a tenth of the elephant rate for flow_idle seconds, and goes
 *    down again only when it moves at the elephant rate again (hysteresis).
 *  - VMs.  A VM is demoted as a whole (everything it sends) only when its
 *    class in effect is throughput.  idle, unknown, latency and mixed VMs
 *    never are: a latency VM that pings 20 times a second is "idle" to the
 *    model and keeps the normal band.  A VM's demotion lasts at least
 *    `demotion_hold` seconds; VM changes are rate-limited (max_changes_per_minute);
 *    a VM that goes away is released at once.
 *  - Fairness.  Each owner (VM, or the host) of demoted traffic gets a
 *    slot: its own leaf of the demoted band, all leaves equal, so a VM
 *    with 100 elephants gets the share of a VM with one.  Slots are
 *    sticky; with more owners than fair_slots, owners share a leaf by hash.
 *  - Devices.  A device is managed when it has a rate (egress_rate_mbit,
 *    else its own speed) and a root qdisc the kernel attached by itself
 *    (handle 0: noqueue, noop, pfifo_fast, fq_codel, fq, mq with default
 *    children), or ours.  Anything an operator or libvirt configured is
 *    left alone and reported.  A managed device is shaped while anything
 *    is demoted, and `demotion_hold` seconds after.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fp-error.h"
#include "fp_tc.h"
#include "planner.h"

#define MINUTE_US (60 * G_USEC_PER_SEC)
/* A slot leaf's rate is at least this, bits/s (HTB needs a rate > 0). */
#define SLOT_MIN_BPS 8000

/* Kinds of root qdisc the kernel attaches by itself (handle 0). */
static const char *const adoptable_kinds[] = {"noqueue",  "noop", "pfifo_fast",
                                              "fq_codel", "fq",   NULL};

FpEgressDevice *fp_egress_device_new(const char *name)
{
    FpEgressDevice *dev = g_new0(FpEgressDevice, 1);

    dev->name = g_strdup(name);
    return dev;
}

void fp_egress_device_free(FpEgressDevice *dev)
{
    if (!dev)
        return;
    g_free(dev->name);
    g_free(dev->root_kind);
    g_free(dev);
}

static void plan_device_free(gpointer data)
{
    FpPlanDevice *d = data;

    g_free(d->name);
    g_free(d->reason);
    g_free(d);
}

static void plan_flow_free(gpointer data)
{
    FpPlanFlowState *f = data;

    g_free(f->owner);
    g_free(f->vm_name);
    g_free(f->reason);
    g_free(f);
}

static void plan_vm_free(gpointer data)
{
    FpPlanVm *v = data;

    g_free(v->uuid);
    g_free(v->name);
    g_free(v->ifindex);
    g_free(v->reason);
    g_free(v);
}

void fp_plan_free(FpPlan *plan)
{
    if (!plan)
        return;
    g_ptr_array_unref(plan->devices);
    g_ptr_array_unref(plan->flows);
    g_ptr_array_unref(plan->vms);
    g_hash_table_unref(plan->slots);
    g_array_unref(plan->changes);
    g_ptr_array_unref(plan->notes);
    g_free(plan);
}

static FpPlan *plan_new(gint64 now_us)
{
    FpPlan *p = g_new0(FpPlan, 1);

    p->now_us = now_us;
    p->devices = g_ptr_array_new_with_free_func(plan_device_free);
    p->flows = g_ptr_array_new_with_free_func(plan_flow_free);
    p->vms = g_ptr_array_new_with_free_func(plan_vm_free);
    p->slots = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->changes = g_array_new(FALSE, FALSE, sizeof(gint64));
    p->notes = g_ptr_array_new_with_free_func(g_free);
    return p;
}

/**
 * fp_plan_slot_classid:
 * @slot: a slot, 1..FP_TC_SLOTS_MAX
 *
 * Returns: the classid of @slot's leaf (fd00:1NN)
 */
guint fp_plan_slot_classid(guint slot)
{
    return FP_TC_CLASSID(FP_TC_MINOR_SLOT + slot);
}

/* ---- flow keys as text ---------------------------------------------------- */

/**
 * fp_flow_key_to_string:
 * @key: a flow
 *
 * Returns: (transfer full): "tcp 10.0.0.2:40000 -> 198.51.100.1:443",
 *     IPv6 addresses in brackets, " zone N" when the zone is not 0
 */
char *fp_flow_key_to_string(const FpFlowKey *key)
{
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
    gboolean v6 = key->family == AF_INET6;

    fp_flow_key_format(key, src, sizeof(src), dst, sizeof(dst));
    return g_strdup_printf("%s %s%s%s:%u -> %s%s%s:%u%s%.0u",
                           fp_flow_proto_name(key->proto, pbuf, sizeof(pbuf)), v6 ? "[" : "", src,
                           v6 ? "]" : "", key->sport, v6 ? "[" : "", dst, v6 ? "]" : "", key->dport,
                           key->zone ? " zone " : "", key->zone);
}

static gboolean parse_endpoint(const char *text, guint8 *addr, guint16 *port, guint8 *family)
{
    g_autofree char *host = NULL;
    const char *colon = strrchr(text, ':');
    guint64 p;

    if (!colon || !g_ascii_string_to_unsigned(colon + 1, 10, 0, 65535, &p, NULL))
        return FALSE;
    host = g_strndup(text, (gsize)(colon - text));
    if (host[0] == '[') {
        gsize n = strlen(host);

        if (n < 3 || host[n - 1] != ']')
            return FALSE;
        host[n - 1] = '\0';
        memmove(host, host + 1, n - 1);
        *family = AF_INET6;
    } else {
        *family = AF_INET;
    }
    *port = (guint16)p;
    return inet_pton(*family, host, addr) == 1;
}

/**
 * fp_flow_key_parse:
 * @text: what fp_flow_key_to_string() writes
 * @key: (out): the flow
 * @error: return location for a #GError
 */
gboolean fp_flow_key_parse(const char *text, FpFlowKey *key, GError **error)
{
    g_auto(GStrv) w = g_strsplit_set(text, " \t", -1);
    static const struct {
        const char *name;
        guint8 proto;
    } protos[] = {{"tcp", IPPROTO_TCP},
                  {"udp", IPPROTO_UDP},
                  {"icmp", IPPROTO_ICMP},
                  {"icmpv6", IPPROTO_ICMPV6},
                  {"sctp", IPPROTO_SCTP}};
    guint8 fam_src = 0, fam_dst = 0;
    guint64 v;
    guint n = g_strv_length(w);
    gboolean ok = FALSE;

    memset(key, 0, sizeof(*key));
    if (n == 4 || n == 6) {
        ok = g_str_equal(w[2], "->");
        if (n == 6)
            ok = ok && g_str_equal(w[4], "zone") &&
                 g_ascii_string_to_unsigned(w[5], 10, 0, 65535, &v, NULL) &&
                 (key->zone = (guint16)v, TRUE);
    }
    if (ok) {
        ok = FALSE;
        for (gsize i = 0; i < G_N_ELEMENTS(protos); i++)
            if (g_str_equal(w[0], protos[i].name)) {
                key->proto = protos[i].proto;
                ok = TRUE;
            }
        if (!ok && g_ascii_string_to_unsigned(w[0], 10, 0, 255, &v, NULL)) {
            key->proto = (guint8)v;
            ok = TRUE;
        }
    }
    ok = ok && parse_endpoint(w[1], key->src, &key->sport, &fam_src) &&
         parse_endpoint(w[3], key->dst, &key->dport, &fam_dst) && fam_src == fam_dst;
    if (!ok) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "'%s' is not a flow (\"tcp 10.0.0.2:40000 -> 198.51.100.1:443 [zone N]\")",
                    text);
        return FALSE;
    }
    key->family = fam_src;
    return TRUE;
}

/* ---- lookups -------------------------------------------------------------- */

const FpPlanFlowState *fp_plan_find_flow(const FpPlan *plan, const FpFlowKey *key)
{
    for (guint i = 0; plan && i < plan->flows->len; i++) {
        const FpPlanFlowState *f = g_ptr_array_index(plan->flows, i);

        if (memcmp(&f->key, key, sizeof(*key)) == 0)
            return f;
    }
    return NULL;
}

const FpPlanVm *fp_plan_find_vm(const FpPlan *plan, const char *uuid)
{
    for (guint i = 0; plan && i < plan->vms->len; i++) {
        const FpPlanVm *v = g_ptr_array_index(plan->vms, i);

        if (g_str_equal(v->uuid, uuid))
            return v;
    }
    return NULL;
}

const FpPlanDevice *fp_plan_find_device(const FpPlan *plan, const char *name)
{
    for (guint i = 0; plan && i < plan->devices->len; i++) {
        const FpPlanDevice *d = g_ptr_array_index(plan->devices, i);

        if (g_str_equal(d->name, name))
            return d;
    }
    return NULL;
}

/**
 * fp_plan_any_shaped:
 * @plan: a plan
 *
 * Returns: whether some device is to carry footprintd's tree
 */
gboolean fp_plan_any_shaped(const FpPlan *plan)
{
    for (guint i = 0; i < plan->devices->len; i++)
        if (((const FpPlanDevice *)g_ptr_array_index(plan->devices, i))->shaped)
            return TRUE;
    return FALSE;
}

/* ---- planning ------------------------------------------------------------- */

static const FpVmSnapshot *vm_of_ifindex(const FpSnapshot *s, guint32 ifindex)
{
    if (!ifindex)
        return NULL;
    for (guint i = 0; i < s->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(s->vms, i);
        guint n = v->vm->interfaces ? v->vm->interfaces->len : 0;

        for (guint j = 0; j < n; j++)
            if (v->ifindex[j] == ifindex)
                return v;
    }
    return NULL;
}

/* The flow's owner: of its two sides, the VM that sends most of its bytes;
 * the other side's VM when that one is no VM; NULL (the host) when none. */
static const FpVmSnapshot *flow_owner(const FpSnapshot *s, const FpPlanFlow *f)
{
    const FpVmSnapshot *src = NULL, *dst = NULL;

    if (!f->has_devices)
        return NULL;
    src = vm_of_ifindex(s, f->in_ifindex[0]);
    if (!src)
        src = vm_of_ifindex(s, f->out_ifindex[1]);
    dst = vm_of_ifindex(s, f->out_ifindex[0]);
    if (!dst)
        dst = vm_of_ifindex(s, f->in_ifindex[1]);
    if (f->bytes[1] > f->bytes[0])
        return dst ? dst : src;
    return src ? src : dst;
}

static gint flow_order(gconstpointer a, gconstpointer b)
{
    const FpPlanFlow *x = *(const FpPlanFlow *const *)a;
    const FpPlanFlow *y = *(const FpPlanFlow *const *)b;

    if (x->elephant_us != y->elephant_us)
        return x->elephant_us < y->elephant_us ? -1 : 1;
    return memcmp(&x->key, &y->key, sizeof(x->key));
}

/**
 * fp_egress_device_adoptable:
 * @dev: a device as the host has it
 *
 * Returns: whether its root qdisc is one the kernel attached by itself
 * (handle 0: noqueue, noop, pfifo_fast, fq_codel, fq, or mq whose children
 * are all the kernel's), which footprintd may replace with its own
 */
gboolean fp_egress_device_adoptable(const FpEgressDevice *d)
{
    if (d->root_handle != 0 || !d->root_kind)
        return FALSE;
    if (g_str_equal(d->root_kind, "mq"))
        return d->children_default;
    return g_strv_contains(adoptable_kinds, d->root_kind);
}

static char *format_handle(guint32 handle)
{
    return g_strdup_printf("%x:", handle >> 16);
}

static FpPlanDevice *plan_device(const FpEgressDevice *in, const FpConfig *config)
{
    FpPlanDevice *d = g_new0(FpPlanDevice, 1);
    guint64 mbit =
        config->tuning.egress_rate_mbit ? config->tuning.egress_rate_mbit : in->speed_mbit;
    g_autofree char *handle = format_handle(in->root_handle);

    d->name = g_strdup(in->name);
    d->ifindex = in->ifindex;
    if (!in->ifindex) {
        d->reason = g_strdup("no such device");
        return d;
    }
    if (!mbit) {
        d->reason = g_strdup("the device reports no speed: set [tuning] egress_rate_mbit");
        return d;
    }
    if (in->root_ours) {
        d->reason = g_strdup("footprintd's root qdisc fd00: is in place");
    } else if (fp_egress_device_adoptable(in)) {
        d->reason = g_strdup_printf("adopts the kernel's default root qdisc %s", in->root_kind);
    } else if (in->root_handle == 0 && g_strcmp0(in->root_kind, "mq") == 0) {
        d->reason = g_strdup("root qdisc mq 0: has a child qdisc someone configured: left alone");
        return d;
    } else {
        d->reason = g_strdup_printf(
            "root qdisc %s %s is someone else's (an operator's, or libvirt <bandwidth>): "
            "left alone",
            in->root_kind ? in->root_kind : "?", handle);
        return d;
    }
    d->managed = TRUE;
    d->slots = config->tuning.fair_slots;
    d->split_gso = config->tuning.split_gso;
    d->rate_bps = mbit * 1000000;
    d->demoted_bps = (guint64)((double)d->rate_bps * config->tuning.demoted_min_share);
    d->normal_bps = d->rate_bps - d->demoted_bps;
    d->slot_bps = MAX(d->demoted_bps / d->slots, SLOT_MIN_BPS);
    return d;
}

/* Whether one more VM change fits in the rate limit; if so, counts it. */
static gboolean take_change(FpPlan *p, const FpConfig *config)
{
    if (p->changes->len >= config->tuning.max_changes_per_minute)
        return FALSE;
    g_array_append_val(p->changes, p->now_us);
    return TRUE;
}

static void note(FpPlan *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void note(FpPlan *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(p->notes, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

static void plan_flows(FpPlan *p, const FpPlanInput *in, gboolean any_managed)
{
    const FpTuningConfig *t = &in->config->tuning;
    double elephant_bps =
        (double)in->config->elephant_bytes / (double)MAX(in->config->elephant_window_s, 1);
    g_autoptr(GPtrArray) sorted = g_ptr_array_copy(in->flows, NULL, NULL);

    g_ptr_array_set_free_func(sorted, NULL); /* borrowed */
    g_ptr_array_sort(sorted, flow_order);
    for (guint i = 0; i < sorted->len; i++) {
        const FpPlanFlow *f = g_ptr_array_index(sorted, i);
        const FpPlanFlowState *prev = fp_plan_find_flow(in->previous, &f->key);
        const FpVmSnapshot *vm = flow_owner(in->snapshot, f);
        FpPlanFlowState *s = g_new0(FpPlanFlowState, 1);
        gboolean idle = f->quiet_since_us &&
                        in->now_us - f->quiet_since_us >= (gint64)t->flow_idle_s * G_USEC_PER_SEC;

        s->key = f->key;
        s->owner = g_strdup(vm ? vm->vm->uuid : FP_PLAN_OWNER_HOST);
        s->vm_name = vm ? g_strdup(vm->vm->name) : NULL;
        s->klass = vm ? vm->klass : FP_CLASS_UNKNOWN;
        if (i >= t->max_flows) {
            p->flows_skipped++;
            s->reason = g_strdup("beyond max_flows: left in the normal band");
        } else if (!any_managed) {
            s->reason = g_strdup("no managed egress device to demote it on");
        } else if (prev && prev->idle && !idle) {
            /* Released for idleness: down again only at the elephant rate. */
            s->demoted = f->rate_bps >= elephant_bps;
            s->idle = !s->demoted;
            s->reason = s->demoted ? g_strdup_printf("elephant again: %.0f bytes/s", f->rate_bps)
                                   : g_strdup("under the elephant rate: stays in the normal band");
        } else if (idle) {
            s->idle = TRUE;
            s->reason =
                g_strdup_printf("idle for %us or more: back in the normal band", t->flow_idle_s);
        } else {
            s->demoted = TRUE;
            s->reason = g_strdup("elephant");
        }
        s->since_us = prev && prev->demoted == s->demoted ? prev->since_us : in->now_us;
        g_ptr_array_add(p->flows, s);
    }
}

static void plan_vms(FpPlan *p, const FpPlanInput *in, gboolean any_managed)
{
    const FpTuningConfig *t = &in->config->tuning;
    gint64 hold_us = (gint64)t->hold_s * G_USEC_PER_SEC;

    for (guint i = 0; i < in->snapshot->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(in->snapshot->vms, i);
        const FpPlanVm *prev = fp_plan_find_vm(in->previous, v->vm->uuid);
        gboolean was = prev && prev->demoted;
        guint n = v->vm->interfaces ? v->vm->interfaces->len : 0;
        gboolean want = t->demote_throughput_vms && v->klass == FP_CLASS_THROUGHPUT;
        const char *klass = fp_class_to_string(v->klass);
        FpPlanVm *s;

        if (!want && !was)
            continue;
        s = g_new0(FpPlanVm, 1);
        s->uuid = g_strdup(v->vm->uuid);
        s->name = g_strdup(v->vm->name);
        s->klass = v->klass;
        s->ifindex = g_new0(guint32, n + 1);
        for (guint j = 0; j < n; j++)
            if (v->ifindex[j])
                s->ifindex[s->n_ifindex++] = v->ifindex[j];
        if (want && !s->n_ifindex) {
            s->reason = g_strdup("class throughput, but no interface has a host device");
        } else if (want && !any_managed) {
            s->reason = g_strdup("class throughput, but no managed egress device");
        } else if (want && was) {
            s->demoted = TRUE;
            s->reason = g_strdup("class throughput");
        } else if (want) {
            s->demoted = take_change(p, in->config);
            s->reason = s->demoted ? g_strdup("class throughput")
                                   : g_strdup_printf("class throughput: waits for the rate limit "
                                                     "(max_changes_per_minute=%u)",
                                                     t->max_changes_per_minute);
        } else if (in->now_us - prev->since_us < hold_us) {
            s->demoted = TRUE;
            s->reason =
                g_strdup_printf("class %s; held for %us after its demotion", klass, t->hold_s);
        } else if (take_change(p, in->config)) {
            s->reason = g_strdup_printf("class %s: released", klass);
        } else {
            s->demoted = TRUE;
            s->reason = g_strdup_printf("class %s: its release waits for the rate limit "
                                        "(max_changes_per_minute=%u)",
                                        klass, t->max_changes_per_minute);
        }
        s->since_us = prev && prev->demoted == s->demoted ? prev->since_us : in->now_us;
        g_ptr_array_add(p->vms, s);
    }
    for (guint i = 0; in->previous && i < in->previous->vms->len; i++) {
        const FpPlanVm *v = g_ptr_array_index(in->previous->vms, i);

        if (v->demoted && !fp_snapshot_find(in->snapshot, v->uuid))
            note(p, "vm %s (%s) went away: its demotion is undone", v->name, v->uuid);
    }
}

/* Gives every owner of demoted traffic a slot: the one it had, else the
 * lowest free one, else (more owners than slots) one shared by hash. */
static void plan_slots(FpPlan *p, const FpPlanInput *in)
{
    guint n = in->config->tuning.fair_slots;
    g_autoptr(GPtrArray) owners = g_ptr_array_new();
    g_autofree gboolean *taken = NULL;

    if (n == 0) /* the config check keeps it >= 1 */
        return;
    taken = g_new0(gboolean, n + 1);

    for (guint i = 0; i < p->flows->len; i++) {
        FpPlanFlowState *f = g_ptr_array_index(p->flows, i);

        if (f->demoted && !g_ptr_array_find_with_equal_func(owners, f->owner, g_str_equal, NULL))
            g_ptr_array_add(owners, f->owner);
    }
    for (guint i = 0; i < p->vms->len; i++) {
        FpPlanVm *v = g_ptr_array_index(p->vms, i);

        if (v->demoted && !g_ptr_array_find_with_equal_func(owners, v->uuid, g_str_equal, NULL))
            g_ptr_array_add(owners, v->uuid);
    }
    for (guint i = 0; i < owners->len; i++) {
        gpointer old = NULL;
        guint slot;

        if (!in->previous ||
            !g_hash_table_lookup_extended(in->previous->slots, owners->pdata[i], NULL, &old))
            continue;
        slot = GPOINTER_TO_UINT(old);
        if (slot >= 1 && slot <= n && !taken[slot]) {
            taken[slot] = TRUE;
            g_hash_table_insert(p->slots, g_strdup(owners->pdata[i]), old);
        }
    }
    for (guint i = 0; i < owners->len; i++) {
        const char *owner = owners->pdata[i];
        guint slot = 0;

        if (g_hash_table_contains(p->slots, owner))
            continue;
        for (guint s = 1; s <= n && !slot; s++)
            if (!taken[s])
                slot = s;
        if (slot) {
            taken[slot] = TRUE;
        } else {
            slot = 1 + g_str_hash(owner) % n;
            note(p, "more owners of demoted traffic than fair_slots (%u): %s shares slot %u", n,
                 owner, slot);
        }
        g_hash_table_insert(p->slots, g_strdup(owner), GUINT_TO_POINTER(slot));
    }
    for (guint i = 0; i < p->flows->len; i++) {
        FpPlanFlowState *f = g_ptr_array_index(p->flows, i);

        if (f->demoted)
            f->slot = GPOINTER_TO_UINT(g_hash_table_lookup(p->slots, f->owner));
    }
    for (guint i = 0; i < p->vms->len; i++) {
        FpPlanVm *v = g_ptr_array_index(p->vms, i);

        if (v->demoted)
            v->slot = GPOINTER_TO_UINT(g_hash_table_lookup(p->slots, v->uuid));
    }
}

static gint vm_order(gconstpointer a, gconstpointer b)
{
    const FpPlanVm *x = *(const FpPlanVm *const *)a;
    const FpPlanVm *y = *(const FpPlanVm *const *)b;

    return strcmp(x->uuid, y->uuid);
}

/**
 * fp_plan_compute:
 * @input: the snapshot, flows, devices, config, time and previous plan
 *
 * Returns: (transfer full): the desired state
 */
FpPlan *fp_plan_compute(const FpPlanInput *input)
{
    FpPlan *p = plan_new(input->now_us);
    gint64 hold_us = (gint64)input->config->tuning.hold_s * G_USEC_PER_SEC;
    gboolean any_managed = FALSE, needed = FALSE;

    /* The rate limit's window: the previous plan's changes of the last minute. */
    for (guint i = 0; input->previous && i < input->previous->changes->len; i++) {
        gint64 t = g_array_index(input->previous->changes, gint64, i);

        if (input->now_us - t < MINUTE_US)
            g_array_append_val(p->changes, t);
    }
    for (guint i = 0; i < input->devices->len; i++) {
        FpPlanDevice *d = plan_device(g_ptr_array_index(input->devices, i), input->config);

        any_managed = any_managed || d->managed;
        g_ptr_array_add(p->devices, d);
    }
    plan_flows(p, input, any_managed);
    plan_vms(p, input, any_managed);
    g_ptr_array_sort(p->vms, vm_order);
    plan_slots(p, input);
    for (guint i = 0; i < p->flows->len && !needed; i++)
        needed = ((FpPlanFlowState *)g_ptr_array_index(p->flows, i))->demoted;
    for (guint i = 0; i < p->vms->len && !needed; i++)
        needed = ((FpPlanVm *)g_ptr_array_index(p->vms, i))->demoted;
    for (guint i = 0; i < p->devices->len; i++) {
        FpPlanDevice *d = g_ptr_array_index(p->devices, i);
        const FpPlanDevice *prev = fp_plan_find_device(input->previous, d->name);

        d->needed_us = needed ? input->now_us : prev ? prev->needed_us : 0;
        d->shaped = d->managed &&
                    (needed || (prev && prev->shaped && input->now_us - d->needed_us < hold_us));
        d->since_us = prev && prev->shaped == d->shaped ? prev->since_us : input->now_us;
    }
    return p;
}

/* ---- text ----------------------------------------------------------------- */

static void append_rate(GString *s, guint64 bps)
{
    if (bps >= 1000000 && bps % 1000000 == 0)
        g_string_append_printf(s, "%" G_GUINT64_FORMAT " Mbit/s", bps / 1000000);
    else if (bps >= 1000000)
        g_string_append_printf(s, "%.3f Mbit/s", (double)bps / 1e6);
    else
        g_string_append_printf(s, "%" G_GUINT64_FORMAT " kbit/s", bps / 1000);
}

static double age_s(const FpPlan *p, gint64 t)
{
    return (double)(p->now_us - t) / 1e6;
}

/**
 * fp_plan_to_text:
 * @plan: a plan
 *
 * Returns: (transfer full): the plan, one line per device, flow, VM and
 * note (what fixtures compare, and footprintctl tuning prints)
 */
char *fp_plan_to_text(const FpPlan *plan)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < plan->devices->len; i++) {
        const FpPlanDevice *d = g_ptr_array_index(plan->devices, i);

        g_string_append_printf(s, "device %s: ", d->name);
        if (!d->managed) {
            g_string_append_printf(s, "not managed: %s\n", d->reason);
            continue;
        }
        g_string_append_printf(s, "%s for %.1fs; ", d->shaped ? "shaped" : "not shaped",
                               age_s(plan, d->since_us));
        append_rate(s, d->rate_bps);
        g_string_append(s, " (normal ");
        append_rate(s, d->normal_bps);
        g_string_append(s, ", demoted ");
        append_rate(s, d->demoted_bps);
        g_string_append_printf(s, " in %u slots of ", d->slots);
        append_rate(s, d->slot_bps);
        g_string_append_printf(s, "%s); %s\n", d->split_gso ? ", GSO split" : "", d->reason);
    }
    for (guint i = 0; i < plan->flows->len; i++) {
        const FpPlanFlowState *f = g_ptr_array_index(plan->flows, i);
        g_autofree char *key = fp_flow_key_to_string(&f->key);

        g_string_append_printf(s, "flow %s: ", key);
        if (f->demoted)
            g_string_append_printf(s, "demoted to slot %u", f->slot);
        else
            g_string_append(s, "normal");
        g_string_append_printf(s, " for %.1fs; owner %s", age_s(plan, f->since_us),
                               f->vm_name ? f->vm_name : f->owner);
        if (f->vm_name)
            g_string_append_printf(s, " (%s)", fp_class_to_string(f->klass));
        g_string_append_printf(s, "; %s\n", f->reason);
    }
    for (guint i = 0; i < plan->vms->len; i++) {
        const FpPlanVm *v = g_ptr_array_index(plan->vms, i);

        g_string_append_printf(s, "vm %s (%s): ", v->name, v->uuid);
        if (v->demoted)
            g_string_append_printf(s, "demoted to slot %u", v->slot);
        else
            g_string_append(s, "normal");
        g_string_append_printf(s, " for %.1fs; ifindex", age_s(plan, v->since_us));
        for (guint j = 0; j < v->n_ifindex; j++)
            g_string_append_printf(s, "%s%u", j ? "," : " ", v->ifindex[j]);
        if (!v->n_ifindex)
            g_string_append(s, " none");
        g_string_append_printf(s, "; %s\n", v->reason);
    }
    if (plan->flows_skipped)
        g_string_append_printf(s, "flows skipped: %u\n", plan->flows_skipped);
    for (guint i = 0; i < plan->notes->len; i++)
        g_string_append_printf(s, "note: %s\n", (const char *)plan->notes->pdata[i]);
    return g_string_free(s, FALSE);
}
