/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Untrusted strings, made safe for where they go.
 *
 * Anyone who may define a domain chooses its name, its device aliases and
 * much of its XML; the kernel takes any bytes but '/', ':', NUL and
 * whitespace in an interface name; libvirt's error messages quote both.
 * Two levels, one implementation:
 *
 *  - fp_text_sanitize(): for a log line, an error message, a terminal: one
 *    line of valid UTF-8, with every control character (C0, DEL, C1, the
 *    Unicode line and paragraph separators) and every byte that is not
 *    UTF-8 escaped as \xNN (\uNNNN for the separators), and at most @max
 *    bytes of the input ("..." when cut, never inside a character).  No
 *    escape sequence reaches a terminal, no newline forges a log line.
 *  - fp_text_utf8(): for D-Bus (g_variant_new_string() requires UTF-8 and
 *    refuses the message otherwise) and JSON: only the bytes that are not
 *    UTF-8 are escaped; everything else is kept, since D-Bus and JSON
 *    carry controls safely and a client may need the exact text.
 *
 * The escapes are for people: a literal "\x1b" in the input looks the same
 * as an escaped ESC.
 */
#include "config.h"

#include <string.h>

#include "safe-text.h"

/**
 * fp_text_is_control:
 * @c: a character
 *
 * Returns: whether @c is a C0 or C1 control, DEL, or the Unicode line or
 * paragraph separator
 */
gboolean fp_text_is_control(gunichar c)
{
    GUnicodeType type = g_unichar_type(c);

    return type == G_UNICODE_CONTROL || type == G_UNICODE_LINE_SEPARATOR ||
           type == G_UNICODE_PARAGRAPH_SEPARATOR;
}

/* Appends @s (at most @len bytes, or up to its NUL when @len < 0), cut
 * after @max input bytes; escapes what is not UTF-8, and controls too
 * when @controls.  Returns whether it was cut. */
static gboolean escape_into(GString *out, const char *s, gssize len, gsize max, gboolean controls)
{
    gsize n = len < 0 ? strlen(s) : (gsize)len;
    const char *p = s, *end = s + n;

    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);
        gsize clen =
            (c == (gunichar)-1 || c == (gunichar)-2) ? 1 : (gsize)g_unichar_to_utf8(c, NULL);

        if ((gsize)(p - s) + clen > max)
            return TRUE;
        if (c == (gunichar)-1 || c == (gunichar)-2 || c == 0)
            g_string_append_printf(out, "\\x%02x", (guchar)*p);
        else if (controls && fp_text_is_control(c))
            g_string_append_printf(out, c < 0x100 ? "\\x%02x" : "\\u%04x", c);
        else
            g_string_append_len(out, p, (gssize)clen);
        p += clen;
    }
    return FALSE;
}

/**
 * fp_text_sanitize:
 * @s: an untrusted string
 * @max: how many of its bytes to keep, e.g. %FP_TEXT_LOG_MAX
 *
 * Makes @s safe for a log line, an error message or a terminal: one line
 * of valid UTF-8, controls and invalid bytes escaped, at most @max bytes
 * of @s ("..." when cut).
 *
 * Returns: (transfer full): the sanitized text
 */
char *fp_text_sanitize(const char *s, gsize max)
{
    GString *out = g_string_sized_new(MIN(strlen(s), max) + 8);

    if (escape_into(out, s, -1, max, TRUE))
        g_string_append(out, "...");
    return g_string_free(out, FALSE);
}

/**
 * fp_text_utf8:
 * @s: an untrusted string
 * @len: its length, or -1 when NUL-terminated
 *
 * Makes @s valid UTF-8 for D-Bus or JSON: bytes that are not UTF-8 (and
 * NULs within @len) are escaped as \xNN; everything else is kept.
 *
 * Returns: (transfer full): valid UTF-8
 */
char *fp_text_utf8(const char *s, gssize len)
{
    GString *out;

    if (len < 0 && g_utf8_validate(s, -1, NULL))
        return g_strdup(s);
    out = g_string_new(NULL);
    escape_into(out, s, len, G_MAXSIZE, FALSE);
    return g_string_free(out, FALSE);
}

/**
 * fp_text_variant:
 * @s: an untrusted string
 *
 * Returns: (transfer floating): a string #GVariant of fp_text_utf8(@s)
 */
GVariant *fp_text_variant(const char *s)
{
    return g_variant_new_take_string(fp_text_utf8(s, -1));
}

void fp_error_set_about(GError **error, FpError code, const char *subject, const char *origin,
                        const char *format, ...)
{
    g_autofree char *where = fp_text_sanitize(origin != NULL ? origin : "(memory)", 256);
    g_autofree char *what = NULL;
    va_list args;

    va_start(args, format);
    what = g_strdup_vprintf(format, args);
    va_end(args);
    g_set_error(error, FP_ERROR, code, "%s '%s': %s", subject, where, what);
}

/**
 * fp_text_json_string:
 * @out: where to append
 * @s: (nullable): a string, UTF-8 or not
 *
 * Appends @s as a JSON string (null when %NULL): what is not UTF-8
 * becomes U+FFFD; '"' and '\\' are escaped, newline and tab as \\n and
 * \\t, every other control (fp_text_is_control(): C0, DEL, C1, the line
 * and paragraph separators) as \\uXXXX, so that a VM name read from
 * the JSON onto a terminal cannot be an escape sequence.
 */
void fp_text_json_string(GString *out, const char *s)
{
    g_autofree char *valid = NULL;
    const char *text;

    if (s == NULL) {
        g_string_append(out, "null");
        return;
    }
    if (!g_utf8_validate(s, -1, NULL))
        valid = g_utf8_make_valid(s, -1);
    text = valid != NULL ? valid : s;
    g_string_append_c(out, '"');
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (c == '"' || c == '\\')
            g_string_append_printf(out, "\\%c", (char)c);
        else if (c == '\n')
            g_string_append(out, "\\n");
        else if (c == '\t')
            g_string_append(out, "\\t");
        else if (fp_text_is_control(c))
            g_string_append_printf(out, "\\u%04x", c);
        else
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
    }
    g_string_append_c(out, '"');
}
