/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "irq" knob and irqbalance's detection (nic-irq.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fp-error.h"
#include "nic-irq.h"

/* ---- irqbalance ------------------------------------------------------------ */

void fp_irqbalance_free(FpIrqbalance *ib)
{
    if (!ib)
        return;
    g_array_unref(ib->banned_irqs);
    g_free(ib);
}

static void ban_irq(FpIrqbalance *ib, const char *text)
{
    guint64 n;

    if (text && g_ascii_string_to_unsigned(text, 10, 0, G_MAXUINT32, &n, NULL)) {
        guint irq = (guint)n;

        g_array_append_val(ib->banned_irqs, irq);
    }
}

/* Its command line, NUL-separated: --banirq=N, --banirq N, -i N, -iN;
 * --policyscript=F, --policyscript F, -l F. */
static void parse_cmdline(FpIrqbalance *ib, const char *data, gsize len)
{
    g_autoptr(GPtrArray) args = g_ptr_array_new();

    for (gsize i = 0; i < len; i += strlen(data + i) + 1)
        g_ptr_array_add(args, (gpointer)(data + i));
    for (guint i = 1; i < args->len; i++) {
        const char *a = args->pdata[i];
        const char *next = i + 1 < args->len ? args->pdata[i + 1] : NULL;

        if (g_str_has_prefix(a, "--banirq="))
            ban_irq(ib, a + 9);
        else if (g_str_equal(a, "--banirq") || g_str_equal(a, "-i"))
            ban_irq(ib, next);
        else if (g_str_has_prefix(a, "-i") && g_ascii_isdigit(a[2]))
            ban_irq(ib, a + 2);
        else if (g_str_has_prefix(a, "--policyscript") || g_str_has_prefix(a, "-l"))
            ib->policyscript = TRUE;
    }
}

static void parse_environ(FpIrqbalance *ib, const char *data, gsize len)
{
    for (gsize i = 0; i < len; i += strlen(data + i) + 1) {
        const char *v = data + i;
        FpCpuSet set;

        if (g_str_has_prefix(v, "IRQBALANCE_BANNED_CPUS=") &&
            fp_cpuset_parse_mask(v + 23, &set, NULL)) {
            for (guint w = 0; w < G_N_ELEMENTS(set.bits); w++)
                ib->banned_cpus.bits[w] |= set.bits[w];
        } else if (g_str_has_prefix(v, "IRQBALANCE_BANNED_CPULIST=") &&
                   fp_cpuset_parse_list(v + 26, &set, NULL)) {
            for (guint w = 0; w < G_N_ELEMENTS(set.bits); w++)
                ib->banned_cpus.bits[w] |= set.bits[w];
        }
    }
}

static gboolean is_irqbalance(const char *proc, int pid)
{
    g_autofree char *path = g_strdup_printf("%s/%d/comm", proc, pid);
    g_autofree char *comm = NULL;

    return g_file_get_contents(path, &comm, NULL, NULL) &&
           g_str_equal(g_strstrip(comm), "irqbalance");
}

/* The pid of a running irqbalance: by its name in a walk of @proc when
 * @scan, else (or when none is found) the live pid of @pid_file; 0: none. */
static int find_pid(const char *proc, const char *pid_file, gboolean scan)
{
    g_autoptr(GDir) dir = scan ? g_dir_open(proc, 0, NULL) : NULL;
    g_autofree char *path = NULL, *text = NULL;
    const char *name;
    guint64 n;

    while (dir && (name = g_dir_read_name(dir)))
        if (g_ascii_string_to_unsigned(name, 10, 1, G_MAXINT32, &n, NULL) &&
            is_irqbalance(proc, (int)n))
            return (int)n;
    if (!pid_file || !g_file_get_contents(pid_file, &text, NULL, NULL) ||
        !g_ascii_string_to_unsigned(g_strstrip(text), 10, 1, G_MAXINT32, &n, NULL))
        return 0;
    path = g_strdup_printf("%s/%" G_GUINT64_FORMAT, proc, n);
    return g_file_test(path, G_FILE_TEST_IS_DIR) ? (int)n : 0;
}

/* What irqbalance @pid is told (its command line and environment). */
static FpIrqbalance *read_irqbalance(const char *proc, int pid)
{
    FpIrqbalance *ib = g_new0(FpIrqbalance, 1);
    g_autofree char *cmdline = NULL, *env = NULL, *path = NULL;
    gsize len;

    ib->pid = pid;
    ib->banned_irqs = g_array_new(FALSE, FALSE, sizeof(guint));
    path = g_strdup_printf("%s/%d/cmdline", proc, pid);
    if (g_file_get_contents(path, &cmdline, &len, NULL))
        parse_cmdline(ib, cmdline, len);
    g_free(path);
    path = g_strdup_printf("%s/%d/environ", proc, pid);
    if (g_file_get_contents(path, &env, &len, NULL))
        parse_environ(ib, env, len);
    return ib;
}

/**
 * fp_irqbalance_detect:
 * @proc: /proc
 * @pid_file: (nullable): irqbalance's pid file (/run/irqbalance.pid)
 *
 * A running irqbalance: a process named "irqbalance", else the live
 * process @pid_file names (whatever its name: a wrapper may have renamed
 * it); its bans are read from its command line and environment.
 *
 * Returns: (transfer full) (nullable): it, %NULL when none runs
 */
FpIrqbalance *fp_irqbalance_detect(const char *proc, const char *pid_file)
{
    int pid = find_pid(proc, pid_file, TRUE);

    return pid ? read_irqbalance(proc, pid) : NULL;
}

/* ---- the watch: detection without a walk of /proc at every plan ----------- */

struct _FpIrqbalanceWatch {
    char *proc;
    char *pid_file;
    FpIrqbalance *ib; /* (nullable): the one found */
    gint64 walked_us; /* the last walk of proc, 0: none yet */
};

/**
 * fp_irqbalance_watch_new:
 * @proc: where processes are listed ("/proc")
 * @pid_file: (nullable): irqbalance's pid file (/run/irqbalance.pid)
 *
 * fp_irqbalance_detect() walks every process of the host: on a hypervisor
 * with a thousand, ten milliseconds or more, too much for each tuning
 * step.  The watch walks once, then checks only that the irqbalance found
 * still runs (a command line and environment do not change while it
 * does); while none runs, it walks again every
 * %FP_IRQBALANCE_WALK_INTERVAL_S, and reads the pid file at every call.
 *
 * Returns: (transfer full): a watch that has not looked yet
 */
FpIrqbalanceWatch *fp_irqbalance_watch_new(const char *proc, const char *pid_file)
{
    FpIrqbalanceWatch *w = g_new0(FpIrqbalanceWatch, 1);

    w->proc = g_strdup(proc);
    w->pid_file = g_strdup(pid_file);
    return w;
}

void fp_irqbalance_watch_free(FpIrqbalanceWatch *w)
{
    if (!w)
        return;
    fp_irqbalance_free(w->ib);
    g_free(w->proc);
    g_free(w->pid_file);
    g_free(w);
}

/**
 * fp_irqbalance_watch_get:
 * @watch: a watch
 * @now_us: g_get_monotonic_time()
 *
 * Returns: (transfer none) (nullable): the running irqbalance, valid until
 * the next call; %NULL when none was found
 */
const FpIrqbalance *fp_irqbalance_watch_get(FpIrqbalanceWatch *w, gint64 now_us)
{
    gboolean walk = w->walked_us == 0 ||
                    now_us - w->walked_us >= FP_IRQBALANCE_WALK_INTERVAL_S * G_USEC_PER_SEC;
    int pid;

    if (w->ib) {
        if (is_irqbalance(w->proc, w->ib->pid) ||
            find_pid(w->proc, w->pid_file, FALSE) == w->ib->pid)
            return w->ib;
        /* Gone: perhaps restarted, under another pid. */
        g_clear_pointer(&w->ib, fp_irqbalance_free);
        walk = TRUE;
    }
    if (walk)
        w->walked_us = now_us;
    pid = find_pid(w->proc, w->pid_file, walk);
    if (pid)
        w->ib = read_irqbalance(w->proc, pid);
    return w->ib;
}

/**
 * fp_irqbalance_manages:
 * @ib: (nullable): the running irqbalance
 * @irq: an IRQ
 * @affinity: its affinity as footprintd found it
 *
 * Returns: whether @ib manages @irq: every IRQ but those banned on its
 * command line and those whose affinity lies wholly inside its banned
 * CPUs; every IRQ when it runs a policy script
 */
gboolean fp_irqbalance_manages(const FpIrqbalance *ib, guint irq, const FpCpuSet *affinity)
{
    if (!ib)
        return FALSE;
    if (ib->policyscript)
        return TRUE;
    for (guint i = 0; i < ib->banned_irqs->len; i++)
        if (g_array_index(ib->banned_irqs, guint, i) == irq)
            return FALSE;
    if (!fp_cpuset_is_empty(affinity) && !fp_cpuset_is_empty(&ib->banned_cpus) &&
        fp_cpuset_subset(affinity, &ib->banned_cpus))
        return FALSE;
    return TRUE;
}

/* ---- a NIC's queue IRQs ------------------------------------------------------ */

void fp_nic_irq_free(FpNicIrq *irq)
{
    if (!irq)
        return;
    g_free(irq->name);
    g_free(irq->text);
    g_free(irq);
}

/**
 * fp_nic_irq_object:
 * @irq: an IRQ
 *
 * Returns: (transfer full): its name in the journal, "N:NAME"
 */
char *fp_nic_irq_object(const FpNicIrq *irq)
{
    return g_strdup_printf("%u:%s", irq->irq, irq->name);
}

static int digits_at(const char *s)
{
    guint64 n;

    return s && g_ascii_string_to_unsigned(s, 10, 0, 65535, &n, NULL) ? (int)n : -1;
}

/**
 * fp_nic_irq_queue:
 * @name: an IRQ's name as /proc/interrupts shows it
 *
 * Returns: the queue it serves, -1 when @name is none of the patterns
 * nic-irq.h lists
 */
int fp_nic_irq_queue(const char *name)
{
    const char *dash = strrchr(name, '-');
    const char *at;

    if (g_str_has_prefix(name, "mlx5_comp") && (at = strchr(name, '@'))) {
        g_autofree char *n = g_strndup(name + 9, (gsize)(at - name - 9));

        return digits_at(n);
    }
    if (!dash || dash == name)
        return -1;
    if (g_str_has_prefix(dash, "-input.") || g_str_has_prefix(dash, "-output."))
        return digits_at(strchr(dash, '.') + 1);
    {
        g_autofree char *before = g_ascii_strdown(name, (gssize)(dash - name));

        if (g_str_has_suffix(before, "txrx") || g_str_has_suffix(before, "-rx") ||
            g_str_has_suffix(before, "-tx") || g_str_equal(before, "rx") ||
            g_str_equal(before, "tx"))
            return digits_at(dash + 1);
    }
    return -1;
}

/* The one action name of IRQ @irq: the directory /proc/irq/N/NAME the
 * kernel makes for each handler.  NULL when there is none or more than
 * one (a shared IRQ is no queue's). */
static char *irq_name(const char *proc, guint irq)
{
    g_autofree char *dir_path = g_strdup_printf("%s/irq/%u", proc, irq);
    g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
    g_autofree char *found = NULL;
    const char *name;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *path = g_build_filename(dir_path, name, NULL);

        if (!g_file_test(path, G_FILE_TEST_IS_DIR))
            continue;
        if (found)
            return NULL;
        found = g_strdup(name);
    }
    return g_steal_pointer(&found);
}

static gint by_irq(gconstpointer a, gconstpointer b)
{
    const FpNicIrq *x = *(FpNicIrq *const *)a, *y = *(FpNicIrq *const *)b;

    return x->irq < y->irq ? -1 : x->irq > y->irq;
}

/**
 * fp_nic_irqs_read:
 * @sysfs_net: /sys/class/net
 * @proc: /proc
 * @device: a NIC
 * @ib: (nullable): the running irqbalance
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type FpNicIrq) (nullable): its queue
 * IRQs, sorted; %NULL with %FP_ERROR_NOT_FOUND when it has no MSI IRQs
 */
GPtrArray *fp_nic_irqs_read(const char *sysfs_net, const char *proc, const char *device,
                            const FpIrqbalance *ib, GError **error)
{
    g_autofree char *own = g_build_filename(sysfs_net, device, "device", "msi_irqs", NULL);
    g_autofree char *parent = g_build_filename(sysfs_net, device, "device", "..", "msi_irqs", NULL);
    g_autoptr(GDir) dir = NULL;
    g_autoptr(GPtrArray) irqs = g_ptr_array_new_with_free_func((GDestroyNotify)fp_nic_irq_free);
    const char *name;

    if (strchr(device, '/') || g_str_equal(device, "..") || g_str_equal(device, ".")) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "nic: '%s' is not a device name", device);
        return NULL;
    }
    /* A PCI function has them itself; a virtio device's are its PCI
     * parent's (virtio-net's queues are virtio's, the vectors PCI's). */
    dir = g_dir_open(own, 0, NULL);
    if (!dir)
        dir = g_dir_open(parent, 0, NULL);
    if (!dir) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "nic '%s': no MSI IRQs (%s)", device, own);
        return NULL;
    }
    while ((name = g_dir_read_name(dir))) {
        g_autoptr(FpNicIrq) q = g_new0(FpNicIrq, 1);
        g_autofree char *path = NULL, *text = NULL;
        guint64 n;

        if (!g_ascii_string_to_unsigned(name, 10, 0, G_MAXUINT32, &n, NULL))
            continue;
        q->irq = (guint)n;
        q->name = irq_name(proc, q->irq);
        if (!q->name || (q->queue = fp_nic_irq_queue(q->name)) < 0)
            continue;
        path = g_strdup_printf("%s/irq/%u/smp_affinity_list", proc, q->irq);
        if (!g_file_get_contents(path, &text, NULL, NULL) ||
            !fp_cpuset_parse_list(g_strstrip(text), &q->affinity, NULL))
            continue;
        q->text = g_steal_pointer(&text);
        if (fp_irqbalance_manages(ib, q->irq, &q->affinity))
            q->managed_by = ib->pid;
        g_ptr_array_add(irqs, g_steal_pointer(&q));
    }
    g_ptr_array_sort(irqs, by_irq);
    return g_steal_pointer(&irqs);
}

static gboolean parse_object(const char *object, guint *irq, const char **name)
{
    const char *colon = strchr(object, ':');
    g_autofree char *num = NULL;
    guint64 n;

    if (!colon || !colon[1] || strchr(colon + 1, '/') || g_str_equal(colon + 1, "..") ||
        g_str_equal(colon + 1, "."))
        return FALSE;
    num = g_strndup(object, (gsize)(colon - object));
    if (!g_ascii_string_to_unsigned(num, 10, 0, G_MAXUINT32, &n, NULL))
        return FALSE;
    *irq = (guint)n;
    *name = colon + 1;
    return TRUE;
}

/**
 * fp_nic_irq_write:
 * @proc: /proc
 * @object: an IRQ as the journal names it (fp_nic_irq_object())
 * @list: the CPU list to write to its smp_affinity_list
 * @gone: (out): the IRQ is gone, or its number is another's now (nothing
 *     was written)
 * @error: return location for a #GError
 *
 * Returns: %FALSE when the kernel refused (%FP_ERROR_IO: an IRQ whose
 * affinity the kernel manages, CPUs offline) or @object or @list is not
 * one (%FP_ERROR_INVALID)
 */
gboolean fp_nic_irq_write(const char *proc, const char *object, const char *list, gboolean *gone,
                          GError **error)
{
    g_autofree char *check = NULL, *path = NULL;
    const char *name;
    FpCpuSet set;
    guint irq;
    ssize_t n;
    int fd, e;

    *gone = FALSE;
    if (!parse_object(object, &irq, &name)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "irq: '%s' is not an IRQ (N:NAME)", object);
        return FALSE;
    }
    if (!fp_cpuset_parse_list(list, &set, error) || fp_cpuset_is_empty(&set)) {
        if (error && !*error)
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "irq %u: an empty CPU list", irq);
        return FALSE;
    }
    check = g_strdup_printf("%s/irq/%u/%s", proc, irq, name);
    if (!g_file_test(check, G_FILE_TEST_IS_DIR)) {
        *gone = TRUE;
        return TRUE;
    }
    path = g_strdup_printf("%s/irq/%u/smp_affinity_list", proc, irq);
    /* (O_TRUNC: procfs ignores it; a test's regular file needs it.) */
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        *gone = TRUE;
        return TRUE;
    }
    if (fd < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "irq %u (%s): cannot open '%s': %s", irq, name,
                    path, g_strerror(errno));
        return FALSE;
    }
    n = write(fd, list, strlen(list));
    e = errno;
    close(fd);
    if (n < 0) {
        /* EIO: the kernel manages this IRQ's affinity itself. */
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "irq %u (%s): cannot set CPUs '%s': %s%s", irq,
                    name, list, g_strerror(e),
                    e == EIO ? " (an IRQ whose affinity the kernel manages)" : "");
        return FALSE;
    }
    return TRUE;
}

static gboolean irq_undo(gpointer knob, const FpJournalEntry *e, GError **error)
{
    gboolean gone;

    return fp_nic_irq_write(knob, e->object, e->previous, &gone, error);
}

const FpKnobClass fp_nic_irq_knob = {
    .name = "irq",
    .undo = irq_undo,
};
