/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CPU sets in the kernel's two text forms (cpuset.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "fp-error.h"

void fp_cpuset_clear(FpCpuSet *set)
{
    memset(set, 0, sizeof(*set));
}

void fp_cpuset_add(FpCpuSet *set, guint cpu)
{
    if (cpu < FP_CPUSET_MAX)
        set->bits[cpu / 64] |= G_GUINT64_CONSTANT(1) << (cpu % 64);
}

gboolean fp_cpuset_has(const FpCpuSet *set, guint cpu)
{
    return cpu < FP_CPUSET_MAX && (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

guint fp_cpuset_count(const FpCpuSet *set)
{
    guint n = 0;

    for (guint i = 0; i < G_N_ELEMENTS(set->bits); i++)
        n += (guint)__builtin_popcountll(set->bits[i]);
    return n;
}

gboolean fp_cpuset_is_empty(const FpCpuSet *set)
{
    return fp_cpuset_count(set) == 0;
}

gboolean fp_cpuset_equal(const FpCpuSet *a, const FpCpuSet *b)
{
    return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

/* Every CPU of @a is in @b. */
gboolean fp_cpuset_subset(const FpCpuSet *a, const FpCpuSet *b)
{
    for (guint i = 0; i < G_N_ELEMENTS(a->bits); i++)
        if (a->bits[i] & ~b->bits[i])
            return FALSE;
    return TRUE;
}

void fp_cpuset_and(FpCpuSet *out, const FpCpuSet *a, const FpCpuSet *b)
{
    for (guint i = 0; i < G_N_ELEMENTS(out->bits); i++)
        out->bits[i] = a->bits[i] & b->bits[i];
}

void fp_cpuset_andnot(FpCpuSet *out, const FpCpuSet *a, const FpCpuSet *b)
{
    for (guint i = 0; i < G_N_ELEMENTS(out->bits); i++)
        out->bits[i] = a->bits[i] & ~b->bits[i];
}

static gboolean parse_cpu(const char *s, char **end, guint *cpu)
{
    guint64 v;

    if (!g_ascii_isdigit(*s))
        return FALSE;
    errno = 0;
    v = g_ascii_strtoull(s, end, 10);
    if (errno || v >= FP_CPUSET_MAX)
        return FALSE;
    *cpu = (guint)v;
    return TRUE;
}

/**
 * fp_cpuset_parse_list:
 * @text: a CPU list ("0-3,8", "" or whitespace for none)
 * @set: (out): the set
 * @error: return location for a #GError
 *
 * Returns: %FALSE with %FP_ERROR_INVALID, naming @text, when it is not one
 */
gboolean fp_cpuset_parse_list(const char *text, FpCpuSet *set, GError **error)
{
    g_autofree char *copy = g_strstrip(g_strdup(text));
    g_auto(GStrv) parts = NULL;

    fp_cpuset_clear(set);
    if (!*copy)
        return TRUE;
    parts = g_strsplit(copy, ",", -1);
    for (guint i = 0; parts[i]; i++) {
        char *s = g_strstrip(parts[i]), *end = NULL;
        guint lo, hi;

        if (!parse_cpu(s, &end, &lo))
            goto bad;
        hi = lo;
        if (*end == '-' && !parse_cpu(end + 1, &end, &hi))
            goto bad;
        if (*end || hi < lo)
            goto bad;
        for (guint c = lo; c <= hi; c++)
            fp_cpuset_add(set, c);
    }
    return TRUE;
bad:
    g_set_error(error, FP_ERROR, FP_ERROR_INVALID,
                "'%s' is not a CPU list (e.g. '0-3,8', CPUs below %u)", text, FP_CPUSET_MAX);
    return FALSE;
}

/**
 * fp_cpuset_to_list:
 * @set: a set
 *
 * Returns: (transfer full): its list form, "" for none
 */
char *fp_cpuset_to_list(const FpCpuSet *set)
{
    GString *s = g_string_new(NULL);

    for (guint c = 0; c < FP_CPUSET_MAX; c++) {
        guint end = c;

        if (!fp_cpuset_has(set, c))
            continue;
        while (end + 1 < FP_CPUSET_MAX && fp_cpuset_has(set, end + 1))
            end++;
        if (s->len)
            g_string_append_c(s, ',');
        if (end == c)
            g_string_append_printf(s, "%u", c);
        else
            g_string_append_printf(s, "%u-%u", c, end);
        c = end;
    }
    return g_string_free(s, FALSE);
}

/**
 * fp_cpuset_parse_mask:
 * @text: a hex mask as sysfs prints it ("f", "00000000,0000000f")
 * @set: (out): the set
 * @error: return location for a #GError
 *
 * Returns: %FALSE with %FP_ERROR_INVALID, naming @text, when it is not one
 */
gboolean fp_cpuset_parse_mask(const char *text, FpCpuSet *set, GError **error)
{
    g_autofree char *copy = g_strstrip(g_strdup(text));
    guint bit = 0;

    fp_cpuset_clear(set);
    if (!*copy)
        goto bad;
    /* From the least significant digit up; commas only separate words. */
    for (gssize i = (gssize)strlen(copy) - 1; i >= 0; i--) {
        int v;

        if (copy[i] == ',')
            continue;
        v = g_ascii_xdigit_value(copy[i]);
        if (v < 0)
            goto bad;
        for (guint b = 0; b < 4; b++, bit++) {
            if (!(v & (1 << b)))
                continue;
            if (bit >= FP_CPUSET_MAX)
                goto bad;
            fp_cpuset_add(set, bit);
        }
    }
    return TRUE;
bad:
    g_set_error(error, FP_ERROR, FP_ERROR_INVALID, "'%s' is not a CPU mask (hex, e.g. '0000000f')",
                text);
    return FALSE;
}

/**
 * fp_cpuset_to_mask:
 * @set: a set
 * @ncpus: CPUs the mask covers (words as the kernel prints for that many)
 *
 * Returns: (transfer full): the mask in sysfs's form: 32-bit words of 8
 * hex digits, most significant first, separated by commas
 */
char *fp_cpuset_to_mask(const FpCpuSet *set, guint ncpus)
{
    guint words = MAX((MIN(ncpus, FP_CPUSET_MAX) + 31) / 32, 1);
    GString *s = g_string_new(NULL);

    for (guint w = words; w-- > 0;) {
        guint32 v = (guint32)(set->bits[w / 2] >> (32 * (w % 2)));

        g_string_append_printf(s, "%s%08x", s->len ? "," : "", v);
    }
    return g_string_free(s, FALSE);
}
