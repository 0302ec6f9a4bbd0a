/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sanitizer every untrusted string goes through on its way to the log,
 * a terminal, D-Bus or JSON (domain names, device aliases, the kernel's
 * interface names, libvirt's messages).  It decodes UTF-8, so it is fuzzed
 * like a parser: whatever the bytes, fp_text_sanitize() gives one line of
 * UTF-8 without a control character, bounded by its limit, and
 * fp_text_utf8() gives UTF-8 that D-Bus accepts and leaves valid UTF-8 as
 * it is; fp_text_json_string() gives a JSON string of printable UTF-8
 * that decodes back to the input made valid.  Every input is accepted.
 */
#include "config.h"

#include <string.h>

#include "safe-text.h"

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error);

#include "fuzz.h"

/* The text of the JSON string @json (its quotes and the escapes
 * fp_text_json_string() writes undone); aborts on anything else. */
static char *json_decode(const char *json)
{
    GString *out = g_string_new(NULL);
    gsize n = strlen(json);

    if (n < 2 || json[0] != '"' || json[n - 1] != '"')
        g_error("not a JSON string: %s", json);
    for (gsize i = 1; i < n - 1; i++) {
        if (json[i] == '"')
            g_error("an unescaped quote inside: %s", json);
        if (json[i] != '\\') {
            g_string_append_c(out, json[i]);
            continue;
        }
        i++;
        if (json[i] == '"' || json[i] == '\\')
            g_string_append_c(out, json[i]);
        else if (json[i] == 'n')
            g_string_append_c(out, '\n');
        else if (json[i] == 't')
            g_string_append_c(out, '\t');
        else if (json[i] == 'u' && i + 4 < n - 1 && g_ascii_isxdigit(json[i + 1]) &&
                 g_ascii_isxdigit(json[i + 2]) && g_ascii_isxdigit(json[i + 3]) &&
                 g_ascii_isxdigit(json[i + 4])) {
            /* Exactly four digits: an escaped U+009B then "31m" is not U+9B31. */
            char hex[5] = {json[i + 1], json[i + 2], json[i + 3], json[i + 4], '\0'};

            g_string_append_unichar(out, (gunichar)g_ascii_strtoull(hex, NULL, 16));
            i += 4;
        } else {
            g_error("a bad escape at %zu: %s", i, json);
        }
    }
    return g_string_free(out, FALSE);
}

static gboolean fp_fuzz_one(const guint8 *data, gsize size, GError **error)
{
    g_autofree char *s = g_strndup((const char *)data, size); /* as C strings arrive */
    gsize max = size > 0 ? data[0] % 64 : 0;
    g_autofree char *log = fp_text_sanitize(s, max);
    g_autofree char *utf8 = fp_text_utf8((const char *)data, (gssize)size);
    g_autofree char *utf8_c = fp_text_utf8(s, -1);
    g_autoptr(GVariant) v = g_variant_ref_sink(fp_text_variant(s));
    g_autoptr(GString) json = g_string_new(NULL);
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_autofree char *decoded = NULL;

    if (!g_utf8_validate(log, -1, NULL) || !g_utf8_validate(utf8, -1, NULL) ||
        !g_utf8_validate(utf8_c, -1, NULL))
        g_error("not UTF-8");
    for (const char *p = log; *p; p = g_utf8_next_char(p))
        if (fp_text_is_control(g_utf8_get_char(p)))
            g_error("a control character got through: U+%04x", g_utf8_get_char(p));
    /* Each input byte becomes at most 4 (\xNN), plus "...". */
    if (strlen(log) > 4 * max + 3)
        g_error("%zu bytes out of at most %zu in", strlen(log), max);
    if (g_utf8_validate(s, -1, NULL) && strcmp(utf8_c, s) != 0)
        g_error("valid UTF-8 changed");
    g_assert_cmpstr(g_variant_get_string(v, NULL), ==, utf8_c);
    fp_text_json_string(json, s);
    if (!g_utf8_validate(json->str, -1, NULL))
        g_error("JSON string not UTF-8");
    for (const char *p = json->str; *p; p = g_utf8_next_char(p))
        if (fp_text_is_control(g_utf8_get_char(p)))
            g_error("a control character in a JSON string: U+%04x", g_utf8_get_char(p));
    decoded = json_decode(json->str);
    g_assert_cmpstr(decoded, ==, valid);
    return TRUE;
}
