"""Create a zoo of sockets in the current network namespace and hold them.

Prints one JSON line describing what it made (with this process's pid),
then waits until stdin closes (or 120 s) so that the sockets stay open.
Traffic goes only to loopback and to 198.18.0.0/15 on a veth inside the namespace.
"""
import json
import os
import select
import socket
import sys
import time


def listener(family, addr, v6only=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if v6only else 0)
    s.bind((addr, 0))
    s.listen(64)
    return s


def pair(server, family, addr):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect((addr, server.getsockname()[1]))
    a, _ = server.accept()
    return c, a


SETTLING = {"04", "09", "0B"}   # FIN-WAIT-1, LAST-ACK, CLOSING: a FIN not yet acknowledged


def settle():
    """Until no socket here waits for the ACK of its FIN (bounded: 2 s), so
    that what the caller compares sees the states this helper means."""
    end = time.monotonic() + 2
    while time.monotonic() < end:
        states = set()
        for path in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(path) as f:
                next(f)
                states |= {line.split()[3] for line in f}
        if not states & SETTLING:
            return
        time.sleep(0.01)


def main():
    keep = []
    info = {"pid": os.getpid(), "tcp_listen": [], "udp": []}
    l4 = listener(socket.AF_INET, "127.0.0.1")
    l6 = listener(socket.AF_INET6, "::1", v6only=True)
    dual = listener(socket.AF_INET6, "::", v6only=False)
    keep += [l4, l6, dual]
    info["tcp_listen"] = [s.getsockname()[1] for s in (l4, l6, dual)]
    # established pairs: IPv4, IPv6, and IPv4 into the dual-stack listener (v4-mapped)
    for srv, fam, addr in ((l4, socket.AF_INET, "127.0.0.1"), (l6, socket.AF_INET6, "::1"),
                           (dual, socket.AF_INET, "127.0.0.1")):
        keep += pair(srv, fam, addr)
    # TIME-WAIT: the client closes first
    c, a = pair(l4, socket.AF_INET, "127.0.0.1")
    c.close()
    settle()            # c in FIN-WAIT-2, a in CLOSE-WAIT
    a.close()
    # CLOSE-WAIT / FIN-WAIT-2: the peer closed, we did not
    c, a = pair(l4, socket.AF_INET, "127.0.0.1")
    c.close()
    keep.append(a)
    # UDP: unconnected on v4 and v6, and a connected one
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"),
                      (socket.AF_INET6, "::")):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.bind((addr, 0))
        keep.append(u)
        info["udp"].append(u.getsockname()[1])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.connect(("127.0.0.1", info["udp"][0]))
    keep.append(u)
    # SYN-SENT: a peer on the namespace's own veth network that never answers
    if len(sys.argv) > 1 and sys.argv[1] == "--syn-sent":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("198.18.0.99", 9))
        except BlockingIOError:
            pass
        keep.append(s)
    settle()
    print(json.dumps(info), flush=True)
    select.select([sys.stdin], [], [], 120)


main()
