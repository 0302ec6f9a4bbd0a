/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A listing of every flow, a page at a time (see flow-listing.h).
 *
 * The conntrack part is a plain ctnetlink dump on a socket of the
 * listing's own.  The kernel fills a dump's next buffer only when the
 * previous one has been read (netlink_recvmsg() runs the dump callback),
 * and keeps the dump's position (hash bucket, last entry) between two
 * reads: so the dump advances only as pages are asked for, the kernel
 * holds at most a buffer or two of it, and an idle listing costs one
 * socket.  Every read finds its buffer ready (the first is filled when
 * the request is sent, each next one by the read before), so a page never
 * waits on the kernel; the reads are non-blocking all the same, and a
 * page stops after @budget_us so that one call never holds the main loop
 * long, even when a filter keeps few of the entries read.
 *
 * Conntrack entries do not carry the devices a flow crossed, which is
 * what attributes a followed flow (attribution.c).  An entry the agent
 * does not follow is attributed by its addresses: the addresses (and
 * zone) the followed flows showed on each side that is a VM interface.
 * An address no followed flow showed is not attributed (owner "unknown").
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "conntrack.h"
#include "flow-listing.h"
#include "fp-error.h"

/* The dump's buffers are at most 32 KiB (netlink's largest dump skb). */
#define DUMP_BUF_SIZE (64 * 1024)

/* See read_dump(). */
#define DUMP_SILENT_READS_MAX 50
/* See seen_just_before(). */
#define RECENT_KEYS 64

typedef enum {
    PHASE_FOLLOWED,
    PHASE_TABLE,
    PHASE_DONE,
} Phase;

struct _FpFlowListing {
    char *vm_uuid; /* (nullable): only flows with a side in this VM */
    gboolean elephants_only;
    Phase phase;
    FpFlowCursor after; /* the followed flows' page end */
    gboolean has_after;
    GHashTable *listed; /* FpFlowKey: the followed flows already listed */
    int fd;             /* the dump's socket, -1 before the table part */
    guint8 *buf;
    gsize buf_len, buf_off; /* unread messages of the last read */
    guint64 entries_read;
    /* The keys of the last entries read, and how many of the current
     * buffer's entries have been read: see seen_just_before(). */
    FpFlowKey recent[RECENT_KEYS];
    guint recent_next, buf_entries;
    guint silent_reads; /* reads in a row that found nothing */
    GHashTable *addrs;  /* AddrKey -> AddrPort, see addresses_of_vms() */
    gint64 addrs_us;    /* when it was made */
};

/* A VM interface by uuid and position: no pointer into a VM index, which
 * may change between two pages. */
typedef struct {
    char *uuid;
    guint iface_index;
} AddrPort;

/* The address map is made again after this long (the followed flows
 * change at each sweep; making it costs a walk of the flow table). */
#define ADDRS_MAX_AGE_US G_USEC_PER_SEC

/* One side's address, for attributing by address. */
typedef struct {
    guint8 addr[16];
    guint16 zone;
    guint8 family;
    guint8 pad;
} AddrKey;

static guint addr_hash(gconstpointer p)
{
    const guint8 *b = p;
    guint32 h = 2166136261u;

    for (gsize i = 0; i < sizeof(AddrKey); i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static gboolean addr_equal(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(AddrKey)) == 0;
}

static void addr_key(AddrKey *k, const FpFlowKey *key, gboolean dst)
{
    memset(k, 0, sizeof(*k));
    memcpy(k->addr, dst ? key->dst : key->src, sizeof(k->addr));
    k->zone = key->zone;
    k->family = key->family;
}

/**
 * fp_flow_listing_new:
 * @vm_uuid: (nullable): list only flows with a side in this VM
 * @elephants_only: list only elephants
 *
 * Returns: a listing that has read nothing yet
 */
FpFlowListing *fp_flow_listing_new(const char *vm_uuid, gboolean elephants_only)
{
    FpFlowListing *l = g_new0(FpFlowListing, 1);

    l->vm_uuid = g_strdup(vm_uuid);
    l->elephants_only = elephants_only;
    l->listed = g_hash_table_new_full(fp_flow_key_hash, fp_flow_key_equal, g_free, NULL);
    l->fd = -1;
    return l;
}

void fp_flow_listing_free(FpFlowListing *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    g_free(l->buf);
    g_hash_table_destroy(l->listed);
    g_clear_pointer(&l->addrs, g_hash_table_destroy);
    g_free(l->vm_uuid);
    g_free(l);
}

/**
 * fp_flow_listing_get_entries_read:
 * @listing: a listing
 *
 * Returns: the conntrack entries its dump has read so far
 */
guint64 fp_flow_listing_get_entries_read(FpFlowListing *l)
{
    return l->entries_read;
}

gboolean fp_flow_filter_match(const FpFlow *f, gpointer user_data)
{
    const FpFlowFilter *ff = user_data;
    FpFlowAttribution a;

    if (ff->elephants_only && f->elephant == FP_ELEPHANT_NONE)
        return FALSE;
    if (!ff->vm)
        return TRUE;
    fp_attribute_flow(ff->vms, f, &a);
    return fp_attribution_matches(&a, ff->vm);
}

static void add_followed(GArray *out, FpVmIndex *vms, const FpFlow *f)
{
    FpListedFlow lf = {.flow = *f, .followed = TRUE};

    if (vms)
        fp_attribute_flow(vms, f, &lf.attr);
    else
        lf.attr.owner = f->has_devices ? FP_OWNER_HOST : FP_OWNER_UNKNOWN;
    g_array_append_val(out, lf);
}

/* The followed flows' part of a page: biggest first, from where the last
 * page ended.  Moves on to the table once they are all listed. */
static void page_followed(FpFlowListing *l, FpFlowTable *table, const FpFlowFilter *ff, guint limit,
                          GArray *out)
{
    g_autoptr(GPtrArray) page = NULL;
    FpFlowCursor next;
    gboolean more = FALSE;

    page = fp_flow_table_page(table, fp_flow_filter_match, (gpointer)ff,
                              l->has_after ? &l->after : NULL, limit, &next, &more);
    for (guint i = 0; i < page->len; i++) {
        const FpFlow *f = g_ptr_array_index(page, i);

        add_followed(out, ff->vms, f);
        g_hash_table_add(l->listed, g_memdup2(&f->key, sizeof(f->key)));
    }
    if (more) {
        l->after = next;
        l->has_after = TRUE;
    } else {
        /* Every elephant is followed (the table always keeps them): an
         * elephants-only listing has nothing more to read. */
        l->phase = l->elephants_only ? PHASE_DONE : PHASE_TABLE;
    }
}

static void addr_port_free(gpointer p)
{
    AddrPort *a = p;

    g_free(a->uuid);
    g_free(a);
}

/* Each VM interface's addresses (and zones) as the followed flows show
 * them: the original direction's source on a sender's side, its
 * destination on a receiver's. */
static GHashTable *addresses_of_vms(FpFlowTable *table, FpVmIndex *vms)
{
    GHashTable *map = g_hash_table_new_full(addr_hash, addr_equal, g_free, addr_port_free);
    g_autoptr(GPtrArray) flows = fp_flow_table_list_unsorted(table);

    for (guint i = 0; i < flows->len; i++) {
        const FpFlow *f = g_ptr_array_index(flows, i);
        FpFlowAttribution a;

        if (!f->has_devices)
            continue;
        fp_attribute_flow(vms, f, &a);
        for (int side = 0; side < 2; side++) {
            const FpVmPort *port = side ? &a.dst : &a.src;
            AddrKey k;

            if (!port->vm)
                continue;
            addr_key(&k, &f->key, side);
            if (!g_hash_table_contains(map, &k)) {
                AddrPort *ap = g_new(AddrPort, 1);

                ap->uuid = g_strdup(port->vm->uuid);
                ap->iface_index = port->iface_index;
                g_hash_table_insert(map, g_memdup2(&k, sizeof(k)), ap);
            }
        }
    }
    return map;
}

static gboolean open_dump(FpFlowListing *l, GError **error)
{
    struct {
        struct nlmsghdr nlh;
        struct nfgenmsg nfg;
    } req = {
        .nlh =
            {
                .nlmsg_len = sizeof(req),
                .nlmsg_type = NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                .nlmsg_seq = 1,
            },
        .nfg = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0},
    };
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);

    if (fd < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_FAILED, "conntrack listing: cannot open socket: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
        int e = errno;

        close(fd);
        g_set_error(error, FP_ERROR, FP_ERROR_FAILED, "conntrack listing: cannot start dump: %s",
                    g_strerror(e));
        return FALSE;
    }
    l->fd = fd;
    l->buf = g_malloc(DUMP_BUF_SIZE);
    l->buf_len = l->buf_off = 0;
    return TRUE;
}

static void end_dump(FpFlowListing *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    g_clear_pointer(&l->buf, g_free);
    l->buf_len = l->buf_off = 0;
    l->phase = PHASE_DONE;
}

/* The next buffer of the dump.  FALSE with @error on an error; FALSE
 * without when nothing is ready now (the page ends, the listing goes on). */
static gboolean read_dump(FpFlowListing *l, GError **error)
{
    ssize_t n = recv(l->fd, l->buf, DUMP_BUF_SIZE, MSG_DONTWAIT | MSG_TRUNC);

    if (n < 0) {
        /* Each read has the kernel fill the next buffer before it returns,
         * so nothing to read is not expected: a dump that stays silent
         * page after page is given up rather than listed for ever. */
        if ((errno == EAGAIN || errno == EINTR) && ++l->silent_reads < DUMP_SILENT_READS_MAX)
            return FALSE;
        if (errno == EAGAIN || errno == EINTR) {
            g_set_error(error, FP_ERROR, FP_ERROR_FAILED,
                        "conntrack listing: the dump stopped answering (%u reads found "
                        "nothing)",
                        l->silent_reads);
            return FALSE;
        }
        g_set_error(error, FP_ERROR, FP_ERROR_FAILED, "conntrack listing: read: %s",
                    g_strerror(errno));
        return FALSE;
    }
    if (n > DUMP_BUF_SIZE) {
        g_set_error(error, FP_ERROR, FP_ERROR_FAILED,
                    "conntrack listing: a %zd-byte message in a %d-byte buffer", n, DUMP_BUF_SIZE);
        return FALSE;
    }
    l->buf_len = (gsize)n;
    l->buf_entries = 0;
    l->silent_reads = 0;
    l->buf_off = 0;
    return TRUE;
}

/* The VM interface @addrs has for one side of @key, in @vms now. */
static gboolean lookup_address(GHashTable *addrs, FpVmIndex *vms, const FpFlowKey *key,
                               gboolean dst, FpVmPort *port)
{
    const AddrPort *a;
    const FpVm *vm;
    AddrKey k;

    addr_key(&k, key, dst);
    a = g_hash_table_lookup(addrs, &k);
    if (!a || !(vm = fp_vm_index_find(vms, a->uuid)) || a->iface_index >= vm->interfaces->len)
        return FALSE;
    port->vm = vm;
    port->iface = g_ptr_array_index(vm->interfaces, a->iface_index);
    port->iface_index = a->iface_index;
    port->ifindex = fp_vm_index_get_ifindex(vms, a->uuid, a->iface_index);
    return TRUE;
}

/* The one entry @e as a flow of the listing, or FALSE when the filters
 * leave it out. */
static gboolean table_entry(FpFlowListing *l, FpFlowTable *table, const FpFlowFilter *ff,
                            GHashTable *addrs, const FpCtEntry *e, FpListedFlow *lf)
{
    const FpFlow *f;

    if (g_hash_table_contains(l->listed, &e->key))
        return FALSE; /* listed with the followed flows */
    f = fp_flow_table_lookup(table, &e->key);
    memset(lf, 0, sizeof(*lf));
    if (f) {
        /* Followed since its part was listed: the agent's view of it. */
        if (!fp_flow_filter_match(f, (gpointer)ff))
            return FALSE;
        lf->flow = *f;
        lf->followed = TRUE;
        if (ff->vms)
            fp_attribute_flow(ff->vms, f, &lf->attr);
        return TRUE;
    }
    if (ff->elephants_only)
        return FALSE;
    lf->flow.key = e->key;
    memcpy(lf->flow.bytes, e->bytes, sizeof(e->bytes));
    memcpy(lf->flow.packets, e->packets, sizeof(e->packets));
    lf->attr.owner = FP_OWNER_UNKNOWN;
    if (addrs) {
        lookup_address(addrs, ff->vms, &e->key, FALSE, &lf->attr.src);
        lookup_address(addrs, ff->vms, &e->key, TRUE, &lf->attr.dst);
        if (lf->attr.src.vm || lf->attr.dst.vm) {
            lf->attr.owner = FP_OWNER_VM;
            lf->by_address = TRUE;
        }
    }
    return !ff->vm || fp_attribution_matches(&lf->attr, ff->vm);
}

/* When the entry a dump buffer ended at is gone by the next read, the
 * kernel starts that hash bucket again (ctnetlink_dump_table()), and the
 * bucket's entries before it come a second time, at the start of the next
 * buffer.  They are among the last entries read: the first RECENT_KEYS of
 * each buffer are looked for in the last RECENT_KEYS read (a bucket holds
 * a handful).  Records @key as read. */
static gboolean seen_just_before(FpFlowListing *l, const FpFlowKey *key)
{
    gboolean seen = FALSE;

    if (l->buf_entries++ < RECENT_KEYS)
        for (guint i = 0; i < RECENT_KEYS && !seen; i++)
            seen = memcmp(&l->recent[i], key, sizeof(*key)) == 0;
    if (!seen) {
        l->recent[l->recent_next] = *key;
        l->recent_next = (l->recent_next + 1) % RECENT_KEYS;
    }
    return seen;
}

/* The table's part of a page: entries in the dump's order until @limit
 * flows are in @out or @deadline_us has passed. */
static gboolean page_table(FpFlowListing *l, FpFlowTable *table, const FpFlowFilter *ff,
                           guint limit, gint64 deadline_us, GArray *out, GError **error)
{
    gint64 now = g_get_monotonic_time();
    GHashTable *addrs = NULL;

    if (ff->vms) {
        if (!l->addrs || now - l->addrs_us >= ADDRS_MAX_AGE_US) {
            g_clear_pointer(&l->addrs, g_hash_table_destroy);
            l->addrs = addresses_of_vms(table, ff->vms);
            l->addrs_us = now;
        }
        addrs = l->addrs;
    }
    if (l->fd < 0 && !open_dump(l, error))
        return FALSE;
    while (out->len < limit) {
        struct nlmsghdr *nlh;

        if (l->buf_off >= l->buf_len) {
            GError *read_error = NULL;

            if (g_get_monotonic_time() >= deadline_us)
                return TRUE;
            if (!read_dump(l, &read_error)) {
                if (read_error) {
                    g_propagate_error(error, read_error);
                    return FALSE;
                }
                return TRUE;
            }
            continue;
        }
        nlh = (struct nlmsghdr *)(l->buf + l->buf_off);
        if (!NLMSG_OK(nlh, l->buf_len - l->buf_off)) {
            g_set_error(error, FP_ERROR, FP_ERROR_FAILED,
                        "conntrack listing: a truncated message in the dump");
            return FALSE;
        }
        l->buf_off += NLMSG_ALIGN(nlh->nlmsg_len);
        if (nlh->nlmsg_type == NLMSG_DONE) {
            int code = 0;

            /* A dump that failed half-way says so in its DONE. */
            if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(code)))
                memcpy(&code, NLMSG_DATA(nlh), sizeof(code));
            if (code < 0) {
                g_set_error(error, FP_ERROR, FP_ERROR_FAILED,
                            "conntrack listing: the dump ended with: %s", g_strerror(-code));
                return FALSE;
            }
            end_dump(l);
            return TRUE;
        }
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *err = NLMSG_DATA(nlh);
            int code = nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(*err)) ? -err->error : EPROTO;

            g_set_error(error, FP_ERROR, FP_ERROR_FAILED, "conntrack listing: dump: %s",
                        g_strerror(code));
            return FALSE;
        }
        if (nlh->nlmsg_type == (NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_NEW)) {
            g_autoptr(GError) decode_error = NULL;
            FpListedFlow lf;
            FpCtEntry e;

            l->entries_read++;
            if (!fp_conntrack_decode(nlh, &e, &decode_error)) {
                g_debug("%s", decode_error->message);
                continue;
            }
            if (!seen_just_before(l, &e.key) && table_entry(l, table, ff, addrs, &e, &lf))
                g_array_append_val(out, lf);
        }
    }
    return TRUE;
}

/**
 * fp_flow_listing_next:
 * @listing: a listing
 * @table: the agent's flow table
 * @vms: (nullable): the running VMs, to attribute and filter
 * @limit: at most this many flows (> 0)
 * @budget_us: stop reading the conntrack table after this long (the page
 *     may then be short, even empty, with the listing not done)
 * @out: (element-type FpListedFlow): the page's flows are appended here
 * @done: (out): whether the listing has ended (nothing after this page)
 * @error: return location for a #GError
 *
 * The listing's next page.  Fails when the listing's VM is no longer
 * running or the dump fails; the listing then ends.
 */
gboolean fp_flow_listing_next(FpFlowListing *l, FpFlowTable *table, FpVmIndex *vms, guint limit,
                              gint64 budget_us, GArray *out, gboolean *done, GError **error)
{
    FpFlowFilter ff = {vms, NULL, l->elephants_only};
    gint64 deadline = g_get_monotonic_time() + budget_us;
    guint start = out->len;

    g_return_val_if_fail(limit > 0, FALSE);
    *done = FALSE;
    if (l->vm_uuid) {
        ff.vm = vms ? fp_vm_index_find(vms, l->vm_uuid) : NULL;
        if (!ff.vm) {
            end_dump(l);
            *done = TRUE;
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "VM '%s' stopped during the listing",
                        l->vm_uuid);
            return FALSE;
        }
    }
    if (l->phase == PHASE_FOLLOWED)
        page_followed(l, table, &ff, limit, out);
    if (l->phase == PHASE_TABLE && out->len - start < limit &&
        !page_table(l, table, &ff, limit + start, deadline, out, error)) {
        end_dump(l);
        *done = TRUE;
        return FALSE;
    }
    *done = l->phase == PHASE_DONE;
    return TRUE;
}
