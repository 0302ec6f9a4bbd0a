/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

char *fp_test_tmpdir(const char *prefix);
void fp_test_rm_rf(const char *dir);
guint fp_test_count_entries(const char *dir);
