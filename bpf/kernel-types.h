/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * The few kernel types fp_sense.bpf.c reads, declared by hand instead of a
 * 100k-line vmlinux.h.  preserve_access_index makes every field access a
 * CO-RE relocation: only the names must match the running kernel, offsets
 * are fixed up at load time.
 */
#ifndef FP_KERNEL_TYPES_H
#define FP_KERNEL_TYPES_H

#include <linux/types.h>

#define __fp_core __attribute__((preserve_access_index))

struct net_device {
    int ifindex;
} __fp_core;

struct ns_common {
    unsigned int inum;
} __fp_core;

struct net {
    struct ns_common ns;
} __fp_core;

struct nf_hook_state {
    __u8 hook;
    __u8 pf;
    struct net_device *in;
    struct net_device *out;
    struct net *net;
} __fp_core;

struct sk_buff {
    unsigned int len;
    int skb_iif;
    unsigned long _nfct;
    unsigned char *data;
} __fp_core;

/* Context of BPF_PROG_TYPE_NETFILTER programs (include/linux/filter.h). */
struct bpf_nf_ctx {
    const struct nf_hook_state *state;
    struct sk_buff *skb;
};

union nf_inet_addr {
    __u32 all[4];
    __be32 ip;
    __be32 ip6[4];
} __fp_core;

union nf_conntrack_man_proto {
    __be16 all;
    struct {
        __be16 id;
    } icmp;
} __fp_core;

struct nf_conntrack_man {
    union nf_inet_addr u3;
    union nf_conntrack_man_proto u;
    __u16 l3num;
} __fp_core;

struct nf_conntrack_tuple {
    struct nf_conntrack_man src;
    struct {
        union nf_inet_addr u3;
        union {
            __be16 all;
            struct {
                __u8 type, code;
            } icmp;
        } u;
        __u8 protonum;
        __u8 dir;
    } dst;
} __fp_core;

struct nf_conntrack_tuple_hash {
    struct nf_conntrack_tuple tuple;
} __fp_core;

struct nf_conntrack_zone {
    __u16 id;
} __fp_core;

struct nf_ct_ext {
    __u8 offset[1]; /* really [NF_CT_EXT_NUM]; indexed by a CO-RE enum value */
    char data[];    /* the extensions, the first at this offset */
} __fp_core;

struct nf_conn {
    struct nf_conntrack_zone zone;
    struct nf_conntrack_tuple_hash tuplehash[2];
    unsigned long status;
    struct nf_ct_ext *ext;
} __fp_core;

typedef struct {
    __s64 counter;
} fp_atomic64_t;

struct nf_conn_counter {
    fp_atomic64_t packets;
    fp_atomic64_t bytes;
} __fp_core;

struct nf_conn_acct {
    struct nf_conn_counter counter[2];
} __fp_core;

enum nf_ct_ext_id {
    NF_CT_EXT_ACCT = 3, /* relocated with bpf_core_enum_value() */
};

#endif /* FP_KERNEL_TYPES_H */
