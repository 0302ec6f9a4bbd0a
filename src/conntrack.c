/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctnetlink through libnl-nf: dumps (exact per-direction counters from
 * conntrack's accounting extension), destroy events (flow end), and the
 * nf_conntrack_acct sysctl, whose previous value is written down before it
 * is changed so that a restart after a crash can still put it back.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/netfilter/nfnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/netfilter/nfnl.h>
#include <netlink/netfilter/ct.h>

#include "atomic-file.h"
#include "conntrack.h"
#include "fp-cleanup.h"
#include "fp-error.h"

#define ACCT_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_acct"
#define COUNT_SYSCTL "/proc/sys/net/netfilter/nf_conntrack_count"

struct _FpConntrack {
    struct nl_sock *dump_sock;
    struct nl_sock *query_sock; /* no auto-ack: one reply (or error) per query */
    struct nl_sock *event_sock;
    FpCtFunc func;
    gpointer user_data;
    GSource *event_source;
    guint64 events_lost;
    GError *dump_error;
};

static gboolean entry_from_ct(struct nfnl_ct *ct, FpCtEntry *e, GError **error)
{
    struct nl_addr *src = nfnl_ct_get_src(ct, 0);
    struct nl_addr *dst = nfnl_ct_get_dst(ct, 0);
    guint alen;

    memset(e, 0, sizeof(*e));
    e->key.family = nfnl_ct_get_family(ct);
    alen = e->key.family == AF_INET ? 4 : e->key.family == AF_INET6 ? 16 : 0;
    if (!alen || !src || !dst || nl_addr_get_len(src) != alen || nl_addr_get_len(dst) != alen) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "conntrack message: family %u without a matching address pair", e->key.family);
        return FALSE;
    }
    memcpy(e->key.src, nl_addr_get_binary_addr(src), alen);
    memcpy(e->key.dst, nl_addr_get_binary_addr(dst), alen);
    e->key.proto = nfnl_ct_get_proto(ct);
    if (e->key.proto == IPPROTO_ICMP || e->key.proto == IPPROTO_ICMPV6) {
        e->key.sport = nfnl_ct_get_icmp_id(ct, 0);
        e->key.dport = (guint16)(nfnl_ct_get_icmp_type(ct, 0) << 8 | nfnl_ct_get_icmp_code(ct, 0));
    } else {
        e->key.sport = nfnl_ct_get_src_port(ct, 0);
        e->key.dport = nfnl_ct_get_dst_port(ct, 0);
    }
    if (nfnl_ct_test_zone(ct))
        e->key.zone = nfnl_ct_get_zone(ct);
    e->has_counters = nfnl_ct_test_bytes(ct, 0) && nfnl_ct_test_bytes(ct, 1);
    for (int d = 0; d < 2; d++) {
        e->bytes[d] = nfnl_ct_get_bytes(ct, d);
        e->packets[d] = nfnl_ct_get_packets(ct, d);
    }
    return TRUE;
}

/**
 * fp_conntrack_decode:
 * @nlh: a ctnetlink message (IPCTNL_MSG_CT_NEW or _DELETE)
 * @entry: (out): the decoded entry
 * @error: return location for a #GError
 *
 * Decodes one message as the daemon does (also the fuzzing entry point).
 */
gboolean fp_conntrack_decode(struct nlmsghdr *nlh, FpCtEntry *entry, GError **error)
{
    g_autoptr(FpNfnlCt) ct = NULL;
    int err = nfnlmsg_ct_parse(nlh, &ct);

    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "conntrack message: %s", nl_geterror(err));
        return FALSE;
    }
    return entry_from_ct(ct, entry, error);
}

static int on_message(struct nl_msg *msg, void *arg)
{
    FpConntrack *self = arg;
    FpCtEntry e;
    g_autoptr(GError) error = NULL;

    if (!fp_conntrack_decode(nlmsg_hdr(msg), &e, &error)) {
        g_debug("%s", error->message);
        return NL_SKIP;
    }
    if (self->func)
        self->func(&e, self->user_data);
    return NL_OK;
}

static int on_query_reply(struct nl_msg *msg, void *arg)
{
    on_message(msg, arg);
    return NL_STOP;
}

static struct nl_sock *open_socket(FpConntrack *self, GError **error)
{
    struct nl_sock *sk = nl_socket_alloc();
    int err;

    if (!sk) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot allocate a netlink socket");
        return NULL;
    }
    nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, self);
    err = nl_connect(sk, NETLINK_NETFILTER);
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot open ctnetlink socket: %s",
                    nl_geterror(err));
        nl_socket_free(sk);
        return NULL;
    }
    return sk;
}

FpConntrack *fp_conntrack_new(GError **error)
{
    FpConntrack *self = g_new0(FpConntrack, 1);

    self->dump_sock = open_socket(self, error);
    if (!self->dump_sock) {
        g_free(self);
        return NULL;
    }
    return self;
}

void fp_conntrack_free(FpConntrack *self)
{
    if (!self)
        return;
    if (self->event_source) {
        g_source_destroy(self->event_source);
        g_source_unref(self->event_source);
    }
    if (self->event_sock)
        nl_socket_free(self->event_sock);
    if (self->query_sock)
        nl_socket_free(self->query_sock);
    nl_socket_free(self->dump_sock);
    g_free(self);
}

/* Receives the replies to a request on @sk, handing each entry to @func
 * (on_message() passes entries to self->func). */
static int recv_entries(FpConntrack *self, struct nl_sock *sk, FpCtFunc func, gpointer user_data)
{
    FpCtFunc saved = self->func;
    gpointer saved_data = self->user_data;
    int err;

    self->func = func;
    self->user_data = user_data;
    err = nl_recvmsgs_default(sk);
    self->func = saved;
    self->user_data = saved_data;
    return err;
}

/**
 * fp_conntrack_dump:
 * @ct: a #FpConntrack
 * @func: called for every entry conntrack has now (IPv4 and IPv6)
 * @user_data: for @func
 * @error: return location for a #GError
 */
gboolean fp_conntrack_dump(FpConntrack *self, FpCtFunc func, gpointer user_data, GError **error)
{
    int err = nfnl_ct_dump_request(self->dump_sock);

    if (err >= 0)
        err = recv_entries(self, self->dump_sock, func, user_data);
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "conntrack dump failed: %s", nl_geterror(err));
        return FALSE;
    }
    return TRUE;
}

typedef struct {
    FpCtEntry *entry;
    gboolean found;
} GetCtx;

static void on_got(const FpCtEntry *e, gpointer user_data)
{
    GetCtx *g = user_data;

    *g->entry = *e;
    g->found = TRUE;
}

/**
 * fp_conntrack_ct_from_key:
 * @key: a flow
 *
 * Returns: (transfer full): a conntrack object with @key's original tuple
 * and zone, for a query or an update
 */
struct nfnl_ct *fp_conntrack_ct_from_key(const FpFlowKey *key)
{
    struct nfnl_ct *ct = nfnl_ct_alloc();
    guint alen = key->family == AF_INET ? 4 : 16;
    struct nl_addr *src = nl_addr_build(key->family, key->src, alen);
    struct nl_addr *dst = nl_addr_build(key->family, key->dst, alen);

    nfnl_ct_set_family(ct, key->family);
    nfnl_ct_set_proto(ct, key->proto);
    nfnl_ct_set_src(ct, 0, src);
    nfnl_ct_set_dst(ct, 0, dst);
    nl_addr_put(src);
    nl_addr_put(dst);
    if (key->proto == IPPROTO_ICMP || key->proto == IPPROTO_ICMPV6) {
        nfnl_ct_set_icmp_id(ct, 0, key->sport);
        nfnl_ct_set_icmp_type(ct, 0, (guint8)(key->dport >> 8));
        nfnl_ct_set_icmp_code(ct, 0, (guint8)key->dport);
    } else {
        nfnl_ct_set_src_port(ct, 0, key->sport);
        nfnl_ct_set_dst_port(ct, 0, key->dport);
    }
    if (key->zone)
        nfnl_ct_set_zone(ct, key->zone);
    return ct;
}

/**
 * fp_conntrack_get:
 * @ct: a #FpConntrack
 * @key: a flow
 * @entry: (out): conntrack's entry for it, when @found
 * @found: (out): FALSE when conntrack has no such entry (it ended)
 * @error: return location for a #GError
 *
 * Asks conntrack for one entry.  A hash lookup in the kernel, where a dump
 * walks the whole table (nf_conntrack_buckets, 262144 by default): ~10 ms
 * of kernel time, taken from packet processing, even for a table of a few
 * flows.
 */
gboolean fp_conntrack_get(FpConntrack *self, const FpFlowKey *key, FpCtEntry *entry,
                          gboolean *found, GError **error)
{
    g_autoptr(FpNfnlCt) query = NULL;
    GetCtx g = {entry, FALSE};
    int err;

    *found = FALSE;
    if (key->family != AF_INET && key->family != AF_INET6) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "conntrack query: family %u", key->family);
        return FALSE;
    }
    if (!self->query_sock) {
        self->query_sock = open_socket(self, error);
        if (!self->query_sock)
            return FALSE;
        nl_socket_disable_auto_ack(self->query_sock);
        /* The kernel flags its one reply NLM_F_MULTI, with no NLMSG_DONE
         * after it: stop at the first message. */
        nl_socket_modify_cb(self->query_sock, NL_CB_VALID, NL_CB_CUSTOM, on_query_reply, self);
    }
    query = fp_conntrack_ct_from_key(key);
    err = nfnl_ct_query(self->query_sock, query, 0);
    if (err >= 0)
        err = recv_entries(self, self->query_sock, on_got, &g);
    if (err == -NLE_OBJ_NOTFOUND)
        return TRUE;
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "conntrack query failed: %s", nl_geterror(err));
        return FALSE;
    }
    *found = g.found;
    return TRUE;
}

typedef struct {
    GSource source;
    FpConntrack *ct;
    gpointer tag;
} FpCtEventSource;

/* A burst of destroy events (a million UDP entries timing out together)
 * is read in slices of this long: the socket stays readable, so the loop
 * comes back to it after its other sources had their turn. */
#define EVENT_SLICE_US 5000

static gboolean event_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    FpCtEventSource *s = (FpCtEventSource *)source;
    FpConntrack *self = s->ct;
    gint64 until = g_get_monotonic_time() + EVENT_SLICE_US;

    for (;;) {
        int err = nl_recvmsgs_default(self->event_sock);

        if (err >= 0) {
            if (g_get_monotonic_time() >= until)
                break;
            continue;
        }
        if (err == -NLE_AGAIN)
            break;
        /* ENOBUFS: the kernel dropped events; the next sweep's dump
         * reconciles, but we say how many times it happened. */
        if (err == -NLE_NOMEM) {
            self->events_lost++;
            continue;
        }
        g_warning("conntrack events: %s", nl_geterror(err));
        break;
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs event_funcs = {
    .dispatch = event_dispatch,
};

/**
 * fp_conntrack_watch_destroy:
 * @ct: a #FpConntrack
 * @func: called for every entry conntrack destroys
 * @user_data: for @func
 * @error: return location for a #GError
 *
 * Returns: (transfer none): a source attached to the default main context
 */
GSource *fp_conntrack_watch_destroy(FpConntrack *self, FpCtFunc func, gpointer user_data,
                                    GError **error)
{
    FpCtEventSource *s;
    int err;

    self->event_sock = open_socket(self, error);
    if (!self->event_sock)
        return NULL;
    self->func = func;
    self->user_data = user_data;
    nl_socket_disable_seq_check(self->event_sock);
    nl_socket_disable_auto_ack(self->event_sock);
    err = nl_socket_add_membership(self->event_sock, NFNLGRP_CONNTRACK_DESTROY);
    if (err >= 0)
        err = nl_socket_set_nonblocking(self->event_sock);
    if (err >= 0)
        err = nl_socket_set_buffer_size(self->event_sock, 4 * 1024 * 1024, 0);
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot subscribe to conntrack events: %s",
                    nl_geterror(err));
        return NULL;
    }
    s = (FpCtEventSource *)g_source_new(&event_funcs, sizeof(FpCtEventSource));
    s->ct = self;
    s->tag = g_source_add_unix_fd(&s->source, nl_socket_get_fd(self->event_sock), G_IO_IN);
    g_source_set_name(&s->source, "conntrack destroy events");
    g_source_attach(&s->source, NULL);
    self->event_source = &s->source;
    return &s->source;
}

guint64 fp_conntrack_events_lost(FpConntrack *self)
{
    return self->events_lost;
}

/**
 * fp_conntrack_available:
 * @reason: (out) (optional): why not
 *
 * Returns: whether the kernel has conntrack at all (module loaded/built in).
 */
gboolean fp_conntrack_available(char **reason)
{
    if (g_file_test(COUNT_SYSCTL, G_FILE_TEST_EXISTS))
        return TRUE;
    if (reason)
        *reason = g_strdup("nf_conntrack is not loaded (no " COUNT_SYSCTL "): nothing tracks "
                           "connections; load it or add a conntrack rule (e.g. nft 'ct state')");
    return FALSE;
}

/* "0" or "1" and nothing else: a garbled file is an error, never a 0. */
static gboolean parse_acct(char *text, const char *origin, int *value, GError **error)
{
    guint64 v;
    g_autoptr(GError) local = NULL;

    if (!g_ascii_string_to_unsigned(g_strstrip(text), 10, 0, 1, &v, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: %s", origin, local->message);
        return FALSE;
    }
    *value = (int)v;
    return TRUE;
}

static gboolean read_acct(int *value, GError **error)
{
    g_autofree char *text = NULL;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(ACCT_SYSCTL, &text, NULL, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED, "cannot read %s: %s", ACCT_SYSCTL,
                    local->message);
        return FALSE;
    }
    return parse_acct(text, ACCT_SYSCTL, value, error);
}

static gboolean write_acct(int value, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!g_file_set_contents_full(ACCT_SYSCTL, value ? "1\n" : "0\n", -1, G_FILE_SET_CONTENTS_NONE,
                                  0644, &local)) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot write %s: %s", ACCT_SYSCTL,
                    local->message);
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_conntrack_enable_acct:
 * @runtime_dir: where the previous value is written down first
 * @changed: (out): whether it was off and we turned it on
 * @error: return location for a #GError
 *
 * Turns nf_conntrack_acct on.  A value saved by an earlier run that did not
 * stop cleanly is kept: it is the operator's, ours is the 1 now in force.
 */
gboolean fp_conntrack_enable_acct(const char *runtime_dir, gboolean *changed, GError **error)
{
    g_autofree char *saved = g_build_filename(runtime_dir, FP_CONNTRACK_ACCT_SAVED, NULL);
    int value;

    *changed = FALSE;
    if (!read_acct(&value, error))
        return FALSE;
    if (value)
        return TRUE;
    if (g_mkdir_with_parents(runtime_dir, 0755) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "cannot create %s: %s", runtime_dir,
                    g_strerror(errno));
        return FALSE;
    }
    if (!g_file_test(saved, G_FILE_TEST_EXISTS) &&
        !fp_atomic_file_write(saved, "saved nf_conntrack_acct", "0\n", 2, 0644, FP_ATOMIC_FILE_NONE,
                              error))
        return FALSE;
    if (!write_acct(1, error))
        return FALSE;
    *changed = TRUE;
    return TRUE;
}

/**
 * fp_conntrack_restore_acct:
 * @runtime_dir: where fp_conntrack_enable_acct() wrote the previous value
 * @error: return location for a #GError
 *
 * Puts back the value saved by this or a crashed earlier run, if any.
 */
gboolean fp_conntrack_restore_acct(const char *runtime_dir, GError **error)
{
    g_autofree char *saved = g_build_filename(runtime_dir, FP_CONNTRACK_ACCT_SAVED, NULL);
    g_autofree char *text = NULL;

    int value;

    if (!g_file_get_contents(saved, &text, NULL, NULL))
        return TRUE;
    if (!parse_acct(text, saved, &value, error) || !write_acct(value, error))
        return FALSE;
    g_unlink(saved);
    return TRUE;
}
