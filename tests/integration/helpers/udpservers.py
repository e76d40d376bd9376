"""Tiny UDP services for the scan lab: DNS on the ports given with dns:PORT,
NTP on ntp:PORT. They answer only well-formed requests of their protocol,
as real servers do. With LAB_DELAY_MS, every answer leaves that much later
(a far-away host, without netem). Prints "ready", then serves until stdin
closes (120 s).
"""
import os
import select
import socket
import struct
import sys
import time

socks = {}
for spec in sys.argv[1:]:
    kind, port = spec.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(port)))
    socks[s] = kind
print("ready", flush=True)


def dns_reply(q):
    if len(q) < 12 or q[2] & 0x80 or struct.unpack("!H", q[4:6])[0] < 1:
        return None
    return q[:2] + b"\x81\x80" + q[4:6] + b"\x00\x00\x00\x00\x00\x00" + q[12:]


def ntp_reply(q):
    if len(q) != 48 or q[0] & 7 != 3:
        return None
    return bytes([0x24, 2, 0, 0xE9]) + b"\0" * 44


DELAY = float(os.environ.get("LAB_DELAY_MS", "0")) / 1000
LIMIT = float(os.environ.get("LAB_SECONDS", "120"))
pending = []            # (due, socket, reply, address)
end = time.monotonic() + LIMIT
while time.monotonic() < end:
    now = time.monotonic()
    wait = min([p[0] for p in pending] + [end]) - now
    r, _, _ = select.select(list(socks) + [sys.stdin], [], [], max(wait, 0))
    if sys.stdin in r:
        break
    for s in r:
        data, addr = s.recvfrom(2048)
        rep = dns_reply(data) if socks[s] == "dns" else ntp_reply(data)
        if rep:
            pending.append((time.monotonic() + DELAY, s, rep, addr))
    now = time.monotonic()
    for p in [p for p in pending if p[0] <= now]:
        p[1].sendto(p[2], p[3])
        pending.remove(p)
