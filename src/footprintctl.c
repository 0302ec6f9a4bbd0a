/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * footprintctl: the operator's view of footprintd, through its D-Bus API
 * only.  Every listing command has --json with stable field names.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "dbus.h"
#include "domain-xml.h"
#include "safe-text.h"
#include "vm-json.h"

/* Text shown on a terminal, sanitized (see show()); freed at exit. */
static GPtrArray *shown;

static gboolean opt_json;
static gboolean opt_elephants;
static char *opt_vm;
static gboolean opt_undo;
static int opt_limit = 100;
static gboolean opt_all;
static char *opt_mode;

static const GOptionEntry common_entries[] = {
    {"json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL},
    {"elephants", 0, 0, G_OPTION_ARG_NONE, &opt_elephants, "flows: only elephants", NULL},
    {"vm", 0, 0, G_OPTION_ARG_STRING, &opt_vm, "flows: only those of this VM", "NAME|UUID"},
    {"limit", 0, 0, G_OPTION_ARG_INT, &opt_limit, "flows: the N biggest (default 100)", "N"},
    {"all", 0, 0, G_OPTION_ARG_NONE, &opt_all, "flows: all of them, a page at a time", NULL},
    {"undo", 0, 0, G_OPTION_ARG_NONE, &opt_undo,
     "tuning: undo every change and switch to advise (root)", NULL},
    {"mode", 0, 0, G_OPTION_ARG_STRING, &opt_mode, "tuning: switch the tuner's mode (root)",
     "observe|advise|enforce"},
    {NULL},
};

/* The contract's field order for one flow; absent strings are null. */
enum {
    F_PROTO,
    F_SRC,
    F_DST,
    F_SPORT,
    F_DPORT,
    F_ZONE,
    F_BYTES_ORIG,
    F_BYTES_REPLY,
    F_PACKETS_ORIG,
    F_PACKETS_REPLY,
    F_ELEPHANT,
    F_FIRST_SEEN,
    F_LAST_SEEN,
    F_IN_DEV,
    F_OUT_DEV,
    F_ELEPHANT_BY,
    F_RATE_ORIG_BPS,
    F_RATE_REPLY_BPS,
    F_OWNER,
    F_VM_SRC,
    F_VM_DST,
    F_FOLLOWED,
    F_ATTRIBUTED_BY,
    F_COUNT
};
static const char *const flow_fields[F_COUNT + 1] = {
    "proto",      "src",         "dst",          "sport",         "dport",         "zone",
    "bytes_orig", "bytes_reply", "packets_orig", "packets_reply", "elephant",      "first_seen",
    "last_seen",  "in_dev",      "out_dev",      "elephant_by",   "rate_orig_bps", "rate_reply_bps",
    "owner",      "vm_src",      "vm_dst",       "followed",      "attributed_by", NULL,
};

/*
 * One flow's members, by their F_ index: read in one pass over its
 * dictionary.  (A g_variant_lookup() per field walks the dictionary each
 * time, making a GVariant of each entry it passes: with --all, a million
 * flows, that was most of the listing's time.)  Unknown members are
 * skipped; a member of an unexpected type is left out (absent).
 */
typedef struct {
    GVariant *v[F_COUNT];
} FlowMembers;

static const char *const flow_types[F_COUNT] = {
    [F_PROTO] = "s",         [F_SRC] = "s",           [F_DST] = "s",
    [F_SPORT] = "q",         [F_DPORT] = "q",         [F_ZONE] = "q",
    [F_BYTES_ORIG] = "t",    [F_BYTES_REPLY] = "t",   [F_PACKETS_ORIG] = "t",
    [F_PACKETS_REPLY] = "t", [F_ELEPHANT] = "b",      [F_FIRST_SEEN] = "d",
    [F_LAST_SEEN] = "d",     [F_IN_DEV] = "s",        [F_OUT_DEV] = "s",
    [F_ELEPHANT_BY] = "s",   [F_RATE_ORIG_BPS] = "d", [F_RATE_REPLY_BPS] = "d",
    [F_OWNER] = "s",         [F_VM_SRC] = "a{sv}",    [F_VM_DST] = "a{sv}",
    [F_FOLLOWED] = "b",      [F_ATTRIBUTED_BY] = "s",
};

static void flow_members_read(FlowMembers *m, GVariant *dict)
{
    static GHashTable *index; /* field name -> F_ index + 1 */
    GVariantIter it;
    const char *key;
    GVariant *value;

    if (!index) {
        index = g_hash_table_new(g_str_hash, g_str_equal);
        for (guint i = 0; i < F_COUNT; i++)
            g_hash_table_insert(index, (gpointer)flow_fields[i], GUINT_TO_POINTER(i + 1));
    }
    memset(m, 0, sizeof(*m));
    g_variant_iter_init(&it, dict);
    while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
        guint i = GPOINTER_TO_UINT(g_hash_table_lookup(index, key));

        if (i && !m->v[i - 1] && g_variant_is_of_type(value, G_VARIANT_TYPE(flow_types[i - 1])))
            m->v[i - 1] = value;
        else
            g_variant_unref(value);
    }
}

static void flow_members_clear(FlowMembers *m)
{
    for (guint i = 0; i < F_COUNT; i++)
        g_clear_pointer(&m->v[i], g_variant_unref);
}

/* A value that is not one of the contract's scalars, through json-glib
 * (compact). */
static void json_append_other(GString *out, GVariant *v)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) node = json_gvariant_serialize(v);
    g_autofree char *text = NULL;

    json_generator_set_root(gen, node);
    text = json_generator_to_data(gen, NULL);
    g_string_append(out, text);
}

/* A scalar as JSON: absent (NULL) or not finite is null; anything else
 * (not a scalar) through json_append_other(). */
static void json_append_scalar(GString *out, GVariant *v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    if (!v) {
        g_string_append(out, "null");
        return;
    }
    switch (g_variant_classify(v)) {
    case G_VARIANT_CLASS_STRING:
        fp_text_json_string(out, g_variant_get_string(v, NULL));
        return;
    case G_VARIANT_CLASS_BOOLEAN:
        g_string_append(out, g_variant_get_boolean(v) ? "true" : "false");
        return;
    case G_VARIANT_CLASS_UINT16:
        g_string_append_printf(out, "%u", g_variant_get_uint16(v));
        return;
    case G_VARIANT_CLASS_UINT32:
        g_string_append_printf(out, "%u", g_variant_get_uint32(v));
        return;
    case G_VARIANT_CLASS_UINT64:
        g_string_append_printf(out, "%" G_GUINT64_FORMAT, g_variant_get_uint64(v));
        return;
    case G_VARIANT_CLASS_INT32:
        g_string_append_printf(out, "%d", g_variant_get_int32(v));
        return;
    case G_VARIANT_CLASS_INT64:
        g_string_append_printf(out, "%" G_GINT64_FORMAT, g_variant_get_int64(v));
        return;
    case G_VARIANT_CLASS_DOUBLE:
        if (!isfinite(g_variant_get_double(v))) {
            g_string_append(out, "null");
            return;
        }
        g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), g_variant_get_double(v)));
        /* A double stays one for the reader: 3.0, not 3. */
        if (!strpbrk(buf, ".e"))
            g_string_append(out, ".0");
        return;
    default:
        json_append_other(out, v);
        return;
    }
}

/* A flow member as JSON: a scalar, or an a{sv} of scalars (vm_src,
 * vm_dst) as an object laid out as json-glib's pretty generator does,
 * members in its order; @indent: the object's own. */
static void json_append_member(GString *out, GVariant *v, guint indent)
{
    GVariantIter it;
    const char *key;
    GVariant *value;
    guint n = 0;

    if (!v || !g_variant_is_of_type(v, G_VARIANT_TYPE_VARDICT)) {
        json_append_scalar(out, v);
        return;
    }
    g_string_append_c(out, '{');
    g_variant_iter_init(&it, v);
    while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
        g_string_append(out, n++ ? ",\n" : "\n");
        g_string_append_printf(out, "%*s", indent + 2, "");
        fp_text_json_string(out, key);
        g_string_append(out, " : ");
        json_append_scalar(out, value);
        g_variant_unref(value);
    }
    if (n)
        g_string_append_printf(out, "\n%*s", indent, "");
    g_string_append_c(out, '}');
}

/* Flows per ListFlowsPage call (the agent's most). */
#define FLOWS_PAGE 2000

static GVariant *call(GDBusConnection *bus, const char *method, GVariant *params, GError **error)
{
    return g_dbus_connection_call_sync(bus, FP_DBUS_NAME, FP_DBUS_PATH, FP_DBUS_INTERFACE, method,
                                       params, NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, error);
}

static void print_json(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, node);
    text = json_generator_to_data(gen, NULL);
    /* JSON is UTF-8 whatever the locale: bypass g_print's charset conversion. */
    fputs(text, stdout);
    fputc('\n', stdout);
}

/* The members of @dict in @order into an open object; absent ones null. */
static void add_members(JsonBuilder *b, GVariant *dict, const char *const *order)
{
    for (guint i = 0; order[i]; i++) {
        g_autoptr(GVariant) v = g_variant_lookup_value(dict, order[i], NULL);

        json_builder_set_member_name(b, order[i]);
        if (v)
            json_builder_add_value(b, json_gvariant_serialize(v));
        else
            json_builder_add_null_value(b);
    }
}

static JsonNode *vardict_to_json(GVariant *dict, const char *const *order)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_members(b, dict, order);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static char *human_bytes(guint64 v)
{
    g_autofree char *s = g_format_size_full(v, G_FORMAT_SIZE_IEC_UNITS);
    g_autoptr(GString) out = g_string_new(s);

    /* GLib separates number and unit with U+00A0; keep table output ASCII. */
    g_string_replace(out, "\u00a0", " ", 0);
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Names, devices and reasons come from libvirt and the kernel: on a
 * terminal, no escape sequence or newline of theirs gets through. */
static const char *show(const char *s)
{
    char *safe = fp_text_sanitize(s, FP_TEXT_LOG_MAX);

    g_ptr_array_add(shown, safe);
    return safe;
}

static const char *lookup_str(GVariant *dict, const char *key, const char *fallback)
{
    const char *s = NULL;

    return g_variant_lookup(dict, key, "&s", &s) && *s ? show(s) : fallback;
}

/* A string member, shown (show()), or @fallback when absent or empty. */
static const char *member_str(const FlowMembers *m, guint i, const char *fallback)
{
    const char *s = m->v[i] ? g_variant_get_string(m->v[i], NULL) : "";

    return *s ? show(s) : fallback;
}

/* "name" of a vm_src / vm_dst dictionary, or NULL. */
static char *side_name(GVariant *side)
{
    const char *name = NULL;

    if (!side || !g_variant_lookup(side, "name", "&s", &name))
        return NULL;
    return fp_text_sanitize(name, FP_TEXT_LOG_MAX);
}

/* The VM column: "web ->" (from web), "-> db" (to db), "web -> db", or the
 * owner ("host", "unknown"). */
static char *vm_column(const FlowMembers *m)
{
    g_autofree char *src = side_name(m->v[F_VM_SRC]), *dst = side_name(m->v[F_VM_DST]);

    if (!src && !dst)
        return g_strdup(member_str(m, F_OWNER, "-"));
    if (src && dst)
        return g_strdup_printf("%s -> %s", src, dst);
    return src ? g_strdup_printf("%s ->", src) : g_strdup_printf("-> %s", dst);
}

typedef void (*FlowPageFunc)(GVariant *flows, gpointer user_data);

/* The flows the options ask for, biggest first, a page at a time (no
 * reply is bigger than a page), each page handed to @func as it comes:
 * with --all the listing can be the whole conntrack table, which the
 * client does not hold either.  FALSE with @error set. */
static gboolean fetch_flows(GDBusConnection *bus, FlowPageFunc func, gpointer user_data,
                            GError **error)
{
    g_autofree char *after = g_strdup("");
    guint want = opt_all ? G_MAXUINT : (guint)opt_limit, got = 0;

    while (got < want) {
        g_autoptr(GVariant) reply = NULL, flows = NULL;
        GVariantBuilder opts;

        g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add(&opts, "{sv}", "elephants", g_variant_new_boolean(opt_elephants));
        /* --all: the followed flows, then the rest of the conntrack table
         * (a listing the agent holds between pages; a page may be short). */
        g_variant_builder_add(&opts, "{sv}", "all", g_variant_new_boolean(opt_all));
        if (opt_vm)
            g_variant_builder_add(&opts, "{sv}", "vm", fp_text_variant(opt_vm));
        g_variant_builder_add(&opts, "{sv}", "limit",
                              g_variant_new_uint32(MIN(want - got, FLOWS_PAGE)));
        g_variant_builder_add(&opts, "{sv}", "after", g_variant_new_string(after));
        reply = call(bus, "ListFlowsPage", g_variant_new("(a{sv})", &opts), error);
        if (!reply)
            return FALSE;
        flows = g_variant_get_child_value(reply, 0);
        got += g_variant_n_children(flows);
        func(flows, user_data);
        g_free(after);
        g_variant_get_child(reply, 1, "s", &after);
        if (!*after)
            break;
    }
    return TRUE;
}

typedef struct {
    double now;
    gboolean started; /* the JSON array or the table's header is out */
    guint printed;
} FlowPrinter;

/* One page as elements of a JSON array that the first page opens, each
 * flow's members in the contract's order (absent ones null). */
static void print_json_page(GVariant *flows, gpointer user_data)
{
    FlowPrinter *p = user_data;
    g_autoptr(GString) out = g_string_new(NULL);
    GVariantIter it;
    GVariant *f;

    if (!p->started)
        fputs("[", stdout);
    p->started = TRUE;
    g_variant_iter_init(&it, flows);
    while ((f = g_variant_iter_next_value(&it))) {
        FlowMembers m;

        flow_members_read(&m, f);
        /* Indented one level, as a whole pretty-printed array would be. */
        g_string_append(out, p->printed++ ? ",\n  {" : "\n  {");
        for (guint i = 0; i < F_COUNT; i++) {
            g_string_append_printf(out, "%s    \"%s\" : ", i ? ",\n" : "\n", flow_fields[i]);
            json_append_member(out, m.v[i], 4);
        }
        g_string_append(out, "\n  }");
        flow_members_clear(&m);
        g_variant_unref(f);
        if (out->len >= 65536) {
            fwrite(out->str, 1, out->len, stdout);
            g_string_truncate(out, 0);
        }
    }
    fwrite(out->str, 1, out->len, stdout);
}

static void print_table_page(GVariant *flows, gpointer user_data)
{
    FlowPrinter *p = user_data;
    GVariantIter it;
    GVariant *f;

    if (!p->started)
        g_print("%-5s %-40s %-40s %5s %10s %10s %10s %7s %2s %-10s %-10s %s\n", "PROTO", "SOURCE",
                "DESTINATION", "ZONE", "BYTES>", "BYTES<", "RATE/s", "AGE", "E", "IN", "OUT", "VM");
    p->started = TRUE;
    if (!flows)
        return;
    g_variant_iter_init(&it, flows);
    while ((f = g_variant_iter_next_value(&it))) {
        FlowMembers m;
        guint16 sport, dport, zone;
        guint64 bo, br;
        double first, ro, rr;
        gboolean ele, followed;
        g_autofree char *src = NULL, *dst = NULL, *hbo = NULL, *hbr = NULL, *hrate = NULL;
        g_autofree char *age = NULL, *vm = NULL;

        flow_members_read(&m, f);
        sport = m.v[F_SPORT] ? g_variant_get_uint16(m.v[F_SPORT]) : 0;
        dport = m.v[F_DPORT] ? g_variant_get_uint16(m.v[F_DPORT]) : 0;
        zone = m.v[F_ZONE] ? g_variant_get_uint16(m.v[F_ZONE]) : 0;
        bo = m.v[F_BYTES_ORIG] ? g_variant_get_uint64(m.v[F_BYTES_ORIG]) : 0;
        br = m.v[F_BYTES_REPLY] ? g_variant_get_uint64(m.v[F_BYTES_REPLY]) : 0;
        first = m.v[F_FIRST_SEEN] ? g_variant_get_double(m.v[F_FIRST_SEEN]) : p->now;
        ro = m.v[F_RATE_ORIG_BPS] ? g_variant_get_double(m.v[F_RATE_ORIG_BPS]) : 0;
        rr = m.v[F_RATE_REPLY_BPS] ? g_variant_get_double(m.v[F_RATE_REPLY_BPS]) : 0;
        ele = m.v[F_ELEPHANT] && g_variant_get_boolean(m.v[F_ELEPHANT]);
        followed = !m.v[F_FOLLOWED] || g_variant_get_boolean(m.v[F_FOLLOWED]);
        vm = vm_column(&m);
        src = g_strdup_printf("%s:%u", member_str(&m, F_SRC, "?"), sport);
        dst = g_strdup_printf("%s:%u", member_str(&m, F_DST, "?"), dport);
        hbo = human_bytes(bo);
        hbr = human_bytes(br);
        /* A conntrack entry the agent does not follow (--all): no rate or
         * age known. */
        hrate = followed ? human_bytes((guint64)(ro + rr)) : g_strdup("-");
        age = followed ? g_strdup_printf("%.0fs", p->now - first) : g_strdup("-");
        g_print("%-5s %-40s %-40s %5u %10s %10s %10s %7s %2s %-10s %-10s %s\n",
                member_str(&m, F_PROTO, "?"), src, dst, zone, hbo, hbr, hrate, age, ele ? "E" : "",
                member_str(&m, F_IN_DEV, "-"), member_str(&m, F_OUT_DEV, "-"), vm);
        p->printed++;
        flow_members_clear(&m);
        g_variant_unref(f);
        /* show() keeps each shown text until exit: not one per flow of a
         * whole table. */
        g_ptr_array_set_size(shown, 0);
    }
}

static int cmd_flows(GDBusConnection *bus)
{
    g_autoptr(GError) error = NULL;
    FlowPrinter printer = {(double)g_get_real_time() / 1e6, FALSE, 0};

    if (opt_limit <= 0 && !opt_all) {
        g_printerr("footprintctl: --limit %d: at least 1 (or --all)\n", opt_limit);
        return 2;
    }
    if (!fetch_flows(bus, opt_json ? print_json_page : print_table_page, &printer, &error)) {
        fflush(stdout);
        g_dbus_error_strip_remote_error(error);
        g_printerr("footprintctl: %s\n", show(error->message));
        return 1;
    }
    if (opt_json)
        fputs(!printer.started ? "[]\n" : printer.printed ? "\n]\n" : "]\n", stdout);
    else if (!printer.started)
        print_table_page(NULL, &printer);
    return 0;
}

static int cmd_vms(GDBusConnection *bus)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = NULL, vms = NULL;
    GVariantBuilder opts;
    GVariantIter it;
    GVariant *vm;

    g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
    reply = call(bus, "ListVms", g_variant_new("(a{sv})", &opts), &error);
    if (!reply) {
        g_dbus_error_strip_remote_error(error);
        g_printerr("footprintctl: %s\n", show(error->message));
        return 1;
    }
    vms = g_variant_get_child_value(reply, 0);
    if (opt_json) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) root = NULL;

        json_builder_begin_array(b);
        g_variant_iter_init(&it, vms);
        while ((vm = g_variant_iter_next_value(&it))) {
            json_builder_add_value(b, fp_vm_variant_to_json(vm));
            g_variant_unref(vm);
        }
        json_builder_end_array(b);
        root = json_builder_get_root(b);
        print_json(root);
        return 0;
    }
    g_print("%-20s %-36s %10s %10s %6s %5s\n", "VM", "UUID", "RX/s", "TX/s", "FLOWS", "ELEPH");
    g_variant_iter_init(&it, vms);
    while ((vm = g_variant_iter_next_value(&it))) {
        g_autoptr(GVariant) nics = g_variant_lookup_value(vm, "interfaces", NULL);
        g_autofree char *hrx = NULL, *htx = NULL;
        double rx = 0, tx = 0;
        guint32 flows = 0, elephants = 0;
        GVariantIter nit;
        GVariant *nic;

        g_variant_lookup(vm, "rx_bps", "d", &rx);
        g_variant_lookup(vm, "tx_bps", "d", &tx);
        g_variant_lookup(vm, "flows", "u", &flows);
        g_variant_lookup(vm, "elephants", "u", &elephants);
        hrx = human_bytes((guint64)rx);
        htx = human_bytes((guint64)tx);
        g_print("%-20s %-36s %10s %10s %6u %5u\n", lookup_str(vm, "name", "?"),
                lookup_str(vm, "uuid", "?"), hrx, htx, flows, elephants);
        if (*lookup_str(vm, "problem", ""))
            g_print("  problem: %s\n", lookup_str(vm, "problem", ""));
        g_variant_iter_init(&nit, nics);
        while (nics && (nic = g_variant_iter_next_value(&nit))) {
            gboolean observable = FALSE;
            guint32 queues = 1;

            g_variant_lookup(nic, "observable", "b", &observable);
            g_variant_lookup(nic, "queues", "u", &queues);
            g_print("  %-10s %-15s %-17s queues=%-3u %s%s%s\n", lookup_str(nic, "type", "?"),
                    lookup_str(nic, "target", "-"), lookup_str(nic, "mac", "-"), queues,
                    observable ? "observable" : "NOT observable", observable ? "" : ": ",
                    observable ? "" : lookup_str(nic, "reason", "?"));
            if (*lookup_str(nic, "problem", ""))
                g_print("    problem: %s\n", lookup_str(nic, "problem", ""));
            g_variant_unref(nic);
        }
        g_variant_unref(vm);
    }
    return 0;
}

/* One VM of `footprint --json`, in the contract's order. */
static const char *const footprint_fields[] = {
    "name",          "uuid",          "running",          "class",
    "learned",       "pinned",        "confidence",       "rx_bps",
    "tx_bps",        "elephants",     "elephant_share",   "mice_rate",
    "new_flow_rate", "peak_bps",      "observed_s",       "rx_bytes",
    "tx_bytes",      "flows_started", "metadata_written", NULL,
};

/* footprint VM / explain VM: one VM's footprint, or why it has its class. */
static int cmd_footprint(GDBusConnection *bus, const char *vm, gboolean explain)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = NULL, dict = NULL;

    reply = call(bus, explain ? "Explain" : "GetFootprint",
                 g_variant_new_tuple((GVariant *[]){fp_text_variant(vm)}, 1), &error);
    if (!reply) {
        g_dbus_error_strip_remote_error(error);
        g_printerr("footprintctl: %s\n", show(error->message));
        return 1;
    }
    dict = g_variant_get_child_value(reply, 0);
    if (opt_json) {
        g_autoptr(JsonNode) node =
            explain ? json_gvariant_serialize(dict) : vardict_to_json(dict, footprint_fields);

        print_json(node);
        return 0;
    }
    g_print("%s (%s): %s", lookup_str(dict, "name", "?"), lookup_str(dict, "uuid", "?"),
            lookup_str(dict, "class", "?"));
    if (*lookup_str(dict, "pinned", ""))
        g_print(" (pinned; learned %s)", lookup_str(dict, "learned", "?"));
    g_print("\n");
    if (explain) {
        const char *text = "";
        g_auto(GStrv) lines = NULL;

        g_variant_lookup(dict, "text", "&s", &text);
        lines = g_strsplit(text, "\n", -1);
        for (guint i = 0; lines[i]; i++)
            if (*lines[i] || lines[i + 1])
                g_print("%s\n", show(lines[i]));
        return 0;
    }
    for (guint i = 0; footprint_fields[i]; i++) {
        g_autoptr(GVariant) v = g_variant_lookup_value(dict, footprint_fields[i], NULL);
        g_autofree char *text = NULL;

        if (!v)
            continue;
        text = g_variant_is_of_type(v, G_VARIANT_TYPE_STRING) ? g_variant_dup_string(v, NULL)
               : g_variant_is_of_type(v, G_VARIANT_TYPE_DOUBLE)
                   ? g_strdup_printf("%.6g", g_variant_get_double(v))
                   : g_variant_print(v, FALSE);
        g_print("  %-18s %s\n", footprint_fields[i], show(text));
    }
    return 0;
}

static int cmd_status(GDBusConnection *bus)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = call(bus, "GetStatus", NULL, &error);
    g_autoptr(GVariant) dict = NULL;
    GVariantIter it;
    const char *key;
    GVariant *value;

    if (!reply) {
        g_printerr("footprintctl: %s\n", show(error->message));
        return 1;
    }
    dict = g_variant_get_child_value(reply, 0);
    if (opt_json) {
        g_autoptr(JsonNode) node = json_gvariant_serialize(dict);

        print_json(node);
        return 0;
    }
    g_variant_iter_init(&it, dict);
    while (g_variant_iter_next(&it, "{&sv}", &key, &value)) {
        g_autofree char *text = g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)
                                    ? g_variant_dup_string(value, NULL)
                                    : g_variant_print(value, FALSE);

        g_print("%-24s %s\n", key, show(text));
        g_variant_unref(value);
    }
    return 0;
}

/* tuning [--json] [--undo] [--mode MODE]: the plan and every change in
 * force; --undo and --mode act first (root). */
static int cmd_tuning(GDBusConnection *bus)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) reply = NULL, dict = NULL, actions = NULL, errors = NULL;
    const char *plan = "", *journal = "";
    GVariantIter it;

    if (opt_mode)
        reply = call(bus, "SetTuningMode", g_variant_new("(s)", opt_mode), &error);
    else if (opt_undo)
        reply = call(bus, "UndoTuning", NULL, &error);
    if ((opt_mode || opt_undo) && !reply) {
        g_dbus_error_strip_remote_error(error);
        g_printerr("footprintctl: %s\n", error->message);
        return 1;
    }
    g_clear_pointer(&reply, g_variant_unref);
    reply = call(bus, "GetTuning", NULL, &error);
    if (!reply) {
        g_dbus_error_strip_remote_error(error);
        g_printerr("footprintctl: %s\n", error->message);
        return 1;
    }
    dict = g_variant_get_child_value(reply, 0);
    if (opt_json) {
        g_autoptr(JsonNode) node = json_gvariant_serialize(dict);

        print_json(node);
        return 0;
    }
    g_variant_lookup(dict, "plan", "&s", &plan);
    g_variant_lookup(dict, "journal", "&s", &journal);
    g_print("mode: %s (classifier: %s)\n", lookup_str(dict, "mode", "?"),
            lookup_str(dict, "classifier", "?"));
    g_print("plan:%s\n", *plan ? "" : " none (observe mode, or nothing seen yet)");
    if (*plan) {
        g_auto(GStrv) lines = g_strsplit(plan, "\n", -1);

        for (guint i = 0; lines[i]; i++)
            if (*lines[i])
                g_print("  %s\n", lines[i]);
    }
    actions = g_variant_lookup_value(dict, "actions", G_VARIANT_TYPE("aa{sv}"));
    g_print("changes in force (journal %s): %zu\n", journal,
            actions ? g_variant_n_children(actions) : 0);
    if (actions) {
        GVariant *a;

        g_variant_iter_init(&it, actions);
        while ((a = g_variant_iter_next_value(&it))) {
            guint64 seq = 0;
            double age = 0;

            g_variant_lookup(a, "seq", "t", &seq);
            g_variant_lookup(a, "age_s", "d", &age);
            g_print("  #%" G_GUINT64_FORMAT " %s %s: %s -> %s, %.0fs ago: %s\n", seq,
                    lookup_str(a, "knob", "?"), lookup_str(a, "object", "?"),
                    lookup_str(a, "previous", "?"), lookup_str(a, "value", "?"), age,
                    lookup_str(a, "reason", "-"));
            g_variant_unref(a);
        }
    }
    errors = g_variant_lookup_value(dict, "errors", G_VARIANT_TYPE_STRING_ARRAY);
    if (errors && g_variant_n_children(errors)) {
        g_autofree const char **list = g_variant_get_strv(errors, NULL);

        g_print("recent errors:\n");
        for (guint i = 0; list[i]; i++)
            g_print("  %s\n", list[i]);
    }
    {
        guint64 elephants = 0, marks = 0, undone = 0;
        guint32 watched = 0, skipped = 0;
        gint64 last = 0, max = 0;

        g_variant_lookup(dict, "elephants", "t", &elephants);
        g_variant_lookup(dict, "flows_watched", "u", &watched);
        g_variant_lookup(dict, "flows_skipped", "u", &skipped);
        g_variant_lookup(dict, "marks_set", "t", &marks);
        g_variant_lookup(dict, "changes_undone", "t", &undone);
        g_variant_lookup(dict, "demote_latency_last_us", "x", &last);
        g_variant_lookup(dict, "demote_latency_max_us", "x", &max);
        g_print(
            "elephants %" G_GUINT64_FORMAT ", watched %u, skipped %u, marks set %" G_GUINT64_FORMAT
            ", changes undone %" G_GUINT64_FORMAT ", demotion latency last %.1f ms, max %.1f ms\n",
            elephants, watched, skipped, marks, undone, (double)last / 1000, (double)max / 1000);
    }
    {
        guint64 threads = 0, masks = 0, irqs = 0, tables = 0;

        g_variant_lookup(dict, "threads_moved", "t", &threads);
        g_variant_lookup(dict, "masks_set", "t", &masks);
        g_variant_lookup(dict, "irqs_moved", "t", &irqs);
        g_variant_lookup(dict, "rss_tables_set", "t", &tables);
        g_print("cpus: %s; threads moved %" G_GUINT64_FORMAT ", queue masks set %" G_GUINT64_FORMAT
                ", NIC IRQs moved %" G_GUINT64_FORMAT ", RSS tables set %" G_GUINT64_FORMAT "\n",
                lookup_str(dict, "cpus", "not split"), threads, masks, irqs, tables);
    }
    return 0;
}

/* Offline: what footprintd sees in a domain XML file (no daemon needed). */
static int cmd_inspect_domain(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(FpVm) vm = NULL;
    g_autoptr(JsonNode) node = NULL;

    if (!fp_domain_xml_parse_file(path, &vm, &error)) {
        g_printerr("footprintctl: %s\n", error->message);
        return 1;
    }
    node = fp_vm_to_json(vm);
    if (opt_json) {
        print_json(node);
        return 0;
    }
    g_print("domain %s (%s)%s%s\n", show(vm->name), vm->uuid, vm->nova ? " nova: " : "",
            vm->nova && vm->nova->name ? show(vm->nova->name) : "");
    if (vm->problem)
        g_print("  problem: %s\n", show(vm->problem));
    for (guint i = 0; i < vm->interfaces->len; i++) {
        const FpVmInterface *nic = g_ptr_array_index(vm->interfaces, i);

        g_print("  %-10s %-15s %-17s %-6s queues=%u %s%s\n", show(nic->type),
                nic->target ? show(nic->target) : "-", nic->mac ? show(nic->mac) : "-",
                nic->observable ? "seen" : "unseen", nic->queues, nic->reason ? "- " : "",
                nic->reason ? show(nic->reason) : "");
        if (nic->problem)
            g_print("    problem: %s\n", show(nic->problem));
    }
    return 0;
}

int main(int argc, char **argv)
{
    g_autoptr(GOptionContext) ctx = g_option_context_new("COMMAND [ARGS] - talk to footprintd");
    g_autoptr(GError) error = NULL;
    g_autoptr(GDBusConnection) bus = NULL;
    g_autoptr(GPtrArray) shown_strings = g_ptr_array_new_with_free_func(g_free);
    const char *cmd;

    shown = shown_strings;
    g_option_context_add_main_entries(ctx, common_entries, NULL);
    g_option_context_set_summary(ctx,
                                 "Commands:\n"
                                 "  status             agent health and backend\n"
                                 "  flows              live flows (--elephants, --vm NAME|UUID, "
                                 "--json)\n"
                                 "  vms                running VMs: interfaces, rates, flows "
                                 "(--json)\n"
                                 "  inspect-domain FILE  what footprintd sees in a domain XML "
                                 "(offline, --json)\n"
                                 "  footprint VM       a VM's learnt footprint: class, "
                                 "confidence, rates (--json)\n"
                                 "  explain VM         why a VM has its class: the numbers and "
                                 "thresholds (--json)\n"
                                 "  tuning             the tuner's mode, plan and changes in force "
                                 "(--json; --mode MODE, --undo: root)");
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        g_printerr("footprintctl: %s\n", error->message);
        return 2;
    }
    if (argc < 2) {
        g_printerr("footprintctl: missing command (status, flows, vms, footprint, explain, "
                   "tuning, inspect-domain); see --help\n");
        return 2;
    }
    cmd = argv[1];
    if (g_str_equal(cmd, "inspect-domain")) {
        if (argc != 3) {
            g_printerr("footprintctl: usage: inspect-domain FILE [--json]\n");
            return 2;
        }
        return cmd_inspect_domain(argv[2]);
    }
    if ((g_str_equal(cmd, "footprint") || g_str_equal(cmd, "explain")) && argc != 3) {
        g_printerr("footprintctl: usage: %s VM [--json]\n", cmd);
        return 2;
    }
    if (!g_str_equal(cmd, "flows") && !g_str_equal(cmd, "status") && !g_str_equal(cmd, "vms") &&
        !g_str_equal(cmd, "footprint") && !g_str_equal(cmd, "explain") &&
        !g_str_equal(cmd, "tuning")) {
        g_printerr("footprintctl: unknown command '%s'; see --help\n", cmd);
        return 2;
    }
    bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    if (!bus) {
        g_printerr("footprintctl: cannot reach the system bus: %s\n", error->message);
        return 1;
    }
    if (g_str_equal(cmd, "flows"))
        return cmd_flows(bus);
    if (g_str_equal(cmd, "vms"))
        return cmd_vms(bus);
    if (g_str_equal(cmd, "tuning"))
        return cmd_tuning(bus);
    if (g_str_equal(cmd, "footprint") || g_str_equal(cmd, "explain"))
        return cmd_footprint(bus, argv[2], g_str_equal(cmd, "explain"));
    return cmd_status(bus);
}
