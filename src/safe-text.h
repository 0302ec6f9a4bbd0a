/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * safe-text: the one sanitizer for strings footprintd does not choose
 * (domain names, device aliases, interface names, libvirt's and the
 * kernel's messages) on their way to the log, a terminal, D-Bus or JSON.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How much of an untrusted string a log line quotes by default. */
#define FP_TEXT_LOG_MAX 256

gboolean fp_text_is_control(gunichar c);
char *fp_text_sanitize(const char *s, gsize max);
char *fp_text_utf8(const char *s, gssize len);
GVariant *fp_text_variant(const char *s);

G_END_DECLS
