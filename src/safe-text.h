/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * safe-text: the one sanitizer for strings footprintd does not choose
 * (domain names, device aliases, interface names, libvirt's and the
 * kernel's messages) on their way to the log, a terminal, D-Bus or JSON.
 */
#pragma once

#include <glib.h>

#include "fp-error.h"

G_BEGIN_DECLS

/* How much of an untrusted string a log line quotes by default. */
#define FP_TEXT_LOG_MAX 256

gboolean fp_text_is_control(gunichar c);
char *fp_text_sanitize(const char *s, gsize max);
char *fp_text_utf8(const char *s, gssize len);
GVariant *fp_text_variant(const char *s);
void fp_text_json_string(GString *out, const char *s);

/* Sets "SUBJECT 'ORIGIN': MESSAGE" in FP_ERROR, @origin sanitized
 * ("(memory)" when NULL): an error about input from a place footprintd
 * names but does not choose (a domain's XML, its metadata). */
void fp_error_set_about(GError **error, FpError code, const char *subject, const char *origin,
                        const char *format, ...) G_GNUC_PRINTF(5, 6);

G_END_DECLS
