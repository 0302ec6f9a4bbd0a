/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fp-visibility DEV...: for each host device, whether the agent takes all
 * of its traffic as crossing conntrack (fp_inventory_host_visibility(), as
 * a VM interface's "observable" is decided), one line each:
 * "DEV observable" or "DEV not-observable: REASON".  Run it where the
 * devices are (ip netns exec, which also mounts that namespace's sysfs).
 * For integration/bridge-visibility.sh.
 */
#include "config.h"

#include <glib.h>

#include "inventory.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        g_printerr("usage: fp-visibility DEV...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        g_autofree char *reason = NULL;

        if (fp_inventory_host_visibility(argv[i], &reason))
            g_print("%s observable\n", argv[i]);
        else
            g_print("%s not-observable: %s\n", argv[i], reason);
    }
    return 0;
}
