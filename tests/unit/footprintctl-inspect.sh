#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# footprintctl inspect-domain, offline, over every domain XML fixture: good
# ones print the expected JSON, bad ones exit 1 with a one-line error that
# contains the expected text.  No root, no daemon.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
ctl=$FP_BUILDDIR/src/footprintctl
dir=$FP_SRCDIR/tests/data/domain-xml
n=0
for xml in "$dir"/*.xml; do
    base=${xml%.xml}
    if [ -f "$base.json" ]; then
        "$ctl" inspect-domain --json "$xml" >/tmp/fp-inspect.$$ ||
            { echo "FAIL: $xml: exit $?"; exit 1; }
        /usr/bin/python3 -c 'import json,sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if a == b else 1)' /tmp/fp-inspect.$$ "$base.json" ||
            { echo "FAIL: $xml: output differs from $base.json"; exit 1; }
    else
        if "$ctl" inspect-domain --json "$xml" >/dev/null 2>/tmp/fp-inspect.$$; then
            echo "FAIL: $xml: accepted"; exit 1
        fi
        [ "$(wc -l </tmp/fp-inspect.$$)" = 1 ] || { echo "FAIL: $xml: error is not one line"; exit 1; }
        grep -qF -- "$(cat "$base.err")" /tmp/fp-inspect.$$ ||
            { echo "FAIL: $xml: '$(cat /tmp/fp-inspect.$$)' lacks '$(cat "$base.err")'"; exit 1; }
    fi
    n=$((n + 1))
done
rm -f /tmp/fp-inspect.$$
echo "ok - $n fixtures through footprintctl inspect-domain"
