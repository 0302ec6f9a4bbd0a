/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CPU lever's NIC part (tuning/planner-nic.h, nic-irq.h, nic-rss.h),
 * without root and without a NIC: the Toeplitz hash against the test
 * vectors of Microsoft's "Verifying the RSS Hash Calculation" (the key and
 * tuples the kernel's and DPDK's documentation quote), the number of
 * elephant queues, queue IRQs found in a sysfs and /proc tree built in a
 * temporary directory, irqbalance's detection from a built /proc/PID, and
 * the plan: which IRQ goes where, which slot of the table an elephant
 * takes, what is left alone and said.
 */
#include "config.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fp-config.h"
#include "fp-error.h"
#include "nic-irq.h"
#include "nic-rss.h"
#include "planner-nic.h"
#include "test-tmpdir.h"

static const guint8 ms_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                                  0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                                  0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                                  0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

static FpFlowKey flow(int family, int proto, const char *src, guint16 sport, const char *dst,
                      guint16 dport)
{
    FpFlowKey k;

    memset(&k, 0, sizeof(k));
    k.family = (guint8)family;
    k.proto = (guint8)proto;
    g_assert_cmpint(inet_pton(family, src, k.src), ==, 1);
    g_assert_cmpint(inet_pton(family, dst, k.dst), ==, 1);
    k.sport = sport;
    k.dport = dport;
    return k;
}

static FpNicRss *ms_rss(guint size, guint n_rx)
{
    g_autofree guint32 *indir = g_new(guint32, size);
    FpNicRss *r;

    for (guint i = 0; i < size; i++)
        indir[i] = i % n_rx;
    r = fp_nic_rss_new("eth9", indir, size);
    r->n_rx = n_rx;
    r->key = g_memdup2(ms_key, sizeof(ms_key));
    r->key_len = sizeof(ms_key);
    r->hfunc = FP_RSS_HASH_TOP;
    for (guint t = 0; t < FP_RSS_N_TYPES; t++)
        r->fields[t] = FP_RSS_IP_SRC | FP_RSS_IP_DST | FP_RSS_L4_0_1 | FP_RSS_L4_2_3;
    return r;
}

/* The vectors: source → destination, the hash of the addresses alone and
 * of addresses and ports. */
static const struct {
    const char *src;
    const char *dst;
    int family;
    guint32 ip, tcp;
    guint16 sport, dport;
} vectors[] = {
    {"66.9.149.187", "161.142.100.80", AF_INET, 0x323e8fc2, 0x51ccc178, 2794, 1766},
    {"199.92.111.2", "65.69.140.83", AF_INET, 0xd718262a, 0xc626b0ea, 14230, 4739},
    {"24.19.198.95", "12.22.207.184", AF_INET, 0xd2d0a5de, 0x5c2b394a, 12898, 38024},
    {"38.27.205.30", "209.142.163.6", AF_INET, 0x82989176, 0xafc7327f, 48228, 2217},
    {"153.39.163.191", "202.188.127.2", AF_INET, 0x5d1809c5, 0x10e828a2, 44251, 1303},
    {"3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", AF_INET6, 0x2cc18cd5, 0x40207d3d, 2794, 1766},
    {"3ffe:501:8::260:97ff:fe40:efab", "ff02::1", AF_INET6, 0x0f0c461c, 0xdde51bbf, 14230, 4739},
    {"3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", AF_INET6, 0x4b61e985,
     0x02d1feef, 44251, 38024},
};

static void test_toeplitz(void)
{
    g_autoptr(FpNicRss) rss = ms_rss(128, 4);

    for (guint i = 0; i < G_N_ELEMENTS(vectors); i++) {
        FpFlowKey k = flow(vectors[i].family, IPPROTO_TCP, vectors[i].src, vectors[i].sport,
                           vectors[i].dst, vectors[i].dport);
        guint32 hash = 0;

        g_test_message("vector %u: %s:%u -> %s:%u", i, vectors[i].src, vectors[i].sport,
                       vectors[i].dst, vectors[i].dport);
        rss->fields[FP_RSS_TCP4] = rss->fields[FP_RSS_TCP6] =
            FP_RSS_IP_SRC | FP_RSS_IP_DST | FP_RSS_L4_0_1 | FP_RSS_L4_2_3;
        g_assert_true(fp_nic_rss_hash(rss, &k, &hash));
        g_assert_cmphex(hash, ==, vectors[i].tcp);
        /* A NIC that hashes only the addresses for this flow type. */
        rss->fields[FP_RSS_TCP4] = rss->fields[FP_RSS_TCP6] = FP_RSS_IP_SRC | FP_RSS_IP_DST;
        g_assert_true(fp_nic_rss_hash(rss, &k, &hash));
        g_assert_cmphex(hash, ==, vectors[i].ip);
    }
}

/* What cannot be hashed is said so, not guessed. */
static void test_hash_refused(void)
{
    g_autoptr(FpNicRss) rss = ms_rss(128, 4);
    FpFlowKey k = flow(AF_INET, IPPROTO_UDP, "10.0.0.1", 1, "10.0.0.2", 2);
    FpFlowKey icmp = flow(AF_INET, IPPROTO_ICMP, "10.0.0.1", 1, "10.0.0.2", 2);
    guint32 hash;

    g_assert_true(fp_nic_rss_hash(rss, &k, &hash));
    g_assert_false(fp_nic_rss_hash(rss, &icmp, &hash));
    rss->fields[FP_RSS_UDP4] = 0; /* the driver does not say */
    g_assert_false(fp_nic_rss_hash(rss, &k, &hash));
    rss->fields[FP_RSS_UDP4] = FP_RSS_IP_SRC | FP_RSS_IP_DST;
    rss->hfunc = 2; /* xor */
    g_assert_false(fp_nic_rss_hash(rss, &k, &hash));
    rss->hfunc = FP_RSS_HASH_TOP;
    rss->key_len = 0;
    g_assert_false(fp_nic_rss_hash(rss, &k, &hash));
}

static void test_elephant_queues(void)
{
    /* n queues, elephant CPUs, online → k */
    static const guint cases[][4] = {
        {4, 1, 2, 2}, {4, 1, 4, 1}, {4, 3, 4, 3}, {8, 1, 16, 1}, {16, 3, 8, 6},
        {2, 1, 2, 1}, {2, 7, 8, 1}, {1, 1, 2, 0}, {0, 1, 2, 0},  {4, 0, 2, 1},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpuint(fp_nic_elephant_queues(cases[i][0], cases[i][1], cases[i][2]), ==,
                         cases[i][3]);
}

static void test_irq_names(void)
{
    g_assert_cmpint(fp_nic_irq_queue("virtio2-input.3"), ==, 3);
    g_assert_cmpint(fp_nic_irq_queue("virtio0-output.0"), ==, 0);
    g_assert_cmpint(fp_nic_irq_queue("eth0-TxRx-7"), ==, 7);
    g_assert_cmpint(fp_nic_irq_queue("i40e-ens1f0-TxRx-12"), ==, 12);
    g_assert_cmpint(fp_nic_irq_queue("ens3-rx-2"), ==, 2);
    g_assert_cmpint(fp_nic_irq_queue("ens3-tx-1"), ==, 1);
    g_assert_cmpint(fp_nic_irq_queue("mlx5_comp5@pci:0000:3b:00.0"), ==, 5);
    g_assert_cmpint(fp_nic_irq_queue("virtio0-config"), ==, -1);
    g_assert_cmpint(fp_nic_irq_queue("i40e-0000:3b:00.0:misc"), ==, -1);
    g_assert_cmpint(fp_nic_irq_queue("mlx5_async0@pci:0000:3b:00.0"), ==, -1);
    g_assert_cmpint(fp_nic_irq_queue("eth0"), ==, -1);
    g_assert_cmpint(fp_nic_irq_queue("ens3-rx-x"), ==, -1);
    g_assert_cmpint(fp_nic_irq_queue("nvme0q1"), ==, -1);
}

static void write_file(const char *dir, const char *name, const char *data, gsize len)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_autofree char *parent = g_path_get_dirname(path);

    g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
    g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void make_dir(const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename(dir, name, NULL);

    g_assert_cmpint(g_mkdir_with_parents(path, 0755), ==, 0);
}

/* irqbalance as /proc shows it: found by its name, its bans read from its
 * command line and environment; a policy script makes every IRQ its own. */
static void test_irqbalance(void)
{
    g_autofree char *proc = fp_test_tmpdir("nic-proc");
    /* (Split after each NUL: "\0" "31" is not the octal "\031".) */
    static const char cmdline[] = "/usr/sbin/irqbalance\0"
                                  "--foreground\0"
                                  "--banirq=30\0"
                                  "-i\0"
                                  "31\0"
                                  "-i32\0"
                                  "--banirq\0"
                                  "33";
    static const char env[] = "PATH=/bin\0IRQBALANCE_BANNED_CPULIST=3\0";
    g_autoptr(FpIrqbalance) ib = NULL, none = NULL, script = NULL;
    g_autofree char *pid_file = g_build_filename(proc, "irqbalance.pid", NULL);
    FpCpuSet a;

    write_file(proc, "7/comm", "bash\n", 5);
    none = fp_irqbalance_detect(proc, pid_file);
    g_assert_null(none);
    write_file(proc, "812/comm", "irqbalance\n", 11);
    write_file(proc, "812/cmdline", cmdline, sizeof(cmdline));
    write_file(proc, "812/environ", env, sizeof(env) - 1);
    ib = fp_irqbalance_detect(proc, pid_file);
    g_assert_nonnull(ib);
    g_assert_cmpint(ib->pid, ==, 812);
    g_assert_cmpuint(ib->banned_irqs->len, ==, 4);
    fp_cpuset_parse_list("0-1", &a, NULL);
    g_assert_true(fp_irqbalance_manages(ib, 29, &a));
    for (guint irq = 30; irq <= 33; irq++)
        g_assert_false(fp_irqbalance_manages(ib, irq, &a));
    g_assert_true(fp_irqbalance_manages(ib, 34, &a));
    /* Wholly inside its banned CPUs: not its; partly: its. */
    fp_cpuset_parse_list("3", &a, NULL);
    g_assert_false(fp_irqbalance_manages(ib, 29, &a));
    fp_cpuset_parse_list("2-3", &a, NULL);
    g_assert_true(fp_irqbalance_manages(ib, 29, &a));
    g_assert_false(fp_irqbalance_manages(NULL, 29, &a));
    /* Renamed, found by its pid file only while the pid lives. */
    fp_test_rm_rf(proc);
    g_assert_cmpint(g_mkdir_with_parents(proc, 0755), ==, 0);
    write_file(proc, "irqbalance.pid", "900\n", 4);
    g_assert_null(fp_irqbalance_detect(proc, pid_file));
    write_file(proc, "900/comm", "irqbalance-wrap\n", 16);
    write_file(proc, "900/cmdline", "irqbalance\0--policyscript=/etc/ib.sh", 36);
    script = fp_irqbalance_detect(proc, pid_file);
    g_assert_nonnull(script);
    g_assert_cmpint(script->pid, ==, 900);
    g_assert_true(script->policyscript);
    g_assert_true(fp_irqbalance_manages(script, 30, &a));
    fp_test_rm_rf(proc);
}

/* The watch walks /proc once, then only checks that the irqbalance it
 * found still runs; while none runs, it walks again after
 * FP_IRQBALANCE_WALK_INTERVAL_S and reads the pid file at every call. */
static void test_irqbalance_watch(void)
{
    g_autofree char *proc = fp_test_tmpdir("nic-proc");
    g_autofree char *pid_file = g_build_filename(proc, "irqbalance.pid", NULL);
    g_autoptr(FpIrqbalanceWatch) w = fp_irqbalance_watch_new(proc, pid_file);
    const gint64 t0 = 1000 * G_USEC_PER_SEC, walk = FP_IRQBALANCE_WALK_INTERVAL_S * G_USEC_PER_SEC;
    const FpIrqbalance *ib;

    write_file(proc, "7/comm", "bash\n", 5);
    g_assert_null(fp_irqbalance_watch_get(w, t0));
    /* Started meanwhile: not walked for before the interval... */
    write_file(proc, "812/comm", "irqbalance\n", 11);
    write_file(proc, "812/cmdline", "irqbalance\0--banirq=30", 23);
    g_assert_null(fp_irqbalance_watch_get(w, t0 + walk / 2));
    /* ...found once it has passed, its bans read. */
    ib = fp_irqbalance_watch_get(w, t0 + walk);
    g_assert_nonnull(ib);
    g_assert_cmpint(ib->pid, ==, 812);
    g_assert_cmpuint(ib->banned_irqs->len, ==, 1);
    /* Kept while it runs (its command line is not read again). */
    write_file(proc, "812/cmdline", "irqbalance", 10);
    g_assert_true(fp_irqbalance_watch_get(w, t0 + walk + 1) == ib);
    g_assert_cmpuint(ib->banned_irqs->len, ==, 1);
    /* Stopped, and started again under another pid: found at once. */
    fp_test_rm_rf(proc);
    write_file(proc, "950/comm", "irqbalance\n", 11);
    ib = fp_irqbalance_watch_get(w, t0 + walk + 2);
    g_assert_nonnull(ib);
    g_assert_cmpint(ib->pid, ==, 950);
    g_assert_cmpuint(ib->banned_irqs->len, ==, 0);
    /* Gone: none, and the next walk is an interval away; a pid file
     * naming a live process is read at every call. */
    fp_test_rm_rf(proc);
    write_file(proc, "960/comm", "wrapper\n", 8);
    g_assert_null(fp_irqbalance_watch_get(w, t0 + walk + 3));
    write_file(proc, "irqbalance.pid", "960\n", 4);
    ib = fp_irqbalance_watch_get(w, t0 + walk + 4);
    g_assert_nonnull(ib);
    g_assert_cmpint(ib->pid, ==, 960);
    g_assert_true(fp_irqbalance_watch_get(w, t0 + walk + 5) == ib);
    fp_test_rm_rf(proc);
}

/* A virtio NIC's IRQs: its PCI parent's msi_irqs, named by /proc/irq/N/NAME. */
static void test_irqs_read_write(void)
{
    g_autofree char *root = fp_test_tmpdir("nic-tree");
    g_autofree char *sys = g_build_filename(root, "sys", NULL);
    g_autofree char *proc = g_build_filename(root, "proc", NULL);
    g_autofree char *virtio = g_build_filename(root, "pci", "virtio1", NULL);
    g_autofree char *link = g_build_filename(sys, "eth9", "device", NULL);
    g_autofree char *text = NULL, *path = NULL;
    static const char *const names[] = {"virtio1-config", "virtio1-input.0", "virtio1-output.0",
                                        "virtio1-input.1", "virtio1-output.1"};
    g_autoptr(GPtrArray) irqs = NULL;
    g_autoptr(GError) error = NULL;
    FpIrqbalance ib = {.pid = 55, .banned_irqs = g_array_new(FALSE, FALSE, sizeof(guint))};
    guint banned = 27;
    gboolean gone;

    make_dir(root, "pci/virtio1");
    make_dir(sys, "eth9");
    g_assert_cmpint(symlink(virtio, link), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
        g_autofree char *msi = g_strdup_printf("pci/msi_irqs/%u", 25 + i);
        g_autofree char *dir = g_strdup_printf("irq/%u/%s", 25 + i, names[i]);
        g_autofree char *list = g_strdup_printf("irq/%u/smp_affinity_list", 25 + i);

        write_file(root, msi, "msix", 4);
        make_dir(proc, dir);
        write_file(proc, list, "0-1\n", 4);
    }
    g_array_append_val(ib.banned_irqs, banned);
    irqs = fp_nic_irqs_read(sys, proc, "eth9", &ib, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(irqs->len, ==, 4); /* not the config vector */
    {
        const FpNicIrq *q = irqs->pdata[0];
        g_autofree char *object = fp_nic_irq_object(q);

        g_assert_cmpuint(q->irq, ==, 26);
        g_assert_cmpstr(object, ==, "26:virtio1-input.0");
        g_assert_cmpint(q->queue, ==, 0);
        g_assert_cmpstr(q->text, ==, "0-1");
        g_assert_cmpint(q->managed_by, ==, 55);
        g_assert_cmpint(((FpNicIrq *)irqs->pdata[1])->managed_by, ==, 0); /* 27: banned */
        g_assert_cmpint(((FpNicIrq *)irqs->pdata[3])->queue, ==, 1);
    }
    g_array_unref(ib.banned_irqs);
    g_assert_true(fp_nic_irq_write(proc, "26:virtio1-input.0", "1", &gone, &error));
    g_assert_no_error(error);
    g_assert_false(gone);
    path = g_build_filename(proc, "irq", "26", "smp_affinity_list", NULL);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "1");
    /* IRQ 26 is another device's now: never written. */
    g_assert_true(fp_nic_irq_write(proc, "26:virtio7-input.0", "0", &gone, &error));
    g_assert_true(gone);
    g_assert_false(fp_nic_irq_write(proc, "26:../../etc", "0", &gone, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(fp_nic_irq_write(proc, "26:virtio1-input.0", "", &gone, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(fp_nic_irqs_read(sys, proc, "eth8", NULL, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    fp_test_rm_rf(root);
}

static void test_table_text(void)
{
    guint32 t[] = {0, 1, 2, 3, 3};
    g_autofree char *text = fp_nic_rss_table_to_text(t, 5);
    g_autofree guint32 *back = NULL;
    g_autoptr(GError) error = NULL;
    guint size = 0;

    g_assert_cmpstr(text, ==, "0 1 2 3 3");
    back = fp_nic_rss_table_parse(text, &size, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(size, ==, 5);
    g_assert_cmpmem(back, sizeof(t), t, sizeof(t));
    g_assert_null(fp_nic_rss_table_parse("0 1 x", &size, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_null(fp_nic_rss_table_parse("", &size, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
}

static FpNicIrq *make_irq(guint n, int queue, const char *list, int managed_by)
{
    FpNicIrq *q = g_new0(FpNicIrq, 1);

    q->irq = n;
    q->name = g_strdup_printf("virtio1-input.%d", queue);
    q->queue = queue;
    q->text = g_strdup(list);
    fp_cpuset_parse_list(list, &q->affinity, NULL);
    q->managed_by = managed_by;
    return q;
}

static FpCpuPlan *split_plan(const char *elephant, const char *rest)
{
    FpCpuPlan *p = g_new0(FpCpuPlan, 1);

    p->active = TRUE;
    fp_cpuset_parse_list(elephant, &p->elephant, NULL);
    fp_cpuset_parse_list(rest, &p->rest, NULL);
    p->actions = g_ptr_array_new_with_free_func((GDestroyNotify)fp_cpu_plan_action_free);
    p->notes = g_ptr_array_new_with_free_func(g_free);
    return p;
}

static gboolean has_note(const FpCpuPlan *p, const char *text)
{
    for (guint i = 0; i < p->notes->len; i++)
        if (strstr(p->notes->pdata[i], text))
            return TRUE;
    return FALSE;
}

/* 4 queues, CPUs 0-1, elephant set {1}: queues 2-3 are the elephants'. */
static void test_plan(void)
{
    g_autoptr(FpConfig) config = fp_config_new_default();
    g_autoptr(GPtrArray) nics = g_ptr_array_new_with_free_func((GDestroyNotify)fp_nic_work_free);
    g_autoptr(GArray) flows = g_array_new(FALSE, FALSE, sizeof(FpFlowKey));
    g_autoptr(GHashTable) original = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(FpCpuPlan) plan = split_plan("1", "0");
    FpNicWork *nic = fp_nic_work_new("eth9"), *single = fp_nic_work_new("eth1");
    FpFlowKey el = flow(AF_INET, IPPROTO_UDP, "10.15.0.1", 40001, "10.15.0.2", 5001);
    const FpCpuPlanAction *a;
    g_autofree guint32 *table = NULL;
    guint32 hash;
    guint size, slot;

    nic->n_queues = 4;
    for (int q = 0; q < 4; q++)
        g_ptr_array_add(nic->irqs, make_irq(26 + (guint)q, q, q % 2 ? "1" : "0", q == 1 ? 812 : 0));
    nic->rss = ms_rss(128, 4);
    g_ptr_array_add(nics, nic);
    single->n_queues = 1;
    g_ptr_array_add(nics, single);
    g_array_append_val(flows, el);
    g_hash_table_insert(original, (gpointer) "irq 28:virtio1-input.2", (gpointer) "0-1");
    fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, original, NULL});

    /* Queue 0's IRQ to the rest, queue 1's is irqbalance's, 2 and 3 to CPU 1. */
    a = fp_cpu_plan_find(plan, "irq", "26:virtio1-input.0");
    g_assert_nonnull(a);
    g_assert_cmpstr(a->value, ==, "0");
    g_assert_cmpstr(a->previous, ==, "0");
    g_assert_true(fp_cpu_plan_action_done(a));
    g_assert_null(fp_cpu_plan_find(plan, "irq", "27:virtio1-input.1"));
    g_assert_true(has_note(plan, "IRQ 27 (virtio1-input.1) managed by irqbalance (pid 812): left "
                                 "alone"));
    a = fp_cpu_plan_find(plan, "irq", "28:virtio1-input.2");
    g_assert_cmpstr(a->value, ==, "1");
    g_assert_cmpstr(a->previous, ==, "0-1"); /* the journal's, not now's */
    g_assert_false(fp_cpu_plan_action_done(a));
    a = fp_cpu_plan_find(plan, "irq", "29:virtio1-input.3");
    g_assert_cmpstr(a->value, ==, "1");
    g_assert_true(has_note(plan, "nic eth1 has 1 RX queue(s): no queue to keep for the "
                                 "elephants, left alone"));

    /* The elephant's slot → queue 2 or 3; every other slot → 0 or 1, evenly. */
    a = fp_cpu_plan_find(plan, "rss", "eth9");
    g_assert_nonnull(a);
    g_assert_cmpstr(a->previous, ==, nic->rss->text);
    table = fp_nic_rss_table_parse(a->value, &size, NULL);
    g_assert_cmpuint(size, ==, 128);
    g_assert_true(fp_nic_rss_hash(nic->rss, &el, &hash));
    slot = hash % 128;
    {
        guint count[4] = {0};

        for (guint s = 0; s < size; s++) {
            count[table[s]]++;
            if (s != slot)
                g_assert_cmpuint(table[s], <, 2);
        }
        g_assert_cmpuint(table[slot], ==, 2);
        g_assert_cmpuint(count[0] + count[1], ==, 127);
        g_assert_cmpuint(count[0] - count[1] + 1, <=, 2);
    }
    g_test_message("elephant hash 0x%08x, slot %u", hash, slot);

    /* irqbalance_override: its IRQ moves too. */
    config->tuning.irqbalance_override = TRUE;
    g_clear_pointer(&plan, fp_cpu_plan_free);
    plan = split_plan("1", "0");
    fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, NULL, NULL});
    a = fp_cpu_plan_find(plan, "irq", "27:virtio1-input.1");
    g_assert_nonnull(a);
    g_assert_cmpstr(a->value, ==, "0");
    g_assert_false(has_note(plan, "managed by irqbalance"));

    /* An IRQ footprintd moved out of irqbalance's banned CPUs reads as
     * irqbalance's now; by the affinity it had before it is not: it stays
     * planned (no give-back, take-again at each sweep). */
    config->tuning.irqbalance_override = FALSE;
    {
        FpIrqbalance ib = {.pid = 812, .banned_irqs = g_array_new(FALSE, FALSE, sizeof(guint))};
        FpNicIrq *moved = nic->irqs->pdata[2]; /* 28, queue 2 */

        fp_cpuset_parse_list("1", &ib.banned_cpus, NULL);
        moved->managed_by = 812;
        g_clear_pointer(&plan, fp_cpu_plan_free);
        plan = split_plan("0", "1");
        g_hash_table_insert(original, (gpointer) "irq 28:virtio1-input.2", (gpointer) "1");
        fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, original, &ib});
        g_assert_nonnull(fp_cpu_plan_find(plan, "irq", "28:virtio1-input.2"));
        /* Queue 1's IRQ (27, never moved, on CPU 1) is irqbalance's as read. */
        g_assert_null(fp_cpu_plan_find(plan, "irq", "27:virtio1-input.1"));
        /* Without the journal's value it would be left alone. */
        g_hash_table_remove(original, "irq 28:virtio1-input.2");
        g_clear_pointer(&plan, fp_cpu_plan_free);
        plan = split_plan("0", "1");
        fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, original, &ib});
        g_assert_null(fp_cpu_plan_find(plan, "irq", "28:virtio1-input.2"));
        g_array_unref(ib.banned_irqs);
        moved->managed_by = 0;
    }

    /* Not Toeplitz: the table is left alone, and said so; nic_irqs=false. */
    nic->rss->hfunc = 2;
    config->tuning.nic_irqs = FALSE;
    g_clear_pointer(&plan, fp_cpu_plan_free);
    plan = split_plan("1", "0");
    fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, NULL, NULL});
    g_assert_null(fp_cpu_plan_find(plan, "rss", "eth9"));
    g_assert_null(fp_cpu_plan_find(plan, "irq", "26:virtio1-input.0"));
    g_assert_true(has_note(plan, "nic eth9: its RSS hash is not Toeplitz"));

    /* No split: nothing, so the tuner puts everything back. */
    nic->rss->hfunc = FP_RSS_HASH_TOP;
    config->tuning.nic_irqs = TRUE;
    g_clear_pointer(&plan, fp_cpu_plan_free);
    plan = split_plan("", "0-1");
    plan->active = FALSE;
    fp_nic_plan_compute(plan, &(FpNicPlanInput){nics, flows, &config->tuning, NULL, NULL});
    g_assert_cmpuint(plan->actions->len, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/planner-nic/toeplitz", test_toeplitz);
    g_test_add_func("/planner-nic/hash-refused", test_hash_refused);
    g_test_add_func("/planner-nic/elephant-queues", test_elephant_queues);
    g_test_add_func("/planner-nic/irq-names", test_irq_names);
    g_test_add_func("/planner-nic/irqbalance", test_irqbalance);
    g_test_add_func("/planner-nic/irqbalance-watch", test_irqbalance_watch);
    g_test_add_func("/planner-nic/irqs-read-write", test_irqs_read_write);
    g_test_add_func("/planner-nic/table-text", test_table_text);
    g_test_add_func("/planner-nic/plan", test_plan);
    return g_test_run();
}
