/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "rss" knob (nic-rss.h): a NIC's RSS indirection table. */
#include "config.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fp-error.h"
#include "nic-rss.h"

/* Slots a table may have (drivers have 64 to 2048; the ioctl caps none). */
#define MAX_SLOTS 65536u
#define MAX_KEY 256u

/**
 * fp_nic_rss_new:
 * @device: a NIC
 * @indir: (array length=size): its table
 * @size: its slots
 *
 * Returns: (transfer full): a table with no key (the caller fills the rest)
 */
FpNicRss *fp_nic_rss_new(const char *device, const guint32 *indir, guint size)
{
    FpNicRss *r = g_new0(FpNicRss, 1);

    r->device = g_strdup(device);
    r->size = size;
    r->indir = g_memdup2(indir, sizeof(guint32) * size);
    r->text = fp_nic_rss_table_to_text(indir, size);
    return r;
}

void fp_nic_rss_free(FpNicRss *rss)
{
    if (!rss)
        return;
    g_free(rss->device);
    g_free(rss->indir);
    g_free(rss->key);
    g_free(rss->text);
    g_free(rss);
}

/**
 * fp_nic_rss_table_to_text:
 * @indir: (array length=size): a table
 * @size: its slots
 *
 * Returns: (transfer full): "Q0 Q1 ...", one queue per slot
 */
char *fp_nic_rss_table_to_text(const guint32 *indir, guint size)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < size; i++)
        g_string_append_printf(s, "%s%u", i ? " " : "", indir[i]);
    return g_string_free(s, FALSE);
}

/**
 * fp_nic_rss_table_parse:
 * @text: a table as fp_nic_rss_table_to_text() writes it
 * @size: (out): its slots
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the table, %NULL with
 * %FP_ERROR_INVALID when @text is not one
 */
guint32 *fp_nic_rss_table_parse(const char *text, guint *size, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(text, " ", -1);
    guint n = g_strv_length(parts);
    g_autofree guint32 *indir = NULL;

    if (!*text || n > MAX_SLOTS) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "rss: not an indirection table ('%.40s')",
                    text);
        return NULL;
    }
    indir = g_new(guint32, n);
    for (guint i = 0; i < n; i++) {
        guint64 q;

        if (!g_ascii_string_to_unsigned(parts[i], 10, 0, 65535, &q, NULL)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "rss: slot %u of the indirection table is '%.16s', not a queue", i,
                        parts[i]);
            return NULL;
        }
        indir[i] = (guint32)q;
    }
    *size = n;
    return g_steal_pointer(&indir);
}

static int ethtool(int fd, const char *device, void *data)
{
    struct ifreq ifr = {0};

    g_strlcpy(ifr.ifr_name, device, sizeof(ifr.ifr_name));
    ifr.ifr_data = data;
    return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : 0;
}

static gboolean bad_name(const char *device, GError **error)
{
    if (!*device || strlen(device) >= IFNAMSIZ || strchr(device, '/')) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "rss: '%s' is not a device name", device);
        return TRUE;
    }
    return FALSE;
}

/**
 * fp_nic_rss_read:
 * @device: a NIC
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): its table, key, hash function and
 * hashed fields; %NULL with %FP_ERROR_NOT_FOUND when there is no such
 * device, %FP_ERROR_NOT_SUPPORTED when its driver has no RSS table
 */
FpNicRss *fp_nic_rss_read(const char *device, GError **error)
{
    static const guint32 types[FP_RSS_N_TYPES] = {TCP_V4_FLOW, UDP_V4_FLOW, TCP_V6_FLOW,
                                                  UDP_V6_FLOW};
    struct ethtool_rxfh head = {.cmd = ETHTOOL_GRSSH};
    struct ethtool_rxnfc rings = {.cmd = ETHTOOL_GRXRINGS};
    g_autofree struct ethtool_rxfh *full = NULL;
    g_autoptr(FpNicRss) r = NULL;
    int fd, e;

    if (bad_name(device, error))
        return NULL;
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "rss: socket: %s", g_strerror(errno));
        return NULL;
    }
    e = ethtool(fd, device, &head);
    if (!e && (head.indir_size == 0 || head.indir_size > MAX_SLOTS || head.key_size > MAX_KEY))
        e = -EOPNOTSUPP;
    if (!e) {
        full = g_malloc0(sizeof(*full) + head.indir_size * sizeof(guint32) + head.key_size);
        full->cmd = ETHTOOL_GRSSH;
        full->indir_size = head.indir_size;
        full->key_size = head.key_size;
        e = ethtool(fd, device, full);
    }
    if (!e)
        e = ethtool(fd, device, &rings);
    if (e) {
        close(fd);
        g_set_error(error, FP_ERROR,
                    e == -ENODEV       ? FP_ERROR_NOT_FOUND
                    : e == -EOPNOTSUPP ? FP_ERROR_NOT_SUPPORTED
                                       : FP_ERROR_IO,
                    "nic '%s': cannot read its RSS indirection table: %s", device,
                    e == -EOPNOTSUPP ? "its driver has none" : g_strerror(-e));
        return NULL;
    }
    r = fp_nic_rss_new(device, full->rss_config, full->indir_size);
    r->n_rx = (guint)rings.data;
    r->hfunc = full->hfunc;
    if (full->key_size) {
        r->key_len = full->key_size;
        r->key = g_memdup2((guint8 *)(full->rss_config + full->indir_size), full->key_size);
    }
    for (guint t = 0; t < FP_RSS_N_TYPES; t++) {
        struct ethtool_rxnfc f = {.cmd = ETHTOOL_GRXFH, .flow_type = types[t]};

        if (ethtool(fd, device, &f) == 0)
            r->fields[t] = (guint32)f.data;
    }
    close(fd);
    return g_steal_pointer(&r);
}

/**
 * fp_nic_rss_write:
 * @device: a NIC
 * @table: its new indirection table (fp_nic_rss_table_to_text())
 * @gone: (out): the device is gone (nothing was written)
 * @error: return location for a #GError
 *
 * Writes the table alone (ETHTOOL_SRXFHINDIR): the key and the hash
 * function stay.  The table must have the size the NIC has now.
 *
 * Returns: %FALSE when the NIC refused it (%FP_ERROR_IO) or @table is not
 * one (%FP_ERROR_INVALID)
 */
gboolean fp_nic_rss_write(const char *device, const char *table, gboolean *gone, GError **error)
{
    g_autofree guint32 *indir = NULL;
    g_autofree struct ethtool_rxfh_indir *set = NULL;
    guint size;
    int fd, e;

    *gone = FALSE;
    if (bad_name(device, error))
        return FALSE;
    indir = fp_nic_rss_table_parse(table, &size, error);
    if (!indir)
        return FALSE;
    set = g_malloc0(sizeof(*set) + size * sizeof(guint32));
    set->cmd = ETHTOOL_SRXFHINDIR;
    /* Never 0: a size of 0 asks the driver for its default table. */
    set->size = size;
    memcpy(set->ring_index, indir, size * sizeof(guint32));
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "rss: socket: %s", g_strerror(errno));
        return FALSE;
    }
    e = ethtool(fd, device, set);
    close(fd);
    if (e == -ENODEV) {
        *gone = TRUE;
        return TRUE;
    }
    if (e) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO,
                    "nic '%s': cannot set its RSS indirection table (%u slots): %s", device, size,
                    g_strerror(-e));
        return FALSE;
    }
    return TRUE;
}

static gboolean rss_undo(gpointer knob G_GNUC_UNUSED, const FpJournalEntry *e, GError **error)
{
    gboolean gone;

    return fp_nic_rss_write(e->object, e->previous, &gone, error);
}

const FpKnobClass fp_nic_rss_knob = {
    .name = "rss",
    .undo = rss_undo,
};
