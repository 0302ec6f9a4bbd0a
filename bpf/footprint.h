/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * The one layout shared by the BPF programs (fp_sense.bpf.c) and user space
 * (src/sense.c).  Fixed-width fields, explicit padding; the loader asserts
 * the sizes.  Nothing else redefines these structs.
 */
#ifndef FOOTPRINT_BPF_H
#define FOOTPRINT_BPF_H

#include <linux/types.h>

/* Defaults; the real sizes come from the config at load time. */
#define FP_FLOWS_MAX_DEFAULT 65536
#define FP_EVENTS_BYTES_DEFAULT (256 * 1024)

/* Checkpoint ring: a flow's byte counter is sampled every 2^cp_shift bytes,
 * with 2^cp_shift >= threshold / 8, so 8 slots hold the threshold's worth. */
#define FP_CP_SLOTS 8

/* Direction index, as in conntrack. */
enum fp_dir {
    FP_DIR_ORIGINAL = 0,
    FP_DIR_REPLY = 1,
};

/* Flow identity: conntrack's original-direction tuple plus zone. */
struct fp_flow_key {
    __u8 src[16]; /* IPv4 in the first 4 bytes, rest zero */
    __u8 dst[16];
    __u16 sport; /* host byte order; ICMP: echo id */
    __u16 dport; /* host byte order; ICMP: type << 8 | code */
    __u16 zone;
    __u8 family; /* AF_INET or AF_INET6 */
    __u8 proto;  /* IPPROTO_* */
};

#define FP_FLOW_F_ELEPHANT (1u << 0)
#define FP_FLOW_F_DEVS_ORIG (1u << 1)  /* devices seen on an original-direction packet */
#define FP_FLOW_F_DEVS_REPLY (1u << 2) /* devices seen on a reply packet */

/*
 * Per-flow state the kernel keeps.  Byte and packet counters are *not* here:
 * conntrack already counts them (nf_conntrack_acct) and user space reads
 * them from conntrack; counting twice would double the per-packet cost.
 */
struct fp_flow {
    __u64 first_seen_ns;  /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
    __u64 cp_last_ns;     /* time of the newest checkpoint */
    __u64 elephant_ns;    /* when the threshold was crossed, 0 if never */
    __u32 in_ifindex[2];  /* per direction: device the packets came in on */
    __u32 out_ifindex[2]; /* per direction: device they leave through (0: host) */
    __u32 cp_first;       /* checkpoint index when tracking started */
    __u32 cp_last;        /* newest checkpoint index written */
    __u32 flags;          /* FP_FLOW_F_* */
    __u32 _pad;
    __u64 cp_ns[FP_CP_SLOTS]; /* ring: time each checkpoint index was reached */
};

enum fp_event_type {
    FP_EVENT_ELEPHANT = 1,
};

/* Ring-buffer record. */
struct fp_event {
    __u32 type; /* enum fp_event_type */
    __u32 flags;
    __u64 ts_ns; /* bpf_ktime_get_ns() at the threshold-crossing packet */
    __u64 first_seen_ns;
    __u64 bytes[2]; /* conntrack's counters at the crossing packet */
    __u64 packets[2];
    __u32 in_ifindex[2];
    __u32 out_ifindex[2];
    struct fp_flow_key key;
};

/* Counters the program keeps per CPU (fp_stats, a PERCPU_ARRAY: no shared
 * cache line bounces between CPUs); user space sums them. */
struct fp_stats {
    __u64 flows_new;        /* flows inserted into fp_flows */
    __u64 flows_table_full; /* inserts refused: fp_flows full (never silent) */
    __u64 events;           /* ring-buffer records submitted */
    __u64 events_dropped;   /* ring buffer full */
    __u64 checkpoints;
    __u64 untracked_packets; /* passed the hook without a conntrack entry */
};

#endif /* FOOTPRINT_BPF_H */
