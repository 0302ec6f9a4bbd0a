/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fp-error.h"

GQuark fp_error_quark(void)
{
    return g_quark_from_static_string("footprintd-error-quark");
}
