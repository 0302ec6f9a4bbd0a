/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * publish-libvirt: our footprint element in a domain's libvirt metadata
 * (namespace FP_FOOTPRINT_MODEL_XMLNS, key FP_FOOTPRINT_MODEL_XML_KEY).
 * Only that element is ever read or written: other metadata is untouched.
 * The element's content is built and parsed by footprint-model.c.
 */
#pragma once

#include <glib.h>
#include <libvirt/libvirt.h>

G_BEGIN_DECLS

gboolean fp_libvirt_read_footprint(virConnectPtr conn, const char *uuid, char **xml,
                                   GError **error);
gboolean fp_libvirt_write_footprint(virConnectPtr conn, const char *uuid, const char *xml,
                                    GError **error);

G_END_DECLS
