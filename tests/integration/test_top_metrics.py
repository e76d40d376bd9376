"""`portkit top --metrics`: the real binary serving while loopback TCP of a
known size crosses a port of ours; the counts read back exactly from the
scrape, the sums with `other` exact, promtool's verdict on the text, and
OpenMetrics when asked. Every portkit started here is stopped by its PID."""
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN

SENT = 3_000_000
REPLY = 1_000
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Top:
    """portkit top with --metrics 127.0.0.1:0, its address from stderr."""

    def __init__(self, *args):
        self.p = subprocess.Popen([BIN, "top", "-d", "0.2", "--metrics", "127.0.0.1:0", *args],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        self.err = b""
        self.url = None
        sel = selectors.DefaultSelector()
        sel.register(self.p.stderr, selectors.EVENT_READ)
        end = time.monotonic() + 15
        try:
            while time.monotonic() < end and b"\n" not in self.err:
                if sel.select(timeout=end - time.monotonic()):
                    chunk = os.read(self.p.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    self.err += chunk
        finally:
            sel.close()
        m = re.match(rb"portkit: Prometheus metrics at (http://127\.0\.0\.1:(\d+)/metrics)\n",
                     self.err)
        if not m:
            self.stop()
            raise AssertionError(f"no address line on stderr: {self.err!r}")
        assert int(m.group(2)) != 0
        self.url = m.group(1).decode()

    def get(self, headers=None, method="GET", path="/metrics"):
        url = self.url.replace("/metrics", path)
        req = urllib.request.Request(url, headers=headers or {}, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers.get("Content-Type"), r.read().decode()

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)
        try:
            self.p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.p.pid, signal.SIGKILL)
            self.p.wait()
        self.p.stderr.close()
        return self.p.returncode


def samples(text):
    """{(name, frozenset(labels)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset((k, str(v)) for k, v in labels.items())))


def family(s, name):
    return {dict(k[1]).get("direction", "") + ":" + ",".join(
        f"{a}={b}" for a, b in sorted(k[1]) if a != "direction"): v
        for k, v in s.items() if k[0] == name}


class Traffic:
    """A listener of ours (its port known before top starts) and, on
    start(), one connection: SENT bytes to the server, REPLY back; both
    ends stay open (established) until close()."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.socks = [self.lsock]

    def start(self):
        c = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        a, _ = self.lsock.accept()
        a.settimeout(10)
        self.socks += [c, a]
        t = threading.Thread(target=c.sendall, args=(b"x" * SENT,))
        t.start()
        got = 0
        while got < SENT:
            d = a.recv(1 << 20)
            assert d
            got += len(d)
        t.join(10)
        a.sendall(b"y" * REPLY)
        got = 0
        while got < REPLY:
            got += len(c.recv(REPLY - got))
        assert got == REPLY

    def close(self):
        for s in self.socks:
            s.close()


def scrape_until(top, done, timeout=15):
    """Scrape every 0.1 s until done(samples) holds: the last samples."""
    end = time.monotonic() + timeout
    s = {}
    while time.monotonic() < end:
        s = samples(top.get()[1])
        if done(s):
            return s
        time.sleep(0.1)
    raise AssertionError(f"the metrics never showed the traffic: {s}")


def check_monotonic(before, after):
    for k, v in before.items():
        if k[0].endswith("_total") and k in after:
            assert after[k] >= v, (k, v, after[k])


def check_sums(s):
    """shown + other == the total, per group and direction"""
    for d in ("tx", "rx"):
        total = sum(value(s, "portkit_top_bytes_total", proto=p, direction=d)
                    for p in ("tcp", "udp"))
        for fam, group in (("portkit_top_port_bytes_total", "port"),
                           ("portkit_top_process_bytes_total", "process")):
            shown = sum(v for k, v in s.items() if k[0] == fam and ("direction", d) in k[1])
            other = value(s, "portkit_top_other_bytes_total", group=group, direction=d)
            assert shown + other == total, (fam, d, shown, other, total)


def test_top_metrics_count_a_known_transfer_exactly():
    tr = Traffic()
    top = None
    try:
        top = Top("-b", "-t", "--port", str(tr.port))
        idle = samples(top.get()[1])
        assert value(idle, "portkit_top_interval_seconds") == 0.2
        tr.start()
        s = scrape_until(top, lambda s: value(s, "portkit_top_port_bytes_total", proto="tcp",
                                              port=tr.port, side="local",
                                              direction="rx") == SENT and
                         value(s, "portkit_top_port_bytes_total", proto="tcp", port=tr.port,
                               side="remote", direction="rx") == REPLY)
        check_monotonic(idle, s)
        port = {side: {d: value(s, "portkit_top_port_bytes_total", proto="tcp", port=tr.port,
                                side=side, direction=d) for d in ("tx", "rx")}
                for side in ("local", "remote")}
        # the server's end: payload exactly (tcp_info bytes_received and,
        # on the accepting side, bytes_acked)
        assert port["local"] == {"tx": REPLY, "rx": SENT}, port
        # the client's end: bytes_acked of the connecting side counts its
        # SYN too, which top does not take out (yet): at most one more
        assert port["remote"]["rx"] == REPLY
        assert port["remote"]["tx"] - SENT in (0, 1), port
        # both ends are this process's
        me = {d: value(s, "portkit_top_process_bytes_total", pid=os.getpid(),
                       comm=open("/proc/self/comm").read().strip(), direction=d)
              for d in ("tx", "rx")}
        assert me["rx"] == SENT + REPLY, (me, family(s, "portkit_top_process_bytes_total"))
        assert me["tx"] - (SENT + REPLY) in (0, 1), me
        # --port keeps everything else out: the totals are these two sockets
        assert value(s, "portkit_top_bytes_total", proto="tcp", direction="rx") == SENT + REPLY
        assert value(s, "portkit_top_bytes_total", proto="udp", direction="rx") == 0
        assert value(s, "portkit_top_other_bytes_total", group="port", direction="rx") == 0
        assert value(s, "portkit_top_sessions", proto="tcp") == 2
        assert value(s, "portkit_top_lost_total") == 0
        check_sums(s)
        # later scrapes: nothing decreases
        time.sleep(0.5)
        check_monotonic(s, samples(top.get()[1]))
        # the formats
        ctype, text = top.get()
        assert ctype.startswith("text/plain; version=0.0.4")
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=text,
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
        ctype, om = top.get({"Accept": "application/openmetrics-text; version=1.0.0"})
        assert ctype.startswith("application/openmetrics-text")
        assert om.endswith("\n# EOF\n")
        assert "# UNIT portkit_top_port_bytes bytes\n" in om
        assert f'portkit_top_port_bytes_total{{proto="tcp",port="{tr.port}",side="local",' \
               f'direction="rx"}} {SENT}\n' in om
        ctype, page = top.get(path="/")
        assert page == "portkit top: metrics at /metrics\n"
        with pytest.raises(urllib.error.HTTPError) as e:
            top.get(path="/other")
        assert e.value.code == 404
    finally:
        tr.close()
        if top:
            top.stop()


def test_top_metrics_top_one_keeps_the_sums_without_b_on_a_pipe():
    """--metrics-top 1: one port and one process with a series, the rest
    in other; no -b, and stdout is not a terminal: batch, still serving."""
    tr = Traffic()
    top = None
    try:
        top = Top("-t", "--port", str(tr.port), "--metrics-top", "1")
        tr.start()
        s = scrape_until(top, lambda s: value(s, "portkit_top_bytes_total", proto="tcp",
                                              direction="rx") == SENT + REPLY)
        ports = [k for k in s if k[0] == "portkit_top_port_bytes_total"]
        assert len(ports) == 2, ports            # one port: tx and rx
        check_sums(s)
        other = value(s, "portkit_top_other_bytes_total", group="port", direction="rx")
        # the end not shown at the last look has every byte it received there
        assert other >= REPLY, family(s, "portkit_top_port_bytes_total")
        assert top.p.poll() is None
    finally:
        tr.close()
        if top:
            assert top.stop() == 0


def test_top_metrics_refuses_bad_options():
    for args, word in ((("--metrics", "nonsense"), "--metrics"),
                       (("--metrics-top", "5"), "--metrics-top needs --metrics"),
                       (("--metrics", "127.0.0.1:0", "--metrics-top", "0"), "--metrics-top"),
                       (("--metrics", "127.0.0.1:0", "--metrics-top", "1001"), "--metrics-top")):
        r = subprocess.run([BIN, "top", "-b", "-n", "1", *args], capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode == 2 and word in r.stderr, (args, r.stderr)
        assert r.stderr.count("\n") == 1
