/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "flow-table.h"

struct nlmsghdr;
struct nfnl_ct;

/* Under [agent] runtime_dir: nf_conntrack_acct as it was before we turned
 * it on, until it is put back. */
#define FP_CONNTRACK_ACCT_SAVED "nf_conntrack_acct.saved"

/* One conntrack entry as ctnetlink reports it. */
typedef struct {
    FpFlowKey key;
    guint64 bytes[2];
    guint64 packets[2];
    gboolean has_counters; /* FALSE: created while nf_conntrack_acct was 0 */
} FpCtEntry;

typedef void (*FpCtFunc)(const FpCtEntry *entry, gpointer user_data);

typedef struct _FpConntrack FpConntrack;

struct nfnl_ct *fp_conntrack_ct_from_key(const FpFlowKey *key);
gboolean fp_conntrack_decode(struct nlmsghdr *nlh, FpCtEntry *entry, GError **error);

FpConntrack *fp_conntrack_new(GError **error);
void fp_conntrack_free(FpConntrack *ct);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpConntrack, fp_conntrack_free)
gboolean fp_conntrack_dump(FpConntrack *ct, FpCtFunc func, gpointer user_data, GError **error);
gboolean fp_conntrack_get(FpConntrack *ct, const FpFlowKey *key, FpCtEntry *entry, gboolean *found,
                          GError **error);
GSource *fp_conntrack_watch_destroy(FpConntrack *ct, FpCtFunc func, gpointer user_data,
                                    GError **error);
guint64 fp_conntrack_events_lost(FpConntrack *ct);

gboolean fp_conntrack_available(char **reason);
gboolean fp_conntrack_enable_acct(const char *runtime_dir, gboolean *changed, GError **error);
gboolean fp_conntrack_restore_acct(const char *runtime_dir, GError **error);
