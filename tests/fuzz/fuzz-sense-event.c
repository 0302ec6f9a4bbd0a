/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A BPF ring-buffer record as libbpf hands it to on_ringbuf_record() in
 * src/sense-bpf-netfilter.c: a pointer and a size, nothing else trusted.
 * An accepted record then goes where the daemon sends it: into the flow
 * table (ensure, devices, elephant mark) and through the formatting the CLI
 * and D-Bus use.
 */
#include "config.h"

#include "flow-table.h"
#include "fp-error.h"
#include "sense.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    g_autoptr(FpFlowTable) table = fp_flow_table_new(10 * 1024 * 1024, 10 * G_USEC_PER_SEC);
    g_autoptr(GPtrArray) flows = NULL;
    struct fp_event e;
    char src[64], dst[64], proto[16];
    FpFlow *flow;

    if (!fp_sense_decode_event(data, size, &e, error))
        return FALSE;
    flow = fp_flow_table_ensure(table, &e.key, 1, NULL);
    g_assert_nonnull(flow);
    fp_flow_table_set_devices(flow, e.in_ifindex, e.out_ifindex);
    fp_flow_table_mark_elephant(table, flow, FP_ELEPHANT_BY_BPF, (gint64)(e.ts_ns / 1000));
    g_assert_true(fp_flow_table_lookup(table, &e.key) == flow);
    fp_flow_key_format(&flow->key, src, sizeof(src), dst, sizeof(dst));
    g_assert_true(g_utf8_validate(src, -1, NULL) && g_utf8_validate(dst, -1, NULL));
    g_assert_nonnull(fp_flow_proto_name(flow->key.proto, proto, sizeof(proto)));
    flows = fp_flow_table_list(table);
    g_assert_cmpuint(flows->len, ==, 1);
    g_assert_true(fp_flow_table_remove(table, &e.key));
    return TRUE;
}
