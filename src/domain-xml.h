/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * domain-xml: turn libvirt domain XML (as returned by virDomainGetXMLDesc()
 * or found in a file) into an FpVm.  Pure libxml2 code: no libvirt
 * connection, so it is unit-testable on files and safe to fuzz.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Inputs larger than this are refused before parsing (libvirt's RPC
 * carries at most 4 MiB of domain XML). */
#define FP_DOMAIN_XML_MAX_SIZE (16u * 1024u * 1024u)
/* At most this many <interface> elements are read; the others are noted. */
#define FP_DOMAIN_XML_MAX_INTERFACES 4096u
/* Accepted range of <driver queues='N'/> (the kernel's tap queue limit). */
#define FP_DOMAIN_XML_MIN_QUEUES 1u
#define FP_DOMAIN_XML_MAX_QUEUES 256u
/* Longest name (and free text) shown, in bytes; a longer one is cut for
 * display, and FpVm.libvirt_name keeps it whole. */
#define FP_DOMAIN_XML_MAX_NAME 256u
/* Largest accepted <bandwidth> attribute value (KiB/s or KiB). */
#define FP_DOMAIN_XML_MAX_RATE G_MAXUINT32

/* XML namespace of our own metadata element (a contract: README and footprintd(8)). */
#define FP_FOOTPRINT_XMLNS "http://footprintd.org/xmlns/footprint/1.0"
/* XML namespace of the operator's pin element: footprintd reads it and
 * never writes it (footprint-model.h, fp_footprint_pin_from_xml()). */
#define FP_FOOTPRINT_PIN_XMLNS "http://footprintd.org/xmlns/footprint-pin/1.0"

/**
 * FpBandwidthRate:
 * @average: average rate in KiB/s, 0 when unset
 * @peak: peak rate in KiB/s, 0 when unset
 * @burst: burst size in KiB, 0 when unset
 * @floor: guaranteed minimum in KiB/s (inbound only), 0 when unset
 *
 * One direction of an interface's <bandwidth>, in libvirt's units.
 */
typedef struct {
    guint64 average;
    guint64 peak;
    guint64 burst;
    guint64 floor;
} FpBandwidthRate;

/**
 * FpBandwidth:
 * @has_inbound: an <inbound> element was present
 * @inbound: limits on traffic towards the guest
 * @has_outbound: an <outbound> element was present
 * @outbound: limits on traffic from the guest
 *
 * The <bandwidth> of an interface.  Directions are the guest's, as in libvirt.
 */
typedef struct {
    gboolean has_inbound;
    FpBandwidthRate inbound;
    gboolean has_outbound;
    FpBandwidthRate outbound;
} FpBandwidth;

/**
 * FpVmInterface:
 * @type: the interface type attribute ("bridge", "network", "hostdev", ...);
 *     "user" when absent, as in libvirt
 * @target: host device name from <target dev>, or %NULL
 * @mac: MAC address, lowercase with two digits per octet, or %NULL
 * @source: bridge name, network name or host device, or %NULL
 * @source_kind: "bridge", "network" or "dev" (what @source names), or %NULL
 * @model: <model type>, e.g. "virtio", or %NULL
 * @queues: <driver queues>, 1 when absent
 * @bandwidth: <bandwidth> limits
 * @observable: traffic of this interface passes through a host device we can see
 * @reason: why the interface is not observable, %NULL when it is
 * @problem: what of the interface's definition could not be used (a field
 *     footprintd does not accept: it is left unset, and @queues is 0), one
 *     line, %NULL when everything could; a tuner must leave an interface
 *     with a problem alone
 *
 * One <interface> of a domain.  libvirt accepts values footprintd does
 * not (a longer name, more queues, a bigger rate): such a field makes the
 * interface's @problem, never the domain's refusal.
 */
typedef struct {
    char *type;
    char *target;
    char *mac;
    char *source;
    char *source_kind;
    char *model;
    guint queues;
    FpBandwidth bandwidth;
    gboolean observable;
    char *reason;
    char *problem;
} FpVmInterface;

/**
 * FpNova:
 * @instance_uuid: the Nova instance uuid (equal to the domain uuid)
 * @name: the instance display name, or %NULL
 * @project_name: the owning project's name, or %NULL
 * @project_uuid: the owning project's id as Nova wrote it (Keystone ids are
 *     usually 32 hex digits without dashes), or %NULL
 *
 * What OpenStack Nova's <nova:instance> metadata says about a domain.
 */
typedef struct {
    char instance_uuid[37];
    char *name;
    char *project_name;
    char *project_uuid;
} FpNova;

/**
 * FpVm:
 * @uuid: the domain uuid, canonical lowercase form
 * @name: the domain name as shown (logs, D-Bus, JSON, metrics): libvirt's
 *     name with control characters escaped (fp_text_sanitize()) and cut to
 *     %FP_DOMAIN_XML_MAX_NAME bytes; libvirt's name itself for every name
 *     without control characters that fits
 * @libvirt_name: the name exactly as libvirt has it (what a look-up by
 *     name matches too)
 * @name_truncated: @name was cut (@libvirt_name is longer)
 * @nova: Nova metadata, or %NULL when absent
 * @interfaces: the domain's #FpVmInterface, in document order
 * @footprint_xml: our own metadata element, serialized, or %NULL
 * @pin_xml: the operator's pin element (%FP_FOOTPRINT_PIN_XMLNS),
 *     serialized, or %NULL
 * @problem: what of the domain's definition could not be used (its name
 *     shown altered, interfaces beyond %FP_DOMAIN_XML_MAX_INTERFACES, or
 *     the whole XML), one line, %NULL when none
 * @interfaces_unknown: the XML could not be used at all
 *     (fp_vm_new_unparsed()): @interfaces is empty because they are not
 *     known, not because there are none; nothing can be learnt about it
 *
 * What footprintd needs to know about one libvirt domain.
 */
typedef struct {
    char uuid[37];
    char *name;
    char *libvirt_name;
    gboolean name_truncated;
    FpNova *nova;
    GPtrArray *interfaces;
    char *footprint_xml;
    char *pin_xml;
    char *problem;
    gboolean interfaces_unknown;
} FpVm;

void fp_vm_interface_free(FpVmInterface *iface);
void fp_nova_free(FpNova *nova);
void fp_vm_free(FpVm *vm);
FpVm *fp_vm_copy(const FpVm *vm);
FpVm *fp_vm_new_unparsed(const char *uuid, const char *libvirt_name, const char *problem);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpVmInterface, fp_vm_interface_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNova, fp_nova_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpVm, fp_vm_free)

gboolean fp_domain_xml_parse(const char *xml, gsize len, const char *origin, FpVm **out_vm,
                             GError **error);
gboolean fp_domain_xml_parse_file(const char *path, FpVm **out_vm, GError **error);

G_END_DECLS
