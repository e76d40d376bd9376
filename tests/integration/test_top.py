"""portkit top's rates against traffic of a known size, between two namespaces.

A client namespace and a server namespace joined by a veth (198.18.30.0/24).
portkit top runs in the test's own namespace and reads the client's with
--netns. What it reports is compared, within the issue's 5 %, with:
  - the rate each iperf3 client was told to send (-b), and the rate iperf3
    itself reports having sent (they differ when the generator misses its
    target on a loaded machine: then only the generator's own figure is held
    against top, and the test says so);
  - the bytes a short-connection client actually moved;
  - the client veth's own counters, as top reports them (the "interface"
    records) and as `ip -s -j link` reads them when top's first interval
    comes out and when top has ended.
Bytes in top are payload; the interface counts frames. On a veth TCP
segments leave as GSO packets of up to 64 KB, so the headers are well under
1 % here (measured: 0.6 % for this traffic); the 5 % is for top.
"""
import datetime
import json
import os
import queue
import shutil
import subprocess
import threading
import time

import pytest

from conftest import BIN
from netns import Netns

PY = "/usr/bin/python3"
SHORTCONN = os.path.join(os.path.dirname(__file__), "helpers/shortconn.py")
TOL = 0.05
NET = "198.18.30"
SERVER_ADDR = f"{NET}.1"
CLIENT_DEV = "pkt30"          # Netns.link: the peer's end

need_iperf3 = pytest.mark.skipif(not shutil.which("iperf3"),
                                 reason="iperf3 is not installed (scripts/deps bench)")


@pytest.fixture
def pair():
    """(server, client): two namespaces and the veth between them, removed whatever happens."""
    server = Netns()
    try:
        client = Netns()
    except BaseException:
        server.close()
        raise
    try:
        server.link(client, NET, 30)
        yield server, client
    finally:
        client.close()
        server.close()


def start(ns, *args, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
    """A process in ns that ns.close() ends (by its handle) if the test has not."""
    p = subprocess.Popen(ns.cmd(*args), stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL,
                         text=True)
    ns.procs.append(p)
    return p


def sockets(ns, proto):
    """(state, peer port, local port) of every socket of proto in ns, from ss."""
    r = ns.run("ss", "-anH", "-t" if proto == "tcp" else "-u")
    out = []
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 5:
            out.append((f[0], int(f[4].rpartition(":")[2]) if f[4][-1] != "*" else 0,
                        int(f[3].rpartition(":")[2]) if f[3][-1] != "*" else 0))
    return out


def wait_until(what, cond, timeout=15):
    """Poll cond (an ss or socket check) until it holds; bounded in time."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Lines:
    """p's stdout line by line, read by a thread: a line waited for with a bound."""

    def __init__(self, p):
        self.q = queue.Queue()
        self.t = threading.Thread(target=self._read, args=(p.stdout,), daemon=True)
        self.t.start()

    def _read(self, f):
        for line in f:
            self.q.put(line)
        self.q.put(None)

    def get(self, timeout):
        """The next line, or '' at the end or when none came within timeout seconds."""
        try:
            return self.q.get(timeout=timeout) or ""
        except queue.Empty:
            return ""

    def rest(self, timeout):
        """Every line up to the end, within timeout seconds."""
        out, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            line = self.get(max(0.0, end - time.monotonic()))
            if not line:
                break
            out.append(line)
        return "".join(out)


def link_stats(ns, dev):
    r = ns.run("ip", "-s", "-j", "link", "show", dev)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)[0]["stats64"]
    return s["tx"]["bytes"], s["rx"]["bytes"]


def top_cmd(ns, group, count, *extra):
    return [BIN, "top", "--netns", ns.name, "-b", "--json", "-d", "1", "-n", str(count),
            "-g", group, *extra]


def run_top(ns, group, count, dev):
    """Records by interval, and dev's counters read when interval 1's records came (top has
    just sampled) and when top is gone (just after its last sample)."""
    p = subprocess.Popen(top_cmd(ns, group, count), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(p)
        first = lines.get(15)
        assert first, "top printed nothing in its first interval: " + p.stderr.read()
        before = link_stats(ns, dev)
        out = lines.rest(count + 30)
        p.wait(timeout=10)
        after = link_stats(ns, dev)
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    assert p.returncode == 0, err
    return parse(first + out, count), before, after


def parse(out, count):
    """Records by interval; checks every interval 1..count is there, with a total."""
    recs = [json.loads(line) for line in out.splitlines() if line.strip()]
    by = {}
    for r in recs:
        for k in ("interval", "time", "group", "tx_bps", "rx_bps", "tx_bytes", "rx_bytes",
                  "sessions", "source"):
            assert k in r, f"{k} missing in {r}"
        by.setdefault(r["interval"], []).append(r)
    assert sorted(by) == list(range(1, count + 1)), sorted(by)
    for i, rs in by.items():
        assert sum(r["group"] == "total" for r in rs) == 1, f"interval {i}: one total record"
    return by


def when(r):
    return datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()


def one(rs, **match):
    got = [r for r in rs if all(r.get(k) == v for k, v in match.items())]
    assert len(got) == 1, (f"{len(got)} records match {match}: "
                           f"{[r for r in rs if r.get('group') == match.get('group')]}")
    return got[0]


def mean_rate(by, keep, field, **match):
    return sum(one(by[i], **match)[field] for i in keep) / len(keep)


def close_to(got, want, what):
    assert want > 0, f"{what}: nothing to compare with"
    err = got / want - 1
    print(f"{what}: {got:.6g} against {want:.6g} ({err:+.2%})")     # shown when a test fails
    assert abs(err) <= TOL, f"{what}: {got:.4g} against {want:.4g} ({err:+.1%}, over {TOL:.0%})"


# ---- steady streams: two TCP clients and a UDP client at fixed rates ----

STREAMS = [  # port, proto, rate (bits/s)
    (5301, "tcp", 50e6),
    (5302, "tcp", 20e6),
    (5303, "udp", 10e6),
]
# top's intervals per run: the first (ramp-up) and the last are dropped, 7 are held against
# the references. tcp_info's bytes_acked moves when the ACK comes back: on a starved machine
# (the peer's softirq waiting for a CPU) it trailed the veth's counter by up to 0.6 s of
# traffic, so a window's two ends can each be off by that much; over 7 s that is within 5 %
COUNT = 9
KEEP = range(2, COUNT)


def iperf3_rate(path):
    """What iperf3 says it sent a second, its first (ramp-up) second left out."""
    j = json.load(open(path))
    assert "error" not in j, j.get("error")
    iv = [i["sum"]["bits_per_second"] for i in j["intervals"]]
    assert len(iv) >= 3, iv
    return sum(iv[1:]) / len(iv[1:])


@need_iperf3
def test_rates_per_process_and_port(pair, tmp_path):
    server, client = pair
    for port, _, _ in STREAMS:
        start(server, "iperf3", "-s", "-p", port)
    wait_until("the iperf3 servers to listen", lambda: {p for p, _, _ in STREAMS} <= {
        lp for st, _, lp in sockets(server, "tcp") if st == "LISTEN"})
    # long enough for two top runs of COUNT seconds one after the other, and their start-up
    secs = 2 * COUNT + 5
    clients = {}
    for port, proto, rate in STREAMS:
        args = ["iperf3", "-c", SERVER_ADDR, "-p", port, "-b", int(rate), "-t", secs, "-J"]
        # TCP: 16 KB writes instead of 128 KB, so that a second's worth at 20 Mbit/s is
        # not 19 lumps of which a 1 s interval may catch one more or one fewer
        args += ["-u"] if proto == "udp" else ["-l", "16K"]
        out = open(tmp_path / f"iperf3-{port}.json", "w")
        clients[port] = (start(client, *args, stdout=out), out.name)

    def flowing():
        tcp = sockets(client, "tcp")
        udp = sockets(client, "udp")
        for port, proto, _ in STREAMS:
            n_tcp = sum(st == "ESTAB" and pp == port for st, pp, _ in tcp)
            n_udp = sum(pp == port for _, pp, _ in udp)
            if (proto == "tcp" and n_tcp < 2) or (proto == "udp" and (n_tcp < 1 or n_udp < 1)):
                return False
        return True
    wait_until("the iperf3 clients' data connections", flowing)

    runs = {}
    for group in ("proc", "port"):
        runs[group] = run_top(client, group, COUNT, CLIENT_DEV)

    for port, (p, _) in clients.items():
        p.wait(timeout=secs + 30)
        assert p.returncode == 0, f"iperf3 to port {port} failed"

    notes = []
    for port, proto, rate in STREAMS:
        gen = iperf3_rate(clients[port][1])
        pid = clients[port][0].pid       # ip netns exec execs iperf3: the same pid
        by = runs["proc"][0]
        for rs in (by[i] for i in KEEP):
            assert one(rs, group="proc", pid=pid)["comm"] == "iperf3"
        got_proc = mean_rate(by, KEEP, "tx_bps", group="proc", pid=pid)
        by = runs["port"][0]
        got_port = mean_rate(by, KEEP, "tx_bps", group="port", proto=proto, remote_port=port,
                             local_port=None)
        for got, what in ((got_proc, "proc"), (got_port, "port")):
            close_to(got, gen, f"-g {what}, iperf3 {proto} to {port}, against iperf3's own rate")
            if abs(gen / rate - 1) <= 0.02:
                close_to(got, rate, f"-g {what}, iperf3 {proto} to {port}, against -b {rate:.0f}")
            else:
                notes.append(f"iperf3 to {port} sent {gen:.4g} bit/s for -b {rate:.0f}: "
                             "top compared with iperf3's own figure only")

    for group, (by, before, after) in runs.items():
        # the total against the interface's own counters, interval by interval (top's
        # "interface" records) and over the whole run (ip -s link, read around it)
        total = mean_rate(by, KEEP, "tx_bps", group="total")
        iface = mean_rate(by, KEEP, "tx_bps", group="interface", interface=CLIENT_DEV)
        close_to(total, iface, f"-g {group}: total tx against {CLIENT_DEV}'s tx")
        total = sum(one(by[i], group="total")["tx_bps"] + one(by[i], group="total")["rx_bps"]
                    for i in KEEP)
        iface = sum(one(by[i], group="interface", interface=CLIENT_DEV)["tx_bps"] +
                    one(by[i], group="interface", interface=CLIENT_DEV)["rx_bps"] for i in KEEP)
        close_to(total, iface, f"-g {group}: total tx+rx against {CLIENT_DEV}'s")
        # from interval 1's sample to the last: top's running count since start, and
        # ip -s link read as interval 1's records came out and once top had gone
        t = [one(by[i], group="total") for i in (1, COUNT)]
        moved = (after[0] - before[0]) + (after[1] - before[1])
        close_to(t[1]["tx_bytes"] + t[1]["rx_bytes"] - t[0]["tx_bytes"] - t[0]["rx_bytes"],
                 moved, f"-g {group}: total bytes, intervals 2-{COUNT}, against ip -s link")
        # a row's rates and its running byte count tell the same story
        t = [one(by[i], group="total") for i in (KEEP[0] - 1, KEEP[-1])]
        span = when(t[1]) - when(t[0])
        close_to((t[1]["tx_bytes"] - t[0]["tx_bytes"]) * 8 / span,
                 sum(one(by[i], group="total")["tx_bps"] for i in KEEP) / len(KEEP),
                 f"-g {group}: total tx_bytes' growth against its tx_bps")
    for n in notes:
        print(n)


# ---- short connections: 1,000 a second, each gone well inside an interval ----

SHORT_PORT, REQ, REP = 5310, 1000, 4000
SHORT_RATE, SHORT_SECS = 1000, 5
SHORT_COUNT = 10


def test_short_connections_are_all_counted(pair):
    server, client = pair
    srv = start(server, PY, SHORTCONN, "server", SHORT_PORT, REQ, REP, stdout=subprocess.PIPE,
                stdin=subprocess.PIPE)
    srv_out = Lines(srv)
    assert srv_out.get(15).strip() == "ready", "the short-connection server did not start"
    top = subprocess.Popen(top_cmd(client, "port", SHORT_COUNT), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        top_out = Lines(top)
        # top samples before it prints its first interval: traffic after that line is
        # traffic it watches from start to end
        first = top_out.get(15)
        assert first, "top printed nothing in its first interval: " + top.stderr.read()
        cp = client.run(PY, SHORTCONN, "client", SERVER_ADDR, SHORT_PORT, SHORT_RATE, SHORT_SECS,
                        REQ, REP, timeout=SHORT_SECS + 90)
        assert cp.returncode == 0, cp.stderr
        moved = json.loads(cp.stdout)
        out = top_out.rest(SHORT_COUNT + 30)
        top.wait(timeout=10)
        err = top.stderr.read()
    finally:
        if top.poll() is None:
            top.kill()
            top.wait(timeout=10)
    assert top.returncode == 0, err
    srv.stdin.close()
    served = json.loads(srv_out.get(15) or "{}")
    assert moved["errors"] == 0 and moved["conns"] > 0, moved
    # the generator's view and the server's agree: these are the bytes that moved
    assert (served.get("rx"), served.get("tx")) == (moved["tx"], moved["rx"]), (served, moved)
    by = parse(first + out, SHORT_COUNT)
    last_t = when(one(by[SHORT_COUNT], group="total"))
    assert last_t > moved["end"], "top ended before the client: raise SHORT_COUNT"
    key = dict(group="port", proto="tcp", remote_port=SHORT_PORT, local_port=None)
    rows = {i: [r for r in by[i] if all(r.get(k) == v for k, v in key.items())] for i in by}
    assert all(len(rs) <= 1 for rs in rows.values()), rows
    seen = sorted(i for i, rs in rows.items() if rs)
    assert seen, "no port record for the short connections"
    # the running count since start, from the last interval that has the row
    lastrow = rows[seen[-1]][0]
    close_to(lastrow["tx_bytes"], moved["tx"], "short connections: tx_bytes since start")
    close_to(lastrow["rx_bytes"], moved["rx"], "short connections: rx_bytes since start")
    close_to(lastrow["tx_bytes"] + lastrow["rx_bytes"], moved["tx"] + moved["rx"],
             "short connections: tx+rx bytes since start")
    # and the rates, interval by interval, summed over the run
    times = {i: when(one(by[i], group="total")) for i in by}
    summed = {"tx": 0.0, "rx": 0.0}
    for i in seen:
        dt = times[i] - times[i - 1] if i > 1 else 1.0
        for d in summed:
            summed[d] += rows[i][0][f"{d}_bps"] * dt / 8
    close_to(summed["tx"], moved["tx"], "short connections: tx_bps summed over the run")
    close_to(summed["rx"], moved["rx"], "short connections: rx_bps summed over the run")
