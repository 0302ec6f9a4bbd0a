// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/*
 * footprintd's eyes: a BPF netfilter program linked at LOCAL_IN and
 * POST_ROUTING (IPv4 and IPv6), after conntrack and NAT.  Every conntracked
 * packet passes exactly one of those hooks once, with its conntrack entry in
 * skb->_nfct.
 *
 * The per-packet path is the hot path, so it does the least that still
 * notices (a) the first packet of a flow and (b) a flow's
 * byte counter crossing a checkpoint (every 2^cp_shift bytes).  Bytes and
 * packets are *not* counted here: conntrack's accounting extension already
 * counts them and we read its counters with direct loads
 * (bpf_rdonly_cast, no helper call per field, no map access per packet).
 * Everything else happens per flow (first packet, checkpoints) or in user
 * space per sweep.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "kernel-types.h"
#include "footprint.h"

#define NF_ACCEPT 1
#define IP_CT_IS_REPLY 3
#define NFCT_INFOMASK 7UL
#define AF_INET 2
#define AF_INET6 10

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Load-time settings, from footprintd.conf through rodata. */
const volatile __u32 nf_conn_btf_id;      /* kernel BTF id of struct nf_conn */
const volatile __u32 nf_conn_acct_btf_id; /* kernel BTF id of struct nf_conn_acct */
const volatile __u32 cp_shift = 20;       /* checkpoint every 2^cp_shift bytes */
const volatile __u32 cp_needed = 10;      /* checkpoints that make the threshold */
const volatile __u64 window_ns = 10ULL * 1000000000ULL;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fp_stats);
} fp_stats SEC(".maps");

/* This CPU's counters (never NULL for key 0 of a one-entry array). */
static __always_inline struct fp_stats *fp_cpu_stats(void)
{
    __u32 zero = 0;

    return bpf_map_lookup_elem(&fp_stats, &zero);
}

#define FP_COUNT(field)                                                                            \
    do {                                                                                           \
        struct fp_stats *__s = fp_cpu_stats();                                                     \
        if (__s)                                                                                   \
            __s->field++;                                                                          \
    } while (0)

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FP_FLOWS_MAX_DEFAULT); /* resized from the config */
    __type(key, struct fp_flow_key);
    __type(value, struct fp_flow);
} fp_flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, FP_EVENTS_BYTES_DEFAULT); /* resized from the config */
} fp_events SEC(".maps");

static __always_inline void fp_read_key(const struct nf_conn *ct, struct fp_flow_key *key)
{
    const struct nf_conntrack_tuple *t = &ct->tuplehash[0].tuple;
    __u16 l3 = t->src.l3num;

    key->family = l3;
    key->proto = t->dst.protonum;
    if (l3 == AF_INET) {
        *(__u32 *)key->src = t->src.u3.ip;
        *(__u32 *)key->dst = t->dst.u3.ip;
    } else {
        for (int i = 0; i < 4; i++) {
            ((__u32 *)key->src)[i] = t->src.u3.all[i];
            ((__u32 *)key->dst)[i] = t->dst.u3.all[i];
        }
    }
    if (key->proto == 1 || key->proto == 58) { /* ICMP, ICMPv6 */
        key->sport = bpf_ntohs(t->src.u.icmp.id);
        key->dport = ((__u16)t->dst.u.icmp.type << 8) | t->dst.u.icmp.code;
    } else {
        key->sport = bpf_ntohs(t->src.u.all);
        key->dport = bpf_ntohs(t->dst.u.all);
    }
    if (bpf_core_field_exists(ct->zone))
        key->zone = ct->zone.id;
}

static __always_inline void fp_note_devices(struct fp_flow *f, const struct bpf_nf_ctx *ctx,
                                            int dir)
{
    const struct net_device *out = ctx->state->out;

    f->in_ifindex[dir] = ctx->skb->skb_iif;
    f->out_ifindex[dir] = out ? out->ifindex : 0;
}

static __always_inline void fp_emit(const struct fp_flow_key *key, const struct fp_flow *f,
                                    const struct nf_conn_acct *acct, __u64 now)
{
    struct fp_event *e = bpf_ringbuf_reserve(&fp_events, sizeof(*e), 0);

    if (!e) {
        FP_COUNT(events_dropped);
        return;
    }
    e->type = FP_EVENT_ELEPHANT;
    e->flags = f->flags;
    e->ts_ns = now;
    e->first_seen_ns = f->first_seen_ns;
    for (int d = 0; d < 2; d++) {
        e->bytes[d] = acct->counter[d].bytes.counter;
        e->packets[d] = acct->counter[d].packets.counter;
        e->in_ifindex[d] = f->in_ifindex[d];
        e->out_ifindex[d] = f->out_ifindex[d];
    }
    e->key = *key;
    bpf_ringbuf_submit(e, 0);
    FP_COUNT(events);
}

/*
 * Slow path, once per flow: remember when and where it started.  Only the
 * original direction's first packet comes here (and a checkpoint of a flow
 * we do not know yet); the reply direction's devices are the original's
 * swapped, which user space fills in (routing is symmetric on a
 * hypervisor; NAT keeps the devices).  One map write per flow, not two.
 */
static __noinline int fp_flow_insert(struct bpf_nf_ctx *ctx, const struct nf_conn *ct, int dir,
                                     __u64 total)
{
    struct fp_flow_key key = {};
    struct fp_flow nf = {};
    __u64 now = bpf_ktime_get_ns();
    __u32 cp = total >> cp_shift;

    fp_read_key(ct, &key);
    nf.first_seen_ns = now;
    nf.cp_last_ns = now;
    nf.cp_first = cp;
    nf.cp_last = cp;
    nf.cp_ns[cp % FP_CP_SLOTS] = now;
    nf.flags = dir == FP_DIR_REPLY ? FP_FLOW_F_DEVS_REPLY : FP_FLOW_F_DEVS_ORIG;
    fp_note_devices(&nf, ctx, dir);
    /* BPF_ANY: a first original packet means a new conntrack entry, even if
     * user space has not yet removed an older flow with the same tuple. */
    if (bpf_map_update_elem(&fp_flows, &key, &nf, BPF_ANY) != 0)
        FP_COUNT(flows_table_full);
    else
        FP_COUNT(flows_new);
    return 0;
}

/*
 * Slow path, once per 2^cp_shift bytes of a flow: record when the checkpoint
 * was reached; the flow is an elephant when the checkpoint cp_needed
 * checkpoints ago (>= threshold bytes ago) was reached within the window.
 */
static __noinline int fp_flow_checkpoint(struct bpf_nf_ctx *ctx, const struct nf_conn *ct,
                                         const struct nf_conn_acct *acct, int dir, __u64 total)
{
    struct fp_flow_key key = {};
    struct fp_flow *f;
    __u64 now = bpf_ktime_get_ns();
    __u32 cp = total >> cp_shift;

    fp_read_key(ct, &key);
    f = bpf_map_lookup_elem(&fp_flows, &key);
    if (!f) {
        /* Flow older than the agent or its first packet was dropped. */
        return fp_flow_insert(ctx, ct, dir, total);
    }
    FP_COUNT(checkpoints);
    if (cp <= f->cp_last) /* another CPU got here first */
        return 0;

    if (!(f->flags & FP_FLOW_F_ELEPHANT) && cp >= f->cp_first + cp_needed) {
        __u32 base = cp - cp_needed;
        /* Checkpoints this flow skipped count as reached at the last one we
         * saw: that can only make the window look longer (conservative). */
        __u64 t0 = base <= f->cp_last ? f->cp_ns[base % FP_CP_SLOTS] : f->cp_last_ns;

        if (now - t0 <= window_ns) {
            f->flags |= FP_FLOW_F_ELEPHANT;
            f->elephant_ns = now;
            fp_emit(&key, f, acct, now);
        }
    }
    for (int i = 0; i < FP_CP_SLOTS; i++) {
        __u32 j = f->cp_last + 1 + i;

        if (j >= cp)
            break;
        f->cp_ns[j % FP_CP_SLOTS] = f->cp_last_ns;
    }
    f->cp_ns[cp % FP_CP_SLOTS] = now;
    f->cp_last = cp;
    f->cp_last_ns = now;
    return 0;
}

SEC("socket") /* retyped to BPF_PROG_TYPE_NETFILTER by the loader (sense.c) */
int fp_nf_hook(struct bpf_nf_ctx *ctx)
{
    struct sk_buff *skb = ctx->skb;
    unsigned long nfct = skb->_nfct;
    const struct nf_conn *ct = (const void *)(nfct & ~NFCT_INFOMASK);

    if (!ct) {
        FP_COUNT(untracked_packets);
        return NF_ACCEPT;
    }
    ct = bpf_rdonly_cast(ct, nf_conn_btf_id);

    const struct nf_ct_ext *ext = ct->ext;
    if (!ext)
        return NF_ACCEPT;
    __u8 off = ext->offset[bpf_core_enum_value(enum nf_ct_ext_id, NF_CT_EXT_ACCT)];
    if (!off) /* entry created while nf_conntrack_acct was 0 */
        return NF_ACCEPT;

    const struct nf_conn_acct *acct = bpf_rdonly_cast((const void *)ext + off, nf_conn_acct_btf_id);
    int dir = (nfct & NFCT_INFOMASK) >= IP_CT_IS_REPLY;
    __u64 total = acct->counter[0].bytes.counter + acct->counter[1].bytes.counter;
    __u64 len = skb->len;

    /* conntrack counted this packet before our hook (it counts at
     * PRE_ROUTING/LOCAL_OUT), so the counters already include it. */
    if (dir == FP_DIR_ORIGINAL && acct->counter[FP_DIR_ORIGINAL].packets.counter == 1)
        fp_flow_insert(ctx, ct, dir, total);
    else if (((total - len) ^ total) >> cp_shift)
        fp_flow_checkpoint(ctx, ct, acct, dir, total);
    return NF_ACCEPT;
}
