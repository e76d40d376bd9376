"""portkit capture at the edges of issue 26: times past 2038, time that goes
backwards, deep tunnels, bad checksums under --checksums, -n with
--summary, and the filter length limit."""
import datetime
import json
import os
import re
import shutil
import subprocess

import pytest

import pcapgen as g
from conftest import BIN, run

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TCPDUMP = os.path.join(ROOT, "tests/data/tcpdump")
ENV = {"TZ": "UTC"}
TIME_FILES = ["time_2038_max.pcap", "time_2038_overflow.pcap", "time_2039.pcap",
              "time_2106.pcap", "time_2106_max.pcap", "time_2106_overflow.pcapng",
              "time_2107.pcapng"]


def tcpdump_time(name):
    """The packet's UTC time as tcpdump's expected output has it."""
    out = os.path.join(TCPDUMP, re.sub(r"\.pcap(ng)?$", ".out", name))
    with open(out) as f:
        m = re.match(r"\s*1\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}) ", f.read())
    assert m, out
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)


def utc(epoch):
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(seconds=float(epoch))


def ok(*args):
    r = run("capture", "-r", *args, env=ENV)
    assert r.rc == 0 and r.err == "", (args, r.rc, r.err)
    return r.out


@pytest.mark.parametrize("name", TIME_FILES)
def test_times_past_2038(name):
    """tcpdump's captures at the edges of pcap's 32 bits of seconds: every
    output mode reads them (the flow table took the times libpcap gives as
    negative and indexed its wheel out of bounds), and every time shown is
    tcpdump's date, not one in 1901 or 1902."""
    path = os.path.join(TCPDUMP, name)
    want = tcpdump_time(name)
    assert want.year >= 2038
    line = ok(path).splitlines()
    assert len(line) == 1 and line[0].startswith(want.strftime("%H:%M:%S.%f ")), line
    pkt = json.loads(ok(path, "--json"))
    assert utc(pkt["ts"]) == want
    table = ok(path, "--flows").splitlines()
    assert len(table) == 2 and table[1].split()[:2] == ["udp", "192.168.1.11:43966"], table
    flow = json.loads(ok(path, "--flows", "--json"))
    assert utc(flow["start"]) == want and flow["duration"] == 0
    rows = [l.split("\t") for l in ok(path, "--zeek").splitlines() if not l.startswith("#")]
    assert len(rows) == 1 and utc(rows[0][0]) == want
    assert ok(path, "--summary").startswith("1 flows, at most 1 at once")


def test_time_that_goes_backwards(tmp_path):
    """A packet stamped before its flow's start (merged or reordered
    captures) counts, but moves no time back: the duration is the span of
    the packets in order (0.2 s), never negative (it printed as
    18446744073709551517.(/,s in the table and -99.8 in JSON, and Zeek's
    log showed '-')."""
    path = str(tmp_path / "backwards.pcap")
    a, b, t = g.A, g.B, g.BASE
    w = g.Writer(path)
    w.add(t + 100.0, g.eth(g.ipv4(a, b, 17, g.udp(a, b, 40000, 5000, b"q"))))
    w.add(t + 100.2, g.eth(g.ipv4(b, a, 17, g.udp(b, a, 5000, 40000, b"r"))))
    w.add(t + 0.2, g.eth(g.ipv4(a, b, 17, g.udp(a, b, 40000, 5000, b"q"))))
    w.add(t + 100.3, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "S", 1000))))
    w.add(t + 100.4, g.eth(g.ipv4(b, a, 6, g.tcp(b, a, 80, 40001, "SA", 5000, 1001))))
    w.add(t + 100.5, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "A", 1001, 5001))))
    w.add(t + 0.5, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "PA", 1001, 5001, b"hello"))))
    w.close()
    table = ok(path, "--flows").splitlines()[1:]
    assert [(l.split()[0], l.split()[-1]) for l in table] == [("udp", "0.200s"), ("tcp", "0.200s")]
    flows = [json.loads(l) for l in ok(path, "--flows", "--json").splitlines()]
    assert [(f["proto"], f["start"], f["duration"], f["orig_pkts"], f["orig_bytes"])
            for f in flows] == [("udp", t + 100.0, 0.2, 2, 2), ("tcp", t + 100.3, 0.2, 3, 5)]
    rows = [l.split("\t") for l in ok(path, "--zeek").splitlines() if not l.startswith("#")]
    assert [(r[6], r[0], r[8], r[9]) for r in rows] == \
        [("udp", "%d.000000" % (t + 100), "0.200000", "2"),
         ("tcp", "%d.300000" % (t + 100), "0.200000", "5")]


def test_summary_numeric(tmp_path):
    """-n leaves the service names out of --summary too: 'tcp/80', not
    'tcp/80 (HTTP)'; without it the names stay."""
    path = str(tmp_path / "summary.pcap")
    a, b, t = g.A, g.B, g.BASE
    w = g.Writer(path)
    w.add(t, g.eth(g.ipv4(a, b, 6, g.tcp(a, b, 40001, 80, "S", 1000))))
    w.add(t + 0.1, g.eth(g.ipv4(a, b, 17, g.udp(a, b, 40000, 53, g.dns_query(1, "x.test")))))
    w.close()

    def services(*opts):
        out = ok(path, "--summary", *opts).split("\n\n")[1].splitlines()[1:]
        return sorted(l.split()[0] + (" " + l.split()[1] if l.split()[1].startswith("(") else "")
                      for l in out)
    assert services("-n") == ["tcp/80", "udp/53"]
    assert services() == ["tcp/80 (HTTP)", "udp/53 (DNS)"]


def test_filter_too_long_is_one_line_and_leaks_nothing(tmp_path):
    """A filter over 64 KiB is a usage error: one 'portkit:' line, exit 2,
    and the words gathered before the limit are freed (they leaked). The
    leak check is valgrind's when it is installed (a sanitizer build
    checks leaks itself, through the exit status)."""
    path = str(tmp_path / "one.pcap")
    w = g.Writer(path)
    w.add(g.BASE, g.eth(g.ipv4(g.A, g.B, 17, g.udp(g.A, g.B, 40000, 53, b"q"))))
    w.close()
    words = ["port", "1", "and"] * 7000 + ["udp"]
    r = run("capture", "-r", path, *words)
    assert r.rc == 2 and r.out == ""
    assert r.err.startswith("portkit: filter expression too long")
    assert len(r.err.splitlines()) == 1 and len(r.err.encode()) <= 200
    if b"__asan_init" in open(BIN, "rb").read() or not shutil.which("valgrind"):
        return
    cp = subprocess.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                         "--error-exitcode=99", BIN, "capture", "-r", path, *words],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 2, cp.stderr[-2000:]
