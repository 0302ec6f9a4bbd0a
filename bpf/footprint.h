/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * The one layout shared by the BPF programs (fp_sense.bpf.c) and user space
 * (src/sense-bpf-netfilter.c).  Fixed-width fields, explicit padding; the
 * loader asserts the sizes.  Nothing else redefines these structs.
 */
#ifndef FOOTPRINT_BPF_H
#define FOOTPRINT_BPF_H

#include <linux/types.h>

/* Defaults; the real sizes come from the config at load time. */
#define FP_FLOWS_MAX_DEFAULT 65536
#define FP_EVENTS_BYTES_DEFAULT (256 * 1024)
#define FP_CPUS_MAX_DEFAULT 1      /* fp_cpu: one entry per possible CPU */
#define FP_NEWLOG_SHIFT_DEFAULT 12 /* fp_newlog: 2^shift records per CPU */

/* Checkpoint ring: a flow has a checkpoint every 2^cp_shift bytes, with
 * 2^cp_shift >= threshold / 8, so 8 slots hold the threshold's worth. */
#define FP_CP_SLOTS 8

/* Flows a CPU remembers so that it stops sampling them (elephants) or
 * samples them without a flow table lookup until their next checkpoint. */
#define FP_SKIP_SLOTS 4
#define FP_SKIP_ELEPHANT (~0ULL)

/*
 * Settings the hook needs on every packet or new flow are instructions'
 * immediates, not .rodata loads (one more cache miss each): the program
 * loads these markers and the loader patches the values in before load.
 */
#define FP_IMM_SAMPLE_DROP 0x5fa15a3b1e000001ULL  /* 64 - sample_shift */
#define FP_IMM_NEWLOG_SHIFT 0x5fa15a3b1e000002ULL /* log2 of fp_newlog's records per CPU */

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
    __u8 family;               /* AF_INET or AF_INET6 */
    __u8 proto;                /* IPPROTO_* */
} __attribute__((aligned(8))); /* copied in 8-byte words */

#define FP_FLOW_F_ELEPHANT (1u << 0)
#define FP_FLOW_F_DEVS_ORIG (1u << 1)  /* devices seen on an original-direction packet */
#define FP_FLOW_F_DEVS_REPLY (1u << 2) /* devices seen on a reply packet */

/*
 * Per-flow state the kernel keeps for sampled flows (fp_flows).  Byte and
 * packet counters are *not* here: conntrack already counts them
 * (nf_conntrack_acct) and user space reads them from conntrack; counting
 * twice would double the per-packet cost.
 */
struct fp_flow {
    __u64 first_seen_ns;  /* CLOCK_MONOTONIC: when the kernel first sampled it */
    __u64 cp_last_ns;     /* time of the newest sample */
    __u64 elephant_ns;    /* when the threshold was crossed, 0 if never */
    __u64 cp_last_bytes;  /* conntrack's byte count (both directions) then */
    __u32 in_ifindex[2];  /* per direction: device the packets came in on */
    __u32 out_ifindex[2]; /* per direction: device they leave through (0: host) */
    __u32 cp_first;       /* checkpoint index when tracking started */
    __u32 cp_last;        /* newest checkpoint index written */
    __u32 flags;          /* FP_FLOW_F_* */
    __u32 _pad;
    __u64 ct;                 /* conntrack entry (address): tells a reused tuple apart */
    __u64 cp_ns[FP_CP_SLOTS]; /* ring: when each checkpoint index was passed */
};

/*
 * A new flow, as the kernel saw its first packet: one record in fp_newlog,
 * a per-CPU log (2^newlog_shift records per CPU, oldest overwritten) that
 * user space reads through mmap.  `seq` is the record's number in its
 * CPU's log plus one, written last; 0 while the record is being written.
 */
struct fp_new_flow {
    struct fp_flow_key key;
    __u64 first_seen_ns; /* CLOCK_MONOTONIC, to a tick */
    __u32 in_ifindex;    /* original direction: device it came in on */
    __u32 out_ifindex;   /* and the one it leaves through (0: host) */
    __u64 seq;
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

/* Devices fp_devstats counts (a hypervisor has a few per VM). */
#define FP_DEVSTATS_MAX 4096

/* A device's side of a packet or flow. */
enum fp_dev_side {
    FP_DEV_IN = 0,  /* came in on the device (from a VM's tap: the VM sent it) */
    FP_DEV_OUT = 1, /* left through the device (through a VM's tap: the VM receives it) */
};

/*
 * Per-device counters (fp_devstats, a per-CPU hash keyed by ifindex; see
 * fp_devstats.bpf.h), indexed by enum fp_dev_side.  User space sums the
 * CPUs.
 */
struct fp_devstats {
    __u64 births[2];    /* flows whose first packet came in on / left through it */
    __u64 samples[2];   /* sampled packets */
    __u64 bytes_est[2]; /* bytes, estimated from the samples (2^sample_shift each) */
};

/* Counters the program keeps per CPU (no cache line bounces between CPUs);
 * user space sums them. */
struct fp_stats {
    __u64 flows_table_full;  /* inserts refused: fp_flows full (never silent) */
    __u64 events;            /* ring-buffer records submitted */
    __u64 events_dropped;    /* ring buffer full */
    __u64 checkpoints;       /* samples that moved a flow to a new checkpoint */
    __u64 untracked_packets; /* passed the hook without a conntrack entry */
    __u64 samples;           /* sampled packets */
    __u64 samples_skipped;   /* sampled packets of flows already known as elephants */
    __u64 read_errors;       /* conntrack entries the program could not read (never silent) */
    __u64 devstats_full;     /* device counts lost: fp_devstats full (never silent) */
};

/*
 * fp_cpu, an ARRAY with one entry per possible CPU indexed by the CPU
 * number, written on the rare paths only (new flows, samples): the
 * per-packet path touches none of it.  BPF_F_MMAPABLE for its layout: an
 * mmapable array's values start on a page, so each entry is whole 64-byte
 * lines and no line is shared between CPUs (a plain array's values start
 * 8-byte aligned after its header, 0x138 bytes into it on 6.18).
 */
struct fp_cpu {
    __u64 newlog_head;   /* records this CPU wrote to fp_newlog: its new flows */
    __u64 clock_jiffies; /* jiffies when clock_ns was read */
    __u64 clock_ns;      /* bpf_ktime_get_ns() then: new flows' time, per jiffy */
    __u64 _pad[5];
    struct {
        __u64 ct;         /* conntrack entry (address) of a sampled flow */
        __u64 gen;        /* skip_gen when it was noted: stale after the next sweep */
        __u64 next_total; /* its byte count at its next checkpoint; FP_SKIP_ELEPHANT */
    } skip[FP_SKIP_SLOTS];
    struct fp_stats stats;
} __attribute__((aligned(64)));

#endif /* FOOTPRINT_BPF_H */
