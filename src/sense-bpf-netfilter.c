/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF netfilter backend (Linux >= 6.4): bpf/fp_sense.bpf.c linked at
 * LOCAL_IN and POST_ROUTING after conntrack.  Loads the skeleton (sizes,
 * rodata, the immediates the hook reads) and links it; reading what it
 * records is shared with the fentry backend (sense-bpf.c).
 */
#include "config.h"

#include <errno.h>
#include <bpf/libbpf.h>

#include "bpf-netfilter.h"
#include "fp-error.h"
#include "sense-bpf.h"
#include "fp_sense.skel.h"
#include "fp-cleanup.h"

typedef struct {
    FpSenseBpf bpf; /* first: the fp_sense_bpf_* ops take this state */
    int hook_priority;
    struct fp_sense *skel;
    int link_fds[FP_BPF_NETFILTER_N_LINKS];
} FpSenseBpfNetfilter;

static void stop(gpointer state);

static gboolean start(gpointer state, FpSense *sense, const FpConfig *c, GError **error)
{
    FpSenseBpfNetfilter *self = state;
    g_autoptr(FpSenseSkel) skel = NULL;
    FpSenseBpfParams params;
    int err;

    for (guint i = 0; i < FP_BPF_NETFILTER_N_LINKS; i++)
        self->link_fds[i] = -1;
    if (!fp_sense_bpf_begin(&self->bpf, sense, c, error))
        return FALSE;
    skel = fp_sense__open();
    if (!skel) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "cannot open BPF object: %s",
                    g_strerror(errno));
        return FALSE;
    }
    fp_sense_bpf_params(c, self->bpf.n_cpus, &params);
    skel->rodata->cp_shift = params.cp_shift;
    skel->rodata->cp_needed = params.cp_needed;
    skel->rodata->window_ns = params.window_ns;
    fp_sense_bpf_size_maps(c, self->bpf.n_cpus, &params, skel->maps.fp_cpu, skel->maps.fp_flows,
                           skel->maps.fp_events, skel->maps.fp_newlog);
    fp_bpf_netfilter_prepare(skel->progs.fp_nf_hook);
    if (!fp_sense_bpf_patch_prog(skel->progs.fp_nf_hook, &params, error))
        return FALSE;
    err = fp_sense__load(skel);
    if (err) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "kernel refused the BPF netfilter program (needs Linux >= 6.4 with BTF): %s",
                    g_strerror(-err));
        return FALSE;
    }
    if (!fp_bpf_netfilter_attach_all(bpf_program__fd(skel->progs.fp_nf_hook), c->hook_priority,
                                     self->link_fds, &self->hook_priority, error))
        return FALSE;
    self->skel = g_steal_pointer(&skel);
    FP_SENSE_BPF_TAKE_MAPS(&self->bpf, self->skel);
    self->bpf.progs[0] = self->skel->progs.fp_nf_hook;
    if (!fp_sense_bpf_start_readers(&self->bpf, &params, error)) {
        stop(self);
        return FALSE;
    }
    return TRUE;
}

static void stop(gpointer state)
{
    FpSenseBpfNetfilter *self = state;

    fp_sense_bpf_stop_readers(&self->bpf);
    fp_bpf_netfilter_detach_all(self->link_fds);
    g_clear_pointer(&self->skel, fp_sense__destroy);
}

static gboolean probe(const FpConfig *config, GString *report)
{
    FpSenseBpfNetfilter trial = {0};
    g_autoptr(GError) error = NULL;
    int kernel_nf;
    gboolean ok;

    fp_sense_bpf_init_libbpf();
    kernel_nf = fp_bpf_netfilter_kernel_supports();
    g_string_append_printf(
        report, "kernel BPF netfilter program type: %s%s\n",
        kernel_nf == 0 ? "yes" : "no: ", kernel_nf == 0 ? "" : g_strerror(-kernel_nf));
    ok = start(&trial, NULL, config, &error);
    g_string_append_printf(report, "BPF netfilter programs (Linux >= 6.4): %s%s\n",
                           ok ? "yes" : "no: ", ok ? "" : error->message);
    if (ok) {
        g_string_append_printf(report, "hook priority available: %d\n", trial.hook_priority);
        stop(&trial);
    }
    return ok;
}

static char *describe(gpointer state)
{
    FpSenseBpfNetfilter *self = state;

    return g_strdup_printf(
        "BPF netfilter programs at LOCAL_IN and POST_ROUTING (IPv4, IPv6), priority %d",
        self->hook_priority);
}

static void fill_stats(gpointer state, FpSenseStats *stats)
{
    FpSenseBpfNetfilter *self = state;

    fp_sense_bpf_fill_stats(&self->bpf, stats);
    stats->hook_priority = self->hook_priority;
}

const FpSenseBackend fp_sense_backend_bpf_netfilter = {
    .id = FP_BACKEND_BPF_NETFILTER,
    .state_size = sizeof(FpSenseBpfNetfilter),
    .probe = probe,
    .start = start,
    .stop = stop,
    .describe = describe,
    .event_fd = fp_sense_bpf_event_fd,
    .read_events = fp_sense_bpf_read_events,
    .may_query = fp_sense_bpf_may_query,
    .add_new_flows = fp_sense_bpf_add_new_flows,
    .merge = fp_sense_bpf_merge,
    .forget = fp_sense_bpf_forget,
    .untracked_packets = fp_sense_bpf_untracked_packets,
    .fill_stats = fill_stats,
    .read_devices = fp_sense_bpf_read_devices,
};
