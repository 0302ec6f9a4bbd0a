/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <bpf/libbpf.h>

/* Netfilter hook numbers and protocol families, as in the kernel UAPI. */
#define FP_NF_INET_LOCAL_IN 1
#define FP_NF_INET_POST_ROUTING 4
#define FP_NFPROTO_IPV4 2
#define FP_NFPROTO_IPV6 10

void fp_bpf_netfilter_prepare(struct bpf_program *prog);
int fp_bpf_netfilter_kernel_supports(void);
int fp_bpf_netfilter_link(int prog_fd, guint pf, guint hooknum, int priority);
gboolean fp_bpf_netfilter_attach_all(int prog_fd, int first_priority, int *link_fds,
                                     int *out_priority, GError **error);
void fp_bpf_netfilter_detach_all(int *link_fds);

#define FP_BPF_NETFILTER_N_LINKS 4
