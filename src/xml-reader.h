/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

#include "safe-text.h"

/* Bounds a hostile document must stay within (checked before and while
 * libxml2 parses it). */
typedef struct {
    guint max_elements;           /* in the document */
    guint max_attributes;         /* in the document */
    guint max_element_attributes; /* on one element */
    guint max_namespace_decls;    /* in the document */
} FpXmlLimits;

xmlDoc *fp_xml_read_untrusted(const char *xml, gsize len, const FpXmlLimits *limits, char **why);
