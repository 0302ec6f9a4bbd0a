/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmark baseline: links the empty netfilter program (bpf/fp_empty.bpf.c)
 * at the hooks fp_nf_hook uses, prints its program id, and holds it until
 * SIGTERM/SIGINT.  Its run time under bpf_stats is the denominator of the
 * hook-cost ratio.
 *
 * fp-empty-hook [PRIORITY [SPACERS]]: SPACERS (0..64) unattached copies
 * loaded first move the measured one through the JIT's code pages (64-byte
 * steps): its run time depends on where its code lands, by up to ~15 % here, and
 * the benchmark takes the median over placements instead of one placement's
 * luck.
 *
 * fp-empty-hook fentry FUNCTION: the fentry baseline instead (fp_ct_empty
 * traced on FUNCTION, the function the fentry backend traces).  It prints
 * its program id, and at SIGTERM/SIGINT its "run_time_ns run_cnt" under
 * bpf_stats, for where bpftool is not at hand (the TCG guests of
 * tests/integration/sense-distro-kernels.sh).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpf-netfilter.h"
#include "fp_empty.skel.h"
#include "fp-cleanup.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = 1;
}

/* Opens and loads one copy of the empty program as a netfilter program
 * into *out.  0, or the exit status: 1 when it cannot be opened, 77 when
 * the kernel refuses it (the reason printed). */
static int load_empty(struct fp_empty **out)
{
    struct fp_empty *skel = fp_empty__open();

    if (!skel) {
        perror("fp_empty__open");
        return 1;
    }
    bpf_program__set_autoload(skel->progs.fp_ct_empty, false);
    fp_bpf_netfilter_prepare(skel->progs.fp_nf_empty);
    if (fp_empty__load(skel)) {
        perror("fp_empty__load");
        fp_empty__destroy(skel);
        return 77;
    }
    *out = skel;
    return 0;
}

/* The fentry baseline on @function, until SIGTERM/SIGINT; then its run
 * time and count.  Exit status as load_empty()'s. */
static int fentry_main(const char *function)
{
    g_autoptr(FpEmptySkel) skel = fp_empty__open();
    struct bpf_prog_info info = {0};
    __u32 len = sizeof(info);
    struct bpf_link *link;
    int fd;

    if (!skel) {
        perror("fp_empty__open");
        return 1;
    }
    bpf_program__set_autoload(skel->progs.fp_nf_empty, false);
    if (bpf_program__set_attach_target(skel->progs.fp_ct_empty, 0, function) ||
        fp_empty__load(skel)) {
        perror("fp_empty__load (fentry)");
        return 77;
    }
    link = bpf_program__attach_trace(skel->progs.fp_ct_empty);
    if (!link) {
        perror("bpf_program__attach_trace");
        return 77;
    }
    fd = bpf_program__fd(skel->progs.fp_ct_empty);
    bpf_obj_get_info_by_fd(fd, &info, &len);
    printf("%u\n", info.id);
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        pause();
    /* Zeroed again: the lengths the first call filled in, with no buffers,
     * would make the kernel refuse the call. */
    memset(&info, 0, sizeof(info));
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
        perror("bpf_obj_get_info_by_fd");
        return 1;
    }
    printf("%llu %llu\n", (unsigned long long)info.run_time_ns, (unsigned long long)info.run_cnt);
    bpf_link__destroy(link);
    return 0;
}

int main(int argc, char **argv)
{
    g_autoptr(FpEmptySkel) skel = NULL;
    g_autoptr(GError) error = NULL;
    struct bpf_prog_info info = {0};
    __u32 len = sizeof(info);
    int fds[FP_BPF_NETFILTER_N_LINKS], prio, rc;
    gint64 first = 400, n_spacers = 0;
    g_autoptr(GPtrArray) spacers =
        g_ptr_array_new_with_free_func((GDestroyNotify)fp_empty__destroy);

    if (argc == 3 && g_str_equal(argv[1], "fentry"))
        return fentry_main(argv[2]);
    if (argc > 1 && !g_ascii_string_to_signed(argv[1], 10, 1, 10000, &first, &error)) {
        fprintf(stderr, "priority: %s\n", error->message);
        return 2;
    }
    if (argc > 2 && !g_ascii_string_to_signed(argv[2], 10, 0, 64, &n_spacers, &error)) {
        fprintf(stderr, "spacers: %s\n", error->message);
        return 2;
    }
    for (gint64 i = 0; i < n_spacers; i++) {
        struct fp_empty *spacer;

        if ((rc = load_empty(&spacer)) != 0)
            return rc;
        g_ptr_array_add(spacers, spacer);
    }
    if ((rc = load_empty(&skel)) != 0)
        return rc;
    if (!fp_bpf_netfilter_attach_all(bpf_program__fd(skel->progs.fp_nf_empty), (int)first, fds,
                                     &prio, &error)) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.fp_nf_empty), &info, &len);
    printf("%u %d\n", info.id, prio);
    fflush(stdout);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        pause();
    fp_bpf_netfilter_detach_all(fds);
    return 0;
}
