/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * BPF_PROG_TYPE_NETFILTER (Linux >= 6.4) with a libbpf and UAPI headers that
 * predate it (Debian 12: libbpf 1.1.2, 6.1 headers).  The programs are
 * compiled as SEC("socket") and retyped here before load; links are created
 * with the raw bpf(BPF_LINK_CREATE) syscall.  Nothing is pinned: closing the
 * link fd (or the process dying) detaches the hook, so a crash cannot leave
 * a program behind.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

#include "bpf-netfilter.h"
#include "fp-error.h"

#define FP_BPF_PROG_TYPE_NETFILTER 32
#define FP_BPF_NETFILTER 45

/* The BPF_LINK_CREATE part of union bpf_attr with the netfilter member that
 * Linux 6.4 added after the common fields. */
struct fp_link_create_netfilter {
    __u32 prog_fd;
    __u32 target_fd;
    __u32 attach_type;
    __u32 flags;
    __u32 pf;
    __u32 hooknum;
    __s32 priority;
    __u32 nf_flags;
};

/**
 * fp_bpf_netfilter_prepare:
 * @prog: a program of an opened, not yet loaded object
 *
 * Turns @prog into a BPF netfilter program before load.
 */
void fp_bpf_netfilter_prepare(struct bpf_program *prog)
{
    bpf_program__set_type(prog, (enum bpf_prog_type)FP_BPF_PROG_TYPE_NETFILTER);
    bpf_program__set_expected_attach_type(prog, (enum bpf_attach_type)FP_BPF_NETFILTER);
}

/**
 * fp_bpf_netfilter_kernel_supports:
 *
 * Whether this kernel has the program type at all (Linux >= 6.4): loads
 * the smallest netfilter program there is ("accept").  Tells a kernel
 * without the feature from one that refuses footprintd's own program.
 *
 * Returns: 0, or -errno from the load
 */
int fp_bpf_netfilter_kernel_supports(void)
{
    const struct bpf_insn accept[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
        {.code = BPF_JMP | BPF_EXIT},
    };
    struct bpf_prog_load_opts opts = {
        .sz = sizeof(opts),
        .expected_attach_type = (enum bpf_attach_type)FP_BPF_NETFILTER,
    };
    int fd = bpf_prog_load((enum bpf_prog_type)FP_BPF_PROG_TYPE_NETFILTER, "fp_probe", "GPL",
                           accept, G_N_ELEMENTS(accept), &opts);

    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

/**
 * fp_bpf_netfilter_link:
 * @prog_fd: a loaded netfilter program
 * @pf: FP_NFPROTO_IPV4 or FP_NFPROTO_IPV6
 * @hooknum: FP_NF_INET_*
 * @priority: hook priority (conntrack is -200, NAT source is 100)
 *
 * Returns: the link fd, or -errno (-EBUSY: another BPF hook has that priority).
 */
int fp_bpf_netfilter_link(int prog_fd, guint pf, guint hooknum, int priority)
{
    union bpf_attr attr;
    struct fp_link_create_netfilter nf = {
        .prog_fd = (__u32)prog_fd,
        .attach_type = FP_BPF_NETFILTER,
        .pf = pf,
        .hooknum = hooknum,
        .priority = priority,
    };
    int fd;

    G_STATIC_ASSERT(sizeof(nf) <= sizeof(attr));
    memset(&attr, 0, sizeof(attr));
    memcpy(&attr, &nf, sizeof(nf));
    fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
    return fd < 0 ? -errno : fd;
}

/**
 * fp_bpf_netfilter_attach_all:
 * @prog_fd: a loaded netfilter program
 * @first_priority: the priority to try first
 * @link_fds: (out caller-allocates): FP_BPF_NETFILTER_N_LINKS fds
 * @out_priority: (out): the priority used
 * @error: return location for a #GError
 *
 * Links @prog_fd at LOCAL_IN and POST_ROUTING for IPv4 and IPv6, all at one
 * priority.  The kernel refuses two BPF hooks at the same hook and priority
 * (EBUSY), so a few priorities after @first_priority are tried.
 */
gboolean fp_bpf_netfilter_attach_all(int prog_fd, int first_priority, int *link_fds,
                                     int *out_priority, GError **error)
{
    static const guint hooks[FP_BPF_NETFILTER_N_LINKS][2] = {
        {FP_NFPROTO_IPV4, FP_NF_INET_LOCAL_IN},
        {FP_NFPROTO_IPV4, FP_NF_INET_POST_ROUTING},
        {FP_NFPROTO_IPV6, FP_NF_INET_LOCAL_IN},
        {FP_NFPROTO_IPV6, FP_NF_INET_POST_ROUTING},
    };
    int err = 0;

    for (int prio = first_priority; prio < first_priority + 16; prio++) {
        guint i;

        for (i = 0; i < FP_BPF_NETFILTER_N_LINKS; i++) {
            link_fds[i] = fp_bpf_netfilter_link(prog_fd, hooks[i][0], hooks[i][1], prio);
            if (link_fds[i] < 0) {
                err = link_fds[i];
                break;
            }
        }
        if (i == FP_BPF_NETFILTER_N_LINKS) {
            *out_priority = prio;
            return TRUE;
        }
        fp_bpf_netfilter_detach_all(link_fds);
        if (err != -EBUSY)
            break;
    }
    g_set_error(error, FP_ERROR,
                err == -EINVAL || err == -EOPNOTSUPP ? FP_ERROR_NOT_SUPPORTED : FP_ERROR_IO,
                "cannot link BPF netfilter program at priority %d: %s", first_priority,
                g_strerror(-err));
    return FALSE;
}

/**
 * fp_bpf_netfilter_detach_all:
 * @link_fds: FP_BPF_NETFILTER_N_LINKS fds, negative ones are skipped
 *
 * Detaches by closing the link fds; marks them -1.
 */
void fp_bpf_netfilter_detach_all(int *link_fds)
{
    for (guint i = 0; i < FP_BPF_NETFILTER_N_LINKS; i++) {
        if (link_fds[i] >= 0)
            close(link_fds[i]);
        link_fds[i] = -1;
    }
}
