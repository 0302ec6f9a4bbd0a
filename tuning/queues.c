/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "queues" knob (queues.h): RPS and XPS masks of taps' queues. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fp-error.h"
#include "queues.h"

void fp_tap_queue_free(FpTapQueue *queue)
{
    if (!queue)
        return;
    g_free(queue->object);
    g_free(queue->device);
    g_free(queue->text);
    g_free(queue);
}

/* "DEV/queues/rx-N/rps_cpus" or "DEV/queues/tx-N/xps_cpus": nothing else
 * is ever read or written under the sysfs directory. */
static gboolean parse_object(const char *object, char **device, gboolean *rps)
{
    g_auto(GStrv) p = g_strsplit(object, "/", 5);
    gboolean rx, tx;
    guint64 n;

    if (g_strv_length(p) != 4 || !*p[0] || g_str_equal(p[0], ".") || g_str_equal(p[0], "..") ||
        !g_str_equal(p[1], "queues"))
        return FALSE;
    rx = g_str_has_prefix(p[2], "rx-") && g_str_equal(p[3], "rps_cpus");
    tx = g_str_has_prefix(p[2], "tx-") && g_str_equal(p[3], "xps_cpus");
    if ((!rx && !tx) || !g_ascii_string_to_unsigned(p[2] + 3, 10, 0, 65535, &n, NULL))
        return FALSE;
    if (device)
        *device = g_strdup(p[0]);
    *rps = rx;
    return TRUE;
}

/**
 * fp_tap_queue_new:
 * @object: a queue's mask, "DEV/queues/rx-N/rps_cpus" or "DEV/queues/tx-N/xps_cpus"
 * @text: the mask as sysfs prints it
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the queue, %NULL with
 * %FP_ERROR_INVALID when @object or @text is not one
 */
FpTapQueue *fp_tap_queue_new(const char *object, const char *text, GError **error)
{
    g_autoptr(FpTapQueue) q = g_new0(FpTapQueue, 1);

    if (!parse_object(object, &q->device, &q->rps)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "queues: '%s' is not a queue's CPU mask",
                    object);
        return NULL;
    }
    if (!fp_cpuset_parse_mask(text, &q->mask, error))
        return NULL;
    q->object = g_strdup(object);
    q->text = g_strstrip(g_strdup(text));
    return g_steal_pointer(&q);
}

static gint by_object(gconstpointer a, gconstpointer b)
{
    const FpTapQueue *x = *(FpTapQueue *const *)a, *y = *(FpTapQueue *const *)b;

    return g_strcmp0(x->object, y->object);
}

/**
 * fp_queues_read:
 * @sysfs_net: /sys/class/net
 * @device: a tap
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type FpTapQueue) (nullable): its rx
 * queues' RPS masks and its tx queues' XPS masks, sorted; %NULL with
 * %FP_ERROR_NOT_FOUND when it has no queues directory
 */
GPtrArray *fp_queues_read(const char *sysfs_net, const char *device, GError **error)
{
    g_autofree char *dir_path = g_build_filename(sysfs_net, device, "queues", NULL);
    g_autoptr(GDir) dir = NULL;
    g_autoptr(GPtrArray) queues = g_ptr_array_new_with_free_func((GDestroyNotify)fp_tap_queue_free);
    const char *name;

    if (strchr(device, '/') || g_str_equal(device, "..") || g_str_equal(device, ".")) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "queues: '%s' is not a device name", device);
        return NULL;
    }
    dir = g_dir_open(dir_path, 0, NULL);
    if (!dir) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "device '%s': no queues in '%s'", device,
                    dir_path);
        return NULL;
    }
    while ((name = g_dir_read_name(dir))) {
        gboolean rx = g_str_has_prefix(name, "rx-"), tx = g_str_has_prefix(name, "tx-");
        g_autofree char *object =
            g_strdup_printf("%s/queues/%s/%s", device, name, rx ? "rps_cpus" : "xps_cpus");
        g_autofree char *path = NULL;
        g_autofree char *text = NULL;
        FpTapQueue *q;

        if (!rx && !tx)
            continue;
        path = g_build_filename(sysfs_net, object, NULL);
        /* A kernel without CONFIG_RPS or CONFIG_XPS has no such file. */
        if (!g_file_get_contents(path, &text, NULL, NULL))
            continue;
        q = fp_tap_queue_new(object, text, NULL);
        if (q)
            g_ptr_array_add(queues, q);
    }
    g_ptr_array_sort(queues, by_object);
    return g_steal_pointer(&queues);
}

/**
 * fp_queues_write:
 * @sysfs_net: /sys/class/net
 * @object: a queue's mask (fp_tap_queue_new())
 * @text: the mask to write (hex, as sysfs prints it)
 * @gone: (out): the device or queue is gone (nothing was written)
 * @error: return location for a #GError
 *
 * Returns: %FALSE when the kernel refused (%FP_ERROR_IO) or @object is not
 * a queue's mask (%FP_ERROR_INVALID)
 */
gboolean fp_queues_write(const char *sysfs_net, const char *object, const char *text,
                         gboolean *gone, GError **error)
{
    g_autofree char *path = NULL;
    gboolean rps;
    FpCpuSet check;
    ssize_t n;
    int fd, e;

    *gone = FALSE;
    if (!parse_object(object, NULL, &rps)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "queues: '%s' is not a queue's CPU mask",
                    object);
        return FALSE;
    }
    if (!fp_cpuset_parse_mask(text, &check, error))
        return FALSE;
    path = g_build_filename(sysfs_net, object, NULL);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        *gone = TRUE;
        return TRUE;
    }
    if (fd < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "queues: cannot open '%s': %s", path,
                    g_strerror(errno));
        return FALSE;
    }
    n = write(fd, text, strlen(text));
    e = errno;
    close(fd);
    if (n < 0) {
        /* The device went while we wrote. */
        if (e == ENODEV || e == ENOENT) {
            *gone = TRUE;
            return TRUE;
        }
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "queues: cannot write '%s' to '%s': %s", text,
                    path, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

static gboolean queues_undo(gpointer knob, const FpJournalEntry *e, GError **error)
{
    gboolean gone;

    return fp_queues_write(knob, e->object, e->previous, &gone, error);
}

const FpKnobClass fp_queues_knob = {
    .name = "queues",
    .undo = queues_undo,
};
