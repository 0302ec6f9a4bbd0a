/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Our libvirt metadata element, as virDomainGetMetadata() hands it back: an
 * operator (or anyone who may edit the domain) writes it, footprintd reads
 * it as a VM's prior and pin.  An accepted element must serialize again and
 * parse back to the same state.  The same bytes go through the operator's
 * pin element reader too, which must keep the error contract on its own.
 */
#include "config.h"

#include <string.h>

#include "footprint-model.h"
#include "fp-error.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    FpFootprintState state, again;
    gint64 updated = 0, updated_again = 0;
    g_autofree char *xml = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(GError) pin_error = NULL;
    FpClass pin = FP_CLASS_UNKNOWN;

    if (fp_footprint_pin_from_xml((const char *)data, size, "fuzz.xml", &pin, &pin_error)) {
        g_assert_no_error(pin_error);
        g_assert_true(pin != FP_CLASS_UNKNOWN);
    } else {
        g_assert_nonnull(pin_error);
        g_assert_null(strchr(pin_error->message, '\n'));
    }
    if (!fp_footprint_state_from_xml((const char *)data, size, "fuzz.xml", &state, &updated, error))
        return FALSE;
    xml = fp_footprint_state_to_xml(&state, updated);
    g_assert_nonnull(xml);
    g_assert_true(g_utf8_validate(xml, -1, NULL));
    if (!fp_footprint_state_from_xml(xml, strlen(xml), "again", &again, &updated_again, &local))
        g_error("our own element does not parse back: %s\n%s", local->message, xml);
    g_assert_cmpint(again.learned, ==, state.learned);
    g_assert_cmpint(again.pinned, ==, state.pinned);
    return TRUE;
}
