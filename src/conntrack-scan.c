/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A conntrack dump in a worker thread (conntrack-scan.h).  The thread owns
 * its netlink socket and its heap; the main loop only starts it, asks
 * whether it is done, and takes the result.  Nothing is shared while it
 * runs but the atomic flags, so the loop is never held by it: at a
 * million entries a dump takes seconds of CPU (most of it the kernel
 * filling the dump and libnl parsing it), which the loop never waits for.
 */
#include "config.h"

#include <linux/netfilter/nfnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netfilter/ct.h>

#include "conntrack-scan.h"
#include "fp-error.h"
#include "loop-watch.h"

struct _FpCtScan {
    GThread *thread;
    struct nl_sock *sock;
    guint keep;
    guint64 min_bytes;
    gint done;   /* atomic: the worker has finished */
    gint cancel; /* atomic: stop reading, the result is not wanted */
    /* The worker's, until done; then the caller's. */
    GArray *heap; /* FpCtEntry, a min-heap on total bytes */
    FpCtScanResult result;
    GError *error;
};

static guint64 total(const FpCtEntry *e)
{
    return e->bytes[0] + e->bytes[1];
}

static void heap_down(FpCtEntry *h, guint n, guint i)
{
    for (;;) {
        guint l = 2 * i + 1, r = l + 1, m = i;
        FpCtEntry tmp;

        if (l < n && total(&h[l]) < total(&h[m]))
            m = l;
        if (r < n && total(&h[r]) < total(&h[m]))
            m = r;
        if (m == i)
            return;
        tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void heap_up(FpCtEntry *h, guint i)
{
    while (i > 0) {
        guint p = (i - 1) / 2;
        FpCtEntry tmp;

        if (total(&h[p]) <= total(&h[i]))
            return;
        tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

/* Keeps @e if it is among the @keep biggest so far. */
static void keep_biggest(FpCtScan *self, const FpCtEntry *e)
{
    FpCtEntry *h = (FpCtEntry *)(void *)self->heap->data;

    if (total(e) < self->min_bytes || self->keep == 0)
        return;
    if (self->heap->len < self->keep) {
        g_array_append_val(self->heap, *e);
        heap_up((FpCtEntry *)(void *)self->heap->data, self->heap->len - 1);
        return;
    }
    if (total(e) <= total(&h[0]))
        return;
    h[0] = *e;
    heap_down(h, self->heap->len, 0);
}

static int on_entry(struct nl_msg *msg, void *arg)
{
    FpCtScan *self = arg;
    FpCtEntry e;
    g_autoptr(GError) error = NULL;

    if (g_atomic_int_get(&self->cancel))
        return NL_STOP;
    if (!fp_conntrack_decode(nlmsg_hdr(msg), &e, &error))
        return NL_SKIP;
    self->result.entries++;
    keep_biggest(self, &e);
    return NL_OK;
}

static gint by_bytes_desc(gconstpointer a, gconstpointer b)
{
    guint64 x = total(a), y = total(b);

    return x > y ? -1 : x < y;
}

static gpointer scan_thread(gpointer user_data)
{
    FpCtScan *self = user_data;
    gint64 t0 = g_get_monotonic_time(), cpu0 = fp_thread_cpu_us();
    int err = nfnl_ct_dump_request(self->sock);

    if (err >= 0)
        err = nl_recvmsgs_default(self->sock);
    if (err < 0 && !g_atomic_int_get(&self->cancel))
        g_set_error(&self->error, FP_ERROR, FP_ERROR_IO, "conntrack scan: dump failed: %s",
                    nl_geterror(err));
    g_array_sort(self->heap, by_bytes_desc);
    self->result.kept = self->heap->len;
    self->result.cpu_us = fp_thread_cpu_us() - cpu0;
    self->result.wall_us = g_get_monotonic_time() - t0;
    g_atomic_int_set(&self->done, 1);
    return NULL;
}

/**
 * fp_ct_scan_start:
 * @keep: how many flows to keep at most: the biggest (bytes both ways)
 * @min_bytes: flows with fewer bytes are not kept
 * @error: return location for a #GError
 *
 * Starts one dump of conntrack (IPv4 and IPv6) in a worker thread.
 *
 * Returns: (transfer full) (nullable): the scan under way
 */
FpCtScan *fp_ct_scan_start(guint keep, guint64 min_bytes, GError **error)
{
    g_autoptr(FpCtScan) self = g_new0(FpCtScan, 1);
    g_autoptr(GError) local = NULL;
    int err;

    self->keep = keep;
    self->min_bytes = min_bytes;
    self->heap = g_array_sized_new(FALSE, FALSE, sizeof(FpCtEntry), MIN(keep, 4096));
    self->sock = nl_socket_alloc();
    if (!self->sock) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "conntrack scan: cannot allocate a socket");
        return NULL;
    }
    nl_socket_modify_cb(self->sock, NL_CB_VALID, NL_CB_CUSTOM, on_entry, self);
    err = nl_connect(self->sock, NETLINK_NETFILTER);
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "conntrack scan: cannot open ctnetlink: %s",
                    nl_geterror(err));
        return NULL;
    }
    self->thread = g_thread_try_new("fp-ct-scan", scan_thread, self, &local);
    if (!self->thread) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "conntrack scan: cannot start a thread: %s",
                    local->message);
        return NULL;
    }
    return g_steal_pointer(&self);
}

/**
 * fp_ct_scan_done:
 * @scan: a scan
 *
 * Returns: whether its dump has finished (fp_ct_scan_finish() then does
 * not wait)
 */
gboolean fp_ct_scan_done(FpCtScan *self)
{
    return g_atomic_int_get(&self->done) != 0;
}

/**
 * fp_ct_scan_finish:
 * @scan: a scan
 * @result: (out): its figures
 * @error: return location for a #GError
 *
 * Waits for the worker (call it once fp_ct_scan_done() says so) and takes
 * what it kept.
 *
 * Returns: (transfer full) (nullable): the flows kept (#FpCtEntry), the
 * biggest first; %NULL when the dump failed
 */
GArray *fp_ct_scan_finish(FpCtScan *self, FpCtScanResult *result, GError **error)
{
    if (self->thread)
        g_thread_join(g_steal_pointer(&self->thread));
    *result = self->result;
    if (self->error) {
        g_propagate_error(error, g_steal_pointer(&self->error));
        return NULL;
    }
    return g_steal_pointer(&self->heap);
}

/**
 * fp_ct_scan_free:
 * @scan: (nullable): a scan
 *
 * Stops the worker at its next message if it still runs, waits for it,
 * and frees everything.
 */
void fp_ct_scan_free(FpCtScan *self)
{
    if (!self)
        return;
    g_atomic_int_set(&self->cancel, 1);
    if (self->thread)
        g_thread_join(self->thread);
    if (self->sock)
        nl_socket_free(self->sock);
    if (self->heap)
        g_array_unref(self->heap);
    g_clear_error(&self->error);
    g_free(self);
}
