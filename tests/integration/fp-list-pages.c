/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A whole-table listing (ListFlowsPage "all") driven page by page on one
 * bus connection, for integration/sense-list-all.sh: after the first page
 * it writes the listing's cursor to MARKER and waits PAUSE seconds, so
 * that the test can call the agent (and try the cursor from another
 * connection) while the listing is in progress.  One line per flow on
 * stdout ("proto src sport dst dport followed owner vm_src vm_dst"); on
 * stderr the pages, the empty ones and the largest reply in bytes.
 *
 *   fp-list-pages LIMIT PAUSE MARKER [VM]
 */
#include "config.h"

#include <stdio.h>
#include <gio/gio.h>

#include "dbus.h"

static const char *side(GVariant *flow, const char *key)
{
    g_autoptr(GVariant) s = g_variant_lookup_value(flow, key, G_VARIANT_TYPE_VARDICT);
    const char *name = NULL;

    /* The name outlives @s: the flow holds the dictionary. */
    if (!s || !g_variant_lookup(s, "name", "&s", &name))
        return "-";
    return name;
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GDBusConnection) bus = NULL;
    g_autofree char *after = g_strdup("");
    guint limit, pages = 0, empty = 0;
    gsize largest = 0;
    double pause;

    if (argc < 4) {
        fprintf(stderr, "usage: %s LIMIT PAUSE MARKER [VM]\n", argv[0]);
        return 2;
    }
    guint64 n;

    if (!g_ascii_string_to_unsigned(argv[1], 10, 1, 2000, &n, &error)) {
        fprintf(stderr, "fp-list-pages: LIMIT: %s\n", error->message);
        return 2;
    }
    limit = (guint)n;
    pause = g_ascii_strtod(argv[2], NULL);
    bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
    if (!bus) {
        fprintf(stderr, "fp-list-pages: %s\n", error->message);
        return 1;
    }
    do {
        g_autoptr(GVariant) reply = NULL, flows = NULL;
        GVariantBuilder opts;
        GVariantIter it;
        GVariant *f;

        g_variant_builder_init(&opts, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add(&opts, "{sv}", "all", g_variant_new_boolean(TRUE));
        g_variant_builder_add(&opts, "{sv}", "limit", g_variant_new_uint32(limit));
        g_variant_builder_add(&opts, "{sv}", "after", g_variant_new_string(after));
        if (argc > 4)
            g_variant_builder_add(&opts, "{sv}", "vm", g_variant_new_string(argv[4]));
        reply = g_dbus_connection_call_sync(bus, FP_DBUS_NAME, FP_DBUS_PATH, FP_DBUS_INTERFACE,
                                            "ListFlowsPage", g_variant_new("(a{sv})", &opts),
                                            G_VARIANT_TYPE("(aa{sv}s)"), G_DBUS_CALL_FLAGS_NONE,
                                            10000, NULL, &error);
        if (!reply) {
            fprintf(stderr, "fp-list-pages: page %u: %s\n", pages + 1, error->message);
            return 1;
        }
        largest = MAX(largest, g_variant_get_size(reply));
        flows = g_variant_get_child_value(reply, 0);
        pages++;
        if (g_variant_n_children(flows) == 0)
            empty++;
        g_variant_iter_init(&it, flows);
        while ((f = g_variant_iter_next_value(&it))) {
            const char *proto = "?", *src = "?", *dst = "?", *owner = "?";
            guint16 sport = 0, dport = 0;
            gboolean followed = FALSE;

            g_variant_lookup(f, "proto", "&s", &proto);
            g_variant_lookup(f, "src", "&s", &src);
            g_variant_lookup(f, "dst", "&s", &dst);
            g_variant_lookup(f, "sport", "q", &sport);
            g_variant_lookup(f, "dport", "q", &dport);
            g_variant_lookup(f, "followed", "b", &followed);
            g_variant_lookup(f, "owner", "&s", &owner);
            printf("%s %s %u %s %u %d %s %s %s\n", proto, src, sport, dst, dport, followed, owner,
                   side(f, "vm_src"), side(f, "vm_dst"));
            g_variant_unref(f);
        }
        g_free(after);
        g_variant_get_child(reply, 1, "s", &after);
        if (pages == 1 && *after) {
            g_autofree char *text = g_strdup_printf("%s\n", after);

            fflush(stdout);
            if (!g_file_set_contents(argv[3], text, -1, &error)) {
                fprintf(stderr, "fp-list-pages: %s\n", error->message);
                return 1;
            }
            g_usleep((gulong)(pause * G_USEC_PER_SEC));
        }
    } while (*after);
    fprintf(stderr, "pages %u empty %u largest_reply_bytes %zu\n", pages, empty, largest);
    return 0;
}
