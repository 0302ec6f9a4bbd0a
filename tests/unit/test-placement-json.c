/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Placement's and Keystone's messages: what the client sends (whole
 * expected text), what it accepts and refuses, and the merge that must
 * never drop a trait footprintd does not own.
 */
#include "config.h"

#include <string.h>

#include "fp-error.h"
#include "placement-json.h"

#define RP_UUID "11111111-1111-4111-8111-111111111111"

static gboolean parse_providers(const char *body, const char *name, char **uuid, GError **error)
{
    return fp_placement_parse_providers(body, strlen(body), name, uuid, error);
}

static void test_providers(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *uuid = NULL;
    const char *body = "{\"resource_providers\": ["
                       "{\"uuid\": \"22222222-2222-4222-8222-222222222222\", \"name\": \"other\","
                       " \"generation\": 3},"
                       "{\"uuid\": \"11111111-1111-4111-8111-111111111111\", \"name\": "
                       "\"compute-1.example.org\", \"generation\": 7, \"links\": []}]}";

    g_assert_true(parse_providers(body, "compute-1.example.org", &uuid, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(uuid, ==, RP_UUID);
    g_clear_pointer(&uuid, g_free);

    /* Upper-case uuids come back lower-case. */
    g_assert_true(parse_providers("{\"resource_providers\": [{\"uuid\": "
                                  "\"AAAAAAAA-1111-4111-8111-111111111111\", \"name\": \"n\"}]}",
                                  "n", &uuid, &error));
    g_assert_cmpstr(uuid, ==, "aaaaaaaa-1111-4111-8111-111111111111");
    g_clear_pointer(&uuid, g_free);

    g_assert_false(parse_providers("{\"resource_providers\": []}", "compute-1", &uuid, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    g_assert_cmpstr(error->message, ==,
                    "no resource provider named 'compute-1' (has nova-compute registered this "
                    "host?)");
    g_clear_error(&error);
    /* Names are exact: no prefix, no case folding. */
    g_assert_false(parse_providers(body, "compute-1", &uuid, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(parse_providers(body, "COMPUTE-1.example.org", &uuid, &error));
    g_clear_error(&error);
    g_assert_null(uuid);
}

static const struct {
    const char *body;
    const char *message;
} bad_providers[] = {
    {"", "resource providers: empty response"},
    {"[]", "resource providers: response is not a JSON object"},
    {"{\"resource_providers\": {}}", "has no \"resource_providers\" list"},
    {"{\"resource_providers\": [1]}", "entry 0 has no name or uuid"},
    {"{\"resource_providers\": [{\"uuid\": 5, \"name\": \"n\"}]}", "entry 0 has no name or uuid"},
    {"{\"resource_providers\": [{\"uuid\": \"../../traits\", \"name\": \"n\"}]}",
     "resource providers: '../../traits' is not a uuid"},
    {"{\"resource_providers\": [{\"uuid\": \"x\ny\", \"name\": \"n\"}]}", "'x y' is not a uuid"},
    {"{\"resource_providers\": [", "resource providers: response is not JSON: "},
    {"<html>502 Bad Gateway</html>", "resource providers: response is not a JSON object"},
    {"null{\"resource_providers\": []}", "resource providers: response is not a JSON object"},
    {"{\"resource_providers\": []}{}", "resource providers: response has data after its object"},
    {"{\"resource_providers\": []} x", "response has data after its object"},
    {" \n ", "resource providers: response is not a JSON object"},
};

static void test_providers_bad(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(bad_providers); i++) {
        g_autoptr(GError) error = NULL;
        g_autofree char *uuid = NULL;

        g_assert_false(parse_providers(bad_providers[i].body, "n", &uuid, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        if (!g_str_has_prefix(error->message, bad_providers[i].message) &&
            strstr(error->message, bad_providers[i].message) == NULL)
            g_error("%zu: '%s' does not contain '%s'", i, error->message, bad_providers[i].message);
        g_assert_null(strchr(error->message, '\n'));
        g_assert_null(uuid);
    }
}

/* json-glib recurses per level: a deep document is refused before. */
static void test_deep_and_large(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *uuid = NULL;
    GString *deep = g_string_new("{\"a\": ");

    for (int i = 0; i < 100000; i++)
        g_string_append_c(deep, '[');
    g_assert_false(fp_placement_parse_providers(deep->str, deep->len, "n", &uuid, &error));
    g_assert_cmpstr(error->message, ==, "resource providers: response nests deeper than 32");
    g_clear_error(&error);
    /* Brackets inside strings do not count. */
    g_string_assign(deep, "{\"resource_providers\": [], \"x\": \"");
    for (int i = 0; i < 1000; i++)
        g_string_append(deep, "[{\\\"");
    g_string_append(deep, "\"}");
    g_assert_false(fp_placement_parse_providers(deep->str, deep->len, "n", &uuid, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_string_free(deep, TRUE);

    g_assert_false(
        fp_placement_parse_providers("{}", FP_PLACEMENT_MAX_RESPONSE + 1, "n", &uuid, &error));
    g_assert_nonnull(strstr(error->message, "is larger than"));
    g_clear_error(&error);
    g_assert_false(fp_placement_parse_providers("{\"a\":\0\"b\"}", 10, "n", &uuid, &error));
    g_assert_nonnull(strstr(error->message, "NUL byte"));
}

static void test_traits(void)
{
    g_autoptr(GError) error = NULL;
    g_auto(GStrv) traits = NULL;
    gint64 gen = -1;
    const char *body = "{\"traits\": [\"HW_CPU_X86_AVX2\", \"CUSTOM_FOOTPRINT_QUIET\", "
                       "\"COMPUTE_NET_VIF_MODEL_VIRTIO\"], \"resource_provider_generation\": 12}";

    g_assert_true(fp_placement_parse_traits(body, strlen(body), &traits, &gen, &error));
    g_assert_no_error(error);
    g_assert_cmpint(gen, ==, 12);
    g_assert_cmpuint(g_strv_length(traits), ==, 3);
    g_assert_cmpstr(traits[1], ==, "CUSTOM_FOOTPRINT_QUIET");
    g_clear_pointer(&traits, g_strfreev);

    body = "{\"traits\": [], \"resource_provider_generation\": 0}";
    g_assert_true(fp_placement_parse_traits(body, strlen(body), &traits, &gen, &error));
    g_assert_cmpuint(g_strv_length(traits), ==, 0);
}

static const struct {
    const char *body;
    const char *message;
} bad_traits[] = {
    {"{\"traits\": []}", "no \"traits\" list or no generation"},
    {"{\"traits\": [], \"resource_provider_generation\": \"1\"}", "no generation"},
    {"{\"traits\": [], \"resource_provider_generation\": -1}", "no generation"},
    {"{\"traits\": [], \"resource_provider_generation\": 1.5}", "no generation"},
    {"{\"traits\": \"CUSTOM_A\", \"resource_provider_generation\": 1}", "no \"traits\" list"},
    {"{\"traits\": [\"custom_lower\"], \"resource_provider_generation\": 1}",
     "provider traits: 'custom_lower' is not a trait name"},
    {"{\"traits\": [\"\"], \"resource_provider_generation\": 1}", "'' is not a trait name"},
    {"{\"traits\": [7], \"resource_provider_generation\": 1}", "'(not a string)' is not a trait"},
    {"{\"traits\": [\"CUSTOM_\\u00e9\"], \"resource_provider_generation\": 1}",
     "'CUSTOM_\xc3\xa9' is not a trait name"},
};

static void test_traits_bad(void)
{
    for (gsize i = 0; i < G_N_ELEMENTS(bad_traits); i++) {
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) traits = NULL;
        gint64 gen = -1;

        g_assert_false(fp_placement_parse_traits(bad_traits[i].body, strlen(bad_traits[i].body),
                                                 &traits, &gen, &error));
        g_assert_error(error, FP_ERROR, FP_ERROR_INVALID);
        if (strstr(error->message, bad_traits[i].message) == NULL)
            g_error("%zu: '%s' does not contain '%s'", i, error->message, bad_traits[i].message);
        g_assert_null(traits);
    }
    /* Too many. */
    {
        GString *body = g_string_new("{\"resource_provider_generation\": 1, \"traits\": [");
        g_autoptr(GError) error = NULL;
        g_auto(GStrv) traits = NULL;
        gint64 gen;

        for (guint i = 0; i <= FP_PLACEMENT_MAX_TRAITS; i++)
            g_string_append_printf(body, "%s\"CUSTOM_%u\"", i ? ", " : "", i);
        g_string_append(body, "]}");
        g_assert_false(fp_placement_parse_traits(body->str, body->len, &traits, &gen, &error));
        g_assert_cmpstr(error->message, ==, "provider traits: more than 4096 traits");
        g_string_free(body, TRUE);
    }
}

static char *merged(const char *const *current, FpHostTrait want, gboolean *changed)
{
    g_auto(GStrv) m = fp_placement_merge_traits(current, want, changed);

    return g_strjoinv(",", m);
}

static void test_merge(void)
{
    const char *const others[] = {"HW_CPU_X86_AVX2", "CUSTOM_OPERATOR_GOLD",
                                  "CUSTOM_FOOTPRINT_FUTURE", NULL};
    const char *const with_quiet[] = {"HW_CPU_X86_AVX2", "CUSTOM_FOOTPRINT_QUIET",
                                      "CUSTOM_OPERATOR_GOLD", NULL};
    const char *const both[] = {"CUSTOM_FOOTPRINT_ELEPHANTS", "CUSTOM_X", "CUSTOM_FOOTPRINT_QUIET",
                                "CUSTOM_FOOTPRINT_QUIET", NULL};
    gboolean changed;
    g_autofree char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL, *f = NULL, *g = NULL;

    /* Added after the others, which all stay (a CUSTOM_FOOTPRINT_* we do
     * not own included). */
    a = merged(others, FP_HOST_TRAIT_QUIET, &changed);
    g_assert_cmpstr(a, ==,
                    "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_FUTURE,"
                    "CUSTOM_FOOTPRINT_QUIET");
    g_assert_true(changed);
    /* Already there: nothing to write. */
    b = merged(with_quiet, FP_HOST_TRAIT_QUIET, &changed);
    g_assert_cmpstr(b, ==, "HW_CPU_X86_AVX2,CUSTOM_FOOTPRINT_QUIET,CUSTOM_OPERATOR_GOLD");
    g_assert_false(changed);
    /* Replaced. */
    c = merged(with_quiet, FP_HOST_TRAIT_ELEPHANTS, &changed);
    g_assert_cmpstr(c, ==, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_ELEPHANTS");
    g_assert_true(changed);
    /* Not mature: ours removed, the others kept. */
    d = merged(with_quiet, FP_HOST_TRAIT_NONE, &changed);
    g_assert_cmpstr(d, ==, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD");
    g_assert_true(changed);
    e = merged(others, FP_HOST_TRAIT_NONE, &changed);
    g_assert_cmpstr(e, ==, "HW_CPU_X86_AVX2,CUSTOM_OPERATOR_GOLD,CUSTOM_FOOTPRINT_FUTURE");
    g_assert_false(changed);
    /* Both of ours (someone else's mistake) and a duplicate: one left. */
    f = merged(both, FP_HOST_TRAIT_QUIET, &changed);
    g_assert_cmpstr(f, ==, "CUSTOM_X,CUSTOM_FOOTPRINT_QUIET");
    g_assert_true(changed);
    g = merged(NULL, FP_HOST_TRAIT_ELEPHANTS, &changed);
    g_assert_cmpstr(g, ==, "CUSTOM_FOOTPRINT_ELEPHANTS");
    g_assert_true(changed);
}

static void test_requests(void)
{
    const char *const traits[] = {"HW_CPU_X86_AVX2", "CUSTOM_FOOTPRINT_QUIET", NULL};
    const char *const none[] = {NULL};
    g_autofree char *put = fp_placement_traits_request(traits, 41);
    g_autofree char *put_none = fp_placement_traits_request(none, 0);
    g_autoptr(FpConfig) c = fp_config_new_default();
    g_autofree char *pw = NULL;
    g_autofree char *ac = NULL;

    g_assert_cmpstr(put, ==,
                    "{\"resource_provider_generation\":41,\"traits\":[\"HW_CPU_X86_AVX2\","
                    "\"CUSTOM_FOOTPRINT_QUIET\"]}");
    g_assert_cmpstr(put_none, ==, "{\"resource_provider_generation\":0,\"traits\":[]}");

    c->placement.auth = FP_PLACEMENT_AUTH_PASSWORD;
    c->placement.username = g_strdup("footprintd");
    c->placement.password = g_strdup("pa\"ss\\word");
    c->placement.project_name = g_strdup("service");
    pw = fp_keystone_auth_request(&c->placement);
    g_assert_cmpstr(pw, ==,
                    "{\"auth\":{\"identity\":{\"methods\":[\"password\"],\"password\":{\"user\":{"
                    "\"name\":\"footprintd\",\"domain\":{\"name\":\"Default\"},\"password\":"
                    "\"pa\\\"ss\\\\word\"}}},\"scope\":{\"project\":{\"name\":\"service\","
                    "\"domain\":{\"name\":\"Default\"}}}}}");
    c->placement.auth = FP_PLACEMENT_AUTH_APPLICATION_CREDENTIAL;
    c->placement.application_credential_id = g_strdup("423f19a4ac1e4f48bbb4180756e6eb6c");
    c->placement.application_credential_secret = g_strdup("rEaqvJka48mpv");
    ac = fp_keystone_auth_request(&c->placement);
    g_assert_cmpstr(ac, ==,
                    "{\"auth\":{\"identity\":{\"methods\":[\"application_credential\"],"
                    "\"application_credential\":{\"id\":\"423f19a4ac1e4f48bbb4180756e6eb6c\","
                    "\"secret\":\"rEaqvJka48mpv\"}}}}");
}

static void test_urls(void)
{
    static const char *const cases[][3] = {
        {"http://c:8778", "/traits/X", "http://c:8778/traits/X"},
        {"http://c:8778/", "/traits/X", "http://c:8778/traits/X"},
        {"https://c/placement//", "/r", "https://c/placement/r"},
    };
    static const char *const tokens[][2] = {
        {"http://k:5000/v3", "http://k:5000/v3/auth/tokens"},
        {"http://k:5000/v3/", "http://k:5000/v3/auth/tokens"},
        {"http://k:5000", "http://k:5000/v3/auth/tokens"},
        {"https://k/identity", "https://k/identity/v3/auth/tokens"},
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *u = fp_placement_join_url(cases[i][0], cases[i][1]);

        g_assert_cmpstr(u, ==, cases[i][2]);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(tokens); i++) {
        g_autofree char *u = fp_keystone_tokens_url(tokens[i][0]);

        g_assert_cmpstr(u, ==, tokens[i][1]);
    }
}

static void test_error_summary(void)
{
    const char *conflict =
        "{\"errors\": [{\"status\": 409, \"title\": \"Conflict\", \"detail\": \"There was a "
        "conflict when trying to complete your request.\\n\\n resource provider generation "
        "conflict  \", \"code\": \"placement.concurrent_update\", \"request_id\": \"req-1\"}]}";
    const char *no_trait = "{\"errors\": [{\"status\": 400, \"title\": \"Bad Request\", "
                           "\"detail\": \"No such trait(s): CUSTOM_FOOTPRINT_QUIET\"}]}";
    g_autofree char *a = fp_placement_error_summary(409, conflict, strlen(conflict));
    g_autofree char *b = fp_placement_error_summary(503, NULL, 0);
    g_autofree char *c = fp_placement_error_summary(502, "<html>\r\n<b>Bad\tgateway</b>", 26);
    g_autofree char *d = fp_placement_error_summary(500, "\xff\xfe\n", 3);
    g_autofree char *long_body = g_strnfill(5000, 'x');
    g_autofree char *e = fp_placement_error_summary(500, long_body, 5000);

    g_assert_cmpstr(a, ==,
                    "HTTP 409 placement.concurrent_update: Conflict: There was a conflict when "
                    "trying to complete your request. resource provider generation conflict");
    g_assert_cmpstr(b, ==, "HTTP 503");
    {
        const char *ks = "{\"error\":{\"code\":401,\"message\":\"The request you have made "
                         "requires authentication.\",\"title\":\"Unauthorized\"}}";
        g_autofree char *k = fp_placement_error_summary(401, ks, strlen(ks));

        g_assert_cmpstr(k, ==,
                        "HTTP 401 Unauthorized: The request you have made requires "
                        "authentication.");
    }
    g_assert_cmpstr(c, ==, "HTTP 502 <html> <b>Bad gateway</b>");
    g_assert_true(g_utf8_validate(d, -1, NULL));
    g_assert_null(strchr(d, '\n'));
    g_assert_cmpuint(strlen(e), <, 230);
    g_assert_true(g_str_has_suffix(e, "..."));
    g_assert_true(fp_placement_is_no_such_trait(no_trait, strlen(no_trait)));
    g_assert_false(fp_placement_is_no_such_trait(conflict, strlen(conflict)));
    g_assert_false(fp_placement_is_no_such_trait(NULL, 0));
}

#define CATALOG                                                                                    \
    "\"catalog\": [{\"type\": \"identity\", \"endpoints\": [{\"interface\": \"public\", "          \
    "\"url\": \"http://k:5000\"}]}, {\"type\": \"placement\", \"name\": \"placement\", "           \
    "\"endpoints\": [{\"interface\": \"internal\", \"region\": \"RegionOne\", \"url\": "           \
    "\"http://10.0.0.1:8778\"}, {\"interface\": \"public\", \"region\": \"RegionOne\", "           \
    "\"region_id\": \"RegionOne\", \"url\": \"https://api.example.org/placement\"}, "              \
    "{\"interface\": \"public\", \"region\": \"RegionTwo\", \"url\": \"http://two:8778\"}]}]"

static void test_token(void)
{
    const char *body = "{\"token\": {\"methods\": [\"password\"], \"expires_at\": "
                       "\"2025-01-01T01:00:00.000000Z\", \"issued_at\": "
                       "\"2025-01-01T00:00:00.000000Z\", " CATALOG "}}";
    g_autoptr(GError) error = NULL;
    g_autofree char *url = NULL;
    gint64 expires = 0;

    g_assert_true(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_PUBLIC,
                                          &expires, &url, &error));
    g_assert_no_error(error);
    g_assert_cmpint(expires, ==, G_GINT64_CONSTANT(1735693200) * G_USEC_PER_SEC);
    g_assert_cmpstr(url, ==, "https://api.example.org/placement");
    g_clear_pointer(&url, g_free);
    g_assert_true(fp_keystone_parse_token(body, strlen(body), "RegionTwo",
                                          FP_PLACEMENT_INTERFACE_PUBLIC, &expires, &url, &error));
    g_assert_cmpstr(url, ==, "http://two:8778");
    g_clear_pointer(&url, g_free);
    g_assert_true(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_INTERNAL,
                                          &expires, &url, &error));
    g_assert_cmpstr(url, ==, "http://10.0.0.1:8778");
    g_clear_pointer(&url, g_free);
    g_assert_false(fp_keystone_parse_token(body, strlen(body), "RegionTwo",
                                           FP_PLACEMENT_INTERFACE_ADMIN, &expires, &url, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    g_assert_cmpstr(error->message, ==,
                    "Keystone's catalog has no placement endpoint (interface admin, region "
                    "RegionTwo)");
    g_clear_error(&error);

    /* With [placement] url set, the catalog is not needed. */
    body = "{\"token\": {\"expires_at\": \"2030-06-01T12:00:00+02:00\"}}";
    g_assert_true(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_PUBLIC,
                                          &expires, NULL, &error));
    g_assert_cmpint(expires, ==, G_GINT64_CONSTANT(1906538400) * G_USEC_PER_SEC);
    g_assert_false(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_PUBLIC,
                                           &expires, &url, &error));
    g_assert_error(error, FP_ERROR, FP_ERROR_NOT_FOUND);
    g_clear_error(&error);

    body = "{\"token\": {\"expires_at\": \"tomorrow\"}}";
    g_assert_false(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_PUBLIC,
                                           &expires, NULL, &error));
    g_assert_cmpstr(error->message, ==,
                    "Keystone token: expires_at 'tomorrow' is not an ISO 8601 time");
    g_clear_error(&error);
    body = "{\"error\": {\"code\": 401}}";
    g_assert_false(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_PUBLIC,
                                           &expires, NULL, &error));
    g_assert_cmpstr(error->message, ==, "Keystone token: response has no token.expires_at");
    g_clear_error(&error);
    body = "{\"token\": {\"expires_at\": \"2030-06-01T12:00:00Z\", \"catalog\": [{\"type\": "
           "\"placement\", \"endpoints\": [{\"interface\": \"public\", \"url\": "
           "\"file:///etc/passwd\"}]}]}}";
    g_assert_false(fp_keystone_parse_token(body, strlen(body), NULL, FP_PLACEMENT_INTERFACE_PUBLIC,
                                           &expires, &url, &error));
    g_assert_cmpstr(error->message, ==,
                    "Keystone's catalog: placement endpoint 'file:///etc/passwd' is not an "
                    "http(s) URL");
    g_assert_null(url);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/placement-json/providers", test_providers);
    g_test_add_func("/placement-json/providers-bad", test_providers_bad);
    g_test_add_func("/placement-json/deep-and-large", test_deep_and_large);
    g_test_add_func("/placement-json/traits", test_traits);
    g_test_add_func("/placement-json/traits-bad", test_traits_bad);
    g_test_add_func("/placement-json/merge", test_merge);
    g_test_add_func("/placement-json/requests", test_requests);
    g_test_add_func("/placement-json/urls", test_urls);
    g_test_add_func("/placement-json/error-summary", test_error_summary);
    g_test_add_func("/placement-json/keystone-token", test_token);
    return g_test_run();
}
