"""portkit forward on loopback and in namespaces."""
import asyncio
import errno
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import BIN
from fwdutil import Fwd as Forwarder, free_port
from netns import Netns


def wait_port(port, host="127.0.0.1", timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {host}:{port}")


class Backend(threading.Thread):
    """A TCP server on loopback running handler(conn) per connection."""

    def __init__(self, handler, family=socket.AF_INET):
        super().__init__(daemon=True)
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        self.s.listen(1024)
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.handler = handler
        self.stopped = False
        self.start()

    def run(self):
        while not self.stopped:
            try:
                c, _ = self.s.accept()
            except OSError:
                continue
            threading.Thread(target=self.handler, args=(c,), daemon=True).start()

    def close(self):
        self.stopped = True
        self.s.close()


def echo(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)


@pytest.fixture
def echo_backend():
    b = Backend(echo)
    yield b
    b.close()


def test_1000_concurrent_connections_sha256(echo_backend):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2200:
        pytest.skip(f"this test holds ~2,100 descriptors; the hard limit is {hard}")
    # the test's own clients and backend: as any load generator, take the hard limit
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    async def backend(reader, writer):
        while True:
            d = await reader.read(65536)
            if not d:
                break
            writer.write(d)
            await writer.drain()
        writer.close()

    port = free_port()
    log = []

    async def main():
        srv = await asyncio.start_server(backend, "127.0.0.1", 0, backlog=2048)
        bport = srv.sockets[0].getsockname()[1]
        f = Forwarder(port, f"127.0.0.1:{bport}", "--json")
        await asyncio.get_running_loop().run_in_executor(None, f.wait_for, '"event":"listening"')

        async def one(i):
            data = os.urandom(20000 + i)
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(data)
            await w.drain()
            w.write_eof()
            got = b""
            while True:
                x = await r.read(65536)
                if not x:
                    break
                got += x
            w.close()
            return hashlib.sha256(got).digest() == hashlib.sha256(data).digest()

        try:
            res = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(1000))), 120)
        finally:
            err = await asyncio.get_running_loop().run_in_executor(None, f.stop)
            srv.close()
        log.append(err)
        return res

    res = asyncio.run(main())
    assert sum(res) == 1000
    recs = [json.loads(l) for l in log[0].splitlines() if '"close_reason"' in l]
    assert len(recs) == 1000
    assert all(r["close_reason"] == "closed" and r["bytes_in"] == r["bytes_out"] for r in recs)
    # spliced is a part of what moved (how much depends on how the bytes
    # arrived: messages of ~20 KB are mostly copied, see the test below)
    assert all(0 <= r["spliced"] <= r["bytes_in"] + r["bytes_out"] for r in recs)


def metric_values(port, name):
    """{label set: value} of one family from forward --metrics."""
    import urllib.request
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1:].rsplit("} ", 1)
            out[labels] = int(float(value))
    return out


def test_small_messages_copied_and_streams_spliced_exactly():
    """One session carries many small request/responses (copied: a splice
    would cost more system calls), a large download and a large upload
    (spliced), then small ones again: every byte arrives in order, and the
    session log and /metrics count spliced and copied bytes that add up to
    exactly what moved, both ways having carried some."""
    big, rounds = 8 << 20, 300
    down_blob, up_blob = os.urandom(big), os.urandom(big)

    def backend(c):
        with c, c.makefile("rb") as f:
            while True:
                words = f.readline().split()
                if not words:
                    return
                if words[0] == b"ping":
                    c.sendall(b"pong " + words[1] + b"\n")
                elif words[0] == b"down":
                    c.sendall(down_blob)
                elif words[0] == b"up":
                    d = f.read(int(words[1]))
                    c.sendall(b"got %d %s\n" % (len(d), hashlib.sha256(d).hexdigest().encode()))

    b = Backend(backend)
    port, mport = free_port(), free_port()
    f = Forwarder(port, f"127.0.0.1:{b.port}", "--json", "--metrics", f"127.0.0.1:{mport}")
    try:
        f.wait_for('"event":"metrics"')
        sent = got = 0
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s, \
                s.makefile("rb") as rf:
            def small(first):
                nonlocal sent, got
                for i in range(first, first + rounds):
                    q = b"ping %d\n" % i
                    s.sendall(q)
                    a = rf.readline()
                    assert a == b"pong %d\n" % i
                    sent, got = sent + len(q), got + len(a)

            small(0)
            q = b"down %d\n" % big
            s.sendall(q)
            d = rf.read(big)
            assert d == down_blob          # every byte, in order
            sent, got = sent + len(q), got + len(d)
            q = b"up %d\n" % big
            s.sendall(q)
            s.sendall(up_blob)
            a = rf.readline()
            assert a == b"got %d %s\n" % (big, hashlib.sha256(up_blob).hexdigest().encode())
            sent, got = sent + len(q) + big, got + len(a)
            small(rounds)
            s.shutdown(socket.SHUT_WR)
            assert rf.read() == b""
        rec = json.loads([l for l in f.wait_for('"close_reason"').splitlines()
                          if '"close_reason"' in l][0])
        assert rec["close_reason"] == "closed"
        assert (rec["bytes_in"], rec["bytes_out"]) == (sent, got)
        total = sent + got
        # the bulk went by splice, and copies carried the rest
        assert big <= rec["spliced"] < total, rec
        ways = {k.rsplit('way="', 1)[1].rstrip('"'): v
                for k, v in metric_values(mport, "portkit_forward_relay_bytes_total").items()}
        assert ways == {"spliced": rec["spliced"], "copied": total - rec["spliced"]}
        dirs = {k.rsplit('direction="', 1)[1].rstrip('"'): v
                for k, v in metric_values(mport, "portkit_forward_bytes_total").items()}
        assert dirs == {"from_client": sent, "to_client": got}
    finally:
        f.stop()
        b.close()


def test_bytes_after_urgent_data_and_fin_arrive(echo_backend):
    """A read stops short at an urgent mark: the bytes after it (and the
    FIN after them) must still be relayed, not taken for the end. The
    urgent byte itself is out of band and not forwarded."""
    port = free_port()
    f = Forwarder(port, f"127.0.0.1:{echo_backend.port}")
    try:
        f.wait_for(" listening ")
        for i in range(20):     # the three sends land in one read or several
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"a" * (100 + i))
                s.send(b"U", socket.MSG_OOB)
                s.sendall(b"b" * 100)
                s.shutdown(socket.SHUT_WR)
                got = b""
                while len(got) < 300:
                    d = s.recv(65536)
                    if not d:
                        break
                    got += d
                assert got == b"a" * (100 + i) + b"b" * 100, (i, got)
    finally:
        f.stop()


def test_half_close_reply_after_2s():
    def late_reply(c):
        with c:
            got = b""
            while True:
                d = c.recv(65536)
                if not d:
                    break
                got += d
            time.sleep(2)
            c.sendall(b"reply to " + got)

    b = Backend(late_reply)
    port = free_port()
    f = Forwarder(port, f"127.0.0.1:{b.port}")
    try:
        wait_port(port)
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"question")
        c.shutdown(socket.SHUT_WR)
        t0 = time.time()
        got = b""
        while True:
            d = c.recv(100)
            if not d:
                break
            got += d
        assert got == b"reply to question" and time.time() - t0 >= 1.9
    finally:
        err = f.stop()
        b.close()
    assert "close=closed" in err


def test_reset_is_passed_on():
    def resetter(c):
        c.recv(10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    b = Backend(resetter)
    port = free_port()
    f = Forwarder(port, f"127.0.0.1:{b.port}")
    try:
        wait_port(port)
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"x")
        with pytest.raises(ConnectionResetError):
            for _ in range(50):
                if not c.recv(10):
                    raise AssertionError("got a FIN, wanted a reset")
    finally:
        err = f.stop()
        b.close()
    assert "close=reset" in err


def test_refused_target_closes_client_at_once():
    port, dead = free_port(), free_port()
    f = Forwarder(port, f"127.0.0.1:{dead}")
    try:
        wait_port(port)
        t0 = time.time()
        try:   # the reset may even beat connect() back
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            assert c.recv(10) == b""
        except ConnectionResetError:
            pass
        assert time.time() - t0 < 1
    finally:
        err = f.stop()
    assert "close=connect-refused" in err


def test_silent_target_times_out():
    with Netns() as ns:
        ns.ip("link", "add", "pkv0", "type", "veth", "peer", "name", "pkv1")
        ns.ip("addr", "add", "198.18.0.1/24", "dev", "pkv0")
        ns.ip("link", "set", "pkv0", "up")
        ns.ip("link", "set", "pkv1", "up")
        cfg = "/tmp/pk-fwd-silent-%d.conf" % os.getpid()
        with open(cfg, "w") as fh:
            fh.write("127.0.0.1:9000 tcp 198.18.0.99:80 connect-timeout=1s\n")
        p = subprocess.Popen(ns.cmd(BIN, "forward", "-c", cfg), stderr=subprocess.PIPE, text=True)
        # (a handful of log lines: the pipe cannot fill)
        try:
            r = ns.run("/usr/bin/python3", "-c",
                       "import socket,time\n"
                       "for i in range(50):\n"
                       "  try:\n    c=socket.create_connection(('127.0.0.1',9000));break\n"
                       "  except OSError: time.sleep(0.1)\n"
                       "t=time.time()\n"
                       "try: c.recv(1)\nexcept ConnectionResetError: pass\n"
                       "print(round(time.time()-t,1))\n", timeout=20)
            assert 0.8 <= float(r.stdout) <= 2.5, r.stdout + r.stderr
        finally:
            p.send_signal(signal.SIGTERM)
            err = p.communicate(timeout=20)[1]
            os.unlink(cfg)
        assert "close=connect-timeout" in err


def test_allow_deny_v4_and_v6(echo_backend):
    port = free_port(family=socket.AF_INET6)
    f = Forwarder(port, f"127.0.0.1:{echo_backend.port}", "--deny", "::1", "--allow",
                  "127.0.0.0/8", "--allow", "2001:db8::/32")
    try:
        wait_port(port)
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"ok")
        try:
            assert c.recv(10) == b"ok"
        except ConnectionResetError:
            raise AssertionError(f.stop())
        c.close()
        # denied at once: the reset may even beat connect() back
        with pytest.raises((ConnectionResetError, AssertionError)):
            c6 = socket.create_connection(("::1", port), timeout=5)
            d = c6.recv(10)
            assert d, "closed"
            raise RuntimeError("not denied")
    finally:
        err = f.stop()
    assert "client=[::1]" in err and "close=denied" in err
    assert "client=127.0.0.1" in err


def test_udp_clients_get_their_own_replies_and_sessions_expire():
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                d, a = srv.recvfrom(65536)
            except OSError:
                continue
            srv.sendto(b"re:" + d, a)
            srv.sendto(b"re2:" + d, a)   # two replies: boundaries must stay

    threading.Thread(target=serve, daemon=True).start()
    port = free_port(kind=socket.SOCK_DGRAM)
    cfg = "/tmp/pk-fwd-udp-%d.conf" % os.getpid()
    with open(cfg, "w") as fh:
        fh.write(f"127.0.0.1:{port} udp 127.0.0.1:{srv.getsockname()[1]} idle-timeout=1s\n")
    mport = free_port()
    f = Forwarder("-c", cfg, "--metrics", f"127.0.0.1:{mport}")
    try:
        f.wait_for(" metrics ")
        clients = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
        for i, c in enumerate(clients):
            c.settimeout(3)
            c.sendto(f"client{i}".encode(), ("127.0.0.1", port))
        for i, c in enumerate(clients):
            assert c.recv(100) == f"re:client{i}".encode()
            assert c.recv(100) == f"re2:client{i}".encode()
        f.wait_for("close=idle-timeout", count=8)
        # datagrams are copied: 8 x 7 bytes in, 8 x 21 out. Read once the
        # sessions have closed: a worker counts a reply after sendmmsg has
        # returned, so a client may hold it before the count moves
        ways = {k.rsplit('way="', 1)[1].rstrip('"'): v
                for k, v in metric_values(mport, "portkit_forward_relay_bytes_total").items()}
        assert ways == {"spliced": 0, "copied": 8 * 28}
    finally:
        err = f.stop()
        stop.set()
        os.unlink(cfg)
    assert err.count("close=idle-timeout") == 8
    assert "in=7 out=21" in err  # two replies of 10 and 11 bytes


def test_reload_keeps_live_sessions(echo_backend, tmp_path):
    p1, p2 = free_port(), free_port()
    cfg = tmp_path / "fwd.conf"
    cfg.write_text(f"127.0.0.1:{p1} tcp 127.0.0.1:{echo_backend.port}\n")
    f = Forwarder("-c", cfg, "--workers", "2")
    try:
        f.wait_for(" listening ")
        live = socket.create_connection(("127.0.0.1", p1), timeout=5)
        live.sendall(b"before")
        assert live.recv(10) == b"before"
        # add a rule, keep the first
        cfg.write_text(f"127.0.0.1:{p1} tcp 127.0.0.1:{echo_backend.port} idle-timeout=10m\n"
                       f"127.0.0.1:{p2} tcp 127.0.0.1:{echo_backend.port}\n")
        f.p.send_signal(signal.SIGHUP)
        wait_port(p2)
        live.sendall(b"after")
        assert live.recv(10) == b"after"
        # a broken config is refused and the old rules go on
        cfg.write_text("this is not a rule\n")
        f.p.send_signal(signal.SIGHUP)
        f.wait_for("reload-rejected")
        socket.create_connection(("127.0.0.1", p2), timeout=5).close()
        # remove the first rule: it stops accepting, its live session drains
        cfg.write_text(f"127.0.0.1:{p2} tcp 127.0.0.1:{echo_backend.port}\n")
        f.p.send_signal(signal.SIGHUP)
        f.wait_for(" stopped-listening ", count=2)     # both workers closed theirs
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p1), timeout=5)
        live.sendall(b"still")
        assert live.recv(10) == b"still"
        live.close()
    finally:
        err = f.stop()
    assert "reload-rejected" in err and ":1: " in err
    assert err.count("close=closed") >= 1


def test_emfile_survived(echo_backend):
    port = free_port()
    f = Forwarder(port, f"127.0.0.1:{echo_backend.port}", "--workers", "1",
                  prefix=("prlimit", "--nofile=40:40"))
    try:
        wait_port(port)
        conns = []
        for _ in range(30):
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            conns.append(c)
        f.wait_for("out of file descriptors")
        # the first sessions still work, the process is alive and not spinning
        live = 0
        for c in conns[:10]:
            c.settimeout(2)
            try:
                c.sendall(b"ping")
                live += c.recv(10) == b"ping"
            except OSError:
                pass
        assert live == 10
        t = os.times()
        usage = open(f"/proc/{f.p.pid}/stat").read().split()
        cpu_before = int(usage[13]) + int(usage[14])
        time.sleep(1)
        usage = open(f"/proc/{f.p.pid}/stat").read().split()
        assert int(usage[13]) + int(usage[14]) - cpu_before < 30   # ticks: well under 30 %
        for c in conns:
            c.close()
        # a new client waits in the backlog until the listener is back
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.settimeout(3)
        c.sendall(b"again")
        assert c.recv(10) == b"again"
        c.close()
    finally:
        err = f.stop()
    assert f.p.returncode == 0
    assert "out of file descriptors" in err


def test_proxy_protocol_headers():
    got = []

    def grab(c):
        # everything until the client's FIN comes through: header and data
        # may arrive in separate segments
        with c:
            c.settimeout(5)
            data = b""
            try:
                while True:
                    d = c.recv(200)
                    if not d:
                        break
                    data += d
            except OSError:
                pass
            got.append(data)

    b = Backend(grab)
    for ver in ("v1", "v2"):
        port = free_port()
        cfg = f"/tmp/pk-fwd-proxy-{os.getpid()}.conf"
        with open(cfg, "w") as fh:
            fh.write(f"127.0.0.1:{port} tcp 127.0.0.1:{b.port} proxy={ver}\n")
        f = Forwarder("-c", cfg)
        try:
            wait_port(port)
            c = socket.create_connection(("127.0.0.1", port), timeout=5)
            cport = c.getsockname()[1]
            c.sendall(b"DATA")
            c.close()
        finally:
            f.stop()
            os.unlink(cfg)
        # wait_port's probe also came through: take the session that sent DATA
        hdr = [g for g in got if g.endswith(b"DATA")][-1]
        got.clear()
        if ver == "v1":
            assert hdr.startswith(f"PROXY TCP4 127.0.0.1 127.0.0.1 {cport} {port}\r\n".encode())
        else:
            assert hdr[:12] == b"\r\n\r\n\x00\r\nQUIT\n" and hdr[12] == 0x21 and hdr[13] == 0x11
            assert struct.unpack("!HH", hdr[24:28]) == (cport, port)
        assert hdr.endswith(b"DATA")
    b.close()


@pytest.mark.parametrize("text,msg", [
    ("127.0.0.1:80 tcp\n", "x.conf:1: expected LISTEN PROTO TARGET"),
    ("# c\n127.0.0.1:80 sctp 127.0.0.1:81\n", "x.conf:2: unknown protocol 'sctp'"),
    ("127.0.0.1:80 tcp 127.0.0.1:0\n", "x.conf:1: invalid target '127.0.0.1:0': port 0"),
    ("127.0.0.1:80 tcp 127.0.0.1:81 allow=10.0.0.0/99\n", "x.conf:1: invalid CIDR"),
    ("127.0.0.1:80 tcp 127.0.0.1:81 idle-timeout=soon\n", "x.conf:1: invalid idle-timeout"),
    ("127.0.0.1:80 tcp 127.0.0.1:81 colour=blue\n", "x.conf:1: unknown option 'colour'"),
    ("127.0.0.1:80 udp 127.0.0.1:81 proxy=v1\n", "x.conf:1: the PROXY protocol is for tcp"),
    ("127.0.0.1:80 tcp 127.0.0.1:81\n127.0.0.1:80 tcp 127.0.0.1:82\n",
     "x.conf:2: listens where line 1 already does"),
    ("", "x.conf: no rules"),
])
def test_bad_config(tmp_path, text, msg):
    cfg = tmp_path / "x.conf"
    cfg.write_text(text)
    r = subprocess.run([BIN, "forward", "-c", str(cfg), "--check"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and msg in lines[0], r.stderr


def test_startup_errors(echo_backend):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cases = [
        ([f"127.0.0.1:{port}", f"127.0.0.1:{echo_backend.port}"], "cannot listen: Address already in use"),
        (["127.0.0.1:70000", "127.0.0.1:80"], "invalid port '70000'"),
        (["8080"], "expected LISTEN TARGET"),
        (["-c", "/nonexistent.conf"], "cannot open config '/nonexistent.conf'"),
        (["8080", "127.0.0.1:80", "--allow", "nonsense"], "invalid address 'nonsense'"),
    ]
    for args, msg in cases:
        r = subprocess.run([BIN, "forward", *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 2, (args, r.stderr)
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and msg in lines[0], (args, r.stderr)
    busy.close()
    with Netns() as ns:   # no route to the target at all
        r = ns.run(BIN, "forward", "127.0.0.1:9000", "198.18.0.5:80")
        assert r.returncode == 2 and "target unreachable" in r.stderr, r.stderr


def test_log_none_keeps_events_drops_session_lines(echo_backend):
    """--log none: no line per session (as HAProxy without a log), the events
    still on stderr, and the relay unchanged."""
    port = free_port()
    f = Forwarder(port, f"127.0.0.1:{echo_backend.port}", "--log", "none")
    try:
        f.wait_for(" listening ")
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        c.sendall(b"ping")
        assert c.recv(4) == b"ping"
        c.close()
    finally:
        err = f.stop()
    assert " listening " in err and " stopped " in err
    assert " session " not in err


def one_line_error(args):
    r = subprocess.run([BIN, "forward", *map(str, args)], capture_output=True, text=True,
                       timeout=10)
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and r.stdout == "", (args, r.returncode, r.stdout, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("portkit: "), (args, r.stderr)
    assert len(lines[0].encode()) <= 200, lines[0]
    return lines[0]


def test_bad_metrics_and_log_one_clean_line_also_at_check(tmp_path):
    """A bad --metrics address is said once, cleanly (it was formatted into
    the buffer it was read from: "--metrics: --metrics: ort '65536'"), and
    --check validates --metrics and --log instead of saying "1 rule OK"."""
    rule = ["127.0.0.1:18080", "127.0.0.1:18081"]
    for extra in ([], ["--check"]):
        line = one_line_error([*rule, "--metrics", "127.0.0.1:65536", *extra])
        assert line == "portkit: --metrics: invalid port '65536': must be 0-65535", line
        line = one_line_error([*rule, "--metrics", "nonsense", *extra])
        assert line.count("--metrics") == 1 and "'nonsense'" in line, line
    line = one_line_error([*rule, "--check", "--log", tmp_path / "no" / "such.log"])
    assert "cannot open log" in line and "No such file or directory" in line, line
    line = one_line_error([*rule, "--check", "--log", tmp_path])
    assert "cannot open log" in line and "Is a directory" in line, line
    # a good log file is not created by --check
    r = subprocess.run([BIN, "forward", *rule, "--check", "--log", tmp_path / "new.log",
                        "--metrics", "127.0.0.1:9464"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout == "1 rule OK\n", r.stderr
    assert not (tmp_path / "new.log").exists()


@pytest.mark.parametrize("what", ["dir", "/dev/zero", "fifo", "/proc/self/mem"])
def test_config_that_is_not_a_text_file_is_refused(tmp_path, what):
    """-c /etc said "no rules"; a directory, a device, a pipe or a file that
    cannot be read is refused in one line before anything is read from it
    (a binary file with NUL bytes already was: "not a text file")."""
    path = {"dir": tmp_path, "fifo": tmp_path / "f.conf"}.get(what, what)
    if what == "fifo":
        os.mkfifo(path)    # a read would wait for a writer for ever
    line = one_line_error(["-c", path, "--check"])
    assert "no rules" not in line and "config '" in line, line
    assert any(w in line for w in ("a directory", "a device", "a pipe", "not a text file",
                                   "cannot read")), line


def test_sessions_cut_at_the_drain_deadline_are_reset_and_logged_cut():
    """SIGTERM: a transfer still running at --drain-timeout is cut with a
    reset to both sides (a FIN would pass it off as complete) and its log
    line says close=cut."""
    seen = {}
    stop = threading.Event()

    def slow(c):
        with c:
            try:
                while not stop.is_set():
                    c.sendall(b"x" * 100)
                    time.sleep(0.05)         # a slow stream, not a readiness wait
            except OSError as e:
                seen["backend"] = e.errno
    b = Backend(slow)
    port = free_port()
    f = Forwarder(port, f"127.0.0.1:{b.port}", "--drain-timeout", "1")
    c = None
    try:
        f.wait_for(" listening ")
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert c.recv(100)                   # the transfer runs
        f.p.send_signal(signal.SIGTERM)
        f.wait_for(" stopping ")
        end = time.monotonic() + 20
        try:
            while time.monotonic() < end:
                if not c.recv(65536):
                    seen["client"] = "eof"
                    break
        except OSError as e:
            seen["client"] = e.errno
        f.wait_for(" stopped ")
        end = time.monotonic() + 5
        while "backend" not in seen and time.monotonic() < end:
            time.sleep(0.02)
    finally:
        stop.set()
        if c:
            c.close()
        err = f.stop()
        b.close()
    assert seen.get("client") == errno.ECONNRESET, (seen, err)
    assert seen.get("backend") in (errno.ECONNRESET, errno.EPIPE), (seen, err)
    assert err.count(" session ") == 1 and "close=cut" in err, err


def test_deny_everyone_in_ipv4_warns_that_ipv6_clients_pass(echo_backend):
    """deny=0.0.0.0/0 reads as "deny everyone" but matches IPv4 clients only
    (HAProxy's 'src 0.0.0.0/0' does not match an IPv6 client either): --check
    and the start say so; the rule itself is unchanged, so an IPv6 client
    still gets through."""
    port = free_port()
    r = subprocess.run([BIN, "forward", str(port), f"127.0.0.1:{echo_backend.port}", "--deny",
                        "0.0.0.0/0", "--check"], capture_output=True, text=True, timeout=10)
    lines = r.stderr.splitlines()
    assert r.returncode == 0 and r.stdout == "1 rule OK\n", r.stderr
    assert len(lines) == 1 and lines[0].startswith("portkit: warning: ") \
        and "0.0.0.0/0 matches IPv4 clients only" in lines[0] and "::/0" in lines[0], r.stderr
    # with ::/0 beside it the intent is said: no warning
    r = subprocess.run([BIN, "forward", str(port), f"127.0.0.1:{echo_backend.port}", "--deny",
                        "0.0.0.0/0,::/0", "--check"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    f = Forwarder(port, f"127.0.0.1:{echo_backend.port}", "--deny", "0.0.0.0/0")
    try:
        f.wait_for(" listening ")
        c = socket.create_connection(("::1", port), timeout=5)
        c.sendall(b"v6")
        assert c.recv(2) == b"v6"
        c.close()
    finally:
        err = f.stop()
    assert " warning msg=" in err and "matches IPv4 clients only" in err, err


def test_a_warning_then_an_error_is_one_line_and_json_runs_log_it_as_an_event(echo_backend):
    """A run that fails says one line, the error, even when a rule would be
    warned about (the warning came first: two lines on exit 2); a run that
    starts says the warning in its session log, as an event --json can read."""
    port = free_port()
    for extra in (["--check"], []):
        r = subprocess.run([BIN, "forward", str(port), f"127.0.0.1:{echo_backend.port}", "--deny",
                            "0.0.0.0/0", "--user", "no-such-user-pk", *extra],
                           capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and r.stderr == "portkit: unknown user 'no-such-user-pk'\n", \
            r.stderr
    f = Forwarder(port, f"127.0.0.1:{echo_backend.port}", "--deny", "0.0.0.0/0", "--json")
    try:
        f.wait_for('"event":"warning"')
    finally:
        err = f.stop()
    events = [json.loads(line) for line in err.splitlines()]     # every line is JSON
    warn = [e for e in events if e.get("event") == "warning"]
    assert len(warn) == 1 and "matches IPv4 clients only" in json.dumps(warn[0]), err


ZONE_CLIENT = r"""
import socket, sys
addr, port, zone = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
where = (addr, port, 0, socket.if_nametoindex(zone)) if fam == socket.AF_INET6 else (addr, port)
c = socket.socket(fam)
c.settimeout(5)
c.connect(where)
c.sendall(b"zone")
print(c.recv(4).decode())
"""
ZONE_ECHO = r"""
import socket, sys, threading
s = socket.socket(socket.AF_INET6)
s.bind(("fe80::1", 7003, 0, socket.if_nametoindex("pkv0")))
s.listen()
t = socket.socket()
t.bind(("127.0.0.1", 7001))
t.listen()
def serve(srv):
    while True:
        c, _ = srv.accept()
        c.sendall(c.recv(100))
        c.close()
for srv in (s, t):
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
print("up", flush=True)
sys.stdin.read()
"""


def test_ipv6_zone_ids_in_listen_and_target():
    """[fe80::1%pkv0]:PORT was refused ("numeric addresses only") though scan
    takes zone ids; forward listens on and connects to link-local addresses
    with their zone, and names them so in the rule."""
    with Netns() as ns:
        ns.ip("link", "add", "pkv0", "type", "veth", "peer", "name", "pkw0")
        ns.ip("addr", "add", "fe80::1/64", "dev", "pkv0", "nodad")
        ns.ip("addr", "add", "fe80::2/64", "dev", "pkw0", "nodad")
        ns.ip("link", "set", "pkv0", "up")
        ns.ip("link", "set", "pkw0", "up")
        srv = ns.spawn("/usr/bin/python3", "-c", ZONE_ECHO)
        assert srv.stdout.readline().strip() == "up"
        a = Forwarder("[fe80::1%pkv0]:7000", "127.0.0.1:7001", ns=ns)
        b = Forwarder("127.0.0.1:7002", "[fe80::1%pkv0]:7003", ns=ns)
        try:
            a.wait_for(" listening ")
            b.wait_for(" listening ")
            r = ns.run("/usr/bin/python3", "-c", ZONE_CLIENT, "fe80::1", 7000, "pkv0")
            assert r.stdout == "zone\n", r.stderr
            r = ns.run("/usr/bin/python3", "-c", ZONE_CLIENT, "127.0.0.1", 7002, "pkv0")
            assert r.stdout == "zone\n", r.stderr
        finally:
            err_a, err_b = a.stop(), b.stop()
        assert 'rule="[fe80::1%pkv0]:7000/tcp -> 127.0.0.1:7001"' in err_a, err_a
        assert "client=[fe80::1%pkv0]:" in err_a and "close=closed" in err_a, err_a
        assert 'rule="127.0.0.1:7002/tcp -> [fe80::1%pkv0]:7003"' in err_b, err_b
        assert "close=closed" in err_b, err_b
        r = ns.run(BIN, "forward", "[fe80::1%nosuch0]:7000", "127.0.0.1:7001", "--check")
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "no interface 'nosuch0'" in lines[0], \
            r.stderr
