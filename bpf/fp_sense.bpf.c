// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/*
 * footprintd's eyes: a BPF netfilter program linked at LOCAL_IN and
 * POST_ROUTING (IPv4 and IPv6), after conntrack and NAT and before
 * conntrack confirms new entries.  Every conntracked packet passes exactly
 * one of those hooks once, with its conntrack entry in skb->_nfct.
 *
 * The per-packet path is the hot path: it reads skb->_nfct, skb->len and
 * skb->data (lines the kernel has just used) and writes nothing: no map,
 * no per-CPU state.  Bytes and packets are *not* counted here: conntrack's
 * accounting extension already counts them.  Two rarer paths do the work:
 *
 *  - New flows.  A packet whose conntrack entry is not confirmed yet is its
 *    flow's first: its tuple and devices go to this CPU's log (fp_newlog),
 *    a plain array user space reads through mmap: no lock, no helper call
 *    but the one copy of the entry, no hash insert per flow.
 *  - Elephants, by byte sampling.  Each packet is sampled with probability
 *    len / 2^sample_shift, drawn from a hash of what differs from packet to
 *    packet (fp_draw), so every flow is sampled about once per
 *    2^sample_shift of its own bytes, whatever else passes.  A sample reads
 *    conntrack's exact counters for the packet's flow and moves the flow
 *    (fp_flows) through its checkpoints, one per 2^cp_shift bytes; the
 *    flow is an elephant when its last cp_needed checkpoints were passed
 *    within the window, and one ring-buffer event says so.  A CPU
 *    remembers the flows it sampled last (fp_cpu.skip): it looks one up
 *    again only once its byte count reaches the next checkpoint, and an
 *    elephant never (until the next sweep).
 *
 * Everything else happens in user space, per sweep.
 */
#include <linux/bpf.h>

#include "kernel-types.h"

/* What fp_sense_common.bpf.h reads of the hook's context. */
typedef struct bpf_nf_ctx fp_hook_ctx;

#include "fp_sense_common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("socket") /* retyped to BPF_PROG_TYPE_NETFILTER by the loader (sense-bpf-netfilter.c) */
int fp_nf_hook(struct bpf_nf_ctx *ctx)
{
    fp_packet(ctx);
    return NF_ACCEPT;
}
