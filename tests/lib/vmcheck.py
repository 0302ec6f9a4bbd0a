# SPDX-License-Identifier: LGPL-2.1-or-later
"""Predicates over `footprintctl vms --json` / `flows --json` for the VM
tests and the demo.  Usage: vmcheck.py CHECK ARGS... < JSON; exit 0 when
the check holds, 1 (with the reason on stderr) when not.

  vm-ready NAME TAP...       NAME is listed; each TAP observable, ifindex > 0
  vm-absent NAME             NAME is not listed
  vm-stats NAME FIELD OP N   e.g. vm-stats fpl-bulk elephants ge 1
  uuid NAME                  print NAME's uuid
  elephant-of UUID           an elephant flow whose VM sender is UUID
  mice-of UUID PORT MIN      >= MIN flows from UUID to PORT, none an elephant
  to-vm UUID PROTO           a PROTO flow whose receiver is VM UUID
  none-of UUID               no flow has a side in UUID
"""
import json
import operator
import sys


def fail(msg):
    print("vmcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def side(flow, key):
    s = flow.get(key)
    return s.get("uuid") if isinstance(s, dict) else None


def main():
    check, args = sys.argv[1], sys.argv[2:]
    data = json.load(sys.stdin)
    if check in ("vm-ready", "vm-absent", "vm-stats", "uuid"):
        vms = {v["name"]: v for v in data}
        vm = vms.get(args[0])
        if check == "vm-absent":
            if vm:
                fail("%s still listed" % args[0])
            return
        if not vm:
            fail("%s not listed (have: %s)" % (args[0], ", ".join(vms) or "none"))
        if check == "uuid":
            print(vm["uuid"])
        elif check == "vm-ready":
            nics = {n["target"]: n for n in vm["interfaces"] if n["target"]}
            for tap in args[1:]:
                n = nics.get(tap)
                if not n:
                    fail("%s has no interface %s (has %s)" % (args[0], tap, list(nics)))
                if not n["observable"] or not n["ifindex"]:
                    fail("%s: %s not observable: %s" % (args[0], tap, n["reason"]))
        else:
            field, op, n = args[1], args[2], float(args[3])
            if not getattr(operator, op)(vm[field], n):
                fail("%s: %s = %s, wanted %s %s" % (args[0], field, vm[field], op, n))
        return
    uuid = args[0]
    if check == "elephant-of":
        if not any(f["elephant"] and side(f, "vm_src") == uuid for f in data):
            fail("no elephant from %s among %d flows" % (uuid, len(data)))
    elif check == "mice-of":
        port, least = int(args[1]), int(args[2])
        mine = [f for f in data if side(f, "vm_src") == uuid and f["dport"] == port]
        if len(mine) < least:
            fail("%d flows from %s to port %d, wanted >= %d" % (len(mine), uuid, port, least))
        big = [f for f in mine if f["elephant"]]
        if big:
            fail("%d of %s's short flows are elephants" % (len(big), uuid))
    elif check == "to-vm":
        if not any(side(f, "vm_dst") == uuid and f["proto"] == args[1] for f in data):
            fail("no %s flow to %s" % (args[1], uuid))
    elif check == "none-of":
        left = [f for f in data if uuid in (side(f, "vm_src"), side(f, "vm_dst"))]
        if left:
            fail("%d flows still attributed to %s" % (len(left), uuid))
    else:
        fail("unknown check " + check)


main()
