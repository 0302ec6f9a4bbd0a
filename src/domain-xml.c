/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain-xml: libvirt domain XML → FpVm, with libxml2 and XPath only.
 *
 * The XML comes from libvirtd (or a file) and is treated as untrusted: anyone
 * allowed to define a domain controls it.  But libvirt accepted it: a domain
 * it runs is never dropped for a value footprintd would not have chosen.
 * What refuses the whole document is what makes it unsafe or impossible to
 * read; a field footprintd does not take is left unset and noted in the
 * domain's or the interface's one-line problem (footprintctl vms shows it).
 * The rules, in the order applied:
 *
 *  - Input: at most FP_DOMAIN_XML_MAX_SIZE bytes, not empty (refused: libvirt
 *    hands out at most 4 MiB over its RPC anyway).  Files must be regular
 *    files; they are opened non-blocking and read with a bound, so a FIFO or
 *    a device cannot hang or exhaust us.
 *  - Encoding: UTF-8 only (what libvirt writes); an encoding declaration
 *    is ignored, a document in another encoding is refused.
 *  - Parsing: libxml2 with XML_PARSE_NONET and without XML_PARSE_NOENT,
 *    XML_PARSE_DTDLOAD or XML_PARSE_HUGE (so its own depth and text-size
 *    limits apply).  libvirt never writes a DOCTYPE, so any document type
 *    declaration is refused, and so are entity declarations and entity
 *    references: the parser is stopped by a SAX hook the moment one is seen,
 *    before an entity bomb can expand or an external entity can be opened.
 *    Before parsing, a cheap scan bounds the attributes per element and in
 *    all, and the namespace declarations (libxml2 2.9 handles both with
 *    quadratic loops); during parsing, the number of elements is bounded.
 *    Together they bound the time and memory any 16 MiB input can cost.  A
 *    running domain whose XML these refuse (foreign <metadata> can hold
 *    anything) is still listed by the inventory, by uuid and name, with the
 *    reason and without interfaces (fp_vm_new_unparsed()).
 *  - The root element must be <domain> without a namespace.
 *  - <uuid> (required): 32 hex digits, either bare or in the 8-4-4-4-12 form,
 *    surrounding whitespace ignored; stored lowercase in the 8-4-4-4-12 form.
 *  - <name> (required, not empty, as libvirt requires): kept verbatim as
 *    libvirt_name (look-ups by name match it); shown (FpVm.name: logs,
 *    D-Bus, JSON, metrics) with control characters escaped and cut to
 *    FP_DOMAIN_XML_MAX_NAME bytes, with name_truncated and a problem note.
 *    libvirt takes any length and refuses only a newline.
 *  - <interface> elements under <devices>: the first
 *    FP_DOMAIN_XML_MAX_INTERFACES are read; more are noted in the problem.
 *    Nothing in an interface refuses the domain; a value not taken is noted
 *    in the interface's problem (a tuner must leave it alone):
 *    · type: a missing type means "user", as in libvirt.  An unknown type is
 *      kept (shown sanitized) and reported as not observable.
 *    · <mac address>: six groups of one or two hex digits separated by ':'
 *      (what libvirt accepts), unicast; stored lowercase with two digits.
 *      Else: no MAC.
 *    · <target dev>: a valid Linux interface name (1-15 bytes, no '/', ':'
 *      or whitespace, not "." or "..").  The name is later used in sysfs
 *      paths and netlink requests, so it is never taken on trust: else the
 *      interface has no host device and is not observable, with the reason.
 *    · <source>: the attribute the type connects through (bridge for
 *      "bridge", network for "network", dev for "direct", "vdpa" and "user");
 *      it and <model type> must be 1..FP_DOMAIN_XML_MAX_NAME bytes without
 *      control characters, else they are left unset.
 *    · <driver queues>: decimal digits only, in FP_DOMAIN_XML_MIN_QUEUES ..
 *      FP_DOMAIN_XML_MAX_QUEUES (the kernel's tap queue limit; vhost-user
 *      takes more); anything else is 0 ("not known"), never clamped, so a
 *      typo cannot silently change what we tune.  Absent: 1.
 *    · <bandwidth> inbound/outbound average, peak, burst, floor: decimal
 *      digits only, at most FP_DOMAIN_XML_MAX_RATE; else unset (0).
 *  - <nova:instance> in <metadata>, namespace
 *    http://openstack.org/xmlns/libvirt/nova/1.<minor> (1.0, 1.1, 1.2, ...;
 *    the highest minor wins if several are present).  Texts are trimmed of
 *    surrounding whitespace (they are informational) and shown like the
 *    name: escaped, cut, noted (Nova allows 255 characters, up to 765 bytes).
 *  - Our own element: the first child of <metadata> in FP_FOOTPRINT_XMLNS,
 *    serialized on its own (namespace declarations it relies on included);
 *    the operator's pin element, the first in FP_FOOTPRINT_PIN_XMLNS, the
 *    same way.
 *  - Errors are FP_ERROR_INVALID (FP_ERROR_IO / FP_ERROR_NOT_FOUND for files),
 *    one line, naming the origin, with quoted input values escaped and cut to
 *    a bounded length.
 */
#include "domain-xml.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "fp-cleanup.h"
#include "fp-error.h"
#include "xml-reader.h"

/*
 * Bounds on the parsed tree.  A domain with 4096 fully described NICs has
 * about 80k elements and 150k attributes; the bounds keep a 16 MiB document
 * of tiny elements or attributes from costing hundreds of MiB of tree.
 */
#define FP_XML_MAX_ELEMENTS 262144
#define FP_XML_MAX_ATTRIBUTES 262144
/*
 * libxml2 2.9 (Debian 12) checks each attribute of an element against all
 * the previous ones, and each namespace lookup walks every declaration in
 * scope: quadratic.  Measured here: one element with 200,000 attributes
 * (2 MiB) took 237 s to parse.  These bounds are checked before parsing
 * (src/xml-reader.c).
 */
#define FP_XML_MAX_ELEMENT_ATTRIBUTES 256
#define FP_XML_MAX_NAMESPACE_DECLS 256
/* How much of an untrusted value an error message quotes. */
#define FP_QUOTE_MAX 64
#define FP_NOVA_XMLNS_PREFIX "http://openstack.org/xmlns/libvirt/nova/1."
/* Linux IFNAMSIZ - 1. */
#define FP_IFNAME_MAX 15

/*
 * Interface types we know.  @tap: the backend is a tap or macvtap device on
 * the host, whose traffic the sensing hooks see.  @source_attr: the <source>
 * attribute naming what the interface connects to.  @reason: why the type is
 * not observable.
 */
typedef struct {
    const char *type;
    gboolean tap;
    const char *source_attr;
    const char *reason;
} FpInterfaceKind;

static const FpInterfaceKind fp_interface_kinds[] = {
    {"bridge", TRUE, "bridge", NULL},
    {"network", TRUE, "network", NULL},
    {"ethernet", TRUE, NULL, NULL},
    {"direct", TRUE, "dev", NULL},
    {"hostdev", FALSE, NULL, "hostdev: SR-IOV/PCI passthrough bypasses the host network stack"},
    {"vhostuser", FALSE, NULL,
     "vhostuser: packets go through a user-space switch (e.g. OVS-DPDK), not a host tap"},
    {"vdpa", FALSE, "dev", "vdpa: the datapath is offloaded to a vDPA device, not a host tap"},
    {"user", FALSE, "dev",
     "user: user-mode networking (slirp/passt) runs in a host process, not through a tap"},
    {"mcast", FALSE, NULL, "mcast: frames are tunnelled over a multicast UDP socket, not a tap"},
    {"udp", FALSE, NULL, "udp: frames are tunnelled over a UDP socket, not a tap"},
    {"server", FALSE, NULL, "server: frames are tunnelled over a TCP socket, not a tap"},
    {"client", FALSE, NULL, "client: frames are tunnelled over a TCP socket, not a tap"},
    {"null", FALSE, NULL, "null: the interface has no host backend"},
    {"vds", FALSE, NULL, "vds: a VMware distributed switch port, not a host tap"},
    {"internal", FALSE, NULL, "internal: a VirtualBox internal network, not a host tap"},
};

#define FP_REASON_NO_TARGET "no host device (domain inactive?)"

/**
 * fp_vm_interface_free:
 * @iface: (nullable): an interface
 *
 * Frees @iface and the strings it holds.
 */
void fp_vm_interface_free(FpVmInterface *iface)
{
    if (iface == NULL)
        return;
    g_free(iface->type);
    g_free(iface->target);
    g_free(iface->mac);
    g_free(iface->source);
    g_free(iface->source_kind);
    g_free(iface->model);
    g_free(iface->reason);
    g_free(iface->problem);
    g_free(iface);
}

/**
 * fp_nova_free:
 * @nova: (nullable): Nova metadata
 *
 * Frees @nova and the strings it holds.
 */
void fp_nova_free(FpNova *nova)
{
    if (nova == NULL)
        return;
    g_free(nova->name);
    g_free(nova->project_name);
    g_free(nova->project_uuid);
    g_free(nova);
}

/**
 * fp_vm_free:
 * @vm: (nullable): a domain
 *
 * Frees @vm with its interfaces and metadata.
 */
void fp_vm_free(FpVm *vm)
{
    if (vm == NULL)
        return;
    g_free(vm->name);
    g_free(vm->libvirt_name);
    fp_nova_free(vm->nova);
    if (vm->interfaces != NULL)
        g_ptr_array_unref(vm->interfaces);
    g_free(vm->footprint_xml);
    g_free(vm->pin_xml);
    g_free(vm->problem);
    g_free(vm);
}

/**
 * fp_vm_copy:
 * @vm: a domain
 *
 * Returns: (transfer full): a deep copy of @vm, free with fp_vm_free()
 */
FpVm *fp_vm_copy(const FpVm *vm)
{
    FpVm *copy = g_new0(FpVm, 1);

    memcpy(copy->uuid, vm->uuid, sizeof(copy->uuid));
    copy->name = g_strdup(vm->name);
    copy->libvirt_name = g_strdup(vm->libvirt_name);
    copy->name_truncated = vm->name_truncated;
    copy->problem = g_strdup(vm->problem);
    copy->interfaces_unknown = vm->interfaces_unknown;
    if (vm->nova != NULL) {
        copy->nova = g_new0(FpNova, 1);
        memcpy(copy->nova->instance_uuid, vm->nova->instance_uuid,
               sizeof(copy->nova->instance_uuid));
        copy->nova->name = g_strdup(vm->nova->name);
        copy->nova->project_name = g_strdup(vm->nova->project_name);
        copy->nova->project_uuid = g_strdup(vm->nova->project_uuid);
    }
    copy->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);
    for (guint i = 0; vm->interfaces != NULL && i < vm->interfaces->len; i++) {
        const FpVmInterface *from = g_ptr_array_index(vm->interfaces, i);
        FpVmInterface *to = g_new0(FpVmInterface, 1);

        *to = *from;
        to->type = g_strdup(from->type);
        to->target = g_strdup(from->target);
        to->mac = g_strdup(from->mac);
        to->source = g_strdup(from->source);
        to->source_kind = g_strdup(from->source_kind);
        to->model = g_strdup(from->model);
        to->reason = g_strdup(from->reason);
        to->problem = g_strdup(from->problem);
        g_ptr_array_add(copy->interfaces, to);
    }
    copy->footprint_xml = g_strdup(vm->footprint_xml);
    copy->pin_xml = g_strdup(vm->pin_xml);
    return copy;
}

/* Returns @s sanitized and in single quotes, for error messages. */
static char *fp_quote(const char *s)
{
    g_autofree char *clean = fp_text_sanitize(s, FP_QUOTE_MAX);

    return g_strdup_printf("'%s'", clean);
}

/* Sets "domain XML 'ORIGIN': MESSAGE". */
#define fp_set_error(error, code, origin, ...)                                                     \
    fp_error_set_about(error, code, "domain XML", origin, __VA_ARGS__)

/* ---- parsing ------------------------------------------------------------ */

static const FpXmlLimits fp_domain_xml_limits = {
    .max_elements = FP_XML_MAX_ELEMENTS,
    .max_attributes = FP_XML_MAX_ATTRIBUTES,
    .max_element_attributes = FP_XML_MAX_ELEMENT_ATTRIBUTES,
    .max_namespace_decls = FP_XML_MAX_NAMESPACE_DECLS,
};

static xmlDoc *fp_read_document(const char *xml, gsize len, const char *origin, GError **error)
{
    g_autofree char *why = NULL;
    xmlDoc *doc = fp_xml_read_untrusted(xml, len, &fp_domain_xml_limits, &why);

    if (doc == NULL)
        fp_set_error(error, FP_ERROR_INVALID, origin, "%s", why);
    return doc;
}

/* ---- XPath helpers ------------------------------------------------------ */

static xmlXPathObject *fp_xpath_eval(xmlXPathContext *xpath, xmlNode *node, const char *expr)
{
    xpath->node = node;
    return xmlXPathEval(BAD_CAST expr, xpath);
}

/* The first node @expr selects from @node, or NULL. */
static xmlNode *fp_xpath_node(xmlXPathContext *xpath, xmlNode *node, const char *expr)
{
    g_autoptr(xmlXPathObject) obj = fp_xpath_eval(xpath, node, expr);

    if (obj == NULL || obj->type != XPATH_NODESET || xmlXPathNodeSetIsEmpty(obj->nodesetval))
        return NULL;
    return obj->nodesetval->nodeTab[0];
}

/*
 * The string value of the first node @expr selects from @node (an attribute
 * value or an element's text), or NULL when @expr selects nothing.
 */
static char *fp_xpath_string(xmlXPathContext *xpath, xmlNode *node, const char *expr)
{
    xmlNode *found = fp_xpath_node(xpath, node, expr);
    xmlChar *content;
    char *ret;

    if (found == NULL)
        return NULL;
    content = xmlNodeGetContent(found);
    ret = g_strdup(content != NULL ? (const char *)content : "");
    xmlFree(content);
    return ret;
}

/* An attribute without a namespace, as a GLib string (libxml2 memory is xmlFree()d). */
static char *fp_xml_prop(xmlNode *node, const char *name)
{
    xmlChar *value = xmlGetNoNsProp(node, BAD_CAST name);
    char *ret = g_strdup((const char *)value);

    xmlFree(value);
    return ret;
}

/* ---- value checks ------------------------------------------------------- */

/* @s must be valid UTF-8. */
static gboolean fp_has_control_chars(const char *s)
{
    for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
        if (fp_text_is_control(g_utf8_get_char(p)))
            return TRUE;
    }
    return FALSE;
}

/*
 * What footprintd does not take as it is in free text (a name, a source, a
 * model): empty, longer than FP_DOMAIN_XML_MAX_NAME bytes, or with control
 * characters (C0, DEL, C1) or line/paragraph separators.  Returns NULL when
 * @value is fine.  libxml2 has made it valid UTF-8 already.
 */
static char *fp_text_problem(const char *value)
{
    gsize len = strlen(value);

    if (len == 0)
        return g_strdup("is empty");
    if (len > FP_DOMAIN_XML_MAX_NAME)
        return g_strdup_printf("is too long (%" G_GSIZE_FORMAT " bytes, limit %u)", len,
                               FP_DOMAIN_XML_MAX_NAME);
    if (!g_utf8_validate(value, -1, NULL) || fp_has_control_chars(value))
        return g_strdup("contains control characters");
    return NULL;
}

static void fp_note(GString **acc, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* Adds a problem to those in @acc ("; " between two). */
static void fp_note(GString **acc, const char *format, ...)
{
    va_list args;

    if (*acc == NULL)
        *acc = g_string_new(NULL);
    else
        g_string_append(*acc, "; ");
    va_start(args, format);
    g_string_append_vprintf(*acc, format, args);
    va_end(args);
}

/*
 * Free text libvirt accepted, as footprintd shows it: sanitized and cut to
 * FP_DOMAIN_XML_MAX_NAME bytes, with a note in @problems when that changed
 * it.  Returns NULL for an empty @value.
 */
static char *fp_shown_text(const char *value, const char *what, gboolean *cut, GString **problems)
{
    gsize len = strlen(value);

    if (cut != NULL)
        *cut = len > FP_DOMAIN_XML_MAX_NAME;
    if (len == 0)
        return NULL;
    if (len > FP_DOMAIN_XML_MAX_NAME)
        fp_note(problems, "%s is %" G_GSIZE_FORMAT " bytes long: shown cut to %u", what, len,
                FP_DOMAIN_XML_MAX_NAME);
    if (fp_has_control_chars(value))
        fp_note(problems, "%s has control characters: shown escaped", what);
    return fp_text_sanitize(value, FP_DOMAIN_XML_MAX_NAME);
}

/* Canonical lowercase 8-4-4-4-12 form of @text into @out, or FALSE. */
static gboolean fp_normalize_uuid(const char *text, char out[37])
{
    g_autofree char *copy = g_strstrip(g_strdup(text));
    gsize len = strlen(copy);
    char hex[33];
    gsize n = 0;

    if (len == 36) {
        for (gsize i = 0; i < len; i++) {
            gboolean dash_pos = (i == 8 || i == 13 || i == 18 || i == 23);

            if (dash_pos != (copy[i] == '-'))
                return FALSE;
            if (!dash_pos) {
                if (!g_ascii_isxdigit(copy[i]))
                    return FALSE;
                hex[n++] = g_ascii_tolower(copy[i]);
            }
        }
    } else if (len == 32) {
        for (gsize i = 0; i < len; i++) {
            if (!g_ascii_isxdigit(copy[i]))
                return FALSE;
            hex[n++] = g_ascii_tolower(copy[i]);
        }
    } else {
        return FALSE;
    }
    hex[32] = '\0';
    g_snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
    return TRUE;
}

/* libvirt's MAC syntax: 6 groups of 1-2 hex digits joined by ':'. */
static char *fp_normalize_mac(const char *text)
{
    guint8 octets[6];
    const char *p = text;

    for (int i = 0; i < 6; i++) {
        guint value = 0;
        int digits = 0;

        while (g_ascii_isxdigit(*p) && digits < 3) {
            value = value * 16 + (guint)g_ascii_xdigit_value(*p);
            p++;
            digits++;
        }
        if (digits < 1 || digits > 2)
            return NULL;
        octets[i] = (guint8)value;
        if (i < 5) {
            if (*p != ':')
                return NULL;
            p++;
        }
    }
    if (*p != '\0')
        return NULL;
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", octets[0], octets[1], octets[2],
                           octets[3], octets[4], octets[5]);
}

/* What the kernel's dev_valid_name() accepts. */
static gboolean fp_is_valid_ifname(const char *name)
{
    gsize len = strlen(name);

    if (len == 0 || len > FP_IFNAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return FALSE;
    for (const guchar *p = (const guchar *)name; *p != '\0'; p++) {
        if (*p == '/' || *p == ':' || g_ascii_isspace(*p) || *p < 0x20 || *p >= 0x7f)
            return FALSE;
    }
    return TRUE;
}

/* Decimal digits only (no sign, space or base prefix), value in [min, max]. */
static gboolean fp_parse_decimal(const char *text, guint64 min, guint64 max, guint64 *out)
{
    guint64 value = 0;

    if (*text == '\0')
        return FALSE;
    for (const char *p = text; *p != '\0'; p++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        /* Saturate instead of overflowing; max is far below G_MAXUINT64 / 10. */
        if (value <= max)
            value = value * 10 + (guint64)(*p - '0');
    }
    if (value < min || value > max)
        return FALSE;
    *out = value;
    return TRUE;
}

/* ---- interfaces --------------------------------------------------------- */

static const FpInterfaceKind *fp_interface_kind(const char *type)
{
    for (gsize i = 0; i < G_N_ELEMENTS(fp_interface_kinds); i++) {
        if (strcmp(fp_interface_kinds[i].type, type) == 0)
            return &fp_interface_kinds[i];
    }
    return NULL;
}

/* One rate attribute; one libvirt takes and we do not is noted in @problems
 * and left unset (0). */
static void fp_parse_rate(xmlNode *node, const char *attr, guint64 *out, GString **problems)
{
    g_autofree char *text = fp_xml_prop(node, attr);
    g_autofree char *quoted = NULL;

    *out = 0;
    if (text == NULL || fp_parse_decimal(text, 0, FP_DOMAIN_XML_MAX_RATE, out))
        return;
    quoted = fp_quote(text);
    fp_note(problems, "<bandwidth><%s %s=%s>: not an integer in 0..%u: taken as unset",
            (const char *)node->name, attr, quoted, FP_DOMAIN_XML_MAX_RATE);
}

static void fp_parse_bandwidth(xmlXPathContext *xpath, xmlNode *iface_node, FpBandwidth *bw,
                               GString **problems)
{
    xmlNode *in = fp_xpath_node(xpath, iface_node, "./bandwidth[1]/inbound[1]");
    xmlNode *out = fp_xpath_node(xpath, iface_node, "./bandwidth[1]/outbound[1]");
    struct {
        xmlNode *node;
        gboolean *has;
        FpBandwidthRate *rate;
    } dirs[] = {{in, &bw->has_inbound, &bw->inbound}, {out, &bw->has_outbound, &bw->outbound}};

    for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (dirs[i].node == NULL)
            continue;
        *dirs[i].has = TRUE;
        fp_parse_rate(dirs[i].node, "average", &dirs[i].rate->average, problems);
        fp_parse_rate(dirs[i].node, "peak", &dirs[i].rate->peak, problems);
        fp_parse_rate(dirs[i].node, "burst", &dirs[i].rate->burst, problems);
        fp_parse_rate(dirs[i].node, "floor", &dirs[i].rate->floor, problems);
    }
}

/*
 * One <interface>.  Nothing in it refuses the domain: libvirt accepted it,
 * and a field footprintd does not take is left unset and noted in the
 * interface's problem (a host device name it cannot use also makes the
 * interface not observable).
 */
static FpVmInterface *fp_parse_interface(xmlXPathContext *xpath, xmlNode *node)
{
    g_autoptr(FpVmInterface) iface = g_new0(FpVmInterface, 1);
    g_autofree char *type = fp_xml_prop(node, "type");
    g_autofree char *mac = fp_xpath_string(xpath, node, "./mac[1]/@address");
    g_autofree char *target = fp_xpath_string(xpath, node, "./target[1]/@dev");
    g_autofree char *model = fp_xpath_string(xpath, node, "./model[1]/@type");
    g_autofree char *queues = fp_xpath_string(xpath, node, "./driver[1]/@queues");
    g_autoptr(GString) problems = NULL;
    g_autofree char *bad_target = NULL;
    const FpInterfaceKind *kind;

    /* libvirt defaults a missing type to "user"; an unknown one is kept
     * (shown sanitized) and not observable. */
    kind = fp_interface_kind(type != NULL ? type : "user");
    if (type == NULL)
        iface->type = g_strdup("user");
    else if (*type == '\0')
        iface->type = g_strdup("''");
    else
        iface->type = fp_shown_text(type, "type", NULL, &problems);

    if (mac != NULL) {
        g_autofree char *quoted = fp_quote(mac);

        iface->mac = fp_normalize_mac(mac);
        if (iface->mac == NULL) {
            fp_note(&problems, "<mac address=%s>: not a MAC address: not used", quoted);
        } else if ((guint)g_ascii_strtoull(iface->mac, NULL, 16) & 1) {
            g_clear_pointer(&iface->mac, g_free);
            fp_note(&problems, "<mac address=%s>: multicast: not used", quoted);
        }
    }

    if (target != NULL) {
        if (fp_is_valid_ifname(target)) {
            iface->target = g_steal_pointer(&target);
        } else {
            g_autofree char *quoted = fp_quote(target);

            bad_target =
                g_strdup_printf("<target dev=%s> is not a valid host interface name", quoted);
            fp_note(&problems, "%s", bad_target);
        }
    }

    if (kind != NULL && kind->source_attr != NULL) {
        g_autofree char *expr = g_strdup_printf("./source[1]/@%s", kind->source_attr);
        g_autofree char *source = fp_xpath_string(xpath, node, expr);
        g_autofree char *problem = source != NULL ? fp_text_problem(source) : NULL;

        if (source != NULL && problem == NULL) {
            iface->source = g_steal_pointer(&source);
            iface->source_kind = g_strdup(kind->source_attr);
        } else if (source != NULL) {
            fp_note(&problems, "<source %s> %s: not used", kind->source_attr, problem);
        }
    }

    if (model != NULL) {
        g_autofree char *problem = fp_text_problem(model);

        if (problem == NULL) {
            iface->model = g_steal_pointer(&model);
        } else {
            fp_note(&problems, "<model type> %s: not used", problem);
        }
    }

    /* Never clamped: a value we do not take is no value (0), so that a
     * typo cannot silently change what we tune. */
    iface->queues = 1;
    if (queues != NULL) {
        guint64 value;

        if (fp_parse_decimal(queues, FP_DOMAIN_XML_MIN_QUEUES, FP_DOMAIN_XML_MAX_QUEUES, &value)) {
            iface->queues = (guint)value;
        } else {
            g_autofree char *quoted = fp_quote(queues);

            iface->queues = 0;
            fp_note(&problems, "<driver queues=%s>: not an integer in %u..%u: not used", quoted,
                    FP_DOMAIN_XML_MIN_QUEUES, FP_DOMAIN_XML_MAX_QUEUES);
        }
    }

    fp_parse_bandwidth(xpath, node, &iface->bandwidth, &problems);

    if (kind == NULL) {
        iface->observable = FALSE;
        iface->reason = g_strdup_printf("%s: unknown interface type", iface->type);
    } else if (!kind->tap) {
        iface->observable = FALSE;
        iface->reason = g_strdup(kind->reason);
    } else if (bad_target != NULL) {
        iface->observable = FALSE;
        iface->reason = g_steal_pointer(&bad_target);
    } else if (iface->target == NULL) {
        iface->observable = FALSE;
        iface->reason = g_strdup(FP_REASON_NO_TARGET);
    } else {
        iface->observable = TRUE;
    }
    if (problems != NULL)
        iface->problem = g_string_free(g_steal_pointer(&problems), FALSE);
    return g_steal_pointer(&iface);
}

static gboolean fp_parse_interfaces(xmlXPathContext *xpath, xmlNode *root, FpVm *vm,
                                    GString **problems, const char *origin, GError **error)
{
    g_autoptr(xmlXPathObject) obj = fp_xpath_eval(xpath, root, "/domain/devices/interface");
    xmlNodeSet *set;
    guint n;

    if (obj == NULL || obj->type != XPATH_NODESET) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot evaluate XPath for interfaces");
        return FALSE;
    }
    set = obj->nodesetval;
    if (xmlXPathNodeSetIsEmpty(set))
        return TRUE;
    n = MIN((guint)set->nodeNr, FP_DOMAIN_XML_MAX_INTERFACES);
    if ((guint)set->nodeNr > FP_DOMAIN_XML_MAX_INTERFACES)
        fp_note(problems, "%d interfaces: only the first %u are read", set->nodeNr,
                FP_DOMAIN_XML_MAX_INTERFACES);
    for (guint i = 0; i < n; i++)
        g_ptr_array_add(vm->interfaces, fp_parse_interface(xpath, set->nodeTab[i]));
    return TRUE;
}

/* ---- metadata ----------------------------------------------------------- */

/* The minor version of a Nova metadata namespace, or -1 if @href is not one. */
static gint64 fp_nova_ns_minor(const xmlChar *href)
{
    const char *rest;
    guint64 minor;

    if (href == NULL || !g_str_has_prefix((const char *)href, FP_NOVA_XMLNS_PREFIX))
        return -1;
    rest = (const char *)href + strlen(FP_NOVA_XMLNS_PREFIX);
    if (strlen(rest) > 4 || !fp_parse_decimal(rest, 0, 9999, &minor))
        return -1;
    return (gint64)minor;
}

/* Trimmed text of @expr under @node; NULL if absent or empty after trimming. */
/* Informational: Nova allows 255 characters (up to 765 bytes) in a
 * display name; a text we do not show as it is is shown cut or escaped. */
static char *fp_nova_text(xmlXPathContext *xpath, xmlNode *node, const char *expr, const char *what,
                          GString **problems)
{
    g_autofree char *text = fp_xpath_string(xpath, node, expr);

    if (text == NULL)
        return NULL;
    g_strstrip(text);
    return fp_shown_text(text, what, NULL, problems);
}

static gboolean fp_parse_nova(xmlXPathContext *xpath, xmlNode *root, FpVm *vm, GString **problems,
                              const char *origin, GError **error)
{
    g_autoptr(xmlXPathObject) obj =
        fp_xpath_eval(xpath, root, "/domain/metadata/*[local-name()='instance']");
    g_autoptr(FpNova) nova = NULL;
    xmlNode *instance = NULL;
    gint64 best = -1;

    if (obj == NULL || obj->type != XPATH_NODESET || xmlXPathNodeSetIsEmpty(obj->nodesetval))
        return TRUE;
    for (int i = 0; i < obj->nodesetval->nodeNr; i++) {
        xmlNode *node = obj->nodesetval->nodeTab[i];
        gint64 minor = node->ns != NULL ? fp_nova_ns_minor(node->ns->href) : -1;

        if (minor > best) {
            best = minor;
            instance = node;
        }
    }
    if (instance == NULL)
        return TRUE;

    if (xmlXPathRegisterNs(xpath, BAD_CAST "nova", instance->ns->href) != 0) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot register the Nova namespace");
        return FALSE;
    }
    nova = g_new0(FpNova, 1);
    memcpy(nova->instance_uuid, vm->uuid, sizeof nova->instance_uuid);
    nova->name = fp_nova_text(xpath, instance, "./nova:name[1]", "<nova:name>", problems);
    nova->project_name = fp_nova_text(xpath, instance, "./nova:owner[1]/nova:project[1]",
                                      "<nova:project>", problems);
    nova->project_uuid = fp_nova_text(xpath, instance, "./nova:owner[1]/nova:project[1]/@uuid",
                                      "<nova:project uuid>", problems);
    vm->nova = g_steal_pointer(&nova);
    return TRUE;
}

/*
 * Serializes @node on its own.  Copying it into a fresh document makes
 * libxml2 re-declare the namespaces it uses, so the result stands alone even
 * when they were declared on an ancestor.
 */
static char *fp_serialize_element(xmlNode *node)
{
    g_autoptr(xmlDoc) doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNode *copy;
    xmlBuffer *buf;
    char *ret = NULL;

    if (doc == NULL)
        return NULL;
    copy = xmlDocCopyNode(node, doc, 1);
    if (copy == NULL)
        return NULL;
    xmlDocSetRootElement(doc, copy);
    buf = xmlBufferCreate();
    if (buf == NULL)
        return NULL;
    if (xmlNodeDump(buf, doc, copy, 0, 0) >= 0)
        ret = g_strndup((const char *)xmlBufferContent(buf), (gsize)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return ret;
}

static gboolean fp_parse_footprint(xmlXPathContext *xpath, xmlNode *root, FpVm *vm,
                                   const char *origin, GError **error)
{
    xmlNode *node;

    if (xmlXPathRegisterNs(xpath, BAD_CAST "fp", BAD_CAST FP_FOOTPRINT_XMLNS) != 0) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot register the footprint namespace");
        return FALSE;
    }
    node = fp_xpath_node(xpath, root, "/domain/metadata/fp:*[1]");
    if (node == NULL)
        return TRUE;
    vm->footprint_xml = fp_serialize_element(node);
    if (vm->footprint_xml == NULL) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot serialize the footprint metadata");
        return FALSE;
    }
    return TRUE;
}

/* The operator's pin element, serialized for footprint-model.c to check. */
static gboolean fp_parse_pin(xmlXPathContext *xpath, xmlNode *root, FpVm *vm, const char *origin,
                             GError **error)
{
    xmlNode *node;

    if (xmlXPathRegisterNs(xpath, BAD_CAST "fpp", BAD_CAST FP_FOOTPRINT_PIN_XMLNS) != 0) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot register the pin namespace");
        return FALSE;
    }
    node = fp_xpath_node(xpath, root, "/domain/metadata/fpp:*[1]");
    if (node == NULL)
        return TRUE;
    vm->pin_xml = fp_serialize_element(node);
    if (vm->pin_xml == NULL) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot serialize the pin metadata");
        return FALSE;
    }
    return TRUE;
}

/**
 * fp_vm_new_unparsed:
 * @uuid: the domain's uuid, as libvirt gives it
 * @libvirt_name: (nullable): its name, as libvirt gives it
 * @problem: why its XML could not be used, one line
 *
 * A domain whose XML footprintd could not use (libvirt accepted it): it is
 * still listed, by uuid and name, without interfaces, with @problem.
 *
 * Returns: (transfer full) (nullable): the domain, %NULL when @uuid is
 * not a uuid
 */
FpVm *fp_vm_new_unparsed(const char *uuid, const char *libvirt_name, const char *problem)
{
    g_autoptr(FpVm) vm = g_new0(FpVm, 1);
    g_autoptr(GString) problems = NULL;

    if (!fp_normalize_uuid(uuid, vm->uuid))
        return NULL;
    vm->libvirt_name = g_strdup(libvirt_name != NULL ? libvirt_name : "");
    vm->name = fp_shown_text(vm->libvirt_name, "<name>", &vm->name_truncated, &problems);
    if (vm->name == NULL)
        vm->name = g_strdup("");
    fp_note(&problems, "domain XML not used: %s", problem);
    vm->problem = fp_text_sanitize(problems->str, 2 * FP_TEXT_LOG_MAX);
    vm->interfaces_unknown = TRUE;
    vm->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);
    return g_steal_pointer(&vm);
}

/* ---- entry points ------------------------------------------------------- */

/**
 * fp_domain_xml_parse:
 * @xml: the domain XML; need not be NUL-terminated
 * @len: length of @xml in bytes
 * @origin: (nullable): what the XML is, for messages: a domain name or a file name
 * @out_vm: (out): the parsed domain, free with fp_vm_free()
 * @error: return location for an #FP_ERROR
 *
 * Parses libvirt domain XML (live or inactive) into an #FpVm without talking
 * to libvirt.  The input is untrusted: see the rules at the top of
 * domain-xml.c.  A document that is unsafe or impossible to read fails with
 * a one-line error naming @origin; a value footprintd does not take (that
 * libvirt did) is left unset and noted in the domain's or interface's
 * problem; nothing is clamped.
 *
 * Returns: %TRUE on success, %FALSE with @error set otherwise.
 */
gboolean fp_domain_xml_parse(const char *xml, gsize len, const char *origin, FpVm **out_vm,
                             GError **error)
{
    g_autoptr(xmlDoc) doc = NULL;
    g_autoptr(xmlXPathContext) xpath = NULL;
    g_autoptr(FpVm) vm = NULL;
    g_autofree char *uuid = NULL;
    g_autofree char *name = NULL;
    g_autoptr(GString) problems = NULL;
    xmlNode *root;

    g_return_val_if_fail(xml != NULL || len == 0, FALSE);
    g_return_val_if_fail(out_vm != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    *out_vm = NULL;
    if (len == 0) {
        fp_set_error(error, FP_ERROR_INVALID, origin, "empty document");
        return FALSE;
    }
    if (len > FP_DOMAIN_XML_MAX_SIZE) {
        fp_set_error(error, FP_ERROR_INVALID, origin,
                     "document too large (%" G_GSIZE_FORMAT " bytes, limit %u)", len,
                     FP_DOMAIN_XML_MAX_SIZE);
        return FALSE;
    }

    doc = fp_read_document(xml, len, origin, error);
    if (doc == NULL)
        return FALSE;

    root = xmlDocGetRootElement(doc);
    if (root == NULL) {
        fp_set_error(error, FP_ERROR_INVALID, origin, "no root element");
        return FALSE;
    }
    if (root->ns != NULL || !xmlStrEqual(root->name, BAD_CAST "domain")) {
        g_autofree char *quoted = fp_quote((const char *)root->name);

        fp_set_error(error, FP_ERROR_INVALID, origin,
                     "root element is %s%s, expected <domain> (without a namespace)", quoted,
                     root->ns != NULL ? " in a namespace" : "");
        return FALSE;
    }

    xpath = xmlXPathNewContext(doc);
    if (xpath == NULL) {
        fp_set_error(error, FP_ERROR_FAILED, origin, "cannot create an XPath context");
        return FALSE;
    }

    vm = g_new0(FpVm, 1);
    vm->interfaces = g_ptr_array_new_with_free_func((GDestroyNotify)fp_vm_interface_free);

    uuid = fp_xpath_string(xpath, root, "/domain/uuid[1]");
    if (uuid == NULL) {
        fp_set_error(error, FP_ERROR_INVALID, origin, "missing <uuid>");
        return FALSE;
    }
    if (!fp_normalize_uuid(uuid, vm->uuid)) {
        g_autofree char *quoted = fp_quote(uuid);

        fp_set_error(error, FP_ERROR_INVALID, origin, "invalid <uuid> %s", quoted);
        return FALSE;
    }

    name = fp_xpath_string(xpath, root, "/domain/name[1]");
    if (name == NULL) {
        fp_set_error(error, FP_ERROR_INVALID, origin, "missing <name>");
        return FALSE;
    }
    /* libvirt refuses an empty name (and one with a newline) on define. */
    if (*name == '\0') {
        fp_set_error(error, FP_ERROR_INVALID, origin, "<name> is empty");
        return FALSE;
    }
    vm->name = fp_shown_text(name, "<name>", &vm->name_truncated, &problems);
    vm->libvirt_name = g_steal_pointer(&name);

    if (!fp_parse_nova(xpath, root, vm, &problems, origin, error) ||
        !fp_parse_footprint(xpath, root, vm, origin, error) ||
        !fp_parse_pin(xpath, root, vm, origin, error) ||
        !fp_parse_interfaces(xpath, root, vm, &problems, origin, error))
        return FALSE;
    if (problems != NULL)
        vm->problem = g_string_free(g_steal_pointer(&problems), FALSE);

    *out_vm = g_steal_pointer(&vm);
    return TRUE;
}

/*
 * Reads at most FP_DOMAIN_XML_MAX_SIZE + 1 bytes of a regular file.  Opened
 * non-blocking so a FIFO planted at @path cannot hang the main loop.
 */
static gboolean fp_read_bounded(const char *path, char **out, gsize *out_len, GError **error)
{
    g_autofree char *buf = NULL;
    gsize len = 0;
    gsize cap;
    struct stat st;
    int fd;
    int saved_errno;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        saved_errno = errno;
        fp_set_error(error, saved_errno == ENOENT ? FP_ERROR_NOT_FOUND : FP_ERROR_IO, path,
                     "cannot open: %s", g_strerror(saved_errno));
        return FALSE;
    }
    if (fstat(fd, &st) < 0) {
        saved_errno = errno;
        close(fd);
        fp_set_error(error, FP_ERROR_IO, path, "cannot stat: %s", g_strerror(saved_errno));
        return FALSE;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        fp_set_error(error, FP_ERROR_INVALID, path, "not a regular file");
        return FALSE;
    }
    if (st.st_size > (off_t)FP_DOMAIN_XML_MAX_SIZE) {
        close(fd);
        fp_set_error(error, FP_ERROR_INVALID, path, "document too large (%lld bytes, limit %u)",
                     (long long)st.st_size, FP_DOMAIN_XML_MAX_SIZE);
        return FALSE;
    }

    /* The file may grow after fstat(): read one byte past the limit to notice. */
    cap = (gsize)st.st_size + 1;
    buf = g_malloc(cap);
    for (;;) {
        ssize_t n;

        if (len == cap) {
            if (cap > FP_DOMAIN_XML_MAX_SIZE)
                break;
            cap = MIN(cap * 2, (gsize)FP_DOMAIN_XML_MAX_SIZE + 1);
            buf = g_realloc(buf, cap);
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            saved_errno = errno;
            close(fd);
            fp_set_error(error, FP_ERROR_IO, path, "cannot read: %s", g_strerror(saved_errno));
            return FALSE;
        }
        if (n == 0)
            break;
        len += (gsize)n;
    }
    close(fd);
    if (len > FP_DOMAIN_XML_MAX_SIZE) {
        fp_set_error(error, FP_ERROR_INVALID, path, "document too large (more than %u bytes)",
                     FP_DOMAIN_XML_MAX_SIZE);
        return FALSE;
    }
    *out = g_steal_pointer(&buf);
    *out_len = len;
    return TRUE;
}

/**
 * fp_domain_xml_parse_file:
 * @path: a file holding domain XML (e.g. from `virsh dumpxml`)
 * @out_vm: (out): the parsed domain, free with fp_vm_free()
 * @error: return location for an #FP_ERROR
 *
 * Like fp_domain_xml_parse(), reading the XML from @path, which is also the
 * origin named in errors.  Only regular files of at most
 * FP_DOMAIN_XML_MAX_SIZE bytes are read.
 *
 * Returns: %TRUE on success, %FALSE with @error set otherwise.
 */
gboolean fp_domain_xml_parse_file(const char *path, FpVm **out_vm, GError **error)
{
    g_autofree char *contents = NULL;
    gsize len = 0;

    g_return_val_if_fail(path != NULL, FALSE);
    g_return_val_if_fail(out_vm != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    *out_vm = NULL;
    if (!fp_read_bounded(path, &contents, &len, error))
        return FALSE;
    return fp_domain_xml_parse(contents, len, path, out_vm, error);
}
