/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ctmark: the "ctmark" knob, footprintd's bits of a flow's conntrack mark,
 * read and written over ctnetlink.  A write names the mask
 * (CTA_MARK_MASK): the kernel keeps every other bit of the mark, in one
 * step, whoever set them.  A write never creates an entry.
 */
#pragma once

#include <glib.h>

#include "flow-table.h"
#include "journal.h"

G_BEGIN_DECLS

typedef struct _FpCtMark FpCtMark;

/**
 * FpCtMarkEntry:
 * @mark: the whole conntrack mark
 * @bytes: per direction, conntrack's byte counters (0 without
 *     nf_conntrack_acct)
 * @reply: the reply-direction tuple (after NAT: what a host NIC receives
 *     of an outbound flow), when @has_reply
 * @has_reply: conntrack gave it
 *
 * What the knob reads of one conntrack entry.
 */
typedef struct {
    guint32 mark;
    guint64 bytes[2];
    FpFlowKey reply;
    gboolean has_reply;
} FpCtMarkEntry;

FpCtMark *fp_ct_mark_new(guint32 mask, GError **error);
void fp_ct_mark_free(FpCtMark *ctmark);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpCtMark, fp_ct_mark_free)

guint32 fp_ct_mark_mask(FpCtMark *ctmark);
gboolean fp_ct_mark_read(FpCtMark *ctmark, const FpFlowKey *key, FpCtMarkEntry *entry,
                         gboolean *found, GError **error);
gboolean fp_ct_mark_write(FpCtMark *ctmark, const FpFlowKey *key, guint32 bits, gboolean *found,
                          GError **error);
char *fp_ct_mark_format(FpCtMark *ctmark, guint32 bits);

extern const FpKnobClass fp_ct_mark_knob;

G_END_DECLS
