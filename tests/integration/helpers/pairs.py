"""Hold UDP and TCP socket pairs on fixed loopback ports, for the
vocabulary test.

argv: items "udp:A:B" (two connected UDP sockets on 127.0.0.1:A and :B)
and "tcp:L:C" (a listener on 0.0.0.0:L, so that audit reports it, and a
client bound to 127.0.0.1:C).
Prints "ready" once every socket exists, then waits for a line on stdin
and makes the traffic: one datagram each way per UDP pair, one connection
with one byte each way per TCP pair; prints "done" and holds everything
until stdin closes (or 120 s). Loopback only.
"""
import select
import socket
import sys

ADDR = "127.0.0.1"


def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ADDR, port))
    return s


def tcp_listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    return s


def main():
    keep, udp_pairs, tcp_pairs = [], [], []
    for item in sys.argv[1:]:
        kind, a, b = item.split(":")
        a, b = int(a), int(b)
        if kind == "udp":
            sa, sb = udp(a), udp(b)
            sa.connect((ADDR, b))
            sb.connect((ADDR, a))
            udp_pairs.append((sa, sb))
        else:
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            c.bind((ADDR, b))
            tcp_pairs.append((tcp_listener(a), c, a))
    print("ready", flush=True)
    if not select.select([sys.stdin], [], [], 120)[0]:
        return
    sys.stdin.readline()
    for sa, sb in udp_pairs:
        sa.send(b"ping")
        sb.recv(64)
        sb.send(b"pong")
        sa.recv(64)
    for lst, c, port in tcp_pairs:
        c.connect((ADDR, port))
        a, _ = lst.accept()
        c.send(b"x")
        a.recv(1)
        a.send(b"y")
        c.recv(1)
        keep += [a]
    keep += udp_pairs + tcp_pairs
    print("done", flush=True)
    select.select([sys.stdin], [], [], 120)


if __name__ == "__main__":
    main()
