/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctnetlink messages as the daemon decodes them.  The input is a receive
 * buffer: libnl's nl_recvmsgs() walks it with nlmsg_ok()/nlmsg_next() and
 * hands every message that fits and is not a control message (NOOP, ERROR,
 * DONE, OVERRUN) to on_message(), which calls fp_conntrack_decode().  We do
 * the same walk, but copy each message into a buffer of exactly its
 * nlmsg_len so that AddressSanitizer sees any read past its end.
 */
#include "config.h"

#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "conntrack.h"
#include "fp-error.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    /* A receive buffer is word-aligned; libFuzzer's data is only malloc'ed. */
    g_autofree guint8 *buf = g_malloc0(MAX(size, sizeof(struct nlmsghdr)));
    struct nlmsghdr *hdr = (struct nlmsghdr *)buf;
    int remaining = (int)MIN(size, (gsize)G_MAXINT);
    guint decoded = 0;

    memcpy(buf, data, size);
    for (; nlmsg_ok(hdr, remaining); hdr = nlmsg_next(hdr, &remaining)) {
        g_autofree struct nlmsghdr *msg = NULL;
        g_autoptr(GError) local = NULL;
        FpCtEntry entry;
        gboolean ok;

        if (hdr->nlmsg_type < NLMSG_MIN_TYPE)
            continue;
        msg = g_memdup2(hdr, hdr->nlmsg_len);
        ok = fp_conntrack_decode(msg, &entry, &local);
        fp_fuzz_check_result("fp_conntrack_decode", ok, local);
        if (!ok) {
            /* The daemon logs and skips it; the walk goes on. */
            if (error && !*error)
                g_propagate_error(error, g_steal_pointer(&local));
            continue;
        }
        g_assert_true(entry.key.family == AF_INET || entry.key.family == AF_INET6);
        decoded++;
    }
    if (error && *error)
        return FALSE;
    if (!decoded) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "no ctnetlink message in %zu bytes", size);
        return FALSE;
    }
    return TRUE;
}
