/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fp-error.h"

G_DEFINE_QUARK(footprintd-error-quark, fp_error)
