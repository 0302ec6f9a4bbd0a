// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/*
 * The baseline for the hook-cost benchmark (tests/perf/): a netfilter
 * program that does nothing, linked at the same hooks as fp_nf_hook.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("socket") /* retyped to BPF_PROG_TYPE_NETFILTER by the loader */
int fp_nf_empty(void *ctx)
{
    return 1; /* NF_ACCEPT */
}

/* The baseline for the fentry backend (fp_sense_fentry.bpf.c): an fentry
 * program that does nothing, on the same conntrack function (set by the
 * loader, tests/perf/fp-empty-hook.c). */
SEC("fentry/nf_confirm")
int fp_ct_empty(void *ctx)
{
    return 0;
}
