/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * Per-device accounting, shared by footprintd's BPF programs: whichever
 * program sees a flow start or a packet sampled calls these, so that every
 * backend fills the same map (fp_devstats) the same way and user space
 * reads one layout (struct fp_devstats, footprint.h).
 *
 * Why per device: a footprint needs per-VM flow births and bytes, not a
 * copy of every conntrack entry.  A VM's devices are its taps, so counters
 * kept per device (ifindex) are per-VM counters that cost the same with
 * ten flows or a million.  Nothing here runs per packet:
 *
 *  - births: once per flow, on the path that already logs new flows;
 *  - bytes: once per *sampled* packet.  A packet is sampled with
 *    probability len / 2^sample_shift, so adding 2^sample_shift per sample
 *    is an unbiased estimate of the bytes that passed (the device's own
 *    counters are the exact figure; this one is split by direction of the
 *    flow and costs nothing on the packets that are not sampled).
 *
 * Include after the helpers and footprint.h.  Each program object that
 * includes it gets its own fp_devstats map; user space sums what it reads.
 */
#ifndef FP_DEVSTATS_BPF_H
#define FP_DEVSTATS_BPF_H

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH); /* no cache line shared between CPUs */
    __uint(max_entries, FP_DEVSTATS_MAX);
    __type(key, __u32); /* ifindex; 0 (the host itself) is not counted */
    __type(value, struct fp_devstats);
} fp_devstats SEC(".maps");

/* This CPU's counters of device @ifindex, created zeroed on first use.
 * NULL for ifindex 0 or when the map is full. */
static __always_inline struct fp_devstats *fp_devstats_of(__u32 ifindex)
{
    struct fp_devstats *d, zero = {};

    if (!ifindex)
        return 0;
    d = bpf_map_lookup_elem(&fp_devstats, &ifindex);
    if (d)
        return d;
    /* BPF_NOEXIST: another CPU may have just created it (then we use it). */
    bpf_map_update_elem(&fp_devstats, &ifindex, &zero, BPF_NOEXIST);
    return bpf_map_lookup_elem(&fp_devstats, &ifindex);
}

/*
 * A flow started: its first packet came in on @in_ifindex and leaves
 * through @out_ifindex (0: the host).  Returns the number of devices that
 * could not be counted (the map is full), for the caller's own counter.
 */
static __always_inline int fp_devstats_birth(__u32 in_ifindex, __u32 out_ifindex)
{
    struct fp_devstats *d;
    int lost = 0;

    if ((d = fp_devstats_of(in_ifindex)))
        d->births[FP_DEV_IN]++;
    else if (in_ifindex)
        lost++;
    if ((d = fp_devstats_of(out_ifindex)))
        d->births[FP_DEV_OUT]++;
    else if (out_ifindex)
        lost++;
    return lost;
}

/*
 * A packet was sampled with probability len / 2^sample_shift (@weight =
 * 2^sample_shift): it stands for @weight bytes, in on @in_ifindex and out
 * through @out_ifindex.  Returns the devices that could not be counted.
 */
static __always_inline int fp_devstats_sample(__u32 in_ifindex, __u32 out_ifindex, __u64 weight)
{
    struct fp_devstats *d;
    int lost = 0;

    if ((d = fp_devstats_of(in_ifindex))) {
        d->samples[FP_DEV_IN]++;
        d->bytes_est[FP_DEV_IN] += weight;
    } else if (in_ifindex) {
        lost++;
    }
    if ((d = fp_devstats_of(out_ifindex))) {
        d->samples[FP_DEV_OUT]++;
        d->bytes_est[FP_DEV_OUT] += weight;
    } else if (out_ifindex) {
        lost++;
    }
    return lost;
}

#endif /* FP_DEVSTATS_BPF_H */
