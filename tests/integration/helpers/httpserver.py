"""An HTTP server that answers every request with the Server: header given,
on every port given (accepting every connection, so that probes never fill
a backlog).

Arguments: PORT[,PORT...] SERVER-HEADER. Prints its pid once listening,
then serves until stdin closes (at most 300 s).
"""
import os
import select
import socket
import sys
import threading

ports, header = [int(p) for p in sys.argv[1].split(",")], sys.argv[2]
REPLY = (b"HTTP/1.1 200 OK\r\nServer: " + header.encode() +
         b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


def answer(c):
    c.settimeout(3)
    try:
        c.recv(4096)
        c.sendall(REPLY)
    except OSError:
        pass
    c.close()


def serve(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()


for port in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print(os.getpid(), flush=True)
select.select([sys.stdin], [], [], 300)
