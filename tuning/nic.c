/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A host NIC read for the plan (nic.h). */
#include "config.h"

#include <string.h>

#include "nic.h"

static guint count_rx_queues(const char *sysfs_net, const char *device)
{
    g_autofree char *path = g_build_filename(sysfs_net, device, "queues", NULL);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    guint n = 0;

    while (dir && (name = g_dir_read_name(dir)))
        n += g_str_has_prefix(name, "rx-");
    return n;
}

/**
 * fp_nic_work_read:
 * @sysfs_net: /sys/class/net
 * @proc: /proc
 * @device: a NIC
 * @ib: (nullable): the running irqbalance
 * @irqs: read its queue IRQs
 * @rss: read its RSS table
 *
 * Returns: (transfer full): what was found; its problem says why not
 */
FpNicWork *fp_nic_work_read(const char *sysfs_net, const char *proc, const char *device,
                            const FpIrqbalance *ib, gboolean irqs, gboolean rss)
{
    FpNicWork *w = fp_nic_work_new(device);
    g_autofree char *dir = g_build_filename(sysfs_net, device, NULL);
    g_autoptr(GError) error = NULL;

    if (strchr(device, '/') || g_str_equal(device, "..") || g_str_equal(device, ".") ||
        !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
        w->problem = g_strdup_printf("no such device in %s", sysfs_net);
        return w;
    }
    w->n_queues = count_rx_queues(sysfs_net, device);
    if (w->n_queues < 2)
        return w; /* the plan says so; nothing else to read */
    if (irqs) {
        GPtrArray *found = fp_nic_irqs_read(sysfs_net, proc, device, ib, &error);

        if (found) {
            g_ptr_array_unref(w->irqs);
            w->irqs = found;
        }
        g_clear_error(&error);
    }
    if (rss) {
        w->rss = fp_nic_rss_read(device, &error);
        if (!w->rss)
            w->rss_problem = g_strdup(error->message);
    }
    return w;
}
