/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The inventory against libvirt's own test driver (in process: no
 * libvirtd, no root): domains libvirt accepts and footprintd's parser would
 * not have taken as they are must not vanish.  A 300-byte name is shown cut
 * and still found by its whole name; a domain whose metadata holds an
 * element with 300 attributes (more than the parser's bound) is listed by
 * uuid and name, without interfaces, with the reason, and counted.
 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "inventory.h"
#include "snapshot.h"
#include "test-tmpdir.h"

#define UUID_LONG "6f62d266-7dfd-4eaa-b31c-fc27a68565a1"
#define UUID_HEAVY "6f62d266-7dfd-4eaa-b31c-fc27a68565a2"

static gboolean two_vms(gpointer index)
{
    return fp_vm_index_size(index) == 2;
}

static void test_libvirt_accepts(void)
{
    g_autofree char *dir = fp_test_tmpdir("test-inventory");
    g_autofree char *node = g_build_filename(dir, "node.xml", NULL);
    g_autofree char *uri = g_strdup_printf("test://%s", node);
    g_autofree char *long_name = g_strnfill(300, 'n');
    g_autoptr(GString) xml = g_string_new("<node>");
    g_autoptr(FpInventory) inv = NULL;
    FpInventoryStatus st;
    const FpVm *vm;
    gint64 end;

    g_string_append_printf(xml,
                           "<domain type='test'><name>%s</name><uuid>" UUID_LONG "</uuid>"
                           "<memory>65536</memory><os><type>hvm</type></os><devices>"
                           "<interface type='network'><source network='default'/>"
                           "<mac address='52:54:00:00:00:01'/><target dev='vnetx1'/>"
                           "</interface></devices></domain>",
                           long_name);
    g_string_append(xml, "<domain type='test'><name>meta-heavy</name><uuid>" UUID_HEAVY
                         "</uuid><memory>65536</memory><os><type>hvm</type></os><metadata>"
                         "<other:app xmlns:other='http://example.com/other'");
    for (guint i = 0; i < 300; i++)
        g_string_append_printf(xml, " a%u='x'", i);
    g_string_append(xml, "/></metadata></domain></node>");
    g_assert_true(g_file_set_contents(node, xml->str, -1, NULL));

    inv = fp_inventory_new(uri);
    fp_inventory_start(inv);
    end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (!two_vms(fp_inventory_get_index(inv)) && g_get_monotonic_time() < end)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpuint(fp_vm_index_size(fp_inventory_get_index(inv)), ==, 2);

    vm = fp_vm_index_find(fp_inventory_get_index(inv), long_name);
    g_assert_nonnull(vm);
    g_assert_cmpstr(vm->uuid, ==, UUID_LONG);
    g_assert_cmpuint(strlen(vm->name), ==, 256 + 3);
    g_assert_true(vm->name_truncated);
    g_assert_cmpstr(vm->libvirt_name, ==, long_name);
    g_assert_cmpstr(vm->problem, ==, "<name> is 300 bytes long: shown cut to 256");
    g_assert_cmpuint(vm->interfaces->len, ==, 1);
    g_assert_false(vm->interfaces_unknown);
    g_assert_true(vm == fp_vm_index_find(fp_inventory_get_index(inv), vm->name));
    /* GetFootprint finds it in a sweep's snapshot by either name, too. */
    {
        g_autoptr(FpSnapshot) snap = fp_snapshot_new(1, 1, 1);
        guint32 ifindex[1] = {0};

        fp_snapshot_add_vm(snap, vm, ifindex);
        fp_snapshot_seal(snap);
        g_assert_nonnull(fp_snapshot_find(snap, long_name));
        g_assert_nonnull(fp_snapshot_find(snap, vm->name));
    }

    vm = fp_vm_index_find(fp_inventory_get_index(inv), "meta-heavy");
    g_assert_nonnull(vm);
    g_test_message("%s", vm->problem);
    g_assert_cmpstr(vm->uuid, ==, UUID_HEAVY);
    g_assert_true(vm->interfaces_unknown);
    g_assert_cmpuint(vm->interfaces->len, ==, 0);
    g_assert_true(g_str_has_prefix(vm->problem, "domain XML not used: domain XML 'domain "
                                                "'meta-heavy'': an element has too many "
                                                "attributes"));
    fp_inventory_get_status(inv, &st);
    g_assert_cmpuint(st.domain_xml_errors, ==, 1);

    g_clear_pointer(&inv, fp_inventory_free);
    fp_test_rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/inventory/libvirt-accepts", test_libvirt_accepts);
    return g_test_run();
}
