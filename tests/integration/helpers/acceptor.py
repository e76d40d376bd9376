"""Listen on the TCP ports named after SECONDS, accept and close whatever
comes (a connect scan run many times never fills a backlog), print "ready"
once bound, and end when stdin closes or SECONDS after the start at the
latest.

usage: acceptor.py SECONDS PORT...
"""
import select
import socket
import sys
import time

socks = []
for port in sys.argv[2:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(1024)
    s.setblocking(False)
    socks.append(s)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    ready = select.select(socks + [sys.stdin], [], [], max(0, end - time.monotonic()))[0]
    if sys.stdin in ready:
        break
    for s in ready:
        try:
            s.accept()[0].close()
        except OSError:
            pass    # the client gave up first
