"""Open the listeners named on the command line and hold them.

Each argument is PROTO:ADDRESS:PORT (tcp:0.0.0.0:23, udp:127.0.0.1:123,
tcp:[::]:80). Prints this process's pid when all are bound, then waits for
stdin to close (at most 120 s). Connections to the TCP listeners are
accepted and closed at once, as a running service's would be: left in the
accept queue they would fill it (audit probes what answers), and later
connects (audit --verify) would go unanswered.
"""
import os
import select
import socket
import sys
import time

keep = []
for spec in sys.argv[1:]:
    proto, rest = spec.split(":", 1)
    addr, _, port = rest.rpartition(":")
    fam = socket.AF_INET6 if addr.startswith("[") else socket.AF_INET
    addr = addr.strip("[]")
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    keep.append(s)
print(os.getpid(), flush=True)
tcp = [s for s in keep if s.type == socket.SOCK_STREAM]
end = time.monotonic() + 120
while time.monotonic() < end:
    ready, _, _ = select.select([sys.stdin] + tcp, [], [], max(0, end - time.monotonic()))
    if sys.stdin in ready:
        break
    for s in ready:
        c, _ = s.accept()
        c.close()
