/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "ctmark" knob (ctmark.h): footprintd's bits of conntrack marks over
 * ctnetlink (libnl-nf).  Journal entries: object = the flow as
 * fp_flow_key_to_string() writes it, previous/value = our bits as
 * "0x%08x".
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netfilter/ct.h>

#include "conntrack.h"
#include "ctmark.h"
#include "fp-cleanup.h"
#include "fp-error.h"
#include "planner.h"

struct _FpCtMark {
    guint32 mask;
    struct nl_sock *query_sock; /* no auto-ack: one reply (or an error) per query */
    struct nl_sock *write_sock; /* auto-ack: one ack (or an error) per write */
};

typedef struct {
    FpCtMarkEntry *entry;
    gboolean found;
} ReadCtx;

/* The entry's reply tuple, as FpFlowKey holds a tuple (ports in host
 * order, as libnl gives them). */
static void reply_tuple(struct nfnl_ct *ct, FpCtMarkEntry *e)
{
    struct nl_addr *src = nfnl_ct_get_src(ct, 1), *dst = nfnl_ct_get_dst(ct, 1);
    int family = nfnl_ct_get_family(ct);
    guint len = family == AF_INET6 ? 16 : 4;

    e->has_reply = FALSE;
    if (!src || !dst || (family != AF_INET && family != AF_INET6) || nl_addr_get_len(src) != len ||
        nl_addr_get_len(dst) != len)
        return;
    memset(&e->reply, 0, sizeof(e->reply));
    memcpy(e->reply.src, nl_addr_get_binary_addr(src), len);
    memcpy(e->reply.dst, nl_addr_get_binary_addr(dst), len);
    e->reply.family = (guint8)family;
    e->reply.proto = nfnl_ct_get_proto(ct);
    if (nfnl_ct_test_src_port(ct, 1))
        e->reply.sport = nfnl_ct_get_src_port(ct, 1);
    if (nfnl_ct_test_dst_port(ct, 1))
        e->reply.dport = nfnl_ct_get_dst_port(ct, 1);
    e->reply.zone = nfnl_ct_test_zone(ct) ? nfnl_ct_get_zone(ct) : 0;
    e->has_reply = TRUE;
}

static int on_reply(struct nl_msg *msg, void *arg)
{
    ReadCtx *r = arg;
    g_autoptr(FpNfnlCt) ct = NULL;

    if (nfnlmsg_ct_parse(nlmsg_hdr(msg), &ct) < 0)
        return NL_STOP;
    r->entry->mark = nfnl_ct_test_mark(ct) ? nfnl_ct_get_mark(ct) : 0;
    for (int d = 0; d < 2; d++)
        r->entry->bytes[d] = nfnl_ct_get_bytes(ct, d);
    reply_tuple(ct, r->entry);
    r->found = TRUE;
    /* The kernel flags its one reply NLM_F_MULTI with no NLMSG_DONE. */
    return NL_STOP;
}

static struct nl_sock *open_socket(gboolean ack, GError **error)
{
    struct nl_sock *sk = nl_socket_alloc();
    int err;

    if (!sk) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "ctmark: cannot allocate a netlink socket");
        return NULL;
    }
    err = nl_connect(sk, NETLINK_NETFILTER);
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "ctmark: cannot open a ctnetlink socket: %s",
                    nl_geterror(err));
        nl_socket_free(sk);
        return NULL;
    }
    if (!ack)
        nl_socket_disable_auto_ack(sk);
    return sk;
}

/**
 * fp_ct_mark_new:
 * @mask: footprintd's bits ([tuning] ct_mark_mask)
 * @error: return location for a #GError
 */
FpCtMark *fp_ct_mark_new(guint32 mask, GError **error)
{
    g_autoptr(FpCtMark) self = g_new0(FpCtMark, 1);

    self->mask = mask;
    self->query_sock = open_socket(FALSE, error);
    if (!self->query_sock)
        return NULL;
    self->write_sock = open_socket(TRUE, error);
    if (!self->write_sock)
        return NULL;
    return g_steal_pointer(&self);
}

void fp_ct_mark_free(FpCtMark *self)
{
    if (!self)
        return;
    if (self->query_sock)
        nl_socket_free(self->query_sock);
    if (self->write_sock)
        nl_socket_free(self->write_sock);
    g_free(self);
}

guint32 fp_ct_mark_mask(FpCtMark *self)
{
    return self->mask;
}

/**
 * fp_ct_mark_format:
 * @ctmark: a #FpCtMark
 * @bits: footprintd's bits of a mark
 *
 * Returns: (transfer full): "0x00010000/0x00ff0000", the bits and the
 * mask (a journal value: undone with the mask it was set with)
 */
char *fp_ct_mark_format(FpCtMark *self, guint32 bits)
{
    return g_strdup_printf("0x%08x/0x%08x", bits & self->mask, self->mask);
}

/**
 * fp_ct_mark_read:
 * @ctmark: a #FpCtMark
 * @key: a flow
 * @entry: (out): its mark and counters, when @found
 * @found: (out): FALSE when conntrack has no such entry (the flow ended)
 * @error: return location for a #GError
 */
gboolean fp_ct_mark_read(FpCtMark *self, const FpFlowKey *key, FpCtMarkEntry *entry,
                         gboolean *found, GError **error)
{
    g_autoptr(FpNfnlCt) query = fp_conntrack_ct_from_key(key);
    ReadCtx r = {entry, FALSE};
    int err;

    *found = FALSE;
    memset(entry, 0, sizeof(*entry));
    nl_socket_modify_cb(self->query_sock, NL_CB_VALID, NL_CB_CUSTOM, on_reply, &r);
    err = nfnl_ct_query(self->query_sock, query, 0);
    if (err >= 0)
        err = nl_recvmsgs_default(self->query_sock);
    if (err == -NLE_OBJ_NOTFOUND)
        return TRUE;
    if (err < 0) {
        g_autofree char *flow = fp_flow_key_to_string(key);

        g_set_error(error, FP_ERROR, FP_ERROR_IO, "ctmark: flow '%s': cannot read: %s", flow,
                    nl_geterror(err));
        return FALSE;
    }
    *found = r.found;
    return TRUE;
}

static gboolean write_masked(FpCtMark *self, const FpFlowKey *key, guint32 bits, guint32 mask,
                             gboolean *found, GError **error);

/**
 * fp_ct_mark_write:
 * @ctmark: a #FpCtMark
 * @key: a flow
 * @bits: the value of footprintd's bits (outside the mask: ignored)
 * @found: (out): FALSE when conntrack has no such entry (nothing written)
 * @error: return location for a #GError
 *
 * Sets footprintd's bits of the flow's mark; the kernel keeps the others
 * ((mark & ~mask) | bits, in one step).
 */
gboolean fp_ct_mark_write(FpCtMark *self, const FpFlowKey *key, guint32 bits, gboolean *found,
                          GError **error)
{
    return write_masked(self, key, bits, self->mask, found, error);
}

static gboolean write_masked(FpCtMark *self, const FpFlowKey *key, guint32 bits, guint32 mask,
                             gboolean *found, GError **error)
{
    g_autoptr(FpNfnlCt) ct = fp_conntrack_ct_from_key(key);
    struct nl_msg *msg = NULL;
    int err;

    *found = FALSE;
    nfnl_ct_set_mark(ct, bits & mask);
    err = nfnl_ct_build_add_request(ct, 0, &msg);
    if (err >= 0) {
        /* libnl asks to create the entry when it does not exist: an ended
         * flow would come back.  An update only, then, and masked. */
        nlmsg_hdr(msg)->nlmsg_flags &= ~(NLM_F_CREATE | NLM_F_EXCL);
        err = nla_put_u32(msg, CTA_MARK_MASK, htonl(mask));
    }
    if (err >= 0)
        err = nl_send_auto(self->write_sock, msg);
    nlmsg_free(msg);
    if (err >= 0)
        err = nl_wait_for_ack(self->write_sock);
    if (err == -NLE_OBJ_NOTFOUND)
        return TRUE;
    if (err < 0) {
        g_autofree char *flow = fp_flow_key_to_string(key);

        g_set_error(error, FP_ERROR, FP_ERROR_IO,
                    "ctmark: flow '%s': cannot set mark 0x%08x/0x%08x: %s", flow, bits & mask, mask,
                    nl_geterror(err));
        return FALSE;
    }
    *found = TRUE;
    return TRUE;
}

/* "0xBITS/0xMASK", as fp_ct_mark_format() writes it. */
static gboolean parse_bits(const char *text, guint32 *bits, guint32 *mask)
{
    g_auto(GStrv) p = g_strsplit(text, "/", 3);
    guint64 b, m;

    if (g_strv_length(p) != 2 || !g_str_has_prefix(p[0], "0x") || !g_str_has_prefix(p[1], "0x") ||
        !g_ascii_string_to_unsigned(p[0] + 2, 16, 0, G_MAXUINT32, &b, NULL) ||
        !g_ascii_string_to_unsigned(p[1] + 2, 16, 1, G_MAXUINT32, &m, NULL) || (b & ~m))
        return FALSE;
    *bits = (guint32)b;
    *mask = (guint32)m;
    return TRUE;
}

/* Undo: the flow's bits back to the previous value, if the flow lives. */
static gboolean ct_mark_undo(gpointer knob, const FpJournalEntry *e, GError **error)
{
    FpCtMark *self = knob;
    FpFlowKey key;
    guint32 previous, mask;
    gboolean found;

    if (!fp_flow_key_parse(e->object, &key, error))
        return FALSE;
    if (!parse_bits(e->previous, &previous, &mask)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "ctmark: flow '%s': '%s' is not a mark (0xBITS/0xMASK)", e->object,
                    e->previous);
        return FALSE;
    }
    return write_masked(self, &key, previous, mask, &found, error);
}

const FpKnobClass fp_ct_mark_knob = {
    .name = "ctmark",
    .undo = ct_mark_undo,
};
