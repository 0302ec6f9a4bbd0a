// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/*
 * footprintd's hand on the shared egress: a cls_bpf classifier, in
 * direct-action mode, on footprintd's HTB root (fd00:, see
 * tuning/planner.h).  A packet goes to slot N's leaf of the demoted band
 * when its conntrack entry's mark holds N in footprintd's bits (a demoted
 * elephant flow: tuning/ctmark.c sets them over ctnetlink), or when it
 * entered the host through the device of a VM demoted as a whole
 * (fp_tc_vms: the ingress device, or the bridge port br_netfilter
 * recorded, see fp_bridge_port()); every other packet is left to the HTB default, the normal
 * band.
 *
 * Why this classifier, and not the alternatives this kernel has:
 *  - The mark is read from the packet's own conntrack entry (skb->_nfct),
 *    so a flow changes band the moment its mark is written, in both
 *    directions, NAT'd or not, routed or bridged (br_netfilter), with no
 *    rule anywhere else and nothing written to the packet: skb->mark,
 *    which policy routing, firewalls and OVS use, stays untouched.
 *  - nft "meta mark set ct mark" + u32 on the mark needs a masked copy of
 *    two registers (meta mark & ~mask | ct mark & mask), an nft table of
 *    ours in every netns, and writes skb->mark; tc's ctinfo action needs a
 *    filter with a match-all (no matchall here; u32 can) and writes
 *    skb->mark too; fw, the classifier made for marks, is not built.
 *  - Cost per packet: one load of skb->_nfct (bpf_cast_to_kern_ctx() is
 *    rewritten to a register move by the verifier), one load of the mark
 *    (bpf_rdonly_cast(): a direct load, when struct nf_conn is in vmlinux's
 *    BTF; else one bpf_probe_read_kernel(), as where conntrack is a
 *    module), and a hash lookup only while some VM is demoted as a whole.
 *    tests/perf/bench-tc-classify.sh measures it against an empty program.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "fp_tc.h"

#define NFCT_PTRMASK (~7UL)

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The kernel's types, only the fields read; the ___fp suffix keeps them
 * apart from kernel-types.h's, CO-RE matches them by the name before it. */
struct sk_buff___fp {
    unsigned long _nfct;
    struct skb_ext___fp *extensions;
    __u8 active_extensions;
} __attribute__((preserve_access_index));

/* skb extensions (CONFIG_SKB_EXTENSIONS): br_netfilter's is at
 * offset[SKB_EXT_BRIDGE_NF] * 8 bytes from the start. */
struct skb_ext___fp {
    __u8 offset[1]; /* really [SKB_EXT_NUM]; indexed by a CO-RE enum value */
} __attribute__((preserve_access_index));

enum skb_ext_id___fp {
    SKB_EXT_BRIDGE_NF___fp = 0, /* relocated with bpf_core_enum_value() */
};

struct net_device___fp {
    int ifindex;
} __attribute__((preserve_access_index));

/* The bridge port a packet came in through: an ifindex since Linux 6.8, a
 * device pointer before. */
struct nf_bridge_info___fp {
    int physinif;
    struct net_device___fp *physindev;
} __attribute__((preserve_access_index));

struct nf_conn___fp {
    __u32 mark;
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* Load-time settings (tuning/tc.c). */
const volatile __u32 mark_mask = 0x00ff0000;
const volatile __u32 mark_shift = 16;
const volatile __u32 slots = 16;
/* vmlinux's BTF id of struct nf_conn; 0 when conntrack's types are in a
 * module's BTF (bpf_rdonly_cast() takes vmlinux types only). */
const volatile __u32 nf_conn_btf_id = 0;

/* Written by user space (mmap): entries in fp_tc_vms, 0 skips the lookup. */
volatile __u32 vms_demoted;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FP_TC_VMS_MAX);
    __type(key, __u32);   /* ifindex the packet entered the host through */
    __type(value, __u32); /* slot */
} fp_tc_vms SEC(".maps");

static __always_inline __u32 fp_ct_mark(unsigned long nfct)
{
    __u32 mark = 0;

    if (nf_conn_btf_id) {
        const struct nf_conn___fp *ct = bpf_rdonly_cast((void *)nfct, nf_conn_btf_id);

        mark = ct->mark;
    } else {
        const struct nf_conn___fp *ct = (const void *)nfct;

        bpf_probe_read_kernel(&mark, sizeof(mark), &ct->mark);
    }
    return mark;
}

/*
 * The bridge port through which a packet entered the host, when it came
 * through a bridge with br_netfilter (0 otherwise).  A VM on a bridge the
 * host routes from (libvirt's NAT network) sends packets whose ingress
 * device, by the time they leave through the uplink, is the bridge, not
 * its tap; br_netfilter's record of the port stays with the packet.  Where
 * the kernel has no bridge netfilter or no skb extensions, the CO-RE
 * checks drop this at load time.
 */
static __always_inline __u32 fp_bridge_port(const struct sk_buff___fp *skb)
{
    struct skb_ext___fp *ext;
    __u8 active = 0, off = 0;
    int id;

    if (!bpf_core_field_exists(skb->extensions) ||
        !bpf_core_enum_value_exists(enum skb_ext_id___fp, SKB_EXT_BRIDGE_NF___fp))
        return 0;
    id = bpf_core_enum_value(enum skb_ext_id___fp, SKB_EXT_BRIDGE_NF___fp);
    if (id < 0 || id > 7)
        return 0;
    active = skb->active_extensions;
    if (!(active & (1U << id)))
        return 0;
    ext = skb->extensions;
    if (!ext || bpf_probe_read_kernel(&off, sizeof(off),
                                      (const __u8 *)ext + bpf_core_field_offset(ext->offset) + id))
        return 0;
    {
        const struct nf_bridge_info___fp *nb = (const void *)((const char *)ext + off * 8);

        if (bpf_core_field_exists(nb->physinif)) {
            int ifindex = 0;

            bpf_probe_read_kernel(&ifindex, sizeof(ifindex), &nb->physinif);
            return ifindex > 0 ? (__u32)ifindex : 0;
        }
        if (bpf_core_field_exists(nb->physindev)) {
            struct net_device___fp *dev = NULL;
            int ifindex = 0;

            bpf_probe_read_kernel(&dev, sizeof(dev), &nb->physindev);
            if (dev)
                bpf_probe_read_kernel(&ifindex, sizeof(ifindex), &dev->ifindex);
            return ifindex > 0 ? (__u32)ifindex : 0;
        }
    }
    return 0;
}

SEC("tc")
int fp_tc_classify(struct __sk_buff *ctx)
{
    const struct sk_buff___fp *skb = bpf_cast_to_kern_ctx(ctx);
    unsigned long nfct = skb->_nfct & NFCT_PTRMASK;
    __u32 slot = 0;

    if (nfct)
        slot = (fp_ct_mark(nfct) & mark_mask) >> mark_shift;
    if (!slot && vms_demoted) {
        __u32 iif = ctx->ingress_ifindex;
        const __u32 *s = bpf_map_lookup_elem(&fp_tc_vms, &iif);

        if (!s) {
            iif = fp_bridge_port(skb);
            if (iif)
                s = bpf_map_lookup_elem(&fp_tc_vms, &iif);
        }
        if (s)
            slot = *s;
    }
    if (!slot || slot > slots)
        return TC_ACT_UNSPEC; /* the next filter, none: HTB's default, the normal band */
    /* A minor only: the major is the filter's classid (tuning/tc.c). */
    ctx->tc_classid = FP_TC_MINOR_SLOT + slot;
    return TC_ACT_OK;
}
