#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The built-in demo: footprintd watching a netns lab where one host sends
# an elephant (iperf3 bulk) while another makes mice (hundreds of short
# connections).  Shows footprintctl's live view, then undoes everything.
set -euo pipefail
: "${FP_SRCDIR:?}" "${FP_BUILDDIR:?}"
# shellcheck source=../lib/lab.sh
. "$FP_SRCDIR/tests/lib/lab.sh"
trap lab_cleanup EXIT
DUR=${DEMO_SECONDS:-12}

lab_setup
echo "== footprintd --probe"
"$FP_BUILDDIR/src/footprintd" --probe
lab_bg ip netns exec fpB iperf3 -s -p 15201
lab_bg ip netns exec fpB "$PY" "$FP_SRCDIR/tests/lib/mice.py" serve 18080
lab_start_agent
echo "== agent running: $(fpctl status | grep '^backend ')"
sleep 0.5
lab_bg ip netns exec fpA iperf3 -c 10.201.2.2 -p 15201 -t "$DUR" -b 2G
lab_bg bash -c "for i in \$(seq $DUR); do ip netns exec fpA $PY $FP_SRCDIR/tests/lib/mice.py run 10.201.2.2 18080 40 >/dev/null; done"
for ((t = 2; t <= DUR; t += 3)); do
    sleep 3
    echo
    echo "== t=${t}s  elephants (footprintctl flows --elephants):"
    fpctl flows --elephants
    echo "== mice: $(fpctl flows --json | grep -c '"dport" : 18080') short flows to 10.201.2.2:18080 so far, the 3 newest:"
    fpctl flows | grep ':18080 ' | tail -3
done
echo
echo "== footprintctl status"
fpctl status
echo
echo "== agent log"
cat "$LAB_DIR/agent.log"
