"""Lab services that speak just enough of their protocol to be recognised.

Arguments are KIND:PORT with KIND one of ssh, ftp, smtp, http, tls (TLS 1.2
with the certificate in $LAB_CERT / $LAB_KEY), rdp (X.224 connection
confirm), redis, silent. Prints "ready", serves until stdin closes (120 s).
"""
import os
import select
import socket
import ssl
import sys
import threading

BANNERS = {"ssh": b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "ftp": b"220 (vsFTPd 3.0.3)\r\n",
           "smtp": b"220 lab.example ESMTP Postfix\r\n"}
HTTP = (b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Length: 2\r\n"
        b"Connection: close\r\n\r\nok")
RDP_CC = bytes.fromhex("030000130ed000001234000201080000000000")


def serve(kind, c):
    try:
        c.settimeout(5)
        if kind in BANNERS:
            c.sendall(BANNERS[kind])
            c.recv(100)
        elif kind == "http":
            if c.recv(4096).startswith(b"GET "):
                c.sendall(HTTP)
        elif kind == "rdp":
            d = c.recv(100)
            if d[:2] == b"\x03\x00" and len(d) > 5 and d[5] == 0xE0:
                c.sendall(RDP_CC)
        elif kind == "redis":
            d = c.recv(100)
            if b"INFO" in d:     # as redis-server answers INFO server
                body = b"# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
                c.sendall(b"$%d\r\n%s\r\n" % (len(body), body))
            elif b"PING" in d:
                c.sendall(b"+PONG\r\n")
        elif kind == "tls":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.environ["LAB_CERT"], os.environ["LAB_KEY"])
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            t = ctx.wrap_socket(c, server_side=True)
            if t.recv(4096).startswith(b"GET "):
                t.sendall(HTTP)
            t.close()
            return
        elif kind == "silent":
            c.recv(100)
    except (OSError, ssl.SSLError):
        pass
    finally:
        c.close()


def accept_loop(kind, s):
    while True:
        try:
            c, _ = s.accept()
        except OSError:
            return
        threading.Thread(target=serve, args=(kind, c), daemon=True).start()


for spec in sys.argv[1:]:
    kind, port = spec.split(":")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(64)
    threading.Thread(target=accept_loop, args=(kind, s), daemon=True).start()
print("ready", flush=True)
select.select([sys.stdin], [], [], float(os.environ.get("LAB_SECONDS", "120")))
