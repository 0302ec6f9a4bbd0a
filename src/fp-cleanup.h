/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one place that teaches g_autoptr() about the foreign types we use
 * (libxml2, libnl, libvirt, BPF skeletons).  Include only what you need:
 * each block is guarded by the library's own header guard.
 */
#pragma once

#include <glib.h>

#ifdef __XML_PARSER_H__
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlParserCtxt, xmlFreeParserCtxt)
#endif
#ifdef __XML_XPATH_H__
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathContext, xmlXPathFreeContext)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(xmlXPathObject, xmlXPathFreeObject)
#endif
#ifdef NETLINK_CT_H_
typedef struct nfnl_ct FpNfnlCt;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNfnlCt, nfnl_ct_put)
#endif
#ifdef NETLINK_CACHE_H_
typedef struct nl_cache FpNlCache;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpNlCache, nl_cache_free)
#endif
#ifdef NETLINK_QDISC_H_
typedef struct rtnl_qdisc FpRtnlQdisc;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpRtnlQdisc, rtnl_qdisc_put)
#endif
#ifdef NETLINK_CLASS_H_
typedef struct rtnl_class FpRtnlClass;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpRtnlClass, rtnl_class_put)
#endif
#ifdef LIBVIRT_H
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virDomain, virDomainFree)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(virConnect, virConnectClose)
#endif
#ifdef __LIBBPF_BTF_H
typedef struct btf FpBtf;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpBtf, btf__free)
#endif
#ifdef __FP_SENSE_SKEL_H__
typedef struct fp_sense FpSenseSkel;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSenseSkel, fp_sense__destroy)
#endif
#ifdef __FP_SENSE_FENTRY_SKEL_H__
typedef struct fp_sense_fentry FpSenseFentrySkel;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpSenseFentrySkel, fp_sense_fentry__destroy)
#endif
#ifdef __FP_TC_SKEL_H__
typedef struct fp_tc FpTcSkel;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpTcSkel, fp_tc__destroy)
#endif
#ifdef __FP_EMPTY_SKEL_H__
typedef struct fp_empty FpEmptySkel;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FpEmptySkel, fp_empty__destroy)
#endif
