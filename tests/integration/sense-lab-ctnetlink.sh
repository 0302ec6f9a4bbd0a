#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The sensing lab's assertions with the ctnetlink fallback forced.
LAB_BACKEND=ctnetlink exec bash "$(dirname "$0")/sense-lab.sh"
