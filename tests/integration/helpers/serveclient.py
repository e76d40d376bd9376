"""Real clients against portkit serve, from inside a test namespace.

    serveclient.py HOST CHECK...

Each CHECK talks to one responder with Python's own client where the
standard library has one (http.client, ftplib, smtplib) and by the
protocol's bytes otherwise, and prints one JSON line with what it saw.
Nothing here was written against portkit's code: these are the clients'
views of the protocols.
"""
import ftplib
import http.client as httpclient
import json
import smtplib
import socket
import struct
import sys

HOST = sys.argv[1]
T = 10


def read_all(s):
    data = b""
    while True:
        d = s.recv(65536)
        if not d:
            return data
        data += d


def http(port):
    c = httpclient.HTTPConnection(HOST, int(port), timeout=T)
    c.request("GET", "/")
    r = c.getresponse()
    body = r.read().decode()
    return {"status": r.status, "server": r.getheader("Server"), "date": r.getheader("Date"),
            "body": body, "local": c.sock.getsockname()[:2] if c.sock else None}


def http_client_port(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    me = s.getsockname()
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    return {"me": list(me[:2]), "reply": read_all(s).decode(errors="replace")}


def ftp(port):
    f = ftplib.FTP(timeout=T)
    welcome = f.connect(HOST, int(port))
    f.login()                               # anonymous
    names = f.nlst()
    lines = []
    f.retrlines("LIST", lines.append)
    chunks = []
    f.retrbinary("RETR README.txt", chunks.append)
    pwd = f.pwd()
    f.quit()
    return {"welcome": welcome, "nlst": names, "list": lines, "readme": b"".join(chunks).decode(),
            "pwd": pwd}


def smtp(port):
    s = smtplib.SMTP(HOST, int(port), timeout=T)
    code, ehlo = s.ehlo("client.test")
    refused = s.sendmail("a@client.test", ["b@server.test"], "Subject: hi\r\n\r\nhello\r\n")
    s.quit()
    return {"ehlo": code, "refused": refused}


def ssh(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    ident = b""
    while not ident.endswith(b"\n"):
        ident += s.recv(1)
    s.sendall(b"SSH-2.0-testclient\r\n")
    hdr = s.recv(5, socket.MSG_WAITALL)
    length, pad = struct.unpack(">IB", hdr)
    body = s.recv(length - 1, socket.MSG_WAITALL)
    msg = body[0]
    kex = body[17:]
    n = struct.unpack(">I", kex[:4])[0]
    return {"ident": ident.decode().strip(), "msg": msg, "kex": kex[4:4 + n].decode(),
            "aligned": (length + 4) % 8 == 0 and pad >= 4}


def dns_query(name, qtype, qclass=1, tcp=False, port=53):
    q = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"
    q += struct.pack(">HH", qtype, qclass)
    if tcp:
        s = socket.create_connection((HOST, port), timeout=T)
        s.sendall(struct.pack(">H", len(q)) + q)
        n = struct.unpack(">H", s.recv(2, socket.MSG_WAITALL))[0]
        r = s.recv(n, socket.MSG_WAITALL)
    else:
        fam = socket.AF_INET6 if ":" in HOST else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(T)
        s.sendto(q, (HOST, port))
        r, _ = s.recvfrom(4096)
    ident, flags, qd, an = struct.unpack(">HHHH", r[:8])
    answers = []
    at = 12 + len(q) - 12
    for _ in range(an):
        typ, cls, ttl, rdlen = struct.unpack(">HHIH", r[at + 2:at + 12])
        rdata = r[at + 12:at + 12 + rdlen]
        if typ == 1:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif typ == 28:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif typ == 16:
            answers.append(rdata[1:].decode())
        at += 12 + rdlen
    return {"id": ident, "rcode": flags & 15, "aa": bool(flags & 0x400), "answers": answers}


def dns(port):
    return {"a": dns_query("server1.lab", 1, port=int(port)),
            "aaaa": dns_query("server1.lab", 28, port=int(port)),
            "tcp": dns_query("SERVER1.lab", 1, tcp=True, port=int(port)),
            "nx": dns_query("nobody.lab", 1, port=int(port)),
            "version": dns_query("version.bind", 16, 3, port=int(port))}


def rdp(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    cookie = b"Cookie: mstshash=test\r\n"
    neg = b"\x01\x00\x08\x00\x03\x00\x00\x00"
    x224 = bytes([6 + len(cookie) + len(neg), 0xe0, 0, 0, 0, 0, 0]) + cookie + neg
    s.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
    r = s.recv(64)
    return {"tpkt": r[0], "len": struct.unpack(">H", r[2:4])[0], "cc": r[5] & 0xf0,
            "neg_type": r[11] if len(r) > 11 else None}


def rdp_tls(port):
    """A Connection Request offering TLS (and CredSSP), then the TLS
    handshake the Connection Confirm promises."""
    import ssl
    s = socket.create_connection((HOST, int(port)), timeout=T)
    neg = struct.pack("<BBHI", 1, 0, 8, 3)
    x224 = bytes([6 + len(neg), 0xe0, 0, 0, 0, 0, 0]) + neg
    s.sendall(struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224)
    r = s.recv(19, socket.MSG_WAITALL)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    cert = ssl.DER_cert_to_PEM_cert(t.getpeercert(True))
    return {"neg": r[11:19].hex(), "tls": t.version(), "cert": cert.startswith("-----BEGIN")}


def smb(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 7, 0, 0, 0, b"\0" * 16)
    dialects = [0x0202, 0x0210, 0x0300, 0x0302]
    body = struct.pack("<HHHHI16sIHH", 36, len(dialects), 1, 0, 0, b"c" * 16, 0, 0, 0)
    body += b"".join(struct.pack("<H", d) for d in dialects)
    msg = hdr + body
    s.sendall(struct.pack(">I", len(msg)) + msg)
    n = struct.unpack(">I", s.recv(4, socket.MSG_WAITALL))[0]
    r = s.recv(n, socket.MSG_WAITALL)
    return {"proto": r[:4].hex(), "command": struct.unpack("<H", r[12:14])[0],
            "message_id": struct.unpack("<Q", r[24:32])[0],
            "structure": struct.unpack("<H", r[64:66])[0],
            "dialect": struct.unpack("<H", r[68:70])[0]}


def redis(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    s.sendall(b"*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n*1\r\n$4\r\nQUIT\r\n")
    return {"reply": read_all(s).decode()}


def mysql(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    n = int.from_bytes(s.recv(3, socket.MSG_WAITALL), "little")
    seq = s.recv(1)[0]
    p = s.recv(n, socket.MSG_WAITALL)
    ver = p[1:p.index(b"\0", 1)].decode()
    after = p.index(b"\0", 1) + 1
    plugin = p[p.rindex(b"\0", 0, len(p) - 1) + 1:-1].decode()
    resp = struct.pack("<IIB23s", 0x000fa685, 1 << 24, 45, b"\0" * 23) + b"root\0\0"
    s.sendall(len(resp).to_bytes(3, "little") + bytes([1]) + resp)
    n = int.from_bytes(s.recv(3, socket.MSG_WAITALL), "little")
    seq2 = s.recv(1)[0]
    e = s.recv(n, socket.MSG_WAITALL)
    return {"protocol": p[0], "version": ver, "seq": seq, "plugin": plugin, "err": e[0],
            "code": struct.unpack("<H", e[1:3])[0], "state": e[4:9].decode(), "seq2": seq2,
            "thread": struct.unpack("<I", p[after:after + 4])[0]}


def telnet(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    data = b""
    while b"login: " not in data:
        data += s.recv(4096)
    s.sendall(b"\xff\xfd\x01admin\r\n")
    data2 = b""
    while b"Password: " not in data2:
        data2 += s.recv(4096)
    s.sendall(b"secret\r\n")
    data3 = b""
    while b"incorrect" not in data3:
        data3 += s.recv(4096)
    return {"iac": data[:3].hex(), "prompt": "login: " in data.decode(errors="replace"),
            "refused": True}


def echo(port):
    s = socket.create_connection((HOST, int(port)), timeout=T)
    s.sendall(b"ping\n")
    tcp = s.recv(100)
    fam = socket.AF_INET6 if ":" in HOST else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.settimeout(T)
    u.sendto(b"dgram", (HOST, int(port)))
    return {"tcp": tcp.decode(), "udp": u.recvfrom(100)[0].decode()}


out = {}
for check in sys.argv[2:]:
    name, port = check.split(":")
    try:
        out[check] = globals()[name](port)
    except Exception as e:          # the test shows what failed
        out[check] = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
