"""forward --kernel's session log and metrics under load, across a reload.

Three namespaces made here: client 198.18.8.1 - router 198.18.8.2 /
198.18.9.1 - server 198.18.9.2, where a small server greets each connection
and closes when the client does. The router's TIME_WAIT timeout is one
second, so conntrack forgets a session (and the forwarder logs it) soon
after it ends. The judges: the ports the client used, and the log's own
"lost" records, whose counts must make up every session it did not log.
"""
import json
import re
import signal
import subprocess
import threading

import pytest

from conftest import BIN
from netns import routed

PY = "/usr/bin/python3"
SERVER = ("import selectors,socket\n"
          "l=socket.socket(); l.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
          "l.bind(('0.0.0.0',80)); l.listen(4096); l.setblocking(False)\n"
          "sel=selectors.DefaultSelector(); sel.register(l,selectors.EVENT_READ)\n"
          "print('ready',flush=True)\n"
          "while True:\n"
          "  for k,_ in sel.select():\n"
          "    if k.fileobj is l:\n"
          "      try: c,_=l.accept()\n"
          "      except BlockingIOError: continue\n"
          "      c.sendall(b'x'); c.setblocking(False); sel.register(c,selectors.EVENT_READ)\n"
          "    else:\n"
          "      try: d=k.fileobj.recv(4096)\n"
          "      except OSError: d=b''\n"
          "      if not d: sel.unregister(k.fileobj); k.fileobj.close()\n")
# N sessions to the router's PORT, as fast as they go; prints the rate and the ports used
CLIENT = ("import socket,sys,time\n"
          "n,port=int(sys.argv[1]),int(sys.argv[2]); ports=[]; t=time.monotonic()\n"
          "for i in range(n):\n"
          "  s=socket.create_connection(('198.18.8.2',port),timeout=5)\n"
          "  assert s.recv(1)==b'x'; ports.append(s.getsockname()[1]); s.close()\n"
          "print(n/(time.monotonic()-t)); print(' '.join(map(str,ports)))\n")
# N sessions held open until stdin closes; prints the ports once all are open
HOLD = ("import socket,sys\n"
        "ss=[socket.create_connection(('198.18.8.2',int(sys.argv[2])),timeout=5)\n"
        "    for i in range(int(sys.argv[1]))]\n"
        "assert all(s.recv(1)==b'x' for s in ss)\n"
        "print(' '.join(str(s.getsockname()[1]) for s in ss),flush=True)\n"
        "sys.stdin.read(); [s.close() for s in ss]\n")


@pytest.fixture
def net(tmp_path):
    with routed() as (client, router, server):
        router.run("sysctl", "-qw", "net.netfilter.nf_conntrack_tcp_timeout_time_wait=1")
        srv = server.spawn(PY, "-c", SERVER)
        assert srv.stdout.readline().strip() == "ready"
        yield client, router, tmp_path


class Fwd:
    """portkit forward in a namespace, its log (stderr) read line by line on a
    thread; waits wake on each line, bounded, with no sleeping."""

    def __init__(self, ns, *args):
        self.p = subprocess.Popen(ns.cmd(BIN, "forward", *args), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        ns.procs.append(self.p)
        self.lines, self.cv = [], threading.Condition()
        self.sessions, self.lost = [], 0        # JSON session records, sum of "lost" counts
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stderr:
            rec = json.loads(line) if line.startswith("{") else {}
            with self.cv:
                self.lines.append(line)
                if "close_reason" in rec:
                    self.sessions.append(rec)
                self.lost += rec.get("count") or 0 if rec.get("event") == "lost" else 0
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait(self, pred, timeout=30):
        with self.cv:
            ok = self.cv.wait_for(lambda: pred(self.lines) or self.p.poll() is not None, timeout)
            assert ok and self.p.poll() is None, "".join(self.lines)

    def wait_for(self, needle):
        self.wait(lambda lines: any(needle in x for x in lines))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)
        self.t.join(10)
        return "".join(self.lines)


def wait_accounted(f, n, timeout=120):
    """Until n sessions are logged or counted lost (bounded): the sessions, the lost count."""
    f.wait(lambda lines: len(f.sessions) + f.lost >= n, timeout)
    return list(f.sessions), f.lost


@pytest.mark.parametrize("buf", [None, "4K"])
def test_2000_sessions_each_logged_or_counted_lost(net, buf):
    client, router, _ = net
    f = Fwd(router, "--kernel", "8080", "198.18.9.2:80", "--enable-forwarding", "--json",
            *(["--buffer-size", buf] if buf else []))
    try:
        f.wait_for('"event":"listening"')
        r = client.run(PY, "-c", CLIENT, 2000, 8080, timeout=120)
        assert r.returncode == 0, r.stderr
        rate, ports = float(r.stdout.split("\n")[0]), set(map(int, r.stdout.split("\n")[1].split()))
        assert rate >= 500 and len(ports) == 2000, rate
        done, lost = wait_accounted(f, 2000)
    finally:
        f.stop()
    logged = [d["client_port"] for d in done]
    assert len(logged) == len(set(logged)) and set(logged) <= ports
    assert len(logged) + lost == 2000, (len(logged), lost)
    # a duration is the kernel's or ours, or null: never a made-up 0
    assert all(d["duration"] is None or d["duration"] > 0 for d in done)
    assert all((d["duration"] is None) == (d["start"] is None) for d in done)
    if buf:
        assert lost > 0                     # a buffer of a few events overflowed: the path ran
    print(f"rate {rate:.0f}/s, buffer {buf or 'default'}: logged {len(logged)}, lost {lost}, "
          f"durations unknown {sum(d['duration'] is None for d in done)}")


def test_reload_keeps_logging_the_old_rules_sessions(net):
    client, router, tmp = net
    conf = tmp / "k.conf"
    conf.write_text("8080 tcp 198.18.9.2:80\n")
    f = Fwd(router, "--kernel", "-c", conf, "--enable-forwarding", "--json")
    hold = None
    try:
        f.wait_for('"event":"listening"')
        hold = client.spawn(PY, "-c", HOLD, 10, 8080)
        old = set(map(int, hold.stdout.readline().split()))
        conf.write_text("8181 tcp 198.18.9.2:80\n")       # the old rule goes
        f.p.send_signal(signal.SIGHUP)
        f.wait_for('"event":"reloaded"')
        r = client.run(PY, "-c", CLIENT, 10, 8181)
        assert r.returncode == 0, r.stderr
        new = set(map(int, r.stdout.split("\n")[1].split()))
        hold.stdin.close()                                 # the old sessions end now
        hold.wait(timeout=30)
        done, lost = wait_accounted(f, 20)
    finally:
        f.stop()
    assert lost == 0
    by_rule = {}
    for d in done:
        by_rule.setdefault(d["rule"], set()).add(d["client_port"])
    assert by_rule == {"[::]:8080/tcp -> 198.18.9.2:80": old,
                       "[::]:8181/tcp -> 198.18.9.2:80": new}, by_rule
    # their starts were seen before the reload: a real duration
    assert all(d["duration"] > 0 for d in done if d["client_port"] in old)


def scrape(ns, port, accept=None):
    code = ("import sys,urllib.request\n"
            "q=urllib.request.Request('http://127.0.0.1:%s/metrics')\n"
            "if len(sys.argv)>2: q.add_header('Accept',sys.argv[2])\n"
            "print(urllib.request.urlopen(q,timeout=10).read().decode(),end='')\n")
    r = ns.run(PY, "-c", code % port, port, *([accept] if accept else []))
    assert r.returncode == 0, r.stderr
    return r.stdout


def families(text):
    return set(re.findall(r"^# TYPE (\S+) ", text, re.M))


def sample(text, name, **labels):
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_kernel_metrics_same_families_as_user_space(net):
    client, router, _ = net
    router.run("sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1")
    k = Fwd(router, "--kernel", "8080", "198.18.9.2:80", "--enable-forwarding", "--json",
            "--metrics", "127.0.0.1:9464")
    u = Fwd(router, "127.0.0.1:7070", "198.18.9.2:80", "--metrics", "127.0.0.1:9465")
    try:
        k.wait_for('"event":"metrics"')
        u.wait_for(" metrics ")
        r = client.run(PY, "-c", CLIENT, 5, 8080)
        assert r.returncode == 0, r.stderr
        done, lost = wait_accounted(k, 5)
        text, user = scrape(router, 9464), scrape(router, 9465)
        om = scrape(router, 9464, "application/openmetrics-text; version=1.0.0")
    finally:
        k.stop()
        u.stop()
    assert len(done) == 5 and lost == 0
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0 and not (check.stdout + check.stderr).strip(), check.stderr
    assert families(text) - families(user) == {"portkit_forward_conntrack_events_lost_total"}
    assert families(user) <= families(text)
    rule = "[::]:8080/tcp -> 198.18.9.2:80"
    assert sample(text, "portkit_forward_sessions_total", rule=rule) == 5
    assert sample(text, "portkit_forward_session_ends_total", rule=rule, reason="ended") == 5
    assert sample(text, "portkit_forward_sessions_open", rule=rule) == 0
    assert sample(text, "portkit_forward_bytes_total", rule=rule, direction="from_client") > 0
    assert sample(text, "portkit_forward_conntrack_events_lost_total", event="destroy") == 0
    # what only user space knows has no samples here
    assert sample(text, "portkit_forward_relay_bytes_total") is None
    assert om.endswith("# EOF\n") and "# TYPE portkit_forward_sessions counter" in om
