"""TCP and UDP probes, run as a plain script inside a VM's namespace (no pyovn import, so it
starts fast and needs no package path):

    probe.py serve READYFILE [--tcp PORT,...] [--udp PORT,...]
    probe.py connect tcp|udp ADDRESS PORT [--timeout SECONDS]

``serve`` answers every TCP connection with "pyovn-probe\\n" and echoes every UDP datagram;
it writes READYFILE once listening.  ``connect`` exits 0 if the answer came back, 1 if not.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import sys

ANSWER = b"pyovn-probe\n"


def ports(text: str) -> list[int]:
    out = []
    for p in text.split(","):
        n = int(p)
        if not 0 < n < 65536:
            raise argparse.ArgumentTypeError(f"bad port {p!r}")
        out.append(n)
    return out


def serve(ready: str, tcp: list[int], udp: list[int]) -> int:
    sel = selectors.DefaultSelector()
    for port in tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        s.listen(16)
        sel.register(s, selectors.EVENT_READ, "tcp")
    for port in udp:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        sel.register(s, selectors.EVENT_READ, "udp")
    with open(ready, "w") as f:
        f.write("ready\n")
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                if key.data == "tcp":
                    conn, _ = sock.accept()
                    with conn:
                        conn.settimeout(2)
                        conn.sendall(ANSWER)
                else:
                    data, peer = sock.recvfrom(2048)
                    sock.sendto(data, peer)
            except OSError:
                continue


def connect(proto: str, addr: str, port: int, timeout: float) -> int:
    try:
        if proto == "tcp":
            with socket.create_connection((addr, port), timeout=timeout) as s:
                s.settimeout(timeout)
                got = b""
                while len(got) < len(ANSWER):
                    chunk = s.recv(64)
                    if not chunk:
                        break
                    got += chunk
                return 0 if got == ANSWER else 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(ANSWER, (addr, port))
            data, _ = s.recvfrom(2048)
            return 0 if data == ANSWER else 1
    except OSError as e:
        print(f"{proto} {addr}:{port}: {e}", file=sys.stderr)
        return 1


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="probe.py")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("ready")
    s.add_argument("--tcp", type=ports, default=[])
    s.add_argument("--udp", type=ports, default=[])
    c = sub.add_parser("connect")
    c.add_argument("proto", choices=["tcp", "udp"])
    c.add_argument("addr")
    c.add_argument("port", type=int)
    c.add_argument("--timeout", type=float, default=2.0)
    a = ap.parse_args(argv)
    if a.cmd == "serve":
        return serve(a.ready, a.tcp, a.udp)
    return connect(a.proto, a.addr, a.port, a.timeout)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
