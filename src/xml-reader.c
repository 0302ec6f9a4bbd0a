/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one libxml2 reader for XML that someone else controls (libvirt domain
 * XML, our own metadata element as an operator may have edited it): no
 * DOCTYPE, no entity declared, referenced or expanded, no network, nothing
 * read from files, and bounds on what would make libxml2 work
 * quadratically or build a huge tree.
 */
#include "config.h"

#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "fp-cleanup.h"
#include "xml-reader.h"

/* State shared with the SAX hooks through xmlParserCtxt._private. */
typedef struct {
    startElementNsSAX2Func start_element_ns;
    const FpXmlLimits *limits;
    guint n_elements;
    char *refused;     /* why parsing was stopped */
    char *first_error; /* the first parser error, sanitized */
    int first_error_line;
} FpParseGuard;

static FpParseGuard *fp_guard_from_ctx(void *ctx)
{
    xmlParserCtxtPtr ctxt = ctx;

    return ctxt->_private;
}

static void fp_guard_refuse(void *ctx, char *why)
{
    FpParseGuard *guard = fp_guard_from_ctx(ctx);

    if (guard->refused == NULL)
        guard->refused = why;
    else
        g_free(why);
    xmlStopParser(ctx);
}

static void fp_sax_internal_subset(void *ctx, const xmlChar *name G_GNUC_UNUSED,
                                   const xmlChar *external_id G_GNUC_UNUSED,
                                   const xmlChar *system_id G_GNUC_UNUSED)
{
    fp_guard_refuse(ctx, g_strdup("a document type declaration (DOCTYPE) is not allowed"));
}

static void fp_sax_entity_decl(void *ctx, const xmlChar *name G_GNUC_UNUSED, int type G_GNUC_UNUSED,
                               const xmlChar *public_id G_GNUC_UNUSED,
                               const xmlChar *system_id G_GNUC_UNUSED,
                               xmlChar *content G_GNUC_UNUSED)
{
    fp_guard_refuse(ctx, g_strdup("entity declarations are not allowed"));
}

static void fp_sax_reference(void *ctx, const xmlChar *name G_GNUC_UNUSED)
{
    fp_guard_refuse(ctx, g_strdup("entity references are not allowed"));
}

static xmlEntityPtr fp_sax_get_entity(void *ctx, const xmlChar *name G_GNUC_UNUSED)
{
    /* The five predefined entities (&amp; ...) never reach this hook. */
    fp_guard_refuse(ctx, g_strdup("entity references are not allowed"));
    return NULL;
}

static void fp_sax_start_element_ns(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                                    const xmlChar *uri, int nb_namespaces,
                                    const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
                                    const xmlChar **attributes)
{
    FpParseGuard *guard = fp_guard_from_ctx(ctx);

    if (++guard->n_elements > guard->limits->max_elements) {
        fp_guard_refuse(
            ctx, g_strdup_printf("too many elements (limit %u)", guard->limits->max_elements));
        return;
    }
    guard->start_element_ns(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                            nb_defaulted, attributes);
}

/* Keeps the first error; libxml2 goes on reporting consequences of it. */
static void fp_sax_structured_error(void *ctx, xmlErrorPtr err)
{
    FpParseGuard *guard = fp_guard_from_ctx(ctx);

    if (err == NULL || err->level < XML_ERR_ERROR || guard->first_error != NULL)
        return;
    guard->first_error =
        fp_text_sanitize(err->message != NULL ? err->message : "unknown error", 200);
    g_strstrip(guard->first_error);
    guard->first_error_line = err->line;
}

/*
 * Refuses, before libxml2 sees them, documents that would make it work
 * quadratically or build a huge tree.  Conservative: it may over-count,
 * never under-count.  All attributes of a start tag lie between its '<' and
 * the next '<' ('<' is not allowed in attribute values), each has exactly
 * one '=' outside quotes, and libxml2 stops reading a tag's attributes at
 * the first malformed one; so counting unquoted '=' from each '<' on bounds
 * the attributes of every tag.  Comments and the like are counted too,
 * which only over-counts.
 *
 * This byte-level reasoning holds only for UTF-8, where no byte of a
 * multi-byte character is ASCII; libxml2 would also accept UTF-16, UCS-4,
 * EBCDIC or ISO-2022 and hide the '<' and '=' from us.  So the input must
 * be UTF-8: it must start with '<' (after an optional BOM and whitespace),
 * which rules out UTF-16/UCS-4 byte orders and EBCDIC, contain no NUL byte
 * (not valid XML anyway, present in any UTF-16/UCS-4 text), and the parser
 * ignores encoding declarations (XML_PARSE_IGNORE_ENC).
 */
static char *fp_prescan(const char *xml, gsize len, const FpXmlLimits *limits)
{
    enum { FP_SCAN_TEXT, FP_SCAN_TAG, FP_SCAN_QUOTED } state = FP_SCAN_TEXT;
    char quote = 0;
    guint in_tag = 0;
    guint total = 0;
    guint xmlns = 0;
    gsize start = 0;

    if (len >= 3 && memcmp(xml, "\xEF\xBB\xBF", 3) == 0)
        start = 3;
    while (start < len && g_ascii_isspace(xml[start]))
        start++;
    if (start == len || xml[start] != '<')
        return g_strdup("not XML in UTF-8: the document does not start with '<'");

    for (gsize i = start; i < len; i++) {
        char c = xml[i];

        if (c == '\0')
            return g_strdup("not XML in UTF-8: the document contains a NUL byte");
        if (c == '<') {
            state = FP_SCAN_TAG;
            in_tag = 0;
            continue;
        }
        switch (state) {
        case FP_SCAN_TEXT:
            break;
        case FP_SCAN_TAG:
            if (c == '"' || c == '\'') {
                state = FP_SCAN_QUOTED;
                quote = c;
            } else if (c == '>') {
                state = FP_SCAN_TEXT;
            } else if (c == '=') {
                if (++in_tag > limits->max_element_attributes)
                    return g_strdup_printf("an element has too many attributes (limit %u)",
                                           limits->max_element_attributes);
                if (++total > limits->max_attributes)
                    return g_strdup_printf("too many attributes (limit %u)",
                                           limits->max_attributes);
            } else if (c == 'x' && len - i >= 5 && memcmp(xml + i, "xmlns", 5) == 0) {
                if (++xmlns > limits->max_namespace_decls)
                    return g_strdup_printf("too many namespace declarations (limit %u)",
                                           limits->max_namespace_decls);
            }
            break;
        case FP_SCAN_QUOTED:
            if (c == quote)
                state = FP_SCAN_TAG;
            break;
        }
    }
    return NULL;
}

/**
 * fp_xml_read_untrusted:
 * @xml: the document; need not be NUL-terminated
 * @len: its length in bytes
 * @limits: bounds it must stay within
 * @why: (out): one line saying why it was refused, when it was
 *
 * Returns: (transfer full) (nullable): the document, or %NULL with @why set
 */
xmlDoc *fp_xml_read_untrusted(const char *xml, gsize len, const FpXmlLimits *limits, char **why)
{
    g_autoptr(xmlParserCtxt) ctxt = NULL;
    g_autoptr(xmlDoc) doc = NULL;
    FpParseGuard guard = {0};

    *why = fp_prescan(xml, len, limits);
    if (*why != NULL)
        return NULL;
    xmlInitParser();
    ctxt = xmlCreateMemoryParserCtxt(xml, (int)len);
    if (ctxt == NULL) {
        *why = g_strdup("cannot create an XML parser");
        return NULL;
    }
    /* No XML_PARSE_NOENT, DTDLOAD, DTDATTR or HUGE: nothing is expanded or
     * fetched, and libxml2's own size limits apply. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA | XML_PARSE_COMPACT | XML_PARSE_IGNORE_ENC);
    guard.limits = limits;
    ctxt->_private = &guard;
    ctxt->sax->serror = fp_sax_structured_error;
    ctxt->sax->internalSubset = fp_sax_internal_subset;
    ctxt->sax->externalSubset = fp_sax_internal_subset;
    ctxt->sax->entityDecl = fp_sax_entity_decl;
    ctxt->sax->reference = fp_sax_reference;
    ctxt->sax->getEntity = fp_sax_get_entity;
    ctxt->sax->getParameterEntity = fp_sax_get_entity;
    guard.start_element_ns = ctxt->sax->startElementNs;
    ctxt->sax->startElementNs = fp_sax_start_element_ns;

    xmlParseDocument(ctxt);
    doc = g_steal_pointer(&ctxt->myDoc);

    if (guard.refused != NULL) {
        *why = g_steal_pointer(&guard.refused);
    } else if (!ctxt->wellFormed || doc == NULL) {
        if (guard.first_error != NULL)
            *why = g_strdup_printf("not well-formed XML at line %d: %s", guard.first_error_line,
                                   guard.first_error);
        else
            *why = g_strdup("not well-formed XML");
    } else if (doc->intSubset != NULL || doc->extSubset != NULL) {
        /* Unreachable with the hooks above; kept so a hook regression fails closed. */
        *why = g_strdup("a document type declaration (DOCTYPE) is not allowed");
    } else {
        g_free(guard.first_error);
        return g_steal_pointer(&doc);
    }
    g_free(guard.first_error);
    return NULL;
}
