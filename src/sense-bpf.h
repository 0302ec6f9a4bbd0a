/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sense-bpf: what the BPF backends share in user space.  Their kernel
 * programs (bpf/fp_sense.bpf.c, bpf/fp_sense_fentry.bpf.c) differ only in
 * the hook they enter through and share their maps (fp_sense_common.bpf.h),
 * so the readers of those maps live here: the ring buffer of elephant
 * events, the new-flow log, the flow map merged at each sweep, and the
 * per-CPU counters.  A backend (sense-bpf-netfilter.c, sense-bpf-fentry.c)
 * opens its skeleton, sizes and configures it with the helpers below,
 * loads and attaches it its own way, then hands its maps over
 * (fp_sense_bpf_start_readers()).  Its state struct starts with an
 * FpSenseBpf, so that the fp_sense_bpf_* ops serve as its own.
 */
#pragma once

#include <bpf/libbpf.h>

#include "footprint.h"
#include "newlog.h"
#include "sense-backend.h"

G_BEGIN_DECLS

/* Programs of one backend whose run time fill_stats sums. */
#define FP_SENSE_BPF_PROGS_MAX 2

/* Settings computed from the config (fp_sense_bpf_params()): the skeleton's
 * rodata and the hook's immediates. */
typedef struct {
    guint32 cp_shift;
    guint32 cp_needed;
    guint64 window_ns;
    guint32 newlog_shift;
    guint32 sample_drop; /* 64 - the sampling shift */
} FpSenseBpfParams;

typedef struct {
    FpSense *sense; /* NULL while probing */
    guint idle_timeout_s;
    guint n_cpus;
    /* The skeleton's, set by the backend before fp_sense_bpf_start_readers() */
    struct bpf_map *cpu_map, *flows_map, *events_map, *newlog_bpf_map, *devstats_map;
    struct bpf_program *progs[FP_SENSE_BPF_PROGS_MAX]; /* NULL: not loaded */
    volatile __u64 *skip_gen;
    volatile __u64 *poll_until_ns;
    /* The readers */
    struct ring_buffer *ringbuf;
    GSource *poll_source;
    gint64 poll_until_us;
    void *newlog_map;
    gsize newlog_map_size;
    FpNewLog *newlog;
    GArray *newlog_pending;   /* struct fp_new_flow: flows not in the table yet */
    guint64 log_lost_at_dump; /* fp_newlog_lost() at the last dump */
    gboolean sweep_queried;   /* the sweep the new flows go into queries conntrack */
    guint64 flows_evicted_idle;
    gint64 last_merge_us; /* the sweep that last merged fp_flows */
} FpSenseBpf;

/* Hands a loaded skeleton's shared maps and globals (both BPF programs
 * have them: bpf/fp_sense_common.bpf.h) to @bpf's readers. */
#define FP_SENSE_BPF_TAKE_MAPS(bpf, skel)                                                          \
    do {                                                                                           \
        (bpf)->cpu_map = (skel)->maps.fp_cpu;                                                      \
        (bpf)->flows_map = (skel)->maps.fp_flows;                                                  \
        (bpf)->events_map = (skel)->maps.fp_events;                                                \
        (bpf)->newlog_bpf_map = (skel)->maps.fp_newlog;                                            \
        (bpf)->devstats_map = (skel)->maps.fp_devstats;                                            \
        (bpf)->skip_gen = &(skel)->bss->skip_gen;                                                  \
        (bpf)->poll_until_ns = &(skel)->bss->poll_until_ns;                                        \
    } while (0)

void fp_sense_bpf_init_libbpf(void);
gboolean fp_sense_bpf_begin(FpSenseBpf *self, FpSense *sense, const FpConfig *config,
                            GError **error);
void fp_sense_bpf_params(const FpConfig *config, guint n_cpus, FpSenseBpfParams *params);
void fp_sense_bpf_size_maps(const FpConfig *config, guint n_cpus, const FpSenseBpfParams *params,
                            struct bpf_map *cpu_map, struct bpf_map *flows_map,
                            struct bpf_map *events_map, struct bpf_map *newlog_map);
gboolean fp_sense_bpf_patch_prog(struct bpf_program *prog, const FpSenseBpfParams *params,
                                 GError **error);
gboolean fp_sense_bpf_start_readers(FpSenseBpf *self, const FpSenseBpfParams *params,
                                    GError **error);
void fp_sense_bpf_stop_readers(FpSenseBpf *self);

/* Ops of FpSenseBackend; @state is (starts with) an FpSenseBpf. */
int fp_sense_bpf_event_fd(gpointer state);
void fp_sense_bpf_read_events(gpointer state);
gboolean fp_sense_bpf_may_query(gpointer state);
void fp_sense_bpf_add_new_flows(gpointer state);
void fp_sense_bpf_merge(gpointer state, gboolean queried, gint64 sweep_us);
void fp_sense_bpf_forget(gpointer state, const FpFlowKey *key);
guint64 fp_sense_bpf_untracked_packets(gpointer state);
void fp_sense_bpf_fill_stats(gpointer state, FpSenseStats *stats);
void fp_sense_bpf_read_devices(gpointer state, GHashTable *devices);

G_END_DECLS
