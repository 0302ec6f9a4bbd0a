/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * placement-json: Placement's and Keystone's JSON, both ways.
 *
 * Every response is checked before anything of it is used: size, shape
 * (one object, nesting depth bounded: json-glib's parser recurses once per
 * level, so a deep document is refused before it reaches it), the types of the members we read,
 * uuids (they go into URLs), trait names (they go back to Placement).  A response we do not
 * understand is an error, never a guess: the one thing the client must not do is write back a trait
 * list it misread, which could drop a trait someone else set.
 */
#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "fp-error.h"
#include "placement-json.h"

/* Deeper than any response of Placement or Keystone (a catalog is 5). */
#define FP_JSON_MAX_DEPTH 32
/* Longest piece of a response quoted in an error message, characters. */
#define FP_QUOTE_MAX 200

/* Text of an untrusted response for a one-line message: valid UTF-8,
 * control characters and runs of white space made one space, at most
 * FP_QUOTE_MAX characters. */
static char *one_line(const char *text, gssize len)
{
    g_autofree char *valid = g_utf8_make_valid(text, len);
    GString *out = g_string_new(NULL);
    glong n = 0;

    for (const char *p = valid; *p != '\0' && n < FP_QUOTE_MAX; p = g_utf8_next_char(p), n++) {
        gunichar c = g_utf8_get_char(p);

        if (c < 0x20 || c == 0x7f || g_unichar_isspace(c)) {
            if (out->len > 0 && out->str[out->len - 1] != ' ')
                g_string_append_c(out, ' ');
            continue;
        }
        g_string_append_unichar(out, c);
    }
    while (out->len > 0 && out->str[out->len - 1] == ' ')
        g_string_truncate(out, out->len - 1);
    if (*valid != '\0' && n >= FP_QUOTE_MAX)
        g_string_append(out, "...");
    return g_string_free(out, FALSE);
}

/* The shape of a response before json-glib sees it: one object, nested at
 * most @max deep, and nothing after it but white space (json-glib 1.6
 * takes "null{...}" or "{}{}" as a document, and leaks the first value).
 * Brackets inside strings do not count. */
typedef enum {
    FP_SHAPE_OK,
    FP_SHAPE_NOT_OBJECT,
    FP_SHAPE_TOO_DEEP,
    FP_SHAPE_TRAILING,
} FpShape;

static FpShape json_shape(const char *text, gsize len, int max)
{
    int depth = 0;
    gboolean in_string = FALSE, started = FALSE;

    for (gsize i = 0; i < len; i++) {
        char c = text[i];

        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = FALSE;
            continue;
        }
        if (g_ascii_isspace(c))
            continue;
        if (!started) {
            if (c != '{')
                return FP_SHAPE_NOT_OBJECT;
            started = TRUE;
        } else if (depth == 0) {
            return FP_SHAPE_TRAILING;
        }
        if (c == '"') {
            in_string = TRUE;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return FP_SHAPE_TOO_DEEP;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return started ? FP_SHAPE_OK : FP_SHAPE_NOT_OBJECT;
}

/* Parses @body into a JSON object; @what names the response in errors. */
static JsonParser *parse_object(const char *body, gsize len, const char *what, GError **error)
{
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) local = NULL;
    JsonNode *root;

    if (len > FP_PLACEMENT_MAX_RESPONSE) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "%s: response of %" G_GSIZE_FORMAT " bytes is larger than %u", what, len,
                    FP_PLACEMENT_MAX_RESPONSE);
        return NULL;
    }
    if (len == 0 || body == NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: empty response", what);
        return NULL;
    }
    if (memchr(body, '\0', len) != NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: response contains a NUL byte", what);
        return NULL;
    }
    switch (json_shape(body, len, FP_JSON_MAX_DEPTH)) {
    case FP_SHAPE_OK:
        break;
    case FP_SHAPE_NOT_OBJECT:
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: response is not a JSON object", what);
        return NULL;
    case FP_SHAPE_TOO_DEEP:
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: response nests deeper than %d", what,
                    FP_JSON_MAX_DEPTH);
        return NULL;
    case FP_SHAPE_TRAILING:
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: response has data after its object",
                    what);
        return NULL;
    }
    parser = json_parser_new_immutable();
    if (!json_parser_load_from_data(parser, body, (gssize)len, &local)) {
        g_autofree char *msg = one_line(local->message, -1);

        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: response is not JSON: %s", what, msg);
        return NULL;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "%s: response is not a JSON object", what);
        return NULL;
    }
    return g_steal_pointer(&parser);
}

static JsonObject *root_object(JsonParser *parser)
{
    return json_node_get_object(json_parser_get_root(parser));
}

/* The member @name of @o when it is a string, else NULL. */
static const char *get_string(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

static JsonArray *get_array(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static JsonObject *get_object(JsonObject *o, const char *name)
{
    JsonNode *n = json_object_get_member(o, name);

    return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonObject *element_object(JsonArray *a, guint i)
{
    JsonNode *n = json_array_get_element(a, i);

    return JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

/* Placement's rule for trait names (os-traits and CUSTOM_*). */
static gboolean trait_name_valid(const char *name)
{
    gsize n = strlen(name);

    if (n == 0 || n > FP_PLACEMENT_MAX_TRAIT_NAME)
        return FALSE;
    for (const char *p = name; *p != '\0'; p++)
        if (!g_ascii_isupper(*p) && !g_ascii_isdigit(*p) && *p != '_')
            return FALSE;
    return TRUE;
}

/**
 * fp_placement_parse_providers:
 * @body: the response to GET /resource_providers?name=NAME
 * @len: its length
 * @name: the provider's name
 * @uuid: (out): the uuid of the provider named @name, lowercase
 * @error: return location for a #GError: %FP_ERROR_NOT_FOUND when no
 *     provider has that name, %FP_ERROR_INVALID for a response we do not
 *     understand
 */
gboolean fp_placement_parse_providers(const char *body, gsize len, const char *name, char **uuid,
                                      GError **error)
{
    g_autoptr(JsonParser) parser = parse_object(body, len, "resource providers", error);
    JsonArray *rps;

    if (parser == NULL)
        return FALSE;
    rps = get_array(root_object(parser), "resource_providers");
    if (rps == NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "resource providers: response has no \"resource_providers\" list");
        return FALSE;
    }
    for (guint i = 0; i < json_array_get_length(rps); i++) {
        JsonObject *rp = element_object(rps, i);
        const char *rp_name = rp != NULL ? get_string(rp, "name") : NULL;
        const char *rp_uuid = rp != NULL ? get_string(rp, "uuid") : NULL;

        if (rp_name == NULL || rp_uuid == NULL) {
            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "resource providers: entry %u has no name or uuid", i);
            return FALSE;
        }
        if (strcmp(rp_name, name) != 0)
            continue;
        if (!g_uuid_string_is_valid(rp_uuid)) {
            g_autofree char *quoted = one_line(rp_uuid, -1);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "resource providers: '%s' is not a uuid",
                        quoted);
            return FALSE;
        }
        *uuid = g_ascii_strdown(rp_uuid, -1);
        return TRUE;
    }
    {
        g_autofree char *quoted = one_line(name, -1);

        g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND,
                    "no resource provider named '%s' (has nova-compute registered this host?)",
                    quoted);
    }
    return FALSE;
}

/**
 * fp_placement_parse_traits:
 * @body: the response to GET /resource_providers/UUID/traits (or to a PUT
 *     there: the same shape)
 * @len: its length
 * @traits: (out): the provider's traits, in Placement's order
 * @generation: (out): the provider's generation
 * @error: return location for an %FP_ERROR_INVALID
 */
gboolean fp_placement_parse_traits(const char *body, gsize len, GStrv *traits, gint64 *generation,
                                   GError **error)
{
    g_autoptr(JsonParser) parser = parse_object(body, len, "provider traits", error);
    g_autoptr(GStrvBuilder) b = NULL;
    JsonObject *root;
    JsonArray *list;
    JsonNode *gen;

    if (parser == NULL)
        return FALSE;
    root = root_object(parser);
    list = get_array(root, "traits");
    gen = json_object_get_member(root, "resource_provider_generation");
    if (list == NULL || gen == NULL || !JSON_NODE_HOLDS_VALUE(gen) ||
        json_node_get_value_type(gen) != G_TYPE_INT64 || json_node_get_int(gen) < 0) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "provider traits: response has no \"traits\" list or no generation");
        return FALSE;
    }
    if (json_array_get_length(list) > FP_PLACEMENT_MAX_TRAITS) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "provider traits: more than %u traits",
                    FP_PLACEMENT_MAX_TRAITS);
        return FALSE;
    }
    b = g_strv_builder_new();
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *n = json_array_get_element(list, i);
        const char *t = NULL;

        if (JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING)
            t = json_node_get_string(n);
        if (t == NULL || !trait_name_valid(t)) {
            g_autofree char *quoted = one_line(t != NULL ? t : "(not a string)", -1);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "provider traits: '%s' is not a trait name", quoted);
            return FALSE;
        }
        g_strv_builder_add(b, t);
    }
    *traits = g_strv_builder_end(b);
    *generation = json_node_get_int(gen);
    return TRUE;
}

static gboolean owned(const char *trait)
{
    return strcmp(trait, FP_TRAIT_ELEPHANTS) == 0 || strcmp(trait, FP_TRAIT_QUIET) == 0;
}

/**
 * fp_placement_merge_traits:
 * @current: the provider's traits as Placement has them
 * @want: the trait footprintd wants on it
 * @changed: (out): the result differs from @current (as a set)
 *
 * The read-modify-write's modify: every trait of @current that footprintd
 * does not own stays (nova-compute's, an operator's, other agents'); of
 * the two footprintd owns, only @want is there.
 *
 * Returns: (transfer full): the new list
 */
GStrv fp_placement_merge_traits(const char *const *current, FpHostTrait want, gboolean *changed)
{
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    const char *wanted = fp_host_trait_to_string(want);
    gboolean have = FALSE;

    *changed = FALSE;
    for (guint i = 0; current != NULL && current[i] != NULL; i++) {
        if (!owned(current[i])) {
            g_strv_builder_add(b, current[i]);
        } else if (wanted != NULL && strcmp(current[i], wanted) == 0) {
            /* A duplicate would be one too many in the PUT. */
            if (!have)
                g_strv_builder_add(b, current[i]);
            have = TRUE;
        } else {
            *changed = TRUE;
        }
    }
    if (wanted != NULL && !have) {
        g_strv_builder_add(b, wanted);
        *changed = TRUE;
    }
    return g_strv_builder_end(b);
}

static char *generate(JsonBuilder *b)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);

    json_generator_set_root(gen, root);
    return json_generator_to_data(gen, NULL);
}

/**
 * fp_placement_traits_request:
 * @traits: the provider's new traits
 * @generation: the generation they were read at
 *
 * Returns: (transfer full): the body of PUT /resource_providers/UUID/traits
 */
char *fp_placement_traits_request(const char *const *traits, gint64 generation)
{
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "resource_provider_generation");
    json_builder_add_int_value(b, generation);
    json_builder_set_member_name(b, "traits");
    json_builder_begin_array(b);
    for (guint i = 0; traits != NULL && traits[i] != NULL; i++)
        json_builder_add_string_value(b, traits[i]);
    json_builder_end_array(b);
    json_builder_end_object(b);
    return generate(b);
}

/**
 * fp_placement_error_summary:
 * @status: the HTTP status
 * @body: (nullable): the response body
 * @len: its length
 *
 * Returns: (transfer full): one line for logs and health: the status and,
 * from an OpenStack error body ({"errors": [{"code", "title", "detail"}]}),
 * the first error's code, title and detail, from Keystone's ({"error":
 * {"title", "message"}}) its title and message, else the start of the body
 */
char *fp_placement_error_summary(guint status, const char *body, gsize len)
{
    g_autoptr(JsonParser) parser = NULL;
    JsonArray *errors = NULL;
    JsonObject *first = NULL;

    if (body == NULL || len == 0)
        return g_strdup_printf("HTTP %u", status);
    parser = parse_object(body, len, "error", NULL);
    if (parser != NULL)
        errors = get_array(root_object(parser), "errors");
    if (errors != NULL && json_array_get_length(errors) > 0)
        first = element_object(errors, 0);
    /* Keystone's shape: {"error": {"code", "title", "message"}}. */
    if (first == NULL && parser != NULL) {
        JsonObject *e = get_object(root_object(parser), "error");

        if (e != NULL && get_string(e, "message") != NULL) {
            g_autofree char *text = g_strdup_printf(
                "%s: %s", get_string(e, "title") != NULL ? get_string(e, "title") : "error",
                get_string(e, "message"));
            g_autofree char *line = one_line(text, -1);

            return g_strdup_printf("HTTP %u %s", status, line);
        }
    }
    if (first != NULL) {
        const char *parts[] = {get_string(first, "code"), get_string(first, "title"),
                               get_string(first, "detail")};
        g_autoptr(GString) text = g_string_new(NULL);
        g_autofree char *line = NULL;

        for (gsize i = 0; i < G_N_ELEMENTS(parts); i++) {
            if (parts[i] == NULL || parts[i][0] == '\0')
                continue;
            if (text->len > 0)
                g_string_append(text, ": ");
            g_string_append(text, parts[i]);
        }
        line = one_line(text->str, (gssize)text->len);
        return g_strdup_printf("HTTP %u %s", status, line);
    }
    {
        g_autofree char *line = one_line(body, (gssize)MIN(len, 4096));

        return g_strdup_printf("HTTP %u %s", status, line);
    }
}

/**
 * fp_placement_is_no_such_trait:
 * @body: (nullable): a 400 response to PUT /resource_providers/UUID/traits
 * @len: its length
 *
 * Returns: %TRUE when Placement says a trait does not exist (someone
 * deleted our custom trait): create it and try again.
 */
gboolean fp_placement_is_no_such_trait(const char *body, gsize len)
{
    return body != NULL &&
           g_strstr_len(body, (gssize)MIN(len, FP_PLACEMENT_MAX_RESPONSE), "No such trait") != NULL;
}

/**
 * fp_placement_join_url:
 * @base: an endpoint, e.g. "http://controller:8778" or ".../placement/"
 * @path: an absolute path, e.g. "/traits/CUSTOM_X"
 *
 * Returns: (transfer full): @base without trailing slashes, then @path
 */
char *fp_placement_join_url(const char *base, const char *path)
{
    gsize n = strlen(base);

    while (n > 0 && base[n - 1] == '/')
        n--;
    return g_strdup_printf("%.*s%s", (int)n, base, path);
}

/**
 * fp_keystone_tokens_url:
 * @auth_url: Keystone's URL, with or without its "/v3"
 *
 * Returns: (transfer full): the URL of POST /v3/auth/tokens
 */
char *fp_keystone_tokens_url(const char *auth_url)
{
    g_autofree char *base = fp_placement_join_url(auth_url, "");

    if (g_str_has_suffix(base, "/v3"))
        return g_strconcat(base, "/auth/tokens", NULL);
    return g_strconcat(base, "/v3/auth/tokens", NULL);
}

static void name_in_domain(JsonBuilder *b, const char *member, const char *name, const char *domain)
{
    json_builder_set_member_name(b, member);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "domain");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, domain);
    json_builder_end_object(b);
}

/**
 * fp_keystone_auth_request:
 * @config: [placement], with auth password or application_credential
 *
 * Returns: (transfer full): the body of POST /v3/auth/tokens: a password
 * scoped to the project, or an application credential (scoped already)
 */
char *fp_keystone_auth_request(const FpPlacementConfig *config)
{
    g_autoptr(JsonBuilder) b = json_builder_new_immutable();
    gboolean password = config->auth == FP_PLACEMENT_AUTH_PASSWORD;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "auth");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "identity");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "methods");
    json_builder_begin_array(b);
    json_builder_add_string_value(b, password ? "password" : "application_credential");
    json_builder_end_array(b);
    if (password) {
        json_builder_set_member_name(b, "password");
        json_builder_begin_object(b);
        name_in_domain(b, "user", config->username, config->user_domain_name);
        json_builder_set_member_name(b, "password");
        json_builder_add_string_value(b, config->password);
        json_builder_end_object(b); /* user */
        json_builder_end_object(b); /* password */
    } else {
        json_builder_set_member_name(b, "application_credential");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_string_value(b, config->application_credential_id);
        json_builder_set_member_name(b, "secret");
        json_builder_add_string_value(b, config->application_credential_secret);
        json_builder_end_object(b);
    }
    json_builder_end_object(b); /* identity */
    if (password) {
        json_builder_set_member_name(b, "scope");
        json_builder_begin_object(b);
        name_in_domain(b, "project", config->project_name, config->project_domain_name);
        json_builder_end_object(b); /* project */
        json_builder_end_object(b); /* scope */
    }
    json_builder_end_object(b); /* auth */
    json_builder_end_object(b);
    return generate(b);
}

static gboolean http_url(const char *url)
{
    g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
    const char *scheme = uri != NULL ? g_uri_get_scheme(uri) : NULL;

    return scheme != NULL &&
           (g_ascii_strcasecmp(scheme, "http") == 0 || g_ascii_strcasecmp(scheme, "https") == 0) &&
           g_uri_get_host(uri) != NULL && g_uri_get_host(uri)[0] != '\0';
}

/* Placement's endpoint in a Keystone v3 catalog. */
static const char *catalog_placement(JsonObject *token, const char *region,
                                     FpPlacementInterface interface)
{
    JsonArray *catalog = get_array(token, "catalog");
    const char *want = fp_placement_interface_to_string(interface);

    for (guint i = 0; catalog != NULL && i < json_array_get_length(catalog); i++) {
        JsonObject *service = element_object(catalog, i);
        JsonArray *endpoints = service != NULL ? get_array(service, "endpoints") : NULL;

        if (endpoints == NULL || g_strcmp0(get_string(service, "type"), "placement") != 0)
            continue;
        for (guint e = 0; e < json_array_get_length(endpoints); e++) {
            JsonObject *ep = element_object(endpoints, e);
            const char *url = ep != NULL ? get_string(ep, "url") : NULL;

            if (url == NULL || g_strcmp0(get_string(ep, "interface"), want) != 0)
                continue;
            if (region != NULL && g_strcmp0(get_string(ep, "region"), region) != 0 &&
                g_strcmp0(get_string(ep, "region_id"), region) != 0)
                continue;
            return url;
        }
    }
    return NULL;
}

/**
 * fp_keystone_parse_token:
 * @body: the response to POST /v3/auth/tokens (the token itself is in the
 *     X-Subject-Token header)
 * @len: its length
 * @region: (nullable): the catalog region to take Placement from, %NULL: any
 * @interface: the catalog interface
 * @expires_us: (out): when the token expires, g_get_real_time() scale
 * @placement_url: (out) (optional) (nullable): Placement's endpoint from the
 *     catalog; %NULL not to look (then the catalog may be absent)
 * @error: return location for an %FP_ERROR_INVALID (or %FP_ERROR_NOT_FOUND
 *     when the catalog has no such endpoint)
 */
gboolean fp_keystone_parse_token(const char *body, gsize len, const char *region,
                                 FpPlacementInterface interface, gint64 *expires_us,
                                 char **placement_url, GError **error)
{
    g_autoptr(JsonParser) parser = parse_object(body, len, "Keystone token", error);
    g_autoptr(GDateTime) expires = NULL;
    JsonObject *token;
    const char *expires_at;

    if (parser == NULL)
        return FALSE;
    token = get_object(root_object(parser), "token");
    expires_at = token != NULL ? get_string(token, "expires_at") : NULL;
    if (expires_at == NULL) {
        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "Keystone token: response has no token.expires_at");
        return FALSE;
    }
    expires = g_date_time_new_from_iso8601(expires_at, NULL);
    if (expires == NULL) {
        g_autofree char *quoted = one_line(expires_at, -1);

        g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                    "Keystone token: expires_at '%s' is not an ISO 8601 time", quoted);
        return FALSE;
    }
    if (placement_url != NULL) {
        const char *url = catalog_placement(token, region, interface);

        if (url == NULL) {
            g_autofree char *quoted = one_line(region != NULL ? region : "any", -1);

            g_set_error(error, FP_ERROR, FP_ERROR_NOT_FOUND,
                        "Keystone's catalog has no placement endpoint (interface %s, region %s)",
                        fp_placement_interface_to_string(interface), quoted);
            return FALSE;
        }
        if (!http_url(url)) {
            g_autofree char *quoted = one_line(url, -1);

            g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                        "Keystone's catalog: placement endpoint '%s' is not an http(s) URL",
                        quoted);
            return FALSE;
        }
        *placement_url = g_strdup(url);
    }
    *expires_us =
        g_date_time_to_unix(expires) * G_USEC_PER_SEC + g_date_time_get_microsecond(expires);
    return TRUE;
}
