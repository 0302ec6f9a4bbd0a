/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvirt domain XML as virDomainGetXMLDesc() (anyone allowed to define a
 * domain) or a file hands it to fp_domain_xml_parse(): bytes and a length,
 * not NUL-terminated.  An accepted domain is also turned into the JSON the
 * CLI and D-Bus show, when src/vm-json.c is built in (FP_FUZZ_HAVE_VM_JSON).
 */
#include "config.h"

#include "domain-xml.h"
#include "fp-error.h"
#ifdef FP_FUZZ_HAVE_VM_JSON
#include "vm-json.h"
#endif

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    g_autoptr(FpVm) vm = NULL;

    if (!fp_domain_xml_parse((const char *)data, size, "fuzz.xml", &vm, error)) {
        g_assert_null(vm);
        return FALSE;
    }
    g_assert_nonnull(vm);
    g_assert_cmpuint(strlen(vm->uuid), ==, 36);
    g_assert_nonnull(vm->name);
    g_assert_true(g_utf8_validate(vm->name, -1, NULL));
    g_assert_nonnull(vm->interfaces);
#ifdef FP_FUZZ_HAVE_VM_JSON
    {
        g_autoptr(JsonNode) node = fp_vm_to_json(vm);
        g_autofree char *text = fp_json_to_string(node, FALSE);

        g_assert_nonnull(text);
        g_assert_true(g_utf8_validate(text, -1, NULL));
    }
#endif
    return TRUE;
}
