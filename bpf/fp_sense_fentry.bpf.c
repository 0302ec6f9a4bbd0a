// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/*
 * footprintd's eyes on kernels without BPF netfilter programs (Linux 5.5 to
 * 6.3, with BTF): the same per-packet path as fp_sense.bpf.c (shared in
 * fp_sense_common.bpf.h), entered through an fentry trampoline on
 * conntrack's own confirm hook function instead of a netfilter hook of
 * ours.
 *
 * Why the confirm function: conntrack registers it at LOCAL_IN and
 * POST_ROUTING (IPv4 and IPv6), the very hooks fp_sense.bpf.c links at,
 * and runs it last there (priority NF_IP_PRI_CONNTRACK_CONFIRM), so every
 * conntracked packet enters it exactly once, after NAT, with its entry in
 * skb->_nfct, the hook's state->in/out, and, on a new flow's first packet,
 * the entry not confirmed yet (fentry runs before the function's body).
 * Its arguments are a netfilter hook's, (priv, skb, state), on every kernel
 * this backend is for:
 *  - up to 6.1 at least (seen: Debian's 6.1): ipv4_confirm() and
 *    ipv6_confirm(), static functions of nf_conntrack_proto.c, reached
 *    through the hook table, so never inlined and present in BTF;
 *  - later (seen: 6.12, 6.18): one nf_confirm() for both families (it
 *    took (skb, protoff, ct, ctinfo) before, which the loader tells apart
 *    by its BTF prototype).
 * The loader picks the functions (sense-bpf-fentry.c) and points
 * fp_ct_confirm (and, for the older pair, fp_ct_confirm6) at them.
 * Functions considered and left: nf_conntrack_in() runs at PRE_ROUTING and
 * LOCAL_OUT, before routing has chosen the output device;
 * __nf_conntrack_confirm() sees a flow's first packet only;
 * nf_ct_refresh_acct() is not called for every packet (ICMP errors, some
 * protocols) and has no device.
 */
#include <linux/bpf.h>

#include "kernel-types.h"

/* An fentry program's context: the traced function's arguments, one u64
 * each, here (void *priv, struct sk_buff *skb, const struct nf_hook_state
 * *state).  The verifier types skb and state from the function's BTF. */
struct fp_confirm_args {
    __u64 priv;
    struct sk_buff *skb;
    const struct nf_hook_state *state;
};

/* What fp_sense_common.bpf.h reads of the hook's context. */
typedef struct fp_confirm_args fp_hook_ctx;

#include "fp_sense_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The agent's network namespace (its inode number), set by the loader.  A
 * netfilter program is linked in one namespace; a traced function runs in
 * all of them, and conntrack entries of other namespaces (containers) are
 * none of ours: user space asks its own namespace's conntrack about them. */
const volatile __u32 netns_ino = 0;

static __always_inline int fp_our_netns(const fp_hook_ctx *ctx)
{
    return ctx->state->net->ns.inum == netns_ino;
}

SEC("fentry/nf_confirm") /* the target is set by the loader */
int fp_ct_confirm(struct fp_confirm_args *ctx)
{
    if (fp_our_netns(ctx))
        fp_packet(ctx);
    return 0;
}

/* The same for ipv6_confirm() where the families have a function each.
 * A program of its own: the loader patches each program's immediates. */
SEC("fentry/ipv6_confirm")
int fp_ct_confirm6(struct fp_confirm_args *ctx)
{
    if (fp_our_netns(ctx))
        fp_packet(ctx);
    return 0;
}
