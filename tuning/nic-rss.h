/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nic-rss: the "rss" knob, a host NIC's RSS indirection table (which RX
 * queue each hash slot delivers to), with what the plan needs to compute
 * the slot of a flow: the hash function, the key and the fields hashed
 * per flow type.
 *
 * Read and written through the SIOCETHTOOL ioctl (ETHTOOL_GRSSH,
 * ETHTOOL_GRXFH, ETHTOOL_GRXRINGS; ETHTOOL_SRXFHINDIR), not ethtool
 * netlink: ETHTOOL_MSG_RSS_GET came in Linux 6.2 and ETHTOOL_MSG_RSS_SET
 * in 6.17, so Debian 12's own kernel (6.1) has neither, while the ioctl
 * reaches the same driver operations (get_rxfh/set_rxfh) on every kernel.
 * SRXFHINDIR writes the table alone: the key and the hash function are
 * never touched.
 *
 * The journal names a table by its device; the value is the table as
 * text, one queue number per slot separated by spaces.
 */
#pragma once

#include <glib.h>

#include "journal.h"

G_BEGIN_DECLS

/* The flow types whose hashed fields are read, in FpNicRss.fields. */
typedef enum {
    FP_RSS_TCP4,
    FP_RSS_UDP4,
    FP_RSS_TCP6,
    FP_RSS_UDP6,
    FP_RSS_N_TYPES,
} FpRssFlowType;

/* The bits of FpNicRss.fields the plan uses (linux/ethtool.h's RXH_*). */
#define FP_RSS_IP_SRC (1u << 4)
#define FP_RSS_IP_DST (1u << 5)
#define FP_RSS_L4_0_1 (1u << 6)
#define FP_RSS_L4_2_3 (1u << 7)
/* FpNicRss.hfunc: Toeplitz (ETH_RSS_HASH_TOP). */
#define FP_RSS_HASH_TOP 1u

/**
 * FpNicRss:
 * @device: the NIC
 * @n_rx: its RX rings (what a slot may point at)
 * @size: slots in its indirection table
 * @indir: (array length=size): the table
 * @key: (array length=key_len): the hash key
 * @key_len: its length, 0 when the NIC shows none
 * @hfunc: the hash function in use, ETH_RSS_HASH_* bits (FP_RSS_HASH_TOP)
 * @fields: per #FpRssFlowType, the fields hashed (RXH_* bits, 0 unknown)
 * @text: @indir as the journal keeps it
 */
typedef struct {
    char *device;
    guint n_rx;
    guint size;
    guint32 *indir;
    guint8 *key;
    guint key_len;
    guint32 hfunc;
    guint32 fields[FP_RSS_N_TYPES];
    char *text;
} FpNicRss;

FpNicRss *fp_nic_rss_new(const char *device, const guint32 *indir, guint size);
void fp_nic_rss_free(FpNicRss *rss);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNicRss, fp_nic_rss_free)
char *fp_nic_rss_table_to_text(const guint32 *indir, guint size);
guint32 *fp_nic_rss_table_parse(const char *text, guint *size, GError **error);
FpNicRss *fp_nic_rss_read(const char *device, GError **error);
gboolean fp_nic_rss_write(const char *device, const char *table, gboolean *gone, GError **error);

extern const FpKnobClass fp_nic_rss_knob;

G_END_DECLS
