/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

/* The one error domain of footprintd. */
#define FP_ERROR (fp_error_quark())

typedef enum {
    FP_ERROR_FAILED,        /* generic failure, message says what */
    FP_ERROR_INVALID,       /* malformed or out-of-range input (config, XML, CLI) */
    FP_ERROR_NOT_SUPPORTED, /* the kernel or the build lacks a feature */
    FP_ERROR_NOT_FOUND,     /* a named object (VM, flow, device) does not exist */
    FP_ERROR_IO,            /* a system call, netlink or libvirt call failed */
    FP_ERROR_BUSY,          /* another process holds what we need (another footprintd) */
} FpError;

GQuark fp_error_quark(void);
