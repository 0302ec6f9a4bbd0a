/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The BPF fentry backend, for kernels without BPF netfilter programs
 * (Linux 5.5 to 6.3, with BTF): bpf/fp_sense_fentry.bpf.c on conntrack's
 * confirm hook functions, the ones conntrack runs last at LOCAL_IN and
 * POST_ROUTING.  It records what the netfilter backend records, through the
 * same maps (sense-bpf.c reads them); only the way in differs.
 *
 * Which functions: the kernel's BTF says.  nf_confirm() when it takes a
 * hook's arguments (priv, skb, state), as it does since it serves both
 * families; else ipv4_confirm() and ipv6_confirm(), which take them on
 * older kernels (where nf_confirm() is a helper taking (skb, protoff, ct,
 * ctinfo), which the program cannot read as a hook).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fp-error.h"
#include "sense-bpf.h"
#include "fp_sense_fentry.skel.h"
#include "fp-cleanup.h"

typedef struct {
    FpSenseBpf bpf; /* first: the fp_sense_bpf_* ops take this state */
    struct fp_sense_fentry *skel;
    struct bpf_link *links[FP_SENSE_BPF_PROGS_MAX];
    const char *targets[FP_SENSE_BPF_PROGS_MAX]; /* static strings; NULL: none */
} FpSenseBpfFentry;

/* Whether BTF type @id, followed through modifiers and typedefs, is a
 * pointer to struct @name. */
static gboolean is_ptr_to_struct(const struct btf *btf, __u32 id, const char *name)
{
    const struct btf_type *t = btf__type_by_id(btf, id);

    if (!t || !btf_is_ptr(t))
        return FALSE;
    t = btf__type_by_id(btf, t->type);
    while (t && (btf_is_mod(t) || btf_is_typedef(t)))
        t = btf__type_by_id(btf, t->type);
    return t && btf_is_struct(t) && g_strcmp0(btf__name_by_offset(btf, t->name_off), name) == 0;
}

/* Whether @btf has a function @name taking a netfilter hook's arguments,
 * (void *priv, struct sk_buff *skb, const struct nf_hook_state *state). */
static gboolean is_hook_function(const struct btf *btf, const char *name)
{
    int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
    const struct btf_type *proto;
    const struct btf_param *params;

    if (id < 0)
        return FALSE;
    proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
    if (!proto || !btf_is_func_proto(proto) || btf_vlen(proto) != 3)
        return FALSE;
    params = btf_params(proto);
    return is_ptr_to_struct(btf, params[1].type, "sk_buff") &&
           is_ptr_to_struct(btf, params[2].type, "nf_hook_state");
}

/* The functions to trace on this kernel (see the top of this file), into
 * @targets.  FALSE with the reason when there are none. */
static gboolean find_targets(const char *targets[FP_SENSE_BPF_PROGS_MAX], GError **error)
{
    g_autoptr(FpBtf) vmlinux = btf__load_vmlinux_btf();
    g_autoptr(FpBtf) module = NULL;
    const struct btf *btf;

    if (!vmlinux) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "no kernel BTF (/sys/kernel/btf/vmlinux): %s", g_strerror(errno));
        return FALSE;
    }
    /* Conntrack built as a module: its functions are in its own BTF, which
     * extends vmlinux's (lookups there see both). */
    module = btf__load_module_btf("nf_conntrack", vmlinux);
    btf = module ? module : vmlinux;
    memset(targets, 0, sizeof(*targets) * FP_SENSE_BPF_PROGS_MAX);
    if (is_hook_function(btf, "nf_confirm")) {
        targets[0] = "nf_confirm";
        return TRUE;
    }
    if (is_hook_function(btf, "ipv4_confirm")) {
        targets[0] = "ipv4_confirm";
        /* Absent in a kernel without IPv6 conntrack: IPv4 alone then. */
        if (is_hook_function(btf, "ipv6_confirm"))
            targets[1] = "ipv6_confirm";
        return TRUE;
    }
    g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                "no conntrack confirm function with a hook's arguments in the kernel's BTF "
                "(nf_confirm, ipv4_confirm)");
    return FALSE;
}

static void stop(gpointer state);

static gboolean start(gpointer state, FpSense *sense, const FpConfig *c, GError **error)
{
    FpSenseBpfFentry *self = state;
    g_autoptr(FpSenseFentrySkel) skel = NULL;
    struct bpf_program *progs[FP_SENSE_BPF_PROGS_MAX];
    FpSenseBpfParams params;
    struct stat ns;
    int err;

    if (!fp_sense_bpf_begin(&self->bpf, sense, c, error) || !find_targets(self->targets, error))
        return FALSE;
    skel = fp_sense_fentry__open();
    if (!skel) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "cannot open BPF object: %s",
                    g_strerror(errno));
        return FALSE;
    }
    fp_sense_bpf_params(c, self->bpf.n_cpus, &params);
    skel->rodata->cp_shift = params.cp_shift;
    skel->rodata->cp_needed = params.cp_needed;
    skel->rodata->window_ns = params.window_ns;
    if (stat("/proc/self/ns/net", &ns) != 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot read /proc/self/ns/net: %s",
                    g_strerror(errno));
        return FALSE;
    }
    skel->rodata->netns_ino = (__u32)ns.st_ino;
    fp_sense_bpf_size_maps(c, self->bpf.n_cpus, &params, skel->maps.fp_cpu, skel->maps.fp_flows,
                           skel->maps.fp_events, skel->maps.fp_newlog);
    progs[0] = skel->progs.fp_ct_confirm;
    progs[1] = skel->progs.fp_ct_confirm6;
    G_STATIC_ASSERT(FP_SENSE_BPF_PROGS_MAX == 2);
    for (guint i = 0; i < FP_SENSE_BPF_PROGS_MAX; i++) {
        if (!self->targets[i]) {
            bpf_program__set_autoload(progs[i], false);
            continue;
        }
        err = bpf_program__set_attach_target(progs[i], 0, self->targets[i]);
        if (err) {
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "cannot trace %s: %s",
                        self->targets[i], g_strerror(-err));
            return FALSE;
        }
        if (!fp_sense_bpf_patch_prog(progs[i], &params, error))
            return FALSE;
    }
    err = fp_sense_fentry__load(skel);
    if (err) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "kernel refused the fentry program on %s (needs Linux >= 5.5 with BTF, "
                    "trampolines allowed): %s",
                    self->targets[0], g_strerror(-err));
        return FALSE;
    }
    for (guint i = 0; i < FP_SENSE_BPF_PROGS_MAX && self->targets[i]; i++) {
        self->links[i] = bpf_program__attach_trace(progs[i]);
        if (!self->links[i]) {
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                        "kernel refused to attach the fentry program to %s: %s", self->targets[i],
                        g_strerror(errno));
            for (guint j = 0; j < i; j++)
                g_clear_pointer(&self->links[j], bpf_link__destroy);
            return FALSE;
        }
        self->bpf.progs[i] = progs[i];
    }
    self->skel = g_steal_pointer(&skel);
    FP_SENSE_BPF_TAKE_MAPS(&self->bpf, self->skel);
    if (!fp_sense_bpf_start_readers(&self->bpf, &params, error)) {
        stop(self);
        return FALSE;
    }
    return TRUE;
}

static void stop(gpointer state)
{
    FpSenseBpfFentry *self = state;

    fp_sense_bpf_stop_readers(&self->bpf);
    for (guint i = 0; i < FP_SENSE_BPF_PROGS_MAX; i++)
        g_clear_pointer(&self->links[i], bpf_link__destroy);
    g_clear_pointer(&self->skel, fp_sense_fentry__destroy);
}

/* "ipv4_confirm and ipv6_confirm", or the one function. */
static char *targets_text(const FpSenseBpfFentry *self)
{
    return self->targets[1] ? g_strdup_printf("%s and %s", self->targets[0], self->targets[1])
                            : g_strdup(self->targets[0]);
}

static gboolean probe(const FpConfig *config, GString *report)
{
    FpSenseBpfFentry trial = {0};
    g_autoptr(GError) error = NULL;
    gboolean ok;

    fp_sense_bpf_init_libbpf();
    ok = start(&trial, NULL, config, &error);
    g_string_append_printf(report,
                           "BPF fentry on conntrack's confirm functions (Linux >= 5.5): %s%s\n",
                           ok ? "yes" : "no: ", ok ? "" : error->message);
    if (ok) {
        g_autofree char *targets = targets_text(&trial);

        g_string_append_printf(report, "fentry functions: %s\n", targets);
        stop(&trial);
    }
    return ok;
}

static char *describe(gpointer state)
{
    FpSenseBpfFentry *self = state;
    g_autofree char *targets = targets_text(self);

    return g_strdup_printf(
        "BPF fentry programs on %s (conntrack's LOCAL_IN and POST_ROUTING "
        "confirm hooks, IPv4%s)",
        targets, self->targets[1] || !strcmp(self->targets[0], "nf_confirm") ? ", IPv6" : " only");
}

const FpSenseBackend fp_sense_backend_bpf_fentry = {
    .id = FP_BACKEND_BPF_FENTRY,
    .state_size = sizeof(FpSenseBpfFentry),
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
    .fill_stats = fp_sense_bpf_fill_stats,
    .read_devices = fp_sense_bpf_read_devices,
};
