/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cpuset: a set of CPUs as the CPU-separation knobs read and write it.
 * Two text forms: the list the kernel prints in Cpus_allowed_list and
 * /sys/devices/system/cpu/online ("0-3,8"), and the hex mask of
 * /sys/class/net/DEV/queues/{rx-N/rps_cpus,tx-N/xps_cpus} ("0000000f" or,
 * beyond 32 CPUs, comma-separated 32-bit words, most significant first).
 * Pure: no I/O.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CPUs a set can hold (the kernel's NR_CPUS on distribution kernels is
 * 8192; hypervisors with more than 1024 CPUs are left for later). */
#define FP_CPUSET_MAX 1024u

/**
 * FpCpuSet:
 * @bits: one bit per CPU, CPU n is bit n % 64 of word n / 64
 */
typedef struct {
    guint64 bits[FP_CPUSET_MAX / 64];
} FpCpuSet;

void fp_cpuset_clear(FpCpuSet *set);
void fp_cpuset_add(FpCpuSet *set, guint cpu);
gboolean fp_cpuset_has(const FpCpuSet *set, guint cpu);
guint fp_cpuset_count(const FpCpuSet *set);
gboolean fp_cpuset_is_empty(const FpCpuSet *set);
gboolean fp_cpuset_equal(const FpCpuSet *a, const FpCpuSet *b);
gboolean fp_cpuset_subset(const FpCpuSet *a, const FpCpuSet *b);
void fp_cpuset_and(FpCpuSet *out, const FpCpuSet *a, const FpCpuSet *b);
void fp_cpuset_andnot(FpCpuSet *out, const FpCpuSet *a, const FpCpuSet *b);
gboolean fp_cpuset_parse_list(const char *text, FpCpuSet *set, GError **error);
char *fp_cpuset_to_list(const FpCpuSet *set);
gboolean fp_cpuset_parse_mask(const char *text, FpCpuSet *set, GError **error);
char *fp_cpuset_to_mask(const FpCpuSet *set, guint ncpus);

G_END_DECLS
