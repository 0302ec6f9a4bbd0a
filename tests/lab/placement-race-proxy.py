#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A pass-through HTTP proxy in front of a real Placement that can make
another client win the race against the agent, on purpose.

    placement-race-proxy.py LISTEN-PORT UPSTREAM-URL ARM-FILE

Every request is relayed to UPSTREAM-URL as it is.  While ARM-FILE holds a
number N > 0, the next N trait writes (PUT /resource_providers/U/traits)
are each preceded by a write of another client: it reads U's traits and
toggles CUSTOM_LAB_RACE, as nova-compute's periodic update could between
the agent's read and its write.  The agent's write then carries a stale
generation and the real Placement answers 409 itself; nothing is faked.
Each such write is counted in ARM-FILE.done.  Ready when it prints
"listening".
"""
import http.client
import http.server
import json
import sys
import threading
import urllib.parse

PORT, UPSTREAM, ARM = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), sys.argv[3]
LOCK = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length"}


def upstream(method, path, headers, body):
    conn = http.client.HTTPConnection(UPSTREAM.hostname, UPSTREAM.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def take_arm():
    with LOCK:
        try:
            n = int(open(ARM).read().strip() or 0)
        except FileNotFoundError:
            return False
        if n <= 0:
            return False
        open(ARM, "w").write(f"{n - 1}\n")
        return True


def other_client_write(path, headers):
    """The other client's read-modify-write of the same provider's traits."""
    h = {k: v for k, v in headers.items() if k.lower() in ("x-auth-token", "openstack-api-version")}
    h["Accept"] = h["Content-Type"] = "application/json"
    for _ in range(50):  # it races other writers too: a 409 is read again
        status, _, body = upstream("GET", path, h, None)
        if status != 200:
            raise RuntimeError(f"other client's GET {path}: {status}")
        d = json.loads(body)
        traits = set(d["traits"]) ^ {"CUSTOM_LAB_RACE"}
        put = json.dumps({"resource_provider_generation": d["resource_provider_generation"],
                          "traits": sorted(traits)}).encode()
        status, _, body = upstream("PUT", path, h, put)
        if status == 200:
            break
        if status != 409:
            raise RuntimeError(f"other client's PUT {path}: {status} {body[:200]!r}")
    else:
        raise RuntimeError(f"other client's PUT {path}: 50 conflicts in a row: {body[:300]!r}")
    with LOCK:
        with open(ARM + ".done", "a") as f:
            f.write(f"{d['resource_provider_generation']}\n")


class Relay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:  # then trailers, up to an empty line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size + 2)[:size]
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def relay(self):
        body = self.read_body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        if (self.command == "PUT" and self.path.startswith("/resource_providers/")
                and self.path.endswith("/traits") and take_arm()):
            other_client_write(self.path, headers)
        status, rheaders, rbody = upstream(self.command, self.path, headers, body)
        self.send_response(status)
        for k, v in rheaders:
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(rbody)))
        self.end_headers()
        self.wfile.write(rbody)

    do_GET = do_PUT = do_POST = do_DELETE = relay

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.requestline, args[1] if len(args) > 1 else ""))


server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Relay)
print("listening", flush=True)
server.serve_forever()
