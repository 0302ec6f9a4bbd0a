/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * What footprintd's kernel programs share, whatever they hook: the maps,
 * the reads of conntrack's entries, the new-flow log, the byte sampling
 * and the elephant checkpoints (fp_sense.bpf.c describes them), and
 * fp_packet(), the per-packet path.  Included by one program per kind of
 * hook: fp_sense.bpf.c (BPF netfilter programs, Linux >= 6.4) and
 * fp_sense_fentry.bpf.c (fentry on conntrack's confirm functions, Linux
 * 5.5 to 6.3).  Each defines fp_hook_ctx first: its context, a struct with
 * the packet (`skb`) and the hook's state (`state`, for the devices), which
 * is all this code reads of it.
 */
#ifndef FP_SENSE_COMMON_BPF_H
#define FP_SENSE_COMMON_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "kernel-types.h"
#include "footprint.h"

#define NF_ACCEPT 1
#define IP_CT_RELATED 1
#define IP_CT_NEW 2
#define IP_CT_IS_REPLY 3
#define IPS_CONFIRMED (1UL << 3)
#define NFCT_INFOMASK 7UL
#define AF_INET 2
#define AF_INET6 10

/* Bytes of a conntrack entry fp_read_ct() copies: from its zone to its
 * extensions pointer, across both tuples and the status (176 on Linux
 * 6.x), and of its extensions fp_acct() copies first: their header and the
 * accounting extension when that is the first (48). */
#define FP_CT_HEAD_MAX 224
#define FP_CT_EXT_HEAD 64

/* A flow's conntrack counters, copied (see fp_acct). */
struct fp_counters {
    __u64 bytes[2];
    __u64 packets[2];
};

/* Load-time settings, from footprintd.conf through rodata. */
const volatile __u32 cp_shift = 20;  /* checkpoint every 2^cp_shift bytes */
const volatile __u32 cp_needed = 10; /* checkpoints that make the threshold */
const volatile __u64 window_ns = 10ULL * 1000000000ULL;

/* Written by user space (mmap) while the program runs. */
volatile __u64 skip_gen;      /* bumped every sweep: skip entries expire */
volatile __u64 poll_until_ns; /* user space drains the ring buffer until then */

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);        /* for its layout: see struct fp_cpu */
    __uint(max_entries, FP_CPUS_MAX_DEFAULT); /* possible CPUs, set by the loader */
    __type(key, __u32);
    __type(value, struct fp_cpu);
} fp_cpu SEC(".maps");

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

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, FP_CPUS_MAX_DEFAULT << FP_NEWLOG_SHIFT_DEFAULT); /* set by the loader */
    __type(key, __u32);
    __type(value, struct fp_new_flow);
} fp_newlog SEC(".maps");

/* A setting as an instruction's immediate, which the loader patches in
 * (see FP_IMM_SAMPLE_DROP): the hook's own instructions only (the loader
 * sees the subprograms' once they are linked, too late). */
#define fp_imm(marker)                                                                             \
    ({                                                                                             \
        __u64 v_;                                                                                  \
        asm volatile("%0 = %1 ll" : "=r"(v_) : "i"(marker));                                       \
        v_;                                                                                        \
    })

/* This CPU's state.  Looked up on the rare paths only: on the per-packet
 * path its cache line would be one more miss per packet. */
static __always_inline struct fp_cpu *fp_this_cpu(void)
{
    __u32 cpu_id = bpf_get_smp_processor_id();

    return bpf_map_lookup_elem(&fp_cpu, &cpu_id);
}

/*
 * Conntrack's memory is read with bpf_probe_read_kernel(), at offsets CO-RE
 * relocates from the kernel's BTF.  Not through bpf_rdonly_cast(): that
 * reaches vmlinux types only, and distribution kernels (Debian's, for one)
 * build conntrack as a module, whose types are in the module's BTF.  None
 * of this runs per packet: once per flow and per sample.
 */
static __always_inline const void *fp_ct(__u64 nfct)
{
    return (const void *)(nfct & ~NFCT_INFOMASK);
}

/* What the program needs of a conntrack entry, copied out of it. */
struct fp_ct_head {
    struct fp_flow_key key;
    unsigned long status;
    __u64 ext; /* the extensions' address (0: none) */
};

/*
 * The entry's key, status and extensions pointer, from one copy of the
 * part of the entry that holds them (zone, both tuples, status, ext: one
 * helper call, over lines conntrack has just written), then plain stack
 * loads.  FALSE if the copy fails (counted in read_errors).  Not inlined:
 * its copy would count towards the stack of every caller (512 bytes for a
 * whole call chain).
 */
static __noinline int fp_read_ct(struct fp_cpu *cpu, __u64 nfct, struct fp_ct_head *h)
{
    const struct nf_conn *ct = fp_ct(nfct); /* for its offsets: never dereferenced */
    struct fp_flow_key *key = &h->key;
    __u64 head[FP_CT_HEAD_MAX / 8];
    __u32 tuple_off = bpf_core_field_offset(struct nf_conn, tuplehash) +
                      bpf_core_field_offset(struct nf_conntrack_tuple_hash, tuple);
    __u32 status_off = bpf_core_field_offset(struct nf_conn, status);
    __u32 ext_off = bpf_core_field_offset(struct nf_conn, ext);
    __u32 zone_off = tuple_off, start, end = ext_off + sizeof(h->ext);
    const struct nf_conntrack_tuple *t;

    if (bpf_core_field_exists(ct->zone)) /* CONFIG_NF_CONNTRACK_ZONES */
        zone_off = bpf_core_field_offset(struct nf_conn, zone) +
                   bpf_core_field_offset(struct nf_conntrack_zone, id);
    start = (zone_off < tuple_off ? zone_off : tuple_off) & ~7U; /* aligned stack loads */
    if (status_off < tuple_off + bpf_core_type_size(struct nf_conntrack_tuple) ||
        ext_off < status_off || status_off % 8 || ext_off % 8 || end - start > sizeof(head) ||
        bpf_probe_read_kernel(head, end - start, (const void *)ct + start)) {
        cpu->stats.read_errors++;
        return 0;
    }
    h->status = head[(status_off - start) / 8];
    h->ext = head[(ext_off - start) / 8];
    t = (const void *)head + (tuple_off - start);
    key->family = t->src.l3num;
    key->proto = t->dst.protonum;
    if (key->family == AF_INET) {
        *(__u32 *)key->src = t->src.u3.ip;
        *(__u32 *)key->dst = t->dst.u3.ip;
    } else {
        __builtin_memcpy(key->src, t->src.u3.all, sizeof(key->src));
        __builtin_memcpy(key->dst, t->dst.u3.all, sizeof(key->dst));
    }
    if (key->proto == 1 || key->proto == 58) { /* ICMP, ICMPv6 */
        key->sport = bpf_ntohs(t->src.u.icmp.id);
        key->dport = ((__u16)t->dst.u.icmp.type << 8) | t->dst.u.icmp.code;
    } else {
        key->sport = bpf_ntohs(t->src.u.all);
        key->dport = bpf_ntohs(t->dst.u.all);
    }
    if (bpf_core_field_exists(ct->zone))
        key->zone = *(const __u16 *)((const void *)head + (zone_off - start));
    return 1;
}

/* The devices this packet came in on and leaves through (0: the host). */
static __always_inline void fp_devices(const fp_hook_ctx *ctx, __u32 *in_ifindex,
                                       __u32 *out_ifindex)
{
    const struct net_device *out = ctx->state->out;

    *in_ifindex = ctx->skb->skb_iif;
    *out_ifindex = out ? out->ifindex : 0;
}

static __always_inline void fp_note_devices(struct fp_flow *f, const fp_hook_ctx *ctx, int dir)
{
    __u32 in_ifindex, out_ifindex;

    fp_devices(ctx, &in_ifindex, &out_ifindex);
    /* Constant indices: clang would otherwise turn the stack address
     * arithmetic into an OR the verifier refuses. */
    if (dir == FP_DIR_REPLY) {
        f->in_ifindex[FP_DIR_REPLY] = in_ifindex;
        f->out_ifindex[FP_DIR_REPLY] = out_ifindex;
    } else {
        f->in_ifindex[FP_DIR_ORIGINAL] = in_ifindex;
        f->out_ifindex[FP_DIR_ORIGINAL] = out_ifindex;
    }
}

static __always_inline void fp_emit(struct fp_cpu *cpu, const struct fp_flow_key *key,
                                    const struct fp_flow *f, const struct fp_counters *acct,
                                    __u64 crossed_ns, __u64 now)
{
    struct fp_event *e = bpf_ringbuf_reserve(&fp_events, sizeof(*e), 0);

    if (!e) {
        cpu->stats.events_dropped++;
        return;
    }
    e->type = FP_EVENT_ELEPHANT;
    e->flags = f->flags;
    e->ts_ns = crossed_ns;
    e->first_seen_ns = f->first_seen_ns;
    for (int d = 0; d < 2; d++) {
        e->bytes[d] = acct->bytes[d];
        e->packets[d] = acct->packets[d];
        e->in_ifindex[d] = f->in_ifindex[d];
        e->out_ifindex[d] = f->out_ifindex[d];
    }
    e->key = *key;
    /* Waking user space is an interrupt on this CPU (a VM exit on a
     * virtualised host), paid inside the packet path: skip it while user
     * space polls the ring anyway, as it does for a while after each event
     * (like NAPI). */
    bpf_ringbuf_submit(e, now < poll_until_ns ? BPF_RB_NO_WAKEUP : 0);
    cpu->stats.events++;
}

/*
 * The time for a new flow: this CPU's clock read, refreshed once per jiffy.
 * Reading the clock costs more than the rest of fp_flow_new together on
 * some virtual machines (measured: ~150 ns on a nested KVM guest), and a
 * flow's start needs no better than a tick.  (bpf_ktime_get_coarse_ns()
 * would do, but netfilter programs may not call it.)
 */
static __always_inline __u64 fp_tick_now(struct fp_cpu *cpu)
{
    __u64 j = bpf_jiffies64();

    if (j != cpu->clock_jiffies) {
        cpu->clock_jiffies = j;
        cpu->clock_ns = bpf_ktime_get_ns();
    }
    return cpu->clock_ns;
}

/*
 * Once per flow, on its first packet (original direction, before conntrack
 * confirms the entry): log when and where it started.  The reply
 * direction's devices are these swapped, which user space fills in (routing
 * is symmetric on a hypervisor; NAT keeps the devices).
 */
static __noinline int fp_flow_new(fp_hook_ctx *ctx, __u64 nfct, __u32 newlog_shift)
{
    struct fp_cpu *cpu = fp_this_cpu();
    struct fp_ct_head h = {};
    struct fp_new_flow *r;
    __u64 n;
    __u32 slot;

    if (!cpu) /* never: one entry per possible CPU */
        return 0;
    if (!fp_read_ct(cpu, nfct, &h))
        return 0;
    if (h.status & IPS_CONFIRMED) /* a later packet of a flow not answered yet */
        return 0;
    /* Atomic: a softirq may run this program on this CPU while a task's
     * packet is in it; each gets its own record. */
    n = __sync_fetch_and_add(&cpu->newlog_head, 1);
    slot = (bpf_get_smp_processor_id() << newlog_shift) | (n & ((1U << newlog_shift) - 1));
    r = bpf_map_lookup_elem(&fp_newlog, &slot);
    if (!r)
        return 0;
    /* seq 0 while writing, the record number + 1 when done: the xchg are
     * full barriers, so a reader that sees the number sees the record. */
    __sync_lock_test_and_set(&r->seq, 0);
    r->key = h.key;
    r->first_seen_ns = fp_tick_now(cpu);
    fp_devices(ctx, &r->in_ifindex, &r->out_ifindex);
    __sync_lock_test_and_set(&r->seq, n + 1);
    return 0;
}

/* Once per flow, at its first sample: start tracking it in fp_flows (or
 * start over when the entry there is an earlier conntrack entry's with the
 * same tuple, which user space has not removed yet).  The bytes before this
 * sample do not count towards the threshold: we do not know when they
 * passed. */
static __noinline int fp_flow_insert(fp_hook_ctx *ctx, struct fp_cpu *cpu,
                                     const struct fp_flow_key *key, __u64 nfct, __u64 total)
{
    int dir = (nfct & NFCT_INFOMASK) >= IP_CT_IS_REPLY;
    struct fp_flow nf = {};
    __u64 now = bpf_ktime_get_ns();
    __u32 cp = total >> cp_shift;

    nf.first_seen_ns = now;
    nf.cp_last_ns = now;
    nf.cp_last_bytes = total;
    nf.cp_first = cp;
    nf.cp_last = cp;
    nf.cp_ns[cp % FP_CP_SLOTS] = now;
    nf.flags = dir == FP_DIR_REPLY ? FP_FLOW_F_DEVS_REPLY : FP_FLOW_F_DEVS_ORIG;
    nf.ct = nfct & ~NFCT_INFOMASK;
    fp_note_devices(&nf, ctx, dir);
    if (bpf_map_update_elem(&fp_flows, key, &nf, BPF_ANY) != 0)
        cpu->stats.flows_table_full++;
    return 0;
}

/* When a flow passed byte count `at`, between its last sample (cp_last_ns,
 * cp_last_bytes) and this one (now, total), taking its rate in between as
 * even.  A 16-bit fraction keeps the product inside 64 bits. */
static __always_inline __u64 fp_passed_at(const struct fp_flow *f, __u64 at, __u64 now, __u64 total)
{
    __u64 span_ns = now > f->cp_last_ns ? now - f->cp_last_ns : 0;
    __u64 frac;

    if (at >= total || total <= f->cp_last_bytes)
        return now;
    if (at <= f->cp_last_bytes)
        return f->cp_last_ns;
    frac = ((at - f->cp_last_bytes) << 16) / (total - f->cp_last_bytes);
    return f->cp_last_ns + (span_ns >> 16) * frac + (((span_ns & 0xffff) * frac) >> 16);
}

/* The flow's exact counters, both directions: conntrack's accounting
 * extension, copied with the extensions' header (one copy when it is the
 * first extension, as it is unless some other was added before it).
 * FALSE when the entry has none (created while nf_conntrack_acct was 0)
 * or a copy fails (counted in read_errors). */
static __noinline int fp_acct(struct fp_cpu *cpu, __u64 ext, struct fp_counters *acct)
{
    const struct nf_ct_ext *e = (const void *)ext; /* for its offsets: never dereferenced */
    __u64 win[FP_CT_EXT_HEAD / 8];
    __u32 id = bpf_core_enum_value(enum nf_ct_ext_id, NF_CT_EXT_ACCT);
    __u32 first = bpf_core_field_offset(struct nf_ct_ext, data);
    __u32 size = bpf_core_type_size(struct nf_conn_acct);
    const struct nf_conn_acct *a;
    __u8 off;

    if (!ext)
        return 0;
    if (id >= first || first % 8 || first + size > sizeof(win) ||
        bpf_probe_read_kernel(win, first + size, e))
        goto fail;
    off = ((const __u8 *)win)[id];
    if (!off)
        return 0;
    if (off == first) {
        a = (const void *)win + first;
    } else { /* not the first extension: a second copy */
        if (bpf_probe_read_kernel(win, size, (const void *)e + off))
            goto fail;
        a = (const void *)win;
    }
    for (int d = 0; d < 2; d++) {
        acct->bytes[d] = a->counter[d].bytes.counter;
        acct->packets[d] = a->counter[d].packets.counter;
    }
    return 1;
fail:
    cpu->stats.read_errors++;
    return 0;
}

/*
 * Once per sampled packet whose flow may have passed a checkpoint: note
 * when it passed each checkpoint since its last sample.  The flow is an
 * elephant when checkpoint cp - cp_needed (>= threshold bytes before
 * checkpoint cp) was passed within the window before checkpoint cp.
 * Returns the flow's byte count at its next checkpoint (nothing to do
 * before), FP_SKIP_ELEPHANT for an elephant, 0 to forget it.
 */
static __noinline __u64 fp_flow_sample(fp_hook_ctx *ctx, struct fp_cpu *cpu, __u64 nfct,
                                       const struct fp_flow_key *key,
                                       const struct fp_counters *acct)
{
    __u64 total = acct->bytes[0] + acct->bytes[1];
    struct fp_flow *f;
    __u64 now, t_cp;
    __u32 cp, j;

    f = bpf_map_lookup_elem(&fp_flows, key);
    if (!f || f->ct != (nfct & ~NFCT_INFOMASK) || total < f->cp_last_bytes) {
        fp_flow_insert(ctx, cpu, key, nfct, total);
        return ((total >> cp_shift) + 1) << cp_shift;
    }
    if (f->flags & FP_FLOW_F_ELEPHANT)
        return FP_SKIP_ELEPHANT;
    cp = total >> cp_shift;
    if (cp <= f->cp_last) /* no new checkpoint (another CPU got here first) */
        return ((__u64)f->cp_last + 1) << cp_shift;
    cpu->stats.checkpoints++;
    now = bpf_ktime_get_ns();
    t_cp = fp_passed_at(f, (__u64)cp << cp_shift, now, total);
    if (cp >= f->cp_first + cp_needed) {
        __u32 base = cp - cp_needed;
        __u64 t0 = base <= f->cp_last ? f->cp_ns[base % FP_CP_SLOTS]
                                      : fp_passed_at(f, (__u64)base << cp_shift, now, total);

        if (t_cp - t0 <= window_ns) {
            f->flags |= FP_FLOW_F_ELEPHANT;
            f->elephant_ns = t_cp;
            fp_emit(cpu, key, f, acct, t_cp, now);
        }
    }
    /* Checkpoints before cp - FP_CP_SLOTS + 1 would be overwritten anyway. */
    j = cp - f->cp_last > FP_CP_SLOTS ? cp - FP_CP_SLOTS + 1 : f->cp_last + 1;
    for (int i = 0; i < FP_CP_SLOTS && j <= cp; i++, j++)
        f->cp_ns[j % FP_CP_SLOTS] = fp_passed_at(f, (__u64)j << cp_shift, now, total);
    f->cp_last = cp;
    f->cp_last_ns = now;
    f->cp_last_bytes = total;
    return (f->flags & FP_FLOW_F_ELEPHANT) ? FP_SKIP_ELEPHANT : ((__u64)cp + 1) << cp_shift;
}

/* This packet is sampled: read its flow's byte count, and look the flow up
 * only when it may have passed a checkpoint since this CPU last did
 * (elephants: never again). */
static __noinline int fp_sample(fp_hook_ctx *ctx, __u64 nfct)
{
    struct fp_cpu *cpu = fp_this_cpu();
    __u64 ct = nfct & ~NFCT_INFOMASK;
    __u32 i = (ct >> 8 ^ ct >> 12) & (FP_SKIP_SLOTS - 1);
    __u64 gen = skip_gen;
    struct fp_counters acct;
    struct fp_ct_head h = {};
    __u64 total, next;
    int known;

    if (!cpu) /* never: one entry per possible CPU */
        return 0;
    /* A conntrack entry's memory is reused for other flows when it ends:
     * an entry is trusted until the next sweep only. */
    known = cpu->skip[i].ct == ct && cpu->skip[i].gen == gen;
    if (known && cpu->skip[i].next_total == FP_SKIP_ELEPHANT) {
        cpu->stats.samples_skipped++;
        return 0;
    }
    if (!fp_read_ct(cpu, nfct, &h) || !fp_acct(cpu, h.ext, &acct))
        return 0;
    total = acct.bytes[0] + acct.bytes[1];
    cpu->stats.samples++;
    if (known && total < cpu->skip[i].next_total)
        return 0;
    next = fp_flow_sample(ctx, cpu, nfct, &h.key, &acct);
    cpu->skip[i].ct = ct;
    cpu->skip[i].gen = gen;
    cpu->skip[i].next_total = next;
    return 0;
}

/*
 * Whether this packet is sampled: with probability len / 2^sample_shift,
 * so a flow is sampled about once per 2^sample_shift of its own bytes,
 * whatever else passes.  The draw is a hash of what differs from packet to
 * packet and is in cache here: the packet's data address, its flow (so two
 * flows whose packets alternate are drawn apart) and the clock tick.
 * Nothing is written per packet.  No sender chooses the addresses its
 * packets land at, so no packet pattern can keep a flow from being
 * sampled.
 */
static __always_inline int fp_draw(const struct sk_buff *skb, __u64 nfct)
{
    __u64 drop = fp_imm(FP_IMM_SAMPLE_DROP); /* 64 - sample_shift */
    __u64 x = (__u64)skb->data ^ (nfct << 21 | nfct >> 43) ^ bpf_jiffies64() << 47;

    /* Multiplicative (Fibonacci) hashing: the top bits of the product
     * depend on every bit of x. */
    return (x * 0x9e3779b97f4a7c15ULL) >> drop < skb->len;
}

/* A packet without a conntrack entry: counted, so that "conntrack does not
 * see this traffic" can be told from "no traffic". */
static __noinline int fp_untracked(void)
{
    struct fp_cpu *cpu = fp_this_cpu();

    if (cpu)
        cpu->stats.untracked_packets++;
    return 0;
}

/* One packet at a hook where conntrack has found its entry and not yet
 * confirmed it (a new flow's first packet is still unconfirmed there). */
static __always_inline void fp_packet(fp_hook_ctx *ctx)
{
    struct sk_buff *skb = ctx->skb;
    __u64 nfct = skb->_nfct;

    if (nfct <= NFCT_INFOMASK) {
        fp_untracked();
        return;
    }
    /* ctinfo NEW or RELATED: maybe a first packet (fp_flow_new checks). */
    if ((nfct & NFCT_INFOMASK) - IP_CT_RELATED <= IP_CT_NEW - IP_CT_RELATED)
        fp_flow_new(ctx, nfct, fp_imm(FP_IMM_NEWLOG_SHIFT));
    if (fp_draw(skb, nfct))
        fp_sample(ctx, nfct);
}

#endif /* FP_SENSE_COMMON_BPF_H */
