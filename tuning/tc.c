/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "tc" knob (tc.h).  Journal entries: object = the device's name,
 * previous = its root qdisc before ("noqueue 0:"), value = "htb fd00:".
 * Undoing deletes our root qdisc (with its classes and filter); the kernel
 * then attaches its default again, which is what we adopted.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/cache.h>
#include <netlink/route/tc.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/class.h>
#include <netlink/route/route.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/tbf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fp_tc.skel.h"
#include "fp-cleanup.h"
#include "fp-error.h"
#include "fp_tc.h"
#include "tc.h"

/* Each class's quantum: equal for the slot leaves, so they share the
 * demoted band's spare rate equally (HTB's DRR); at least one 64 KiB GSO
 * packet.  (HTB's default, rate / r2q, is clamped at 200000 bytes with a
 * warning for any rate above 16 Mbit/s.) */
#define SLOT_QUANTUM 65536
/* A packet's worth in each HTB bucket, above 1 ms at the rate. */
#define BUCKET_PACKET 1600

struct _FpTc {
    struct nl_sock *sock;
    guint32 mask;
    guint slots;
    struct fp_tc *skel; /* loaded on first use */
    const char *classifier_mode;
};

G_STATIC_ASSERT(FP_TC_SLOTS_MAX + FP_TC_MINOR_SLOT <= 0xffff);

static void set_nl_error(GError **error, const char *dev, const char *what, int err)
{
    g_set_error(error, FP_ERROR, FP_ERROR_IO, "device '%s': cannot %s: %s", dev, what,
                nl_geterror(err));
}

/**
 * fp_tc_new:
 * @config: the [tuning] configuration (mask and slots the classifier is
 *     loaded with)
 * @error: return location for a #GError
 */
FpTc *fp_tc_new(const FpTuningConfig *config, GError **error)
{
    g_autoptr(FpTc) self = g_new0(FpTc, 1);
    int err;

    self->mask = config->ct_mark_mask;
    self->slots = config->fair_slots;
    self->sock = nl_socket_alloc();
    if (!self->sock) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "tc: cannot allocate a netlink socket");
        return NULL;
    }
    err = nl_connect(self->sock, NETLINK_ROUTE);
    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "tc: cannot open an rtnetlink socket: %s",
                    nl_geterror(err));
        return NULL;
    }
    return g_steal_pointer(&self);
}

void fp_tc_free(FpTc *self)
{
    if (!self)
        return;
    g_clear_pointer(&self->skel, fp_tc__destroy);
    if (self->sock)
        nl_socket_free(self->sock);
    g_free(self);
}

/**
 * fp_tc_classifier_mode:
 * @tc: a #FpTc
 *
 * Returns: how the loaded classifier reads conntrack marks
 *     ("bpf_rdonly_cast" or "bpf_probe_read_kernel"), or "not loaded"
 */
const char *fp_tc_classifier_mode(FpTc *self)
{
    return self->skel ? self->classifier_mode : "not loaded";
}

static int load_classifier(FpTc *self, guint32 nf_conn_id)
{
    g_autoptr(FpTcSkel) skel = fp_tc__open();
    int err;

    if (!skel)
        return -errno;
    skel->rodata->mark_mask = self->mask;
    skel->rodata->mark_shift = (guint32)g_bit_nth_lsf(self->mask, -1);
    skel->rodata->slots = self->slots;
    skel->rodata->nf_conn_btf_id = nf_conn_id;
    err = fp_tc__load(skel);
    if (err)
        return err;
    self->skel = g_steal_pointer(&skel);
    return 0;
}

/**
 * fp_tc_prepare:
 * @tc: a #FpTc
 * @error: return location for a #GError
 *
 * Loads the classifier now (reading vmlinux's BTF takes tens of ms), so
 * that the first elephant does not wait for it.  Once loaded, it is shared
 * by every device's filter.  With conntrack's types in vmlinux's BTF the
 * mark is a direct load (bpf_rdonly_cast); otherwise (conntrack a module)
 * a probe read.
 */
gboolean fp_tc_prepare(FpTc *self, GError **error)
{
    g_autoptr(FpBtf) vmlinux = NULL;
    int id = -1, err;

    if (self->skel)
        return TRUE;
    vmlinux = btf__load_vmlinux_btf();
    if (vmlinux)
        id = btf__find_by_name_kind(vmlinux, "nf_conn", BTF_KIND_STRUCT);
    if (id > 0 && load_classifier(self, (guint32)id) == 0) {
        self->classifier_mode = "bpf_rdonly_cast";
        return TRUE;
    }
    err = load_classifier(self, 0);
    if (err) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_SUPPORTED,
                    "tc: the kernel refused the egress classifier fp_tc_classify: %s",
                    g_strerror(-err));
        return FALSE;
    }
    self->classifier_mode = "bpf_probe_read_kernel";
    return TRUE;
}

static guint64 read_speed(const char *name)
{
    g_autofree char *path = g_strdup_printf("/sys/class/net/%s/speed", name);
    g_autofree char *text = NULL;
    gint64 v;

    /* -1, or EINVAL on read, when the device has no speed. */
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    v = g_ascii_strtoll(g_strstrip(text), NULL, 10);
    return v > 0 ? (guint64)v : 0;
}

/**
 * fp_tc_read_device:
 * @tc: a #FpTc
 * @name: a device name
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): what the device has now (ifindex 0
 * when it does not exist); %NULL when rtnetlink failed
 */
FpEgressDevice *fp_tc_read_device(FpTc *self, const char *name, GError **error)
{
    g_autoptr(FpEgressDevice) dev = fp_egress_device_new(name);
    g_autoptr(FpNlCache) cache = NULL;
    gboolean found_root = FALSE;
    int err;

    dev->ifindex = if_nametoindex(name);
    if (!dev->ifindex)
        return g_steal_pointer(&dev);
    dev->speed_mbit = read_speed(name);
    err = rtnl_qdisc_alloc_cache(self->sock, &cache);
    if (err < 0) {
        set_nl_error(error, name, "list qdiscs", err);
        return NULL;
    }
    dev->children_default = TRUE;
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_tc *tc = TC_CAST(o);

        if ((guint32)rtnl_tc_get_ifindex(tc) != dev->ifindex || rtnl_tc_get_parent(tc) != TC_H_ROOT)
            continue;
        dev->root_kind = g_strdup(rtnl_tc_get_kind(tc));
        dev->root_handle = rtnl_tc_get_handle(tc);
        found_root = TRUE;
    }
    if (!found_root) /* a device that is down has the noop qdisc, not dumped */
        dev->root_kind = g_strdup("noop");
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_tc *tc = TC_CAST(o);
        guint32 parent = rtnl_tc_get_parent(tc);

        if ((guint32)rtnl_tc_get_ifindex(tc) == dev->ifindex && parent != TC_H_ROOT &&
            TC_H_MAJ(parent) == TC_H_MAJ(dev->root_handle) && TC_H_MAJ(rtnl_tc_get_handle(tc)))
            dev->children_default = FALSE;
    }
    dev->root_ours = g_strcmp0(dev->root_kind, "htb") == 0 && dev->root_handle == FP_TC_CLASSID(0);
    return g_steal_pointer(&dev);
}

/**
 * fp_tc_root_to_string:
 * @dev: a device as fp_tc_read_device() read it
 *
 * Returns: (transfer full): its root qdisc, "noqueue 0:"
 */
char *fp_tc_root_to_string(const FpEgressDevice *dev)
{
    return g_strdup_printf("%s %x:", dev->root_kind ? dev->root_kind : "none",
                           dev->root_handle >> 16);
}

/**
 * fp_tc_default_egress:
 * @tc: a #FpTc
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the devices of the main table's default
 * routes, IPv4 and IPv6 (every nexthop), each once
 */
char **fp_tc_default_egress(FpTc *self, GError **error)
{
    g_autoptr(FpNlCache) cache = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    int err = rtnl_route_alloc_cache(self->sock, AF_UNSPEC, 0, &cache);

    if (err < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "tc: cannot list routes: %s", nl_geterror(err));
        return NULL;
    }
    for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
        struct rtnl_route *r = (struct rtnl_route *)o;
        struct nl_addr *dst = rtnl_route_get_dst(r);

        if (rtnl_route_get_table(r) != RT_TABLE_MAIN || rtnl_route_get_type(r) != RTN_UNICAST ||
            (dst && nl_addr_get_prefixlen(dst) != 0))
            continue;
        for (int i = 0; i < rtnl_route_get_nnexthops(r); i++) {
            char name[IF_NAMESIZE];
            int ifindex = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(r, i));

            if (ifindex > 0 && if_indextoname((unsigned)ifindex, name) &&
                !g_ptr_array_find_with_equal_func(names, name, g_str_equal, NULL))
                g_ptr_array_add(names, g_strdup(name));
        }
    }
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static int add_class(FpTc *self, guint32 ifindex, guint32 parent, guint32 classid, guint64 rate,
                     guint64 ceil, guint prio, guint quantum)
{
    g_autoptr(FpRtnlClass) cl = rtnl_class_alloc();
    struct rtnl_tc *tc = TC_CAST(cl);
    int err;

    rtnl_tc_set_ifindex(tc, (int)ifindex);
    rtnl_tc_set_parent(tc, parent);
    rtnl_tc_set_handle(tc, classid);
    err = rtnl_tc_set_kind(tc, "htb");
    /* libnl's HTB rates are bytes/s; the plan's bits/s. */
    if (err >= 0)
        err = rtnl_htb_set_rate64(cl, rate / 8);
    if (err >= 0)
        err = rtnl_htb_set_ceil64(cl, ceil / 8);
    /* Buckets of 1 ms at each rate plus a packet, as tc's default with a
     * 1000 Hz clock; libnl's own default (rate / psched Hz + MTU) is one
     * packet now that psched counts nanoseconds. */
    if (err >= 0)
        err = rtnl_htb_set_rbuffer(cl, (guint32)MIN(rate / 8 / 1000 + BUCKET_PACKET, G_MAXUINT32));
    if (err >= 0)
        err = rtnl_htb_set_cbuffer(cl, (guint32)MIN(ceil / 8 / 1000 + BUCKET_PACKET, G_MAXUINT32));
    if (err >= 0)
        err = rtnl_htb_set_prio(cl, prio);
    if (err >= 0 && quantum)
        err = rtnl_htb_set_quantum(cl, quantum);
    if (err >= 0)
        err = rtnl_class_add(self->sock, cl, NLM_F_CREATE);
    return err;
}

/*
 * [tuning] split_gso: each slot's leaf is a TBF whose bucket is about two
 * full-size frames and whose rate is far above the device's (it never holds
 * anything back: the HTB classes above it do the shaping).  The bucket must
 * hold a whole segment with its headers, or TBF drops what it cannot
 * segment small enough (libnl's conversion to ticks makes the kernel's
 * burst about 3/4 of the bucket asked: 4096 gives about 3 KB).  A TBF splits a GSO packet
 * bigger than its bucket into its segments when it is enqueued
 * (tbf_segment), so the demoted band leaves the host MTU by MTU and a far
 * FIFO (a switch port, a slower link) holds no 64 KB packet of an elephant
 * in front of a latency VM's.  It costs the host CPU (the segmentation),
 * hence off by default.  Without it the leaves are HTB's default FIFOs; a
 * TBF of an earlier configuration is deleted (HTB gives the class its
 * default FIFO back).
 */
#define SEGMENT_BUCKET 4096

static int set_slot_leaves(FpTc *self, const FpPlanDevice *d)
{
    g_autoptr(FpNlCache) qdiscs = NULL;
    int err = 0;

    if (d->split_gso) {
        /* TBF's rate is an int of bytes/s in libnl: up to 17 Gbit/s, and
         * at least 16 times the device's rate where that fits. */
        gint64 rate = MIN((gint64)(d->rate_bps / 8) * 16, (gint64)G_MAXINT32);
        /* The queue: 100 ms of the device's rate, at least 1.5 MB. */
        gint64 limit = MIN(MAX((gint64)(d->rate_bps / 80), 1500000), (gint64)G_MAXINT32);

        for (guint s = 1; err >= 0 && s <= d->slots; s++) {
            g_autoptr(FpRtnlQdisc) q = rtnl_qdisc_alloc();
            struct rtnl_tc *tc = TC_CAST(q);

            rtnl_tc_set_ifindex(tc, (int)d->ifindex);
            rtnl_tc_set_parent(tc, fp_plan_slot_classid(s));
            err = rtnl_tc_set_kind(tc, "tbf");
            if (err >= 0) {
                rtnl_qdisc_tbf_set_limit(q, (int)limit);
                rtnl_qdisc_tbf_set_rate(q, (int)rate, SEGMENT_BUCKET, 0);
                err = rtnl_qdisc_add(self->sock, q, NLM_F_CREATE | NLM_F_REPLACE);
            }
        }
        return err;
    }
    err = rtnl_qdisc_alloc_cache(self->sock, &qdiscs);
    for (struct nl_object *o = err >= 0 ? nl_cache_get_first(qdiscs) : NULL; err >= 0 && o;
         o = nl_cache_get_next(o)) {
        struct rtnl_tc *tc = TC_CAST(o);
        guint32 parent = rtnl_tc_get_parent(tc);

        if (rtnl_tc_get_ifindex(tc) == (int)d->ifindex && TC_H_MAJ(parent) == FP_TC_CLASSID(0) &&
            TC_H_MIN(parent) > FP_TC_MINOR_SLOT && g_strcmp0(rtnl_tc_get_kind(tc), "tbf") == 0)
            err = rtnl_qdisc_delete(self->sock, (struct rtnl_qdisc *)o);
    }
    return err;
}

/* Whether every slot's leaf is a TBF (split_gso), or none is. */
static gboolean check_slot_leaves(FpTc *self, const FpPlanDevice *d, GError **error)
{
    g_autoptr(FpNlCache) qdiscs = NULL;
    guint tbf = 0;
    int err = rtnl_qdisc_alloc_cache(self->sock, &qdiscs);

    if (err < 0) {
        set_nl_error(error, d->name, "list qdiscs", err);
        return FALSE;
    }
    for (struct nl_object *o = nl_cache_get_first(qdiscs); o; o = nl_cache_get_next(o)) {
        struct rtnl_tc *tc = TC_CAST(o);
        guint32 parent = rtnl_tc_get_parent(tc);

        if (rtnl_tc_get_ifindex(tc) == (int)d->ifindex && TC_H_MAJ(parent) == FP_TC_CLASSID(0) &&
            TC_H_MIN(parent) > FP_TC_MINOR_SLOT &&
            TC_H_MIN(parent) <= FP_TC_MINOR_SLOT + d->slots &&
            g_strcmp0(rtnl_tc_get_kind(tc), "tbf") == 0)
            tbf++;
    }
    if (tbf != (d->split_gso ? d->slots : 0)) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO,
                    "device '%s': %u of %u slot leaves read back as tbf, wanted %u", d->name, tbf,
                    d->slots, d->split_gso ? d->slots : 0);
        return FALSE;
    }
    return TRUE;
}

/* libbpf refuses options whose padding is not zero: memset, not an
 * initializer (which leaves padding unspecified). */
static void tc_hook(struct bpf_tc_hook *hook, guint32 ifindex)
{
    memset(hook, 0, sizeof(*hook));
    hook->sz = sizeof(*hook);
    hook->ifindex = (int)ifindex;
    hook->attach_point = BPF_TC_CUSTOM;
    hook->parent = FP_TC_CLASSID(0);
}

static void tc_opts(struct bpf_tc_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->sz = sizeof(*opts);
    opts->handle = FP_TC_FILTER_HANDLE;
    opts->priority = FP_TC_FILTER_PRIO;
}

/*
 * The cls_bpf filter on fd00:, in direct-action mode, by hand: libbpf's
 * bpf_tc_attach() cannot give it a classid, and in direct-action mode the
 * class a program picks is the filter's classid major | skb->tc_classid,
 * which holds a minor only (16 bits of the qdisc's control block).
 */
static int attach_classifier(FpTc *self, guint32 ifindex)
{
    struct nl_msg *msg = nlmsg_alloc_simple(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_REPLACE);
    struct tcmsg t = {
        .tcm_family = AF_UNSPEC,
        .tcm_ifindex = (int)ifindex,
        .tcm_handle = FP_TC_FILTER_HANDLE,
        .tcm_parent = FP_TC_CLASSID(0),
        .tcm_info = TC_H_MAKE((guint32)FP_TC_FILTER_PRIO << 16, htons(ETH_P_ALL)),
    };
    struct nlattr *opts;
    int err;

    if (!msg)
        return -NLE_NOMEM;
    err = nlmsg_append(msg, &t, sizeof(t), NLMSG_ALIGNTO);
    if (err >= 0)
        err = nla_put_string(msg, TCA_KIND, "bpf");
    opts = err >= 0 ? nla_nest_start(msg, TCA_OPTIONS) : NULL;
    if (!opts)
        err = -NLE_NOMEM;
    if (err >= 0)
        err = nla_put_u32(msg, TCA_BPF_FD,
                          (guint32)bpf_program__fd(self->skel->progs.fp_tc_classify));
    if (err >= 0)
        err = nla_put_string(msg, TCA_BPF_NAME, "fp_tc_classify");
    if (err >= 0)
        err = nla_put_u32(msg, TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT);
    if (err >= 0)
        err = nla_put_u32(msg, TCA_BPF_CLASSID, FP_TC_CLASSID(0));
    if (err >= 0)
        err = nla_nest_end(msg, opts);
    if (err >= 0)
        err = nl_send_auto(self->sock, msg);
    nlmsg_free(msg);
    if (err >= 0)
        err = nl_wait_for_ack(self->sock);
    return err;
}

/**
 * fp_tc_apply:
 * @tc: a #FpTc
 * @device: a managed device of the plan, to be shaped
 * @error: return location for a #GError
 *
 * Puts footprintd's tree on the device, or brings its rates and slots to
 * the plan's: our root qdisc (replacing the kernel's default: journal it
 * first), the classes, the classifier.  Slot leaves beyond the plan's are
 * deleted.
 */
gboolean fp_tc_apply(FpTc *self, const FpPlanDevice *d, GError **error)
{
    g_autoptr(FpEgressDevice) now = NULL;
    g_autoptr(FpNlCache) classes = NULL;
    guint32 top = FP_TC_CLASSID(FP_TC_MINOR_TOP), demoted = FP_TC_CLASSID(FP_TC_MINOR_DEMOTED);
    int err;

    if (!fp_tc_prepare(self, error))
        return FALSE;
    now = fp_tc_read_device(self, d->name, error);
    if (!now)
        return FALSE;
    if (now->ifindex != d->ifindex) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "device '%s': gone (ifindex %u, was %u)",
                    d->name, now->ifindex, d->ifindex);
        return FALSE;
    }
    if (!now->root_ours && !fp_egress_device_adoptable(now)) {
        g_autofree char *root = fp_tc_root_to_string(now);

        /* Someone configured it since the plan was made: theirs now. */
        g_set_error(error, FP_ERROR, FP_ERROR_FAILED,
                    "device '%s': root qdisc %s is someone else's: left alone", d->name, root);
        return FALSE;
    }
    if (!now->root_ours) {
        g_autoptr(FpRtnlQdisc) q = rtnl_qdisc_alloc();
        struct rtnl_tc *tc = TC_CAST(q);

        rtnl_tc_set_ifindex(tc, (int)d->ifindex);
        rtnl_tc_set_parent(tc, TC_H_ROOT);
        rtnl_tc_set_handle(tc, FP_TC_CLASSID(0));
        err = rtnl_tc_set_kind(tc, "htb");
        if (err >= 0)
            err = rtnl_htb_set_defcls(q, FP_TC_MINOR_NORMAL);
        if (err >= 0)
            err = rtnl_qdisc_add(self->sock, q, NLM_F_CREATE | NLM_F_REPLACE);
        if (err < 0) {
            set_nl_error(error, d->name, "add the htb root qdisc fd00:", err);
            return FALSE;
        }
    }
    err = add_class(self, d->ifindex, FP_TC_CLASSID(0), top, d->rate_bps, d->rate_bps, 0,
                    SLOT_QUANTUM);
    if (err >= 0)
        err = add_class(self, d->ifindex, top, FP_TC_CLASSID(FP_TC_MINOR_NORMAL), d->normal_bps,
                        d->rate_bps, 0, SLOT_QUANTUM);
    if (err >= 0)
        err =
            add_class(self, d->ifindex, top, demoted, d->demoted_bps, d->rate_bps, 1, SLOT_QUANTUM);
    for (guint s = 1; err >= 0 && s <= d->slots; s++)
        err = add_class(self, d->ifindex, demoted, fp_plan_slot_classid(s), d->slot_bps,
                        d->rate_bps, 1, SLOT_QUANTUM);
    if (err < 0) {
        set_nl_error(error, d->name, "add footprintd's htb classes", err);
        return FALSE;
    }
    /* Slots of an earlier configuration with more of them. */
    err = rtnl_class_alloc_cache(self->sock, (int)d->ifindex, &classes);
    for (struct nl_object *o = err >= 0 ? nl_cache_get_first(classes) : NULL; o;
         o = nl_cache_get_next(o)) {
        guint32 h = rtnl_tc_get_handle(TC_CAST(o));

        if (TC_H_MAJ(h) == FP_TC_CLASSID(0) && TC_H_MIN(h) > FP_TC_MINOR_SLOT + d->slots)
            err = rtnl_class_delete(self->sock, (struct rtnl_class *)o);
    }
    if (err < 0) {
        set_nl_error(error, d->name, "remove old slot classes", err);
        return FALSE;
    }
    err = set_slot_leaves(self, d);
    if (err < 0) {
        set_nl_error(error, d->name,
                     d->split_gso ? "add the slots' tbf leaves" : "remove tbf leaves", err);
        return FALSE;
    }
    err = attach_classifier(self, d->ifindex);
    if (err < 0) {
        set_nl_error(error, d->name, "attach the classifier to fd00:", err);
        return FALSE;
    }
    return TRUE;
}

/* One class as the kernel has it, against what the plan wants. */
static gboolean check_class(struct nl_cache *classes, const FpPlanDevice *d, guint32 classid,
                            guint32 parent, guint64 rate, GError **error)
{
    for (struct nl_object *o = nl_cache_get_first(classes); o; o = nl_cache_get_next(o)) {
        struct rtnl_class *cl = (struct rtnl_class *)o;
        guint32 got_parent = rtnl_tc_get_parent(TC_CAST(cl));
        guint64 got = 0, ceil = 0;

        if (rtnl_tc_get_handle(TC_CAST(cl)) != classid)
            continue;
        rtnl_htb_get_rate64(cl, &got);
        rtnl_htb_get_ceil64(cl, &ceil);
        /* The kernel reports the class under the root qdisc as the root's. */
        if (got_parent == TC_H_ROOT && TC_H_MIN(parent) == 0)
            got_parent = parent;
        if (got_parent == parent && got == rate / 8 && ceil == d->rate_bps / 8)
            return TRUE;
        g_set_error(error, FP_ERROR, FP_ERROR_IO,
                    "device '%s': class %x:%x reads back parent %x:%x rate %" G_GUINT64_FORMAT
                    " ceil %" G_GUINT64_FORMAT " bytes/s, not parent %x:%x rate %" G_GUINT64_FORMAT
                    " ceil %" G_GUINT64_FORMAT,
                    d->name, classid >> 16, classid & 0xffff, got_parent >> 16, got_parent & 0xffff,
                    got, ceil, parent >> 16, parent & 0xffff, rate / 8, d->rate_bps / 8);
        return FALSE;
    }
    g_set_error(error, FP_ERROR, FP_ERROR_IO, "device '%s': class %x:%x is missing", d->name,
                classid >> 16, classid & 0xffff);
    return FALSE;
}

/**
 * fp_tc_verify:
 * @tc: a #FpTc
 * @device: a device fp_tc_apply() shaped
 * @error: return location for a #GError
 *
 * Reads the tree back from the kernel: our root, every class with the
 * plan's rates, our classifier on fd00:.
 */
gboolean fp_tc_verify(FpTc *self, const FpPlanDevice *d, GError **error)
{
    g_autoptr(FpEgressDevice) now = fp_tc_read_device(self, d->name, error);
    g_autoptr(FpNlCache) classes = NULL;
    struct bpf_tc_hook hook;
    struct bpf_tc_opts opts;
    struct bpf_prog_info info = {0};
    __u32 len = sizeof(info);
    guint32 top = FP_TC_CLASSID(FP_TC_MINOR_TOP), demoted = FP_TC_CLASSID(FP_TC_MINOR_DEMOTED);
    int err;

    tc_hook(&hook, d->ifindex);
    tc_opts(&opts);
    if (!now)
        return FALSE;
    if (!now->root_ours) {
        g_autofree char *root = fp_tc_root_to_string(now);

        g_set_error(error, FP_ERROR, FP_ERROR_IO,
                    "device '%s': root qdisc reads back %s, not htb "
                    "fd00:",
                    d->name, root);
        return FALSE;
    }
    err = rtnl_class_alloc_cache(self->sock, (int)d->ifindex, &classes);
    if (err < 0) {
        set_nl_error(error, d->name, "list classes", err);
        return FALSE;
    }
    if (!check_class(classes, d, top, FP_TC_CLASSID(0), d->rate_bps, error) ||
        !check_class(classes, d, FP_TC_CLASSID(FP_TC_MINOR_NORMAL), top, d->normal_bps, error) ||
        !check_class(classes, d, demoted, top, d->demoted_bps, error))
        return FALSE;
    for (guint s = 1; s <= d->slots; s++)
        if (!check_class(classes, d, fp_plan_slot_classid(s), demoted, d->slot_bps, error))
            return FALSE;
    if (!check_slot_leaves(self, d, error))
        return FALSE;
    err = bpf_tc_query(&hook, &opts);
    if (!err && self->skel)
        err =
            bpf_obj_get_info_by_fd(bpf_program__fd(self->skel->progs.fp_tc_classify), &info, &len);
    if (err || !self->skel || opts.prog_id != info.id) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO,
                    "device '%s': the classifier on fd00: reads back program %u, not ours (%u)%s%s",
                    d->name, opts.prog_id, info.id, err ? ": " : "", err ? g_strerror(-err) : "");
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_tc_remove:
 * @tc: a #FpTc
 * @name: a device
 * @removed: (out) (optional): whether our tree was there and is gone
 * @error: return location for a #GError
 *
 * Deletes footprintd's root qdisc (classes and classifier with it), if the
 * device has it; anything else is left alone.  The kernel attaches its
 * default root qdisc again.
 */
gboolean fp_tc_remove(FpTc *self, const char *name, gboolean *removed, GError **error)
{
    g_autoptr(FpEgressDevice) now = fp_tc_read_device(self, name, error);
    g_autoptr(FpRtnlQdisc) q = NULL;
    int err;

    if (removed)
        *removed = FALSE;
    if (!now)
        return FALSE;
    if (!now->ifindex || !now->root_ours)
        return TRUE;
    q = rtnl_qdisc_alloc();
    rtnl_tc_set_ifindex(TC_CAST(q), (int)now->ifindex);
    rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
    rtnl_tc_set_handle(TC_CAST(q), FP_TC_CLASSID(0));
    err = rtnl_qdisc_delete(self->sock, q);
    if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) {
        set_nl_error(error, name, "delete the htb root qdisc fd00:", err);
        return FALSE;
    }
    if (removed)
        *removed = err >= 0;
    return TRUE;
}

/**
 * fp_tc_set_vms:
 * @tc: a #FpTc
 * @slots: (element-type guint guint): ifindex → slot of the VMs demoted
 *     as a whole
 * @error: return location for a #GError
 *
 * Makes the classifier's map hold exactly @slots.
 */
gboolean fp_tc_set_vms(FpTc *self, GHashTable *slots, GError **error)
{
    GHashTableIter it;
    gpointer k, v;
    guint32 key, next;
    int fd, found, err = 0;

    if (!self->skel && g_hash_table_size(slots) == 0)
        return TRUE;
    if (!fp_tc_prepare(self, error))
        return FALSE;
    g_assert(self->skel); /* what fp_tc_prepare() returned TRUE for */
    fd = bpf_map__fd(self->skel->maps.fp_tc_vms);
    /* The next key before deleting this one (deleting first restarts the walk). */
    found = bpf_map_get_next_key(fd, NULL, &key);
    while (found == 0 && err == 0) {
        found = bpf_map_get_next_key(fd, &key, &next);
        if (!g_hash_table_contains(slots, GUINT_TO_POINTER(key)))
            err = bpf_map_delete_elem(fd, &key);
        key = next;
    }
    g_hash_table_iter_init(&it, slots);
    while (err == 0 && g_hash_table_iter_next(&it, &k, &v)) {
        guint32 ifindex = GPOINTER_TO_UINT(k), slot = GPOINTER_TO_UINT(v);

        err = bpf_map_update_elem(fd, &ifindex, &slot, BPF_ANY);
    }
    if (err) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "tc: cannot update fp_tc_vms: %s",
                    g_strerror(errno));
        return FALSE;
    }
    self->skel->bss->vms_demoted = g_hash_table_size(slots);
    return TRUE;
}

static gboolean tc_undo(gpointer knob, const FpJournalEntry *e, GError **error)
{
    return fp_tc_remove(knob, e->object, NULL, error);
}

const FpKnobClass fp_tc_knob = {
    .name = "tc",
    .undo = tc_undo,
};
