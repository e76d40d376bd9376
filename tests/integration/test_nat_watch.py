"""portkit nat --watch loses nothing silently: a namespace made here gets
40,000 conntrack entries (conntrack -R, no traffic), the watcher is started,
the table is flushed, and the destroy events it shows plus the counts of its
"lost" records must be exactly the 40,000 entries destroyed; with a small
receive buffer some are lost, and still every one is accounted for.
"""
import json
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN
from netns import Netns

N = 40000


@pytest.fixture
def table(tmp_path):
    if not shutil.which("conntrack"):
        pytest.skip("conntrack-tools is not installed")
    ns = Netns()
    try:
        # entries made before a listener have no event cache unless events are on
        ns.run("sysctl", "-qw", "net.netfilter.nf_conntrack_events=1")
        load = tmp_path / "entries"
        load.write_text("".join(
            f"-I -p udp -s 198.18.1.{1 + i // 20000} -d 198.18.2.1 --sport {1024 + i % 20000} "
            f"--dport 53 -t 600\n" for i in range(N)))
        r = ns.run("conntrack", "-R", str(load), timeout=120)
        assert r.returncode == 0, r.stderr
        assert ns.run("conntrack", "-C").stdout.strip() == str(N)
        yield ns
    finally:
        ns.close()


def follow(ns, *args, parse=json.loads):
    """nat --watch in ns, its records read on a thread: (process, records, thread)."""
    p = subprocess.Popen(ns.cmd(BIN, "nat", "--watch", *args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ns.procs.append(p)
    ready = p.stderr.readline()            # said once the socket is subscribed
    assert ready.startswith("portkit: following the conntrack table"), ready
    recs = []
    t = threading.Thread(target=lambda: recs.extend(parse(x) for x in p.stdout), daemon=True)
    t.start()
    return p, recs, t


def text_record(line):
    """A text line as the JSON record's event and count: "TIME lost N events ..." """
    f = line.split()
    return {"event": f[1], "count": int(f[2]) if f[1] == "lost" else 1, "line": line}


def tally(recs):
    recs = list(recs)
    destroyed = sum(1 for r in recs if r["event"] == "destroy")
    lost = sum(r["count"] for r in recs if r["event"] == "lost")
    return destroyed, lost


def flush_and_stop(ns, p, recs, t):
    """Flush the table, wait (bounded) until every entry is shown or counted, stop."""
    r = ns.run("conntrack", "-F")
    assert r.returncode == 0, r.stderr
    end = time.monotonic() + 60
    while time.monotonic() < end and sum(tally(recs)) < N:
        t.join(0.1)                         # a bounded wait on the reader, no sleep
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    t.join(10)
    assert p.returncode == 0, p.stderr.read()
    return tally(recs)


@pytest.mark.parametrize("buf", [None, "64K"])
def test_flush_every_destroy_shown_or_counted_lost(table, buf):
    ns = table
    p, recs, t = follow(ns, "--json", *(["--buffer-size", buf] if buf else []))
    destroyed, lost = flush_and_stop(ns, p, recs, t)
    assert destroyed + lost == N, (destroyed, lost)
    lost_recs = [r for r in recs if r["event"] == "lost"]
    assert all(set(r) == {"event", "time", "count", "reason", "netns"} and r["count"] > 0 and
               r["reason"] == "buffer-full" for r in lost_recs), lost_recs[:3]
    if buf:
        assert lost > 0                     # the small buffer overflowed: the path ran
    assert ns.run("conntrack", "-C").stdout.strip() == "0"


def test_watch_text_says_the_loss(table):
    ns = table
    p, recs, t = follow(ns, "-b", "8K", parse=text_record)
    destroyed, lost = flush_and_stop(ns, p, recs, t)
    assert destroyed + lost == N and lost > 0, (destroyed, lost)
    said = [r["line"] for r in recs if r["event"] == "lost"]
    assert all("the kernel dropped: the receive buffer was full (--buffer-size)" in x
               for x in said), said[:3]


def test_buffer_size_is_checked():
    for v, msg in (("12x", "a number of bytes"), ("1", "must be 4096-"), ("2G", "must be")):
        r = subprocess.run([BIN, "nat", "--watch", "-b", v], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 2 and msg in r.stderr, r.stderr
    r = subprocess.run([BIN, "nat", "--buffer-size", "1M"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2 and "--buffer-size goes with --watch" in r.stderr
