/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vm-json: the stable JSON form of an FpVm (footprintctl --json, D-Bus,
 * fixtures).  Field names and order are a contract: see fp_vm_to_json().
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "domain-xml.h"

G_BEGIN_DECLS

JsonNode *fp_vm_to_json(const FpVm *vm);
char *fp_json_to_string(JsonNode *node, gboolean pretty);

G_END_DECLS
