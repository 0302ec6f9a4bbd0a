/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The D-Bus object footprintctl (and any other client) talks to.  The
 * interface is described in org.footprintd.Footprint1.xml, compiled in.
 */
#include "config.h"

#include <string.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "attribution.h"
#include "dbus.h"
#include "flow-listing.h"
#include "fp-error.h"
#include "introspection.h"
#include "tuner.h"
#include "vm-json.h"
#include "safe-text.h"

struct _FpDbus {
    GDBusConnection *connection;
    GDBusNodeInfo *node;
    guint registration;
    FpFlowTable *table;
    FpInventory *inventory;
    FpFootprints *learner;
    FpLibvirtPublisher *publisher;
    FpSnapshot *snapshot; /* the latest sweep's */
    FpTuner *tuner;
    FpSense *sense; /* (nullable): the kernel's per-device counters */
    /* The root-only methods' caller checks in flight: cancelled when the
     * object goes, so that a late answer from the bus finds it gone. */
    GCancellable *calls;
    /* Whole-table listings in progress (ListFlowsPage "all"), by id;
     * expired after FLOW_LISTING_IDLE_S without a page asked for. */
    GHashTable *listings;
    guint next_listing_id;
    GSource *listings_expiry;
    gint64 listing_page_max_us; /* the longest page of such a listing */
};

static gboolean tuning_method_call(FpDbus *self, const char *sender, const char *method,
                                   GVariant *params, GDBusMethodInvocation *invocation);

static void add_dev(GVariantBuilder *b, const char *key, guint32 ifindex)
{
    char name[IF_NAMESIZE];

    /* The kernel's names need not be UTF-8. */
    if (ifindex && if_indextoname(ifindex, name))
        g_variant_builder_add(b, "{sv}", key, fp_text_variant(name));
}

static GVariant *port_variant(const FpVmPort *port)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&b, "{sv}", "uuid", g_variant_new_string(port->vm->uuid));
    g_variant_builder_add(&b, "{sv}", "name", fp_text_variant(port->vm->name));
    if (port->iface->target)
        g_variant_builder_add(&b, "{sv}", "interface", fp_text_variant(port->iface->target));
    if (port->iface->mac)
        g_variant_builder_add(&b, "{sv}", "mac", fp_text_variant(port->iface->mac));
    return g_variant_builder_end(&b);
}

static void add_attribution(GVariantBuilder *b, const FpFlowAttribution *a)
{
    g_variant_builder_add(b, "{sv}", "owner", g_variant_new_string(fp_owner_to_string(a->owner)));
    if (a->src.vm)
        g_variant_builder_add(b, "{sv}", "vm_src", port_variant(&a->src));
    if (a->dst.vm)
        g_variant_builder_add(b, "{sv}", "vm_dst", port_variant(&a->dst));
}

/* @flow as the contract's a{sv}: @followed FALSE for an entry the agent
 * does not follow (only its key and counters are known, no times, rates
 * or devices); @attr (nullable) its attribution, @by_address whether that
 * came from addresses rather than the flow's devices. */
static GVariant *flow_variant(const FpFlow *flow, const FpFlowAttribution *attr, gboolean followed,
                              gboolean by_address, gint64 now_mono_us, gint64 now_real_us)
{
    GVariantBuilder b;
    char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
    gint64 offset = now_real_us - now_mono_us;

    fp_flow_key_format(&flow->key, src, sizeof(src), dst, sizeof(dst));
    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(
        &b, "{sv}", "proto",
        g_variant_new_string(fp_flow_proto_name(flow->key.proto, pbuf, sizeof(pbuf))));
    g_variant_builder_add(&b, "{sv}", "src", g_variant_new_string(src));
    g_variant_builder_add(&b, "{sv}", "dst", g_variant_new_string(dst));
    g_variant_builder_add(&b, "{sv}", "sport", g_variant_new_uint16(flow->key.sport));
    g_variant_builder_add(&b, "{sv}", "dport", g_variant_new_uint16(flow->key.dport));
    g_variant_builder_add(&b, "{sv}", "zone", g_variant_new_uint16(flow->key.zone));
    g_variant_builder_add(&b, "{sv}", "bytes_orig", g_variant_new_uint64(flow->bytes[0]));
    g_variant_builder_add(&b, "{sv}", "bytes_reply", g_variant_new_uint64(flow->bytes[1]));
    g_variant_builder_add(&b, "{sv}", "packets_orig", g_variant_new_uint64(flow->packets[0]));
    g_variant_builder_add(&b, "{sv}", "packets_reply", g_variant_new_uint64(flow->packets[1]));
    g_variant_builder_add(&b, "{sv}", "elephant",
                          g_variant_new_boolean(flow->elephant != FP_ELEPHANT_NONE));
    g_variant_builder_add(&b, "{sv}", "followed", g_variant_new_boolean(followed));
    if (attr) {
        add_attribution(&b, attr);
        g_variant_builder_add(&b, "{sv}", "attributed_by",
                              g_variant_new_string(attr->owner == FP_OWNER_UNKNOWN ? ""
                                                   : by_address                    ? "addresses"
                                                                                   : "devices"));
    }
    if (!followed)
        return g_variant_builder_end(&b);
    g_variant_builder_add(&b, "{sv}", "elephant_by",
                          g_variant_new_string(flow->elephant == FP_ELEPHANT_BY_BPF     ? "bpf"
                                               : flow->elephant == FP_ELEPHANT_BY_SWEEP ? "sweep"
                                                                                        : ""));
    g_variant_builder_add(&b, "{sv}", "first_seen",
                          g_variant_new_double((double)(flow->first_seen_us + offset) / 1e6));
    g_variant_builder_add(&b, "{sv}", "last_seen",
                          g_variant_new_double((double)(flow->last_seen_us + offset) / 1e6));
    g_variant_builder_add(&b, "{sv}", "rate_orig_bps", g_variant_new_double(flow->rate_bps[0]));
    g_variant_builder_add(&b, "{sv}", "rate_reply_bps", g_variant_new_double(flow->rate_bps[1]));
    if (flow->has_devices) {
        add_dev(&b, "in_dev", flow->in_ifindex[0]);
        add_dev(&b, "out_dev", flow->out_ifindex[0]);
    }
    return g_variant_builder_end(&b);
}

/**
 * fp_flow_to_variant:
 * @flow: a flow the agent follows
 * @vms: (nullable): the running VMs, to attribute the flow
 * @now_mono_us: g_get_monotonic_time() now
 * @now_real_us: g_get_real_time() now
 *
 * Returns: (transfer floating): the flow as an a{sv} with the contract's
 * field names
 */
GVariant *fp_flow_to_variant(const FpFlow *flow, FpVmIndex *vms, gint64 now_mono_us,
                             gint64 now_real_us)
{
    FpFlowAttribution a;

    if (vms)
        fp_attribute_flow(vms, flow, &a);
    return flow_variant(flow, vms ? &a : NULL, TRUE, FALSE, now_mono_us, now_real_us);
}

/* A file's writes: PREFIX_write_error ("" while writes succeed),
 * PREFIX_write_failures and PREFIX_last_write_age_s (-1: none yet). */
static void add_write_status(GVariantBuilder *b, const char *prefix, const FpFileWriteStatus *st,
                             gint64 now_us)
{
    g_autofree char *error = g_strdup_printf("%s_write_error", prefix);
    g_autofree char *failures = g_strdup_printf("%s_write_failures", prefix);
    g_autofree char *age = g_strdup_printf("%s_last_write_age_s", prefix);

    g_variant_builder_add(b, "{sv}", error, fp_text_variant(st->error ? st->error : ""));
    g_variant_builder_add(b, "{sv}", failures, g_variant_new_uint64(st->failures));
    g_variant_builder_add(
        b, "{sv}", age,
        g_variant_new_double(
            st->last_ok_us ? (double)MAX(now_us - st->last_ok_us, 0) / G_USEC_PER_SEC : -1));
}

static GVariant *status_variant(FpDbus *self)
{
    const FpHealth *h = &self->snapshot->health;
    const FpSenseStats *st = &h->sense;
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
#define ADD(k, v) g_variant_builder_add(&b, "{sv}", k, v)
    ADD("version", g_variant_new_string(PACKAGE_VERSION));
    ADD("backend", g_variant_new_string(fp_backend_to_string(st->backend)));
    ADD("backend_reason", fp_text_variant(st->backend_reason ? st->backend_reason : ""));
    ADD("hook_priority", g_variant_new_int32(st->hook_priority));
    ADD("flows", g_variant_new_uint32(h->flows));
    ADD("elephants", g_variant_new_uint32(h->elephants));
    ADD("flows_new", g_variant_new_uint64(st->flows_new));
    ADD("flows_table_full", g_variant_new_uint64(st->flows_table_full));
    ADD("flows_evicted_idle", g_variant_new_uint64(st->flows_evicted_idle));
    ADD("events", g_variant_new_uint64(st->events));
    ADD("events_dropped", g_variant_new_uint64(st->events_dropped));
    ADD("destroy_events", g_variant_new_uint64(st->destroy_events));
    ADD("destroy_events_lost", g_variant_new_uint64(st->destroy_events_lost));
    ADD("untracked_packets", g_variant_new_uint64(st->untracked_packets));
    ADD("samples", g_variant_new_uint64(st->samples));
    ADD("samples_skipped", g_variant_new_uint64(st->samples_skipped));
    ADD("checkpoints", g_variant_new_uint64(st->checkpoints));
    ADD("read_errors", g_variant_new_uint64(st->read_errors));
    ADD("flows_log_lost", g_variant_new_uint64(st->flows_log_lost));
    ADD("devices_counted", g_variant_new_uint32(st->devices_counted));
    ADD("devstats_full", g_variant_new_uint64(st->devstats_full));
    ADD("flows_refused", g_variant_new_uint64(st->flows_refused));
    ADD("flows_let_go", g_variant_new_uint64(st->flows_let_go));
    ADD("sweep_dumps_skipped", g_variant_new_uint64(st->sweep_dumps_skipped));
    ADD("scans", g_variant_new_uint64(st->scans));
    ADD("scan_running", g_variant_new_boolean(st->scan_running));
    ADD("scan_failures", g_variant_new_uint64(st->scan_failures));
    ADD("scan_entries", g_variant_new_uint64(st->scan_entries));
    ADD("scan_kept", g_variant_new_uint32(st->scan_kept));
    ADD("scan_cpu_us", g_variant_new_int64(st->scan_cpu_us));
    ADD("scan_wall_us", g_variant_new_int64(st->scan_wall_us));
    ADD("scan_interval_us", g_variant_new_int64(st->scan_interval_us));
    ADD("scan_sweeps", g_variant_new_uint64(st->scan_sweeps));
    ADD("sweeps", g_variant_new_uint64(st->sweeps));
    ADD("sweep_dumps", g_variant_new_uint64(st->sweep_dumps));
    ADD("sweep_queries", g_variant_new_uint64(st->sweep_queries));
    ADD("sweep_queries_spared", g_variant_new_uint64(st->sweep_queries_spared));
    ADD("sweep_last_us", g_variant_new_int64(st->sweep_last_us));
    ADD("sweep_max_us", g_variant_new_int64(st->sweep_max_us));
    ADD("sweep_max_cpu_us", g_variant_new_int64(st->sweep_max_cpu_us));
    ADD("bpf_run_time_ns", g_variant_new_uint64(st->bpf_run_time_ns));
    ADD("bpf_run_count", g_variant_new_uint64(st->bpf_run_count));
    ADD("event_latency_p50_ns", g_variant_new_int64(st->event_latency_p50_ns));
    ADD("event_latency_p99_ns", g_variant_new_int64(st->event_latency_p99_ns));
    ADD("event_latency_samples", g_variant_new_uint32(st->event_latency_samples));
    ADD("conntrack_active", g_variant_new_boolean(st->conntrack_active));
    ADD("conntrack_warning", fp_text_variant(st->conntrack_warning ? st->conntrack_warning : ""));
    ADD("elephant_log_suppressed", g_variant_new_uint64(h->elephant_log_suppressed));
    /* Ages as of this call: a file may be written after the sweep began. */
    add_write_status(&b, "state", &h->state_write, g_get_real_time());
    add_write_status(&b, "metrics", &h->metrics_write, g_get_real_time());
    add_write_status(&b, "hints", &h->hints_write, g_get_real_time());
    ADD("sweep_whole_max_us", g_variant_new_int64(h->sweep_whole_max_us));
    {
        g_autofree char *slowest = fp_sweep_profile_format(&h->sweep_slowest);

        ADD("sweep_whole_max_steps", g_variant_new_string(slowest));
    }
    ADD("sweeps_overrun", g_variant_new_uint64(h->sweeps_overrun));
    ADD("sweep_whole_max_cpu_us", g_variant_new_int64(h->sweep_slowest.cpu_us));
    ADD("sweep_whole_max_wait_us", g_variant_new_int64(h->sweep_slowest.wait_us));
    ADD("loop_dispatches", g_variant_new_uint64(h->loop.dispatches));
    ADD("loop_dispatch_max_us", g_variant_new_int64(h->loop.dispatch_max_us));
    ADD("loop_dispatch_max_cpu_us", g_variant_new_int64(h->loop.dispatch_max_cpu_us));
    ADD("loop_dispatch_max_wait_us", g_variant_new_int64(h->loop.dispatch_max_wait_us));
    ADD("loop_dispatch_cpu_max_us", g_variant_new_int64(h->loop.dispatch_cpu_max_us));
    ADD("loop_dispatches_slow", g_variant_new_uint64(h->loop.slow));
    ADD("loop_dispatches_slow_cpu", g_variant_new_uint64(h->loop.slow_cpu));
    ADD("loop_wake_wait_max_us", g_variant_new_int64(h->loop.wake_wait_max_us));
    ADD("loop_run_queue_wait_us", g_variant_new_int64(h->loop.run_queue_wait_us));
    ADD("loop_cpu_us", g_variant_new_int64(h->loop.cpu_us));
    ADD("flow_listings", g_variant_new_uint32(g_hash_table_size(self->listings)));
    ADD("flow_listing_page_max_us", g_variant_new_int64(self->listing_page_max_us));
    ADD("acct_enabled_by_agent", g_variant_new_boolean(st->acct_enabled_by_us));
    ADD("libvirt_uri", fp_text_variant(h->libvirt_uri ? h->libvirt_uri : ""));
    ADD("libvirt_connected", g_variant_new_boolean(h->libvirt_connected));
    ADD("libvirt_error", fp_text_variant(h->libvirt_error ? h->libvirt_error : ""));
    ADD("libvirt_connects", g_variant_new_uint64(h->libvirt_connects));
    ADD("libvirt_events", g_variant_new_uint64(h->libvirt_events));
    ADD("libvirt_resyncs", g_variant_new_uint64(h->libvirt_resyncs));
    ADD("libvirt_domain_xml_errors", g_variant_new_uint64(h->libvirt_domain_xml_errors));
    ADD("vms", g_variant_new_uint32(h->vms));
    ADD("placement_state", g_variant_new_string(fp_placement_state_to_string(h->placement_state)));
    ADD("placement_provider", fp_text_variant(h->placement_provider ? h->placement_provider : ""));
    ADD("placement_traits", fp_text_variant(h->placement_traits ? h->placement_traits : ""));
    ADD("placement_error", fp_text_variant(h->placement_error ? h->placement_error : ""));
    ADD("placement_last_sync_age_s",
        g_variant_new_double(h->placement_last_sync_us
                                 ? (double)(self->snapshot->real_us - h->placement_last_sync_us) /
                                       G_USEC_PER_SEC
                                 : -1));
    ADD("placement_syncs", g_variant_new_uint64(h->placement_syncs));
    ADD("placement_failures", g_variant_new_uint64(h->placement_failures));
    ADD("placement_conflicts", g_variant_new_uint64(h->placement_conflicts));
#undef ADD
    return g_variant_builder_end(&b);
}

static FpVmIndex *vm_index(FpDbus *self)
{
    return self->inventory ? fp_inventory_get_index(self->inventory) : NULL;
}

/* Flows per reply at most: a flow is 0.5-0.7 KiB on the bus, and a
 * reply must stay well under the bus's message limit. */
#define FLOWS_PAGE_MAX 2000

/* A page's end as text: bytes, then the key in hex ("" for none). */
static char *cursor_format(const FpFlowCursor *c)
{
    GString *s = g_string_new(NULL);
    const guint8 *k = (const guint8 *)&c->key;

    g_string_append_printf(s, "%" G_GUINT64_FORMAT ":", c->bytes);
    for (gsize i = 0; i < sizeof(c->key); i++)
        g_string_append_printf(s, "%02x", k[i]);
    return g_string_free(s, FALSE);
}

static gboolean cursor_parse(const char *text, FpFlowCursor *c, GError **error)
{
    const char *colon = strchr(text, ':');
    guint8 *k = (guint8 *)&c->key;
    g_autofree char *num = NULL;

    if (!colon || strlen(colon + 1) != 2 * sizeof(c->key))
        goto bad;
    num = g_strndup(text, colon - text);
    if (!g_ascii_string_to_unsigned(num, 10, 0, G_MAXUINT64, &c->bytes, NULL))
        goto bad;
    for (gsize i = 0; i < sizeof(c->key); i++) {
        int hi = g_ascii_xdigit_value(colon[1 + 2 * i]),
            lo = g_ascii_xdigit_value(colon[2 + 2 * i]);

        if (hi < 0 || lo < 0)
            goto bad;
        k[i] = hi << 4 | lo;
    }
    return TRUE;
bad:
    g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "bad page cursor '%s'", text);
    return FALSE;
}

/* Whole-table listings: at most this many at once (each holds a dump
 * socket and the keys of the followed flows it listed), each ended after
 * this long without a page asked for. */
#define FLOW_LISTINGS_MAX 4
#define FLOW_LISTING_IDLE_S 30
/* A page reads the conntrack table for at most this long: one call never
 * holds the main loop much longer, whatever the filters keep. */
#define FLOW_LISTING_PAGE_US (10 * 1000)
#define FLOW_LISTING_PREFIX "all:"
/* Flows per page of such a listing at most: a page's variants cost the
 * agent about 7 KiB and 30-40 us a flow while the reply is built and sent
 * (1.7 MiB and some 10 ms at 250), at every page of a whole-table listing;
 * with the 10 ms of reading, a page stays well under the 50 ms that the
 * main loop may be held. */
#define FLOW_LISTING_PAGE_MAX 250

typedef struct {
    FpFlowListing *listing;
    char *sender; /* only its caller asks for its pages */
    gint64 last_us;
} Listing;

static void listing_free(gpointer p)
{
    Listing *l = p;

    fp_flow_listing_free(l->listing);
    g_free(l->sender);
    g_free(l);
}

static gboolean expire_listings(gpointer user_data)
{
    FpDbus *self = user_data;
    gint64 now = g_get_monotonic_time();
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, self->listings);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const Listing *l = v;

        if (now - l->last_us >= FLOW_LISTING_IDLE_S * G_USEC_PER_SEC) {
            g_debug("flow listing of %s ended: idle for %d s", l->sender, FLOW_LISTING_IDLE_S);
            g_hash_table_iter_remove(&it);
        }
    }
    if (g_hash_table_size(self->listings))
        return G_SOURCE_CONTINUE;
    g_clear_pointer(&self->listings_expiry, g_source_unref);
    return G_SOURCE_REMOVE;
}

/* A page of a whole-table listing: @after_text "" starts one (options
 * "vm" and "elephants" are taken then), "all:ID" goes on with it.
 * @vm_uuid (nullable) the options' VM, already checked. */
static GVariant *list_all(FpDbus *self, const char *sender, const char *vm_uuid,
                          gboolean elephants_only, const char *after_text, guint32 limit,
                          char **next, GError **error)
{
    g_autoptr(GArray) page = g_array_new(FALSE, FALSE, sizeof(FpListedFlow));
    gint64 mono = g_get_monotonic_time(), real = g_get_real_time();
    gpointer id = NULL;
    Listing *l;
    gboolean done = FALSE;
    GVariantBuilder b;

    if (!*after_text) {
        if (g_hash_table_size(self->listings) >= FLOW_LISTINGS_MAX) {
            g_set_error(error, FP_ERROR, FP_ERROR_BUSY,
                        "%d whole-table listings in progress (each ends after %d s without a "
                        "page asked for): try again later",
                        FLOW_LISTINGS_MAX, FLOW_LISTING_IDLE_S);
            return NULL;
        }
        l = g_new0(Listing, 1);
        l->listing = fp_flow_listing_new(vm_uuid, elephants_only);
        l->sender = g_strdup(sender ? sender : "");
        id = GUINT_TO_POINTER(++self->next_listing_id);
        g_hash_table_insert(self->listings, id, l);
        if (!self->listings_expiry) {
            self->listings_expiry = g_timeout_source_new_seconds(5);
            g_source_set_callback(self->listings_expiry, expire_listings, self, NULL);
            g_source_attach(self->listings_expiry, NULL);
        }
    } else {
        guint64 n = 0;

        if (!g_str_has_prefix(after_text, FLOW_LISTING_PREFIX) ||
            !g_ascii_string_to_unsigned(after_text + strlen(FLOW_LISTING_PREFIX), 10, 1, G_MAXUINT,
                                        &n, NULL)) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "bad page cursor '%s'", after_text);
            return NULL;
        }
        id = GUINT_TO_POINTER((guint)n);
        l = g_hash_table_lookup(self->listings, id);
        if (!l || g_strcmp0(l->sender, sender ? sender : "") != 0) {
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND,
                        "no listing '%s' of this caller (a listing ends after %d s without a "
                        "page asked for)",
                        after_text, FLOW_LISTING_IDLE_S);
            return NULL;
        }
    }
    l->last_us = mono;
    if (!fp_flow_listing_next(l->listing, self->table, vm_index(self), limit, FLOW_LISTING_PAGE_US,
                              page, &done, error)) {
        g_hash_table_remove(self->listings, id);
        return NULL;
    }
    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; i < page->len; i++) {
        const FpListedFlow *lf = &g_array_index(page, FpListedFlow, i);

        g_variant_builder_add_value(
            &b, flow_variant(&lf->flow, &lf->attr, lf->followed, lf->by_address, mono, real));
    }
    if (done) {
        g_hash_table_remove(self->listings, id);
        *next = g_strdup("");
    } else {
        *next = g_strdup_printf(FLOW_LISTING_PREFIX "%u", GPOINTER_TO_UINT(id));
    }
    return g_variant_builder_end(&b);
}

/* Returns NULL with @error set when the options name an unknown VM or hold
 * a bad cursor; @next (nullable) gets the next page's cursor, "" at the
 * end. */
static GVariant *list_flows(FpDbus *self, const char *sender, GVariant *options, char **next,
                            GError **error)
{
    FpFlowFilter ff = {vm_index(self), NULL, FALSE};
    g_autoptr(GPtrArray) flows = NULL;
    const char *vm_name = NULL, *after_text = NULL;
    FpFlowCursor after, next_cursor;
    guint32 limit = FLOWS_PAGE_MAX;
    gboolean more = FALSE, all = FALSE;
    gint64 mono = g_get_monotonic_time(), real = g_get_real_time();
    GVariantBuilder b;

    g_variant_lookup(options, "elephants", "b", &ff.elephants_only);
    if (g_variant_lookup(options, "vm", "&s", &vm_name) && *vm_name) {
        ff.vm = ff.vms ? fp_vm_index_find(ff.vms, vm_name) : NULL;
        if (!ff.vm) {
            g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "no running VM named '%s'", vm_name);
            return NULL;
        }
    }
    if (g_variant_lookup(options, "limit", "u", &limit) && limit == 0) {
        g_set_error_literal(error, FP_ERROR, FP_ERROR_INVALID, "limit 0: at least one flow");
        return NULL;
    }
    limit = MIN(limit, FLOWS_PAGE_MAX);
    g_variant_lookup(options, "all", "b", &all);
    if (all && next) {
        g_variant_lookup(options, "after", "&s", &after_text);
        return list_all(self, sender, ff.vm ? ff.vm->uuid : NULL, ff.elephants_only,
                        after_text ? after_text : "", MIN(limit, FLOW_LISTING_PAGE_MAX), next,
                        error);
    }
    if (g_variant_lookup(options, "after", "&s", &after_text) && *after_text &&
        !cursor_parse(after_text, &after, error))
        return NULL;
    /* The filters run inside the walk: only the page's flows are built. */
    flows =
        fp_flow_table_page(self->table, fp_flow_filter_match, &ff,
                           after_text && *after_text ? &after : NULL, limit, &next_cursor, &more);
    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; i < flows->len; i++)
        g_variant_builder_add_value(
            &b, fp_flow_to_variant(g_ptr_array_index(flows, i), ff.vms, mono, real));
    if (next)
        *next = more ? cursor_format(&next_cursor) : g_strdup("");
    return g_variant_builder_end(&b);
}

/* The host's view of one interface: the XML says whether a host device
 * exists by design; the host says whether it exists now and whether
 * conntrack sees its traffic.  @reason_buf holds a reason made here. */
static void interface_host(FpVmIndex *vms, const FpVm *vm, guint i, FpVmInterfaceHost *host,
                           char **reason_buf)
{
    const FpVmInterface *nic = g_ptr_array_index(vm->interfaces, i);

    host->ifindex = fp_vm_index_get_ifindex(vms, vm->uuid, i);
    host->observable = nic->observable;
    host->reason = nic->reason;
    if (host->observable && !host->ifindex) {
        host->observable = FALSE;
        *reason_buf =
            g_strdup_printf("host device '%s' not found", nic->target ? nic->target : "(none)");
        host->reason = *reason_buf;
    } else if (host->observable && !fp_inventory_host_visibility(nic->target, reason_buf)) {
        host->observable = FALSE;
        host->reason = *reason_buf;
    }
}

/* The one VM description (vm-json.c) with the host's view, then the
 * VM's traffic. */
static GVariant *vm_variant(FpDbus *self, FpVmIndex *vms, const FpVm *vm, const FpVmTraffic *tr)
{
    guint n = vm->interfaces->len;
    g_autofree FpVmInterfaceHost *host = g_new0(FpVmInterfaceHost, n + 1);
    g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GVariant) base = NULL;
    double rx_bps = 0, tx_bps = 0;
    guint64 born_by_vm = 0, born_to_vm = 0;
    gboolean sampled = FALSE;
    GVariantBuilder b;
    GVariantIter it;
    GVariant *entry;

    for (guint j = 0; j < n; j++) {
        char *reason = NULL;
        const FpVmInterface *nic = g_ptr_array_index(vm->interfaces, j);
        double to_vm, from_vm;

        interface_host(vms, vm, j, &host[j], &reason);
        if (reason != NULL)
            g_ptr_array_add(reasons, reason);
        /* Flows started through this tap, as the kernel counts them. */
        if (self->sense && host[j].ifindex) {
            const FpDeviceCounts *d = fp_sense_get_device(self->sense, host[j].ifindex);

            if (d) {
                born_by_vm += d->births[0]; /* first packet came in from the VM */
                born_to_vm += d->births[1]; /* first packet left towards it */
            }
        }
        /* Live rates from the taps' counters (all traffic, tracked or not);
         * from the flows' when no tap has been sampled yet. */
        if (fp_inventory_get_device_rates(self->inventory, nic->target, &to_vm, &from_vm)) {
            rx_bps += to_vm;
            tx_bps += from_vm;
            sampled = TRUE;
        }
    }
    if (!sampled) {
        rx_bps = tr->rx_bps;
        tx_bps = tr->tx_bps;
    }
    base = g_variant_ref_sink(fp_vm_to_variant(vm, host));
    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    g_variant_iter_init(&it, base);
    while ((entry = g_variant_iter_next_value(&it))) {
        g_variant_builder_add_value(&b, entry);
        g_variant_unref(entry);
    }
    g_variant_builder_add(&b, "{sv}", "rx_bps", g_variant_new_double(rx_bps));
    g_variant_builder_add(&b, "{sv}", "tx_bps", g_variant_new_double(tx_bps));
    g_variant_builder_add(&b, "{sv}", "rx_bytes", g_variant_new_uint64(tr->rx_bytes));
    g_variant_builder_add(&b, "{sv}", "tx_bytes", g_variant_new_uint64(tr->tx_bytes));
    g_variant_builder_add(&b, "{sv}", "flows", g_variant_new_uint32(tr->flows));
    g_variant_builder_add(&b, "{sv}", "elephants", g_variant_new_uint32(tr->elephants));
    g_variant_builder_add(&b, "{sv}", "flows_born_by_vm", g_variant_new_uint64(born_by_vm));
    g_variant_builder_add(&b, "{sv}", "flows_born_to_vm", g_variant_new_uint64(born_to_vm));
    return g_variant_builder_end(&b);
}

static GVariant *list_vms(FpDbus *self, GVariant *options)
{
    FpVmIndex *vms = vm_index(self);
    g_autoptr(GPtrArray) all = NULL;
    g_autoptr(GPtrArray) flows = NULL;
    g_autoptr(GHashTable) traffic = NULL;
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    if (!vms)
        return g_variant_builder_end(&b);
    all = fp_vm_index_list(vms);
    flows = fp_flow_table_list_unsorted(self->table);
    traffic = fp_attribute_traffic(vms, flows);
    for (guint i = 0; i < all->len; i++) {
        const FpVm *vm = g_ptr_array_index(all, i);
        const FpVmTraffic *tr = g_hash_table_lookup(traffic, vm->uuid);
        static const FpVmTraffic none;

        g_variant_builder_add_value(&b, vm_variant(self, vms, vm, tr ? tr : &none));
    }
    return g_variant_builder_end(&b);
}

static GVariant *footprint_variant(FpDbus *self, const FpFootprintExplain *e,
                                   const FpFootprintTotals *t, const char *uuid, const char *name,
                                   gboolean explain)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
    if (explain) {
        g_autoptr(GVariant) ex = g_variant_ref_sink(fp_footprint_explain_to_variant(e));
        g_autofree char *text = fp_footprint_explain_to_text(e);
        GVariantIter it;
        GVariant *entry;

        g_variant_iter_init(&it, ex);
        while ((entry = g_variant_iter_next_value(&it))) {
            g_variant_builder_add_value(&b, entry);
            g_variant_unref(entry);
        }
        g_variant_builder_add(&b, "{sv}", "text", g_variant_new_string(text ? text : ""));
    } else {
#define ADD(k, v) g_variant_builder_add(&b, "{sv}", k, v)
        ADD("class", g_variant_new_string(fp_class_to_string(e->klass)));
        ADD("learned", g_variant_new_string(fp_class_to_string(e->learned)));
        ADD("pinned", g_variant_new_string(
                          e->pinned != FP_CLASS_UNKNOWN ? fp_class_to_string(e->pinned) : ""));
        ADD("confidence", g_variant_new_double(e->confidence));
        ADD("rx_bps", g_variant_new_double(e->rx_bps));
        ADD("tx_bps", g_variant_new_double(e->tx_bps));
        ADD("elephants", g_variant_new_double(e->elephants));
        ADD("elephant_share", g_variant_new_double(e->elephant_share));
        ADD("mice_rate", g_variant_new_double(e->mice_rate));
        ADD("new_flow_rate", g_variant_new_double(e->new_flow_rate));
        ADD("peak_bps", g_variant_new_double(e->peak_bps));
        ADD("observed_s", g_variant_new_double(e->observed_s));
        ADD("rx_bytes", g_variant_new_uint64(t->rx_bytes));
        ADD("tx_bytes", g_variant_new_uint64(t->tx_bytes));
        ADD("flows_started", g_variant_new_uint64(t->flows));
        ADD("metadata_written",
            g_variant_new_boolean(name != NULL && self->publisher != NULL &&
                                  fp_libvirt_publisher_written(self->publisher, uuid)));
#undef ADD
    }
    g_variant_builder_add(&b, "{sv}", "uuid", g_variant_new_string(uuid));
    g_variant_builder_add(&b, "{sv}", "name", fp_text_variant(name ? name : ""));
    g_variant_builder_add(&b, "{sv}", "running", g_variant_new_boolean(name != NULL));
    return g_variant_builder_end(&b);
}

/* A running VM (by name or uuid) from the latest snapshot, else a stopped
 * VM's saved model (by uuid). */
static GVariant *get_footprint(FpDbus *self, const char *vm, gboolean explain, GError **error)
{
    const FpVmSnapshot *v = fp_snapshot_find(self->snapshot, vm);
    FpFootprintExplain e;
    FpFootprintTotals t;

    if (v != NULL)
        return footprint_variant(self, &v->explain, &v->totals, v->vm->uuid, v->vm->name, explain);
    if (fp_vm_index_find(fp_inventory_get_index(self->inventory), vm) != NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "VM '%s' has no footprint yet", vm);
        return NULL;
    }
    if (!fp_footprints_lookup_saved(self->learner, vm, &e, &t)) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "no VM named '%s'", vm);
        return NULL;
    }
    return footprint_variant(self, &e, &t, vm, NULL, explain);
}

static GVariant *list_footprints(FpDbus *self)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("aa{sv}"));
    for (guint i = 0; i < self->snapshot->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(self->snapshot->vms, i);

        g_variant_builder_add_value(
            &b, footprint_variant(self, &v->explain, &v->totals, v->vm->uuid, v->vm->name, FALSE));
    }
    return g_variant_builder_end(&b);
}

static void on_method_call(GDBusConnection *connection, const char *sender, const char *path,
                           const char *interface, const char *method, GVariant *params,
                           GDBusMethodInvocation *invocation, gpointer user_data)
{
    FpDbus *self = user_data;

    if (tuning_method_call(self, sender, method, params, invocation))
        return;
    if (g_str_equal(method, "GetStatus")) {
        g_dbus_method_invocation_return_value(
            invocation, g_variant_new_tuple((GVariant *[]){status_variant(self)}, 1));
    } else if (g_str_equal(method, "ListFlows")) {
        g_autoptr(GVariant) options = g_variant_get_child_value(params, 0);
        g_autoptr(GError) error = NULL;
        GVariant *flows = list_flows(self, sender, options, NULL, &error);

        if (!flows)
            g_dbus_method_invocation_return_error_literal(
                invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                error ? error->message : "invalid options");
        else
            g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&flows, 1));
    } else if (g_str_equal(method, "ListFlowsPage")) {
        g_autoptr(GVariant) options = g_variant_get_child_value(params, 0);
        g_autoptr(GError) error = NULL;
        g_autofree char *next = NULL;
        gint64 t0 = g_get_monotonic_time();
        gboolean all = FALSE;
        GVariant *flows = list_flows(self, sender, options, &next, &error);

        if (!flows)
            g_dbus_method_invocation_return_error_literal(
                invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                error ? error->message : "invalid options");
        else
            g_dbus_method_invocation_return_value(invocation,
                                                  g_variant_new("(@aa{sv}s)", flows, next));
        /* The main loop's time for one page of a whole-table listing,
         * the reply's serialization (done here, in this thread) included. */
        if (g_variant_lookup(options, "all", "b", &all) && all)
            self->listing_page_max_us = MAX(self->listing_page_max_us, g_get_monotonic_time() - t0);
    } else if (g_str_equal(method, "GetFootprint") || g_str_equal(method, "Explain")) {
        g_autoptr(GError) error = NULL;
        const char *vm = NULL;
        GVariant *fp = NULL;

        g_variant_get(params, "(&s)", &vm);
        fp = get_footprint(self, vm, g_str_equal(method, "Explain"), &error);
        if (!fp)
            g_dbus_method_invocation_return_error_literal(invocation, G_DBUS_ERROR,
                                                          G_DBUS_ERROR_INVALID_ARGS,
                                                          error ? error->message : "no footprint");
        else
            g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&fp, 1));
    } else if (g_str_equal(method, "ListFootprints")) {
        GVariant *all = list_footprints(self);

        g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&all, 1));
    } else if (g_str_equal(method, "ListVms")) {
        g_autoptr(GVariant) options = g_variant_get_child_value(params, 0);

        g_dbus_method_invocation_return_value(
            invocation, g_variant_new_tuple((GVariant *[]){list_vms(self, options)}, 1));
    } else {
        g_dbus_method_invocation_return_error(invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                              "unknown method %s", method);
    }
}

static GVariant *on_get_property(GDBusConnection *connection, const char *sender, const char *path,
                                 const char *interface, const char *property, GError **error,
                                 gpointer user_data)
{
    FpDbus *self = user_data;

    if (g_str_equal(property, "Version"))
        return g_variant_new_string(PACKAGE_VERSION);
    if (g_str_equal(property, "Backend"))
        return g_variant_new_string(fp_backend_to_string(self->snapshot->health.sense.backend));
    g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "unknown property %s",
                property);
    return NULL;
}

static const GDBusInterfaceVTable vtable = {
    .method_call = on_method_call,
    .get_property = on_get_property,
};

/**
 * fp_dbus_new:
 * @connection: the bus
 * @table: the flow table to serve (borrowed)
 * @inventory: the VMs, to attribute flows (borrowed)
 * @learner: the learner, for stopped VMs' saved footprints (borrowed)
 * @publisher: (nullable): the metadata writer, for what it wrote (borrowed)
 * @error: return location for a #GError
 *
 * Exports the object; the caller owns the bus name and hands the object
 * each sweep's snapshot (fp_dbus_consume()) before the loop runs.
 */
FpDbus *fp_dbus_new(GDBusConnection *connection, FpFlowTable *table, FpInventory *inventory,
                    FpFootprints *learner, FpLibvirtPublisher *publisher, GError **error)
{
    g_autoptr(FpDbus) self = g_new0(FpDbus, 1);

    self->connection = g_object_ref(connection);
    self->table = table;
    self->inventory = inventory;
    self->learner = learner;
    self->publisher = publisher;
    self->snapshot = fp_snapshot_new(0, g_get_monotonic_time(), g_get_real_time());
    fp_snapshot_seal(self->snapshot);
    self->calls = g_cancellable_new();
    self->listings = g_hash_table_new_full(NULL, NULL, NULL, listing_free);
    self->node = g_dbus_node_info_new_for_xml(fp_introspection_xml, error);
    if (!self->node)
        return NULL;
    self->registration = g_dbus_connection_register_object(
        connection, FP_DBUS_PATH, g_dbus_node_info_lookup_interface(self->node, FP_DBUS_INTERFACE),
        &vtable, self, NULL, error);
    if (!self->registration)
        return NULL;
    return g_steal_pointer(&self);
}

void fp_dbus_free(FpDbus *self)
{
    if (!self)
        return;
    /* Before anything goes: a caller check still waiting for the bus must
     * not reach this object (or the tuner) when its answer comes. */
    if (self->calls) {
        g_cancellable_cancel(self->calls);
        g_clear_object(&self->calls);
    }
    if (self->registration)
        g_dbus_connection_unregister_object(self->connection, self->registration);
    if (self->listings_expiry) {
        g_source_destroy(self->listings_expiry);
        g_clear_pointer(&self->listings_expiry, g_source_unref);
    }
    g_clear_pointer(&self->listings, g_hash_table_destroy);
    g_clear_pointer(&self->node, g_dbus_node_info_unref);
    g_clear_object(&self->connection);
    g_clear_pointer(&self->snapshot, fp_snapshot_unref);
    g_free(self);
}

static void emit_class_changed(FpDbus *self, const FpVmSnapshot *v)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *name = fp_text_utf8(v->vm->name, -1); /* from libvirt */

    if (!g_dbus_connection_emit_signal(
            self->connection, NULL, FP_DBUS_PATH, FP_DBUS_INTERFACE, "ClassChanged",
            g_variant_new("(ssssd)", v->vm->uuid, name, fp_class_to_string(v->previous),
                          fp_class_to_string(v->klass), v->confidence),
            &error))
        g_message("cannot emit ClassChanged: %s", error->message);
}

/**
 * fp_dbus_consume:
 * @dbus: a #FpDbus
 * @snapshot: a sweep's snapshot, its health filled (a reference is kept)
 *
 * Serves @snapshot from now on (status, footprints) and signals the VMs
 * whose class in effect changed since the previous one.
 */
void fp_dbus_consume(FpDbus *self, FpSnapshot *snapshot)
{
    g_clear_pointer(&self->snapshot, fp_snapshot_unref);
    self->snapshot = fp_snapshot_ref(snapshot);
    for (guint i = 0; i < snapshot->vms->len; i++) {
        const FpVmSnapshot *v = g_ptr_array_index(snapshot->vms, i);

        if (!v->appeared && v->previous != v->klass)
            emit_class_changed(self, v);
    }
}

/**
 * fp_dbus_emit_elephant:
 * @dbus: a #FpDbus
 * @flow: the flow that just became an elephant
 */
void fp_dbus_emit_elephant(FpDbus *self, const FpFlow *flow)
{
    g_autoptr(GError) error = NULL;
    GVariant *v =
        fp_flow_to_variant(flow, vm_index(self), g_get_monotonic_time(), g_get_real_time());

    if (!g_dbus_connection_emit_signal(self->connection, NULL, FP_DBUS_PATH, FP_DBUS_INTERFACE,
                                       "ElephantFound", g_variant_new_tuple(&v, 1), &error))
        g_warning("cannot emit ElephantFound: %s", error->message);
}

/* ---- the tuner ------------------------------------------------------------- */

/**
 * fp_dbus_set_tuner:
 * @dbus: a #FpDbus
 * @tuner: (nullable): the tuner to serve (borrowed)
 */
void fp_dbus_set_tuner(FpDbus *self, FpTuner *tuner)
{
    self->tuner = tuner;
}

/**
 * fp_dbus_set_sense:
 * @dbus: a #FpDbus
 * @sense: (nullable): sensing, for the kernel's per-device counters
 *     (borrowed)
 */
void fp_dbus_set_sense(FpDbus *self, FpSense *sense)
{
    self->sense = sense;
}

typedef struct {
    FpDbus *self;
    GDBusMethodInvocation *invocation;
    char *method;
    GVariant *params;
} FpRootCall;

static void root_call_free(FpRootCall *c)
{
    g_object_unref(c->invocation);
    g_free(c->method);
    g_variant_unref(c->params);
    g_free(c);
}

/* The caller's uid, from the bus (the policy already let it through; the
 * daemon checks it too, so a policy file edited by mistake opens nothing). */
static void on_caller_uid(GObject *source, GAsyncResult *result, gpointer user_data)
{
    FpRootCall *c = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply =
        g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
    guint32 uid = G_MAXUINT32;
    FpTuner *tuner;
    FpMode mode;

    /* fp_dbus_free() cancelled the check: c->self is gone, and the tuner
     * with it.  The caller is told why when the main context still runs
     * (the invocation holds the connection); else the bus tells it that
     * footprintd went away. */
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_dbus_method_invocation_return_error(c->invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED,
                                              "footprintd is stopping: %s not done", c->method);
        root_call_free(c);
        return;
    }
    tuner = c->self->tuner;
    if (reply)
        g_variant_get(reply, "(u)", &uid);
    if (uid != 0) {
        g_dbus_method_invocation_return_error(
            c->invocation, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
            "%s is for root only (caller uid %d)", c->method, uid == G_MAXUINT32 ? -1 : (int)uid);
    } else if (!tuner) {
        g_dbus_method_invocation_return_error_literal(
            c->invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED, "the tuner is not running");
    } else if (g_str_equal(c->method, "SetTuningMode")) {
        const char *name = NULL;

        g_variant_get(c->params, "(&s)", &name);
        if (!fp_mode_from_string(name, &mode))
            g_dbus_method_invocation_return_error(
                c->invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                "'%s' is not a mode (observe, advise, enforce)", name);
        else if (!fp_tuner_set_mode(tuner, mode, &error))
            g_dbus_method_invocation_return_error_literal(c->invocation, G_DBUS_ERROR,
                                                          G_DBUS_ERROR_FAILED, error->message);
        else
            g_dbus_method_invocation_return_value(c->invocation, NULL);
    } else if (!fp_tuner_set_mode(tuner, FP_MODE_ADVISE, &error) ||
               !fp_tuner_undo_all(tuner, &error)) { /* UndoTuning */
        g_dbus_method_invocation_return_error_literal(c->invocation, G_DBUS_ERROR,
                                                      G_DBUS_ERROR_FAILED, error->message);
    } else {
        g_dbus_method_invocation_return_value(c->invocation, NULL);
    }
    root_call_free(c);
}

/* GetTuning, SetTuningMode, UndoTuning; FALSE for any other method. */
static gboolean tuning_method_call(FpDbus *self, const char *sender, const char *method,
                                   GVariant *params, GDBusMethodInvocation *invocation)
{
    FpRootCall *c;

    if (g_str_equal(method, "GetTuning")) {
        GVariant *v = self->tuner ? fp_tuner_describe(self->tuner) : NULL;

        if (v)
            g_dbus_method_invocation_return_value(invocation, g_variant_new_tuple(&v, 1));
        else
            g_dbus_method_invocation_return_error_literal(
                invocation, G_DBUS_ERROR, G_DBUS_ERROR_FAILED, "the tuner is not running");
        return TRUE;
    }
    if (!g_str_equal(method, "SetTuningMode") && !g_str_equal(method, "UndoTuning"))
        return FALSE;
    c = g_new0(FpRootCall, 1);
    c->self = self;
    c->invocation = g_object_ref(invocation);
    c->method = g_strdup(method);
    c->params = g_variant_ref(params);
    g_dbus_connection_call(self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                           "org.freedesktop.DBus", "GetConnectionUnixUser",
                           g_variant_new("(s)", sender), G_VARIANT_TYPE("(u)"),
                           G_DBUS_CALL_FLAGS_NONE, 5000, self->calls, on_caller_uid, c);
    return TRUE;
}
