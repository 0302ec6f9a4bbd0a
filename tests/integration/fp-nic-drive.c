/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fp-nic-drive: drives the CPU lever's NIC part (tuning/nic.h,
 * planner-nic.h, the "irq" and "rss" knobs, the journal) on a real NIC,
 * for tests/integration/tuning-nic-guest.sh, which runs it inside a TCG
 * guest with a multi-queue virtio-net NIC.  footprintd itself cannot run
 * the lever there: the guest has no libvirt and no VMs to make an
 * elephant set from, so this program stands in for the tuner's step: it
 * reads the NIC, plans with a given elephant set and elephant flows, and
 * applies the plan the way tuner.c's apply_cpu() does (journal entry
 * first, then the write); undo is the journal's own replay, as at
 * footprintd's start after a crash.
 *
 *   fp-nic-drive plan|apply STATE DEV ELEPHANT_CPUS [--override] FLOW...
 *   fp-nic-drive replay STATE
 *   fp-nic-drive hash DEV FLOW          (the slot and queue a flow takes now)
 *   fp-nic-drive ct-reply FLOW          (conntrack's reply tuple, as the
 *                                        tuner reads it for the NIC's hash)
 *   fp-nic-drive standin-irqbalance ARG...
 *
 * FLOW is "udp:SRC:SPORT>DST:DPORT" (or tcp), IPv4, as the NIC receives
 * it.  With FP_NIC_DRIVE_KILL_AFTER=N, apply SIGKILLs itself right after
 * its Nth write (LAST: right after the table's, the last one): a crash
 * between two changes.  standin-irqbalance names
 * itself "irqbalance" and sleeps: it stands in for irqbalance (not
 * installed in the guest), with its arguments (--banirq=N) on its command
 * line for the detection to read.  Output lines are tagged FPT-.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "affinity.h"
#include "ctmark.h"
#include "fp-config.h"
#include "journal.h"
#include "nic-irq.h"
#include "nic-rss.h"
#include "nic.h"
#include "planner-nic.h"

#define SYSFS_NET "/sys/class/net"
#define PROC "/proc"

static const FpKnob knobs[] = {
    {&fp_nic_irq_knob, (gpointer)PROC},
    {&fp_nic_rss_knob, NULL},
};

static gboolean parse_flow(const char *text, FpFlowKey *k)
{
    g_auto(GStrv) p = NULL;
    guint64 sport, dport;

    memset(k, 0, sizeof(*k));
    if (g_str_has_prefix(text, "udp:"))
        k->proto = IPPROTO_UDP;
    else if (g_str_has_prefix(text, "tcp:"))
        k->proto = IPPROTO_TCP;
    else
        return FALSE;
    p = g_regex_split_simple("[:>]", text + 4, 0, 0);
    if (g_strv_length(p) != 4 || inet_pton(AF_INET, p[0], k->src) != 1 ||
        inet_pton(AF_INET, p[2], k->dst) != 1 ||
        !g_ascii_string_to_unsigned(p[1], 10, 0, 65535, &sport, NULL) ||
        !g_ascii_string_to_unsigned(p[3], 10, 0, 65535, &dport, NULL))
        return FALSE;
    k->family = AF_INET;
    k->sport = (guint16)sport;
    k->dport = (guint16)dport;
    return TRUE;
}

static int usage(void)
{
    fprintf(stderr, "usage: fp-nic-drive plan|apply STATE DEV CPUS [--override] FLOW...\n"
                    "       fp-nic-drive replay STATE\n"
                    "       fp-nic-drive hash DEV FLOW\n"
                    "       fp-nic-drive ct-reply FLOW\n"
                    "       fp-nic-drive standin-irqbalance ARG...\n");
    return 2;
}

static int cmd_hash(const char *device, const char *text)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpNicRss) rss = fp_nic_rss_read(device, &error);
    FpFlowKey k;
    guint32 hash;

    if (!rss || !parse_flow(text, &k)) {
        fprintf(stderr, "fp-nic-drive: %s\n", error ? error->message : "bad flow");
        return 1;
    }
    if (!fp_nic_rss_hash(rss, &k, &hash)) {
        printf("FPT-HASH %s none\n", text);
        return 0;
    }
    printf("FPT-HASH %s hash=0x%08x slot=%u queue=%u\n", text, hash, hash % rss->size,
           rss->indir[hash % rss->size]);
    return 0;
}

static int cmd_ct_reply(const char *text)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpCtMark) ct = fp_ct_mark_new(0x00ff0000, &error);
    FpCtMarkEntry e = {0};
    gboolean found = FALSE;
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
    FpFlowKey k;

    if (!parse_flow(text, &k))
        return usage();
    if (!ct || !fp_ct_mark_read(ct, &k, &e, &found, &error)) {
        fprintf(stderr, "fp-nic-drive: %s\n", error->message);
        return 1;
    }
    if (!found || !e.has_reply) {
        printf("FPT-REPLY none\n");
        return 1;
    }
    inet_ntop(e.reply.family, e.reply.src, src, sizeof(src));
    inet_ntop(e.reply.family, e.reply.dst, dst, sizeof(dst));
    printf("FPT-REPLY %s:%s:%u>%s:%u\n", e.reply.proto == IPPROTO_UDP ? "udp" : "tcp", src,
           e.reply.sport, dst, e.reply.dport);
    return 0;
}

static int cmd_replay(const char *state)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpJournal) journal = fp_journal_open(state, &error);
    g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
    guint before, left;

    if (!journal) {
        fprintf(stderr, "fp-nic-drive: %s\n", error->message);
        return 1;
    }
    before = fp_journal_size(journal);
    left = fp_journal_replay(journal, knobs, G_N_ELEMENTS(knobs), NULL, errors);
    for (guint i = 0; i < errors->len; i++)
        printf("FPT-ERROR replay: %s\n", (char *)errors->pdata[i]);
    printf("FPT-REPLAY undone=%u left=%u\n", before - left, left);
    return left ? 1 : 0;
}

static int cmd_plan(gboolean apply, int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(FpJournal) journal = fp_journal_open(argv[0], &error);
    g_autoptr(FpIrqbalance) ib = fp_irqbalance_detect(PROC, "/run/irqbalance.pid");
    g_autoptr(GPtrArray) nics = g_ptr_array_new_with_free_func((GDestroyNotify)fp_nic_work_free);
    g_autoptr(GArray) flows = g_array_new(FALSE, FALSE, sizeof(FpFlowKey));
    g_autoptr(GHashTable) original = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(FpCpuPlan) plan = g_new0(FpCpuPlan, 1);
    const char *kill_after = g_getenv("FP_NIC_DRIVE_KILL_AFTER");
    guint writes = 0, limit = 0;
    guint64 n;
    FpCpuSet online;
    gint64 t0;

    if (kill_after && g_ascii_string_to_unsigned(kill_after, 10, 1, 1000, &n, NULL))
        limit = (guint)n;
    if (!journal || !fp_affinity_read_online(&online, &error)) {
        fprintf(stderr, "fp-nic-drive: %s\n", error->message);
        return 1;
    }
    plan->actions = g_ptr_array_new_with_free_func((GDestroyNotify)fp_cpu_plan_action_free);
    plan->notes = g_ptr_array_new_with_free_func(g_free);
    plan->active = TRUE;
    if (!fp_cpuset_parse_list(argv[2], &plan->elephant, &error)) {
        fprintf(stderr, "fp-nic-drive: %s\n", error->message);
        return 1;
    }
    fp_cpuset_andnot(&plan->rest, &online, &plan->elephant);
    for (int i = 3; i < argc; i++) {
        FpFlowKey k;

        if (g_str_equal(argv[i], "--override")) {
            config->tuning.irqbalance_override = TRUE;
            continue;
        }
        if (!parse_flow(argv[i], &k))
            return usage();
        g_array_append_val(flows, k);
    }
    entries = fp_journal_entries(journal);
    for (guint i = 0; i < entries->len; i++) {
        const FpJournalEntry *e = g_ptr_array_index(entries, i);

        g_hash_table_insert(original, g_strdup_printf("%s %s", e->knob, e->object), e->previous);
    }
    t0 = g_get_monotonic_time();
    if (ib)
        printf("FPT-IRQBALANCE pid=%d banned=%u policyscript=%d\n", ib->pid, ib->banned_irqs->len,
               ib->policyscript);
    g_ptr_array_add(nics, fp_nic_work_read(SYSFS_NET, PROC, argv[1], ib, TRUE, TRUE));
    fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, original, ib});
    for (guint i = 0; i < plan->notes->len; i++)
        printf("FPT-NOTE %s\n", (char *)plan->notes->pdata[i]);
    for (guint i = 0; i < plan->actions->len; i++) {
        const FpCpuPlanAction *a = g_ptr_array_index(plan->actions, i);
        const FpJournalEntry *e;
        gboolean gone = FALSE;

        printf("FPT-PLAN %s %s -> %s\n", a->knob, a->object,
               g_str_equal(a->knob, "rss") ? "(table)" : a->value);
        if (!apply || fp_cpu_plan_action_done(a))
            continue;
        /* As apply_cpu(): the journal first, then the write. */
        e = fp_journal_find(journal, a->knob, a->object);
        if (!e)
            e = fp_journal_add(journal, a->knob, a->object, a->previous, a->value, a->reason, NULL,
                               &error);
        if (!e) {
            printf("FPT-ERROR journal: %s\n", error->message);
            return 1;
        }
        if (!(g_str_equal(a->knob, "irq")
                  ? fp_nic_irq_write(PROC, a->object, a->value, &gone, &error)
                  : fp_nic_rss_write(a->object, a->value, &gone, &error))) {
            printf("FPT-ERROR %s %s: %s\n", a->knob, a->object, error->message);
            g_clear_error(&error);
            continue;
        }
        printf("FPT-ACT %s %s\n", a->knob, a->object);
        fflush(stdout);
        if ((limit && ++writes == limit) ||
            (kill_after && g_str_equal(kill_after, "LAST") && g_str_equal(a->knob, "rss"))) {
            printf("FPT-KILLED after %u writes\n", limit ? writes : i + 1);
            fflush(stdout);
            raise(SIGKILL);
        }
    }
    printf("FPT-TIME %s %" G_GINT64_FORMAT " us\n", apply ? "apply" : "plan",
           g_get_monotonic_time() - t0);
    printf("FPT-JOURNAL %u\n", fp_journal_size(journal));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && g_str_equal(argv[1], "standin-irqbalance")) {
        /* Stands in for irqbalance: its name, its arguments, asleep. */
        prctl(PR_SET_NAME, "irqbalance", 0, 0, 0);
        for (;;)
            pause();
    }
    if (argc == 3 && g_str_equal(argv[1], "replay"))
        return cmd_replay(argv[2]);
    if (argc == 3 && g_str_equal(argv[1], "ct-reply"))
        return cmd_ct_reply(argv[2]);
    if (argc == 4 && g_str_equal(argv[1], "hash"))
        return cmd_hash(argv[2], argv[3]);
    if (argc >= 5 && (g_str_equal(argv[1], "plan") || g_str_equal(argv[1], "apply")))
        return cmd_plan(g_str_equal(argv[1], "apply"), argc - 2, argv + 2);
    return usage();
}
