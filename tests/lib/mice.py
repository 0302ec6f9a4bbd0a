#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mice for the lab: many short TCP request/response connections and a few
UDP datagrams.  `mice.py serve PORT` answers both; `mice.py run HOST PORT N`
makes N TCP connections and N/10 UDP exchanges, then prints what it did."""
import socket
import sys
import threading


def serve(port, family):
    addr = "::" if family == socket.AF_INET6 else "0.0.0.0"
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        tcp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    tcp.bind((addr, port))
    tcp.listen(256)
    udp = socket.socket(family, socket.SOCK_DGRAM)
    if family == socket.AF_INET6:
        udp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    udp.bind((addr, port))

    def udp_loop():
        while True:
            data, peer = udp.recvfrom(2048)
            udp.sendto(b"pong " + data[:64], peer)

    threading.Thread(target=udp_loop, daemon=True).start()
    while True:
        conn, _ = tcp.accept()
        try:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 512)
        finally:
            conn.close()


def run(host, port, n):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    done = 0
    for _ in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        while s.recv(4096):
            pass
        s.close()
        done += 1
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.settimeout(5)
    for i in range(max(1, n // 10)):
        udp.sendto(b"ping %d" % i, (host, port))
        udp.recvfrom(2048)
    print(f"tcp={done} udp={max(1, n // 10)}")


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        port = int(sys.argv[2])
        threading.Thread(target=serve, args=(port, socket.AF_INET6), daemon=True).start()
        serve(port, socket.AF_INET)
    else:
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
