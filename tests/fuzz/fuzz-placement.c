/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placement's and Keystone's responses as the Placement client hands them
 * to placement-json.c: the bytes of a response body, not NUL-terminated.
 * The first byte chooses the parser (the rest is the body):
 *   'p' resource providers, 't' provider traits (then the merge and the
 *   request written back), 'k' a Keystone token with its catalog, anything
 *   else the error summary of a failed request.
 * Besides the error contract: an accepted provider uuid is a uuid, accepted
 * traits are trait names that survive the merge, and every summary is one
 * line of UTF-8.
 */
#include "config.h"

#include <string.h>

#include "fp-error.h"
#include "placement-json.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

static void check_line(const char *what, const char *s)
{
    if (s == NULL || strchr(s, '\n') != NULL || !g_utf8_validate(s, -1, NULL)) {
        fprintf(stderr, "fuzz: %s is not one line of UTF-8\n", what);
        abort();
    }
}

static gboolean traits(const char *body, gsize len, GError **error)
{
    g_auto(GStrv) current = NULL;
    g_auto(GStrv) merged = NULL;
    g_autofree char *request = NULL;
    gint64 generation = -1;
    gboolean changed;

    if (!fp_placement_parse_traits(body, len, &current, &generation, error))
        return FALSE;
    g_assert_cmpint(generation, >=, 0);
    /* Every trait someone else set survives the merge. */
    merged = fp_placement_merge_traits((const char *const *)current, FP_HOST_TRAIT_QUIET, &changed);
    for (guint i = 0; current[i] != NULL; i++)
        if (strcmp(current[i], FP_TRAIT_ELEPHANTS) != 0 &&
            !g_strv_contains((const char *const *)merged, current[i]))
            abort();
    request = fp_placement_traits_request((const char *const *)merged, generation);
    check_line("the traits request", request);
    return TRUE;
}

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    const char *body = (const char *)data + 1;
    gsize len = size > 0 ? size - 1 : 0;

    if (size == 0) {
        g_autofree char *summary = fp_placement_error_summary(503, NULL, 0);

        check_line("the error summary", summary);
        return TRUE;
    }
    switch (data[0]) {
    case 'p': {
        g_autofree char *uuid = NULL;

        if (!fp_placement_parse_providers(body, len, "compute-1", &uuid, error))
            return FALSE;
        if (!g_uuid_string_is_valid(uuid))
            abort();
        return TRUE;
    }
    case 't':
        return traits(body, len, error);
    case 'k': {
        g_autofree char *url = NULL;
        gint64 expires = 0;

        return fp_keystone_parse_token(body, len, NULL, FP_PLACEMENT_INTERFACE_PUBLIC, &expires,
                                       &url, error);
    }
    default: {
        g_autofree char *summary = fp_placement_error_summary(409, body, len);

        check_line("the error summary", summary);
        return TRUE;
    }
    }
}
