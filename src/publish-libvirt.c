/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The footprint element in libvirt metadata.  virDomainSetMetadata() with
 * VIR_DOMAIN_METADATA_ELEMENT replaces the one element of our namespace and
 * leaves every other namespace's alone.  A running persistent domain gets
 * it in both its live and its persistent definition (so it survives a
 * restart of the domain and travels with a migration); a transient domain
 * has no persistent definition, only the live one.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <libvirt/virterror.h>

#include "footprint-model.h"
#include "fp-cleanup.h"
#include "fp-error.h"
#include "publish-libvirt.h"

static virDomainPtr lookup(virConnectPtr conn, const char *uuid, GError **error)
{
    virDomainPtr dom;

    if (conn == NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain %s: not connected to libvirt", uuid);
        return NULL;
    }
    dom = virDomainLookupByUUIDString(conn, uuid);
    if (dom == NULL)
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "domain %s: %s", uuid,
                    virGetLastErrorMessage());
    return dom;
}

/*
 * virDomainGetMetadata() returns the element with the key's prefix taken
 * off its name but the prefix's declaration kept:
 *   <footprint xmlns:footprint="NS" class="..."/>
 * so the element itself is in no namespace.  Put it back in ours with a
 * default namespace declaration (attributes are unprefixed either way).
 */
static char *renamespace(char *xml)
{
    const char *tag = "<" FP_FOOTPRINT_MODEL_XML_KEY;
    gsize n = strlen(tag);
    char *fixed;

    if (strncmp(xml, tag, n) != 0 || (xml[n] != ' ' && xml[n] != '/' && xml[n] != '>') ||
        strstr(xml, "xmlns=\"") != NULL)
        return xml;
    fixed = g_strdup_printf("%s xmlns=\"%s\"%s", tag, FP_FOOTPRINT_MODEL_XMLNS, xml + n);
    free(xml);
    return fixed;
}

/* Our element of one definition; TRUE with *xml NULL when it has none. */
static gboolean get_element(virDomainPtr dom, unsigned int flags, char **xml, GError **error)
{
    virErrorPtr err;

    *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, FP_FOOTPRINT_MODEL_XMLNS, flags);
    if (*xml != NULL) {
        *xml = renamespace(*xml);
        return TRUE;
    }
    err = virGetLastError();
    if (err != NULL && err->code == VIR_ERR_NO_DOMAIN_METADATA)
        return TRUE;
    g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain '%s': cannot read metadata %s: %s",
                virDomainGetName(dom), FP_FOOTPRINT_MODEL_XMLNS, virGetLastErrorMessage());
    return FALSE;
}

/**
 * fp_libvirt_read_footprint:
 * @conn: (nullable): the libvirt connection, %NULL when disconnected
 * @uuid: the domain's uuid
 * @xml: (out) (transfer full): the element, in our namespace (free()), %NULL
 *     when the domain has none
 * @error: return location for a #GError
 *
 * Reads the element from the live definition of a running domain (where
 * `virsh metadata --live` and our own writes put it), else from the
 * persistent one.
 *
 * Returns: %TRUE on success, also when there is no element.
 */
gboolean fp_libvirt_read_footprint(virConnectPtr conn, const char *uuid, char **xml, GError **error)
{
    g_autoptr(virDomain) dom = lookup(conn, uuid, error);

    *xml = NULL;
    if (dom == NULL)
        return FALSE;
    if (virDomainIsActive(dom) == 1) {
        if (!get_element(dom, VIR_DOMAIN_AFFECT_LIVE, xml, error))
            return FALSE;
        if (*xml != NULL || virDomainIsPersistent(dom) != 1)
            return TRUE;
    }
    return get_element(dom, VIR_DOMAIN_AFFECT_CONFIG, xml, error);
}

/**
 * fp_libvirt_write_footprint:
 * @conn: (nullable): the libvirt connection, %NULL when disconnected
 * @uuid: the domain's uuid
 * @xml: the element (fp_footprint_state_to_xml())
 * @error: return location for a #GError
 *
 * Sets the element on the live definition of a running domain and on the
 * persistent definition of a persistent one.
 *
 * Returns: %TRUE on success.
 */
gboolean fp_libvirt_write_footprint(virConnectPtr conn, const char *uuid, const char *xml,
                                    GError **error)
{
    g_autoptr(virDomain) dom = lookup(conn, uuid, error);
    unsigned int flags = 0;

    if (dom == NULL)
        return FALSE;
    if (virDomainIsActive(dom) == 1)
        flags |= VIR_DOMAIN_AFFECT_LIVE;
    if (virDomainIsPersistent(dom) == 1)
        flags |= VIR_DOMAIN_AFFECT_CONFIG;
    if (flags == 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND, "domain '%s' is gone",
                    virDomainGetName(dom));
        return FALSE;
    }
    if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, FP_FOOTPRINT_MODEL_XML_KEY,
                             FP_FOOTPRINT_MODEL_XMLNS, flags) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_IO, "domain '%s': cannot set metadata %s: %s",
                    virDomainGetName(dom), FP_FOOTPRINT_MODEL_XMLNS, virGetLastErrorMessage());
        return FALSE;
    }
    return TRUE;
}
