/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * placement-json: the messages the Placement client exchanges with
 * OpenStack Placement and Keystone, built and parsed without any HTTP, so
 * that the read-modify-write of a provider's traits is unit-tested and
 * every response parser is fuzzed (responses are untrusted input: a
 * misconfigured URL may point anywhere).
 */
#pragma once

#include <glib.h>

#include "fp-config.h"
#include "host-summary.h"

G_BEGIN_DECLS

/* The microversion the client asks for: provider traits are 1.6, error
 * codes (placement.concurrent_update) 1.23.  Every Placement since Rocky
 * speaks it. */
#define FP_PLACEMENT_MICROVERSION "placement 1.23"
/* Responses larger than this are refused before parsing. */
#define FP_PLACEMENT_MAX_RESPONSE (4u * 1024u * 1024u)
/* More traits than this on one provider is not a Placement we understand. */
#define FP_PLACEMENT_MAX_TRAITS 4096u
/* Placement's own limit on a trait name. */
#define FP_PLACEMENT_MAX_TRAIT_NAME 255u

gboolean fp_placement_parse_providers(const char *body, gsize len, const char *name, char **uuid,
                                      GError **error);
gboolean fp_placement_parse_traits(const char *body, gsize len, GStrv *traits, gint64 *generation,
                                   GError **error);
GStrv fp_placement_merge_traits(const char *const *current, FpHostTrait want, gboolean *changed);
char *fp_placement_traits_request(const char *const *traits, gint64 generation);
char *fp_placement_error_summary(guint status, const char *body, gsize len);
gboolean fp_placement_is_no_such_trait(const char *body, gsize len);
char *fp_placement_join_url(const char *base, const char *path);

char *fp_keystone_tokens_url(const char *auth_url);
char *fp_keystone_auth_request(const FpPlacementConfig *config);
gboolean fp_keystone_parse_token(const char *body, gsize len, const char *region,
                                 FpPlacementInterface interface, gint64 *expires_us,
                                 char **placement_url, GError **error);

G_END_DECLS
