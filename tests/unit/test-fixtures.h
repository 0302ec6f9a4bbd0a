/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Text fixtures for the unit tests: each DIR/NAME.in is run through a
 * function that returns text, compared whole with DIR/NAME.out.
 * FP_TEST_REGENERATE=1 rewrites the .out files instead (then read the
 * diff).  DIR is $FP_TEST_DATA_DIR/SUBDIR, or the source tree's.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef char *(*FpFixtureRun)(const char *in_path);

char *fp_test_data_dir(const char *subdir);
void fp_test_add_fixtures(const char *prefix, const char *subdir, FpFixtureRun run);

G_END_DECLS
